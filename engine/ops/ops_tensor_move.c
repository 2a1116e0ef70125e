/*-------------------------------------------------------------------------
 *
 * ops_tensor_move.c
 *	  Operators that move elements without arithmetic: Transpose, Concat,
 *	  Split, Slice, Gather, GatherElements, Tile, Pad, Trilu.  Every dtype: elements are
 *	  copied by size, strings duplicated (a tensor owns its strings).
 *
 *	  Fixed-size elements move through onnx_copy_strided (strided_copy.c)
 *	  in the largest contiguous runs the shapes allow; only strings take
 *	  the element-by-element paths.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "op_tables.h"
#include "strided_copy.h"

/* Copy element si of src to element di of dst (same dtype). */
static inline bool
copy_elem(OnnxKernelCtx *ctx, OnnxTensor *dst, int64_t di, const OnnxTensor *src, int64_t si)
{
	if (src->dtype == ONNX_DTYPE_STRING)
	{
		const char *s = ((char *const *) src->data)[si];
		size_t		n = s ? strlen(s) : 0;
		char	   *d = onnx_kernel_alloc(ctx, n + 1);

		if (d == NULL)
			return false;
		memcpy(d, s ? s : "", n + 1);
		((char **) dst->data)[di] = d;
		return true;
	}
	{
		size_t		es = onnx_dtype_size(src->dtype);

		memcpy((char *) dst->data + di * es, (const char *) src->data + si * es, es);
	}
	return true;
}

/* Copy n consecutive elements (fast path for non-strings). */
static inline bool
copy_run(OnnxKernelCtx *ctx, OnnxTensor *dst, int64_t di, const OnnxTensor *src, int64_t si, int64_t n)
{
	if (src->dtype == ONNX_DTYPE_STRING)
	{
		for (int64_t k = 0; k < n; k++)
			if (!copy_elem(ctx, dst, di + k, src, si + k))
				return false;
		return true;
	}
	{
		size_t		es = onnx_dtype_size(src->dtype);

		if (n > 0)
			memcpy((char *) dst->data + di * es, (const char *) src->data + si * es, (size_t) n * es);
	}
	return true;
}

/*
 * Output i for a kernel that writes every element: not zeroed, except
 * strings (NULL pointers until duplicated).
 */
static OnnxTensor *
out_filled(OnnxKernelCtx *ctx, int i, OnnxDType dtype, int rank, const int64_t *dims)
{
	if (dtype == ONNX_DTYPE_STRING)
		return onnx_out(ctx, i, dtype, rank, dims);
	return onnx_out_raw(ctx, i, dtype, rank, dims);
}

/* ---- Transpose: X (d0..dn) -> Y (d[perm0]..d[permn]) ---- */

static OnnxStatus
run_transpose(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const int64_t *perm_attr;
	int			np = onnx_attr_ints(ctx->node, "perm", &perm_attr);
	int			perm[ONNX_MAX_RANK];
	int64_t		dims[ONNX_MAX_RANK],
				xstride[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK];
	bool		seen[ONNX_MAX_RANK] = {false};
	OnnxTensor *y;
	int			r;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Transpose input is missing");
	r = x->rank;
	if (np != 0 && np != r)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "perm has %d entries for rank %d", np, r);
	for (int i = 0; i < r; i++)
	{
		int64_t		p = np ? perm_attr[i] : r - 1 - i;

		if (p < 0)
			p += r;
		if (p < 0 || p >= r || seen[p])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "perm is not a permutation of 0..%d", r - 1);
		seen[p] = true;
		perm[i] = (int) p;
		dims[i] = x->dims[p];
	}
	if (x->dtype != ONNX_DTYPE_STRING)
	{
		int64_t		ystride[ONNX_MAX_RANK],
					sstride[ONNX_MAX_RANK];

		if ((y = onnx_out_raw(ctx, 0, x->dtype, r, dims)) == NULL)
			return ctx->err->status;
		onnx_row_strides(x, xstride);
		onnx_row_strides(y, ystride);
		for (int d = 0; d < r; d++)
			sstride[d] = xstride[perm[d]];
		return onnx_copy_strided(ctx, onnx_dtype_size(x->dtype), r, dims, y->data, ystride,
								 x->data, sstride);
	}
	if ((y = onnx_out(ctx, 0, x->dtype, r, dims)) == NULL)
		return ctx->err->status;
	if (x->count == 0)
		return ONNX_OK;
	onnx_row_strides(x, xstride);
	memset(idx, 0, sizeof(idx));
	/* strings: walk Y in order, duplicating each */
	for (int64_t o = 0; o < y->count; o++)
	{
		int64_t		xoff = 0;

		for (int d = 0; d < r; d++)
			xoff += idx[d] * xstride[perm[d]];
		if (!copy_elem(ctx, y, o, x, xoff))
			return ONNX_KERNEL_OOM(ctx);
		onnx_index_next(idx, dims, r);
	}
	return ONNX_OK;
}

