/*-------------------------------------------------------------------------
 *
 * ops_tensor_shape.c
 *	  Operators about shapes, and those that make a tensor from attributes
 *	  or a shape:
 *	  Identity, Reshape, Flatten, Squeeze, Unsqueeze, Expand (copy the
 *	  values into a new shape); Shape, Size (read the shape);
 *	  Constant, ConstantOfShape, EyeLike, Range (build a tensor).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>

#include "op_tables.h"
#include "dtype_cast.h"
#include "strided_copy.h"

/* Elements processed between abort checks. */
#define SHAPE_CHUNK 65536

/* Copy the elements of x into y (same dtype and count; strings duplicated). */
static OnnxStatus
copy_data(OnnxKernelCtx *ctx, OnnxTensor *y, const OnnxTensor *x)
{
	if (y->count != x->count || y->dtype != x->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "element count or type changed");
	if (x->dtype == ONNX_DTYPE_STRING)
	{
		for (int64_t i = 0; i < x->count; i++)
			if ((((char **) y->data)[i] = onnx_kernel_strdup(ctx, ((char *const *) x->data)[i])) == NULL)
				return ctx->err->status;
	}
	else if (x->nbytes)
		memcpy(y->data, x->data, x->nbytes);
	return ONNX_OK;
}

/*
 * Y := X (input 0) with a new shape (same count): X's buffer itself when
 * the executor allows (onnx_out_alias), else a copy of the data.
 */
static OnnxStatus
copy_with_shape(OnnxKernelCtx *ctx, const OnnxTensor *x, int rank, const int64_t *dims)
{
	OnnxTensor *y;

	if (onnx_out_alias(ctx, 0, 0, rank, dims) != NULL)
		return ONNX_OK;
	if ((y = onnx_out_raw(ctx, 0, x->dtype, rank, dims)) == NULL)
		return ctx->err->status;
	return copy_data(ctx, y, x);
}

/* Identity: any value -> a copy. */
static OnnxStatus
run_identity(OnnxKernelCtx *ctx)
{
	const OnnxValue *v = ctx->inputs[0];
	OnnxValue	copy;
	OnnxStatus	st;

	if (v == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Identity input is missing");
	if (v->kind == ONNX_VALUE_TENSOR)
		return copy_with_shape(ctx, &v->tensor, v->tensor.rank, v->tensor.dims);
	if ((st = onnx_value_copy(&copy, v, onnx_kernel_allocator(ctx), ctx->err)) != ONNX_OK)
		return st;
	return onnx_out_value(ctx, 0, &copy);
}

/*
 * Resolve a Reshape target: 0 copies the input dim (unless allowzero), one
 * -1 is inferred.  Returns false with a message in why.
 */
static bool
reshape_dims(const OnnxTensor *x, int n, const int64_t *shape, bool allowzero,
			 int64_t *out, char *why, size_t len)
{
	int			infer = -1;
	int64_t		known = 1;

	if (n > ONNX_MAX_RANK)
	{
		snprintf(why, len, "target rank %d is too large", n);
		return false;
	}
	for (int i = 0; i < n; i++)
	{
		int64_t		d = shape[i];

		if (d == 0 && !allowzero)
		{
			if (i >= x->rank)
			{
				snprintf(why, len, "target dimension %d is 0 but the input has rank %d", i, x->rank);
				return false;
			}
			d = x->dims[i];
		}
		if (d == -1)
		{
			if (infer >= 0)
			{
				snprintf(why, len, "target shape has more than one -1");
				return false;
			}
			infer = i;
			out[i] = -1;
			continue;
		}
		if (d < 0)
		{
			snprintf(why, len, "target dimension %d is %lld", i, (long long) d);
			return false;
		}
		out[i] = d;
		if (onnx_mul_overflow_i64(known, d, &known))
		{
			snprintf(why, len, "target shape overflows");
			return false;
		}
	}
	if (infer >= 0)
	{
		if (known == 0 || x->count % known != 0)
		{
			snprintf(why, len, "cannot infer the -1 dimension: %lld elements into blocks of %lld",
					 (long long) x->count, (long long) known);
			return false;
		}
		out[infer] = x->count / known;
	}
	else if (known != x->count)
	{
		snprintf(why, len, "target shape holds %lld elements, the input has %lld",
				 (long long) known, (long long) x->count);
		return false;
	}
	return true;
}

/* Reshape: X, shape (int64 1-D) -> Y; opset < 5 takes shape as attribute. */
static OnnxStatus
run_reshape(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *s = onnx_in(ctx, 1);
	const int64_t *shape;
	int			n;
	int64_t		dims[ONNX_MAX_RANK];
	char		why[200];

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Reshape input is missing");
	if (ctx->opset < 5)
		n = onnx_attr_ints(ctx->node, "shape", &shape);
	else
	{
		if (s == NULL || s->dtype != ONNX_DTYPE_INT64 || s->rank != 1)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Reshape shape must be a 1-D int64 tensor");
		shape = s->data;
		n = (int) s->count;
	}
	if (!reshape_dims(x, n, shape, onnx_attr_int(ctx->node, "allowzero", 0) != 0, dims, why, sizeof(why)))
	{
		char		sx[128];

		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Reshape of %s: %s",
								onnx_shape_text(x, sx, sizeof(sx)), why);
	}
	return copy_with_shape(ctx, x, n, dims);
}

