#!/usr/bin/env python3
"""Kernel cases for the elementwise operators (engine/ops/eltwise*.c).

    make_elementwise_cases.py OUT_DIR

Every case runs through the engine and is compared with onnxruntime's
outputs (see cases.py).  They aim at each path of the typed loops:
- broadcast runs: equal shapes of odd sizes (SIMD tails), a scalar on either
  side, rank 0, a row (M,N)+(N), a column (M,N)+(M,1), a channel
  (N,C,H,W)+(C,1,1), an outer product (M,1)x(1,N), size-1 dims in the
  middle, rank 6, empty tensors, three-way broadcasts for Where;
- every binary, comparison, logic and variadic operator on each dtype
  onnxruntime implements it for (float32, float16, float64, int8..int64,
  uint8..uint64), integer wrap-around;
- every unary operator and attribute variant on float32 (and float16,
  float64), on special values (NaN, +-inf, -0, subnormals, huge);
- Pow with constant exponents (2, 3, 0.5, -0.5, -1, 0, 64: the unary
  paths; 1.5, 65: libm) of several types, and tensor exponents;
- outputs that reuse an input's buffer: a value read twice, a graph output
  read by another node, X op X, chains, Loop and If bodies reading values
  of the enclosing graph, Where and Sum taking a buffer.
Run them on the portable path too: run_kernel_tests.py --simd 0.
A combination onnxruntime cannot run is left out (listed on stderr).
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import make_model, reference, write_case  # noqa: E402

RNG = np.random.default_rng(13)
SIZES = [1, 7, 15, 16, 17, 33, 1000]
FLOATS = [np.float32, np.float16, np.float64]
INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
SPECIAL = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, 1e-40, -1e-40, 1.17549435e-38, -3.0, 3.0,
                    -100.0, 100.0, 0.3, -0.3, 0.5, -0.5, 1.5, -2.5, 20.5, -20.5, 88.0, -88.0,
                    1e30, -1e30, 3.4e38, -3.4e38, 1e-7, -1e-7,
                    # where exp's 2^n exponent arithmetic overflowed int32 (fuzz_run: an LSTM gate)
                    -17443576.0, 17443576.0, -3e9], dtype=np.float32)

skipped = []
written = 0


def tol(dt):
    if dt == np.float16:
        return 2e-3, 1e-3
    return 1e-4, 1e-5


def data(dt, shape, lo=-4.0, hi=4.0, nonzero=False):
    """Random values of dtype dt: floats in [lo, hi), integers spread over the type's range."""
    if np.issubdtype(dt, np.floating):
        return RNG.uniform(lo, hi, size=shape).astype(dt)
    info = np.iinfo(dt)
    a = RNG.integers(max(info.min, -1000), min(info.max, 1000), size=shape, endpoint=True).astype(dt)
    if np.prod(shape, dtype=np.int64) > 2:
        a.flat[0] = info.max
        a.flat[1] = info.min
    if nonzero:
        a[a == 0] = 1
    return a


def case(out, name, nodes, feed, outputs, initializers=(), opset=None, rtol=1e-4, atol=1e-5,
         np_ref=None, threads=None):
    """Write a case; expected outputs from onnxruntime, or from np_ref(feed) (a list) where
    onnxruntime has no kernel for a type the ONNX spec allows.  Left out if neither can."""
    global written
    feed = {k: np.asarray(v) for k, v in feed.items()}
    ins = {k: (v.dtype.type, list(v.shape)) for k, v in feed.items()}
    kw = {} if opset is None else {"opset": opset}
    m = make_model(nodes, ins, outputs, initializers, **kw)
    try:
        exp = reference(m, feed)
    except Exception as e:
        if np_ref is None or "NOT_IMPLEMENTED" not in str(e):
            skipped.append("%s: %s" % (name, str(e).splitlines()[0][:100]))
            return
        with np.errstate(all="ignore"):
            exp = [np.asarray(v) for v in np_ref(feed)]
    write_case(out, name, m, feed, rtol=rtol, atol=atol, expected=exp, threads=threads)
    written += 1


