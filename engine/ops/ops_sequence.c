/*-------------------------------------------------------------------------
 *
 * ops_sequence.c
 *	  Operator family "sequence" (see op_tables.h): SequenceConstruct,
 *	  SequenceEmpty, SequenceAt, SequenceInsert, SequenceErase,
 *	  SequenceLength, SplitToSequence, ConcatFromSequence, SequenceMap;
 *	  Optional, OptionalHasElement, OptionalGetElement.
 *
 * A sequence is an OnnxValue of kind ONNX_VALUE_SEQUENCE whose items are
 * tensors (elem_dtype keeps the element type of an empty one); an
 * optional has kind ONNX_VALUE_OPTIONAL and zero or one item.  Inputs are
 * borrowed, so every operator builds its result from copies and hands it
 * over with onnx_out_value, which charges it to the memory limit.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "op_tables.h"
#include "ops_control.h"

/* ---- helpers ---- */

static const OnnxValue *
seq_in(OnnxKernelCtx *ctx, int i, const char *what)
{
	const OnnxValue *v = i < ctx->n_inputs ? ctx->inputs[i] : NULL;

	if (v == NULL || v->kind != ONNX_VALUE_SEQUENCE)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s must be a sequence", what);
		return NULL;
	}
	return v;
}

static OnnxDType
seq_dtype(const OnnxValue *s)
{
	return s->n_items > 0 && s->items[0].kind == ONNX_VALUE_TENSOR ?
		s->items[0].tensor.dtype : s->elem_dtype;
}

/* An empty sequence value with room for cap items. */
static OnnxStatus
seq_new(OnnxKernelCtx *ctx, OnnxValue *s, int64_t cap, OnnxDType elem)
{
	memset(s, 0, sizeof(*s));
	s->kind = ONNX_VALUE_SEQUENCE;
	s->elem_dtype = elem;
	if (cap > INT32_MAX)
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "a sequence of %lld items is too long",
								(long long) cap);
	if (cap > 0)
	{
		s->items = onnx_kernel_alloc(ctx, sizeof(OnnxValue) * (size_t) cap);
		if (s->items == NULL)
			return ctx->err->status;
		memset(s->items, 0, sizeof(OnnxValue) * (size_t) cap);
	}
	return ONNX_OK;
}

/* Append a copy of v to s (room reserved by seq_new). */
static OnnxStatus
seq_append_copy(OnnxKernelCtx *ctx, OnnxValue *s, const OnnxValue *v)
{
	OnnxStatus	st = onnx_value_copy(&s->items[s->n_items], v, onnx_kernel_allocator(ctx), ctx->err);

	if (st != ONNX_OK)
		return onnx_kernel_fail(ctx, st, "%s", ctx->err->message);
	s->n_items++;
	return ONNX_OK;
}

/* Hand s over to output i, or release it on failure. */
static OnnxStatus
seq_finish(OnnxKernelCtx *ctx, int i, OnnxValue *s, OnnxStatus st)
{
	if (st != ONNX_OK)
	{
		onnx_value_release(onnx_kernel_allocator(ctx), s);
		return st;
	}
	return onnx_out_value(ctx, i, s);
}

/* A position input (scalar or one element, int32/int64) into [-n, n + extra). */
static bool
position(OnnxKernelCtx *ctx, int i, int64_t n, int extra, int64_t dflt, int64_t *out)
{
	const OnnxTensor *p = onnx_in(ctx, i);
	int64_t		v = dflt;

	if (p)
	{
		if (p->count != 1 || (p->dtype != ONNX_DTYPE_INT64 && p->dtype != ONNX_DTYPE_INT32))
		{
			onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
							 "position must be an int32 or int64 scalar");
			return false;
		}
		v = onnx_tensor_get_i64(p, 0);
	}
	if (v < -n || v >= n + extra)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
						 "position %lld is out of range for a sequence of %lld items",
						 (long long) v, (long long) n);
		return false;
	}
	*out = v < 0 ? v + n : v;
	return true;
}

