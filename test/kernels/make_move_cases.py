#!/usr/bin/env python3
"""Kernel cases for the data-movement operators (engine/ops/ops_tensor_move.c
and Expand, over engine/src/strided_copy.c), pooling, LRN, Softmax and the
reductions.

    make_move_cases.py OUT_DIR

Transpose: 2-D tiles with odd sizes (blocked transpose), channel shuffles
(contiguous runs), permutations of rank 3 to 6, every element size.
Slice: negative, strided, reversed and out-of-range starts/ends/steps,
omitted and negative axes, the opset-1 attribute form, empty results.
Concat/Split: every axis, uneven and empty parts.  Gather: negative
indices, axis != 0, int32/int64 indices, scalar and 2-D indices;
GatherElements on every axis.  Pad:
constant, reflect, edge and wrap with asymmetric pads (also wider than the
dim), zero pads, negative pads, axes, the opset-2 attribute form.  Tile:
repeats of 0 to 3 on every dim.  Expand: fills, repeated rows, new
leading dims.  Nearest Resize by integer factors and others.
DepthToSpace (both modes) and SpaceToDepth.  Dtypes float32, float16, float64, int64, int32, uint8, bool
and string.

Pooling (engine/ops/pool_fast.c): both layouts (flat planes narrower than
64, with stride 1 or strided and in several groups of planes; rows
otherwise and in 3-D), every attribute (asymmetric pads,
ceil_mode, dilations, strides 1 to 4, count_include_pad both ways,
auto_pad), Indices in both storage orders, narrow dtypes, global pools.
LRN and Softmax (engine/ops/nn_rows.c): sizes 1 to 5, each power form,
chunk tails, every axis.  Reductions and ArgMax/ArgMin
(engine/ops/reduce_fast.c): last, middle, first, all and separate axes,
keepdims both ways, noop_with_empty_axes, ties with select_last_index.

Expected outputs from onnxruntime, from numpy where onnxruntime refuses a
case (even LRN sizes, reflect pads wider than the dim) or is wrong
(strings gathered along axis 0).  The cases of the vectorised kernels
(pooling, LRN, Softmax, reductions) run at every instruction-set level
(isa.txt).
"""
import os
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import make_model, write_case  # noqa: E402

rng = np.random.default_rng(20261207)
# the vectorised kernels (pooling, LRN, Softmax, reductions) run at every level
ALL_ISA = ("portable", "avx2", "avx512")


def arr(shape, dt=np.float32):
    """Random data of a dtype (strings: short words)."""
    if dt == np.str_ or dt == object:
        words = np.array(["a", "bc", "", "def", "xyz0", "q"], dtype=object)
        return words[rng.integers(0, len(words), shape)].astype(object)
    if dt == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if np.issubdtype(dt, np.integer):
        return rng.integers(-100 if np.issubdtype(dt, np.signedinteger) else 0, 100, shape).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def one(out, name, op, x, attrs=None, consts=(), opset=None, n_out=1, extra_inputs=(), expected=None,
        out_dtype=None, rtol=0, atol=0, isa=None):
    """A one-node model: op(x, consts...) with constant inputs as initializers;
    expected: a function giving the outputs where onnxruntime refuses the case
    (always used for strings)."""
    attrs = attrs or {}
    names = ["x"] + [c[0] for c in consts]
    node = helper.make_node(op, names, ["y%d" % i for i in range(n_out)], **attrs)
    dt = object if x.dtype == object else x.dtype
    inputs = {"x": (dt, list(x.shape))}
    feed = {"x": x}
    for nm, v in extra_inputs:
        inputs[nm] = (v.dtype, list(v.shape))
        feed[nm] = v
    kw = {} if opset is None else {"opset": opset}
    m = make_model([node], inputs, {"y%d" % i: (out_dtype or dt, None) for i in range(n_out)},
                   initializers=[(c[0], c[1]) for c in consts], **kw)
    if expected is not None and x.dtype == object:
        write_case(out, name, m, feed, rtol=rtol, atol=atol, expected=expected(), isa=isa)
        return
    try:
        write_case(out, name, m, feed, rtol=rtol, atol=atol, isa=isa)
    except Exception:
        if expected is None:
            raise
        write_case(out, name, m, feed, rtol=rtol, atol=atol, expected=expected(), isa=isa)


def np_pad(x, pads, mode, value=0):
    """numpy's Pad: positive parts padded (reflect repeats its mirror), then negative parts cropped."""
    r = x.ndim
    pos = [(max(pads[d], 0), max(pads[r + d], 0)) for d in range(r)]
    kw = {"constant_values": value} if mode == "constant" else {}
    y = np.pad(x, pos, mode={"wrap": "wrap", "edge": "edge", "reflect": "reflect", "constant": "constant"}[mode], **kw)
    sl = tuple(slice(max(-pads[d], 0), y.shape[d] - max(-pads[r + d], 0)) for d in range(r))
    return [y[sl]]


