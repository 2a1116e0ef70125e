#!/usr/bin/env python3
"""Kernel cases for the convolutions (engine/ops/ops_conv.c, conv_depthwise.c)
and the activations the optimizer folds into them (optimize.c, fused_act.c).

    make_conv_cases.py OUT_DIR

Each path gets cases: direct depthwise (kernels 3/5/7 and others, strides
1/2/3, dilations, asymmetric pads, auto_pad, channel multiplier, 1-D),
1x1 convolutions (stride 1 and 2, pads), grouped convolutions, im2col +
GEMM (2-D, 1-D, 3-D, batches), ConvTranspose with every attribute, and
every fused activation (with cases where the pattern must not fuse).
Widths 1, 7, 17, 33 leave SIMD tails; batches 1 and 3.  Weights are
initializers (the load-time pack path) or graph inputs (the run-time path).
Most cases also run on the AVX2 and portable C paths (isa.txt).
"""
import os
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import make_model, write_case  # noqa: E402

rng = np.random.default_rng(20240613)
ALL_ISA = ("portable", "avx2", "avx512")


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def conv_case(out, name, x_shape, w_shape, attrs=None, bias=True, op="Conv", const_w=True,
              post=None, isa=ALL_ISA, extra_outputs=(), rtol=1e-4, atol=1e-5, batch_first=None,
              dynamic=False):
    """One Conv/ConvTranspose node on x, followed by the nodes post(y) returns;
    dynamic: x's dims are symbolic (no static shape at load)."""
    attrs = attrs or {}
    x = randn(*x_shape)
    w = (randn(*w_shape) / np.sqrt(max(1, np.prod(w_shape[1:])))).astype(np.float32)
    if op == "Conv":
        m = w_shape[0]
    else:
        m = w_shape[1] * attrs.get("group", 1)
    ins = ["x", "w"]
    inits, feed = [], {"x": x}
    inputs = {"x": (np.float32, ["d%d" % i for i in range(len(x_shape))] if dynamic else list(x_shape))}
    if const_w:
        inits.append(("w", w))
    else:
        inputs["w"] = (np.float32, list(w_shape))
        feed["w"] = w
    if bias:
        b = randn(m)
        ins.append("b")
        if const_w:
            inits.append(("b", b))
        else:
            inputs["b"] = (np.float32, [m])
            feed["b"] = b
    nodes = [helper.make_node(op, ins, ["y"], **attrs)]
    final = "y"
    if post:
        more, final, more_inits = post("y")
        nodes += more
        inits += more_inits
    outputs = {final: (np.float32, None)}
    for e in extra_outputs:
        outputs[e] = (np.float32, None)
    model = make_model(nodes, inputs, outputs, initializers=inits)
    write_case(out, name, model, feed, rtol=rtol, atol=atol, isa=isa)


def act(kind, **kw):
    """post() for a one-node activation."""
    def post(y):
        return [helper.make_node(kind, [y], ["z"], **kw)], "z", []
    return post


def clip(lo, hi):
    def post(y):
        ins = [y, "lo" if lo is not None else "", "hi" if hi is not None else ""]
        while ins[-1] == "":
            ins.pop()
        inits = [(n, np.array(v, np.float32)) for n, v in (("lo", lo), ("hi", hi)) if v is not None]
        return [helper.make_node("Clip", ins, ["z"])], "z", inits
    return post


def gated(gate, **kw):
    """x * gate(x): SiLU (Sigmoid) or HardSwish spelled with HardSigmoid."""
    def post(y):
        return [helper.make_node(gate, [y], ["g"], **kw),
                helper.make_node("Mul", ["g", y], ["z"])], "z", []
    return post


def spelled_hardswish(div_last=True, use_div=True):
    """x * clip(x + 3, 0, 6) / 6 as Add, Clip, Mul, Div (or Mul by 1/6)."""
    def post(y):
        scale = ("Div", "six") if use_div else ("Mul", "sixth")
        nodes = [helper.make_node("Add", [y, "three"], ["a"]),
                 helper.make_node("Clip", ["a", "zero", "six"], ["c"])]
        if div_last:
            nodes += [helper.make_node("Mul", [y, "c"], ["m"]),
                      helper.make_node(scale[0], ["m", scale[1]], ["z"])]
        else:
            nodes += [helper.make_node(scale[0], ["c", scale[1]], ["m"]),
                      helper.make_node("Mul", ["m", y], ["z"])]
        inits = [("three", np.array(3, np.float32)), ("zero", np.array(0, np.float32)),
                 ("six", np.array(6, np.float32)), ("sixth", np.array(1 / 6, np.float32))]
        return nodes, "z", inits
    return post


def spelled_gelu():
    """0.5 x (1 + erf(x / sqrt 2)) as Div, Erf, Add, Mul, Mul (fused_act.c's GELU)."""
    def post(y):
        nodes = [helper.make_node("Div", [y, "sqrt2"], ["d"]),
                 helper.make_node("Erf", ["d"], ["e"]),
                 helper.make_node("Add", ["e", "one"], ["a"]),
                 helper.make_node("Mul", [y, "half"], ["h"]),
                 helper.make_node("Mul", ["h", "a"], ["z"])]
        inits = [("sqrt2", np.array(np.sqrt(2.0), np.float32)), ("one", np.array(1, np.float32)),
                 ("half", np.array(0.5, np.float32))]
        return nodes, "z", inits
    return post


def affine(scale_shape, shift_shape, then=None):
    """Mul by a constant, Add a constant (folded into W and B), then maybe an activation."""
    def post(y):
        s = (rng.random(scale_shape) + 0.5).astype(np.float32)
        t = randn(*shift_shape)
        nodes = [helper.make_node("Mul", ["s", y], ["ms"]), helper.make_node("Add", ["ms", "t"], ["z0"])]
        inits = [("s", s), ("t", t)]
        final = "z0"
        if then:
            more, final, more_inits = then("z0")
            nodes += more
            inits += more_inits
        return nodes, final, inits
    return post


