/*-------------------------------------------------------------------------
 *
 * conv_bcast.c
 *	  Float32 convolution as an implicit GEMM on zero-padded phase planes
 *	  (see conv_bcast.h).
 *
 *	  The input of a group is copied once into zero-padded planes: the
 *	  image with its pads (zeros) split into sh*sw phase planes of Hph rows
 *	  of Wph floats, phase (a, b) holding the padded rows a, a+sh, ... and
 *	  columns b, b+sw, ... (one phase, the padded image, at stride 1).  An
 *	  output position (oh, ow) is then "virtual position" p = oh * Wph + ow,
 *	  whose window tap (kh, kw) of channel c reads
 *
 *		plane[c][phase(kh*dh % sh, kw*dw % sw)][p + (kh*dh/sh)*Wph + kw*dw/sw]
 *
 *	  (koff[c*taps + tap] below; phases no tap reads are left zero, e.g. all but
 *	  one of a 1x1 window at stride 2), so consecutive output positions of
 *	  a row read consecutive floats for every tap, and the rows of a tile
 *	  Wph floats apart.  With the weights packed as Wt (K = Cg*taps, 32
 *	  output channels), per tile of T <= 14 output positions
 *
 *		acc (T positions, 32 channels) = bias
 *		for k = (c, tap):  acc[i][:] += planes[p_i + koff[k]] * Wt[k][:]
 *
 *	  is the register tile of a GEMM whose A operand (positions x K) is
 *	  read straight from the planes by broadcasts and whose B operand is
 *	  the packed weights: no im2col buffer is written or read.  A tile is
 *	  a block of R output rows x Wt output columns (R*Wt <= 14): the
 *	  columns in blocks of 14 one row a tile (maps 14 wide or more), of 7
 *	  two rows a tile (8 to 13 wide) or whole rows 14 / OW at a time
 *	  (narrower), the columns left over in blocks of 14 / rem rows; so no
 *	  position of the padded planes outside the output is computed and
 *	  nearly every tile is 14 positions (a 16x16 map: 16 tiles of 1x14 and
 *	  3 of 7x2 / 2x2, not 32 of 8).  Tiles are stored transposed into Y
 *	  (N, M, OH*OW) (masked stores where the tile's positions are
 *	  consecutive in Y, else scatters) and the fused activation runs over
 *	  each finished group.
 *
 *	  AVX-512 only: at lower instruction-set levels the caller's other
 *	  paths (conv_direct.c, im2col + GEMM) run.
 *
 *-------------------------------------------------------------------------
 */
#include "conv_bcast.h"
#include "conv_direct.h"
#include "conv_simd.h"
#include "fused_act.h"

#define NB CONV_BCAST_NB
#define BC_T 14					/* output positions per tile at most */
#define BC_ROW_MIN 8			/* narrower maps: several rows per tile */
#define BC_MIN_K 32				/* shallower windows: other paths */
#define BC_MIN_M 8				/* fewer output channels: other paths */
#define BC_MIN_C 4				/* fewer input channels (RGB images) and few
								 * output channels: conv_direct.c */
#define BC_PAD_MAX ((int64_t) 64 << 20)	/* bytes of padded planes at most */
#define BC_MAX_STRIDE 4			/* wider strides: other paths */
#define BC_PF_AHEAD 4096		/* weight prefetch distance (bytes) */

bool
onnx_conv_bcast_suits(int nsp, int64_t Mg, int64_t Cg, int64_t group, int64_t k_size,
					  const int64_t *s, bool pointwise)
{
	if (nsp < 1 || nsp > 2 || pointwise || (Cg == 1 && group > 1) || Mg < BC_MIN_M ||
		(Cg < BC_MIN_C && Mg <= CONV_DIRECT_MAX_M) ||
		Cg > ((int64_t) 1 << 30) || k_size > ((int64_t) 1 << 20) || Cg * k_size < BC_MIN_K)
		return false;
	for (int i = 0; i < nsp; i++)
		if (s[i] < 1 || s[i] > BC_MAX_STRIDE)
			return false;
	return true;
}

#ifdef CONV_X86

/*
 * One tile of R rows of Wt positions (R * Wt <= BC_T), rows rs floats
 * apart in the planes: tmp (R*Wt, 32) = bias + sum over k < K of
 *	 xb[koff[k] + r*rs + j] * w[k*32 + c]
 * for tile position i = r*Wt + j and channel c < 32; xb is the tile's
 * first virtual position in plane 0, koff[c*taps + t] = c*PL + toff[t].
 * R and Wt are constants in every instance, so the R*Wt*2 accumulators
 * stay in registers.
 */
