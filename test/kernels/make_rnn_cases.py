#!/usr/bin/env python3
"""Kernel cases for RNN, GRU and LSTM (engine/ops/ops_rnn.c, rnn_cell.c).

    make_rnn_cases.py OUT_DIR

Covers: sizes that leave SIMD tails (hidden 1, 3, 17, 64; input 1, 5, 33;
batch 1, 3 and 64; seq 1 and 7), directions forward/reverse/bidirectional,
layout 0 and 1, sequence_lens with mixed lengths (0 included, and all
shorter than seq), initial_h/initial_c, bias absent/present, weights as
initializers (packed at load) and as graph inputs (converted per run),
every activation at every position with and without alpha/beta, clip,
LSTM peepholes and input_forget, GRU linear_before_reset 0 and 1, optional
outputs absent, and float64/float16/bfloat16 inputs.

Expected outputs come from onnxruntime (one thread) running the same
operator in layout 0 on float32 inputs; onnxruntime refuses layout 1 and
float64 recurrent ops, so those cases get the layout-0 float32 answer
transposed / cast.  Run the portable C path of the gate kernels with
`run_kernel_tests.py --isa portable rnn`.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import reference, write_case  # noqa: E402

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
PER_DIR = {"RNN": 1, "GRU": 2, "LSTM": 3}
ACTS = ["Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
        "HardSigmoid", "Elu", "Softsign", "Softplus"]
DEFAULT_ACTS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
# onnxruntime's defaults for these differ from the ONNX operators' (Affine
# alpha 1, ScaledTanh alpha 1 beta 1, ThresholdedRelu alpha 1), which the
# engine follows: their cases always give alpha/beta.
ORT_OTHER_DEFAULTS = {"Affine", "ScaledTanh", "ThresholdedRelu"}
BOUNDED = {"Tanh", "Sigmoid", "HardSigmoid", "Softsign", "ScaledTanh"}
TF = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE,
      np.float16: TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16}


def make_values(op, T, B, I, H, dirs, rng, lens, peep, scale):
    G = GATES[op]
    v = {
        "X": rng.standard_normal((T, B, I)) * scale,
        "W": rng.standard_normal((dirs, G * H, I)) / np.sqrt(I),
        "R": rng.standard_normal((dirs, G * H, H)) / np.sqrt(H),
        "B": rng.standard_normal((dirs, 2 * G * H)) * 0.3,
        "initial_h": rng.standard_normal((dirs, B, H)) * 0.5,
        "initial_c": rng.standard_normal((dirs, B, H)) * 0.5,
    }
    if peep:
        v["P"] = rng.standard_normal((dirs, 3 * H)) * 0.5
    v = {k: a.astype(np.float32) for k, a in v.items()}
    if lens is not None:
        v["sequence_lens"] = np.array(lens, dtype=np.int32)
    return v


def ort_layout0(op, attrs, H, names, outs, vals):
    """onnxruntime's outputs of the layout-0 float32 node (every input fed)."""
    acts = attrs.get("activations")
    if attrs.get("direction") == "bidirectional" and acts and len(acts) == PER_DIR[op]:
        # onnxruntime wants one list per direction (the short form means the same for both)
        attrs = dict(attrs, activations=acts * 2)
        for k in ("activation_alpha", "activation_beta"):
            if k in attrs:
                attrs[k] = attrs[k] * 2
    node = helper.make_node(op, names, outs, hidden_size=H, **attrs)
    ins = [helper.make_tensor_value_info(n, TensorProto.INT32 if n == "sequence_lens" else TensorProto.FLOAT, None)
           for n in names if n]
    g = helper.make_graph([node], "ref", ins,
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs if o])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    return reference(m, {n: vals[n] for n in names if n})


def to_bf16(a):
    """float32 -> bfloat16 bits (round to nearest even), and back to float32."""
    u = np.asarray(a, np.float32).view(np.uint32)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return r, (r.astype(np.uint32) << 16).view(np.float32)


