/*-------------------------------------------------------------------------
 *
 * pool_fast.c
 *	  float32 pooling kernels (see pool_fast.h).
 *
 * Windowed max and average pools are separable: the taps of the outer
 * spatial dims combine input rows into one row (max or sum), then each
 * output reduces K values of that row along the last dim.  Two layouts:
 *
 *	 - flat (1-D and 2-D planes, the CNN case): the plane is copied once
 *	   into a buffer padded on every side (-inf or 0), so every window is
 *	   whole; with stride 1 the vertical pass then runs as one loop over
 *	   all rows at once and the horizontal one over the whole buffer, long
 *	   loops even for 7x7 planes; with a larger stride the vertical pass
 *	   combines only the rows of output rows and the horizontal one takes
 *	   every sw-th column of all of them in one loop (rows padded to a
 *	   multiple of sw); averages divide by a count map made once per call.
 *	 - rows (3-D and more): per output row, the input rows of the valid
 *	   outer taps are combined in place and the windows inside the image
 *	   reduced by vector loops, the border columns one by one.
 *
 * Valid taps come from a table made once per call (no division in the
 * plane loops).  Max skips NaN (as onnxruntime does): a window of NaN
 * and pads only gives -inf.  Plane loops are compiled for AVX-512, AVX2
 * and portable C (ONNX_VEC_DISPATCH).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "pool_fast.h"
#include "slice_blocks.h"
#include "vecmath.h"

/*
 * Valid kernel taps [lo, hi) of one spatial dim for a window starting at
 * st (in input coordinates), and the window's length counting pads (*hp).
 */
static inline void
pool_taps(int64_t st, int64_t in, int64_t pe, int64_t d, int64_t k,
		  int64_t *lo, int64_t *hi, int64_t *hp)
{
	*lo = st >= 0 ? 0 : (-st + d - 1) / d;
	*hi = in - st > 0 ? (in - st + d - 1) / d : 0;
	*hp = in + pe - st > 0 ? (in + pe - st + d - 1) / d : 0;
	if (*hi > k)
		*hi = k;
	if (*hp > k)
		*hp = k;
	if (*hi < *lo)
		*hi = *lo;
}

/*
 * Output columns [*a, *b) whose window (last dim) lies inside the image:
 * ow * s - pb >= 0 and ow * s - pb + (k - 1) * d <= in - 1.
 */
static void
pool_interior(const ConvGeom *g, int64_t *a, int64_t *b)
{
	int			l = g->nsp - 1;
	int64_t		num = g->in[l] - 1 - (g->k[l] - 1) * g->d[l] + g->pb[l];

	*a = (g->pb[l] + g->s[l] - 1) / g->s[l];
	*b = num < 0 ? 0 : num / g->s[l] + 1;
	if (*a > g->out[l])
		*a = g->out[l];
	if (*b > g->out[l])
		*b = g->out[l];
	if (*b < *a)
		*b = *a;
}

/*
 * Valid taps of every window position of every spatial dim, computed once
 * per call so the plane loops do no division: for dim i and output
 * position o, taps [lo, hi) are valid and hp lie inside image or pads.
 */
typedef struct PoolTaps
{
	int64_t    *lo[ONNX_MAX_RANK];
	int64_t    *hi[ONNX_MAX_RANK];
	int64_t    *hp[ONNX_MAX_RANK];
} PoolTaps;

/* The taps of g into one allocation (*mem, to free), or NULL with the error set. */
static int64_t *
pool_taps_table(OnnxKernelCtx *ctx, const ConvGeom *g, PoolTaps *t)
{
	int64_t		total = 0,
			   *mem,
			   *p;

	for (int i = 0; i < g->nsp; i++)
		total += g->out[i];
	if ((mem = onnx_kernel_scratch(ctx, (size_t) (3 * total + 1), sizeof(int64_t))) == NULL)
		return NULL;
	p = mem;
	for (int i = 0; i < g->nsp; i++)
	{
		t->lo[i] = p;
		t->hi[i] = p + g->out[i];
		t->hp[i] = p + 2 * g->out[i];
		p += 3 * g->out[i];
		for (int64_t o = 0; o < g->out[i]; o++)
			pool_taps(o * g->s[i] - g->pb[i], g->in[i], g->pe[i], g->d[i], g->k[i],
					  &t->lo[i][o], &t->hi[i][o], &t->hp[i][o]);
	}
	return mem;
}