def i64(*v):
    return np.array(v, dtype=np.int64)


DTYPES = [np.float32, np.float16, np.float64, np.int64, np.int32, np.uint8, np.bool_, object]


def dname(dt):
    return "str" if dt == object else np.dtype(dt).name


def transpose_cases(out):
    for shape, perm in [((17, 33), (1, 0)), ((4, 4), (1, 0)), ((3, 70), (1, 0)), ((64, 5), (1, 0)),
                        ((1, 4, 3, 7, 7), (0, 2, 1, 3, 4)), ((2, 3, 5), (2, 0, 1)), ((2, 3, 5), (1, 2, 0)),
                        ((2, 3, 5), (0, 2, 1)), ((5, 1, 6, 1, 7), (4, 3, 2, 1, 0)),
                        ((2, 3, 4, 5), (3, 1, 2, 0)), ((1, 24, 19, 18), (0, 2, 3, 1)),
                        ((1, 19, 18, 24), (0, 3, 1, 2)), ((2, 2, 3, 2, 3, 2), (5, 3, 1, 4, 2, 0))]:
        one(out, "transpose_%s_%s" % ("x".join(map(str, shape)), "".join(map(str, perm))), "Transpose",
            arr(shape), {"perm": list(perm)})
    one(out, "transpose_default_perm", "Transpose", arr((3, 4, 5)))
    for dt in DTYPES:
        one(out, "transpose_%s" % dname(dt), "Transpose", arr((9, 21), dt), {"perm": [1, 0]})
        one(out, "transpose_%s_3d" % dname(dt), "Transpose", arr((3, 5, 6), dt), {"perm": [2, 0, 1]})
    one(out, "transpose_empty", "Transpose", arr((3, 0, 4)), {"perm": [2, 1, 0]})


def slice_cases(out):
    x = arr((6, 7, 9))
    specs = [
        ("basic", (1, 0), (4, 5), (0, 1), None),
        ("neg_start", (-3,), (100,), (2,), None),
        ("neg_end", (0,), (-2,), (1,), None),
        ("step2", (0, 1), (9, 7), (2, 1), (3, 2)),
        ("step3_inner", (1,), (9,), (2,), (3,)),
        ("rev_all", (-1,), (-10,), (2,), (-1,)),
        ("rev_step2", (8, 5), (0, -100), (2, 0), (-2, -1)),
        ("rev_step3", (100,), (-100,), (1,), (-3,)),
        ("int64_limits", (0, -9223372036854775807 - 1), (9223372036854775807, 9223372036854775807), (1, 2), None),
        ("int64_min_step", (8,), (-9223372036854775807,), (2,), (-9223372036854775807 - 1,)),
        ("huge_step", (0,), (9,), (2,), (9223372036854775807,)),
        ("neg_axes", (2, 1), (5, 4), (-1, -3), None),
        ("empty", (5,), (2,), (1,), None),
        ("empty_rev", (2,), (5,), (1,), (-1,)),
        ("start_past_end", (50,), (60,), (0,), None),
        ("whole_rows", (1,), (3,), (0,), None),
    ]
    for name, st, en, ax, sp in specs:
        consts = [("starts", i64(*st)), ("ends", i64(*en)), ("axes", i64(*ax))]
        if sp is not None:
            consts.append(("steps", i64(*sp)))
        one(out, "slice_%s" % name, "Slice", x, consts=consts)
    # axes omitted: the first dims in order
    one(out, "slice_no_axes", "Slice", x, consts=[("starts", i64(1, 2)), ("ends", i64(5, -1))])
    # silero's weight slices: row blocks of a (512, 128) matrix
    w = arr((512, 128))
    for lo, hi in [(0, 128), (384, 512), (128, 384)]:
        one(out, "slice_rows_%d_%d" % (lo, hi), "Slice", w, consts=[("starts", i64(lo)), ("ends", i64(hi)),
                                                                       ("axes", i64(0))])
    # opset 1..9: starts/ends/axes attributes
    one(out, "slice_opset9", "Slice", x, {"starts": [1, -4], "ends": [100, -1], "axes": [0, 2]}, opset=9)
    one(out, "slice_opset9_no_axes", "Slice", x, {"starts": [1, 2], "ends": [3, 6]}, opset=9)
    for dt in DTYPES:
        one(out, "slice_%s" % dname(dt), "Slice", arr((5, 11), dt),
            consts=[("starts", i64(1, 9)), ("ends", i64(4, 0)), ("axes", i64(0, 1)), ("steps", i64(2, -3))])
    # a Slice whose starts are a graph input (run-time values)
    node = helper.make_node("Slice", ["x", "s", "e"], ["y"])
    m = make_model([node], {"x": (np.float32, [6, 7, 9]), "s": (np.int64, [2]), "e": (np.int64, [2])},
                   {"y": (np.float32, None)})
    write_case(out, "slice_runtime_starts", m, {"x": x, "s": i64(-5, 2), "e": i64(5, 8)}, rtol=0, atol=0)


