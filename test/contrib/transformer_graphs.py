"""BERT- and GPT-2-shaped models built with onnx.helper, in the node
patterns the PyTorch exporter writes (decomposed LayerNorm and Gelu,
attention as MatMul / Reshape / Transpose / Softmax chains), so that
onnxruntime.transformers.optimizer fuses them into com.microsoft
operators (EmbedLayerNormalization, Attention, SkipLayerNormalization,
BiasGelu, FastGelu, ...).  Random weights, seeded."""
import math

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


class G:
    """Nodes and initializers of a graph being built."""

    def __init__(self, seed):
        self.nodes, self.inits, self.k = [], [], 0
        self.rng = np.random.default_rng(seed)

    def name(self, p):
        self.k += 1
        return "%s_%d" % (p, self.k)

    def c(self, arr, p="c"):
        n = self.name(p)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def w(self, shape, scale=0.05, p="w"):
        return self.c((self.rng.standard_normal(shape) * scale).astype(np.float32), p)

    def op(self, op, ins, n_out=1, **attrs):
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, ins, outs, name=self.name("n_" + op), **attrs))
        return outs[0] if n_out == 1 else outs

    def f(self, v):
        return self.c(np.array(v, np.float32))

    def i64(self, v):
        return self.c(np.array(v, np.int64))

    def layer_norm(self, x, H, eps=1e-5):
        """ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add."""
        mean = self.op("ReduceMean", [x], axes=[-1])
        d = self.op("Sub", [x, mean])
        var = self.op("ReduceMean", [self.op("Pow", [d, self.f(2.0)])], axes=[-1])
        std = self.op("Sqrt", [self.op("Add", [var, self.f(eps)])])
        y = self.op("Div", [d, std])
        gamma = self.c((1 + 0.1 * self.rng.standard_normal(H)).astype(np.float32), "gamma")
        return self.op("Add", [self.op("Mul", [y, gamma]), self.w([H], 0.1, "beta")])

    def linear(self, x, i, o, bias_first=False):
        m = self.op("MatMul", [x, self.w([i, o], 1 / math.sqrt(i))])
        b = self.w([o], 0.02, "bias")
        return self.op("Add", [b, m] if bias_first else [m, b])

    def gelu_erf(self, x):
        """x * 0.5 * (1 + erf(x / sqrt(2)))."""
        e = self.op("Erf", [self.op("Div", [x, self.f(1.4142099618911743)])])
        return self.op("Mul", [self.op("Mul", [x, self.op("Add", [e, self.f(1.0)])]), self.f(0.5)])

    def gelu_tanh(self, x):
        """0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))."""
        x3 = self.op("Pow", [x, self.f(3.0)])
        inner = self.op("Add", [x, self.op("Mul", [x3, self.f(0.044715)])])
        t = self.op("Tanh", [self.op("Mul", [inner, self.f(math.sqrt(2 / math.pi))])])
        return self.op("Mul", [self.op("Mul", [x, self.f(0.5)]), self.op("Add", [t, self.f(1.0)])])

    def heads(self, x, heads, hd, perm):
        r = self.op("Reshape", [x, self.i64([0, 0, heads, hd])])
        return self.op("Transpose", [r], perm=perm)


def bert(layers=2, S=16, H=64, heads=4, F=256, vocab=101, types=2, max_pos=64, seed=0):
    """input_ids, token_type_ids, attention_mask (int64, (B, S)) -> (B, S, H)."""
    g = G(seed)
    hd = H // heads
    word = g.w([vocab, H], 0.5, "word_emb")
    pos = g.w([max_pos, H], 0.5, "pos_emb")
    seg = g.w([types, H], 0.5, "seg_emb")
    # position ids as the exporter writes them: a constant slice of arange
    pos_ids = g.c(np.arange(max_pos, dtype=np.int64).reshape(1, max_pos), "position_ids")
    seq = g.op("Gather", [g.op("Shape", ["input_ids"]), g.i64(1)], axis=0)
    pid = g.op("Slice", [pos_ids, g.i64([0]), g.op("Unsqueeze", [seq, g.i64([0])]), g.i64([1])])
    e = g.op("Add", [g.op("Gather", [word, "input_ids"]), g.op("Gather", [seg, "token_type_ids"])])
    e = g.op("Add", [e, g.op("Gather", [pos, pid])])
    x = g.layer_norm(e, H, 1e-12)
    # extended attention mask: (1 - mask[:, None, None, :]) * -10000
    m = g.op("Unsqueeze", [g.op("Unsqueeze", ["attention_mask", g.i64([1])]), g.i64([2])])
    m = g.op("Mul", [g.op("Sub", [g.f(1.0), g.op("Cast", [m], to=TensorProto.FLOAT)]), g.f(-10000.0)])
    for _ in range(layers):
        q = g.heads(g.linear(x, H, H), heads, hd, [0, 2, 1, 3])
        k = g.heads(g.linear(x, H, H), heads, hd, [0, 2, 3, 1])
        v = g.heads(g.linear(x, H, H), heads, hd, [0, 2, 1, 3])
        s = g.op("Div", [g.op("MatMul", [q, k]), g.f(math.sqrt(hd))])
        p = g.op("Softmax", [g.op("Add", [s, m])], axis=3)
        ctx = g.op("Transpose", [g.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, g.i64([0, 0, H])])
        x = g.layer_norm(g.op("Add", [g.linear(ctx, H, H), x]), H, 1e-12)
        h = g.gelu_erf(g.linear(x, H, F))
        x = g.layer_norm(g.op("Add", [g.linear(h, F, H), x]), H, 1e-12)
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
           for n in ("input_ids", "token_type_ids", "attention_mask")]
    out = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", H])]
    graph = helper.make_graph(g.nodes, "bert", ins, out, g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)