/* Static Reshape shape from a constant shape input (-1 stays dynamic). */
static OnnxStatus
infer_reshape(OnnxInferCtx *ctx)
{
	const OnnxValue *s = ctx->n_inputs > 1 ? ctx->const_inputs[1] : NULL;
	const OnnxValueInfo *x = ctx->inputs[0];
	OnnxValueInfo *y = ctx->outputs[0];

	if (y == NULL || s == NULL || s->tensor.dtype != ONNX_DTYPE_INT64 ||
		s->tensor.rank != 1 || s->tensor.count > ONNX_MAX_RANK)
		return ONNX_OK;
	y->rank = (int) s->tensor.count;
	for (int i = 0; i < y->rank; i++)
	{
		int64_t		d = ((const int64_t *) s->tensor.data)[i];

		y->dim_params[i] = NULL;
		if (d == 0 && x && i < x->rank && !onnx_attr_int(ctx->node, "allowzero", 0))
		{
			y->dims[i] = x->dims[i];
			y->dim_params[i] = x->dim_params[i];
		}
		else
			y->dims[i] = d >= 0 ? d : -1;
	}
	return ONNX_OK;
}

/* Flatten: X (d0..dn) -> (d0*..*d(axis-1), d(axis)*..*dn). */
static OnnxStatus
run_flatten(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 1);
	int64_t		dims[2] = {1, 1};

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Flatten input is missing");
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis > x->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Flatten axis %lld is out of range for rank %d",
								(long long) onnx_attr_int(ctx->node, "axis", 1), x->rank);
	for (int i = 0; i < x->rank; i++)
		dims[i < axis ? 0 : 1] *= x->dims[i];
	return copy_with_shape(ctx, x, 2, dims);
}

/* Static Flatten shape; the leading dim keeps a symbolic batch name. */
static OnnxStatus
infer_flatten(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->inputs[0];
	OnnxValueInfo *y = ctx->outputs[0];
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 1);
	int64_t		d[2] = {1, 1};

	if (y == NULL || x == NULL || x->rank < 0)
		return ONNX_OK;
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis > x->rank)
		return ONNX_OK;
	for (int i = 0; i < x->rank; i++)
	{
		int			k = i < axis ? 0 : 1;

		if (x->dims[i] < 0 || d[k] < 0 || onnx_mul_overflow_i64(d[k], x->dims[i], &d[k]))
			d[k] = -1;			/* unknown, or too large to know */
	}
	y->rank = 2;
	y->dims[0] = d[0];
	y->dims[1] = d[1];
	y->dim_params[0] = (axis == 1 && x->rank >= 1) ? x->dim_params[0] : NULL;
	y->dim_params[1] = NULL;
	return ONNX_OK;
}

/* ---- Squeeze / Unsqueeze ---- */

/*
 * The axes of a Squeeze/Unsqueeze node: attribute before opset 13, else
 * the optional int64 1-D input 1.  *n = -1 when none are given.
 */
static OnnxStatus
read_axes(OnnxKernelCtx *ctx, const int64_t **axes, int *n)
{
	const OnnxTensor *a;

	*axes = NULL;
	*n = -1;
	if (ctx->opset < 13)
	{
		if (onnx_attr(ctx->node, "axes") != NULL)
			*n = onnx_attr_ints(ctx->node, "axes", axes);
		return ONNX_OK;
	}
	if (ctx->n_inputs < 2 || ctx->inputs[1] == NULL)
		return ONNX_OK;
	a = onnx_in(ctx, 1);
	if (a == NULL || a->dtype != ONNX_DTYPE_INT64 || a->rank > 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s axes must be a 1-D int64 tensor", ctx->node->op_type);
	if (a->count > ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s has %lld axes, more than the maximum rank %d",
								ctx->node->op_type, (long long) a->count, ONNX_MAX_RANK);
	*axes = a->data;
	*n = (int) a->count;
	return ONNX_OK;
}

/* Squeeze: X -> X without the listed size-1 axes (all size-1 axes if none). */
static OnnxStatus
run_squeeze(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const int64_t *axes;
	int			n;
	bool		drop[ONNX_MAX_RANK] = {false};
	int64_t		dims[ONNX_MAX_RANK];
	int			r = 0;
	OnnxStatus	st;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Squeeze input must be a tensor");
	if ((st = read_axes(ctx, &axes, &n)) != ONNX_OK)
		return st;
	if (n < 0)
	{
		for (int d = 0; d < x->rank; d++)
			drop[d] = x->dims[d] == 1;
	}
	for (int k = 0; k < n; k++)
	{
		int			ax;

		if (!onnx_norm_axis(axes[k], x->rank, &ax))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Squeeze axis %lld is out of range for rank %d",
									(long long) axes[k], x->rank);
		if (drop[ax])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Squeeze axis %d is listed twice", ax);
		if (x->dims[ax] != 1)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Squeeze axis %d has size %lld, expected 1",
									ax, (long long) x->dims[ax]);
		drop[ax] = true;
	}
	for (int d = 0; d < x->rank; d++)
		if (!drop[d])
			dims[r++] = x->dims[d];
	return copy_with_shape(ctx, x, r, dims);
}

