/*-------------------------------------------------------------------------
 *
 * ops_nn.c
 *	  Neural-network operators over an axis: Softmax, LogSoftmax (and
 *	  normalizations, Dropout as they are added).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"

/*
 * Softmax family over X viewed as (outer, n, inner).  Opset < 13 flattens
 * to 2-D at axis (default 1): (outer = prod(d[:axis]), n = prod(d[axis:]),
 * inner = 1); opset >= 13 works along one axis (default -1).
 */
static OnnxStatus
softmax_common(OnnxKernelCtx *ctx, bool log_out)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	bool		legacy = ctx->opset < 13;
	int64_t		axis = onnx_attr_int(ctx->node, "axis", legacy ? 1 : -1);
	int64_t		outer = 1,
				n = 1,
				inner = 1;
	int			ax;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	if (x->rank == 0)
		ax = 0;
	else if (!onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
								(long long) axis, x->rank);
	for (int i = 0; i < x->rank; i++)
	{
		if (i < ax)
			outer *= x->dims[i];
		else if (i == ax || legacy)
			n *= x->dims[i];
		else
			inner *= x->dims[i];
	}
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (n == 0)
		return ONNX_OK;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++)
		{
			int64_t		base = o * n * inner + in;

			if (x->dtype == ONNX_DTYPE_FLOAT)
			{
				const float *px = (const float *) x->data + base;
				float	   *py = (float *) y->data + base;
				float		mx = px[0];
				double		sum = 0;

				for (int64_t i = 1; i < n; i++)
					if (px[i * inner] > mx)
						mx = px[i * inner];
				for (int64_t i = 0; i < n; i++)
				{
					float		e = expf(px[i * inner] - mx);

					py[i * inner] = e;
					sum += e;
				}
				for (int64_t i = 0; i < n; i++)
					py[i * inner] = log_out ? (px[i * inner] - mx) - (float) log(sum)
						: (float) (py[i * inner] / sum);
			}
			else
			{
				double		mx = onnx_tensor_get_f64(x, base);
				double		sum = 0;

				for (int64_t i = 1; i < n; i++)
					if (onnx_tensor_get_f64(x, base + i * inner) > mx)
						mx = onnx_tensor_get_f64(x, base + i * inner);
				for (int64_t i = 0; i < n; i++)
					sum += exp(onnx_tensor_get_f64(x, base + i * inner) - mx);
				for (int64_t i = 0; i < n; i++)
				{
					double		v = onnx_tensor_get_f64(x, base + i * inner) - mx;

					onnx_tensor_set_f64(y, base + i * inner, log_out ? v - log(sum) : exp(v) / sum);
				}
			}
		}
	return ONNX_OK;
}

static OnnxStatus
run_softmax(OnnxKernelCtx *ctx)
{
	return softmax_common(ctx, false);
}

static OnnxStatus
run_log_softmax(OnnxKernelCtx *ctx)
{
	return softmax_common(ctx, true);
}

static const OnnxAttrSpec axis_attrs[] = {{"axis", ONNX_ATTR_INT}, {NULL}};


/*
 * BatchNormalization (inference): X (N, C, ...), scale, B, mean, var (C)
 * -> Y = scale * (X - mean) / sqrt(var + epsilon) + B.  training_mode
 * outputs (opset 14+) use the batch statistics.
 */
