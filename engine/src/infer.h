/* infer.h - static type and shape inference over a graph */
#ifndef INFER_H
#define INFER_H

#include "engine_internal.h"

extern OnnxStatus onnx_graph_infer(OnnxGraph *g, OnnxError *err);
/* Infer one node's outputs from its inputs (subgraphs already inferred). */
extern OnnxStatus onnx_node_infer(OnnxGraph *g, OnnxNode *n, OnnxError *err);
/* Refresh a subgraph's captured infos from the enclosing graphs. */
extern void onnx_subgraph_refresh_captures(OnnxGraph *sub);

#endif
