/*-------------------------------------------------------------------------
 *
 * nn_rows.c
 *	  float32 LRN, Softmax/LogSoftmax and x^-beta (see nn_rows.h).
 *
 * Every kernel works on contiguous rows so its loops vectorise, and is
 * compiled for AVX-512, AVX2 and portable C (ONNX_VEC_DISPATCH).  LRN
 * walks the channels once per chunk of spatial positions with the
 * window's square sum sliding along; Softmax over a middle axis keeps the
 * running max and sum of a chunk of inner positions instead of walking
 * each (outer, inner) pair with a stride.
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>

#include "nn_rows.h"
#include "slice_blocks.h"
#include "vecmath.h"

/* Spatial positions (LRN) or inner positions (Softmax) per chunk. */
#define ROWS_CHUNK 512

/* The max of a and b, b when a is NaN. */
#define MAXF(a, b) ((a) > (b) ? (a) : (b))

/*
 * log2 of a positive normal float: exponent plus log2 of the mantissa m
 * in [sqrt(1/2), sqrt(2)) as 2 atanh(s) / ln 2, s = (m - 1) / (m + 1),
 * |s| < 0.172, odd series to s^9 (truncation under 1e-9).
 */
static inline float
log2_f32_fast(float b)
{
	static const float atanh_series[5] = {
		2.0f / 9.0f, 2.0f / 7.0f, 2.0f / 5.0f, 2.0f / 3.0f, 2.0f
	};
	uint32_t	u = f32_bits(b);
	int32_t		e = (int32_t) (u >> 23) - 127;
	float		m = bits_f32((u & 0x007FFFFFu) | 0x3F800000u),
				s;
	uint32_t	big = -(uint32_t) (m > 1.41421356f);

	m = select_f32(big, m * 0.5f, m);
	e += (int32_t) (big & 1u);
	s = (m - 1.0f) / (m + 1.0f);
	return (float) e + poly_f32(s * s, atanh_series, 5) * s * 1.442695041f;
}

/*
 * 2^t for t in [-126, 127]: 2^n * exp(f ln 2), n = round(t), |f| <= 1/2,
 * degree-7 Taylor polynomial (truncation under 6e-9).
 */
static inline float
exp2_f32_fast(float t)
{
	static const float exp_taylor[8] = {
		1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f,
		1.0f / 6.0f, 0.5f, 1.0f, 1.0f
	};
	float		kf = t + 12582912.0f;	/* round to nearest via 1.5*2^23 */
	uint32_t	n = f32_bits(kf) - 0x4B400000u;	/* unsigned: garbage, not undefined, for NaN */

	kf -= 12582912.0f;
	return poly_f32((t - kf) * 0.693147181f, exp_taylor, 8) * bits_f32((n + 127u) << 23);
}

/*
 * y = b^-beta by exp2(-beta log2 b) where b is normal and the result's
 * exponent fits; *bad is set when some element needs powf instead.
 */
ONNX_VEC_INLINE void
pow_neg_body(const float *b, float *y, int64_t n, float beta, int *bad)
{
	int			any = 0;

	for (int64_t i = 0; i < n; i++)
	{
		float		bi = b[i];
		int			ok = bi >= FLT_MIN && bi <= FLT_MAX;
		float		t = -beta * log2_f32_fast(ok ? bi : 1.0f);
		int			fits = t >= -126.0f && t <= 127.0f;

		y[i] = exp2_f32_fast(fits ? t : 0.0f);
		any |= !(ok & fits);
	}
	*bad = any;
}

/* The elements pow_neg_body could not take, through powf. */
static void
pow_neg_fixup(const float *b, float *y, int64_t n, float beta)
{
	for (int64_t i = 0; i < n; i++)
	{
		float		bi = b[i];
		float		t = bi >= FLT_MIN && bi <= FLT_MAX ? -beta * log2_f32_fast(bi) : INFINITY;

		if (!(t >= -126.0f && t <= 127.0f))
			y[i] = powf(bi, -beta);
	}
}

ONNX_VEC_DISPATCH(static, pow_neg_rows, pow_neg_body,
				  (const float *b, float *y, int64_t n, float beta, int *bad),
				  (b, y, n, beta, bad))

void
onnx_pow_neg_f32(const float *b, float *y, int64_t n, float beta)
{
	int			bad;

	pow_neg_rows(b, y, n, beta, &bad);
	if (bad)
		pow_neg_fixup(b, y, n, beta);
}

