/*-------------------------------------------------------------------------
 *
 * conv_transpose.c
 *	  float32 ConvTranspose of 1 or 2 spatial dims (see conv_transpose.h).
 *
 *	  Per image, group and block of input rows [ih0, ih1):
 *
 *		col (Mg*KH*KW, rows*W) = W_g^T (Mg*KH*KW, Cg) @ X_g[:, ih0*W .. ih1*W) (Cg, rows*W)
 *
 *	  then col2im: col row (m, kh, kw) at input (ih, iw) lands on output
 *	  (ih*sh - ph + kh*dh, iw*sw - pw + kw*dw).  When the kernel equals
 *	  the stride (no dilation) every output pixel receives at most one
 *	  value, so the block's output rows are written directly (a pixel
 *	  shuffle, no zeroing and no adds); otherwise the image is zeroed and
 *	  the values added.  Output rows are final as soon as no later input
 *	  row reaches them, and the bias and the fused activation run over
 *	  them then, while they are in cache.  The column block is bounded
 *	  (CT_COL_BUDGET bytes).
 *
 *-------------------------------------------------------------------------
 */
#include "conv_simd.h"
#include "conv_transpose.h"
#include "fused_act.h"

#define CT_COL_BUDGET ((int64_t) 1 << 20)	/* bytes of the column block */
#define CT_DIM_MAX ((int64_t) INT32_MAX)	/* GEMM dimensions */

/* A 2-D view of the geometry (1-D as H = OH = KH = 1). */
typedef struct CtPlan
{
	int64_t		H,
				W,
				OH,
				OW,
				KH,
				KW,
				sh,
				sw,
				dh,
				dw,
				ph,
				pw;
	bool		shuffle;		/* kernel == stride, no dilation: no overlaps */
} CtPlan;

static void
ct_plan(const ConvGeom *g, CtPlan *p)
{
	bool		two = g->nsp == 2;

	p->H = two ? g->out[0] : 1;
	p->W = g->out[two];
	p->OH = two ? g->in[0] : 1;
	p->OW = g->in[two];
	p->KH = two ? g->k[0] : 1;
	p->KW = g->k[two];
	p->sh = two ? g->s[0] : 1;
	p->sw = g->s[two];
	p->dh = two ? g->d[0] : 1;
	p->dw = g->d[two];
	p->ph = two ? g->pb[0] : 0;
	p->pw = g->pb[two];
	p->shuffle = p->KH == p->sh && p->KW == p->sw && p->dh == 1 && p->dw == 1;
}

/* Input columns iw with 0 <= iw*sw + off < OW, as [*lo, *hi). */
static void
ct_cols(const CtPlan *p, int64_t off, int64_t *lo, int64_t *hi)
{
	*lo = off >= 0 ? 0 : (-off + p->sw - 1) / p->sw;
	*hi = p->OW - off <= 0 ? 0 : (p->OW - off + p->sw - 1) / p->sw;
	if (*hi > p->W)
		*hi = p->W;
	if (*lo > *hi)
		*lo = *hi;
}

/*
 * Pixel shuffle of one output row: for kw < KW,
 * yr[iw*KW + kw - pw] = c[kw][iw] (KW == sw), zeros where no input lands.
 */
static void
ct_shuffle_row(const CtPlan *p, const ConvVec *v, const float *c, int64_t ldc, float *yr)
{
	int64_t		covered = p->W * p->sw - p->pw;	/* outputs some input reaches */

	if (covered < 0)
		covered = 0;
	if (covered > p->OW)
		covered = p->OW;
	if (p->KW == 2 && p->pw == 0)
	{
		const float *a = c,
				   *b = c + ldc;
		int64_t		n = covered / 2;

		v->interleave2(yr, a, b, n);
		if (covered & 1)
			yr[covered - 1] = a[n];
	}
	else
		for (int64_t kw = 0; kw < p->KW; kw++)
		{
			int64_t		lo,
						hi;
			const float *ck = c + kw * ldc;

			ct_cols(p, kw - p->pw, &lo, &hi);
			for (int64_t iw = lo; iw < hi; iw++)
				yr[iw * p->sw + kw - p->pw] = ck[iw];
		}
	memset(yr + covered, 0, sizeof(float) * (size_t) (p->OW - covered));
}

/* yr[iw*sw + off] += c[iw] for the iw that land inside the row. */
static void
ct_add_row(const CtPlan *p, const float *c, int64_t off, float *yr)
{
	int64_t		lo,
				hi;

	ct_cols(p, off, &lo, &hi);
	if (p->sw == 1)
	{
		float	   *restrict d = yr + off;

		for (int64_t iw = lo; iw < hi; iw++)
			d[iw] += c[iw];
	}
	else
		for (int64_t iw = lo; iw < hi; iw++)
			yr[iw * p->sw + off] += c[iw];
}

/*
 * col2im of the block of input rows [ih0, ih1): col row (m, kh, kw) holds
 * (ih1 - ih0) * W values, rows ld apart; yg (Mg, OH, OW).  A pixel
 * shuffle writes whole output rows and finishes them at once (bias bg,
 * act); otherwise values are added and the caller finishes the rows.
 */
