/*-------------------------------------------------------------------------
 *
 * ops_index.c
 *	  Operator family "index": GatherND, Scatter*, TopK, OneHot, NonZero, Unique, Compress, ReverseSequence, DepthToSpace, SpaceToDepth, CenterCropPad.
 *
 *	  Every index read from a tensor is checked against its range before it
 *	  is used, and a bad one fails the node with a message naming the index
 *	  and the allowed range.  Output sizes that follow from data (NonZero,
 *	  Unique, Compress, OneHot depth, TopK k) are allocated through onnx_out,
 *	  so the session's memory ceiling applies.  Elements are moved by size;
 *	  strings are duplicated (a tensor owns its strings).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>

#include "op_tables.h"
#include "strided_copy.h"

/* ---- element movement ---- */

/*
 * Copy n elements src[si..si+n) to dst[di..di+n) (same dtype).  Strings
 * are duplicated; a string already in dst is freed first.  False on
 * out of memory.
 */
static bool
move_elems(OnnxKernelCtx *ctx, OnnxTensor *dst, int64_t di,
		   const OnnxTensor *src, int64_t si, int64_t n)
{
	size_t		es;

	if (n <= 0)
		return true;
	if (src->dtype != ONNX_DTYPE_STRING)
	{
		es = onnx_dtype_size(src->dtype);
		memmove((char *) dst->data + di * es, (const char *) src->data + si * es, (size_t) n * es);
		return true;
	}
	for (int64_t k = 0; k < n; k++)
	{
		const char *s = ((char *const *) src->data)[si + k];
		char	  **slot = &((char **) dst->data)[di + k];
		size_t		len = s ? strlen(s) : 0;
		char	   *copy = onnx_kernel_alloc(ctx, len + 1);

		if (copy == NULL)
			return false;
		if (len)
			memcpy(copy, s, len);
		copy[len] = '\0';
		if (*slot)
			onnx_kernel_free(ctx, *slot);
		*slot = copy;
	}
	return true;
}

/* Give every NULL string of t the empty string (padding of string tensors). */
static bool
fill_empty_strings(OnnxKernelCtx *ctx, OnnxTensor *t)
{
	if (t->dtype != ONNX_DTYPE_STRING)
		return true;
	for (int64_t i = 0; i < t->count; i++)
		if (((char **) t->data)[i] == NULL)
		{
			char	   *e = onnx_kernel_alloc(ctx, 1);

			if (e == NULL)
				return false;
			e[0] = '\0';
			((char **) t->data)[i] = e;
		}
	return true;
}

/* Product of dims[from..to). */
static int64_t
dims_product(const int64_t *dims, int from, int to)
{
	int64_t		p = 1;

	for (int d = from; d < to; d++)
		p *= dims[d];
	return p;
}

/* Read index element i of ind, normalised against [0, limit); fail if out of range. */
static bool
read_index(OnnxKernelCtx *ctx, const OnnxTensor *ind, int64_t i, int64_t limit,
		   const char *what, int64_t *out)
{
	int64_t		v = onnx_tensor_get_i64(ind, i);
	int64_t		n = v < 0 ? v + limit : v;

	if (n < 0 || n >= limit)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
						 "%s %lld is out of range: allowed [%lld, %lld]", what,
						 (long long) v, (long long) -limit, (long long) (limit - 1));
		return false;
	}
	*out = n;
	return true;
}

static bool
is_index_dtype(OnnxDType dt)
{
	return dt == ONNX_DTYPE_INT64 || dt == ONNX_DTYPE_INT32;
}

/* ---- stable merge sort of int64 ids with a context comparator ---- */

typedef int (*IdCmp) (int64_t a, int64_t b, const void *arg);

/* Sort ids[0..n) stably by cmp; tmp holds n ids. */
static void
sort_ids(int64_t *ids, int64_t *tmp, int64_t n, IdCmp cmp, const void *arg)
{
	for (int64_t w = 1; w < n; w *= 2)
	{
		for (int64_t lo = 0; lo < n; lo += 2 * w)
		{
			int64_t		mid = lo + w < n ? lo + w : n,
						hi = lo + 2 * w < n ? lo + 2 * w : n,
						i = lo,
						j = mid,
						k = lo;

			while (i < mid && j < hi)
				tmp[k++] = cmp(ids[j], ids[i], arg) < 0 ? ids[j++] : ids[i++];
			while (i < mid)
				tmp[k++] = ids[i++];
			while (j < hi)
				tmp[k++] = ids[j++];
		}
		memcpy(ids, tmp, (size_t) n * sizeof(int64_t));
	}
}

/* Three-way compare of elements a and b of t (NaN after every number, equal to NaN). */
static int
elem_cmp(const OnnxTensor *t, int64_t a, int64_t b)
{
	switch (t->dtype)
	{
		case ONNX_DTYPE_STRING:
			{
				const char *x = ((char *const *) t->data)[a],
						   *y = ((char *const *) t->data)[b];
				int			c = strcmp(x ? x : "", y ? y : "");

				return (c > 0) - (c < 0);
			}
		case ONNX_DTYPE_UINT64:
			{
				uint64_t	x = ((const uint64_t *) t->data)[a],
							y = ((const uint64_t *) t->data)[b];

				return (x > y) - (x < y);
			}
		case ONNX_DTYPE_INT64:
			{
				int64_t		x = ((const int64_t *) t->data)[a],
							y = ((const int64_t *) t->data)[b];

				return (x > y) - (x < y);
			}
		case ONNX_DTYPE_FLOAT:
		case ONNX_DTYPE_DOUBLE:
		case ONNX_DTYPE_FLOAT16:
		case ONNX_DTYPE_BFLOAT16:
			{
				double		x = t->dtype == ONNX_DTYPE_FLOAT ? ((const float *) t->data)[a] : onnx_tensor_get_f64(t, a),
							y = t->dtype == ONNX_DTYPE_FLOAT ? ((const float *) t->data)[b] : onnx_tensor_get_f64(t, b);

				if (isnan(x) || isnan(y))
					return isnan(x) - isnan(y);
				return (x > y) - (x < y);
			}
		default:
			{
				int64_t		x = onnx_tensor_get_i64(t, a),
							y = onnx_tensor_get_i64(t, b);

				return (x > y) - (x < y);
			}
	}
}

/* ---- TopK: X (.., n, ..) -> Values, Indices (.., k, ..) ---- */

typedef struct TopKSort
{
	const OnnxTensor *x;
	int64_t		base;			/* offset of element 0 of the slice */
	int64_t		stride;			/* distance between slice elements */
	bool		largest;
} TopKSort;

