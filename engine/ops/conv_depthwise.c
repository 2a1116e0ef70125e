/*-------------------------------------------------------------------------
 *
 * conv_depthwise.c
 *	  Direct float32 depthwise convolution, vectorised over the output
 *	  width (see conv_depthwise.h).
 *
 *	  Per input channel, the input plane is copied once into a prepared
 *	  plane: zeros stand for the pads (rows above and below, columns left
 *	  and right), and a stride-s row is split into its s phases, so that
 *	  for kernel column kw the inputs of consecutive outputs are
 *	  consecutive floats (Lp floats per phase, rowlen = s * Lp per row):
 *
 *		P[j][phase * Lp + i] = x[j - pad_top][i * s + phase - pad_left]  (0 outside)
 *		y[oh][ow] = bias + sum_{kh,kw} w[kh][kw] * P[oh*sh + kh*dh][off[kw] + ow]
 *		off[kw] = (kw*dw % s) * Lp + kw*dw / s
 *
 *	  Each output row is then a sum of shifted rows times broadcast
 *	  weights: AVX-512 and AVX2 kernels computing up to 8 vectors of
 *	  outputs at once (a few rows of one channel, so the FMA chains
 *	  overlap), and a portable C one, chosen per call by
 *	  onnx_simd_level().  The bias starts the sums; the fused activation
 *	  runs over each block of finished rows while they are in cache.
 *	  The pads of the prepared plane are written once per call, since no
 *	  channel's copy touches them.
 *
 *-------------------------------------------------------------------------
 */
#include "conv_depthwise.h"
#include "conv_simd.h"
#include "fused_act.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DW_X86 1
#endif

#define DW_ALIGN 16				/* prepared rows: a multiple of 16 floats */
#define DW_MAX_TAPS 1024		/* larger kernels take the general path */
#define DW_MAX_STRIDE 16		/* wider strides take the general path */
#define DW_PLANE_BUDGET ((int64_t) 16 << 20)	/* bytes of the prepared plane */
#define DW_ACT_BLOCK 1024		/* outputs per activation pass */

/*
 * R output rows of one channel from the prepared plane src, rows rs
 * floats apart (sh prepared rows) and kernel rows ks floats apart (dh
 * prepared rows): for r < R, i < OW
 *	 y[r*ldy + i] = bias + sum_{kh < KH, kw < KW} w[kh*KW + kw] * src[r*rs + kh*ks + off[kw] + i].
 * Every prepared row is readable up to off[KW-1] + OW rounded up to a
 * whole step (min(4, vectors in OW) vectors).
 */
typedef void (*DwRowsFn) (const float *src, int64_t rs, int64_t ks, const int64_t *off,
						  const float *w, float bias, float *y, int64_t ldy, int64_t OW, int KH,
						  int KW, int R);

/*
 * Output rows per kernel call for rows of OW outputs in vectors of vw
 * floats: enough rows that a call keeps 8 accumulators busy.
 */
static int
dw_rows_per_call(int64_t OW, int vw)
{
	int64_t		nv = (OW + vw - 1) / vw;

	return nv >= 3 ? 2 : nv == 2 ? 4 : 8;
}

/* ---- portable C ---- */

static void
dw_rows_c(const float *src, int64_t rs, int64_t ks, const int64_t *off, const float *w,
		  float bias, float *y, int64_t ldy, int64_t OW, int KH, int KW, int R)
{
	for (int r = 0; r < R; r++)
	{
		float	   *restrict yr = y + r * ldy;

		for (int64_t i = 0; i < OW; i++)
			yr[i] = bias;
		for (int kh = 0; kh < KH; kh++)
			for (int kw = 0; kw < KW; kw++)
			{
				const float *restrict in = src + r * rs + kh * ks + off[kw];
				float		wv = w[kh * KW + kw];

				for (int64_t i = 0; i < OW; i++)
					yr[i] += wv * in[i];
			}
	}
}

#ifdef DW_X86

/*
 * The vector kernels: R rows x V vectors of accumulators (at most 8, so
 * the FMA chains overlap: 4 cycles of latency, 2 per cycle), one
 * broadcast weight per tap.  Instantiated with constant R and V so the
 * accumulators live in registers; full vectors are stored whole, the last
 * partial one under a mask, vectors past OW not at all.
 */