static OnnxStatus
infer_transpose(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->inputs[0];
	OnnxValueInfo *y = ctx->outputs[0];
	const int64_t *perm;
	int			np = onnx_attr_ints(ctx->node, "perm", &perm);

	if (x == NULL || y == NULL || x->rank < 0 || (np && np != x->rank))
		return ONNX_OK;
	for (int i = 0; i < x->rank; i++)
	{
		int64_t		p = np ? perm[i] : x->rank - 1 - i;

		if (p < 0 || p >= x->rank)
			return ONNX_OK;
	}
	y->rank = x->rank;
	for (int i = 0; i < x->rank; i++)
	{
		int64_t		p = np ? perm[i] : x->rank - 1 - i;

		y->dims[i] = x->dims[p];
		y->dim_params[i] = x->dim_params[p];
	}
	return ONNX_OK;
}

/* ---- Concat: inputs along axis ---- */

/*
 * Static shape of Concat: the inputs' rank, their common dims off the
 * axis (-1 where unknown or unequal, the first input's symbolic name
 * kept), the sum of theirs along it (-1 when one is unknown); unknown
 * when an input is absent or of unknown or another rank.
 */
static OnnxStatus
infer_concat(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x0 = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	OnnxValueInfo *y = ctx->n_outputs > 0 ? ctx->outputs[0] : NULL;
	int			r,
				ax;
	int64_t		sum = 0;

	if (x0 == NULL || y == NULL || (r = x0->rank) < 1 || r > ONNX_MAX_RANK ||
		!onnx_norm_axis(onnx_attr_int(ctx->node, "axis", ctx->node->opset < 4 ? 1 : 0), r, &ax))
		return ONNX_OK;
	for (int i = 0; i < ctx->n_inputs; i++)
		if (ctx->inputs[i] == NULL || ctx->inputs[i]->rank != r)
			return ONNX_OK;
	onnx_info_copy_shape(y, x0);
	for (int i = 0; i < ctx->n_inputs; i++)
	{
		const OnnxValueInfo *x = ctx->inputs[i];

		for (int d = 0; d < r; d++)
			if (d != ax && x->dims[d] != y->dims[d])
			{
				y->dims[d] = -1;
				y->dim_params[d] = NULL;
			}
		if (sum >= 0 && (x->dims[ax] < 0 || __builtin_add_overflow(sum, x->dims[ax], &sum)))
			sum = -1;
	}
	y->dims[ax] = sum;
	y->dim_params[ax] = NULL;
	return ONNX_OK;
}

static OnnxStatus
run_concat(OnnxKernelCtx *ctx)
{
	const OnnxTensor *first = NULL;
	int64_t		axis_attr = onnx_attr_int(ctx->node, "axis", ctx->opset < 4 ? 1 : 0);
	int			ax,
				r;
	int64_t		dims[ONNX_MAX_RANK],
				total = 0,
				outer = 1,
				inner = 1,
				pos = 0;
	OnnxTensor *y;

	for (int i = 0; i < ctx->n_inputs; i++)
		if (onnx_in(ctx, i))
		{
			first = onnx_in(ctx, i);
			break;
		}
	if (first == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Concat has no inputs");
	r = first->rank;
	if (!onnx_norm_axis(axis_attr, r, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
								(long long) axis_attr, r);
	for (int i = 0; i < ctx->n_inputs; i++)
	{
		const OnnxTensor *t = onnx_in(ctx, i);

		if (t == NULL)
			continue;
		if (t->rank != r || t->dtype != first->dtype)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Concat inputs must share rank and type (input %d differs)", i);
		for (int d = 0; d < r; d++)
			if (d != ax && t->dims[d] != first->dims[d])
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"Concat input %d has dimension %d of %lld, expected %lld", i, d,
										(long long) t->dims[d], (long long) first->dims[d]);
		if (onnx_mul_overflow_i64(1, t->dims[ax], &dims[0]) || __builtin_add_overflow(total, t->dims[ax], &total))
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "Concat output is too large");
	}
	for (int d = 0; d < r; d++)
	{
		dims[d] = d == ax ? total : first->dims[d];
		if (d < ax)
			outer *= first->dims[d];
		else if (d > ax)
			inner *= first->dims[d];
	}
	/* parts written in place by their producers (concat_plan.c) are not copied */
	if (first->dtype != ONNX_DTYPE_STRING && outer == 1 &&
		(y = onnx_out_concat_reserved(ctx, 0, first->dtype, r, dims)) != NULL)
	{
		size_t		es = onnx_dtype_size(first->dtype);

		for (int i = 0; i < ctx->n_inputs; i++)
		{
			const OnnxTensor *t = onnx_in(ctx, i);

			if (t == NULL)
				continue;
			if (t->data != (char *) y->data + pos * es && !copy_run(ctx, y, pos, t, 0, t->count))
				return ONNX_KERNEL_OOM(ctx);
			pos += t->count;
		}
		return ONNX_OK;
	}
	if ((y = out_filled(ctx, 0, first->dtype, r, dims)) == NULL)
		return ctx->err->status;
	for (int64_t o = 0; o < outer; o++)
		for (int i = 0; i < ctx->n_inputs; i++)
		{
			const OnnxTensor *t = onnx_in(ctx, i);
			int64_t		run;

			if (t == NULL)
				continue;
			run = t->dims[ax] * inner;
			if (!copy_run(ctx, y, pos, t, o * run, run))
				return ONNX_KERNEL_OOM(ctx);
			pos += run;
		}
	return ONNX_OK;
}