/* 16 floats and 16 int32 as generic vectors (the ISA's registers, or pieces). */
typedef float PoolV16 __attribute__((vector_size(64)));
typedef int32_t PoolV16i __attribute__((vector_size(64)));

/* The max of a and b, b when a is NaN: after a start at -inf, NaN never wins. */
#define MAXF(a, b) ((a) > (b) ? (a) : (b))

/*
 * d[j] = reduce over k < K of s[j + k * step], j < n: one loop for K of 2
 * and 3 (each value loaded once), K passes otherwise; max turns NaN into
 * -inf.
 */
ONNX_VEC_INLINE void
pool_streams(float *restrict d, const float *restrict s, int64_t n, int64_t step, int64_t K, bool is_max)
{
	const float *s1 = s + step,
			   *s2 = s + 2 * step;

	if (K == 2 && is_max)
		for (int64_t j = 0; j < n; j++)
			d[j] = MAXF(s1[j], MAXF(s[j], -INFINITY));
	else if (K == 2)
		for (int64_t j = 0; j < n; j++)
			d[j] = s[j] + s1[j];
	else if (K == 3 && is_max)
		for (int64_t j = 0; j < n; j++)
			d[j] = MAXF(s2[j], MAXF(s1[j], MAXF(s[j], -INFINITY)));
	else if (K == 3)
		for (int64_t j = 0; j < n; j++)
			d[j] = (s[j] + s1[j]) + s2[j];
	else
	{
		if (is_max)
			for (int64_t j = 0; j < n; j++)
				d[j] = MAXF(s[j], -INFINITY);
		else
			for (int64_t j = 0; j < n; j++)
				d[j] = s[j];
		for (int64_t k = 1; k < K; k++)
		{
			const float *sk = s + k * step;

			if (is_max)
				for (int64_t j = 0; j < n; j++)
					d[j] = MAXF(sk[j], d[j]);
			else
				for (int64_t j = 0; j < n; j++)
					d[j] += sk[j];
		}
	}
}

/*
 * yr[0..n) = reduce over k < K of vb[i * SV + k * D] (the window columns,
 * no NaN among them): one loop for K of 2 and 3, K passes otherwise.
 */
#define HPASS(SV) \
	do { \
		const float *v1 = vb + D, \
				   *v2 = vb + 2 * D; \
		if (K == 3 && is_max) \
			for (int64_t i = 0; i < n; i++) \
				yr[i] = MAXF(v2[i * (SV)], MAXF(v1[i * (SV)], vb[i * (SV)])); \
		else if (K == 3) \
			for (int64_t i = 0; i < n; i++) \
				yr[i] = (vb[i * (SV)] + v1[i * (SV)]) + v2[i * (SV)]; \
		else if (K == 2 && is_max) \
			for (int64_t i = 0; i < n; i++) \
				yr[i] = MAXF(v1[i * (SV)], vb[i * (SV)]); \
		else \
		{ \
			for (int64_t i = 0; i < n; i++) \
				yr[i] = vb[i * (SV)]; \
			for (int64_t k = 1; k < K; k++) \
			{ \
				const float *vk = vb + k * D; \
				if (is_max) \
					for (int64_t i = 0; i < n; i++) \
						yr[i] = MAXF(vk[i * (SV)], yr[i]); \
				else \
					for (int64_t i = 0; i < n; i++) \
						yr[i] += vk[i * (SV)]; \
			} \
		} \
	} while (0)

/*
 * Rows layout, one output row: yr (oW) from the combined row v (W, no
 * NaN when is_max), vcnt valid outer taps (pcnt counting pads), interior
 * columns [a, b).
 */
