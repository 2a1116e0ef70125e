/*-------------------------------------------------------------------------
 *
 * ops_nn.c
 *	  Neural-network operators over an axis: Softmax, LogSoftmax, Hardmax,
 *	  the normalizations (Batch, Layer, Instance, RMS, Group, LRN, Lp,
 *	  MeanVariance), Swish and Dropout.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "eltwise.h"
#include "fused_act.h"
#include "nn_rows.h"
#include "reduce_fast.h"

/*
 * X viewed as (outer, n, inner) for the Softmax family and Hardmax.  Opset
 * < 13 flattens to 2-D at axis (default 1): (outer = prod(d[:axis]), n =
 * prod(d[axis:]), inner = 1); opset >= 13 works along one axis (default
 * -1).  A scalar is one row of one when scalar_ok.  False, with the kernel
 * failed, on a missing input or an axis out of range.
 */
static bool
axis_view(OnnxKernelCtx *ctx, const OnnxTensor *x, bool scalar_ok,
		  int64_t *outer, int64_t *n, int64_t *inner)
{
	bool		legacy = ctx->opset < 13;
	int64_t		axis = onnx_attr_int(ctx->node, "axis", legacy ? 1 : -1);
	int			ax = 0;

	if (x == NULL)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
		return false;
	}
	if (!(x->rank == 0 && scalar_ok) && !onnx_norm_axis(axis, x->rank, &ax))
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s axis %lld is out of range for rank %d",
						 ctx->node->op_type, (long long) axis, x->rank);
		return false;
	}
	*outer = *n = *inner = 1;
	for (int i = 0; i < x->rank; i++)
	{
		if (i < ax)
			*outer *= x->dims[i];
		else if (i == ax || legacy)
			*n *= x->dims[i];
		else
			*inner *= x->dims[i];
	}
	return true;
}

typedef enum AxisOp
{
	AXIS_SOFTMAX,
	AXIS_LOG_SOFTMAX,
	AXIS_HARDMAX				/* 1 at the first maximum, else 0 */
} AxisOp;

/* Softmax, LogSoftmax or Hardmax over axis_view's n. */
static OnnxStatus
softmax_common(OnnxKernelCtx *ctx, AxisOp op)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	bool		log_out = op == AXIS_LOG_SOFTMAX;
	int64_t		outer,
				n,
				inner;
	OnnxTensor *y;

	if (!axis_view(ctx, x, op != AXIS_HARDMAX, &outer, &n, &inner))
		return ctx->err->status;
	/* the softmaxes write every element below (none when n is 0) */
	if (op == AXIS_HARDMAX)
		y = onnx_out_like(ctx, 0, x->dtype, x);
	else
		y = onnx_out_raw(ctx, 0, x->dtype, x->rank, x->dims);
	if (y == NULL)
		return ctx->err->status;
	if (n == 0)
		return ONNX_OK;
	if (op == AXIS_HARDMAX)
	{
		for (int64_t o = 0; o < outer; o++)
			for (int64_t in = 0; in < inner; in++)
				onnx_tensor_set_f64(y, (o * n + onnx_arg_index(x, o, in, n, inner, true, false)) * inner + in,
									1.0);
		return ONNX_OK;
	}
	if (x->dtype == ONNX_DTYPE_FLOAT)
		return onnx_softmax_f32(ctx, x->data, y->data, outer, n, inner, log_out);
	/* other float types in double, element by element */
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++)
		{
			int64_t		base = o * n * inner + in;
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
	return ONNX_OK;
}

static OnnxStatus run_softmax(OnnxKernelCtx *ctx) { return softmax_common(ctx, AXIS_SOFTMAX); }
static OnnxStatus run_log_softmax(OnnxKernelCtx *ctx) { return softmax_common(ctx, AXIS_LOG_SOFTMAX); }
static OnnxStatus run_hardmax(OnnxKernelCtx *ctx) { return softmax_common(ctx, AXIS_HARDMAX); }

