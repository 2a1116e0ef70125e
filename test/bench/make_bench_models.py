#!/usr/bin/env python3
"""Benchmark models with random weights (seeded), written to a directory
(default test/bench/models/, git-ignored):

  mlp.onnx       3-layer 256-wide MLP: [N, 256] -> Gemm+Relu x3 -> [N, 10]
  resnet18.onnx  ResNet-18-shaped CNN on [N, 3, 64, 64] images (conv 7x7/2,
                 maxpool, 4 stages of 2 basic blocks 64/128/256/512 with
                 BatchNormalization, global average pool, Gemm to 1000)
  bert_layer.onnx  one BERT-base encoder layer: [N, 128, 768], 12 heads,
                 FFN 3072, GELU (Erf), LayerNormalization
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
rng = np.random.default_rng(7)


class G:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, p):
        self.n += 1
        return "%s_%d" % (p, self.n)

    def w(self, shape, scale=None):
        n = self.name("w")
        s = scale if scale is not None else 1.0 / np.sqrt(np.prod(shape[1:]) if len(shape) > 1 else shape[0])
        self.inits.append(numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), n))
        return n

    def c(self, arr):
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def op(self, op, ins, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out


def model(g, inp, out, name, in_shape, out_shape):
    graph = helper.make_graph(g.nodes, name,
                              [helper.make_tensor_value_info(inp, TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)],
                              g.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    return m


def mlp():
    g = G()
    x = "x"
    for _ in range(3):
        x = g.op("Relu", [g.op("Gemm", [x, g.w((256, 256)), g.w((256,), 0.1)])])
    y = g.op("Gemm", [x, g.w((256, 10)), g.w((10,), 0.1)])
    g.nodes[-1].output[0] = "y"
    return model(g, "x", "y", "mlp", ["N", 256], ["N", 10])


def conv_bn(g, x, cin, cout, k, stride, relu=True):
    y = g.op("Conv", [x, g.w((cout, cin, k, k)), g.w((cout,), 0.01)],
             kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)
    y = g.op("BatchNormalization", [y, g.c(np.ones(cout, np.float32)), g.c(np.zeros(cout, np.float32)),
                                    g.c((rng.standard_normal(cout) * 0.1).astype(np.float32)),
                                    g.c(np.ones(cout, np.float32))])
    return g.op("Relu", [y]) if relu else y


def resnet18():
    g = G()
    x = conv_bn(g, "x", 3, 64, 7, 2)
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        for b in range(2):
            s = stride if b == 0 else 1
            y = conv_bn(g, x, cin, cout, 3, s)
            y = conv_bn(g, y, cout, cout, 3, 1, relu=False)
            short = x if (s == 1 and cin == cout) else conv_bn(g, x, cin, cout, 1, s, relu=False)
            x = g.op("Relu", [g.op("Add", [y, short])])
            cin = cout
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    y = g.op("Gemm", [x, g.w((1000, 512)), g.w((1000,), 0.01)], transB=1)
    g.nodes[-1].output[0] = "y"
    return model(g, "x", "y", "resnet18", ["N", 3, 64, 64], ["N", 1000])


def bert_layer(S=128, H=768, heads=12, F=3072):
    g = G()
    d = H // heads

    def linear(x, i, o):
        return g.op("Add", [g.op("MatMul", [x, g.w((i, o))]), g.w((o,), 0.02)])

    def split_heads(x):
        x = g.op("Reshape", [x, g.c(np.array([0, 0, heads, d], np.int64))])
        return g.op("Transpose", [x], perm=[0, 2, 1, 3])

    q, k, v = (split_heads(linear("x", H, H)) for _ in range(3))
    s = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                     g.c(np.array(1.0 / np.sqrt(d), np.float32))])
    p = g.op("Softmax", [s], axis=-1)
    ctx = g.op("Transpose", [g.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
    ctx = g.op("Reshape", [ctx, g.c(np.array([0, 0, H], np.int64))])
    a = g.op("Add", ["x", linear(ctx, H, H)])
    a = g.op("LayerNormalization", [a, g.c(np.ones(H, np.float32)), g.c(np.zeros(H, np.float32))], axis=-1)
    h = linear(a, H, F)
    gelu = g.op("Mul", [g.op("Mul", [h, g.c(np.array(0.5, np.float32))]),
                        g.op("Add", [g.op("Erf", [g.op("Div", [h, g.c(np.array(np.sqrt(2.0), np.float32))])]),
                                     g.c(np.array(1.0, np.float32))])])
    o = g.op("Add", [a, linear(gelu, F, H)])
    o = g.op("LayerNormalization", [o, g.c(np.ones(H, np.float32)), g.c(np.zeros(H, np.float32))], axis=-1)
    g.nodes[-1].output[0] = "y"
    return model(g, "x", "y", "bert_layer", ["N", S, H], ["N", S, H])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
    os.makedirs(out, exist_ok=True)
    for name, fn in [("mlp", mlp), ("resnet18", resnet18), ("bert_layer", bert_layer)]:
        m = fn()
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out, name + ".onnx"))
        print("wrote", os.path.join(out, name + ".onnx"))


if __name__ == "__main__":
    main()
