#!/usr/bin/env python3
"""Kernel cases for MatMul and Gemm (engine/ops/ops_matmul.c over src/gemm.c).

    make_gemm_cases.py OUT_DIR

run_kernel_tests.py --isa portable|avx2|avx512 runs them on the portable
C, AVX2 and AVX-512 GEMM microkernels (the test command runs all three),
so each kernel takes: constant B packed at load
(MatMul, Gemm with and without transB), constant A packed (MatMul W @ x),
non-constant operands packed per call, the few-row paths (M = 1..4), odd
M, N, K that leave tile edges, K and M past the cache blocks (KC = 256,
MC = 112), broadcast batch MatMul, 1-D operands, Gemm's transA, transB,
alpha, beta and every C broadcast, and the optimizer's fusions: Add of a
bias into MatMul, Relu into Gemm, which the GEMM's epilogue applies (bias
row, Relu, narrow outputs, K past the depth block, A read in place or
packed when its rows are 4 KiB apart), and Relu or spelled-out GELU
folded into MatMul after its bias.
"""
import sys

import numpy as np
from onnx import helper

from cases import make_model, write_case

F = np.float32
rng = np.random.default_rng(13)
CASES = []


def rnd(*shape):
    return rng.uniform(-1, 1, size=shape).astype(F)


def case(name, nodes, inputs, inits, feed, k):
    """Record a one-output case; K sets the tolerance (float sums of K terms)."""
    outs = {nodes[-1].output[0]: (F, None)}
    m = make_model(nodes, {n: (F, list(feed[n].shape)) for n in inputs}, outs,
                   initializers=list(inits.items()))
    CASES.append((name, m, feed, 1e-4, 1e-5 * max(1.0, k / 8.0)))


def matmul(name, a_shape, b_shape, const_a=False, const_b=False, bias=None, bias_first=False):
    a, b = rnd(*a_shape), rnd(*b_shape)
    inits, feed, inputs = {}, {}, []
    for n, v, c in (("a", a, const_a), ("b", b, const_b)):
        if c:
            inits[n] = v
        else:
            feed[n] = v
            inputs.append(n)
    nodes = [helper.make_node("MatMul", ["a", "b"], ["mm" if bias is not None else "y"])]
    if bias is not None:
        inits["bias"] = rnd(bias)
        nodes.append(helper.make_node("Add", ["bias", "mm"] if bias_first else ["mm", "bias"], ["y"]))
    case(name, nodes, inputs, inits, feed, a_shape[-1])


def gemm(name, M, N, K, ta=0, tb=0, alpha=None, beta=None, c_shape=None, const_b=True, relu=False,
         gelu_form=None):
    a = rnd(*((K, M) if ta else (M, K)))
    b = rnd(*((N, K) if tb else (K, N)))
    attrs = {"transA": ta, "transB": tb}
    if alpha is not None:
        attrs["alpha"] = alpha
    if beta is not None:
        attrs["beta"] = beta
    inits, feed, inputs = {}, {"a": a}, ["a"]
    if const_b:
        inits["b"] = b
    else:
        feed["b"] = b
        inputs.append("b")
    ins = ["a", "b"]
    if c_shape is not None:
        inits["c"] = rnd(*c_shape)
        ins.append("c")
    nodes = [helper.make_node("Gemm", ins, ["g" if relu or gelu_form is not None else "y"], **attrs)]
    if relu:
        nodes.append(helper.make_node("Relu", ["g"], ["y"]))
    if gelu_form is not None:
        gn, gi = gelu_nodes("g", "y", gelu_form)
        nodes += gn
        inits.update(gi)
    case(name, nodes, inputs, inits, feed, K)


