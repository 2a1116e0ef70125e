#!/usr/bin/env python3
"""Real-model benchmark: our engine against onnxruntime on models users run.

    .venv/bin/python test/bench/run_real_models.py [--quick] [--only PATTERN] [--profile] [--readme]

Models (downloaded on first use into test/bench/models/, git-ignored, and
cached there; nothing is fetched on later runs):
  - the light model-zoo models shipped in the onnx wheel
    (onnx/backend/test/data/light: ResNet-50, Inception v1/v2, DenseNet-121,
    ShuffleNet, SqueezeNet, VGG-19, AlexNet, ZFNet-512), fed an
    ImageNet-normalised 224x224 crop of a synthetic photo;
  - the models inside the wheels of rapidocr-onnxruntime (PP-OCRv4 det and
    rec, PP-OCR mobile cls), silero-vad (every .onnx variant) and
    openwakeword (wake-word classifiers, embedding_model, melspectrogram,
    its silero_vad), fetched with `pip download --no-deps` at pinned
    versions and fed as those packages' own Python code feeds them
    (image sizes, normalisation, audio chunking, recurrent state), from a
    synthetic document image and a synthetic speech-like signal (seeded).

For each model a test case is written to test/bench/models/cases/NAME/
(model.onnx, test_data_set_0/input_K.pb in graph-input order and
output_K.pb = onnxruntime's outputs).  onnxruntime (one intra-op and one
inter-op thread, default graph optimisations) and our engine
(engine/build/onnx_bench_model --serve, one thread) are then timed in
alternating rounds within one run until each has spent its budget; the
table gives the medians, ratio = ours / onnxruntime, and whether our
outputs match onnxruntime's (float outputs within
1e-4 * max(1, max|ref|) + 1e-3 * |ref| elementwise, other types exact).
onnxruntime runs through an IO binding made once, so its times carry
about 3 us of Python call overhead per run and no feed conversion.
Times are the CPU time of the running thread (both engines run on the
calling thread with one thread), so other processes sharing the cores do
not count; --wall compares wall-clock times instead.

--profile adds, per model, our engine's time per operator type (its
profiler, OnnxSessionOptions.profile) next to onnxruntime's (its own
profiler, SessionOptions.enable_profiling; its fused operators keep their
own names, e.g. FusedConv is a Conv with its activation), and the
operator types where we lose the most time.

Prints the table and writes test/bench/real_results.md (--out); --readme
also puts the table into README.md's Performance section.
"""
import argparse
import datetime
import glob
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from run_bench import cpu_model, gemm_kernel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BENCH = os.path.join(ROOT, "engine", "build", "onnx_bench_model")
MODELS = os.path.join(HERE, "models")
WHEELS = os.path.join(MODELS, "wheels")
REAL = os.path.join(MODELS, "real")
CASES = os.path.join(MODELS, "cases")
LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")

# (distribution, version, package directory inside the wheel)
PINS = [("rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime"),
        ("silero-vad", "6.2.3", "silero_vad"),
        ("openwakeword", "0.4.0", "openwakeword")]

SR = 16000
ort.set_default_logger_severity(3)


# ---------------------------------------------------------------- models

def fetch_wheels():
    """Download the pinned wheels once and extract their .onnx files."""
    os.makedirs(WHEELS, exist_ok=True)
    for dist, ver, pkg in PINS:
        dest = os.path.join(REAL, "%s-%s" % (pkg, ver))
        if os.path.exists(os.path.join(dest, ".extracted")):
            continue
        pattern = os.path.join(WHEELS, "%s-%s-*.whl" % (dist.replace("-", "_"), ver))
        if not glob.glob(pattern):
            print("downloading %s==%s (pip download --no-deps)" % (dist, ver))
            sys.stdout.flush()
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                            "--disable-pip-version-check", "-q", "-d", WHEELS,
                            "%s==%s" % (dist, ver)], check=True)
        whl = glob.glob(pattern)[0]
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.makedirs(dest)
        with zipfile.ZipFile(whl) as z:
            for name in z.namelist():
                if name.endswith(".onnx"):
                    z.extract(name, dest)
        open(os.path.join(dest, ".extracted"), "w").close()


def real_path(pkg, rel):
    ver = [v for _, v, p in PINS if p == pkg][0]
    return os.path.join(REAL, "%s-%s" % (pkg, ver), pkg, rel)


# ---------------------------------------------------------------- synthetic data