static inline __attribute__((always_inline)) CONV_AVX512 void
bc_tile(const int R, const int Wt, const float *xb, int64_t rs, const int32_t *koff, int64_t K,
		const float *w, const float *bias, float *tmp, const char *pf, int64_t pfn, int pfl)
{
	__m512		acc[BC_T][2];
	__m512		b0 = _mm512_loadu_ps(bias),
				b1 = _mm512_loadu_ps(bias + 16);

#pragma GCC unroll 14
	for (int i = 0; i < R * Wt; i++)
	{
		acc[i][0] = b0;
		acc[i][1] = b1;
	}
#pragma GCC unroll 2
	for (int64_t k = 0; k < K; k++, w += NB)
	{
		const float *xp = xb + koff[k];
		__m512		w0 = _mm512_loadu_ps(w),
					w1 = _mm512_loadu_ps(w + 16);

		if (k < pfn)
		{
			_mm_prefetch(pf + k * pfl * 64, _MM_HINT_T1);
			if (pfl > 1)
				_mm_prefetch(pf + k * pfl * 64 + 64, _MM_HINT_T1);
		}
#pragma GCC unroll 14
		for (int r = 0; r < R; r++)
		{
#pragma GCC unroll 14
			for (int j = 0; j < Wt; j++)
			{
				__m512		a = _mm512_set1_ps(xp[r * rs + j]);

				acc[r * Wt + j][0] = _mm512_fmadd_ps(a, w0, acc[r * Wt + j][0]);
				acc[r * Wt + j][1] = _mm512_fmadd_ps(a, w1, acc[r * Wt + j][1]);
			}
		}
	}
#pragma GCC unroll 14
	for (int i = 0; i < R * Wt; i++)
	{
		_mm512_storeu_ps(tmp + i * NB, acc[i][0]);
		_mm512_storeu_ps(tmp + i * NB + 16, acc[i][1]);
	}
}

/*
 * The tile shapes compiled: R rows of Wt positions with R * Wt <= BC_T,
 * R = 1 for Wt >= 8 (see bc_plan).  Returns false for another shape (the
 * caller never asks for one).
 */
CONV_AVX512 static bool
bc_tile_avx512(int R, int Wt, const float *xb, int64_t rs, const int32_t *koff, int64_t K,
			   const float *w, const float *bias, float *tmp, const char *pf, int64_t pfn, int pfl)
{
#define BC_SHAPE(r, wt) \
	case (r) * 32 + (wt): bc_tile(r, wt, xb, rs, koff, K, w, bias, tmp, pf, pfn, pfl); return true;
	switch (R * 32 + Wt)
	{
			BC_SHAPE(1, 1) BC_SHAPE(1, 2) BC_SHAPE(1, 3) BC_SHAPE(1, 4) BC_SHAPE(1, 5)
			BC_SHAPE(1, 6) BC_SHAPE(1, 7) BC_SHAPE(1, 8) BC_SHAPE(1, 9) BC_SHAPE(1, 10)
			BC_SHAPE(1, 11) BC_SHAPE(1, 12) BC_SHAPE(1, 13) BC_SHAPE(1, 14)
			BC_SHAPE(2, 7) BC_SHAPE(2, 6) BC_SHAPE(2, 5)
			BC_SHAPE(2, 4) BC_SHAPE(3, 4)
			BC_SHAPE(2, 3) BC_SHAPE(3, 3) BC_SHAPE(4, 3)
			BC_SHAPE(2, 2) BC_SHAPE(3, 2) BC_SHAPE(4, 2) BC_SHAPE(5, 2) BC_SHAPE(6, 2)
			BC_SHAPE(7, 2)
			BC_SHAPE(2, 1) BC_SHAPE(3, 1) BC_SHAPE(4, 1) BC_SHAPE(5, 1) BC_SHAPE(6, 1)
			BC_SHAPE(7, 1) BC_SHAPE(8, 1) BC_SHAPE(9, 1) BC_SHAPE(10, 1) BC_SHAPE(11, 1)
			BC_SHAPE(12, 1) BC_SHAPE(13, 1) BC_SHAPE(14, 1)
		default:
			return false;
	}
#undef BC_SHAPE
}

/*
 * Weights to prefetch into L2 while a block of 32 output channels runs:
 * bytes [p, end) of the packed weights w, lines (1 or 2) cache lines a
 * step k of a tile.  With a cold cache (the weights of a whole network
 * do not stay in L2 between runs), the first tile of a block would
 * otherwise wait on memory for each weight row it reads while the later
 * tiles, which find the block in L2, leave memory idle.
 */
