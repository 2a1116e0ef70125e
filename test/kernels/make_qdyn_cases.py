#!/usr/bin/env python3
"""Kernel cases for the dynamic-quantization convolution fusion
(engine/src/optimize.c fuse_conv_integer_float -> the engine's
ConvIntegerToFloat, engine/ops/qconv.c): the chain quantize_dynamic writes
for a Conv,

    DynamicQuantizeLinear(x) -> ConvInteger(., W, x_zp, w_zp) -> Cast(float)
        -> Mul(x_scale * w_scale) [-> Add(bias) / Mul(c) / BatchNormalization]
        [-> activation]

    make_qdyn_cases.py OUT_DIR

Matching forms: u8 and s8 weights, a per-tensor or per-channel w_scale
((M,1,1): the scale product broadcasts along the channels), a 3x3 padded,
a 1x3 with asymmetric pads, a 1x1 (the transposed image as patches; one
output channel, whole 16 x 16 tiles and several blocks of positions for
qconv_float.c's transposing store), a
grouped and a depthwise convolution (the VNNI depthwise kernel writes int32
in place, scaled afterwards), 1-D, odd sizes for the tails, the scale
product from a graph input (not constant), Add of a per-channel bias, a
BatchNormalization and a per-channel Mul after it (fused_scale), and
Relu / LeakyRelu / Clip after; the scale product's Mul read by the
node alone (taken into it) or also a graph output (kept).  Forms that must stay unfused (and still
match): the scale broadcasting along the width (shape (W,)), a scale of
unknown shape, the ConvInteger's or the Cast's output read twice or a graph
output, a non-float Cast.  QuantizeLinear -> QLinearMatMul -> DequantizeLinear of the QLinearMatMul's
own parameters (the engine's QLinearMatMulFloat) for u8/s8 activations
and weights, per-column weight scales, a batch, and its unfused variants.
Each runs at every instruction-set level;
expected outputs are onnxruntime's (one thread, no graph optimisation).
"""
import os
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import make_model, write_case, write_error_case  # noqa: E402

ALL_ISA = ("portable", "avx2", "avx512bw", "avx512")
rng = np.random.default_rng(1414)
mk = helper.make_node