/* Output 0 is a sequence of input 0's element type. */
static OnnxStatus
infer_seq_same(OnnxInferCtx *ctx)
{
	if (ctx->outputs[0])
	{
		ctx->outputs[0]->kind = ONNX_VALUE_SEQUENCE;
		ctx->outputs[0]->rank = -1;
		if (ctx->inputs[0] && ctx->inputs[0]->dtype != ONNX_DTYPE_UNDEFINED)
			ctx->outputs[0]->dtype = ctx->inputs[0]->dtype;
	}
	return ONNX_OK;
}

/* Output 0 is a tensor of input 0's element type, shape unknown. */
static OnnxStatus
infer_seq_elem(OnnxInferCtx *ctx)
{
	if (ctx->outputs[0])
	{
		ctx->outputs[0]->kind = ONNX_VALUE_TENSOR;
		ctx->outputs[0]->rank = -1;
		if (ctx->inputs[0] && ctx->inputs[0]->dtype != ONNX_DTYPE_UNDEFINED)
			ctx->outputs[0]->dtype = ctx->inputs[0]->dtype;
	}
	return ONNX_OK;
}

/* ---- SequenceEmpty, SequenceConstruct, SequenceLength ---- */

static OnnxStatus
infer_seq_empty(OnnxInferCtx *ctx)
{
	int64_t		dt = onnx_attr_int(ctx->node, "dtype", ONNX_DTYPE_FLOAT);

	if (ctx->outputs[0])
	{
		ctx->outputs[0]->kind = ONNX_VALUE_SEQUENCE;
		ctx->outputs[0]->rank = -1;
		if (dt > 0 && dt < ONNX_DTYPE_COUNT)
			ctx->outputs[0]->dtype = (OnnxDType) dt;
	}
	return ONNX_OK;
}

static OnnxStatus
run_seq_empty(OnnxKernelCtx *ctx)
{
	int64_t		dt = onnx_attr_int(ctx->node, "dtype", ONNX_DTYPE_FLOAT);
	OnnxValue	s;

	if (dt <= 0 || dt >= ONNX_DTYPE_COUNT)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "SequenceEmpty dtype %lld is invalid",
								(long long) dt);
	seq_new(ctx, &s, 0, (OnnxDType) dt);
	return onnx_out_value(ctx, 0, &s);
}

static OnnxStatus
run_seq_construct(OnnxKernelCtx *ctx)
{
	OnnxValue	s;
	OnnxStatus	st;

	for (int i = 0; i < ctx->n_inputs; i++)
	{
		const OnnxTensor *t = onnx_in(ctx, i);

		if (t == NULL)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"SequenceConstruct input %d must be a tensor", i);
		if (t->dtype != onnx_in(ctx, 0)->dtype)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"SequenceConstruct inputs have types %s and %s",
									onnx_dtype_name(onnx_in(ctx, 0)->dtype), onnx_dtype_name(t->dtype));
	}
	{
		size_t		bytes = 0;

		for (int i = 0; i < ctx->n_inputs; i++)
			bytes += sizeof(OnnxValue) + onnx_value_bytes(ctx->inputs[i]);
		if ((st = onnx_kernel_check_memory(ctx, bytes)) != ONNX_OK)
			return st;
	}
	st = seq_new(ctx, &s, ctx->n_inputs, onnx_in(ctx, 0)->dtype);
	for (int i = 0; st == ONNX_OK && i < ctx->n_inputs; i++)
		st = seq_append_copy(ctx, &s, ctx->inputs[i]);
	return seq_finish(ctx, 0, &s, st);
}

static OnnxStatus
infer_scalar_i64(OnnxInferCtx *ctx)
{
	if (ctx->outputs[0])
	{
		ctx->outputs[0]->kind = ONNX_VALUE_TENSOR;
		ctx->outputs[0]->dtype = ONNX_DTYPE_INT64;
		ctx->outputs[0]->rank = 0;
	}
	return ONNX_OK;
}