typedef struct BcPrefetch
{
	const char *w;
	int64_t		p;
	int64_t		end;
	int			lines;
} BcPrefetch;

CONV_AVX512 static void bc_store_avx512(const float *tmp, int R, int Wt, int64_t OW, float *y,
										int64_t P, int mcount);

/*
 * Output columns [c0, c0 + Wt) of output rows [oh0, oh1) (OW positions,
 * Wph plane floats a row), in tiles of R rows (the last fewer) of the
 * phase planes pad: Yb (32 channels of mcount, P positions) = bias + the
 * window sums.
 */
CONV_AVX512 static void
bc_columns_avx512(int64_t OW, int64_t Wph, const float *pad, int64_t oh0, int64_t oh1,
				  int64_t c0, int Wt, int R, const int32_t *koff, int64_t K, const float *wb,
				  const float *bias, float *tmp, float *yb, int64_t P, int mcount, BcPrefetch *pf)
{
	for (int64_t oh = oh0; oh < oh1; oh += R)
	{
		int			rows = (int) (oh1 - oh < R ? oh1 - oh : R);
		int64_t		n = pf->end > pf->p ? (pf->end - pf->p) / (64 * pf->lines) : 0;

		n = n < K ? n : K;
		bc_tile_avx512(rows, Wt, pad + oh * Wph + c0, Wph, koff, K, wb, bias, tmp, pf->w + pf->p, n,
					   pf->lines);
		pf->p += n * 64 * pf->lines;
		pf->lines = 1;
		bc_store_avx512(tmp, rows, Wt, OW, yb + oh * OW + c0, P, mcount);
	}
}

/*
 * The tile's R rows of Wt positions (R * Wt <= 16), rows OW apart in Y,
 * transposed: y[j*P + r*OW + c] = tmp[(r*Wt + c)*32 + j] for j < mcount;
 * one masked store per channel where the positions are consecutive in Y,
 * else one scatter.
 */
CONV_AVX512 static void
bc_store_avx512(const float *tmp, int R, int Wt, int64_t OW, float *y, int64_t P, int mcount)
{
	int			cnt = R * Wt;
	__mmask16	mk = (__mmask16) ((1u << cnt) - 1);
	__m512i		idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
															12, 13, 14, 15),
										 _mm512_set1_epi32(NB));

	if (R == 1 || Wt == OW)
	{
		for (int j = 0; j < mcount; j++)
			_mm512_mask_storeu_ps(y + j * P, mk,
								  _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, idx, tmp + j, 4));
	}
	else
	{
		int32_t		pos[16] = {0};
		__m512i		vpos;

		for (int i = 0; i < cnt; i++)
			pos[i] = (int32_t) (i / Wt * OW + i % Wt);
		vpos = _mm512_loadu_si512(pos);
		for (int j = 0; j < mcount; j++)
			_mm512_mask_i32scatter_ps(y + j * P, mk, vpos,
									  _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, idx, tmp + j, 4), 4);
	}
}

/*
 * src (n) -> even (ceil(n/2)) = src[0], src[2], ... and odd (n/2) =
 * src[1], src[3], ...: an input row split into the two column phases of
 * stride 2.
 */
CONV_AVX512 static void
bc_split2_avx512(const float *src, int64_t n, float *even, float *odd)
{
	const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
				io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
	int64_t		j = 0;

	for (; 2 * j + 32 <= n; j += 16)
	{
		__m512		a = _mm512_loadu_ps(src + 2 * j),
					b = _mm512_loadu_ps(src + 2 * j + 16);

		_mm512_storeu_ps(even + j, _mm512_permutex2var_ps(a, ie, b));
		_mm512_storeu_ps(odd + j, _mm512_permutex2var_ps(a, io, b));
	}
	for (; 2 * j < n; j++)
	{
		even[j] = src[2 * j];
		if (2 * j + 1 < n)
			odd[j] = src[2 * j + 1];
	}
}

#endif							/* CONV_X86 */

