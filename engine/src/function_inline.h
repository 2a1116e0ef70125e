/* function_inline.h - model-local functions inlined before the graph is built */
#ifndef FUNCTION_INLINE_H
#define FUNCTION_INLINE_H

#include "engine_internal.h"
#include "onnx.pb-c.h"

/* Calls nested deeper than this are refused (ONNX_ERR_LIMIT). */
#define ONNX_MAX_FUNCTION_DEPTH 32
/* Node copies inlining may make in all, nested graphs included. */
#define ONNX_MAX_INLINED_NODES 200000

/*
 * Replace, in mp's main graph and every subgraph, each node that calls a
 * function of mp->functions by the function's body.  *out is mp->graph
 * itself when nothing calls a function, otherwise a rewritten graph whose
 * new parts live in tmp and share the unchanged parts with mp: both must
 * outlive its use.  A function that calls itself, directly or not, is an
 * invalid model.
 */
extern OnnxStatus onnx_inline_functions(OnnxArena *tmp, const Onnx__ModelProto *mp,
										const Onnx__GraphProto **out, OnnxError *err);

#endif
