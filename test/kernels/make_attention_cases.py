#!/usr/bin/env python3
"""Kernel cases for the forms of com.microsoft Attention and MultiHeadAttention
(engine/ops/ms_attention.c) beyond make_ms_fused_cases.py's basic ones:
every mask form, rotary, packed inputs, past, attention_bias, the qk output,
odd head sizes, batch > 1, rows whose keys are all masked, and the shapes
the engine must refuse with a clear message (write_error_case).

    make_attention_cases.py OUT_DIR

Expected outputs come from onnxruntime.  Where its CPU kernel refuses a form
(do_rotary, 4-D masks, packed QKV and KV) they come from an equivalent
onnxruntime graph: RotaryEmbedding + MultiHeadAttention for do_rotary, the
(B, S, T) slice of the 4-D mask, the unpacked query, key and value.
"""
import os
import sys

import numpy as np
from onnx import helper

from cases import make_model, reference, write_case, write_error_case

MS = "com.microsoft"
ISA = ("portable", "avx2", "avx512")
rng = np.random.default_rng(14)


def r(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def model(op, ins, outs, feed, **attrs):
    node = helper.make_node(op, ins, outs, domain=MS, **attrs)
    types = {k: (v.dtype, list(v.shape)) for k, v in feed.items()}
    return make_model([node], types, {o: (np.float32, None) for o in outs if o}, opset=17, domains=[(MS, 1)])


def case(out, name, op, ins, outs, feed, expected=None, rtol=1e-4, atol=1e-5, **attrs):
    write_case(out, name, model(op, ins, outs, feed, **attrs), feed, rtol=rtol, atol=atol, isa=ISA,
               expected=expected)


def error(out, name, op, ins, outs, feed, message, **attrs):
    write_error_case(out, name, model(op, ins, outs, feed, **attrs), feed, message)


def ort(op, ins, outs, feed, **attrs):
    return reference(model(op, ins, outs, feed, **attrs), feed)


def rotary_reference(x, w, b, N, rot, P, mask=None, past=None, unidirectional=0):
    """Attention with do_rotary as onnxruntime graphs: the projection, then
    RotaryEmbedding (positions P + s, angle pos * 10000^(-2i/rot)) on Q and
    K, then MultiHeadAttention with the past."""
    B, S, _ = x.shape
    D = w.shape[1] // 3
    hd = D // N
    g = [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["qkv"])]
    mg = make_model(g, {"x": (np.float32, list(x.shape)), "w": (np.float32, list(w.shape)),
                        "b": (np.float32, list(b.shape))}, {"qkv": (np.float32, None)})
    qkv = reference(mg, {"x": x, "w": w, "b": b})[0]
    q, k, v = qkv[..., :D], qkv[..., D:2 * D], qkv[..., 2 * D:]
    maxp = P + S + 2
    ang = np.arange(maxp)[:, None] * 10000.0 ** (-2.0 * np.arange(rot // 2) / rot)
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    pid = np.tile(np.arange(P, P + S, dtype=np.int64), (B, 1))
    feed = {"x": q, "p": pid, "c": cos, "s": sin}
    q = ort("RotaryEmbedding", ["x", "p", "c", "s"], ["y"], feed, num_heads=N, rotary_embedding_dim=rot)[0]
    feed["x"] = k
    k = ort("RotaryEmbedding", ["x", "p", "c", "s"], ["y"], feed, num_heads=N, rotary_embedding_dim=rot)[0]
    feed = {"q": q, "k": k, "v": v}
    ins = ["q", "k", "v", "", ""]
    if mask is not None:
        feed["m"] = mask
        ins[4] = "m"
    outs = ["y"]
    if past is not None:
        feed["pk"], feed["pv"] = np.ascontiguousarray(past[0]), np.ascontiguousarray(past[1])
        ins += ["", "pk", "pv"]
        outs += ["pko", "pvo"]
    res = ort("MultiHeadAttention", ins, outs, feed, num_heads=N, unidirectional=unidirectional)
    if past is None:
        return res
    return [res[0], np.stack([res[1], res[2]])]


def attention_cases(out):
    # B = 3, odd head size 7
    B, S, N, hd = 3, 6, 2, 7
    D = N * hd
    x, w, b = r(B, S, D), r(D, 3 * D, scale=0.3), r(3 * D, scale=0.1)
    base = {"x": x, "w": w, "b": b}
    xwb = ["x", "w", "b"]
    case(out, "attn_b3_hd7", "Attention", xwb, ["y"], base, num_heads=N)
    case(out, "attn_mask1d_zero_len", "Attention", xwb + ["m"], ["y"],
         dict(base, m=np.array([6, 0, 3], np.int32)), num_heads=N)
    case(out, "attn_mask2b_start", "Attention", xwb + ["m"], ["y"],
         dict(base, m=np.array([6, 5, 2, 0, 2, 1], np.int32)), num_heads=N)
    case(out, "attn_mask3b2", "Attention", xwb + ["m"], ["y"],
         dict(base, m=np.array([4, 6, 1, 0, 4, 10, 16, 0, 6, 12, 18], np.int32)), num_heads=N)
    m2 = np.ones((B, S), np.int32)
    m2[0, 1] = -1
    m2[1, 2] = 2
    m2[2, :] = 0
    case(out, "attn_mask2d_neg_and_row", "Attention", xwb + ["m"], ["y"], dict(base, m=m2), num_heads=N)
    case(out, "attn_mask2d_row_filter", "Attention", xwb + ["m"], ["y"], dict(base, m=m2), num_heads=N,
         mask_filter_value=-30.0)
    m3 = rng.integers(0, 2, (B, S, S)).astype(np.int32)
    m3[1, 2, :] = 0
    case(out, "attn_mask3d_causal", "Attention", xwb + ["m"], ["y"], dict(base, m=m3), num_heads=N,
         unidirectional=1)
    P = 4
    past = r(2, B, N, P, hd)
    mt = np.ones((B, P + S), np.int32)
    mt[0, :2] = 0
    mt[2, P + 3:] = 0
    case(out, "attn_mask2d_causal_past", "Attention", xwb + ["m", "past"], ["y", "present"],
         dict(base, m=mt, past=past), num_heads=N, unidirectional=1)
    # a row whose keys are all masked scores near -10000, where float32 keeps
    # 3 decimals: both engines round the sum their own way (atol 1e-3)
    case(out, "attn_bias_bn_mask", "Attention", xwb + ["m", "", "ab"], ["y"],
         dict(base, m=m2, ab=r(B, N, S, S)), num_heads=N, atol=1e-3)
    x1 = r(B, 1, D)
    case(out, "attn_causal_s1_past", "Attention", xwb + ["", "past"], ["y", "present"],
         dict(base, x=x1, past=past), num_heads=N, unidirectional=1)
    # 4-D mask (B, 1, M, M): onnxruntime's CPU kernel refuses it; expected from its (B, S, T) slice
    M = 13
    m4 = np.tril(np.ones((M, M), np.int32))[None, None].repeat(B, 0)
    m4[1, 0, :, 1] = 0
    m4[2, 0, 3, :] = 0
    feed = dict(base, m=m4)
    exp = ort("Attention", xwb + ["m"], ["y"], dict(base, m=np.ascontiguousarray(m4[:, 0, :S, :S])), num_heads=N)
    case(out, "attn_mask4d", "Attention", xwb + ["m"], ["y"], feed, expected=exp, num_heads=N)
    feed = dict(base, m=m4, past=past)
    exp = ort("Attention", xwb + ["m", "past"], ["y", "present"],
              dict(base, past=past, m=np.ascontiguousarray(m4[:, 0, P:P + S, :P + S])), num_heads=N)
    case(out, "attn_mask4d_past", "Attention", xwb + ["m", "past"], ["y", "present"], feed, expected=exp,
         num_heads=N)
    # qkv_hidden_sizes with a smaller V, scale, mask
    w2, b2 = r(D, 2 * D + 6, scale=0.3), r(2 * D + 6)
    case(out, "attn_qkv_sizes_mask_scale", "Attention", ["x", "w2", "b2", "m"], ["y"],
         {"x": x, "w2": w2, "b2": b2, "m": m2}, num_heads=N, qkv_hidden_sizes=[D, D, 6], scale=0.2)

    # do_rotary: onnxruntime's CPU kernel refuses it; expected from RotaryEmbedding + MultiHeadAttention
    B, S, N, hd = 2, 5, 3, 8
    D = N * hd
    x, w, b = r(B, S, D), r(D, 3 * D, scale=0.3), r(3 * D, scale=0.1)
    base = {"x": x, "w": w, "b": b}
    case(out, "attn_rotary", "Attention", xwb, ["y"], base, expected=rotary_reference(x, w, b, N, hd, 0),
         num_heads=N, do_rotary=1)
    case(out, "attn_rotary_partial_causal", "Attention", xwb, ["y"], base,
         expected=rotary_reference(x, w, b, N, 4, 0, unidirectional=1),
         num_heads=N, do_rotary=1, rotary_embedding_dim=4, unidirectional=1)
    mk = np.ones((B, S), np.int32)
    mk[1, 3:] = 0
    case(out, "attn_rotary_mask", "Attention", xwb + ["m"], ["y"], dict(base, m=mk),
         expected=rotary_reference(x, w, b, N, hd, 0, mask=mk), num_heads=N, do_rotary=1)
    P = 7
    past = r(2, B, N, P, hd)
    x1 = r(B, 1, D)
    case(out, "attn_rotary_past_s1", "Attention", xwb + ["", "past"], ["y", "present"],
         dict(base, x=x1, past=past), expected=rotary_reference(x1, w, b, N, 6, P, past=past, unidirectional=1),
         num_heads=N, do_rotary=1, rotary_embedding_dim=6, unidirectional=1)

    # refusals
    B, S, N, hd = 2, 3, 2, 4
    D = N * hd
    base = {"x": r(B, S, D), "w": r(D, 3 * D), "b": r(3 * D)}
    error(out, "err_attn_mask4d_causal", "Attention", xwb + ["m"], ["y"],
          dict(base, m=np.ones((B, 1, 4, 4), np.int32)), "needs unidirectional = 0", num_heads=N, unidirectional=1)
    error(out, "err_attn_mask4d_small", "Attention", xwb + ["m"], ["y"],
          dict(base, m=np.ones((B, 1, 2, 2), np.int32)), "mask must be", num_heads=N)
    error(out, "err_attn_mask_shape", "Attention", xwb + ["m"], ["y"],
          dict(base, m=np.ones((B, S + 1), np.int32)), "mask must be", num_heads=N)
    error(out, "err_attn_rotary_odd", "Attention", xwb, ["y"], base, "must be even", num_heads=N, do_rotary=1,
          rotary_embedding_dim=3)
    error(out, "err_attn_rotary_big", "Attention", xwb, ["y"], base, "must be even", num_heads=N, do_rotary=1,
          rotary_embedding_dim=8)
    error(out, "err_attn_share_buffer", "Attention", xwb + ["", "past"], ["y", "present"],
          dict(base, past=r(2, B, N, 5, hd)), "past_present_share_buffer", num_heads=N, past_present_share_buffer=1)


def mha_cases(out):
    B, S, N, hd = 2, 5, 3, 5
    D = N * hd
    L = 6
    # packed QKV (B, S, N, 3, hd): expected from the unpacked query, key and value
    qkv = r(B, S, N, 3, hd)
    bias = r(3 * D)
    unp = {n: np.ascontiguousarray(qkv[:, :, :, i].reshape(B, S, D)) for i, n in enumerate("qkv")}
    case(out, "mha_packed_qkv", "MultiHeadAttention", ["p"], ["y"], {"p": qkv},
         expected=ort("MultiHeadAttention", ["q", "k", "v"], ["y"], unp, num_heads=N), num_heads=N)
    kp = np.ones((B, S), np.int32)
    kp[1, 3:] = 0
    case(out, "mha_packed_qkv_bias_mask_causal", "MultiHeadAttention", ["p", "", "", "b", "kp"], ["y"],
         {"p": qkv, "b": bias, "kp": kp},
         expected=ort("MultiHeadAttention", ["q", "k", "v", "b", "kp"], ["y"], dict(unp, b=bias, kp=kp),
                      num_heads=N, unidirectional=1), num_heads=N, unidirectional=1)
    # packed KV (B, L, N, 2, hd)
    q = r(B, S, D)
    kv = r(B, L, N, 2, hd)
    k, v = (np.ascontiguousarray(kv[:, :, :, i].reshape(B, L, D)) for i in range(2))
    kl = np.array([L, 0], np.int32)
    case(out, "mha_packed_kv_bias_len0", "MultiHeadAttention", ["q", "kv", "", "b", "kp"], ["y"],
         {"q": q, "kv": kv, "b": bias, "kp": kl},
         expected=ort("MultiHeadAttention", ["q", "k", "v", "b", "kp"], ["y"], {"q": q, "k": k, "v": v, "b": bias,
                                                                             "kp": kl}, num_heads=N), num_heads=N)
    P = 3
    pk, pv = r(B, N, P, hd), r(B, N, P, hd)
    ab = r(1, N, S, P + L)
    feed = {"q": q, "kv": kv, "ab": ab, "pk": pk, "pv": pv}
    case(out, "mha_packed_kv_past_bias", "MultiHeadAttention", ["q", "kv", "", "", "", "ab", "pk", "pv"],
         ["y", "pko", "pvo"], feed,
         expected=ort("MultiHeadAttention", ["q", "k", "v", "", "", "ab", "pk", "pv"], ["y", "pko", "pvo"],
                      {"q": q, "k": k, "v": v, "ab": ab, "pk": pk, "pv": pv}, num_heads=N), num_heads=N)
    # key_padding_mask forms
    kvf = {"q": q, "k": k, "v": v}
    qkvn = ["q", "k", "v", ""]
    case(out, "mha_kpm_1d", "MultiHeadAttention", qkvn + ["kp"], ["y"], dict(kvf, kp=np.array([4, 2], np.int32)),
         num_heads=N)
    case(out, "mha_kpm_3b2", "MultiHeadAttention", qkvn + ["kp"], ["y"],
         dict(kvf, kp=np.array([3, 6, 0, 5, 10, 0, 6, 12], np.int32)), num_heads=N)
    k3 = rng.integers(0, 2, (B, S, L)).astype(np.int32)
    k3[0, 1, :] = 0
    k3[1, 0, 0] = -3
    case(out, "mha_kpm_3d_row", "MultiHeadAttention", qkvn + ["kp"], ["y"], dict(kvf, kp=k3), num_heads=N)
    kt = np.ones((B, P + L), np.int32)
    kt[0, :2] = 0
    kt[1, P + 4:] = 0
    case(out, "mha_kpm_bt_past_causal", "MultiHeadAttention", qkvn + ["kp", "", "pk", "pv"], ["y", "pko", "pvo"],
         dict(kvf, kp=kt, pk=pk, pv=pv), num_heads=N, unidirectional=1)
    # qk output: scores with mask, bias and causality before softmax
    qs = r(B, S, D)
    kpq = np.ones((B, S), np.int32)
    kpq[0, :] = 0
    feed = {"q": qs, "k": r(B, S, D), "v": r(B, S, D), "kp": kpq, "ab": r(B, 1, S, S)}
    case(out, "mha_qk_out", "MultiHeadAttention", ["q", "k", "v", "", "kp", "ab"], ["y", "pko", "pvo", "qk"], feed,
         num_heads=N, unidirectional=1, atol=1e-3)
    case(out, "mha_ab_bn_scale", "MultiHeadAttention", ["q", "k", "v", "", "", "ab"], ["y"],
         dict(kvf, ab=r(B, N, S, L)), num_heads=N, scale=0.4)
    # one query, causal: onnxruntime does not mask (only S > 1 is causal)
    case(out, "mha_causal_s1_cross", "MultiHeadAttention", ["q", "k", "v"], ["y"],
         dict(kvf, q=r(B, 1, D)), num_heads=N, unidirectional=1)
    case(out, "mha_b3_hd3_4d_kv", "MultiHeadAttention", ["q", "k", "v"], ["y"],
         {"q": r(3, 4, 6), "k": r(3, 2, 7, 3), "v": r(3, 2, 7, 3)}, num_heads=2)

    # refusals
    error(out, "err_mha_packed_with_key", "MultiHeadAttention", ["p", "k"], ["y"], {"p": qkv, "k": k},
          "packed QKV must be", num_heads=N)
    error(out, "err_mha_packed_heads", "MultiHeadAttention", ["p"], ["y"], {"p": qkv}, "packed QKV must be",
          num_heads=5)
    error(out, "err_mha_packed_kv_hd", "MultiHeadAttention", ["q", "kv"], ["y"], {"q": r(B, S, 12), "kv": kv},
          "packed KV must be", num_heads=N)
    error(out, "err_mha_no_value", "MultiHeadAttention", ["q", "k"], ["y"], {"q": q, "k": k},
          "needs key and value", num_heads=N)
    error(out, "err_mha_past_seq_len", "MultiHeadAttention", ["q", "k", "v", "", "", "", "pk", "pv", "psl"],
          ["y"], dict(kvf, pk=pk, pv=pv, psl=np.array([1], np.int32)), "past_sequence_length", num_heads=N)
    error(out, "err_mha_kpm_shape", "MultiHeadAttention", qkvn + ["kp"], ["y"],
          dict(kvf, kp=np.ones((B, L + 1), np.int32)), "mask must be", num_heads=N)
    error(out, "err_mha_bias_shape", "MultiHeadAttention", ["q", "k", "v", "", "", "ab"], ["y"],
          dict(kvf, ab=r(B, N, S, L + 1)), "attention_bias must be", num_heads=N)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    attention_cases(out)
    mha_cases(out)


if __name__ == "__main__":
    main()
