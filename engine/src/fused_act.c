/*-------------------------------------------------------------------------
 *
 * fused_act.c
 *	  Bias and activation epilogues (see fused_act.h).  The loops are plain
 *	  C written without branches or calls, compiled three times (portable,
 *	  AVX2 + FMA, AVX-512) so the compiler vectorises each; the variant is
 *	  chosen per call by onnx_simd_level().
 *
 *	  Error bounds (float32, against the exact function):
 *	  - sigmoid: e = exp(-|x|) (vecmath.h, a few ulp), 1/(1+e) or e/(1+e):
 *		relative error below 4e-7.
 *	  - tanh: |x| < 0.625: x * P(x^2), P of degree 5 fitted at Chebyshev
 *		nodes, relative error below 1.2e-7; above, (1-e)/(1+e) with
 *		e = exp(-2|x|) <= 0.29, relative error below 4e-7.
 *	  - SiLU: x * sigmoid(x), one more rounding.
 *	  NaN inputs give NaN except through Relu/Clip/HardSigmoid/HardSwish,
 *	  which compare (as onnxruntime's do).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "fused_act.h"
#include "vecmath.h"

/* 1 / (1 + exp(-x)) (see the file header for the error) */
static inline float
sigmoid_f32(float x)
{
	float		e = exp_f32_fast(-fabsf(x)),
				r = 1.0f / (1.0f + e);

	return x >= 0.0f ? r : e * r;
}

/* tanh(x) (see the file header for the error) */
static inline float
tanh_f32(float x)
{
	static const float tanh_small[6] = {
		-0.005664775148034096f, 0.020595679059624672f, -0.05372267961502075f,
		0.13331149518489838f, -0.3333326280117035f, 1.0f
	};
	float		a = fabsf(x),
				e = exp_f32_fast(-2.0f * a),
				big = (1.0f - e) / (1.0f + e),
				small = a * poly_f32(a * a, tanh_small, 6),
				t = a < 0.625f ? small : big;

	return copysignf(t, x);
}

/* max(lo, min(hi, v)) with NaN kept */
static inline float
clamp_f32(float v, float lo, float hi)
{
	v = v < lo ? lo : v;
	return v > hi ? hi : v;
}

/*
 * The epilogue body, inlined into one function per instruction set; one
 * loop per kind so each vectorises on its own.
 */