/* Order of slice positions a, b: by value (largest or smallest first), then lower index. */
static int
topk_cmp(int64_t a, int64_t b, const void *arg)
{
	const TopKSort *s = arg;
	int			c = elem_cmp(s->x, s->base + a * s->stride, s->base + b * s->stride);

	if (c != 0)
		return s->largest ? -c : c;
	return (a > b) - (a < b);
}

/* Restore the heap below position i (root: the worst kept id by cmp). */
static void
sift_down(int64_t *h, int64_t n, int64_t i, IdCmp cmp, const void *arg)
{
	for (;;)
	{
		int64_t		w = i,
					l = 2 * i + 1,
					r = l + 1,
					t;

		if (l < n && cmp(h[l], h[w], arg) > 0)
			w = l;
		if (r < n && cmp(h[r], h[w], arg) > 0)
			w = r;
		if (w == i)
			return;
		t = h[w];
		h[w] = h[i];
		h[i] = t;
		i = w;
	}
}

/*
 * The k first of ids 0..n-1 in cmp order, in that order, into ids[0..k)
 * (tmp holds n ids).  A heap of the k best when k is small, else a sort.
 */
static void
select_first(int64_t *ids, int64_t *tmp, int64_t n, int64_t k, IdCmp cmp, const void *arg)
{
	if (k * 8 >= n)
	{
		for (int64_t j = 0; j < n; j++)
			ids[j] = j;
		sort_ids(ids, tmp, n, cmp, arg);
		return;
	}
	for (int64_t j = 0; j < k; j++)
		ids[j] = j;
	for (int64_t j = k / 2 - 1; j >= 0; j--)
		sift_down(ids, k, j, cmp, arg);
	for (int64_t j = k; j < n; j++)
		if (k > 0 && cmp(j, ids[0], arg) < 0)
		{
			ids[0] = j;
			sift_down(ids, k, 0, cmp, arg);
		}
	sort_ids(ids, tmp, k, cmp, arg);
}

static OnnxStatus
run_topk(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *kt = ctx->opset >= 10 ? onnx_in(ctx, 1) : NULL;
	int64_t		axis_attr = onnx_attr_int(ctx->node, "axis", -1);
	TopKSort	s;
	int64_t		k,
				n,
				outer,
				inner,
				dims[ONNX_MAX_RANK];
	int64_t    *ids,
			   *tmp;
	int			ax;
	OnnxTensor *vals,
			   *idx;

	if (x == NULL || x->dtype == ONNX_DTYPE_STRING || x->dtype == ONNX_DTYPE_BOOL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "TopK needs a numeric tensor X");
	if (!onnx_norm_axis(axis_attr, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
								(long long) axis_attr, x->rank);
	if (ctx->opset >= 10)
	{
		if (kt == NULL || kt->count != 1 || !is_index_dtype(kt->dtype))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "K must be a 1-element int64 tensor");
		k = onnx_tensor_get_i64(kt, 0);
	}
	else
		k = onnx_attr_int(ctx->node, "k", -1);
	n = x->dims[ax];
	if (k < 0 || k > n)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "k %lld is out of range: allowed [0, %lld]",
								(long long) k, (long long) n);
	s.x = x;
	s.largest = ctx->opset < 11 || onnx_attr_int(ctx->node, "largest", 1) != 0;
	memcpy(dims, x->dims, sizeof(dims));
	dims[ax] = k;
	if ((vals = onnx_out(ctx, 0, x->dtype, x->rank, dims)) == NULL ||
		(idx = onnx_out(ctx, 1, ONNX_DTYPE_INT64, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (vals->count == 0)
		return ONNX_OK;
	outer = dims_product(x->dims, 0, ax);
	inner = dims_product(x->dims, ax + 1, x->rank);
	if ((ids = onnx_kernel_scratch(ctx, (size_t) n, 2 * sizeof(int64_t))) == NULL)
		return ONNX_KERNEL_OOM(ctx);
	tmp = ids + n;
	s.stride = inner;
	for (int64_t o = 0; o < outer; o++)
	{
		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
		for (int64_t i = 0; i < inner; i++)
		{
			s.base = o * n * inner + i;
			select_first(ids, tmp, n, k, topk_cmp, &s);
			for (int64_t j = 0; j < k; j++)
			{
				int64_t		yo = (o * k + j) * inner + i;

				move_elems(ctx, vals, yo, x, s.base + ids[j] * inner, 1);
				((int64_t *) idx->data)[yo] = ids[j];
			}
		}
	}
	return ONNX_OK;
}

/* TopK-1 takes k as an attribute: present and not negative. */
static OnnxStatus
check_topk(const OnnxNode *node, OnnxError *err)
{
	if (node->opset < 10 && onnx_attr_int(node, "k", -1) < 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "TopK-1 needs a non-negative attribute k");
	return ONNX_OK;
}

/* Outputs 1.. are int64 (TopK indices, Unique's index outputs). */
static OnnxStatus
infer_rest_int64(OnnxInferCtx *ctx)
{
	for (int i = 1; i < ctx->n_outputs; i++)
		if (ctx->outputs[i])
		{
			ctx->outputs[i]->dtype = ONNX_DTYPE_INT64;
			ctx->outputs[i]->kind = ONNX_VALUE_TENSOR;
		}
	return ONNX_OK;
}

/* ---- OneHot: indices (d..) , depth, values [off, on] -> Y (d.. with depth at axis) ---- */

static OnnxStatus
run_onehot(OnnxKernelCtx *ctx)
{
	const OnnxTensor *ind = onnx_in(ctx, 0);
	const OnnxTensor *dt = onnx_in(ctx, 1);
	const OnnxTensor *vt = onnx_in(ctx, 2);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", -1);
	int64_t		dims[ONNX_MAX_RANK],
				depth,
				outer,
				inner;
	double		dd;
	int			ax,
				r;
	OnnxTensor *y;

	if (ind == NULL || dt == NULL || vt == NULL || vt->count != 2 || dt->count != 1 ||
		ind->dtype == ONNX_DTYPE_STRING || dt->dtype == ONNX_DTYPE_STRING)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"OneHot needs numeric indices, a 1-element depth and 2 values");
	r = ind->rank + 1;
	if (r > ONNX_MAX_RANK || !onnx_norm_axis(axis, r, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for output rank %d",
								(long long) axis, r);
	dd = onnx_tensor_get_f64(dt, 0);
	if (!(dd >= 1 && dd < 9.0e18))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "depth %g must be a positive integer", dd);
	depth = (int64_t) dd;
	for (int d = 0, s = 0; d < r; d++)
		dims[d] = d == ax ? depth : ind->dims[s++];
	if ((y = onnx_out(ctx, 0, vt->dtype, r, dims)) == NULL)
		return ctx->err->status;
	outer = dims_product(ind->dims, 0, ax);
	inner = dims_product(ind->dims, ax, ind->rank);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++)
		{
			double		fv = onnx_tensor_get_f64(ind, o * inner + i);
			int64_t		v = -1;

			/* out of [-depth, depth): every entry takes the off value */
			if (fv > -(double) depth - 1 && fv < (double) depth)
				v = (int64_t) fv;
			if (v < 0 && ctx->opset >= 11)
				v += depth;
			for (int64_t c = 0; c < depth; c++)
				if (!move_elems(ctx, y, (o * depth + c) * inner + i, vt, c == v ? 1 : 0, 1))
					return ONNX_KERNEL_OOM(ctx);
		}
	return ONNX_OK;
}

