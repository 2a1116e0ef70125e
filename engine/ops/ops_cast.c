/*-------------------------------------------------------------------------
 *
 * ops_cast.c
 *	  Cast and CastLike: X (any shape) -> Y (same shape, another dtype).
 *
 * Element conversion rules live in src/dtype_cast.c (numpy/ml_dtypes
 * semantics, float8 saturation, numbers <-> strings).  Versions:
 *	Cast 1 (to is a type name string), 6 (to is an int), 9 (string),
 *	13 (bfloat16), 19 (float8, saturate), 21 (int4/uint4), 23 (float4e2m1),
 *	24 (float8e8m0, round_mode), 25 (int2/uint2).
 *	CastLike 15, 19, 21, 23, 24, 25 (same type sets as Cast).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <strings.h>

#include "op_tables.h"
#include "dtype_cast.h"

#define CAST_T6 (ONNX_T(ONNX_DTYPE_FLOAT) | ONNX_T(ONNX_DTYPE_DOUBLE) | \
		ONNX_T(ONNX_DTYPE_FLOAT16) | ONNX_TS_INT | ONNX_T(ONNX_DTYPE_BOOL))
#define CAST_T9 (CAST_T6 | ONNX_T(ONNX_DTYPE_STRING))
#define CAST_T13 (CAST_T9 | ONNX_T(ONNX_DTYPE_BFLOAT16))
#define CAST_T19 (CAST_T13 | ONNX_T(ONNX_DTYPE_FLOAT8E4M3FN) | \
		ONNX_T(ONNX_DTYPE_FLOAT8E4M3FNUZ) | ONNX_T(ONNX_DTYPE_FLOAT8E5M2) | \
		ONNX_T(ONNX_DTYPE_FLOAT8E5M2FNUZ))
#define CAST_T21 (CAST_T19 | ONNX_T(ONNX_DTYPE_INT4) | ONNX_T(ONNX_DTYPE_UINT4))
#define CAST_T23 (CAST_T21 | ONNX_T(ONNX_DTYPE_FLOAT4E2M1))
#define CAST_T24 (CAST_T23 | ONNX_T(ONNX_DTYPE_FLOAT8E8M0))
#define CAST_T25 (CAST_T24 | ONNX_T(ONNX_DTYPE_INT2) | ONNX_T(ONNX_DTYPE_UINT2))

/* Elements converted between abort checks. */
#define CAST_CHUNK 65536

/* TensorProto.DataType names, for Cast-1's string attribute. */
static const struct
{
	const char *name;
	OnnxDType	dt;
}			cast_names[] = {
	{"FLOAT", ONNX_DTYPE_FLOAT}, {"UINT8", ONNX_DTYPE_UINT8}, {"INT8", ONNX_DTYPE_INT8},
	{"UINT16", ONNX_DTYPE_UINT16}, {"INT16", ONNX_DTYPE_INT16}, {"INT32", ONNX_DTYPE_INT32},
	{"INT64", ONNX_DTYPE_INT64}, {"STRING", ONNX_DTYPE_STRING}, {"BOOL", ONNX_DTYPE_BOOL},
	{"FLOAT16", ONNX_DTYPE_FLOAT16}, {"DOUBLE", ONNX_DTYPE_DOUBLE}, {"UINT32", ONNX_DTYPE_UINT32},
	{"UINT64", ONNX_DTYPE_UINT64}, {"BFLOAT16", ONNX_DTYPE_BFLOAT16},
	{NULL, ONNX_DTYPE_UNDEFINED}
};

/* Target dtype of a Cast node: int "to", or a type name (Cast-1). */
static OnnxDType
cast_target(const OnnxNode *node)
{
	const OnnxAttr *a = onnx_attr(node, "to");

	if (a == NULL)
		return ONNX_DTYPE_UNDEFINED;
	if (a->type == ONNX_ATTR_STRING && a->s)
	{
		for (int i = 0; cast_names[i].name; i++)
			if (strcasecmp(a->s, cast_names[i].name) == 0)
				return cast_names[i].dt;
		return ONNX_DTYPE_UNDEFINED;
	}
	if (a->type != ONNX_ATTR_INT || a->i <= 0 || a->i >= ONNX_DTYPE_COUNT)
		return ONNX_DTYPE_UNDEFINED;
	return (OnnxDType) a->i;
}

/* Saturate and round_mode attributes; false for an unknown round_mode. */
static bool
cast_opts(const OnnxNode *node, ScuCastOpts *o)
{
	const char *rm = onnx_attr_string(node, "round_mode", "up");

	o->saturate = onnx_attr_int(node, "saturate", 1) != 0;
	if (strcmp(rm, "up") == 0)
		o->round_mode = SCU_ROUND_UP;
	else if (strcmp(rm, "down") == 0)
		o->round_mode = SCU_ROUND_DOWN;
	else if (strcmp(rm, "nearest") == 0)
		o->round_mode = SCU_ROUND_NEAREST;
	else
		return false;
	return true;
}

