#!/usr/bin/env python3
"""Kernel cases for the com.microsoft fusions (engine/ops/ms_fused.c,
ms_attention.c), expected outputs from onnxruntime (see cases.py).

    make_ms_fused_cases.py OUT_DIR

  activations  Gelu, BiasGelu, FastGelu (with and without bias), QuickGelu
               (default and given alpha) on sizes that leave SIMD tails,
               float32 and float16
  BiasAdd      (N, S, C) with odd C (expected from numpy: onnxruntime has
               it on CUDA only)
  norms        SkipLayerNormalization with and without beta and bias, skip
               broadcast (S, H), every optional output; the simplified
               (RMS) forms; SimplifiedLayerNormalization over the last and
               the last two axes; LayerNormalization at opset 13 (before
               the ONNX operator) and in com.microsoft
  embedding    EmbedLayerNormalization with and without segments, mask,
               position_ids, the embedding_sum output
  attention    Attention with no mask, mask_index (B), (2B), (B, T),
               (B, S, T), unidirectional, past and present, attention_bias,
               qkv_hidden_sizes with a different V size, scale;
               MultiHeadAttention with bias, key_padding_mask (B, T),
               cross attention (L != S), 4-D key/value, past_key/past_value
  rotary       RotaryEmbedding 3-D (with and without num_heads, halves and
               interleaved), 4-D (B, N, S, hd), a position offset (1),
               partial rotary_embedding_dim
  linear       FusedConv with each activation (Relu, Tanh, Sigmoid, LeakyRelu,
               HardSigmoid, Clip), without bias, grouped and strided, the sum
               input Z;
               FusedGemm with each activation, transposes, alpha/beta, C;
               FusedMatMul with alpha, transA/transB, transBatchA/B, batch broadcasting
               (3-D x 2-D, 2-D x 3-D, (2,1,..) x (1,3,..)), 1-D operands
"""
import os
import sys

import numpy as np
from onnx import helper

from cases import make_model, write_case

MS = "com.microsoft"
ISA = ("portable", "avx2", "avx512")
rng = np.random.default_rng(7)


def r(*shape, scale=1.0, dt=np.float32):
    return (rng.standard_normal(shape) * scale).astype(dt)