def gelu_nodes(x, y, form, scale="div", half=0.5, one=1.0):
    """GELU spelled out with Erf (form 0: x*0.5*(1+erf), 1: x*(0.5*(1+erf)),
    2: x*(1+erf)*0.5), operand orders varied; constants as initializers."""
    inits = {"g_s": np.array(np.sqrt(2.0) if scale == "div" else 1 / np.sqrt(2.0), F),
             "g_half": np.array(half, F), "g_one": np.array(one, F)}
    n = [helper.make_node("Div" if scale == "div" else "Mul", [x, "g_s"], ["g_d"]),
         helper.make_node("Erf", ["g_d"], ["g_e"]),
         helper.make_node("Add", ["g_one", "g_e"] if form else ["g_e", "g_one"], ["g_a"])]
    if form == 0:
        n += [helper.make_node("Mul", [x, "g_half"], ["g_h"]),
              helper.make_node("Mul", ["g_a", "g_h"], [y])]
    elif form == 1:
        n += [helper.make_node("Mul", ["g_half", "g_a"], ["g_h"]),
              helper.make_node("Mul", ["g_h", x], [y])]
    else:
        n += [helper.make_node("Mul", ["g_a", x], ["g_h"]),
              helper.make_node("Mul", ["g_h", "g_half"], [y])]
    return n, inits


def matmul_act(name, M, K, N, act, bias=True, form=0, scale="div", half=0.5):
    """MatMul (constant B) + Add(bias) + activation: Relu or spelled-out GELU."""
    a, b = rnd(M, K), rnd(K, N) * 2
    inits = {"b": b}
    nodes = [helper.make_node("MatMul", ["a", "b"], ["mm"])]
    x = "mm"
    if bias:
        inits["bias"] = rnd(N)
        nodes.append(helper.make_node("Add", ["mm", "bias"], ["mb"]))
        x = "mb"
    if act == "relu":
        nodes.append(helper.make_node("Relu", [x], ["y"]))
    else:
        gn, gi = gelu_nodes(x, "y", form, scale, half)
        nodes += gn
        inits.update(gi)
    case(name, nodes, ["a"], inits, {"a": a}, K)


