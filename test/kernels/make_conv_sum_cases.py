#!/usr/bin/env python3
"""Kernel cases for a residual Add (and its Relu) folded into the Conv that
makes one of its inputs (optimize.c fuse_conv_sum; ops_conv.c applies
act((conv + B) + addend) after every convolution path).

    make_conv_sum_cases.py OUT_DIR

Fused forms: Conv + Add, Conv + Add + Relu, the addend on either side of
the Add, the addend a graph input, the Conv's own input, or made by a node
before the Conv; batches 1 and 2; symbolic dims.  Every conv path: 3x3
(implicit GEMM on AVX-512, im2col elsewhere), 1x1 and 1x1 stride 2,
strided 3x3, grouped, depthwise, few output positions (conv_narrow),
weights as graph inputs (run-time packing), at the portable, AVX2 and
AVX-512 levels.  Forms that must not fuse: a broadcast addend, the Conv's
output read twice or a graph output, the Add's output followed by another
activation, symbolic dims under different names, ConvTranspose.
"""
import os
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import make_model, write_case  # noqa: E402

rng = np.random.default_rng(20261208)
ALL_ISA = ("portable", "avx2", "avx512")


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def conv_out_shape(x_shape, w_shape, attrs, op):
    s = attrs.get("strides", [1] * (len(x_shape) - 2))
    p = attrs.get("pads", [0] * (2 * (len(x_shape) - 2)))
    nsp = len(x_shape) - 2
    if op == "ConvTranspose":
        m = w_shape[1] * attrs.get("group", 1)
        sp = [(x_shape[2 + i] - 1) * s[i] + w_shape[2 + i] - p[i] - p[i + nsp] for i in range(nsp)]
    else:
        m = w_shape[0]
        sp = [(x_shape[2 + i] + p[i] + p[i + nsp] - w_shape[2 + i]) // s[i] + 1 for i in range(nsp)]
    return [x_shape[0], m] + sp


def sum_case(out, name, x_shape, w_shape, attrs=None, relu=True, addend="input", addend_first=False,
             addend_shape=None, bias=True, const_w=True, op="Conv", add_op="Add", conv_is_output=False,
             conv_read_twice=False, after=None, dynamic=None, isa=ALL_ISA):
    """Conv(x, w[, b]) -> y; Add(y, r) (or Add(r, y)) -> s; [Relu(s) -> z].
    addend: "input" (r a graph input of addend_shape, default y's shape),
    "x" (r is the Conv's own input), "before" (r = Sigmoid(x0), a node
    before the Conv, x0 an input).  dynamic: (x dim names, r dim names)."""
    attrs = attrs or {}
    x = randn(*x_shape)
    w = (randn(*w_shape) / np.sqrt(max(1, np.prod(w_shape[1:])))).astype(np.float32)
    y_shape = conv_out_shape(x_shape, w_shape, attrs, op)
    m = y_shape[1]
    inputs = {"x": (np.float32, list(dynamic[0]) if dynamic else list(x_shape))}
    feed = {"x": x}
    ins = ["x", "w", "b"] if bias else ["x", "w"]
    inits = [("b", randn(m))] if bias else []
    if const_w:
        inits.append(("w", w))  # packed at load
    else:
        inputs["w"], feed["w"] = (np.float32, list(w_shape)), w  # packed per run
    nodes = []
    if addend == "x":
        r = "x"
    elif addend == "before":
        rs = addend_shape or y_shape
        inputs["x0"] = (np.float32, list(rs))
        feed["x0"] = randn(*rs)
        nodes.append(helper.make_node("Sigmoid", ["x0"], ["r"]))
        r = "r"
    else:
        rs = addend_shape or y_shape
        inputs["r"] = (np.float32, list(dynamic[1]) if dynamic else list(rs))
        feed["r"] = randn(*rs)
        r = "r"
    nodes.append(helper.make_node(op, ins, ["y"], **attrs))
    sum_ins = [r, "y"] if addend_first else ["y", r]
    if add_op == "Sum3":
        add_op, sum_ins = "Sum", sum_ins + [r]
    nodes.append(helper.make_node(add_op, sum_ins, ["s"]))
    final = "s"
    if relu:
        nodes.append(helper.make_node("Relu", ["s"], ["z"]))
        final = "z"
    if after:
        nodes.append(helper.make_node(after, [final], ["a"]))
        final = "a"
    outputs = {final: (np.float32, None)}
    if conv_is_output:
        outputs["y"] = (np.float32, None)
    if conv_read_twice:
        nodes.append(helper.make_node("Neg", ["y"], ["ny"]))
        outputs["ny"] = (np.float32, None)
    model = make_model(nodes, inputs, outputs, initializers=inits)
    write_case(out, name, model, feed, rtol=1e-4, atol=1e-5, isa=isa)


def main(out):
    p1 = dict(pads=[1, 1, 1, 1])
    # every conv path, Add + Relu and Add alone, batch 1 and 2
    paths = [
        ("3x3", (1, 16, 9, 11), (32, 16, 3, 3), p1),
        ("3x3_m40", (1, 8, 7, 13), (40, 8, 3, 3), p1),	# a partial 32-channel block
        ("1x1", (1, 24, 9, 7), (40, 24, 1, 1), {}),
        ("1x1_s2", (1, 16, 14, 14), (32, 16, 1, 1), dict(strides=[2, 2])),
        ("1x1_s2_odd", (1, 8, 13, 11), (24, 8, 1, 1), dict(strides=[2, 2])),
        ("3x3_s2", (1, 16, 15, 17), (32, 16, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1])),
        ("grouped", (1, 16, 9, 10), (32, 4, 3, 3), dict(group=4, pads=[1, 1, 1, 1])),
        ("depthwise", (1, 16, 9, 10), (16, 1, 3, 3), dict(group=16, pads=[1, 1, 1, 1])),
        ("depthwise_s2", (1, 12, 11, 10), (12, 1, 3, 3), dict(group=12, strides=[2, 2], pads=[1, 1, 1, 1])),
        ("narrow", (1, 64, 2, 2), (96, 64, 3, 3), p1),
        ("im2col_5x5", (1, 6, 12, 9), (10, 6, 5, 5), dict(pads=[2, 1, 2, 1])),
        ("1d", (1, 8, 33), (12, 8, 3), dict(pads=[1, 1])),
        ("3d", (1, 4, 5, 6, 7), (6, 4, 3, 3, 3), dict(pads=[1, 1, 1, 1, 1, 1])),
    ]
    for pname, xs, ws, at in paths:
        for n in (1, 2):
            xb = (n,) + tuple(xs[1:])
            sum_case(out, "relu_%s_n%d" % (pname, n), xb, ws, at)
            sum_case(out, "add_%s_n%d" % (pname, n), xb, ws, at, relu=False, addend_first=True)
        sum_case(out, "relu_%s_wrun" % pname, xs, ws, at, const_w=False, bias=False)
    # the addend: the Conv's own input, made before the Conv, first in the Add
    sum_case(out, "addend_x", (1, 16, 9, 11), (16, 16, 3, 3), p1, addend="x")
    sum_case(out, "addend_x_n2_1x1", (2, 24, 5, 7), (24, 24, 1, 1), {}, addend="x", relu=False)
    sum_case(out, "addend_before", (1, 16, 9, 11), (32, 16, 3, 3), p1, addend="before")
    sum_case(out, "addend_first_relu", (2, 16, 8, 8), (32, 16, 3, 3), p1, addend_first=True)
    sum_case(out, "nobias", (1, 16, 9, 11), (32, 16, 3, 3), p1, bias=False)
    # symbolic dims: one name fuses, different names do not
    sum_case(out, "dynamic_same", (2, 16, 6, 7), (32, 16, 3, 3), p1,
             dynamic=(("N", 16, 6, 7), ("N", 32, 6, 7)))
    sum_case(out, "dynamic_other_name", (2, 16, 6, 7), (32, 16, 3, 3), p1,
             dynamic=(("N", 16, 6, 7), ("B", 32, 6, 7)))
    sum_case(out, "dynamic_all", (1, 16, 6, 7), (32, 16, 3, 3), p1,
             dynamic=(("N", 16, "H", "W"), ("N", 32, "H", "W")))
    # a two-input Sum is the same sum (then its Relu folds into the Conv too)
    sum_case(out, "sum2_relu", (1, 16, 9, 11), (32, 16, 3, 3), p1, add_op="Sum")
    sum_case(out, "sum2_relu_1x1_s2_n2", (2, 16, 14, 14), (32, 16, 1, 1), dict(strides=[2, 2]), add_op="Sum",
             addend_first=True)
    sum_case(out, "sum2_add", (1, 8, 7, 13), (40, 8, 3, 3), p1, add_op="Sum", relu=False)
    sum_case(out, "nofuse_sum3", (1, 16, 9, 11), (32, 16, 3, 3), p1, add_op="Sum3")
    # must not fuse (results still right)
    sum_case(out, "nofuse_bcast_channel", (1, 16, 9, 11), (32, 16, 3, 3), p1, addend_shape=(1, 32, 1, 1))
    sum_case(out, "nofuse_bcast_rank", (1, 16, 9, 11), (32, 16, 3, 3), p1, addend_shape=(9, 11))
    sum_case(out, "nofuse_bcast_batch", (2, 16, 9, 11), (32, 16, 3, 3), p1, addend_shape=(1, 32, 9, 11))
    sum_case(out, "nofuse_conv_output", (1, 16, 9, 11), (32, 16, 3, 3), p1, conv_is_output=True)
    sum_case(out, "nofuse_read_twice", (1, 16, 9, 11), (32, 16, 3, 3), p1, conv_read_twice=True)
    sum_case(out, "fuse_then_sigmoid", (1, 16, 9, 11), (32, 16, 3, 3), p1, after="Sigmoid")
    sum_case(out, "add_then_sigmoid", (1, 16, 9, 11), (32, 16, 3, 3), p1, relu=False, after="Sigmoid")
    sum_case(out, "nofuse_convtranspose", (1, 8, 5, 6), (8, 6, 3, 3), dict(strides=[2, 2]),
             op="ConvTranspose")


if __name__ == "__main__":
    main(sys.argv[1])