/* Unsqueeze: X -> X with size-1 axes inserted at the output positions axes. */
static OnnxStatus
run_unsqueeze(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const int64_t *axes;
	int			n;
	int			r;
	bool		ins[ONNX_MAX_RANK] = {false};
	int64_t		dims[ONNX_MAX_RANK];
	OnnxStatus	st;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Unsqueeze input must be a tensor");
	if ((st = read_axes(ctx, &axes, &n)) != ONNX_OK)
		return st;
	if (n < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Unsqueeze needs axes");
	if (x->rank + n > ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED,
								"Unsqueeze output rank %d exceeds the maximum %d",
								x->rank + n, ONNX_MAX_RANK);
	r = x->rank + n;
	for (int k = 0; k < n; k++)
	{
		int			ax;

		if (!onnx_norm_axis(axes[k], r, &ax))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Unsqueeze axis %lld is out of range for output rank %d",
									(long long) axes[k], r);
		if (ins[ax])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Unsqueeze axis %d is listed twice", ax);
		ins[ax] = true;
	}
	for (int d = 0, j = 0; d < r; d++)
		dims[d] = ins[d] ? 1 : x->dims[j++];
	return copy_with_shape(ctx, x, r, dims);
}

/* Load-time check: Unsqueeze before opset 13 needs the axes attribute. */
static OnnxStatus
check_unsqueeze(const OnnxNode *node, OnnxError *err)
{
	if (node->opset < 13 && onnx_attr(node, "axes") == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "Unsqueeze needs the attribute \"axes\"");
	return ONNX_OK;
}

/* Static axes of a Squeeze/Unsqueeze node; false if not known. */
static bool
infer_axes(OnnxInferCtx *ctx, const int64_t **axes, int *n)
{
	const OnnxValue *c;

	*axes = NULL;
	*n = -1;
	if (ctx->node->opset < 13)
	{
		if (onnx_attr(ctx->node, "axes") != NULL)
			*n = onnx_attr_ints(ctx->node, "axes", axes);
		return true;
	}
	if (ctx->n_inputs < 2 || ctx->inputs[1] == NULL)
		return true;
	c = ctx->const_inputs[1];
	if (c == NULL || c->kind != ONNX_VALUE_TENSOR || c->tensor.dtype != ONNX_DTYPE_INT64 ||
		c->tensor.rank > 1 || c->tensor.count > ONNX_MAX_RANK)
		return false;
	*axes = c->tensor.data;
	*n = (int) c->tensor.count;
	return true;
}

/* Static Squeeze shape when the axes (or all input dims) are known. */
static OnnxStatus
infer_squeeze(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->inputs[0];
	OnnxValueInfo *y = ctx->outputs[0];
	const int64_t *axes;
	int			n;
	bool		drop[ONNX_MAX_RANK] = {false};
	int			r = 0;

	if (y == NULL || x == NULL || x->rank < 0 || !infer_axes(ctx, &axes, &n))
		return ONNX_OK;
	for (int d = 0; n < 0 && d < x->rank; d++)
	{
		if (x->dims[d] < 0)
			return ONNX_OK;
		drop[d] = x->dims[d] == 1;
	}
	for (int k = 0; k < n; k++)
	{
		int			ax;

		if (!onnx_norm_axis(axes[k], x->rank, &ax))
			return ONNX_OK;
		drop[ax] = true;
	}
	for (int d = 0; d < x->rank; d++)
		if (!drop[d])
		{
			y->dims[r] = x->dims[d];
			y->dim_params[r++] = x->dim_params[d];
		}
	y->rank = r;
	return ONNX_OK;
}

/* Static Unsqueeze shape when the axes are known. */
static OnnxStatus
infer_unsqueeze(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->inputs[0];
	OnnxValueInfo *y = ctx->outputs[0];
	const int64_t *axes;
	int			n;
	int			r;
	bool		ins[ONNX_MAX_RANK] = {false};

	if (y == NULL || x == NULL || x->rank < 0 || !infer_axes(ctx, &axes, &n) ||
		n < 0 || x->rank + n > ONNX_MAX_RANK)
		return ONNX_OK;
	r = x->rank + n;
	for (int k = 0; k < n; k++)
	{
		int			ax;

		if (!onnx_norm_axis(axes[k], r, &ax) || ins[ax])
			return ONNX_OK;
		ins[ax] = true;
	}
	for (int d = 0, j = 0; d < r; d++)
	{
		y->dims[d] = ins[d] ? 1 : x->dims[j];
		y->dim_params[d] = ins[d] ? NULL : x->dim_params[j];
		if (!ins[d])
			j++;
	}
	y->rank = r;
	return ONNX_OK;
}

/* ---- Expand ---- */

/*
 * Expand of fixed-size elements: one strided block copy from X with
 * stride 0 along the broadcast dims (runs become memcpys or fills).
 */
