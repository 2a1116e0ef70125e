#!/usr/bin/env python3
"""Kernel cases for the quantized operators: the exact int8 GEMM
(engine/ops/qgemm.c, qgemm_x86.c) under MatMulInteger / QLinearMatMul,
and the com.microsoft operators of ms_quant.c, ms_qlinear.c, ms_qlstm.c.

    make_msquant_cases.py OUT_DIR

GEMM cases run at every instruction-set level (portable, avx2, avx512bw =
AVX-512 without VNNI, avx512 = VNNI where the CPU has it): sizes that leave
tails in every direction (M 1..37 against the 6-row tile, N 1..70 against
16/32-column panels, K 1..130 against the 2/4-deep groups), u8/s8 on both
sides, zero points absent / scalar / per column / per row, extreme values
(all 255 times all -128: the products that saturate int16 pair sums), B as
an initializer (packed at load) and as an input (packed per run), batched
and broadcast shapes.  The com.microsoft cases cover each attribute
variant.  Expected outputs are onnxruntime's (one thread, no graph
optimisation); 8-bit outputs may differ by one step (atol 1), int32
outputs must be exact.
"""
import os
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import make_model, write_case  # noqa: E402

MS = "com.microsoft"
ALL_ISA = ("portable", "avx2", "avx512bw", "avx512")
rng = np.random.default_rng(14)
mk = helper.make_node


def q(dt, shape, extreme=None):
    """Random 8-bit values; extreme: fill with the type's max or min."""
    info = np.iinfo(dt)
    if extreme == "max":
        return np.full(shape, info.max, dt)
    if extreme == "min":
        return np.full(shape, info.min, dt)
    return rng.integers(info.min, int(info.max) + 1, shape).astype(dt)


def zp_of(dt, n=None):
    v = q(dt, () if n is None else (n,))
    return v


def case(out, name, nodes, inputs, feed, outputs, inits=(), atol=0.0, rtol=0.0, isa=None, threads=None, ms=True,
         expected=None):
    m = make_model(nodes, inputs=inputs, outputs=outputs, initializers=inits,
                   domains=[(MS, 1)] if ms else ())
    write_case(out, name, m, feed, rtol=rtol, atol=atol, isa=isa, threads=threads, expected=expected)


def gemm_cases(out):
    # K a multiple of 4 with uint8 A: VNNI reads A in place (qgemm.c
    # onnx_qgemm_a_in_place), only the row sums are computed; K past 64 and
    # with a tail of the 64-byte row loop (onnx_qgemm_row_vnni)
    shapes = [(1, 1, 1), (1, 3, 5), (7, 17, 33), (6, 64, 32), (13, 130, 47), (37, 33, 70), (5, 2, 16),
              (9, 128, 40), (13, 68, 17), (4, 196, 3)]
    n = 0
    for M, K, N in shapes:
        for at, bt in [(np.uint8, np.int8), (np.uint8, np.uint8), (np.int8, np.int8), (np.int8, np.uint8)]:
            n += 1
            A, B = q(at, (M, K)), q(bt, (K, N))
            azp, bzp = zp_of(at), zp_of(bt, N) if n % 2 else zp_of(bt)
            const_b = n % 3 != 0
            inputs = {"A": (at, [M, K])}
            feed = {"A": A}
            inits = [("azp", azp), ("bzp", bzp)]
            if const_b:
                inits.append(("B", B))
            else:
                inputs["B"] = (bt, [K, N])
                feed["B"] = B
            tag = "%s%s_%dx%dx%d%s" % (np.dtype(at).name, np.dtype(bt).name, M, K, N, "" if const_b else "_bin")
            case(out, "mmi_" + tag, [mk("MatMulInteger", ["A", "B", "azp", "bzp"], ["Y"])], inputs, feed,
                 {"Y": (np.int32, None)}, inits, isa=ALL_ISA, ms=False)
    # saturating extremes: u8 255 against s8 -128 / 127, K odd and long
    for bext in ("min", "max"):
        A, B = q(np.uint8, (9, 131), "max"), q(np.int8, (131, 35), bext)
        case(out, "mmi_extreme_%s" % bext, [mk("MatMulInteger", ["A", "B"], ["Y"])], {"A": (np.uint8, [9, 131])},
             {"A": A}, {"Y": (np.int32, None)}, [("B", B)], isa=ALL_ISA, ms=False)
    # per-row a zero point (ONNX allows it, onnxruntime does not: numpy's answer)
    A, B, azr = q(np.uint8, (11, 20)), q(np.int8, (20, 19)), q(np.uint8, (11,))
    exp = (A.astype(np.int64) - azr[:, None]) @ B.astype(np.int64)
    case(out, "mmi_rowzp", [mk("MatMulInteger", ["A", "B", "azp"], ["Y"])], {"A": (np.uint8, [11, 20])},
         {"A": A}, {"Y": (np.int32, None)}, [("B", B), ("azp", azr)], isa=ALL_ISA, ms=False,
         expected=[exp.astype(np.int32)])
    # batched A against a 2-D weight (rows flattened), and batch x batch broadcast
    A, B = q(np.uint8, (2, 3, 7, 24)), q(np.int8, (24, 18))
    case(out, "mmi_batched_2d", [mk("MatMulInteger", ["A", "B", "azp"], ["Y"])], {"A": (np.uint8, list(A.shape))},
         {"A": A}, {"Y": (np.int32, None)}, [("B", B), ("azp", np.uint8(3))], isa=ALL_ISA, ms=False)
    A, B = q(np.uint8, (3, 5, 9)), q(np.uint8, (1, 9, 21))
    case(out, "mmi_batched_bcast", [mk("MatMulInteger", ["A", "B"], ["Y"])],
         {"A": (np.uint8, list(A.shape)), "B": (np.uint8, list(B.shape))}, {"A": A, "B": B},
         {"Y": (np.int32, None)}, isa=ALL_ISA, ms=False)
    # QLinearMatMul u8/s8, scalar and per-column scales
    for at, bt, yt in [(np.uint8, np.int8, np.uint8), (np.int8, np.int8, np.int8), (np.uint8, np.uint8, np.uint8)]:
        M, K, N = 10, 45, 37
        A, B = q(at, (M, K)), q(bt, (K, N))
        inits = [("as", np.float32(0.02)), ("azp", zp_of(at)), ("B", B),
                 ("bs", (rng.random(N) * 0.01 + 0.001).astype(np.float32)), ("bzp", zp_of(bt, N)),
                 ("ys", np.float32(0.7)), ("yzp", zp_of(yt))]
        case(out, "qlmm_%s%s" % (np.dtype(at).name, np.dtype(bt).name),
             [mk("QLinearMatMul", ["A", "as", "azp", "B", "bs", "bzp", "ys", "yzp"], ["Y"])],
             {"A": (at, [M, K])}, {"A": A}, {"Y": (yt, None)}, inits, atol=1, isa=ALL_ISA, ms=False)
    # DynamicQuantizeLinear (ops_quant.c) and DynamicQuantizeMatMul's A
    # (qmatmul.c onnx_qmm_range, AVX-512 min / max with masked tails):
    # sizes around the 16-lane vector, all positive, all negative, mixed
    for i, (size, kind) in enumerate([(1, "pos"), (15, "neg"), (16, "mix"), (17, "mix"), (100, "pos"),
                                      (257, "mix")]):
        x = rng.standard_normal(size).astype(np.float32) * 3
        x = np.abs(x) if kind == "pos" else -np.abs(x) if kind == "neg" else x
        case(out, "dynq_%d_%s" % (size, kind), [mk("DynamicQuantizeLinear", ["x"], ["y", "ys", "yz"])],
             {"x": (np.float32, [size])}, {"x": x},
             {"y": (np.uint8, None), "ys": (np.float32, None), "yz": (np.uint8, None)}, [], isa=ALL_ISA, ms=False)
        B = q(np.int8, (size, 5))
        A = (rng.standard_normal((3, size)) * 2).astype(np.float32)
        A = np.abs(A) if kind == "pos" else -np.abs(A) if kind == "neg" else A
        case(out, "dqmm_range_%d_%s" % (size, kind), [mk("DynamicQuantizeMatMul", ["A", "B", "bs"], ["Y"], domain=MS)],
             {"A": (np.float32, [3, size])}, {"A": A}, {"Y": (np.float32, None)},
             [("B", B), ("bs", np.float32(0.01))], rtol=1e-5, atol=1e-5, isa=ALL_ISA)
    # QLinearMatMul requantized rows (ops_quant.c): batched A against a
    # constant B, and both operands as inputs (B packed per batch), scalar
    # and per-column b_scale, odd N for the vector tails
    for i, (ashape, bshape, per_col) in enumerate([((2, 3, 7, 33), (33, 21), True),
                                                   ((3, 9, 17), (3, 17, 35), False),
                                                   ((1, 1, 64), (1, 64, 129), False)]):
        A, B = q(np.uint8, ashape), q(np.int8, bshape)
        N = bshape[-1]
        inits = [("as", np.float32(0.03)), ("azp", np.uint8(120)),
                 ("bs", (rng.random(N) * 0.01 + 0.001).astype(np.float32) if per_col else np.float32(0.004)),
                 ("bzp", np.int8(0) if not per_col else np.zeros(N, np.int8)),
                 ("ys", np.float32(0.5)), ("yzp", np.uint8(130))]
        inputs, feed = {"A": (np.uint8, list(ashape))}, {"A": A}
        if len(bshape) == 2:
            inits.append(("B", B))
        else:
            inputs["B"] = (np.int8, list(bshape))
            feed["B"] = B
        case(out, "qlmm_rows_%d" % i,
             [mk("QLinearMatMul", ["A", "as", "azp", "B", "bs", "bzp", "ys", "yzp"], ["Y"])],
             inputs, feed, {"Y": (np.uint8, None)}, inits, atol=1, isa=ALL_ISA, ms=False)


