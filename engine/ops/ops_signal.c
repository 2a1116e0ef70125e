/*-------------------------------------------------------------------------
 *
 * ops_signal.c
 *	  Signal processing: DFT (opsets 17 and 20) and the window generators
 *	  HannWindow, HammingWindow, BlackmanWindow.
 *
 *	  DFT: X (..., N, 1 real | 2 complex) along axis -> (..., M, 2), or
 *	  (..., M, 1) for an inverse onesided transform (irfft).  The signal
 *	  is cropped or zero-padded to dft_length (default N, or 2*(N-1) for
 *	  inverse onesided); onesided keeps the first dft_length/2 + 1 bins;
 *	  inverse divides by dft_length.  A direct O(N^2) transform in double.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"

static OnnxStatus
run_dft(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *tlen = onnx_in(ctx, 1);
	const OnnxTensor *taxis = ctx->opset >= 20 ? onnx_in(ctx, 2) : NULL;
	bool		inverse = onnx_attr_int(ctx->node, "inverse", 0) != 0;
	bool		onesided = onnx_attr_int(ctx->node, "onesided", 0) != 0;
	int64_t		axis = ctx->opset >= 20 ? (taxis && taxis->count ? onnx_tensor_get_i64(taxis, 0) : -2)
		: onnx_attr_int(ctx->node, "axis", 1);
	int			ax,
				r;
	int64_t		n_in,
				L,
				M,
				comps,
				outer = 1,
				inner = 1,
				dims[ONNX_MAX_RANK];
	OnnxTensor *y;

	if (x == NULL || x->rank < 2 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"DFT input must end in a dimension of 1 (real) or 2 (complex)");
	r = x->rank;
	if (!onnx_norm_axis(axis, r, &ax) || ax == r - 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "DFT axis %lld is not a signal axis",
								(long long) axis);
	comps = x->dims[r - 1];
	n_in = x->dims[ax];
	L = tlen && tlen->count ? onnx_tensor_get_i64(tlen, 0) : (inverse && onesided ? 2 * (n_in - 1) : n_in);
	if (L < 1 || L > (1 << 24))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "dft_length %lld is out of range", (long long) L);
	M = (onesided && !inverse) ? L / 2 + 1 : L;
	for (int d = 0; d < r; d++)
	{
		dims[d] = x->dims[d];
		if (d < ax)
			outer *= x->dims[d];
		else if (d > ax && d < r - 1)
			inner *= x->dims[d];
	}
	dims[ax] = M;
	dims[r - 1] = (inverse && onesided) ? 1 : 2;
	if ((y = onnx_out(ctx, 0, x->dtype, r, dims)) == NULL)
		return ctx->err->status;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++)
		{
			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			for (int64_t k = 0; k < M; k++)
			{
				double		re = 0,
							im = 0;

				for (int64_t t = 0; t < L; t++)
				{
					double		xr,
								xi,
								ang,
								c,
								s;

					if (inverse && onesided)
					{
						/* Hermitian spectrum from the first n_in bins */
						int64_t		src = t < n_in ? t : L - t;
						double		sign = t < n_in ? 1.0 : -1.0;

						if (src < 0 || src >= n_in)
							continue;
						xr = onnx_tensor_get_f64(x, ((o * n_in + src) * inner + i) * comps);
						xi = comps == 2 ? sign * onnx_tensor_get_f64(x, ((o * n_in + src) * inner + i) * comps + 1) : 0;
					}
					else
					{
						if (t >= n_in)
							continue;	/* zero padding */
						xr = onnx_tensor_get_f64(x, ((o * n_in + t) * inner + i) * comps);
						xi = comps == 2 ? onnx_tensor_get_f64(x, ((o * n_in + t) * inner + i) * comps + 1) : 0;
					}
					ang = 2.0 * M_PI * (double) ((k * t) % L) / (double) L * (inverse ? 1.0 : -1.0);
					c = cos(ang);
					s = sin(ang);
					re += xr * c - xi * s;
					im += xr * s + xi * c;
				}
				if (inverse)
				{
					re /= (double) L;
					im /= (double) L;
				}
				if (inverse && onesided)
					onnx_tensor_set_f64(y, (o * M + k) * inner + i, re);
				else
				{
					onnx_tensor_set_f64(y, ((o * M + k) * inner + i) * 2, re);
					onnx_tensor_set_f64(y, ((o * M + k) * inner + i) * 2 + 1, im);
				}
			}
		}
	return ONNX_OK;
}