/* Load-time check of Cast/CastLike attributes. */
static OnnxStatus
check_cast(const OnnxNode *node, OnnxError *err)
{
	ScuCastOpts o;

	if (strcmp(node->op_type, "Cast") == 0)
	{
		OnnxDType	to = cast_target(node);

		if (onnx_attr(node, "to") == NULL)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "Cast needs the attribute \"to\"");
		if (!scu_cast_supported(to))
			return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
								  "Cast attribute \"to\" must name a supported tensor type (got %s)",
								  onnx_dtype_name(to));
	}
	if (!cast_opts(node, &o))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "%s round_mode must be \"up\", \"down\" or \"nearest\"", node->op_type);
	return ONNX_OK;
}

/* Static type of a Cast output: the "to" type, same shape as X. */
static OnnxStatus
infer_cast(OnnxInferCtx *ctx)
{
	OnnxValueInfo *y = ctx->outputs[0];
	OnnxDType	to = cast_target(ctx->node);

	if (y == NULL)
		return ONNX_OK;
	if (to != ONNX_DTYPE_UNDEFINED)
	{
		y->dtype = to;
		y->kind = ONNX_VALUE_TENSOR;
	}
	return onnx_infer_same_shape(ctx);
}

/* Static type of a CastLike output: the dtype of target_type. */
static OnnxStatus
infer_castlike(OnnxInferCtx *ctx)
{
	OnnxValueInfo *y = ctx->outputs[0];
	const OnnxValueInfo *t = ctx->n_inputs > 1 ? ctx->inputs[1] : NULL;

	if (y == NULL)
		return ONNX_OK;
	if (t && t->dtype != ONNX_DTYPE_UNDEFINED)
	{
		y->dtype = t->dtype;
		y->kind = ONNX_VALUE_TENSOR;
	}
	return onnx_infer_same_shape(ctx);
}

/* Copy of C string s ("" for NULL) owned by the frame. */
static char *
kernel_strdup(OnnxKernelCtx *ctx, const char *s)
{
	return onnx_kernel_strndup(ctx, s ? s : "", s ? strlen(s) : 0);
}

/* Fast loops for the common pairs; false if (x, y) is not one of them. */
static bool
cast_fast(const OnnxTensor *x, OnnxTensor *y)
{
	int64_t		n = x->count;

#define CAST_LOOP(ST, DT, EXPR) \
	do { \
		const ST   *in = x->data; \
		DT		   *out = y->data; \
		for (int64_t i = 0; i < n; i++) \
		{ \
			ST			v = in[i]; \
			out[i] = (EXPR); \
		} \
		return true; \
	} while (0)

	switch (x->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			if (y->dtype == ONNX_DTYPE_DOUBLE)
				CAST_LOOP(float, double, (double) v);
			if (y->dtype == ONNX_DTYPE_FLOAT16)
				CAST_LOOP(float, uint16_t, onnx_float_to_half(v));
			if (y->dtype == ONNX_DTYPE_BFLOAT16)
				CAST_LOOP(float, uint16_t, onnx_float_to_bf16(v));
			if (y->dtype == ONNX_DTYPE_BOOL)
				CAST_LOOP(float, uint8_t, v != 0);
			break;
		case ONNX_DTYPE_DOUBLE:
			if (y->dtype == ONNX_DTYPE_FLOAT)
				CAST_LOOP(double, float, (float) v);
			break;
		case ONNX_DTYPE_FLOAT16:
			if (y->dtype == ONNX_DTYPE_FLOAT)
				CAST_LOOP(uint16_t, float, onnx_half_to_float(v));
			break;
		case ONNX_DTYPE_BFLOAT16:
			if (y->dtype == ONNX_DTYPE_FLOAT)
				CAST_LOOP(uint16_t, float, onnx_bf16_to_float(v));
			break;
		case ONNX_DTYPE_INT64:
			if (y->dtype == ONNX_DTYPE_INT32)
				CAST_LOOP(int64_t, int32_t, (int32_t) v);
			if (y->dtype == ONNX_DTYPE_FLOAT)
				CAST_LOOP(int64_t, float, (float) v);
			if (y->dtype == ONNX_DTYPE_DOUBLE)
				CAST_LOOP(int64_t, double, (double) v);
			if (y->dtype == ONNX_DTYPE_BOOL)
				CAST_LOOP(int64_t, uint8_t, v != 0);
			break;
		case ONNX_DTYPE_INT32:
			if (y->dtype == ONNX_DTYPE_INT64)
				CAST_LOOP(int32_t, int64_t, (int64_t) v);
			if (y->dtype == ONNX_DTYPE_FLOAT)
				CAST_LOOP(int32_t, float, (float) v);
			break;
		case ONNX_DTYPE_BOOL:
			if (y->dtype == ONNX_DTYPE_FLOAT)
				CAST_LOOP(uint8_t, float, v ? 1.0f : 0.0f);
			if (y->dtype == ONNX_DTYPE_INT64)
				CAST_LOOP(uint8_t, int64_t, v ? 1 : 0);
			if (y->dtype == ONNX_DTYPE_INT32)
				CAST_LOOP(uint8_t, int32_t, v ? 1 : 0);
			break;
		default:
			break;
	}
#undef CAST_LOOP
	return false;
}

