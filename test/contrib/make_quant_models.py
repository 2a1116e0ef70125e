#!/usr/bin/env python3
"""Quantized models made by onnxruntime's own tools, for run_quant_models.py.

    make_quant_models.py [--out DIR] [--only SUBSTRING] [--quick]

Sources (float32):
  - the project's benchmark fixtures (test/bench/make_bench_models.py): the
    MLP, the ResNet-18-shaped CNN and the BERT-base encoder layer;
  - an LSTM model built here (bidirectional LSTM + MatMul head), the shape
    of an OCR recogniser's sequence part;
  - the real-model benchmark cases of test/bench/run_real_models.py (OCR
    recogniser / classifier / detector, wake-word models, light model zoo),
    with the inputs that script feeds them.

Each source goes through
  dyn      quantize_dynamic (QOperator, int8 weights)
  dyn_pc   quantize_dynamic, per-channel int8 weights, reduce_range
  dyn_u8   quantize_dynamic, uint8 weights
  sqdq     quantize_static, QDQ, int8 activations and weights (calibrated)
  sqdq_u8  quantize_static, QDQ, uint8 activations, int8 weights
  sqop     quantize_static, QOperator, uint8 activations, int8 weights
and each of those also through onnxruntime's offline graph optimizer
("+ort": the model onnxruntime itself runs, saved with
optimized_model_filepath at the extended level, layout-specific and
non-quantization fusions disabled), which is where the com.microsoft
operators (DynamicQuantizeMatMul, MatMulIntegerToFloat, QGemm, QLinearAdd,
QLinearSigmoid, QLinearConcat, QLinearGlobalAveragePool, ...) appear.
Sources first go through onnxruntime's quant_pre_process (shape
inference, constant folding), as its documentation recommends.
Static quantization is calibrated (MinMax) on generated data: the source's
feed and perturbed copies of it, through a CalibrationDataReader.

Also the quantized OCR recogniser shipped in the ddddocr wheel
(common_old.onnx, with DynamicQuantizeLSTM and ConvInteger), fetched with
`pip download --no-deps ddddocr==1.6.1` into test/bench/models/wheels/.

The float source itself is written too (NAME_float), for the benchmark
(test/bench/quant_bench.py).  Per derived model a directory DIR/NAME holds model.onnx, feed.npz,
ort.npz (onnxruntime's outputs on the quantized model), float.npz (its
outputs on the float source) and meta.json.  Default DIR:
test/contrib/generated/ (git-ignored).
"""
import argparse
import glob
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                      quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BENCH = os.path.join(ROOT, "test", "bench")
MODELS = os.path.join(BENCH, "models")
GEN = os.path.join(HERE, "generated")
DDDDOCR = ("ddddocr", "1.6.1")
ort.set_default_logger_severity(3)
logging.getLogger().setLevel(logging.ERROR)

# fusions that are not quantization (com.microsoft FusedConv, Gelu,
# LayerNormalization, Attention ...): left out of the "+ort" models so
# they test the quantized operators
DISABLED = ["ConvActivationFusion", "ConvAddActivationFusion", "GeluFusion", "BiasGeluFusion",
            "FastGeluFusion", "QuickGeluFusion", "LayerNormFusion", "SimplifiedLayerNormFusion",
            "SkipLayerNormFusion", "AttentionFusion", "EmbedLayerNormFusion", "GemmActivationFusion",
            "MatMulScaleFusion", "BiasSoftmaxFusion", "BiasDropoutFusion", "MatmulTransposeFusion",
            "NhwcTransformer", "NchwcTransformer", "TransposeOptimizer", "GatherSliceToSplitFusion",
            "MatMulAddFusion"]


def sess(model, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL, save=None, disabled=None):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = level
    if save:
        so.optimized_model_filepath = save
    src = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"],
                                disabled_optimizers=disabled or [])


# ---------------------------------------------------------------- sources

