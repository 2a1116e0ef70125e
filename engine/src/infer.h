/* infer.h - static type and shape inference over a graph */
#ifndef INFER_H
#define INFER_H

#include "engine_internal.h"

extern OnnxStatus onnx_graph_infer(OnnxGraph *g, OnnxError *err);

#endif