static OnnxStatus
run_seq_length(OnnxKernelCtx *ctx)
{
	const OnnxValue *s = seq_in(ctx, 0, "SequenceLength input");
	OnnxTensor *y;

	if (s == NULL)
		return ctx->err->status;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_INT64, 0, NULL)) == NULL)
		return ctx->err->status;
	((int64_t *) y->data)[0] = s->n_items;
	return ONNX_OK;
}

/* ---- SequenceAt, SequenceInsert, SequenceErase ---- */

static OnnxStatus
run_seq_at(OnnxKernelCtx *ctx)
{
	const OnnxValue *s = seq_in(ctx, 0, "SequenceAt input");
	int64_t		pos;
	OnnxValue	copy;
	OnnxStatus	st;

	if (s == NULL)
		return ctx->err->status;
	if (onnx_in(ctx, 1) == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "SequenceAt needs a position");
	if (!position(ctx, 1, s->n_items, 0, 0, &pos))
		return ctx->err->status;
	if ((st = onnx_kernel_check_memory(ctx, onnx_value_bytes(&s->items[pos]))) != ONNX_OK)
		return st;
	if ((st = onnx_value_copy(&copy, &s->items[pos], onnx_kernel_allocator(ctx), ctx->err)) != ONNX_OK)
		return onnx_kernel_fail(ctx, st, "%s", ctx->err->message);
	return onnx_out_value(ctx, 0, &copy);
}

static OnnxStatus
run_seq_insert(OnnxKernelCtx *ctx)
{
	const OnnxValue *s = seq_in(ctx, 0, "SequenceInsert input");
	const OnnxTensor *t = onnx_in(ctx, 1);
	int64_t		pos;
	OnnxValue	r;
	OnnxStatus	st;

	if (s == NULL)
		return ctx->err->status;
	if (t == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "SequenceInsert needs a tensor to insert");
	if (s->n_items > 0 && seq_dtype(s) != t->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"cannot insert a %s tensor into a sequence of %s",
								onnx_dtype_name(t->dtype), onnx_dtype_name(seq_dtype(s)));
	if (!position(ctx, 2, s->n_items, 1, s->n_items, &pos))
		return ctx->err->status;
	if ((st = onnx_kernel_check_memory(ctx, onnx_value_bytes(s) + sizeof(OnnxValue) +
									   onnx_value_bytes(ctx->inputs[1]))) != ONNX_OK)
		return st;
	st = seq_new(ctx, &r, (int64_t) s->n_items + 1, t->dtype);
	for (int64_t i = 0; st == ONNX_OK && i <= s->n_items; i++)
	{
		if (i == pos)
			st = seq_append_copy(ctx, &r, ctx->inputs[1]);
		if (st == ONNX_OK && i < s->n_items)
			st = seq_append_copy(ctx, &r, &s->items[i]);
	}
	return seq_finish(ctx, 0, &r, st);
}

static OnnxStatus
run_seq_erase(OnnxKernelCtx *ctx)
{
	const OnnxValue *s = seq_in(ctx, 0, "SequenceErase input");
	int64_t		pos;
	OnnxValue	r;
	OnnxStatus	st;

	if (s == NULL)
		return ctx->err->status;
	if (!position(ctx, 1, s->n_items, 0, -1, &pos))
		return ctx->err->status;
	if ((st = onnx_kernel_check_memory(ctx, onnx_value_bytes(s))) != ONNX_OK)
		return st;
	st = seq_new(ctx, &r, s->n_items - 1, seq_dtype(s));
	for (int64_t i = 0; st == ONNX_OK && i < s->n_items; i++)
		if (i != pos)
			st = seq_append_copy(ctx, &r, &s->items[i]);
	return seq_finish(ctx, 0, &r, st);
}

/* ---- SplitToSequence ---- */

