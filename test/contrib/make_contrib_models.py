#!/usr/bin/env python3
"""Models that onnxruntime's own tools make, as test cases for
run_contrib_models.py, written to OUT_DIR (default test/contrib/generated/,
git-ignored):

  opt_<bert|gpt2>[_mha|_rawmask]_<fp32|fp16>
        onnxruntime.transformers.optimizer.optimize_model (model_type bert /
        gpt2, float16 converting with keep_io_types) of the BERT- and
        GPT-2-shaped models of transformer_graphs.py, for bert also with
        use_multi_head_attention and with a raw 2-D attention mask (no
        EmbedLayerNormalization); the generator checks that the fused
        com.microsoft operators appear (bert: EmbedLayerNormalization,
        Attention, SkipLayerNormalization, BiasGelu; _mha:
        MultiHeadAttention; _rawmask: Attention with the 2-D mask and
        LayerNormalization at opset 13; gpt2: SkipLayerNormalization,
        FastGelu; gpt2_hf, the Hugging Face export pattern: Attention with
        unidirectional=1, EmbedLayerNormalization with position ids)
  f16_<fixture>_<keep|nokeep>   onnxruntime.transformers.float16.
        convert_float_to_float16 (keep_io_types on and off) of the MLP, CNN
        and BERT-layer fixtures of test/bench/make_bench_models.py and of
        every real-model benchmark case in test/bench/models/cases/ (or
        --real DIR), when present

  ortopt_<model>                 onnxruntime's own graph optimizer
        (SessionOptions.optimized_model_filepath at ORT_ENABLE_EXTENDED:
        FusedConv, FusedGemm, FusedMatMul, QuickGelu, BiasGelu, FastGelu)
        of the transformer models, the fixtures and the real models

Each case is a directory: model.onnx, test_data_set_0/input_K.pb,
output_K.pb (onnxruntime's outputs of that model), kind.txt ("fp16" or
"fp32": the matching rule) and, for float16 conversions, ref32_K.pb (the
float32 original's outputs, for the "as close to float32 as onnxruntime"
rule).

    make_contrib_models.py [OUT_DIR] [--real DIR] [--quick]
"""
import argparse
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "bench"))

from transformer_graphs import bert, gpt2, gpt2_hf  # noqa: E402

EXPECT = {"bert": {"EmbedLayerNormalization", "Attention", "SkipLayerNormalization", "BiasGelu"},
          "gpt2": {"SkipLayerNormalization", "FastGelu"}}


def run_ort(model, feed):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return s.run(None, feed)


def write(out, name, model, feed, kind, ref32=None):
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    ds = os.path.join(d, "test_data_set_0")
    os.makedirs(ds)
    onnx.save(model, os.path.join(d, "model.onnx"))
    inits = {t.name for t in model.graph.initializer}
    fed = [gi for gi in model.graph.input if gi.name not in inits]
    for i, gi in enumerate(fed):
        with open(os.path.join(ds, "input_%d.pb" % i), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(feed[gi.name]), gi.name).SerializeToString())
    for i, (go, val) in enumerate(zip(model.graph.output, run_ort(model, feed))):
        with open(os.path.join(ds, "output_%d.pb" % i), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(val), go.name).SerializeToString())
    if ref32 is not None:
        for i, val in enumerate(ref32):
            with open(os.path.join(ds, "ref32_%d.pb" % i), "wb") as f:
                f.write(numpy_helper.from_array(np.asarray(val), "ref").SerializeToString())
    with open(os.path.join(d, "kind.txt"), "w") as f:
        f.write(kind + "\n")