/* Output 0 takes the dtype of input 2 (OneHot's values). */
static OnnxStatus
infer_onehot(OnnxInferCtx *ctx)
{
	if (ctx->n_inputs > 2 && ctx->inputs[2] && ctx->outputs[0])
	{
		ctx->outputs[0]->dtype = ctx->inputs[2]->dtype;
		ctx->outputs[0]->kind = ONNX_VALUE_TENSOR;
	}
	return ONNX_OK;
}

/* ---- NonZero: X (d..) -> Y (rank, nnz) int64 ---- */

/* Whether element i of t is nonzero (a non-empty string). */
static bool
elem_nonzero(const OnnxTensor *t, int64_t i)
{
	size_t		es;
	const unsigned char *p;

	if (t->dtype == ONNX_DTYPE_STRING)
	{
		const char *s = ((char *const *) t->data)[i];

		return s != NULL && s[0] != '\0';
	}
	if (onnx_dtype_is_float(t->dtype))
		return onnx_tensor_get_f64(t, i) != 0.0;
	es = onnx_dtype_size(t->dtype);
	p = (const unsigned char *) t->data + i * es;
	for (size_t b = 0; b < es; b++)
		if (p[b])
			return true;
	return false;
}

static OnnxStatus
run_nonzero(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		nnz = 0,
				dims[2],
				pos = 0,
				idx[ONNX_MAX_RANK] = {0};
	OnnxTensor *y;
	int64_t    *yd;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "NonZero input is missing");
	for (int64_t i = 0; i < x->count; i++)
		nnz += elem_nonzero(x, i);
	/* a scalar counts as a 1-element vector (as onnxruntime does) */
	dims[0] = x->rank > 0 ? x->rank : 1;
	dims[1] = nnz;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_INT64, 2, dims)) == NULL)
		return ctx->err->status;
	yd = y->data;
	for (int64_t i = 0; i < x->count; i++)
	{
		if (elem_nonzero(x, i))
		{
			for (int d = 0; d < x->rank; d++)
				yd[d * nnz + pos] = idx[d];
			pos++;
		}
		onnx_index_next(idx, x->dims, x->rank);
	}
	return ONNX_OK;
}

/* ---- Unique: X -> Y, indices, inverse_indices, counts ---- */

typedef struct UniqueSort
{
	const OnnxTensor *x;
	int64_t		outer;
	int64_t		n;				/* slices along the axis */
	int64_t		inner;
} UniqueSort;

/* Lexicographic compare of slices a and b (row-major over outer, inner). */
static int
slice_cmp(const UniqueSort *u, int64_t a, int64_t b)
{
	for (int64_t o = 0; o < u->outer; o++)
		for (int64_t i = 0; i < u->inner; i++)
		{
			int64_t		base = o * u->n * u->inner + i;
			int			c = elem_cmp(u->x, base + a * u->inner, base + b * u->inner);

			if (c)
				return c;
		}
	return 0;
}

/* Order of slices a, b: by content, then by position. */
static int
unique_cmp(int64_t a, int64_t b, const void *arg)
{
	int			c = slice_cmp(arg, a, b);

	return c ? c : (a > b) - (a < b);
}

/* Order of groups a, b (ids of their first slices) by position. */
static int
id_cmp(int64_t a, int64_t b, const void *arg)
{
	(void) arg;
	return (a > b) - (a < b);
}

static OnnxStatus
run_unique(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxAttr *axis_attr = onnx_attr(ctx->node, "axis");
	bool		sorted = onnx_attr_int(ctx->node, "sorted", 1) != 0;
	UniqueSort	u;
	int64_t    *ids,
			   *tmp,
			   *group,			/* per slice: its group */
			   *first,			/* per group: first slice */
			   *rank_of;		/* per group: output position */
	int64_t		n_groups = 0,
				dims[ONNX_MAX_RANK],
				one;
	int			ax = 0,
				rank;
	OnnxTensor *y,
			   *oi,
			   *oinv,
			   *ocnt;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Unique input is missing");
	u.x = x;
	if (axis_attr)
	{
		if (!onnx_norm_axis(axis_attr->i, x->rank, &ax))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
									(long long) axis_attr->i, x->rank);
		u.outer = dims_product(x->dims, 0, ax);
		u.n = x->dims[ax];
		u.inner = dims_product(x->dims, ax + 1, x->rank);
	}
	else
	{
		u.outer = 1;
		u.n = x->count;
		u.inner = 1;
	}
	if (u.n > 0 && (u.outer == 0 || u.inner == 0))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Unique of empty slices is not supported");
	if ((ids = onnx_kernel_scratch(ctx, (size_t) u.n, 5 * sizeof(int64_t))) == NULL)
		return ONNX_KERNEL_OOM(ctx);
	tmp = ids + u.n;
	group = tmp + u.n;
	first = group + u.n;
	rank_of = first + u.n;
	for (int64_t j = 0; j < u.n; j++)
		ids[j] = j;
	sort_ids(ids, tmp, u.n, unique_cmp, &u);
	/* groups numbered in sorted order; first[g] is the lowest position */
	for (int64_t j = 0; j < u.n; j++)
	{
		if (j == 0 || slice_cmp(&u, ids[j - 1], ids[j]) != 0)
			first[n_groups++] = ids[j];
		group[ids[j]] = n_groups - 1;
	}
	/* output order: sorted groups, or groups by first occurrence */
	memcpy(tmp, first, (size_t) n_groups * sizeof(int64_t));
	if (!sorted)
		sort_ids(tmp, ids, n_groups, id_cmp, NULL);
	for (int64_t p = 0; p < n_groups; p++)
	{
		/* tmp[p] is the first slice of the group placed at p */
		rank_of[group[tmp[p]]] = p;
	}
	if (axis_attr)
	{
		rank = x->rank;
		memcpy(dims, x->dims, sizeof(dims));
		dims[ax] = n_groups;
	}
	else
	{
		rank = 1;
		dims[0] = n_groups;
	}
	one = n_groups;
	if ((y = onnx_out(ctx, 0, x->dtype, rank, dims)) == NULL ||
		(oi = onnx_out(ctx, 1, ONNX_DTYPE_INT64, 1, &one)) == NULL ||
		(oinv = onnx_out(ctx, 2, ONNX_DTYPE_INT64, 1, &u.n)) == NULL ||
		(ocnt = onnx_out(ctx, 3, ONNX_DTYPE_INT64, 1, &one)) == NULL)
		return ctx->err->status;
	for (int64_t p = 0; p < n_groups; p++)
	{
		((int64_t *) oi->data)[p] = tmp[p];
		for (int64_t o = 0; o < u.outer; o++)
			if (!move_elems(ctx, y, (o * n_groups + p) * u.inner, x, (o * u.n + tmp[p]) * u.inner, u.inner))
				return ONNX_KERNEL_OOM(ctx);
	}
	for (int64_t j = 0; j < u.n; j++)
	{
		int64_t		p = rank_of[group[j]];

		((int64_t *) oinv->data)[j] = p;
		((int64_t *) ocnt->data)[p]++;
	}
	return ONNX_OK;
}