def conv_cases(out):
    """ConvInteger and QLinearConv (engine/ops/qconv.c): groups, depthwise,
    strides, pads, dilations, 1-D to 3-D, u8/s8, per-channel w, W packed at
    load (initializer) or per run (input)."""
    specs = [  # x shape, w shape, attrs
        ((1, 3, 9, 11), (8, 3, 3, 3), dict(pads=[1, 1, 1, 1])),
        ((2, 4, 8, 7), (6, 2, 3, 2), dict(group=2, strides=[2, 1], pads=[1, 0, 0, 1])),
        ((1, 5, 10, 10), (5, 1, 3, 3), dict(group=5, pads=[1, 1, 1, 1], strides=[2, 2])),
        ((1, 16, 6, 6), (33, 16, 1, 1), {}),
        ((2, 6, 7, 9), (6, 1, 3, 3), dict(group=6, pads=[1, 1, 1, 1])),
        ((1, 3, 12, 12), (4, 3, 3, 3), dict(dilations=[2, 2], pads=[2, 1, 1, 2])),
        ((1, 3, 12, 12), (4, 3, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2])),
        ((2, 2, 17), (5, 2, 4), dict(pads=[2, 1], strides=[3])),
        ((1, 2, 4, 5, 6), (3, 2, 2, 3, 2), dict(pads=[1, 0, 1, 0, 1, 1])),
        # depthwise (qconv_kern.c dw_plane): stride 1 as one loop over the
        # padded plane, odd widths for the vector tails, dilations, asymmetric
        # pads, strides 2 and 3, pads wider than the kernel reaches, columns
        # the windows never reach, 1-D, and a per-channel w zero point
        ((1, 7, 13, 37), (7, 1, 3, 3), dict(group=7, pads=[1, 1, 1, 1])),
        ((1, 4, 11, 19), (4, 1, 3, 3), dict(group=4, dilations=[2, 2], pads=[2, 1, 0, 2])),
        ((2, 3, 15, 21), (3, 1, 3, 3), dict(group=3, strides=[2, 2], pads=[0, 1, 1, 0])),
        ((1, 5, 16, 23), (5, 1, 5, 5), dict(group=5, strides=[3, 3], pads=[2, 2, 2, 2])),
        ((1, 6, 10, 10), (6, 1, 3, 3), dict(group=6, strides=[2, 2])),
        ((1, 3, 5, 6), (3, 1, 1, 1), dict(group=3, pads=[2, 3, 1, 2])),
        ((1, 9, 41), (9, 1, 5), dict(group=9, pads=[2, 2])),
        ((1, 4, 9, 9), (4, 1, 3, 3), dict(group=4)),
        # 1x1 stride 1 unpadded: the transposed image is the patches; SIMD
        # transpose tiles (multiples of 16) and their byte edges, groups,
        # an odd channel count for the requantization's tails
        ((1, 17, 9, 13), (35, 17, 1, 1), {}),
        ((1, 32, 8, 8), (48, 32, 1, 1), {}),
        ((2, 15, 7, 5), (33, 5, 1, 1), dict(group=3)),
        ((1, 16, 6, 6), (7, 16, 1, 1), dict(strides=[2, 2])),
        ((1, 16, 6, 6), (7, 16, 1, 1), dict(pads=[1, 0, 0, 1])),
        ((1, 18, 20), (21, 18, 1), {}),
        # patches of undilated rows copied as one run per kernel row
        # (qconv.c build_patch_rows): one input channel, a long kernel and a
        # stride past it (a convolution as STFT), a 7x7 stride 2 of 3
        # channels whose windows leave the image on both sides, pads wider
        # than the kernel (rows of padding only), an odd width
        ((1, 1, 301), (19, 1, 64), dict(strides=[29])),
        ((1, 3, 15, 13), (10, 3, 7, 7), dict(strides=[2, 2], pads=[3, 3, 3, 3])),
        ((1, 2, 5, 6), (3, 2, 2, 3), dict(pads=[3, 4, 3, 4])),
        ((2, 5, 9, 17), (7, 5, 3, 5), dict(pads=[0, 2, 1, 1], strides=[1, 3])),
        # blocks of output positions (qconv.c block_rows): patches of 288
        # bytes make blocks of 450 rows, 460 positions leave a block of 10;
        # a pointwise conv in three blocks; 3 input channels (K = 27, rows
        # padded to 28 and read in place) in three blocks
        ((1, 32, 20, 23), (8, 32, 3, 3), dict(pads=[1, 1, 1, 1])),
        ((1, 64, 45, 47), (40, 64, 1, 1), {}),
        ((1, 3, 64, 70), (16, 3, 3, 3), dict(pads=[1, 1, 1, 1])),
        ((1, 3, 130, 140), (16, 3, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2])),
        # images of 1 to 4 channels transposed to pixels by byte shuffles
        # (qconv_kern.c transpose_few_rows), pointwise pixels padded to 4
        ((1, 3, 7, 9), (5, 3, 1, 1), {}),
        ((1, 4, 6, 7), (9, 4, 1, 1), {}),
        ((1, 1, 5, 7), (6, 1, 3, 3), dict(pads=[1, 1, 1, 1])),
        # at most 4 channels per group with VNNI: channels-first patches
        # (qconv.c patch_cols) into qconv_pw_vnni.c: stride 2 with the
        # windows leaving both sides, stride 3 and a dilation, asymmetric
        # pads, groups of 2 channels, 1-D, more positions than one block of
        # patches (K 36, 910 columns each), a batch
        ((1, 3, 20, 70), (8, 3, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1])),
        ((2, 4, 11, 13), (5, 4, 5, 5), dict(strides=[3, 3], dilations=[1, 2], pads=[2, 0, 1, 3])),
        ((1, 6, 9, 10), (9, 2, 3, 3), dict(group=3, pads=[0, 1, 1, 0])),
        ((1, 2, 77), (7, 2, 5), dict(strides=[2], pads=[2, 1])),
        ((1, 4, 40, 41), (13, 4, 3, 3), dict(pads=[1, 1, 1, 1])),
    ]
    for i, (xs, ws_, attrs) in enumerate(specs):
        for xt, wt in [(np.uint8, np.int8), (np.int8, np.int8), (np.uint8, np.uint8)]:
            nm = "%d_%s%s" % (i, np.dtype(xt).name, np.dtype(wt).name)
            X, W = q(xt, xs), q(wt, ws_)
            M = ws_[0]
            wz = np.zeros(M, wt) if wt == np.int8 else q(wt, (M,))
            const_w = i % 2 == 0 or xt == np.int8
            inputs, feed = {"X": (xt, list(xs))}, {"X": X}
            inits = [("xz", zp_of(xt)), ("wz", wz if i % 3 else wz[:1].reshape(()))]
            if const_w:
                inits.append(("W", W))
            else:
                inputs["W"] = (wt, list(ws_))
                feed["W"] = W
            if (xt, wt) != (np.int8, np.int8):  # onnxruntime's ConvInteger lacks s8 x s8
                # onnxruntime's ConvInteger takes a scalar w zero point only
                cinits = [(n, v if n != "wz" else wz[:1].reshape(())) for n, v in inits]
                case(out, "convint_" + nm, [mk("ConvInteger", ["X", "W", "xz", "wz"], ["Y"], **attrs)], inputs, feed,
                     {"Y": (np.int32, None)}, cinits, isa=ALL_ISA, ms=False)
            yt = xt
            qinits = inits + [("xs", np.float32(0.05)), ("ws", (rng.random(M) * 0.01 + 0.001).astype(np.float32)),
                              ("ys", np.float32(0.2)), ("yz", zp_of(yt)),
                              ("B", rng.integers(-500, 500, M).astype(np.int32))]
            if wt == np.uint8:
                continue  # onnxruntime's QLinearConv takes int8 weights only with u8/s8 x
            case(out, "qlconv_" + nm, [mk("QLinearConv", ["X", "xs", "xz", "W", "ws", "wz", "ys", "yz", "B"], ["Y"],
                                          **attrs)], inputs, feed, {"Y": (yt, None)}, qinits, atol=1,
                 isa=ALL_ISA, ms=False)


