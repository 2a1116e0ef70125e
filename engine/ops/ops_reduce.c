/*-------------------------------------------------------------------------
 *
 * ops_reduce.c
 *	  Reductions over a set of axes: ReduceSum, ReduceMean, ReduceMax,
 *	  ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare,
 *	  ReduceLogSum, ReduceLogSumExp; and ArgMax, ArgMin over one axis.
 *
 *	  X (d0..dn), axes -> Y with the axes reduced (kept as 1 with
 *	  keepdims, the default).  Axes come from the attribute, or from input
 *	  1 from opset 13 (ReduceSum) or 18 (the others); no axes reduce all,
 *	  unless noop_with_empty_axes: then nothing is reduced and each element
 *	  only takes the op's transform (squared, absolute, log...), as in the
 *	  ONNX reference.  Computed in double; an empty reduction gives the
 *	  identity (0, 1, -inf, +inf, ...).  float32 runs reduce_fast.c's
 *	  vector loops.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>

#include "op_tables.h"
#include "reduce_fast.h"

typedef enum ReduceKind
{
	R_SUM,
	R_MEAN,
	R_MAX,
	R_MIN,
	R_PROD,
	R_L1,
	R_L2,
	R_SUMSQ,
	R_LOGSUM,
	R_LOGSUMEXP
} ReduceKind;

/*
 * Which axes to reduce into red[]: the given ones, all when none are
 * given, none when none are given and noop_with_empty_axes is set.
 */
static OnnxStatus
reduce_axes(OnnxKernelCtx *ctx, int rank, bool axes_input, bool *red)
{
	const int64_t *ax = NULL;
	int			n = 0;
	bool		given = false;

	for (int d = 0; d < rank; d++)
		red[d] = false;
	if (axes_input)
	{
		const OnnxTensor *t = onnx_in(ctx, 1);

		if (t && t->count > 0)
		{
			if (t->dtype != ONNX_DTYPE_INT64)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axes must be int64");
			ax = t->data;
			n = (int) t->count;
			given = true;
		}
	}
	else if (onnx_attr(ctx->node, "axes"))
	{
		n = onnx_attr_ints(ctx->node, "axes", &ax);
		given = n > 0;
	}
	if (!given)
	{
		if (onnx_attr_int(ctx->node, "noop_with_empty_axes", 0))
			return ONNX_OK;		/* nothing reduced */
		for (int d = 0; d < rank; d++)
			red[d] = true;
		return ONNX_OK;
	}
	for (int i = 0; i < n; i++)
	{
		int			d;

		if (!onnx_norm_axis(ax[i], rank, &d))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
									(long long) ax[i], rank);
		red[d] = true;
	}
	return ONNX_OK;
}

static double
reduce_init(ReduceKind k)
{
	switch (k)
	{
		case R_MAX:
			return -INFINITY;
		case R_MIN:
			return INFINITY;
		case R_PROD:
			return 1;
		case R_LOGSUMEXP:
			return -INFINITY;
		default:
			return 0;
	}
}

/* What the float32 path accumulates for a kind, and then along further groups. */
static ReduceAcc
reduce_acc(ReduceKind kind, bool first)
{
	switch (kind)
	{
		case R_MAX:
			return RACC_MAX;
		case R_MIN:
			return RACC_MIN;
		case R_PROD:
			return RACC_PROD;
		case R_LOGSUMEXP:
			return RACC_LOGSUMEXP;
		case R_L1:
			return first ? RACC_SUMABS : RACC_SUM;
		case R_L2:
		case R_SUMSQ:
			return first ? RACC_SUMSQ : RACC_SUM;
		default:
			return RACC_SUM;
	}
}

/*
 * float32 reduction into y (nred > 0, y non-empty): X's dims collapsed
 * into runs of reduced and kept dims; each reduced run, innermost first,
 * reduced as (outer, R, inner) by reduce_fast.c into a scratch tensor
 * and the last into y, which then takes the kind's finish (mean, sqrt,
 * log).  *done stays false when the shape needs the general path
 * (LogSumExp over separate runs).
 */
