#!/usr/bin/env python3
"""Kernel cases for the static output shapes of Conv and the pooling
operators (infer_conv in engine/ops/ops_conv.c, infer_pool in ops_pool.c,
cpq_infer_window in engine/src/conv_pool_quant_util.c), and for what they
feed: the load-time choice of a convolution path that needs the number
of output positions (conv_narrow.c packs its weights at load when it is
known), for a Conv whose input comes out of another Conv or a pool.

    make_window_shape_cases.py OUT_DIR

Shape-checking cases end in a Shape node, which constant folding
evaluates at load from the inferred shape: a wrong inference gives a
wrong Shape output.  They cover strides, pads, dilations, auto_pad
(SAME_UPPER, SAME_LOWER, VALID), ceil_mode (with a last window that
would start in the end pad), 1-D, 2-D and 3-D windows, groups,
MaxPool's Indices, AveragePool, LpPool and the global pools.  Chain
cases run Conv -> Relu -> Conv, MaxPool -> Conv and Conv -> Add ->
Conv with few output positions (1, 4, 8, 9), static and symbolic
batch, at the portable, AVX2 and AVX-512 levels.
"""
import os
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import make_model, write_case  # noqa: E402

rng = np.random.default_rng(20261207)
ALL_ISA = ("portable", "avx2", "avx512")


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def shape_case(out, name, op, x_shape, attrs, w_shape=None, indices=False):
    """op on x, its output and the output's Shape (folded at load when inferred)."""
    ins, inits = ["x"], []
    if w_shape is not None:
        ins.append("w")
        inits.append(("w", randn(*w_shape) / np.float32(np.sqrt(np.prod(w_shape[1:])))))
    outs = ["y", "yi"] if indices else ["y"]
    nodes = [helper.make_node(op, ins, outs, **attrs), helper.make_node("Shape", ["y"], ["s"])]
    outputs = {"y": (np.float32, None), "s": (np.int64, None)}
    if indices:
        nodes.append(helper.make_node("Shape", ["yi"], ["si"]))
        outputs["si"] = (np.int64, None)
    model = make_model(nodes, {"x": (np.float32, list(x_shape))}, outputs, initializers=inits)
    write_case(out, name, model, {"x": randn(*x_shape)})


def chain_case(out, name, x_shape, first, w2_shape, attrs2, dynamic=False, add=False):
    """first(x) (a Conv's or MaxPool's node and initializers), optionally
    plus itself, then Relu and a second Conv of weights w2_shape."""
    op, attrs1, w1_shape = first
    ins1, inits = ["x"], []
    if w1_shape is not None:
        ins1.append("w1")
        inits.append(("w1", randn(*w1_shape) / np.float32(np.sqrt(np.prod(w1_shape[1:])))))
    inits.append(("w2", randn(*w2_shape) / np.float32(np.sqrt(np.prod(w2_shape[1:])))))
    inits.append(("b2", randn(w2_shape[0])))
    nodes = [helper.make_node(op, ins1, ["a"], **attrs1)]
    cur = "a"
    if add:
        nodes.append(helper.make_node("Add", ["a", "a"], ["a2"]))
        cur = "a2"
    nodes.append(helper.make_node("Relu", [cur], ["r"]))
    nodes.append(helper.make_node("Conv", ["r", "w2", "b2"], ["y"], **attrs2))
    dims = ["n"] + list(x_shape[1:]) if dynamic else list(x_shape)
    model = make_model(nodes, {"x": (np.float32, dims)}, {"y": (np.float32, None)}, initializers=inits)
    write_case(out, name, model, {"x": randn(*x_shape)}, isa=ALL_ISA)