def ms_matmul_cases(out):
    for bt in (np.int8, np.uint8):
        for M, K, N, per_col, bias in [(1, 16, 8, False, False), (7, 33, 45, True, True), (3, 130, 17, True, False)]:
            A = (rng.standard_normal((2, M, K)) * 2).astype(np.float32)
            B = q(bt, (K, N))
            bs = (rng.random(N) * 0.02 + 0.001).astype(np.float32) if per_col else np.float32(0.01)
            inits = [("B", B), ("bs", bs), ("bzp", zp_of(bt, N) if per_col else zp_of(bt))]
            ins = ["A", "B", "bs", "bzp"]
            if bias:
                inits.append(("bias", rng.standard_normal(N).astype(np.float32)))
                ins.append("bias")
            tag = "%s_%dx%dx%d%s%s" % (np.dtype(bt).name, M, K, N, "_pc" if per_col else "", "_bias" if bias else "")
            case(out, "dqmm_" + tag, [mk("DynamicQuantizeMatMul", ins, ["Y"], domain=MS)],
                 {"A": (np.float32, list(A.shape))}, {"A": A}, {"Y": (np.float32, None)}, inits,
                 rtol=1e-5, atol=1e-5, isa=ALL_ISA)
            Aq = q(np.uint8, (M, K))
            inits2 = [("B", B), ("as", np.float32(0.05)), ("bs", bs), ("azp", np.uint8(128)),
                      ("bzp", zp_of(bt, N) if per_col else zp_of(bt))]
            ins2 = ["A", "B", "as", "bs", "azp", "bzp"]
            if bias:
                inits2.append(("bias", rng.standard_normal(N).astype(np.float32)))
                ins2.append("bias")
            case(out, "mmitf_" + tag, [mk("MatMulIntegerToFloat", ins2, ["Y"], domain=MS)],
                 {"A": (np.uint8, [M, K])}, {"A": Aq}, {"Y": (np.float32, None)}, inits2,
                 rtol=1e-5, atol=1e-5, isa=ALL_ISA)
    # QGemm: transA/transB, alpha, C, float or quantized output
    for i, (ta, tb, alpha, with_c, qout, at) in enumerate([
            (0, 0, 1.0, False, False, np.uint8), (0, 1, 1.0, True, True, np.uint8),
            (1, 0, 0.5, True, False, np.uint8), (1, 1, 2.0, False, True, np.int8),
            (0, 1, 1.0, True, True, np.int8), (0, 0, 1.0, "scalar", True, np.uint8),
            (0, 1, 0.7, "rows", True, np.int8), (0, 0, 1.0, "row", True, np.uint8)]):
        M, K, N = 9, 37, 22
        A = q(at, (K, M) if ta else (M, K))
        B = q(np.int8, (N, K) if tb else (K, N))
        inits = [("as", np.float32(0.03)), ("azp", zp_of(at)), ("B", B),
                 ("bs", (rng.random(N) * 0.02).astype(np.float32)), ("bzp", np.zeros(N, np.int8))]
        ins = ["A", "as", "azp", "B", "bs", "bzp"]
        if with_c:
            # C per column (the vectorized requantization), a scalar, (M, 1)
            # or (1, N) (the general loop, and the vectorized one)
            cshape = {"scalar": (1,), "rows": (M, 1), "row": (1, N)}.get(with_c, (N,))
            inits.append(("C", rng.integers(-1000, 1000, cshape).astype(np.int32)))
            ins.append("C")
        elif qout:
            ins.append("")
        yt = np.float32
        if qout:
            yt = at
            inits += [("ys", np.float32(0.3)), ("yzp", zp_of(at))]
            ins += ["ys", "yzp"]
        case(out, "qgemm_%d" % i, [mk("QGemm", ins, ["Y"], domain=MS, transA=ta, transB=tb, alpha=alpha)],
             {"A": (at, list(A.shape))}, {"A": A}, {"Y": (yt, None)}, inits,
             atol=1 if qout else 1e-4, rtol=0 if qout else 1e-5, isa=ALL_ISA)
    # MatMulNBits 4 bits (weights kept packed, engine/ops/nbits_gemm.c): blocks 16 to 128, K ragged
    # (codes past K in the last block), zero points packed uint8 / float / absent, bias; rows of A:
    # 1 (batch 1), 3, 5 (4 + 1) and 2x5 (the in-product kernel, 4 rows at a time), 3x7 (64-column
    # panels to the SGEMM), N past 64 (several column tasks), 2 threads
    for i, (M, K, N, bs, zp, bias) in enumerate([((3,), 64, 24, 32, "u8", False), ((3,), 50, 17, 16, None, True),
                                                  ((3,), 128, 40, 64, "u8", True), ((1,), 300, 70, 32, "f32", True),
                                                  ((1, 1), 77, 130, 128, "u8", False), ((5,), 100, 33, 16, "u8", True),
                                                  ((2, 5), 64, 150, 32, "f32", False), ((3, 7), 96, 70, 32, None, False)]):
        kb = (K + bs - 1) // bs
        Bq = rng.integers(0, 256, (N, kb, bs // 2)).astype(np.uint8)
        sc = (rng.random(N * kb) * 0.1 + 0.01).astype(np.float32)
        A = rng.standard_normal(M + (K,)).astype(np.float32)
        inits = [("B", Bq), ("sc", sc)]
        ins = ["A", "B", "sc"]
        if zp == "u8":
            inits.append(("zp", rng.integers(0, 256, (N, (kb + 1) // 2)).astype(np.uint8)))
            ins.append("zp")
        elif zp == "f32":
            inits.append(("zp", (rng.random((N, kb)) * 15).astype(np.float32)))
            ins.append("zp")
        elif bias:
            ins.append("")
        if bias:
            inits.append(("bias", rng.standard_normal(N).astype(np.float32)))
            ins += ["", "bias"]
        case(out, "nbits_%d" % i, [mk("MatMulNBits", ins, ["Y"], domain=MS, K=K, N=N, bits=4, block_size=bs)],
             {"A": (np.float32, list(A.shape))}, {"A": A}, {"Y": (np.float32, None)}, inits, rtol=1e-4, atol=1e-4,
             isa=ALL_ISA, threads=(1, 2) if N > 64 else None)
    # contrib QuantizeLinear / DequantizeLinear, per tensor and per axis
    X = rng.standard_normal((2, 3, 5)).astype(np.float32)
    case(out, "ms_quantize", [mk("QuantizeLinear", ["X", "s", "z"], ["Y"], domain=MS)], {"X": (np.float32, [2, 3, 5])},
         {"X": X}, {"Y": (np.int8, None)}, [("s", np.float32(0.02)), ("z", np.int8(-3))], atol=1)
    case(out, "ms_quantize_axis", [mk("QuantizeLinear", ["X", "s", "z"], ["Y"], domain=MS, axis=1)],
         {"X": (np.float32, [2, 3, 5])}, {"X": X}, {"Y": (np.uint8, None)},
         [("s", np.float32([0.01, 0.02, 0.05])), ("z", np.uint8([120, 128, 3]))], atol=1)
    Xq = q(np.uint8, (2, 3, 5))
    case(out, "ms_dequantize_axis", [mk("DequantizeLinear", ["X", "s", "z"], ["Y"], domain=MS, axis=1)],
         {"X": (np.uint8, [2, 3, 5])}, {"X": Xq}, {"Y": (np.float32, None)},
         [("s", np.float32([0.01, 0.02, 0.05])), ("z", np.uint8([120, 128, 3]))], rtol=1e-6, atol=1e-6)


def qdq_move_cases(out):
    """DQ -> Reshape / Transpose / Squeeze / Unsqueeze / Flatten / Resize
    (nearest) / MaxPool -> Q (engine/src/qdq_fuse.c fuse_move): with one
    scale and zero point the op runs on the 8-bit values; with another Q
    scale or zero point, or a Relu between, or Resize linear, the chain
    stays in float."""
    for dt in (np.int8, np.uint8):
        nm = np.dtype(dt).name
        X = q(dt, (2, 6, 5, 7))
        z = zp_of(dt)
        chains = [
            ("transpose", [mk("Transpose", ["d"], ["m"], perm=[0, 2, 3, 1])], []),
            ("reshape", [mk("Reshape", ["d", "shp"], ["m"])], [("shp", np.array([2, 3, 2, 35], np.int64))]),
            ("shuffle", [mk("Reshape", ["d", "shp"], ["r"]), mk("Transpose", ["r"], ["m"], perm=[0, 2, 1, 3, 4])],
             [("shp", np.array([2, 2, 3, 5, 7], np.int64))]),
            ("flatten", [mk("Flatten", ["d"], ["m"], axis=2)], []),
            ("unsqueeze", [mk("Unsqueeze", ["d", "ax"], ["m"])], [("ax", np.array([1], np.int64))]),
            # Resize nearest (PP-OCR's detector upsampling) and MaxPool move; Resize linear stays float
            ("resize_nearest", [mk("Resize", ["d", "", "sc"], ["m"], mode="nearest",
                                   coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
             [("sc", np.array([1, 1, 2, 3], np.float32))]),
            ("resize_linear", [mk("Resize", ["d", "", "sc"], ["m"], mode="linear")],
             [("sc", np.array([1, 1, 2, 2], np.float32))]),
            ("maxpool", [mk("MaxPool", ["d"], ["m"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], []),
        ]
        for tag, ops, extra in chains:
            for variant, qs, qz in [("same", 0.05, z), ("rescaled", 0.08, z),
                                    ("shifted", 0.05, np.array(int(z) + (1 if z < np.iinfo(dt).max else -1), dt))]:
                nodes = [mk("DequantizeLinear", ["X", "s", "z"], ["d"])] + ops + \
                    [mk("QuantizeLinear", ["m", "qs", "qz"], ["Y"])]
                if tag == "shuffle":  # DQ -> Reshape -> Q -> DQ -> Transpose -> Q, as ShuffleNet's channel shuffle
                    nodes = [mk("DequantizeLinear", ["X", "s", "z"], ["d"]), ops[0],
                             mk("QuantizeLinear", ["r", "qs", "qz"], ["rq"]),
                             mk("DequantizeLinear", ["rq", "qs", "qz"], ["rd"]),
                             mk("Transpose", ["rd"], ["m"], perm=[0, 2, 1, 3, 4]),
                             mk("QuantizeLinear", ["m", "qs", "qz"], ["Y"])]
                inits = [("s", np.float32(0.05)), ("z", z), ("qs", np.float32(qs)), ("qz", qz)] + extra
                case(out, "qdq_move_%s_%s_%s" % (tag, variant, nm), nodes, {"X": (dt, list(X.shape))}, {"X": X},
                     {"Y": (dt, None)}, inits, atol=1, ms=False)


def qlinear_cases(out):
    for dt in (np.uint8, np.int8):
        nm = np.dtype(dt).name
        for op in ("QLinearAdd", "QLinearMul"):
            for sa, sb in [((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (3, 1, 1)), ((4, 5), ())]:
                A, B = q(dt, sa), q(dt, sb)
                inits = [("as", np.float32(0.05)), ("az", zp_of(dt)), ("bs", np.float32(0.02)), ("bz", zp_of(dt)),
                         ("cs", np.float32(0.07 if op == "QLinearAdd" else 0.3)), ("cz", zp_of(dt))]
                case(out, "%s_%s_%s" % (op.lower(), nm, "x".join(map(str, sb)) or "scalar"),
                     [mk(op, ["A", "as", "az", "B", "bs", "bz", "cs", "cz"], ["C"], domain=MS)],
                     {"A": (dt, list(sa)), "B": (dt, list(sb))}, {"A": A, "B": B}, {"C": (dt, None)}, inits, atol=1)
        X = q(dt, (3, 7, 11))
        pr = [("xs", np.float32(0.04)), ("xz", zp_of(dt)), ("ys", np.float32(1 / 256 if dt == np.uint8 else 1 / 255)),
              ("yz", np.array(0 if dt == np.uint8 else -128, dt))]
        case(out, "qsigmoid_%s" % nm, [mk("QLinearSigmoid", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS)],
             {"X": (dt, [3, 7, 11])}, {"X": X}, {"Y": (dt, None)}, pr, atol=1)
        pr2 = [("xs", np.float32(0.04)), ("xz", zp_of(dt)), ("ys", np.float32(0.03)), ("yz", zp_of(dt))]
        case(out, "qleaky_%s" % nm, [mk("QLinearLeakyRelu", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, alpha=0.1)],
             {"X": (dt, [3, 7, 11])}, {"X": X}, {"Y": (dt, None)}, pr2, atol=1)
        for opset, axis in [(13, -1), (13, 1), (12, 1)]:
            case(out, "qsoftmax_%s_op%d_ax%d" % (nm, opset, axis),
                 [mk("QLinearSoftmax", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, opset=opset, axis=axis)],
                 {"X": (dt, [3, 7, 11])}, {"X": X}, {"Y": (dt, None)}, pr, atol=1)
        # contiguous rows (ms_qlinear.c's inner == 1 loops): long rows, a row of
        # one repeated code and one holding the type's extremes
        X2 = q(dt, (4, 130))
        X2[1] = X2[1, 0]
        X2[2, :2] = [np.iinfo(dt).min, np.iinfo(dt).max]
        case(out, "qsoftmax_%s_rows" % nm,
             [mk("QLinearSoftmax", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, opset=13, axis=-1)],
             {"X": (dt, [4, 130])}, {"X": X2}, {"Y": (dt, None)}, pr, atol=1)
        xs = [q(dt, (2, c, 4)) for c in (3, 1, 5)]
        pars = [(np.float32(0.05), zp_of(dt)), (np.float32(0.1), zp_of(dt)), (np.float32(0.05), zp_of(dt))]
        ins, inits = ["ys", "yz"], [("ys", np.float32(0.05)), ("yz", pars[0][1])]
        for i, (s, z) in enumerate(pars):
            ins += ["x%d" % i, "s%d" % i, "z%d" % i]
            inits += [("s%d" % i, s), ("z%d" % i, z)]
        case(out, "qconcat_%s" % nm, [mk("QLinearConcat", ins, ["Y"], domain=MS, axis=1)],
             {"x%d" % i: (dt, list(x.shape)) for i, x in enumerate(xs)}, {"x%d" % i: x for i, x in enumerate(xs)},
             {"Y": (dt, None)}, inits, atol=1)
        C = rng.random((4, 1)) > 0.5
        Xw, Yw = q(dt, (4, 6)), q(dt, (6,))
        inits = [("xs", np.float32(0.05)), ("xz", zp_of(dt)), ("ys", np.float32(0.02)), ("yz", zp_of(dt)),
                 ("zs", np.float32(0.04)), ("zz", zp_of(dt))]
        case(out, "qwhere_%s" % nm, [mk("QLinearWhere", ["C", "X", "xs", "xz", "Y", "ys", "yz", "zs", "zz"], ["Z"],
                                         domain=MS)],
             {"C": (np.bool_, [4, 1]), "X": (dt, [4, 6]), "Y": (dt, [6])}, {"C": C, "X": Xw, "Y": Yw},
             {"Z": (dt, None)}, inits, atol=1)
        X4 = q(dt, (2, 3, 9, 10))
        pp = [("xs", np.float32(0.05)), ("xz", zp_of(dt)), ("ys", np.float32(0.04)), ("yz", zp_of(dt))]
        for i, attrs in enumerate([dict(kernel_shape=[3, 3]), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                                   dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1], count_include_pad=1),
                                   dict(kernel_shape=[2, 3], strides=[2, 2], ceil_mode=1),
                                   dict(kernel_shape=[3, 3], auto_pad="SAME_UPPER", strides=[2, 2])]):
            case(out, "qavgpool_%s_%d" % (nm, i),
                 [mk("QLinearAveragePool", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, **attrs)],
                 {"X": (dt, [2, 3, 9, 10])}, {"X": X4}, {"Y": (dt, None)}, pp, atol=1)
        # 1-D and 3-D (both through the float pool)
        X3, X5 = q(dt, (2, 3, 17)), q(dt, (1, 2, 4, 5, 6))
        case(out, "qavgpool_%s_1d" % nm,
             [mk("QLinearAveragePool", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, kernel_shape=[4],
                 strides=[3], pads=[2, 1])],
             {"X": (dt, [2, 3, 17])}, {"X": X3}, {"Y": (dt, None)}, pp, atol=1)
        case(out, "qavgpool_%s_3d" % nm,
             [mk("QLinearAveragePool", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, kernel_shape=[2, 2, 3],
                 strides=[1, 2, 2], pads=[1, 0, 1, 0, 1, 1])],
             {"X": (dt, [1, 2, 4, 5, 6])}, {"X": X5}, {"Y": (dt, None)}, pp, atol=1)
        # ShuffleNet's pools (dequantized into pool_fast.c's float kernels):
        # 3x3 stride 2 pad 1 on rows that leave SIMD tails, 7x7 over a 7x7
        # plane; every instruction-set level
        Xs = q(dt, (1, 5, 29, 37))
        case(out, "qavgpool_%s_s2wide" % nm,
             [mk("QLinearAveragePool", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, kernel_shape=[3, 3],
                 strides=[2, 2], pads=[1, 1, 1, 1])],
             {"X": (dt, [1, 5, 29, 37])}, {"X": Xs}, {"Y": (dt, None)}, pp, atol=1,
             isa=("portable", "avx2", "avx512"))
        X7 = q(dt, (2, 19, 7, 7))
        case(out, "qavgpool_%s_7x7" % nm,
             [mk("QLinearAveragePool", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, kernel_shape=[7, 7])],
             {"X": (dt, [2, 19, 7, 7])}, {"X": X7}, {"Y": (dt, None)}, pp, atol=1,
             isa=("portable", "avx2", "avx512"))
        X4t = np.ascontiguousarray(X4.transpose(0, 2, 3, 1))
        case(out, "qavgpool_%s_nhwc" % nm,
             [mk("QLinearAveragePool", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, kernel_shape=[3, 3],
                 strides=[2, 2], pads=[1, 1, 1, 1], channels_last=1)],
             {"X": (dt, [2, 9, 10, 3])}, {"X": X4t}, {"Y": (dt, None)}, pp, atol=1)
        for last in (0, 1):
            xx = X4t if last else X4
            case(out, "qgap_%s_%d" % (nm, last),
                 [mk("QLinearGlobalAveragePool", ["X", "xs", "xz", "ys", "yz"], ["Y"], domain=MS, channels_last=last)],
                 {"X": (dt, list(xx.shape))}, {"X": xx}, {"Y": (dt, None)}, pp, atol=1)


def lstm_cases(out):
    for i, (T, Bt, I, H, dirs, per_ch, wt) in enumerate([(5, 1, 7, 8, 1, False, np.int8),
                                                          (4, 3, 16, 17, 2, True, np.int8),
                                                          (6, 2, 9, 5, 1, True, np.int8)]):
        X = rng.standard_normal((T, Bt, I)).astype(np.float32)
        W = q(wt, (dirs, I, 4 * H))
        R = q(wt, (dirs, H, 4 * H))
        sh = (dirs, 4 * H) if per_ch else (dirs,)
        inits = [("W", W), ("R", R), ("B", (rng.standard_normal((dirs, 8 * H)) * 0.3).astype(np.float32)),
                 ("ws", (rng.random(sh) * 0.01 + 0.002).astype(np.float32)),
                 ("wz", q(wt, sh) if wt == np.uint8 else np.zeros(sh, wt)),
                 ("rs", (rng.random(sh) * 0.01 + 0.002).astype(np.float32)),
                 ("rz", q(wt, sh) if wt == np.uint8 else np.zeros(sh, wt))]
        ins = ["X", "W", "R", "B", "", "", "", "", "ws", "wz", "rs", "rz"]
        direction = "bidirectional" if dirs == 2 else ("reverse" if i == 2 else "forward")
        case(out, "qlstm_%d" % i, [mk("DynamicQuantizeLSTM", ins, ["Y", "Yh", "Yc"], domain=MS, hidden_size=H,
                                      direction=direction)],
             {"X": (np.float32, [T, Bt, I])}, {"X": X},
             {"Y": (np.float32, None), "Yh": (np.float32, None), "Yc": (np.float32, None)}, inits,
             rtol=1e-3, atol=1e-3, isa=ALL_ISA)


def dw_reference(X, xz, W, wz, attrs, B=None, scales=None, yz=None, yt=None):
    """Depthwise ConvInteger / QLinearConv in numpy (int64 sums; the
    requantization as onnxruntime's: float32 multiplier, round half to even)."""
    N, C = X.shape[:2]
    sp = X.ndim - 2
    k = W.shape[2:]
    s = attrs.get("strides", [1] * sp)
    d = attrs.get("dilations", [1] * sp)
    p = attrs.get("pads", [0] * (2 * sp))
    xp = np.pad(X.astype(np.int64) - int(xz), [(0, 0), (0, 0)] + [(p[i], p[i + sp]) for i in range(sp)])
    out = [(xp.shape[2 + i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(sp)]
    wv = W.astype(np.int64) - np.asarray(wz, np.int64).reshape([-1] + [1] * (W.ndim - 1))
    acc = np.zeros([N, C] + out, np.int64)
    for tap in np.ndindex(*k):
        sl = tuple(slice(tap[i] * d[i], tap[i] * d[i] + s[i] * (out[i] - 1) + 1, s[i]) for i in range(sp))
        acc += wv[(slice(None), 0) + tap].reshape([1, C] + [1] * sp) * xp[(slice(None), slice(None)) + sl]
    if scales is None:
        return acc.astype(np.int32)
    xs, ws, ys = scales
    acc = (acc + B.reshape([1, C] + [1] * sp)).astype(np.int32)
    mult = (np.float32(xs) * ws.astype(np.float32) / np.float32(ys)).reshape([1, C] + [1] * sp)
    v = np.rint(acc.astype(np.float32) * mult) + int(yz)
    info = np.iinfo(yt)
    return np.clip(v, info.min, info.max).astype(yt)


# x type, w type, w zero points (w_zero_points) of the direct int8 kernels' cases
DIRECT_TYPES = [(np.uint8, np.int8, "zero"), (np.int8, np.int8, "wide"), (np.uint8, np.int8, "small"),
                (np.uint8, np.uint8, "any"), (np.int8, np.uint8, "any")]


def w_zero_points(W, wt, wzkind):
    """Per-output-channel zero points of W (rows W.shape[0]) for the direct
    int8 kernels: "zero"; "small" (w - wz fits int8); "wide" (W's first and
    last taps set to 127 and -128 so that w - wz leaves int8 where wz < 0:
    the window-sum correction); "any" (uint8 weights)."""
    C = W.shape[0]
    if wzkind == "zero":
        return np.zeros(C, wt)
    if wzkind == "small":
        return rng.integers(-3, 4, C).astype(wt)
    if wzkind == "wide":
        W.reshape(C, -1)[:, 0] = 127
        W.reshape(C, -1)[:, -1] = -128
        return rng.integers(-120, 121, C).astype(wt)
    return q(wt, (C,))


def dw_vnni_cases(out):
    """The depthwise convolutions of qconv_dw_vnni.c (AVX512-VNNI + VBMI;
    the "avx512bw" level runs the fallback, dw_plane): widths over one block
    of 128 columns and their 16-column tails, k_w 1 to 7 (one or two
    groups of four taps), strides 1 to 3 and dilations up to the widest
    one 64-byte load serves (3 * 15 + 3 * 6 = 63), stride 4 (not taken),
    asymmetric pads wider than the kernel, unit or equal strides read flat (several
    rows per block, the columns past out_w dropped), more than 32 channels (blocks
    between cancellation checks), a batch, 1-D, u8 and s8 x, s8 weights
    whose w - wz fits int8 and weights with zero points where it does not
    (the window-sum correction), uint8 weights, extreme values, and
    ConvInteger's int32 output.  Expected outputs by numpy (dw_reference),
    so s8 weights with a non-zero zero point are tested too."""
    specs = [  # x shape, kernel, attrs
        ((1, 5, 4, 150), (5, 5), dict(pads=[2, 2, 2, 2])),
        ((2, 37, 3, 19), (3, 3), dict(pads=[1, 1, 1, 1])),
        ((1, 3, 9, 47), (7, 7), dict(pads=[3, 0, 2, 5], strides=[2, 2])),
        ((1, 4, 7, 53), (3, 3), dict(strides=[3, 3], dilations=[2, 6], pads=[1, 6, 1, 6])),
        ((1, 3, 6, 40), (1, 5), dict(dilations=[1, 3], pads=[0, 6, 0, 6])),
        ((1, 3, 5, 33), (2, 4), dict(strides=[1, 2], pads=[1, 1, 0, 2])),
        ((1, 2, 6, 29), (3, 3), dict(strides=[1, 4], pads=[1, 1, 1, 1])),
        ((1, 6, 130), (5,), dict(pads=[2, 2])),
        ((1, 3, 2, 5), (5, 5), dict(pads=[4, 4, 4, 4])),
        # unit strides read the padded plane flat (qdw_layout): ShuffleNet's
        # 7 x 7 with more than 32 channels, 14 x 13 over two blocks of 128
        # columns, dilated rows with two tap groups (taps reaching into the
        # next row weigh 0), 1 x 1 over three blocks, a width of 3 with
        # asymmetric pads (blocks ending inside the dropped columns)
        ((1, 67, 7, 7), (3, 3), dict(pads=[1, 1, 1, 1])),
        ((1, 5, 14, 13), (3, 3), dict(pads=[1, 1, 1, 1])),
        ((1, 3, 11, 9), (3, 6), dict(dilations=[2, 1], pads=[2, 0, 1, 4])),
        ((1, 4, 9, 30), (1, 1), dict()),
        ((2, 3, 5, 3), (3, 3), dict(pads=[0, 2, 3, 1])),
        # equal strides read flat too where that takes no more vectors:
        # ShuffleNet's stride-2 14 x 14, stride 2 dilated, stride 3
        ((1, 35, 14, 14), (3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1])),
        ((1, 4, 11, 10), (3, 3), dict(strides=[2, 2], dilations=[2, 2], pads=[2, 2, 2, 2])),
        ((1, 3, 9, 8), (3, 3), dict(strides=[3, 3], pads=[1, 1, 1, 1])),
    ]
    for i, (xs, ks, attrs) in enumerate(specs):
        C = xs[1]
        for xt, wt, wzkind in DIRECT_TYPES:
            nm = "dwv%d_%s%s_%s" % (i, np.dtype(xt).name, np.dtype(wt).name, wzkind)
            X = q(xt, xs)
            W = q(wt, (C, 1) + ks)
            wz = w_zero_points(W, wt, wzkind)
            if i == 0:
                X[...] = np.iinfo(xt).max if xt == np.uint8 else np.iinfo(xt).min
            xz = zp_of(xt)
            yt = xt
            x_s, ys, yz = np.float32(0.05), np.float32(0.3), zp_of(yt)
            w_s = (rng.random(C) * 0.01 + 0.001).astype(np.float32)
            B = rng.integers(-800, 800, C).astype(np.int32)
            a = dict(attrs, group=C)
            inits = [("xz", xz), ("W", W), ("wz", wz), ("xs", x_s), ("ws", w_s), ("ys", ys), ("yz", yz),
                     ("B", B)]
            exp = dw_reference(X, xz, W, wz, attrs, B, (x_s, w_s, ys), yz, yt)
            case(out, "qlconv_" + nm, [mk("QLinearConv", ["X", "xs", "xz", "W", "ws", "wz", "ys", "yz", "B"],
                                          ["Y"], **a)], {"X": (xt, list(xs))}, {"X": X}, {"Y": (yt, None)},
                 inits, atol=1, isa=ALL_ISA, ms=False, expected=[exp])
            if wzkind == "any":
                case(out, "convint_" + nm, [mk("ConvInteger", ["X", "W", "xz", "wz"], ["Y"], **a)],
                     {"X": (xt, list(xs))}, {"X": X}, {"Y": (np.int32, None)}, [("xz", xz), ("W", W), ("wz", wz)],
                     isa=ALL_ISA, ms=False, expected=[dw_reference(X, xz, W, wz, attrs)])


def pw_reference(X, xz, W, wz, group, B, scales, yz, yt):
    """Pointwise (1x1, stride 1, unpadded) QLinearConv in numpy: int64 sums
    per group, onnxruntime's requantization (float32 multiplier, round half
    to even)."""
    N, C = X.shape[:2]
    M = W.shape[0]
    Cg, Mg = C // group, M // group
    xv = X.reshape(N, C, -1).astype(np.int64) - int(xz)
    wv = W.reshape(M, Cg).astype(np.int64) - np.asarray(wz, np.int64).reshape(-1, 1)
    acc = np.concatenate([np.einsum("mk,nkp->nmp", wv[g * Mg:(g + 1) * Mg], xv[:, g * Cg:(g + 1) * Cg])
                          for g in range(group)], axis=1)
    xs, ws, ys = scales
    acc = (acc + B.reshape(1, M, 1)).astype(np.int32)
    mult = (np.float32(xs) * ws.astype(np.float32) / np.float32(ys)).reshape(1, M, 1)
    v = np.rint(acc.astype(np.float32) * mult) + int(yz)
    info = np.iinfo(yt)
    return np.clip(v, info.min, info.max).astype(yt).reshape((N, M) + X.shape[2:])


def pw_vnni_cases(out):
    """The pointwise QLinearConv of qconv_pw_vnni.c (AVX512-VNNI + VBMI;
    the "avx512bw" and lower levels run the GEMM path): channel counts
    that leave groups of four short (1, 3, 5, 6, 17, 34), output channels
    that leave the 6-row tile short (1..7, 13, 34), positions in one
    partial vector, in blocks of 64 with 16-lane tails (63, 65, 130), in
    several cancellation chunks (K 136 x 300 output channels: chunks of 64
    positions), groups (ShuffleNet's 4 groups of 6 and 34), a batch, 1-D,
    u8 and s8 x, s8 weights whose w - wz fits int8 and weights where it
    does not (the window-sum correction), uint8 weights, extreme values.
    Expected outputs by numpy (pw_reference)."""
    specs = [  # x shape, M, group
        ((1, 1, 3, 5), 3, 1),
        ((1, 3, 7, 9), 7, 1),
        ((2, 5, 13), 13, 1),
        ((1, 17, 5, 13), 5, 1),
        ((1, 24, 8, 8), 112, 4),
        ((1, 136, 10, 13), 136, 4),
        ((1, 34, 1, 63), 34, 1),
        ((1, 6, 2, 65), 2, 1),
        ((1, 136, 1, 200), 300, 1),
        ((1, 12, 4, 4), 6, 3),
    ]
    for i, (xs, M, group) in enumerate(specs):
        C = xs[1]
        for xt, wt, wzkind in DIRECT_TYPES:
            nm = "pwv%d_%s%s_%s" % (i, np.dtype(xt).name, np.dtype(wt).name, wzkind)
            X = q(xt, xs)
            W = q(wt, (M, C // group) + (1,) * (len(xs) - 2))
            wz = w_zero_points(W, wt, wzkind)
            if i == 0:
                X[...] = np.iinfo(xt).max if xt == np.uint8 else np.iinfo(xt).min
            xz = zp_of(xt)
            yt = xt
            x_s, ys, yz = np.float32(0.05), np.float32(0.3 * np.sqrt(C // group)), zp_of(yt)
            w_s = (rng.random(M) * 0.01 + 0.001).astype(np.float32)
            B = rng.integers(-800, 800, M).astype(np.int32)
            if i % 3 == 0:  # one w zero point for all channels
                wz = np.full(M, wz[0], wt)
            inits = [("xz", xz), ("wz", wz if i % 3 else wz[:1].reshape(())),
                     ("xs", x_s), ("ws", w_s), ("ys", ys), ("yz", yz), ("B", B)]
            inputs, feed = {"X": (xt, list(xs))}, {"X": X}
            if i % 2:  # W an input: prepared per run, not at load (qconv.c qconv_pack)
                inputs["W"] = (wt, list(W.shape))
                feed["W"] = W
            else:
                inits.append(("W", W))
            exp = pw_reference(X, xz, W, wz, group, B, (x_s, w_s, ys), yz, yt)
            case(out, "qlconv_" + nm, [mk("QLinearConv", ["X", "xs", "xz", "W", "ws", "wz", "ys", "yz", "B"],
                                          ["Y"], group=group)], inputs, feed,
                 {"Y": (yt, None)}, inits, atol=1, isa=ALL_ISA, ms=False, expected=[exp])


def dql_cases(out):
    """DynamicQuantizeLinear (ops_quant.c): the min/max scan (AVX-512 16
    lanes, the last under a mask) with the extreme value in the masked tail,
    in the first lane, all positive (min 0), all negative (max 0), one value,
    and a constant tensor (range 0)."""
    for n, kind in [(1, "rand"), (15, "tail"), (16, "tail"), (17, "tail"), (33, "first"), (1000, "tail"),
                    (70, "pos"), (70, "neg"), (40, "const")]:
        x = rng.uniform(-1, 1, n).astype(np.float32)
        if kind == "tail":
            x[-1] = 37.5
            x[-2 if n > 1 else -1] = -11.25
        elif kind == "first":
            x[0] = -45.0
        elif kind == "pos":
            x = np.abs(x) + 0.5
        elif kind == "neg":
            x = -np.abs(x) - 0.5
        elif kind == "const":
            x[:] = 0.75
        case(out, "dql_%d_%s" % (n, kind), [mk("DynamicQuantizeLinear", ["X"], ["Y", "S", "Z"])],
             {"X": (np.float32, [n])}, {"X": x},
             {"Y": (np.uint8, None), "S": (np.float32, None), "Z": (np.uint8, None)},
             rtol=1e-6, atol=1, isa=ALL_ISA, ms=False)


def main():
    out = sys.argv[1]
    gemm_cases(out)
    conv_cases(out)
    ms_matmul_cases(out)
    qlinear_cases(out)
    qdq_move_cases(out)
    lstm_cases(out)
    dw_vnni_cases(out)
    pw_vnni_cases(out)
    dql_cases(out)


if __name__ == "__main__":
    main()
