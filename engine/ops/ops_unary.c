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
#include "eltwise.h"

typedef struct UnaryParams
{
	double		a;
	double		b;
	double		c;
} UnaryParams;

/*
 * ew: the vectorised float32 kernel of eltwise.h (also float16/bfloat16),
 * or -1 for a plain loop over f32; f64 for doubles; i64, when not NULL,
 * for integers.
 */
typedef struct UnaryKernel
{
	int			ew;
	float		(*f32) (float x, const UnaryParams *p);
	double		(*f64) (double x, const UnaryParams *p);
	int64_t		(*i64) (int64_t x, const UnaryParams *p);
} UnaryKernel;

/* Apply k elementwise: X -> Y of the same shape and dtype (maybe X's buffer). */
static OnnxStatus
unary_apply(OnnxKernelCtx *ctx, const UnaryKernel *k, const UnaryParams *p)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	OnnxTensor *y;
	int64_t		n;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is not a tensor");
	if (!onnx_dtype_is_float(x->dtype) && (k->i64 == NULL || !(ONNX_TS_INT & ONNX_T(x->dtype))))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s does not support type %s",
								ctx->node->op_type, onnx_dtype_name(x->dtype));
	if ((y = onnx_ew_out(ctx, 0, x->dtype, 1, &x, 1)) == NULL)
		return ctx->err->status;
	n = x->count;
	if (k->ew >= 0 && (x->dtype == ONNX_DTYPE_FLOAT || x->dtype == ONNX_DTYPE_FLOAT16 ||
					   x->dtype == ONNX_DTYPE_BFLOAT16))
	{
		float		fp[2] = {(float) p->a, (float) p->b};

		return onnx_ew_unary(ctx, y, x, (OnnxEwUnOp) k->ew, fp);
	}
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

/* Define the f64 function of an operator with a vectorised float32 kernel. */
#define UNARY_DOUBLE(name, expr64) \
	static double name##_f64(double x, const UnaryParams *p) { (void) p; return (expr64); }

/* A run function for kernel k with no attributes. */
#define UNARY_RUN(name, ew, f32fn, i64fn) \
	static const UnaryKernel name##_kernel = {ew, f32fn, name##_f64, i64fn}; \
	static OnnxStatus run_##name(OnnxKernelCtx *ctx) \
	{ UnaryParams p = {0, 0, 0}; return unary_apply(ctx, &name##_kernel, &p); }

/* ... and for a kernel whose attributes are a (and b). */
#define UNARY_PARAM_RUN(name, ew, pa, pb) \
	static const UnaryKernel name##_kernel = {ew, NULL, name##_f64, NULL}; \
	static OnnxStatus run_##name(OnnxKernelCtx *ctx) \
	{ UnaryParams p = {pa, pb, 0}; return unary_apply(ctx, &name##_kernel, &p); }

/* An operator with a vectorised float32 kernel ew and expression expr64 for doubles. */
#define UNARY_VEC(name, ew, i64fn, expr64) UNARY_DOUBLE(name, expr64) UNARY_RUN(name, ew, NULL, i64fn)

static int64_t
relu_i64(int64_t x, const UnaryParams *p)
{
	(void) p;
	return x > 0 ? x : 0;
}

static int64_t
abs_i64(int64_t x, const UnaryParams *p)
{
	(void) p;
	return x < 0 ? (int64_t) (0 - (uint64_t) x) : x;
}

static int64_t
neg_i64(int64_t x, const UnaryParams *p)
{
	(void) p;
	return (int64_t) (0 - (uint64_t) x);
}

static int64_t
sign_i64(int64_t x, const UnaryParams *p)
{
	(void) p;
	return (x > 0) - (x < 0);
}

/* NaN and -0 pass through Relu as onnxruntime lets them (x < 0 ? 0 : x) */
UNARY_VEC(relu, EW_RELU, relu_i64, x < 0 ? 0.0 : x)
UNARY_VEC(sigmoid, EW_SIGMOID, NULL, x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)))
UNARY_VEC(tanh, EW_TANH, NULL, tanh(x))
UNARY_VEC(exp, EW_EXP, NULL, exp(x))
UNARY_VEC(log, EW_LOG, NULL, log(x))
UNARY_VEC(sqrt, EW_SQRT, NULL, sqrt(x))
UNARY_VEC(abs, EW_ABS, abs_i64, fabs(x))
UNARY_VEC(neg, EW_NEG, neg_i64, -x)
UNARY_VEC(reciprocal, EW_RECIPROCAL, NULL, 1.0 / x)
UNARY_VEC(floor, EW_FLOOR, NULL, floor(x))
UNARY_VEC(ceil, EW_CEIL, NULL, ceil(x))
/* Round: half to even */
UNARY_VEC(round, EW_ROUND, NULL, nearbyint(x))
/* Sign: NaN stays NaN (as numpy and onnxruntime) */
UNARY_VEC(sign, EW_SIGN, sign_i64, x > 0 ? 1.0 : (x < 0 ? -1.0 : x * 0.0))
UNARY_VEC(erf, EW_ERF, NULL, erf(x))
UNARY_VEC(softplus, EW_SOFTPLUS, NULL, x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)))
UNARY_VEC(softsign, EW_SOFTSIGN, NULL, x / (1.0 + fabs(x)))
UNARY_VEC(mish, EW_MISH, NULL, x * tanh(x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))))
UNARY_VEC(hardswish, EW_HARDSWISH, NULL, x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5)))