/* How LRN raises to -beta: the exact square-root forms where they exist. */
typedef enum LrnPow
{
	LRN_POW_ANY,
	LRN_POW_HALF,				/* beta 0.5: 1 / sqrt */
	LRN_POW_3_4,				/* beta 0.75: r sqrt(r), r = 1 / sqrt */
	LRN_POW_ONE					/* beta 1: 1 / b */
} LrnPow;

/*
 * LRN of one instance: x (C, S) -> y (C, S), chunk by chunk of spatial
 * positions; sum holds the window's squares of the current channel.
 */
ONNX_VEC_INLINE void
lrn_body(const float *x, float *y, int64_t C, int64_t S, int64_t size, float alpha, float beta, float bias,
		 LrnPow how)
{
	int64_t		lo = (size - 1) / 2,
				hi = size / 2;
	float		a = alpha / (float) size;
	double		sum[ROWS_CHUNK];
	float		base[ROWS_CHUNK],
				pw[ROWS_CHUNK];

	for (int64_t k0 = 0; k0 < S; k0 += ROWS_CHUNK)
	{
		int64_t		m = S - k0 < ROWS_CHUNK ? S - k0 : ROWS_CHUNK;

		for (int64_t k = 0; k < m; k++)
			sum[k] = 0;
		for (int64_t i = 0; i <= hi && i < C; i++)
		{
			const float *r = x + i * S + k0;

			for (int64_t k = 0; k < m; k++)
				sum[k] += (double) r[k] * r[k];
		}
		for (int64_t c = 0; c < C; c++)
		{
			const float *xc = x + c * S + k0;
			float	   *yc = y + c * S + k0;

			for (int64_t k = 0; k < m; k++)
				base[k] = bias + a * (float) sum[k];
			switch (how)
			{
				case LRN_POW_3_4:
					for (int64_t k = 0; k < m; k++)
					{
						float		r = 1.0f / sqrtf(base[k]);

						yc[k] = xc[k] * (r * sqrtf(r));
					}
					break;
				case LRN_POW_HALF:
					for (int64_t k = 0; k < m; k++)
						yc[k] = xc[k] / sqrtf(base[k]);
					break;
				case LRN_POW_ONE:
					for (int64_t k = 0; k < m; k++)
						yc[k] = xc[k] / base[k];
					break;
				default:
					{
						int			bad;

						pow_neg_body(base, pw, m, beta, &bad);
						if (bad)
							pow_neg_fixup(base, pw, m, beta);
						for (int64_t k = 0; k < m; k++)
							yc[k] = xc[k] * pw[k];
					}
					break;
			}
			/* slide: channel c + hi + 1 enters, channel c - lo leaves */
			if (c + hi + 1 < C)
			{
				const float *r = x + (c + hi + 1) * S + k0;

				for (int64_t k = 0; k < m; k++)
					sum[k] += (double) r[k] * r[k];
			}
			if (c - lo >= 0)
			{
				const float *r = x + (c - lo) * S + k0;

				for (int64_t k = 0; k < m; k++)
					sum[k] -= (double) r[k] * r[k];
			}
		}
	}
}

ONNX_VEC_DISPATCH(static, lrn_instance, lrn_body,
				  (const float *x, float *y, int64_t C, int64_t S, int64_t size, float alpha, float beta,
				   float bias, LrnPow how),
				  (x, y, C, S, size, alpha, beta, bias, how))

OnnxStatus
onnx_lrn_f32(OnnxKernelCtx *ctx, const float *x, float *y, int64_t N, int64_t C, int64_t S,
			 int64_t size, float alpha, float beta, float bias)
{
	LrnPow		how = beta == 0.75f ? LRN_POW_3_4 : beta == 0.5f ? LRN_POW_HALF :
		beta == 1.0f ? LRN_POW_ONE : LRN_POW_ANY;

	for (int64_t n = 0; n < N; n++)
	{
		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		lrn_instance(x + n * C * S, y + n * C * S, C, S, size, alpha, beta, bias, how);
	}
	return ONNX_OK;
}

/*
 * Softmax of rows slices x (rows, n, inner) into y.  inner == 1: each row
 * contiguous (max, exp, sum, scale); inner > 1: per chunk of inner
 * positions, the max and the sum over n kept in vectors.
 */