static void
ct_col2im(const CtPlan *p, const ConvVec *v, const float *col, int64_t ld, int64_t Mg,
		  int64_t ih0, int64_t ih1, float *yg, const float *bg, const OnnxFusedAct *act)
{
	int64_t		plane = p->OH * p->OW;

	for (int64_t m = 0; m < Mg; m++)
		for (int64_t kh = 0; kh < p->KH; kh++)
			for (int64_t ih = ih0; ih < ih1; ih++)
			{
				int64_t		oh = ih * p->sh - p->ph + kh * p->dh;
				const float *c = col + ((m * p->KH + kh) * p->KW) * ld + (ih - ih0) * p->W;
				float	   *yr = yg + m * plane + oh * p->OW;

				if (oh < 0 || oh >= p->OH)
					continue;
				if (p->shuffle)
				{
					ct_shuffle_row(p, v, c, ld, yr);
					onnx_act_rows_f32(act, yr, 1, p->OW, 0, bg ? bg + m : NULL);
				}
				else
					for (int64_t kw = 0; kw < p->KW; kw++)
						ct_add_row(p, c + kw * ld, kw * p->dw - p->pw, yr);
			}
}

OnnxStatus
onnx_conv_transpose_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x, const float *w,
						const float *b, const OnnxFusedAct *act, float *y, int64_t N,
						int64_t C, int64_t M, int64_t group, bool *handled)
{
	const ConvVec *v = onnx_conv_vec(onnx_simd_level());
	CtPlan		p;
	int64_t		Cg = C / group,
				Mg = M / group,
				Kr,
				P,
				plane,
				rows,
				ld;
	float	   *col;

	*handled = false;
	if (g->nsp < 1 || g->nsp > 2)
		return ONNX_OK;
	*handled = true;
	ct_plan(g, &p);
	P = p.H * p.W;
	plane = p.OH * p.OW;
	if (onnx_mul_overflow_i64(Mg, p.KH * p.KW, &Kr))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "ConvTranspose kernel size overflows");
	if (Kr > CT_DIM_MAX || P > CT_DIM_MAX || Cg > CT_DIM_MAX)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "ConvTranspose matrix dimensions exceed 2^31");
	if (P == 0 || Kr == 0)
	{
		/* no input reaches the output: act(bias) everywhere */
		memset(y, 0, sizeof(float) * (size_t) (N * M * plane));
		for (int64_t n = 0; n < N; n++)
			for (int64_t m = 0; m < M; m++)
				onnx_act_rows_f32(act, y + (n * M + m) * plane, 1, plane, 0, b ? b + m : NULL);
		return ONNX_OK;
	}
	/* input rows per block: the column block within budget, at least one row */
	rows = CT_COL_BUDGET / (int64_t) sizeof(float) / Kr / p.W;
	if (rows < 1)
		rows = 1;
	if (rows > p.H)
		rows = p.H;
	if (onnx_mul_overflow_i64(rows * p.W, Kr, &ld))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "ConvTranspose column block overflows");
	if ((col = onnx_kernel_alloc(ctx, sizeof(float) * (size_t) ld)) == NULL)
		return ctx->err->status;

	for (int64_t n = 0; n < N; n++)
		for (int64_t gi = 0; gi < group; gi++)
		{
			const float *xg = x + (n * C + gi * Cg) * P;
			const float *wg = w + gi * Cg * Kr;
			float	   *yg = y + (n * M + gi * Mg) * plane;
			const float *bg = b ? b + gi * Mg : NULL;
			int64_t		done = 0;	/* output rows finished (bias and act applied) */

			if (!p.shuffle)
				memset(yg, 0, sizeof(float) * (size_t) (Mg * plane));
			for (int64_t ih0 = 0; ih0 < p.H; ih0 += rows)
			{
				int64_t		ih1 = ih0 + rows < p.H ? ih0 + rows : p.H,
							nc = (ih1 - ih0) * p.W,
							final;

				if (onnx_kernel_should_abort(ctx))
				{
					onnx_kernel_free(ctx, col);
					return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
				}
				/* col (Kr, nc) = W_g^T (Kr, Cg) @ X_g[:, ih0*W ..] (Cg, nc) */
				onnx_blas_sgemm(true, false, Kr, nc, Cg, 1.0f, wg, Kr, xg + ih0 * p.W, P, 0.0f,
								col, nc);
				ct_col2im(&p, v, col, nc, Mg, ih0, ih1, yg, bg, act);
				if (p.shuffle)
				{
					/* rows no input reaches: act(bias) */
					int64_t		reached = p.H * p.sh - p.ph;

					if (ih1 < p.H || reached >= p.OH)
						continue;
					if (reached < 0)
						reached = 0;
					for (int64_t m = 0; m < Mg; m++)
					{
						float	   *rest = yg + m * plane + reached * p.OW;

						memset(rest, 0, sizeof(float) * (size_t) ((p.OH - reached) * p.OW));
						onnx_act_rows_f32(act, rest, 1, (p.OH - reached) * p.OW, 0, bg ? bg + m : NULL);
					}
					continue;
				}
				/* rows no later input row reaches are final */
				final = ih1 == p.H ? p.OH : ih1 * p.sh - p.ph;
				if (final > p.OH)
					final = p.OH;
				if (final > done)
				{
					for (int64_t m = 0; m < Mg; m++)
						onnx_act_rows_f32(act, yg + m * plane + done * p.OW, 1,
										  (final - done) * p.OW, 0, bg ? bg + m : NULL);
					done = final;
				}
			}
		}
	onnx_kernel_free(ctx, col);
	return ONNX_OK;
}
