/*-------------------------------------------------------------------------
 *
 * tensor.c
 *	  Tensor and value bookkeeping: shapes with overflow checks,
 *	  allocation, copies and release.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "engine_internal.h"

/* Largest tensor byte size we ever try to allocate. */
#define ONNX_MAX_TENSOR_BYTES ((size_t) 1 << 46)

/* Set dtype and shape; counts and byte size overflow-checked. */
OnnxStatus
onnx_tensor_set_shape(OnnxTensor *t, OnnxDType dtype, int rank,
					  const int64_t *dims, OnnxError *err)
{
	int64_t		count = 1;
	int64_t		nonzero = 1;	/* product of non-zero dims: bounds every sub-product */
	size_t		esize = onnx_dtype_size(dtype);

	if (esize == 0)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
							  "tensor element type %d is not supported", (int) dtype);
	if (rank < 0 || rank > ONNX_MAX_RANK)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
							  "tensor rank %d exceeds the supported maximum of %d",
							  rank, ONNX_MAX_RANK);
	t->dtype = dtype;
	t->rank = rank;
	for (int i = 0; i < rank; i++)
	{
		if (dims[i] < 0)
			return onnx_error_set(err, ONNX_ERR_INVALID_ARGUMENT,
								  "negative dimension %lld", (long long) dims[i]);
		t->dims[i] = dims[i];
		if (onnx_mul_overflow_i64(count, dims[i], &count) ||
			(dims[i] != 0 && onnx_mul_overflow_i64(nonzero, dims[i], &nonzero)))
			return onnx_error_set(err, ONNX_ERR_LIMIT,
								  "tensor element count overflows");
	}
	for (int i = rank; i < ONNX_MAX_RANK; i++)
		t->dims[i] = 0;
	t->count = count;
	if (onnx_mul_overflow_size((size_t) count, esize, &t->nbytes) ||
		t->nbytes > ONNX_MAX_TENSOR_BYTES)
		return onnx_error_set(err, ONNX_ERR_LIMIT,
							  "tensor of %lld elements is too large", (long long) count);
	return ONNX_OK;
}

/* Allocate zeroed data for t->nbytes (at least one byte). */
OnnxStatus
onnx_tensor_alloc_data(OnnxTensor *t, const OnnxAllocator *alloc, OnnxError *err)
{
	size_t		n = t->nbytes ? t->nbytes : 1;

	t->data = alloc->alloc(alloc->ctx, n);
	if (t->data == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY,
							  "out of memory allocating %zu bytes", n);
	memset(t->data, 0, n);
	return ONNX_OK;
}

/* Free the data (and each string of a string tensor); leaves shape. */
void
onnx_tensor_free_data(OnnxTensor *t, const OnnxAllocator *alloc)
{
	if (t->data == NULL)
		return;
	if (t->dtype == ONNX_DTYPE_STRING)
	{
		char	  **s = t->data;

		for (int64_t i = 0; i < t->count; i++)
			alloc->free(alloc->ctx, s[i]);
	}
	alloc->free(alloc->ctx, t->data);
	t->data = NULL;
}