static OnnxStatus
reduce_f32(OnnxKernelCtx *ctx, ReduceKind kind, const OnnxTensor *x, const bool *red, int64_t nred,
		   OnnxTensor *y, bool *done)
{
	int64_t		n[ONNX_MAX_RANK];
	bool		r[ONNX_MAX_RANK];
	int			ng = 0,
				nr = 0;
	const float *src = x->data;
	float	   *tmp = NULL;
	float	   *yf = y->data;
	OnnxStatus	st = ONNX_OK;

	*done = false;
	for (int d = 0; d < x->rank; d++)
	{
		if (x->dims[d] == 1)
			continue;
		if (ng > 0 && r[ng - 1] == red[d])
			n[ng - 1] *= x->dims[d];
		else
		{
			n[ng] = x->dims[d];
			r[ng++] = red[d];
			nr += red[d];
		}
	}
	if (nr > 1 && kind == R_LOGSUMEXP)
		return ONNX_OK;
	if (nr == 0)
	{
		/* nothing to combine: every element is its own reduction */
		n[ng] = 1;
		r[ng++] = true;
		nr = 1;
	}
	for (int g = ng - 1, step = 0; g >= 0; g--)
	{
		int64_t		outer = 1,
					inner = 1;
		float	   *dst;

		if (!r[g])
			continue;
		for (int k = 0; k < g; k++)
			outer *= n[k];
		for (int k = g + 1; k < ng; k++)
			inner *= n[k];
		if (step == nr - 1)
			dst = yf;
		else
		{
			/* the first step's result is the largest: later ones reduce it in place */
			if (tmp == NULL && (tmp = onnx_kernel_scratch(ctx, (size_t) (outer * inner), sizeof(float))) == NULL)
				return ctx->err->status;
			dst = tmp;
		}
		if ((st = onnx_reduce_f32(ctx, reduce_acc(kind, step == 0), src, dst, outer, n[g], inner)) != ONNX_OK)
			break;
		src = dst;
		n[g] = 1;
		step++;
	}
	if (st != ONNX_OK)
		return st;
	for (int64_t o = 0; o < y->count; o++)
		switch (kind)
		{
			case R_MEAN:
				yf[o] = (float) ((double) yf[o] / (double) nred);
				break;
			case R_L2:
				yf[o] = sqrtf(yf[o]);
				break;
			case R_LOGSUM:
				yf[o] = logf(yf[o]);
				break;
			default:
				break;
		}
	*done = true;
	return ONNX_OK;
}

static OnnxStatus
run_reduce(OnnxKernelCtx *ctx, ReduceKind kind, int axes_input_since)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	bool		keep = onnx_attr_int(ctx->node, "keepdims", 1) != 0;
	bool		red[ONNX_MAX_RANK];
	int64_t		dims[ONNX_MAX_RANK],
				odims[ONNX_MAX_RANK],
				ostride[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK],
				nred = 1;
	int			orank = 0;
	double	   *acc;
	double	   *mx = NULL;
	OnnxTensor *y;
	OnnxStatus	st;
	bool		integer;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	if ((st = reduce_axes(ctx, x->rank, ctx->opset >= axes_input_since, red)) != ONNX_OK)
		return st;
	integer = !onnx_dtype_is_float(x->dtype);
	for (int d = 0; d < x->rank; d++)
	{
		dims[d] = red[d] ? 1 : x->dims[d];
		if (red[d])
			nred *= x->dims[d];
		if (!red[d] || keep)
			odims[orank++] = red[d] ? 1 : x->dims[d];
	}
	if ((y = onnx_out(ctx, 0, x->dtype, orank, odims)) == NULL)
		return ctx->err->status;
	if ((kind == R_MAX || kind == R_MIN) && nred == 0 && integer)
		return ONNX_OK;			/* no identity in integers: zeros */
	if (x->dtype == ONNX_DTYPE_FLOAT && nred > 0 && y->count > 0)
	{
		bool		done;

		if ((st = reduce_f32(ctx, kind, x, red, nred, y, &done)) != ONNX_OK || done)
			return st;
	}
	if ((acc = onnx_kernel_scratch(ctx, (size_t) y->count, sizeof(double))) == NULL ||
		(kind == R_LOGSUMEXP &&
		 (mx = onnx_kernel_scratch(ctx, (size_t) y->count, sizeof(double))) == NULL))
		return ctx->err->status;
	for (int64_t i = 0; i < y->count; i++)
	{
		acc[i] = reduce_init(kind);
		if (mx)
			mx[i] = -INFINITY;
	}
	{
		int64_t		s = 1;

		for (int d = x->rank - 1; d >= 0; d--)
		{
			ostride[d] = red[d] ? 0 : s;
			s *= dims[d];
		}
	}
	/* pass 1 (LogSumExp: the maximum per output) */
	for (int pass = mx ? 0 : 1; pass < 2; pass++)
	{
		memset(idx, 0, sizeof(idx));
		for (int64_t i = 0; i < x->count; i++)
		{
			int64_t		o = 0;
			double		v = onnx_tensor_get_f64(x, i);

			for (int d = 0; d < x->rank; d++)
				o += idx[d] * ostride[d];
			if (pass == 0)
			{
				if (v > mx[o])
					mx[o] = v;
			}
			else
				switch (kind)
				{
					case R_SUM:
					case R_MEAN:
						acc[o] += v;
						break;
					case R_MAX:
						if (v > acc[o] || isnan(v))
							acc[o] = v;
						break;
					case R_MIN:
						if (v < acc[o] || isnan(v))
							acc[o] = v;
						break;
					case R_PROD:
						acc[o] *= v;
						break;
					case R_L1:
						acc[o] += fabs(v);
						break;
					case R_L2:
					case R_SUMSQ:
						acc[o] += v * v;
						break;
					case R_LOGSUM:
						acc[o] += v;
						break;
					case R_LOGSUMEXP:
						if (acc[o] == -INFINITY)
							acc[o] = 0;
						acc[o] += exp(v - (isinf(mx[o]) ? 0 : mx[o]));
						break;
				}
			onnx_index_next(idx, x->dims, x->rank);
		}
	}
	for (int64_t o = 0; o < y->count; o++)
	{
		double		v = acc[o];

		switch (kind)
		{
			case R_MEAN:
				v = nred ? v / (double) nred : NAN;
				break;
			case R_L2:
				v = sqrt(v);
				break;
			case R_LOGSUM:
				v = log(v);
				break;
			case R_LOGSUMEXP:
				v = v == -INFINITY ? -INFINITY : log(v) + (isinf(mx[o]) ? 0 : mx[o]);
				break;
			default:
				break;
		}
		/* integers: a mean truncates; out-of-range values saturate (set_f64) */
		onnx_tensor_set_f64(y, o, integer && kind == R_MEAN ? trunc(v) : v);
	}
	return ONNX_OK;
}

