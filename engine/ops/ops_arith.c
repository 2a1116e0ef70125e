/*-------------------------------------------------------------------------
 *
 * ops_arith.c
 *	  Elementwise binary arithmetic with numpy broadcasting:
 *	  A (shape a), B (shape b) -> C (broadcast(a, b)), one dtype.
 *
 * The typed loops and the broadcast driver are eltwise.h's: every numeric
 * dtype has its own loop (float16/bfloat16 compute in float32), integers
 * wrap, and integer division by zero yields 0 instead of a trap: the
 * engine must never crash on data.  C takes A's or B's buffer when the
 * executor allows it.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"
#include "eltwise.h"

/* C = A op B */
static OnnxStatus
binary_apply(OnnxKernelCtx *ctx, OnnxEwBinOp op)
{
	const OnnxTensor *ins[2] = {onnx_in(ctx, 0), onnx_in(ctx, 1)};
	const OnnxTensor *a = ins[0],
			   *b = ins[1];
	OnnxEwBinFn fn;
	OnnxTensor *c;

	if (a == NULL || b == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "inputs must be tensors");
	if (a->dtype != b->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s needs inputs of one type, got %s and %s", ctx->node->op_type,
								onnx_dtype_name(a->dtype), onnx_dtype_name(b->dtype));
	if ((fn = onnx_ew_bin_fn(op, a->dtype)) == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s does not support type %s",
								ctx->node->op_type, onnx_dtype_name(a->dtype));
	if ((c = onnx_ew_out(ctx, 0, a->dtype, 2, ins, 3)) == NULL)
		return ctx->err->status;
	return onnx_ew_binary(ctx, c, a, b, fn);
}

static OnnxStatus run_add(OnnxKernelCtx *ctx) { return binary_apply(ctx, EW_ADD); }
static OnnxStatus run_sub(OnnxKernelCtx *ctx) { return binary_apply(ctx, EW_SUB); }
static OnnxStatus run_mul(OnnxKernelCtx *ctx) { return binary_apply(ctx, EW_MUL); }
static OnnxStatus run_div(OnnxKernelCtx *ctx) { return binary_apply(ctx, EW_DIV); }

#define BIN(name, since, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_NUMERIC, .out_type = ONNX_OUT_SAME, \
		.infer = onnx_infer_broadcast, .run = fn)

const OnnxOpDef onnx_ops_arith[] = {
	BIN("Add", 1, run_add),
	BIN("Sub", 1, run_sub),
	BIN("Mul", 1, run_mul),
	BIN("Div", 1, run_div),
	{0}
};