ONNX_VEC_INLINE void
softmax_body(const float *x, float *y, int64_t rows, int64_t n, int64_t inner, bool log_out)
{
	for (int64_t o = 0; o < rows; o++)
	{
		const float *xo = x + o * n * inner;
		float	   *yo = y + o * n * inner;

		if (inner == 1)
		{
			float		mx,
						l[16];
			double		sum;
			int64_t		i;

			/* the max in 16 lanes started at x[0]: a NaN there wins, later ones never */
			for (int j = 0; j < 16; j++)
				l[j] = xo[0];
			for (i = 0; i + 16 <= n; i += 16)
				for (int j = 0; j < 16; j++)
					l[j] = MAXF(xo[i + j], l[j]);
			mx = l[0];
			for (int j = 1; j < 16; j++)
				mx = MAXF(l[j], mx);
			for (; i < n; i++)
				mx = MAXF(xo[i], mx);
			for (i = 0; i < n; i++)
				yo[i] = exp_f32_fast(xo[i] - mx);
			/* the sum in 16 float lanes, added up in double */
			for (int j = 0; j < 16; j++)
				l[j] = 0;
			for (i = 0; i + 16 <= n; i += 16)
				for (int j = 0; j < 16; j++)
					l[j] += yo[i + j];
			sum = 0;
			for (int j = 0; j < 16; j++)
				sum += l[j];
			for (; i < n; i++)
				sum += yo[i];
			if (log_out)
			{
				float		ls = (float) log(sum);

				for (i = 0; i < n; i++)
					yo[i] = (xo[i] - mx) - ls;
			}
			else
			{
				float		inv = (float) (1.0 / sum);

				for (i = 0; i < n; i++)
					yo[i] *= inv;
			}
			continue;
		}
		for (int64_t j0 = 0; j0 < inner; j0 += ROWS_CHUNK)
		{
			int64_t		m = inner - j0 < ROWS_CHUNK ? inner - j0 : ROWS_CHUNK;
			float		mx[ROWS_CHUNK],
						f[ROWS_CHUNK];
			double		s[ROWS_CHUNK];

			for (int64_t j = 0; j < m; j++)
			{
				mx[j] = xo[j0 + j];
				s[j] = 0;
			}
			for (int64_t k = 1; k < n; k++)
			{
				const float *xk = xo + k * inner + j0;

				for (int64_t j = 0; j < m; j++)
					mx[j] = MAXF(xk[j], mx[j]);
			}
			for (int64_t k = 0; k < n; k++)
			{
				const float *xk = xo + k * inner + j0;
				float	   *yk = yo + k * inner + j0;

				for (int64_t j = 0; j < m; j++)
				{
					float		e = exp_f32_fast(xk[j] - mx[j]);

					yk[j] = e;
					s[j] += e;
				}
			}
			if (log_out)
			{
				for (int64_t j = 0; j < m; j++)
					f[j] = (float) log(s[j]);
				for (int64_t k = 0; k < n; k++)
				{
					const float *xk = xo + k * inner + j0;
					float	   *yk = yo + k * inner + j0;

					for (int64_t j = 0; j < m; j++)
						yk[j] = (xk[j] - mx[j]) - f[j];
				}
			}
			else
			{
				for (int64_t j = 0; j < m; j++)
					f[j] = (float) (1.0 / s[j]);
				for (int64_t k = 0; k < n; k++)
				{
					float	   *yk = yo + k * inner + j0;

					for (int64_t j = 0; j < m; j++)
						yk[j] *= f[j];
				}
			}
		}
	}
}

ONNX_VEC_DISPATCH(static, softmax_rows, softmax_body,
				  (const float *x, float *y, int64_t rows, int64_t n, int64_t inner, bool log_out),
				  (x, y, rows, n, inner, log_out))

OnnxStatus
onnx_softmax_f32(OnnxKernelCtx *ctx, const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
				 bool log_out)
{
	SLICE_BLOCKS(ctx, outer, n * inner, o, k,
				 softmax_rows(x + o * n * inner, y + o * n * inner, k, n, inner, log_out));
	return ONNX_OK;
}

void
onnx_norm_split(const OnnxTensor *x, int ax, int64_t *outer, int64_t *inner, int64_t *sdims)
{
	*outer = *inner = 1;
	for (int d = 0; d < x->rank; d++)
	{
		if (d < ax)
			*outer *= x->dims[d];
		else
			*inner *= x->dims[d];
		sdims[d] = d < ax ? x->dims[d] : 1;
	}
}