static OnnxStatus
expand_fixed(OnnxKernelCtx *ctx, const OnnxTensor *x, OnnxTensor *y)
{
	int64_t		xs[ONNX_MAX_RANK],
				ys[ONNX_MAX_RANK],
				ss[ONNX_MAX_RANK];
	int			off = y->rank - x->rank;

	onnx_row_strides(x, xs);
	onnx_row_strides(y, ys);
	for (int i = 0; i < y->rank; i++)
		ss[i] = i < off || x->dims[i - off] == 1 ? 0 : xs[i - off];
	return onnx_copy_strided(ctx, onnx_dtype_size(x->dtype), y->rank, y->dims, y->data, ys, x->data, ss);
}

/* Expand: X, shape (int64 1-D) -> X broadcast with shape (numpy rules). */
static OnnxStatus
run_expand(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *s = onnx_in(ctx, 1);
	const OnnxTensor *ins[1];
	int64_t		dims[ONNX_MAX_RANK];
	int			r;
	OnnxTensor *y;
	OnnxBcastIter it;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Expand input must be a tensor");
	if (s == NULL || s->dtype != ONNX_DTYPE_INT64 || s->rank != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Expand shape must be a 1-D int64 tensor");
	if (s->count > ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "Expand shape has rank %lld, more than the maximum %d",
								(long long) s->count, ONNX_MAX_RANK);
	for (int64_t i = 0; i < s->count; i++)
		if (((const int64_t *) s->data)[i] < 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Expand shape dimension %lld is negative",
									(long long) i);
	if (!onnx_broadcast_shape(x->rank, x->dims, (int) s->count, s->data, &r, dims))
	{
		char		sx[128];

		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Expand cannot broadcast input %s to the given shape",
								onnx_shape_text(x, sx, sizeof(sx)));
	}
	if (x->dtype != ONNX_DTYPE_STRING)
	{
		if ((y = onnx_out_raw(ctx, 0, x->dtype, r, dims)) == NULL)
			return ctx->err->status;
		return y->count == 0 ? ONNX_OK : expand_fixed(ctx, x, y);
	}
	if ((y = onnx_out(ctx, 0, x->dtype, r, dims)) == NULL)
		return ctx->err->status;
	ins[0] = x;
	onnx_bcast_init(&it, y, 1, ins);
	for (int64_t i = 0; i < y->count; i++)
	{
		/* strings: each duplicated */
		if ((((char **) y->data)[i] = onnx_kernel_strdup(ctx, ((char *const *) x->data)[it.off[0]])) == NULL)
			return ctx->err->status;
		onnx_bcast_next(&it);
		if ((i & (SHAPE_CHUNK - 1)) == 0 && onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
	}
	return ONNX_OK;
}

/* Static Expand shape from a constant shape input. */
static OnnxStatus
infer_expand(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->inputs[0];
	const OnnxValue *c = ctx->n_inputs > 1 ? ctx->const_inputs[1] : NULL;
	OnnxValueInfo *y = ctx->outputs[0];
	OnnxValueInfo sh;

	if (y == NULL || x == NULL || x->rank < 0 || c == NULL || c->kind != ONNX_VALUE_TENSOR ||
		c->tensor.dtype != ONNX_DTYPE_INT64 || c->tensor.rank != 1 ||
		c->tensor.count > ONNX_MAX_RANK)
		return ONNX_OK;
	memset(&sh, 0, sizeof(sh));
	sh.rank = (int) c->tensor.count;
	for (int i = 0; i < sh.rank; i++)
	{
		sh.dims[i] = ((const int64_t *) c->tensor.data)[i];
		if (sh.dims[i] < 0)
			return ONNX_OK;
	}
	onnx_info_broadcast(y, x, &sh);
	return ONNX_OK;
}

/* ---- Shape / Size ---- */

/* Shape: X -> int64 1-D dims[start:end] (start/end from opset 15, clamped). */
static OnnxStatus
run_shape(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		start = onnx_attr_int(ctx->node, "start", 0);
	int64_t		end = onnx_attr_int(ctx->node, "end", INT64_MAX);
	int64_t		n;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Shape input must be a tensor");
	if (start < 0)
		start = start < -x->rank ? 0 : start + x->rank;
	if (end < 0)
		end = end < -x->rank ? 0 : end + x->rank;
	if (start > x->rank)
		start = x->rank;
	if (end > x->rank)
		end = x->rank;
	n = end > start ? end - start : 0;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_INT64, 1, &n)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < n; i++)
		((int64_t *) y->data)[i] = x->dims[start + i];
	return ONNX_OK;
}

/* Static Shape output: 1-D of end - start when the input rank is known. */
static OnnxStatus
infer_shape(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->inputs[0];
	OnnxValueInfo *y = ctx->outputs[0];
	int64_t		start = onnx_attr_int(ctx->node, "start", 0);
	int64_t		end = onnx_attr_int(ctx->node, "end", INT64_MAX);

	if (y == NULL)
		return ONNX_OK;
	y->rank = 1;
	y->dims[0] = -1;
	y->dim_params[0] = NULL;
	if (x == NULL || x->rank < 0)
		return ONNX_OK;
	if (start < 0)
		start = start < -x->rank ? 0 : start + x->rank;
	if (end < 0)
		end = end < -x->rank ? 0 : end + x->rank;
	if (start > x->rank)
		start = x->rank;
	if (end > x->rank)
		end = x->rank;
	y->dims[0] = end > start ? end - start : 0;
	return ONNX_OK;
}