static const OnnxAttrSpec axis_attrs[] = {{"axis", ONNX_ATTR_INT}, {0}};


/*
 * Mean (into *mean) and 1 / sqrt(variance + eps) (returned) of the len
 * elements of x from base; population variance, in double.
 */
static double
span_stats(const OnnxTensor *x, int64_t base, int64_t len, double eps, double *mean)
{
	double		sum = 0,
				sq = 0;

	for (int64_t k = 0; k < len; k++)
		sum += onnx_tensor_get_f64(x, base + k);
	*mean = len ? sum / (double) len : 0;
	for (int64_t k = 0; k < len; k++)
	{
		double		d = onnx_tensor_get_f64(x, base + k) - *mean;

		sq += d * d;
	}
	return 1.0 / sqrt((len ? sq / (double) len : 0) + eps);
}

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
	if ((m = onnx_kernel_scratch(ctx, (size_t) C, sizeof(double))) == NULL ||
		(v = onnx_kernel_scratch(ctx, (size_t) C, sizeof(double))) == NULL)
		return ctx->err->status;
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
			{
				/* a and b rounded once: one float multiply-add per element */
				float		af = (float) a,
							bf = (float) b;
				const float *xp = (const float *) x->data + base;
				float	   *yp = (float *) y->data + base;

				for (int64_t k = 0; k < S; k++)
					yp[k] = xp[k] * af + bf;
				onnx_act_rows_f32(&ctx->node->fused_act, yp, 1, S, S, NULL);
			}
			else
				for (int64_t k = 0; k < S; k++)
					onnx_tensor_set_f64(y, base + k, onnx_tensor_get_f64(x, base + k) * a + b);
		}
	if (x->dtype != ONNX_DTYPE_FLOAT)
		onnx_act_tensor(&ctx->node->fused_act, y);	/* what optimize.c folded in */
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
	return ONNX_OK;
}

/*
 * float32 LayerNormalization of outer rows of inner elements: X (outer,
 * inner) -> Y (outer, inner); Scale and B hold inner values or one.  The
 * row statistics are summed in double (as span_stats does); mo and io,
 * when given, receive each row's mean and inverse standard deviation.
 */
