/*-------------------------------------------------------------------------
 *
 * window_geom.c
 *	  Window geometry for convolution and pooling (see the header).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "window_geom.h"

/*
 * Optional ints attribute `name` into out[0..n): absent gives dflt for
 * every entry; present must have exactly n values in [lo, CONV_ATTR_MAX].
 */
OnnxStatus
cpq_attr_ints(OnnxKernelCtx *ctx, const char *name, int n, int64_t lo, int64_t dflt,
			  int64_t *out)
{
	const int64_t *v;
	int			cnt = onnx_attr_ints(ctx->node, name, &v);

	if (cnt == 0)
	{
		for (int i = 0; i < n; i++)
			out[i] = dflt;
		return ONNX_OK;
	}
	if (cnt != n)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"attribute %s has %d values, expected %d", name, cnt, n);
	for (int i = 0; i < n; i++)
	{
		if (v[i] < lo || v[i] > CONV_ATTR_MAX)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"attribute %s[%d] = %lld is out of range [%lld, %lld]",
									name, i, (long long) v[i], (long long) lo,
									(long long) CONV_ATTR_MAX);
		out[i] = v[i];
	}
	return ONNX_OK;
}

/* prod(in), prod(k), prod(out) into the geometry, refusing overflow. */
OnnxStatus
cpq_geom_sizes(OnnxKernelCtx *ctx, ConvGeom *g)
{
	g->in_size = g->k_size = g->out_size = 1;
	for (int i = 0; i < g->nsp; i++)
		if (onnx_mul_overflow_i64(g->in_size, g->in[i], &g->in_size) ||
			onnx_mul_overflow_i64(g->k_size, g->k[i], &g->k_size) ||
			onnx_mul_overflow_i64(g->out_size, g->out[i], &g->out_size))
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "window geometry sizes overflow");
	return ONNX_OK;
}

/*
 * Geometry of a forward window (Conv, pooling): reads strides,
 * dilations, pads and auto_pad.  Output size per dim:
 *	 explicit pads: floor_or_ceil((in + pb + pe - dk) / s) + 1
 *	 SAME_*: ceil(in / s) with pads split (SAME_UPPER puts the odd one after)
 *	 VALID: floor((in - dk) / s) + 1
 * where dk = (k - 1) * d + 1.
 */
OnnxStatus
cpq_geom_forward(OnnxKernelCtx *ctx, int nsp, const int64_t *in, const int64_t *k,
				 bool ceil_mode, ConvGeom *g)
{
	const char *auto_pad = onnx_attr_string(ctx->node, "auto_pad", "NOTSET");
	int64_t		pads[2 * ONNX_MAX_RANK];
	OnnxStatus	st;

	memset(g, 0, sizeof(*g));
	if (nsp < 1 || nsp > ONNX_MAX_RANK - 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"expected 1 to %d spatial dimensions, got %d", ONNX_MAX_RANK - 2, nsp);
	g->nsp = nsp;
	for (int i = 0; i < nsp; i++)
	{
		if (k[i] < 1 || k[i] > CONV_ATTR_MAX)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"kernel size %lld in dimension %d is out of range",
									(long long) k[i], i);
		g->in[i] = in[i];
		g->k[i] = k[i];
	}
	if ((st = cpq_attr_ints(ctx, "strides", nsp, 1, 1, g->s)) != ONNX_OK ||
		(st = cpq_attr_ints(ctx, "dilations", nsp, 1, 1, g->d)) != ONNX_OK ||
		(st = cpq_attr_ints(ctx, "pads", 2 * nsp, 0, 0, pads)) != ONNX_OK)
		return st;
	for (int i = 0; i < nsp; i++)
	{
		int64_t		dk = (g->k[i] - 1) * g->d[i] + 1;	/* < 2^62 */

		g->pb[i] = pads[i];
		g->pe[i] = pads[nsp + i];
		if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0)
		{
			int64_t		total;

			g->out[i] = (in[i] + g->s[i] - 1) / g->s[i];
			total = g->out[i] > 0 ? (g->out[i] - 1) * g->s[i] + dk - in[i] : 0;
			if (total < 0)
				total = 0;
			if (strcmp(auto_pad, "SAME_UPPER") == 0)
			{
				g->pb[i] = total / 2;
				g->pe[i] = total - total / 2;
			}
			else
			{
				g->pb[i] = total - total / 2;
				g->pe[i] = total / 2;
			}
		}
		else if (strcmp(auto_pad, "VALID") == 0)
		{
			g->pb[i] = g->pe[i] = 0;
			g->out[i] = in[i] >= dk ? (in[i] - dk) / g->s[i] + 1 : 0;
		}
		else if (strcmp(auto_pad, "NOTSET") == 0 || auto_pad[0] == '\0')
		{
			int64_t		span = in[i] + g->pb[i] + g->pe[i] - dk;

			if (span < 0)
				g->out[i] = 0;
			else if (ceil_mode)
			{
				g->out[i] = (span + g->s[i] - 1) / g->s[i] + 1;
				if ((g->out[i] - 1) * g->s[i] >= in[i] + g->pb[i])
					g->out[i]--;
			}
			else
				g->out[i] = span / g->s[i] + 1;
		}
		else
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"auto_pad \"%s\" is not NOTSET, SAME_UPPER, SAME_LOWER or VALID",
									auto_pad);
		if (g->out[i] < 1 && in[i] > 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"kernel (%lld, dilation %lld) does not fit spatial dimension %d of size %lld with pads %lld+%lld",
									(long long) g->k[i], (long long) g->d[i], i,
									(long long) in[i], (long long) g->pb[i], (long long) g->pe[i]);
		if (g->out[i] < 0)
			g->out[i] = 0;
	}
	return cpq_geom_sizes(ctx, g);
}

