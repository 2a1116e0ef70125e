/*-------------------------------------------------------------------------
 *
 * ops_deform_conv.c
 *	  DeformConv: a convolution whose every tap is moved by a learned
 *	  offset, sampled bilinearly (zero outside) and optionally masked;
 *	  X (N,C,in...), W (M,C/g,k...), offset, B, mask -> Y (N,M,out...).
 *	  Columns built in double, one GEMM per group (src/blas.c).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "gemm.h"
#include "op_tables.h"
#include "window_geom.h"

#define BLAS_DIM_MAX ((int64_t) INT32_MAX)

/* ---- DeformConv ---- */

/* Bilinear sample of plane x (H,W) at (y, xx), zero outside the image. */
static double
bilinear_zero(const OnnxTensor *x, int64_t base, int64_t H, int64_t W, double y, double xx)
{
	double		fy,
				fx,
				ly,
				lx,
				v = 0;
	int64_t		y0,
				x0;

	if (!(y > -1.0 && y < (double) H && xx > -1.0 && xx < (double) W))
		return 0;
	fy = floor(y);
	fx = floor(xx);
	y0 = (int64_t) fy;
	x0 = (int64_t) fx;
	ly = y - fy;
	lx = xx - fx;
	for (int dy = 0; dy < 2; dy++)
		for (int dx = 0; dx < 2; dx++)
		{
			int64_t		yy = y0 + dy,
						xi = x0 + dx;
			double		w = (dy ? ly : 1 - ly) * (dx ? lx : 1 - lx);

			if (yy >= 0 && yy < H && xi >= 0 && xi < W && w != 0)
				v += w * onnx_tensor_get_f64(x, base + yy * W + xi);
		}
	return v;
}

/*
 * DeformConv (2-D): X (N,C,H,W), W (M,C/g,kH,kW), offset (N,og*2*kH*kW,oH,oW),
 * B (M), mask (N,og*kH*kW,oH,oW) -> Y (N,M,oH,oW).  Each kernel tap
 * samples X bilinearly at its regular position plus its offset, times its
 * mask; then Y_g = W_g @ col as in Conv (float64 internally).
 */