def concat_split_cases(out):
    for ax in (0, 1, 2, -1):
        a, b, c = arr((2, 3, 5)), arr((2, 3, 5)), arr((2, 3, 5))
        shp = list(a.shape)
        shp[ax] = 4
        b = arr(tuple(shp))
        node = helper.make_node("Concat", ["a", "b", "c"], ["y"], axis=ax)
        m = make_model([node], {"a": (np.float32, list(a.shape)), "b": (np.float32, list(b.shape)),
                                "c": (np.float32, list(c.shape))}, {"y": (np.float32, None)})
        write_case(out, "concat_axis%d" % ax, m, {"a": a, "b": b, "c": c}, rtol=0, atol=0)
    for dt in DTYPES:
        a, b = arr((3, 2), dt), arr((3, 0), dt)
        c = arr((3, 5), dt)
        odt = object if dt == object else dt
        node = helper.make_node("Concat", ["a", "b", "c"], ["y"], axis=1)
        m = make_model([node], {"a": (odt, [3, 2]), "b": (odt, [3, 0]), "c": (odt, [3, 5])}, {"y": (odt, None)})
        write_case(out, "concat_%s_with_empty" % dname(dt), m, {"a": a, "b": b, "c": c}, rtol=0, atol=0)
    x = arr((4, 9, 5))
    one(out, "split_equal_axis1", "Split", x, {"axis": 1}, n_out=3, opset=13)
    one(out, "split_sizes_axis2", "Split", x, {"axis": 2}, consts=[("split", i64(1, 0, 4))], n_out=3, opset=13)
    one(out, "split_sizes_axis0", "Split", x, {"axis": -3}, consts=[("split", i64(3, 1))], n_out=2, opset=13)
    one(out, "split_num_outputs_uneven", "Split", x, {"axis": 1, "num_outputs": 4}, n_out=4, opset=18)
    one(out, "split_attr_opset11", "Split", x, {"axis": 1, "split": [2, 7]}, n_out=2, opset=11)
    for dt in (np.float16, np.int64, np.uint8, object):
        one(out, "split_%s" % dname(dt), "Split", arr((4, 6), dt), {"axis": 1}, n_out=2, opset=13)


def gather_cases(out):
    x = arr((5, 6, 7))
    specs = [
        ("axis0", 0, i64(0, 4, -1, 2)),
        ("axis1_neg", 1, i64(-6, 5, 0, -1, 3)),
        ("axis2", 2, i64(6, -7, 3)),
        ("axis_neg1", -1, i64(1, 1, 0)),
        ("scalar", 1, np.array(-2, dtype=np.int64)),
        ("idx2d_axis1", 1, np.array([[0, -1], [3, 2], [5, 5]], dtype=np.int64)),
        ("int32_axis2", 2, np.array([0, -3, 6, 2], dtype=np.int32)),
        ("int32_axis0", 0, np.array([[4], [-5]], dtype=np.int32)),
        ("empty_idx", 1, np.zeros((0,), dtype=np.int64)),
    ]
    for name, ax, ind in specs:
        one(out, "gather_%s" % name, "Gather", x, {"axis": ax}, consts=[("i", ind)])
    for dt in DTYPES:
        for ax in (0, 1):
            x = arr((4, 5), dt)
            ind = i64(3, -1, 0, -4)
            # onnxruntime 1.32 gathers strings along axis 0 wrongly: numpy is the reference there
            one(out, "gather_%s_axis%d" % (dname(dt), ax), "Gather", x, {"axis": ax}, consts=[("i", ind)],
                expected=(lambda x=x, ax=ax, ind=ind: [np.take(x, ind, axis=ax)]) if dt == object else None)
    # GatherElements: indices smaller than the data off the axis, negative, int32
    x3 = arr((4, 5, 6))
    for ax in (0, 1, 2, -1):
        shp = [3, 4, 5]
        shp[ax] = 7
        ind = rng.integers(-x3.shape[ax], x3.shape[ax], shp).astype(np.int64)
        one(out, "gatherelements_axis%d" % ax, "GatherElements", x3, {"axis": ax}, consts=[("i", ind)])
    one(out, "gatherelements_int32_1d", "GatherElements", arr((9,)), {"axis": 0},
        consts=[("i", np.array([8, -9, 0, 3, 3], dtype=np.int32))])
    for dt in (np.float16, np.int64, np.uint8, np.bool_, object):
        xd = arr((3, 4), dt)
        ind = np.array([[0, -1, 2], [3, 1, 0]], dtype=np.int64)
        one(out, "gatherelements_%s" % dname(dt), "GatherElements", xd, {"axis": 1}, consts=[("i", ind)],
            expected=lambda xd=xd, ind=ind: [np.take_along_axis(xd[:2], np.where(ind < 0, ind + 4, ind), axis=1)])
    # indices fed at run time (an embedding lookup)
    node = helper.make_node("Gather", ["x", "i"], ["y"], axis=0)
    m = make_model([node], {"x": (np.float32, [10, 16]), "i": (np.int64, [2, 3])}, {"y": (np.float32, None)})
    write_case(out, "gather_runtime_rows", m, {"x": arr((10, 16)), "i": np.array([[9, -10, 3], [0, 0, -1]])},
               rtol=0, atol=0)


