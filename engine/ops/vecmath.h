/*-------------------------------------------------------------------------
 *
 * vecmath.h
 *	  Branch-free float32 helpers (bit casts, exp, log, erf, sigmoid, tanh) that
 *	  gcc and clang vectorize inside plain loops; for the elementwise,
 *	  softmax and recurrent kernels.  The row functions and the run-time
 *	  choice of instruction set are in vecmath.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ONNX_VECMATH_H
#define ONNX_VECMATH_H

#include <stdint.h>
#include <string.h>

/*
 * Put before a function whose loops use these helpers: with gcc on x86-64
 * it is also compiled for AVX2 and the variant is chosen at load.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define ONNX_VEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ONNX_VEC_CLONES
#endif

/*
 * Run-time choice of instruction set for the row kernels (vecmath.c):
 * the best the CPU supports, capped by onnx_vec_set_max_isa (tests use it
 * to force the portable C path; process-wide).
 */
typedef enum OnnxVecIsa
{
	ONNX_VEC_PORTABLE = 0,		/* plain C (SSE2 on x86-64) */
	ONNX_VEC_AVX2,				/* AVX2 + FMA */
	ONNX_VEC_AVX512				/* AVX-512 F/BW/DQ/VL */
} OnnxVecIsa;

extern OnnxVecIsa onnx_vec_isa(void);
extern void onnx_vec_set_max_isa(int isa);	/* an OnnxVecIsa */