def synthetic_image(h, w, seed=7):
    """A uint8 BGR (h, w, 3) picture: shaded paper, coloured shapes and
    lines of dark text-like glyphs (strokes, bars, rings)."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c, tint in enumerate((214, 224, 232)):
        img[:, :, c] = tint + 22 * np.sin(xx / w * 2.6 + yy / h * 1.7 + c)
    img += rng.normal(0, 4, img.shape)
    for _ in range(5):       # coloured boxes and discs (logos, photos)
        y0, x0 = rng.randint(0, h - h // 6), rng.randint(0, w - w // 6)
        bh, bw = rng.randint(h // 16, h // 6), rng.randint(w // 16, w // 6)
        img[y0:y0 + bh, x0:x0 + bw] = rng.randint(40, 230, 3)
        cy, cx, r = rng.randint(0, h), rng.randint(0, w), rng.randint(h // 30, h // 10)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.randint(40, 230, 3)
    ch = max(8, h // 24)     # glyph height
    cw = max(5, int(ch * 0.6))
    th = max(1, ch // 8)     # stroke thickness
    y = ch
    while y + ch < h - ch:
        x = rng.randint(cw, 4 * cw)
        ink = rng.randint(10, 70, 3)
        while x + cw < w - cw:
            for _ in range(rng.randint(2, 9)):          # a word
                if x + cw >= w - cw:
                    break
                box = (slice(y, y + ch), slice(x, x + cw))
                gy, gx = np.mgrid[0:ch, 0:cw]
                mask = np.zeros((ch, cw), bool)
                for _ in range(rng.randint(1, 4)):      # strokes of one glyph
                    kind = rng.randint(4)
                    if kind == 0:
                        c0 = rng.randint(0, cw - th + 1)
                        mask[:, c0:c0 + th] = True
                    elif kind == 1:
                        r0 = rng.randint(0, ch - th + 1)
                        mask[r0:r0 + th, :] = True
                    elif kind == 2:
                        mask |= np.abs(gx * ch / cw - gy) < th
                    else:
                        d = np.hypot((gx - cw / 2) / (cw / 2), (gy - ch / 2) / (ch / 2))
                        mask |= np.abs(d - 0.8) < th / ch * 2.5
                img[box][mask] = ink
                x += cw + th
            x += 2 * cw
        y += int(ch * 1.6)
    return np.clip(img, 0, 255).astype(np.uint8)


def resize(img, w, h):
    """Bilinear resize of an (H, W, C) image to (h, w, C), pixel centres
    aligned as cv2.resize(INTER_LINEAR) does."""
    H, W = img.shape[:2]
    src = img.astype(np.float32)

    def axis(n_out, n_in):
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        i0 = np.floor(pos).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (pos - i0).astype(np.float32)
    y0, y1, fy = axis(h, H)
    x0, x1, fx = axis(w, W)
    top = src[y0][:, x0] * (1 - fx)[None, :, None] + src[y0][:, x1] * fx[None, :, None]
    bot = src[y1][:, x0] * (1 - fx)[None, :, None] + src[y1][:, x1] * fx[None, :, None]
    return np.clip(top * (1 - fy)[:, None, None] + bot * fy[:, None, None] + 0.5, 0, 255).astype(np.uint8)


def synthetic_speech(seconds, seed=11):
    """Float32 16 kHz mono in [-1, 1]: voiced syllables (a gliding pitch
    with formant-weighted harmonics) separated by pauses, plus noise."""
    rng = np.random.RandomState(seed)
    n = int(seconds * SR)
    out = rng.normal(0, 0.004, n)
    pos = int(0.05 * SR)
    while pos < n:
        dur = int(rng.uniform(0.12, 0.32) * SR)
        seg = np.arange(min(dur, n - pos))
        f0 = rng.uniform(95, 230) * (1 + 0.15 * np.sin(np.pi * seg / max(dur, 1)))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        formants = rng.uniform([300, 900, 2200], [850, 2300, 3200])
        voice = np.zeros(len(seg))
        for k in range(1, 25):
            fk = k * f0.mean()
            if fk > 4000:
                break
            gain = sum(np.exp(-((fk - f) / 160.0) ** 2) for f in formants) + 0.05
            voice += gain / k * np.sin(k * phase)
        env = np.sin(np.pi * seg / max(len(seg), 1)) ** 0.6
        out[pos:pos + len(seg)] += 0.25 * env * voice / max(np.abs(voice).max(), 1e-6)
        pos += dur + int(rng.uniform(0.04, 0.25) * SR)
    return np.clip(out, -1, 1).astype(np.float32)


def imagenet_input(seed=7):
    """1x3x224x224: short side to 256, centre crop, RGB, ImageNet mean/std."""
    img = synthetic_image(480, 640, seed)[:, :, ::-1]
    img = resize(img, 341, 256)
    x0 = (341 - 224) // 2
    img = img[16:240, x0:x0 + 224].astype(np.float32) / 255
    img = (img - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    return img.transpose(2, 0, 1)[None].astype(np.float32)


# ---------------------------------------------------------------- feeds as the packages make them

def ort_session(path, profile_dir=None, threads=1):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    if profile_dir:
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(profile_dir, "ort")
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def feed_rapidocr_det(path):
    """DetPreProcess (limit_type min, 736): a 480x640 photo resized so its
    short side is 736, both sides rounded to multiples of 32, BGR,
    (x / 255 - 0.5) / 0.5, NCHW."""
    img = synthetic_image(480, 640, seed=3)
    h, w = img.shape[:2]
    ratio = 736.0 / min(h, w)
    rh, rw = int(round(int(h * ratio) / 32) * 32), int(round(int(w * ratio) / 32) * 32)
    x = (resize(img, rw, rh).astype(np.float32) / 255 - 0.5) / 0.5
    return {"x": x.transpose(2, 0, 1)[None].astype(np.float32)}


def text_line(h, w, seed):
    """A crop holding one line of text, as the detector would cut it."""
    img = synthetic_image(max(h * 4, 96), w, seed)
    return img[img.shape[0] // 2 - h // 2: img.shape[0] // 2 - h // 2 + h]


def feed_rapidocr_rec(path):
    """TextRecognizer.resize_norm_img: one 40x400 line crop, height 48,
    width 48 * max(320/48, w/h) = 480, (x / 255 - 0.5) / 0.5, zero padded."""
    img = text_line(40, 400, seed=5)
    h, w = img.shape[:2]
    max_ratio = max(320 / 48, w / h)
    img_w = int(48 * max_ratio)
    rw = min(img_w, int(math.ceil(48 * w / h)))
    x = resize(img, rw, 48).astype(np.float32).transpose(2, 0, 1) / 255
    pad = np.zeros((3, 48, img_w), np.float32)
    pad[:, :, :rw] = (x - 0.5) / 0.5
    return {"x": pad[None]}


def feed_rapidocr_cls(path):
    """TextClassifier.resize_norm_img: the same crop in 3x48x192."""
    img = text_line(40, 400, seed=5)
    h, w = img.shape[:2]
    rw = min(192, int(math.ceil(48 * w / h)))
    x = resize(img, rw, 48).astype(np.float32).transpose(2, 0, 1) / 255
    pad = np.zeros((3, 48, 192), np.float32)
    pad[:, :, :rw] = (x - 0.5) / 0.5
    return {"x": pad[None]}


def graph_inputs(path):
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    return [i for i in m.graph.input if i.name not in inits]


def feed_silero_stream(path, chunk=12):
    """OnnxWrapper.__call__: 512-sample chunks at 16 kHz prefixed by the
    64 samples of context, the state carried from the previous chunks
    (run here through onnxruntime), sr = 16000; the feed of chunk 12."""
    audio = synthetic_speech(1.0)
    names = {i.name for i in graph_inputs(path)}
    sess = ort_session(path)
    state = np.zeros((2, 1, 128), np.float32)
    context = np.zeros(64, np.float32)
    for k in range(chunk + 1):
        x = np.concatenate([context, audio[k * 512:(k + 1) * 512]])[None]
        feed = {"input": x, "state": state, "sr": np.array(SR, np.int64)}
        feed = {n: v for n, v in feed.items() if n in names}
        if k == chunk:
            return feed
        state = sess.run(["stateN"], feed)[0]
        context = x[0, -64:]


def feed_silero_sequence(path):
    """SileroVADSequence.audio_forward: 4 s of audio as one block of
    frames (512 samples + 64 of context each), h and c zero."""
    audio = synthetic_speech(4.0)
    frames = (audio.size + 511) // 512
    f = np.zeros((frames, 512), np.float32)
    f.reshape(-1)[:audio.size] = audio
    ctx = np.zeros((frames, 64), np.float32)
    ctx[1:] = f[:-1, -64:]
    return {"input": np.concatenate([ctx, f], axis=1),
            "h": np.zeros((1, 1, 128), np.float32), "c": np.zeros((1, 1, 128), np.float32)}


def pcm16(seconds):
    return (synthetic_speech(seconds) * 32767).astype(np.int16)


def oww_melspec(audio_i16):
    """AudioFeatures._get_melspectrogram: the model's output / 10 + 2."""
    sess = ort_session(real_path("openwakeword", "resources/models/melspectrogram.onnx"))
    spec = sess.run(None, {"input": audio_i16.astype(np.float32)[None]})[0]
    return np.squeeze(spec) / 10 + 2