/* ---- Compress: X, condition (n,) bool -> Y (selected along axis, or flat) ---- */

static OnnxStatus
run_compress(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *cond = onnx_in(ctx, 1);
	const OnnxAttr *axis_attr = onnx_attr(ctx->node, "axis");
	int64_t		outer = 1,
				n,
				inner = 1,
				kept = 0,
				lim,
				dims[ONNX_MAX_RANK];
	int			ax = 0,
				rank = 1;
	OnnxTensor *y;

	if (x == NULL || cond == NULL || cond->rank != 1 || cond->dtype == ONNX_DTYPE_STRING)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Compress needs X and a 1-D condition");
	n = x->count;
	if (axis_attr)
	{
		if (!onnx_norm_axis(axis_attr->i, x->rank, &ax))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
									(long long) axis_attr->i, x->rank);
		outer = dims_product(x->dims, 0, ax);
		n = x->dims[ax];
		inner = dims_product(x->dims, ax + 1, x->rank);
		rank = x->rank;
	}
	if (cond->count > n)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"condition has %lld entries, more than the %lld along the axis",
								(long long) cond->count, (long long) n);
	lim = cond->count;
	for (int64_t j = 0; j < lim; j++)
		kept += elem_nonzero(cond, j);
	if (axis_attr)
		memcpy(dims, x->dims, sizeof(dims));
	dims[ax] = kept;
	if ((y = onnx_out(ctx, 0, x->dtype, rank, dims)) == NULL)
		return ctx->err->status;
	for (int64_t o = 0, p = 0; o < outer; o++)
		for (int64_t j = 0; j < lim; j++)
			if (elem_nonzero(cond, j))
			{
				if (!move_elems(ctx, y, p * inner, x, (o * n + j) * inner, inner))
					return ONNX_KERNEL_OOM(ctx);
				p++;
			}
	return ONNX_OK;
}

/* ---- GatherND: data (b.., d..), indices (b.., i.., k) -> (b.., i.., d[k:]..) ---- */

static OnnxStatus
run_gathernd(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ind = onnx_in(ctx, 1);
	int64_t		b = ctx->opset >= 12 ? onnx_attr_int(ctx->node, "batch_dims", 0) : 0;
	int64_t		dims[ONNX_MAX_RANK],
				xstride[ONNX_MAX_RANK],
				k,
				nbatch,
				per_batch,
				slice,
				batch_span;
	int			rank = 0;
	OnnxTensor *y;

	if (x == NULL || ind == NULL || !is_index_dtype(ind->dtype) || ind->rank < 1 || x->rank < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "GatherND needs data and int64 indices of rank >= 1");
	k = ind->dims[ind->rank - 1];
	if (b < 0 || b >= ind->rank || b >= x->rank || k < 0 || b + k > x->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"batch_dims %lld and index depth %lld do not fit data rank %d and indices rank %d",
								(long long) b, (long long) k, x->rank, ind->rank);
	for (int d = 0; d < b; d++)
		if (x->dims[d] != ind->dims[d])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "batch dimension %d differs between data and indices", d);
	for (int d = 0; d < ind->rank - 1; d++)
		dims[rank++] = ind->dims[d];
	for (int d = (int) (b + k); d < x->rank; d++)
	{
		if (rank >= ONNX_MAX_RANK)
			return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "output rank exceeds %d", ONNX_MAX_RANK);
		dims[rank++] = x->dims[d];
	}
	if ((y = onnx_out(ctx, 0, x->dtype, rank, dims)) == NULL)
		return ctx->err->status;
	onnx_row_strides(x, xstride);
	nbatch = dims_product(x->dims, 0, (int) b);
	per_batch = dims_product(ind->dims, (int) b, ind->rank - 1);
	slice = dims_product(x->dims, (int) (b + k), x->rank);
	batch_span = dims_product(x->dims, (int) b, x->rank);
	for (int64_t bi = 0; bi < nbatch; bi++)
		for (int64_t t = 0; t < per_batch; t++)
		{
			int64_t		row = bi * per_batch + t;
			int64_t		off = bi * batch_span;

			for (int64_t c = 0; c < k; c++)
			{
				int64_t		v;

				if (!read_index(ctx, ind, row * k + c, x->dims[b + c], "index", &v))
					return ctx->err->status;
				off += v * xstride[b + c];
			}
			if (!move_elems(ctx, y, row * slice, x, off, slice))
				return ONNX_KERNEL_OOM(ctx);
		}
	return ONNX_OK;
}

/* ---- scatter reductions ---- */

typedef enum ScatterRed
{
	RED_NONE = 0,
	RED_ADD,
	RED_MUL,
	RED_MAX,
	RED_MIN
} ScatterRed;

/* Reduction named by s, or -1. */
static int
parse_reduction(const char *s)
{
	if (strcmp(s, "none") == 0)
		return RED_NONE;
	if (strcmp(s, "add") == 0)
		return RED_ADD;
	if (strcmp(s, "mul") == 0)
		return RED_MUL;
	if (strcmp(s, "max") == 0)
		return RED_MAX;
	if (strcmp(s, "min") == 0)
		return RED_MIN;
	return -1;
}

