#!/usr/bin/env python3
"""Kernel cases for constant folding at load, the optimizer inside graphs
with subgraphs, and the executor's zero-copy outputs (see cases.py).

    make_fold_cases.py OUT_DIR

Every model's result depends on folding (or aliasing) being right: a
wrongly folded shape changes the output shape or fails the run, a
constant folded with a wrong value changes the numbers, a value freed
or written twice shows under ASan.

  folding      Shape -> Gather -> Concat -> Reshape chains (whole and
               partial static shapes, Shape start/end, Size), ConstantOfShape
               weights feeding Conv + BatchNormalization + Relu, folded chains
               (Transpose, Reshape, Mul, Cast of constants) into Conv and
               MatMul + Add, constants inside If branches and Loop / Scan
               bodies (their own and captured from outside, beside captured
               values that are not constant), graph outputs that are
               constants (int32, scalar, empty, a Shape), a 10^10-element
               ConstantOfShape in a branch the run does not take (must not
               be built at load), random ops (never folded; their Shape is)
  optimizer    Conv + BatchNormalization, Gemm + Relu, MatMul + Add and
               Identity whose intermediate or weights a subgraph reads
               (must not be rewritten), and the same rewrites inside an If
               branch and a Loop body
  aliasing     Reshape / Flatten / Squeeze / Unsqueeze / Identity of a graph
               input that is also an output, of an initializer, of a value
               read again later, of a value read only by them (taken over),
               chains of them, Loop carried values and scan outputs that
               are views, Scan rows read in place (either direction) and
               copied (another axis), an If branch returning a reshaped
               outer value
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from cases import make_model, write_case

rng = np.random.default_rng(11)
F = np.float32


def c(name, arr):
    return (name, np.asarray(arr))


def rnd(*shape):
    return rng.standard_normal(shape).astype(F)


def cos_node(out, shape_name, value, dtype=TensorProto.FLOAT):
    return helper.make_node("ConstantOfShape", [shape_name], [out],
                            value=helper.make_tensor("v", dtype, [1], [value]))


def vi(name, dt, shape):
    return helper.make_tensor_value_info(name, dt, shape)


def folding(out):
    x = rnd(2, 3, 4)
    # Shape -> Gather -> Unsqueeze -> Concat -> Reshape, whole shape known
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "i0"], ["d0"], axis=0),
             helper.make_node("Unsqueeze", ["d0", "ax0"], ["d0u"]),
             helper.make_node("Concat", ["d0u", "m1"], ["shp"], axis=0),
             helper.make_node("Reshape", ["x", "shp"], ["r"]),
             helper.make_node("Shape", ["r"], ["rs"]),
             helper.make_node("Cast", ["rs"], ["rsf"], to=TensorProto.FLOAT),
             helper.make_node("ReduceSum", ["r", "ax1"], ["sum"], keepdims=0),
             helper.make_node("Mul", ["sum", "rsf0"], ["y"]),
             helper.make_node("Gather", ["rsf", "i1"], ["rsf0"], axis=0)]
    m = make_model(nodes, {"x": (F, [2, 3, 4])}, {"y": (F, None), "rs": (np.int64, None)},
                   [c("i0", np.array(0, np.int64)), c("i1", np.array(1, np.int64)),
                    c("ax0", np.array([0], np.int64)), c("ax1", np.array([1], np.int64)),
                    c("m1", np.array([-1], np.int64))])
    # Gather after Reshape: rsf0 is 12, known only once the Reshape's shape is folded
    m.graph.node.insert(9, m.graph.node.pop(8))
    write_case(out, "shape_gather_concat_reshape", m, {"x": x})

    # partial static shape: batch dynamic, Shape(start=1) and Gather(1) of known dims
    nodes = [helper.make_node("Shape", ["x"], ["tail"], start=1),
             helper.make_node("ReduceProd", ["tail"], ["feat"], keepdims=1),
             helper.make_node("Concat", ["m1", "feat"], ["shp"], axis=0),
             helper.make_node("Reshape", ["x", "shp"], ["y"]),
             helper.make_node("Size", ["x"], ["n"]),
             helper.make_node("Shape", ["x"], ["all"])]
    m = make_model(nodes, {"x": ("float32", ["N", 3, 4])},
                   {"y": (F, None), "n": (np.int64, None), "all": (np.int64, None)},
                   [c("m1", np.array([-1], np.int64))])
    write_case(out, "shape_partial_dynamic", m, {"x": rnd(5, 3, 4)})

    # ConstantOfShape weights -> Conv -> BatchNormalization -> Relu (the light
    # model-zoo pattern), BN parameters built the same way
    nodes = [cos_node("w", "wshape", 0.02), cos_node("b", "bshape", 0.5),
             cos_node("scale", "bshape", 1.5), cos_node("bias", "bshape", -0.25),
             cos_node("mean", "bshape", 0.1), cos_node("var", "bshape", 2.0),
             helper.make_node("Conv", ["x", "w", "b"], ["cv"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["cv", "scale", "bias", "mean", "var"], ["bn"]),
             helper.make_node("Relu", ["bn"], ["y"])]
    m = make_model(nodes, {"x": (F, [1, 3, 7, 6])}, {"y": (F, None)},
                   [c("wshape", np.array([5, 3, 3, 3], np.int64)), c("bshape", np.array([5], np.int64))])
    write_case(out, "constant_of_shape_conv_bn_relu", m, {"x": rnd(1, 3, 7, 6)})

    # folded chains into Conv (+BN) and MatMul + Add: Transpose, Reshape, Mul, Cast, Unsqueeze
    w0 = rnd(3, 3, 3, 4)            # (C, kh, kw, M) -> (M, C, kh, kw)
    nodes = [helper.make_node("Transpose", ["w0"], ["wt"], perm=[3, 0, 1, 2]),
             helper.make_node("Mul", ["wt", "two"], ["w"]),
             helper.make_node("Cast", ["b16"], ["b"], to=TensorProto.FLOAT),
             helper.make_node("Conv", ["x", "w", "b"], ["cv"]),
             helper.make_node("Unsqueeze", ["s1", "ax0"], ["scale"]),
             helper.make_node("BatchNormalization", ["cv", "scale2", "bias", "mean", "var"], ["bn"]),
             helper.make_node("Reshape", ["scale", "m1"], ["scale2"]),
             helper.make_node("Flatten", ["bn"], ["fl"], axis=1),
             helper.make_node("Reshape", ["wm0", "wm_shape"], ["wm"]),
             helper.make_node("MatMul", ["fl", "wm"], ["mm"]),
             helper.make_node("Add", ["mm", "bm"], ["y"])]
    m = make_model(nodes, {"x": (F, [2, 3, 5, 5])}, {"y": (F, None)},
                   [c("w0", w0), c("two", np.array(2, F)), c("b16", rnd(4).astype(np.float16)),
                    c("s1", np.abs(rnd(4))), c("ax0", np.array([0], np.int64)),
                    c("m1", np.array([-1], np.int64)), c("bias", rnd(4)), c("mean", rnd(4)),
                    c("var", np.abs(rnd(4)) + 0.5), c("wm0", rnd(4 * 3 * 3 * 6)),
                    c("wm_shape", np.array([36, 6], np.int64)), c("bm", rnd(6))])
    write_case(out, "folded_chains_into_conv_bn_matmul", m, {"x": rnd(2, 3, 5, 5)}, rtol=1e-3, atol=1e-4)

    # graph outputs that are constants: int32, scalar, empty, a Shape, a Constant
    nodes = [helper.make_node("Add", ["ci", "ci"], ["o_int"]),
             helper.make_node("ReduceSum", ["cf", "nothing"], ["o_scalar"], keepdims=0),
             helper.make_node("Slice", ["cf", "z", "z"], ["o_empty"]),
             helper.make_node("Shape", ["x"], ["o_shape"]),
             helper.make_node("Constant", [], ["o_const"],
                              value=helper.make_tensor("k", TensorProto.INT8, [2, 1], [-3, 7])),
             helper.make_node("Mul", ["x", "cf"], ["y"])]
    m = make_model(nodes, {"x": (F, [2, 3])},
                   {"y": (F, None), "o_int": (np.int32, None), "o_scalar": (F, None),
                    "o_empty": (F, None), "o_shape": (np.int64, None), "o_const": (np.int8, None)},
                   [c("ci", np.array([[1, -2, 3]], np.int32)), c("cf", rnd(3)),
                    c("nothing", np.array([], np.int64)), c("z", np.array([0], np.int64))])
    write_case(out, "constant_graph_outputs", m, {"x": rnd(2, 3)})

    # If branches with their own constants, outer constants and an outer input
    then_g = helper.make_graph(
        [cos_node("t_ones", "oshape", 1.0),
         helper.make_node("Mul", ["t_ones", "k_out"], ["t_k"]),
         helper.make_node("Add", ["x", "t_k"], ["t_out"])],
        "then", [], [vi("t_out", TensorProto.FLOAT, [2, 3])])
    else_g = helper.make_graph(
        [helper.make_node("Constant", [], ["e_c"], value=numpy_helper.from_array(rnd(3), "e_c")),
         helper.make_node("Shape", ["x"], ["e_s"]),
         helper.make_node("Cast", ["e_s"], ["e_sf"], to=TensorProto.FLOAT),
         helper.make_node("ReduceSum", ["e_sf"], ["e_n"], keepdims=1),
         helper.make_node("Mul", ["x", "e_c"], ["e_m"]),
         helper.make_node("Add", ["e_m", "e_n"], ["e_out"])],
        "else", [], [vi("e_out", TensorProto.FLOAT, [2, 3])])
    nodes = [helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
             helper.make_node("Greater", ["s", "zero"], ["cond"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)]
    m = make_model(nodes, {"x": (F, [2, 3])}, {"y": (F, None)},
                   [c("oshape", np.array([2, 3], np.int64)), c("k_out", np.array(3, F)),
                    c("zero", np.array(0, F))])
    write_case(out, "if_branch_constants_then", m, {"x": np.abs(rnd(2, 3))})
    write_case(out, "if_branch_constants_else", m, {"x": -np.abs(rnd(2, 3))})

    # Loop body: constants of its own, an outer constant chain, an outer input, a carried value
    body = helper.make_graph(
        [helper.make_node("Constant", [], ["one"], value=numpy_helper.from_array(np.array(1.0, F), "one")),
         helper.make_node("Shape", ["w_outer"], ["ws"]),
         helper.make_node("Cast", ["ws"], ["wsf"], to=TensorProto.FLOAT),
         helper.make_node("ReduceSum", ["wsf"], ["wn"], keepdims=0),
         helper.make_node("Mul", ["w_outer", "wn"], ["wk"]),
         helper.make_node("Add", ["acc", "wk"], ["a1"]),
         helper.make_node("Add", ["a1", "x"], ["a2"]),
         helper.make_node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
         helper.make_node("Mul", ["fi", "one"], ["fi1"]),
         helper.make_node("Add", ["a2", "fi1"], ["acc_out"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Identity", ["a1"], ["scan_out"])],
        "body",
        [vi("i", TensorProto.INT64, []), vi("cond_in", TensorProto.BOOL, []), vi("acc", TensorProto.FLOAT, [3])],
        [vi("cond_out", TensorProto.BOOL, []), vi("acc_out", TensorProto.FLOAT, [3]),
         vi("scan_out", TensorProto.FLOAT, [3])])
    nodes = [helper.make_node("Mul", ["w0", "w0"], ["w_outer"]),
             helper.make_node("Loop", ["trips", "", "acc0"], ["acc", "scans"], body=body)]
    m = make_model(nodes, {"x": (F, [3]), "acc0": (F, [3])}, {"acc": (F, None), "scans": (F, None)},
                   [c("w0", rnd(3)), c("trips", np.array(4, np.int64))])
    write_case(out, "loop_body_constants", m, {"x": rnd(3), "acc0": rnd(3)})

    # Scan body with a constant chain of its own and a captured outer constant
    body = helper.make_graph(
        [cos_node("ones", "shp_outer", 2.0),
         helper.make_node("Mul", ["row", "ones"], ["r2"]),
         helper.make_node("Add", ["s", "r2"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["y"])],
        "body", [vi("s", TensorProto.FLOAT, [4]), vi("row", TensorProto.FLOAT, [4])],
        [vi("s_out", TensorProto.FLOAT, [4]), vi("y", TensorProto.FLOAT, [4])])
    m = make_model([helper.make_node("Scan", ["s0", "xs"], ["s", "ys"], body=body, num_scan_inputs=1)],
                   {"s0": (F, [4]), "xs": (F, [5, 4])}, {"s": (F, None), "ys": (F, None)},
                   [c("shp_outer", np.array([4], np.int64))])
    write_case(out, "scan_body_constants", m, {"s0": rnd(4), "xs": rnd(5, 4)})

    # a 10^10-element ConstantOfShape in a branch the run does not take: must
    # not be built at load (40 GB); the run takes the other branch
    then_g = helper.make_graph(
        [cos_node("huge", "hshape", 1.0),
         helper.make_node("ReduceSum", ["huge"], ["hs"], keepdims=0),
         helper.make_node("Add", ["x", "hs"], ["t_out"])],
        "then", [], [vi("t_out", TensorProto.FLOAT, [3])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e_out"])], "else", [],
                               [vi("e_out", TensorProto.FLOAT, [3])])
    m = make_model([helper.make_node("ReduceMax", ["x"], ["mx"], keepdims=0),
                    helper.make_node("Greater", ["mx", "big"], ["cond"]),
                    helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)],
                   {"x": (F, [3])}, {"y": (F, None)},
                   [c("hshape", np.array([100000, 100000], np.int64)), c("big", np.array(1e30, F))])
    write_case(out, "huge_constant_of_shape_not_built", m, {"x": rnd(3)})

    # random ops are never folded; their Shape is (static), and what does
    # not depend on the draws matches
    nodes = [helper.make_node("RandomNormal", [], ["r"], shape=[2, 3], seed=1.0),
             helper.make_node("RandomUniformLike", ["x"], ["u"], seed=2.0),
             helper.make_node("Shape", ["r"], ["rs"]),
             helper.make_node("Mul", ["u", "zero"], ["u0"]),
             helper.make_node("Add", ["x", "u0"], ["y"])]
    m = make_model(nodes, {"x": (F, [2, 3])}, {"y": (F, None), "rs": (np.int64, None)},
                   [c("zero", np.array(0, F))])
    write_case(out, "random_shape_folded_draws_not", m, {"x": rnd(2, 3)})


def optimizer(out):
    x = rnd(1, 3, 5, 5)
    w, b = rnd(4, 3, 3, 3), rnd(4)
    bn = [c("scale", np.abs(rnd(4)) + 0.5), c("bias", rnd(4)), c("mean", rnd(4)), c("var", np.abs(rnd(4)) + 0.5)]
    bn_node = helper.make_node("BatchNormalization", ["cv", "scale", "bias", "mean", "var"], ["bn"])

    # the Conv output is read by an If branch: BN must not take it over
    then_g = helper.make_graph([helper.make_node("ReduceSum", ["cv"], ["t"], keepdims=0)], "then", [],
                               [vi("t", TensorProto.FLOAT, [])])
    else_g = helper.make_graph([helper.make_node("ReduceMax", ["cv"], ["e"], keepdims=0)], "else", [],
                               [vi("e", TensorProto.FLOAT, [])])
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["cv"]), bn_node,
             helper.make_node("Relu", ["bn"], ["y"]),
             helper.make_node("If", ["flag"], ["z"], then_branch=then_g, else_branch=else_g)]
    m = make_model(nodes, {"x": (F, [1, 3, 5, 5]), "flag": (np.bool_, [])}, {"y": (F, None), "z": (F, None)},
                   [c("w", w), c("b", b)] + bn)
    write_case(out, "conv_bn_output_captured", m, {"x": x, "flag": np.array(True)}, rtol=1e-3, atol=1e-4)

    # the Conv weight and bias are read by a Loop body (with the iteration
    # number, so that folding cannot compute it first): BN must not rewrite them
    body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
         helper.make_node("Mul", ["w", "fi"], ["wi"]),
         helper.make_node("Mul", ["b", "fi"], ["bi"]),
         helper.make_node("ReduceSum", ["wi"], ["ws"], keepdims=0),
         helper.make_node("ReduceSum", ["bi"], ["bs"], keepdims=0),
         helper.make_node("Add", ["acc", "ws"], ["a1"]),
         helper.make_node("Add", ["a1", "bs"], ["acc_out"])],
        "body", [vi("i", TensorProto.INT64, []), vi("ci", TensorProto.BOOL, []), vi("acc", TensorProto.FLOAT, [])],
        [vi("ci", TensorProto.BOOL, []), vi("acc_out", TensorProto.FLOAT, [])])
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["cv"]), bn_node,
             helper.make_node("Loop", ["two", "", "zero"], ["z"], body=body)]
    m = make_model(nodes, {"x": (F, [1, 3, 5, 5])}, {"bn": (F, None), "z": (F, None)},
                   [c("w", w), c("b", b), c("two", np.array(2, np.int64)), c("zero", np.array(0, F))] + bn)
    write_case(out, "conv_bn_weights_captured", m, {"x": x}, rtol=1e-3, atol=1e-4)

    # Gemm + Relu and MatMul + Add whose intermediates a branch reads; an
    # Identity whose output a branch reads
    then_g = helper.make_graph([helper.make_node("Add", ["g", "mm"], ["t0"]),
                                helper.make_node("Add", ["t0", "idn"], ["t"])], "then", [],
                               [vi("t", TensorProto.FLOAT, [2, 4])])
    else_g = helper.make_graph([helper.make_node("Sub", ["g", "mm"], ["e0"]),
                                helper.make_node("Sub", ["e0", "idn"], ["e"])], "else", [],
                               [vi("e", TensorProto.FLOAT, [2, 4])])
    nodes = [helper.make_node("Gemm", ["a", "gw"], ["g"]),
             helper.make_node("Relu", ["g"], ["gr"]),
             helper.make_node("MatMul", ["a", "mw"], ["mm"]),
             helper.make_node("Add", ["mm", "mb"], ["ma"]),
             helper.make_node("Identity", ["ma"], ["idn"]),
             helper.make_node("Relu", ["idn"], ["ir"]),
             helper.make_node("If", ["flag"], ["z"], then_branch=then_g, else_branch=else_g)]
    m = make_model(nodes, {"a": (F, [2, 5]), "flag": (np.bool_, [])},
                   {"gr": (F, None), "ir": (F, None), "z": (F, None)},
                   [c("gw", rnd(5, 4)), c("mw", rnd(5, 4)), c("mb", rnd(4))])
    write_case(out, "fusions_intermediates_captured", m, {"a": rnd(2, 5), "flag": np.array(False)})

    # the same rewrites inside an If branch and inside a Loop body
    then_g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["cv"]), bn_node,
         helper.make_node("Identity", ["bn"], ["bi"]),
         helper.make_node("Relu", ["bi"], ["t"])],
        "then", [], [vi("t", TensorProto.FLOAT, [1, 4, 3, 3])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")] +
        [numpy_helper.from_array(v, n) for n, v in bn])
    else_g = helper.make_graph([helper.make_node("Conv", ["x", "w_out"], ["e"])], "else", [],
                               [vi("e", TensorProto.FLOAT, [1, 4, 3, 3])])
    body = helper.make_graph(
        [helper.make_node("MatMul", ["v", "lw"], ["lm"]),
         helper.make_node("Add", ["lm", "lb"], ["la"]),
         helper.make_node("Gemm", ["la", "lw2"], ["lg"]),
         helper.make_node("Relu", ["lg"], ["v_out"])],
        "body", [vi("i", TensorProto.INT64, []), vi("ci", TensorProto.BOOL, []), vi("v", TensorProto.FLOAT, [2, 4])],
        [vi("ci", TensorProto.BOOL, []), vi("v_out", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(rnd(4, 4) * 0.5, "lw"), numpy_helper.from_array(rnd(4), "lb"),
         numpy_helper.from_array(rnd(4, 4) * 0.5, "lw2")])
    nodes = [helper.make_node("If", ["flag"], ["y"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["three", "", "v0"], ["z"], body=body)]
    m = make_model(nodes, {"x": (F, [1, 3, 5, 5]), "flag": (np.bool_, []), "v0": (F, [2, 4])},
                   {"y": (F, None), "z": (F, None)},
                   [c("w_out", w), c("three", np.array(3, np.int64))])
    write_case(out, "rewrites_inside_subgraphs", m,
               {"x": x, "flag": np.array(True), "v0": rnd(2, 4)}, rtol=1e-3, atol=1e-4)


def aliasing(out):
    x = rnd(2, 3, 4)
    # a graph input that is also an output, reshaped, flattened, squeezed:
    # views of the caller's buffer, handed out as copies
    nodes = [helper.make_node("Reshape", ["x", "s12"], ["r"]),
             helper.make_node("Flatten", ["x"], ["fl"], axis=2),
             helper.make_node("Unsqueeze", ["r", "ax0"], ["u"]),
             helper.make_node("Squeeze", ["u", "ax0"], ["sq"]),
             helper.make_node("Identity", ["x"], ["xi"])]
    m = make_model(nodes, {"x": (F, [2, 3, 4])},
                   {"x": (F, None), "r": (F, None), "fl": (F, None), "sq": (F, None), "xi": (F, None)},
                   [c("s12", np.array([2, 12], np.int64)), c("ax0", np.array([0], np.int64))])
    write_case(out, "views_of_graph_input_that_is_output", m, {"x": x})

    # of an initializer, and of an overridable one (its default: the harness
    # feeds graph inputs only; test_engine feeds overrides)
    nodes = [helper.make_node("Reshape", ["k", "s6"], ["kr"]),
             helper.make_node("Add", ["kr", "x6"], ["y"]),
             helper.make_node("Unsqueeze", ["d", "ax0"], ["du"]),
             helper.make_node("Mul", ["du", "x6"], ["z"])]
    m = make_model(nodes, {"x6": (F, [6])}, {"y": (F, None), "z": (F, None), "kr": (F, None)},
                   [c("k", rnd(2, 3)), c("s6", np.array([6], np.int64)), c("ax0", np.array([0], np.int64)),
                    c("d", rnd(6))])
    # d is listed as an input too: an overridable default, never folded
    m.graph.input.append(vi("d", TensorProto.FLOAT, [6]))
    write_case(out, "views_of_initializers", m, {"x6": rnd(6)})

    # node values: read only by the Reshape (taken over), read again later
    # (copied or viewed, never freed twice), chains through Identity
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("Reshape", ["a", "s12"], ["ar"]),            # a read again below
             helper.make_node("Sigmoid", ["x"], ["b"]),
             helper.make_node("Reshape", ["b", "s12"], ["br"]),            # b dies here: taken
             helper.make_node("Identity", ["br"], ["bi"]),
             helper.make_node("Flatten", ["bi"], ["bf"], axis=0),
             helper.make_node("Reshape", ["bf", "s12"], ["bg"]),
             helper.make_node("Add", ["a", "x"], ["a2"]),
             helper.make_node("Reshape", ["a2", "s12"], ["a2r"]),
             helper.make_node("Add", ["ar", "bg"], ["s"]),
             helper.make_node("Mul", ["s", "a2r"], ["y"]),
             helper.make_node("Identity", ["bg"], ["bg_out"])]
    m = make_model(nodes, {"x": (F, [2, 3, 4])}, {"y": (F, None), "bg_out": (F, None), "ar": (F, None)},
                   [c("s12", np.array([2, 12], np.int64))])
    write_case(out, "node_values_taken_or_copied", m, {"x": x})

    # Loop carried values and scan outputs that are views of the body's inputs
    body = helper.make_graph(
        [helper.make_node("Reshape", ["v", "s6"], ["vr"]),
         helper.make_node("Reshape", ["vr", "s23"], ["v_same"]),
         helper.make_node("Identity", ["w"], ["w_out"]),
         helper.make_node("Add", ["v_same", "w"], ["sum"]),
         helper.make_node("Flatten", ["sum"], ["scan_item"], axis=0),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [vi("i", TensorProto.INT64, []), vi("cond_in", TensorProto.BOOL, []),
         vi("v", TensorProto.FLOAT, [2, 3]), vi("w", TensorProto.FLOAT, [2, 3])],
        [vi("cond_out", TensorProto.BOOL, []), vi("v_same", TensorProto.FLOAT, [2, 3]),
         vi("w_out", TensorProto.FLOAT, [2, 3]), vi("scan_item", TensorProto.FLOAT, [1, 6])],
        [numpy_helper.from_array(np.array([6], np.int64), "s6"),
         numpy_helper.from_array(np.array([2, 3], np.int64), "s23")])
    m = make_model([helper.make_node("Loop", ["trips", "cond", "v0", "w0"], ["v", "w", "items"], body=body)],
                   {"v0": (F, [2, 3]), "w0": (F, [2, 3])},
                   {"v": (F, None), "w": (F, None), "items": (F, None)},
                   [c("trips", np.array(3, np.int64)), c("cond", np.array(True))])
    write_case(out, "loop_carried_views", m, {"v0": rnd(2, 3), "w0": rnd(2, 3)})

    # Scan rows read in place along axis 0 (forwards and reversed), copied
    # along axis 1; a scan output that is the row itself, reshaped
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "row"], ["s1"]),
         helper.make_node("Mul", ["s1", "col"], ["s_out"]),
         helper.make_node("Reshape", ["row", "s14"], ["row_out"]),
         helper.make_node("Identity", ["rrow"], ["rrow_out"])],
        "body", [vi("s", TensorProto.FLOAT, [4]), vi("row", TensorProto.FLOAT, [4]),
                 vi("rrow", TensorProto.FLOAT, [4]), vi("col", TensorProto.FLOAT, [4])],
        [vi("s_out", TensorProto.FLOAT, [4]), vi("row_out", TensorProto.FLOAT, [1, 4]),
         vi("rrow_out", TensorProto.FLOAT, [4])],
        [numpy_helper.from_array(np.array([1, 4], np.int64), "s14")])
    m = make_model([helper.make_node("Scan", ["s0", "xs", "xs", "xt"], ["s", "rows", "rrows"], body=body,
                                     num_scan_inputs=3, scan_input_directions=[0, 1, 0],
                                     scan_input_axes=[0, 0, 1])],
                   {"s0": (F, [4]), "xs": (F, [5, 4]), "xt": (F, [4, 5])},
                   {"s": (F, None), "rows": (F, None), "rrows": (F, None)}, opset=21)
    write_case(out, "scan_rows_in_place", m, {"s0": rnd(4), "xs": rnd(5, 4), "xt": rnd(4, 5)})

    # an If branch returning a reshaped outer value (a view of a capture)
    then_g = helper.make_graph([helper.make_node("Reshape", ["x", "s12"], ["t"])], "then", [],
                               [vi("t", TensorProto.FLOAT, [2, 12])])
    else_g = helper.make_graph([helper.make_node("Reshape", ["h", "s12"], ["e"])], "else", [],
                               [vi("e", TensorProto.FLOAT, [2, 12])])
    nodes = [helper.make_node("Tanh", ["x"], ["h"]),
             helper.make_node("If", ["flag"], ["y"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Add", ["y", "y"], ["z"])]
    m = make_model(nodes, {"x": (F, [2, 3, 4]), "flag": (np.bool_, [])}, {"y": (F, None), "z": (F, None)},
                   [c("s12", np.array([2, 12], np.int64))])
    write_case(out, "if_branch_view_of_capture_then", m, {"x": x, "flag": np.array(True)})
    write_case(out, "if_branch_view_of_capture_else", m, {"x": x, "flag": np.array(False)})

    # a long chain of reshapes and identities (every step a view or a take-over)
    nodes, prev = [], "x"
    for i in range(40):
        op = ["Reshape", "Identity", "Unsqueeze", "Squeeze", "Flatten"][i % 5]
        o = "c%d" % i
        if op == "Reshape":
            nodes.append(helper.make_node(op, [prev, "s12"], [o]))
        elif op == "Unsqueeze":
            nodes.append(helper.make_node(op, [prev, "ax0"], [o]))
        elif op == "Squeeze":
            nodes.append(helper.make_node(op, [prev, "ax0"], [o]))
        elif op == "Flatten":
            nodes.append(helper.make_node(op, [prev], [o], axis=1))
        else:
            nodes.append(helper.make_node(op, [prev], [o]))
        if i == 20:
            nodes.append(helper.make_node("Neg", [o], ["n20"]))
            o = "n20"
        prev = o
    m = make_model(nodes, {"x": (F, [2, 3, 4])}, {prev: (F, None), "c7": (F, None)},
                   [c("s12", np.array([2, 12], np.int64)), c("ax0", np.array([0], np.int64))])
    write_case(out, "reshape_identity_chain", m, {"x": x})

    # Reshape of reshape-like ops: collapsed onto the first input when the
    # target copies no dim (-1 is fine), not when it has a 0 (copies a dim
    # of the Unsqueeze's output) or the intermediate is read again
    nodes = [helper.make_node("Unsqueeze", ["x", "ax0"], ["u"]),              # (1, 2, 3, 4)
             helper.make_node("Flatten", ["u"], ["f"], axis=2),                # (2, 12)
             helper.make_node("Reshape", ["f", "t_m1"], ["a"]),                # (4, 6): collapses to x
             helper.make_node("Unsqueeze", ["x", "ax0"], ["u3"]),
             helper.make_node("Reshape", ["u3", "t_zero"], ["b"]),             # (1, 24): 0 copies dim 0
             helper.make_node("Unsqueeze", ["x", "ax0"], ["u2"]),
             helper.make_node("Reshape", ["u2", "t_m1"], ["c"]),                # u2 read again below
             helper.make_node("ReduceSum", ["u2"], ["u2s"], keepdims=0),
             helper.make_node("Reshape", ["f", "t_az"], ["d"], allowzero=1)]    # f read twice: kept
    m = make_model(nodes, {"x": (F, [2, 3, 4])},
                   {"a": (F, None), "b": (F, None), "c": (F, None), "u2s": (F, None), "d": (F, None)},
                   [c("ax0", np.array([0], np.int64)), c("t_m1", np.array([4, -1], np.int64)),
                    c("t_zero", np.array([0, -1], np.int64)), c("t_az", np.array([24, 1], np.int64))])
    write_case(out, "reshape_of_reshapes_collapsed", m, {"x": x})


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    folding(out)
    optimizer(out)
    aliasing(out)


if __name__ == "__main__":
    main()