#define DEFINE_DW_BLOCK(ISA, ATTR, VEC, VW, SET1, LOAD, FMA, STORE, STORE_PART) \
ATTR static inline __attribute__((always_inline)) void \
dw_block_##ISA(const float *src, int64_t rs, int64_t ks, const int64_t *off, const float *w, \
			   float bias, float *y, int64_t ldy, int64_t i, int64_t OW, int KH, int KW, int R, \
			   int V) \
{ \
	VEC			acc[8][4]; \
\
	for (int r = 0; r < R; r++) \
		for (int v = 0; v < V; v++) \
			acc[r][v] = SET1(bias); \
	for (int kh = 0; kh < KH; kh++) \
	{ \
		const float *base[8]; \
\
		for (int r = 0; r < R; r++) \
			base[r] = src + r * rs + kh * ks + i; \
		for (int kw = 0; kw < KW; kw++) \
		{ \
			VEC			wv = SET1(w[kh * KW + kw]); \
			int64_t		o = off[kw]; \
\
			for (int r = 0; r < R; r++) \
				for (int v = 0; v < V; v++) \
					acc[r][v] = FMA(wv, LOAD(base[r] + o + VW * v), acc[r][v]); \
		} \
	} \
	for (int r = 0; r < R; r++) \
		for (int v = 0; v < V; v++) \
		{ \
			int64_t		at = i + VW * v; \
\
			if (at + VW <= OW) \
				STORE(y + r * ldy + at, acc[r][v]); \
			else \
				STORE_PART(y + r * ldy + at, acc[r][v], OW - at); \
		} \
} \
\
ATTR static inline __attribute__((always_inline)) void \
dw_rows_kw_##ISA(const float *src, int64_t rs, int64_t ks, const int64_t *off, \
				 const float *w, float bias, float *y, int64_t ldy, int64_t OW, int KH, int KW, \
				 int R) \
{ \
	while (R > 0) \
	{ \
		int			r = R >= 8 ? 8 : R >= 4 ? 4 : R >= 2 ? 2 : 1; \
\
		for (int64_t i = 0; i < OW;) \
		{ \
			int64_t		nv = (OW - i + VW - 1) / VW; \
			int			v = nv >= 4 ? 4 : (int) nv; \
			int			rr = r * v > 8 ? 8 / v : r; /* at most 8 accumulators */ \
\
			for (int r0 = 0; r0 < r; r0 += rr) \
				switch (rr * 8 + v) \
				{ \
					DW_CASE(ISA, 2, 4) DW_CASE(ISA, 1, 4) DW_CASE(ISA, 2, 3) DW_CASE(ISA, 1, 3) \
					DW_CASE(ISA, 4, 2) DW_CASE(ISA, 2, 2) DW_CASE(ISA, 1, 2) \
					DW_CASE(ISA, 8, 1) DW_CASE(ISA, 4, 1) DW_CASE(ISA, 2, 1) \
					default: \
						dw_block_##ISA(src + r0 * rs, rs, ks, off, w, bias, y + r0 * ldy, ldy, \
									   i, OW, KH, KW, 1, 1); \
						break; \
				} \
			i += (int64_t) VW * v; \
		} \
		src += r * rs; \
		y += r * ldy; \
		R -= r; \
	} \
} \
\
ATTR static void \
dw_rows_##ISA(const float *src, int64_t rs, int64_t ks, const int64_t *off, const float *w, \
			  float bias, float *y, int64_t ldy, int64_t OW, int KH, int KW, int R) \
{ \
	dw_rows_kw_##ISA(src, rs, ks, off, w, bias, y, ldy, OW, KH, KW, R); \
}

/* One case of dw_rows' switch: a block of R rows x V vectors. */
#define DW_CASE(ISA, R, V) \
	case R * 8 + V: \
		dw_block_##ISA(src + r0 * rs, rs, ks, off, w, bias, y + r0 * ldy, ldy, i, OW, KH, KW, \
					   R, V); \
		break;

#define DW_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define DW_AVX2 __attribute__((target("avx2,fma")))

/* Store the first n (< 16) lanes. */
DW_AVX512 static inline void
store_part_avx512(float *p, __m512 v, int64_t n)
{
	_mm512_mask_storeu_ps(p, (__mmask16) ((1u << n) - 1), v);
}

/* Store the first n (< 8) lanes. */
DW_AVX2 static inline void
store_part_avx2(float *p, __m256 v, int64_t n)
{
	__m256i		lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

	_mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32((int) n), lane), v);
}

DEFINE_DW_BLOCK(avx512, DW_AVX512, __m512, 16, _mm512_set1_ps, _mm512_loadu_ps,
				_mm512_fmadd_ps, _mm512_storeu_ps, store_part_avx512)
DEFINE_DW_BLOCK(avx2, DW_AVX2, __m256, 8, _mm256_set1_ps, _mm256_loadu_ps,
				_mm256_fmadd_ps, _mm256_storeu_ps, store_part_avx2)

#endif							/* DW_X86 */

/* The kernels of one instruction set. */
typedef struct DwKernels
{
	int			vw;				/* floats per vector */
	DwRowsFn	rows;
} DwKernels;

static const DwKernels dw_kernels_c = {1, dw_rows_c};
#ifdef DW_X86
static const DwKernels dw_kernels_avx2 = {8, dw_rows_avx2};
static const DwKernels dw_kernels_avx512 = {16, dw_rows_avx512};
#endif