/* Size: X -> int64 scalar element count. */
static OnnxStatus
run_size(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Size input must be a tensor");
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_INT64, 0, NULL)) == NULL)
		return ctx->err->status;
	((int64_t *) y->data)[0] = x->count;
	return ONNX_OK;
}

/* Static Size output: a scalar. */
static OnnxStatus
infer_scalar(OnnxInferCtx *ctx)
{
	if (ctx->outputs[0])
		ctx->outputs[0]->rank = 0;
	return ONNX_OK;
}

/* ---- Constant ---- */

static const char *const constant_attrs[] = {
	"value", "sparse_value", "value_float", "value_floats", "value_int",
	"value_ints", "value_string", "value_strings", NULL
};

/* The one value attribute of a Constant node, or NULL. */
static const OnnxAttr *
constant_attr(const OnnxNode *node)
{
	const OnnxAttr *found = NULL;

	for (int i = 0; constant_attrs[i]; i++)
	{
		const OnnxAttr *a = onnx_attr(node, constant_attrs[i]);

		if (a == NULL)
			continue;
		if (found)
			return NULL;
		found = a;
	}
	return found;
}

/* dtype and 1-D/0-D shape a Constant attribute gives; false if malformed. */
static bool
constant_type(const OnnxAttr *a, OnnxDType *dt, int *rank, int64_t *dims)
{
	*rank = 0;
	switch (a->type)
	{
		case ONNX_ATTR_TENSOR:
		case ONNX_ATTR_SPARSE_TENSOR:
			if (a->t == NULL)
				return false;
			*dt = a->t->dtype;
			*rank = a->t->rank;
			memcpy(dims, a->t->dims, sizeof(int64_t) * (size_t) a->t->rank);
			return true;
		case ONNX_ATTR_FLOAT:
			*dt = ONNX_DTYPE_FLOAT;
			return true;
		case ONNX_ATTR_INT:
			*dt = ONNX_DTYPE_INT64;
			return true;
		case ONNX_ATTR_STRING:
			*dt = ONNX_DTYPE_STRING;
			return true;
		case ONNX_ATTR_FLOATS:
		case ONNX_ATTR_INTS:
		case ONNX_ATTR_STRINGS:
			*dt = a->type == ONNX_ATTR_FLOATS ? ONNX_DTYPE_FLOAT :
				a->type == ONNX_ATTR_INTS ? ONNX_DTYPE_INT64 : ONNX_DTYPE_STRING;
			*rank = 1;
			dims[0] = a->n;
			return true;
		default:
			return false;
	}
}

/* Load-time check: exactly one well-formed value attribute. */
static OnnxStatus
check_constant(const OnnxNode *node, OnnxError *err)
{
	const OnnxAttr *a = constant_attr(node);
	OnnxDType	dt;
	int			rank;
	int64_t		dims[ONNX_MAX_RANK];

	if (a == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "Constant needs exactly one of value, sparse_value, value_float(s), value_int(s), value_string(s)");
	if (!constant_type(a, &dt, &rank, dims))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "Constant attribute \"%s\" has the wrong type", a->name);
	return ONNX_OK;
}

/* Static Constant output: the attribute's dtype and shape. */
static OnnxStatus
infer_constant(OnnxInferCtx *ctx)
{
	const OnnxAttr *a = constant_attr(ctx->node);
	OnnxValueInfo *y = ctx->outputs[0];
	OnnxDType	dt;
	int			rank;
	int64_t		dims[ONNX_MAX_RANK];

	if (y == NULL || a == NULL || !constant_type(a, &dt, &rank, dims))
		return ONNX_OK;
	y->kind = ONNX_VALUE_TENSOR;
	y->dtype = dt;
	y->rank = rank;
	for (int i = 0; i < rank; i++)
	{
		y->dims[i] = dims[i];
		y->dim_params[i] = NULL;
	}
	return ONNX_OK;
}

