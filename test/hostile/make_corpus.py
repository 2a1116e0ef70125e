#!/usr/bin/env python3
"""Generate the hostile-model corpus (deterministic; seed 1) into a
directory (default test/hostile/corpus/, git-ignored):

  mut_*    mutations of the real fixtures in test/fixtures/: truncations,
           byte flips, duplicated and swapped byte ranges
  hand_*   one or more hand-made cases for every known attack class:
           deep nesting (graphs in attributes), raw_data shorter than the
           dims, dims that overflow, negative dims, external data paths
           that escape, cycles, duplicate outputs, undefined references,
           unknown IR versions and opsets, wrong arity, attribute types
           that disagree, string and typed-field counts that disagree,
           sparse indices out of range, oversized run-time shapes, huge
           graphs, loops that never end or never stop growing, model-local
           functions that recurse or expand exponentially

Every case must end in a clean error or a valid result, never a crash or
a hang: test/hostile/hostile_run.c (engine) and
test/sessions/test_hostile_sql.py (server) check that.
"""
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
OPSET = 17


def mk(nodes, inputs, outputs, inits=(), opset=OPSET, ir=8, sparse=()):
    g = helper.make_graph(nodes, "hostile", inputs, outputs, list(inits), sparse_initializer=list(sparse))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def f(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def bare_tensor(name, dtype, dims, floats=()):
    """A TensorProto built field by field (helpers would validate or allocate)."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.float_data.extend(floats)
    return t


def hand_cases():
    cases = {}
    # deep nesting: If inside If inside If ...
    inner = helper.make_graph([helper.make_node("Identity", ["x"], ["y0"])], "g0", [], [f("y0", [1])])
    leaf = inner
    for i in range(25):
        node = helper.make_node("If", ["c"], ["y%d" % (i + 1)], then_branch=inner, else_branch=leaf)
        inner = helper.make_graph([node], "g%d" % (i + 1), [], [f("y%d" % (i + 1), [1])])
    cases["deep_if_nesting"] = mk(list(inner.node), [helper.make_tensor_value_info("c", TensorProto.BOOL, []), f("x", [1])],
                                  [f("y25", [1])])
    # raw_data shorter than dims
    t = numpy_helper.from_array(np.zeros((4, 4), np.float32), "w")
    t.raw_data = t.raw_data[:10]
    cases["raw_data_short"] = mk([helper.make_node("MatMul", ["x", "w"], ["y"])], [f("x", [1, 4])], [f("y", [1, 4])], [t])
    # dims product overflow / negative / huge rank
    for name, dims in [("dims_overflow", [1 << 40, 1 << 40]), ("dims_negative", [-3, 4]),
                       ("dims_huge_count", [1 << 31, 1 << 31, 4]), ("rank_20", [1] * 20)]:
        t = bare_tensor("w", TensorProto.FLOAT, dims, [1.0])
        cases[name] = mk([helper.make_node("Add", ["x", "w"], ["y"])], [f("x", [1])], [f("y", [1])], [t])
    # external data that escapes
    for i, loc in enumerate(["../../../../etc/passwd", "/etc/shadow", "weights.bin", "..\\..\\x"]):
        t = bare_tensor("w", TensorProto.FLOAT, [4])
        t.data_location = TensorProto.EXTERNAL
        for k, v in [("location", loc), ("offset", "0"), ("length", "16")]:
            e = t.external_data.add()
            e.key, e.value = k, v
        cases["external_data_%d" % i] = mk([helper.make_node("Add", ["x", "w"], ["y"])], [f("x", [4])], [f("y", [4])], [t])
    # cycles, duplicate outputs, undefined references
    cases["cycle"] = mk([helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Relu", ["a"], ["b"]),
                         helper.make_node("Identity", ["a"], ["y"])], [f("x", [1])], [f("y", [1])])
    cases["self_loop"] = mk([helper.make_node("Add", ["x", "a"], ["a"]), helper.make_node("Identity", ["a"], ["y"])],
                            [f("x", [1])], [f("y", [1])])
    cases["duplicate_output"] = mk([helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Neg", ["x"], ["y"])],
                                   [f("x", [1])], [f("y", [1])])
    cases["output_shadows_input"] = mk([helper.make_node("Relu", ["x"], ["x"])], [f("x", [1])], [f("x", [1])])
    cases["undefined_input"] = mk([helper.make_node("Relu", ["nothere"], ["y"])], [f("x", [1])], [f("y", [1])])
    cases["undefined_output"] = mk([helper.make_node("Relu", ["x"], ["z"])], [f("x", [1])], [f("y", [1])])
    cases["empty_graph"] = mk([], [], [])
    cases["empty_op_type"] = mk([helper.make_node("", ["x"], ["y"])], [f("x", [1])], [f("y", [1])])
    # versions
    cases["ir_version_99"] = mk([helper.make_node("Relu", ["x"], ["y"])], [f("x", [1])], [f("y", [1])], ir=99)
    cases["ir_version_0"] = mk([helper.make_node("Relu", ["x"], ["y"])], [f("x", [1])], [f("y", [1])], ir=0)
    cases["opset_999"] = mk([helper.make_node("Relu", ["x"], ["y"])], [f("x", [1])], [f("y", [1])], opset=999)
    cases["opset_negative"] = mk([helper.make_node("Relu", ["x"], ["y"])], [f("x", [1])], [f("y", [1])], opset=-5)
    # arity and attribute types
    cases["add_one_input"] = mk([helper.make_node("Add", ["x"], ["y"])], [f("x", [1])], [f("y", [1])])
    cases["relu_three_inputs"] = mk([helper.make_node("Relu", ["x", "x", "x"], ["y"])], [f("x", [1])], [f("y", [1])])
    cases["relu_no_output"] = mk([helper.make_node("Relu", ["x"], [])], [f("x", [1])], [f("x", [1])])
    cases["gemm_alpha_string"] = mk([helper.make_node("Gemm", ["x", "x"], ["y"], alpha="big", transB=1)],
                                    [f("x", [2, 2])], [f("y", [2, 2])])
    cases["flatten_axis_huge"] = mk([helper.make_node("Flatten", ["x"], ["y"], axis=1 << 40)], [f("x", [2, 2])], [f("y", None)])
    cases["softmax_axis_huge"] = mk([helper.make_node("Softmax", ["x"], ["y"], axis=-(1 << 62))], [f("x", [2, 2])], [f("y", None)])
    cases["duplicate_attribute"] = mk([helper.make_node("Flatten", ["x"], ["y"], axis=1)], [f("x", [2, 2])], [f("y", None)])
    # an integer attribute written as a float out of int64's range (fuzz_load: an undefined cast)
    for tag, v in (("huge", -4.98e35), ("nan", float("nan")), ("inf", float("inf"))):
        cases["flatten_axis_float_" + tag] = mk([helper.make_node("Flatten", ["x"], ["y"], axis=v)],
                                                [f("x", [2, 2])], [f("y", None)])
        cases["conv_group_float_" + tag] = mk([helper.make_node("Conv", ["x", "x"], ["y"], group=v)],
                                              [f("x", [1, 1, 2, 2])], [f("y", None)])
    cases["duplicate_attribute"].graph.node[0].attribute.append(helper.make_attribute("axis", 0))
    # counts that disagree
    t = bare_tensor("w", TensorProto.FLOAT, [8], [1.0, 2.0])
    cases["float_data_short"] = mk([helper.make_node("Add", ["x", "w"], ["y"])], [f("x", [8])], [f("y", [8])], [t])
    t = bare_tensor("w", TensorProto.STRING, [3])
    t.string_data.append(b"a")
    cases["string_data_short"] = mk([helper.make_node("Identity", ["w"], ["y"])], [], [helper.make_tensor_value_info("y", TensorProto.STRING, [3])], [t])
    t = bare_tensor("w", TensorProto.INT64, [4])
    t.int64_data.extend([1, 2])
    cases["int64_data_short"] = mk([helper.make_node("Reshape", ["x", "w"], ["y"])], [f("x", [8])], [f("y", None)], [t])
    t = helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
    t.data_type = 999
    cases["data_type_999"] = mk([helper.make_node("Add", ["x", "w"], ["y"])], [f("x", [2])], [f("y", [2])], [t])
    # sparse initializers out of range
    vals = numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "sw")
    idx = numpy_helper.from_array(np.array([0, 1 << 40], np.int64), "sw_idx")
    sp = helper.make_sparse_tensor(vals, idx, [4])
    cases["sparse_index_out_of_range"] = mk([helper.make_node("Add", ["x", "sw"], ["y"])], [f("x", [4])], [f("y", [4])], sparse=[sp])
    # run-time shapes that ask for terabytes
    shape = numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64), "s")
    cases["reshape_to_terabytes"] = mk([helper.make_node("Reshape", ["x", "s"], ["y"])], [f("x", [4])], [f("y", None)], [shape])
    cases["matmul_mismatch"] = mk([helper.make_node("MatMul", ["x", "x"], ["y"])], [f("x", [3, 5])], [f("y", None)])
    cases["gemm_c_bad_broadcast"] = mk([helper.make_node("Gemm", ["x", "x", "c"], ["y"], transB=1)], [f("x", [2, 2])], [f("y", None)],
                                       [numpy_helper.from_array(np.zeros(3, np.float32), "c")])
    # a huge graph: 100,000 chained Identity nodes
    nodes = [helper.make_node("Identity", ["x" if i == 0 else "t%d" % (i - 1)], ["t%d" % i]) for i in range(100000)]
    nodes.append(helper.make_node("Identity", ["t99999"], ["y"]))
    cases["chain_100k_nodes"] = mk(nodes, [f("x", [1])], [f("y", [1])])
    # control flow that never ends or never stops growing: the run must end
    # (cancelled by the harness's deadline, or at the memory limit)
    vb = lambda n, t, s: helper.make_tensor_value_info(n, t, s)
    body = helper.make_graph([], "body", [vb("i", TensorProto.INT64, []), vb("c", TensorProto.BOOL, []), f("x_in", [1])],
                             [vb("c", TensorProto.BOOL, []), f("x_in", [1])])
    cases["loop_forever"] = mk([helper.make_node("Loop", ["", "", "x"], ["y"], body=body)], [f("x", [1])], [f("y", [1])])
    body = helper.make_graph([], "body", [vb("i", TensorProto.INT64, []), vb("c", TensorProto.BOOL, []), f("x_in", [4096])],
                             [vb("c", TensorProto.BOOL, []), f("x_in", [4096]), f("x_in", [4096])])
    cases["loop_grow"] = mk([helper.make_node("Loop", ["", "", "x"], ["y", "ys"], body=body)], [f("x", [4096])],
                            [f("y", [4096]), f("ys", None)])
    # model-local functions: recursion (direct and mutual), exponential expansion
    def fn(name, nodes):
        return helper.make_function("local", name, ["X"], ["Y"], nodes, [helper.make_opsetid("", OPSET), helper.make_opsetid("local", 1)])

    def fmodel(funcs):
        m = mk([helper.make_node("F0", ["x"], ["y"], domain="local")], [f("x", [1])], [f("y", [1])])
        m.opset_import.append(helper.make_opsetid("local", 1))
        m.functions.extend(funcs)
        return m
    cases["function_recursive"] = fmodel([fn("F0", [helper.make_node("F0", ["X"], ["Y"], domain="local")])])
    cases["function_mutual_recursion"] = fmodel([fn("F0", [helper.make_node("F1", ["X"], ["Y"], domain="local")]),
                                                 fn("F1", [helper.make_node("F0", ["X"], ["Y"], domain="local")])])
    # F_k calls F_(k+1) twice: 2^24 copies of F_24's body if nothing stopped it
    funcs = [fn("F%d" % k, [helper.make_node("F%d" % (k + 1), ["X"], ["a"], domain="local"),
                            helper.make_node("F%d" % (k + 1), ["a"], ["Y"], domain="local")]) for k in range(24)]
    funcs.append(fn("F24", [helper.make_node("Relu", ["X"], ["Y"])]))
    cases["function_exponential"] = fmodel(funcs)
    return {"hand_" + k: v.SerializeToString() for k, v in cases.items()}


def raw_cases():
    """Byte-level cases that no serializer would write."""
    out = {}
    out["raw_empty"] = b""
    out["raw_zero_bytes"] = b"\x00" * 64
    out["raw_varint_endless"] = b"\x08" + b"\xff" * 20
    out["raw_length_past_end"] = b"\x3a\xff\xff\xff\x7f" + b"\x00" * 8
    out["raw_group_wire_type"] = b"\x0b\x0c"
    out["raw_text"] = b"this is not an onnx model, it is text " * 10
    # 200 levels of Graph.node -> Node.attribute -> Attribute.g built by hand
    payload = b""
    for level in range(300):
        field = [6, 5, 1][level % 3]
        tag = bytes([(field << 3) | 2])
        n, ln = len(payload), b""
        while True:
            b = n & 0x7F
            n >>= 7
            ln += bytes([b | (0x80 if n else 0)])
            if not n:
                break
        payload = tag + ln + payload
    out["raw_nesting_300"] = b"\x08\x08\x3a" + bytes([len(payload) & 0x7F | 0x80]) + bytes([len(payload) >> 7 & 0x7F | (0x80 if len(payload) >> 14 else 0)]) + (bytes([len(payload) >> 14]) if len(payload) >> 14 else b"") + payload
    return out


def contrib_cases():
    """com.microsoft fusions with hostile attributes and shapes, and float16
    models that stress the float32 promotion (engine/src/fp16_promote.c)."""
    cases = {}
    ms = "com.microsoft"
    i32 = TensorProto.INT32

    def msm(name, node, inputs, outputs, inits=()):
        m = mk([node], inputs, outputs, inits)
        m.opset_import.append(helper.make_opsetid(ms, 1))
        cases["contrib_" + name] = m.SerializeToString()

    def w(name, shape, v=0.5):
        return numpy_helper.from_array(np.full(shape, v, np.float32), name)

    n = helper.make_node
    x3 = f("x", [2, 3, 8])
    for tag, attrs in (("heads_huge", {"num_heads": 1 << 40}), ("heads_neg", {"num_heads": -2}),
                       ("qkv_sizes_neg", {"num_heads": 2, "qkv_hidden_sizes": [-8, 16, 16]}),
                       ("qkv_sizes_big", {"num_heads": 2, "qkv_hidden_sizes": [1 << 40, 1 << 40, 8]})):
        msm("attention_" + tag, n("Attention", ["x", "w", "b"], ["y"], domain=ms, **attrs), [x3], [f("y", None)],
            [w("w", [8, 24]), w("b", [24])])
    msm("attention_mask_huge", n("Attention", ["x", "w", "b", "m"], ["y"], domain=ms, num_heads=2),
        [x3], [f("y", None)], [w("w", [8, 24]), w("b", [24]),
                               numpy_helper.from_array(np.array([1 << 30, -5, 7, 1 << 31 - 1], np.int32), "m")])
    msm("attention_past_bad", n("Attention", ["x", "w", "b", "", "p"], ["y", "pr"], domain=ms, num_heads=2),
        [x3], [f("y", None), f("pr", None)], [w("w", [8, 24]), w("b", [24]), w("p", [2, 2, 2, 1 << 20, 0])])
    msm("mha_kv_bad", n("MultiHeadAttention", ["q", "k", "v"], ["y"], domain=ms, num_heads=3),
        [f("q", [2, 3, 8]), f("k", [2, 4, 5, 2]), f("v", [2, 3, 9])], [f("y", None)])
    msm("mha_packed_qkv_bias_bad", n("MultiHeadAttention", ["q", "", "", "b"], ["y"], domain=ms, num_heads=2),
        [f("q", [2, 3, 2, 3, 4])], [f("y", None)], [w("b", [5])])
    msm("mha_packed_kv_past", n("MultiHeadAttention", ["q", "k", "", "", "", "", "pk", "pv"], ["y", "pko", "pvo"],
                                domain=ms, num_heads=2),
        [f("q", [2, 3, 8]), f("k", [2, 4, 2, 2, 4])], [f("y", None), f("pko", None), f("pvo", None)],
        [w("pk", [2, 2, 1, 4]), w("pv", [2, 2, 1, 4])])
    msm("attention_rotary_dim_huge", n("Attention", ["x", "w", "b"], ["y"], domain=ms, num_heads=2, do_rotary=1,
                                       rotary_embedding_dim=1 << 40), [x3], [f("y", None)],
        [w("w", [8, 24]), w("b", [24])])
    msm("attention_mask4d_short", n("Attention", ["x", "w", "b", "m"], ["y"], domain=ms, num_heads=2),
        [x3], [f("y", None)], [w("w", [8, 24]), w("b", [24]),
                               numpy_helper.from_array(np.ones((2, 1, 2, 2), np.int32), "m")])

    def codes(name, shape):
        return numpy_helper.from_array(np.full(shape, 0x5A, np.uint8), name)
    # MatMulNBits 4-bit: codes one block short, block_size huge, zero points of the wrong length
    msm("nbits_codes_short", n("MatMulNBits", ["x", "q", "s"], ["y"], domain=ms, K=8, N=4, bits=4, block_size=16),
        [x3], [f("y", None)], [codes("q", [4, 0, 8]), w("s", [4])])
    msm("nbits_block_huge", n("MatMulNBits", ["x", "q", "s"], ["y"], domain=ms, K=8, N=4, bits=4,
                              block_size=1 << 40), [x3], [f("y", None)], [codes("q", [4, 1, 8]), w("s", [4])])
    msm("nbits_zp_short", n("MatMulNBits", ["x", "q", "s", "z"], ["y"], domain=ms, K=8, N=4, bits=4, block_size=16),
        [x3], [f("y", None)], [codes("q", [4, 1, 8]), w("s", [4]), codes("z", [3])])
    msm("nbits_ragged_ok", n("MatMulNBits", ["x", "q", "s", "z"], ["y"], domain=ms, K=8, N=70, bits=4, block_size=16),
        [x3], [f("y", None)], [codes("q", [70, 1, 8]), w("s", [70]), codes("z", [70, 1])])
    msm("embed_ids_far", n("EmbedLayerNormalization", ["ids", "", "we", "pe", "", "g", "b"], ["y", "mi"], domain=ms),
        [helper.make_tensor_value_info("ids", i32, [2, 3])], [f("y", None), helper.make_tensor_value_info("mi", i32, None)],
        [w("we", [1, 4]), w("pe", [2, 4]), w("g", [4]), w("b", [4])])
    msm("rotary_dim_odd", n("RotaryEmbedding", ["x", "p", "c", "s"], ["y"], domain=ms, num_heads=2,
                            rotary_embedding_dim=3), [x3, helper.make_tensor_value_info("p", TensorProto.INT64, [2, 3])],
        [f("y", None)], [w("c", [4, 2]), w("s", [4, 2])])
    msm("rotary_pos_far", n("RotaryEmbedding", ["x", "p", "c", "s"], ["y"], domain=ms, num_heads=2),
        [x3], [f("y", None)], [numpy_helper.from_array(np.array([1 << 40], np.int64), "p"),
                               w("c", [4, 2]), w("s", [4, 2])])
    msm("skip_ln_skip_big", n("SkipLayerNormalization", ["x", "s", "g"], ["y"], domain=ms),
        [x3, f("s", [5, 2, 3, 8])], [f("y", None)], [w("g", [8])])
    msm("fused_matmul_k_mismatch", n("FusedMatMul", ["x", "b"], ["y"], domain=ms, transB=1),
        [x3], [f("y", None)], [w("b", [8, 3])])
    msm("fused_conv_z", n("FusedConv", ["x", "w", "", "z"], ["y"], domain=ms, activation="Relu"),
        [f("x", [1, 2, 4, 4]), f("z", [1, 2, 4, 4])], [f("y", None)], [w("w", [2, 2, 1, 1])])
    msm("fused_gemm_act_bad", n("FusedGemm", ["x", "b"], ["y"], domain=ms, activation="Softplus"),
        [f("x", [2, 3])], [f("y", None)], [w("b", [3, 4])])
    # float16 promotion: a value already named like the promoted copy, an fp16
    # initializer with short raw data, an output without a declared type,
    # a float16 sequence output, an fp16 initializer that is input and output
    h = TensorProto.FLOAT16
    hx = helper.make_tensor_value_info("x", h, [2])
    m = mk([n("Identity", ["x"], ["x#f32"]), n("Add", ["x", "x#f32"], ["y"])], [hx],
           [helper.make_tensor_value_info("y", h, None)])
    cases["contrib_f16_name_clash"] = m.SerializeToString()
    short = bare_tensor("c", h, [4])
    short.raw_data = b"\x00\x3c\x00"
    m = mk([n("Add", ["x", "c"], ["y"])], [helper.make_tensor_value_info("x", h, [4])],
           [helper.make_tensor_value_info("y", h, None)], [short])
    cases["contrib_f16_raw_short"] = m.SerializeToString()
    m = mk([n("Mul", ["x", "x"], ["y"])], [hx], [helper.ValueInfoProto(name="y")])
    cases["contrib_f16_untyped_output"] = m.SerializeToString()
    m = mk([n("SequenceConstruct", ["x", "x"], ["y"])], [hx],
           [helper.make_tensor_sequence_value_info("y", h, None)])
    cases["contrib_f16_sequence_output"] = m.SerializeToString()
    c16 = numpy_helper.from_array(np.ones(2, np.float16), "c")
    m = mk([n("Add", ["x", "c"], ["y"])], [hx, helper.make_tensor_value_info("c", h, [2])],
           [helper.make_tensor_value_info("y", h, None), helper.make_tensor_value_info("c", h, [2])], [c16])
    cases["contrib_f16_init_in_out"] = m.SerializeToString()
    return cases


def mutations(rng):
    out = {}
    for fx in sorted(os.listdir(FIXTURES)):
        if not fx.endswith(".onnx"):
            continue
        data = open(os.path.join(FIXTURES, fx), "rb").read()
        base = fx[:-5]
        for i in range(30):
            cut = rng.randrange(1, len(data))
            out["mut_%s_trunc_%02d" % (base, i)] = data[:cut]
        for i in range(50):
            b = bytearray(data)
            for _ in range(rng.choice([1, 1, 2, 4, 8])):
                p = rng.randrange(len(b))
                b[p] ^= 1 << rng.randrange(8) if rng.random() < 0.7 else rng.randrange(256)
            out["mut_%s_flip_%02d" % (base, i)] = bytes(b)
        for i in range(20):
            b = bytearray(data)
            a0 = rng.randrange(len(b))
            a1 = min(len(b), a0 + rng.randrange(1, 64))
            if rng.random() < 0.5:
                b[a0:a0] = b[a0:a1]       # duplicate a range
            else:
                c0 = rng.randrange(len(b))
                seg = b[a0:a1]
                del b[a0:a1]
                b[c0:c0] = seg            # move a range
            out["mut_%s_splice_%02d" % (base, i)] = bytes(b)
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1)
    cases = {}
    cases.update(hand_cases())
    cases.update(raw_cases())
    cases.update(contrib_cases())
    cases.update(mutations(rng))
    for name, data in cases.items():
        with open(os.path.join(out, name + ".onnx"), "wb") as fh:
            fh.write(data)
    print("%d cases in %s" % (len(cases), out))


if __name__ == "__main__":
    main()