/* ---- Split: X -> outputs along axis ---- */

static OnnxStatus
run_split(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *tsplit = ctx->opset >= 13 ? onnx_in(ctx, 1) : NULL;
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 0);
	int64_t		num_outputs = onnx_attr_int(ctx->node, "num_outputs", 0);
	const int64_t *attr_split;
	int			n_attr = onnx_attr_ints(ctx->node, "split", &attr_split);
	int			n = ctx->n_outputs;
	int64_t		sizes[1024];
	int64_t		outer = 1,
				inner = 1,
				off = 0,
				sum = 0;
	int			ax;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Split input is missing");
	if (!onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range", (long long) axis);
	if (n > 1024)
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "Split has more than 1024 outputs");
	if (tsplit)
	{
		if (tsplit->count != n)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "split has %lld sizes for %d outputs",
									(long long) tsplit->count, n);
		for (int i = 0; i < n; i++)
			sizes[i] = onnx_tensor_get_i64(tsplit, i);
	}
	else if (n_attr)
	{
		if (n_attr != n)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "split has %d sizes for %d outputs", n_attr, n);
		for (int i = 0; i < n; i++)
			sizes[i] = attr_split[i];
	}
	else
	{
		int64_t		len = x->dims[ax];
		int64_t		parts = num_outputs > 0 ? num_outputs : n;
		int64_t		chunk = parts > 0 ? (len + parts - 1) / parts : 0;

		if (num_outputs == 0 && parts > 0 && len % parts != 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"dimension %lld does not split evenly into %lld outputs", (long long) len, (long long) parts);
		for (int i = 0; i < n; i++)
		{
			sizes[i] = chunk < len - i * chunk ? chunk : len - i * chunk;
			if (sizes[i] < 0)
				sizes[i] = 0;
		}
	}
	for (int i = 0; i < n; i++)
	{
		if (sizes[i] < 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "split size %lld is negative", (long long) sizes[i]);
		if (sizes[i] > x->dims[ax] - sum)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "split sizes add up to more than the axis's %lld",
									(long long) x->dims[ax]);
		sum += sizes[i];
	}
	if (sum != x->dims[ax])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "split sizes add up to %lld, the axis has %lld",
								(long long) sum, (long long) x->dims[ax]);
	for (int d = 0; d < x->rank; d++)
	{
		if (d < ax)
			outer *= x->dims[d];
		else if (d > ax)
			inner *= x->dims[d];
	}
	for (int i = 0; i < n; i++)
	{
		int64_t		dims[ONNX_MAX_RANK];
		OnnxTensor *y;

		memcpy(dims, x->dims, sizeof(int64_t) * x->rank);
		dims[ax] = sizes[i];
		if ((y = out_filled(ctx, i, x->dtype, x->rank, dims)) == NULL)
			return ctx->err->status;
		for (int64_t o = 0; o < outer; o++)
			if (!copy_run(ctx, y, o * sizes[i] * inner, x, (o * x->dims[ax] + off) * inner, sizes[i] * inner))
				return ONNX_KERNEL_OOM(ctx);
		off += sizes[i];
	}
	return ONNX_OK;
}

/* ---- Slice ---- */

/* Clamp start/end for a step the way ONNX Slice does; count of elements. */
static int64_t
slice_range(int64_t dim, int64_t *start, int64_t end, int64_t step)
{
	int64_t		s = *start,
				e = end;

	if (s < 0)
		s += dim;
	if (e < 0)
		e += dim;
	/* counts as (span - 1) / |step| + 1: no overflow for any step */
	if (step > 0)
	{
		s = s < 0 ? 0 : (s > dim ? dim : s);
		e = e < 0 ? 0 : (e > dim ? dim : e);
		*start = s;
		return e > s ? (e - s - 1) / step + 1 : 0;
	}
	s = s < 0 ? -1 : (s > dim - 1 ? dim - 1 : s);
	e = e < -1 ? -1 : (e > dim - 1 ? dim - 1 : e);
	*start = s;
	if (s <= e)
		return 0;
	return step == INT64_MIN ? 1 : (s - e - 1) / (-step) + 1;
}