NP_BINARY = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Max": np.maximum, "Min": np.minimum,
    "PRelu": lambda x, s: np.where(x < 0, x * s, x),
}


def binary(out, op, a, b, name, out_dt=None):
    a, b = np.asarray(a), np.asarray(b)
    r, t = tol(a.dtype.type)
    fn = NP_BINARY.get(op)
    case(out, name, [helper.make_node(op, ["a", "b"], ["c"])], {"a": a, "b": b},
         {"c": (out_dt or a.dtype.type, None)}, rtol=r, atol=t,
         np_ref=(lambda f: [fn(f["a"], f["b"]).astype(a.dtype)]) if fn else None)


PATTERNS = [
    # name, shape a, shape b
    ("scalar_r", [33], []),
    ("scalar_l", [], [17]),
    ("rank0", [], []),
    ("one", [1], [1]),
    ("row", [5, 17], [17]),
    ("row1", [5, 17], [1, 17]),
    ("col", [5, 17], [5, 1]),
    ("col_l", [5, 1], [5, 17]),
    ("channel", [2, 3, 5, 7], [3, 1, 1]),
    ("channel_l", [3, 1, 1], [2, 3, 5, 7]),
    ("outer", [7, 1], [1, 33]),
    ("mid1", [2, 1, 3], [1, 5, 1]),
    ("short_rows", [40, 2], [40, 1]),
    ("rank6", [2, 1, 3, 1, 2, 5], [1, 4, 1, 3, 1, 5]),
    ("empty", [0, 3], [3]),
    ("empty_b", [4, 0], [4, 1]),
]


def binary_cases(out):
    for op in ["Add", "Sub", "Mul", "Div", "Max", "Min"]:
        for dt in FLOATS + INTS:
            tag = "%s_%s" % (op.lower(), np.dtype(dt).name)
            nz = op == "Div" and not np.issubdtype(dt, np.floating)
            for n in SIZES:
                binary(out, op, data(dt, [n]), data(dt, [n], nonzero=nz), "%s_n%d" % (tag, n))
            for pname, sa, sb in PATTERNS:
                binary(out, op, data(dt, sa), data(dt, sb, nonzero=nz), "%s_%s" % (tag, pname))
        # special values against each other (floats)
        sv = SPECIAL
        binary(out, op, np.repeat(sv, len(sv)), np.tile(sv, len(sv)), "%s_special" % op.lower())
        binary(out, op, sv, np.float32(np.nan), "%s_special_nan" % op.lower())
    # integer wrap-around and division corner cases
    binary(out, "Add", np.int8([100, -100, 127]), np.int8([100, -100, 1]), "add_int8_wrap")
    binary(out, "Mul", np.int32([65536, -2147483648, 46341]), np.int32([65536, -1, 46341]), "mul_int32_wrap")
    binary(out, "Mul", np.int16([300, -300]), np.int16([300, 300]), "mul_int16_wrap")
    binary(out, "Div", np.int32([7, -7, 7, -7, -2147483648]), np.int32([2, 2, -2, -2, 1]), "div_int32_trunc")
    binary(out, "Div", np.int64([7, -7, 9]), np.int64([3]), "div_int64_scalar")
    # PRelu: slope per channel, scalar, full, and integer
    for dt in [np.float32, np.float16, np.float64, np.int32, np.int64]:
        x = data(dt, [2, 3, 4, 5])
        for sname, ss in [("chan", [3, 1, 1]), ("scalar", [1]), ("full", [2, 3, 4, 5]), ("last", [5])]:
            binary(out, "PRelu", x, data(dt, ss), "prelu_%s_%s" % (np.dtype(dt).name, sname))
    binary(out, "PRelu", SPECIAL, np.float32([0.1]), "prelu_special")