#define RED(fname, kind, since_in) \
	static OnnxStatus fname(OnnxKernelCtx *ctx) { return run_reduce(ctx, kind, since_in); }

RED(run_reduce_sum, R_SUM, 13)
RED(run_reduce_mean, R_MEAN, 18)
RED(run_reduce_max, R_MAX, 18)
RED(run_reduce_min, R_MIN, 18)
RED(run_reduce_prod, R_PROD, 18)
RED(run_reduce_l1, R_L1, 18)
RED(run_reduce_l2, R_L2, 18)
RED(run_reduce_sumsq, R_SUMSQ, 18)
RED(run_reduce_logsum, R_LOGSUM, 18)
RED(run_reduce_logsumexp, R_LOGSUMEXP, 18)

/* ArgMax/ArgMin: X along axis -> int64 indices (keepdims, select_last_index). */
static OnnxStatus
run_arg(OnnxKernelCtx *ctx, bool is_max)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 0);
	bool		keep = onnx_attr_int(ctx->node, "keepdims", 1) != 0;
	bool		last = onnx_attr_int(ctx->node, "select_last_index", 0) != 0;
	int64_t		odims[ONNX_MAX_RANK],
				outer = 1,
				inner = 1,
				n;
	int			ax,
				orank = 0;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	if (!onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range", (long long) axis);
	n = x->dims[ax];
	if (n == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s over an empty axis", ctx->node->op_type);
	for (int d = 0; d < x->rank; d++)
	{
		if (d < ax)
			outer *= x->dims[d];
		else if (d > ax)
			inner *= x->dims[d];
		if (d != ax || keep)
			odims[orank++] = d == ax ? 1 : x->dims[d];
	}
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_INT64, orank, odims)) == NULL)
		return ctx->err->status;
	if (x->dtype == ONNX_DTYPE_FLOAT)
		return onnx_arg_f32(ctx, is_max, last, x->data, y->data, outer, n, inner);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++)
			((int64_t *) y->data)[o * inner + in] = onnx_arg_index(x, o, in, n, inner, is_max, last);
	return ONNX_OK;
}

static OnnxStatus run_argmax(OnnxKernelCtx *ctx) { return run_arg(ctx, true); }
static OnnxStatus run_argmin(OnnxKernelCtx *ctx) { return run_arg(ctx, false); }

#define R1(name, since, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_NUMERIC, .out_type = ONNX_OUT_SAME, .run = fn)
#define R2(name, since, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_NUMERIC, .out_type = ONNX_OUT_SAME, .run = fn)
/* ReduceMax/ReduceMin 20 also take bool (max = any, min = all) */
#define R2B(name, since, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_NUMERIC | ONNX_T(ONNX_DTYPE_BOOL), .out_type = ONNX_OUT_SAME, \
		.run = fn)

const OnnxOpDef onnx_ops_reduce[] = {
	R1("ReduceSum", 1, run_reduce_sum), R2("ReduceSum", 13, run_reduce_sum),
	R1("ReduceMean", 1, run_reduce_mean), R2("ReduceMean", 18, run_reduce_mean),
	R1("ReduceMax", 1, run_reduce_max), R2("ReduceMax", 18, run_reduce_max), R2B("ReduceMax", 20, run_reduce_max),
	R1("ReduceMin", 1, run_reduce_min), R2("ReduceMin", 18, run_reduce_min), R2B("ReduceMin", 20, run_reduce_min),
	R1("ReduceProd", 1, run_reduce_prod), R2("ReduceProd", 18, run_reduce_prod),
	R1("ReduceL1", 1, run_reduce_l1), R2("ReduceL1", 18, run_reduce_l1),
	R1("ReduceL2", 1, run_reduce_l2), R2("ReduceL2", 18, run_reduce_l2),
	R1("ReduceSumSquare", 1, run_reduce_sumsq), R2("ReduceSumSquare", 18, run_reduce_sumsq),
	R1("ReduceLogSum", 1, run_reduce_logsum), R2("ReduceLogSum", 18, run_reduce_logsum),
	R1("ReduceLogSumExp", 1, run_reduce_logsumexp), R2("ReduceLogSumExp", 18, run_reduce_logsumexp),
	ONNX_OP("", "ArgMax", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		.out_type = ONNX_OUT_INT64, .run = run_argmax),
	ONNX_OP("", "ArgMin", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		.out_type = ONNX_OUT_INT64, .run = run_argmin),
	{0}
};
