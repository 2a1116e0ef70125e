/*-------------------------------------------------------------------------
 *
 * conv_direct.c
 *	  Direct float32 convolution for few output channels per group (see
 *	  conv_direct.h).
 *
 *	  With few output channels, im2col + GEMM moves the column buffer
 *	  (C*KH*KW floats per output position) through memory several times
 *	  for little arithmetic each.  Here, per block of output rows, the
 *	  input rows the windows need are prepared once (conv_simd.h: pads as
 *	  zeros, stride phases) into a band, for every input channel of the
 *	  group, and each output row of CONV_DIRECT_MR channels is
 *
 *		y[m][ow] = bias[m] + sum_{c, kh, kw} W[m][c][kh][kw] * band[c][kh*dh][off[kw] + ow]
 *
 *	  accumulated in registers: per tap, a few vectors of inputs are
 *	  loaded once and multiplied by MR broadcast weights (AVX-512: 8
 *	  channels x up to 3 vectors of 16; AVX2: twice 4 channels x up to 2
 *	  vectors of 8; portable C).  The weights are packed by output-channel
 *	  block so the broadcasts walk memory in order (once at load by the
 *	  pack hook for constant weights, else per run).  The bias starts the
 *	  sums; the fused activation runs over each finished block of rows.
 *
 *-------------------------------------------------------------------------
 */
#include "conv_direct.h"
#include "conv_simd.h"
#include "fused_act.h"

#define MR CONV_DIRECT_MR
#define DC_MAX_TAPS 1024		/* larger windows: im2col + GEMM */
#define DC_BAND_BYTES ((int64_t) 1 << 20)	/* aim of a band's size */
#define DC_BAND_MAX ((int64_t) 16 << 20)	/* a one-row band above this: not taken */

bool
onnx_conv_direct_suits(int64_t Mg, int64_t Cg, int64_t group, int64_t k_size, bool pointwise)
{
	return !pointwise && Mg >= 1 && Mg <= CONV_DIRECT_MAX_M && !(Cg == 1 && group > 1) &&
		k_size <= DC_MAX_TAPS;
}

bool
onnx_conv_block_packed_size(int64_t M, int64_t Cg, int64_t taps, int64_t group, int64_t block,
							int64_t *n)
{
	int64_t		Mg = group > 0 ? M / group : 0,
				blocks = (Mg + block - 1) / block;

	return !(onnx_mul_overflow_i64(group, blocks * block, n) ||
			 onnx_mul_overflow_i64(*n, Cg, n) || onnx_mul_overflow_i64(*n, taps, n));
}

void
onnx_conv_block_pack(const float *w, int64_t M, int64_t Cg, int64_t taps, int64_t group,
					 int64_t block, float *dst)
{
	int64_t		Mg = M / group,
				blocks = (Mg + block - 1) / block;

	for (int64_t gi = 0; gi < group; gi++)
		for (int64_t mb = 0; mb < blocks; mb++)
			for (int64_t c = 0; c < Cg; c++)
				for (int64_t t = 0; t < taps; t++)
					for (int64_t j = 0; j < block; j++, dst++)
					{
						int64_t		m = mb * block + j;

						*dst = m < Mg ? w[((gi * Mg + m) * Cg + c) * taps + t] : 0.0f;
					}
}

bool
onnx_conv_direct_packed_size(int64_t M, int64_t Cg, int64_t taps, int64_t group, int64_t *n)
{
	return onnx_conv_block_packed_size(M, Cg, taps, group, MR, n);
}

void
onnx_conv_direct_pack(const float *w, int64_t M, int64_t Cg, int64_t taps, int64_t group,
					  float *dst)
{
	onnx_conv_block_pack(w, M, Cg, taps, group, MR, dst);
}

/*
 * One output row of a block of MR channels: for m < mcount, i < OW,
 *	 y[m*ldy + i] = bias[m] + sum_{c < Cg, kh < KH, kw < KW}
 *		wp[((c*KH + kh)*KW + kw)*MR + m] * band[c*cs + kh*ks + off[kw] + i]
 * Every band row is readable up to off[KW-1] + OW rounded up to the
 * vector width.
 */
typedef void (*DcRowFn) (const float *band, int64_t cs, int64_t ks, const int64_t *off,
						 const float *wp, const float *bias, float *y, int64_t ldy, int mcount,
						 int64_t OW, int64_t Cg, int KH, int KW);

/* ---- portable C ---- */

static void
dc_row_c(const float *band, int64_t cs, int64_t ks, const int64_t *off, const float *wp,
		 const float *bias, float *y, int64_t ldy, int mcount, int64_t OW, int64_t Cg, int KH,
		 int KW)
{
	for (int m = 0; m < mcount; m++)
	{
		float	   *restrict ym = y + m * ldy;

		for (int64_t i = 0; i < OW; i++)
			ym[i] = bias[m];
		for (int64_t c = 0; c < Cg; c++)
			for (int kh = 0; kh < KH; kh++)
				for (int kw = 0; kw < KW; kw++)
				{
					const float *restrict in = band + c * cs + kh * ks + off[kw];
					float		wv = wp[((c * KH + kh) * KW + kw) * MR + m];

					for (int64_t i = 0; i < OW; i++)
						ym[i] += wv * in[i];
				}
	}
}