static void
layernorm_f32(const float *x, const OnnxTensor *sc, const OnnxTensor *bi, float *y,
			  OnnxTensor *mo, OnnxTensor *io, int64_t outer, int64_t inner, double eps)
{
	const float *s = sc->data;
	const float *b = bi ? (const float *) bi->data : NULL;
	bool		s1 = sc->count == 1,
				b1 = bi != NULL && bi->count == 1;

	for (int64_t o = 0; o < outer; o++)
	{
		const float *xr = x + o * inner;
		float	   *yr = y + o * inner;
		double		acc[4] = {0, 0, 0, 0},
					sum,
					sq,
					mean;
		float		fm,
					fi;
		int64_t		k;

		/* four partial sums keep the adds independent */
		for (k = 0; k + 4 <= inner; k += 4)
			for (int j = 0; j < 4; j++)
				acc[j] += xr[k + j];
		for (; k < inner; k++)
			acc[0] += xr[k];
		sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
		mean = inner ? sum / (double) inner : 0;
		fm = (float) mean;
		acc[0] = acc[1] = acc[2] = acc[3] = 0;
		for (k = 0; k + 4 <= inner; k += 4)
			for (int j = 0; j < 4; j++)
			{
				double		d = (double) xr[k + j] - mean;

				acc[j] += d * d;
			}
		for (; k < inner; k++)
			acc[0] += ((double) xr[k] - mean) * ((double) xr[k] - mean);
		sq = (acc[0] + acc[1]) + (acc[2] + acc[3]);
		fi = (float) (1.0 / sqrt((inner ? sq / (double) inner : 0) + eps));
		if (!s1 && b != NULL && !b1)
			for (int64_t k = 0; k < inner; k++)
				yr[k] = (xr[k] - fm) * fi * s[k] + b[k];
		else
			for (int64_t k = 0; k < inner; k++)
				yr[k] = (xr[k] - fm) * fi * s[s1 ? 0 : k] + (b ? b[b1 ? 0 : k] : 0.0f);
		if (mo)
			((float *) mo->data)[o] = fm;
		if (io)
			((float *) io->data)[o] = fi;
	}
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
	onnx_norm_split(x, ax, &outer, &inner, sdims);
	if (sc->count != inner && sc->count != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Scale must broadcast to the normalized shape");
	if (bi && bi->count != inner && bi->count != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "B must broadcast to the normalized shape");
	/* Y: every element is written below */
	if ((y = onnx_out_raw(ctx, 0, x->dtype, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	if (ctx->n_outputs > 1 && ctx->node->outputs[1] >= 0 &&
		(mo = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, x->rank, sdims)) == NULL)
		return ctx->err->status;
	if (ctx->n_outputs > 2 && ctx->node->outputs[2] >= 0 &&
		(io = onnx_out(ctx, 2, ONNX_DTYPE_FLOAT, x->rank, sdims)) == NULL)
		return ctx->err->status;
	if (x->dtype == ONNX_DTYPE_FLOAT && sc->dtype == ONNX_DTYPE_FLOAT &&
		(bi == NULL || bi->dtype == ONNX_DTYPE_FLOAT))
	{
		layernorm_f32(x->data, sc, bi, y->data, mo, io, outer, inner, eps);
		return ONNX_OK;
	}
	for (int64_t o = 0; o < outer; o++)
	{
		int64_t		base = o * inner;
		double		mean,
					inv = span_stats(x, base, inner, eps, &mean);

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

/*
 * Dropout at inference: Y = X (the input's buffer taken over or borrowed
 * when the executor allows, onnx_out_alias, else a copy), mask (optional)
 * all true.
 */
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
	if (onnx_out_alias(ctx, 0, 0, x->rank, x->dims) == NULL)
	{
		if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
			return ctx->err->status;
		if (x->nbytes)
			memcpy(y->data, x->data, x->nbytes);
	}
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

/*
 * Group statistics: X (N, C, S...) split per instance into G groups of
 * C / G channels; each group normalized to zero mean and unit variance
 * (plus eps), then Y = scale[p] * that + bias[p], p the channel when
 * per_channel, else the group.  Statistics in double.
 */
static OnnxStatus
normalize_groups(OnnxKernelCtx *ctx, int64_t G, bool per_channel, double eps)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *sc = onnx_in(ctx, 1);
	const OnnxTensor *bi = onnx_in(ctx, 2);
	int64_t		N,
				C,
				S = 1,
				cg,
				per;
	OnnxTensor *y;

	if (!x || !sc || !bi || x->rank < 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s needs X (N, C, ...), scale and bias",
								ctx->node->op_type);
	N = x->dims[0];
	C = x->dims[1];
	if (G == 0)
		G = C;					/* InstanceNormalization */
	if (G < 0 || (G > 0 && C % G != 0))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "num_groups %lld does not divide the %lld channels",
								(long long) G, (long long) C);
	per = per_channel ? C : G;
	if (sc->count != per || bi->count != per)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "scale and bias need %lld elements (one per %s)",
								(long long) per, per_channel ? "channel" : "group");
	for (int d = 2; d < x->rank; d++)
		S *= x->dims[d];
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (G == 0)
		return ONNX_OK;
	cg = C / G;
	for (int64_t n = 0; n < N; n++)
		for (int64_t g = 0; g < G; g++)
		{
			int64_t		base = (n * C + g * cg) * S,
						len = cg * S;
			double		mean,
						inv = span_stats(x, base, len, eps, &mean);

			for (int64_t k = 0; k < len; k++)
			{
				int64_t		p = per_channel ? g * cg + k / S : g;

				onnx_tensor_set_f64(y, base + k, (onnx_tensor_get_f64(x, base + k) - mean) * inv *
									onnx_tensor_get_f64(sc, p) + onnx_tensor_get_f64(bi, p));
			}
		}
	return ONNX_OK;
}

/* InstanceNormalization: X (N, C, ...) normalized per (n, c), then scale, B (C). */
static OnnxStatus
run_instancenorm(OnnxKernelCtx *ctx)
{
	return normalize_groups(ctx, 0, true, onnx_attr_float(ctx->node, "epsilon", 1e-5f));
}

/*
 * GroupNormalization: X (N, C, ...), scale, bias -> Y (N, C, ...), with
 * mean and variance over each of num_groups groups of C / num_groups
 * channels per instance; scale and bias are (num_groups) before opset 21
 * and (C) from 21.  stash_type asks for at least float: done in double.
 */
static OnnxStatus
run_groupnorm(OnnxKernelCtx *ctx)
{
	int64_t		G = onnx_attr_int(ctx->node, "num_groups", 0);

	if (G <= 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "num_groups must be positive, got %lld", (long long) G);
	return normalize_groups(ctx, G, ctx->opset >= 21, onnx_attr_float(ctx->node, "epsilon", 1e-5f));
}

/*
 * LRN: X (N, C, ...) -> Y = X / (bias + alpha / size * square_sum) ^ beta,
 * square_sum over channels [c - floor((size-1)/2), c + ceil((size-1)/2)].
 */
static OnnxStatus
run_lrn(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	double		alpha = onnx_attr_float(ctx->node, "alpha", 1e-4f);
	double		beta = onnx_attr_float(ctx->node, "beta", 0.75f);
	double		bias = onnx_attr_float(ctx->node, "bias", 1.0f);
	int64_t		size = onnx_attr_int(ctx->node, "size", 0);
	int64_t		N,
				C,
				S = 1,
				lo,
				hi;
	OnnxTensor *y;

	if (x == NULL || x->rank < 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "LRN needs X (N, C, ...)");
	if (size < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "LRN needs a positive size, got %lld", (long long) size);
	N = x->dims[0];
	C = x->dims[1];
	for (int d = 2; d < x->rank; d++)
		S *= x->dims[d];
	lo = (size - 1) / 2;
	hi = size / 2;				/* ceil((size - 1) / 2) */
	if (x->dtype == ONNX_DTYPE_FLOAT)
	{
		if ((y = onnx_out_raw(ctx, 0, x->dtype, x->rank, x->dims)) == NULL)
			return ctx->err->status;
		return onnx_lrn_f32(ctx, x->data, y->data, N, C, S, size, (float) alpha, (float) beta, (float) bias);
	}
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++)
			for (int64_t k = 0; k < S; k++)
			{
				double		sq = 0;
				int64_t		from = c - lo < 0 ? 0 : c - lo;
				int64_t		to = c + hi > C - 1 ? C - 1 : c + hi;

				for (int64_t i = from; i <= to; i++)
				{
					double		v = onnx_tensor_get_f64(x, (n * C + i) * S + k);

					sq += v * v;
				}
				onnx_tensor_set_f64(y, (n * C + c) * S + k, onnx_tensor_get_f64(x, (n * C + c) * S + k) /
									pow(bias + alpha / (double) size * sq, beta));
			}
	return ONNX_OK;
}

/* At load: LRN's size is given and positive. */
static OnnxStatus
check_lrn(const OnnxNode *node, OnnxError *err)
{
	if (onnx_attr_int(node, "size", 0) < 1)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "LRN needs a positive size attribute");
	return ONNX_OK;
}