def chain(out, name, xs, ws_, attrs, wt=np.int8, per_channel=False, tail=(), scale_input=False,
          scale_shape=None, extra=None, cast_to=1, dyn_x=False, wzv=None):
    """One case: the quantize_dynamic chain of a Conv of x (xs) and W (ws_),
    then tail: a list of ("add"|"mul"|"bn"|"relu"|"leaky"|"clip").
    extra: "conv_out" / "cast_out" (a second reader or graph output of that
    value); scale_shape: the w_scale shape (default scalar or (M,1,1));
    wzv: the w zero point (default 0 for int8, 131 for uint8)."""
    M = ws_[0]
    X = (rng.standard_normal(xs) * 1.5).astype(np.float32)
    W = rng.integers(-127, 128, ws_).astype(np.int8) if wt == np.int8 else \
        rng.integers(0, 256, ws_).astype(np.uint8)
    wz = np.array((0 if wt == np.int8 else 131) if wzv is None else wzv, wt)
    if scale_shape is None:
        scale_shape = (M, 1, 1)[:len(xs) - 1] if per_channel else ()
    w_scale = (rng.random(scale_shape) * 0.01 + 0.002).astype(np.float32)
    nodes = [mk("DynamicQuantizeLinear", ["X"], ["xq", "xs", "xz"])]
    inputs = {"X": (np.float32, None if dyn_x else list(xs))}
    feed = {"X": X}
    outputs = {}
    inits = [("W", W), ("wz", wz)]
    if scale_input:
        inputs["wsc"] = (np.float32, list(scale_shape))
        feed["wsc"] = w_scale
    else:
        inits.append(("wsc", w_scale))
    nodes.append(mk("Mul", ["xs", "wsc"], ["s"]))
    nodes.append(mk("ConvInteger", ["xq", "W", "xz", "wz"], ["acc"], **attrs))
    nodes.append(mk("Cast", ["acc"], ["accf"], to=cast_to))
    last = "accf"
    if cast_to != 1:
        nodes.append(mk("Cast", ["accf"], ["accf2"], to=1))
        last = "accf2"
    nodes.append(mk("Mul", [last, "s"], ["y0"]))
    last = "y0"
    chs = (M,) + (1,) * (len(xs) - 2)
    for k, t in enumerate(tail):
        o = "t%d" % k
        if t == "add":
            inits.append(("b%d" % k, rng.standard_normal(chs).astype(np.float32)))
            nodes.append(mk("Add", [last, "b%d" % k], [o]))
        elif t == "mul":
            inits.append(("c%d" % k, (rng.random(chs) + 0.5).astype(np.float32)))
            nodes.append(mk("Mul", ["c%d" % k, last], [o]))
        elif t == "bn":
            ps = [(rng.random(M) + 0.5), rng.standard_normal(M), rng.standard_normal(M) * 0.1,
                  rng.random(M) + 0.2]
            names = ["bn%d_%d" % (k, j) for j in range(4)]
            inits += [(n, p.astype(np.float32)) for n, p in zip(names, ps)]
            nodes.append(mk("BatchNormalization", [last] + names, [o], epsilon=1e-3))
        elif t == "relu":
            nodes.append(mk("Relu", [last], [o]))
        elif t == "leaky":
            nodes.append(mk("LeakyRelu", [last], [o], alpha=0.2))
        elif t == "clip":
            inits += [("lo%d" % k, np.float32(-0.5)), ("hi%d" % k, np.float32(6.0))]
            nodes.append(mk("Clip", [last, "lo%d" % k, "hi%d" % k], [o]))
        last = o
    outputs[last] = (np.float32, None)
    if extra == "conv_out":
        outputs["acc"] = (np.int32, None)
    elif extra == "s_out":
        outputs["s"] = (np.float32, None)
    elif extra == "cast_out":
        nodes.append(mk("Neg", ["accf"], ["neg"]))
        outputs["neg"] = (np.float32, None)
    m = make_model(nodes, inputs=inputs, outputs=outputs, initializers=inits)
    # float outputs of 8-bit products: the fused epilogue rounds as the
    # chain (Mul then Add), BatchNormalization / Mul folded into one
    # multiplier differ by a few ulp
    write_case(out, "qdyn_" + name, m, feed, rtol=1e-5, atol=1e-5, isa=ALL_ISA)