static OnnxStatus
run_deform_conv(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *w = onnx_in(ctx, 1);
	const OnnxTensor *off = onnx_in(ctx, 2);
	const OnnxTensor *b = onnx_in(ctx, 3);
	const OnnxTensor *mask = onnx_in(ctx, 4);
	int64_t		og = onnx_attr_int(ctx->node, "offset_group", 1);
	int64_t		group,
				M,
				C,
				Cg,
				Mg,
				K,
				P,
				N,
				H,
				Wd,
				KK,
				dims[4];
	double	   *dw = NULL,
			   *col = NULL,
			   *acc = NULL;
	ConvGeom	g;
	OnnxStatus	st;
	OnnxTensor *y;

	if ((st = cpq_conv_check_shapes(ctx, x, w, &group)) != ONNX_OK)
		return st;
	if (x->rank != 4)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "DeformConv supports 2-D inputs (N,C,H,W) only");
	N = x->dims[0];
	C = x->dims[1];
	H = x->dims[2];
	Wd = x->dims[3];
	M = w->dims[0];
	if (w->dims[1] * group != C || M % group != 0 || w->dtype != x->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "W does not match X's channels and group");
	if (og < 1 || C % og != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"offset_group %lld does not divide %lld channels", (long long) og, (long long) C);
	if ((st = cpq_geom_forward(ctx, 2, x->dims + 2, w->dims + 2, false, &g)) != ONNX_OK)
		return st;
	KK = g.k_size;
	if (off == NULL || off->rank != 4 || off->dims[0] != N || off->dims[1] != og * 2 * KK ||
		off->dims[2] != g.out[0] || off->dims[3] != g.out[1] || !onnx_dtype_is_float(off->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"offset must be (%lld, %lld, %lld, %lld)", (long long) N,
								(long long) (og * 2 * KK), (long long) g.out[0], (long long) g.out[1]);
	if (mask && (mask->rank != 4 || mask->dims[0] != N || mask->dims[1] != og * KK ||
				 mask->dims[2] != g.out[0] || mask->dims[3] != g.out[1]))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "mask must be (N, offset_group*kH*kW, oH, oW)");
	if (b && (b->rank != 1 || b->dims[0] != M))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "B must have shape [%lld]", (long long) M);
	Cg = C / group;
	Mg = M / group;
	K = Cg * KK;
	P = g.out_size;
	if (K > BLAS_DIM_MAX || P > BLAS_DIM_MAX)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "DeformConv matrix dimensions exceed 2^31");
	dims[0] = N;
	dims[1] = M;
	dims[2] = g.out[0];
	dims[3] = g.out[1];
	if ((y = onnx_out(ctx, 0, x->dtype, 4, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	if ((dw = onnx_kernel_scratch(ctx, (size_t) w->count, sizeof(double))) == NULL ||
		/* P <= y->count: the products of P and an element size fit */
		(col = onnx_kernel_scratch(ctx, (size_t) K, sizeof(double) * (size_t) P)) == NULL ||
		(acc = onnx_kernel_scratch(ctx, (size_t) Mg, sizeof(double) * (size_t) P)) == NULL)
		return ctx->err->status;
	onnx_tensor_read_f64(w, 0, w->count, dw);
	for (int64_t n = 0; n < N; n++)
		for (int64_t gi = 0; gi < group; gi++)
		{
			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			for (int64_t c = 0; c < Cg; c++)
			{
				int64_t		cabs = gi * Cg + c;
				int64_t		ogi = cabs / (C / og);
				int64_t		xbase = (n * C + cabs) * H * Wd;

				for (int64_t kh = 0; kh < g.k[0]; kh++)
					for (int64_t kw = 0; kw < g.k[1]; kw++)
					{
						int64_t		tap = kh * g.k[1] + kw;
						double	   *dst = col + (c * KK + tap) * P;
						int64_t		ob = (n * og * 2 * KK + (ogi * KK + tap) * 2) * P;
						int64_t		mb = (n * og * KK + ogi * KK + tap) * P;

						for (int64_t oh = 0; oh < g.out[0]; oh++)
							for (int64_t ow = 0; ow < g.out[1]; ow++)
							{
								int64_t		p = oh * g.out[1] + ow;
								double		yy = (double) (oh * g.s[0] - g.pb[0] + kh * g.d[0]) +
									onnx_tensor_get_f64(off, ob + p);
								double		xx = (double) (ow * g.s[1] - g.pb[1] + kw * g.d[1]) +
									onnx_tensor_get_f64(off, ob + P + p);
								double		v = bilinear_zero(x, xbase, H, Wd, yy, xx);

								if (mask)
									v *= onnx_tensor_get_f64(mask, mb + p);
								dst[p] = v;
							}
					}
			}
			if (Mg > 0)
				onnx_blas_dgemm(false, false, Mg, P, K, 1.0, dw + gi * Mg * K, K, col, P, 0.0, acc, P);
			for (int64_t m = 0; m < Mg; m++)
				for (int64_t p = 0; p < P; p++)
					onnx_tensor_set_f64(y, (n * M + gi * Mg + m) * P + p,
										acc[m * P + p] + (b ? onnx_tensor_get_f64(b, gi * Mg + m) : 0));
		}
	return ONNX_OK;
}

#define CONV_TYPES ONNX_TS_FLOAT

const OnnxOpDef onnx_ops_deform_conv[] = {
	ONNX_OP_VERSIONS("", "DeformConv", (19, 22), ONNX_INPUTS(3, 5), ONNX_OUTPUTS(1, 1), .input0_types = CONV_TYPES,
		.out_type = ONNX_OUT_SAME, .run = run_deform_conv),
	{0}
};