ONNX_VEC_INLINE void
pool_row(const ConvGeom *g, const PoolTaps *t, bool is_max, bool include_pad, int64_t a, int64_t b,
		 const float *v, int64_t vcnt, int64_t pcnt, float *yr)
{
	int			l = g->nsp - 1;
	int64_t		oW = g->out[l],
				K = g->k[l],
				S = g->s[l],
				D = g->d[l],
				P = g->pb[l];

	if (b > a)
	{
		const float *vb = v + a * S - P;
		int64_t		n = b - a;
		float	   *yi = yr;

		yr += a;
		if (S == 1)
			HPASS(1);
		else if (S == 2)
			HPASS(2);
		else
			HPASS(S);
		if (!is_max)
		{
			float		cnt = (float) ((include_pad ? pcnt : vcnt) * K);

			for (int64_t i = 0; i < n; i++)
				yr[i] /= cnt;
		}
		yr = yi;
	}
	for (int64_t ow = 0; ow < oW; ow++)
	{
		int64_t		sw,
					lo,
					hi;
		float		acc;

		if (ow == a && b > a)
			ow = b;				/* past the interior */
		if (ow >= oW)
			break;
		sw = ow * S - P;
		lo = t->lo[l][ow];
		hi = t->hi[l][ow];
		if (is_max)
		{
			acc = -INFINITY;
			for (int64_t k = lo; k < hi; k++)
				acc = MAXF(v[sw + k * D], acc);
		}
		else
		{
			acc = 0;
			for (int64_t k = lo; k < hi; k++)
				acc += v[sw + k * D];
			acc /= (float) (include_pad ? pcnt * t->hp[l][ow] : vcnt * (hi - lo));
		}
		yr[ow] = acc;
	}
}

/*
 * Rows layout, one plane: xp (in...) -> yp (out...); v is scratch for
 * one input row (W floats).
 */
ONNX_VEC_INLINE void
pool_rows_body(const ConvGeom *g, const PoolTaps *t, bool is_max, bool include_pad, int64_t a, int64_t b,
			   const float *xp, float *yp, float *v)
{
	int			no = g->nsp - 1;	/* outer spatial dims */
	int64_t		W = g->in[no],
				oW = g->out[no],
				rstride[ONNX_MAX_RANK],
				o[ONNX_MAX_RANK] = {0},
				orows = 1;

	rstride[no] = 1;
	for (int i = no - 1; i >= 0; i--)
		rstride[i] = rstride[i + 1] * g->in[i + 1];
	for (int i = 0; i < no; i++)
		orows *= g->out[i];
	for (int64_t orow = 0; orow < orows; orow++)
	{
		int64_t		start[ONNX_MAX_RANK],
					klo[ONNX_MAX_RANK],
					khi[ONNX_MAX_RANK],
					kk[ONNX_MAX_RANK],
					vcnt = 1,
					pcnt = 1;
		const float *vr = NULL;
		bool		empty = false;

		for (int i = 0; i < no; i++)
		{
			start[i] = o[i] * g->s[i] - g->pb[i];
			klo[i] = t->lo[i][o[i]];
			khi[i] = t->hi[i][o[i]];
			vcnt *= khi[i] - klo[i];
			pcnt *= t->hp[i][o[i]];
			empty |= khi[i] <= klo[i];
			kk[i] = klo[i];
		}
		if (empty)
		{
			/* no valid row: -inf, or 0 / count */
			for (int64_t w = 0; w < W; w++)
				v[w] = is_max ? -INFINITY : 0.0f;
			pool_row(g, t, is_max, include_pad, 0, 0, v, 0, pcnt, yp + orow * oW);
		}
		else if (no == 1)
		{
			/* 2-D: the valid rows are evenly spaced */
			const float *r0 = xp + (start[0] + klo[0] * g->d[0]) * W;

			if (vcnt == 1 && !is_max)
				vr = r0;		/* a sum of one row: read in place */
			else
			{
				pool_streams(v, r0, W, g->d[0] * W, vcnt, is_max);
				vr = v;
			}
			pool_row(g, t, is_max, include_pad, a, b, vr, vcnt, pcnt, yp + orow * oW);
		}
		else
		{
			/* combine the rows of every valid outer tap into v */
			for (;;)
			{
				const float *r = xp;
				int			i;

				for (i = 0; i < no; i++)
					r += (start[i] + kk[i] * g->d[i]) * rstride[i];
				if (vr == NULL && !is_max)
					vr = r;		/* a sum's first row, read in place */
				else if (vr == NULL)
				{
					for (int64_t w = 0; w < W; w++)
						v[w] = MAXF(r[w], -INFINITY);	/* NaN to -inf */
					vr = v;
				}
				else if (is_max)
				{
					for (int64_t w = 0; w < W; w++)
						v[w] = MAXF(r[w], vr[w]);
					vr = v;
				}
				else
				{
					const float *p = vr;

					for (int64_t w = 0; w < W; w++)
						v[w] = p[w] + r[w];
					vr = v;
				}
				for (i = no - 1; i >= 0; i--)
				{
					if (++kk[i] < khi[i])
						break;
					kk[i] = klo[i];
				}
				if (i < 0)
					break;
			}
			pool_row(g, t, is_max, include_pad, a, b, vr, vcnt, pcnt, yp + orow * oW);
		}
		onnx_index_next(o, g->out, no);
	}
}