/*
 * X viewed as (outer, n, inner) around one axis: the loop bounds of the
 * per-axis normalizations.  False if the axis is out of range.
 */
static bool
split_at_axis(const OnnxTensor *x, int64_t axis, int64_t *outer, int64_t *n, int64_t *inner)
{
	int			ax;

	if (!onnx_norm_axis(axis, x->rank, &ax))
		return false;
	*outer = *inner = 1;
	*n = x->dims[ax];
	for (int d = 0; d < x->rank; d++)
	{
		if (d < ax)
			*outer *= x->dims[d];
		else if (d > ax)
			*inner *= x->dims[d];
	}
	return true;
}

/* LpNormalization: X / ||X||_p along axis (p 1 or 2); a zero norm gives 0. */
static OnnxStatus
run_lpnorm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", -1);
	int64_t		p = onnx_attr_int(ctx->node, "p", 2);
	int64_t		outer,
				n,
				inner;
	OnnxTensor *y;

	if (x == NULL || !split_at_axis(x, axis, &outer, &n, &inner))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "LpNormalization needs X and an axis in range");
	if (p != 1 && p != 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "LpNormalization p must be 1 or 2, got %lld", (long long) p);
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++)
		{
			double		norm = 0;

			for (int64_t k = 0; k < n; k++)
			{
				double		v = onnx_tensor_get_f64(x, (o * n + k) * inner + in);

				norm += p == 1 ? fabs(v) : v * v;
			}
			if (p == 2)
				norm = sqrt(norm);
			for (int64_t k = 0; k < n; k++)
			{
				int64_t		off = (o * n + k) * inner + in;

				onnx_tensor_set_f64(y, off, norm == 0 ? 0 : onnx_tensor_get_f64(x, off) / norm);
			}
		}
	return ONNX_OK;
}