def compare_cases(out):
    for op in ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"]:
        for dt in FLOATS + INTS:
            tag = "%s_%s" % (op.lower(), np.dtype(dt).name)
            for n in [1, 17, 1000]:
                a = data(dt, [n])
                b = a.copy()
                b[::3] = data(dt, b[::3].shape)
                binary(out, op, a, b, "%s_n%d" % (tag, n), np.bool_)
            for pname, sa, sb in PATTERNS[:10]:
                binary(out, op, data(dt, sa), data(dt, sb), "%s_%s" % (tag, pname), np.bool_)
        binary(out, op, np.repeat(SPECIAL, len(SPECIAL)), np.tile(SPECIAL, len(SPECIAL)),
               "%s_special" % op.lower(), np.bool_)
    binary(out, "Equal", RNG.random(33) < 0.5, RNG.random(33) < 0.5, "equal_bool", np.bool_)
    for op in ["And", "Or", "Xor"]:
        for pname, sa, sb in [("n1000", [1000], [1000]), ("n17", [17], [17])] + PATTERNS:
            binary(out, op, RNG.random(sa) < 0.5, RNG.random(sb) < 0.5, "%s_%s" % (op.lower(), pname),
                   np.bool_)


def where_cases(out):
    shapes = [("same", [17], [17], [17]), ("scalar_xy", [33], [], []), ("scalar_c", [], [7], [7]),
              ("chan", [2, 3, 4, 5], [3, 1, 1], [1]), ("three_way", [4, 1, 1], [1, 5, 1], [1, 1, 6]),
              ("row", [5, 17], [17], [5, 17]), ("empty", [0, 2], [2], [1]),
              ("rank6", [2, 1, 3, 1, 2, 1], [1, 4, 1, 3, 1, 5], [5])]
    for dt in [np.float32, np.float16, np.float64, np.int64, np.int32, np.int8, np.uint8]:
        for sname, sc, sx, sy in shapes:
            case(out, "where_%s_%s" % (np.dtype(dt).name, sname),
                 [helper.make_node("Where", ["c", "x", "y"], ["z"])],
                 {"c": RNG.random(sc) < 0.5, "x": data(dt, sx), "y": data(dt, sy)}, {"z": (dt, None)})
    case(out, "where_bool", [helper.make_node("Where", ["c", "x", "y"], ["z"])],
         {"c": RNG.random([9]) < 0.5, "x": RNG.random([9]) < 0.5, "y": RNG.random([1]) < 0.5},
         {"z": (np.bool_, None)})


def variadic_cases(out):
    sets = [("one", [[17]]), ("two", [[17], [17]]), ("three", [[3, 5], [5], [3, 1]]),
            ("four", [[2, 3, 4], [4], [3, 1], [1]]), ("grow", [[1], [5], [4, 5]]),
            ("n1000", [[1000], [1000], [1000]])]
    for op in ["Sum", "Max", "Min", "Mean"]:
        for dt in [np.float32, np.float16, np.float64, np.int32, np.int64, np.uint32, np.int8]:
            for sname, shapes in sets:
                feed = {"x%d" % i: data(dt, s) for i, s in enumerate(shapes)}
                r, t = tol(dt)
                red = {"Sum": np.add, "Max": np.maximum, "Min": np.minimum}.get(op)
                case(out, "%s_%s_%s" % (op.lower(), np.dtype(dt).name, sname),
                     [helper.make_node(op, list(feed), ["y"])], feed, {"y": (dt, None)}, rtol=r, atol=t,
                     np_ref=(lambda f, red=red, dt=dt: [red.reduce(np.broadcast_arrays(*f.values())).astype(dt)])
                     if red else None)
        feed = {"a": SPECIAL, "b": SPECIAL[::-1].copy(), "c": np.float32([1.0])}
        case(out, "%s_special" % op.lower(), [helper.make_node(op, list(feed), ["y"])], feed,
             {"y": (np.float32, None)})


UNARY = ["Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Floor",
         "Ceil", "Round", "Sign", "Erf", "Softplus", "Softsign", "Mish", "HardSwish", "Sin", "Cos",
         "Atan", "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "ThresholdedRelu", "Shrink",
         "Gelu"]
