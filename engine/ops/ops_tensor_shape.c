/*-------------------------------------------------------------------------
 *
 * ops_tensor_shape.c
 *	  Operators that change only the shape of a tensor, not its values:
 *	  Identity, Reshape, Flatten (more are added here: Squeeze, Unsqueeze,
 *	  Shape, Size, Expand, ConstantOfShape, ...).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "op_tables.h"

/* Y := X with a new shape (same count); copies the data. */
static OnnxStatus
copy_with_shape(OnnxKernelCtx *ctx, const OnnxTensor *x, int rank, const int64_t *dims)
{
	OnnxTensor *y = onnx_out(ctx, 0, x->dtype, rank, dims);

	if (y == NULL)
		return ctx->err->status;
	if (y->count != x->count)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "element count changed");
	if (x->dtype == ONNX_DTYPE_STRING)
	{
		for (int64_t i = 0; i < x->count; i++)
		{
			const char *s = ((char *const *) x->data)[i];
			size_t		n = s ? strlen(s) : 0;
			char	   *d = onnx_kernel_alloc(ctx, n + 1);

			if (d == NULL)
				return ctx->err->status;
			memcpy(d, s ? s : "", n + 1);
			((char **) y->data)[i] = d;
		}
	}
	else if (x->nbytes)
		memcpy(y->data, x->data, x->nbytes);
	return ONNX_OK;
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

static const OnnxAttrSpec reshape_attrs[] = {{"allowzero", ONNX_ATTR_INT}, {"shape", ONNX_ATTR_INTS}, {NULL}};
static const OnnxAttrSpec flatten_attrs[] = {{"axis", ONNX_ATTR_INT}, {NULL}};

const OnnxOpDef onnx_ops_tensor_shape[] = {
	{"", "Identity", 1, 1, 1, 1, 1, ONNX_TS_ANY, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, run_identity},
	{"", "Reshape", 1, 1, 2, 1, 1, ONNX_TS_ANY, ONNX_OUT_SAME, NULL, infer_reshape, run_reshape, reshape_attrs},
	{"", "Flatten", 1, 1, 1, 1, 1, ONNX_TS_ANY, ONNX_OUT_SAME, NULL, infer_flatten, run_flatten, flatten_attrs},
	{0}
};
