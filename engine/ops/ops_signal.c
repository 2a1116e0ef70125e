/*-------------------------------------------------------------------------
 *
 * ops_signal.c
 *	  Signal processing: DFT (opsets 17 and 20), STFT, MelWeightMatrix and
 *	  the window generators HannWindow, HammingWindow, BlackmanWindow.
 *
 *	  DFT: X (..., N, 1 real | 2 complex) along axis -> (..., M, 2), or
 *	  (..., M, 1) for an inverse onesided transform (irfft).  The signal
 *	  is cropped or zero-padded to dft_length (default N, or 2*(N-1) for
 *	  inverse onesided); onesided keeps the first dft_length/2 + 1 bins;
 *	  inverse divides by dft_length.  A direct O(N^2) transform in double
 *	  with an exact twiddle table.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"

/*
 * Twiddles tw (L, 2): cos and sin of 2 pi j / L for j in [0, L), in
 * double.  The angle is reduced to a quadrant exactly (4 j = q L + r), so
 * multiples of L / 4 give exact 0 and +-1 and symmetric indices give
 * values of equal magnitude.
 */
static void
dft_twiddles(int64_t L, double *tw)
{
	for (int64_t j = 0; j < L; j++)
	{
		int64_t		q = (4 * j) / L,
					r = (4 * j) % L;
		double		a = (M_PI / 2.0) * (double) r / (double) L;
		double		c = r ? cos(a) : 1.0,
					s = r ? sin(a) : 0.0;

		switch (q)
		{
			case 0:
				tw[2 * j] = c, tw[2 * j + 1] = s;
				break;
			case 1:
				tw[2 * j] = -s, tw[2 * j + 1] = c;
				break;
			case 2:
				tw[2 * j] = -c, tw[2 * j + 1] = -s;
				break;
			default:
				tw[2 * j] = s, tw[2 * j + 1] = -c;
				break;
		}
	}
}

/*
 * One signal line of the DFT input into z (L, 2) as complex doubles: x's
 * elements at base + t * stride (comps per element) for t < min(n_in, L),
 * zeros past n_in; for an inverse onesided transform, bins past n_in are
 * the conjugates of bins L - t (Hermitian symmetry).
 */
static void
dft_load_line(const OnnxTensor *x, int64_t base, int64_t stride, int64_t comps,
			  int64_t n_in, int64_t L, bool hermitian, double *z)
{
	for (int64_t t = 0; t < L; t++)
	{
		int64_t		src = t < n_in ? t : hermitian ? L - t : -1;
		double		sign = t < n_in ? 1.0 : -1.0;

		z[2 * t] = z[2 * t + 1] = 0;
		if (src < 0 || src >= n_in)
			continue;
		z[2 * t] = onnx_tensor_get_f64(x, (base + src * stride) * comps);
		if (comps == 2)
			z[2 * t + 1] = sign * onnx_tensor_get_f64(x, (base + src * stride) * comps + 1);
	}
}

