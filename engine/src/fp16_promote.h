/* fp16_promote.h - float16 models compute in float32 (see fp16_promote.c) */
#ifndef FP16_PROMOTE_H
#define FP16_PROMOTE_H

#include "engine_internal.h"
#include "onnx.pb-c.h"

/*
 * Rewrite graph g so that its float16 values inside become float32, its
 * float16 tensor inputs and outputs staying float16 through Casts at its
 * boundary.  *out is g itself when nothing is float16, otherwise a graph
 * whose new parts live in tmp and share the rest with g: both must outlive
 * its use.
 */
extern OnnxStatus onnx_promote_float16(OnnxArena *tmp, const Onnx__GraphProto *g,
									   const Onnx__GraphProto **out, OnnxError *err);

#endif