def case(out, name, op, T, B, I, H, direction="forward", layout=0, bias=True, lens=None,
         states=True, peep=False, acts=None, alpha=None, beta=None, clip=None, input_forget=None,
         lbr=None, const=True, want=None, dtype=np.float32, scale=1.0, seed=0, rtol=1e-4, atol=1e-5,
         threads=None):
    dirs = 2 if direction == "bidirectional" else 1
    rng = np.random.default_rng(seed)
    vals = make_values(op, T, B, I, H, dirs, rng, lens, peep, scale)
    # inputs rounded to the case's dtype first, so the reference sees the same values
    if dtype == np.float16:
        vals = {k: (a.astype(np.float16).astype(np.float32) if a.dtype == np.float32 else a) for k, a in vals.items()}
    elif dtype == "bfloat16":
        vals = {k: (to_bf16(a)[1] if a.dtype == np.float32 else a) for k, a in vals.items()}

    given = {"direction": None if direction == "forward" else direction, "activations": acts,
             "activation_alpha": alpha, "activation_beta": beta, "clip": clip,
             "input_forget": input_forget, "linear_before_reset": lbr}
    attrs = {k: v for k, v in given.items() if v is not None}

    order = ["X", "W", "R", "B", "sequence_lens", "initial_h"] + (["initial_c", "P"] if op == "LSTM" else [])
    present = {"X", "W", "R"}
    if bias:
        present.add("B")
    if lens is not None:
        present.add("sequence_lens")
    if states:
        present.add("initial_h")
        if op == "LSTM":
            present.add("initial_c")
    if peep:
        present.add("P")
    names = [n if n in present else "" for n in order]
    while names[-1] == "":
        names.pop()
    all_outs = ["Y", "Y_h", "Y_c"][:2 if op != "LSTM" else 3]
    want = want or all_outs
    outs = [o if o in want else "" for o in all_outs]
    while outs[-1] == "":
        outs.pop()

    ref = ort_layout0(op, attrs, H, names, [o or "" for o in outs], vals)
    ref = dict(zip([o for o in outs if o], ref))

    if layout:
        attrs["layout"] = 1
        vals["X"] = vals["X"].transpose(1, 0, 2)
        for k in ("initial_h", "initial_c"):
            vals[k] = vals[k].transpose(1, 0, 2)
        for k in list(ref):
            ref[k] = ref[k].transpose(2, 0, 1, 3) if k == "Y" else ref[k].transpose(1, 0, 2)

    def cast(a):
        if a.dtype != np.float32:
            return a
        if dtype == "bfloat16":
            return a
        return a.astype(dtype)

    tp = TF[dtype]
    weights = {"W", "R", "B", "P"}
    inits, feed, in_vi = [], {}, []
    for n in names:
        if not n:
            continue
        a = cast(vals[n])
        if dtype == "bfloat16" and a.dtype == np.float32:
            t = helper.make_tensor(n, TensorProto.BFLOAT16, a.shape, to_bf16(a)[0].tobytes(), raw=True)
            if const and n in weights:
                inits.append(t)
                continue
            feed[n] = t
            in_vi.append(helper.make_tensor_value_info(n, tp, a.shape))
            continue
        if const and n in weights:
            inits.append(numpy_helper.from_array(a, n))
        else:
            feed[n] = a
            in_vi.append(helper.make_tensor_value_info(
                n, TensorProto.INT32 if n == "sequence_lens" else tp, a.shape))
    node = helper.make_node(op, names, outs, hidden_size=H, **attrs)
    g = helper.make_graph([node], name, in_vi,
                          [helper.make_tensor_value_info(o, tp, None) for o in outs if o], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    expected = []
    for o in outs:
        if not o:
            continue
        if dtype == "bfloat16":
            expected.append(helper.make_tensor(o, TensorProto.BFLOAT16, ref[o].shape,
                                               to_bf16(ref[o])[0].tobytes(), raw=True))
        else:
            expected.append(cast(ref[o]))
    write_bf16 = dtype == "bfloat16"
    if write_bf16:
        write_raw_case(out, name, m, feed, expected, rtol, atol)
    else:
        write_case(out, name, m, feed, rtol=rtol, atol=atol, expected=expected, threads=threads)


def write_raw_case(out, name, model, feed, expected, rtol, atol):
    """write_case for TensorProto inputs/outputs (bfloat16, which numpy lacks)."""
    import onnx
    d = os.path.join(out, name)
    ds = os.path.join(d, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    inits = {t.name for t in model.graph.initializer}
    fed = [gi for gi in model.graph.input if gi.name not in inits]
    for i, gi in enumerate(fed):
        t = feed[gi.name]
        if not isinstance(t, TensorProto):
            t = numpy_helper.from_array(np.asarray(t), gi.name)
        with open(os.path.join(ds, "input_%d.pb" % i), "wb") as f:
            f.write(t.SerializeToString())
    for i, t in enumerate(expected):
        with open(os.path.join(ds, "output_%d.pb" % i), "wb") as f:
            f.write(t.SerializeToString())
    with open(os.path.join(d, "tolerance.txt"), "w") as f:
        f.write("%g %g\n" % (rtol, atol))


def act_params(rng, fn):
    """alpha/beta lists for one activation (empty when it takes none)."""
    a = {"Affine": (0.7, -0.2), "LeakyRelu": (0.05, None), "ThresholdedRelu": (0.3, None),
         "ScaledTanh": (1.3, 0.6), "HardSigmoid": (0.3, 0.4), "Elu": (0.8, None)}.get(fn)
    return a


def main(out):
    n = 0
    ops = ["RNN", "GRU", "LSTM"]
    # 1. sizes: every hidden/input/batch/seq combination, default attributes
    for op in ops:
        for H in (1, 3, 17, 64):
            for I in (1, 5, 33):
                for B in (1, 3):
                    for T in (1, 7):
                        case(out, "%s_size_T%d_B%d_I%d_H%d" % (op.lower(), T, B, I, H), op, T, B, I, H,
                             const=(H + I) % 2 == 1, seed=n)
                        n += 1
        # batch 64 takes the GEMM (not GEMV) path per step; silero's LSTM shape
        case(out, "%s_batch64" % op.lower(), op, 7, 64, 33, 64, seed=n, lens=None)
        case(out, "%s_batch64_lens" % op.lower(), op, 5, 64, 5, 17, seed=n,
             lens=list(np.random.default_rng(n).integers(0, 6, 64)), direction="bidirectional")
        case(out, "%s_T1_B1_I128_H128" % op.lower(), op, 1, 1, 128, 128, seed=n)
        n += 1

    # 2. structure: direction x layout x sequence_lens x states x constness
    for op in ops:
        k = 0
        for direction in ("forward", "reverse", "bidirectional"):
            for layout in (0, 1):
                for lens in (None, [7, 3, 0], [4, 2, 3]):
                    for states in (False, True):
                        for const in (False, True):
                            k += 1
                            if lens is not None and k % 2 and not states:
                                continue
                            case(out, "%s_%s_l%d_%s_%s_%s" % (
                                op.lower(), direction[:3], layout,
                                "nolens" if lens is None else "lens" + "".join(map(str, lens)),
                                "states" if states else "nostates", "const" if const else "fed"),
                                op, 7, 3, 5, 17, direction=direction, layout=layout, lens=lens,
                                states=states, const=const, bias=k % 3 != 0, seed=k,
                                lbr=(k % 2) if op == "GRU" else None)

    # 3. activations: each function at each position, with and without alpha/beta
    for op in ops:
        rng = np.random.default_rng(1)
        for pos in range(PER_DIR[op]):
            for fn in ACTS:
                for with_params in (False, True):
                    p = act_params(rng, fn)
                    if with_params and p is None:
                        continue
                    if not with_params and fn in ORT_OTHER_DEFAULTS:
                        continue
                    acts = list(DEFAULT_ACTS[op])
                    acts[pos] = fn
                    alpha = beta = None
                    if with_params:
                        # lists are consumed in order by the activations that take them
                        alpha = [p[0]]
                        beta = [p[1]] if p[1] is not None else None
                    # an unbounded gate activation makes the state grow without bound:
                    # fewer, smaller steps keep the values comparable
                    gate = pos == 0 and op != "RNN" and fn not in BOUNDED
                    case(out, "%s_act%d_%s%s" % (op.lower(), pos, fn.lower(), "_params" if with_params else ""),
                         op, 3 if gate else 7, 3, 5, 17, acts=acts, alpha=alpha, beta=beta,
                         seed=pos * 17 + len(fn), scale=0.5 if gate else 2.0,
                         direction="bidirectional" if len(fn) % 2 else "forward",
                         lbr=1 if op == "GRU" and len(fn) % 3 == 0 else None)
        # bidirectional with a different list per direction, several parameterised ones
        acts = {"RNN": ["Affine", "ScaledTanh"], "GRU": ["HardSigmoid", "Elu", "Sigmoid", "LeakyRelu"],
                "LSTM": ["HardSigmoid", "ScaledTanh", "Affine", "Sigmoid", "Elu", "Softsign"]}[op]
        case(out, "%s_act_bidir_lists" % op.lower(), op, 7, 3, 5, 17, acts=acts, direction="bidirectional",
             alpha=[0.3, 0.9, 1.1, 0.4], beta=[0.45, 0.8, 0.1], seed=5, lens=[7, 3, 5])

    # 4. clip, peepholes, input_forget, linear_before_reset
    for op in ops:
        for direction in ("forward", "bidirectional"):
            case(out, "%s_clip_%s" % (op.lower(), direction[:3]), op, 7, 3, 5, 17, clip=0.4,
                 direction=direction, scale=3.0, seed=3)
    for peep in (False, True):
        for ifg in (0, 1):
            for const in (False, True):
                for direction in ("forward", "bidirectional"):
                    case(out, "lstm_peep%d_if%d_%s_%s" % (peep, ifg, "const" if const else "fed", direction[:3]),
                         "LSTM", 7, 3, 5, 17, peep=peep, input_forget=ifg, const=const, direction=direction,
                         lens=[7, 2, 5] if const else None, seed=11, clip=2.0 if ifg else None)
    case(out, "lstm_peep_acts", "LSTM", 7, 3, 5, 17, peep=True, acts=["HardSigmoid", "Tanh", "Softsign"],
         alpha=[0.25], beta=[0.5], seed=12)
    for lbr in (0, 1):
        for direction in ("forward", "reverse", "bidirectional"):
            case(out, "gru_lbr%d_%s" % (lbr, direction[:3]), "GRU", 7, 3, 5, 17, lbr=lbr, direction=direction,
                 lens=[7, 1, 4], seed=13)
            case(out, "gru_lbr%d_%s_acts" % (lbr, direction[:3]), "GRU", 7, 3, 5, 17, lbr=lbr,
                 direction=direction, acts=["HardSigmoid", "Softsign"], seed=14)

    # 5. optional outputs
    for op in ops:
        outs = ["Y", "Y_h", "Y_c"][:2 if op != "LSTM" else 3]
        for want in ([o] for o in outs):
            case(out, "%s_only_%s" % (op.lower(), want[0].lower()), op, 7, 3, 5, 17, want=want,
                 direction="bidirectional", lens=[7, 0, 3], seed=21)
        case(out, "%s_no_y" % op.lower(), op, 7, 3, 5, 17, want=outs[1:], seed=22)

    # 6. other float types (computed in float32): float64, float16, bfloat16
    for op in ops:
        for dt, tol in ((np.float64, (1e-4, 1e-5)), (np.float16, (2e-3, 2e-3)), ("bfloat16", (2e-2, 2e-2))):
            for const in (False, True):
                tag = dt if isinstance(dt, str) else np.dtype(dt).name
                case(out, "%s_%s_%s" % (op.lower(), tag, "const" if const else "fed"), op, 7, 3, 5, 17,
                     dtype=dt, const=const, lens=[7, 4, 0], direction="bidirectional", peep=op == "LSTM",
                     seed=31, rtol=tol[0], atol=tol[1])

    # 7. two threads: the directions of a bidirectional layer run at once
    #    (enough work per direction, over 40 steps: two rounds of 32), with
    #    mixed lengths, GRU with and without linear_before_reset, weights
    #    packed at load and fed; one thread and two give the same answer
    for op in ops:
        for const in (True, False):
            case(out, "%s_threads_bidi_%s" % (op.lower(), "const" if const else "fed"), op, 40, 3, 9, 64,
                 direction="bidirectional", lens=[40, 33, 0], const=const, peep=op == "LSTM",
                 lbr=0 if op == "GRU" else None, seed=41, threads=(1, 2))
    case(out, "gru_lbr1_threads_bidi", "GRU", 40, 2, 9, 64, direction="bidirectional", lbr=1, seed=42,
         threads=(1, 2))
    case(out, "lstm_threads_forward", "LSTM", 40, 3, 9, 64, seed=43, threads=(1, 2))
    case(out, "lstm_threads_small", "LSTM", 5, 1, 4, 8, direction="bidirectional", seed=44, threads=(1, 2))


if __name__ == "__main__":
    main(sys.argv[1])