/* Constant: () -> the tensor its value attribute holds. */
static OnnxStatus
run_constant(OnnxKernelCtx *ctx)
{
	const OnnxAttr *a = constant_attr(ctx->node);
	OnnxDType	dt;
	int			rank;
	int64_t		dims[ONNX_MAX_RANK];
	OnnxTensor *y;

	if (a == NULL || !constant_type(a, &dt, &rank, dims))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "Constant has no usable value attribute");
	if ((y = onnx_out(ctx, 0, dt, rank, dims)) == NULL)
		return ctx->err->status;
	switch (a->type)
	{
		case ONNX_ATTR_TENSOR:
		case ONNX_ATTR_SPARSE_TENSOR:
			return copy_data(ctx, y, a->t);
		case ONNX_ATTR_FLOAT:
			((float *) y->data)[0] = a->f;
			break;
		case ONNX_ATTR_INT:
			((int64_t *) y->data)[0] = a->i;
			break;
		case ONNX_ATTR_STRING:
			if ((((char **) y->data)[0] = onnx_kernel_strdup(ctx, a->s)) == NULL)
				return ctx->err->status;
			break;
		case ONNX_ATTR_FLOATS:
			if (a->n)
				memcpy(y->data, a->floats, sizeof(float) * (size_t) a->n);
			break;
		case ONNX_ATTR_INTS:
			if (a->n)
				memcpy(y->data, a->ints, sizeof(int64_t) * (size_t) a->n);
			break;
		case ONNX_ATTR_STRINGS:
			for (int i = 0; i < a->n; i++)
				if ((((char **) y->data)[i] = onnx_kernel_strdup(ctx, a->strings[i])) == NULL)
					return ctx->err->status;
			break;
		default:
			break;
	}
	return ONNX_OK;
}

/* ---- ConstantOfShape ---- */

/* The value attribute of ConstantOfShape (NULL: float 0); false if malformed. */
static bool
cos_value(const OnnxNode *node, const OnnxTensor **value)
{
	const OnnxAttr *a = onnx_attr(node, "value");

	*value = NULL;
	if (a == NULL)
		return true;
	if (a->type != ONNX_ATTR_TENSOR || a->t == NULL || a->t->count != 1)
		return false;
	*value = a->t;
	return true;
}

static OnnxStatus
check_constant_of_shape(const OnnxNode *node, OnnxError *err)
{
	const OnnxTensor *v;

	if (!cos_value(node, &v))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "ConstantOfShape value must be a one-element tensor");
	return ONNX_OK;
}

/* Static ConstantOfShape output: value's dtype; dims from a constant input. */
static OnnxStatus
infer_constant_of_shape(OnnxInferCtx *ctx)
{
	const OnnxTensor *v;
	const OnnxValue *c = ctx->const_inputs[0];
	OnnxValueInfo *y = ctx->outputs[0];

	if (y == NULL || !cos_value(ctx->node, &v))
		return ONNX_OK;
	y->kind = ONNX_VALUE_TENSOR;
	y->dtype = v ? v->dtype : ONNX_DTYPE_FLOAT;
	if (ctx->inputs[0] && ctx->inputs[0]->rank == 1 && ctx->inputs[0]->dims[0] >= 0 &&
		ctx->inputs[0]->dims[0] <= ONNX_MAX_RANK)
	{
		y->rank = (int) ctx->inputs[0]->dims[0];
		for (int i = 0; i < y->rank; i++)
		{
			y->dims[i] = -1;
			y->dim_params[i] = NULL;
		}
	}
	if (c && c->kind == ONNX_VALUE_TENSOR && c->tensor.dtype == ONNX_DTYPE_INT64 &&
		c->tensor.rank == 1 && c->tensor.count <= ONNX_MAX_RANK)
	{
		y->rank = (int) c->tensor.count;
		for (int i = 0; i < y->rank; i++)
		{
			int64_t		d = ((const int64_t *) c->tensor.data)[i];

			y->dims[i] = d >= 0 ? d : -1;
			y->dim_params[i] = NULL;
		}
	}
	return ONNX_OK;
}

/* ConstantOfShape: shape (int64 1-D) -> tensor of that shape filled with value. */
static OnnxStatus
run_constant_of_shape(OnnxKernelCtx *ctx)
{
	const OnnxTensor *s = onnx_in(ctx, 0);
	const OnnxTensor *v;
	OnnxTensor *y;
	size_t		es;

	if (!cos_value(ctx->node, &v))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "ConstantOfShape value must be a one-element tensor");
	if (s == NULL || s->dtype != ONNX_DTYPE_INT64 || s->rank != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "ConstantOfShape input must be a 1-D int64 tensor");
	if (s->count > ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "ConstantOfShape rank %lld exceeds the maximum %d",
								(long long) s->count, ONNX_MAX_RANK);
	for (int64_t i = 0; i < s->count; i++)
		if (((const int64_t *) s->data)[i] < 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"ConstantOfShape dimension %lld is negative", (long long) i);
	if (v == NULL)				/* zeroed float */
		return onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, (int) s->count, s->data) ? ONNX_OK : ctx->err->status;
	if ((y = onnx_out_raw(ctx, 0, v->dtype, (int) s->count, s->data)) == NULL)
		return ctx->err->status;
	if (v->dtype == ONNX_DTYPE_STRING)
	{
		for (int64_t i = 0; i < y->count; i++)
		{
			if ((((char **) y->data)[i] = onnx_kernel_strdup(ctx, ((char *const *) v->data)[0])) == NULL)
				return ctx->err->status;
			if ((i & (SHAPE_CHUNK - 1)) == 0 && onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
		}
		return ONNX_OK;
	}
	/* y[0] = value, then the filled prefix copied onto the rest, doubling */
	es = onnx_dtype_size(v->dtype);
	if (y->count > 0)
		memcpy(y->data, v->data, es);
	for (int64_t filled = 1; filled < y->count;)
	{
		int64_t		n = filled < y->count - filled ? filled : y->count - filled;

		if (n > SHAPE_CHUNK)
			n = SHAPE_CHUNK;
		memcpy((char *) y->data + (size_t) filled * es, y->data, (size_t) n * es);
		filled += n;
		if (n == SHAPE_CHUNK && onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
	}
	return ONNX_OK;
}

/* ---- EyeLike ---- */

#define EYELIKE_T (ONNX_TS_NUMERIC | ONNX_T(ONNX_DTYPE_BOOL))

/* Output dtype of EyeLike: attribute dtype, else the input's. */
static OnnxDType
eyelike_dtype(const OnnxNode *node, OnnxDType in)
{
	int64_t		dt = onnx_attr_int(node, "dtype", 0);

	if (onnx_attr(node, "dtype") == NULL)
		return in;
	return (dt > 0 && dt < ONNX_DTYPE_COUNT) ? (OnnxDType) dt : ONNX_DTYPE_UNDEFINED;
}

static OnnxStatus
check_eyelike(const OnnxNode *node, OnnxError *err)
{
	OnnxDType	dt = eyelike_dtype(node, ONNX_DTYPE_FLOAT);

	if (dt == ONNX_DTYPE_UNDEFINED || !(EYELIKE_T & ONNX_T(dt)))
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
							  "EyeLike dtype must be a numeric or bool type");
	return ONNX_OK;
}