ATTRS = {
    "LeakyRelu": [{}, {"alpha": 0.2}],
    "Elu": [{}, {"alpha": 0.5}],
    "Selu": [{}, {"alpha": 1.5, "gamma": 2.0}],
    "Celu": [{}, {"alpha": 2.0}],
    "HardSigmoid": [{}, {"alpha": 0.3, "beta": 0.4}],
    "ThresholdedRelu": [{}, {"alpha": 0.5}],
    "Shrink": [{}, {"lambd": 1.0, "bias": 0.5}],
    "Gelu": [{}, {"approximate": "tanh"}],
}


def unary_cases(out):
    for op in UNARY:
        for ai, attrs in enumerate(ATTRS.get(op, [{}])):
            tag = op.lower() + ("_a%d" % ai if ai else "")
            node = helper.make_node(op, ["x"], ["y"], **attrs)

            def one(name, x, rtol=1e-4, atol=1e-5):
                case(out, name, [node], {"x": x}, {"y": (x.dtype.type, None)}, rtol=rtol, atol=atol)
            for n in SIZES:
                lo, hi = (0.01, 50.0) if op in ("Log", "Sqrt") else (-10.0, 10.0)
                one("%s_f32_n%d" % (tag, n), data(np.float32, [n], lo, hi))
            one("%s_f32_wide" % tag, data(np.float32, [257], -90, 90), rtol=2e-4)
            one("%s_f32_special" % tag, SPECIAL)
            one("%s_f32_rank0" % tag, np.float32(0.7))
            one("%s_f32_empty" % tag, np.zeros([0, 3], np.float32))
            one("%s_f16" % tag, data(np.float16, [37], -6, 6), rtol=4e-3, atol=2e-3)
            # onnxruntime's float16 Sign gives 0 for NaN, its float32 Sign and numpy keep NaN (as we do)
            sv = SPECIAL[1:] if op == "Sign" else SPECIAL
            one("%s_f16_special" % tag, sv.astype(np.float16), rtol=4e-3, atol=2e-3)
            one("%s_f64" % tag, data(np.float64, [37], 0.1 if op in ("Log", "Sqrt") else -6, 6))
    for ai, attrs in enumerate([{}, {"alpha": 1.702}]):
        node = helper.make_node("Swish", ["x"], ["y"], **attrs)
        for name, x in [("n1000", data(np.float32, [1000], -10, 10)), ("special", SPECIAL),
                        ("f16", data(np.float16, [37], -6, 6))]:
            r, t = tol(x.dtype.type)
            # Swish is opset 24; onnxruntime may not have it: then numpy is the reference
            case(out, "swish_a%d_%s" % (ai, name), [node], {"x": x}, {"y": (x.dtype.type, None)}, opset=24,
                 rtol=r, atol=t, np_ref=lambda f, a=attrs.get("alpha", 1.0): [
                     (f["x"].astype(np.float64) / (1 + np.exp(-a * f["x"].astype(np.float64))))
                     .astype(f["x"].dtype)])
    for dt in [np.int32, np.int64, np.int8]:
        for op in ["Relu", "Abs", "Neg", "Sign"]:
            case(out, "%s_%s" % (op.lower(), np.dtype(dt).name), [helper.make_node(op, ["x"], ["y"])],
                 {"x": data(dt, [17])}, {"y": (dt, None)})