static OnnxStatus
check_reduction(const OnnxNode *node, OnnxError *err)
{
	const char *s = onnx_attr_string(node, "reduction", "none");

	if (parse_reduction(s) < 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "reduction \"%s\" is not one of none, add, mul, max, min", s);
	return ONNX_OK;
}

#define RED_LOOP(T, CV, ST) \
	do { \
		T *dp = (T *) dst->data + di; \
		const T *sp = (const T *) src->data + si; \
		for (int64_t q = 0; q < n; q++) \
		{ \
			double	a_ = CV(dp[q]), b_ = CV(sp[q]); \
			(void) a_; (void) b_; \
			switch (red) \
			{ \
				case RED_ADD: dp[q] = ST(a_ + b_); break; \
				case RED_MUL: dp[q] = ST(a_ * b_); break; \
				case RED_MAX: if (b_ > a_) dp[q] = sp[q]; break; \
				default: if (b_ < a_) dp[q] = sp[q]; break; \
			} \
		} \
	} while (0)

#define RED_INT_LOOP(T) \
	do { \
		T *dp = (T *) dst->data + di; \
		const T *sp = (const T *) src->data + si; \
		for (int64_t q = 0; q < n; q++) \
			switch (red) \
			{ \
				case RED_ADD: dp[q] = (T) (dp[q] + sp[q]); break; \
				case RED_MUL: dp[q] = (T) (dp[q] * sp[q]); break; \
				case RED_MAX: if (sp[q] > dp[q]) dp[q] = sp[q]; break; \
				default: if (sp[q] < dp[q]) dp[q] = sp[q]; break; \
			} \
	} while (0)

#define ID(v) (v)
#define H2F(v) onnx_half_to_float(v)
#define F2H(v) onnx_float_to_half((float) (v))
#define B2F(v) onnx_bf16_to_float(v)
#define F2B(v) onnx_float_to_bf16((float) (v))
#define TOF(v) ((float) (v))

/*
 * Combine n elements src[si..] into dst[di..] with a reduction (same
 * dtype; RED_NONE copies).  Bool: add is or, mul is and.
 */
static bool
reduce_into(OnnxKernelCtx *ctx, OnnxTensor *dst, int64_t di, const OnnxTensor *src,
			int64_t si, int64_t n, int red)
{
	if (red == RED_NONE)
		return move_elems(ctx, dst, di, src, si, n);
	switch (dst->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			RED_LOOP(float, ID, TOF);
			break;
		case ONNX_DTYPE_DOUBLE:
			RED_LOOP(double, ID, ID);
			break;
		case ONNX_DTYPE_FLOAT16:
			RED_LOOP(uint16_t, H2F, F2H);
			break;
		case ONNX_DTYPE_BFLOAT16:
			RED_LOOP(uint16_t, B2F, F2B);
			break;
		case ONNX_DTYPE_INT8:
			RED_INT_LOOP(int8_t);
			break;
		case ONNX_DTYPE_INT16:
			RED_INT_LOOP(int16_t);
			break;
		case ONNX_DTYPE_INT32:
			RED_INT_LOOP(int32_t);
			break;
		case ONNX_DTYPE_INT64:
			RED_INT_LOOP(int64_t);
			break;
		case ONNX_DTYPE_UINT8:
			RED_INT_LOOP(uint8_t);
			break;
		case ONNX_DTYPE_UINT16:
			RED_INT_LOOP(uint16_t);
			break;
		case ONNX_DTYPE_UINT32:
			RED_INT_LOOP(uint32_t);
			break;
		case ONNX_DTYPE_UINT64:
			RED_INT_LOOP(uint64_t);
			break;
		case ONNX_DTYPE_BOOL:
			{
				uint8_t    *dp = (uint8_t *) dst->data + di;
				const uint8_t *sp = (const uint8_t *) src->data + si;

				for (int64_t q = 0; q < n; q++)
					dp[q] = (red == RED_ADD || red == RED_MAX) ? (dp[q] || sp[q]) : (dp[q] && sp[q]);
				break;
			}
		default:
			onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "reduction is not supported for %s",
							 onnx_dtype_name(dst->dtype));
			return false;
	}
	return true;
}

/* Reduction of a scatter node at its opset (opset < 16: none). */
static int
node_reduction(OnnxKernelCtx *ctx)
{
	if (strcmp(ctx->node->op_type, "Scatter") == 0 || ctx->opset < 16)
		return RED_NONE;
	return parse_reduction(onnx_attr_string(ctx->node, "reduction", "none"));
}

/* ---- ScatterElements / Scatter: data, indices, updates (same rank) -> copy of data updated ---- */

static OnnxStatus
run_scatter_elements(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ind = onnx_in(ctx, 1);
	const OnnxTensor *upd = onnx_in(ctx, 2);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 0);
	int			red = node_reduction(ctx);
	int64_t		xstride[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK] = {0};
	int			ax;
	OnnxTensor *y;

	if (x == NULL || ind == NULL || upd == NULL || !is_index_dtype(ind->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "scatter needs data, int64 indices and updates");
	if (ind->rank != x->rank || upd->rank != x->rank || upd->dtype != x->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"data, indices and updates must have the same rank, updates the data's type");
	if (!onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
								(long long) axis, x->rank);
	for (int d = 0; d < x->rank; d++)
	{
		if (ind->dims[d] != upd->dims[d])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "indices and updates differ in dimension %d", d);
		if (d != ax && ind->dims[d] > x->dims[d])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"indices dimension %d is %lld, larger than the data's %lld", d,
									(long long) ind->dims[d], (long long) x->dims[d]);
	}
	if (red < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "unknown reduction");
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (!move_elems(ctx, y, 0, x, 0, x->count))
		return ONNX_KERNEL_OOM(ctx);
	onnx_row_strides(x, xstride);
	for (int64_t o = 0; o < ind->count; o++)
	{
		int64_t		v,
					yoff = 0;

		if (!read_index(ctx, ind, o, x->dims[ax], "index", &v))
			return ctx->err->status;
		for (int d = 0; d < x->rank; d++)
			yoff += (d == ax ? v : idx[d]) * xstride[d];
		if (!reduce_into(ctx, y, yoff, upd, o, 1, red))
			return ONNX_KERNEL_OOM(ctx);
		onnx_index_next(idx, ind->dims, x->rank);
	}
	return ONNX_OK;
}

/* ---- ScatterND: data (d..), indices (i.., k), updates (i.., d[k:]..) ---- */