ONNX_VEC_DISPATCH(static, pool_rows, pool_rows_body,
				  (const ConvGeom *g, const PoolTaps *t, bool is_max, bool include_pad, int64_t a, int64_t b,
				   const float *xp, float *yp, float *v),
				  (g, t, is_max, include_pad, a, b, xp, yp, v))

/*
 * Flat layout of 1-D and 2-D planes: each X plane (H, W) sits at (pt, pl)
 * inside a block (Hp, Wp) large enough for every window, the rest of the
 * block filled; G planes' blocks follow one another in one buffer.
 */
typedef struct PoolFlat
{
	int64_t		H,
				W,
				oH,
				oW,
				Hp,
				Wp,
				pt,
				pl,
				kh,
				kw,
				sh,
				sw,
				dh,
				dw;
} PoolFlat;

/*
 * z[i] = reduce over k < K of v[i * sw + k * dw], i < n (v holds no NaN):
 * stride 2 with taps next to each other (3x3 and 2x2 windows of stride 2)
 * as loops of constant stride, which compile to vector loads and
 * permutes; other strides one element at a time.
 */
ONNX_VEC_INLINE void
pool_hstride(float *restrict z, const float *restrict v, int64_t n, int64_t sw, int64_t dw,
			 int64_t K, bool is_max)
{
	if (sw == 2 && dw == 1 && K == 3 && is_max)
	{
		int64_t		i = 0;

		/*
		 * 16 outputs from v[2i, 2i + 32]: the even and odd columns split
		 * by shuffles (permutes at AVX-512; gcc leaves the strided loop
		 * scalar), the column after each window's first from the evens
		 * moved down one
		 */
		for (; i + 16 <= n; i += 16)
		{
			PoolV16		a,
						b,
						e,
						o,
						e2,
						m;
			PoolV16i	gt;

			memcpy(&a, v + 2 * i, sizeof(a));
			memcpy(&b, v + 2 * i + 16, sizeof(b));
			e = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
			o = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
			e2 = e;
			e2[0] = v[2 * i + 32];
			e2 = __builtin_shufflevector(e2, e2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0);
			gt = o > e;
			m = (PoolV16) ((gt & (PoolV16i) o) | (~gt & (PoolV16i) e));
			gt = e2 > m;
			m = (PoolV16) ((gt & (PoolV16i) e2) | (~gt & (PoolV16i) m));
			memcpy(z + i, &m, sizeof(m));
		}
		for (; i < n; i++)
			z[i] = MAXF(v[2 * i + 2], MAXF(v[2 * i + 1], v[2 * i]));
	}
	else if (sw == 2 && dw == 1 && K == 3)
		for (int64_t i = 0; i < n; i++)
			z[i] = (v[2 * i] + v[2 * i + 1]) + v[2 * i + 2];
	else if (sw == 2 && dw == 1 && K == 2 && is_max)
		for (int64_t i = 0; i < n; i++)
			z[i] = MAXF(v[2 * i + 1], v[2 * i]);
	else if (sw == 2 && dw == 1 && K == 2)
		for (int64_t i = 0; i < n; i++)
			z[i] = v[2 * i] + v[2 * i + 1];
	else
		for (int64_t i = 0; i < n; i++)
		{
			const float *vi = v + i * sw;
			float		acc = vi[0];

			for (int64_t k = 1; k < K; k++)
				acc = is_max ? MAXF(vi[k * dw], acc) : acc + vi[k * dw];
			z[i] = acc;
		}
}

