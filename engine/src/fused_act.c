/*-------------------------------------------------------------------------
 *
 * fused_act.c
 *	  Bias and activation epilogues (see fused_act.h).  The loops are plain
 *	  C without branches or calls, compiled for AVX-512, AVX2+FMA and
 *	  portable C by vecmath.h's ONNX_VEC_DISPATCH (chosen per call by
 *	  onnx_vec_isa()).  Sigmoid and tanh are vecmath.h's (at most 2.9 and
 *	  1.6 ulp); SiLU is x * sigmoid(x), one more rounding.  GELU is
 *	  0.5 x (1 + erf(x / sqrt 2)) with vecmath.h's erf (2.8 ulp): within
 *	  2.8 ulp of 1 + erf plus three roundings, relative to 0.5 |x| (1 +
 *	  erf), i.e. an absolute error of about 4e-7 |x| where erf is near -1
 *	  (x << 0, the same cancellation as the spelled-out graph).  NaN inputs give
 *	  NaN except through Relu/Clip/HardSigmoid/HardSwish, which compare.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "fused_act.h"
#include "vecmath.h"

/* max(lo, min(hi, v)) with NaN kept */
static inline float
clamp_f32(float v, float lo, float hi)
{
	v = v < lo ? lo : v;
	return v > hi ? hi : v;
}

/* p[i] = f for v = p[i] + b over one row: a loop without branches */
#define ACT_ROW(f) \
	for (int64_t i = 0; i < n; i++) \
	{ \
		float		v = p[i] + b; \
\
		p[i] = (f); \
	}

/*
 * The epilogue body, compiled once per instruction set; one loop per kind
 * so each vectorises on its own.
 */
ONNX_VEC_INLINE void
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
					ACT_ROW(v);
				break;
			case ONNX_ACT_RELU:
				ACT_ROW(v < 0.0f ? 0.0f : v);
				break;
			case ONNX_ACT_CLIP:
				ACT_ROW(clamp_f32(v, al, be));
				break;
			case ONNX_ACT_LEAKY_RELU:
				ACT_ROW(v < 0.0f ? v * al : v);
				break;
			case ONNX_ACT_HARD_SIGMOID:
				ACT_ROW(clamp_f32(v * al + be, 0.0f, 1.0f));
				break;
			case ONNX_ACT_HARD_SWISH:
				ACT_ROW(v * clamp_f32(v * al + be, 0.0f, 1.0f));
				break;
			case ONNX_ACT_SIGMOID:
				ACT_ROW(sigmoid_f32_fast(v));
				break;
			case ONNX_ACT_SILU:
				ACT_ROW(v * sigmoid_f32_fast(v));
				break;
			case ONNX_ACT_TANH:
				ACT_ROW(tanh_f32_fast(v));
				break;
			case ONNX_ACT_GELU:
				ACT_ROW(0.5f * v * (1.0f + erf_f32_fast(v * 0.70710678f)));
				break;
		}
	}
}
#undef ACT_ROW

ONNX_VEC_DISPATCH(static, act_rows, act_rows_body,
				  (const OnnxFusedAct *act, float *y, int64_t rows, int64_t n, int64_t ld,
				   const float *bias),
				  (act, y, rows, n, ld, bias))

void
onnx_act_rows_f32(const OnnxFusedAct *act, float *y, int64_t rows, int64_t n, int64_t ld,
				  const float *bias)
{
	if (rows <= 0 || n <= 0 || (!onnx_act_is_set(act) && bias == NULL))
		return;
	act_rows(act, y, rows, n, ld, bias);
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
		case ONNX_ACT_GELU:
			return 0.5 * x * (1.0 + erf(x * 0.70710678118654752));
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
