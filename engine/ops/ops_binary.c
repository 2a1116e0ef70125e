/*-------------------------------------------------------------------------
 *
 * ops_binary.c
 *	  Elementwise binary operators with numpy broadcasting:
 *	  A (shape a), B (shape b) -> C (broadcast(a, b)).
 *
 * A BinaryKernel gives a float, a double and an integer function; the
 * integer one works on int64 and the result is stored back with C
 * wrap-around into the input's type.  float16/bfloat16 go through float.
 * Integer division by zero yields 0 instead of a trap: the engine must
 * never crash on data.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"

typedef struct BinaryKernel
{
	float		(*f32) (float a, float b);
	double		(*f64) (double a, double b);
	int64_t		(*i64) (int64_t a, int64_t b);
} BinaryKernel;

/*
 * Broadcast output for inputs a and b, or NULL with the error set.  Not
 * zeroed: binary_apply, its only caller, writes every element or fails.
 */
static OnnxTensor *
binary_out(OnnxKernelCtx *ctx, const OnnxTensor *a, const OnnxTensor *b, OnnxDType dt)
{
	int			rank;
	int64_t		dims[ONNX_MAX_RANK];

	if (!onnx_broadcast_shape(a->rank, a->dims, b->rank, b->dims, &rank, dims))
	{
		char		sa[128],
					sb[128];

		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
						 "%s cannot broadcast shapes %s and %s", ctx->node->op_type,
						 onnx_shape_text(a, sa, sizeof(sa)), onnx_shape_text(b, sb, sizeof(sb)));
		return NULL;
	}
	return onnx_out_raw(ctx, 0, dt, rank, dims);
}

/* Apply k to A and B (same dtype) into C of the same dtype. */
static OnnxStatus
binary_apply(OnnxKernelCtx *ctx, const BinaryKernel *k)
{
	const OnnxTensor *a = onnx_in(ctx, 0);
	const OnnxTensor *b = onnx_in(ctx, 1);
	const OnnxTensor *ins[2];
	OnnxTensor *c;
	OnnxBcastIter it;

	if (a == NULL || b == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "inputs must be tensors");
	if (a->dtype != b->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s needs inputs of one type, got %s and %s", ctx->node->op_type,
								onnx_dtype_name(a->dtype), onnx_dtype_name(b->dtype));
	if ((c = binary_out(ctx, a, b, a->dtype)) == NULL)
		return ctx->err->status;
	if (c->count == 0)
		return ONNX_OK;

	if (a->dtype == ONNX_DTYPE_FLOAT)
	{
		const float *pa = a->data;
		const float *pb = b->data;
		float	   *pc = c->data;

		if (a->count == c->count && b->count == c->count)
		{
			for (int64_t i = 0; i < c->count; i++)
				pc[i] = k->f32(pa[i], pb[i]);
			return ONNX_OK;
		}
		if (a->count == c->count && b->count == 1)
		{
			for (int64_t i = 0; i < c->count; i++)
				pc[i] = k->f32(pa[i], pb[0]);
			return ONNX_OK;
		}
		/* row vector broadcast: A (M,N) op B (N) or (1,..,1,N) */
		if (a->count == c->count && c->rank >= 1 && b->rank >= 1 &&
			b->dims[b->rank - 1] == c->dims[c->rank - 1] && b->count == b->dims[b->rank - 1])
		{
			int64_t		n = b->count;

			for (int64_t i = 0; i < c->count; i += n)
				for (int64_t j = 0; j < n; j++)
					pc[i + j] = k->f32(pa[i + j], pb[j]);
			return ONNX_OK;
		}
	}

	ins[0] = a;
	ins[1] = b;
	onnx_bcast_init(&it, c, 2, ins);
	switch (a->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			for (int64_t i = 0; i < c->count; i++, onnx_bcast_next(&it))
				((float *) c->data)[i] = k->f32(((const float *) a->data)[it.off[0]],
												((const float *) b->data)[it.off[1]]);
			break;
		case ONNX_DTYPE_DOUBLE:
			for (int64_t i = 0; i < c->count; i++, onnx_bcast_next(&it))
				((double *) c->data)[i] = k->f64(((const double *) a->data)[it.off[0]],
												 ((const double *) b->data)[it.off[1]]);
			break;
		case ONNX_DTYPE_FLOAT16:
		case ONNX_DTYPE_BFLOAT16:
			for (int64_t i = 0; i < c->count; i++, onnx_bcast_next(&it))
				onnx_tensor_set_f64(c, i, k->f32((float) onnx_tensor_get_f64(a, it.off[0]),
												 (float) onnx_tensor_get_f64(b, it.off[1])));
			break;
		default:
			if (k->i64 == NULL || !(ONNX_TS_INT & ONNX_T(a->dtype)))
				return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s does not support type %s",
										ctx->node->op_type, onnx_dtype_name(a->dtype));
			for (int64_t i = 0; i < c->count; i++, onnx_bcast_next(&it))
				onnx_tensor_set_i64(c, i, k->i64(onnx_tensor_get_i64(a, it.off[0]),
												 onnx_tensor_get_i64(b, it.off[1])));
			break;
	}
	return ONNX_OK;
}

#define BINARY(name, e32, e64, ei64) \
	static float name##_f32(float a, float b) { return (e32); } \
	static double name##_f64(double a, double b) { return (e64); } \
	static int64_t name##_i64(int64_t a, int64_t b) { return (ei64); } \
	static const BinaryKernel name##_kernel = {name##_f32, name##_f64, name##_i64}; \
	static OnnxStatus run_##name(OnnxKernelCtx *ctx) { return binary_apply(ctx, &name##_kernel); }

BINARY(add, a + b, a + b, (int64_t) ((uint64_t) a + (uint64_t) b))
BINARY(sub, a - b, a - b, (int64_t) ((uint64_t) a - (uint64_t) b))
BINARY(mul, a * b, a * b, (int64_t) ((uint64_t) a * (uint64_t) b))
BINARY(div, a / b, a / b, (b == 0 || (b == -1 && a == INT64_MIN)) ? (b == -1 ? a : 0) : a / b)

#define BIN(name, since, fn) \
	{"", name, since, 2, 2, 1, 1, ONNX_TS_NUMERIC, ONNX_OUT_SAME, NULL, onnx_infer_broadcast, fn}

const OnnxOpDef onnx_ops_binary[] = {
	BIN("Add", 1, run_add),
	BIN("Sub", 1, run_sub),
	BIN("Mul", 1, run_mul),
	BIN("Div", 1, run_div),
	{0}
};