def build():
    # MatMul, constant B packed at load: few rows, odd edges, past the blocks
    for M, K, N in ((1, 64, 70), (2, 33, 45), (3, 5, 32), (4, 300, 33), (5, 1, 7), (17, 70, 1),
                    (14, 256, 32), (130, 300, 100), (1, 600, 40)):
        matmul("matmul_constb_%dx%dx%d" % (M, K, N), (M, K), (K, N), const_b=True)
        matmul("matmul_inputb_%dx%dx%d" % (M, K, N), (M, K), (K, N))
    matmul("matmul_constb_batched_a", (2, 3, 7, 20), (20, 19), const_b=True)
    matmul("matmul_consta", (29, 40), (40, 50), const_a=True)
    matmul("matmul_consta_batched_b", (6, 9), (3, 9, 35), const_a=True)
    matmul("matmul_consta_vector_b", (31, 12), (12,), const_a=True)
    matmul("matmul_vector_a_constb", (37,), (37, 18), const_b=True)
    matmul("matmul_constb_vector", (5, 23), (23,), const_b=True)
    matmul("matmul_broadcast_batch", (2, 1, 4, 13), (3, 13, 21))
    matmul("matmul_broadcast_batch_b", (5, 17), (2, 3, 17, 6))
    matmul("matmul_batch_both", (4, 9, 30), (4, 30, 11))
    matmul("matmul_k0_bias", (3, 0), (0, 5), const_b=True, bias=5)
    # fused bias: MatMul + Add(bias), either order, packed or not
    matmul("matmul_bias_constb", (3, 50), (50, 40), const_b=True, bias=40)
    matmul("matmul_bias_first_constb", (1, 50), (50, 40), const_b=True, bias=40, bias_first=True)
    matmul("matmul_bias_inputb", (20, 30), (30, 33), bias=33)
    matmul("matmul_bias_batched", (2, 7, 30), (30, 17), const_b=True, bias=17)
    # Gemm: transposes, alpha/beta, C broadcast, packed or per call, fused Relu
    for ta in (0, 1):
        for tb in (0, 1):
            gemm("gemm_t%d%d_constb" % (ta, tb), 19, 37, 45, ta, tb, c_shape=(37,))
            gemm("gemm_t%d%d_inputb" % (ta, tb), 19, 37, 45, ta, tb, alpha=0.5, beta=2.0,
                 c_shape=(19, 37), const_b=False)
    # square weights: a transposition mistake in packing cannot hide behind a shape check
    gemm("gemm_square_t01_constb", 7, 40, 40, tb=1, c_shape=(40,))
    gemm("gemm_square_t10_constb", 40, 9, 40, ta=1, c_shape=(9,))
    matmul("matmul_square_consta", (24, 24), (24, 5), const_a=True)
    gemm("gemm_linear_m1", 1, 100, 64, tb=1, c_shape=(100,))
    gemm("gemm_linear_m3", 3, 33, 300, tb=1, c_shape=(1, 33))
    gemm("gemm_c_column", 9, 20, 8, c_shape=(9, 1), alpha=-1.5, beta=0.25)
    gemm("gemm_c_scalar", 9, 20, 8, c_shape=(1,))
    gemm("gemm_no_c", 16, 31, 17, alpha=2.0)
    gemm("gemm_beta0_with_c", 16, 31, 17, beta=0.0, c_shape=(16, 31))
    gemm("gemm_relu_constb", 40, 64, 100, tb=1, c_shape=(64,), relu=True)
    gemm("gemm_relu_inputb", 3, 29, 10, c_shape=(29,), const_b=False, relu=True)
    gemm("gemm_large", 150, 70, 520, tb=1, c_shape=(70,))
    # the GEMM epilogue (bias row added, Relu applied while C is in registers):
    # narrow outputs (N <= 16: one-vector tiles), K past KC (bias added once),
    # A read in place or packed (rows 4 KiB apart), beta != 1 (bias copied)
    gemm("gemm_relu_narrow_n10", 64, 10, 256, c_shape=(10,), relu=True)
    gemm("gemm_relu_narrow_n10_odd", 65, 10, 255, tb=1, c_shape=(1, 10), relu=True)
    gemm("gemm_bias_narrow_n16", 15, 16, 33, c_shape=(16,))
    gemm("gemm_bias_n17", 15, 17, 33, c_shape=(17,), relu=True)
    gemm("gemm_relu_no_c", 29, 45, 70, relu=True)
    gemm("gemm_relu_bias_k520", 30, 70, 520, c_shape=(70,), relu=True)
    gemm("gemm_relu_bias_ta", 30, 40, 50, ta=1, c_shape=(40,), relu=True)
    gemm("gemm_relu_bias_inputb_tb", 7, 21, 19, tb=1, c_shape=(21,), const_b=False, relu=True)
    gemm("gemm_bias_beta2", 9, 33, 20, beta=2.0, c_shape=(33,), relu=True)
    gemm("gemm_bias_alpha", 9, 33, 20, alpha=-0.75, c_shape=(33,))
    gemm("gemm_bias_k1024", 5, 20, 1024, c_shape=(20,), relu=True)
    matmul("matmul_bias_k1024", (5, 1024), (1024, 20), const_b=True, bias=20)
    matmul("matmul_bias_k3072_m15", (15, 3072), (3072, 9), const_b=True, bias=9)
    matmul("matmul_bias_consta", (29, 40), (40, 50), const_a=True, bias=50)
    matmul("matmul_bias_narrow", (64, 256), (256, 10), const_b=True, bias=10)
    # activations folded into MatMul after its bias: Relu (the epilogue's),
    # GELU spelled out with Erf in its three forms (fused_act.c)
    matmul_act("matmul_bias_relu", 33, 70, 45, "relu")
    matmul_act("matmul_relu_nobias", 5, 20, 17, "relu", bias=False)
    for form in (0, 1, 2):
        matmul_act("matmul_bias_gelu_form%d" % form, 17, 64, 100, "gelu", form=form)
    matmul_act("matmul_bias_gelu_mulscale", 9, 30, 70, "gelu", form=0, scale="mul")
    matmul_act("matmul_gelu_nobias", 3, 16, 33, "gelu", bias=False, form=2)
    gemm("gemm_bias_gelu", 13, 50, 40, tb=1, c_shape=(50,), gelu_form=1)
    gemm("gemm_bias_beta2_gelu", 6, 20, 9, beta=2.0, c_shape=(20,), gelu_form=2)
    matmul_act("matmul_gelu_half_wrong", 7, 16, 20, "gelu", form=0, half=0.6)   # not a GELU: unfused


def main():
    out = sys.argv[1]
    build()
    for name, m, feed, rtol, atol in CASES:
        write_case(out, name, m, feed, rtol=rtol, atol=atol)


if __name__ == "__main__":
    main()