void
cpq_infer_window(OnnxInferCtx *ctx, int nsp, const int64_t *k, bool ceil_mode, int64_t channels)
{
	const OnnxValueInfo *x = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	OnnxValueInfo *y = ctx->n_outputs > 0 ? ctx->outputs[0] : NULL;
	OnnxKernelCtx kc;
	OnnxError	err;
	ConvGeom	g;
	bool		known = true;

	if (x == NULL || y == NULL || x->kind != ONNX_VALUE_TENSOR || nsp < 1 ||
		x->rank != nsp + 2 || x->rank > ONNX_MAX_RANK)
		return;
	for (int i = 0; i < nsp; i++)
	{
		if (x->dims[2 + i] > CONV_ATTR_MAX || k[i] < 1)
			return;
		/* a spatial size known only at run time: the rank and channels still are */
		known = known && x->dims[2 + i] >= 0;
	}
	/* the run's own geometry, its errors caught here and dropped */
	memset(&kc, 0, sizeof(kc));
	memset(&err, 0, sizeof(err));
	kc.node = ctx->node;
	kc.err = &err;
	if (known && cpq_geom_forward(&kc, nsp, x->dims + 2, k, ceil_mode, &g) != ONNX_OK)
		return;
	y->rank = x->rank;
	y->dims[0] = x->dims[0];
	y->dim_params[0] = x->dim_params[0];
	y->dims[1] = channels >= 0 ? channels : -1;
	y->dim_params[1] = NULL;
	for (int i = 0; i < nsp; i++)
	{
		y->dims[2 + i] = known ? g.out[i] : -1;
		y->dim_params[2 + i] = NULL;
	}
}

/* Round to nearest, ties to even (like numpy.rint). */
double
cpq_round_even(double v)
{
	return nearbyint(v);		/* default FE_TONEAREST mode */
}

void
cpq_geom_2d(const ConvGeom *g, ConvGeom2D *v)
{
	bool		two = g->nsp == 2;

	v->in_h = two ? g->in[0] : 1;
	v->in_w = g->in[two];
	v->out_h = two ? g->out[0] : 1;
	v->out_w = g->out[two];
	v->k_h = two ? g->k[0] : 1;
	v->k_w = g->k[two];
	v->s_h = two ? g->s[0] : 1;
	v->s_w = g->s[two];
	v->d_h = two ? g->d[0] : 1;
	v->d_w = g->d[two];
	v->p_h = two ? g->pb[0] : 0;
	v->p_w = g->pb[two];
}

/*
 * Checks shared by Conv-like operators: X (N,C,sp...) and W (M,C/group,k...)
 * of equal rank >= 3, group dividing C and M, kernel_shape matching W.
 */
OnnxStatus
cpq_conv_check_shapes(OnnxKernelCtx *ctx, const OnnxTensor *x, const OnnxTensor *w,
					  int64_t *group_out)
{
	int64_t		group = onnx_attr_int(ctx->node, "group", 1);
	const int64_t *ks;
	int			nks = onnx_attr_ints(ctx->node, "kernel_shape", &ks);

	if (x == NULL || w == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X and W are required");
	if (x->rank < 3 || w->rank != x->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"expected X (N,C,spatial...) and W of the same rank >= 3, got ranks %d and %d",
								x->rank, w->rank);
	if (group < 1 || group > x->dims[1] || x->dims[1] % group != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"group %lld does not divide the %lld input channels",
								(long long) group, (long long) x->dims[1]);
	if (nks != 0)
	{
		if (nks != x->rank - 2)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"kernel_shape has %d values for %d spatial dimensions",
									nks, x->rank - 2);
		for (int i = 0; i < nks; i++)
			if (ks[i] != w->dims[i + 2])
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"kernel_shape[%d] = %lld differs from W's dimension %lld",
										i, (long long) ks[i], (long long) w->dims[i + 2]);
	}
	*group_out = group;
	return ONNX_OK;
}