/*
 * DFT: X (..., N, 1 | 2) along axis -> Y (..., M, 2 | 1), see the file
 * header.  Each output bin k sums z[t] * exp(-+2 pi i k t / L) in double
 * with the twiddle of index k t mod L from an exact table.
 */
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
	double		sgn = inverse ? 1.0 : -1.0,
			   *tw,
			   *z;
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
	if (y->count == 0)
		return ONNX_OK;
	/* tw (L, 2) twiddles, then z (L, 2) one signal line */
	if ((tw = onnx_kernel_scratch(ctx, (size_t) L, 4 * sizeof(double))) == NULL)
		return ctx->err->status;
	z = tw + 2 * L;
	dft_twiddles(L, tw);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++)
		{
			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			dft_load_line(x, o * n_in * inner + i, inner, comps, n_in, L, inverse && onesided, z);
			for (int64_t k = 0; k < M; k++)
			{
				double		re = 0,
							im = 0;
				int64_t		j = 0;	/* k t mod L */

				for (int64_t t = 0; t < L; t++)
				{
					double		c = tw[2 * j],
								s = sgn * tw[2 * j + 1];

					re += z[2 * t] * c - z[2 * t + 1] * s;
					im += z[2 * t] * s + z[2 * t + 1] * c;
					if ((j += k) >= L)
						j -= L;
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

static OnnxStatus run_hann(OnnxKernelCtx *ctx) { return run_window(ctx, 0); }
static OnnxStatus run_hamming(OnnxKernelCtx *ctx) { return run_window(ctx, 1); }
static OnnxStatus run_blackman(OnnxKernelCtx *ctx) { return run_window(ctx, 2); }

/*
 * STFT: signal (batch, L, 1 real | 2 complex), frame_step (scalar),
 * window (frame_length) optional, frame_length (scalar) optional ->
 * (batch, frames, bins, 2), frames = 1 + (L - frame_length) / frame_step,
 * bins = frame_length / 2 + 1 when onesided (real signals only), else
 * frame_length.  Each frame is multiplied by the window, then a direct DFT.
 */
static OnnxStatus
run_stft(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *tstep = onnx_in(ctx, 1);
	const OnnxTensor *win = onnx_in(ctx, 2);
	const OnnxTensor *tlen = onnx_in(ctx, 3);
	bool		onesided = onnx_attr_int(ctx->node, "onesided", 1) != 0;
	int64_t		B,
				L,
				comps,
				step,
				flen,
				frames,
				bins,
				dims[4];
	double	   *w;
	OnnxTensor *y;

	if (x == NULL || x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"STFT signal must be (batch, length, 1 | 2)");
	if (tstep == NULL || tstep->count != 1 || (step = onnx_tensor_get_i64(tstep, 0)) < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "STFT frame_step must be a positive scalar");
	B = x->dims[0];
	L = x->dims[1];
	comps = x->dims[2];
	if (win && win->rank != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "STFT window must be 1-D");
	if (tlen && tlen->count != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "STFT frame_length must be a scalar");
	flen = tlen ? onnx_tensor_get_i64(tlen, 0) : win ? win->dims[0] : L;
	if (flen < 1 || flen > L || (win && win->dims[0] != flen))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"STFT frame_length %lld must be in [1, %lld] and match the window",
								(long long) flen, (long long) L);
	if (onesided && comps == 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "STFT onesided needs a real signal");
	frames = 1 + (L - flen) / step;
	bins = onesided ? flen / 2 + 1 : flen;
	dims[0] = B;
	dims[1] = frames;
	dims[2] = bins;
	dims[3] = 2;
	if ((y = onnx_out(ctx, 0, x->dtype, 4, dims)) == NULL)
		return ctx->err->status;
	/* w: window, then the twiddles cos, sin of -2 pi j / flen */
	if ((w = onnx_kernel_scratch(ctx, (size_t) flen, 3 * sizeof(double))) == NULL)
		return ctx->err->status;
	for (int64_t t = 0; t < flen; t++)
	{
		w[t] = win ? onnx_tensor_get_f64(win, t) : 1.0;
		w[flen + t] = cos(-2.0 * M_PI * (double) t / (double) flen);
		w[2 * flen + t] = sin(-2.0 * M_PI * (double) t / (double) flen);
	}
	for (int64_t b = 0; b < B; b++)
		for (int64_t f = 0; f < frames; f++)
		{
			int64_t		start = b * L + f * step;

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			for (int64_t k = 0; k < bins; k++)
			{
				double		re = 0,
							im = 0;
				int64_t		o = ((b * frames + f) * bins + k) * 2;

				for (int64_t t = 0; t < flen; t++)
				{
					int64_t		j = (k * t) % flen;
					double		c = w[flen + j],
								sn = w[2 * flen + j];
					double		xr = w[t] * onnx_tensor_get_f64(x, (start + t) * comps);
					double		xi = comps == 2 ? w[t] * onnx_tensor_get_f64(x, (start + t) * comps + 1) : 0;

					re += xr * c - xi * sn;
					im += xr * sn + xi * c;
				}
				onnx_tensor_set_f64(y, o, re);
				onnx_tensor_set_f64(y, o + 1, im);
			}
		}
	return ONNX_OK;
}

/*
 * MelWeightMatrix: num_mel_bins, dft_length, sample_rate (int scalars),
 * lower_edge_hertz, upper_edge_hertz (float scalars) ->
 * (dft_length / 2 + 1, num_mel_bins) of output_datatype: triangular
 * filters peaking at 1, their edges num_mel_bins + 2 points evenly spaced
 * on the mel scale mel(f) = 2595 log10(1 + f / 700), each mapped to the
 * spectrogram bin floor((dft_length + 1) * f / sample_rate).
 */
static OnnxStatus
run_melweight(OnnxKernelCtx *ctx)
{
	const OnnxTensor *in[5];
	int64_t		dt = onnx_attr_int(ctx->node, "output_datatype", ONNX_DTYPE_FLOAT);
	int64_t		mels,
				dftlen,
				rate,
				nspec,
				dims[2];
	double		lo,
				hi,
				step;
	int64_t    *edge;
	OnnxTensor *y;

	for (int i = 0; i < 5; i++)
		if ((in[i] = onnx_in(ctx, i)) == NULL || in[i]->count != 1)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "MelWeightMatrix input %d must be a scalar", i);
	mels = onnx_tensor_get_i64(in[0], 0);
	dftlen = onnx_tensor_get_i64(in[1], 0);
	rate = onnx_tensor_get_i64(in[2], 0);
	lo = onnx_tensor_get_f64(in[3], 0);
	hi = onnx_tensor_get_f64(in[4], 0);
	if (mels < 1 || mels > (1 << 20) || dftlen < 1 || dftlen > (1 << 26) || rate < 1 ||
		!(lo >= 0) || !(hi >= lo) || !isfinite(hi))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"MelWeightMatrix needs positive num_mel_bins, dft_length, sample_rate "
								"and 0 <= lower_edge_hertz <= upper_edge_hertz");
	if (dt <= 0 || dt >= ONNX_DTYPE_COUNT || dt == ONNX_DTYPE_STRING || dt == ONNX_DTYPE_BOOL ||
		!onnx_dtype_size((OnnxDType) dt))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "output_datatype %lld is not supported", (long long) dt);
	nspec = dftlen / 2 + 1;
	dims[0] = nspec;
	dims[1] = mels;
	if ((y = onnx_out(ctx, 0, (OnnxDType) dt, 2, dims)) == NULL)
		return ctx->err->status;
	if ((edge = onnx_kernel_scratch(ctx, (size_t) (mels + 2), sizeof(int64_t))) == NULL)
		return ctx->err->status;
	lo = 2595.0 * log10(1.0 + lo / 700.0);
	hi = 2595.0 * log10(1.0 + hi / 700.0);
	step = (hi - lo) / (double) (mels + 2);
	for (int64_t i = 0; i < mels + 2; i++)
	{
		double		hz = 700.0 * (pow(10.0, ((double) i * step + lo) / 2595.0) - 1.0);

		edge[i] = (int64_t) floor((double) (dftlen + 1) * hz / (double) rate);
		if (edge[i] < 0 || edge[i] >= nspec)
		{
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"upper_edge_hertz maps past the last spectrogram bin (sample_rate / 2)");
		}
	}
	for (int64_t i = 0; i < mels; i++)
	{
		int64_t		l = edge[i],
					c = edge[i + 1],
					r = edge[i + 2];

		if (c == l)
			onnx_tensor_set_f64(y, c * mels + i, 1.0);
		else
			for (int64_t j = l; j <= c; j++)
				onnx_tensor_set_f64(y, j * mels + i, (double) (j - l) / (double) (c - l));
		for (int64_t j = c; j < r; j++)
			onnx_tensor_set_f64(y, j * mels + i, (double) (r - j) / (double) (r - c));
	}
	return ONNX_OK;
}