/* The piece [start, start+len) of x along axis, squeezed if asked, into v. */
static OnnxStatus
piece(OnnxKernelCtx *ctx, const OnnxTensor *x, int axis, int64_t start, int64_t len,
	  bool squeeze, OnnxValue *v)
{
	int64_t		dims[ONNX_MAX_RANK];
	int64_t		outer = 1,
				inner = 1;
	int			r = 0;
	OnnxStatus	st;

	for (int d = 0; d < x->rank; d++)
	{
		if (d < axis)
			outer *= x->dims[d];
		if (d > axis)
			inner *= x->dims[d];
		if (d == axis && squeeze)
			continue;
		dims[r++] = d == axis ? len : x->dims[d];
	}
	memset(v, 0, sizeof(*v));
	v->kind = ONNX_VALUE_TENSOR;
	if ((st = onnx_tensor_set_shape(&v->tensor, x->dtype, r, dims, ctx->err)) != ONNX_OK ||
		(st = onnx_tensor_alloc_data(&v->tensor, onnx_kernel_allocator(ctx), ctx->err)) != ONNX_OK)
		return onnx_kernel_fail(ctx, st, "%s", ctx->err->message);
	for (int64_t o = 0; o < outer; o++)
		if ((st = onnx_ctl_copy_elems(ctx, &v->tensor, o * len * inner, x,
									  (o * x->dims[axis] + start) * inner, len * inner)) != ONNX_OK)
			return st;
	return ONNX_OK;
}

static OnnxStatus
run_split_to_seq(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *split = onnx_in(ctx, 1);
	int64_t		keepdims = onnx_attr_int(ctx->node, "keepdims", 1);
	int64_t		axis_attr = onnx_attr_int(ctx->node, "axis", 0);
	int64_t		dim,
				n,
				chunk = 1,
				start = 0;
	int			axis;
	OnnxValue	s;
	OnnxStatus	st;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "SplitToSequence needs a tensor");
	if (!onnx_norm_axis(axis_attr, x->rank, &axis))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"SplitToSequence axis %lld is out of range for rank %d",
								(long long) axis_attr, x->rank);
	dim = x->dims[axis];
	if (split && split->dtype != ONNX_DTYPE_INT64 && split->dtype != ONNX_DTYPE_INT32)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "SplitToSequence split must be int32 or int64");
	if (split && split->rank == 0)
	{
		chunk = onnx_tensor_get_i64(split, 0);
		if (chunk <= 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"SplitToSequence split %lld must be positive", (long long) chunk);
		n = dim / chunk + (dim % chunk != 0);
	}
	else if (split)
	{
		int64_t		sum = 0;

		if (split->rank != 1)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "SplitToSequence split must be a scalar or 1-D");
		for (int64_t i = 0; i < split->count; i++)
		{
			int64_t		v = onnx_tensor_get_i64(split, i);

			if (v < 0 || v > dim - sum)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"SplitToSequence split sizes do not add up to %lld", (long long) dim);
			sum += v;
		}
		if (sum != dim)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"SplitToSequence split sizes add up to %lld, not %lld",
									(long long) sum, (long long) dim);
		n = split->count;
	}
	else
		n = dim;
	/* the pieces hold x's data, plus one descriptor each */
	if (n > INT32_MAX)
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "SplitToSequence would make %lld pieces",
								(long long) n);
	if ((st = onnx_kernel_check_memory(ctx, x->nbytes + (size_t) n * sizeof(OnnxValue))) != ONNX_OK)
		return st;
	if ((st = seq_new(ctx, &s, n, x->dtype)) != ONNX_OK)
		return st;
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		len = split == NULL ? 1 :
			split->rank == 0 ? (chunk < dim - start ? chunk : dim - start) :
			onnx_tensor_get_i64(split, i);

		if ((st = piece(ctx, x, axis, start, len, split == NULL && keepdims == 0,
						&s.items[s.n_items++])) != ONNX_OK)
			break;
		start += len;
	}
	return seq_finish(ctx, 0, &s, st);
}

/* ---- ConcatFromSequence ---- */