def feed_oww_melspec(path):
    """_streaming_melspectrogram: the last 1280 samples plus 480 before."""
    return {"input": pcm16(1.0)[-1760:].astype(np.float32)[None]}


def feed_oww_embedding(path):
    """_streaming_features: the last 76 melspectrogram frames as (1,76,32,1)."""
    spec = oww_melspec(pcm16(1.5))
    return {"input_1": spec[-76:].astype(np.float32)[None, :, :, None]}


def oww_features(n):
    """AudioFeatures.get_features(n): the last n embeddings (96 each) of
    windows of 76 frames stepping by 8."""
    spec = oww_melspec(pcm16(4.0))
    wins = np.stack([spec[i:i + 76] for i in range(0, spec.shape[0] - 75, 8)]).astype(np.float32)
    emb = ort_session(real_path("openwakeword", "resources/models/embedding_model.onnx"))
    e = emb.run(None, {"input_1": wins[:, :, :, None]})[0].squeeze()
    return e[-n:][None].astype(np.float32)


def feed_oww_classifier(path):
    i = graph_inputs(path)[0]
    n = i.type.tensor_type.shape.dim[1].dim_value
    return {i.name: oww_features(n)}


def feed_oww_vad(path, chunk=10):
    """openwakeword.vad.VAD.predict: 640-sample frames / 32767, h and c
    (2,1,64) carried from the previous frames, sr = 16000."""
    audio = pcm16(1.0)
    sess = ort_session(path)
    h = np.zeros((2, 1, 64), np.float32)
    c = np.zeros((2, 1, 64), np.float32)
    for k in range(chunk + 1):
        x = (audio[k * 640:(k + 1) * 640] / 32767).astype(np.float32)[None]
        feed = {"input": x, "h": h, "c": c, "sr": np.array(SR, np.int64)}
        if k == chunk:
            return feed
        _, h, c = sess.run(None, feed)


