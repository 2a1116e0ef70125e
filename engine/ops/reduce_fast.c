/*-------------------------------------------------------------------------
 *
 * reduce_fast.c
 *	  float32 reductions and ArgMax/ArgMin (see reduce_fast.h).
 *
 * X is seen as (outer, R, inner).  inner == 1 (the last axis): each row
 * reduced into several independent lanes (8 doubles, 16 floats) so the
 * loop vectorises; inner > 1 (middle axes): the R rows of a chunk of
 * inner positions accumulated into a vector of partial results.  Loops
 * compiled for AVX-512, AVX2 and portable C (ONNX_VEC_DISPATCH).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "reduce_fast.h"
#include "slice_blocks.h"
#include "vecmath.h"

/* Inner positions per chunk (middle-axis reductions). */
#define RED_CHUNK 512

/* v replaces the running max (min) b when larger (smaller) or NaN. */
#define RED_TAKES(is_max, v, b) ((is_max) ? ((v) > (b) || (v) != (v)) : ((v) < (b) || (v) != (v)))

/* The term one element adds to a sum. */
static inline double
red_term(ReduceAcc acc, float v)
{
	return acc == RACC_SUMSQ ? (double) v * v : acc == RACC_SUMABS ? fabs((double) v) : (double) v;
}

/* log(sum(exp(r[i * st] - m'))) + m' over n values, m' = max, 0 when infinite. */
static float
red_logsumexp(const float *r, int64_t n, int64_t st, float mx)
{
	double		s = 0;

	if (isfinite(mx))
	{
		for (int64_t i = 0; i < n; i++)
			s += exp_f32_fast(r[i * st] - mx);
		return (float) (log(s) + mx);
	}
	for (int64_t i = 0; i < n; i++)
		s += exp((double) r[i * st]);
	return (float) log(s);
}

/* One row of R contiguous values (inner == 1). */
ONNX_VEC_INLINE float
reduce_row(ReduceAcc acc, const float *r, int64_t R)
{
	int64_t		i = 0;

	if (acc == RACC_MAX || acc == RACC_MIN || acc == RACC_LOGSUMEXP)
	{
		bool		is_max = acc != RACC_MIN;
		float		l[16],
					m;

		for (int j = 0; j < 16; j++)
			l[j] = r[0];
		for (; i + 16 <= R; i += 16)
			for (int j = 0; j < 16; j++)
				l[j] = RED_TAKES(is_max, r[i + j], l[j]) ? r[i + j] : l[j];
		m = l[0];
		for (int j = 1; j < 16; j++)
			m = RED_TAKES(is_max, l[j], m) ? l[j] : m;
		for (; i < R; i++)
			m = RED_TAKES(is_max, r[i], m) ? r[i] : m;
		return acc == RACC_LOGSUMEXP ? red_logsumexp(r, R, 1, m) : m;
	}
	if (acc == RACC_PROD)
	{
		double		l[8] = {1, 1, 1, 1, 1, 1, 1, 1},
					p;

		for (; i + 8 <= R; i += 8)
			for (int j = 0; j < 8; j++)
				l[j] *= r[i + j];
		p = ((l[0] * l[1]) * (l[2] * l[3])) * ((l[4] * l[5]) * (l[6] * l[7]));
		for (; i < R; i++)
			p *= r[i];
		return (float) p;
	}
	{
		double		l[8] = {0, 0, 0, 0, 0, 0, 0, 0},
					s;

		for (; i + 8 <= R; i += 8)
			for (int j = 0; j < 8; j++)
				l[j] += red_term(acc, r[i + j]);
		s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
		for (; i < R; i++)
			s += red_term(acc, r[i]);
		return (float) s;
	}
}

/* m inner positions of one outer slice: xo (R, inner) from column j0 -> yo (m). */
ONNX_VEC_INLINE void
reduce_cols(ReduceAcc acc, const float *xo, float *yo, int64_t R, int64_t inner, int64_t m)
{
	if (acc == RACC_MAX || acc == RACC_MIN || acc == RACC_LOGSUMEXP)
	{
		bool		is_max = acc != RACC_MIN;

		for (int64_t j = 0; j < m; j++)
			yo[j] = xo[j];
		for (int64_t r = 1; r < R; r++)
		{
			const float *xr = xo + r * inner;

			for (int64_t j = 0; j < m; j++)
				yo[j] = RED_TAKES(is_max, xr[j], yo[j]) ? xr[j] : yo[j];
		}
		if (acc == RACC_LOGSUMEXP)
			for (int64_t j = 0; j < m; j++)
				yo[j] = red_logsumexp(xo + j, R, inner, yo[j]);
		return;
	}
	{
		double		d[RED_CHUNK];

		for (int64_t j = 0; j < m; j++)
			d[j] = acc == RACC_PROD ? 1.0 : 0.0;
		for (int64_t r = 0; r < R; r++)
		{
			const float *xr = xo + r * inner;

			if (acc == RACC_PROD)
				for (int64_t j = 0; j < m; j++)
					d[j] *= xr[j];
			else
				for (int64_t j = 0; j < m; j++)
					d[j] += red_term(acc, xr[j]);
		}
		for (int64_t j = 0; j < m; j++)
			yo[j] = (float) d[j];
	}
}