def pad_cases(out):
    x = arr((2, 3, 5, 6))
    pads = [
        ("asym", [0, 0, 1, 2, 0, 1, 3, 0]),
        ("all_dims", [1, 2, 0, 1, 2, 0, 3, 1]),
        ("zero", [0] * 8),
        ("wide", [0, 0, 4, 5, 0, 0, 6, 4]),
    ]
    for mode in ("constant", "reflect", "edge", "wrap"):
        for name, p in pads:
            consts = [("pads", i64(*p))]
            if mode == "constant":
                consts.append(("value", np.array(1.5, dtype=np.float32)))
            one(out, "pad_%s_%s" % (mode, name), "Pad", x, {"mode": mode}, consts=consts, opset=19,
                expected=lambda p=p, mode=mode: np_pad(x, p, mode, 1.5))
        neg = [0, 0, -1, 2, 0, 1, 1, -2]
        one(out, "pad_%s_negative" % mode, "Pad", x, {"mode": mode}, consts=[("pads", i64(*neg))],
            opset=19, expected=lambda mode=mode: np_pad(x, neg, mode))
        one(out, "pad_%s_axes" % mode, "Pad", x, {"mode": mode},
            consts=[("pads", i64(2, 1, 1, 3)), ("value", np.array(-2, dtype=np.float32)), ("axes", i64(-1, 1))],
            opset=19, expected=lambda mode=mode: np_pad(x, [0, 1, 0, 2, 0, 3, 0, 1], mode, -2))
        one(out, "pad_%s_1d" % mode, "Pad", arr((7,)), {"mode": mode}, consts=[("pads", i64(3, 5))], opset=19)
    one(out, "pad_constant_default_value", "Pad", x, {"mode": "constant"}, consts=[("pads", i64(0, 1, 0, 1, 0, 0, 2, 2))],
        opset=19)
    one(out, "pad_opset2_value", "Pad", x, {"mode": "constant", "pads": [0, 0, 1, 1, 0, 0, 2, 0], "value": 3.25},
        opset=2)
    one(out, "pad_opset2_reflect", "Pad", x, {"mode": "reflect", "pads": [0, 0, 1, 1, 0, 0, 2, 3]}, opset=2)
    one(out, "pad_constant_empty_dim", "Pad", arr((2, 0, 3)), {"mode": "constant"},
        consts=[("pads", i64(1, 2, 0, 0, 1, 1)), ("value", np.array(7, dtype=np.float32))], opset=19)
    for dt in (np.float16, np.float64, np.int64, np.int32, np.uint8, np.bool_):
        cv = np.array(1, dtype=dt)
        one(out, "pad_%s_constant" % dname(dt), "Pad", arr((3, 4), dt), {"mode": "constant"},
            consts=[("pads", i64(1, 2, 2, 1)), ("value", cv)], opset=19)
        one(out, "pad_%s_reflect" % dname(dt), "Pad", arr((3, 4), dt), {"mode": "reflect"},
            consts=[("pads", i64(2, 1, 0, 3))], opset=19)


def tile_cases(out):
    for shape, reps in [((3, 5), (2, 3)), ((2, 3, 4), (1, 1, 3)), ((2, 3, 4), (3, 1, 1)), ((7,), (5,)),
                        ((2, 1, 3, 2), (2, 3, 1, 2)), ((3, 4), (0, 2)), ((1, 1), (4, 9))]:
        one(out, "tile_%s_%s" % ("x".join(map(str, shape)), "x".join(map(str, reps))), "Tile", arr(shape),
            consts=[("r", i64(*reps))])
    for dt in DTYPES:
        one(out, "tile_%s" % dname(dt), "Tile", arr((2, 3), dt), consts=[("r", i64(3, 2))])


