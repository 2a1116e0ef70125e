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
#define CT_ROW_MAX ((int64_t) 4 << 20)	/* floats of one input row's column block */
#define CT_DIM_MAX ((int64_t) INT32_MAX)	/* GEMM dimensions */
#define CT_FEW_ROWS 8			/* col rows computed by ct_few_rows, not GEMM */
#define CT_FEW_COLS 512			/* columns per block there */

/* The 2-D geometry: the image is the output, the window positions are X. */
typedef struct CtPlan
{
	ConvGeom2D	v;
	bool		shuffle;		/* kernel == stride, no dilation: no overlaps */
} CtPlan;

static void
ct_plan(const ConvGeom *g, CtPlan *p)
{
	cpq_geom_2d(g, &p->v);
	p->shuffle = p->v.k_h == p->v.s_h && p->v.k_w == p->v.s_w && p->v.d_h == 1 && p->v.d_w == 1;
}

/* Input columns iw with 0 <= iw*sw + off < OW, as [*lo, *hi). */
static void
ct_cols(const CtPlan *p, int64_t off, int64_t *lo, int64_t *hi)
{
	*lo = off >= 0 ? 0 : (-off + p->v.s_w - 1) / p->v.s_w;
	*hi = p->v.in_w - off <= 0 ? 0 : (p->v.in_w - off + p->v.s_w - 1) / p->v.s_w;
	if (*hi > p->v.out_w)
		*hi = p->v.out_w;
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
	int64_t		covered = p->v.out_w * p->v.s_w - p->v.p_w;	/* outputs some input reaches */

	if (covered < 0)
		covered = 0;
	if (covered > p->v.in_w)
		covered = p->v.in_w;
	if (p->v.k_w == 2 && p->v.p_w == 0)
	{
		const float *a = c,
				   *b = c + ldc;
		int64_t		n = covered / 2;

		v->interleave2(yr, a, b, n);
		if (covered & 1)
			yr[covered - 1] = a[n];
	}
	else
		for (int64_t kw = 0; kw < p->v.k_w; kw++)
		{
			int64_t		lo,
						hi;
			const float *ck = c + kw * ldc;

			ct_cols(p, kw - p->v.p_w, &lo, &hi);
			for (int64_t iw = lo; iw < hi; iw++)
				yr[iw * p->v.s_w + kw - p->v.p_w] = ck[iw];
		}
	memset(yr + covered, 0, sizeof(float) * (size_t) (p->v.in_w - covered));
}

/* yr[iw*sw + off] += c[iw] for the iw that land inside the row. */
static void
ct_add_row(const CtPlan *p, const float *c, int64_t off, float *yr)
{
	int64_t		lo,
				hi;

	ct_cols(p, off, &lo, &hi);
	if (p->v.s_w == 1)
	{
		float	   *restrict d = yr + off;

		for (int64_t iw = lo; iw < hi; iw++)
			d[iw] += c[iw];
	}
	else
		for (int64_t iw = lo; iw < hi; iw++)
			yr[iw * p->v.s_w + off] += c[iw];
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
	int64_t		plane = p->v.in_h * p->v.in_w;

	for (int64_t m = 0; m < Mg; m++)
		for (int64_t kh = 0; kh < p->v.k_h; kh++)
			for (int64_t ih = ih0; ih < ih1; ih++)
			{
				int64_t		oh = ih * p->v.s_h - p->v.p_h + kh * p->v.d_h;
				const float *c = col + ((m * p->v.k_h + kh) * p->v.k_w) * ld + (ih - ih0) * p->v.out_w;
				float	   *yr = yg + m * plane + oh * p->v.in_w;

				if (oh < 0 || oh >= p->v.in_h)
					continue;
				if (p->shuffle)
				{
					ct_shuffle_row(p, v, c, ld, yr);
					onnx_act_rows_f32(act, yr, 1, p->v.in_w, 0, bg ? bg + m : NULL);
				}
				else
					for (int64_t kw = 0; kw < p->v.k_w; kw++)
						ct_add_row(p, c + kw * ld, kw * p->v.d_w - p->v.p_w, yr);
			}
}

/*
 * col (Kr, n) = W^T (Kr, Cg) @ X (Cg, n), W stored (Cg, Kr), X rows ldx
 * apart, for few rows Kr: per block of columns, each row of X is read
 * once from memory and added into the Kr rows of col while in cache.
 */
