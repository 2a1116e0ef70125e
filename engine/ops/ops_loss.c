/*-------------------------------------------------------------------------
 *
 * ops_loss.c
 *	  Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 *
 *	  NLL: input (N, C, d1..dk) log-probabilities, target (N, d1..dk)
 *	  int32/int64, weight (C) optional ->
 *	    loss[n, d] = -input[n, target[n, d], d] * weight[target[n, d]]
 *	  (0 where target == ignore_index); reduction none (shape of target),
 *	  sum, or mean (default: sum / sum of the weights used).
 *	  SCE: scores (N, C, d..), labels, weights -> NLL of log_softmax(scores,
 *	  axis 1), and optionally the log-probabilities.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>

#include "op_tables.h"

/* NLL over log-probabilities lp (double, N x C x D) into output 0. */
static OnnxStatus
nll_core(OnnxKernelCtx *ctx, const double *lp, OnnxDType dt, int64_t N, int64_t C, int64_t D,
		 const OnnxTensor *target, const OnnxTensor *weight)
{
	const char *reduction = onnx_attr_string(ctx->node, "reduction", "mean");
	const OnnxAttr *ign = onnx_attr(ctx->node, "ignore_index");
	int64_t		ignore = ign ? ign->i : INT64_MIN;
	bool		none = strcmp(reduction, "none") == 0;
	bool		mean = strcmp(reduction, "mean") == 0;
	double		total = 0,
				wsum = 0;
	OnnxTensor *y;

	if (!none && !mean && strcmp(reduction, "sum") != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "reduction \"%s\" is not none, sum or mean", reduction);
	if (weight && weight->count != C)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "weight must have %lld values", (long long) C);
	if (none)
		y = onnx_out(ctx, 0, dt, target->rank, target->dims);
	else
		y = onnx_out(ctx, 0, dt, 0, NULL);
	if (y == NULL)
		return ctx->err->status;
	for (int64_t n = 0; n < N; n++)
		for (int64_t d = 0; d < D; d++)
		{
			int64_t		t = onnx_tensor_get_i64(target, n * D + d);
			double		w,
						l;

			if (ign && t == ignore)
			{
				if (none)
					onnx_tensor_set_f64(y, n * D + d, 0.0);
				continue;
			}
			if (t < 0 || t >= C)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"target %lld is outside the %lld classes", (long long) t, (long long) C);
			w = weight ? onnx_tensor_get_f64(weight, t) : 1.0;
			l = -lp[(n * C + t) * D + d] * w;
			if (none)
				onnx_tensor_set_f64(y, n * D + d, l);
			total += l;
			wsum += w;
		}
	if (!none)
		onnx_tensor_set_f64(y, 0, mean ? (wsum != 0 ? total / wsum : 0.0) : total);
	return ONNX_OK;
}

/* Shapes: x (N, C, d..), target (N, d..); D = prod(d..). */
static OnnxStatus
loss_shapes(OnnxKernelCtx *ctx, const OnnxTensor *x, const OnnxTensor *target,
			int64_t *N, int64_t *C, int64_t *D)
{
	if (x == NULL || target == NULL || x->rank < 2 || target->rank != x->rank - 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"input must be (N, C, d...) and target (N, d...)");
	*N = x->dims[0];
	*C = x->dims[1];
	*D = 1;
	if (target->dims[0] != *N)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "target's first dimension must be N");
	for (int d = 2; d < x->rank; d++)
	{
		if (target->dims[d - 1] != x->dims[d])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "target dimension %d does not match", d - 1);
		*D *= x->dims[d];
	}
	if (target->dtype != ONNX_DTYPE_INT64 && target->dtype != ONNX_DTYPE_INT32)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "target must be int32 or int64");
	return ONNX_OK;
}

/*
 * NegativeLogLikelihoodLoss (softmax false: X holds log-probabilities) and
 * SoftmaxCrossEntropyLoss (softmax true: X holds scores, log_softmax over C
 * first; its optional second output is that log_softmax).
 */
static OnnxStatus
run_loss(OnnxKernelCtx *ctx, bool softmax)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *target = onnx_in(ctx, 1);
	int64_t		N = 0,
				C = 0,
				D = 0;
	double	   *lp;
	OnnxStatus	st;

	if ((st = loss_shapes(ctx, x, target, &N, &C, &D)) != ONNX_OK)
		return st;
	if ((lp = onnx_kernel_scratch(ctx, (size_t) x->count, sizeof(double))) == NULL)
		return ctx->err->status;
	if (!softmax)
		onnx_tensor_read_f64(x, 0, x->count, lp);
	else
		/* log_softmax over C for every (n, d) */
		for (int64_t n = 0; n < N; n++)
			for (int64_t d = 0; d < D; d++)
			{
				double		mx = -INFINITY,
							sum = 0;

				for (int64_t c = 0; c < C; c++)
				{
					double		v = onnx_tensor_get_f64(x, (n * C + c) * D + d);

					lp[(n * C + c) * D + d] = v;
					if (v > mx)
						mx = v;
				}
				for (int64_t c = 0; c < C; c++)
					sum += exp(lp[(n * C + c) * D + d] - mx);
				for (int64_t c = 0; c < C; c++)
					lp[(n * C + c) * D + d] -= mx + log(sum);
			}
	st = nll_core(ctx, lp, x->dtype, N, C, D, target, onnx_in(ctx, 2));
	if (softmax && st == ONNX_OK && ctx->n_outputs > 1 && ctx->node->outputs[1] >= 0)
	{
		OnnxTensor *out = onnx_out_like(ctx, 1, x->dtype, x);

		if (out == NULL)
			st = ctx->err->status;
		else
			onnx_tensor_write_f64(out, 0, x->count, lp);
	}
	return st;
}

static OnnxStatus run_nll(OnnxKernelCtx *ctx) { return run_loss(ctx, false); }
static OnnxStatus run_sce(OnnxKernelCtx *ctx) { return run_loss(ctx, true); }

static const OnnxAttrSpec loss_attrs[] = {
	{"reduction", ONNX_ATTR_STRING}, {"ignore_index", ONNX_ATTR_INT}, {0}
};

const OnnxOpDef onnx_ops_loss[] = {
	ONNX_OP("", "NegativeLogLikelihoodLoss", 12, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_SAME, .run = run_nll, .attrs = loss_attrs),
	ONNX_OP("", "SoftmaxCrossEntropyLoss", 12, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 2),
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_SAME, .run = run_sce, .attrs = loss_attrs),
	{0}
};