/* Copy of a C string through the allocator ("" for NULL). */
static char *
dup_string(const OnnxAllocator *alloc, const char *s)
{
	size_t		n = s ? strlen(s) : 0;
	char	   *p = alloc->alloc(alloc->ctx, n + 1);

	if (p)
	{
		if (n)
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Deep copy of src into dst (dst's old data is not freed). */
OnnxStatus
onnx_tensor_copy(OnnxTensor *dst, const OnnxTensor *src,
				 const OnnxAllocator *alloc, OnnxError *err)
{
	OnnxStatus	st;

	*dst = *src;
	dst->data = NULL;
	if ((st = onnx_tensor_alloc_data(dst, alloc, err)) != ONNX_OK)
		return st;
	if (src->dtype == ONNX_DTYPE_STRING)
	{
		char	  **d = dst->data;
		char	  *const *s = src->data;

		for (int64_t i = 0; i < src->count; i++)
		{
			d[i] = dup_string(alloc, s[i]);
			if (d[i] == NULL)
			{
				onnx_tensor_free_data(dst, alloc);
				return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory copying strings");
			}
		}
	}
	else if (src->nbytes)
		memcpy(dst->data, src->data, src->nbytes);
	return ONNX_OK;
}

/* Deep copy of a value of any kind. */
OnnxStatus
onnx_value_copy(OnnxValue *dst, const OnnxValue *src,
				const OnnxAllocator *alloc, OnnxError *err)
{
	OnnxStatus	st;

	memset(dst, 0, sizeof(*dst));
	dst->kind = src->kind;
	dst->elem_dtype = src->elem_dtype;
	if (src->kind == ONNX_VALUE_TENSOR || src->kind == ONNX_VALUE_MAP)
	{
		if ((st = onnx_tensor_copy(&dst->tensor, &src->tensor, alloc, err)) != ONNX_OK)
			return st;
	}
	if (src->n_items > 0)
	{
		dst->items = alloc->alloc(alloc->ctx, sizeof(OnnxValue) * (size_t) src->n_items);
		if (dst->items == NULL)
		{
			onnx_value_release(alloc, dst);
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory copying a value");
		}
		memset(dst->items, 0, sizeof(OnnxValue) * (size_t) src->n_items);
		for (int i = 0; i < src->n_items; i++)
		{
			dst->n_items = i + 1;
			if ((st = onnx_value_copy(&dst->items[i], &src->items[i], alloc, err)) != ONNX_OK)
			{
				onnx_value_release(alloc, dst);
				return st;
			}
		}
	}
	return ONNX_OK;
}

/* Free everything a value owns; leaves it as ONNX_VALUE_NONE. */
void
onnx_value_release(const OnnxAllocator *alloc, OnnxValue *value)
{
	if (value == NULL)
		return;
	if (value->kind == ONNX_VALUE_TENSOR || value->kind == ONNX_VALUE_MAP)
		onnx_tensor_free_data(&value->tensor, alloc);
	if (value->items)
	{
		for (int i = 0; i < value->n_items; i++)
			onnx_value_release(alloc, &value->items[i]);
		alloc->free(alloc->ctx, value->items);
	}
	memset(value, 0, sizeof(*value));
}

/* "[2, 3]" of a tensor's dims into buf. */
const char *
onnx_shape_text(const OnnxTensor *t, char *buf, size_t len)
{
	size_t		pos = 0;

	pos += snprintf(buf + pos, len - pos, "[");
	for (int i = 0; i < t->rank && pos < len; i++)
		pos += snprintf(buf + pos, len - pos, "%s%lld", i ? ", " : "",
						(long long) t->dims[i]);
	if (pos < len)
		snprintf(buf + pos, len - pos, "]");
	return buf;
}

/* Normalise axis into [0, rank); false when out of range. */
bool
onnx_norm_axis(int64_t axis, int rank, int *out)
{
	if (axis < -rank || axis >= rank)
		return false;
	*out = (int) (axis < 0 ? axis + rank : axis);
	return true;
}

/*
 * y = max(y, 0) in place, for an activation the optimizer folded into its
 * producer (optimize.c).  float32 zeroes every value with the sign bit set
 * (branch-free, vectorizes); other types go through double.
 */
void
onnx_tensor_relu_inplace(OnnxTensor *y)
{
	if (y->dtype == ONNX_DTYPE_FLOAT)
	{
		int32_t    *p = y->data;

		for (int64_t i = 0; i < y->count; i++)
			p[i] &= ~(p[i] >> 31);
	}
	else
		for (int64_t i = 0; i < y->count; i++)
			if (!(onnx_tensor_get_f64(y, i) > 0))
				onnx_tensor_set_f64(y, i, 0.0);
}

/* Row-major element strides of t: stride[rank - 1] = 1. */
void
onnx_row_strides(const OnnxTensor *t, int64_t *stride)
{
	int64_t		s = 1;

	for (int d = t->rank - 1; d >= 0; d--)
	{
		stride[d] = s;
		s *= t->dims[d];
	}
}