/*
 * MeanVarianceNormalization: (X - mean) / (sqrt(var) + 1e-9) with mean and
 * (population) variance over the axes attribute (default 0, 2, 3).
 */
static OnnxStatus
run_mvn(OnnxKernelCtx *ctx)
{
	static const int64_t dflt_axes[] = {0, 2, 3};
	const OnnxTensor *x = onnx_in(ctx, 0);
	const int64_t *axes;
	int			nax = onnx_attr_ints(ctx->node, "axes", &axes);
	bool		red[ONNX_MAX_RANK] = {0};
	int64_t		ostride[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK],
				groups = 1,
				nred = 1;
	double	   *acc;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	if (onnx_attr(ctx->node, "axes") == NULL)
	{
		axes = dflt_axes;
		nax = 3;
	}
	for (int i = 0; i < nax; i++)
	{
		int			ax;

		if (!onnx_norm_axis(axes[i], x->rank, &ax))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
									(long long) axes[i], x->rank);
		red[ax] = true;
	}
	for (int d = x->rank - 1; d >= 0; d--)
	{
		ostride[d] = red[d] ? 0 : groups;
		if (red[d])
			nred *= x->dims[d];
		else
			groups *= x->dims[d];
	}
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (x->count == 0)
		return ONNX_OK;
	if ((acc = onnx_kernel_scratch_zero(ctx, (size_t) (2 * groups), sizeof(double))) == NULL)
		return ctx->err->status;
	/* pass 0: sums, pass 1: squared deviations, pass 2: output */
	for (int pass = 0; pass < 3; pass++)
	{
		memset(idx, 0, sizeof(idx));
		for (int64_t i = 0; i < x->count; i++)
		{
			int64_t		g = 0;
			double		v = onnx_tensor_get_f64(x, i);

			for (int d = 0; d < x->rank; d++)
				g += idx[d] * ostride[d];
			if (pass == 0)
				acc[g] += v;
			else if (pass == 1)
				acc[groups + g] += (v - acc[g]) * (v - acc[g]);
			else
				onnx_tensor_set_f64(y, i, (v - acc[g]) / (sqrt(acc[groups + g] / (double) nred) + 1e-9));
			onnx_index_next(idx, x->dims, x->rank);
		}
		if (pass == 0)
			for (int64_t g = 0; g < groups; g++)
				acc[g] /= (double) nred;
	}
	return ONNX_OK;
}

