/* optimize.h - load-time graph rewrites (see optimize.c) */
#ifndef OPTIMIZE_H
#define OPTIMIZE_H

#include "engine_internal.h"

extern void onnx_graph_optimize(OnnxGraph *g, OnnxArena *arena);

#endif
