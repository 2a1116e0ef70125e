/*-------------------------------------------------------------------------
 *
 * conv_narrow.c
 *	  float32 convolution with few output positions per image (see
 *	  conv_narrow.h): the 1-D convolutions of audio models after their
 *	  strided front end (4, 2, 1 positions), an STFT written as a strided
 *	  Conv over one channel, a classifier head over a 1x1 map.
 *
 *	  The im2col path computes Y_g (Mg, P) = W_g (Mg, K) @ col (K, P): its
 *	  microkernel runs along P in vectors of 16 or 32 columns, so with
 *	  P = 4 it does 8 times the arithmetic it needs.  Here the product is
 *	  turned round, T (P, Mg) = col^T (P, K) @ W_g^T (K, Mg), so the
 *	  vectors run along the output channels and P becomes the tile's row
 *	  count; W_g^T is packed once at load (ops_conv.c) as the GEMM's B
 *	  operand.  col^T's rows are the windows themselves: gathered through
 *	  a map of (position, tap) -> input offset, or, for one input channel
 *	  of a 1-D signal whose windows lie inside it, read in place (row p
 *	  starts at p * stride, lda = stride): no copy at all.
 *
 *-------------------------------------------------------------------------
 */
#include "conv_narrow.h"
#include "conv_simd.h"
#include "fused_act.h"

#define NARROW_ROWS_MAX 64		/* rows of colT per GEMM (images x P) */
#define NARROW_COL_BYTES ((int64_t) 2 << 20)	/* colT at most, else fewer rows */
#define NARROW_GATHER_MAX ((int64_t) 1 << 16)	/* entries of the gather table */

bool
onnx_conv_narrow_suits(int64_t P, int64_t Mg, int64_t Cg, int64_t group)
{
	return P >= 1 && Mg >= CONV_NARROW_MIN_M && !(Cg == 1 && group > 1) &&
		(P <= CONV_NARROW_MAX_P || (P <= CONV_NARROW_WIDE_P && Mg >= CONV_NARROW_WIDE_M));
}

/*
 * map[p * taps + t] = offset in an input plane of tap t of output
 * position p's window, or -1 where it falls in the padding.
 */
static void
window_map(const ConvGeom *g, int32_t *map)
{
	int64_t		P = g->out_size,
				taps = g->k_size;

	for (int64_t p = 0; p < P; p++)
	{
		int64_t		o[ONNX_MAX_RANK];
		int64_t		rem = p;

		for (int i = g->nsp - 1; i >= 0; i--)
		{
			o[i] = rem % g->out[i];
			rem /= g->out[i];
		}
		for (int64_t t = 0; t < taps; t++)
		{
			int64_t		r = t,
						off = 0,
						kidx[ONNX_MAX_RANK];
			bool		inside = true;

			for (int i = g->nsp - 1; i >= 0; i--)
			{
				kidx[i] = r % g->k[i];
				r /= g->k[i];
			}
			for (int i = 0; i < g->nsp; i++)
			{
				int64_t		ii = o[i] * g->s[i] + kidx[i] * g->d[i] - g->pb[i];

				if (ii < 0 || ii >= g->in[i])
				{
					inside = false;
					break;
				}
				off = off * g->in[i] + ii;
			}
			map[p * taps + t] = inside ? (int32_t) off : -1;
		}
	}
}

/*
 * Whether every window of a 1-D geometry over one channel is a contiguous
 * run inside the signal: then col^T row p is x + p * s - pb.
 */
static bool
windows_in_place(const ConvGeom *g, int64_t Cg)
{
	return Cg == 1 && g->nsp == 1 && g->d[0] == 1 && g->pb[0] == 0 &&
		(g->out[0] - 1) * g->s[0] + g->k[0] <= g->in[0];
}

/* colT rows of image xg (Cg planes): colT[p][c * taps + t] for p < P. */
static void
gather_rows(const ConvGeom *g, const float *xg, int64_t Cg, const int32_t *map, float *colT,
			int64_t K)
{
	int64_t		P = g->out_size,
				taps = g->k_size;

	for (int64_t p = 0; p < P; p++)
	{
		const int32_t *mp = map + p * taps;
		float	   *row = colT + p * K;

		for (int64_t c = 0; c < Cg; c++)
		{
			const float *plane = xg + c * g->in_size;
			float	   *d = row + c * taps;

			for (int64_t t = 0; t < taps; t++)
				d[t] = mp[t] >= 0 ? plane[mp[t]] : 0.0f;
		}
	}
}