/* Swish: Y = X * sigmoid(alpha * X), float32/16 on the vectorised kernel. */
static OnnxStatus
run_swish(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	double		alpha = onnx_attr_float(ctx->node, "alpha", 1.0f);
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	if ((y = onnx_ew_out(ctx, 0, x->dtype, 1, &x, 1)) == NULL)
		return ctx->err->status;
	if (x->dtype != ONNX_DTYPE_DOUBLE)
	{
		float		p[2] = {(float) alpha, 0};

		return onnx_ew_unary(ctx, y, x, EW_SWISH, p);
	}
	for (int64_t i = 0; i < x->count; i++)
	{
		double		v = ((const double *) x->data)[i];

		((double *) y->data)[i] = v / (1.0 + exp(-alpha * v));
	}
	return ONNX_OK;
}

static const OnnxAttrSpec groupnorm_attrs[] = {
	{"num_groups", ONNX_ATTR_INT}, {"epsilon", ONNX_ATTR_FLOAT}, {"stash_type", ONNX_ATTR_INT}, {0}
};
static const OnnxAttrSpec lrn_attrs[] = {
	{"alpha", ONNX_ATTR_FLOAT}, {"beta", ONNX_ATTR_FLOAT}, {"bias", ONNX_ATTR_FLOAT}, {"size", ONNX_ATTR_INT}, {0}
};
static const OnnxAttrSpec lpnorm_attrs[] = {{"axis", ONNX_ATTR_INT}, {"p", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec mvn_attrs[] = {{"axes", ONNX_ATTR_INTS}, {0}};
static const OnnxAttrSpec swish_attrs[] = {{"alpha", ONNX_ATTR_FLOAT}, {0}};

/* the fields most of this family share: float input, output of its type and shape */
#define NN_FLOAT_SAME \
	.input0_types = ONNX_TS_FLOAT, ONNX_OUT_LIKE_INPUT0
#define NN1(name, sinces, fn) \
	ONNX_OP_VERSIONS("", name, sinces, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), NN_FLOAT_SAME, \
		.run = fn, .attrs = axis_attrs)

const OnnxOpDef onnx_ops_nn[] = {
	NN1("Softmax", (1, 13), run_softmax),
	NN1("LogSoftmax", (1, 13), run_log_softmax),
	ONNX_OP("", "BatchNormalization", 1, ONNX_INPUTS(5, 5), ONNX_OUTPUTS(1, 5), NN_FLOAT_SAME,
		.run = run_batchnorm),
	ONNX_OP("", "LayerNormalization", 17, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 3), NN_FLOAT_SAME,
		.run = run_layernorm),
	ONNX_OP("", "InstanceNormalization", 1, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1), NN_FLOAT_SAME,
		.run = run_instancenorm),
	ONNX_OP("", "RMSNormalization", 23, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), NN_FLOAT_SAME,
		.run = run_rmsnorm),
	NN1("Hardmax", (1, 13), run_hardmax),
	ONNX_OP_VERSIONS("", "GroupNormalization", (18, 21), ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1),
		NN_FLOAT_SAME, .run = run_groupnorm, .attrs = groupnorm_attrs),
	ONNX_OP_VERSIONS("", "LRN", (1, 13), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), NN_FLOAT_SAME,
		.check = check_lrn, .run = run_lrn, .attrs = lrn_attrs),
	ONNX_OP_VERSIONS("", "LpNormalization", (1, 22), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		NN_FLOAT_SAME, .run = run_lpnorm, .attrs = lpnorm_attrs),
	ONNX_OP_VERSIONS("", "MeanVarianceNormalization", (9, 13), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		NN_FLOAT_SAME, .run = run_mvn, .attrs = mvn_attrs),
	ONNX_OP("", "Swish", 24, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), NN_FLOAT_SAME,
		.run = run_swish, .attrs = swish_attrs),
	ONNX_OP("", "Dropout", 1, ONNX_INPUTS(1, 3), ONNX_OUTPUTS(1, 2), .input0_types = ONNX_TS_NUMERIC,
		ONNX_OUT_LIKE_INPUT0, .run = run_dropout),
	{0}
};