def lstm_model(rng):
    """X (T=12, 1, 32) -> bidirectional LSTM (hidden 48) -> (12, 96) @ W (96, 40)."""
    T, I, H, C = 12, 32, 48, 40
    W = (rng.standard_normal((2, 4 * H, I)) / np.sqrt(I)).astype(np.float32)
    R = (rng.standard_normal((2, 4 * H, H)) / np.sqrt(H)).astype(np.float32)
    B = (rng.standard_normal((2, 8 * H)) * 0.1).astype(np.float32)
    Wo = (rng.standard_normal((2 * H, C)) / np.sqrt(2 * H)).astype(np.float32)
    nodes = [helper.make_node("LSTM", ["x", "W", "R", "B"], ["y"], hidden_size=H, direction="bidirectional"),
             helper.make_node("Transpose", ["y"], ["yt"], perm=[0, 2, 1, 3]),
             helper.make_node("Reshape", ["yt", "shape"], ["y2"]),
             helper.make_node("MatMul", ["y2", "Wo"], ["logits"])]
    g = helper.make_graph(nodes, "lstm_head", [helper.make_tensor_value_info("x", 1, [T, 1, I])],
                          [helper.make_tensor_value_info("logits", 1, None)],
                          [numpy_helper.from_array(a, n) for n, a in
                           [("W", W), ("R", R), ("B", B), ("Wo", Wo), ("shape", np.array([T, 2 * H], np.int64))]])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return m, {"x": rng.standard_normal((T, 1, I)).astype(np.float32)}


def case_feed(case_dir):
    """The inputs of a run_real_models.py case, by graph-input name."""
    m = onnx.load(os.path.join(case_dir, "model.onnx"), load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    names = [i.name for i in m.graph.input if i.name not in inits]
    feed = {}
    for k, n in enumerate(names):
        t = onnx.TensorProto()
        with open(os.path.join(case_dir, "test_data_set_0", "input_%d.pb" % k), "rb") as f:
            t.ParseFromString(f.read())
        feed[n] = numpy_helper.to_array(t)
    return feed


REAL = ["ocr_rec_ppocrv4", "ocr_cls_mobile_v2", "ocr_det_ppocrv4", "oww_embedding_model", "oww_hey_jarvis_v0.1",
        "oww_alexa_v0.1", "oww_melspectrogram", "zoo_squeezenet", "zoo_resnet50", "zoo_shufflenet",
        "zoo_inception_v1", "zoo_densenet121"]
QUICK = ["mlp", "cnn", "lstm", "ocr_rec_ppocrv4", "ocr_cls_mobile_v2", "zoo_squeezenet"]


def sources(rng, only=None, quick=False):
    """(name, float ModelProto or path, feed)."""
    if not all(os.path.exists(os.path.join(MODELS, f)) for f in ("mlp.onnx", "resnet18.onnx", "bert_layer.onnx")):
        subprocess.run([sys.executable, os.path.join(BENCH, "make_bench_models.py"), MODELS], check=True)
    out = [("mlp", os.path.join(MODELS, "mlp.onnx"), {"input": rng.standard_normal((4, 256)).astype(np.float32)}),
           ("cnn", os.path.join(MODELS, "resnet18.onnx"),
            {"input": rng.standard_normal((1, 3, 64, 64)).astype(np.float32)}),
           ("bert", os.path.join(MODELS, "bert_layer.onnx"),
            {"input": rng.standard_normal((1, 128, 768)).astype(np.float32)})]
    m, f = lstm_model(rng)
    out.append(("lstm", m, f))
    cases = os.path.join(MODELS, "cases")
    for name in REAL:
        d = os.path.join(cases, name)
        if os.path.exists(os.path.join(d, "model.onnx")):
            out.append((name, os.path.realpath(os.path.join(d, "model.onnx")), case_feed(d)))
        else:
            print("skip %s: no case (run test/bench/run_real_models.py once)" % name)
    # fix the input names of the fixtures from the models themselves
    fixed = []
    for name, src, feed in out:
        if quick and name not in QUICK:
            continue
        if only and only not in name:
            continue
        m = onnx.load(src) if isinstance(src, str) else src
        inits = {i.name for i in m.graph.initializer}
        names = [i.name for i in m.graph.input if i.name not in inits]
        if list(feed) != names and len(feed) == len(names) == 1:
            feed = {names[0]: next(iter(feed.values()))}
        fixed.append((name, m, feed))
    return fixed


class Reader(CalibrationDataReader):
    """The feed and perturbed copies: float inputs scaled and noised,
    others unchanged."""

    def __init__(self, feed, n=4, seed=3):
        rng = np.random.default_rng(seed)
        self.items = [feed]
        for _ in range(n - 1):
            d = {}
            for k, v in feed.items():
                if v.dtype == np.float32:
                    sd = float(np.std(v)) or 1.0
                    d[k] = (v * rng.uniform(0.8, 1.2) + rng.normal(0, 0.1 * sd, v.shape)).astype(np.float32)
                else:
                    d[k] = v
            self.items.append(d)
        self.it = iter(self.items)

    def get_next(self):
        return next(self.it, None)

    def rewind(self):
        self.it = iter(self.items)


VARIANTS = {
    "dyn": lambda src, dst, feed: quantize_dynamic(src, dst, weight_type=QuantType.QInt8),
    "dyn_pc": lambda src, dst, feed: quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True,
                                                      reduce_range=True),
    "dyn_u8": lambda src, dst, feed: quantize_dynamic(src, dst, weight_type=QuantType.QUInt8),
    "sqdq": lambda src, dst, feed: quantize_static(src, dst, Reader(feed), quant_format=QuantFormat.QDQ,
                                                   activation_type=QuantType.QInt8, weight_type=QuantType.QInt8),
    "sqdq_u8": lambda src, dst, feed: quantize_static(src, dst, Reader(feed), quant_format=QuantFormat.QDQ,
                                                      activation_type=QuantType.QUInt8,
                                                      weight_type=QuantType.QInt8, per_channel=True),
    "sqop": lambda src, dst, feed: quantize_static(src, dst, Reader(feed), quant_format=QuantFormat.QOperator,
                                                   activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8),
}