def gpt2_embed(g, H, vocab, max_pos):
    """Token and position embeddings of input_ids: (word table, seq, x)."""
    word = g.w([vocab, H], 0.5, "wte")
    pos = g.w([max_pos, H], 0.5, "wpe")
    seq = g.op("Gather", [g.op("Shape", ["input_ids"]), g.i64(1)], axis=0)
    pid = g.op("Unsqueeze", [g.op("Range", [g.i64(0), seq, g.i64(1)]), g.i64([0])])
    return word, seq, g.op("Add", [g.op("Gather", [word, "input_ids"]), g.op("Gather", [pos, pid])])


def gpt2_head(g, x, word, H, vocab, name):
    """Final LayerNorm, tied projection to logits, the model."""
    x = g.layer_norm(x, H)
    g.nodes.append(helper.make_node("MatMul", [x, g.op("Transpose", [word], perm=[1, 0])], ["logits"]))
    ins = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])]
    out = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", vocab])]
    graph = helper.make_graph(g.nodes, name, ins, out, g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)


def gpt2(layers=2, S=16, H=64, heads=4, vocab=101, max_pos=64, seed=1):
    """input_ids (int64, (B, S)) -> logits (B, S, vocab); causal self-attention,
    pre-LayerNorm, tanh Gelu, tied output projection."""
    g = G(seed)
    hd = H // heads
    word, seq, x = gpt2_embed(g, H, vocab, max_pos)
    causal = g.c(np.tril(np.ones((max_pos, max_pos), np.uint8)).astype(bool).reshape(1, 1, max_pos, max_pos), "bias")
    for _ in range(layers):
        h = g.layer_norm(x, H)
        qkv = g.linear(h, H, 3 * H)
        q, k, v = g.op("Split", [qkv, g.i64([H, H, H])], n_out=3, axis=2)
        q = g.heads(q, heads, hd, [0, 2, 1, 3])
        k = g.heads(k, heads, hd, [0, 2, 3, 1])
        v = g.heads(v, heads, hd, [0, 2, 1, 3])
        s = g.op("Div", [g.op("MatMul", [q, k]), g.f(math.sqrt(hd))])
        mask = g.op("Slice", [causal, g.i64([0, 0]), g.op("Concat", [g.op("Unsqueeze", [seq, g.i64([0])]),
                                                                        g.op("Unsqueeze", [seq, g.i64([0])])], axis=0),
                              g.i64([2, 3])])
        s = g.op("Where", [mask, s, g.f(-10000.0)])
        p = g.op("Softmax", [s], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, g.i64([0, 0, H])])
        x = g.op("Add", [x, g.linear(ctx, H, H)])
        h = g.layer_norm(x, H)
        x = g.op("Add", [x, g.linear(g.gelu_tanh(g.linear(h, H, 4 * H)), 4 * H, H)])
    return gpt2_head(g, x, word, H, vocab, "gpt2")


def gpt2_hf(layers=2, H=64, heads=4, vocab=101, max_pos=64, seed=2):
    """GPT-2 as the Hugging Face model exports without past: Conv1D
    projections as Reshape -> Gemm -> Reshape, the causal mask sliced from a
    (1, 1, max_pos, max_pos) bool buffer by the shape of the scores, Where;
    the optimizer fuses its attention into Attention(unidirectional=1)."""
    g = G(seed)
    hd = H // heads
    word, seq, x = gpt2_embed(g, H, vocab, max_pos)
    causal = g.c(np.tril(np.ones((max_pos, max_pos), bool)).reshape(1, 1, max_pos, max_pos), "bias")

    def conv1d(h, i, o):
        """Reshape (B*S, i) -> Gemm -> Reshape (B, S, o)."""
        lead = g.op("Slice", [g.op("Shape", [h]), g.i64([0]), g.i64([2])])
        flat = g.op("Reshape", [h, g.i64([-1, i])])
        y = g.op("Gemm", [flat, g.w([i, o], 1 / math.sqrt(i)), g.w([o], 0.02, "bias")])
        return g.op("Reshape", [y, g.op("Concat", [lead, g.i64([o])], axis=0)])

    for _ in range(layers):
        h = g.layer_norm(x, H)
        q, k, v = g.op("Split", [conv1d(h, H, 3 * H), g.i64([H, H, H])], n_out=3, axis=2)
        q = g.heads(q, heads, hd, [0, 2, 1, 3])
        k = g.heads(k, heads, hd, [0, 2, 3, 1])
        v = g.heads(v, heads, hd, [0, 2, 1, 3])
        s = g.op("Div", [g.op("MatMul", [q, k]), g.f(math.sqrt(hd))])
        shp = g.op("Shape", [s])
        ns = g.op("Squeeze", [g.op("Slice", [shp, g.i64([3]), g.i64([4])])])
        nd = g.op("Squeeze", [g.op("Slice", [shp, g.i64([2]), g.i64([3])])])
        start = g.op("Unsqueeze", [g.op("Sub", [ns, nd]), g.i64([0])])
        end = g.op("Unsqueeze", [ns, g.i64([0])])
        m = g.op("Slice", [causal, start, end, g.i64([2])])
        m = g.op("Slice", [m, g.i64([0]), end, g.i64([3])])
        p = g.op("Softmax", [g.op("Where", [m, s, g.f(-10000.0)])], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, g.i64([0, 0, H])])
        x = g.op("Add", [x, conv1d(ctx, H, H)])
        h = g.layer_norm(x, H)
        x = g.op("Add", [x, conv1d(g.gelu_tanh(conv1d(h, H, 4 * H)), 4 * H, H)])
    return gpt2_head(g, x, word, H, vocab, "gpt2_hf")
