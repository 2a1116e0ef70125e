/*-------------------------------------------------------------------------
 *
 * eltwise_kern.c
 *	  The typed loops of the elementwise operators (see eltwise.h): one
 *	  function per operator and element type over a contiguous run, each
 *	  input a vector or a scalar.  Plain C loops the compiler vectorises.
 *
 * The Makefile compiles this file three times: as it is (portable table,
 * the baseline instruction set), with EW_ISA_AVX2 and -mavx2 -mfma -mf16c,
 * and with EW_ISA_AVX512 and -mavx512f/bw/dq/vl; each defines its own
 * onnx_ew_table_<level>.  Everything else here is static, so no code of
 * one level is reached from another.  Outputs may be the buffer of a
 * vector input: every loop reads element i before writing y[i].
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "eltwise.h"
#include "vecmath.h"

#if defined(EW_ISA_AVX512)
#define EW_TABLE onnx_ew_table_avx512
#define EW_NAME "avx512"
#elif defined(EW_ISA_AVX2)
#define EW_TABLE onnx_ew_table_avx2
#define EW_NAME "avx2"
#else
#define EW_TABLE onnx_ew_table_portable
#define EW_NAME "portable"
#endif

#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#if (defined(EW_ISA_AVX512) || defined(EW_ISA_AVX2)) && !defined(__x86_64__)
#error "the AVX builds of eltwise_kern.c are for x86-64"
#endif

/* ---- binary loops ---- */

/*
 * Define fn: y[i] = expr of x = a[i] (or a[0]) and z = b[i] (or b[0]),
 * T the input type, U the output type.  The scalar side is loaded once
 * before the loop, so each variant is a plain vectorisable loop.
 */
#define EW_BIN(fn, T, U, expr) \
static void \
fn(void *yv, const void *av, const void *bv, int64_t n, unsigned mode) \
{ \
	U		   *y = yv; \
	const T    *a = av, \
			   *b = bv; \
	int64_t		i; \
 \
	switch (mode & 3) \
	{ \
		case 3: \
			for (i = 0; i < n; i++) \
			{ \
				const T		x = a[i], z = b[i]; \
				y[i] = (expr); \
			} \
			break; \
		case 1: \
			{ \
				const T		z = b[0]; \
				for (i = 0; i < n; i++) \
				{ \
					const T		x = a[i]; \
					y[i] = (expr); \
				} \
			} \
			break; \
		case 2: \
			{ \
				const T		x = a[0]; \
				for (i = 0; i < n; i++) \
				{ \
					const T		z = b[i]; \
					y[i] = (expr); \
				} \
			} \
			break; \
		default: \
			{ \
				const T		x = a[0], z = b[0]; \
				const U		v = (expr); \
				for (i = 0; i < n; i++) \
					y[i] = v; \
			} \
			break; \
	} \
}

/*
 * Arithmetic on integers wraps: computed in W, an unsigned type at least
 * as wide as int (no signed overflow, no promotion to a signed int).
 * Division by zero gives 0, MIN / -1 wraps (to MIN): data never traps.
 */
