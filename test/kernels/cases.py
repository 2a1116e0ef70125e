"""Writing kernel test cases: a model, its inputs and onnxruntime's outputs.

A case is a directory in the layout of the ONNX backend node tests
(model.onnx, test_data_set_0/input_K.pb, output_K.pb) plus tolerance.txt
("RTOL ATOL"), or error.txt (write_error_case: the message the engine's
refusal must contain); run_kernel_tests.py runs every case through the engine
(engine/build/onnx_node_test) and compares with onnxruntime's outputs.

    from cases import write_case, make_model
    m = make_model([helper.make_node("Add", ["a", "b"], ["c"])],
                   inputs={"a": (np.float32, [2, 3]), "b": (np.float32, [3])},
                   outputs={"c": (np.float32, None)})
    write_case(out_dir, "add_row", m, {"a": a, "b": b})
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

OPSET = 21


def make_model(nodes, inputs, outputs, initializers=(), opset=OPSET, domains=()):
    """A one-graph model: inputs/outputs map a name to (numpy dtype, shape or None)."""
    def vi(name, spec):
        dt, shape = spec
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dt)), shape)

    g = helper.make_graph(nodes, "case", [vi(k, v) for k, v in inputs.items()],
                          [vi(k, v) for k, v in outputs.items()],
                          [numpy_helper.from_array(np.asarray(a), n) for n, a in initializers])
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in domains]
    return helper.make_model(g, opset_imports=ops, ir_version=10)


def reference(model, feed):
    """onnxruntime's outputs for feed (one thread, no graph optimisation)."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


def write_case(out_dir, name, model, feed, rtol=1e-4, atol=1e-5, expected=None, isa=None,
               threads=None):
    """Write case out_dir/name; expected outputs from onnxruntime unless given.
    isa: instruction-set levels to run it at (e.g. ("portable", "avx2", "avx512")),
    default the best the machine has; threads: intra-op thread counts to run
    it with (e.g. (1, 2)), default 1."""
    d = os.path.join(out_dir, name)
    ds = os.path.join(d, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    outs = expected if expected is not None else reference(model, feed)
    inits = {t.name for t in model.graph.initializer}
    fed = [gi for gi in model.graph.input if gi.name not in inits]
    for i, gi in enumerate(fed):
        with open(os.path.join(ds, "input_%d.pb" % i), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(feed[gi.name]), gi.name).SerializeToString())
    for i, (go, val) in enumerate(zip(model.graph.output, outs)):
        with open(os.path.join(ds, "output_%d.pb" % i), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(val), go.name).SerializeToString())
    with open(os.path.join(d, "tolerance.txt"), "w") as f:
        f.write("%g %g\n" % (rtol, atol))
    if isa is not None:
        with open(os.path.join(d, "isa.txt"), "w") as f:
            f.write(" ".join(isa) + "\n")
    if threads is not None:
        with open(os.path.join(d, "threads.txt"), "w") as f:
            f.write(" ".join(str(t) for t in threads) + "\n")
    return d


def write_error_case(out_dir, name, model, feed, message):
    """Write case out_dir/name that the engine must refuse: it passes when
    onnx_node_test reports a failure (load, session or run) whose message
    contains message, and does not crash."""
    d = write_case(out_dir, name, model, feed, expected=[np.zeros(1, np.float32) for _ in model.graph.output])
    with open(os.path.join(d, "error.txt"), "w") as f:
        f.write(message + "\n")
    return d
