/*-------------------------------------------------------------------------
 *
 * vecmath.h
 *	  Branch-free float32 helpers (bit casts, exp, erf) that gcc and clang
 *	  vectorize inside plain loops; for the elementwise and softmax kernels.
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

#endif							/* ONNX_VECMATH_H */