static OnnxStatus
run_scatternd(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ind = onnx_in(ctx, 1);
	const OnnxTensor *upd = onnx_in(ctx, 2);
	int			red = node_reduction(ctx);
	int64_t		k,
				rows,
				slice,
				xstride[ONNX_MAX_RANK];
	OnnxTensor *y;

	if (x == NULL || ind == NULL || upd == NULL || !is_index_dtype(ind->dtype) || ind->rank < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "ScatterND needs data, int64 indices and updates");
	k = ind->dims[ind->rank - 1];
	if (k < 1 || k > x->rank || upd->dtype != x->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"index depth %lld does not fit data rank %d", (long long) k, x->rank);
	if (upd->rank != ind->rank - 1 + x->rank - k)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "updates have rank %d, expected %lld",
								upd->rank, (long long) (ind->rank - 1 + x->rank - k));
	for (int d = 0; d < upd->rank; d++)
	{
		int64_t		want = d < ind->rank - 1 ? ind->dims[d] : x->dims[k + d - (ind->rank - 1)];

		if (upd->dims[d] != want)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "updates dimension %d is %lld, expected %lld",
									d, (long long) upd->dims[d], (long long) want);
	}
	if (red < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "unknown reduction");
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (!move_elems(ctx, y, 0, x, 0, x->count))
		return ONNX_KERNEL_OOM(ctx);
	onnx_row_strides(x, xstride);
	rows = dims_product(ind->dims, 0, ind->rank - 1);
	slice = dims_product(x->dims, (int) k, x->rank);
	for (int64_t r = 0; r < rows; r++)
	{
		int64_t		off = 0;

		for (int64_t c = 0; c < k; c++)
		{
			int64_t		v;

			if (!read_index(ctx, ind, r * k + c, x->dims[c], "index", &v))
				return ctx->err->status;
			off += v * xstride[c];
		}
		if (!reduce_into(ctx, y, off, upd, r * slice, slice, red))
			return ONNX_KERNEL_OOM(ctx);
	}
	return ONNX_OK;
}

/* ---- TensorScatter: past (b, .., max_seq, ..), update (b, .., seq, ..), write_indices (b) ---- */

static OnnxStatus
check_tensor_scatter(const OnnxNode *node, OnnxError *err)
{
	const char *m = onnx_attr_string(node, "mode", "linear");

	if (strcmp(m, "linear") != 0 && strcmp(m, "circular") != 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "mode \"%s\" is not linear or circular", m);
	return ONNX_OK;
}

static OnnxStatus
run_tensor_scatter(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *upd = onnx_in(ctx, 1);
	const OnnxTensor *wi = ctx->n_inputs > 2 ? onnx_in(ctx, 2) : NULL;
	bool		circular = strcmp(onnx_attr_string(ctx->node, "mode", "linear"), "circular") == 0;
	int64_t		axis = onnx_attr_int(ctx->node, "axis", -2);
	int64_t		outer,
				per_batch,
				maxs,
				seq,
				inner;
	int			ax;
	OnnxTensor *y;

	if (x == NULL || upd == NULL || upd->dtype != x->dtype || upd->rank != x->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "past_cache and update must have the same type and rank");
	if (!onnx_norm_axis(axis, x->rank, &ax) || ax == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"axis %lld must name a dimension after the batch (rank %d)", (long long) axis, x->rank);
	for (int d = 0; d < x->rank; d++)
		if (d == ax ? upd->dims[d] > x->dims[d] : upd->dims[d] != x->dims[d])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "update dimension %d (%lld) does not fit past_cache (%lld)",
									d, (long long) upd->dims[d], (long long) x->dims[d]);
	if (wi && (!is_index_dtype(wi->dtype) || wi->count != x->dims[0]))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "write_indices must hold one int64 per batch entry (%lld)",
								(long long) x->dims[0]);
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (!move_elems(ctx, y, 0, x, 0, x->count))
		return ONNX_KERNEL_OOM(ctx);
	outer = dims_product(x->dims, 0, ax);
	per_batch = x->dims[0] ? outer / x->dims[0] : 0;
	maxs = x->dims[ax];
	seq = upd->dims[ax];
	inner = dims_product(x->dims, ax + 1, x->rank);
	for (int64_t o = 0; o < outer; o++)
	{
		int64_t		w = wi ? onnx_tensor_get_i64(wi, o / per_batch) : 0;

		if (w < 0 || (!circular && w + seq > maxs) || (circular && maxs == 0 && seq > 0))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"write index %lld with %lld updates is out of range: allowed [0, %lld]",
									(long long) w, (long long) seq, (long long) (circular ? maxs - 1 : maxs - seq));
		for (int64_t s = 0; s < seq; s++)
		{
			int64_t		p = circular ? (w + s) % maxs : w + s;

			if (!move_elems(ctx, y, (o * maxs + p) * inner, upd, (o * seq + s) * inner, inner))
				return ONNX_KERNEL_OOM(ctx);
		}
	}
	return ONNX_OK;
}

/* ---- ReverseSequence: X (T, B, ..) or (B, T, ..), sequence_lens (B) ---- */

static OnnxStatus
check_reverse_sequence(const OnnxNode *node, OnnxError *err)
{
	int64_t		b = onnx_attr_int(node, "batch_axis", 1),
				t = onnx_attr_int(node, "time_axis", 0);

	if (!((b == 0 && t == 1) || (b == 1 && t == 0)))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "batch_axis %lld and time_axis %lld must be 0 and 1 in some order",
							  (long long) b, (long long) t);
	return ONNX_OK;
}

static OnnxStatus
run_reverse_sequence(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *lens = onnx_in(ctx, 1);
	bool		time_first = onnx_attr_int(ctx->node, "time_axis", 0) == 0;
	int64_t		nt,
				nb,
				inner;
	OnnxTensor *y;

	if (x == NULL || lens == NULL || x->rank < 2 || !is_index_dtype(lens->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "ReverseSequence needs X of rank >= 2 and int64 sequence_lens");
	nt = x->dims[time_first ? 0 : 1];
	nb = x->dims[time_first ? 1 : 0];
	if (lens->rank != 1 || lens->count != nb)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "sequence_lens must have %lld entries", (long long) nb);
	inner = dims_product(x->dims, 2, x->rank);
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	for (int64_t b = 0; b < nb; b++)
	{
		int64_t		len = onnx_tensor_get_i64(lens, b);

		if (len < 0 || len > nt)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"sequence length %lld is out of range: allowed [0, %lld]",
									(long long) len, (long long) nt);
		for (int64_t t = 0; t < nt; t++)
		{
			int64_t		st = t < len ? len - 1 - t : t;
			int64_t		yo = time_first ? t * nb + b : b * nt + t;
			int64_t		xo = time_first ? st * nb + b : b * nt + st;

			if (!move_elems(ctx, y, yo * inner, x, xo * inner, inner))
				return ONNX_KERNEL_OOM(ctx);
		}
	}
	return ONNX_OK;
}