def clip_cases(out):
    x = data(np.float32, [1000], -10, 10)
    for name, lo, hi in [("both", -1.0, 2.0), ("min", -1.0, None), ("max", None, 2.0), ("none", None, None),
                         ("inverted", 2.0, -1.0), ("nan_min", np.nan, 2.0)]:
        names, inits = ["x"], []
        for bn, bv in [("lo", lo), ("hi", hi)]:
            if bv is None:
                names.append("")
            else:
                names.append(bn)
                inits.append((bn, np.float32(bv)))
        while names and names[-1] == "":
            names.pop()
        node = helper.make_node("Clip", names, ["y"])
        case(out, "clip_%s" % name, [node], {"x": x}, {"y": (np.float32, None)}, initializers=inits)
        case(out, "clip_%s_special" % name, [node], {"x": SPECIAL}, {"y": (np.float32, None)},
             initializers=inits)
    case(out, "clip_f16", [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
         {"x": data(np.float16, [33])}, {"y": (np.float16, None)},
         initializers=[("lo", np.float16(-1)), ("hi", np.float16(1.5))], rtol=2e-3, atol=1e-3)
    case(out, "clip_int32", [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
         {"x": data(np.int32, [33])}, {"y": (np.int32, None)},
         initializers=[("lo", np.int32(-100)), ("hi", np.int32(300))])
    case(out, "clip_opset6", [helper.make_node("Clip", ["x"], ["y"], min=-0.5, max=0.5)], {"x": x},
         {"y": (np.float32, None)}, opset=6)


def pow_cases(out):
    x = data(np.float32, [1000], -3, 3)
    for e in [2, 3, 0.5, -0.5, -1, 0, 1, 4, -2, 64, 1.5, 65, -3.25]:
        for edt in [np.float32, np.int64, np.int32]:
            if edt != np.float32 and float(e) != int(e):
                continue
            tag = "pow_f32_e%s_%s" % (str(e).replace("-", "m").replace(".", "p"), np.dtype(edt).name)
            xe = np.abs(x) if float(e) != int(e) else x
            if abs(e) > 4:
                xe = np.clip(xe, -1.5, 1.5)
            node = helper.make_node("Pow", ["x", "e"], ["y"])
            case(out, tag, [node], {"x": xe}, {"y": (np.float32, None)},
                 initializers=[("e", np.array(e, edt))], rtol=2e-4)
            if edt == np.float32:
                case(out, tag + "_special", [node], {"x": SPECIAL}, {"y": (np.float32, None)},
                     initializers=[("e", np.array(e, edt))], rtol=2e-4)
    node = helper.make_node("Pow", ["x", "e"], ["y"])
    case(out, "pow_f16_e2", [node], {"x": data(np.float16, [33])}, {"y": (np.float16, None)},
         initializers=[("e", np.float16(2))], rtol=2e-3, atol=1e-3)
    case(out, "pow_f32_e_rank2", [node], {"x": x[:33]}, {"y": (np.float32, None)},
         initializers=[("e", np.float32([[2]]))])
    case(out, "pow_f32_tensor", [node], {"x": np.abs(x[:34]).reshape(2, 17) + 0.1, "e": data(np.float32, [17], -2, 2)},
         {"y": (np.float32, None)}, rtol=2e-4)
    case(out, "pow_f64_tensor", [node], {"x": np.abs(data(np.float64, [17])) + 0.1, "e": data(np.float64, [17], -2, 2)},
         {"y": (np.float64, None)})
    case(out, "pow_int64", [node], {"x": np.int64([2, -3, 5, 0, 1]), "e": np.int64([3, 3, 2, 5, 0])},
         {"y": (np.int64, None)})
    case(out, "pow_int32_scalar", [node], {"x": np.int32([2, -3, 5, 7])}, {"y": (np.int32, None)},
         initializers=[("e", np.int32(2))])


def reuse_cases(out):
    """Graphs whose values may give their buffers to the outputs of elementwise nodes."""
    f = np.float32
    x = data(f, [4, 33])
    mk = helper.make_node
    # a value read by two nodes: the first must not take it
    case(out, "reuse_two_readers", [mk("Relu", ["x"], ["r"]), mk("Add", ["r", "one"], ["a"]),
                                    mk("Mul", ["r", "two"], ["b"]), mk("Sub", ["a", "b"], ["y"])],
         {"x": x}, {"y": (f, None)}, initializers=[("one", f(1)), ("two", f(2))])
    # a graph output read by another node keeps its data
    case(out, "reuse_graph_output", [mk("Relu", ["x"], ["r"]), mk("Sigmoid", ["r"], ["s"]),
                                     mk("Neg", ["s"], ["y"])],
         {"x": x}, {"r": (f, None), "y": (f, None)})
    # X op X, in place
    case(out, "reuse_x_op_x", [mk("Exp", ["x"], ["e"]), mk("Mul", ["e", "e"], ["m"]),
                               mk("Add", ["m", "m"], ["y"])], {"x": x}, {"y": (f, None)})
    # a chain of in-place ops on the broadcast side and the full side
    case(out, "reuse_chain", [mk("Add", ["x", "b"], ["a"]), mk("Mul", ["row", "a"], ["m"]),
                              mk("Sigmoid", ["m"], ["s"]), mk("Tanh", ["s"], ["t"]),
                              mk("Clip", ["t", "lo", "hi"], ["c"]), mk("HardSwish", ["c"], ["y"])],
         {"x": x}, {"y": (f, None)},
         initializers=[("b", data(f, [4, 1])), ("row", data(f, [33])), ("lo", f(-0.5)), ("hi", f(0.5))])
    # the graph input is borrowed: never written over
    case(out, "reuse_input_twice", [mk("Relu", ["x"], ["r"]), mk("Add", ["x", "r"], ["y"])],
         {"x": x}, {"y": (f, None)})
    # Where, Sum and PRelu taking a buffer; the smaller input cannot
    case(out, "reuse_where_sum", [mk("Exp", ["x"], ["e"]), mk("Neg", ["x"], ["n"]),
                                  mk("Greater", ["e", "one"], ["c"]), mk("Where", ["c", "e", "n"], ["w"]),
                                  mk("Sum", ["w", "e2", "w"], ["s"]), mk("Exp", ["small"], ["es"]),
                                  mk("PRelu", ["s", "es"], ["y"])],
         {"x": x}, {"y": (f, None)},
         initializers=[("one", f(1)), ("e2", data(f, [33])), ("small", data(f, [33]))])
    # float16 chain in place
    xh = data(np.float16, [3, 17])
    case(out, "reuse_f16_chain", [mk("Mul", ["x", "x"], ["m"]), mk("Sigmoid", ["m"], ["s"]),
                                  mk("Add", ["s", "m"], ["y"])], {"x": xh}, {"y": (np.float16, None)},
         rtol=2e-3, atol=1e-3)
    # a Loop body: carried value, a captured outer value (also used after the loop)
    body = helper.make_graph(
        [mk("Exp", ["outer"], ["e"]), mk("Neg", ["e"], ["ne"]), mk("Add", ["v", "ne"], ["v1"]),
         mk("Mul", ["v1", "half"], ["v2"]), mk("Identity", ["c"], ["c_out"]), mk("Tanh", ["v2"], ["scan"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v2", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("scan", TensorProto.FLOAT, None)],
        [helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])])
    case(out, "reuse_loop", [mk("Sigmoid", ["x"], ["outer"]),
                             mk("Loop", ["n", "cond", "x"], ["v_final", "scans"], body=body),
                             mk("Add", ["outer", "v_final"], ["y"])],
         {"x": x}, {"y": (f, None), "scans": (f, None)},
         initializers=[("n", np.int64(3)), ("cond", np.bool_(True))])
    # If branches reading and computing from an outer value
    then_g = helper.make_graph([mk("Relu", ["o"], ["t1"]), mk("Mul", ["t1", "t1"], ["r"])], "then", [],
                               [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([mk("Neg", ["o"], ["r2"])], "else", [],
                               [helper.make_tensor_value_info("r2", TensorProto.FLOAT, None)])
    case(out, "reuse_if", [mk("Exp", ["x"], ["o"]), mk("ReduceSum", ["o"], ["s"], keepdims=0),
                           mk("Greater", ["s", "zero"], ["c"]),
                           mk("If", ["c"], ["r"], then_branch=then_g, else_branch=else_g),
                           mk("Sub", ["r", "o"], ["y"])],
         {"x": x}, {"y": (f, None)}, initializers=[("zero", f(0))])


def add_relu_cases(out):
    """Add -> Relu (a residual block's sum): optimize.c folds the Relu into the
    Add when the sum feeds nothing else and is no graph output."""
    f = np.float32
    mk = helper.make_node
    x, r = data(f, [2, 5, 7, 9]), data(f, [2, 5, 7, 9])
    case(out, "add_relu_fused", [mk("Neg", ["x"], ["n"]), mk("Add", ["n", "r"], ["a"]), mk("Relu", ["a"], ["y"])],
         {"x": x, "r": r}, {"y": (f, None)})
    case(out, "add_relu_fused_bcast", [mk("Add", ["x", "c"], ["a"]), mk("Relu", ["a"], ["y"])],
         {"x": x}, {"y": (f, None)}, initializers=[("c", data(f, [5, 1, 1]))])
    xi, ri = data(np.int32, [3, 17], -50, 50), data(np.int32, [17], -50, 50)
    case(out, "add_relu_fused_int32", [mk("Add", ["x", "r"], ["a"]), mk("Relu", ["a"], ["y"])],
         {"x": xi, "r": ri}, {"y": (np.int32, None)}, opset=14,
         np_ref=lambda fd: [np.maximum(fd["x"] + fd["r"], 0)])
    # the sum read twice, or a graph output: the Relu stays a node
    case(out, "add_relu_two_readers", [mk("Add", ["x", "r"], ["a"]), mk("Relu", ["a"], ["p"]),
                                       mk("Mul", ["a", "p"], ["y"])], {"x": x, "r": r}, {"y": (f, None)})
    case(out, "add_relu_sum_output", [mk("Add", ["x", "r"], ["a"]), mk("Relu", ["a"], ["y"])],
         {"x": x, "r": r}, {"a": (f, None), "y": (f, None)})


def thread_cases(out):
    """Runs of 2^16 elements or more, cut into chunks that two threads run
    at once (eltwise.c): odd lengths leave a vector tail at the run's end;
    a channel broadcast over large planes splits each plane's run; the
    float16 path converts in blocks; X op X writes in place.  Run at 1 and
    2 threads."""
    f, mk, th = np.float32, helper.make_node, (1, 2)
    a, b = data(f, [3, 200, 117]), data(f, [3, 200, 117])
    case(out, "threads_add_equal", [mk("Add", ["a", "b"], ["y"])], {"a": a, "b": b}, {"y": (f, None)},
         threads=th)
    case(out, "threads_mul_scalar", [mk("Mul", ["a", "s"], ["y"])], {"a": a}, {"y": (f, None)},
         initializers=[("s", f(1.5))], threads=th)
    case(out, "threads_channel", [mk("Sub", ["x", "c"], ["y"])],
         {"x": data(f, [1, 3, 300, 301]), "c": data(f, [3, 1, 1])}, {"y": (f, None)}, threads=th)
    case(out, "threads_sigmoid", [mk("Sigmoid", ["x"], ["y"])], {"x": data(f, [70001])}, {"y": (f, None)},
         threads=th)
    case(out, "threads_clip", [mk("Clip", ["x", "lo", "hi"], ["y"])], {"x": data(f, [70001])},
         {"y": (f, None)}, initializers=[("lo", f(-1)), ("hi", f(2))], threads=th)
    case(out, "threads_where", [mk("Where", ["c", "a", "b"], ["y"])],
         {"c": RNG.uniform(size=[3, 200, 117]) < 0.5, "a": a, "b": b}, {"y": (f, None)}, threads=th)
    case(out, "threads_in_place", [mk("Exp", ["x"], ["e"]), mk("Mul", ["e", "e"], ["y"])],
         {"x": data(f, [70001], -2, 2)}, {"y": (f, None)}, threads=th)
    h = np.float16
    case(out, "threads_f16_add", [mk("Add", ["a", "b"], ["y"])],
         {"a": data(h, [70001]), "b": data(h, [70001])}, {"y": (h, None)}, rtol=2e-3, atol=1e-3,
         threads=th)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for fn in [binary_cases, compare_cases, where_cases, variadic_cases, unary_cases, clip_cases,
               pow_cases, reuse_cases, add_relu_cases, thread_cases]:
        fn(out)
    for s in skipped:
        print("skipped " + s, file=sys.stderr)
    print("%d cases, %d left out (onnxruntime cannot run them)" % (written, len(skipped)), file=sys.stderr)


if __name__ == "__main__":
    main()
