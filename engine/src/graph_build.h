/* graph_build.h - GraphProto into OnnxGraph */
#ifndef GRAPH_BUILD_H
#define GRAPH_BUILD_H

#include "engine_internal.h"
#include "onnx.pb-c.h"

typedef struct OnnxBuildCtx
{
	OnnxModel  *model;
	OnnxArena  *arena;
	OnnxAllocator arena_alloc;	/* allocator view of the arena */
	OnnxError  *err;
	int			depth;
} OnnxBuildCtx;

extern OnnxStatus onnx_graph_build(OnnxBuildCtx *bc, const Onnx__GraphProto *gp,
								   OnnxGraph *parent, OnnxGraph **out);
/* Every value's last reader in g and its subgraphs, once, after the optimizer. */
extern void onnx_graph_lifetimes(OnnxGraph *g);
extern OnnxStatus onnx_info_from_type(OnnxBuildCtx *bc, const Onnx__TypeProto *tp,
									  OnnxValueInfo *info);

#endif