/* ---- DepthToSpace / SpaceToDepth as a 6-D permuted copy ---- */

/* Y = transpose(X viewed as in6 (6-D), perm); Y's data already sized. */
static bool
permute6(OnnxKernelCtx *ctx, OnnxTensor *y, const OnnxTensor *x, const int64_t *in6, const int *perm)
{
	int64_t		st[6],
				od[6],
				idx[6] = {0},
				s = 1;

	for (int d = 5; d >= 0; d--)
	{
		st[d] = s;
		s *= in6[d];
	}
	for (int d = 0; d < 6; d++)
		od[d] = in6[perm[d]];
	if (x->dtype != ONNX_DTYPE_STRING)
	{
		/* fixed-size elements: one strided block copy */
		int64_t		ss[6],
					ds[6];

		s = 1;
		for (int d = 5; d >= 0; d--)
		{
			ss[d] = st[perm[d]];
			ds[d] = s;
			s *= od[d];
		}
		return onnx_copy_strided(ctx, onnx_dtype_size(x->dtype), 6, od, y->data, ds, x->data, ss) == ONNX_OK;
	}
	for (int64_t o = 0; o < y->count; o += od[5])
	{
		int64_t		xo = 0;

		for (int d = 0; d < 5; d++)
			xo += idx[d] * st[perm[d]];
		for (int64_t q = 0; q < od[5]; q++)
			if (!move_elems(ctx, y, o + q, x, xo + q * st[perm[5]], 1))
				return false;
		onnx_index_next(idx, od, 5);
	}
	return true;
}

static OnnxStatus
check_block(const OnnxNode *node, OnnxError *err)
{
	const char *mode = onnx_attr_string(node, "mode", "DCR");

	if (onnx_attr_int(node, "blocksize", 0) < 1)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "blocksize must be a positive integer");
	if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "mode \"%s\" is not DCR or CRD", mode);
	return ONNX_OK;
}

/* X (N, C, H, W) -> Y (N, C/b², H*b, W*b) */
static OnnxStatus
run_depth_to_space(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		b = onnx_attr_int(ctx->node, "blocksize", 0);
	bool		crd = ctx->opset >= 11 && strcmp(onnx_attr_string(ctx->node, "mode", "DCR"), "CRD") == 0;
	static const int dcr[6] = {0, 3, 4, 1, 5, 2};
	static const int crdp[6] = {0, 1, 4, 2, 5, 3};
	int64_t		in6[6],
				dims[4];
	OnnxTensor *y;

	if (x == NULL || x->rank != 4 || b < 1 || x->dims[1] % (b * b) != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"DepthToSpace needs a 4-D input whose channels divide by blocksize squared");
	if (crd)
	{
		int64_t		v[6] = {x->dims[0], x->dims[1] / (b * b), b, b, x->dims[2], x->dims[3]};

		memcpy(in6, v, sizeof(in6));
	}
	else
	{
		int64_t		v[6] = {x->dims[0], b, b, x->dims[1] / (b * b), x->dims[2], x->dims[3]};

		memcpy(in6, v, sizeof(in6));
	}
	dims[0] = x->dims[0];
	dims[1] = x->dims[1] / (b * b);
	if (onnx_mul_overflow_i64(x->dims[2], b, &dims[2]) || onnx_mul_overflow_i64(x->dims[3], b, &dims[3]))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "output size overflows");
	if ((y = onnx_out(ctx, 0, x->dtype, 4, dims)) == NULL)
		return ctx->err->status;
	if (y->count && !permute6(ctx, y, x, in6, crd ? crdp : dcr))
		return ONNX_KERNEL_OOM(ctx);
	return ONNX_OK;
}

/* X (N, C, H, W) -> Y (N, C*b², H/b, W/b) */
static OnnxStatus
run_space_to_depth(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		b = onnx_attr_int(ctx->node, "blocksize", 0);
	static const int perm[6] = {0, 3, 5, 1, 2, 4};
	int64_t		in6[6],
				dims[4];
	OnnxTensor *y;

	if (x == NULL || x->rank != 4 || b < 1 || x->dims[2] % b != 0 || x->dims[3] % b != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"SpaceToDepth needs a 4-D input whose height and width divide by blocksize");
	in6[0] = x->dims[0];
	in6[1] = x->dims[1];
	in6[2] = x->dims[2] / b;
	in6[3] = b;
	in6[4] = x->dims[3] / b;
	in6[5] = b;
	dims[0] = x->dims[0];
	if (onnx_mul_overflow_i64(x->dims[1], b * b, &dims[1]))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "output size overflows");
	dims[2] = in6[2];
	dims[3] = in6[4];
	if ((y = onnx_out(ctx, 0, x->dtype, 4, dims)) == NULL)
		return ctx->err->status;
	if (y->count && !permute6(ctx, y, x, in6, perm))
		return ONNX_KERNEL_OOM(ctx);
	return ONNX_OK;
}

/* ---- CenterCropPad: X (d..), shape (len(axes)) -> Y (d.. with axes resized) ---- */