static OnnxStatus
infer_eyelike(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->inputs[0];
	OnnxValueInfo *y = ctx->outputs[0];
	OnnxDType	dt;

	if (y == NULL || x == NULL)
		return ONNX_OK;
	dt = eyelike_dtype(ctx->node, x->dtype);
	if (dt != ONNX_DTYPE_UNDEFINED)
	{
		y->dtype = dt;
		y->kind = ONNX_VALUE_TENSOR;
	}
	onnx_info_copy_shape(y, x);
	return ONNX_OK;
}

/* EyeLike: X (R,C) -> Y (R,C) with ones where col - row == k, else zeros. */
static OnnxStatus
run_eyelike(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		k = onnx_attr_int(ctx->node, "k", 0);
	OnnxDType	dt;
	OnnxTensor *y;
	int64_t		rows;
	int64_t		cols;

	if (x == NULL || x->rank != 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "EyeLike input must be a 2-D tensor");
	dt = eyelike_dtype(ctx->node, x->dtype);
	if (dt == ONNX_DTYPE_UNDEFINED || !(EYELIKE_T & ONNX_T(dt)))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "EyeLike cannot make a %s tensor",
								onnx_dtype_name(dt));
	if ((y = onnx_out_like(ctx, 0, dt, x)) == NULL)
		return ctx->err->status;
	rows = x->dims[0];
	cols = x->dims[1];
	if (k >= cols || k <= -rows)
		return ONNX_OK;
	for (int64_t i = k < 0 ? -k : 0; i < rows && i + k < cols; i++)
		onnx_tensor_set_i64(y, i * cols + i + k, 1);
	return ONNX_OK;
}

/* ---- Range ---- */

#define RANGE_T (ONNX_T(ONNX_DTYPE_FLOAT) | ONNX_T(ONNX_DTYPE_DOUBLE) | \
		ONNX_T(ONNX_DTYPE_INT16) | ONNX_T(ONNX_DTYPE_INT32) | ONNX_T(ONNX_DTYPE_INT64))
#define RANGE_T27 (RANGE_T | ONNX_T(ONNX_DTYPE_FLOAT16) | ONNX_T(ONNX_DTYPE_BFLOAT16))