/*
 * Flat layout with a stride above 1, G planes xp (G, H, W) -> yp (G, oH,
 * oW), read in place: per output row the valid input rows (taps [rlo,
 * rhi) of the vertical window, all of a 1-D plane when rlo is NULL)
 * combine into a row of V (Wp floats, the image at column pl; the pad
 * columns hold the fill value already, and nothing here writes them),
 * then every sw-th column's kw taps reduce straight into the output row;
 * averages divide by cntc (oH, oW).  No padded copy of the planes and
 * no output copy: on small maps (a ResNet's 32x32 max pool) those copies
 * cost more than the pooling.
 */
ONNX_VEC_INLINE void
pool_flat_strided(const PoolFlat *f, bool is_max, const float *cntc, const int64_t *rlo,
				  const int64_t *rhi, int64_t G, const float *xp, float *yp, float *V)
{
	int64_t		oHW = f->oH * f->oW;

	for (int64_t g = 0; g < G; g++)
		for (int64_t oh = 0; oh < f->oH; oh++)
		{
			float	   *vr = V + oh * f->Wp,
					   *yo = yp + g * oHW + oh * f->oW;
			int64_t		lo = rlo ? rlo[oh] : 0,
						cnt = rlo ? rhi[oh] - lo : 1;

			if (cnt > 0)
				pool_streams(vr + f->pl, xp + (g * f->H + oh * f->sh - f->pt + lo * f->dh) * f->W, f->W,
							 f->dh * f->W, cnt, is_max);
			else
				for (int64_t w = 0; w < f->W; w++)
					vr[f->pl + w] = is_max ? -INFINITY : 0.0f;
			pool_hstride(yo, vr, f->oW, f->sw, f->dw, f->kw, is_max);
			if (!is_max)
				for (int64_t ow = 0; ow < f->oW; ow++)
					yo[ow] /= cntc[oh * f->oW + ow];
		}
}

/*
 * Flat layout, G planes: xp (G, H, W) -> yp (G, oH, oW).  Pbuf, V, Z are
 * scratch of G blocks; Pbuf's pads hold the fill value already (only the
 * image parts are written here); without pads Pbuf is NULL and the
 * planes are read in place.  The vertical pass combines the kh
 * rows below every row of the whole buffer (one loop; max turns NaN into
 * -inf on the way), the horizontal one the kw columns right of every
 * element (one loop), averages divide by cntb (one block: the count at
 * each window's corner, 1 elsewhere); then the output positions (every
 * sh-th row, sw-th column) are picked out.  Strides above 1 compute
 * positions no window starts at: cheaper than short loops on small planes.
 */
