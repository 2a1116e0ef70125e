#!/usr/bin/env python3
"""Kernel cases for Concat parts written in place (engine/src/concat_plan.c
and the session's reservations, concat_slot in session.c).

    make_concat_plan_cases.py OUT_DIR

A Concat of static shape with dims of 1 before its axis gets the outputs
of the nodes it reads last written straight into its own output.  The
cases take every branch of the plan and of the run: a SqueezeNet fire
module (two Conv + Relu parts); the same with a batch of 2 (no plan);
DenseNet blocks (each Concat a part of the next, each part also read by
BatchNormalization before it; the outermost Concat a graph output); a
part read again after the Concat, a value read twice by one Concat, a
part that is a graph output, graph inputs and initializers among the
parts (not planned: copied); a part made by Reshape (its buffer taken
over, not in place: copied); int64 and float16 parts; a Concat along
axis 2 of (1, 1, H, W) parts; a part whose declared static shape is
wrong (the run's shape differs: the reservation is set aside and the
Concat copies everything); a Concat inside a Loop body (not planned).
Any part placed at a wrong offset, freed while read, or written over
shows as a wrong output or under ASan.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import make_model, write_case  # noqa: E402

rng = np.random.default_rng(20261207)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def conv(nodes, inits, name, x, cin, cout, k, relu=True):
    """Conv (k x k, same pads) of x with cout outputs, optionally Relu; returns its output."""
    w = randn(cout, cin, k, k) / np.float32(np.sqrt(cin * k * k))
    inits += [(name + "_w", w), (name + "_b", randn(cout))]
    p = k // 2
    nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [name + "_c"], pads=[p, p, p, p]))
    if not relu:
        return name + "_c"
    nodes.append(helper.make_node("Relu", [name + "_c"], [name]))
    return name


def fire(out, name, batch):
    nodes, inits = [], []
    s = conv(nodes, inits, "sq", "x", 8, 4, 1)
    e1 = conv(nodes, inits, "e1", s, 4, 6, 1)
    e3 = conv(nodes, inits, "e3", s, 4, 5, 3)
    nodes.append(helper.make_node("Concat", [e1, e3], ["cat"], axis=1))
    y = conv(nodes, inits, "post", "cat", 11, 3, 1)
    m = make_model(nodes, {"x": (np.float32, [batch, 8, 7, 9])}, {y: (np.float32, None)}, initializers=inits)
    write_case(out, name, m, {"x": randn(batch, 8, 7, 9)})


def dense(out, name, n_layers, growth=3, c0=5):
    """MaxPool, then layers: c_k = Concat(c_{k-1}, Conv(Relu(BN(c_{k-1}))))."""
    nodes, inits = [helper.make_node("MaxPool", ["x"], ["c0"], kernel_shape=[2, 2], strides=[2, 2])], []
    cur, ch = "c0", c0
    for k in range(1, n_layers + 1):
        inits += [("bn%d_s" % k, randn(ch)), ("bn%d_b" % k, randn(ch)), ("bn%d_m" % k, randn(ch)),
                  ("bn%d_v" % k, np.abs(randn(ch)) + np.float32(0.5))]
        nodes.append(helper.make_node("BatchNormalization", [cur, "bn%d_s" % k, "bn%d_b" % k, "bn%d_m" % k,
                                                             "bn%d_v" % k], ["bn%d" % k]))
        nodes.append(helper.make_node("Relu", ["bn%d" % k], ["br%d" % k]))
        g = conv(nodes, inits, "g%d" % k, "br%d" % k, ch, growth, 3, relu=False)
        nodes.append(helper.make_node("Concat", [cur, g], ["c%d" % k], axis=1))
        cur, ch = "c%d" % k, ch + growth
    nodes.append(helper.make_node("GlobalAveragePool", [cur], ["gap"]))
    m = make_model(nodes, {"x": (np.float32, [1, c0, 10, 12])},
                   {"gap": (np.float32, None), cur: (np.float32, None)}, initializers=inits)
    write_case(out, name, m, {"x": randn(1, c0, 10, 12)})


def mixed(out):
    """Parts that must not be placed beside ones that are."""
    nodes, inits = [], []
    a = conv(nodes, inits, "a", "x", 3, 4, 3)
    b = conv(nodes, inits, "b", "x", 3, 2, 1)
    c = conv(nodes, inits, "c", "x", 3, 3, 1)
    d = conv(nodes, inits, "d", "x", 3, 2, 1)
    inits.append(("k", randn(1, 2, 6, 5)))
    # a read again after the Concat; b twice; c a graph output; x a graph input; k an initializer
    nodes.append(helper.make_node("Concat", [a, b, "x", b, c, "k", d], ["cat"], axis=1))
    nodes.append(helper.make_node("ReduceSum", ["cat"], ["rs"], axes=[1], keepdims=1))
    nodes.append(helper.make_node("Add", ["rs", a], ["y"]))
    m = make_model(nodes, {"x": (np.float32, [1, 3, 6, 5])},
                   {"y": (np.float32, None), c: (np.float32, None), "cat": (np.float32, None)},
                   initializers=inits, opset=12)
    write_case(out, "concat_plan_mixed", m, {"x": randn(1, 3, 6, 5)})


def reshaped(out):
    """A part made by Reshape (takes its input's buffer) beside a Conv's."""
    nodes, inits = [], []
    a = conv(nodes, inits, "a", "x", 4, 6, 1)
    b = conv(nodes, inits, "b", "x", 4, 12, 1)
    inits.append(("shp", np.array([1, 6, 6, 4], dtype=np.int64)))
    nodes.append(helper.make_node("Reshape", [b, "shp"], ["br"]))
    nodes.append(helper.make_node("Upsample", [a, "scales"], ["au"], mode="nearest"))
    inits.append(("scales", np.array([1, 1, 2, 1], dtype=np.float32)))
    nodes.append(helper.make_node("Concat", ["br", "au"], ["cat"], axis=1))
    nodes.append(helper.make_node("Sigmoid", ["cat"], ["y"]))
    m = make_model(nodes, {"x": (np.float32, [1, 4, 3, 4])}, {"y": (np.float32, None)}, initializers=inits,
                   opset=9)
    write_case(out, "concat_plan_reshaped_part", m, {"x": randn(1, 4, 3, 4)})


def typed(out):
    """int64 and float16 parts (Add / Mul outputs), and axis 2 of (1, 1, H, W)."""
    for dt, name in ((np.int64, "int64"), (np.float16, "float16")):
        nodes = [helper.make_node("Add", ["p", "q"], ["s"]), helper.make_node("Mul", ["p", "q"], ["m"]),
                 helper.make_node("Concat", ["s", "m"], ["cat"], axis=1),
                 helper.make_node("Add", ["cat", "cat"], ["y"])]
        m = make_model(nodes, {"p": (dt, [1, 3, 5]), "q": (dt, [1, 3, 5])}, {"y": (dt, None)})
        p = (rng.integers(-9, 9, (1, 3, 5)) if dt == np.int64 else randn(1, 3, 5)).astype(dt)
        q = (rng.integers(-9, 9, (1, 3, 5)) if dt == np.int64 else randn(1, 3, 5)).astype(dt)
        write_case(out, "concat_plan_%s" % name, m, {"p": p, "q": q}, rtol=1e-3, atol=1e-3)
    nodes = [helper.make_node("Relu", ["p"], ["r"]), helper.make_node("Neg", ["p"], ["n"]),
             helper.make_node("Sigmoid", ["p"], ["g"]),
             helper.make_node("Concat", ["r", "n", "g"], ["cat"], axis=2),
             helper.make_node("Transpose", ["cat"], ["y"], perm=[0, 1, 3, 2])]
    m = make_model(nodes, {"p": (np.float32, [1, 1, 4, 5])}, {"y": (np.float32, None)})
    write_case(out, "concat_plan_axis2", m, {"p": randn(1, 1, 4, 5)})


def wrong_static_shape(out):
    """A Tile part whose value_info claims (1, 2, 3, 4); the run makes (1, 2, 6, 4)
    (repeats fed at run time): the Concat's reserved output has the wrong size."""
    nodes, inits = [], []
    a = conv(nodes, inits, "a", "x", 2, 3, 1)
    nodes.append(helper.make_node("Tile", ["x", "reps"], ["t"]))
    nodes.append(helper.make_node("Concat", [a, "t"], ["cat"], axis=1))
    nodes.append(helper.make_node("Neg", ["cat"], ["y"]))
    m = make_model(nodes, {"x": (np.float32, [1, 2, 3, 4]), "reps": (np.int64, [4])},
                   {"y": (np.float32, None)}, initializers=inits)
    m.graph.value_info.append(helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 2, 3, 4]))
    m.graph.value_info.append(helper.make_tensor_value_info("cat", TensorProto.FLOAT, [1, 5, 3, 4]))
    x = randn(1, 2, 3, 4)
    reps = np.array([1, 1, 1, 1], dtype=np.int64)
    write_case(out, "concat_plan_static_shape_kept", m, {"x": x, "reps": reps})
    # the same model fed repeats that break the declared shape: Concat then fails on
    # its inputs (a (1,3,3,4) beside t (1,2,6,4)) or, with matching rows, copies
    nodes2 = [n for n in nodes]
    m2 = make_model(nodes2, {"x": (np.float32, [1, 2, 3, 4]), "reps": (np.int64, [4])},
                    {"y": (np.float32, None)}, initializers=inits)
    m2.graph.value_info.append(helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 2, 3, 4]))
    m2.graph.value_info.append(helper.make_tensor_value_info("cat", TensorProto.FLOAT, [1, 5, 3, 4]))
    reps2 = np.array([1, 2, 1, 1], dtype=np.int64)
    w = dict(inits)
    a_ref = np.maximum(np.einsum("oc,nchw->nohw", w["a_w"][:, :, 0, 0], x) + w["a_b"][None, :, None, None], 0)
    y_ref = -np.concatenate([a_ref, np.tile(x, (1, 2, 1, 1))], axis=1).astype(np.float32)
    write_case(out, "concat_plan_static_shape_broken", m2, {"x": x, "reps": reps2}, expected=[y_ref])