#ifdef CONV_X86

/*
 * Columns [i, i + VW*V) of channels [m0, m0 + MH) of the block (MH: the
 * channels one pass holds), V vectors; stores the channels below mcount
 * and the columns below OW.
 */
#define DEFINE_DC_BLOCK(ISA, ATTR, VEC, VW, MH, SET1, LOAD, FMA, STORE, STORE_PART) \
ATTR static inline __attribute__((always_inline)) void \
dc_block_##ISA(const float *band, int64_t cs, int64_t ks, const int64_t *off, \
			   const float *wp, const float *bias, float *y, int64_t ldy, int mcount, \
			   int64_t i, int64_t OW, int64_t Cg, int KH, int KW, int m0, int V) \
{ \
	VEC			acc[MH][3]; \
\
	for (int m = 0; m < MH; m++) \
		for (int v = 0; v < V; v++) \
			acc[m][v] = SET1(bias[m0 + m]); \
	for (int64_t c = 0; c < Cg; c++) \
		for (int kh = 0; kh < KH; kh++) \
		{ \
			const float *row = band + c * cs + kh * ks + i; \
			const float *wq = wp + (c * KH + kh) * KW * MR + m0; \
\
			for (int kw = 0; kw < KW; kw++) \
			{ \
				VEC			xv[3]; \
\
				for (int v = 0; v < V; v++) \
					xv[v] = LOAD(row + off[kw] + VW * v); \
				for (int m = 0; m < MH; m++) \
				{ \
					VEC			wv = SET1(wq[kw * MR + m]); \
\
					for (int v = 0; v < V; v++) \
						acc[m][v] = FMA(wv, xv[v], acc[m][v]); \
				} \
			} \
		} \
	for (int m = 0; m < MH && m0 + m < mcount; m++) \
		for (int v = 0; v < V; v++) \
		{ \
			int64_t		at = i + VW * v; \
\
			if (at + VW <= OW) \
				STORE(y + (m0 + m) * ldy + at, acc[m][v]); \
			else \
				STORE_PART(y + (m0 + m) * ldy + at, acc[m][v], OW - at); \
		} \
}

DEFINE_DC_BLOCK(avx512, CONV_AVX512, __m512, 16, 8, _mm512_set1_ps, _mm512_loadu_ps,
				_mm512_fmadd_ps, _mm512_storeu_ps, conv_store_part_avx512)
DEFINE_DC_BLOCK(avx2, CONV_AVX2, __m256, 8, 4, _mm256_set1_ps, _mm256_loadu_ps,
				_mm256_fmadd_ps, _mm256_storeu_ps, conv_store_part_avx2)

/* AVX-512: all 8 channels at once, up to 3 vectors of 16 per step. */
CONV_AVX512 static void
dc_row_avx512(const float *band, int64_t cs, int64_t ks, const int64_t *off, const float *wp,
			  const float *bias, float *y, int64_t ldy, int mcount, int64_t OW, int64_t Cg,
			  int KH, int KW)
{
	for (int64_t i = 0; i < OW;)
	{
		int64_t		nv = (OW - i + 15) / 16;

		nv = (nv + (nv + 2) / 3 - 1) / ((nv + 2) / 3);	/* even steps: 4 as 2 + 2 */
		if (nv >= 3)
			dc_block_avx512(band, cs, ks, off, wp, bias, y, ldy, mcount, i, OW, Cg, KH, KW, 0, 3);
		else if (nv == 2)
			dc_block_avx512(band, cs, ks, off, wp, bias, y, ldy, mcount, i, OW, Cg, KH, KW, 0, 2);
		else
			dc_block_avx512(band, cs, ks, off, wp, bias, y, ldy, mcount, i, OW, Cg, KH, KW, 0, 1);
		i += 16 * (nv >= 3 ? 3 : nv);
	}
}

/* AVX2: the block's channels in two passes of 4, up to 2 vectors of 8 per step. */
CONV_AVX2 static void
dc_row_avx2(const float *band, int64_t cs, int64_t ks, const int64_t *off, const float *wp,
			const float *bias, float *y, int64_t ldy, int mcount, int64_t OW, int64_t Cg,
			int KH, int KW)
{
	for (int m0 = 0; m0 < mcount; m0 += 4)
		for (int64_t i = 0; i < OW;)
		{
			int64_t		nv = (OW - i + 7) / 8;

			if (nv >= 2)
				dc_block_avx2(band, cs, ks, off, wp, bias, y, ldy, mcount, i, OW, Cg, KH, KW, m0, 2);
			else
				dc_block_avx2(band, cs, ks, off, wp, bias, y, ldy, mcount, i, OW, Cg, KH, KW, m0, 1);
			i += 8 * (nv >= 2 ? 2 : 1);
		}
}
#endif							/* CONV_X86 */