#ifdef CONV_X86
/*
 * The gather table of gather_rows_avx512: for position p and slot
 * i < taps * 16, idx[p * taps * 16 + i] = (i / taps) * in_size +
 * map[p * taps + i % taps], or -1 where map is -1 (padding): slot i of a
 * block of 16 channels is colT entry (c = i / taps, t = i % taps) of
 * that block.  The caller checks P * taps * 16 <= NARROW_GATHER_MAX and
 * 16 * in_size <= INT32_MAX.
 */
static void
gather_table(const ConvGeom *g, const int32_t *map, int32_t *idx)
{
	int64_t		taps = g->k_size,
				slots = taps * 16;

	for (int64_t p = 0; p < g->out_size; p++)
		for (int64_t c = 0; c < 16; c++)
		{
			const int32_t *mp = map + p * taps;
			int32_t    *ip = idx + p * slots + c * taps;

			for (int64_t t = 0; t < taps; t++)
				ip[t] = mp[t] < 0 ? -1 : (int32_t) (c * g->in_size + mp[t]);
		}
}

/*
 * gather_rows by AVX-512 gathers over the table idx (gather_table): per
 * position and block of 16 channels, taps vectors of 16 colT entries,
 * masked to zero in the padding and to the channels left in the last
 * block.
 */
CONV_AVX512 static void
gather_rows_avx512(const ConvGeom *g, const float *xg, int64_t Cg, const int32_t *idx,
				   float *colT, int64_t K)
{
	int64_t		taps = g->k_size,
				slots = taps * 16;
	__m512i		lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

	for (int64_t p = 0; p < g->out_size; p++)
	{
		const int32_t *ip = idx + p * slots;
		float	   *row = colT + p * K;

		for (int64_t c0 = 0; c0 < Cg; c0 += 16)
		{
			const float *base = xg + c0 * g->in_size;
			float	   *d = row + c0 * taps;
			int64_t		n = (Cg - c0 < 16 ? Cg - c0 : 16) * taps;	/* entries of this block */

			for (int64_t i = 0; i < n; i += 16)
			{
				__m512i		v = _mm512_loadu_si512(ip + i);
				__mmask16	in = _mm512_cmpge_epi32_mask(v, _mm512_setzero_si512()),
							live = _mm512_cmplt_epi32_mask(lane, _mm512_set1_epi32((int) (n - i)));
				__m512		x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), in & live, v, base, 4);

				_mm512_mask_storeu_ps(d + i, live, x);
			}
		}
	}
}
#endif

/*
 * Y_g blocks of cnt images from T (cnt * P, Mg):
 * y[j][m][p] = act(T[j * P + p][m] + bias[m]); yg is image 0's group
 * block (Mg, P), images img_stride floats apart.  The bias is added in
 * the transposing loop and act runs over the block as one row, which is
 * act(y + bias) of the im2col path's epilogue element for element.
 */
static void
store_transposed(const float *t, int64_t cnt, int64_t P, int64_t Mg, float *yg,
				 int64_t img_stride, const float *bias, const OnnxFusedAct *act)
{
	for (int64_t j = 0; j < cnt; j++)
	{
		float	   *yj = yg + j * img_stride;
		const float *tj = t + j * P * Mg;

		for (int64_t m = 0; m < Mg; m++)
		{
			float		bm = bias ? bias[m] : 0.0f;

			for (int64_t p = 0; p < P; p++)
				yj[m * P + p] = bias ? tj[p * Mg + m] + bm : tj[p * Mg + m];
		}
		onnx_act_rows_f32(act, yj, 1, Mg * P, Mg * P, NULL);
	}
}