ONNX_VEC_INLINE void
reduce_body(ReduceAcc acc, const float *x, float *y, int64_t outer, int64_t R, int64_t inner)
{
	for (int64_t o = 0; o < outer; o++)
	{
		if (inner == 1)
		{
			y[o] = reduce_row(acc, x + o * R, R);
			continue;
		}
		for (int64_t j0 = 0; j0 < inner; j0 += RED_CHUNK)
			reduce_cols(acc, x + o * R * inner + j0, y + o * inner + j0, R, inner,
						inner - j0 < RED_CHUNK ? inner - j0 : RED_CHUNK);
	}
}

ONNX_VEC_DISPATCH(static, reduce_slices, reduce_body,
				  (ReduceAcc acc, const float *x, float *y, int64_t outer, int64_t R, int64_t inner),
				  (acc, x, y, outer, R, inner))

OnnxStatus
onnx_reduce_f32(OnnxKernelCtx *ctx, ReduceAcc acc, const float *x, float *y,
				int64_t outer, int64_t R, int64_t inner)
{
	SLICE_BLOCKS(ctx, outer, R * inner, o, n,
				 reduce_slices(acc, x + o * R * inner, y + o * inner, n, R, inner));
	return ONNX_OK;
}

/* Whether v beats the best b so far. */
#define ARG_BETTER(v, b) (is_max ? (last ? (v) >= (b) : (v) > (b)) : (last ? (v) <= (b) : (v) < (b)))

ONNX_VEC_INLINE void
arg_body(bool is_max, bool last, const float *x, int64_t *y, int64_t outer, int64_t n, int64_t inner)
{
	for (int64_t o = 0; o < outer; o++)
	{
		const float *xo = x + o * n * inner;

		if (inner == 1)
		{
			float		bv = xo[0];
			int64_t		bi = 0;

			for (int64_t k = 1; k < n; k++)
				if (ARG_BETTER(xo[k], bv))
				{
					bv = xo[k];
					bi = k;
				}
			y[o] = bi;
			continue;
		}
		for (int64_t j0 = 0; j0 < inner; j0 += RED_CHUNK)
		{
			int64_t		m = inner - j0 < RED_CHUNK ? inner - j0 : RED_CHUNK;
			float		bv[RED_CHUNK];
			int64_t    *bi = y + o * inner + j0;

			for (int64_t j = 0; j < m; j++)
			{
				bv[j] = xo[j0 + j];
				bi[j] = 0;
			}
			for (int64_t k = 1; k < n; k++)
			{
				const float *xk = xo + k * inner + j0;

				for (int64_t j = 0; j < m; j++)
				{
					bool		b = ARG_BETTER(xk[j], bv[j]);

					bv[j] = b ? xk[j] : bv[j];
					bi[j] = b ? k : bi[j];
				}
			}
		}
	}
}

ONNX_VEC_DISPATCH(static, arg_slices, arg_body,
				  (bool is_max, bool last, const float *x, int64_t *y, int64_t outer, int64_t n, int64_t inner),
				  (is_max, last, x, y, outer, n, inner))

OnnxStatus
onnx_arg_f32(OnnxKernelCtx *ctx, bool is_max, bool select_last, const float *x, int64_t *y,
			 int64_t outer, int64_t n, int64_t inner)
{
	SLICE_BLOCKS(ctx, outer, n * inner, o, k,
				 arg_slices(is_max, select_last, x + o * n * inner, y + o * inner, k, n, inner));
	return ONNX_OK;
}

int64_t
onnx_arg_index(const OnnxTensor *x, int64_t o, int64_t in, int64_t n, int64_t inner,
			   bool is_max, bool select_last)
{
	int64_t		best = 0;
	double		bv = onnx_tensor_get_f64(x, o * n * inner + in);

	for (int64_t k = 1; k < n; k++)
	{
		double		v = onnx_tensor_get_f64(x, (o * n + k) * inner + in);

		if (is_max ? (select_last ? v >= bv : v > bv) : (select_last ? v <= bv : v < bv))
		{
			bv = v;
			best = k;
		}
	}
	return best;
}