/* Range: start, limit, delta (scalars) -> 1-D start + i*delta, i < ceil((limit-start)/delta). */
static OnnxStatus
run_range(OnnxKernelCtx *ctx)
{
	const OnnxTensor *st = onnx_in(ctx, 0);
	const OnnxTensor *li = onnx_in(ctx, 1);
	const OnnxTensor *de = onnx_in(ctx, 2);
	OnnxTensor *y;
	int64_t		n;

	if (st == NULL || li == NULL || de == NULL || st->count != 1 || li->count != 1 ||
		de->count != 1 || st->rank > 1 || li->rank > 1 || de->rank > 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Range inputs must be scalars");
	if (st->dtype != li->dtype || st->dtype != de->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Range inputs must have one type");
	if (!(RANGE_T27 & ONNX_T(st->dtype)))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "Range does not support type %s",
								onnx_dtype_name(st->dtype));
	if (onnx_dtype_is_float(st->dtype))
	{
		double		s = onnx_tensor_get_f64(st, 0);
		double		l = onnx_tensor_get_f64(li, 0);
		double		d = onnx_tensor_get_f64(de, 0);
		double		fn;
		int64_t		stash = onnx_attr_int(ctx->node, "stash_type", 0);
		bool		in_float = stash == ONNX_DTYPE_FLOAT &&
			(st->dtype == ONNX_DTYPE_FLOAT16 || st->dtype == ONNX_DTYPE_BFLOAT16);

		if (d == 0 || isnan(d))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Range delta must be nonzero");
		fn = ceil((l - s) / d);
		if (isnan(fn))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Range start/limit are not finite");
		if (fn > 4.0e18)
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "Range would have %g elements", fn);
		n = fn > 0 ? (int64_t) fn : 0;
		if ((y = onnx_out(ctx, 0, st->dtype, 1, &n)) == NULL)
			return ctx->err->status;
		for (int64_t i = 0; i < n; i++)
		{
			if (in_float)
				onnx_tensor_set_f64(y, i, (float) s + (float) i * (float) d);
			else
				onnx_tensor_set_f64(y, i, s + (double) i * d);
			if ((i & (SHAPE_CHUNK - 1)) == 0 && onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
		}
	}
	else
	{
		int64_t		s = onnx_tensor_get_i64(st, 0);
		int64_t		l = onnx_tensor_get_i64(li, 0);
		int64_t		d = onnx_tensor_get_i64(de, 0);
		uint64_t	span = 0;
		uint64_t	step;
		uint64_t	un;

		if (d == 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Range delta must be nonzero");
		/* exact unsigned distance and step, so no int64 overflow */
		step = d > 0 ? (uint64_t) d : (uint64_t) 0 - (uint64_t) d;
		if (d > 0 && l > s)
			span = (uint64_t) l - (uint64_t) s;
		else if (d < 0 && s > l)
			span = (uint64_t) s - (uint64_t) l;
		un = span / step + (span % step != 0);
		if (un > (uint64_t) INT64_MAX)
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "Range would have %llu elements",
									(unsigned long long) un);
		n = (int64_t) un;
		if ((y = onnx_out(ctx, 0, st->dtype, 1, &n)) == NULL)
			return ctx->err->status;
		for (int64_t i = 0; i < n; i++)
		{
			onnx_tensor_set_i64(y, i, (int64_t) ((uint64_t) s + (uint64_t) i * (uint64_t) d));
			if ((i & (SHAPE_CHUNK - 1)) == 0 && onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
		}
	}
	return ONNX_OK;
}

/* Static Range output: 1-D of unknown length. */
static OnnxStatus
infer_range(OnnxInferCtx *ctx)
{
	OnnxValueInfo *y = ctx->outputs[0];

	if (y)
	{
		y->rank = 1;
		y->dims[0] = -1;
		y->dim_params[0] = NULL;
	}
	return ONNX_OK;
}

/* Identity/Reshape/Flatten/Squeeze/... take every tensor type. */
static const OnnxAttrSpec reshape_attrs[] = {{"allowzero", ONNX_ATTR_INT}, {"shape", ONNX_ATTR_INTS}, {0}};
static const OnnxAttrSpec flatten_attrs[] = {{"axis", ONNX_ATTR_INT}, {0}};

const OnnxOpDef onnx_ops_tensor_shape[] = {
	ONNX_OP("", "Identity", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		ONNX_OUT_LIKE_INPUT0, .run = run_identity),
	ONNX_OP("", "Reshape", 1, ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_reshape, .run = run_reshape, .attrs = reshape_attrs),
	ONNX_OP_VERSIONS("", "Reshape", (5, 14), ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_reshape, .run = run_reshape, .attrs = reshape_attrs),
	ONNX_OP_VERSIONS("", "Flatten", (1, 11), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_flatten, .run = run_flatten, .attrs = flatten_attrs),
	ONNX_OP_VERSIONS("", "Squeeze", (1, 11), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_squeeze, .run = run_squeeze),
	ONNX_OP("", "Squeeze", 13, ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_squeeze, .run = run_squeeze),
	ONNX_OP_VERSIONS("", "Unsqueeze", (1, 11), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .check = check_unsqueeze, .infer = infer_unsqueeze,
		.run = run_unsqueeze),
	ONNX_OP("", "Unsqueeze", 13, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_unsqueeze, .run = run_unsqueeze),
	ONNX_OP("", "Expand", 8, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_expand, .run = run_expand),
	ONNX_OP_VERSIONS("", "Shape", (1, 15), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_INT64, .infer = infer_shape, .run = run_shape),
	ONNX_OP("", "Size", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_INT64, .infer = infer_scalar, .run = run_size),
	ONNX_OP_VERSIONS("", "Constant", (1, 11, 12), ONNX_INPUTS(0, 0), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_CUSTOM, .check = check_constant, .infer = infer_constant,
		.run = run_constant),
	ONNX_OP("", "ConstantOfShape", 9, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_INT64), .out_type = ONNX_OUT_CUSTOM,
		.check = check_constant_of_shape, .infer = infer_constant_of_shape,
		.run = run_constant_of_shape),
	ONNX_OP("", "EyeLike", 9, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = EYELIKE_T,
		.out_type = ONNX_OUT_CUSTOM, .check = check_eyelike, .infer = infer_eyelike, .run = run_eyelike),
	ONNX_OP("", "Range", 11, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1), .input0_types = RANGE_T,
		.out_type = ONNX_OUT_SAME, .infer = infer_range, .run = run_range),
	ONNX_OP("", "Range", 27, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1), .input0_types = RANGE_T27,
		.out_type = ONNX_OUT_SAME, .infer = infer_range, .run = run_range),
	{0}
};