def transformer_cases(out):
    from onnxruntime.transformers import optimizer
    rng = np.random.default_rng(0)
    B, S = 2, 16
    ids = rng.integers(0, 101, (B, S)).astype(np.int64)
    mask = np.ones((B, S), np.int64)
    mask[1, 11:] = 0                      # right padding, as tokenizers write it
    feeds = {"bert": {"input_ids": ids, "token_type_ids": (np.arange(S) >= 9).astype(np.int64)[None].repeat(B, 0),
                      "attention_mask": mask},
             "gpt2": {"input_ids": ids}, "gpt2_hf": {"input_ids": ids}}
    from onnxruntime.transformers.fusion_options import FusionOptions

    def mha(o):
        o.use_multi_head_attention = True

    def raw_mask(o):
        o.enable_embed_layer_norm = False
        o.use_raw_attention_mask(True)

    # (model, suffix, options tweak, fused operators that must appear)
    variants = [("bert", "", None, EXPECT["bert"]),
                ("bert", "_mha", mha, {"EmbedLayerNormalization", "MultiHeadAttention", "SkipLayerNormalization"}),
                ("bert", "_rawmask", raw_mask, {"Attention", "SkipLayerNormalization", "BiasGelu"}),
                ("gpt2", "", None, EXPECT["gpt2"]),
                ("gpt2_hf", "", None, {"Attention", "EmbedLayerNormalization", "SkipLayerNormalization", "FastGelu"})]
    for name, fn in (("bert", bert), ("gpt2", gpt2), ("gpt2_hf", gpt2_hf)):
        src = os.path.join(out, "_%s.onnx" % name)
        os.makedirs(out, exist_ok=True)
        onnx.save(fn(), src)
        ref32 = run_ort(onnx.load(src), feeds[name])
        ortopt_case(out, name, onnx.load(src), feeds[name])
        for model, suffix, tweak, expect in variants:
            if model != name:
                continue
            for f16 in (False, True):
                o = FusionOptions(name[:4])
                if tweak:
                    tweak(o)
                opt = optimizer.optimize_model(src, model_type=name[:4], num_heads=4, hidden_size=64, opt_level=0,
                                               optimization_options=o)
                if f16:
                    opt.convert_float_to_float16(keep_io_types=True)
                m = opt.model
                got = {n.op_type for n in m.graph.node if n.domain == "com.microsoft"}
                if not expect <= got:
                    raise SystemExit("optimizer did not fuse %s%s: %s" % (name, suffix, sorted(expect - got)))
                write(out, "opt_%s%s_%s" % (name, suffix, "fp16" if f16 else "fp32"), m, feeds[name],
                      "fp16" if f16 else "fp32", ref32 if f16 else None)
        os.remove(src)


def ortopt_case(out, name, model, feed):
    """The model as onnxruntime's extended graph optimizations save it."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        so.optimized_model_filepath = os.path.join(tmp, "opt.onnx")
        ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        m = onnx.load(so.optimized_model_filepath)
    if not any(n.domain == "com.microsoft" for n in m.graph.node):
        return
    # old-IR models list initializers as inputs; the optimizer folds some away
    used = {i for n in m.graph.node for i in n.input} | {o.name for o in m.graph.output}
    inits = {t.name for t in m.graph.initializer}
    keep = [gi for gi in m.graph.input if gi.name in feed or gi.name in inits or gi.name in used]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    write(out, "ortopt_" + name, m, feed, "fp32")


def f16_cases(out, name, model, feed):
    from onnxruntime.transformers.float16 import convert_float_to_float16
    ref32 = run_ort(model, feed)
    for keep in (True, False):
        m16 = convert_float_to_float16(model, keep_io_types=keep)
        f = {}
        for gi in m16.graph.input:
            if gi.name in feed:
                f[gi.name] = feed[gi.name].astype(onnx.helper.tensor_dtype_to_np_dtype(gi.type.tensor_type.elem_type))
        try:
            run_ort(m16, f)
        except Exception as e:              # onnxruntime itself refuses some conversions
            print("skip f16_%s_%s: onnxruntime: %s" % (name, "keep" if keep else "nokeep", str(e)[:120]))
            continue
        write(out, "f16_%s_%s" % (name, "keep" if keep else "nokeep"), m16, f, "fp16", ref32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=os.path.join(HERE, "generated"))
    ap.add_argument("--real", default=os.path.join(ROOT, "test", "bench", "models", "cases"))
    ap.add_argument("--quick", action="store_true", help="no real-model cases")
    a = ap.parse_args()
    shutil.rmtree(a.out, ignore_errors=True)     # no stale cases
    os.makedirs(a.out, exist_ok=True)
    transformer_cases(a.out)
    import make_bench_models as mb
    rng = np.random.default_rng(1)
    fixtures = [("mlp", mb.mlp(), {"x": rng.standard_normal((4, 256)).astype(np.float32)}),
                ("cnn", mb.resnet18(), {"x": rng.standard_normal((1, 3, 64, 64)).astype(np.float32)}),
                ("bert_layer", mb.bert_layer(S=32), {"x": rng.standard_normal((1, 32, 768)).astype(np.float32)})]
    for name, m, feed in fixtures:
        f16_cases(a.out, name, m, feed)
        ortopt_case(a.out, name, m, feed)
    if not a.quick and os.path.isdir(a.real):
        for name in sorted(os.listdir(a.real)):
            d = os.path.join(a.real, name)
            m = onnx.load(os.path.join(d, "model.onnx"))
            inits = {t.name for t in m.graph.initializer}
            ins = [gi for gi in m.graph.input if gi.name not in inits]
            feed = {gi.name: numpy_helper.to_array(onnx.load_tensor(
                os.path.join(d, "test_data_set_0", "input_%d.pb" % k))) for k, gi in enumerate(ins)}
            f16_cases(a.out, name, m, feed)
            ortopt_case(a.out, name, m, feed)
    elif not a.quick:
        print("no real-model cases in %s (run test/bench/run_real_models.py once to fetch them)" % a.real)


if __name__ == "__main__":
    main()