static OnnxStatus
run_slice(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		start[ONNX_MAX_RANK],
				step[ONNX_MAX_RANK],
				dims[ONNX_MAX_RANK],
				xstride[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK];
	int			n;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Slice input is missing");
	for (int d = 0; d < x->rank; d++)
	{
		start[d] = 0;
		step[d] = 1;
		dims[d] = x->dims[d];
	}
	if (ctx->opset < 10)
	{
		const int64_t *st,
				   *en,
				   *ax;
		int			ns = onnx_attr_ints(ctx->node, "starts", &st);
		int			ne = onnx_attr_ints(ctx->node, "ends", &en);
		int			na = onnx_attr_ints(ctx->node, "axes", &ax);

		if (ns != ne || (na && na != ns))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "starts, ends and axes differ in length");
		for (int i = 0; i < ns; i++)
		{
			int			d;

			if (!onnx_norm_axis(na ? ax[i] : i, x->rank, &d))
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "slice axis out of range");
			start[d] = st[i];
			dims[d] = slice_range(x->dims[d], &start[d], en[i], 1);
		}
	}
	else
	{
		const OnnxTensor *ts = onnx_in(ctx, 1);
		const OnnxTensor *te = onnx_in(ctx, 2);
		const OnnxTensor *ta = onnx_in(ctx, 3);
		const OnnxTensor *tp = onnx_in(ctx, 4);
		bool		seen[ONNX_MAX_RANK] = {false};

		if (ts == NULL || te == NULL || ts->count != te->count || (ta && ta->count != ts->count) ||
			(tp && tp->count != ts->count))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "starts, ends, axes and steps must have one length");
		n = (int) ts->count;
		for (int i = 0; i < n; i++)
		{
			int			d;
			int64_t		s;

			if (!onnx_norm_axis(ta ? onnx_tensor_get_i64(ta, i) : i, x->rank, &d) || seen[d])
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "slice axes are out of range or repeated");
			seen[d] = true;
			s = tp ? onnx_tensor_get_i64(tp, i) : 1;
			if (s == 0)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "slice step must not be 0");
			step[d] = s;
			start[d] = onnx_tensor_get_i64(ts, i);
			dims[d] = slice_range(x->dims[d], &start[d], onnx_tensor_get_i64(te, i), s);
		}
	}
	if ((y = out_filled(ctx, 0, x->dtype, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	onnx_row_strides(x, xstride);
	if (x->dtype != ONNX_DTYPE_STRING)
	{
		int64_t		ystride[ONNX_MAX_RANK],
					sstride[ONNX_MAX_RANK],
					base = 0;

		/* Y (dims) <- X from start, stepping xstride * step per dim */
		onnx_row_strides(y, ystride);
		for (int d = 0; d < x->rank; d++)
		{
			base += start[d] * xstride[d];
			sstride[d] = dims[d] > 1 ? xstride[d] * step[d] : 0;
		}
		return onnx_copy_strided(ctx, onnx_dtype_size(x->dtype), x->rank, dims, y->data, ystride,
								 (const char *) x->data + base * (int64_t) onnx_dtype_size(x->dtype),
								 sstride);
	}
	memset(idx, 0, sizeof(idx));
	for (int64_t o = 0; o < y->count; o++)
	{
		int64_t		xoff = 0;

		for (int d = 0; d < x->rank; d++)
			xoff += (start[d] + idx[d] * step[d]) * xstride[d];
		if (!copy_elem(ctx, y, o, x, xoff))
			return ONNX_KERNEL_OOM(ctx);
		onnx_index_next(idx, dims, x->rank);
	}
	return ONNX_OK;
}

/* ---- Gather: data (d0..dn), indices (i..) along axis ---- */

/* Index k of an int32 or int64 tensor, made non-negative for an axis of n. */
static inline int64_t
gather_index(const OnnxTensor *ind, int64_t k, int64_t n)
{
	int64_t		i = ind->dtype == ONNX_DTYPE_INT64 ? ((const int64_t *) ind->data)[k]
		: (int64_t) ((const int32_t *) ind->data)[k];

	return i < 0 ? i + n : i;
}

#define GATHER_ELEMS(T) \
	do { \
		const T    *xs = (const T *) x->data; \
		T		   *ys = (T *) y->data; \
		for (int64_t o = 0; o < outer; o++) \
			for (int64_t k = 0; k < K; k++) \
				ys[o * K + k] = xs[o * n + gather_index(ind, k, n)]; \
	} while (0)

/*
 * Gather of fixed-size elements with int32/int64 indices already checked:
 * X (outer, n, inner), indices (K) -> Y (outer, K, inner), one memcpy of
 * inner elements per index (typed loads when inner is 1).
 */
static OnnxStatus
gather_rows(OnnxKernelCtx *ctx, const OnnxTensor *x, const OnnxTensor *ind, OnnxTensor *y,
			int64_t outer, int64_t n, int64_t inner)
{
	size_t		es = onnx_dtype_size(x->dtype);
	int64_t		K = ind->count;
	size_t		run = (size_t) inner * es;

	if (inner == 1 && es == 4)
		GATHER_ELEMS(uint32_t);
	else if (inner == 1 && es == 8)
		GATHER_ELEMS(uint64_t);
	else if (inner == 1 && es == 2)
		GATHER_ELEMS(uint16_t);
	else if (inner == 1 && es == 1)
		GATHER_ELEMS(uint8_t);
	else
		for (int64_t o = 0; o < outer; o++)
		{
			const char *xs = (const char *) x->data + (size_t) (o * n) * run;
			char	   *ys = (char *) y->data + (size_t) (o * K) * run;

			if ((o & 63) == 63 && onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			for (int64_t k = 0; k < K; k++)
				memcpy(ys + (size_t) k * run, xs + (size_t) gather_index(ind, k, n) * run, run);
		}
	return ONNX_OK;
}

static OnnxStatus
run_gather(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ind = onnx_in(ctx, 1);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 0);
	int64_t		dims[ONNX_MAX_RANK],
				outer = 1,
				inner = 1,
				pos = 0;
	int			ax,
				r = 0;
	OnnxTensor *y;

	if (x == NULL || ind == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Gather needs data and indices");
	if (!onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range", (long long) axis);
	if (x->rank - 1 + ind->rank > ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "Gather output rank is too large");
	for (int d = 0; d < ax; d++)
	{
		dims[r++] = x->dims[d];
		outer *= x->dims[d];
	}
	for (int d = 0; d < ind->rank; d++)
		dims[r++] = ind->dims[d];
	for (int d = ax + 1; d < x->rank; d++)
	{
		dims[r++] = x->dims[d];
		inner *= x->dims[d];
	}
	if ((y = out_filled(ctx, 0, x->dtype, r, dims)) == NULL)
		return ctx->err->status;
	if (outer == 0 || ind->count == 0)
		return ONNX_OK;
	/* every index checked before anything moves */
	for (int64_t k = 0; k < ind->count; k++)
	{
		int64_t		i = onnx_tensor_get_i64(ind, k);

		if (i < -x->dims[ax] || i >= x->dims[ax])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "index %lld is out of range [-%lld, %lld)",
									(long long) i, (long long) x->dims[ax], (long long) x->dims[ax]);
	}
	if (x->dtype != ONNX_DTYPE_STRING && (ind->dtype == ONNX_DTYPE_INT64 || ind->dtype == ONNX_DTYPE_INT32))
		return gather_rows(ctx, x, ind, y, outer, x->dims[ax], inner);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t k = 0; k < ind->count; k++)
		{
			int64_t		i = onnx_tensor_get_i64(ind, k);

			if (i < 0)
				i += x->dims[ax];
			if (!copy_run(ctx, y, pos, x, (o * x->dims[ax] + i) * inner, inner))
				return ONNX_KERNEL_OOM(ctx);
			pos += inner;
		}
	return ONNX_OK;
}

/* ---- GatherElements: out[i][j][k] = data[index along axis] ---- */

/* One row of GatherElements: ys[k] = xs[base + i_k * sa + k * sl]. */
#define GATHER_ELEMS_ROW(T) \
	do { \
		T		   *yt = (T *) y->data + row * n; \
		const T    *xt = (const T *) x->data + base; \
		for (int64_t k = 0; k < n; k++) \
			yt[k] = xt[gather_index(ind, row * n + k, na) * sa + k * sl]; \
	} while (0)

/*
 * GatherElements of fixed-size elements with int32/int64 indices already
 * checked: row by row along the last dim, typed loads.
 */
static OnnxStatus
gather_elements_fixed(OnnxKernelCtx *ctx, const OnnxTensor *x, const OnnxTensor *ind, OnnxTensor *y, int ax)
{
	int			r = x->rank;
	int64_t		xs[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK] = {0},
				n = ind->dims[r - 1],
				rows = n ? ind->count / n : 0,
				na = x->dims[ax],
				sa,
				sl;
	size_t		es = onnx_dtype_size(x->dtype);

	onnx_row_strides(x, xs);
	sa = xs[ax];
	sl = ax == r - 1 ? 0 : 1;	/* the last dim steps along X unless it is the axis */
	for (int64_t row = 0; row < rows; row++)
	{
		int64_t		base = 0;

		if ((row & 4095) == 4095 && onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		for (int d = 0; d < r - 1; d++)
			base += d == ax ? 0 : idx[d] * xs[d];
		if (es == 4)
			GATHER_ELEMS_ROW(uint32_t);
		else if (es == 8)
			GATHER_ELEMS_ROW(uint64_t);
		else if (es == 2)
			GATHER_ELEMS_ROW(uint16_t);
		else if (es == 1)
			GATHER_ELEMS_ROW(uint8_t);
		else
			for (int64_t k = 0; k < n; k++)
				memcpy((char *) y->data + (size_t) (row * n + k) * es,
					   (const char *) x->data + (size_t) (base + gather_index(ind, row * n + k, na) * sa + k * sl) * es,
					   es);
		onnx_index_next(idx, ind->dims, r - 1);
	}
	return ONNX_OK;
}

static OnnxStatus
run_gather_elements(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ind = onnx_in(ctx, 1);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 0);
	int64_t		xstride[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK];
	int			ax;
	OnnxTensor *y;

	if (x == NULL || ind == NULL || ind->rank != x->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "data and indices must have the same rank");
	if (!onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range", (long long) axis);
	for (int d = 0; d < x->rank; d++)
		if (d != ax && ind->dims[d] > x->dims[d])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "indices dimension %d exceeds the data's", d);
	if ((y = out_filled(ctx, 0, x->dtype, ind->rank, ind->dims)) == NULL)
		return ctx->err->status;
	/* every index checked before anything moves */
	for (int64_t o = 0; o < ind->count; o++)
	{
		int64_t		i = onnx_tensor_get_i64(ind, o);

		if (i < -x->dims[ax] || i >= x->dims[ax])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "index %lld is out of range", (long long) i);
	}
	if (x->dtype != ONNX_DTYPE_STRING && (ind->dtype == ONNX_DTYPE_INT64 || ind->dtype == ONNX_DTYPE_INT32))
		return gather_elements_fixed(ctx, x, ind, y, ax);
	onnx_row_strides(x, xstride);
	memset(idx, 0, sizeof(idx));
	for (int64_t o = 0; o < y->count; o++)
	{
		int64_t		i = onnx_tensor_get_i64(ind, o);
		int64_t		xoff = 0;

		if (i < 0)
			i += x->dims[ax];
		for (int d = 0; d < x->rank; d++)
			xoff += (d == ax ? i : idx[d]) * xstride[d];
		if (!copy_elem(ctx, y, o, x, xoff))
			return ONNX_KERNEL_OOM(ctx);
		onnx_index_next(idx, ind->dims, x->rank);
	}
	return ONNX_OK;
}

/* ---- Tile: X (d) repeated (r) -> (d * r) ---- */

/*
 * Advance an odometer idx over the box n[0..d) of Y (strides ys); *off
 * follows the element offset.
 */
static inline void
box_next(int64_t *idx, const int64_t *n, const int64_t *ys, int d, int64_t *off)
{
	for (int k = d - 1; k >= 0; k--)
	{
		*off += ys[k];
		if (++idx[k] < n[k])
			return;
		*off -= ys[k] * n[k];
		idx[k] = 0;
	}
}

/*
 * Tile of fixed-size elements, Y non-empty: X copied to Y's origin block,
 * then, innermost dim first, each slab along dim d (X's extent there,
 * Y's full extent inside it) doubled by memcpy until it fills Y's dim.
 */
static OnnxStatus
tile_fixed(OnnxKernelCtx *ctx, const OnnxTensor *x, OnnxTensor *y)
{
	size_t		es = onnx_dtype_size(x->dtype);
	int64_t		xs[ONNX_MAX_RANK],
				ys[ONNX_MAX_RANK],
				inner = 1;
	OnnxStatus	st;

	onnx_row_strides(x, xs);
	onnx_row_strides(y, ys);
	if ((st = onnx_copy_strided(ctx, es, x->rank, x->dims, y->data, ys, x->data, xs)) != ONNX_OK)
		return st;
	for (int d = x->rank - 1; d >= 0; d--)
	{
		int64_t		reps = y->dims[d] / x->dims[d],
					lines = 1,
					idx[ONNX_MAX_RANK] = {0},
					off = 0;
		size_t		slab = (size_t) (x->dims[d] * inner) * es;

		for (int k = 0; k < d && reps > 1; k++)
			lines *= x->dims[k];
		for (int64_t l = 0; l < lines && reps > 1; l++)
		{
			char	   *b = (char *) y->data + (size_t) off * es;

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			for (int64_t have = 1; have < reps;)
			{
				int64_t		c = have < reps - have ? have : reps - have;

				memcpy(b + (size_t) have * slab, b, (size_t) c * slab);
				have += c;
			}
			box_next(idx, x->dims, ys, d, &off);
		}
		inner *= y->dims[d];
	}
	return ONNX_OK;
}

static OnnxStatus
run_tile(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *rep = onnx_in(ctx, 1);
	int64_t		dims[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK],
				xstride[ONNX_MAX_RANK];
	OnnxTensor *y;

	if (x == NULL || rep == NULL || rep->count != x->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "repeats must have one value per input dimension");
	for (int d = 0; d < x->rank; d++)
	{
		int64_t		r = onnx_tensor_get_i64(rep, d);

		if (r < 0 || onnx_mul_overflow_i64(x->dims[d], r, &dims[d]))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "repeats[%d] = %lld is invalid", d, (long long) r);
	}
	if ((y = out_filled(ctx, 0, x->dtype, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	onnx_row_strides(x, xstride);
	if (x->dtype != ONNX_DTYPE_STRING)
		return tile_fixed(ctx, x, y);
	memset(idx, 0, sizeof(idx));
	for (int64_t o = 0; o < y->count; o++)
	{
		int64_t		xoff = 0;

		for (int d = 0; d < x->rank; d++)
			xoff += (idx[d] % x->dims[d]) * xstride[d];
		if (!copy_elem(ctx, y, o, x, xoff))
			return ONNX_KERNEL_OOM(ctx);
		onnx_index_next(idx, dims, x->rank);
	}
	return ONNX_OK;
}

/* ---- Pad: X (d) -> (d + begin + end), modes constant/reflect/edge/wrap ---- */

/* Index i (may be outside [0, n)) of a dim of n elements mapped by mode m (1 reflect, 2 edge, 3 wrap). */
static inline int64_t
pad_source(int64_t i, int64_t n, int m)
{
	if (i >= 0 && i < n)
		return i;
	if (m == 2)
		return i < 0 ? 0 : n - 1;
	if (m == 3)
		return ((i % n) + n) % n;
	{
		int64_t		period = 2 * (n - 1);

		i = period ? ((i % period) + period) % period : 0;
		return i >= n ? period - i : i;
	}
}

/*
 * Pad of fixed-size elements, Y non-empty: the source X (xdims, strides
 * xs, at src) copied into Y's interior at pb (all >= 0), then, innermost
 * dim first, the pad slabs of every line along dim d (inside X's extent
 * on the outer dims, Y's full extent on the inner ones) filled with val
 * (constant) or copied from the interior slab that mode m maps them to.
 */
static OnnxStatus
pad_fixed(OnnxKernelCtx *ctx, const void *src, const int64_t *xdims, const int64_t *xs,
		  OnnxTensor *y, const int64_t *pb, int m, const void *val)
{
	size_t		es = onnx_dtype_size(y->dtype);
	int			r = y->rank;
	int64_t		ys[ONNX_MAX_RANK],
				base = 0,
				inner = 1,
				count = 1;
	OnnxStatus	st;

	onnx_row_strides(y, ys);
	for (int d = 0; d < r; d++)
	{
		base += pb[d] * ys[d];
		count *= xdims[d];
	}
	if (count > 0 &&
		(st = onnx_copy_strided(ctx, es, r, xdims, (char *) y->data + (size_t) base * es, ys,
								src, xs)) != ONNX_OK)
		return st;
	for (int d = r - 1; d >= 0; d--)
	{
		int64_t		n = xdims[d],
					yd = y->dims[d],
					lines = 1,
					idx[ONNX_MAX_RANK] = {0},
					off = 0;
		size_t		slab = (size_t) inner * es;

		for (int k = 0; k < d; k++)
		{
			lines *= xdims[k];
			off += pb[k] * ys[k];
		}
		for (int64_t l = 0; l < lines && yd > n; l++)
		{
			char	   *line = (char *) y->data + (size_t) off * es;

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			if (m == 0)
			{
				onnx_fill_elems(line, val, es, pb[d] * inner);
				onnx_fill_elems(line + (size_t) (pb[d] + n) * slab, val, es, (yd - pb[d] - n) * inner);
			}
			else
				for (int64_t p = 0; p < yd; p++)
				{
					if (p == pb[d])
						p += n;		/* skip the interior */
					if (p >= yd)
						break;
					memcpy(line + (size_t) p * slab,
						   line + (size_t) (pb[d] + pad_source(p - pb[d], n, m)) * slab, slab);
				}
			box_next(idx, xdims, ys, d, &off);
		}
		inner *= yd;
	}
	return ONNX_OK;
}

static OnnxStatus
run_pad(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const char *mode = onnx_attr_string(ctx->node, "mode", "constant");
	int64_t		pb[ONNX_MAX_RANK] = {0},
				pe[ONNX_MAX_RANK] = {0},
				dims[ONNX_MAX_RANK],
				cdims[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK],
				xstride[ONNX_MAX_RANK],
				crop = 0;
	double		cval = 0;
	const OnnxTensor *tcv = NULL;
	int			r,
				m;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Pad input is missing");
	r = x->rank;
	m = strcmp(mode, "constant") == 0 ? 0 : strcmp(mode, "reflect") == 0 ? 1 :
		strcmp(mode, "edge") == 0 ? 2 : strcmp(mode, "wrap") == 0 ? 3 : -1;
	if (m < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "Pad mode \"%s\" is not supported", mode);
	if (ctx->opset < 11)
	{
		const int64_t *pads;
		int			n = onnx_attr_ints(ctx->node, "pads", &pads);

		if (n != 2 * r)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "pads must have %d values", 2 * r);
		for (int d = 0; d < r; d++)
		{
			pb[d] = pads[d];
			pe[d] = pads[r + d];
		}
		cval = onnx_attr_float(ctx->node, "value", 0.0f);
	}
	else
	{
		const OnnxTensor *tp = onnx_in(ctx, 1);
		const OnnxTensor *ta = ctx->opset >= 18 ? onnx_in(ctx, 3) : NULL;
		int			na = ta ? (int) ta->count : r;

		tcv = onnx_in(ctx, 2);
		if (tp == NULL || tp->count != 2 * na)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "pads must have %d values", 2 * na);
		for (int i = 0; i < na; i++)
		{
			int			d = i;

			if (ta && !onnx_norm_axis(onnx_tensor_get_i64(ta, i), r, &d))
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Pad axis is out of range");
			pb[d] = onnx_tensor_get_i64(tp, i);
			pe[d] = onnx_tensor_get_i64(tp, na + i);
		}
	}
	/* negative pads crop X first (as onnxruntime does), the rest pads the crop */
	onnx_row_strides(x, xstride);
	for (int d = 0; d < r; d++)
	{
		int64_t		n,
					cut;

		if (__builtin_add_overflow(x->dims[d], pb[d], &n) || __builtin_add_overflow(n, pe[d], &n) || n < 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "pads make dimension %d negative or too large", d);
		cut = (pb[d] < 0 ? -pb[d] : 0) + (pe[d] < 0 ? -pe[d] : 0);
		if (cut > x->dims[d])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "negative pads remove more than dimension %d holds", d);
		cdims[d] = x->dims[d] - cut;
		if (pb[d] < 0)
		{
			crop += -pb[d] * xstride[d];
			pb[d] = 0;
		}
		if (pe[d] < 0)
			pe[d] = 0;
		if (m != 0 && cdims[d] == 0 && n > 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "cannot %s-pad an empty dimension", mode);
		if (m == 1 && (pb[d] > 0 || pe[d] > 0) && cdims[d] < 2)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "reflect padding needs at least 2 elements");
		dims[d] = n;
	}
	if (x->dtype != ONNX_DTYPE_STRING)
	{
		uint64_t	val[2] = {0, 0};	/* the constant, as one element */
		size_t		es = onnx_dtype_size(x->dtype);

		if (es > sizeof(val))
			return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "Pad does not support %s", onnx_dtype_name(x->dtype));
		if ((y = onnx_out_raw(ctx, 0, x->dtype, r, dims)) == NULL)
			return ctx->err->status;
		if (y->count == 0)
			return ONNX_OK;
		if (tcv && tcv->count && tcv->dtype == x->dtype)
			memcpy(val, tcv->data, es);
		else
		{
			OnnxTensor	one;

			memset(&one, 0, sizeof(one));
			one.dtype = x->dtype;
			one.count = 1;
			one.data = val;
			onnx_tensor_set_f64(&one, 0, tcv && tcv->count ? onnx_tensor_get_f64(tcv, 0) : cval);
		}
		return pad_fixed(ctx, (const char *) x->data + crop * (int64_t) es, cdims, xstride, y, pb, m, val);
	}
	/* strings: element by element */
	if ((y = onnx_out(ctx, 0, x->dtype, r, dims)) == NULL)
		return ctx->err->status;
	memset(idx, 0, sizeof(idx));
	for (int64_t o = 0; o < y->count; o++)
	{
		int64_t		xoff = crop;
		bool		outside = false;

		for (int d = 0; d < r && !outside; d++)
		{
			int64_t		i = idx[d] - pb[d];

			if (i < 0 || i >= cdims[d])
			{
				if (m == 0)
					outside = true;
				else
					i = pad_source(i, cdims[d], m);
			}
			xoff += i * xstride[d];
		}
		if (outside)
		{
			const char *v = tcv && tcv->count && tcv->dtype == ONNX_DTYPE_STRING ?
				((char *const *) tcv->data)[0] : NULL;

			if ((((char **) y->data)[o] = onnx_kernel_strdup(ctx, v ? v : "")) == NULL)
				return ONNX_KERNEL_OOM(ctx);
		}
		else if (!copy_elem(ctx, y, o, x, xoff))
			return ONNX_KERNEL_OOM(ctx);
		onnx_index_next(idx, dims, r);
	}
	return ONNX_OK;
}