ONNX_VEC_INLINE void
pool_flat_body(const PoolFlat *f, bool is_max, const float *cntb, const int64_t *rlo,
			   const int64_t *rhi, int64_t G, const float *xp, float *yp, float *Pbuf, float *V,
			   float *Z)
{
	int64_t		Wp = f->Wp,
				blk = f->Hp * Wp,
				nv = G * blk - (f->kh - 1) * f->dh * Wp,
				oHW = f->oH * f->oW;
	const float *P = Pbuf ? Pbuf : xp;
	const float *vsrc = P;

	if (f->sh > 1 || f->sw > 1)
	{
		pool_flat_strided(f, is_max, cntb, rlo, rhi, G, xp, yp, V);
		return;
	}
	for (int64_t g = 0; g < G && Pbuf; g++)
		for (int64_t h = 0; h < f->H; h++)
			memcpy(Pbuf + g * blk + (f->pt + h) * Wp + f->pl, xp + (g * f->H + h) * f->W,
				   sizeof(float) * (size_t) f->W);
	/* V[j] = reduce over the kh rows from j */
	if (f->kh > 1 || is_max)
	{
		pool_streams(V, P, nv, f->dh * Wp, f->kh, is_max);
		vsrc = V;
	}
	/* Z[j] = reduce over the kw columns from j; then the output rows */
	pool_streams(Z, vsrc, nv - (f->kw - 1) * f->dw, f->dw, f->kw, is_max);
	for (int64_t g = 0; g < G && !is_max; g++)
	{
		float	   *zb = Z + g * blk;
		int64_t		m = g == G - 1 ? nv - (f->kw - 1) * f->dw - g * blk : blk;

		for (int64_t j = 0; j < m; j++)
			zb[j] /= cntb[j];
	}
	for (int64_t g = 0; g < G; g++)
		for (int64_t oh = 0; oh < f->oH; oh++)
			memcpy(yp + g * oHW + oh * f->oW, Z + g * blk + oh * Wp, sizeof(float) * (size_t) f->oW);
}

ONNX_VEC_DISPATCH(static, pool_flat, pool_flat_body,
				  (const PoolFlat *f, bool is_max, const float *cntb, const int64_t *rlo,
				   const int64_t *rhi, int64_t G, const float *xp, float *yp, float *Pbuf, float *V,
				   float *Z),
				  (f, is_max, cntb, rlo, rhi, G, xp, yp, Pbuf, V, Z))

/* Flat layout of g (1 or 2 spatial dims). */
static void
pool_flat_geom(const ConvGeom *g, PoolFlat *f)
{
	int			l = g->nsp - 1;
	int64_t		need;

	f->H = l ? g->in[0] : 1;
	f->oH = l ? g->out[0] : 1;
	f->pt = l ? g->pb[0] : 0;
	f->kh = l ? g->k[0] : 1;
	f->sh = l ? g->s[0] : 1;
	f->dh = l ? g->d[0] : 1;
	f->W = g->in[l];
	f->oW = g->out[l];
	f->pl = g->pb[l];
	f->kw = g->k[l];
	f->sw = g->s[l];
	f->dw = g->d[l];
	/* every window whole: the last window's last tap inside the block */
	need = (f->oH - 1) * f->sh + (f->kh - 1) * f->dh + 1;
	f->Hp = need > f->pt + f->H ? need : f->pt + f->H;
	need = (f->oW - 1) * f->sw + (f->kw - 1) * f->dw + 1;
	f->Wp = need > f->pl + f->W ? need : f->pl + f->W;
	/* strided: whole rows of Wp / sw outputs (pool_flat_strided) */
	if (f->sh > 1 || f->sw > 1)
		f->Wp += (f->sw - f->Wp % f->sw) % f->sw;
}

/*
 * Planes narrower than this take the flat layout (the rows layout's
 * per-row loops are too short to vectorise), in groups of about
 * POOL_FLAT_GROUP floats per buffer.
 */
#define POOL_FLAT_MAX_W 64
#define POOL_FLAT_GROUP 8192