/*
 * ONNX_VEC_DISPATCH(scope, name, body, params, args) defines the function
 * "scope void name params" that runs "body args" compiled three times
 * (AVX-512, AVX2+FMA, portable) and picks the copy by onnx_vec_isa().
 * body is a static always-inline function in plain C whose loops the
 * compiler vectorizes for each target; scope is static or empty.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ONNX_VEC_INLINE static inline __attribute__((always_inline))
#define ONNX_VEC_DISPATCH(scope, name, body, params, args) \
	__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))) \
	static void name##_avx512 params { body args; } \
	__attribute__((target("avx2,fma"))) \
	static void name##_avx2 params { body args; } \
	static void name##_portable params { body args; } \
	scope void name params \
	{ \
		switch (onnx_vec_isa()) \
		{ \
			case ONNX_VEC_AVX512: name##_avx512 args; break; \
			case ONNX_VEC_AVX2: name##_avx2 args; break; \
			default: name##_portable args; break; \
		} \
	}
#else
#define ONNX_VEC_INLINE static inline
#define ONNX_VEC_DISPATCH(scope, name, body, params, args) \
	scope void name params { body args; }
#endif

/* The bits of a float32, and back. */
static inline uint32_t
f32_bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float
bits_f32(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Bits of a where mask is all ones, of b where it is zero. */
static inline float
select_f32(uint32_t mask, float a, float b)
{
	return bits_f32((f32_bits(a) & mask) | (f32_bits(b) & ~mask));
}

/* c[0] x^(n-1) + ... + c[n-1] by Horner's rule. */
static inline float
poly_f32(float x, const float *c, int n)
{
	float		p = c[0];

	for (int k = 1; k < n; k++)
		p = p * x + c[k];
	return p;
}

/* 2^n for an integer n in [-126, 127]: the exponent field alone. */
static inline float
pow2i_f32(int32_t n)
{
	return bits_f32(((uint32_t) n + 127u) << 23);	/* unsigned: n is garbage for NaN */
}

/*
 * exp(x) = p * 2^n for x in [-104, 88.8]: x = n ln2 + r with |r| <= ln2/2
 * (Cody-Waite, ln2 split so n * hi is exact), p = exp(r) = 1 + r + r^2
 * q(r) with q of degree 4 fitted for least maximum relative error (3.1e-9
 * in exact arithmetic).
 */
static inline float
exp_parts_f32(float x, int32_t *n)
{
	float		kf = x * 1.44269504f + 12582912.0f;	/* round to nearest via 1.5 * 2^23 */
	float		r,
				p;

	*n = (int32_t) (f32_bits(kf) - 0x4B400000u);
	kf -= 12582912.0f;
	r = x - kf * 0.693145752f;
	r = r - kf * 1.42860677e-06f;
	p = 1.381461276e-03f;
	p = p * r + 8.368710056e-03f;
	p = p * r + 4.166838899e-02f;
	p = p * r + 1.666652113e-01f;
	p = p * r + 4.999999404e-01f;
	return (p * r) * r + r + 1.0f;
}

/*
 * exp(x) in float32 over the whole range, without branches or calls:
 * exp_parts_f32 on x clamped to [-104, 88.8], 2^n applied as two factors
 * so that results down to the subnormals round once.  Overflow gives
 * +inf, underflow 0, NaN stays NaN.  Measured against double exp
 * (test/engine/vecmath_accuracy.c; every float32 with AVX-512, every third
 * one at the other levels): at most 1.02 ulp (0.99 without FMA),
 * subnormal results within 1 ulp of the subnormal grid.
 */
static inline float
exp_f32(float x)
{
	int32_t		n,
				n1;
	float		p;

	x = x > 88.8f ? 88.8f : x;	/* NaN fails both tests and stays */
	x = x < -104.0f ? -104.0f : x;
	p = exp_parts_f32(x, &n);
	n1 = n >> 1;
	return p * pow2i_f32(n1) * pow2i_f32(n - n1);
}

/*
 * exp(x) as exp_f32 but cheaper, for softmax and the activations, which
 * only need x <= 88.3 (exp of x - max, of -|x| and the like): one scaling
 * by 2^n, so results below 2^-126 are 0 (no subnormals); above 88.3 the
 * value is garbage.  NaN stays NaN.  At most 1.02 ulp for results >= 2^-126
 * (exp_f32's polynomial and error).
 */
static inline float
exp_f32_fast(float x)
{
	uint32_t	under = -(uint32_t) (x < -87.3365448f);	/* below 2^-126 */
	int32_t		n;
	float		p;

	x = x > 88.3f ? 88.3f : x;
	p = exp_parts_f32(x, &n);
	return select_f32(under, 0.0f, p * pow2i_f32(n));
}

/*
 * erf in float32 without branches or calls, so loops over it vectorize:
 * |x| < 1: x * P(x^2); 1 <= |x| < 4: 1 - exp(q(t) - x^2) with t = (|x| -
 * 2.5) / 1.5 and q fitted to log(erfc(x)) + x^2; beyond, +-1.  Error at
 * most 2.8 ulp (polynomials fitted at Chebyshev nodes; measured over every
 * float32 against double erf, with and without FMA); subnormals
 * and +-0 give 2/sqrt(pi) x, NaN stays NaN.
 */
static inline float
erf_f32_fast(float x)
{
	static const float erf_small[7] = {
		7.932747371e-05f, -8.034607121e-04f, 5.191188934e-03f, -2.685538219e-02f,
		1.128362524e-01f, -3.761262982e-01f, 1.128379167e+00f
	};
	static const float erf_tail[9] = {
		4.136663368e-05f, -2.274034123e-04f, 8.815708784e-04f, -3.190472810e-03f,
		1.096112407e-02f, -3.664749492e-02f, 1.262393094e-01f, -5.290210216e-01f,
		-1.556815277e+00f
	};
	uint32_t	ia = f32_bits(x) & 0x7FFFFFFFu;
	float		a = bits_f32(ia),
				s = a * a,
				c = select_f32(-(uint32_t) (ia < 0x40800000u), a, 4.0f),	/* min(a, 4) */
				t = (c - 2.5f) * (1.0f / 1.5f),
				small,
				q,
				big;

	small = poly_f32(s, erf_small, 7);
	small *= x;
	q = poly_f32(t, erf_tail, 9);
	big = 1.0f - exp_f32_fast(q - c * c);
	big = bits_f32(f32_bits(big) | (f32_bits(x) & 0x80000000u));	/* sign of x */
	/* integer masks rather than branches: |x| < 1, NaN */
	big = select_f32(-(uint32_t) (ia < 0x3F800000u), small, big);
	return select_f32(-(uint32_t) (ia > 0x7F800000u), x, big);
}

/*
 * log(x) in float32 without branches or calls: subnormals scaled by 2^23
 * first, x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s)
 * with s = (m - 1) / (m + 1), |s| <= 0.1716, by its series to s^9
 * (truncation below 2.1e-9 relative).  log(+-0) = -inf, log(x < 0) = NaN,
 * log(+inf) = +inf, NaN stays NaN.  Measured over every float32 against
 * double log: at most 0.95 ulp.
 */
static inline float
log_f32(float x)
{
	uint32_t	tiny = -(uint32_t) (f32_bits(x) < 0x00800000u);	/* +0, subnormal */
	float		xs = select_f32(tiny, x * 8388608.0f, x);
	uint32_t	v = f32_bits(xs);
	uint32_t	mb = (v & 0x007FFFFFu) | 0x3F800000u;	/* [1, 2) */
	uint32_t	big = -(uint32_t) (mb > 0x3FB504F3u);	/* above sqrt(2): halve */
	float		e = (float) ((int32_t) ((v >> 23) & 0xFF) - 127 - (int32_t) (tiny & 23) +
							 (int32_t) (big & 1));
	float		f = bits_f32(mb - (big & 0x00800000u)) - 1.0f;
	float		s = f / (2.0f + f);
	float		z = s * s;
	float		q = 2.0f / 9.0f;
	float		y;

	q = q * z + 2.0f / 7.0f;
	q = q * z + 2.0f / 5.0f;
	q = q * z + 2.0f / 3.0f;
	/* 2 atanh(s) = 2s + s z q(z) = f - s (f - z q(z)), f exact */
	y = e * 0.693145752f + ((f - s * (f - z * q)) + e * 1.42860677e-06f);
	y = select_f32(-(uint32_t) (x == __builtin_inff()), x, y);
	y = select_f32(-(uint32_t) (x == 0.0f), -__builtin_inff(), y);
	return select_f32(-(uint32_t) (x < 0.0f), __builtin_nanf(""), select_f32(-(uint32_t) (x != x), x, y));
}

/*
 * log(1 + u) for u in [0, 1] (and +inf) without cancellation: with w =
 * 1 + u rounded, log(w) * u / (w - 1) corrects the rounding of w (w - 1
 * is exact); u below half an ulp of 1 gives u.  Within 2 ulp (softplus,
 * log1p of exp, measured within 2.8 ulp).
 */
static inline float
log1p_pos_f32(float u)
{
	float		w = 1.0f + u;
	float		d = w - 1.0f;
	float		l = log_f32(w) * (u / d);

	l = select_f32(-(uint32_t) (u == __builtin_inff()), u, l);
	return select_f32(-(uint32_t) (d == 0.0f), u, l);
}

/* ---- sigmoid and tanh (recurrent ops; row forms in vecmath.c) ---- */

/*
 * sigmoid(x) = 1 / (1 + exp(-x)) in float32 without branches or calls:
 * with e = exp(-|x|) <= 1 (never overflows), 1 / (1 + e) for x >= 0 and
 * e / (1 + e) below, one division, so neither side cancels.  Error at
 * most 2.4 ulp of the result where it is >= 2^-126 (measured over every
 * float, with and without FMA, test/engine/vecmath_accuracy.c); below
 * x = -87.3 it returns 0 where the exact value is under 1.2e-38.
 * sigmoid(+inf) = 1, sigmoid(-inf) = 0, NaN stays NaN.
 */
static inline float
sigmoid_f32_fast(float x)
{
	float		e = exp_f32_fast(bits_f32(f32_bits(x) | 0x80000000u));	/* exp(-|x|) */

	return select_f32(-(uint32_t) (x < 0.0f), e, 1.0f) / (1.0f + e);
}

/*
 * tanh(x) in float32 without branches or calls.  |x| < 0.625: x + x^3
 * q(x^2) with q of degree 4 fitted for least maximum relative error (4.4e-9);
 * above: (1 - e) / (1 + e) with e = exp(-2|x|) <= 0.29, so no
 * cancellation; the sign restored from x.  Error at most 1.52 ulp of the
 * result over every float (measured, with and without FMA), tanh(+-0) =
 * +-0, subnormals returned as they are, tanh(+-inf) = +-1, |x| > 9.1
 * gives exactly +-1, NaN stays NaN.
 */
static inline float
tanh_f32_fast(float x)
{
	static const float tanh_small[5] = {
		-5.704986863e-03f, 2.063908614e-02f, -5.373971537e-02f, 1.333144158e-01f,
		-3.333328068e-01f
	};
	uint32_t	sign = f32_bits(x) & 0x80000000u;
	float		a = bits_f32(f32_bits(x) & 0x7FFFFFFFu),
				s = a * a,
				small = a + a * s * poly_f32(s, tanh_small, 5),
				e = exp_f32_fast(-2.0f * a),
				big = (1.0f - e) / (1.0f + e);

	big = select_f32(-(uint32_t) (a < 0.625f), small, big);
	return bits_f32(f32_bits(big) | sign);
}

/* y[i] = sigmoid(x[i]), y[i] = tanh(x[i]) for n floats (y may be x). */
extern void onnx_vec_sigmoid_f32(const float *x, float *y, int64_t n);
extern void onnx_vec_tanh_f32(const float *x, float *y, int64_t n);

/*
 * x / s correctly rounded without a division, for the quantizers
 * (ops_quant.c, qmatmul.c): q0 = x * r with r = 1 / s (correctly
 * rounded; the caller keeps 1e-30 <= |s| <= 1e30 so r is normal), then
 * q0 + fma(-q0, s, x) * r, the correctly rounded quotient (Markstein: r
 * within half an ulp of 1 / s and q0 within one ulp of x / s, the
 * residual exact by the FMA).  Where |q0| >= 1e6, or q0 is NaN, q0 is
 * returned: callers clamp quotients to +-1e6 (or to the 8-bit range)
 * either way, an infinite x gives an infinity and a NaN x NaN.
 */
static inline float
onnx_div_rn_fma(float x, float s, float r)
{
	float		q0 = x * r,
				a = __builtin_fmaf(__builtin_fmaf(-q0, s, x), r, q0);

	return q0 > -1e6f && q0 < 1e6f ? a : q0;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* onnx_div_rn_fma on 16 lanes: xv / vs with vr = 1 / vs, the same values */
__attribute__((target("avx512f,fma"), always_inline))
static inline __m512
onnx_div_rn_x512(__m512 xv, __m512 vs, __m512 vr)
{
	__m512		q0 = _mm512_mul_ps(xv, vr),
				a = _mm512_fmadd_ps(_mm512_fnmadd_ps(q0, vs, xv), vr, q0);

	return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_abs_ps(q0), _mm512_set1_ps(1e6f),
												   _CMP_LT_OQ), q0, a);
}
#endif

#endif							/* ONNX_VECMATH_H */
