/*-------------------------------------------------------------------------
 *
 * conv_depthwise.c
 *	  Direct float32 depthwise convolution, vectorised over the output
 *	  width (see conv_depthwise.h).
 *
 *	  Per input channel, the input plane is copied once into a plane of
 *	  prepared rows (conv_simd.h: pads as zeros, a stride-s row split into
 *	  its s phases), rows above and below the image being rows of zeros:
 *
 *		y[oh][ow] = bias + sum_{kh,kw} w[kh][kw] * P[oh*sh + kh*dh][off[kw] + ow]
 *
 *	  Each output row is then a sum of shifted rows times broadcast
 *	  weights: AVX-512 and AVX2 kernels computing up to 8 vectors of
 *	  outputs at once (a few rows of one channel, so the FMA chains
 *	  overlap), and a portable C one, chosen per call by
 *	  onnx_vec_isa().  The bias starts the sums; the fused activation
 *	  runs over each block of finished rows while they are in cache.
 *	  The pads of the prepared plane are written once per call, since no
 *	  channel's copy touches them.
 *
 *-------------------------------------------------------------------------
 */
#include "conv_depthwise.h"
#include "conv_simd.h"
#include "fused_act.h"

#define DW_MAX_TAPS 1024		/* larger kernels take the general path */
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

#ifdef CONV_X86

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
ATTR static void \
dw_rows_##ISA(const float *src, int64_t rs, int64_t ks, const int64_t *off, const float *w, \
			  float bias, float *y, int64_t ldy, int64_t OW, int KH, int KW, int R) \
{ \
	while (R > 0) \
	{ \
		int			r = R >= 8 ? 8 : R >= 4 ? 4 : R >= 2 ? 2 : 1; \
\
		for (int64_t i = 0; i < OW;) \
		{ \
			int64_t		nv = (OW - i + VW - 1) / VW, \
						steps = (nv + 3) / 4; \
			/* even steps of at most 4 vectors: 5 as 3 + 2, not 4 + 1 */ \
			int			v = (int) ((nv + steps - 1) / steps); \
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
}

/* One case of dw_rows' switch: a block of R rows x V vectors. */
#define DW_CASE(ISA, R, V) \
	case R * 8 + V: \
		dw_block_##ISA(src + r0 * rs, rs, ks, off, w, bias, y + r0 * ldy, ldy, i, OW, KH, KW, \
					   R, V); \
		break;

DEFINE_DW_BLOCK(avx512, CONV_AVX512, __m512, 16, _mm512_set1_ps, _mm512_loadu_ps,
				_mm512_fmadd_ps, _mm512_storeu_ps, conv_store_part_avx512)
DEFINE_DW_BLOCK(avx2, CONV_AVX2, __m256, 8, _mm256_set1_ps, _mm256_loadu_ps,
				_mm256_fmadd_ps, _mm256_storeu_ps, conv_store_part_avx2)

#endif							/* CONV_X86 */

/* The kernels of one instruction set. */
typedef struct DwKernels
{
	int			vw;				/* floats per vector */
	DwRowsFn	rows;
} DwKernels;

static const DwKernels dw_kernels_c = {1, dw_rows_c};
#ifdef CONV_X86
static const DwKernels dw_kernels_avx2 = {8, dw_rows_avx2};
static const DwKernels dw_kernels_avx512 = {16, dw_rows_avx512};
#endif

/* The kernels for the level in use (conv_simd.h's for the row moves). */
static const DwKernels *
dw_kernels(int level)
{
#ifdef CONV_X86
	if (level == ONNX_VEC_AVX512)
		return &dw_kernels_avx512;
	if (level == ONNX_VEC_AVX2)
		return &dw_kernels_avx2;
#endif
	return &dw_kernels_c;
}

/* ---- driver ---- */

/* The prepared rows and the plane they make (conv_simd.h). */
typedef struct DwPlan
{
	ConvRows	r;
	int			KH,
				KW;				/* r.v.k_h, r.v.k_w */
	int64_t		j0,
				j1;				/* prepared rows [j0, j1) hold input rows j - p_h */
} DwPlan;

/* Fill the plan for kernels of vector width vw; false when out of bounds. */
static bool
dw_plan(const ConvGeom *g, int vw, DwPlan *p)
{
	int64_t		bytes;

	if (g->k_size > DW_MAX_TAPS || !onnx_conv_rows_plan(g, vw, &p->r))
		return false;
	p->KH = (int) p->r.v.k_h;
	p->KW = (int) p->r.v.k_w;
	p->j0 = p->r.v.p_h < p->r.Hp ? p->r.v.p_h : p->r.Hp;
	p->j1 = p->r.v.p_h + p->r.v.in_h < p->r.Hp ? p->r.v.p_h + p->r.v.in_h : p->r.Hp;
	return !(onnx_mul_overflow_i64(p->r.Hp, p->r.rowlen, &bytes) ||
			 onnx_mul_overflow_i64(bytes, (int64_t) sizeof(float), &bytes) ||
			 bytes > DW_PLANE_BUDGET);
}

OnnxStatus
onnx_conv_depthwise_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x, const float *w,
						const float *b, const OnnxFusedAct *act, float *y, int64_t N, int64_t C,
						int64_t M, bool *handled)
{
	int			level = onnx_vec_isa();
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
	plane = p.r.v.out_h * p.r.v.out_w;
	rmax = dw_rows_per_call(p.r.v.out_w, k->vw);
	/* the prepared plane, then the tap offsets; bounded by dw_plan */
	if ((P = onnx_kernel_scratch(ctx, sizeof(float) * (size_t) (p.r.Hp * p.r.rowlen) +
								 sizeof(int64_t) * (size_t) p.KW, 1)) == NULL)
		return ctx->err->status;
	off = (int64_t *) (P + p.r.Hp * p.r.rowlen);
	onnx_conv_rows_offsets(&p.r, off);
	/* the pads: zero once, no channel's copy writes them */
	memset(P, 0, sizeof(float) * (size_t) (p.r.Hp * p.r.rowlen));

	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++)
		{
			const float *xc = x + (n * C + c) * p.r.v.in_h * p.r.v.in_w;
			float	   *yc = y + (n * M + c * mult) * plane;
			int64_t		done = 0;	/* rows the activation has seen */

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			for (int64_t j = p.j0; j < p.j1; j++)
				onnx_conv_rows_prepare(&p.r, v, xc + (j - p.r.v.p_h) * p.r.v.in_w, P + j * p.r.rowlen);
			for (int64_t oh = 0; oh < p.r.v.out_h;)
			{
				int			R = p.r.v.out_h - oh < rmax ? (int) (p.r.v.out_h - oh) : rmax;

				for (int64_t m = c * mult; m < (c + 1) * mult; m++)
					k->rows(P + oh * p.r.v.s_h * p.r.rowlen, p.r.v.s_h * p.r.rowlen, p.r.v.d_h * p.r.rowlen, off,
							w + m * taps, b ? b[m] : 0.0f, y + (n * M + m) * plane + oh * p.r.v.out_w,
							p.r.v.out_w, p.r.v.out_w, p.KH, p.KW, R);
				oh += R;
				/* activation over the finished rows while they are in cache */
				if (onnx_act_is_set(act) && ((oh - done) * p.r.v.out_w >= DW_ACT_BLOCK || oh == p.r.v.out_h))
				{
					for (int64_t j = 0; j < mult; j++)
						onnx_act_rows_f32(act, yc + j * plane + done * p.r.v.out_w, 1, (oh - done) * p.r.v.out_w,
										  0, NULL);
					done = oh;
				}
			}
		}
	return ONNX_OK;
}