/* Flat layout over NC planes; false (nothing done) when it does not apply. */
static OnnxStatus
pool_flat_planes(OnnxKernelCtx *ctx, const ConvGeom *g, const PoolTaps *t, bool is_max, bool include_pad,
				 const float *x, float *y, int64_t NC, bool *done)
{
	PoolFlat	f;
	int64_t		G,
				blk;
	float	   *buf,
			   *cntb;
	int			l = g->nsp - 1;
	bool		inplace,
				strided;

	*done = false;
	if (g->nsp > 2 || g->in[l] >= POOL_FLAT_MAX_W)
		return ONNX_OK;
	pool_flat_geom(g, &f);
	if (f.Wp > 4 * POOL_FLAT_MAX_W || f.Hp > POOL_FLAT_GROUP / f.Wp)
		return ONNX_OK;			/* a tall or much padded plane: rows */
	strided = f.sh > 1 || f.sw > 1;
	blk = f.Hp * f.Wp;
	G = POOL_FLAT_GROUP / blk;
	G = G < 1 ? 1 : G > NC ? NC : G;
	if ((buf = onnx_kernel_scratch(ctx, (size_t) (3 * G * blk + blk + 1), sizeof(float))) == NULL)
		return ctx->err->status;
	cntb = buf + 3 * G * blk;
	/* planes that need no pad are read where they are */
	inplace = strided || (f.pt == 0 && f.pl == 0 && f.Hp == f.H && f.Wp == f.W);
	for (int64_t i = 0; i < G * blk && !inplace; i++)
		buf[i] = is_max ? -INFINITY : 0.0f;
	/* strided: the pad columns of the combined rows (pool_flat_strided) */
	for (int64_t i = 0; i < f.oH * f.Wp && strided; i++)
		buf[G * blk + i] = is_max ? -INFINITY : 0.0f;
	for (int64_t i = 0; i < blk; i++)
		cntb[i] = 1.0f;
	for (int64_t oh = 0; oh < f.oH; oh++)
		for (int64_t ow = 0; ow < f.oW; ow++)
		{
			int64_t		ch = l ? (include_pad ? t->hp[0][oh] : t->hi[0][oh] - t->lo[0][oh]) : 1,
						cw = include_pad ? t->hp[l][ow] : t->hi[l][ow] - t->lo[l][ow];

			/* at each window's corner; compact (oH, oW) when strided */
			cntb[strided ? oh * f.oW + ow : oh * f.sh * f.Wp + ow * f.sw] = (float) (ch * cw);
		}
	for (int64_t p = 0; p < NC; p += G)
	{
		int64_t		n = NC - p < G ? NC - p : G;

		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		pool_flat(&f, is_max, cntb, l ? t->lo[0] : NULL, l ? t->hi[0] : NULL, n, x + p * g->in_size,
				  y + p * g->out_size, inplace ? NULL : buf, buf + G * blk, buf + 2 * G * blk);
	}
	*done = true;
	return ONNX_OK;
}

OnnxStatus
onnx_pool_f32(OnnxKernelCtx *ctx, const ConvGeom *g, bool is_max, bool include_pad,
			  const float *x, float *y, int64_t NC)
{
	int64_t		a,
				b,
			   *mem;
	float	   *v;
	PoolTaps	t;
	bool		whole = true,
				done;
	OnnxStatus	st = ONNX_OK;

	/* one window holding each whole plane: a global pool (the mean rescaled for pads) */
	for (int i = 0; i < g->nsp; i++)
		whole &= g->out[i] == 1 && g->d[i] == 1 && g->k[i] - g->pb[i] >= g->in[i] && g->in[i] > 0;
	if (whole)
	{
		double		cnt = 1;

		if ((st = onnx_global_pool_f32(ctx, is_max, x, y, NC, g->in_size)) != ONNX_OK || is_max || !include_pad)
			return st;
		for (int i = 0; i < g->nsp; i++)
		{
			int64_t		lo,
						hi,
						hp;

			pool_taps(-g->pb[i], g->in[i], g->pe[i], 1, g->k[i], &lo, &hi, &hp);
			cnt *= (double) hp;
		}
		for (int64_t p = 0; p < NC; p++)
			y[p] = (float) ((double) y[p] * ((double) g->in_size / cnt));
		return ONNX_OK;
	}
	if ((mem = pool_taps_table(ctx, g, &t)) == NULL)
		return ctx->err->status;
	if ((st = pool_flat_planes(ctx, g, &t, is_max, include_pad, x, y, NC, &done)) != ONNX_OK || done)
		return st;
	if ((v = onnx_kernel_scratch(ctx, (size_t) (g->in[g->nsp - 1] + 1), sizeof(float))) == NULL)
		return ctx->err->status;
	pool_interior(g, &a, &b);
	for (int64_t nc = 0; nc < NC; nc++)
	{
		if ((nc & 15) == 0 && onnx_kernel_should_abort(ctx))
		{
			st = onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			break;
		}
		pool_rows(g, &t, is_max, include_pad, a, b, x + nc * g->in_size, y + nc * g->out_size, v);
	}
	return st;
}