/* ---- Trilu: X (..., N, M) keeps j - i >= k (upper) or j - i <= k (lower) ---- */

static OnnxStatus
run_trilu(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *tk = onnx_in(ctx, 1);
	bool		upper = onnx_attr_int(ctx->node, "upper", 1) != 0;
	int64_t		k = tk && tk->count ? onnx_tensor_get_i64(tk, 0) : 0;
	int64_t		rows,
				cols;
	OnnxTensor *y;

	if (x == NULL || x->rank < 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Trilu needs a tensor of rank 2 or more");
	rows = x->dims[x->rank - 2];
	cols = x->dims[x->rank - 1];
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	for (int64_t o = 0; o < x->count; o++)
	{
		int64_t		j = o % cols;
		int64_t		i = (o / (cols ? cols : 1)) % (rows ? rows : 1);
		bool		keep = upper ? (j - i >= k) : (j - i <= k);

		if (keep)
		{
			if (!copy_elem(ctx, y, o, x, o))
				return ONNX_KERNEL_OOM(ctx);
		}
		else if (x->dtype == ONNX_DTYPE_STRING)
		{
			char	   *e = onnx_kernel_alloc(ctx, 1);

			if (e == NULL)
				return ONNX_KERNEL_OOM(ctx);
			e[0] = '\0';
			((char **) y->data)[o] = e;
		}
	}
	return ONNX_OK;
}

static const OnnxAttrSpec perm_attrs[] = {{"perm", ONNX_ATTR_INTS}, {0}};
static const OnnxAttrSpec axis_attrs[] = {{"axis", ONNX_ATTR_INT}, {0}};

const OnnxOpDef onnx_ops_tensor_move[] = {
	ONNX_OP("", "Transpose", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_transpose, .run = run_transpose, .attrs = perm_attrs),
	ONNX_OP_VERSIONS("", "Concat", (1, 4), ONNX_INPUTS(1, -1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .infer = infer_concat, .run = run_concat, .attrs = axis_attrs),
	ONNX_OP_VERSIONS("", "Split", (1, 13, 18), ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, -1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .run = run_split),
	ONNX_OP("", "Slice", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .run = run_slice),
	ONNX_OP("", "Slice", 10, ONNX_INPUTS(3, 5), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .run = run_slice),
	ONNX_OP("", "Gather", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .run = run_gather, .attrs = axis_attrs),
	ONNX_OP("", "GatherElements", 11, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_SAME, .run = run_gather_elements,
		.attrs = axis_attrs),
	ONNX_OP("", "Tile", 6, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .run = run_tile),
	ONNX_OP("", "Trilu", 14, ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .run = run_trilu),
	ONNX_OP("", "Pad", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .run = run_pad),
	ONNX_OP("", "Pad", 11, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .run = run_pad),
	ONNX_OP("", "Pad", 18, ONNX_INPUTS(2, 4), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_SAME, .run = run_pad),
	{0}
};