/* Window generators: size (scalar int) -> (size) of output_datatype. */
static OnnxStatus
run_window(OnnxKernelCtx *ctx, int kind)
{
	const OnnxTensor *tsize = onnx_in(ctx, 0);
	int64_t		size,
				periodic = onnx_attr_int(ctx->node, "periodic", 1);
	int64_t		dt = onnx_attr_int(ctx->node, "output_datatype", ONNX_DTYPE_FLOAT);
	double		N;
	OnnxTensor *y;

	if (tsize == NULL || tsize->count != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "size must be a scalar");
	size = onnx_tensor_get_i64(tsize, 0);
	if (size < 0 || size > (1 << 26))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "window size %lld is out of range", (long long) size);
	if (dt <= 0 || dt >= ONNX_DTYPE_COUNT || dt == ONNX_DTYPE_STRING || !onnx_dtype_size((OnnxDType) dt))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "output_datatype %lld is not supported", (long long) dt);
	if ((y = onnx_out(ctx, 0, (OnnxDType) dt, 1, &size)) == NULL)
		return ctx->err->status;
	N = periodic ? (double) size : (double) (size - 1);
	for (int64_t n = 0; n < size; n++)
	{
		double		a = N > 0 ? 2.0 * M_PI * (double) n / N : 0;
		double		v;

		if (kind == 0)
			v = 0.5 - 0.5 * cos(a);
		else if (kind == 1)
			v = 25.0 / 46.0 - (21.0 / 46.0) * cos(a);
		else
			v = 0.42 - 0.5 * cos(a) + 0.08 * cos(2 * a);
		onnx_tensor_set_f64(y, n, v);
	}
	return ONNX_OK;
}

static OnnxStatus
run_hann(OnnxKernelCtx *ctx)
{
	return run_window(ctx, 0);
}

static OnnxStatus
run_hamming(OnnxKernelCtx *ctx)
{
	return run_window(ctx, 1);
}

static OnnxStatus
run_blackman(OnnxKernelCtx *ctx)
{
	return run_window(ctx, 2);
}

static const OnnxAttrSpec dft_attrs[] = {
	{"axis", ONNX_ATTR_INT}, {"inverse", ONNX_ATTR_INT}, {"onesided", ONNX_ATTR_INT}, {NULL}
};
static const OnnxAttrSpec window_attrs[] = {
	{"periodic", ONNX_ATTR_INT}, {"output_datatype", ONNX_ATTR_INT}, {NULL}
};

#define WINDOW(name, fn) \
	{"", name, 17, 1, 1, 1, 1, ONNX_T(ONNX_DTYPE_INT32) | ONNX_T(ONNX_DTYPE_INT64), \
	 ONNX_OUT_UNKNOWN, NULL, NULL, fn, window_attrs}

const OnnxOpDef onnx_ops_signal[] = {
	{"", "DFT", 17, 1, 2, 1, 1, ONNX_TS_FLOAT, ONNX_OUT_SAME, NULL, NULL, run_dft, dft_attrs},
	{"", "DFT", 20, 1, 3, 1, 1, ONNX_TS_FLOAT, ONNX_OUT_SAME, NULL, NULL, run_dft, dft_attrs},
	WINDOW("HannWindow", run_hann),
	WINDOW("HammingWindow", run_hamming),
	WINDOW("BlackmanWindow", run_blackman),
	{0}
};