OnnxStatus
onnx_conv_bcast_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x, const float *wp,
					const float *b, const OnnxFusedAct *act, float *y, int64_t N, int64_t C,
					int64_t M, int64_t group, bool *handled)
{
#ifdef CONV_X86
	int64_t		Cg = C / group,
				Mg = M / group,
				blocks = (Mg + NB - 1) / NB,
				taps = g->k_size,
				K = Cg * taps,
				P = g->out_size,
				sh,
				sw,
				Wph,
				Hph,
				Pv,
				oh,
				ow,
				wm,
				rm,
				rem,
				band,
				PH,
				PL,
				last,
				bytes,
				wbytes,
				nneed;
	ConvGeom2D	v;
	BcPrefetch	pf;
	float	   *pad,
				tmp[BC_T * NB] __attribute__((aligned(64))),
				bias[NB] __attribute__((aligned(64)));
	int32_t    *koff;
	bool		need[BC_MAX_STRIDE * BC_MAX_STRIDE];	/* phases some tap reads */

	*handled = false;
	if (onnx_vec_isa() != ONNX_VEC_AVX512 ||
		!onnx_conv_bcast_suits(g->nsp, Mg, Cg, group, taps, g->s, false))
		return ONNX_OK;
	cpq_geom_2d(g, &v);
	if (v.in_w > ((int64_t) 1 << 30) || v.in_h > ((int64_t) 1 << 30) ||
		v.k_w * v.d_w > ((int64_t) 1 << 30) || v.k_h * v.d_h > ((int64_t) 1 << 30) ||
		v.p_w > ((int64_t) 1 << 30) || v.p_h > ((int64_t) 1 << 30) ||
		v.out_w > ((int64_t) 1 << 26))	/* (tile offsets in Y fit int32) */
		return ONNX_OK;
	sh = v.s_h;
	sw = v.s_w;
	/* phase planes: every window of a valid output inside its row and plane */
	Wph = (v.in_w + v.p_w + sw - 1) / sw;
	if (Wph < v.out_w + (v.k_w - 1) * v.d_w / sw)
		Wph = v.out_w + (v.k_w - 1) * v.d_w / sw;
	Hph = (v.in_h + v.p_h + sh - 1) / sh;
	if (Hph < v.out_h + (v.k_h - 1) * v.d_h / sh)
		Hph = v.out_h + (v.k_h - 1) * v.d_h / sh;
	if (onnx_mul_overflow_i64(v.out_h, Wph, &Pv) || onnx_mul_overflow_i64(Hph, Wph, &PH))
		return ONNX_OK;
	/* the last read of a phase plane: the last output position's last tap */
	last = Pv - 1 + (v.k_h - 1) * v.d_h / sh * Wph + (v.k_w - 1) * v.d_w / sw;
	if (PH < last + 1)
		PH = last + 1;
	PH = (PH + 15) / 16 * 16;
	if (onnx_mul_overflow_i64(PH, sh * sw, &PL) ||
		onnx_mul_overflow_i64(PL, Cg, &bytes) || bytes > BC_PAD_MAX / (int64_t) sizeof(float))
		return ONNX_OK;
	/* (PL * Cg < 2^31: koff fits int32) */
	bytes = bytes * (int64_t) sizeof(float) + K * (int64_t) sizeof(int32_t);
	/*
	 * tiles: columns in blocks of wm (14, or 7 for maps 8 to 13 wide, or
	 * the whole width of a narrower one) in tiles of rm = 14 / wm rows,
	 * the rem columns left over in tiles of 14 / rem rows
	 */
	oh = v.out_h;
	ow = v.out_w;
	if (Wph == ow)
	{
		/* planes without gap columns: the positions are one row */
		ow = P;
		oh = 1;
	}
	wm = ow >= BC_T ? BC_T : ow >= BC_ROW_MIN ? BC_T / 2 : ow;
	rm = BC_T / wm;
	rem = ow % wm;
	band = rem > 0 ? rm * (BC_T / rem) : rm;	/* a multiple of both tiles' rows */
	wbytes = K * NB * (int64_t) sizeof(float);	/* one block's (the packing allocated them) */
	pf.w = (const char *) wp;
	*handled = true;
	if ((pad = onnx_kernel_scratch(ctx, (size_t) bytes, 1)) == NULL)
		return ctx->err->status;
	koff = (int32_t *) (pad + PL * Cg);
	memset(need, 0, sizeof(need));
	for (int64_t kh = 0; kh < v.k_h; kh++)
		for (int64_t kw = 0; kw < v.k_w; kw++)
		{
			int64_t		phase = kh * v.d_h % sh * sw + kw * v.d_w % sw;

			need[phase] = true;
			koff[kh * v.k_w + kw] = (int32_t) (phase * PH + kh * v.d_h / sh * Wph + kw * v.d_w / sw);
		}
	for (int64_t k = taps; k < K; k++)
		koff[k] = (int32_t) (koff[k - taps] + PL);
	/*
	 * the pads stay zero: every image writes the same interior; phases no
	 * tap reads are left as they are (3 of the 4 of a strided 1x1 window)
	 */
	nneed = 0;
	for (int64_t ph = 0; ph < sh * sw; ph++)
		nneed += need[ph];
	if (nneed == sh * sw)
		memset(pad, 0, sizeof(float) * (size_t) (PL * Cg));
	else
		for (int64_t c = 0; c < Cg; c++)
			for (int64_t ph = 0; ph < sh * sw; ph++)
				if (need[ph])
					memset(pad + c * PL + ph * PH, 0, sizeof(float) * (size_t) PH);

	for (int64_t n = 0; n < N; n++)
		for (int64_t gi = 0; gi < group; gi++)
		{
			const float *xg = x + (n * C + gi * Cg) * g->in_size;
			float	   *yg = y + (n * M + gi * Mg) * P;

			if (gi == 0)
				pf.p = 0;

			for (int64_t c = 0; c < Cg; c++)
				for (int64_t ih = 0; ih < v.in_h; ih++)
				{
					int64_t		r = ih + v.p_h;
					const float *src = xg + (c * v.in_h + ih) * v.in_w;
					float	   *dst = pad + c * PL + (r % sh * sw) * PH + r / sh * Wph;

					if (sw == 1)
					{
						if (need[r % sh])
							memcpy(dst + v.p_w, src, sizeof(float) * (size_t) v.in_w);
					}
					else if (sw == 2 && (need[r % sh * 2] || need[r % sh * 2 + 1]))
					{
						/*
						 * padded column q = iw + p_w is column q/2 of phase
						 * q%2; both halves are written (vectors), also into
						 * a phase no tap reads (a 1x1 window at stride 2)
						 */
						float	   *d0 = dst + (v.p_w % 2) * PH + v.p_w / 2,
								   *d1 = dst + (1 - v.p_w % 2) * PH + (v.p_w + 1) / 2;

						bc_split2_avx512(src, v.in_w, d0, d1);
					}
					else
						for (int64_t b = 0; b < sw; b++)
						{
							if (!need[r % sh * sw + b])
								continue;	/* no tap reads this phase */
							/* phase b: padded columns j*sw + b, input column j*sw + b - p_w */
							int64_t		j0 = v.p_w > b ? (v.p_w - b + sw - 1) / sw : 0,
										j1 = (v.in_w + v.p_w - b + sw - 1) / sw;
							float	   *db = dst + b * PH;

							for (int64_t j = j0; j < j1; j++)
								db[j] = src[j * sw + b - v.p_w];
						}
				}
			for (int64_t mb = 0; mb < blocks; mb++)
			{
				const float *wb = wp + (gi * blocks + mb) * K * NB;
				int64_t		wi;
				int			mcount = (int) (Mg - mb * NB < NB ? Mg - mb * NB : NB);

				if (onnx_kernel_should_abort(ctx))
					return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
				for (int j = 0; j < NB; j++)
					bias[j] = b && j < mcount ? b[gi * Mg + mb * NB + j] : 0.0f;
				/*
				 * prefetch from BC_PF_AHEAD bytes past this block's start
				 * (or where the last block's tiles stopped) to the end of
				 * the next block: two lines a step in the first tile, so
				 * it keeps ahead of this block's own reads, then one
				 */
				wi = gi * blocks + mb;
				if (pf.p < wi * wbytes + BC_PF_AHEAD)
					pf.p = wi * wbytes + BC_PF_AHEAD;
				pf.end = (wi + 2 < group * blocks ? wi + 2 : group * blocks) * wbytes;
				pf.lines = 2;
				/*
				 * bands of rows, top to bottom (the planes of a large map
				 * are read once from memory): the main columns in tiles
				 * of wm, the rest in tiles of rem
				 */
				for (int64_t oh0 = 0; oh0 < oh; oh0 += band)
				{
					int64_t		oh1 = oh - oh0 < band ? oh : oh0 + band;

					for (int64_t c0 = 0; c0 + wm <= ow; c0 += wm)
						bc_columns_avx512(ow, Wph, pad, oh0, oh1, c0, (int) wm, (int) rm, koff, K, wb,
										  bias, tmp, yg + mb * NB * P, P, mcount, &pf);
					if (rem > 0)
						bc_columns_avx512(ow, Wph, pad, oh0, oh1, ow - rem, (int) rem,
										  (int) (BC_T / rem), koff, K, wb, bias, tmp,
										  yg + mb * NB * P, P, mcount, &pf);
				}
			}
			onnx_act_rows_f32(act, yg, Mg, P, P, NULL);
		}
	return ONNX_OK;
#else
	*handled = false;
	return ONNX_OK;
#endif
}