/* The row kernel of the level in use and its vector width. */
static DcRowFn
dc_row_kernel(int level, int *vw)
{
#ifdef CONV_X86
	if (level == ONNX_VEC_AVX512)
	{
		*vw = 16;
		return dc_row_avx512;
	}
	if (level == ONNX_VEC_AVX2)
	{
		*vw = 8;
		return dc_row_avx2;
	}
#endif
	*vw = 1;
	return dc_row_c;
}

/* ---- driver ---- */

OnnxStatus
onnx_conv_direct_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x, const float *wp,
					 const float *b, const OnnxFusedAct *act, float *y, int64_t N, int64_t C,
					 int64_t M, int64_t group, bool *handled)
{
	int			level = onnx_vec_isa(),
				vw;
	DcRowFn		row_fn = dc_row_kernel(level, &vw);
	const ConvVec *vec = onnx_conv_vec(level);
	ConvRows	r;
	int64_t		Cg = C / group,
				Mg = M / group,
				blocks = (Mg + MR - 1) / MR,
				taps = g->k_size,
				plane = g->out_size,
				R,
				Bh,
				band_floats,
				row1;
	float	   *band,
			   *bias;
	int64_t    *off;

	*handled = false;
	if (!onnx_conv_direct_suits(Mg, Cg, group, taps, false) || !onnx_conv_rows_plan(g, vw, &r))
		return ONNX_OK;
	/* output rows per band: about DC_BAND_BYTES of prepared rows, at least one */
	if (onnx_mul_overflow_i64(Cg, r.v.k_h * r.v.d_h * r.rowlen, &row1) ||
		row1 > DC_BAND_MAX / (int64_t) sizeof(float))
		return ONNX_OK;
	*handled = true;
	R = (DC_BAND_BYTES / (int64_t) sizeof(float) / Cg / r.rowlen - (r.v.k_h - 1) * r.v.d_h - 1) /
		r.v.s_h + 1;
	if (R < 1)
		R = 1;
	if (R > r.v.out_h)
		R = r.v.out_h;
	Bh = (R - 1) * r.v.s_h + (r.v.k_h - 1) * r.v.d_h + 1;
	band_floats = Cg * Bh * r.rowlen;	/* < row1 + R * s_h * rowlen * Cg, bounded */
	if ((band = onnx_kernel_scratch(ctx, sizeof(float) * (size_t) (band_floats + blocks * MR) +
									sizeof(int64_t) * (size_t) r.v.k_w, 1)) == NULL)
		return ctx->err->status;
	bias = band + band_floats;
	off = (int64_t *) (bias + blocks * MR);
	/* phase pads of every row: zero once, no prepare writes them */
	memset(band, 0, sizeof(float) * (size_t) band_floats);
	onnx_conv_rows_offsets(&r, off);

	for (int64_t n = 0; n < N; n++)
		for (int64_t gi = 0; gi < group; gi++)
		{
			const float *xg = x + (n * C + gi * Cg) * g->in_size;
			const float *wg = wp + gi * blocks * MR * Cg * taps;
			float	   *yg = y + (n * M + gi * Mg) * plane;

			for (int64_t m = 0; m < blocks * MR; m++)
				bias[m] = b && m < Mg ? b[gi * Mg + m] : 0.0f;
			for (int64_t oh0 = 0; oh0 < r.v.out_h; oh0 += R)
			{
				int64_t		rows = r.v.out_h - oh0 < R ? r.v.out_h - oh0 : R,
							bh = (rows - 1) * r.v.s_h + (r.v.k_h - 1) * r.v.d_h + 1;

				if (onnx_kernel_should_abort(ctx))
					return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
				/* the band: input rows oh0*s_h - p_h + t, t < bh, of every channel */
				for (int64_t c = 0; c < Cg; c++)
					for (int64_t t = 0; t < bh; t++)
					{
						int64_t		ih = oh0 * r.v.s_h - r.v.p_h + t;
						float	   *dst = band + (c * Bh + t) * r.rowlen;

						if (ih >= 0 && ih < r.v.in_h)
							onnx_conv_rows_prepare(&r, vec, xg + (c * r.v.in_h + ih) * r.v.in_w, dst);
						else
							memset(dst, 0, sizeof(float) * (size_t) r.rowlen);
					}
				for (int64_t ro = 0; ro < rows; ro++)
					for (int64_t mb = 0; mb < blocks; mb++)
					{
						int			mcount = (int) (Mg - mb * MR < MR ? Mg - mb * MR : MR);

						row_fn(band + ro * r.v.s_h * r.rowlen, Bh * r.rowlen, r.v.d_h * r.rowlen,
							   off, wg + mb * MR * Cg * taps, bias + mb * MR,
							   yg + mb * MR * plane + (oh0 + ro) * r.v.out_w, plane, mcount,
							   r.v.out_w, Cg, (int) r.v.k_h, (int) r.v.k_w);
					}
				onnx_act_rows_f32(act, yg + oh0 * r.v.out_w, Mg, rows * r.v.out_w, plane, NULL);
			}
		}
	return ONNX_OK;
}