static const OnnxAttrSpec dft_attrs[] = {
	{"axis", ONNX_ATTR_INT}, {"inverse", ONNX_ATTR_INT}, {"onesided", ONNX_ATTR_INT}, {0}
};
static const OnnxAttrSpec stft_attrs[] = {{"onesided", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec mel_attrs[] = {{"output_datatype", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec window_attrs[] = {
	{"periodic", ONNX_ATTR_INT}, {"output_datatype", ONNX_ATTR_INT}, {0}
};

#define WINDOW(name, fn) \
	ONNX_OP("", name, 17, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_T(ONNX_DTYPE_INT32) | ONNX_T(ONNX_DTYPE_INT64), \
		.out_type = ONNX_OUT_UNKNOWN, .run = fn, .attrs = window_attrs)

const OnnxOpDef onnx_ops_signal[] = {
	ONNX_OP("", "DFT", 17, ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_SAME, .run = run_dft, .attrs = dft_attrs),
	ONNX_OP("", "DFT", 20, ONNX_INPUTS(1, 3), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_SAME, .run = run_dft, .attrs = dft_attrs),
	ONNX_OP("", "STFT", 17, ONNX_INPUTS(2, 4), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_SAME, .run = run_stft, .attrs = stft_attrs),
	ONNX_OP("", "MelWeightMatrix", 17, ONNX_INPUTS(5, 5), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_INT32) | ONNX_T(ONNX_DTYPE_INT64),
		.out_type = ONNX_OUT_UNKNOWN, .run = run_melweight, .attrs = mel_attrs),
	WINDOW("HannWindow", run_hann),
	WINDOW("HammingWindow", run_hamming),
	WINDOW("BlackmanWindow", run_blackman),
	{0}
};