/* Convert x into y (same shape, y->dtype the target). */
static OnnxStatus
cast_tensor(OnnxKernelCtx *ctx, const OnnxTensor *x, OnnxTensor *y, const ScuCastOpts *o)
{
	int64_t		n = x->count;

	if (x->dtype == ONNX_DTYPE_COMPLEX64 || x->dtype == ONNX_DTYPE_COMPLEX128 ||
		!scu_cast_supported(x->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s does not support input type %s",
								ctx->node->op_type, onnx_dtype_name(x->dtype));
	if (x->dtype == ONNX_DTYPE_STRING && y->dtype == ONNX_DTYPE_STRING)
	{
		for (int64_t i = 0; i < n; i++)
			if ((((char **) y->data)[i] = kernel_strdup(ctx, ((char *const *) x->data)[i])) == NULL)
				return ctx->err->status;
		return ONNX_OK;
	}
	if (y->dtype == ONNX_DTYPE_STRING)
	{
		char		buf[64];

		for (int64_t i = 0; i < n; i++)
		{
			scu_format_elem(x, i, buf, sizeof(buf));
			if ((((char **) y->data)[i] = kernel_strdup(ctx, buf)) == NULL)
				return ctx->err->status;
			if ((i & (CAST_CHUNK - 1)) == 0 && onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
		}
		return ONNX_OK;
	}
	if (x->dtype == ONNX_DTYPE_STRING)
	{
		for (int64_t i = 0; i < n; i++)
		{
			const char *s = ((char *const *) x->data)[i];

			if (!scu_parse_elem(s, y, i, o))
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"%s cannot read string element %lld (\"%.40s\") as %s",
										ctx->node->op_type, (long long) i, s ? s : "",
										onnx_dtype_name(y->dtype));
			if ((i & (CAST_CHUNK - 1)) == 0 && onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
		}
		return ONNX_OK;
	}
	if (x->dtype == y->dtype)
	{
		if (x->nbytes)
			memcpy(y->data, x->data, x->nbytes);
		return ONNX_OK;
	}
	if (cast_fast(x, y))
		return ONNX_OK;
	for (int64_t i = 0; i < n; i++)
	{
		scu_convert_elem(x, i, y, i, o);
		if ((i & (CAST_CHUNK - 1)) == 0 && onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
	}
	return ONNX_OK;
}

/* Cast: X -> Y of dtype "to". */
static OnnxStatus
run_cast(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	OnnxDType	to = cast_target(ctx->node);
	ScuCastOpts o;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Cast input must be a tensor");
	if (!scu_cast_supported(to))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "Cast to %s is not supported",
								onnx_dtype_name(to));
	if (!cast_opts(ctx->node, &o))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Cast round_mode is invalid");
	if ((y = onnx_out_like(ctx, 0, to, x)) == NULL)
		return ctx->err->status;
	return cast_tensor(ctx, x, y, &o);
}

/* CastLike: X, target_type -> Y of target_type's dtype. */
static OnnxStatus
run_castlike(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *t = onnx_in(ctx, 1);
	ScuCastOpts o;
	OnnxTensor *y;

	if (x == NULL || t == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CastLike inputs must be tensors");
	if (!scu_cast_supported(t->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "CastLike to %s is not supported",
								onnx_dtype_name(t->dtype));
	if (!cast_opts(ctx->node, &o))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CastLike round_mode is invalid");
	if ((y = onnx_out_like(ctx, 0, t->dtype, x)) == NULL)
		return ctx->err->status;
	return cast_tensor(ctx, x, y, &o);
}

const OnnxOpDef onnx_ops_cast[] = {
	ONNX_OP_VERSIONS("", "Cast", (1, 6), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T6,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_cast, .run = run_cast),
	ONNX_OP("", "Cast", 9, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T9,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_cast, .run = run_cast),
	ONNX_OP("", "Cast", 13, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T13,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_cast, .run = run_cast),
	ONNX_OP("", "Cast", 19, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T19,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_cast, .run = run_cast),
	ONNX_OP("", "Cast", 21, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T21,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_cast, .run = run_cast),
	ONNX_OP("", "Cast", 23, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T23,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_cast, .run = run_cast),
	ONNX_OP("", "Cast", 24, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T24,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_cast, .run = run_cast),
	ONNX_OP("", "Cast", 25, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T25,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_cast, .run = run_cast),
	ONNX_OP("", "CastLike", 15, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T13,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_castlike, .run = run_castlike),
	ONNX_OP("", "CastLike", 19, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T19,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_castlike, .run = run_castlike),
	ONNX_OP("", "CastLike", 21, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T21,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_castlike, .run = run_castlike),
	ONNX_OP("", "CastLike", 23, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T23,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_castlike, .run = run_castlike),
	ONNX_OP("", "CastLike", 24, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T24,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_castlike, .run = run_castlike),
	ONNX_OP("", "CastLike", 25, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = CAST_T25,
		.out_type = ONNX_OUT_CUSTOM, .check = check_cast, .infer = infer_castlike, .run = run_castlike),
	{0}
};
