/* proto_guard.h - bound protobuf depth and size before decoding */
#ifndef PROTO_GUARD_H
#define PROTO_GUARD_H

#include <protobuf-c/protobuf-c.h>

#include "onnx_engine.h"

extern OnnxStatus onnx_proto_guard(const ProtobufCMessageDescriptor *desc,
								   const void *buf, size_t len, OnnxError *err);

/* protobuf-c allocator drawing from an OnnxAllocator, noting failures */
typedef struct OnnxPbAlloc
{
	ProtobufCAllocator pa;
	const OnnxAllocator *alloc;
	int			failed;			/* set when an allocation returned NULL */
} OnnxPbAlloc;

extern void onnx_pb_alloc_init(OnnxPbAlloc *pb, const OnnxAllocator *alloc);

#endif