/* libm per element (no vectorised kernel) */
#define UNARY_LIBM(name) UNARY_FLOAT(name, name##f(x), name(x)) UNARY_RUN(name, -1, name##_f32, NULL)
UNARY_LIBM(sin)
UNARY_LIBM(cos)
UNARY_LIBM(tan)
UNARY_LIBM(asin)
UNARY_LIBM(acos)
UNARY_LIBM(atan)
UNARY_LIBM(sinh)
UNARY_LIBM(cosh)
UNARY_LIBM(asinh)
UNARY_LIBM(acosh)
UNARY_LIBM(atanh)

/* Parametrised activations: a, b from attributes. */
UNARY_DOUBLE(leaky_relu, x < 0 ? p->a * x : x)
UNARY_DOUBLE(elu, x < 0 ? p->a * (exp(x) - 1.0) : x)
UNARY_DOUBLE(selu, x > 0 ? p->b * x : p->b * (p->a * exp(x) - p->a))
UNARY_DOUBLE(celu, x < 0 ? p->a * (exp(x / p->a) - 1.0) : x)
UNARY_DOUBLE(hardsigmoid, fmax(0.0, fmin(1.0, p->a * x + p->b)))
UNARY_DOUBLE(thresholded_relu, x > p->a ? x : 0.0)
UNARY_DOUBLE(shrink, x < -p->a ? x + p->b : (x > p->a ? x - p->b : 0.0))
UNARY_DOUBLE(gelu, p->a ? 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
			 : 0.5 * x * (1.0 + erf(x * 0.7071067811865476)))

UNARY_PARAM_RUN(leaky_relu, EW_LEAKY_RELU, onnx_attr_float(ctx->node, "alpha", 0.01f), 0)
UNARY_PARAM_RUN(elu, EW_ELU, onnx_attr_float(ctx->node, "alpha", 1.0f), 0)
UNARY_PARAM_RUN(selu, EW_SELU, onnx_attr_float(ctx->node, "alpha", 1.67326319217681884765625f),
				onnx_attr_float(ctx->node, "gamma", 1.05070102214813232421875f))
UNARY_PARAM_RUN(celu, EW_CELU, onnx_attr_float(ctx->node, "alpha", 1.0f), 0)
UNARY_PARAM_RUN(hardsigmoid, EW_HARDSIGMOID, onnx_attr_float(ctx->node, "alpha", 0.2f),
				onnx_attr_float(ctx->node, "beta", 0.5f))
UNARY_PARAM_RUN(thresholded_relu, EW_THRESHOLDED_RELU, onnx_attr_float(ctx->node, "alpha", 1.0f), 0)
UNARY_PARAM_RUN(shrink, EW_SHRINK, onnx_attr_float(ctx->node, "lambd", 0.5f),
				onnx_attr_float(ctx->node, "bias", 0.0f))

/* Gelu: the erf form, or the tanh approximation (approximate = "tanh") */
static const UnaryKernel gelu_kernel = {EW_GELU, NULL, gelu_f64, NULL};
static const UnaryKernel gelu_tanh_kernel = {EW_GELU_TANH, NULL, gelu_f64, NULL};

static OnnxStatus
run_gelu(OnnxKernelCtx *ctx)
{
	bool		tanh_form = strcmp(onnx_attr_string(ctx->node, "approximate", "none"), "tanh") == 0;
	UnaryParams p = {tanh_form, 0, 0};

	return unary_apply(ctx, tanh_form ? &gelu_tanh_kernel : &gelu_kernel, &p);
}

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
	/* an absent bound is the type's largest finite value, as onnxruntime has it (inf -> max) */
	if (!integer)
	{
		hi = x->dtype == ONNX_DTYPE_DOUBLE ? DBL_MAX : x->dtype == ONNX_DTYPE_FLOAT16 ? 65504.0 :
			x->dtype == ONNX_DTYPE_BFLOAT16 ? 3.3895313892515355e38 : FLT_MAX;
		lo = -hi;
	}
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
	if ((y = onnx_ew_out(ctx, 0, x->dtype, 1, &x, 1)) == NULL)
		return ctx->err->status;
	if (x->dtype == ONNX_DTYPE_FLOAT || x->dtype == ONNX_DTYPE_FLOAT16 ||
		x->dtype == ONNX_DTYPE_BFLOAT16)
	{
		float		p[2] = {(float) lo, (float) hi};

		return onnx_ew_unary(ctx, y, x, EW_CLIP, p);
	}
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
	ONNX_OP("", name, since, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = types, \
		ONNX_OUT_LIKE_INPUT0, .run = fn)

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
	ONNX_OP("", "IsNaN", 9, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = F,
		.out_type = ONNX_OUT_BOOL, .infer = onnx_infer_same_shape, .run = run_isnan),
	ONNX_OP("", "IsInf", 10, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = F,
		.out_type = ONNX_OUT_BOOL, .infer = onnx_infer_same_shape, .run = run_isinf),
	ONNX_OP("", "Clip", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		ONNX_OUT_LIKE_INPUT0, .run = run_clip),
	ONNX_OP("", "Clip", 11, ONNX_INPUTS(1, 3), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		ONNX_OUT_LIKE_INPUT0, .run = run_clip),
	{0}
};