static OnnxStatus
run_concat_from_seq(OnnxKernelCtx *ctx)
{
	const OnnxValue *s = seq_in(ctx, 0, "ConcatFromSequence input");
	int64_t		axis_attr = onnx_attr_int(ctx->node, "axis", 0);
	bool		new_axis = onnx_attr_int(ctx->node, "new_axis", 0) != 0;
	const OnnxTensor *first;
	int64_t		dims[ONNX_MAX_RANK];
	int64_t		outer = 1,
				inner = 1,
				total = 0,
				off = 0;
	int			axis,
				r;
	OnnxTensor *y;
	OnnxStatus	st;

	if (s == NULL)
		return ctx->err->status;
	if (s->n_items == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "ConcatFromSequence of an empty sequence");
	for (int i = 0; i < s->n_items; i++)
		if (s->items[i].kind != ONNX_VALUE_TENSOR)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "ConcatFromSequence items must be tensors");
	first = &s->items[0].tensor;
	r = first->rank + (new_axis ? 1 : 0);
	if (r > ONNX_MAX_RANK || !onnx_norm_axis(axis_attr, r, &axis))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"ConcatFromSequence axis %lld is out of range", (long long) axis_attr);
	for (int i = 0; i < s->n_items; i++)
	{
		const OnnxTensor *t = &s->items[i].tensor;
		bool		ok = t->dtype == first->dtype && t->rank == first->rank;

		for (int d = 0; ok && d < t->rank; d++)
			ok = t->dims[d] == first->dims[d] || (!new_axis && d == axis);
		if (!ok)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"ConcatFromSequence items %d and 0 differ in type or shape", i);
		total += new_axis ? 1 : t->dims[axis];
	}
	for (int d = 0, k = 0; d < r; d++)
	{
		if (d == axis)
		{
			dims[d] = total;
			if (!new_axis)
				k++;
			continue;
		}
		dims[d] = first->dims[k++];
		if (d < axis)
			outer *= dims[d];
		else
			inner *= dims[d];
	}
	if ((y = onnx_out(ctx, 0, first->dtype, r, dims)) == NULL)
		return ctx->err->status;
	for (int i = 0; i < s->n_items; i++)
	{
		const OnnxTensor *t = &s->items[i].tensor;
		int64_t		len = new_axis ? 1 : t->dims[axis];

		for (int64_t o = 0; o < outer; o++)
			if ((st = onnx_ctl_copy_elems(ctx, y, (o * total + off) * inner, t,
										  o * len * inner, len * inner)) != ONNX_OK)
				return st;
		off += len;
	}
	return ONNX_OK;
}

static OnnxStatus
infer_concat_from_seq(OnnxInferCtx *ctx)
{
	return infer_seq_elem(ctx);
}

/* ---- SequenceMap ---- */

static OnnxStatus
check_seq_map(const OnnxNode *n, OnnxError *err)
{
	const OnnxGraph *b = onnx_ctl_graph_attr(n, "body");

	if (b == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "SequenceMap needs the graph attribute body");
	if (b->n_inputs != n->n_inputs || b->n_outputs != n->n_outputs)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "SequenceMap has %d inputs and %d outputs, its body %d and %d",
							  n->n_inputs, n->n_outputs, b->n_inputs, b->n_outputs);
	return ONNX_OK;
}

static OnnxStatus
infer_seq_map(OnnxInferCtx *ctx)
{
	const OnnxGraph *b = onnx_ctl_graph_attr(ctx->node, "body");

	for (int i = 0; i < ctx->n_outputs; i++)
		if (ctx->outputs[i])
		{
			const OnnxValueInfo *bi = i < b->n_outputs ? &b->values[b->outputs[i]].info : NULL;

			ctx->outputs[i]->kind = ONNX_VALUE_SEQUENCE;
			ctx->outputs[i]->rank = -1;
			if (bi && bi->kind == ONNX_VALUE_TENSOR && bi->dtype != ONNX_DTYPE_UNDEFINED)
				ctx->outputs[i]->dtype = bi->dtype;
		}
	return ONNX_OK;
}

