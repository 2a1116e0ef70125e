/*
 * pack.h
 *	  Load-time preparation of constant inputs by the kernels' pack hooks.
 */
#ifndef PACK_H
#define PACK_H

#include "engine_internal.h"

/* Call every node's pack hook (subgraphs too); the first error refuses the model. */
extern OnnxStatus onnx_graph_pack(OnnxGraph *g, OnnxArena *arena, OnnxError *err);

#endif							/* PACK_H */
