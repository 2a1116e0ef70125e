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
#include <float.h>
#include <math.h>

#include "op_tables.h"
#include "vecmath.h"

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


UNARY_FLOAT(sin, sinf(x), sin(x))
UNARY_RUN(sin, NULL)
UNARY_FLOAT(cos, cosf(x), cos(x))
UNARY_RUN(cos, NULL)
UNARY_FLOAT(tan, tanf(x), tan(x))
UNARY_RUN(tan, NULL)
UNARY_FLOAT(asin, asinf(x), asin(x))
UNARY_RUN(asin, NULL)
UNARY_FLOAT(acos, acosf(x), acos(x))
UNARY_RUN(acos, NULL)
UNARY_FLOAT(atan, atanf(x), atan(x))
UNARY_RUN(atan, NULL)
UNARY_FLOAT(sinh, sinhf(x), sinh(x))
UNARY_RUN(sinh, NULL)
UNARY_FLOAT(cosh, coshf(x), cosh(x))
UNARY_RUN(cosh, NULL)
UNARY_FLOAT(asinh, asinhf(x), asinh(x))
UNARY_RUN(asinh, NULL)
UNARY_FLOAT(acosh, acoshf(x), acosh(x))
UNARY_RUN(acosh, NULL)
UNARY_FLOAT(atanh, atanhf(x), atanh(x))
UNARY_RUN(atanh, NULL)
UNARY_FLOAT(erf, erf_f32_fast(x), erf(x))
static const UnaryKernel erf_kernel = {erf_f32, erf_f64, NULL};

/* out[i] = erf(in[i]) for n floats (AVX2 variant where gcc can). */
ONNX_VEC_CLONES
static void
erf_f32_loop(const float *in, float *out, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = erf_f32_fast(in[i]);
}

/* Erf: a direct float32 loop (vectorizable); other types through unary_apply. */
static OnnxStatus
run_erf(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	UnaryParams p = {0, 0, 0};
	OnnxTensor *y;

	if (x == NULL || x->dtype != ONNX_DTYPE_FLOAT)
		return unary_apply(ctx, &erf_kernel, &p);
	if ((y = onnx_out_raw(ctx, 0, x->dtype, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	erf_f32_loop(x->data, y->data, x->count);
	return ONNX_OK;
}
UNARY_FLOAT(sign, (float) ((x > 0) - (x < 0)), (double) ((x > 0) - (x < 0)))
static int64_t
sign_i64(int64_t x, const UnaryParams *p)
{
	(void) p;
	return (x > 0) - (x < 0);
}
UNARY_RUN(sign, sign_i64)
/* Round: half to even */
UNARY_FLOAT(round, nearbyintf(x), nearbyint(x))
UNARY_RUN(round, NULL)
UNARY_FLOAT(softplus, x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)), x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)))
UNARY_RUN(softplus, NULL)
UNARY_FLOAT(softsign, x / (1.0f + fabsf(x)), x / (1.0 + fabs(x)))
UNARY_RUN(softsign, NULL)
UNARY_FLOAT(mish, x * tanhf(x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x))),
			x * tanh(x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))))
UNARY_RUN(mish, NULL)
UNARY_FLOAT(hardswish, x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f)), x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5)))
UNARY_RUN(hardswish, NULL)

/* Parametrised activations: a, b from attributes. */
UNARY_FLOAT(elu, x >= 0 ? x : (float) p->a * (expf(x) - 1.0f), x >= 0 ? x : p->a * (exp(x) - 1.0))
UNARY_FLOAT(selu, x > 0 ? (float) p->b * x : (float) p->b * ((float) p->a * expf(x) - (float) p->a),
			x > 0 ? p->b * x : p->b * (p->a * exp(x) - p->a))
UNARY_FLOAT(celu, fmaxf(0.0f, x) + fminf(0.0f, (float) p->a * (expf(x / (float) p->a) - 1.0f)),
			fmax(0.0, x) + fmin(0.0, p->a * (exp(x / p->a) - 1.0)))
UNARY_FLOAT(hardsigmoid, fmaxf(0.0f, fminf(1.0f, (float) p->a * x + (float) p->b)),
			fmax(0.0, fmin(1.0, p->a * x + p->b)))
UNARY_FLOAT(thresholded_relu, x > (float) p->a ? x : 0.0f, x > p->a ? x : 0.0)
UNARY_FLOAT(shrink, x < -(float) p->a ? x + (float) p->b : (x > (float) p->a ? x - (float) p->b : 0.0f),
			x < -p->a ? x + p->b : (x > p->a ? x - p->b : 0.0))
UNARY_FLOAT(gelu, p->a ? 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)))
			: 0.5f * x * (1.0f + erf_f32_fast(x * 0.70710678f)),
			p->a ? 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
			: 0.5 * x * (1.0 + erf(x * 0.7071067811865476)))