def main(out):
    # Conv: strides, pads, dilations, auto_pad, groups, 1-D and 3-D
    shape_case(out, "conv_s2_p1", "Conv", (2, 3, 9, 8), dict(strides=[2, 2], pads=[1, 1, 1, 1]), (4, 3, 3, 3))
    shape_case(out, "conv_dil_asym", "Conv", (1, 2, 11, 7), dict(dilations=[2, 1], pads=[0, 2, 1, 0]), (5, 2, 3, 2))
    shape_case(out, "conv_same_upper_s3", "Conv", (1, 2, 10, 7), dict(auto_pad="SAME_UPPER", strides=[3, 2]), (3, 2, 4, 3))
    shape_case(out, "conv_same_lower", "Conv", (1, 2, 6, 5), dict(auto_pad="SAME_LOWER", strides=[2, 2]), (3, 2, 2, 2))
    shape_case(out, "conv_valid", "Conv", (1, 2, 6, 5), dict(auto_pad="VALID", strides=[2, 1]), (3, 2, 3, 3))
    shape_case(out, "conv_group", "Conv", (1, 4, 5, 5), dict(group=2, pads=[1, 1, 1, 1]), (6, 2, 3, 3))
    shape_case(out, "conv_1d", "Conv", (2, 3, 17), dict(strides=[4], pads=[2, 1]), (5, 3, 5))
    shape_case(out, "conv_3d", "Conv", (1, 2, 5, 4, 6), dict(strides=[2, 1, 3]), (3, 2, 2, 2, 2))
    # pools: ceil_mode (one case whose last window would start in the end pad), auto_pad, dilations
    shape_case(out, "maxpool_ceil", "MaxPool", (1, 3, 7, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1))
    shape_case(out, "maxpool_ceil_endpad", "MaxPool", (1, 2, 5, 5),
               dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1))
    shape_case(out, "maxpool_indices", "MaxPool", (2, 3, 9, 6), dict(kernel_shape=[3, 2], strides=[2, 2],
               pads=[1, 0, 1, 1]), indices=True)
    shape_case(out, "maxpool_dil", "MaxPool", (1, 2, 10, 9), dict(kernel_shape=[3, 2], dilations=[2, 3]))
    shape_case(out, "maxpool_same_upper", "MaxPool", (1, 2, 7, 6), dict(kernel_shape=[3, 3], strides=[2, 2],
               auto_pad="SAME_UPPER"))
    shape_case(out, "maxpool_1d", "MaxPool", (1, 3, 11), dict(kernel_shape=[3], strides=[3]))
    shape_case(out, "avgpool_same_lower", "AveragePool", (1, 2, 7, 5), dict(kernel_shape=[2, 3], strides=[2, 2],
               auto_pad="SAME_LOWER"))
    shape_case(out, "avgpool_valid_3d", "AveragePool", (1, 2, 5, 6, 4), dict(kernel_shape=[2, 3, 2], auto_pad="VALID"))
    shape_case(out, "avgpool_ceil_pads", "AveragePool", (1, 2, 8, 7), dict(kernel_shape=[3, 3], strides=[3, 2],
               pads=[1, 1, 1, 1], ceil_mode=1))
    shape_case(out, "lppool", "LpPool", (1, 2, 6, 7), dict(kernel_shape=[2, 3], strides=[2, 2], p=2))
    shape_case(out, "global_avg", "GlobalAveragePool", (2, 3, 5, 4), {})
    shape_case(out, "global_max_1d", "GlobalMaxPool", (2, 3, 9), {})
    # chains: the second Conv's output positions known at load (narrow path packed), or just above it
    for P_side, dyn in ((1, False), (2, False), (2, True), (3, False)):
        H = 2 * P_side
        chain_case(out, "conv_conv_p%d_%s" % (P_side * P_side, "dyn" if dyn else "static"), (2, 8, H, H),
                   ("Conv", dict(strides=[2, 2], pads=[1, 1, 1, 1]), (24, 8, 3, 3)),
                   (40, 24, 3, 3), dict(pads=[1, 1, 1, 1]), dynamic=dyn)
    chain_case(out, "pool_conv_p8", (1, 16, 4, 8), ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2]), None),
               (33, 16, 3, 3), dict(pads=[1, 1, 1, 1]))
    chain_case(out, "pool_ceil_conv_p9", (3, 16, 5, 5), ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2],
               ceil_mode=1), None), (64, 16, 3, 3), dict(pads=[1, 1, 1, 1]), dynamic=True)
    chain_case(out, "conv_add_conv_p4_1d", (1, 20, 8), ("Conv", dict(strides=[2], pads=[1, 1]), (32, 20, 3)),
               (130, 32, 3), dict(pads=[1, 1]), add=True)


if __name__ == "__main__":
    main(sys.argv[1])
