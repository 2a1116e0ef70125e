/*-------------------------------------------------------------------------
 *
 * vecmath.h
 *	  Branch-free float32 helpers (bit casts, exp, erf, sigmoid, tanh) that
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

/*
 * exp(y) in float32 for y <= 0 without branches or calls: 2^n * exp(r)
 * with |r| <= ln2/2 and a degree-7 polynomial (relative error a few
 * ulp).  y below -87 gives 0 (no subnormal results); NaN stays NaN.
 */
static inline float
exp_f32_fast(float y)
{
	uint32_t	under = -(uint32_t) (y < -87.0f);
	static const float exp_taylor[8] = {
		1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f,
		1.0f / 6.0f, 0.5f, 1.0f, 1.0f
	};
	float		kf,
				r,
				e;
	int32_t		n;

	y = select_f32(under, -87.0f, y);
	kf = y * 1.442695041f + 12582912.0f;	/* round to nearest via 1.5*2^23 */
	n = (int32_t) f32_bits(kf) - 0x4B400000;
	kf -= 12582912.0f;
	r = y - kf * 0.693145752f;
	r = r - kf * 1.428606820e-06f;
	e = poly_f32(r, exp_taylor, 8);
	return select_f32(under, 0.0f, e * bits_f32((uint32_t) (n + 127) << 23));
}

/*
 * erf in float32 without branches or calls, so loops over it vectorize:
 * |x| < 1: x * P(x^2); 1 <= |x| < 4: 1 - exp(q(t) - x^2) with t = (|x| -
 * 2.5) / 1.5 and q fitted to log(erfc(x)) + x^2; beyond, +-1.  Relative
 * error at most 2e-7 for normal results (polynomials fitted at Chebyshev
 * nodes); NaN stays NaN.
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

/* ---- sigmoid and tanh (recurrent ops; row forms in vecmath.c) ---- */

/*
 * sigmoid(x) = 1 / (1 + exp(-x)) in float32 without branches or calls:
 * e = exp(-|x|) <= 1 never overflows; 1 / (1 + e) for x >= 0, e / (1 + e)
 * below.  Error at most 2.9 ulp of the result for x >= -87 (measured over
 * every float, with and without FMA); below -87 it returns 0 where the
 * exact value is under 1.7e-38.  sigmoid(+inf) = 1, sigmoid(-inf) = 0, NaN stays NaN.
 */
static inline float
sigmoid_f32_fast(float x)
{
	uint32_t	neg = -(uint32_t) (x < 0.0f);
	float		e = exp_f32_fast(bits_f32(f32_bits(x) | 0x80000000u)),	/* exp(-|x|) */
				r = 1.0f / (1.0f + e);

	return select_f32(neg, e * r, r);
}

/*
 * tanh(x) in float32 without branches or calls.  |x| < 0.625: x + x^3 q(x^2)
 * with q of degree 4 fitted for minimal relative error (under 1 ulp);
 * above: (1 - e) / (1 + e) with e = exp(-2|x|) <= 0.29, so no cancellation;
 * the sign restored from x.  Error at most 1.6 ulp of the result over
 * every float (measured, with and without FMA), tanh(+-0) = +-0, tanh(+-inf) = +-1, |x| > 9.1
 * gives exactly +-1, NaN stays NaN.
 */
static inline float
tanh_f32_fast(float x)
{
	static const float tanh_small[5] = {
		-5.704991985e-03f, 2.063909173e-02f, -5.373971537e-02f, 1.333144158e-01f,
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

#endif							/* ONNX_VECMATH_H */