static void
ct_few_rows(const ConvVec *v, int64_t Kr, int64_t n, int64_t Cg, const float *w,
			const float *x, int64_t ldx, float *col)
{
	for (int64_t j0 = 0; j0 < n; j0 += CT_FEW_COLS)
	{
		int64_t		nc = n - j0 < CT_FEW_COLS ? n - j0 : CT_FEW_COLS;

		for (int64_t k = 0; k < Kr; k++)
			memset(col + k * n + j0, 0, sizeof(float) * (size_t) nc);
		for (int64_t c = 0; c < Cg; c++)
			for (int64_t k = 0; k < Kr; k++)
				v->axpy(col + k * n + j0, x + c * ldx + j0, w[c * Kr + k], nc);
	}
}

OnnxStatus
onnx_conv_transpose_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x, const float *w,
						const float *b, const OnnxFusedAct *act, float *y, int64_t N,
						int64_t C, int64_t M, int64_t group, bool *handled)
{
	const ConvVec *v = onnx_conv_vec(onnx_vec_isa());
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
	ct_plan(g, &p);
	P = p.v.out_h * p.v.out_w;
	plane = p.v.in_h * p.v.in_w;
	/* one input row's column block must stay bounded, else the general path */
	if (onnx_mul_overflow_i64(Mg, p.v.k_h * p.v.k_w, &Kr) || onnx_mul_overflow_i64(Kr, p.v.out_w, &ld) ||
		ld > CT_ROW_MAX)
		return ONNX_OK;
	*handled = true;
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
	rows = CT_COL_BUDGET / (int64_t) sizeof(float) / Kr / p.v.out_w;
	if (rows < 1)
		rows = 1;
	if (rows > p.v.out_h)
		rows = p.v.out_h;
	if (onnx_mul_overflow_i64(rows * p.v.out_w, Kr, &ld))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "ConvTranspose column block overflows");
	if ((col = onnx_kernel_scratch(ctx, (size_t) ld, sizeof(float))) == NULL)
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
			for (int64_t ih0 = 0; ih0 < p.v.out_h; ih0 += rows)
			{
				int64_t		ih1 = ih0 + rows < p.v.out_h ? ih0 + rows : p.v.out_h,
							nc = (ih1 - ih0) * p.v.out_w,
							final;

				if (onnx_kernel_should_abort(ctx))
					return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
				/* col (Kr, nc) = W_g^T (Kr, Cg) @ X_g[:, ih0*W ..] (Cg, nc) */
				if (Kr <= CT_FEW_ROWS)
					ct_few_rows(v, Kr, nc, Cg, wg, xg + ih0 * p.v.out_w, P, col);
				else
					onnx_blas_sgemm(true, false, Kr, nc, Cg, 1.0f, wg, Kr, xg + ih0 * p.v.out_w, P,
									0.0f, col, nc);
				ct_col2im(&p, v, col, nc, Mg, ih0, ih1, yg, bg, act);
				if (p.shuffle)
				{
					/* rows no input reaches: act(bias) */
					int64_t		reached = p.v.out_h * p.v.s_h - p.v.p_h;

					if (ih1 < p.v.out_h || reached >= p.v.in_h)
						continue;
					if (reached < 0)
						reached = 0;
					for (int64_t m = 0; m < Mg; m++)
					{
						float	   *rest = yg + m * plane + reached * p.v.in_w;

						memset(rest, 0, sizeof(float) * (size_t) ((p.v.in_h - reached) * p.v.in_w));
						onnx_act_rows_f32(act, rest, 1, (p.v.in_h - reached) * p.v.in_w, 0, bg ? bg + m : NULL);
					}
					continue;
				}
				/* rows no later input row reaches are final */
				final = ih1 == p.v.out_h ? p.v.in_h : ih1 * p.v.s_h - p.v.p_h;
				if (final > p.v.in_h)
					final = p.v.in_h;
				if (final > done)
				{
					for (int64_t m = 0; m < Mg; m++)
						onnx_act_rows_f32(act, yg + m * plane + done * p.v.in_w, 1,
										  (final - done) * p.v.in_w, 0, bg ? bg + m : NULL);
					done = final;
				}
			}
		}
	return ONNX_OK;
}
