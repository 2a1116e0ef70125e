/*
 * ops_control.h
 *	  Helpers shared by the control-flow (ops_control.c) and sequence
 *	  (ops_sequence.c) families, implemented in ops_control.c.
 */
#ifndef OPS_CONTROL_H
#define OPS_CONTROL_H

#include "engine_internal.h"

/* A growing list of values a kernel owns, each charged to the memory limit. */
typedef struct OnnxValueList
{
	OnnxValue  *v;
	int64_t		n;
	int64_t		cap;
} OnnxValueList;

/* Move *v to the end of l (charged); *v is released on failure. */
extern OnnxStatus onnx_ctl_list_push(OnnxKernelCtx *ctx, OnnxValueList *l, OnnxValue *v);
/* Uncharge and release every value of l, and l's array. */
extern void onnx_ctl_list_free(OnnxKernelCtx *ctx, OnnxValueList *l);

/* Zeroed kernel scratch memory (onnx_kernel_alloc); NULL with err set. */
extern void *onnx_ctl_zalloc(OnnxKernelCtx *ctx, size_t size);

/* Release a value the kernel owns after uncharging it. */
extern void onnx_ctl_drop(OnnxKernelCtx *ctx, OnnxValue *v);

/* The graph attribute name of node, or NULL. */
extern const OnnxGraph *onnx_ctl_graph_attr(const OnnxNode *node, const char *name);

/* Copy n elements (strings duplicated) from src at soff to dst at doff. */
extern OnnxStatus onnx_ctl_copy_elems(OnnxKernelCtx *ctx, OnnxTensor *dst, int64_t doff,
									  const OnnxTensor *src, int64_t soff, int64_t n);

/* Nonzero-ness of a one-element condition tensor; false with err if not one. */
extern bool onnx_ctl_cond(OnnxKernelCtx *ctx, const OnnxTensor *t, const char *what,
						  bool *out);

/* Kernel failure when the abort callback asks to stop. */
extern OnnxStatus onnx_ctl_check_abort(OnnxKernelCtx *ctx);

/* Whether static info says something (a dtype or a non-tensor kind). */
extern bool onnx_ctl_info_known(const OnnxValueInfo *info);
/* Copy kind, dtype, shape and type text of src into dst, keeping its name. */
extern void onnx_ctl_info_set(OnnxValueInfo *dst, const OnnxValueInfo *src);

#endif