#define EW_INT_OPS(sfx, T, W) \
EW_BIN(add_##sfx, T, T, (T) ((W) x + (W) z)) \
EW_BIN(sub_##sfx, T, T, (T) ((W) x - (W) z)) \
EW_BIN(mul_##sfx, T, T, (T) ((W) x * (W) z)) \
EW_BIN(max_##sfx, T, T, x < z ? z : x) \
EW_BIN(min_##sfx, T, T, z < x ? z : x) \
EW_BIN(eq_##sfx, T, uint8_t, x == z) \
EW_BIN(lt_##sfx, T, uint8_t, x < z) \
EW_BIN(gt_##sfx, T, uint8_t, x > z) \
EW_BIN(le_##sfx, T, uint8_t, x <= z) \
EW_BIN(ge_##sfx, T, uint8_t, x >= z)

#define EW_SINT_OPS(sfx, T, W) \
EW_INT_OPS(sfx, T, W) \
EW_BIN(div_##sfx, T, T, z == 0 ? (T) 0 : z == (T) -1 ? (T) (0 - (W) x) : (T) (x / z)) \
EW_BIN(prelu_##sfx, T, T, x < 0 ? (T) ((W) x * (W) z) : x)

#define EW_UINT_OPS(sfx, T, W) \
EW_INT_OPS(sfx, T, W) \
EW_BIN(div_##sfx, T, T, z == 0 ? (T) 0 : (T) (x / z)) \
EW_BIN(prelu_##sfx, T, T, ((void) z, x))

/* Floats: max and min give NaN when either input is NaN. */
#define EW_FLOAT_OPS(sfx, T, POW) \
EW_BIN(add_##sfx, T, T, x + z) \
EW_BIN(sub_##sfx, T, T, x - z) \
EW_BIN(mul_##sfx, T, T, x * z) \
EW_BIN(div_##sfx, T, T, x / z) \
EW_BIN(max_##sfx, T, T, (x < z || z != z) ? z : x) \
EW_BIN(min_##sfx, T, T, (z < x || z != z) ? z : x) \
EW_BIN(prelu_##sfx, T, T, x < 0 ? x * z : x) \
EW_BIN(pow_##sfx, T, T, POW(x, z)) \
EW_BIN(eq_##sfx, T, uint8_t, x == z) \
EW_BIN(lt_##sfx, T, uint8_t, x < z) \
EW_BIN(gt_##sfx, T, uint8_t, x > z) \
EW_BIN(le_##sfx, T, uint8_t, x <= z) \
EW_BIN(ge_##sfx, T, uint8_t, x >= z)

EW_FLOAT_OPS(f32, float, powf)
EW_FLOAT_OPS(f64, double, pow)
EW_SINT_OPS(i8, int8_t, uint32_t)
EW_SINT_OPS(i16, int16_t, uint32_t)
EW_SINT_OPS(i32, int32_t, uint32_t)
EW_SINT_OPS(i64, int64_t, uint64_t)
EW_UINT_OPS(u8, uint8_t, uint32_t)
EW_UINT_OPS(u16, uint16_t, uint32_t)
EW_UINT_OPS(u32, uint32_t, uint32_t)
EW_UINT_OPS(u64, uint64_t, uint64_t)

/* bool logic: any nonzero byte is true */
EW_BIN(and_b, uint8_t, uint8_t, (x != 0) & (z != 0))
EW_BIN(or_b, uint8_t, uint8_t, (x != 0) | (z != 0))
EW_BIN(xor_b, uint8_t, uint8_t, (x != 0) ^ (z != 0))

/* ---- Where ---- */

/*
 * Define fn: y[i] = c[i] ? a[i] : b[i] on elements of T, each of c, a, b
 * a vector or a scalar (mode bits 1, 2, 4).  The body is inlined with
 * constant strides into one loop per combination.
 */
#define EW_WHERE(fn, T) \
static inline __attribute__((always_inline)) void \
fn##_run(T *y, const uint8_t *c, const T *a, const T *b, int64_t n, int sc, int sa, int sb) \
{ \
	const uint8_t c0 = c[0]; \
	const T		a0 = a[0], b0 = b[0]; \
 \
	for (int64_t i = 0; i < n; i++) \
	{ \
		uint8_t		ci = sc ? c[i] : c0; \
		T			ai = sa ? a[i] : a0, \
					bi = sb ? b[i] : b0; \
		y[i] = ci ? ai : bi; \
	} \
} \
static void \
fn(void *y, const uint8_t *c, const void *a, const void *b, int64_t n, unsigned mode) \
{ \
	switch (mode & 7) \
	{ \
		case 0: fn##_run(y, c, a, b, n, 0, 0, 0); break; \
		case 1: fn##_run(y, c, a, b, n, 1, 0, 0); break; \
		case 2: fn##_run(y, c, a, b, n, 0, 1, 0); break; \
		case 3: fn##_run(y, c, a, b, n, 1, 1, 0); break; \
		case 4: fn##_run(y, c, a, b, n, 0, 0, 1); break; \
		case 5: fn##_run(y, c, a, b, n, 1, 0, 1); break; \
		case 6: fn##_run(y, c, a, b, n, 0, 1, 1); break; \
		default: fn##_run(y, c, a, b, n, 1, 1, 1); break; \
	} \
}

EW_WHERE(where_1, uint8_t)
EW_WHERE(where_2, uint16_t)
EW_WHERE(where_4, uint32_t)
EW_WHERE(where_8, uint64_t)

/* ---- float32 unary loops ---- */

/*
 * Define fn: y[i] = expr of x = x[i], with parameters pa = p[0], pb =
 * p[1].  Branch-free expressions: comparisons become blends.
 */
#define EW_UN(fn, expr) \
static void \
fn(float *y, const float *xv, int64_t n, const float *p) \
{ \
	const float pa = p[0], \
				pb = p[1]; \
 \
	(void) pa; \
	(void) pb; \
	for (int64_t i = 0; i < n; i++) \
	{ \
		const float x = xv[i]; \
		y[i] = (expr); \
	} \
}

/* sign bit of x set on v (v >= 0) */
static inline float
with_sign(float v, float x)
{
	return bits_f32(f32_bits(v) | (f32_bits(x) & 0x80000000u));
}

static inline float
abs_f32(float x)
{
	return bits_f32(f32_bits(x) & 0x7FFFFFFFu);
}

/*
 * Round half to even for every float32: |x| < 2^23 is rounded by adding
 * and subtracting 2^23 (the hardware's rounding), larger values, inf and
 * NaN are integers already; the result keeps x's sign (-0.4 -> -0).
 */
static inline float
round_even_f32(float x)
{
	float		a = abs_f32(x);
	float		r = (a + 8388608.0f) - 8388608.0f;

	return with_sign(a < 8388608.0f ? r : a, x);
}

/* floor and ceil from the rounded value, sign of x kept (ceil(-0.5) = -0) */
static inline float
floor_f32(float x)
{
	float		r = round_even_f32(x);

	return with_sign(abs_f32(r > x ? r - 1.0f : r), x);
}

static inline float
ceil_f32(float x)
{
	float		r = round_even_f32(x);

	return with_sign(abs_f32(r < x ? r + 1.0f : r), x);
}

/* t clamped to [0, 1], NaN kept */
static inline float
clamp01_f32(float t)
{
	t = t < 0.0f ? 0.0f : t;
	return t > 1.0f ? 1.0f : t;
}

/*
 * softplus: log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); at most 2.8
 * ulp where the result is >= 2^-126 (test/engine/vecmath_accuracy.c)
 */
static inline float
softplus_f32(float x)
{
	return (x > 0.0f ? x : 0.0f) + log1p_pos_f32(exp_f32_fast(-abs_f32(x)));
}

/*
 * mish: x tanh(softplus(x)) = x n / (n + 2) with e = exp(x), n = e (e +
 * 2); beyond x = 20 the factor is 1 in float32.  At most 4.7 ulp where
 * the result is above 1.5e-36 in magnitude (below x = -87 it is 0).
 */
static inline float
mish_f32(float x)
{
	float		e = exp_f32_fast(x < 20.0f ? x : 20.0f);
	float		m = e * (e + 2.0f);

	return x < 20.0f ? x * (m / (m + 2.0f)) : x;
}

/*
 * gelu, tanh form: 0.5 x (1 + tanh(u)) = x sigmoid(2u), no cancellation;
 * within 2.1 ulp of x of the exact value (the erf form, 0.5 x (1 +
 * erf(x / sqrt 2)) below, within 1.9 ulp of x).  Relative to the result
 * the error grows for very negative x, where gelu is a tiny difference.
 */
static inline float
gelu_tanh_f32(float x)
{
	return x * sigmoid_f32_fast(1.5957691216f * (x + 0.044715f * x * x * x));
}

EW_UN(un_relu, x < 0.0f ? 0.0f : x)
EW_UN(un_sigmoid, sigmoid_f32_fast(x))
EW_UN(un_tanh, tanh_f32_fast(x))
EW_UN(un_exp, exp_f32(x))
EW_UN(un_log, log_f32(x))
EW_UN(un_sqrt, sqrtf(x))
EW_UN(un_abs, abs_f32(x))
EW_UN(un_neg, bits_f32(f32_bits(x) ^ 0x80000000u))
EW_UN(un_reciprocal, 1.0f / x)
EW_UN(un_floor, floor_f32(x))
EW_UN(un_ceil, ceil_f32(x))
EW_UN(un_round, round_even_f32(x))
EW_UN(un_sign, x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x * 0.0f))
EW_UN(un_erf, erf_f32_fast(x))
EW_UN(un_softplus, softplus_f32(x))
EW_UN(un_softsign, x / (1.0f + abs_f32(x)))
EW_UN(un_mish, mish_f32(x))
EW_UN(un_hardswish, x * clamp01_f32(x * (1.0f / 6.0f) + 0.5f))
EW_UN(un_gelu, 0.5f * x * (1.0f + erf_f32_fast(x * 0.70710678f)))
EW_UN(un_gelu_tanh, gelu_tanh_f32(x))
EW_UN(un_leaky_relu, x < 0.0f ? pa * x : x)
EW_UN(un_elu, x < 0.0f ? pa * (exp_f32_fast(x) - 1.0f) : x)
EW_UN(un_celu, x < 0.0f ? pa * (exp_f32_fast(x / pa) - 1.0f) : x)
EW_UN(un_selu, x > 0.0f ? pb * x : pb * (pa * exp_f32_fast(x) - pa))
EW_UN(un_hardsigmoid, clamp01_f32(pa * x + pb))
EW_UN(un_thresholded_relu, x > pa ? x : 0.0f)
EW_UN(un_shrink, x < -pa ? x + pb : (x > pa ? x - pb : 0.0f))
EW_UN(un_square, x * x)
EW_UN(un_swish, x * sigmoid_f32_fast(pa * x))
/* Clip: a NaN bound is no bound (the comparison fails), NaN x stays */
EW_UN(un_clip, (x < pa ? pa : x) > pb ? pb : (x < pa ? pa : x))

/*
 * x ^ k for an integer k = p[0] in [-64, 64], by repeated squaring in
 * double (exact to 2^-48 relative, so the float result is the correctly
 * rounded one but in rare double-rounding ties; no spurious overflow or
 * underflow: every partial product lies between 1 and x^|k|), then 1 /
 * for k < 0.  Blocks of 64 so that each step is a vector loop.
 */
static void
un_powi(float *y, const float *x, int64_t n, const float *p)
{
	int			k = (int) p[0];
	unsigned	e = (unsigned) (k < 0 ? -k : k);

	for (int64_t i0 = 0; i0 < n; i0 += 64)
	{
		int			m = n - i0 < 64 ? (int) (n - i0) : 64;
		double		r[64],
					b[64];

		for (int j = 0; j < m; j++)
		{
			b[j] = x[i0 + j];
			r[j] = 1.0;
		}
		for (unsigned bits = e; bits; bits >>= 1)
		{
			if (bits & 1)
				for (int j = 0; j < m; j++)
					r[j] *= b[j];
			if (bits > 1)
				for (int j = 0; j < m; j++)
					b[j] *= b[j];
		}
		if (k < 0)
			for (int j = 0; j < m; j++)
				r[j] = 1.0 / r[j];
		for (int j = 0; j < m; j++)
			y[i0 + j] = (float) r[j];
	}
}

/*
 * x ^ 0.5 (p[0] > 0) and x ^ -0.5 as pow gives them: sqrt(x) + 0 turns
 * sqrt(-0) = -0 into +0, and pow(-inf, 0.5) is +inf where sqrt gives
 * NaN.  One rounding for 0.5, two (under 1 ulp) for -0.5.
 */
static void
un_pow_half(float *y, const float *xv, int64_t n, const float *p)
{
	if (p[0] > 0)
		for (int64_t i = 0; i < n; i++)
		{
			const float x = xv[i];

			y[i] = x == -__builtin_inff() ? __builtin_inff() : sqrtf(x) + 0.0f;
		}
	else
		for (int64_t i = 0; i < n; i++)
		{
			const float x = xv[i];

			y[i] = x == -__builtin_inff() ? 0.0f : 1.0f / (sqrtf(x) + 0.0f);
		}
}

/* ---- float16 and bfloat16 conversions ---- */

/*
 * IEEE half to float without branches: the exponent rebased by 112
 * (normals), inf/NaN given the all-ones exponent, and zeros/subnormals
 * scaled from an integer (exact).
 */
static inline float
half_to_f32_1(uint16_t h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000u) << 16;
	uint32_t	em = h & 0x7FFFu;
	uint32_t	normal = (em << 13) + 0x38000000u;
	uint32_t	special = (em << 13) | 0x7F800000u;
	float		sub = (float) em * 5.9604644775390625e-08f;	/* 2^-24 */
	uint32_t	bits = em >= 0x7C00u ? special : normal;

	bits = em < 0x0400u ? f32_bits(sub) : bits;
	return bits_f32(bits | sign);
}

/*
 * float to IEEE half, round to nearest even, without branches: normals
 * by integer rounding of the mantissa (a carry moves into the exponent,
 * up to inf), below 2^-14 by a float addition that leaves the subnormal
 * half in the low bits, NaN made quiet.
 */
static inline uint16_t
f32_to_half_1(float f)
{
	uint32_t	u = f32_bits(f);
	uint32_t	sign = (u >> 16) & 0x8000u;
	uint32_t	a = u & 0x7FFFFFFFu;
	uint32_t	normal = (a - 0x38000000u + 0x0FFFu + ((a >> 13) & 1u)) >> 13;
	uint32_t	sub = f32_bits(bits_f32(a) + 0.5f) - 0x3F000000u;
	uint32_t	h;

	h = a < 0x38800000u ? sub : normal;
	h = a >= 0x47800000u ? 0x7C00u : h;		/* 65536 and above: inf */
	h = a > 0x7F800000u ? (0x7E00u | ((a >> 13) & 0x3FFu)) : h;	/* NaN */
	return (uint16_t) (h | sign);
}

static void
cvt_half_to_f32(void *dst, const void *src, int64_t n)
{
	float	   *y = dst;
	const uint16_t *x = src;
	int64_t		i = 0;

#if defined(__AVX512F__)
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (x + i))));
#elif defined(__F16C__)
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (x + i))));
#endif
	for (; i < n; i++)
		y[i] = half_to_f32_1(x[i]);
}

static void
cvt_f32_to_half(void *dst, const void *src, int64_t n)
{
	uint16_t   *y = dst;
	const float *x = src;
	int64_t		i = 0;

#if defined(__AVX512F__)
	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *) (y + i),
							_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
#elif defined(__F16C__)
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *) (y + i),
						 _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
#endif
	for (; i < n; i++)
		y[i] = f32_to_half_1(x[i]);
}

static void
cvt_bf16_to_f32(void *dst, const void *src, int64_t n)
{
	float	   *y = dst;
	const uint16_t *x = src;

	for (int64_t i = 0; i < n; i++)
		y[i] = bits_f32((uint32_t) x[i] << 16);
}

static void
cvt_f32_to_bf16(void *dst, const void *src, int64_t n)
{
	uint16_t   *y = dst;
	const float *x = src;

	for (int64_t i = 0; i < n; i++)
	{
		uint32_t	u = f32_bits(x[i]);
		uint32_t	r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;

		y[i] = (uint16_t) ((u & 0x7FFFFFFFu) > 0x7F800000u ? (u >> 16) | 0x40u : r);
	}
}

/* ---- the table ---- */

#define EW_ROW(op) \
	{op##_f32, op##_f64, op##_i8, op##_i16, op##_i32, op##_i64, op##_u8, op##_u16, op##_u32, op##_u64}

const OnnxEwTable EW_TABLE = {
	.name = EW_NAME,
	.bin = {
		[EW_ADD] = EW_ROW(add),
		[EW_SUB] = EW_ROW(sub),
		[EW_MUL] = EW_ROW(mul),
		[EW_DIV] = EW_ROW(div),
		[EW_MAX] = EW_ROW(max),
		[EW_MIN] = EW_ROW(min),
		[EW_PRELU] = EW_ROW(prelu),
		[EW_POW] = {pow_f32, pow_f64},
	},
	.cmp = {
		[EW_EQ] = EW_ROW(eq),
		[EW_LT] = EW_ROW(lt),
		[EW_GT] = EW_ROW(gt),
		[EW_LE] = EW_ROW(le),
		[EW_GE] = EW_ROW(ge),
		[EW_AND] = {[EW_U8] = and_b},
		[EW_OR] = {[EW_U8] = or_b},
		[EW_XOR] = {[EW_U8] = xor_b},
	},
	.where = {where_1, where_2, where_4, where_8},
	.unary = {
		[EW_RELU] = un_relu,
		[EW_SIGMOID] = un_sigmoid,
		[EW_TANH] = un_tanh,
		[EW_EXP] = un_exp,
		[EW_LOG] = un_log,
		[EW_SQRT] = un_sqrt,
		[EW_ABS] = un_abs,
		[EW_NEG] = un_neg,
		[EW_RECIPROCAL] = un_reciprocal,
		[EW_FLOOR] = un_floor,
		[EW_CEIL] = un_ceil,
		[EW_ROUND] = un_round,
		[EW_SIGN] = un_sign,
		[EW_ERF] = un_erf,
		[EW_SOFTPLUS] = un_softplus,
		[EW_SOFTSIGN] = un_softsign,
		[EW_MISH] = un_mish,
		[EW_HARDSWISH] = un_hardswish,
		[EW_GELU] = un_gelu,
		[EW_GELU_TANH] = un_gelu_tanh,
		[EW_LEAKY_RELU] = un_leaky_relu,
		[EW_ELU] = un_elu,
		[EW_CELU] = un_celu,
		[EW_SELU] = un_selu,
		[EW_HARDSIGMOID] = un_hardsigmoid,
		[EW_THRESHOLDED_RELU] = un_thresholded_relu,
		[EW_SHRINK] = un_shrink,
		[EW_CLIP] = un_clip,
		[EW_SQUARE] = un_square,
		[EW_POWI] = un_powi,
		[EW_POW_HALF] = un_pow_half,
		[EW_SWISH] = un_swish,
	},
	.half_to_f32 = cvt_half_to_f32,
	.f32_to_half = cvt_f32_to_half,
	.bf16_to_f32 = cvt_bf16_to_f32,
	.f32_to_bf16 = cvt_f32_to_bf16,
};