static OnnxStatus
run_batchnorm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *sc = onnx_in(ctx, 1);
	const OnnxTensor *bi = onnx_in(ctx, 2);
	const OnnxTensor *mean = onnx_in(ctx, 3);
	const OnnxTensor *var = onnx_in(ctx, 4);
	double		eps = onnx_attr_float(ctx->node, "epsilon", 1e-5f);
	double		momentum = onnx_attr_float(ctx->node, "momentum", 0.9f);
	bool		training = onnx_attr_int(ctx->node, "training_mode", 0) != 0;
	int64_t		N,
				C,
				S = 1;
	OnnxTensor *y;
	double	   *m,
			   *v;

	if (!x || !sc || !bi || !mean || !var || x->rank < 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "BatchNormalization needs X (N, C, ...) and four (C) inputs");
	N = x->dims[0];
	C = x->dims[1];
	for (int d = 2; d < x->rank; d++)
		S *= x->dims[d];
	if (sc->count != C || bi->count != C || mean->count != C || var->count != C)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "scale, B, mean and var must have %lld values", (long long) C);
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	m = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) (C + 1));
	v = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) (C + 1));
	if (!m || !v)
	{
		onnx_kernel_free(ctx, m);
		return ctx->err->status;
	}
	for (int64_t c = 0; c < C; c++)
	{
		if (training)
		{
			double		sum = 0,
						sq = 0;

			for (int64_t n = 0; n < N; n++)
				for (int64_t k = 0; k < S; k++)
				{
					double		xv = onnx_tensor_get_f64(x, (n * C + c) * S + k);

					sum += xv;
					sq += xv * xv;
				}
			m[c] = N * S != 0 ? sum / (double) (N * S) : 0;
			v[c] = N * S != 0 ? sq / (double) (N * S) - m[c] * m[c] : 0;
		}
		else
		{
			m[c] = onnx_tensor_get_f64(mean, c);
			v[c] = onnx_tensor_get_f64(var, c);
		}
	}
	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++)
		{
			double		a = onnx_tensor_get_f64(sc, c) / sqrt(v[c] + eps);
			double		b = onnx_tensor_get_f64(bi, c) - m[c] * a;
			int64_t		base = (n * C + c) * S;

			if (x->dtype == ONNX_DTYPE_FLOAT)
				for (int64_t k = 0; k < S; k++)
					((float *) y->data)[base + k] = (float) (((const float *) x->data)[base + k] * a + b);
			else
				for (int64_t k = 0; k < S; k++)
					onnx_tensor_set_f64(y, base + k, onnx_tensor_get_f64(x, base + k) * a + b);
		}
	if (training)
	{
		OnnxTensor *rm = ctx->n_outputs > 1 ? onnx_out_like(ctx, 1, mean->dtype, mean) : NULL;
		OnnxTensor *rv = ctx->n_outputs > 2 ? onnx_out_like(ctx, 2, var->dtype, var) : NULL;

		for (int64_t c = 0; c < C; c++)
		{
			if (rm)
				onnx_tensor_set_f64(rm, c, onnx_tensor_get_f64(mean, c) * momentum + m[c] * (1 - momentum));
			if (rv)
				onnx_tensor_set_f64(rv, c, onnx_tensor_get_f64(var, c) * momentum + v[c] * (1 - momentum));
		}
	}
	onnx_kernel_free(ctx, m);
	onnx_kernel_free(ctx, v);
	return ONNX_OK;
}

/*
 * LayerNormalization: X normalized over axes [axis, rank) -> Y, optional
 * Mean and InvStdDev (shape of X with those axes 1).  Scale and B
 * broadcast over the normalized part.
 */