static OnnxStatus
run_center_crop_pad(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *shp = onnx_in(ctx, 1);
	const int64_t *axes;
	int			na = onnx_attr_ints(ctx->node, "axes", &axes);
	int64_t		dims[ONNX_MAX_RANK],
				src0[ONNX_MAX_RANK] = {0},
				dst0[ONNX_MAX_RANK] = {0},
				box[ONNX_MAX_RANK],
				xs[ONNX_MAX_RANK],
				ys[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK] = {0},
				nbox = 1;
	bool		seen[ONNX_MAX_RANK] = {false};
	int			r;
	OnnxTensor *y;

	if (x == NULL || shp == NULL || !is_index_dtype(shp->dtype) || shp->rank != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CenterCropPad needs X and a 1-D int64 shape");
	r = x->rank;
	if (na == 0)
		na = r;
	if (shp->count != na)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "shape has %lld entries for %d axes",
								(long long) shp->count, na);
	memcpy(dims, x->dims, sizeof(dims));
	for (int i = 0; i < na; i++)
	{
		int64_t		a = axes ? axes[i] : i;
		int			ax;
		int64_t		want = onnx_tensor_get_i64(shp, i);

		if (!onnx_norm_axis(a, r, &ax) || seen[ax])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range or repeated", (long long) a);
		if (want < 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "shape entry %lld is negative", (long long) want);
		seen[ax] = true;
		dims[ax] = want;
	}
	for (int d = 0; d < r; d++)
	{
		if (x->dims[d] >= dims[d])
			src0[d] = (x->dims[d] - dims[d]) / 2;
		else
			dst0[d] = (dims[d] - x->dims[d]) / 2;
		box[d] = x->dims[d] < dims[d] ? x->dims[d] : dims[d];
		nbox *= box[d];
	}
	if ((y = onnx_out(ctx, 0, x->dtype, r, dims)) == NULL)
		return ctx->err->status;
	if (!fill_empty_strings(ctx, y))
		return ONNX_KERNEL_OOM(ctx);
	if (nbox == 0)
		return ONNX_OK;
	{
		int64_t		a = 1,
					c = 1;

		for (int d = r - 1; d >= 0; d--)
		{
			xs[d] = a;
			ys[d] = c;
			a *= x->dims[d];
			c *= dims[d];
		}
	}
	/* one run of box[r-1] elements per index of the leading box dims */
	for (int64_t done = 0; done < nbox; done += r ? box[r - 1] : 1)
	{
		int64_t		xo = 0,
					yo = 0;

		for (int d = 0; d < r; d++)
		{
			xo += (src0[d] + idx[d]) * xs[d];
			yo += (dst0[d] + idx[d]) * ys[d];
		}
		if (!move_elems(ctx, y, yo, x, xo, r ? box[r - 1] : 1))
			return ONNX_KERNEL_OOM(ctx);
		onnx_index_next(idx, box, r - 1);
	}
	return ONNX_OK;
}

/* ---- table ---- */

static const OnnxAttrSpec topk_attrs[] = {{"axis", ONNX_ATTR_INT}, {"k", ONNX_ATTR_INT},
{"largest", ONNX_ATTR_INT}, {"sorted", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec axis_attrs[] = {{"axis", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec unique_attrs[] = {{"axis", ONNX_ATTR_INT}, {"sorted", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec gathernd_attrs[] = {{"batch_dims", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec scatter_attrs[] = {{"axis", ONNX_ATTR_INT}, {"reduction", ONNX_ATTR_STRING}, {0}};
static const OnnxAttrSpec scatternd_attrs[] = {{"reduction", ONNX_ATTR_STRING}, {0}};
static const OnnxAttrSpec tscatter_attrs[] = {{"axis", ONNX_ATTR_INT}, {"mode", ONNX_ATTR_STRING}, {0}};
static const OnnxAttrSpec revseq_attrs[] = {{"batch_axis", ONNX_ATTR_INT}, {"time_axis", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec block_attrs[] = {{"blocksize", ONNX_ATTR_INT}, {"mode", ONNX_ATTR_STRING}, {0}};
static const OnnxAttrSpec ccp_attrs[] = {{"axes", ONNX_ATTR_INTS}, {0}};

#define TOPK(since, mi, ma) \
	ONNX_OP("", "TopK", since, ONNX_INPUTS(mi, ma), ONNX_OUTPUTS(2, 2), \
		.input0_types = ONNX_TS_NUMERIC, .out_type = ONNX_OUT_SAME, .check = check_topk, \
		.infer = infer_rest_int64, .run = run_topk, .attrs = topk_attrs)
#define SCATTER_EL(name, since) \
	ONNX_OP("", name, since, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY, \
		.out_type = ONNX_OUT_SAME, .check = check_reduction, .run = run_scatter_elements, \
		.attrs = scatter_attrs)
#define SCATTER_ND(since) \
	ONNX_OP("", "ScatterND", since, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_SAME, .check = check_reduction, \
		.run = run_scatternd, .attrs = scatternd_attrs)
#define MOVE1(name, since, mi, ma, check_fn, fn, attr_list) \
	ONNX_OP("", name, since, ONNX_INPUTS(mi, ma), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_SAME, .check = check_fn, .run = fn, \
		.attrs = attr_list)

const OnnxOpDef onnx_ops_index[] = {
	TOPK(1, 1, 1),
	TOPK(10, 2, 2),
	TOPK(11, 2, 2),
	TOPK(24, 2, 2),
	ONNX_OP_VERSIONS("", "OneHot", (9, 11), ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		.out_type = ONNX_OUT_CUSTOM, .infer = infer_onehot, .run = run_onehot, .attrs = axis_attrs),
	ONNX_OP_VERSIONS("", "NonZero", (9, 13), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_INT64, .run = run_nonzero),
	ONNX_OP("", "Unique", 11, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 4), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_rest_int64, .run = run_unique, .attrs = unique_attrs),
	MOVE1("Compress", 9, 2, 2, NULL, run_compress, axis_attrs),
	MOVE1("Compress", 11, 2, 2, NULL, run_compress, axis_attrs),
	MOVE1("GatherND", 11, 2, 2, NULL, run_gathernd, gathernd_attrs),
	MOVE1("GatherND", 12, 2, 2, NULL, run_gathernd, gathernd_attrs),
	MOVE1("GatherND", 13, 2, 2, NULL, run_gathernd, gathernd_attrs),
	SCATTER_EL("Scatter", 9),
	SCATTER_EL("Scatter", 11),
	SCATTER_EL("ScatterElements", 11),
	SCATTER_EL("ScatterElements", 13),
	SCATTER_EL("ScatterElements", 16),
	SCATTER_EL("ScatterElements", 18),
	SCATTER_ND(11),
	SCATTER_ND(13),
	SCATTER_ND(16),
	SCATTER_ND(18),
	MOVE1("TensorScatter", 24, 2, 3, check_tensor_scatter, run_tensor_scatter, tscatter_attrs),
	MOVE1("ReverseSequence", 10, 2, 2, check_reverse_sequence, run_reverse_sequence, revseq_attrs),
	MOVE1("DepthToSpace", 1, 1, 1, check_block, run_depth_to_space, block_attrs),
	MOVE1("DepthToSpace", 11, 1, 1, check_block, run_depth_to_space, block_attrs),
	MOVE1("DepthToSpace", 13, 1, 1, check_block, run_depth_to_space, block_attrs),
	MOVE1("SpaceToDepth", 1, 1, 1, check_block, run_space_to_depth, block_attrs),
	MOVE1("SpaceToDepth", 13, 1, 1, check_block, run_space_to_depth, block_attrs),
	MOVE1("CenterCropPad", 18, 2, 2, NULL, run_center_crop_pad, ccp_attrs),
	{0}
};