OnnxStatus
onnx_conv_narrow_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x, const float *w,
					 const OnnxGemmPacked *const *wt, const float *b, const OnnxFusedAct *act,
					 float *y, int64_t N, int64_t C, int64_t M, int64_t group, bool *handled)
{
	int64_t		Cg = C / group,
				Mg = M / group,
				P = g->out_size,
				K,
				nb,
				rows;
	bool		in_place = windows_in_place(g, Cg);
	int32_t    *map = NULL,
			   *idx = NULL;
	float	   *colT = NULL,
			   *t = NULL;
	int			threads = onnx_kernel_threads(ctx);

	*handled = false;
	if (!onnx_conv_narrow_suits(P, Mg, Cg, group) || N < 1 ||
		onnx_mul_overflow_i64(Cg, g->k_size, &K) || K < 1 || K > INT32_MAX ||
		g->in_size > INT32_MAX)
		return ONNX_OK;
	if (wt == NULL && Mg * K > CONV_NARROW_UNPACKED_MAX)
		return ONNX_OK;
	/* images per GEMM: whole images, at most NARROW_ROWS_MAX rows and the colT budget */
	nb = NARROW_ROWS_MAX / P;
	if (nb * P * K > NARROW_COL_BYTES / (int64_t) sizeof(float))
		nb = NARROW_COL_BYTES / (int64_t) sizeof(float) / K / P;
	if (nb < 1)
		return ONNX_OK;
	if (nb > N)
		nb = N;
	if (in_place)
		nb = 1;					/* images are not one stride apart */
	rows = nb * P;
	*handled = true;
	if ((t = onnx_kernel_scratch(ctx, (size_t) (rows * Mg), sizeof(float))) == NULL ||
		(!in_place &&
		 ((colT = onnx_kernel_scratch(ctx, (size_t) (rows * K), sizeof(float))) == NULL ||
		  (map = onnx_kernel_scratch(ctx, (size_t) (P * g->k_size), sizeof(int32_t))) == NULL)))
		return ctx->err->status;
	if (map)
		window_map(g, map);
#ifdef CONV_X86
	if (map && onnx_vec_isa() == ONNX_VEC_AVX512 && g->k_size <= NARROW_GATHER_MAX / 16 &&
		P * g->k_size * 16 <= NARROW_GATHER_MAX && g->in_size <= INT32_MAX / 16)
	{
		if ((idx = onnx_kernel_scratch(ctx, (size_t) (P * g->k_size * 16), sizeof(int32_t))) == NULL)
			return ctx->err->status;
		gather_table(g, map, idx);
	}
#endif
	for (int64_t n0 = 0; n0 < N; n0 += nb)
	{
		int64_t		cnt = N - n0 < nb ? N - n0 : nb;

		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		for (int64_t gi = 0; gi < group; gi++)
		{
			const float *a;
			int64_t		lda;

			if (in_place)
			{
				a = x + (n0 * C + gi * Cg) * g->in_size;
				lda = g->s[0];
			}
			else
			{
				for (int64_t j = 0; j < cnt; j++)
				{
					const float *xg = x + ((n0 + j) * C + gi * Cg) * g->in_size;

#ifdef CONV_X86
					if (idx)
					{
						gather_rows_avx512(g, xg, Cg, idx, colT + j * P * K, K);
						continue;
					}
#endif
					gather_rows(g, xg, Cg, map, colT + j * P * K, K);
				}
				a = colT;
				lda = K;
			}
			/* T (cnt*P, Mg) = colT (cnt*P, K) @ W_g^T (K, Mg) */
			onnx_sgemm_packed(cnt * P, Mg, K, 1.0f, false, a, lda, NULL,
							  true, w + gi * Mg * K, K, wt ? wt[gi] : NULL,
							  0.0f, t, Mg, threads);
			store_transposed(t, cnt, P, Mg, y + (n0 * M + gi * Mg) * P, M * P,
							 b ? b + gi * Mg : NULL, act);
		}
	}
	return ONNX_OK;
}

int64_t
onnx_conv_static_positions(const OnnxNode *node, const OnnxValueInfo *xi, const OnnxTensor *w)
{
	const char *auto_pad = onnx_attr_string(node, "auto_pad", "NOTSET");
	const int64_t *s,
			   *d,
			   *pads;
	int			nsp = w->rank - 2,
				ns = onnx_attr_ints(node, "strides", &s),
				nd = onnx_attr_ints(node, "dilations", &d),
				np = onnx_attr_ints(node, "pads", &pads);
	int64_t		P = 1;

	if (xi == NULL || xi->kind != ONNX_VALUE_TENSOR || xi->rank != w->rank || nsp < 1 ||
		(ns && ns != nsp) || (nd && nd != nsp) || (np && np != 2 * nsp))
		return -1;
	for (int i = 0; i < nsp; i++)
	{
		int64_t		in = xi->dims[2 + i],
					k = w->dims[2 + i],
					si = ns ? s[i] : 1,
					di = nd ? d[i] : 1,
					span,
					out;

		/* attribute values the run would refuse: leave it to the run */
		if (in < 0 || k < 1 || si < 1 || si > CONV_ATTR_MAX || di < 1 || di > CONV_ATTR_MAX ||
			k > CONV_ATTR_MAX || in > CONV_ATTR_MAX)
			return -1;
		span = (k - 1) * di + 1;
		if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0)
			out = (in + si - 1) / si;
		else if (strcmp(auto_pad, "VALID") == 0)
			out = in >= span ? (in - span) / si + 1 : 0;
		else
		{
			int64_t		pt = np ? pads[i] + pads[i + nsp] : 0;

			if (pt < 0 || pt > 2 * CONV_ATTR_MAX)
				return -1;
			out = in + pt >= span ? (in + pt - span) / si + 1 : 0;
		}
		if (out < 1 || onnx_mul_overflow_i64(P, out, &P))
			return -1;
	}
	return P;
}