def bn_then(m, then=None, scale_shape=None, extra_bn_reader=False, unsqueeze=True):
    """BatchNormalization with constant parameters (folded into the Conv),
    then Mul and Add by per-channel constants, as the light model-zoo models
    spell a BatchNormalization (Unsqueeze of (M) vectors: constants after
    folding), then maybe an activation.  scale_shape: the Mul's constant
    shape instead (not per channel: must not fold); extra_bn_reader: the BN's
    bias also read by another node (the Conv must not take it over)."""
    def post(y):
        sc, bi, mu = (rng.random(m) + 0.5).astype(np.float32), randn(m), randn(m)
        var = (rng.random(m) + 0.5).astype(np.float32)
        inits = [("bn_s", sc), ("bn_b", bi), ("bn_m", mu), ("bn_v", var),
                 ("ax", np.array([1, 2], np.int64))]
        nodes = [helper.make_node("BatchNormalization", [y, "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"])]
        if scale_shape is not None:
            inits.append(("mul_c", (rng.random(scale_shape) + 0.5).astype(np.float32)))
            mul_c = "mul_c"
        elif unsqueeze:
            inits.append(("mul_v", (rng.random(m) + 0.5).astype(np.float32)))
            nodes.append(helper.make_node("Unsqueeze", ["mul_v", "ax"], ["mul_c"]))
            mul_c = "mul_c"
        else:
            inits.append(("mul_c", (rng.random((m, 1, 1)) + 0.5).astype(np.float32)))
            mul_c = "mul_c"
        inits.append(("add_v", randn(m)))
        nodes += [helper.make_node("Unsqueeze", ["add_v", "ax"], ["add_c"]),
                  helper.make_node("Mul", ["bn", mul_c], ["bm"]),
                  helper.make_node("Add", ["bm", "add_c"], ["z0"])]
        final = "z0"
        if extra_bn_reader:
            # a reader at run time (a constant Mul would be folded away)
            inits.append(("rm_axes", np.array([0, 2, 3], np.int64)))
            nodes.append(helper.make_node("ReduceMean", [final, "rm_axes"], ["rm"], keepdims=0))
            nodes.append(helper.make_node("Mul", ["rm", "bn_b"], ["bb2"]))
            nodes.append(helper.make_node("Unsqueeze", ["bb2", "ax"], ["bb3"]))
            nodes.append(helper.make_node("Add", [final, "bb3"], ["z1"]))
            final = "z1"
        if then:
            more, final, more_inits = then(final)
            nodes += more
            inits += more_inits
        return nodes, final, inits
    return post