def feed_imagenet(path):
    return {graph_inputs(path)[0].name: imagenet_input()}


def model_list():
    """(name, model path, feed function) for every model of the suite."""
    out = []
    for zoo in ["resnet50", "inception_v1", "inception_v2", "densenet121", "shufflenet",
                "squeezenet", "vgg19", "bvlc_alexnet", "zfnet512"]:
        out.append(("zoo_" + zoo.replace("bvlc_", ""), os.path.join(LIGHT, "light_%s.onnx" % zoo),
                    feed_imagenet))
    out += [("ocr_det_ppocrv4", real_path("rapidocr_onnxruntime", "models/ch_PP-OCRv4_det_infer.onnx"),
             feed_rapidocr_det),
            ("ocr_rec_ppocrv4", real_path("rapidocr_onnxruntime", "models/ch_PP-OCRv4_rec_infer.onnx"),
             feed_rapidocr_rec),
            ("ocr_cls_mobile_v2", real_path("rapidocr_onnxruntime",
                                            "models/ch_ppocr_mobile_v2.0_cls_infer.onnx"),
             feed_rapidocr_cls)]
    for p in sorted(glob.glob(real_path("silero_vad", "data/*.onnx"))):
        base = os.path.basename(p)[:-5]
        out.append((base, p, feed_silero_sequence if "sequence" in base else feed_silero_stream))
    for p in sorted(glob.glob(real_path("openwakeword", "resources/models/*.onnx"))):
        base = os.path.basename(p)[:-5]
        if base == "melspectrogram":
            fn = feed_oww_melspec
        elif base == "embedding_model":
            fn = feed_oww_embedding
        elif base == "silero_vad":
            fn = feed_oww_vad
        else:
            fn = feed_oww_classifier
        out.append(("oww_" + base, p, fn))
    return out


# ---------------------------------------------------------------- cases

