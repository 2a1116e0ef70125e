/*-------------------------------------------------------------------------
 *
 * conv_bcast.c
 *	  Stride-1 float32 convolution as an implicit GEMM (see conv_bcast.h).
 *
 *	  The input of a group is copied once into zero-padded planes of Hp
 *	  rows of Wp floats (the pads around each image as zeros, Wp wide
 *	  enough for every window of a valid output).  An output position
 *	  (oh, ow) is then "virtual position" p = oh * Wp + ow, whose window
 *	  tap (kh, kw) of channel c reads
 *
 *		plane[c][p + kh*dh*Wp + kw*dw]
 *
 *	  so BC_T consecutive virtual positions read BC_T consecutive floats
 *	  for every tap, across row ends too (the positions with ow >= OW are
 *	  computed from whatever lies there and dropped).  With the weights
 *	  packed as Wt (K = Cg*taps, 32 output channels), per tile
 *
 *		acc (BC_T positions, 32 channels) = bias
 *		for k = (c, tap):  acc[i][:] += plane[c][p0 + i + toff[tap]] * Wt[k][:]
 *
 *	  is the register tile of a GEMM whose A operand (positions x K) is
 *	  read straight from the padded planes by broadcasts and whose B
 *	  operand is the packed weights: no im2col buffer is written or read.
 *	  The tile (14 positions x 2 vectors of 16 channels, 28 accumulators)
 *	  is stored transposed into Y (N, M, OH*OW) and the fused activation
 *	  runs over each finished group.  The dropped columns cost
 *	  (Wp - OW) / Wp of the work (2/9 of a 7x7 map with a 3x3 window,
 *	  2/58 of a 56x56 one).
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
#define BC_T 14					/* virtual positions per tile */
#define BC_MIN_K 32				/* shallower windows: other paths */
#define BC_MIN_M 8				/* fewer output channels: other paths */
#define BC_PAD_MAX ((int64_t) 64 << 20)	/* bytes of padded planes at most */

bool
onnx_conv_bcast_suits(int nsp, int64_t Mg, int64_t Cg, int64_t group, int64_t k_size,
					  const int64_t *s, bool pointwise)
{
	if (nsp < 1 || nsp > 2 || pointwise || (Cg == 1 && group > 1) || Mg < BC_MIN_M ||
		Cg > ((int64_t) 1 << 30) || k_size > ((int64_t) 1 << 20) || Cg * k_size < BC_MIN_K)
		return false;
	for (int i = 0; i < nsp; i++)
		if (s[i] != 1)
			return false;
	return true;
}

#ifdef CONV_X86

/*
 * One tile: tmp (BC_T, 32) = bias + sum over c < Cg, t < taps of
 *	 xb[c*PL + toff[t] + i] * w[(c*taps + t)*32 + j]
 * (i < BC_T, j < 32); xb is the tile's first virtual position in plane 0.
 */