def save_case(out, name, model_path, feed, float_outs, meta):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    shutil.copy(model_path, os.path.join(d, "model.onnx"))
    s = sess(model_path)
    outs = s.run(None, feed)
    names = [o.name for o in s.get_outputs()]
    np.savez(os.path.join(d, "feed.npz"), **feed)
    np.savez(os.path.join(d, "ort.npz"), *outs)
    if float_outs is not None:
        np.savez(os.path.join(d, "float.npz"), *float_outs)
    # onnxruntime's own sensitivity: its outputs for the float inputs
    # scaled by (1 + eps N(0,1)) elementwise, eps 1e-7, 1e-6, 1e-5, 3 draws each.  A quantized model
    # rounds values to a grid: one ulp moved can move a value across a
    # rounding boundary, and that step propagates.  spread[i] = the largest
    # |change| of output i, err[i] = the largest mean |output - float| seen.
    rng = np.random.default_rng(5)
    spread = [0.0] * len(outs)
    err = [0.0] * len(outs)
    for eps in (1e-7, 1e-7, 1e-7, 1e-6, 1e-6, 1e-6, 1e-5, 1e-5, 1e-5):
        f2 = {k: (v * (1 + eps * rng.standard_normal(v.shape))).astype(v.dtype) if v.dtype == np.float32 else v
              for k, v in feed.items()}
        for i, o in enumerate(s.run(None, f2)):
            if o.dtype.kind == "f":
                spread[i] = max(spread[i], float(np.abs(o.astype(np.float64) - outs[i]).max(initial=0)))
                if float_outs is not None:
                    err[i] = max(err[i], float(np.abs(o.astype(np.float64) - float_outs[i]).mean()))
    meta = dict(meta, outputs=names, ort_spread=spread, ort_float_err=err)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)