/* The body once per item; sequences walked together, tensors passed whole. */
static OnnxStatus
run_seq_map(OnnxKernelCtx *ctx)
{
	const OnnxGraph *body = onnx_ctl_graph_attr(ctx->node, "body");
	const OnnxValue *s0 = seq_in(ctx, 0, "SequenceMap input");
	int			nin = ctx->n_inputs;
	int			nout = body->n_outputs;
	OnnxValue  *in,
			   *out;
	OnnxValueList *lists;
	OnnxStatus	st = ONNX_OK;

	if (s0 == NULL)
		return ctx->err->status;
	for (int j = 1; j < nin; j++)
	{
		const OnnxValue *v = ctx->inputs[j];

		if (v == NULL || (v->kind != ONNX_VALUE_SEQUENCE && v->kind != ONNX_VALUE_TENSOR))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"SequenceMap input %d must be a sequence or a tensor", j);
		if (v->kind == ONNX_VALUE_SEQUENCE && v->n_items != s0->n_items)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"SequenceMap sequences have %d and %d items", s0->n_items, v->n_items);
	}
	if ((in = onnx_kernel_scratch_zero(ctx, (size_t) nin + 1, sizeof(OnnxValue))) == NULL ||
		(out = onnx_kernel_scratch_zero(ctx, (size_t) nout + 1, sizeof(OnnxValue))) == NULL ||
		(lists = onnx_kernel_scratch_zero(ctx, (size_t) nout + 1, sizeof(OnnxValueList))) == NULL)
		return ctx->err->status;
	for (int i = 0; i < s0->n_items; i++)
	{
		if ((st = onnx_ctl_check_abort(ctx)) != ONNX_OK)
			goto done;
		for (int j = 0; j < nin; j++)
			in[j] = ctx->inputs[j]->kind == ONNX_VALUE_SEQUENCE ?
				ctx->inputs[j]->items[i] : *ctx->inputs[j];
		memset(out, 0, sizeof(OnnxValue) * (size_t) nout);
		if ((st = onnx_kernel_run_subgraph(ctx, body, nin, in, out)) != ONNX_OK)
			goto done;
		for (int k = 0; k < nout; k++)
			if ((st = onnx_ctl_list_push(ctx, &lists[k], &out[k])) != ONNX_OK)
				goto done;
	}
	for (int k = 0; k < nout && k < ctx->n_outputs; k++)
	{
		const OnnxValueInfo *bi = &body->values[body->outputs[k]].info;
		OnnxValue	s;

		memset(&s, 0, sizeof(s));
		s.kind = ONNX_VALUE_SEQUENCE;
		s.elem_dtype = lists[k].n > 0 && lists[k].v[0].kind == ONNX_VALUE_TENSOR ?
			lists[k].v[0].tensor.dtype : bi->dtype;
		/* the list's items become the sequence's */
		for (int64_t i = 0; i < lists[k].n; i++)
			onnx_kernel_uncharge(ctx, &lists[k].v[i]);
		s.items = lists[k].v;
		s.n_items = (int) lists[k].n;
		memset(&lists[k], 0, sizeof(lists[k]));
		if ((st = onnx_out_value(ctx, k, &s)) != ONNX_OK)
			goto done;
	}
done:
	for (int k = 0; k < nout; k++)
		onnx_value_release(onnx_kernel_allocator(ctx), &out[k]);
	for (int k = 0; k < nout; k++)
		onnx_ctl_list_free(ctx, &lists[k]);
	return st;
}

/*
 * ---- Optional, OptionalHasElement, OptionalGetElement ----
 *
 * A tensor or sequence where an optional is expected counts as a present
 * optional, in every version (opset 18 says so; the reference runtime and
 * loops that carry an optional into a sequence rely on it before that).
 */