def case(out, name, op, ins, outs, feed, inits=(), opset=17, rtol=1e-4, atol=1e-5, expected=None, **attrs):
    node = helper.make_node(op, ins, outs, domain=MS if not op.startswith("!") else "", **attrs)
    if op.startswith("!"):
        node.op_type = op[1:]
    types = {k: (v.dtype, list(v.shape)) for k, v in feed.items()}
    m = make_model([node], types, {o: (np.float32, None) for o in outs if o}, inits, opset=opset,
                   domains=[(MS, 1)])
    fdt = next(v.dtype for v in feed.values() if v.dtype.kind == "f")
    for o in m.graph.output:
        o.type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(np.dtype(np.int32 if o.name == "mi" else fdt))
    write_case(out, name, m, feed, rtol=rtol, atol=atol, isa=ISA, expected=expected)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for dt, tag, tol in ((np.float32, "f32", 1e-4), (np.float16, "f16", 1e-2)):
        x = r(3, 5, 37, scale=2, dt=dt)
        b = r(37, dt=dt)
        case(out, "gelu_" + tag, "Gelu", ["x"], ["y"], {"x": x}, rtol=tol, atol=tol)
        case(out, "bias_gelu_" + tag, "BiasGelu", ["x", "b"], ["y"], {"x": x, "b": b}, rtol=tol, atol=tol)
        case(out, "fast_gelu_" + tag, "FastGelu", ["x"], ["y"], {"x": x}, rtol=tol, atol=tol)
        case(out, "fast_gelu_bias_" + tag, "FastGelu", ["x", "b"], ["y"], {"x": x, "b": b}, rtol=tol, atol=tol)
        case(out, "quick_gelu_" + tag, "QuickGelu", ["x"], ["y"], {"x": x}, rtol=tol, atol=tol)
        case(out, "quick_gelu_alpha_" + tag, "QuickGelu", ["x"], ["y"], {"x": x}, rtol=tol, atol=tol, alpha=1.3)
        # onnxruntime has BiasAdd on CUDA only: expected from numpy
        s_ = r(3, 5, 37, dt=dt)
        case(out, "bias_add_" + tag, "BiasAdd", ["x", "b", "s"], ["y"],
             {"x": x, "b": b, "s": s_}, rtol=tol, atol=tol,
             expected=[(x.astype(np.float32) + b.astype(np.float32) + s_.astype(np.float32)).astype(dt)])

    x = r(2, 7, 19, scale=3)
    sk = r(2, 7, 19)
    g, be, bi = r(19), r(19), r(19)
    case(out, "skip_ln_full", "SkipLayerNormalization", ["x", "s", "g", "be", "bi"], ["y", "m", "iv", "sum"],
         {"x": x, "s": sk, "g": g, "be": be, "bi": bi}, epsilon=1e-5)
    case(out, "skip_ln_nobeta", "SkipLayerNormalization", ["x", "s", "g"], ["y"],
         {"x": x, "s": sk, "g": g})
    case(out, "skip_ln_bias_sum", "SkipLayerNormalization", ["x", "s", "g", "", "bi"], ["y", "", "", "sum"],
         {"x": x, "s": sk, "g": g, "bi": bi}, epsilon=1e-6)
    case(out, "skip_ln_broadcast", "SkipLayerNormalization", ["x", "s", "g", "be"], ["y"],
         {"x": x, "s": r(7, 19), "g": g, "be": be})
    case(out, "skip_rms", "SkipSimplifiedLayerNormalization", ["x", "s", "g"], ["y"], {"x": x, "s": sk, "g": g})
    case(out, "skip_rms_bias_sum", "SkipSimplifiedLayerNormalization", ["x", "s", "g", "bi"], ["y", "", "iv", "sum"],
         {"x": x, "s": sk, "g": g, "bi": bi}, epsilon=1e-5)
    case(out, "rms_last", "!SimplifiedLayerNormalization", ["x", "g"], ["y"], {"x": x, "g": g}, epsilon=1e-5)
    case(out, "rms_last2", "!SimplifiedLayerNormalization", ["x", "g2"], ["y", "iv"],
         {"x": x, "g2": r(7, 19)}, axis=1)
    case(out, "layernorm_opset13", "!LayerNormalization", ["x", "g", "be"], ["y"], {"x": x, "g": g, "be": be},
         opset=13, epsilon=1e-5)

    # EmbedLayerNormalization
    B, S, H, V, P = 2, 9, 24, 50, 16
    ids = rng.integers(0, V, (B, S)).astype(np.int32)
    seg = rng.integers(0, 2, (B, S)).astype(np.int32)
    mask = np.ones((B, S), np.int32)
    mask[1, 6:] = 0
    emb = {"ids": ids, "seg": seg, "we": r(V, H), "pe": r(P, H), "se": r(2, H), "g": r(H), "b": r(H),
           "mask": mask}
    case(out, "embed_ln_full", "EmbedLayerNormalization", ["ids", "seg", "we", "pe", "se", "g", "b", "mask"],
         ["y", "mi", "sum"], emb, epsilon=1e-12)
    case(out, "embed_ln_noseg", "EmbedLayerNormalization", ["ids", "", "we", "pe", "", "g", "b", "mask"],
         ["y", "mi"], {k: emb[k] for k in ("ids", "we", "pe", "g", "b", "mask")})
    case(out, "embed_ln_posids", "EmbedLayerNormalization",
         ["ids", "seg", "we", "pe", "se", "g", "b", "", "pid"], ["y", "mi"],
         dict({k: emb[k] for k in ("ids", "seg", "we", "pe", "se", "g", "b")},
              pid=rng.integers(0, P, (B, S)).astype(np.int32)))

    # Attention
    B, S, D, N = 2, 5, 24, 3
    x = r(B, S, D)
    w = r(D, 3 * D, scale=0.3)
    bias = r(3 * D, scale=0.1)
    base = {"x": x, "w": w, "bias": bias}
    case(out, "attn_nomask", "Attention", ["x", "w", "bias"], ["y"], base, num_heads=N)
    case(out, "attn_mask1d", "Attention", ["x", "w", "bias", "m"], ["y"],
         dict(base, m=np.array([5, 3], np.int32)), num_heads=N)
    case(out, "attn_mask2b", "Attention", ["x", "w", "bias", "m"], ["y"],
         dict(base, m=np.array([5, 4, 0, 1], np.int32)), num_heads=N)
    m2 = np.ones((B, S), np.int32)
    m2[0, 1] = 0
    m2[1, 3:] = 0
    case(out, "attn_mask2d", "Attention", ["x", "w", "bias", "m"], ["y"], dict(base, m=m2), num_heads=N)
    case(out, "attn_mask3d", "Attention", ["x", "w", "bias", "m"], ["y"],
         dict(base, m=rng.integers(0, 2, (B, S, S)).astype(np.int32)), num_heads=N, mask_filter_value=-1e4)
    case(out, "attn_causal", "Attention", ["x", "w", "bias"], ["y"], base, num_heads=N, unidirectional=1)
    case(out, "attn_past", "Attention", ["x", "w", "bias", "", "past"], ["y", "present"],
         dict(base, past=r(2, B, N, 4, D // N)), num_heads=N, unidirectional=1)
    case(out, "attn_bias_scale", "Attention", ["x", "w", "bias", "", "", "ab"], ["y"],
         dict(base, ab=r(1, N, S, S)), num_heads=N, scale=0.3)
    case(out, "attn_qkv_sizes", "Attention", ["x", "w2", "bias2"], ["y"],
         {"x": x, "w2": r(D, 2 * D + 12, scale=0.3), "bias2": r(2 * D + 12)}, num_heads=N,
         qkv_hidden_sizes=[D, D, 12])

    # MultiHeadAttention
    L = 7
    q, k, v = r(B, S, D), r(B, L, D), r(B, L, D)
    case(out, "mha_cross", "MultiHeadAttention", ["q", "k", "v"], ["y"], {"q": q, "k": k, "v": v}, num_heads=N)
    kpm = np.ones((B, L), np.int32)
    kpm[1, 4:] = 0
    case(out, "mha_bias_mask", "MultiHeadAttention", ["q", "k", "v", "b", "kpm"], ["y"],
         {"q": q, "k": k, "v": v, "b": r(3 * D), "kpm": kpm}, num_heads=N)
    case(out, "mha_4d_kv", "MultiHeadAttention", ["q", "k4", "v4"], ["y"],
         {"q": q, "k4": r(B, N, L, D // N), "v4": r(B, N, L, D // N)}, num_heads=N)
    case(out, "mha_past", "MultiHeadAttention", ["q", "k", "v", "", "", "", "pk", "pv"], ["y", "pko", "pvo"],
         {"q": q, "k": r(B, S, D), "v": r(B, S, D), "pk": r(B, N, 3, D // N), "pv": r(B, N, 3, D // N)},
         num_heads=N, unidirectional=1)

    linear_cases(out)
    rotary_cases(out)


def rotary_cases(out):
    B, S, N, H, P = 2, 5, 3, 8, 16
    cos, sin = r(P, H // 2), r(P, H // 2)
    pid = rng.integers(0, P, (B, S)).astype(np.int64)
    x3 = r(B, S, N * H)
    for inter in (0, 1):
        case(out, "rotary_3d_%d" % inter, "RotaryEmbedding", ["x", "p", "c", "s"], ["y"],
             {"x": x3, "p": pid, "c": cos, "s": sin}, interleaved=inter, num_heads=N)
    case(out, "rotary_3d_noheads", "RotaryEmbedding", ["x", "p", "c", "s"], ["y"],
         {"x": x3, "p": pid, "c": cos, "s": sin})
    case(out, "rotary_offset", "RotaryEmbedding", ["x", "p1", "c", "s"], ["y"],
         {"x": x3, "p1": np.array([4], np.int64), "c": cos, "s": sin}, num_heads=N)
    case(out, "rotary_4d_interleaved", "RotaryEmbedding", ["x4", "p", "c", "s"], ["y"],
         {"x4": r(B, N, S, H), "p": pid, "c": cos, "s": sin}, interleaved=1)
    case(out, "rotary_partial", "RotaryEmbedding", ["x", "p", "c2", "s2"], ["y"],
         {"x": x3, "p": pid, "c2": r(P, 2), "s2": r(P, 2)}, num_heads=N, rotary_embedding_dim=4)


def linear_cases(out):
    x = r(2, 6, 9, 11)
    w = r(8, 6, 3, 3, scale=0.4)
    cb = r(8)
    acts = [("relu", "Relu", []), ("tanh", "Tanh", []), ("sigmoid", "Sigmoid", []),
            ("leaky", "LeakyRelu", [0.13]), ("hardsig", "HardSigmoid", [0.3, 0.4]), ("clip", "Clip", [-0.5, 0.7])]
    for tag, act, params in acts:
        kw = {"activation": act}
        if params:
            kw["activation_params"] = params
        case(out, "fused_conv_" + tag, "FusedConv", ["x", "w", "b"], ["y"], {"x": x, "w": w, "b": cb},
             pads=[1, 1, 1, 1], **kw)
    case(out, "fused_conv_nobias_stride", "FusedConv", ["x", "w"], ["y"], {"x": x, "w": w},
         strides=[2, 2], activation="Relu")
    case(out, "fused_conv_group", "FusedConv", ["x", "wg", "b"], ["y"], {"x": x, "wg": r(8, 3, 3, 3), "b": cb},
         group=2, pads=[0, 1, 0, 1], activation="LeakyRelu", activation_params=[0.2])
    case(out, "fused_conv_z", "FusedConv", ["x", "w", "b", "z"], ["y"],
         {"x": x, "w": w, "b": cb, "z": r(2, 8, 9, 11)}, pads=[1, 1, 1, 1], activation="Relu")
    case(out, "fused_conv_z_sigmoid_nobias", "FusedConv", ["x", "w", "", "z"], ["y"],
         {"x": x, "w": w, "z": r(2, 8, 9, 11)}, pads=[1, 1, 1, 1], activation="Sigmoid")
    a, bm, c = r(5, 13), r(13, 7), r(7)
    for tag, act, alpha, beta in (("relu", "Relu", None, None), ("tanh", "Tanh", None, None),
                                  ("sigmoid", "Sigmoid", None, None), ("leaky", "LeakyRelu", 0.05, None),
                                  ("hardsig", "HardSigmoid", 0.25, 0.45)):
        kw = {"activation": act}
        if alpha is not None:
            kw["activation_alpha"] = alpha
        if beta is not None:
            kw["activation_beta"] = beta
        case(out, "fused_gemm_" + tag, "FusedGemm", ["a", "bm", "c"], ["y"], {"a": a, "bm": bm, "c": c}, **kw)
    case(out, "fused_gemm_trans", "FusedGemm", ["at", "bt", "c2"], ["y"],
         {"at": r(13, 5), "bt": r(7, 13), "c2": r(5, 7)}, transA=1, transB=1, alpha=0.7, beta=1.3,
         activation="Relu")
    case(out, "fused_matmul_alpha", "FusedMatMul", ["a", "bm"], ["y"], {"a": a, "bm": bm}, alpha=0.5)
    case(out, "fused_matmul_trans", "FusedMatMul", ["at", "bt"], ["y"], {"at": r(3, 13, 5), "bt": r(7, 13)},
         transA=1, transB=1, alpha=1.5)
    case(out, "fused_matmul_bcast", "FusedMatMul", ["a4", "b4"], ["y"], {"a4": r(2, 1, 5, 13), "b4": r(1, 3, 13, 7)},
         alpha=2.0)
    case(out, "fused_matmul_2x3", "FusedMatMul", ["a", "b3"], ["y"], {"a": a, "b3": r(4, 13, 7)}, transB=0)
    for tba, tbb, ta, tb in ((1, 0, 0, 0), (0, 1, 0, 0), (1, 1, 0, 1), (1, 0, 1, 0)):
        sa = (5, 4, 13) if not ta else (13, 4, 5)       # after the batch move: (4, 5, 13) / (4, 13, 5)
        sb = (13, 4, 7) if not tb else (7, 4, 13)
        if not tba:
            sa = (4,) + tuple(d for i, d in enumerate(sa) if i != 1)
        if not tbb:
            sb = (4,) + tuple(d for i, d in enumerate(sb) if i != 1)
        case(out, "fused_matmul_tb_%d%d%d%d" % (tba, tbb, ta, tb), "FusedMatMul", ["ta", "tb"], ["y"],
             {"ta": r(*sa), "tb": r(*sb)}, transBatchA=tba, transBatchB=tbb, transA=ta, transB=tb, alpha=0.8)
    case(out, "fused_matmul_1d", "FusedMatMul", ["v", "b3"], ["y"], {"v": r(13), "b3": r(4, 13, 7)}, alpha=0.3)


if __name__ == "__main__":
    main()