CONV_AVX512 static void
bc_tile_avx512(const float *xb, int64_t PL, const int64_t *toff, int64_t taps, int64_t Cg,
			   const float *w, const float *bias, float *tmp)
{
	__m512		acc[BC_T][2];
	__m512		b0 = _mm512_loadu_ps(bias),
				b1 = _mm512_loadu_ps(bias + 16);

#pragma GCC unroll 14
	for (int i = 0; i < BC_T; i++)
	{
		acc[i][0] = b0;
		acc[i][1] = b1;
	}
	for (int64_t c = 0; c < Cg; c++)
	{
		const float *xc = xb + c * PL;

		for (int64_t t = 0; t < taps; t++, w += NB)
		{
			const float *xp = xc + toff[t];
			__m512		w0 = _mm512_loadu_ps(w),
						w1 = _mm512_loadu_ps(w + 16);

#pragma GCC unroll 14
			for (int i = 0; i < BC_T; i++)
			{
				__m512		a = _mm512_set1_ps(xp[i]);

				acc[i][0] = _mm512_fmadd_ps(a, w0, acc[i][0]);
				acc[i][1] = _mm512_fmadd_ps(a, w1, acc[i][1]);
			}
		}
	}
#pragma GCC unroll 14
	for (int i = 0; i < BC_T; i++)
	{
		_mm512_storeu_ps(tmp + i * NB, acc[i][0]);
		_mm512_storeu_ps(tmp + i * NB + 16, acc[i][1]);
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
				Wp,
				Hp,
				Pv,
				Pt,
				PL,
				last,
				bytes;
	ConvGeom2D	v;
	float	   *pad,
				tmp[BC_T * NB] __attribute__((aligned(64))),
				bias[NB] __attribute__((aligned(64)));
	int64_t    *toff;

	*handled = false;
	if (onnx_vec_isa() != ONNX_VEC_AVX512 ||
		!onnx_conv_bcast_suits(g->nsp, Mg, Cg, group, taps, g->s, false))
		return ONNX_OK;
	cpq_geom_2d(g, &v);
	if (v.in_w > ((int64_t) 1 << 30) || v.in_h > ((int64_t) 1 << 30) ||
		v.k_w * v.d_w > ((int64_t) 1 << 30) || v.k_h * v.d_h > ((int64_t) 1 << 30) ||
		v.p_w > ((int64_t) 1 << 30) || v.p_h > ((int64_t) 1 << 30))
		return ONNX_OK;
	/* padded planes: every window of a valid output inside its row and plane */
	Wp = v.in_w + v.p_w;
	if (Wp < v.out_w + (v.k_w - 1) * v.d_w)
		Wp = v.out_w + (v.k_w - 1) * v.d_w;
	Hp = v.in_h + v.p_h;
	if (Hp < v.out_h + (v.k_h - 1) * v.d_h)
		Hp = v.out_h + (v.k_h - 1) * v.d_h;
	if (onnx_mul_overflow_i64(v.out_h, Wp, &Pv) || onnx_mul_overflow_i64(Hp, Wp, &PL))
		return ONNX_OK;
	Pt = (Pv + BC_T - 1) / BC_T * BC_T;
	/* the last read of a plane: the last tile's last position, last tap */
	last = Pt - 1 + (v.k_h - 1) * v.d_h * Wp + (v.k_w - 1) * v.d_w;
	if (PL < last + 1)
		PL = last + 1;
	PL = (PL + 15) / 16 * 16;
	if (onnx_mul_overflow_i64(PL, Cg, &bytes) || bytes > BC_PAD_MAX / (int64_t) sizeof(float))
		return ONNX_OK;
	bytes = bytes * (int64_t) sizeof(float) + taps * (int64_t) sizeof(int64_t);
	*handled = true;
	if ((pad = onnx_kernel_alloc(ctx, (size_t) bytes)) == NULL)
		return ctx->err->status;
	toff = (int64_t *) (pad + PL * Cg);
	for (int64_t kh = 0; kh < v.k_h; kh++)
		for (int64_t kw = 0; kw < v.k_w; kw++)
			toff[kh * v.k_w + kw] = kh * v.d_h * Wp + kw * v.d_w;
	/* the pads stay zero: every image writes the same interior */
	memset(pad, 0, sizeof(float) * (size_t) (PL * Cg));

	for (int64_t n = 0; n < N; n++)
		for (int64_t gi = 0; gi < group; gi++)
		{
			const float *xg = x + (n * C + gi * Cg) * g->in_size;
			float	   *yg = y + (n * M + gi * Mg) * P;

			for (int64_t c = 0; c < Cg; c++)
				for (int64_t ih = 0; ih < v.in_h; ih++)
					memcpy(pad + c * PL + (ih + v.p_h) * Wp + v.p_w,
						   xg + (c * v.in_h + ih) * v.in_w, sizeof(float) * (size_t) v.in_w);
			for (int64_t mb = 0; mb < blocks; mb++)
			{
				const float *wb = wp + (gi * blocks + mb) * K * NB;
				int			mcount = (int) (Mg - mb * NB < NB ? Mg - mb * NB : NB);

				if (onnx_kernel_should_abort(ctx))
				{
					onnx_kernel_free(ctx, pad);
					return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
				}
				for (int j = 0; j < NB; j++)
					bias[j] = b && j < mcount ? b[gi * Mg + mb * NB + j] : 0.0f;
				for (int64_t p0 = 0; p0 < Pv; p0 += BC_T)
				{
					int64_t		yo[BC_T];
					int			cnt = 0;

					bc_tile_avx512(pad + p0, PL, toff, taps, Cg, wb, bias, tmp);
					/* the tile's valid positions, then channel by channel */
					for (int i = 0; i < BC_T && p0 + i < Pv; i++)
					{
						int64_t		oh = (p0 + i) / Wp,
									ow = (p0 + i) % Wp;

						if (ow < v.out_w)
						{
							yo[cnt] = oh * v.out_w + ow;
							if (cnt != i)
								memcpy(tmp + cnt * NB, tmp + i * NB, sizeof(float) * NB);
							cnt++;
						}
					}
					for (int j = 0; j < mcount; j++)
					{
						float	   *ym = yg + (mb * NB + j) * P;

						for (int i = 0; i < cnt; i++)
							ym[yo[i]] = tmp[i * NB + j];
					}
				}
			}
			onnx_act_rows_f32(act, yg, Mg, P, P, NULL);
		}
	onnx_kernel_free(ctx, pad);
	return ONNX_OK;
#else
	*handled = false;
	return ONNX_OK;
#endif
}