def write_case(name, path, feed):
    """CASES/name: model.onnx (a link), inputs in graph-input order and
    onnxruntime's outputs."""
    d = os.path.join(CASES, name)
    data = os.path.join(d, "test_data_set_0")
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(data)
    os.symlink(os.path.abspath(path), os.path.join(d, "model.onnx"))
    order = [i.name for i in graph_inputs(path)]
    missing = [n for n in order if n not in feed]
    if missing:
        raise RuntimeError("no value for inputs %s" % missing)
    for k, n in enumerate(order):
        with open(os.path.join(data, "input_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(feed[n]), n).SerializeToString())
    sess = ort_session(path)
    outs = sess.run(None, feed)
    for k, (o, v) in enumerate(zip(sess.get_outputs(), outs)):
        with open(os.path.join(data, "output_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(v), o.name).SerializeToString())
    return d, order


def shape_text(feed, order):
    parts = []
    for n in order:
        v = np.asarray(feed[n])
        parts.append("x".join(str(s) for s in v.shape) if v.ndim else "scalar")
    return ", ".join(parts)


# ---------------------------------------------------------------- timing

class Ours:
    """onnx_bench_model --serve on a case: load, warm-up, check, then timed rounds."""

    def __init__(self, case, threads=1):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
        self.p = subprocess.Popen([BENCH, case, "--serve", "--threads", str(threads)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.info = {}
        self.mismatch = []
        self.error = None
        for line in self.p.stdout:
            line = line.rstrip("\n")
            key, _, val = line.partition(": ")
            if key == "error":
                self.error = val
            elif key == "mismatch":
                self.mismatch.append(val)
            elif key in ("load_ms", "warmup_ms"):
                self.info[key] = float(val)
            elif key == "check":
                self.info["check"] = val
                break
        if "check" not in self.info:
            self.p.wait()
            self.error = self.error or "exited with status %s" % self.p.returncode

    def command(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        lines = []
        for line in self.p.stdout:
            line = line.rstrip("\n")
            if line == "end":
                return lines
            if line.startswith("error: "):
                raise RuntimeError(line[7:])
            lines.append(line)
        raise RuntimeError("onnx_bench_model exited: %s" % " / ".join(lines[-3:]))

    def time(self, n):
        """n runs: (wall ms, thread CPU ms) of each."""
        got = {}
        for line in self.command("time %d" % n):
            key, _, vals = line.partition(":")
            got[key] = [float(t) for t in vals.split()]
        return list(zip(got["times"], got["cpu_times"]))

    def profile(self, n, timed_ms, clock="cpu"):
        """n profiled runs one by one, nodes timed on the thread's CPU clock
        (clock "cpu") or the wall clock ("wall"): per op type the median
        over runs of (ms, calls), less the profiler's own cost (the
        profiled run's CPU time over the unprofiled median timed_ms,
        shared by its node calls); and the median profiled CPU ms per run."""
        tables, cpus = [], []
        for _ in range(n):
            table, wall, cpu = {}, 0.0, 0.0
            for line in self.command("%s 1" % ("profile_cpu" if clock == "cpu" else "profile")):
                if line.startswith("profile: "):
                    op, dom, calls, ms, _ = line[9:].split()
                    key = op if dom == "ai.onnx" else "%s:%s" % (dom, op)
                    table[key] = (float(ms), float(calls))
                elif line.startswith("profile_wall_ms: "):
                    wall = float(line.split()[1])
                elif line.startswith("profile_cpu_ms: "):
                    cpu = float(line.split()[1])
            scale = preempted_scale(wall, cpu) if clock == "wall" else 1.0
            per_call = max(0.0, cpu - timed_ms) / max(1.0, sum(c for _, c in table.values()))
            tables.append({k: (max(0.0, ms * scale - c * per_call), c) for k, (ms, c) in table.items()})
            cpus.append(cpu)
        ops = set(k for t in tables for k in t)
        return ({op: (statistics.median(t.get(op, (0.0, 0.0))[0] for t in tables),
                      next(t[op][1] for t in tables if op in t)) for op in ops},
                statistics.median(cpus))

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.flush()
                self.p.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()


class Theirs:
    """onnxruntime through an IO binding bound once."""

    def __init__(self, path, feed, profile_dir=None, threads=1):
        self.sess = ort_session(path, profile_dir, threads)
        self.bind = self.sess.io_binding()
        for n, v in feed.items():
            self.bind.bind_cpu_input(n, np.ascontiguousarray(v))
        for o in self.sess.get_outputs():
            self.bind.bind_output(o.name, "cpu")

    def run(self):
        self.sess.run_with_iobinding(self.bind)

    def time(self, n):
        """n runs: (wall ms, thread CPU ms) of each (with one intra-op
        thread onnxruntime runs on the calling thread)."""
        out = []
        for _ in range(n):
            t0, c0 = time.perf_counter(), time.thread_time()
            self.sess.run_with_iobinding(self.bind)
            out.append(((time.perf_counter() - t0) * 1e3, (time.thread_time() - c0) * 1e3))
        return out


def cpu_seconds():
    """CPU time of this process and its finished children."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def alternate(ours, theirs, budget, min_runs, key):
    """Timed rounds, ours then theirs, until each has spent budget seconds
    (at least min_runs each).  Returns both lists of (wall, cpu) ms;
    key (0 wall, 1 cpu) is the time that counts."""
    t0 = time.perf_counter()
    theirs.run()
    est_t = max((time.perf_counter() - t0) * 1e3, 0.001)
    est_o = max(ours.info.get("warmup_ms", 1.0), 0.001)
    rounds = 10
    mine, ort_times = [], []

    def spent(ts):
        return sum(t[key] for t in ts)
    # on a crowded machine CPU time accrues slowly: stop at 4x the budget of wall time
    wall_end = time.perf_counter() + 4 * 2 * budget
    while (len(mine) < min_runs or len(ort_times) < min_runs or
           ((spent(mine) < budget * 1e3 or spent(ort_times) < budget * 1e3) and
            time.perf_counter() < wall_end)):
        if len(mine) < min_runs or spent(mine) < budget * 1e3:
            n = max(1, min(2000, int(budget * 1e3 / rounds / est_o)))
            mine += ours.time(n)
            est_o = max(statistics.median(t[key] for t in mine), 0.001)
        if len(ort_times) < min_runs or spent(ort_times) < budget * 1e3:
            n = max(1, min(2000, int(budget * 1e3 / rounds / est_t)))
            ort_times += theirs.time(n)
            est_t = max(statistics.median(t[key] for t in ort_times), 0.001)
    return mine, ort_times


def preempted_scale(wall, cpu):
    """Factor to take out of a profiled run's node (wall) times what other
    processes had of the core: its CPU time over its wall time for a long
    run, which many scheduler slices cut evenly; 1 for a short one, which a
    preemption hits in one node, and which min_table then leaves out."""
    return min(1.0, cpu / wall) if wall > 50 else 1.0


def min_table(tables):
    """Per op type, its least ms over single runs, and its calls in the
    first run: on a crowded machine a preemption lands in some node of
    most short runs, so a median over runs still carries it; each op's
    fastest run does not (it reads a little low where runs vary)."""
    ops = set(k for t in tables for k in t)
    return {op: (min(t[op][0] for t in tables if op in t),
                 next(t[op][1] for t in tables if op in t)) for op in ops}


def ort_profile(path, feed, n, timed_ms):
    """onnxruntime's own profiler over n runs after a warm-up: per op type,
    its ms in its fastest run (min_table).  A node's time is its self
    time (less the nodes it ran in subgraphs, which onnxruntime also
    reports), scaled by preempted_scale, less the profiler's own cost per node:
    the run's CPU time over the unprofiled median timed_ms, spread evenly
    over its nodes.  Returns (table, median profiled CPU ms per run)."""
    d = tempfile.mkdtemp(prefix="ortprof")
    try:
        t = Theirs(path, feed, profile_dir=d)
        t.run()
        measured = t.time(n)
        f = t.sess.end_profiling()
        events = json.load(open(f))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    runs = sorted((e["ts"], e["dur"]) for e in events
                  if e.get("cat") == "Session" and e.get("name") == "model_run")[1:]
    nodes = sorted((e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")),
                   key=lambda e: (e["ts"], -e["dur"]))
    tables, cpus = [], []
    for (ts, dur), (wall, cpu) in zip(runs, measured):
        mine = [e for e in nodes if ts <= e["ts"] <= ts + dur]
        self_us = [float(e["dur"]) for e in mine]
        stack = []
        for i, e in enumerate(mine):
            while stack and e["ts"] >= mine[stack[-1]]["ts"] + mine[stack[-1]]["dur"]:
                stack.pop()
            if stack:
                self_us[stack[-1]] -= e["dur"]
            stack.append(i)
        scale = preempted_scale(wall, cpu)
        per_node = max(0.0, (cpu - timed_ms) * 1e3 / max(1, len(mine)))
        table = {}
        for e, us in zip(mine, self_us):
            op = e.get("args", {}).get("op_name", "?")
            ms, calls = table.get(op, (0.0, 0.0))
            table[op] = (ms + max(0.0, us * scale - per_node) / 1e3, calls + 1)
        tables.append(table)
        cpus.append(cpu)
    if not tables:
        return {}, 0.0
    return min_table(tables), statistics.median(cpus)


# onnxruntime's fused or layout-changed operators, by the ONNX op type whose work they do
ORT_BASE = {"FusedConv": "Conv", "NhwcConv": "Conv", "NchwcConv": "Conv", "FusedGemm": "Gemm",
            "FusedMatMul": "MatMul", "QuickGelu": "Sigmoid", "ReorderInput": "(layout)",
            "ReorderOutput": "(layout)", "NhwcMaxPool": "MaxPool", "DynamicQuantizeLSTM": "LSTM",
            "BiasGelu": "Gelu", "SkipLayerNormalization": "LayerNormalization"}


def base_op(op):
    return ORT_BASE.get(op.split(":")[-1], op.split(":")[-1])


def losses(mine, theirs):
    """Per ONNX op type: (ours ms - onnxruntime ms, ours ms, ort ms), worst first."""
    a, b = {}, {}
    for op, (ms, _) in mine.items():
        a[base_op(op)] = a.get(base_op(op), 0) + ms
    for op, (ms, _) in theirs.items():
        b[base_op(op)] = b.get(base_op(op), 0) + ms
    rows = [(a.get(k, 0) - b.get(k, 0), a.get(k, 0), b.get(k, 0), k) for k in set(a) | set(b)]
    return sorted(rows, reverse=True)


def top(table, n=3):
    total = sum(ms for ms, _ in table.values()) or 1
    items = sorted(table.items(), key=lambda kv: -kv[1][0])[:n]
    return ", ".join("%s %.2f ms (%d%%)" % (op, ms, round(100 * ms / total)) for op, (ms, _) in items)


def lose_text(mine, theirs, n=3):
    return ", ".join("%s +%.2f ms (%.2f vs %.2f)" % (k, d, a, b)
                     for d, a, b, k in losses(mine, theirs)[:n] if d > 0.005) or "-"


def fmt_ms(v):
    return "%.3f" % v if v < 10 else "%.1f" % v


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="budget 0.4 s per engine and model")
    ap.add_argument("--only", help="only models whose name contains this regular expression")
    ap.add_argument("--profile", action="store_true", help="per-operator-type times, ours and onnxruntime's")
    ap.add_argument("--budget", type=float, help="seconds of timed runs per engine and model (default 1, quick 0.4)")
    ap.add_argument("--wall", action="store_true",
                    help="compare wall-clock times (default: CPU time of the running thread)")
    ap.add_argument("--out", default=os.path.join(HERE, "real_results.md"))
    ap.add_argument("--cases-only", action="store_true",
                    help="fetch the wheels and write the cases (inputs, onnxruntime's outputs), time nothing: "
                         "the test suites that run derived models of the real models read them")
    ap.add_argument("--readme", action="store_true",
                    help="also put the table into README.md between <!-- real:start --> and <!-- real:end -->")
    args = ap.parse_args()
    budget = args.budget or (0.4 if args.quick else 1.0)
    min_runs = 2 if args.quick else 3
    key = 0 if args.wall else 1
    t_start = time.time()
    if not os.path.exists(BENCH):
        subprocess.run(["make", "-C", os.path.join(ROOT, "engine"), "-j2", "build/onnx_bench_model"], check=True)
    fetch_wheels()
    os.makedirs(CASES, exist_ok=True)
    cpu, kern = cpu_model(), gemm_kernel()
    print("machine: %s, %d cores; GEMM kernel: %s; onnxruntime %s" % (cpu, os.cpu_count(), kern, ort.__version__))
    rows, refused, profiles = [], [], []
    for name, path, feed_fn in model_list():
        if args.only and not re.search(args.only, name):
            continue
        t_model = time.time()
        try:
            feed = feed_fn(path)
            case, order = write_case(name, path, feed)
        except Exception as e:      # a model onnxruntime cannot run is no benchmark
            refused.append((name, "case not written: %s" % str(e).splitlines()[0][:150]))
            print("%-26s case not written: %s" % (name, e))
            continue
        if args.cases_only:
            print("%-26s case written" % name)
            continue
        shapes = shape_text(feed, order)
        ours = Ours(case)
        if ours.error:
            refused.append((name, ours.error))
            print("%-26s %-28s refused: %s" % (name, shapes, ours.error[:160]))
            ours.close()
            continue
        try:
            theirs = Theirs(path, feed)
            mine, their = alternate(ours, theirs, budget, min_runs, key)
            o = statistics.median(x[key] for x in mine)
            t = statistics.median(x[key] for x in their)
            check = ours.info["check"]
            m = re.search(r"max_abs_err (\S+)", check)
            row = dict(name=name, shapes=shapes, ours=o, ort=t, ratio=o / t, err=m.group(1) if m else "?",
                       match=check.startswith("ok"), why="; ".join(ours.mismatch)[:200],
                       n=(len(mine), len(their)))
            rows.append(row)
            print("%-26s %-28s ours %9s ms  ort %9s ms  ratio %6.2f  err %-9s %s  (%d/%d runs, %.0f s)"
                  % (name, shapes[:28], fmt_ms(o), fmt_ms(t), o / t, row["err"],
                     "match" if row["match"] else "MISMATCH " + row["why"], len(mine), len(their),
                     time.time() - t_model))
            sys.stdout.flush()
            if args.profile:
                n = max(1, min(20, int(budget / 2 / (o / 1e3))))
                mp, mwall = ours.profile(n, o, "wall" if args.wall else "cpu")
                tp, tprof = ort_profile(path, feed, max(1, min(20, int(budget / 2 / (t / 1e3)))), t)
                profiles.append((name, o, t, mp, tp))
                print("    ours: %s  [profiled run %s CPU ms]\n    ort:  %s  [profiled run %s CPU ms, "
                      "profilers' cost per node removed]\n    lose: %s" % (
                          top(mp), fmt_ms(mwall), top(tp), fmt_ms(tprof), lose_text(mp, tp)))
        except Exception as e:
            refused.append((name, "run failed: %s" % str(e)[:200]))
            print("%-26s run failed: %s" % (name, e))
        finally:
            ours.close()
    if args.cases_only:
        print("cases in %s (%d not written)" % (CASES, len(refused)))
        return
    ratios = [r["ratio"] for r in rows]
    geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios)) if ratios else float("nan")
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    busy = cpu_seconds() / max(time.time() - t_start, 1e-9)
    lines = ["Real models, %s. Machine: %s, %d cores; GEMM kernel: %s. onnxruntime %s (one intra-op and "
             "one inter-op thread, default graph optimisations) and our engine (one thread), timed in "
             "alternating rounds in one run, %.1f s of runs each per model; median %s per run "
             "(the run got %.0f%% of one core; below 100%%, other processes shared the cores); "
             "ratio = ours / onnxruntime (below 1 is faster)."
             % (when, cpu, os.cpu_count(), kern, ort.__version__, budget,
                "wall-clock ms" if args.wall else "CPU ms of the running thread", 100 * busy), "",
             "| model | input shape | ours (ms) | onnxruntime (ms) | ratio | max error | match |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s | %s | %s | %.2f | %s | %s |" % (
            r["name"], r["shapes"], fmt_ms(r["ours"]), fmt_ms(r["ort"]), r["ratio"], r["err"],
            "yes" if r["match"] else "**no**: " + r["why"]))
    lines += ["", "Geometric mean of the ratios: **%.2f** over %d models (worst %s %.2f, best %s %.2f)."
              % (geo, len(rows), *(max(((r["ratio"], r["name"]) for r in rows), default=(0, "-"))[::-1]),
                 *(min(((r["ratio"], r["name"]) for r in rows), default=(0, "-"))[::-1]))]
    if refused:
        lines += ["", "Not run:", ""] + ["- %s: %s" % (n, why) for n, why in refused]
    summary = list(lines)
    if profiles:
        lines += ["", "Per operator type, ms per run, each profiler's own cost per node taken out: ours from "
                  "OnnxSessionOptions.profile (%s clock, median of up to 20 single runs); onnxruntime's "
                  "from its profiler (wall clock: self times, its fastest of up to 20 single runs, a run "
                  "over 50 ms scaled by its CPU time over its wall time; its fused kernels under their "
                  "own names); \"where we lose\" maps its fused kernels to the ONNX op type (FusedConv "
                  "to Conv, ...)." % ("wall" if args.wall else "thread CPU"), "",
                  "| model | ours top 3 | onnxruntime top 3 | where we lose most (ours vs ort ms) |",
                  "|---|---|---|---|"]
        for name, o, t, mp, tp in profiles:
            lines.append("| %s (%s vs %s ms) | %s | %s | %s |" % (
                name, fmt_ms(o), fmt_ms(t), top(mp), top(tp), lose_text(mp, tp)))
    lines += ["", "Whole run: %.0f s." % (time.time() - t_start)]
    open(args.out, "w").write("\n".join(lines) + "\n")
    if args.readme and not args.only:
        readme = os.path.join(ROOT, "README.md")
        text = open(readme).read()
        a, b = text.index("<!-- real:start -->"), text.index("<!-- real:end -->")
        open(readme, "w").write(text[:a] + "<!-- real:start -->\n" + "\n".join(summary) + "\n" + text[b:])
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
