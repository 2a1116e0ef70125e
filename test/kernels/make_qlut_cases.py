#!/usr/bin/env python3
"""Kernel cases for the 8-bit table rewrite (engine/src/qdq_fuse.c,
onnx_graph_qdq_tables; lookup in engine/ops/qlut.c):
DequantizeLinear -> chain of elementwise float ops with constant other
inputs -> QuantizeLinear becomes one table lookup per channel (or one for
the tensor), built at load by running the engine's own kernels on all 256
codes.

    make_qlut_cases.py OUT_DIR

Each supported op alone, chains of 2-3 ops, per-tensor and per-channel
constants, int8 and uint8, sizes whose rows leave SIMD tails (inner 1, 63,
65, 130), and chains that must stay as they are (a non-constant second
input, an op outside the list, the intermediate value read elsewhere).
Every case runs at every instruction-set level.  Expected outputs are
onnxruntime's (one thread, no graph optimisation); outputs may differ by one
quantization step (atol 1) where float rounding of the unfused chain
differs.
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


def chain_case(out, name, dt, shape, ops, extra_out=False, dyn=None, moves=(), y_shape=None):
    """X (dt, shape) -> DQ -> ops -> Q -> Y.  ops: list of (op_type, attrs,
    consts) where consts are the other inputs (numpy arrays, or None for an
    absent input); the chain value is input 0.  extra_out: the value after
    the first op is also a graph output (or, with moves, the value after
    the first move).  dyn: name of a graph input used as the second input
    of the first op instead of its constant.  moves: data-movement nodes
    (op_type, attrs, consts) between the ops and Q (the table goes before
    them, they carry bytes); y_shape: Y's shape after them."""
    info = np.iinfo(dt)
    x = rng.integers(info.min, int(info.max) + 1, shape).astype(dt)
    x.flat[:min(x.size, 256)] = np.arange(256).astype(np.uint8).view(dt)[:min(x.size, 256)]
    xz = np.array(rng.integers(info.min // 2, info.max // 2), dt)
    yz = np.array(rng.integers(info.min // 2, info.max // 2), dt)
    nodes = [mk("DequantizeLinear", ["x", "xs", "xz"], ["v0"])]
    inits = [("xs", np.array(0.05, np.float32)), ("xz", xz), ("ys", np.array(0.04, np.float32)), ("yz", yz)]
    inputs = {"x": (dt, list(shape))}
    feed = {"x": x}
    cur = "v0"
    for i, (op, attrs, consts) in enumerate(ops):
        ins = [cur]
        for j, c in enumerate(consts):
            if c is None:
                ins.append("")
                continue
            cn = "c%d_%d" % (i, j)
            if dyn is not None and i == 0 and j == 0:
                inputs[cn] = (np.float32, list(c.shape))
                feed[cn] = np.asarray(c)
            else:
                inits.append((cn, c))
            ins.append(cn)
        nodes.append(mk(op, ins, ["v%d" % (i + 1)], **attrs))
        cur = "v%d" % (i + 1)
    for i, (op, attrs, consts) in enumerate(moves):
        ins = [cur]
        for j, c in enumerate(consts):
            inits.append(("m%d_%d" % (i, j), c))
            ins.append("m%d_%d" % (i, j))
        nodes.append(mk(op, ins, ["w%d" % i], **attrs))
        cur = "w%d" % i
    nodes.append(mk("QuantizeLinear", [cur, "ys", "yz"], ["y"]))
    outputs = {"y": (dt, list(y_shape or shape))}
    if extra_out and moves:
        outputs["w0"] = (np.float32, None)
    elif extra_out:
        outputs["v1"] = (np.float32, list(shape))
    m = make_model(nodes, inputs=inputs, outputs=outputs, initializers=inits)
    write_case(out, name, m, feed, rtol=1e-5, atol=1.0, isa=ALL_ISA)


def f32(*a):
    return np.asarray(a, np.float32) if len(a) > 1 else np.float32(a[0])


def bn(C):
    return [rng.uniform(0.5, 2, C).astype(np.float32), rng.uniform(-1, 1, C).astype(np.float32),
            rng.uniform(-1, 1, C).astype(np.float32), rng.uniform(0.2, 3, C).astype(np.float32)]


def pc(C, rank_after=2):
    return rng.uniform(-2, 2, (C,) + (1,) * rank_after).astype(np.float32)


def qdq_cases(out):
    """QuantizeLinear / DequantizeLinear per tensor (the vectorized 8-bit
    loops of ops_quant.c): ties, saturation, NaN (to saturate(0), the
    engine's rule), odd sizes; expected computed here, exactly."""
    n = 0
    for dt in (np.int8, np.uint8):
        info = np.iinfo(dt)
        for size in (1, 15, 17, 33, 100):
            scale = np.float32(0.5)
            zp = np.array(3 if dt == np.int8 else 130, dt)
            x = (rng.integers(-300, 300, size).astype(np.float32) * np.float32(0.25))
            x[:3] = np.float32([0.25, 0.75, -1.25])[:min(3, size)]
            if size > 5:
                x[4] = np.nan
                x[5] = 1e9
            v = x / scale
            r = np.where(np.isnan(v), 0, np.clip(np.rint(np.nan_to_num(v)) + int(zp), info.min, info.max))
            r = np.where(np.isnan(v), np.clip(0, info.min, info.max), r).astype(dt)
            m = make_model([mk("QuantizeLinear", ["x", "s", "z"], ["y"])], inputs={"x": (np.float32, [size])},
                           outputs={"y": (dt, [size])}, initializers=[("s", np.array(scale)), ("z", zp)])
            write_case(out, "qlut_q_%d_%s" % (size, dt.__name__), m, {"x": x}, rtol=0, atol=0, isa=ALL_ISA,
                       expected=[r])
            xq = rng.integers(info.min, int(info.max) + 1, size).astype(dt)
            d = ((xq.astype(np.int32) - int(zp)).astype(np.float32) * scale).astype(np.float32)
            m = make_model([mk("DequantizeLinear", ["x", "s", "z"], ["y"])], inputs={"x": (dt, [size])},
                           outputs={"y": (np.float32, [size])}, initializers=[("s", np.array(scale)), ("z", zp)])
            write_case(out, "qlut_dq_%d_%s" % (size, dt.__name__), m, {"x": xq}, rtol=0, atol=0, isa=ALL_ISA,
                       expected=[d])
            n += 2
    return n


def add_relu_cases(out):
    """qdq_fuse.c: DQ, DQ -> Add / Sum [-> Relu] -> Q as QLinearAdd (the Relu
    dropped when Q's zero point is its type's bottom); kept as they are: a
    Relu with another zero point, a Sum of three."""
    n = 0
    for dt in (np.int8, np.uint8):
        info = np.iinfo(dt)
        for op, relu, bottom, k in (("Add", True, True, 2), ("Sum", False, False, 2), ("Sum", True, True, 2),
                                    ("Add", True, False, 2), ("Sum", True, True, 3)):
            shape = (1, 3, 7, 5)
            nodes, inits, feed, inputs = [], [], {}, {}
            for i in range(k):
                xn = "x%d" % i
                inputs[xn] = (dt, list(shape))
                feed[xn] = rng.integers(info.min, int(info.max) + 1, shape).astype(dt)
                inits += [("s%d" % i, np.array(0.02 * (i + 1), np.float32)),
                          ("z%d" % i, np.array(rng.integers(info.min // 2, info.max // 2), dt))]
                nodes.append(mk("DequantizeLinear", [xn, "s%d" % i, "z%d" % i], ["d%d" % i]))
            nodes.append(mk(op, ["d%d" % i for i in range(k)], ["a"]))
            if relu:
                nodes.append(mk("Relu", ["a"], ["r"]))
            yz = np.array(info.min if bottom else 5, dt)
            inits += [("ys", np.array(0.03, np.float32)), ("yz", yz)]
            nodes.append(mk("QuantizeLinear", ["r" if relu else "a", "ys", "yz"], ["y"]))
            m = make_model(nodes, inputs=inputs, outputs={"y": (dt, list(shape))}, initializers=inits)
            write_case(out, "qlut_%s%s_%s_%d_%s" % (op, "_relu" if relu else "", "bot" if bottom else "zp", k,
                                                   dt.__name__), m, feed, rtol=0, atol=1.0, isa=ALL_ISA)
            n += 1
    return n


def itab_cases(out):
    """qdq_fuse.c's integer tables (itab_one, itab_merge): com.microsoft
    QLinearAdd / QLinearMul with a constant of one value or one per channel,
    QLinearSigmoid, QLinearLeakyRelu, x * T(x) where T is a table of x that
    only the product reads (x * sigmoid(x), and x * HardSigmoid(x) of a QDQ
    chain), x * x, and chains of them merged into one table; kept as they
    are: a second dynamic input, T(x) also a graph output, a per-channel
    constant on a rank-2 x.  Expected outputs are onnxruntime's."""
    MS = "com.microsoft"
    n = 0

    def qp(dt, tag):
        info = np.iinfo(dt)
        return [(tag + "s", np.array(rng.uniform(0.01, 0.08), np.float32)),
                (tag + "z", np.array(rng.integers(info.min // 2, info.max // 2), dt))]

    def binop(op, a, b, y, ta, tb, ty):
        return mk(op, [a, ta + "s", ta + "z", b, tb + "s", tb + "z", ty + "s", ty + "z"], [y], domain=MS)

    def unop(op, a, y, ta, ty, **kw):
        return mk(op, [a, ta + "s", ta + "z", ty + "s", ty + "z"], [y], domain=MS, **kw)

    for dt in (np.int8, np.uint8):
        info = np.iinfo(dt)
        nm = dt.__name__
        for name, shape, build in [
            ("add_scalar", (1, 3, 65), lambda: ([binop("QLinearAdd", "x", "c", "y", "x", "c", "y")],
                                                [("c", np.array(rng.integers(info.min, info.max), dt))])),
            ("mul_pc_add", (2, 5, 4, 7), lambda: ([binop("QLinearMul", "x", "c", "t", "x", "c", "t"),
                                                    binop("QLinearAdd", "t", "d", "y", "t", "d", "y")],
                                                   [("c", rng.integers(info.min, info.max, (5, 1, 1)).astype(dt)),
                                                    ("d", np.array(rng.integers(info.min, info.max), dt))] + qp(dt, "t"))),
            ("add_pc4", (1, 6, 3, 1), lambda: ([binop("QLinearAdd", "c", "x", "y", "c", "x", "y")],
                                               [("c", rng.integers(info.min, info.max, (1, 6, 1, 1)).astype(dt))])),
            ("silu", (1, 4, 33), lambda: ([unop("QLinearSigmoid", "x", "t", "x", "t"),
                                           binop("QLinearMul", "x", "t", "y", "x", "t", "y")], qp(dt, "t"))),
            ("silu_swapped", (2, 3, 5, 5), lambda: ([unop("QLinearSigmoid", "x", "t", "x", "t"),
                                                     binop("QLinearMul", "t", "x", "y", "t", "x", "y")], qp(dt, "t"))),
            ("square", (3, 130), lambda: ([binop("QLinearMul", "x", "x", "y", "x", "x", "y")], [])),
            ("lrelu_add", (1, 2, 9, 9), lambda: ([unop("QLinearLeakyRelu", "x", "t", "x", "t", alpha=0.2),
                                                  binop("QLinearAdd", "t", "c", "y", "t", "c", "y")],
                                                 qp(dt, "t") + [("c", np.array(rng.integers(info.min, info.max), dt))])),
            ("hswish_qdq", (1, 3, 4, 17), lambda: ([mk("DequantizeLinear", ["x", "xs", "xz"], ["f"]),
                                                     mk("HardSigmoid", ["f"], ["h"], alpha=0.1667, beta=0.5),
                                                     mk("QuantizeLinear", ["h", "ts", "tz"], ["t"]),
                                                     binop("QLinearMul", "x", "t", "y", "x", "t", "y")], qp(dt, "t"))),
            # kept
            ("keep_dyn", (1, 3, 17), lambda: ([binop("QLinearAdd", "x", "x2", "y", "x", "c", "y")],
                                              [("c" + k, v) for k, v in [("s", np.array(0.03, np.float32)),
                                                                         ("z", np.array(1, dt))]])),
            ("keep_pc_rank2", (4, 6), lambda: ([binop("QLinearMul", "x", "c", "y", "x", "c", "y")],
                                               [("c", rng.integers(info.min, info.max, (6,)).astype(dt))])),
        ]:
            nodes, extra = build()
            x = rng.integers(info.min, int(info.max) + 1, shape).astype(dt)
            x.flat[:min(x.size, 256)] = np.arange(256).astype(np.uint8).view(dt)[:min(x.size, 256)]
            inits = qp(dt, "x") + qp(dt, "y") + list(extra)
            if not any(k == "cs" for k, _ in inits) and any(k == "c" for k, _ in inits):
                inits += [("cs", np.array(rng.uniform(0.01, 0.08), np.float32)), ("cz", np.array(3, dt))]
            if any(k == "d" for k, _ in inits):
                inits += [("ds", np.array(0.02, np.float32)), ("dz", np.array(-2 if dt == np.int8 else 7, dt))]
            inputs, feed = {"x": (dt, list(shape))}, {"x": x}
            if name == "keep_dyn":
                inputs["x2"] = (dt, list(shape))
                feed["x2"] = rng.integers(info.min, int(info.max) + 1, shape).astype(dt)
            outputs = {"y": (dt, list(shape))}
            m = make_model(nodes, inputs=inputs, outputs=outputs, initializers=inits, domains=[(MS, 1)])
            write_case(out, "qlut_itab_%s_%s" % (name, nm), m, feed, rtol=0, atol=1.0, isa=ALL_ISA)
            n += 1
        # T(x) also a graph output: the product stays
        x = rng.integers(info.min, int(info.max) + 1, (1, 3, 20)).astype(dt)
        m = make_model([unop("QLinearSigmoid", "x", "t", "x", "t"), binop("QLinearMul", "x", "t", "y", "x", "t", "y")],
                       inputs={"x": (dt, [1, 3, 20])}, outputs={"y": (dt, [1, 3, 20]), "t": (dt, [1, 3, 20])},
                       initializers=qp(dt, "x") + qp(dt, "y") + qp(dt, "t"), domains=[(MS, 1)])
        write_case(out, "qlut_itab_keep_read_%s" % nm, m, {"x": x}, rtol=0, atol=1.0, isa=ALL_ISA)
        n += 1
    return n


def qop_cases(out):
    """QOperator-form chains (onnxruntime's quantize_static QOperator):
    QLinearConv -> QLinearLeakyRelu -> DQ -> Max -> Q -> QLinearConv.  The
    table needs the rank of the DQ's input, inferred through QLinearConv and
    QLinearLeakyRelu (qconv.c, ms_qlinear.c)."""
    n = 0
    for pads in ([0, 0, 0, 0], [1, 0, 1, 0]):
        X = rng.integers(0, 256, (1, 3, 9, 7)).astype(np.uint8)
        W1 = rng.integers(-127, 128, (5, 3, 3, 1)).astype(np.int8)
        W2 = rng.integers(-127, 128, (4, 5, 1, 3)).astype(np.int8)
        inits = [("xs", f32(0.02)), ("xz", np.uint8(128)), ("w1", W1), ("ws", f32(0.01)), ("wz", np.int8(0)),
                 ("s1", f32(0.3)), ("z1", np.uint8(120)), ("s2", f32(0.2)), ("z2", np.uint8(100)),
                 ("m", np.full((1, 1, 1, 1), -0.4, np.float32)), ("s3", f32(0.25)), ("z3", np.uint8(90)),
                 ("w2", W2), ("s4", f32(0.5)), ("z4", np.uint8(128))]
        nodes = [mk("QLinearConv", ["x", "xs", "xz", "w1", "ws", "wz", "s1", "z1"], ["c1"], pads=pads),
                 mk("QLinearLeakyRelu", ["c1", "s1", "z1", "s2", "z2"], ["l1"], domain="com.microsoft", alpha=0.2),
                 mk("DequantizeLinear", ["l1", "s2", "z2"], ["d1"]),
                 mk("Max", ["d1", "m"], ["mx"]),
                 mk("QuantizeLinear", ["mx", "s3", "z3"], ["q1"]),
                 mk("QLinearConv", ["q1", "s3", "z3", "w2", "ws", "wz", "s4", "z4"], ["y"], pads=[0, 1, 0, 1])]
        m = make_model(nodes, inputs={"x": (np.uint8, [1, 3, 9, 7])}, outputs={"y": (np.uint8, None)},
                       initializers=inits, domains=[("com.microsoft", 1)])
        write_case(out, "qlut_qop_conv_lrelu_max_%d" % pads[0], m, {"x": X}, rtol=0, atol=1.0, isa=ALL_ISA)
        n += 1
    return n


def qop_dyn_cases(out):
    """QOperator chains under an input of run-time height and width: the
    tables need the rank and channels of each DQ's input, inferred through
    QLinearConv (rank and channels without the spatial sizes,
    window_geom.c), QLinearAveragePool, QLinearMul (broadcast),
    QLinearConcat and QLinearGlobalAveragePool (ms_qlinear.c)."""
    n = 0
    for dt in (np.uint8, np.int8):
        info = np.iinfo(dt)
        z = lambda v: np.array(v if dt == np.uint8 else v - 128, dt)  # noqa: E731
        X = rng.integers(info.min, int(info.max) + 1, (1, 3, 9, 7)).astype(dt)
        W = rng.integers(-127, 128, (5, 3, 3, 3)).astype(np.int8)
        inits = [("xs", f32(0.02)), ("xz", z(128)), ("w", W), ("ws", f32(0.01)), ("wz", np.int8(0)),
                 ("s1", f32(0.3)), ("z1", z(120)), ("s2", f32(0.2)), ("z2", z(100)), ("s3", f32(0.25)),
                 ("z3", z(90)), ("s4", f32(0.15)), ("z4", z(130)), ("s5", f32(0.1)), ("z5", z(110)),
                 ("s6", f32(0.05)), ("z6", z(125))]
        b5, b10 = bn(5), bn(10)
        inits += [("b5_%d" % i, v) for i, v in enumerate(b5)] + [("b10_%d" % i, v) for i, v in enumerate(b10)]
        inits += [("m5", pc(5)), ("m10", pc(10))]
        ms = "com.microsoft"
        nodes = [mk("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "s1", "z1"], ["c1"], pads=[1, 1, 1, 1]),
                 mk("QLinearAveragePool", ["c1", "s1", "z1", "s2", "z2"], ["p1"], domain=ms, kernel_shape=[3, 3],
                    pads=[1, 1, 1, 1]),
                 mk("DequantizeLinear", ["p1", "s2", "z2"], ["d1"]),
                 mk("BatchNormalization", ["d1"] + ["b5_%d" % i for i in range(4)], ["n1"]),
                 mk("QuantizeLinear", ["n1", "s3", "z3"], ["q1"]),
                 mk("QLinearMul", ["q1", "s3", "z3", "c1", "s1", "z1", "s4", "z4"], ["m1"], domain=ms),
                 mk("DequantizeLinear", ["m1", "s4", "z4"], ["d2"]),
                 mk("Mul", ["d2", "m5"], ["n2"]),
                 mk("QuantizeLinear", ["n2", "s3", "z3"], ["q2"]),
                 mk("QLinearConcat", ["s5", "z5", "q2", "s3", "z3", "c1", "s1", "z1"], ["k1"], domain=ms, axis=1),
                 mk("DequantizeLinear", ["k1", "s5", "z5"], ["d3"]),
                 mk("BatchNormalization", ["d3"] + ["b10_%d" % i for i in range(4)], ["n3"]),
                 mk("Relu", ["n3"], ["r3"]),
                 mk("QuantizeLinear", ["r3", "s4", "z4"], ["q3"]),
                 mk("QLinearGlobalAveragePool", ["q3", "s4", "z4", "s6", "z6"], ["g1"], domain=ms),
                 mk("DequantizeLinear", ["g1", "s6", "z6"], ["d4"]),
                 mk("Mul", ["d4", "m10"], ["n4"]),
                 mk("QuantizeLinear", ["n4", "s2", "z2"], ["y"])]
        m = make_model(nodes, inputs={"x": (dt, [1, 3, "h", "w"])}, outputs={"y": (dt, None)},
                       initializers=inits, domains=[(ms, 1)])
        write_case(out, "qlut_qop_dyn_%s" % dt.__name__, m, {"x": X}, rtol=0, atol=1.0, isa=ALL_ISA)
        n += 1
    return n


def conv_table_cases(out):
    """QLinearConv -> DQ -> BatchNormalization -> Relu -> Q (ShuffleNet's
    static QOperator form; a table per channel) or -> HardSwish -> Q (one
    table): the table goes into the QLinearConv's store (qdq_fuse.c itab_into_conv, OnnxNode.fused_table).
    Depthwise (qconv_dw_vnni.c), grouped and plain 1x1 (qconv_pw_vnni.c), a
    3x3 over the GEMM path, uint8 and int8, per-tensor and per-channel
    weight scales, a batch of 2, odd sizes; and the convolution's output
    also a graph output (not folded)."""
    n = 0
    specs = [  # x shape, W shape, group, attrs
        ((1, 35, 7, 7), (35, 1, 3, 3), 35, dict(pads=[1, 1, 1, 1])),
        ((2, 12, 9, 5), (8, 3, 1, 1), 4, dict()),
        ((1, 6, 11, 13), (7, 6, 3, 3), 1, dict(pads=[1, 0, 1, 2], strides=[2, 1])),
        ((2, 24, 5, 7), (33, 24, 1, 1), 1, dict()),
    ]
    for i, (xs, ws_, g, attrs) in enumerate(specs):
        for dt in (np.uint8, np.int8):
            for per_ch, both in ((False, False), (True, False), (True, True)):
                info = np.iinfo(dt)
                z = lambda v: np.array(v if dt == np.uint8 else v - 128, dt)  # noqa: E731
                M = ws_[0]
                X = rng.integers(info.min, int(info.max) + 1, xs).astype(dt)
                W = rng.integers(-127, 128, ws_).astype(np.int8)
                wsc = (rng.random(M) * 0.02 + 0.002).astype(np.float32) if per_ch else f32(0.01)
                wz = np.zeros(M, np.int8) if per_ch else np.int8(0)
                b = bn(M)
                inits = [("xs", f32(0.02)), ("xz", z(128)), ("w", W), ("ws", wsc), ("wz", wz),
                         ("s1", f32(0.3)), ("z1", z(120)), ("s2", f32(0.07)), ("z2", z(10)),
                         ("B", rng.integers(-500, 500, M).astype(np.int32))]
                inits += [("b_%d" % k, v) for k, v in enumerate(b)]
                nodes = [mk("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "s1", "z1", "B"], ["c1"], group=g,
                            **attrs),
                         mk("DequantizeLinear", ["c1", "s1", "z1"], ["d1"])]
                if per_ch:
                    nodes += [mk("BatchNormalization", ["d1"] + ["b_%d" % k for k in range(4)], ["n1"]),
                              mk("Relu", ["n1"], ["r1"])]
                else:
                    nodes += [mk("HardSwish", ["d1"], ["r1"])]  # one table for the tensor
                nodes += [mk("QuantizeLinear", ["r1", "s2", "z2"], ["y"])]
                outs = {"y": (dt, None)}
                if both:
                    outs["c1"] = (dt, None)
                m = make_model(nodes, inputs={"x": (dt, list(xs))}, outputs=outs, initializers=inits)
                write_case(out, "qlut_conv_table_%d_%s_%s%s" % (i, dt.__name__, "pc" if per_ch else "pt",
                                                                "_both" if both else ""),
                           m, {"x": X}, rtol=0, atol=1.0, isa=ALL_ISA)
                n += 1
    return n


def main(out):
    n = 0
    n += conv_table_cases(out)
    unary = [("Relu", {}, []), ("Sigmoid", {}, []), ("Tanh", {}, []), ("Neg", {}, []), ("Abs", {}, []),
             ("Elu", {"alpha": 0.7}, []), ("LeakyRelu", {"alpha": 0.15}, []),
             ("HardSigmoid", {"alpha": 0.2, "beta": 0.45}, []), ("HardSwish", {}, []),
             ("Clip", {}, [f32(-0.5), f32(1.25)]), ("Clip", {}, [None, f32(0.75)]),
             ("Mul", {}, [f32(1.7)]), ("Add", {}, [f32(-0.3)]), ("Sub", {}, [f32(0.6)]), ("Div", {}, [f32(1.3)]),
             ("Max", {}, [f32(0.35)]), ("Min", {}, [np.full((1, 1), 0.8, np.float32)])]
    shapes = [(1, 3, 7, 9), (2, 4, 65), (3, 130), (1, 1, 1, 1)]
    for dt in (np.int8, np.uint8):
        for k, (op, attrs, consts) in enumerate(unary):
            chain_case(out, "qlut_%s_%d_%s" % (op, k, dt.__name__), dt, shapes[k % len(shapes)],
                       [(op, attrs, consts)])
            n += 1
        # per channel: BatchNormalization, Mul / Add / Div by (C,1,1), (1,C,1,1), (C,1)
        chain_case(out, "qlut_bn_%s" % dt.__name__, dt, (2, 5, 7, 9), [("BatchNormalization", {}, bn(5))])
        chain_case(out, "qlut_bn_relu_%s" % dt.__name__, dt, (1, 6, 63),
                   [("BatchNormalization", {"epsilon": 1e-3}, bn(6)), ("Relu", {}, [])])
        chain_case(out, "qlut_mul_pc_%s" % dt.__name__, dt, (1, 5, 4, 3), [("Mul", {}, [pc(5)])])
        chain_case(out, "qlut_add_pc4_%s" % dt.__name__, dt, (2, 3, 5, 13),
                   [("Add", {}, [pc(3).reshape(1, 3, 1, 1)])])
        chain_case(out, "qlut_div_pc3_%s" % dt.__name__, dt, (1, 7, 130),
                   [("Div", {}, [rng.uniform(0.5, 2, (7, 1)).astype(np.float32)])])
        chain_case(out, "qlut_bn_hsig_mul_%s" % dt.__name__, dt, (1, 4, 5, 5),
                   [("BatchNormalization", {}, bn(4)), ("HardSigmoid", {"alpha": 0.1667, "beta": 0.5}, []),
                    ("Mul", {}, [f32(2.0)])])
        chain_case(out, "qlut_mul_add_clip_%s" % dt.__name__, dt, (1, 3, 65),
                   [("Mul", {}, [pc(3, 1)]), ("Add", {}, [f32(0.25)]), ("Clip", {}, [f32(0.0), f32(6.0)])])
        chain_case(out, "qlut_sub_div_%s" % dt.__name__, dt, (5, 31), [("Sub", {}, [f32(0.1)]), ("Div", {}, [f32(0.7)])])
        chain_case(out, "qlut_max_pc_min_%s" % dt.__name__, dt, (1, 4, 3, 11),
                   [("Max", {}, [pc(4)]), ("Min", {}, [f32(1.5)])])
        # data movement between the chain and Q: ShuffleNet's channel shuffle, Flatten, Transpose
        i64 = lambda *a: np.asarray(a, np.int64)  # noqa: E731
        shuffle = [("Reshape", {}, [i64(1, 2, 3, 5, 7)]), ("Transpose", {"perm": [0, 2, 1, 3, 4]}, []),
                   ("Reshape", {}, [i64(1, 6, 5, 7)])]
        chain_case(out, "qlut_bn_relu_shuffle_%s" % dt.__name__, dt, (1, 6, 5, 7),
                   [("BatchNormalization", {}, bn(6)), ("Relu", {}, [])], moves=shuffle)
        chain_case(out, "qlut_mul_pc_transpose_%s" % dt.__name__, dt, (1, 5, 3, 17),
                   [("Mul", {}, [pc(5)])], moves=[("Transpose", {"perm": [0, 2, 3, 1]}, [])], y_shape=(1, 3, 17, 5))
        chain_case(out, "qlut_sig_flatten_sq_%s" % dt.__name__, dt, (1, 3, 1, 33),
                   [("Sigmoid", {}, [])], moves=[("Squeeze", {}, [i64(2)]), ("Flatten", {"axis": 1}, [])],
                   y_shape=(1, 99))
        # stay as they are
        chain_case(out, "qlut_keep_move_read_%s" % dt.__name__, dt, (1, 6, 5, 7),
                   [("BatchNormalization", {}, bn(6)), ("Relu", {}, [])], moves=shuffle, extra_out=True)
        chain_case(out, "qlut_keep_dyn_%s" % dt.__name__, dt, (1, 3, 17), [("Mul", {}, [f32(1.5)])], dyn=True)
        chain_case(out, "qlut_keep_exp_%s" % dt.__name__, dt, (1, 3, 17), [("Exp", {}, []), ("Mul", {}, [f32(0.2)])])
        chain_case(out, "qlut_keep_read_%s" % dt.__name__, dt, (1, 3, 17), [("Relu", {}, []), ("Mul", {}, [f32(0.5)])],
                   extra_out=True)
        chain_case(out, "qlut_keep_wide_%s" % dt.__name__, dt, (1, 3, 17),
                   [("Mul", {}, [rng.uniform(0.5, 2, (17,)).astype(np.float32)])])
        n += 16
    n += qop_cases(out)
    n += qop_dyn_cases(out)
    n += qdq_cases(out)
    n += add_relu_cases(out)
    n += itab_cases(out)
    # the internal operator named by a model: refused at run, no table to read
    m = make_model([mk("QLinearTable", ["x"], ["y"], domain="org.postgresql.onnx.engine")],
                   inputs={"x": (np.uint8, [4])}, outputs={"y": (np.uint8, [4])},
                   domains=[("org.postgresql.onnx.engine", 1)])
    write_error_case(out, "qlut_internal_named", m, {"x": np.arange(4, dtype=np.uint8)}, "internal to the engine")
    n += 1
    print("%d qlut cases" % n)


if __name__ == "__main__":
    main(sys.argv[1])