static OnnxStatus
infer_optional(OnnxInferCtx *ctx)
{
	const OnnxAttr *tp = onnx_attr(ctx->node, "type");
	OnnxValueInfo *o = ctx->outputs[0];

	if (o == NULL)
		return ONNX_OK;
	o->kind = ONNX_VALUE_OPTIONAL;
	o->rank = -1;
	if (ctx->n_inputs > 0 && ctx->inputs[0] && ctx->inputs[0]->dtype != ONNX_DTYPE_UNDEFINED)
		o->dtype = ctx->inputs[0]->dtype;
	else if (tp && tp->type == ONNX_ATTR_TYPE_PROTO && tp->type_proto)
		o->dtype = tp->type_proto->dtype;
	return ONNX_OK;
}

static OnnxStatus
run_optional(OnnxKernelCtx *ctx)
{
	const OnnxValue *v = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	const OnnxAttr *tp = onnx_attr(ctx->node, "type");
	OnnxValue	o;
	OnnxStatus	st;

	memset(&o, 0, sizeof(o));
	o.kind = ONNX_VALUE_OPTIONAL;
	if (tp && tp->type == ONNX_ATTR_TYPE_PROTO && tp->type_proto)
		o.elem_dtype = tp->type_proto->dtype;
	if (v && v->kind != ONNX_VALUE_NONE)
	{
		if (v->kind == ONNX_VALUE_OPTIONAL)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Optional of an optional");
		if ((st = onnx_kernel_check_memory(ctx, onnx_value_bytes(v))) != ONNX_OK)
			return st;
		o.items = onnx_kernel_alloc(ctx, sizeof(OnnxValue));
		if (o.items == NULL)
			return ctx->err->status;
		if ((st = onnx_value_copy(&o.items[0], v, onnx_kernel_allocator(ctx), ctx->err)) != ONNX_OK)
		{
			onnx_kernel_free(ctx, o.items);
			return onnx_kernel_fail(ctx, st, "%s", ctx->err->message);
		}
		o.n_items = 1;
		if (v->kind == ONNX_VALUE_TENSOR)
			o.elem_dtype = v->tensor.dtype;
	}
	else if (tp == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL,
								"Optional without an input needs the type attribute");
	return onnx_out_value(ctx, 0, &o);
}

static OnnxStatus
run_optional_has(OnnxKernelCtx *ctx)
{
	const OnnxValue *v = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	OnnxTensor *y = onnx_out(ctx, 0, ONNX_DTYPE_BOOL, 0, NULL);

	if (y == NULL)
		return ctx->err->status;
	if (v && v->kind == ONNX_VALUE_OPTIONAL)
		((uint8_t *) y->data)[0] = v->n_items > 0;
	else
		((uint8_t *) y->data)[0] = v != NULL && v->kind != ONNX_VALUE_NONE;
	return ONNX_OK;
}

static OnnxStatus
infer_optional_get(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *in = ctx->inputs[0];
	OnnxValueInfo *o = ctx->outputs[0];

	if (o == NULL || in == NULL)
		return ONNX_OK;
	if (in->kind != ONNX_VALUE_OPTIONAL)
	{
		if (onnx_ctl_info_known(in))
			onnx_ctl_info_set(o, in);
		return ONNX_OK;
	}
	/* the inner kind shows only in the type text: optional(seq(...)) */
	if (in->type_text && strncmp(in->type_text, "optional(seq(", 13) == 0)
		o->kind = ONNX_VALUE_SEQUENCE;
	else if (in->type_text && strncmp(in->type_text, "optional(tensor(", 16) == 0)
		o->kind = ONNX_VALUE_TENSOR;
	else
		return ONNX_OK;
	if (in->dtype != ONNX_DTYPE_UNDEFINED)
		o->dtype = in->dtype;
	return ONNX_OK;
}

