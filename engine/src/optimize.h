/* optimize.h - load-time graph rewrites (see optimize.c) */
#ifndef OPTIMIZE_H
#define OPTIMIZE_H

#include "engine_internal.h"

extern void onnx_graph_optimize(OnnxGraph *g, OnnxArena *arena);
/* QDQ chains into integer operators (qdq_fuse.c), before constant folding */
extern void onnx_graph_fuse_qdq(OnnxGraph *g, OnnxArena *arena);
/* DQ -> float elementwise chain -> Q into 8-bit tables (qdq_fuse.c), after folding */
extern OnnxStatus onnx_graph_qdq_tables(OnnxModel *m, OnnxGraph *g,
									 const OnnxAllocator *scratch, OnnxError *err);

#endif