def loop_body(out):
    """A Concat inside a Loop body (the plan covers the main graph only)."""
    body_nodes = [helper.make_node("Relu", ["v_in"], ["r"]), helper.make_node("Neg", ["v_in"], ["n"]),
                  helper.make_node("Concat", ["r", "n"], ["cat"], axis=1),
                  helper.make_node("ReduceSum", ["cat"], ["v_out"], axes=[1], keepdims=1),
                  helper.make_node("Identity", ["cond_in"], ["cond_out"])]
    body = helper.make_graph(
        body_nodes, "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1, 1, 4])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1, 1, 4])])
    nodes = [helper.make_node("Loop", ["trip", "", "v0"], ["v"], body=body)]
    m = make_model(nodes, {"trip": (np.int64, []), "v0": (np.float32, [1, 1, 4])}, {"v": (np.float32, None)},
                   opset=12)
    write_case(out, "concat_plan_loop_body", m, {"trip": np.array(3, dtype=np.int64), "v0": randn(1, 1, 4)})


def main(out):
    os.makedirs(out, exist_ok=True)
    fire(out, "concat_plan_fire", 1)
    fire(out, "concat_plan_fire_batch2", 2)
    dense(out, "concat_plan_dense", 4)
    mixed(out)
    reshaped(out)
    typed(out)
    wrong_static_shape(out)
    loop_body(out)


if __name__ == "__main__":
    main(sys.argv[1])