def dql_tie_cases(out):
    """DynamicQuantizeLinear's quantization (qmatmul.c onnx_qmm_quantize_u8:
    one division per element at the portable level, the reciprocal and one
    FMA correction at AVX2 / AVX-512) on values at and one ulp beside the
    ties x / scale = k + 1/2, where a product by the reciprocal alone
    rounds differently: the codes must be the division's exactly (atol 0),
    expected by numpy's float32 division."""
    for i, n in enumerate((1001, 4099)):
        A = np.float32(np.exp(rng.uniform(-6, 3)))
        B = np.float32(A * rng.uniform(0.3, 3))
        s = np.float32((B + A) / np.float32(255))
        k = rng.integers(-120, 120, n).astype(np.float32)
        x = ((k + 0.5) * s).astype(np.float32)
        if i:
            x = np.nextafter(x, (rng.choice([-1, 1], n) * np.inf).astype(np.float32))
        x[: n // 4] = rng.uniform(-A, B, n // 4).astype(np.float32)
        x = np.clip(x, -A, B)
        x[0], x[1] = -A, B
        zp = np.clip(np.rint(np.float32(0) + A / s), 0, 255)
        y = np.clip(np.rint(x / s) + zp, 0, 255).astype(np.uint8)
        m = make_model([mk("DynamicQuantizeLinear", ["X"], ["Y", "S", "Z"])], inputs={"X": (np.float32, [n])},
                       outputs={"Y": (np.uint8, None), "S": (np.float32, None), "Z": (np.uint8, None)})
        write_case(out, "qdyn_dql_ties_%d" % n, m, {"X": x}, rtol=0, atol=0, isa=ALL_ISA,
                   expected=[y, np.array(s, np.float32), np.array(zp, np.uint8)])


def ql_tie_cases(out):
    """Static QuantizeLinear (ops_quant.c quantize_8bit: at AVX-512 the
    quotient by the reciprocal and one FMA correction where 1e-30 <=
    |scale| <= 1e30, else a division) on values at and one ulp beside the
    ties x / scale = k + 1/2, saturating values and infinities, for uint8
    and int8, a scale in the reciprocal's range and one past it: the codes
    must be the division's exactly (atol 0), expected by numpy's float32
    division."""
    for i, (zt, s) in enumerate(((np.uint8, np.float32(0.0371)), (np.int8, np.float32(0.0123)),
                                 (np.uint8, np.float32(3e-31)))):
        n = 1001 + 16 * i
        info = np.iinfo(zt)
        zp = np.array(131 if zt == np.uint8 else -7, zt)
        k = rng.integers(-300, 300, n).astype(np.float32)
        x = ((k + 0.5) * s).astype(np.float32)
        x[1::2] = np.nextafter(x[1::2], (rng.choice([-1, 1], len(x[1::2])) * np.inf).astype(np.float32))
        x[: n // 5] = rng.uniform(-200, 200, n // 5).astype(np.float32) * s
        x[5], x[6], x[7] = np.inf, -np.inf, np.float32(3e38)
        with np.errstate(over="ignore"):
            q = np.rint(x / s)
        y = np.clip(q + np.float32(zp), info.min, info.max).astype(zt)
        m = make_model([mk("QuantizeLinear", ["X", "s", "z"], ["Y"])], inputs={"X": (np.float32, [n])},
                       outputs={"Y": (zt, None)}, initializers=[("s", s), ("z", zp)])
        write_case(out, "qdyn_ql_ties_%d" % i, m, {"X": x}, rtol=0, atol=0, isa=ALL_ISA, expected=[y])


def qmm_float(out, name, at=np.uint8, bt=np.int8, shape=(7, 33), N=19, per_col=False, variant=None):
    """QuantizeLinear(x) -> QLinearMatMul -> DequantizeLinear, what a QDQ
    model's MatMul of a float input becomes: fused into the engine's
    QLinearMatMulFloat (optimize.c, ops_quant.c) when the Q / DQ parameters
    are the QLinearMatMul's; variant: "dq_scale" (the DQ's scale differs),
    "q_zp" (the Q's zero point differs), "q_out" (the Q's output is also a
    graph output), "mm_twice" (the product read twice) stay unfused."""
    K = shape[-1]
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    B = rng.integers(np.iinfo(bt).min, int(np.iinfo(bt).max) + 1, (K, N)).astype(bt)
    bs = (rng.random(N) * 0.02 + 0.002).astype(np.float32) if per_col else np.float32(0.01)
    azp = np.array(3 if at == np.int8 else 131, at)
    inits = [("as", np.float32(0.03)), ("az", azp), ("B", B), ("bs", bs),
             ("bz", np.array(0 if bt == np.int8 else 120, bt)), ("ys", np.float32(0.07)),
             ("yz", np.array(-5 if at == np.int8 else 128, at)), ("ys2", np.float32(0.05)),
             ("az2", np.array(7 if at == np.int8 else 129, at))]
    nodes = [mk("QuantizeLinear", ["x", "as", "az2" if variant == "q_zp" else "az"], ["xq"]),
             mk("QLinearMatMul", ["xq", "as", "az", "B", "bs", "bz", "ys", "yz"], ["yq"]),
             mk("DequantizeLinear", ["yq", "ys2" if variant == "dq_scale" else "ys", "yz"], ["y"])]
    outputs = {"y": (np.float32, None)}
    if variant == "q_out":
        outputs["xq"] = (at, None)
    if variant == "mm_twice":
        nodes.append(mk("DequantizeLinear", ["yq", "ys2", "yz"], ["y2"]))
        outputs["y2"] = (np.float32, None)
    m = make_model(nodes, inputs={"x": (np.float32, list(shape))}, outputs=outputs, initializers=inits)
    write_case(out, "qdyn_qmmf_" + name, m, {"x": x}, rtol=0, atol=0, isa=ALL_ISA)


ENGINE = "org.postgresql.onnx.engine"


def engine_op_errors(out):
    """The engine's ConvIntegerToFloat and QLinearMatMulFloat written in a
    model by hand, with inputs the optimizer never makes: refused with a
    status, no crash (a scale or its second factor of neither one nor M
    values; a non-float a,
    refused at load by the input type)."""
    X = rng.integers(0, 256, (1, 3, 5, 5)).astype(np.uint8)
    m = make_model([helper.make_node("ConvIntegerToFloat", ["X", "W", "xz", "wz", "s"], ["Y"], domain=ENGINE)],
                   inputs={"X": (np.uint8, [1, 3, 5, 5])}, outputs={"Y": (np.float32, None)},
                   initializers=[("W", rng.integers(-5, 5, (4, 3, 3, 3)).astype(np.int8)),
                                 ("xz", np.array(3, np.uint8)), ("wz", np.array(0, np.int8)),
                                 ("s", np.ones(3, np.float32))], domains=[(ENGINE, 1)])
    write_error_case(out, "qdyn_err_convint_float_scale", m, {"X": X}, "scale must be float32 with one value or 4")
    m = make_model([helper.make_node("ConvIntegerToFloat", ["X", "W", "xz", "wz", "s", "s2"], ["Y"], domain=ENGINE)],
                   inputs={"X": (np.uint8, [1, 3, 5, 5])}, outputs={"Y": (np.float32, None)},
                   initializers=[("W", rng.integers(-5, 5, (4, 3, 3, 3)).astype(np.int8)),
                                 ("xz", np.array(3, np.uint8)), ("wz", np.array(0, np.int8)),
                                 ("s", np.float32(0.5)), ("s2", np.ones(3, np.float32))], domains=[(ENGINE, 1)])
    write_error_case(out, "qdyn_err_convint_float_scale2", m, {"X": X}, "scale must be float32 with one value or 4")
    A = rng.integers(-128, 128, (2, 8)).astype(np.int8)
    m = make_model([helper.make_node("QLinearMatMulFloat", ["A", "as", "az", "B", "bs", "bz", "ys", "yz"], ["Y"],
                                     domain=ENGINE)],
                   inputs={"A": (np.int8, [2, 8])}, outputs={"Y": (np.float32, None)},
                   initializers=[("as", np.float32(0.1)), ("az", np.array(0, np.int8)),
                                 ("B", rng.integers(-5, 5, (8, 3)).astype(np.int8)), ("bs", np.float32(0.1)),
                                 ("bz", np.array(0, np.int8)), ("ys", np.float32(0.2)),
                                 ("yz", np.array(0, np.int8))], domains=[(ENGINE, 1)])
    write_error_case(out, "qdyn_err_qmm_float_a", m, {"A": A}, "does not support input type int8")


def main():
    out = sys.argv[1]
    pad1 = dict(pads=[1, 1, 1, 1])
    chain(out, "3x3_add_leaky", (1, 5, 11, 13), (12, 5, 3, 3), pad1, tail=("add", "leaky"))
    chain(out, "3x3_u8w", (1, 5, 11, 13), (12, 5, 3, 3), pad1, wt=np.uint8, tail=("add", "relu"))
    chain(out, "1x3_asym", (1, 24, 9, 32), (24, 24, 1, 3), dict(pads=[0, 1, 0, 1]), tail=("add",))
    chain(out, "3x1_nopad", (2, 7, 13, 5), (9, 7, 3, 1), {}, tail=())
    chain(out, "1x1_pc", (1, 17, 9, 13), (35, 17, 1, 1), {}, per_channel=True, tail=("add", "clip"))
    # the float store: one output channel (store_out's loop), whole 16 x 16
    # tiles and blocks of positions past the first (block_rows; the
    # qconv_float.c tiles at AVX-512, more than 8 channels)
    chain(out, "1x1_m1", (1, 5, 7, 9), (1, 5, 1, 1), {}, tail=("add",))
    chain(out, "1x1_m16_tiles", (1, 8, 4, 8), (16, 8, 1, 1), {}, tail=("relu",))
    chain(out, "1x1_blocks", (1, 8, 48, 50), (19, 8, 1, 1), {}, per_channel=True, tail=("add",))
    chain(out, "group_bn", (1, 16, 10, 9), (24, 2, 3, 3), dict(group=8, pads=[1, 1, 1, 1], strides=[2, 1]),
          tail=("bn", "relu"))
    chain(out, "dw_bn", (1, 7, 13, 37), (7, 1, 3, 3), dict(group=7, pads=[1, 1, 1, 1]), tail=("bn",))
    chain(out, "dw_s2_mul_add", (1, 6, 10, 10), (6, 1, 3, 3), dict(group=6, strides=[2, 2]),
          per_channel=True, tail=("mul", "add", "leaky"))
    chain(out, "1d", (2, 3, 29), (5, 3, 4), dict(pads=[2, 1], strides=[2]), tail=("add", "relu"))
    chain(out, "scale_input", (1, 4, 7, 9), (6, 4, 3, 3), pad1, per_channel=True, scale_input=True,
          tail=("add",))
    # unfused forms
    chain(out, "no_scale_w", (1, 4, 7, 9), (6, 4, 3, 3), pad1, scale_shape=(9,), tail=("add",))
    chain(out, "no_scale_dyn", (1, 4, 7, 9), (6, 4, 3, 3), pad1, dyn_x=True, scale_input=True,
          scale_shape=(6, 1, 1), tail=("add",))
    chain(out, "no_conv_out", (1, 4, 7, 9), (6, 4, 3, 3), pad1, extra="conv_out", tail=("add",))
    # the scale product read twice (a graph output): the Mul stays, the
    # fused node reads its output
    chain(out, "scale_mul_out", (1, 4, 7, 9), (6, 4, 3, 3), pad1, per_channel=True, extra="s_out",
          tail=("add",))
    chain(out, "no_cast_out", (1, 4, 7, 9), (6, 4, 3, 3), pad1, extra="cast_out", tail=("relu",))
    # ConvIntegerToFloat on qconv_pw_vnni.c's float form (AVX512-VNNI):
    # 1x1 stride 1 and convs of at most 4 channels per group, channels-first;
    # output channels past a tile of 6 and 16-position tails, chunks of
    # positions, window sums (w zero point not folded), other ISAs' GEMM
    for M_, hw in ((1, (7, 9)), (8, (5, 13)), (16, (3, 3)), (19, (9, 7)), (33, (4, 17))):
        chain(out, "pw_m%d" % M_, (1, 11) + hw, (M_, 11, 1, 1), {}, per_channel=M_ % 2 == 1,
              tail=("add", "relu") if M_ > 8 else ("bn", "leaky"))
    chain(out, "pw_chunks", (1, 200, 30, 30), (33, 200, 1, 1), {}, tail=("add", "clip"))
    chain(out, "pw_u8w_sums", (1, 37, 6, 11), (21, 37, 1, 1), {}, wt=np.uint8, tail=("add",))
    chain(out, "pw_s8w_zp", (1, 23, 5, 7), (13, 23, 1, 1), {}, wzv=-100, tail=("relu",))
    chain(out, "pw_group", (1, 12, 7, 9), (20, 3, 1, 1), dict(group=4), per_channel=True, tail=("add",))
    chain(out, "pw_nobias", (2, 9, 3, 11), (17, 9, 1, 1), {}, tail=())
    chain(out, "1x1_s2_c3", (1, 3, 11, 13), (19, 3, 1, 1), dict(strides=[2, 2]), tail=("add", "relu"))
    chain(out, "1x1_s2_c8", (1, 8, 11, 13), (16, 8, 1, 1), dict(strides=[2, 2]), tail=("relu",))
    chain(out, "narrow_3x3_s2", (1, 3, 41, 43), (8, 3, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2]),
          per_channel=True, tail=("bn", "relu"))
    chain(out, "narrow_chunks", (1, 4, 40, 41), (7, 4, 3, 3), pad1, wt=np.uint8, tail=("add",))
    chain(out, "narrow_group", (1, 8, 9, 10), (12, 4, 3, 3), dict(group=2, pads=[0, 1, 1, 0]),
          wzv=5, tail=("add", "leaky"))
    dql_tie_cases(out)
    ql_tie_cases(out)
    engine_op_errors(out)
    qmm_float(out, "u8s8")
    qmm_float(out, "u8u8_pc", bt=np.uint8, per_col=True, shape=(2, 5, 40), N=33)
    qmm_float(out, "s8s8", at=np.int8, shape=(1, 64), N=10)
    for v in ("dq_scale", "q_zp", "q_out", "mm_twice"):
        qmm_float(out, "no_" + v, variant=v)
    chain(out, "no_cast_double", (1, 4, 7, 9), (6, 4, 3, 3), pad1, cast_to=11, tail=("add",))


if __name__ == "__main__":
    main()