static OnnxStatus
run_layernorm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *sc = onnx_in(ctx, 1);
	const OnnxTensor *bi = onnx_in(ctx, 2);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", -1);
	double		eps = onnx_attr_float(ctx->node, "epsilon", 1e-5f);
	int			ax;
	int64_t		outer = 1,
				inner = 1,
				sdims[ONNX_MAX_RANK];
	OnnxTensor *y,
			   *mo = NULL,
			   *io = NULL;

	if (x == NULL || sc == NULL || !onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "LayerNormalization needs X, Scale and an axis in range");
	for (int d = 0; d < x->rank; d++)
	{
		if (d < ax)
			outer *= x->dims[d];
		else
			inner *= x->dims[d];
		sdims[d] = d < ax ? x->dims[d] : 1;
	}
	if (sc->count != inner && sc->count != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Scale must broadcast to the normalized shape");
	if (bi && bi->count != inner && bi->count != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "B must broadcast to the normalized shape");
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (ctx->n_outputs > 1 && ctx->node->outputs[1] >= 0 &&
		(mo = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, x->rank, sdims)) == NULL)
		return ctx->err->status;
	if (ctx->n_outputs > 2 && ctx->node->outputs[2] >= 0 &&
		(io = onnx_out(ctx, 2, ONNX_DTYPE_FLOAT, x->rank, sdims)) == NULL)
		return ctx->err->status;
	for (int64_t o = 0; o < outer; o++)
	{
		double		sum = 0,
					sq = 0,
					mean,
					inv;
		int64_t		base = o * inner;

		for (int64_t k = 0; k < inner; k++)
		{
			double		v = onnx_tensor_get_f64(x, base + k);

			sum += v;
		}
		mean = inner ? sum / (double) inner : 0;
		for (int64_t k = 0; k < inner; k++)
		{
			double		d = onnx_tensor_get_f64(x, base + k) - mean;

			sq += d * d;
		}
		inv = 1.0 / sqrt((inner ? sq / (double) inner : 0) + eps);
		for (int64_t k = 0; k < inner; k++)
		{
			double		v = (onnx_tensor_get_f64(x, base + k) - mean) * inv;

			v = v * onnx_tensor_get_f64(sc, sc->count == 1 ? 0 : k) +
				(bi ? onnx_tensor_get_f64(bi, bi->count == 1 ? 0 : k) : 0);
			onnx_tensor_set_f64(y, base + k, v);
		}
		if (mo)
			onnx_tensor_set_f64(mo, o, mean);
		if (io)
			onnx_tensor_set_f64(io, o, inv);
	}
	return ONNX_OK;
}

/* InstanceNormalization: X (N, C, ...) normalized per (n, c), then scale, B (C). */
static OnnxStatus
run_instancenorm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *sc = onnx_in(ctx, 1);
	const OnnxTensor *bi = onnx_in(ctx, 2);
	double		eps = onnx_attr_float(ctx->node, "epsilon", 1e-5f);
	int64_t		N,
				C,
				S = 1;
	OnnxTensor *y;

	if (!x || !sc || !bi || x->rank < 2 || sc->count != x->dims[1] || bi->count != x->dims[1])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "InstanceNormalization needs X (N, C, ...), scale and B (C)");
	N = x->dims[0];
	C = x->dims[1];
	for (int d = 2; d < x->rank; d++)
		S *= x->dims[d];
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++)
		{
			int64_t		base = (n * C + c) * S;
			double		sum = 0,
						sq = 0,
						mean,
						inv;

			for (int64_t k = 0; k < S; k++)
				sum += onnx_tensor_get_f64(x, base + k);
			mean = S ? sum / (double) S : 0;
			for (int64_t k = 0; k < S; k++)
			{
				double		d = onnx_tensor_get_f64(x, base + k) - mean;

				sq += d * d;
			}
			inv = 1.0 / sqrt((S ? sq / (double) S : 0) + eps);
			for (int64_t k = 0; k < S; k++)
				onnx_tensor_set_f64(y, base + k, (onnx_tensor_get_f64(x, base + k) - mean) * inv *
									onnx_tensor_get_f64(sc, c) + onnx_tensor_get_f64(bi, c));
		}
	return ONNX_OK;
}

/* Dropout at inference: Y = X, mask (optional) all true. */
static OnnxStatus
run_dropout(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ratio = ctx->opset >= 12 ? onnx_in(ctx, 1) : NULL;
	const OnnxTensor *train = ctx->opset >= 12 ? onnx_in(ctx, 2) : NULL;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	if (train && train->count && onnx_tensor_get_i64(train, 0) &&
		!(ratio && ratio->count && onnx_tensor_get_f64(ratio, 0) == 0.0))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "Dropout in training mode is not supported");
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (x->nbytes)
		memcpy(y->data, x->data, x->nbytes);
	if (ctx->n_outputs > 1 && ctx->node->outputs[1] >= 0)
	{
		OnnxTensor *mask = onnx_out_like(ctx, 1, ONNX_DTYPE_BOOL, x);

		if (mask == NULL)
			return ctx->err->status;
		memset(mask->data, 1, (size_t) mask->count);
	}
	return ONNX_OK;
}