def ddddocr_case(out):
    """The quantized recogniser of the ddddocr wheel, fed a text line as
    ddddocr prepares it (grey, height 64, (x/255 - 0.5) / 0.5)."""
    wheels = os.path.join(MODELS, "wheels")
    os.makedirs(wheels, exist_ok=True)
    pattern = os.path.join(wheels, "%s-%s-*.whl" % DDDDOCR)
    if not glob.glob(pattern):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                        "-d", wheels, "%s==%s" % DDDDOCR], check=True)
    tmp = tempfile.mkdtemp()
    with zipfile.ZipFile(glob.glob(pattern)[0]) as z:
        z.extract("ddddocr/common_old.onnx", tmp)
    sys.path.insert(0, BENCH)
    from run_real_models import resize, text_line
    img = text_line(40, 300, seed=9)
    grey = img.astype(np.float32) @ np.float32([0.114, 0.587, 0.299])
    h, w = grey.shape
    W = int(w * 64 / h)
    g = resize(np.repeat(grey[:, :, None], 3, 2).astype(np.uint8), W, 64)[:, :, 0].astype(np.float32)
    x = ((g / 255 - 0.5) / 0.5)[None, None].astype(np.float32)
    save_case(out, "ddddocr_common_old", os.path.join(tmp, "ddddocr", "common_old.onnx"), {"input1": x}, None,
              {"source": "ddddocr", "variant": "shipped", "tool": "ddddocr wheel"})
    shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=GEN)
    ap.add_argument("--only")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(14)
    made = failed = 0
    if not a.only or a.only in "ddddocr":
        ddddocr_case(a.out)
        made += 1
    tmp = tempfile.mkdtemp()
    for name, m, feed in sources(rng, a.only, a.quick):
        src = os.path.join(tmp, name + ".onnx")
        onnx.save(m, src)
        float_outs = sess(src).run(None, feed)
        # onnxruntime's recommended pre-processing (shape inference, constant
        # folding: weights made by Constant nodes become initializers)
        pre = os.path.join(tmp, name + "_pre.onnx")
        cwd = os.getcwd()
        try:
            os.chdir(tmp)  # it leaves a temporary model in the working directory
            quant_pre_process(src, pre)
            sess(pre).run(None, feed)  # some models come out broken: keep the original then
            src = pre
        except Exception as e:
            print("pre-processing failed on %s (quantizing the model as is): %s" % (name, str(e)[:120]))
        finally:
            os.chdir(cwd)
        try:
            save_case(a.out, "%s_float" % name, src, feed, float_outs, {"source": name, "variant": "float"})
            made += 1
        except Exception as e:
            print("onnxruntime failed on the pre-processed %s: %s" % (name, str(e).splitlines()[0][:160]))
            failed += 1
            continue
        for var, fn in VARIANTS.items():
            if a.quick and var in ("dyn_u8", "sqdq_u8"):
                continue
            q = os.path.join(tmp, "%s_%s.onnx" % (name, var))
            try:
                fn(src, q, feed)
            except Exception as e:  # a tool that refuses a model is not our failure
                print("tool refused %s %s: %s" % (name, var, str(e).splitlines()[0][:160]))
                continue
            meta = {"source": name, "variant": var}
            try:
                save_case(a.out, "%s_%s" % (name, var), q, feed, float_outs, meta)
                made += 1
                opt = os.path.join(tmp, "%s_%s_ort.onnx" % (name, var))
                sess(q, ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, opt, DISABLED)
                save_case(a.out, "%s_%s+ort" % (name, var), opt, feed, float_outs, dict(meta, ort_optimized=True))
                made += 1
            except Exception as e:
                print("onnxruntime failed on %s %s: %s" % (name, var, str(e).splitlines()[0][:160]))
                failed += 1
        print("made %s" % name)
        sys.stdout.flush()
    shutil.rmtree(tmp)
    print("%d models written to %s (%d not made)" % (made, a.out, failed))


if __name__ == "__main__":
    main()