def pool_case(out, name, op, shape, attrs, dt=np.float32, opset=None, n_out=1, rtol=1e-5, atol=1e-6,
              expected=None):
    """One op on a random x; expected(x) gives the outputs where onnxruntime refuses the case."""
    x = arr(shape, dt)
    outs = {"y0": (dt, None)}
    if n_out == 2:
        outs["y1"] = (np.int64, None)
    node = helper.make_node(op, ["x"], list(outs), **attrs)
    kw = {} if opset is None else {"opset": opset}
    m = make_model([node], {"x": (dt, list(shape))}, outs, **kw)
    write_case(out, name, m, {"x": x}, rtol=rtol, atol=atol, expected=expected(x) if expected else None,
               isa=ALL_ISA)


def np_lrn(x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """The ONNX LRN formula in float64 (onnxruntime takes odd sizes only)."""
    xd = x.astype(np.float64)
    sq = np.zeros_like(xd)
    C = x.shape[1]
    for c in range(C):
        lo, hi = max(0, c - (size - 1) // 2), min(C - 1, c + size // 2)
        sq[:, c] = (xd[:, lo:hi + 1] ** 2).sum(axis=1)
    return [(xd / (bias + alpha / size * sq) ** beta).astype(x.dtype)]


def pool_cases(out):
    """Both layouts of pool_fast.c: flat (1-D/2-D planes narrower than 64)
    and rows (wider planes, 3-D); every attribute."""
    small, wide = (2, 3, 13, 11), (1, 2, 9, 70)
    geoms = [
        ("k2s2", {"kernel_shape": [2, 2], "strides": [2, 2]}),
        ("k3s1p1", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
        ("k3s2", {"kernel_shape": [3, 3], "strides": [2, 2]}),
        ("k3s2_asym", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 0, 1, 1]}),
        ("k3s2_ceil", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
        ("k2s2_ceil_pads", {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 0, 0, 1], "ceil_mode": 1}),
        ("k3_dil2", {"kernel_shape": [3, 3], "dilations": [2, 2], "pads": [2, 1, 1, 2]}),
        ("k2_dil13_s3", {"kernel_shape": [2, 2], "dilations": [1, 3], "strides": [3, 2], "ceil_mode": 1}),
        ("k1x3", {"kernel_shape": [1, 3], "pads": [0, 1, 0, 1]}),
        ("k5x2_s31", {"kernel_shape": [5, 2], "strides": [3, 1], "pads": [2, 0, 2, 1]}),
        ("same_upper", {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
        ("same_lower", {"kernel_shape": [2, 3], "strides": [1, 2], "auto_pad": "SAME_LOWER"}),
        ("valid", {"kernel_shape": [3, 3], "strides": [2, 1], "auto_pad": "VALID"}),
        ("s4", {"kernel_shape": [2, 3], "strides": [4, 4], "pads": [1, 1, 1, 1]}),
    ]
    for gname, at in geoms:
        for lay, shape in (("flat", small), ("rows", wide)):
            pool_case(out, "maxpool_%s_%s" % (lay, gname), "MaxPool", shape, at)
            for cip in (0, 1):
                if cip and "auto_pad" in at:
                    continue
                pool_case(out, "avgpool_%s_%s_cip%d" % (lay, gname, cip), "AveragePool", shape,
                          dict(at, count_include_pad=cip))
    # 7x7 planes of many channels (inception's), a whole-plane window (the global shortcut)
    pool_case(out, "maxpool_7x7_many", "MaxPool", (1, 40, 7, 7), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]})
    pool_case(out, "avgpool_7x7_many", "AveragePool", (1, 40, 7, 7), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]})
    # strided flat planes in several groups, the last one partial (squeezenet's 27x27 and
    # inception's 14x14 with an end pad; odd widths padded to a multiple of the stride)
    for gname, shape, at in [("sq27", (1, 70, 27, 27), {"kernel_shape": [3, 3], "strides": [2, 2]}),
                             ("inc14", (1, 45, 14, 14), {"kernel_shape": [3, 3], "strides": [2, 2],
                                                         "pads": [0, 0, 1, 1]}),
                             ("k2s2_odd", (2, 21, 23, 23), {"kernel_shape": [2, 2], "strides": [2, 2],
                                                            "ceil_mode": 1}),
                             ("s3_dil", (1, 33, 20, 19), {"kernel_shape": [2, 3], "strides": [3, 3],
                                                          "dilations": [2, 2], "pads": [1, 1, 1, 1]}),
                             # ResNet's stem pool (read in place, rows combined
                             # straight from the planes), odd width, batch
                             ("resnet32", (1, 70, 32, 32), {"kernel_shape": [3, 3], "strides": [2, 2],
                                                            "pads": [1, 1, 1, 1]}),
                             ("w45_p1", (1, 5, 9, 45), {"kernel_shape": [3, 3], "strides": [2, 2],
                                                        "pads": [1, 1, 1, 1]}),
                             ("resnet_odd_batch", (3, 9, 17, 31), {"kernel_shape": [3, 3], "strides": [2, 2],
                                                                   "pads": [1, 1, 1, 1], "ceil_mode": 1})]:
        pool_case(out, "maxpool_strided_groups_%s" % gname, "MaxPool", shape, at)
        pool_case(out, "avgpool_strided_groups_%s" % gname, "AveragePool", shape, at)
    pool_case(out, "avgpool_whole_plane", "AveragePool", (2, 5, 7, 7), {"kernel_shape": [7, 7]})
    pool_case(out, "maxpool_whole_plane", "MaxPool", (2, 5, 6, 3), {"kernel_shape": [6, 3]})
    for cip in (0, 1):
        # inception's last pool: a 7x7 window over a padded 6x6 plane
        pool_case(out, "avgpool_whole_padded_cip%d" % cip, "AveragePool", (1, 8, 6, 6),
                  {"kernel_shape": [7, 7], "pads": [0, 0, 1, 1], "count_include_pad": cip})
    pool_case(out, "maxpool_whole_padded", "MaxPool", (1, 8, 6, 6), {"kernel_shape": [7, 7], "pads": [1, 0, 0, 1]})
    # 1-D and 3-D
    for gname, at in [("k3s2", {"kernel_shape": [3], "strides": [2], "pads": [1, 0]}),
                      ("k4_ceil_dil", {"kernel_shape": [4], "dilations": [2], "ceil_mode": 1, "strides": [3]})]:
        pool_case(out, "maxpool_1d_%s" % gname, "MaxPool", (2, 3, 29), at)
        pool_case(out, "avgpool_1d_%s" % gname, "AveragePool", (2, 3, 29), dict(at, count_include_pad=1))
        pool_case(out, "maxpool_1d_wide_%s" % gname, "MaxPool", (1, 2, 131), at)
    for gname, at in [("k2s2", {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]}),
                      ("k3p1_ceil", {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "pads": [1, 0, 1, 1, 1, 0],
                                     "ceil_mode": 1})]:
        pool_case(out, "maxpool_3d_%s" % gname, "MaxPool", (1, 2, 7, 6, 9), at)
        for cip in (0, 1):
            pool_case(out, "avgpool_3d_%s_cip%d" % (gname, cip), "AveragePool", (1, 2, 7, 6, 9),
                      dict(at, count_include_pad=cip))
    # Indices: 2-D kernel (both storage orders), 3-D through the general core
    for so in (0, 1):
        pool_case(out, "maxpool_indices_so%d" % so, "MaxPool", (2, 3, 9, 8),
                  {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 1, 1], "storage_order": so}, n_out=2)
    pool_case(out, "maxpool_indices_dil_ceil", "MaxPool", (1, 2, 11, 10),
              {"kernel_shape": [2, 2], "strides": [2, 3], "dilations": [2, 1], "ceil_mode": 1}, n_out=2)
    pool_case(out, "maxpool_indices_3d", "MaxPool", (1, 2, 4, 5, 6), {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]},
              n_out=2)
    # narrow types staged through float32
    for dt in (np.float16, np.uint8, np.int8):
        pool_case(out, "maxpool_%s" % dname(dt), "MaxPool", (1, 3, 10, 9),
                  {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, dt=dt, rtol=0, atol=0)
    pool_case(out, "avgpool_float16", "AveragePool", (1, 3, 10, 9), {"kernel_shape": [2, 2], "pads": [1, 1, 0, 0]},
              dt=np.float16, rtol=1e-3, atol=1e-3)
    pool_case(out, "maxpool_float64", "MaxPool", (1, 2, 8, 8), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
              dt=np.float64)
    pool_case(out, "lppool_2d", "LpPool", (1, 2, 8, 9), {"kernel_shape": [3, 2], "p": 2, "strides": [2, 1]})
    # global pools: plane reductions
    for shape in [(1, 16, 7, 7), (2, 3, 1, 1), (1, 4, 5, 17), (1, 2, 3, 4, 5), (3, 5, 37)]:
        tag = "x".join(map(str, shape))
        pool_case(out, "globalavg_%s" % tag, "GlobalAveragePool", shape, {})
        pool_case(out, "globalmax_%s" % tag, "GlobalMaxPool", shape, {})
    pool_case(out, "globalavg_float16", "GlobalAveragePool", (1, 4, 9, 9), {}, dt=np.float16, rtol=1e-3, atol=1e-3)


def nn_cases(out):
    """LRN (sliding channel window, each power form), Softmax/LogSoftmax on every axis."""
    for size in (1, 2, 3, 4, 5):
        pool_case(out, "lrn_size%d" % size, "LRN", (2, 7, 5, 6), {"size": size}, rtol=1e-5, atol=1e-6,
                  expected=(lambda x, size=size: np_lrn(x, size)) if size % 2 == 0 else None)
    for beta in (0.75, 0.5, 1.0, 0.6, 0.3):
        pool_case(out, "lrn_beta%g" % beta, "LRN", (1, 9, 4, 4),
                  {"size": 5, "beta": beta, "alpha": 0.5, "bias": 2.0}, rtol=1e-5, atol=1e-6)
    # spatial chunks of 512 with a tail, many channels, the zoo's attributes
    pool_case(out, "lrn_chunks", "LRN", (1, 16, 23, 29), {"size": 5, "alpha": 1e-4, "beta": 0.75, "bias": 1.0},
              rtol=1e-5, atol=1e-6)
    pool_case(out, "lrn_large_values", "LRN", (1, 6, 3, 5), {"size": 3, "alpha": 2.0, "beta": 0.6, "bias": 0.5},
              rtol=1e-5, atol=1e-6)
    pool_case(out, "lrn_1d", "LRN", (2, 5, 9), {"size": 3}, rtol=1e-5, atol=1e-6, expected=lambda x: np_lrn(x, 3))
    pool_case(out, "lrn_float64", "LRN", (1, 5, 3, 3), {"size": 3}, dt=np.float64, expected=lambda x: np_lrn(x, 3))
    for op in ("Softmax", "LogSoftmax"):
        for shape, ax in [((3, 1000), -1), ((2, 17), 1), ((4, 5, 6), 1), ((2, 3, 600), 1), ((7, 9, 2), 0),
                          ((1, 4, 8, 8), 1), ((5, 1), -1), ((3, 4, 1), 1)]:
            pool_case(out, "%s_%s_axis%d" % (op.lower(), "x".join(map(str, shape)), ax), op, shape, {"axis": ax},
                      rtol=1e-5, atol=1e-6)
        # opset 11: the dims from axis on flattened into one
        pool_case(out, "%s_opset11_flatten" % op.lower(), op, (2, 3, 4), {"axis": 1}, opset=11, rtol=1e-5, atol=1e-6)
        pool_case(out, "%s_float64" % op.lower(), op, (3, 5, 4), {"axis": 1}, dt=np.float64)


REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"]


def reduce_case(out, name, op, x, axes, keepdims=1, noop=None, opset=18):
    """Axes as an input from opset 18 (13 for ReduceSum), an attribute before."""
    attrs = {"keepdims": keepdims}
    if noop is not None:
        attrs["noop_with_empty_axes"] = noop
    consts = []
    axes_input = opset >= (13 if op == "ReduceSum" else 18)
    if axes is not None:
        if axes_input:
            consts.append(("axes", i64(*axes)))
        else:
            attrs["axes"] = list(axes)
    one(out, name, op, x, attrs, consts=consts, opset=opset, rtol=1e-5, atol=1e-6, isa=ALL_ISA)


def reduce_cases(out):
    """Last axis (row lanes), middle axes (column chunks of 512), all axes,
    separate runs of axes (repeated passes), keepdims both ways, empty axes."""
    x = arr((3, 37, 5))
    pos = (np.abs(arr((3, 37, 5))) + 0.5).astype(np.float32)     # logs need x > 0
    near1 = (1.0 + 0.01 * arr((3, 37, 5))).astype(np.float32)   # products stay finite
    for op in REDUCE_OPS:
        data = pos if op == "ReduceLogSum" else near1 if op == "ReduceProd" else x
        low = op.lower()
        for axes, tag in [((-1,), "last"), ((1,), "middle"), ((0,), "first"), ((0, 1, 2), "all"),
                          ((0, 2), "runs"), ((2, 1), "last2")]:
            if op == "ReduceLogSumExp" and tag == "runs":
                tag = "runs_general"
            reduce_case(out, "%s_%s_keep" % (low, tag), op, data, axes)
            reduce_case(out, "%s_%s_drop" % (low, tag), op, data, axes, keepdims=0)
        reduce_case(out, "%s_no_axes" % low, op, data, None)
        reduce_case(out, "%s_noop_empty" % low, op, data, None, noop=1)
        reduce_case(out, "%s_opset13_attr" % low, op, data, (1,), opset=13 if op != "ReduceSum" else 11)
    big = arr((2, 3, 700))
    for op in ("ReduceMean", "ReduceMax", "ReduceSum"):
        reduce_case(out, "%s_inner_chunks" % op.lower(), op, big.transpose(0, 2, 1).copy(), (2,))
        reduce_case(out, "%s_long_rows" % op.lower(), op, big, (2,))
        reduce_case(out, "%s_4d_runs" % op.lower(), op, arr((2, 3, 4, 5)), (1, 3))
    reduce_case(out, "reducemean_size1_axis", "ReduceMean", arr((4, 1, 3)), (1,))
    reduce_case(out, "reducesum_int64", "ReduceSum", arr((4, 5), np.int64), (1,))
    reduce_case(out, "reducemax_float64", "ReduceMax", arr((4, 5), np.float64), (0,))
    # ties (small integers) for first/last index
    ties = rng.integers(0, 3, (4, 9, 6)).astype(np.float32)
    for op in ("ArgMax", "ArgMin"):
        for ax in (0, 1, 2, -1):
            for last in (0, 1):
                one(out, "%s_axis%d_last%d" % (op.lower(), ax, last), op, ties,
                    {"axis": ax, "select_last_index": last}, out_dtype=np.int64, isa=ALL_ISA)
        one(out, "%s_drop" % op.lower(), op, arr((3, 700)), {"axis": 1, "keepdims": 0}, out_dtype=np.int64,
            isa=ALL_ISA)
        one(out, "%s_inner_chunks" % op.lower(), op, arr((3, 4, 600)), {"axis": 1}, out_dtype=np.int64,
            isa=ALL_ISA)
        one(out, "%s_int64" % op.lower(), op, arr((3, 5), np.int64), {"axis": 1}, out_dtype=np.int64)


def expand_cases(out):
    """Expand as one strided copy: stride-0 inner dims (fills), repeated
    rows (memcpy runs), new leading dims, every element size."""
    for shape, to in [((3, 1), (3, 5)), ((1, 5), (4, 5)), ((2, 1, 4), (3, 2, 6, 4)), ((), (2, 3)),
                      ((3, 1, 1), (3, 4, 5)), ((1, 7, 1, 3), (2, 7, 5, 3)), ((4,), (2, 3, 4)),
                      ((2, 3), (1, 2, 3)), ((2, 1), (2, 0))]:
        one(out, "expand_%s_to_%s" % ("x".join(map(str, shape)) or "scalar", "x".join(map(str, to))), "Expand",
            arr(shape), consts=[("shape", i64(*to))])
    for dt in DTYPES:
        one(out, "expand_%s" % dname(dt), "Expand", arr((3, 1, 2), dt), consts=[("shape", i64(2, 3, 4, 2))])


def resize_cases(out):
    """Nearest Resize by integer factors (each element repeated along the
    last axis), and the general gather for other factors and modes."""
    for name, shape, scales, at in [
        ("x2", (1, 3, 5, 7), (1, 1, 2, 2), {}),
        ("x3_last_only", (2, 3, 4, 5), (1, 1, 1, 3), {}),
        ("x4x8", (1, 2, 3, 3), (1, 1, 4, 8), {}),
        ("x2_rows_only", (1, 2, 3, 4), (1, 1, 2, 1), {}),
        ("x1_5", (1, 2, 4, 6), (1, 1, 1.5, 1.5), {}),
        ("x2_half_pixel", (1, 2, 4, 5), (1, 1, 2, 2), {"coordinate_transformation_mode": "half_pixel",
                                                       "nearest_mode": "round_prefer_ceil"}),
        ("x2_1d", (2, 3, 9), (1, 1, 2), {}),
        ("x2_3d", (1, 2, 3, 4, 5), (1, 1, 2, 2, 2), {}),
    ]:
        node = helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest",
                                **dict({"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, **at))
        for dt in (np.float32, np.uint8, np.int32, np.int8):    # onnxruntime's Resize types
            x = arr(shape, dt)
            m = make_model([node], {"x": (dt, list(shape))}, {"y": (dt, None)},
                           initializers=[("s", np.array(scales, dtype=np.float32))], opset=19)
            write_case(out, "resize_nearest_%s_%s" % (name, dname(dt)), m, {"x": x}, rtol=0, atol=0)


def depth_space_cases(out):
    """DepthToSpace (DCR, CRD) and SpaceToDepth as 6-D strided copies."""
    for b in (2, 3):
        for mode in ("DCR", "CRD"):
            one(out, "depthtospace_%s_b%d" % (mode.lower(), b), "DepthToSpace", arr((2, 2 * b * b, 3, 5)),
                {"blocksize": b, "mode": mode})
        one(out, "spacetodepth_b%d" % b, "SpaceToDepth", arr((2, 3, 2 * b, 3 * b)), {"blocksize": b})
    def np_d2s(x, b=2):
        n, c, h, w = x.shape
        t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
        return [t.reshape(n, c // (b * b), h * b, w * b)]

    for dt in (np.float16, np.int64, np.uint8, object):
        x = arr((1, 8, 2, 3), dt)
        one(out, "depthtospace_%s" % dname(dt), "DepthToSpace", x, {"blocksize": 2}, expected=lambda x=x: np_d2s(x))


def main():
    out = sys.argv[1]
    depth_space_cases(out)
    resize_cases(out)
    expand_cases(out)
    reduce_cases(out)
    nn_cases(out)
    pool_cases(out)
    transpose_cases(out)
    slice_cases(out)
    concat_split_cases(out)
    gather_cases(out)
    pad_cases(out)
    tile_cases(out)


if __name__ == "__main__":
    main()