/* RMSNormalization: X / sqrt(mean(X^2 over [axis, rank)) + epsilon) * scale. */
static OnnxStatus
run_rmsnorm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *sc = onnx_in(ctx, 1);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", -1);
	double		eps = onnx_attr_float(ctx->node, "epsilon", 1e-5f);
	int64_t		outer = 1,
				inner = 1;
	int			ax;
	OnnxTensor *y;
	OnnxBcastIter it;
	const OnnxTensor *pair[1];

	if (x == NULL || sc == NULL || !onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "RMSNormalization needs X, scale and an axis in range");
	for (int d = 0; d < x->rank; d++)
	{
		if (d < ax)
			outer *= x->dims[d];
		else
			inner *= x->dims[d];
	}
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	{
		int			r;
		int64_t		bd[ONNX_MAX_RANK];

		if (!onnx_broadcast_shape(x->rank, x->dims, sc->rank, sc->dims, &r, bd) || r != x->rank)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "scale does not broadcast to X");
	}
	pair[0] = sc;
	onnx_bcast_init(&it, y, 1, pair);
	for (int64_t o = 0; o < outer; o++)
	{
		double		sq = 0,
					inv;

		for (int64_t k = 0; k < inner; k++)
		{
			double		v = onnx_tensor_get_f64(x, o * inner + k);

			sq += v * v;
		}
		inv = 1.0 / sqrt((inner ? sq / (double) inner : 0) + eps);
		for (int64_t k = 0; k < inner; k++, onnx_bcast_next(&it))
			onnx_tensor_set_f64(y, o * inner + k,
								onnx_tensor_get_f64(x, o * inner + k) * inv * onnx_tensor_get_f64(sc, it.off[0]));
	}
	return ONNX_OK;
}

/* Hardmax: 1 at the first maximum along the axis (2-D coercion before 13). */
static OnnxStatus
run_hardmax(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	bool		legacy = ctx->opset < 13;
	int64_t		axis = onnx_attr_int(ctx->node, "axis", legacy ? 1 : -1);
	int64_t		outer = 1,
				n = 1,
				inner = 1;
	int			ax;
	OnnxTensor *y;

	if (x == NULL || !onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Hardmax axis is out of range");
	for (int d = 0; d < x->rank; d++)
	{
		if (d < ax)
			outer *= x->dims[d];
		else if (d == ax || legacy)
			n *= x->dims[d];
		else
			inner *= x->dims[d];
	}
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (n == 0)
		return ONNX_OK;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++)
		{
			int64_t		best = 0;
			double		bv = onnx_tensor_get_f64(x, o * n * inner + in);

			for (int64_t k = 1; k < n; k++)
			{
				double		v = onnx_tensor_get_f64(x, (o * n + k) * inner + in);

				if (v > bv)
				{
					bv = v;
					best = k;
				}
			}
			onnx_tensor_set_f64(y, (o * n + best) * inner + in, 1.0);
		}
	return ONNX_OK;
}

#define NN1(name, since, fn) \
	{"", name, since, 1, 1, 1, 1, ONNX_TS_FLOAT, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, fn, axis_attrs}

const OnnxOpDef onnx_ops_nn[] = {
	NN1("Softmax", 1, run_softmax),
	NN1("Softmax", 13, run_softmax),
	NN1("LogSoftmax", 1, run_log_softmax),
	NN1("LogSoftmax", 13, run_log_softmax),
	{"", "BatchNormalization", 1, 5, 5, 1, 5, ONNX_TS_FLOAT, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, run_batchnorm},
	{"", "LayerNormalization", 17, 2, 3, 1, 3, ONNX_TS_FLOAT, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, run_layernorm},
	{"", "InstanceNormalization", 1, 3, 3, 1, 1, ONNX_TS_FLOAT, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, run_instancenorm},
	{"", "RMSNormalization", 23, 2, 2, 1, 1, ONNX_TS_FLOAT, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, run_rmsnorm},
	NN1("Hardmax", 1, run_hardmax),
	NN1("Hardmax", 13, run_hardmax),
	{"", "Dropout", 1, 1, 3, 1, 2, ONNX_TS_NUMERIC, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, run_dropout},
	{0}
};
