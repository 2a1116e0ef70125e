#!/usr/bin/env python3
"""Kernel cases for float16 models computing in float32 (engine/src/
fp16_promote.c): every float16 value inside the graph is float32, only the
graph's inputs and outputs are float16, as onnxruntime does on CPU.

    make_float16_cases.py OUT_DIR

Expected outputs from onnxruntime.  Each case is built so that computing
in float16 gives a different answer:

  overflow     Pow then ReduceMean (x^2 = 9e4 overflows float16, the mean
               does not), MatMul and ReduceSum over long rows of large
               values, Softmax and LayerNormalization of large rows, Exp of
               a value whose float16 result overflows before a Log
  precision    long accumulations (ReduceSum, MatMul with K = 4099) where
               float16 summation loses digits
  boundaries   a float16 input that is also an output, an input read by a
               subgraph, an output read again inside, an initializer that
               is an output, the same output listed twice, keep_io_types
               Casts (float32 in, Cast to float16, compute, Cast back)
  attributes   Cast to FLOAT16 inside, ConstantOfShape and Constant with
               float16 values, EyeLike with dtype FLOAT16, If branches and a
               Loop body with float16 values and initializers
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from cases import make_model, write_case

F16 = np.float16
H = TensorProto.FLOAT16
ISA = ("portable", "avx2", "avx512")


def f16(*shape, scale=1.0, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(F16)


def case(out, name, nodes, inputs, outputs, feed, inits=(), opset=21, rtol=1e-2, atol=1e-3):
    m = make_model(nodes, inputs, outputs, inits, opset=opset)
    write_case(out, name, m, feed, rtol=rtol, atol=atol, isa=ISA)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = helper.make_node

    # Pow -> ReduceMean: x^2 overflows float16 (x up to ~300), the mean of squares does not
    x = f16(4, 37, scale=150.0)
    case(out, "pow_reducemean_overflow",
         [n("Pow", ["x", "two"], ["p"]), n("ReduceMean", ["p", "ax"], ["m"], keepdims=1),
          n("Sqrt", ["m"], ["s"]), n("Div", ["x", "s"], ["y"])],
         {"x": (F16, [4, 37])}, {"y": (F16, None)}, {"x": x},
         [("two", np.array(2.0, F16)), ("ax", np.array([1], np.int64))])

    # MatMul over K = 4099 of large values: partial sums overflow float16
    a = f16(3, 4099, scale=8.0, seed=1)
    b = f16(4099, 5, scale=8.0, seed=2)
    case(out, "matmul_long_k",
         [n("MatMul", ["a", "b"], ["c"]), n("Mul", ["c", "k"], ["y"])],
         {"a": (F16, [3, 4099])}, {"y": (F16, None)}, {"a": a},
         [("b", b), ("k", np.array(1e-3, F16))])

    # ReduceSum of many small values: float16 accumulation stalls
    r = (np.abs(f16(2, 5000, seed=3)) * F16(0.01)).astype(F16)
    case(out, "reducesum_precision",
         [n("ReduceSum", ["r", "ax"], ["y"], keepdims=0)],
         {"r": (F16, [2, 5000])}, {"y": (F16, None)}, {"r": r},
         [("ax", np.array([1], np.int64))])

    # Gemm + Softmax + LayerNormalization of large rows
    g = f16(6, 33, scale=20.0, seed=4)
    case(out, "gemm_softmax_layernorm",
         [n("Gemm", ["g", "w", "bias"], ["h"], transB=1),
          n("Softmax", ["h"], ["s"], axis=-1),
          n("Mul", ["h", "s"], ["hs"]),
          n("LayerNormalization", ["hs", "lw", "lb"], ["y"], axis=-1, epsilon=1e-5)],
         {"g": (F16, [6, 33])}, {"y": (F16, None)}, {"g": g},
         [("w", f16(19, 33, scale=30.0, seed=5)), ("bias", f16(19, seed=6)),
          ("lw", f16(19, seed=7)), ("lb", f16(19, seed=8))])

    # Exp overflows float16 for x > 11.1; Log brings it back
    e = np.linspace(8, 14, 29).astype(F16).reshape(1, 29)
    case(out, "exp_log_overflow",
         [n("Exp", ["e"], ["ex"]), n("Add", ["ex", "one"], ["ex1"]), n("Log", ["ex1"], ["y"])],
         {"e": (F16, [1, 29])}, {"y": (F16, None)}, {"e": e}, [("one", np.array(1.0, F16))])

    # Conv with many input channels and large values
    cx = f16(1, 64, 7, 9, scale=10.0, seed=9)
    case(out, "conv_relu",
         [n("Conv", ["cx", "cw", "cb"], ["c"], pads=[1, 1, 1, 1]), n("Relu", ["c"], ["y"])],
         {"cx": (F16, [1, 64, 7, 9])}, {"y": (F16, None)}, {"cx": cx},
         [("cw", f16(5, 64, 3, 3, scale=5.0, seed=10)), ("cb", f16(5, seed=11))])

    # boundaries: input also an output, initializer output, output read inside, listed twice
    bx = f16(3, 4, seed=12)
    m = make_model([n("Mul", ["bx", "bx"], ["sq"]), n("Add", ["sq", "bx"], ["y"]),
                    n("Neg", ["sq"], ["nsq"])],
                   {"bx": (F16, [3, 4])},
                   {"y": (F16, None), "sq": (F16, None), "bx": (F16, None), "w": (F16, None),
                    "nsq": (F16, None)},
                   [("w", f16(2, 2, seed=13))])
    m.graph.output.append(m.graph.output[1])        # "sq" listed twice
    write_case(out, "boundaries", m, {"bx": bx}, rtol=1e-2, atol=1e-3, isa=ISA)

    # keep_io_types: float32 in, Cast to float16, compute, Cast back to float32
    kx = (np.random.default_rng(14).standard_normal((2, 50)) * 200).astype(np.float32)
    case(out, "keep_io_types",
         [n("Cast", ["kx"], ["kh"], to=H), n("Mul", ["kh", "kh"], ["k2"]),
          n("ReduceMean", ["k2", "ax"], ["km"]), n("Sqrt", ["km"], ["ks"]),
          n("Cast", ["ks"], ["y"], to=TensorProto.FLOAT)],
         {"kx": (np.float32, [2, 50])}, {"y": (np.float32, None)}, {"kx": kx},
         [("ax", np.array([1], np.int64))])

    # attributes: Cast to FLOAT16 inside, ConstantOfShape / Constant float16, EyeLike dtype
    ax_ = f16(4, 4, scale=300.0, seed=15)
    case(out, "attributes",
         [n("Cast", ["ax_"], ["a32"], to=TensorProto.FLOAT),
          n("Mul", ["a32", "a32"], ["a2"]),
          n("Cast", ["a2"], ["a2h"], to=H),
          n("ConstantOfShape", ["shp"], ["cs"], value=numpy_helper.from_array(np.array([0.5], F16))),
          n("Constant", [], ["cst"], value=numpy_helper.from_array(np.full((4, 4), 3.0, F16))),
          n("EyeLike", ["ax_"], ["eye"], dtype=H),
          n("Mul", ["a2h", "cs"], ["m1"]), n("Add", ["m1", "cst"], ["m2"]),
          n("Add", ["m2", "eye"], ["m3"]),
          n("ReduceMean", ["m3", "ax"], ["m4"]), n("Sqrt", ["m4"], ["y"])],
         {"ax_": (F16, [4, 4])}, {"y": (F16, None)}, {"ax_": ax_},
         [("shp", np.array([4, 4], np.int64)), ("ax", np.array([1], np.int64))])

    # If branches and a Loop body with float16 values, initializers and outer captures
    ix = f16(3, 5, scale=200.0, seed=16)

    def branch(name, scale):
        return helper.make_graph(
            [n("Mul", ["ix", "ix"], ["b_sq"]), n("Mul", ["b_sq", "b_k"], ["b_out"])], name, [],
            [helper.make_tensor_value_info("b_out", H, None)],
            [numpy_helper.from_array(np.array(scale, F16), "b_k")])

    body = helper.make_graph(
        [n("Mul", ["acc", "ix"], ["acc1"]), n("ReduceMean", ["acc1", "ax"], ["acc_m"]),
         n("Div", ["acc1", "acc_m"], ["acc2"]), n("Identity", ["cond"], ["cond_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc", H, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc2", H, None)])
    case(out, "subgraphs",
         [n("If", ["flag"], ["br"], then_branch=branch("then", 1.0), else_branch=branch("else", -1.0)),
          n("ReduceMean", ["br", "ax"], ["brm"]),
          n("Loop", ["trip", "", "ix"], ["lp"], body=body),
          n("Add", ["brm", "lp"], ["y"])],
         {"ix": (F16, [3, 5]), "flag": (np.bool_, [])}, {"y": (F16, None)},
         {"ix": ix, "flag": np.array(True)},
         [("ax", np.array([1], np.int64)), ("trip", np.array(3, np.int64))])


if __name__ == "__main__":
    main()