OnnxStatus
onnx_pool2d_max_idx_f32(OnnxKernelCtx *ctx, const ConvGeom *g, bool col_major,
						const float *x, float *y, int64_t *idx, int64_t NC)
{
	int64_t		H = g->in[0],
				W = g->in[1],
				oH = g->out[0],
				oW = g->out[1];
	int64_t    *mem;
	PoolTaps	t;

	if ((mem = pool_taps_table(ctx, g, &t)) == NULL)
		return ctx->err->status;
	for (int64_t nc = 0; nc < NC; nc++)
	{
		const float *xp = x + nc * g->in_size;

		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		for (int64_t oh = 0; oh < oH; oh++)
		{
			int64_t		sh = oh * g->s[0] - g->pb[0],
						hlo = t.lo[0][oh],
						hhi = t.hi[0][oh];

			for (int64_t ow = 0; ow < oW; ow++)
			{
				int64_t		sw = ow * g->s[1] - g->pb[1],
							best = -1,
							o = nc * g->out_size + oh * oW + ow;
				float		m = -INFINITY;

				for (int64_t kh = hlo; kh < hhi; kh++)
				{
					int64_t		h = sh + kh * g->d[0];

					for (int64_t kw = t.lo[1][ow]; kw < t.hi[1][ow]; kw++)
					{
						int64_t		w = sw + kw * g->d[1];
						float		val = xp[h * W + w];

						if (val > m)	/* NaN never wins */
						{
							m = val;
							best = col_major ? w * H + h : h * W + w;
						}
					}
				}
				y[o] = m;
				idx[o] = best < 0 ? -1 : best + nc * g->in_size;
			}
		}
	}
	return ONNX_OK;
}

/* Max or mean of each of the NC planes of S values (sums in double). */
ONNX_VEC_INLINE void
global_pool_body(bool is_max, const float *x, float *y, int64_t NC, int64_t S)
{
	for (int64_t p = 0; p < NC; p++)
	{
		const float *xp = x + p * S;
		int64_t		i = 0;

		if (is_max)
		{
			float		acc[16],
						m;

			/* lanes start at the first value: a NaN there wins, later ones never */
			for (int j = 0; j < 16; j++)
				acc[j] = xp[0];
			for (; i + 16 <= S; i += 16)
				for (int j = 0; j < 16; j++)
					acc[j] = xp[i + j] > acc[j] ? xp[i + j] : acc[j];
			m = acc[0];
			for (int j = 1; j < 16; j++)
				m = acc[j] > m ? acc[j] : m;
			for (; i < S; i++)
				m = xp[i] > m ? xp[i] : m;
			y[p] = m;
		}
		else
		{
			double		acc[8] = {0, 0, 0, 0, 0, 0, 0, 0},
						sum;

			for (; i + 8 <= S; i += 8)
				for (int j = 0; j < 8; j++)
					acc[j] += xp[i + j];
			sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
			for (; i < S; i++)
				sum += xp[i];
			y[p] = (float) (sum / (double) S);
		}
	}
}

ONNX_VEC_DISPATCH(static, global_pool_planes, global_pool_body,
				  (bool is_max, const float *x, float *y, int64_t NC, int64_t S),
				  (is_max, x, y, NC, S))

OnnxStatus
onnx_global_pool_f32(OnnxKernelCtx *ctx, bool is_max, const float *x, float *y,
					 int64_t NC, int64_t S)
{
	if (S == 0)
	{
		/* empty planes: the max of nothing, 0 / 0 */
		for (int64_t p = 0; p < NC; p++)
			y[p] = is_max ? -INFINITY : NAN;
		return ONNX_OK;
	}
	SLICE_BLOCKS(ctx, NC, S, p, n, global_pool_planes(is_max, x + p * S, y + p, n, S));
	return ONNX_OK;
}