def main(out):
    # ---- depthwise: group == C_in == C_out ----
    for k in (3, 5, 7):
        for s in (1, 2):
            for wd in (1, 7, 17, 33):
                conv_case(out, "dw_k%d_s%d_w%d" % (k, s, wd), (1, 4, 9, wd), (4, 1, k, k),
                          dict(group=4, strides=[s, s], pads=[k // 2] * 4))
    conv_case(out, "dw_k3_batch3", (3, 5, 11, 19), (5, 1, 3, 3), dict(group=5, pads=[1, 1, 1, 1]))
    conv_case(out, "dw_k3_nobias", (1, 6, 8, 16), (6, 1, 3, 3), dict(group=6, pads=[1, 1, 1, 1]), bias=False)
    conv_case(out, "dw_k3_dil2", (1, 3, 13, 21), (3, 1, 3, 3), dict(group=3, pads=[2, 2, 2, 2], dilations=[2, 2]))
    conv_case(out, "dw_k5_dil3_s2", (1, 3, 20, 35), (3, 1, 5, 5),
              dict(group=3, pads=[1, 4, 2, 3], dilations=[3, 2], strides=[2, 2]))
    conv_case(out, "dw_k3_asym_pads", (1, 4, 10, 23), (4, 1, 3, 3), dict(group=4, pads=[0, 2, 2, 1]))
    conv_case(out, "dw_k3_big_pads", (1, 2, 5, 6), (2, 1, 3, 3), dict(group=2, pads=[4, 5, 3, 6]))
    conv_case(out, "dw_k3_nopad", (1, 4, 10, 40), (4, 1, 3, 3), dict(group=4))
    conv_case(out, "dw_k3_s3", (1, 4, 16, 50), (4, 1, 3, 3), dict(group=4, strides=[3, 3], pads=[1, 1, 1, 1]))
    conv_case(out, "dw_k3_s21", (1, 4, 12, 40), (4, 1, 3, 3), dict(group=4, strides=[2, 1], pads=[1, 1, 1, 1]))
    conv_case(out, "dw_k3_s12", (1, 4, 12, 41), (4, 1, 3, 3), dict(group=4, strides=[1, 2], pads=[1, 1, 1, 1]))
    conv_case(out, "dw_k4", (1, 3, 12, 25), (3, 1, 4, 4), dict(group=3, pads=[1, 2, 2, 1]))
    conv_case(out, "dw_k1x5", (1, 3, 6, 30), (3, 1, 1, 5), dict(group=3, pads=[0, 2, 0, 2]))
    conv_case(out, "dw_k5x1_s21", (1, 3, 12, 30), (3, 1, 5, 1), dict(group=3, pads=[2, 0, 2, 0], strides=[2, 1]))
    conv_case(out, "dw_k9", (1, 2, 12, 37), (2, 1, 9, 9), dict(group=2, pads=[4, 4, 4, 4]))
    conv_case(out, "dw_k11_s2", (1, 2, 15, 40), (2, 1, 11, 11), dict(group=2, pads=[5, 5, 5, 5], strides=[2, 2]))
    conv_case(out, "dw_kernel_wider_than_image", (1, 2, 3, 2), (2, 1, 5, 5), dict(group=2, pads=[2, 2, 2, 2]))
    for ap in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        for s in (1, 2):
            conv_case(out, "dw_autopad_%s_s%d" % (ap.lower(), s), (1, 3, 10, 17), (3, 1, 4, 4),
                      dict(group=3, auto_pad=ap, strides=[s, s]))
    conv_case(out, "dw_mult2", (1, 3, 9, 19), (6, 1, 3, 3), dict(group=3, pads=[1, 1, 1, 1]))
    conv_case(out, "dw_mult3_s2_batch3", (3, 2, 10, 21), (6, 1, 5, 5), dict(group=2, pads=[2, 2, 2, 2], strides=[2, 2]))
    conv_case(out, "dw_1d_k3", (2, 4, 33), (4, 1, 3), dict(group=4, pads=[1, 1]))
    conv_case(out, "dw_1d_k5_s2_dil2", (1, 3, 40), (3, 1, 5), dict(group=3, pads=[3, 2], strides=[2], dilations=[2]))
    conv_case(out, "dw_1d_mult2", (1, 3, 17), (6, 1, 3), dict(group=3, pads=[1, 1]))
    conv_case(out, "dw_3d", (1, 3, 5, 6, 7), (3, 1, 3, 3, 3), dict(group=3, pads=[1] * 6))
    conv_case(out, "dw_runtime_weights", (1, 4, 9, 18), (4, 1, 3, 3), dict(group=4, pads=[1, 1, 1, 1]),
              const_w=False)
    conv_case(out, "dw_runtime_weights_s2", (2, 4, 9, 19), (8, 1, 5, 5), dict(group=4, pads=[2, 2, 2, 2], strides=[2, 2]),
              const_w=False)
    conv_case(out, "dw_wide", (1, 2, 4, 300), (2, 1, 3, 3), dict(group=2, pads=[1, 1, 1, 1]))
    conv_case(out, "dw_w1_s2_k3", (1, 2, 7, 1), (2, 1, 3, 3), dict(group=2, pads=[1, 1, 1, 1], strides=[2, 2]))

    # ---- 1x1 convolutions ----
    for n in (1, 3):
        for wd in (1, 7, 17, 33):
            conv_case(out, "pw_n%d_w%d" % (n, wd), (n, 16, 5, wd), (24, 16, 1, 1), isa=("avx512",))
    conv_case(out, "pw_s2", (1, 8, 9, 17), (12, 8, 1, 1), dict(strides=[2, 2]))
    conv_case(out, "pw_s2_batch3", (3, 8, 10, 16), (12, 8, 1, 1), dict(strides=[2, 2]))
    conv_case(out, "pw_s21", (1, 8, 9, 17), (12, 8, 1, 1), dict(strides=[2, 1]))
    conv_case(out, "pw_pads", (1, 8, 6, 7), (12, 8, 1, 1), dict(pads=[1, 0, 0, 2]))
    conv_case(out, "pw_1d", (2, 8, 33), (5, 8, 1))
    conv_case(out, "pw_3d", (1, 8, 3, 4, 5), (5, 8, 1, 1, 1))
    conv_case(out, "pw_runtime_weights", (1, 16, 7, 9), (8, 16, 1, 1), const_w=False)
    conv_case(out, "pw_nobias_big", (1, 64, 20, 20), (48, 64, 1, 1), bias=False)
    conv_case(out, "pw_few_out", (1, 32, 12, 12), (2, 32, 1, 1))

    # ---- grouped (neither depthwise nor plain) ----
    for g in (2, 4):
        conv_case(out, "group%d_k3" % g, (1, 8, 9, 17), (8, 8 // g, 3, 3), dict(group=g, pads=[1, 1, 1, 1]))
        conv_case(out, "group%d_pw" % g, (3, 8, 7, 7), (16, 8 // g, 1, 1), dict(group=g))
        conv_case(out, "group%d_k3_s2_batch3" % g, (3, 8, 12, 12), (12, 8 // g, 3, 3),
                  dict(group=g, pads=[1, 1, 1, 1], strides=[2, 2]))
    conv_case(out, "group2_1d", (1, 4, 20), (6, 2, 3), dict(group=2, pads=[1, 1]))
    conv_case(out, "group2_runtime_weights", (2, 8, 6, 6), (8, 4, 3, 3), dict(group=2, pads=[1, 1, 1, 1]),
              const_w=False)

    # ---- im2col + GEMM ----
    conv_case(out, "k3", (1, 3, 17, 33), (8, 3, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "k3_s2_batch3", (3, 4, 16, 16), (8, 4, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2]))
    conv_case(out, "k3_big", (1, 16, 40, 40), (12, 16, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "k5_dil2_asym", (1, 3, 20, 19), (4, 3, 5, 3), dict(pads=[1, 2, 3, 0], dilations=[2, 1]))
    conv_case(out, "k3_w1", (2, 3, 9, 1), (4, 3, 3, 1), dict(pads=[1, 0, 1, 0]))
    conv_case(out, "k1d", (2, 3, 33), (4, 3, 5), dict(pads=[2, 2]))
    conv_case(out, "k1d_s2_dil3", (1, 3, 40), (4, 3, 3), dict(pads=[1, 2], strides=[2], dilations=[3]))
    conv_case(out, "k3d", (1, 2, 5, 6, 7), (3, 2, 3, 3, 3), dict(pads=[1, 0, 1, 1, 0, 1]))
    conv_case(out, "k3d_s2_batch3", (3, 2, 6, 7, 5), (3, 2, 2, 3, 2), dict(strides=[2, 1, 2]))
    for ap in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        conv_case(out, "k4_autopad_%s" % ap.lower(), (1, 3, 11, 13), (4, 3, 4, 4), dict(auto_pad=ap, strides=[2, 2]))
    conv_case(out, "k3_runtime_weights", (2, 3, 8, 9), (4, 3, 3, 3), dict(pads=[1, 1, 1, 1]), const_w=False)

    # ---- direct (few output channels per group): channel blocks of 8 and their tails,
    # several bands of rows, strides, dilations; 65 output channels take im2col + GEMM ----
    for m in (1, 5, 13, 24, 64, 65):
        conv_case(out, "direct_m%d" % m, (1, 6, 11, 23), (m, 6, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "direct_bands_relu", (1, 64, 60, 100), (24, 64, 3, 3), dict(pads=[1, 1, 1, 1]),
              post=act("Relu"), isa=ALL_ISA, rtol=2e-4, atol=1e-4)
    conv_case(out, "direct_bands_s2", (2, 32, 41, 90), (16, 32, 3, 3), dict(pads=[1, 0, 1, 2], strides=[2, 2]),
              rtol=2e-4, atol=1e-4)
    conv_case(out, "direct_s2_dil2", (1, 5, 19, 37), (7, 5, 3, 3), dict(pads=[2, 1, 0, 2], strides=[2, 2], dilations=[2, 2]))
    conv_case(out, "direct_s3x2_k5x2", (1, 4, 20, 33), (9, 4, 5, 2), dict(pads=[2, 0, 1, 1], strides=[3, 2]))
    conv_case(out, "direct_1x1_s2", (1, 16, 17, 33), (12, 16, 1, 1), dict(strides=[2, 2]))
    conv_case(out, "direct_1d", (3, 8, 50), (10, 8, 5), dict(pads=[2, 1], strides=[2]))
    conv_case(out, "direct_group2", (2, 8, 13, 29), (10, 4, 3, 3), dict(group=2, pads=[1, 1, 1, 1]))
    conv_case(out, "direct_in1", (2, 1, 30, 47), (8, 1, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2]))
    conv_case(out, "direct_w1", (1, 3, 12, 1), (5, 3, 3, 1), dict(pads=[1, 0, 1, 0]))
    conv_case(out, "direct_wide", (1, 3, 4, 300), (6, 3, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "direct_first_layer_s2", (1, 3, 64, 64), (16, 3, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2]),
              post=act("HardSwish"))

    # ---- ConvTranspose ----
    T = "ConvTranspose"
    conv_case(out, "ct_k2_s2", (1, 4, 7, 9), (4, 3, 2, 2), dict(strides=[2, 2]), op=T)
    conv_case(out, "ct_k2_s2_w1_batch3", (3, 4, 5, 1), (4, 3, 2, 2), dict(strides=[2, 2]), op=T)
    conv_case(out, "ct_k2_s2_one_out", (1, 6, 8, 17), (6, 1, 2, 2), dict(strides=[2, 2]), op=T)
    conv_case(out, "ct_k3_s1", (1, 3, 6, 17), (3, 4, 3, 3), op=T)
    conv_case(out, "ct_k3_s2_pads", (1, 3, 6, 7), (3, 4, 3, 3), dict(strides=[2, 2], pads=[1, 0, 0, 1]), op=T)
    conv_case(out, "ct_k3_s2_outpad", (2, 3, 5, 7), (3, 2, 3, 3),
              dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]), op=T)
    conv_case(out, "ct_k4_s2_p1", (1, 4, 8, 33), (4, 4, 4, 4), dict(strides=[2, 2], pads=[1, 1, 1, 1]), op=T)
    conv_case(out, "ct_output_shape", (1, 2, 5, 6), (2, 3, 3, 3), dict(strides=[3, 2], output_shape=[16, 13]), op=T)
    conv_case(out, "ct_dilations", (1, 2, 5, 6), (2, 3, 3, 2), dict(dilations=[2, 3]), op=T)
    conv_case(out, "ct_group2", (1, 4, 5, 6), (4, 3, 3, 3), dict(group=2, strides=[2, 2]), op=T)
    conv_case(out, "ct_group4_k2s2", (2, 8, 5, 7), (8, 1, 2, 2), dict(group=4, strides=[2, 2]), op=T)
    for ap in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        conv_case(out, "ct_autopad_%s" % ap.lower(), (1, 2, 5, 7), (2, 3, 3, 3),
                  dict(auto_pad=ap, strides=[2, 2]), op=T)
    conv_case(out, "ct_1d", (2, 3, 17), (3, 2, 4), dict(strides=[2], pads=[1, 0]), op=T)
    conv_case(out, "ct_1d_k2s2", (1, 3, 17), (3, 2, 2), dict(strides=[2]), op=T)
    conv_case(out, "ct_3d", (1, 2, 3, 4, 5), (2, 2, 2, 3, 2), dict(strides=[2, 1, 2], pads=[0, 1, 0, 0, 1, 1]), op=T)
    conv_case(out, "ct_runtime_weights", (1, 3, 6, 7), (3, 4, 2, 2), dict(strides=[2, 2]), op=T, const_w=False)
    conv_case(out, "ct_nobias", (1, 3, 6, 7), (3, 4, 3, 3), dict(strides=[2, 2]), op=T, bias=False)
    conv_case(out, "ct_stride_beyond_kernel", (1, 2, 4, 5), (2, 2, 2, 2), dict(strides=[3, 3]), op=T)
    # kernel == stride (pixel shuffle): pads, output padding, odd kernels, several row blocks
    conv_case(out, "ct_k2_s2_outpad", (1, 3, 5, 7), (3, 2, 2, 2), dict(strides=[2, 2], output_padding=[1, 1]), op=T)
    conv_case(out, "ct_k2_s2_pads", (2, 3, 5, 7), (3, 2, 2, 2), dict(strides=[2, 2], pads=[1, 0, 0, 1]), op=T)
    conv_case(out, "ct_k3_s3", (1, 3, 5, 6), (3, 2, 3, 3), dict(strides=[3, 3], pads=[1, 2, 1, 0]), op=T)
    conv_case(out, "ct_k2x3_s2x3_1d_like", (1, 2, 1, 9), (2, 3, 1, 3), dict(strides=[1, 3]), op=T)
    conv_case(out, "ct_k2_s2_blocks_leaky", (1, 8, 80, 64), (8, 16, 2, 2), dict(strides=[2, 2]), op=T,
              post=act("LeakyRelu", alpha=0.1), isa=("avx512",))
    conv_case(out, "ct_k3_s2_blocks_sigmoid", (1, 8, 60, 64), (8, 16, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1]),
              op=T, post=act("Sigmoid"), isa=("avx512",))
    conv_case(out, "ct_k4_s2_group2_blocks", (2, 8, 40, 33), (8, 8, 4, 4), dict(strides=[2, 2], pads=[1, 1, 1, 1], group=2),
              op=T, isa=("avx512",))
    conv_case(out, "ct_1d_k3_s3", (2, 3, 17), (3, 2, 3), dict(strides=[3], pads=[1, 0], output_padding=[2]), op=T)
    # few col rows (output channels x taps <= 8): no GEMM, several column blocks
    conv_case(out, "ct_few_rows_k2_s2", (1, 24, 40, 33), (24, 1, 2, 2), dict(strides=[2, 2]), op=T,
              post=act("Sigmoid"))
    conv_case(out, "ct_few_rows_k3_s1", (2, 5, 9, 70), (5, 1, 3, 1), dict(pads=[1, 0, 1, 0]), op=T)

    # ---- fused activations ----
    shapes = [("dw", (1, 4, 9, 17), (4, 1, 3, 3), dict(group=4, pads=[1, 1, 1, 1])),
              ("pw", (3, 8, 5, 7), (6, 8, 1, 1), {}),
              ("k3", (1, 3, 8, 9), (5, 3, 3, 3), dict(pads=[1, 1, 1, 1]))]
    acts = [("relu", act("Relu")), ("leaky", act("LeakyRelu", alpha=0.07)),
            ("hardsigmoid", act("HardSigmoid", alpha=0.3, beta=0.4)), ("hardswish", act("HardSwish")),
            ("sigmoid", act("Sigmoid")), ("tanh", act("Tanh")), ("clip06", clip(0.0, 6.0)),
            ("clip_min", clip(-0.5, None)), ("clip_max", clip(None, 0.25)),
            ("silu", gated("Sigmoid")), ("x_hardsigmoid", gated("HardSigmoid", alpha=1 / 6, beta=0.5)),
            ("hswish_spelled", spelled_hardswish()), ("hswish_spelled_mul", spelled_hardswish(use_div=False)),
            ("hswish_spelled_scale_first", spelled_hardswish(div_last=False)),
            ("gelu_spelled", spelled_gelu()),
            ("affine", affine([1], [1])), ("affine_channel", affine([1, 0, 1, 1], [0, 1, 1])),
            ("affine_hswish", affine([1], [1], spelled_hardswish()))]
    for sname, xs, ws, at in shapes:
        for aname, post in acts:
            if aname.startswith("affine") and "channel" in aname:
                c = ws[0]
                post = affine([1, c, 1, 1], [c, 1, 1])
            conv_case(out, "act_%s_%s" % (sname, aname), xs, ws, at, post=post)
    conv_case(out, "act_relu_nobias", (1, 4, 6, 6), (4, 4, 3, 3), dict(pads=[1, 1, 1, 1]), bias=False, post=act("Relu"))
    conv_case(out, "act_affine_nobias", (1, 4, 6, 6), (4, 4, 3, 3), dict(pads=[1, 1, 1, 1]), bias=False,
              post=affine([1], [1]))
    conv_case(out, "act_runtime_weights_sigmoid", (1, 4, 6, 6), (4, 1, 3, 3), dict(group=4, pads=[1, 1, 1, 1]),
              const_w=False, post=act("Sigmoid"))
    conv_case(out, "act_ct_relu", (1, 3, 6, 7), (3, 4, 2, 2), dict(strides=[2, 2]), op=T, post=act("Relu"))
    conv_case(out, "act_ct_leaky", (1, 3, 6, 7), (3, 4, 3, 3), dict(strides=[2, 2]), op=T,
              post=act("LeakyRelu", alpha=0.2))
    conv_case(out, "act_ct_silu", (1, 3, 6, 7), (3, 4, 2, 2), dict(strides=[2, 2]), op=T, post=gated("Sigmoid"))
    # must not fuse: the conv's output is also a graph output
    conv_case(out, "act_nofuse_conv_output", (1, 4, 6, 7), (4, 1, 3, 3), dict(group=4, pads=[1, 1, 1, 1]),
              post=act("Sigmoid"), extra_outputs=("y",))
    conv_case(out, "act_nofuse_gate_output", (1, 4, 6, 7), (4, 1, 3, 3), dict(group=4, pads=[1, 1, 1, 1]),
              post=gated("Sigmoid"), extra_outputs=("g",))
    conv_case(out, "act_nofuse_relu_conv_output", (1, 4, 6, 7), (4, 4, 3, 3), dict(pads=[1, 1, 1, 1]),
              post=act("Relu"), extra_outputs=("y",))
    conv_case(out, "act_nofuse_hswish_inner_output", (1, 4, 6, 7), (4, 1, 3, 3), dict(group=4, pads=[1, 1, 1, 1]),
              post=spelled_hardswish(), extra_outputs=("c",))
    conv_case(out, "act_nofuse_affine_output", (1, 4, 6, 7), (4, 4, 1, 1), post=affine([1], [1]),
              extra_outputs=("ms",))

    # stride-1 implicit GEMM on padded planes (conv_bcast.c, AVX-512; the
    # other levels take the direct and GEMM paths): output channels not a
    # multiple of the 32-channel block (8 is the least it takes), depth Cg*taps
    # at its threshold of 32 and just below, virtual positions not a multiple of
    # the 14-position tile, dilations, asymmetric and wide pads, no pads, 1-D,
    # groups, batches, width 1, SAME padding, weights given at run time
    for name, xs, ws, at in (
            ("m20", (1, 8, 9, 11), (20, 8, 3, 3), dict(pads=[1, 1, 1, 1])),
            ("m8_k32", (1, 4, 6, 5), (8, 4, 2, 4), dict(pads=[0, 1, 1, 2])),
            ("m7_below", (1, 8, 6, 7), (7, 8, 3, 3), dict(pads=[1, 1, 1, 1])),
            ("k31_below", (1, 31, 6, 7), (16, 31, 1, 1), dict(pads=[1, 0, 0, 1])),
            ("m70_c40", (2, 40, 7, 7), (70, 40, 3, 3), dict(pads=[1, 1, 1, 1])),
            ("m33_dil2", (1, 6, 13, 17), (33, 6, 3, 3), dict(pads=[2, 2, 2, 2], dilations=[2, 2])),
            ("dil_asym", (1, 5, 12, 19), (40, 5, 3, 5), dict(pads=[0, 3, 2, 1], dilations=[3, 1])),
            ("wide_pads", (1, 4, 5, 6), (24, 4, 3, 3), dict(pads=[3, 4, 2, 5])),
            ("nopad", (1, 9, 10, 30), (32, 9, 3, 3), {}),
            ("k5", (1, 16, 15, 15), (48, 16, 5, 5), dict(pads=[2, 2, 2, 2])),
            ("k7_w1", (1, 8, 20, 1), (16, 8, 7, 1), dict(pads=[3, 0, 3, 0])),
            ("h1", (1, 12, 1, 37), (40, 12, 1, 3), dict(pads=[0, 1, 0, 1])),
            ("conv1d", (2, 16, 45), (36, 16, 3), dict(pads=[1, 1])),
            ("conv1d_dil", (1, 11, 50), (64, 11, 5), dict(pads=[4, 0], dilations=[2])),
            ("group2", (1, 32, 9, 10), (48, 16, 3, 3), dict(group=2, pads=[1, 1, 1, 1])),
            ("group4_m40", (2, 32, 8, 8), (160, 8, 3, 3), dict(group=4, pads=[1, 1, 1, 1])),
            ("batch3_28", (3, 10, 28, 28), (64, 10, 3, 3), dict(pads=[1, 1, 1, 1])),
            # a batch of images too large for the batched GEMM: one by one here
            ("batch2_64", (2, 16, 64, 64), (40, 16, 3, 3), dict(pads=[1, 1, 1, 1])),
            # a batch of small images: image by image too
            ("batch3_small", (3, 16, 8, 8), (40, 16, 3, 3), dict(pads=[1, 1, 1, 1])),
            ("same_upper", (1, 8, 11, 13), (24, 8, 4, 4), dict(auto_pad="SAME_UPPER")),
            ("same_lower", (1, 8, 11, 13), (24, 8, 4, 4), dict(auto_pad="SAME_LOWER")),
            ("big_c", (1, 300, 7, 7), (96, 300, 3, 3), dict(pads=[1, 1, 1, 1])),
            # strides: phase planes (only the phases some tap reads are filled)
            ("s2", (1, 8, 13, 17), (40, 8, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2])),
            ("s2_even", (2, 16, 14, 14), (32, 16, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2])),
            ("s2_pw", (1, 40, 11, 9), (24, 40, 1, 1), dict(strides=[2, 2])),
            ("s2_dil2", (1, 8, 15, 16), (36, 8, 3, 3), dict(pads=[2, 2, 2, 2], strides=[2, 2], dilations=[2, 2])),
            ("s3", (1, 8, 19, 20), (20, 8, 3, 3), dict(pads=[1, 2, 0, 1], strides=[3, 3])),
            ("s21", (1, 8, 12, 13), (40, 8, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 1])),
            ("s12_k5", (1, 6, 11, 23), (33, 6, 5, 5), dict(pads=[2, 2, 2, 2], strides=[1, 2])),
            ("s4", (1, 8, 17, 18), (16, 8, 4, 4), dict(strides=[4, 4])),
            ("s5_above", (1, 8, 17, 18), (16, 8, 5, 5), dict(strides=[5, 5])),
            ("s2_c3_below", (1, 3, 24, 25), (32, 3, 7, 7), dict(pads=[3, 3, 3, 3], strides=[2, 2])),
            ("s2_c3_m96", (1, 3, 25, 24), (96, 3, 7, 7), dict(strides=[2, 2])),
            ("s2_c4", (1, 4, 24, 25), (32, 4, 7, 7), dict(pads=[3, 3, 3, 3], strides=[2, 2])),
            ("conv1d_s2", (2, 16, 45), (36, 16, 3), dict(pads=[1, 1], strides=[2])),
            ("s2_group2", (1, 16, 10, 11), (48, 8, 3, 3), dict(group=2, pads=[1, 1, 1, 1], strides=[2, 2])),
            ("s2_same_upper", (1, 8, 11, 13), (24, 8, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2])),
            # several 32-channel blocks (the weight prefetch walks the next
            # block, never past the last): small maps whose windows mostly
            # meet pads, one tile a block, groups of several blocks
            ("blocks_2x2_m100", (1, 40, 2, 2), (100, 40, 3, 3), dict(pads=[1, 1, 1, 1])),
            ("blocks_1x1_m70", (1, 24, 1, 1), (70, 24, 3, 3), dict(pads=[1, 1, 1, 1])),
            ("blocks_4x4_s2_m96", (2, 40, 8, 8), (96, 40, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2])),
            ("blocks_group3_m70", (1, 48, 5, 5), (210, 16, 3, 3), dict(group=3, pads=[1, 1, 1, 1])),
            ("blocks_8x8_m160", (1, 36, 8, 8), (160, 36, 3, 3), dict(pads=[1, 1, 1, 1]))):
        conv_case(out, "bcast_%s" % name, xs, ws, at)
    # the tile shapes: maps narrower than 8 several whole rows per tile
    # (14 // OW rows, the rest one by one), wider ones row by row in equal
    # tiles of at most 14 positions (OW 15: 8 + 7, 29: 10 + 10 + 9); odd
    # output channels, strides, batches
    for ow in range(1, 8):
        oh = 2 * (14 // ow) + 1
        conv_case(out, "bcast_rows_w%d" % ow, (2, 6, oh, ow), (37, 6, 3, 3), dict(pads=[1, 1, 1, 1]))
    for ow in (8, 9, 13, 14, 15, 16, 29, 57):
        conv_case(out, "bcast_row_w%d" % ow, (1, 5, 3, ow), (33, 5, 3, 3), dict(pads=[1, 1, 1, 1]),
                  post=act("Relu"))
    # the columns left over (OW % 14, or OW - 7 for maps 8 to 13 wide) in
    # tiles of 14 // rem rows, the last fewer: scattered into Y
    for oh, ow in ((17, 16), (15, 17), (16, 12), (20, 8), (9, 27), (11, 20), (30, 15), (5, 44)):
        conv_case(out, "bcast_cols_%dx%d" % (oh, ow), (1, 5, oh, ow), (35, 5, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "bcast_rows_s2_w5", (3, 8, 9, 9), (40, 8, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2]))
    conv_case(out, "bcast_rows_s2_w8", (2, 8, 16, 16), (64, 8, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2]))
    conv_case(out, "bcast_rows_s2_w11", (1, 8, 9, 22), (40, 8, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2]))
    # stride 2: rows split into the two column phases by vector permutes (32
    # input columns at a time, the rest one by one), pads even and odd
    conv_case(out, "bcast_s2_w71_nopad", (1, 8, 5, 71), (40, 8, 3, 3), dict(strides=[2, 2]))
    conv_case(out, "bcast_s2_w67_pad3", (2, 8, 6, 67), (40, 8, 3, 3), dict(pads=[1, 3, 1, 2], strides=[2, 2]))
    conv_case(out, "bcast_s2_w64_pad2", (1, 8, 6, 64), (40, 8, 5, 5), dict(pads=[2, 2, 2, 2], strides=[2, 2]))
    # a strided 1x1 window (ResNet downsample): never conv_bcast.c, the
    # column gather of conv_core then the GEMM (P 64, 9, 6, 23), a batch of
    # them through the batched GEMM
    for name, xs in (("16", (1, 40, 16, 16)), ("5", (1, 40, 5, 5)), ("3x5", (1, 40, 3, 5)),
                     ("1d", (1, 40, 45)), ("batch3", (3, 40, 9, 9))):
        ws = (36, 40, 1, 1) if len(xs) == 4 else (36, 40, 1)
        conv_case(out, "bcast_flat_s2_%s" % name, xs, ws, dict(strides=[2] * (len(xs) - 2)),
                  post=act("Relu"))
    # strided 1x1 at batch 1: odd channels and maps, pads (windows on the
    # zero border), stride 3 and 2x1, without bias, fused Relu
    for name, xs, ws, at, bias, post in (
            ("c37_m67_15x13", (1, 37, 15, 13), (67, 37, 1, 1), dict(strides=[2, 2]), True, None),
            ("c64_m128_16", (1, 64, 16, 16), (128, 64, 1, 1), dict(strides=[2, 2]), True, act("Relu")),
            ("c33_m40_pad", (1, 33, 9, 11), (40, 33, 1, 1), dict(strides=[2, 2], pads=[1, 0, 1, 1]), True,
             act("Relu")),
            ("c40_m33_s3_nobias", (1, 40, 17, 10), (33, 40, 1, 1), dict(strides=[3, 3]), False, None),
            ("c48_m50_s21", (1, 48, 7, 9), (50, 48, 1, 1), dict(strides=[2, 1]), False, act("Relu"))):
        conv_case(out, "pw_strided_%s" % name, xs, ws, at, bias=bias, post=post)
    conv_case(out, "bcast_batch5_16", (5, 24, 16, 16), (64, 24, 3, 3), dict(pads=[1, 1, 1, 1]),
              post=act("Relu"))
    conv_case(out, "bcast_batch4_7", (4, 32, 7, 7), (48, 32, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "bcast_nobias_relu", (1, 8, 9, 11), (40, 8, 3, 3), dict(pads=[1, 1, 1, 1]), bias=False,
              post=act("Relu"))
    conv_case(out, "bcast_sigmoid", (1, 8, 9, 11), (40, 8, 3, 3), dict(pads=[1, 1, 1, 1]), post=act("Sigmoid"))
    conv_case(out, "bcast_runtime_weights", (2, 8, 9, 11), (40, 8, 3, 3), dict(pads=[1, 1, 1, 1]),
              const_w=False)
    conv_case(out, "bcast_runtime_weights_group2", (1, 16, 6, 9), (40, 8, 3, 3), dict(group=2, pads=[1, 1, 1, 1]),
              const_w=False, post=act("Relu"))

    # Conv -> BatchNormalization -> Mul -> Add -> Relu (the BN folds into W
    # and B, then the Mul and Add, then the Relu fuses): GEMM, direct,
    # pointwise and depthwise convolutions, with and without B
    for sname, xs, ws, at in (("k3", (1, 5, 9, 11), (20, 5, 3, 3), dict(pads=[1, 1, 1, 1])),
                              ("k3_direct", (2, 3, 8, 19), (6, 3, 3, 3), dict(pads=[1, 1, 1, 1])),
                              ("pw", (1, 8, 5, 7), (70, 8, 1, 1), {}),
                              ("dw", (1, 6, 7, 9), (6, 1, 3, 3), dict(group=6, pads=[1, 1, 1, 1]))):
        for bias in (True, False):
            conv_case(out, "bn_affine_relu_%s%s" % (sname, "" if bias else "_nobias"), xs, ws, at,
                      bias=bias, post=bn_then(ws[0], act("Relu")))
    conv_case(out, "bn_affine_nounsqueeze", (1, 5, 9, 11), (20, 5, 3, 3), dict(pads=[1, 1, 1, 1]),
              bias=False, post=bn_then(20, unsqueeze=False))
    # must not fold: a Mul constant that is not per channel (per position),
    # the BN's bias read by another node, the BN output also a graph output
    conv_case(out, "bn_nofold_mul_per_position", (1, 5, 9, 11), (20, 5, 3, 3), dict(pads=[1, 1, 1, 1]),
              bias=False, post=bn_then(20, act("Relu"), scale_shape=(1, 1, 9, 11)))
    conv_case(out, "bn_nofold_bias_second_reader", (1, 5, 9, 11), (20, 5, 3, 3), dict(pads=[1, 1, 1, 1]),
              bias=False, post=bn_then(20, act("Relu"), extra_bn_reader=True))
    conv_case(out, "bn_nofold_bn_output", (1, 5, 9, 11), (20, 5, 3, 3), dict(pads=[1, 1, 1, 1]),
              bias=False, post=bn_then(20, act("Relu")), extra_outputs=("bn",))
    conv_case(out, "bn_nofold_mul_output", (1, 5, 9, 11), (20, 5, 3, 3), dict(pads=[1, 1, 1, 1]),
              bias=False, post=bn_then(20, act("Relu")), extra_outputs=("bm",))

    # a BatchNormalization without a Conv before it (pre-activation blocks):
    # the Mul and Add by per-channel constants fold into its scale and bias,
    # the Relu fuses into it; must not fold: a per-position Mul, its scale also
    # read by another node, its output or the Mul's also a graph output; a
    # float64 BN keeps its fused Relu (the non-float32 path)
    def bn_alone(m, post, x_shape, dtype=np.float32, extra=()):
        x = randn(*x_shape).astype(dtype)
        more, final, inits = post("x")
        inits = [(n, np.asarray(a).astype(dtype) if np.asarray(a).dtype == np.float32 else a)
                 for n, a in inits]
        model = make_model(more, {"x": (dtype, list(x_shape))},
                           dict([(final, (dtype, None))] + [(e, (dtype, None)) for e in extra]),
                           initializers=inits)
        return model, {"x": x}
    for name, post, extra, dtype in (
            ("bn_alone_affine_relu", bn_then(12, act("Relu")), (), np.float32),
            ("bn_alone_affine", bn_then(12), (), np.float32),
            ("bn_alone_affine_sigmoid", bn_then(12, act("Sigmoid")), (), np.float32),
            ("bn_alone_nofold_mul_per_position", bn_then(12, act("Relu"), scale_shape=(1, 1, 5, 9)), (), np.float32),
            ("bn_alone_nofold_bn_output", bn_then(12, act("Relu")), ("bn",), np.float32),
            ("bn_alone_nofold_mul_output", bn_then(12, act("Relu")), ("bm",), np.float32),
            ("bn_alone_f64_relu", bn_then(12, act("Relu")), (), np.float64)):
        model, feed = bn_alone(12, post, (2, 12, 5, 9), dtype, extra)
        write_case(out, name, model, feed, isa=ALL_ISA)

    def bn_scale_shared(y):
        nodes, final, inits = bn_then(12, act("Relu"))(y)
        inits.append(("rm_axes", np.array([0, 2, 3], np.int64)))
        nodes += [helper.make_node("ReduceMean", [final, "rm_axes"], ["rm"], keepdims=0),
                  helper.make_node("Mul", ["rm", "bn_s"], ["sm"]),
                  helper.make_node("Unsqueeze", ["sm", "ax"], ["smu"]),
                  helper.make_node("Add", [final, "smu"], ["z9"])]
        return nodes, "z9", inits
    def bn_relu(y):
        inits = [("bn_s", (rng.random(12) + 0.5).astype(np.float32)), ("bn_b", randn(12)),
                 ("bn_m", randn(12)), ("bn_v", (rng.random(12) + 0.5).astype(np.float32))]
        return [helper.make_node("BatchNormalization", [y, "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"]),
                helper.make_node("Relu", ["bn"], ["z"])], "z", inits
    for dtype, dname in ((np.float32, "f32"), (np.float64, "f64"), (np.float16, "f16")):
        model, feed = bn_alone(12, bn_relu, (2, 12, 5, 9), dtype)
        write_case(out, "bn_alone_relu_%s" % dname, model, feed, isa=ALL_ISA,
                   rtol=1e-2 if dtype == np.float16 else 1e-4, atol=1e-2 if dtype == np.float16 else 1e-5)
    model, feed = bn_alone(12, bn_scale_shared, (1, 12, 5, 9))
    write_case(out, "bn_alone_nofold_scale_second_reader", model, feed, isa=ALL_ISA)

    # a conv output read by two activations: neither fuses
    def two_readers(y):
        return [helper.make_node("Relu", [y], ["r"]), helper.make_node("Sigmoid", [y], ["s"]),
                helper.make_node("Add", ["r", "s"], ["z"])], "z", []
    conv_case(out, "act_nofuse_two_readers", (1, 4, 6, 7), (4, 1, 3, 3), dict(group=4, pads=[1, 1, 1, 1]),
              post=two_readers)

    # a Clip whose bound is computed: not folded
    def clip_runtime(y):
        return [helper.make_node("Neg", ["hneg"], ["h"]), helper.make_node("Clip", [y, "", "h"], ["z"])], "z", \
            [("hneg", np.array(-0.3, np.float32))]
    conv_case(out, "act_nofuse_clip_runtime_bound", (1, 4, 6, 7), (4, 1, 3, 3), dict(group=4, pads=[1, 1, 1, 1]),
              post=clip_runtime)

    # activation accuracy: y = x exactly (1x1 identity weights) over a sweep,
    # expected values from double precision, tolerances at the stated bounds
    sweep = np.concatenate([np.linspace(-20, 20, 4001), np.linspace(-1, 1, 2001), [0.0, -0.0, 1e-6, -1e-6, 30, -30, 88, -88, 100, -100]])
    n = sweep.size
    x = sweep.astype(np.float32).reshape(1, 1, 1, n)
    for aname, kind, fn in (("sigmoid", "Sigmoid", lambda v: 1 / (1 + np.exp(-v))),
                            ("tanh", "Tanh", np.tanh),
                            ("silu", None, lambda v: v / (1 + np.exp(-v)))):
        post = act(kind) if kind else gated("Sigmoid")
        nodes = [helper.make_node("Conv", ["x", "w"], ["y"])]
        more, final, _ = post("y")
        model = make_model(nodes + more, {"x": (np.float32, [1, 1, 1, n])}, {final: (np.float32, None)},
                           initializers=[("w", np.ones((1, 1, 1, 1), np.float32))])
        exp = fn(x.astype(np.float64)).astype(np.float32)
        write_case(out, "accuracy_%s" % aname, model, {"x": x}, rtol=5e-7, atol=1e-7, expected=[exp],
                   isa=ALL_ISA)


if __name__ == "__main__":
    main(sys.argv[1])