static inline __attribute__((always_inline)) void
act_rows_body(const OnnxFusedAct *act, float *y, int64_t rows, int64_t n, int64_t ld,
			  const float *bias)
{
	OnnxActKind kind = act ? act->kind : ONNX_ACT_NONE;
	float		al = act ? act->alpha : 0,
				be = act ? act->beta : 0;

	for (int64_t r = 0; r < rows; r++)
	{
		float	   *restrict p = y + r * ld;
		float		b = bias ? bias[r] : 0.0f;

		switch (kind)
		{
			case ONNX_ACT_NONE:
				if (bias)
					for (int64_t i = 0; i < n; i++)
						p[i] += b;
				break;
			case ONNX_ACT_RELU:
				for (int64_t i = 0; i < n; i++)
				{
					float		v = p[i] + b;

					p[i] = v < 0.0f ? 0.0f : v;
				}
				break;
			case ONNX_ACT_CLIP:
				for (int64_t i = 0; i < n; i++)
					p[i] = clamp_f32(p[i] + b, al, be);
				break;
			case ONNX_ACT_LEAKY_RELU:
				for (int64_t i = 0; i < n; i++)
				{
					float		v = p[i] + b;

					p[i] = v < 0.0f ? v * al : v;
				}
				break;
			case ONNX_ACT_HARD_SIGMOID:
				for (int64_t i = 0; i < n; i++)
					p[i] = clamp_f32((p[i] + b) * al + be, 0.0f, 1.0f);
				break;
			case ONNX_ACT_HARD_SWISH:
				for (int64_t i = 0; i < n; i++)
				{
					float		v = p[i] + b;

					p[i] = v * clamp_f32(v * al + be, 0.0f, 1.0f);
				}
				break;
			case ONNX_ACT_SIGMOID:
				for (int64_t i = 0; i < n; i++)
					p[i] = sigmoid_f32(p[i] + b);
				break;
			case ONNX_ACT_SILU:
				for (int64_t i = 0; i < n; i++)
				{
					float		v = p[i] + b;

					p[i] = v * sigmoid_f32(v);
				}
				break;
			case ONNX_ACT_TANH:
				for (int64_t i = 0; i < n; i++)
					p[i] = tanh_f32(p[i] + b);
				break;
		}
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
static void
act_rows_avx512(const OnnxFusedAct *act, float *y, int64_t rows, int64_t n, int64_t ld,
				const float *bias)
{
	act_rows_body(act, y, rows, n, ld, bias);
}

__attribute__((target("avx2,fma")))
static void
act_rows_avx2(const OnnxFusedAct *act, float *y, int64_t rows, int64_t n, int64_t ld,
			  const float *bias)
{
	act_rows_body(act, y, rows, n, ld, bias);
}
#endif

static void
act_rows_portable(const OnnxFusedAct *act, float *y, int64_t rows, int64_t n, int64_t ld,
				  const float *bias)
{
	act_rows_body(act, y, rows, n, ld, bias);
}

void
onnx_act_rows_f32(const OnnxFusedAct *act, float *y, int64_t rows, int64_t n, int64_t ld,
				  const float *bias)
{
	if (rows <= 0 || n <= 0 || (!onnx_act_is_set(act) && bias == NULL))
		return;
#if defined(__x86_64__) && defined(__GNUC__)
	switch (onnx_simd_level())
	{
		case ONNX_SIMD_AVX512:
			act_rows_avx512(act, y, rows, n, ld, bias);
			return;
		case ONNX_SIMD_AVX2:
			act_rows_avx2(act, y, rows, n, ld, bias);
			return;
		default:
			break;
	}
#endif
	act_rows_portable(act, y, rows, n, ld, bias);
}

double
onnx_act_f64(const OnnxFusedAct *act, double x)
{
	double		t;

	if (act == NULL)
		return x;
	switch (act->kind)
	{
		case ONNX_ACT_NONE:
			return x;
		case ONNX_ACT_RELU:
			return x < 0 ? 0 : x;
		case ONNX_ACT_CLIP:
			x = x < act->alpha ? act->alpha : x;
			return x > act->beta ? act->beta : x;
		case ONNX_ACT_LEAKY_RELU:
			return x < 0 ? x * act->alpha : x;
		case ONNX_ACT_HARD_SIGMOID:
		case ONNX_ACT_HARD_SWISH:
			t = x * act->alpha + act->beta;
			t = t < 0 ? 0 : t > 1 ? 1 : t;
			return act->kind == ONNX_ACT_HARD_SWISH ? x * t : t;
		case ONNX_ACT_SIGMOID:
			return 1.0 / (1.0 + exp(-x));
		case ONNX_ACT_SILU:
			return x / (1.0 + exp(-x));
		case ONNX_ACT_TANH:
			return tanh(x);
	}
	return x;
}

void
onnx_act_tensor(const OnnxFusedAct *act, OnnxTensor *y)
{
	if (!onnx_act_is_set(act) || y->count == 0)
		return;
	if (y->dtype == ONNX_DTYPE_FLOAT)
		onnx_act_rows_f32(act, y->data, 1, y->count, y->count, NULL);
	else if (act->kind == ONNX_ACT_RELU)
		onnx_tensor_relu_inplace(y);
	else
		for (int64_t i = 0; i < y->count; i++)
			onnx_tensor_set_f64(y, i, onnx_act_f64(act, onnx_tensor_get_f64(y, i)));
}