static OnnxStatus
run_optional_get(OnnxKernelCtx *ctx)
{
	const OnnxValue *v = ctx->inputs[0];
	OnnxValue	copy;
	OnnxStatus	st;

	if (v && v->kind == ONNX_VALUE_OPTIONAL)
	{
		if (v->n_items == 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_RUNTIME, "OptionalGetElement of an empty optional");
		v = &v->items[0];
	}
	if (v == NULL || v->kind == ONNX_VALUE_NONE)
		return onnx_kernel_fail(ctx, ONNX_ERR_RUNTIME, "OptionalGetElement of an empty optional");
	if ((st = onnx_kernel_check_memory(ctx, onnx_value_bytes(v))) != ONNX_OK)
		return st;
	if ((st = onnx_value_copy(&copy, v, onnx_kernel_allocator(ctx), ctx->err)) != ONNX_OK)
		return onnx_kernel_fail(ctx, st, "%s", ctx->err->message);
	return onnx_out_value(ctx, 0, &copy);
}

static OnnxStatus
infer_bool_scalar(OnnxInferCtx *ctx)
{
	if (ctx->outputs[0])
	{
		ctx->outputs[0]->kind = ONNX_VALUE_TENSOR;
		ctx->outputs[0]->dtype = ONNX_DTYPE_BOOL;
		ctx->outputs[0]->rank = 0;
	}
	return ONNX_OK;
}

static const OnnxAttrSpec seq_empty_attrs[] = {{"dtype", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec split_seq_attrs[] = {{"axis", ONNX_ATTR_INT}, {"keepdims", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec concat_seq_attrs[] = {{"axis", ONNX_ATTR_INT}, {"new_axis", ONNX_ATTR_INT}, {0}};
static const OnnxAttrSpec seq_map_attrs[] = {{"body", ONNX_ATTR_GRAPH}, {0}};
static const OnnxAttrSpec optional_attrs[] = {{"type", ONNX_ATTR_TYPE_PROTO}, {0}};

const OnnxOpDef onnx_ops_sequence[] = {
	ONNX_OP("", "SequenceEmpty", 11, ONNX_INPUTS(0, 0), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_CUSTOM, .infer = infer_seq_empty, .run = run_seq_empty,
		.attrs = seq_empty_attrs),
	ONNX_OP("", "SequenceConstruct", 11, ONNX_INPUTS(1, -1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .infer = infer_seq_same,
		.run = run_seq_construct),
	ONNX_OP("", "SequenceAt", 11, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_CUSTOM, .infer = infer_seq_elem, .run = run_seq_at),
	ONNX_OP("", "SequenceInsert", 11, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .infer = infer_seq_same,
		.run = run_seq_insert),
	ONNX_OP("", "SequenceErase", 11, ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_CUSTOM, .infer = infer_seq_same, .run = run_seq_erase),
	ONNX_OP("", "SequenceLength", 11, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .infer = infer_scalar_i64,
		.run = run_seq_length),
	ONNX_OP_VERSIONS("", "SplitToSequence", (11, 24), ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .infer = infer_seq_same,
		.run = run_split_to_seq, .attrs = split_seq_attrs),
	ONNX_OP("", "ConcatFromSequence", 11, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .infer = infer_concat_from_seq,
		.run = run_concat_from_seq, .attrs = concat_seq_attrs),
	ONNX_OP("", "SequenceMap", 17, ONNX_INPUTS(1, -1), ONNX_OUTPUTS(1, -1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_CUSTOM, .check = check_seq_map, .infer = infer_seq_map, .run = run_seq_map,
		.attrs = seq_map_attrs),
	ONNX_OP("", "Optional", 15, ONNX_INPUTS(0, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_CUSTOM, .infer = infer_optional, .run = run_optional,
		.attrs = optional_attrs),
	ONNX_OP("", "OptionalHasElement", 15, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .infer = infer_bool_scalar,
		.run = run_optional_has),
	ONNX_OP("", "OptionalHasElement", 18, ONNX_INPUTS(0, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .infer = infer_bool_scalar,
		.run = run_optional_has),
	ONNX_OP_VERSIONS("", "OptionalGetElement", (15, 18), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .infer = infer_optional_get,
		.run = run_optional_get),
	{0}
};