#define UNARY_PARAM_RUN(name, i64fn, pa, pb) \
	static const UnaryKernel name##_kernel = {name##_f32, name##_f64, i64fn}; \
	static OnnxStatus run_##name(OnnxKernelCtx *ctx) \
	{ UnaryParams p = {pa, pb, 0}; return unary_apply(ctx, &name##_kernel, &p); }

UNARY_PARAM_RUN(elu, NULL, onnx_attr_float(ctx->node, "alpha", 1.0f), 0)
UNARY_PARAM_RUN(selu, NULL, onnx_attr_float(ctx->node, "alpha", 1.67326319217681884765625f),
				onnx_attr_float(ctx->node, "gamma", 1.05070102214813232421875f))
UNARY_PARAM_RUN(celu, NULL, onnx_attr_float(ctx->node, "alpha", 1.0f), 0)
UNARY_PARAM_RUN(hardsigmoid, NULL, onnx_attr_float(ctx->node, "alpha", 0.2f), onnx_attr_float(ctx->node, "beta", 0.5f))
UNARY_PARAM_RUN(thresholded_relu, NULL, onnx_attr_float(ctx->node, "alpha", 1.0f), 0)
UNARY_PARAM_RUN(shrink, NULL, onnx_attr_float(ctx->node, "lambd", 0.5f), onnx_attr_float(ctx->node, "bias", 0.0f))
UNARY_PARAM_RUN(gelu, NULL, strcmp(onnx_attr_string(ctx->node, "approximate", "none"), "tanh") == 0 ? 1 : 0, 0)

/* IsNaN / IsInf: X (float) -> bool */
static OnnxStatus
run_isnan_isinf(OnnxKernelCtx *ctx, bool nan_test)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	bool		pos = onnx_attr_int(ctx->node, "detect_positive", 1) != 0;
	bool		neg = onnx_attr_int(ctx->node, "detect_negative", 1) != 0;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	if ((y = onnx_out_like(ctx, 0, ONNX_DTYPE_BOOL, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		double		v = onnx_tensor_get_f64(x, i);

		((uint8_t *) y->data)[i] = nan_test ? isnan(v) != 0 : (isinf(v) && ((v > 0 && pos) || (v < 0 && neg)));
	}
	return ONNX_OK;
}

static OnnxStatus run_isnan(OnnxKernelCtx *ctx) { return run_isnan_isinf(ctx, true); }
static OnnxStatus run_isinf(OnnxKernelCtx *ctx) { return run_isnan_isinf(ctx, false); }

/* Clip: X, min, max (attributes before opset 11, optional inputs after) */
static OnnxStatus
run_clip(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	OnnxTensor *y;
	double		lo = -INFINITY,
				hi = INFINITY;
	bool		integer;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	integer = !onnx_dtype_is_float(x->dtype);
	if (ctx->opset < 11)
	{
		lo = onnx_attr_float(ctx->node, "min", -FLT_MAX);
		hi = onnx_attr_float(ctx->node, "max", FLT_MAX);
	}
	else
	{
		const OnnxTensor *tmin = onnx_in(ctx, 1);
		const OnnxTensor *tmax = onnx_in(ctx, 2);

		if (tmin && tmin->count)
			lo = onnx_tensor_get_f64(tmin, 0);
		if (tmax && tmax->count)
			hi = onnx_tensor_get_f64(tmax, 0);
	}
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		if (integer)
		{
			int64_t		v = onnx_tensor_get_i64(x, i);

			if (lo > -INFINITY && (double) v < lo)
				v = (int64_t) lo;
			if (hi < INFINITY && (double) v > hi)
				v = (int64_t) hi;
			onnx_tensor_set_i64(y, i, v);
		}
		else
		{
			double		v = onnx_tensor_get_f64(x, i);

			if (v < lo)
				v = lo;
			if (v > hi)
				v = hi;
			onnx_tensor_set_f64(y, i, v);
		}
	}
	return ONNX_OK;
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
	UN("Sin", 7, F, run_sin), UN("Cos", 7, F, run_cos), UN("Tan", 7, F, run_tan),
	UN("Asin", 7, F, run_asin), UN("Acos", 7, F, run_acos), UN("Atan", 7, F, run_atan),
	UN("Sinh", 9, F, run_sinh), UN("Cosh", 9, F, run_cosh), UN("Asinh", 9, F, run_asinh),
	UN("Acosh", 9, F, run_acosh), UN("Atanh", 9, F, run_atanh),
	UN("Erf", 9, ONNX_TS_NUMERIC, run_erf),
	UN("Sign", 9, ONNX_TS_NUMERIC, run_sign),
	UN("Round", 11, F, run_round),
	UN("Softplus", 1, F, run_softplus), UN("Softsign", 1, F, run_softsign),
	UN("Mish", 18, F, run_mish), UN("HardSwish", 14, F, run_hardswish),
	UN("Elu", 1, F, run_elu), UN("Selu", 1, F, run_selu), UN("Celu", 12, F, run_celu),
	UN("HardSigmoid", 1, F, run_hardsigmoid), UN("ThresholdedRelu", 10, F, run_thresholded_relu),
	UN("Shrink", 9, ONNX_TS_NUMERIC, run_shrink), UN("Gelu", 20, F, run_gelu),
	{"", "IsNaN", 9, 1, 1, 1, 1, F, ONNX_OUT_BOOL, NULL, onnx_infer_same_shape, run_isnan},
	{"", "IsInf", 10, 1, 1, 1, 1, F, ONNX_OUT_BOOL, NULL, onnx_infer_same_shape, run_isinf},
	{"", "Clip", 1, 1, 1, 1, 1, ONNX_TS_NUMERIC, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, run_clip},
	{"", "Clip", 11, 1, 3, 1, 1, ONNX_TS_NUMERIC, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, run_clip},
	{0}
};