/* The kernels for the level in use (conv_simd.h's for the row moves). */
static const DwKernels *
dw_kernels(int level)
{
#ifdef DW_X86
	if (level == ONNX_SIMD_AVX512)
		return &dw_kernels_avx512;
	if (level == ONNX_SIMD_AVX2)
		return &dw_kernels_avx2;
#endif
	return &dw_kernels_c;
}

/* ---- driver ---- */

/* The 2-D geometry and the prepared plane's layout. */
typedef struct DwPlan
{
	ConvGeom2D	v;				/* image: the input */
	int			KH,
				KW;				/* v.k_h, v.k_w */
	int64_t		Lp;				/* floats per phase of a prepared row */
	int64_t		rowlen;			/* floats per prepared row: sw * Lp */
	int64_t		Hp;				/* prepared rows: (OH-1)*sh + (KH-1)*dh + 1 */
	int64_t		j0,
				j1;				/* prepared rows [j0, j1) hold input rows j - ph */
	int64_t		lo[DW_MAX_STRIDE],
				hi[DW_MAX_STRIDE];	/* valid range of each phase */
	int64_t		both_lo,
				both_hi;		/* stride 2: where both phases are valid */
} DwPlan;

static void dw_phase_range(const DwPlan *p, int64_t ph, int64_t *lo, int64_t *hi);

static inline int64_t
round_up(int64_t v, int64_t m)
{
	return (v + m - 1) / m * m;
}

/*
 * Fill the plan for a kernel of vector width vw; false when the geometry
 * is too large for this kernel.
 */
static bool
dw_plan(const ConvGeom *g, int vw, DwPlan *p)
{
	int64_t		bytes,
				step;

	if (g->nsp < 1 || g->nsp > 2 || g->k_size > DW_MAX_TAPS || g->out_size == 0)
		return false;
	cpq_geom_2d(g, &p->v);
	p->KH = (int) p->v.k_h;
	p->KW = (int) p->v.k_w;
	/* every value below is bounded by CONV_ATTR_MAX or an image size < 2^40 */
	if (p->v.out_w > ((int64_t) 1 << 30) || p->v.out_h > ((int64_t) 1 << 30) || p->v.d_w > ((int64_t) 1 << 20) ||
		p->v.d_h > ((int64_t) 1 << 20) || p->v.s_w > DW_MAX_STRIDE || p->v.s_h > ((int64_t) 1 << 20))
		return false;
	/* the kernels read whole steps of min(4, vectors) vectors past every row start */
	step = (int64_t) vw * ((p->v.out_w + vw - 1) / vw < 4 ? (p->v.out_w + vw - 1) / vw : 4);
	p->Lp = round_up(round_up(p->v.out_w, step) + (p->KW - 1) * p->v.d_w / p->v.s_w + 1, DW_ALIGN);
	p->rowlen = p->v.s_w * p->Lp;
	p->Hp = (p->v.out_h - 1) * p->v.s_h + (int64_t) (p->KH - 1) * p->v.d_h + 1;
	p->j0 = p->v.p_h < p->Hp ? p->v.p_h : p->Hp;
	p->j1 = p->v.p_h + p->v.in_h < p->Hp ? p->v.p_h + p->v.in_h : p->Hp;
	if (onnx_mul_overflow_i64(p->Hp, p->rowlen, &bytes) ||
		onnx_mul_overflow_i64(bytes, (int64_t) sizeof(float), &bytes) || bytes > DW_PLANE_BUDGET)
		return false;
	for (int64_t ph = 0; ph < p->v.s_w; ph++)
		dw_phase_range(p, ph, &p->lo[ph], &p->hi[ph]);
	p->both_lo = p->both_hi = 0;
	if (p->v.s_w == 2)
	{
		p->both_lo = p->lo[0] > p->lo[1] ? p->lo[0] : p->lo[1];
		p->both_hi = p->hi[0] < p->hi[1] ? p->hi[0] : p->hi[1];
	}
	return true;
}

/*
 * Valid range [lo, hi) of phase ph of a prepared row: the i < Lp with
 * 0 <= i * sw + ph - pw < W.  Outside it a prepared row holds zeros,
 * written once per call (the plane's pads).
 */
static void
dw_phase_range(const DwPlan *p, int64_t ph, int64_t *lo, int64_t *hi)
{
	*lo = p->v.p_w > ph ? (p->v.p_w - ph + p->v.s_w - 1) / p->v.s_w : 0;
	*hi = (p->v.in_w + p->v.p_w - ph + p->v.s_w - 1) / p->v.s_w;
	if (*lo > p->Lp)
		*lo = p->Lp;
	if (*hi > p->Lp)
		*hi = p->Lp;
	if (*hi < *lo)
		*hi = *lo;
}

