/*-------------------------------------------------------------------------
 *
 * ops_unary.c
 *	  Elementwise unary math and activations: X (any shape) -> Y (same
 *	  shape, same dtype).
 *
 * Each operator is a UnaryKernel: a float function (used for float32,
 * float16 and bfloat16), a double function, and optionally an integer
 * function (NULL: integer inputs are refused at load by the type mask).
 * Attributes are read once per run into UnaryParams.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"

typedef struct UnaryParams
{
	double		a;
	double		b;
	double		c;
} UnaryParams;

typedef struct UnaryKernel
{
	float		(*f32) (float x, const UnaryParams *p);
	double		(*f64) (double x, const UnaryParams *p);
	int64_t		(*i64) (int64_t x, const UnaryParams *p);
} UnaryKernel;

/* Apply k elementwise: X -> Y of the same shape and dtype. */
static OnnxStatus
unary_apply(OnnxKernelCtx *ctx, const UnaryKernel *k, const UnaryParams *p)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	OnnxTensor *y;
	int64_t		n;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is not a tensor");
	y = onnx_out_like(ctx, 0, x->dtype, x);
	if (y == NULL)
		return ctx->err->status;
	n = x->count;
	switch (x->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			{
				const float *in = x->data;
				float	   *out = y->data;

				for (int64_t i = 0; i < n; i++)
					out[i] = k->f32(in[i], p);
				break;
			}
		case ONNX_DTYPE_DOUBLE:
			{
				const double *in = x->data;
				double	   *out = y->data;

				for (int64_t i = 0; i < n; i++)
					out[i] = k->f64(in[i], p);
				break;
			}
		case ONNX_DTYPE_FLOAT16:
			for (int64_t i = 0; i < n; i++)
				((uint16_t *) y->data)[i] =
					onnx_float_to_half(k->f32(onnx_half_to_float(((const uint16_t *) x->data)[i]), p));
			break;
		case ONNX_DTYPE_BFLOAT16:
			for (int64_t i = 0; i < n; i++)
				((uint16_t *) y->data)[i] =
					onnx_float_to_bf16(k->f32(onnx_bf16_to_float(((const uint16_t *) x->data)[i]), p));
			break;
		default:
			if (k->i64 == NULL || !(ONNX_TS_INT & ONNX_T(x->dtype)))
				return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED,
										"%s does not support type %s", ctx->node->op_type,
										onnx_dtype_name(x->dtype));
			for (int64_t i = 0; i < n; i++)
				onnx_tensor_set_i64(y, i, k->i64(onnx_tensor_get_i64(x, i), p));
			break;
	}
	return ONNX_OK;
}

/* Define f32/f64 functions from one expression in x (and p). */
#define UNARY_FLOAT(name, expr32, expr64) \
	static float name##_f32(float x, const UnaryParams *p) { (void) p; return (expr32); } \
	static double name##_f64(double x, const UnaryParams *p) { (void) p; return (expr64); }

/* A run function for kernel k with no attributes. */
#define UNARY_RUN(name, i64fn) \
	static const UnaryKernel name##_kernel = {name##_f32, name##_f64, i64fn}; \
	static OnnxStatus run_##name(OnnxKernelCtx *ctx) \
	{ UnaryParams p = {0, 0, 0}; return unary_apply(ctx, &name##_kernel, &p); }

UNARY_FLOAT(relu, x > 0 ? x : 0.0f, x > 0 ? x : 0.0)
static int64_t
relu_i64(int64_t x, const UnaryParams *p)
{
	(void) p;
	return x > 0 ? x : 0;
}
UNARY_RUN(relu, relu_i64)

UNARY_FLOAT(sigmoid, x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)),
			x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)))
UNARY_RUN(sigmoid, NULL)

UNARY_FLOAT(tanh, tanhf(x), tanh(x))
UNARY_RUN(tanh, NULL)

UNARY_FLOAT(exp, expf(x), exp(x))
UNARY_RUN(exp, NULL)

UNARY_FLOAT(log, logf(x), log(x))
UNARY_RUN(log, NULL)

UNARY_FLOAT(sqrt, sqrtf(x), sqrt(x))
UNARY_RUN(sqrt, NULL)

UNARY_FLOAT(abs, fabsf(x), fabs(x))
static int64_t
abs_i64(int64_t x, const UnaryParams *p)
{
	(void) p;
	return x < 0 ? (int64_t) (0 - (uint64_t) x) : x;
}
UNARY_RUN(abs, abs_i64)

UNARY_FLOAT(neg, -x, -x)
static int64_t
neg_i64(int64_t x, const UnaryParams *p)
{
	(void) p;
	return (int64_t) (0 - (uint64_t) x);
}
UNARY_RUN(neg, neg_i64)

UNARY_FLOAT(reciprocal, 1.0f / x, 1.0 / x)
UNARY_RUN(reciprocal, NULL)

UNARY_FLOAT(floor, floorf(x), floor(x))
UNARY_RUN(floor, NULL)

UNARY_FLOAT(ceil, ceilf(x), ceil(x))
UNARY_RUN(ceil, NULL)

/* LeakyRelu: x >= 0 ? x : alpha * x (alpha default 0.01) */
UNARY_FLOAT(leaky_relu, x >= 0 ? x : (float) p->a * x, x >= 0 ? x : p->a * x)
static const UnaryKernel leaky_relu_kernel = {leaky_relu_f32, leaky_relu_f64, NULL};
static OnnxStatus
run_leaky_relu(OnnxKernelCtx *ctx)
{
	UnaryParams p = {onnx_attr_float(ctx->node, "alpha", 0.01f), 0, 0};

	return unary_apply(ctx, &leaky_relu_kernel, &p);
}

#define F ONNX_TS_FLOAT
#define FS (ONNX_TS_FLOAT | ONNX_TS_SINT)
#define UN(name, since, types, fn) \
	{"", name, since, 1, 1, 1, 1, types, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, fn}

const OnnxOpDef onnx_ops_unary[] = {
	UN("Relu", 1, FS, run_relu),
	UN("Sigmoid", 1, F, run_sigmoid),
	UN("Tanh", 1, F, run_tanh),
	UN("Exp", 1, F, run_exp),
	UN("Log", 1, F, run_log),
	UN("Sqrt", 1, F, run_sqrt),
	UN("Abs", 1, ONNX_TS_NUMERIC, run_abs),
	UN("Neg", 1, FS, run_neg),
	UN("Reciprocal", 1, F, run_reciprocal),
	UN("Floor", 1, F, run_floor),
	UN("Ceil", 1, F, run_ceil),
	UN("LeakyRelu", 1, F, run_leaky_relu),
	{0}
};