/*
 * Prepared row of input row xr (W floats) into dst (rowlen floats, zero
 * outside the valid ranges): the valid part of each phase.
 */
static void
dw_prepare_row(const DwPlan *p, const ConvVec *k, const float *xr, float *dst)
{
	if (p->v.s_w == 1)
	{
		k->copy(dst + p->lo[0], xr + p->lo[0] - p->v.p_w, p->hi[0] - p->lo[0]);
		return;
	}
	if (p->v.s_w == 2 && p->both_hi > p->both_lo)
	{
		/* both phases valid on [both_lo, both_hi): one deinterleave, edges one by one */
		k->deinterleave2(xr + 2 * p->both_lo - p->v.p_w, dst + p->both_lo, dst + p->Lp + p->both_lo,
						 p->both_hi - p->both_lo);
		for (int64_t ph = 0; ph < 2; ph++)
		{
			float	   *d = dst + ph * p->Lp;
			const float *src = xr + ph - p->v.p_w;

			for (int64_t i = p->lo[ph]; i < p->both_lo; i++)
				d[i] = src[i * 2];
			for (int64_t i = p->both_hi; i < p->hi[ph]; i++)
				d[i] = src[i * 2];
		}
		return;
	}
	for (int64_t ph = 0; ph < p->v.s_w; ph++)
	{
		float	   *d = dst + ph * p->Lp;
		const float *src = xr + ph - p->v.p_w;

		for (int64_t i = p->lo[ph]; i < p->hi[ph]; i++)
			d[i] = src[i * p->v.s_w];
	}
}

OnnxStatus
onnx_conv_depthwise_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x, const float *w,
						const float *b, const OnnxFusedAct *act, float *y, int64_t N, int64_t C,
						int64_t M, bool *handled)
{
	int			level = onnx_simd_level();
	const DwKernels *k = dw_kernels(level);
	const ConvVec *v = onnx_conv_vec(level);
	DwPlan		p;
	int64_t		mult = M / C,
				taps,
				plane;
	int64_t    *off;
	float	   *P;
	int			rmax;

	*handled = false;
	if (C <= 0 || M % C != 0 || !dw_plan(g, k->vw, &p))
		return ONNX_OK;
	*handled = true;
	taps = (int64_t) p.KH * p.KW;
	plane = p.v.out_h * p.v.out_w;
	rmax = dw_rows_per_call(p.v.out_w, k->vw);
	/* the prepared plane, then the tap offsets; bounded by dw_plan */
	if ((P = onnx_kernel_alloc(ctx, sizeof(float) * (size_t) (p.Hp * p.rowlen) +
							   sizeof(int64_t) * (size_t) p.KW)) == NULL)
		return ctx->err->status;
	off = (int64_t *) (P + p.Hp * p.rowlen);
	for (int kw = 0; kw < p.KW; kw++)
		off[kw] = (kw * p.v.d_w % p.v.s_w) * p.Lp + kw * p.v.d_w / p.v.s_w;
	/* the pads: zero once, no channel's copy writes them */
	memset(P, 0, sizeof(float) * (size_t) (p.Hp * p.rowlen));

	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++)
		{
			const float *xc = x + (n * C + c) * p.v.in_h * p.v.in_w;
			float	   *yc = y + (n * M + c * mult) * plane;
			int64_t		done = 0;	/* rows the activation has seen */

			if (onnx_kernel_should_abort(ctx))
			{
				onnx_kernel_free(ctx, P);
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			}
			for (int64_t j = p.j0; j < p.j1; j++)
				dw_prepare_row(&p, v, xc + (j - p.v.p_h) * p.v.in_w, P + j * p.rowlen);
			for (int64_t oh = 0; oh < p.v.out_h;)
			{
				int			R = p.v.out_h - oh < rmax ? (int) (p.v.out_h - oh) : rmax;

				for (int64_t m = c * mult; m < (c + 1) * mult; m++)
					k->rows(P + oh * p.v.s_h * p.rowlen, p.v.s_h * p.rowlen, p.v.d_h * p.rowlen, off,
							w + m * taps, b ? b[m] : 0.0f, y + (n * M + m) * plane + oh * p.v.out_w,
							p.v.out_w, p.v.out_w, p.KH, p.KW, R);
				oh += R;
				/* activation over the finished rows while they are in cache */
				if (onnx_act_is_set(act) && ((oh - done) * p.v.out_w >= DW_ACT_BLOCK || oh == p.v.out_h))
				{
					for (int64_t j = 0; j < mult; j++)
						onnx_act_rows_f32(act, yc + j * plane + done * p.v.out_w, 1, (oh - done) * p.v.out_w,
										  0, NULL);
					done = oh;
				}
			}
		}
	onnx_kernel_free(ctx, P);
	return ONNX_OK;
}
