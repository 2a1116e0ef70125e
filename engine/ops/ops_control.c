/*-------------------------------------------------------------------------
 *
 * ops_control.c
 *	  Operator family "control" (see op_tables.h): If, Loop, Scan.
 *
 * Bodies run through onnx_kernel_run_subgraph, in child frames that see
 * the enclosing frames' values.  Values carried from one iteration to the
 * next and the scan outputs gathered so far are owned by the kernel and
 * charged to the session's memory limit (onnx_kernel_charge), so a loop
 * that grows without end stops with ONNX_ERR_LIMIT; every iteration asks
 * the abort callback, so a loop that never ends (a trip count of 2^63, a
 * condition that stays true, a body with no node at all) stops with
 * ONNX_ERR_CANCELLED when the caller wants it to.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "op_tables.h"
#include "ops_control.h"

/* ---- helpers shared with ops_sequence.c ---- */

const OnnxGraph *
onnx_ctl_graph_attr(const OnnxNode *node, const char *name)
{
	const OnnxAttr *a = onnx_attr(node, name);

	return a && a->type == ONNX_ATTR_GRAPH ? a->g : NULL;
}

void *
onnx_ctl_zalloc(OnnxKernelCtx *ctx, size_t size)
{
	void	   *p = onnx_kernel_alloc(ctx, size);

	if (p)
		memset(p, 0, size ? size : 1);
	return p;
}

void
onnx_ctl_drop(OnnxKernelCtx *ctx, OnnxValue *v)
{
	onnx_kernel_uncharge(ctx, v);
	onnx_kernel_release(ctx, v);
}

OnnxStatus
onnx_ctl_list_push(OnnxKernelCtx *ctx, OnnxValueList *l, OnnxValue *v)
{
	OnnxStatus	st;

	if (l->n == l->cap)
	{
		int64_t		cap = l->cap ? l->cap * 2 : 8;
		OnnxValue  *nv;

		if ((uint64_t) cap > SIZE_MAX / sizeof(OnnxValue))
		{
			onnx_kernel_release(ctx, v);
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "too many values");
		}
		nv = onnx_kernel_alloc(ctx, sizeof(OnnxValue) * (size_t) cap);
		if (nv == NULL)
		{
			onnx_kernel_release(ctx, v);
			return ctx->err->status;
		}
		if (l->n)
			memcpy(nv, l->v, sizeof(OnnxValue) * (size_t) l->n);
		onnx_kernel_free(ctx, l->v);
		l->v = nv;
		l->cap = cap;
	}
	if ((st = onnx_kernel_charge(ctx, v)) != ONNX_OK)
	{
		onnx_kernel_release(ctx, v);
		return st;
	}
	l->v[l->n++] = *v;
	memset(v, 0, sizeof(*v));
	return ONNX_OK;
}

void
onnx_ctl_list_free(OnnxKernelCtx *ctx, OnnxValueList *l)
{
	for (int64_t i = 0; i < l->n; i++)
		onnx_ctl_drop(ctx, &l->v[i]);
	onnx_kernel_free(ctx, l->v);
	memset(l, 0, sizeof(*l));
}

OnnxStatus
onnx_ctl_copy_elems(OnnxKernelCtx *ctx, OnnxTensor *dst, int64_t doff,
					const OnnxTensor *src, int64_t soff, int64_t n)
{
	if (n <= 0)
		return ONNX_OK;
	if (src->dtype == ONNX_DTYPE_STRING)
	{
		for (int64_t i = 0; i < n; i++)
		{
			const char *s = ((char *const *) src->data)[soff + i];
			size_t		len = s ? strlen(s) : 0;
			char	   *p = onnx_kernel_alloc(ctx, len + 1);

			if (p == NULL)
				return ctx->err->status;
			if (len)
				memcpy(p, s, len);
			p[len] = '\0';
			((char **) dst->data)[doff + i] = p;
		}
	}
	else
	{
		size_t		es = onnx_dtype_size(src->dtype);

		memcpy((char *) dst->data + (size_t) doff * es,
			   (const char *) src->data + (size_t) soff * es, (size_t) n * es);
	}
	return ONNX_OK;
}

bool
onnx_ctl_cond(OnnxKernelCtx *ctx, const OnnxTensor *t, const char *what, bool *out)
{
	if (t == NULL || t->count != 1 || t->dtype == ONNX_DTYPE_STRING)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
						 "%s must be a tensor of one boolean element", what);
		return false;
	}
	*out = onnx_tensor_get_f64(t, 0) != 0;
	return true;
}

OnnxStatus
onnx_ctl_check_abort(OnnxKernelCtx *ctx)
{
	if (onnx_kernel_should_abort(ctx))
		return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
	return ONNX_OK;
}

bool
onnx_ctl_info_known(const OnnxValueInfo *info)
{
	return info && (info->dtype != ONNX_DTYPE_UNDEFINED || info->kind != ONNX_VALUE_TENSOR);
}

void
onnx_ctl_info_set(OnnxValueInfo *dst, const OnnxValueInfo *src)
{
	const char *name = dst->name;
	const char *doc = dst->doc;

	*dst = *src;
	dst->name = name;
	dst->doc = doc;
}

/* ---- local helpers ---- */

/* Static info of output i of subgraph g. */
static const OnnxValueInfo *
body_out_info(const OnnxGraph *g, int i)
{
	if (g == NULL || i < 0 || i >= g->n_outputs)
		return NULL;
	return &g->values[g->outputs[i]].info;
}

/* Move a kernel-owned, charged value into output i (released if absent). */
static OnnxStatus
emit(OnnxKernelCtx *ctx, int i, OnnxValue *v)
{
	onnx_kernel_uncharge(ctx, v);
	if (i >= ctx->n_outputs)
	{
		onnx_kernel_release(ctx, v);
		return ONNX_OK;
	}
	return onnx_out_value(ctx, i, v);
}

/* Release values[0..n) that the kernel got from a subgraph (not charged). */
static void
release_all(OnnxKernelCtx *ctx, OnnxValue *v, int n)
{
	for (int i = 0; v && i < n; i++)
		onnx_kernel_release(ctx, &v[i]);
}

/* Zeroed scratch for n values (the node's: released after it). */
static OnnxValue *
values_alloc(OnnxKernelCtx *ctx, int n)
{
	return onnx_kernel_scratch_zero(ctx, (size_t) n + 1, sizeof(OnnxValue));
}

/* Zeroed scratch for n lists of values. */
static OnnxValueList *
lists_alloc(OnnxKernelCtx *ctx, int n)
{
	return onnx_kernel_scratch_zero(ctx, (size_t) n + 1, sizeof(OnnxValueList));
}

/*
 * The slice idx of x along axis (rank - 1) into *out, a tensor the
 * kernel owns (not charged: it lives for one body run).
 */
static OnnxStatus
take_slice(OnnxKernelCtx *ctx, const OnnxTensor *x, int axis, int64_t idx, OnnxValue *out)
{
	int64_t		dims[ONNX_MAX_RANK];
	int64_t		outer = 1,
				inner = 1;
	int			r = 0;
	OnnxStatus	st;

	for (int d = 0; d < x->rank; d++)
	{
		if (d == axis)
			continue;
		dims[r++] = x->dims[d];
		if (d < axis)
			outer *= x->dims[d];
		else
			inner *= x->dims[d];
	}
	memset(out, 0, sizeof(*out));
	out->kind = ONNX_VALUE_TENSOR;
	if ((st = onnx_tensor_set_shape(&out->tensor, x->dtype, r, dims, ctx->err)) != ONNX_OK ||
		(st = onnx_tensor_alloc_data(&out->tensor, onnx_kernel_allocator(ctx), ctx->err)) != ONNX_OK)
		return onnx_kernel_fail(ctx, st, "%s", ctx->err->message);
	for (int64_t o = 0; o < outer; o++)
		if ((st = onnx_ctl_copy_elems(ctx, &out->tensor, o * inner, x,
									  (o * x->dims[axis] + idx) * inner, inner)) != ONNX_OK)
		{
			onnx_kernel_release(ctx, out);
			return st;
		}
	return ONNX_OK;
}

static bool
same_shape(const OnnxTensor *a, const OnnxTensor *b)
{
	if (a->dtype != b->dtype || a->rank != b->rank)
		return false;
	for (int d = 0; d < a->rank; d++)
		if (a->dims[d] != b->dims[d])
			return false;
	return true;
}

/*
 * Stack the tensors of l along a new axis (axis of the result, negative
 * counts from the end) into output oi; reverse puts item t at n-1-t.  With
 * no item the result has a zero dimension, and the item shape of info when
 * that is fully known.
 */
static OnnxStatus
stack_output(OnnxKernelCtx *ctx, int oi, const OnnxValueList *l, int64_t axis_attr,
			 bool reverse, const OnnxValueInfo *info)
{
	const OnnxTensor *first;
	int64_t		dims[ONNX_MAX_RANK];
	int64_t		outer = 1,
				inner = 1,
				n = l->n;
	int			r,
				axis;
	OnnxTensor *y;
	OnnxStatus	st;

	if (oi >= ctx->n_outputs)
		return ONNX_OK;
	if (n == 0)
	{
		OnnxDType	dt = info && info->dtype != ONNX_DTYPE_UNDEFINED ? info->dtype : ONNX_DTYPE_FLOAT;
		bool		known = info && info->kind == ONNX_VALUE_TENSOR && info->rank >= 0 &&
			info->rank < ONNX_MAX_RANK;

		for (int d = 0; known && d < info->rank; d++)
			known = info->dims[d] >= 0;
		r = known ? info->rank : 0;
		if (!onnx_norm_axis(axis_attr, r + 1, &axis))
			axis = 0;
		for (int d = 0, k = 0; d <= r; d++)
			dims[d] = d == axis ? 0 : info->dims[k++];
		return onnx_out(ctx, oi, dt, r + 1, dims) ? ONNX_OK : ctx->err->status;
	}
	first = &l->v[0].tensor;
	for (int64_t t = 0; t < n; t++)
		if (l->v[t].kind != ONNX_VALUE_TENSOR || !same_shape(&l->v[t].tensor, first))
		{
			char		a[128],
						b[128];

			if (l->v[t].kind != ONNX_VALUE_TENSOR)
				return onnx_kernel_fail(ctx, ONNX_ERR_RUNTIME,
										"scan output %d is not a tensor in iteration %lld",
										oi, (long long) t);
			return onnx_kernel_fail(ctx, ONNX_ERR_RUNTIME,
									"scan output %d is %s %s in iteration 0 but %s %s in iteration %lld",
									oi, onnx_dtype_name(first->dtype), onnx_shape_text(first, a, sizeof(a)),
									onnx_dtype_name(l->v[t].tensor.dtype),
									onnx_shape_text(&l->v[t].tensor, b, sizeof(b)), (long long) t);
		}
	r = first->rank;
	if (r + 1 > ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "scan output rank exceeds %d", ONNX_MAX_RANK);
	if (!onnx_norm_axis(axis_attr, r + 1, &axis))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "scan output axis %lld is out of range",
								(long long) axis_attr);
	for (int d = 0, k = 0; d <= r; d++)
		dims[d] = d == axis ? n : first->dims[k++];
	for (int d = 0; d < r; d++)
	{
		if (d < axis)
			outer *= first->dims[d];
		else
			inner *= first->dims[d];
	}
	y = onnx_out(ctx, oi, first->dtype, r + 1, dims);
	if (y == NULL)
		return ctx->err->status;
	for (int64_t t = 0; t < n; t++)
	{
		int64_t		p = reverse ? n - 1 - t : t;

		for (int64_t o = 0; o < outer; o++)
			if ((st = onnx_ctl_copy_elems(ctx, y, (o * n + p) * inner, &l->v[t].tensor,
										  o * inner, inner)) != ONNX_OK)
				return st;
	}
	return ONNX_OK;
}

/* ---- If ---- */

static OnnxStatus
check_if(const OnnxNode *n, OnnxError *err)
{
	const OnnxGraph *t = onnx_ctl_graph_attr(n, "then_branch");
	const OnnxGraph *e = onnx_ctl_graph_attr(n, "else_branch");

	if (t == NULL || e == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "If needs the graph attributes then_branch and else_branch");
	if (t->n_inputs || e->n_inputs)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "If branches take no inputs");
	if (t->n_outputs != e->n_outputs || n->n_outputs > t->n_outputs)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "If has %d outputs, its branches %d and %d",
							  n->n_outputs, t->n_outputs, e->n_outputs);
	return ONNX_OK;
}

/* Outputs: what both branches agree on. */
static OnnxStatus
infer_if(OnnxInferCtx *ctx)
{
	const OnnxGraph *t = onnx_ctl_graph_attr(ctx->node, "then_branch");
	const OnnxGraph *e = onnx_ctl_graph_attr(ctx->node, "else_branch");

	for (int i = 0; i < ctx->n_outputs; i++)
	{
		const OnnxValueInfo *a = body_out_info(t, i);
		const OnnxValueInfo *b = body_out_info(e, i);
		OnnxValueInfo *o = ctx->outputs[i];

		if (o == NULL || !onnx_ctl_info_known(a) || !onnx_ctl_info_known(b) ||
			a->kind != b->kind || a->dtype != b->dtype)
			continue;
		onnx_ctl_info_set(o, a);
		if (a->rank != b->rank)
			o->rank = -1;
		for (int d = 0; d < o->rank; d++)
			if (a->dims[d] != b->dims[d])
			{
				o->dims[d] = -1;
				o->dim_params[d] = NULL;
			}
	}
	return ONNX_OK;
}

static OnnxStatus
run_if(OnnxKernelCtx *ctx)
{
	const OnnxGraph *g;
	OnnxValue	few[8];
	OnnxValue  *outs = few;
	OnnxStatus	st;
	bool		cond;

	if (!onnx_ctl_cond(ctx, onnx_in(ctx, 0), "If condition", &cond))
		return ctx->err->status;
	g = onnx_ctl_graph_attr(ctx->node, cond ? "then_branch" : "else_branch");
	if (g->n_outputs <= 8)
		memset(few, 0, sizeof(few));
	else if ((outs = values_alloc(ctx, g->n_outputs)) == NULL)
		return ctx->err->status;
	st = onnx_kernel_run_subgraph(ctx, g, 0, NULL, outs);
	for (int i = 0; st == ONNX_OK && i < g->n_outputs; i++)
	{
		if (i < ctx->n_outputs)
			st = onnx_out_value(ctx, i, &outs[i]);
	}
	release_all(ctx, outs, g->n_outputs);
	return st;
}

/* ---- Loop ---- */

/*
 * Loop (M, cond, v_initial...) -> (v_final..., scan_outputs...); the body
 * (iteration_num, cond, v...) -> (cond, v..., scan_output_items...).
 */
static OnnxStatus
check_loop(const OnnxNode *n, OnnxError *err)
{
	const OnnxGraph *b = onnx_ctl_graph_attr(n, "body");
	int			nv = n->n_inputs - 2;

	if (b == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "Loop needs the graph attribute body");
	if (n->n_inputs < 2)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "Loop takes the inputs M and cond (each may be \"\") first");
	if (b->n_inputs != 2 + nv)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "Loop carries %d values, its body takes %d inputs (expected %d)",
							  nv, b->n_inputs, 2 + nv);
	if (b->n_outputs < 1 + nv || n->n_outputs > b->n_outputs - 1)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "Loop has %d outputs and carries %d values, its body has %d outputs",
							  n->n_outputs, nv, b->n_outputs);
	return ONNX_OK;
}

static OnnxStatus
infer_loop(OnnxInferCtx *ctx)
{
	const OnnxGraph *b = onnx_ctl_graph_attr(ctx->node, "body");
	int			nv = ctx->n_inputs - 2;

	for (int i = 0; i < ctx->n_outputs; i++)
	{
		const OnnxValueInfo *bi = body_out_info(b, 1 + i);
		OnnxValueInfo *o = ctx->outputs[i];

		if (o == NULL)
			continue;
		if (i < nv)
		{
			/* carried: the body's type, else the initial value's */
			if (onnx_ctl_info_known(bi))
				onnx_ctl_info_set(o, bi);
			else if (onnx_ctl_info_known(ctx->inputs[2 + i]))
				onnx_ctl_info_set(o, ctx->inputs[2 + i]);
			continue;
		}
		/* scan output: the items stacked along a new first axis */
		if (bi && bi->kind == ONNX_VALUE_TENSOR && bi->dtype != ONNX_DTYPE_UNDEFINED)
		{
			o->kind = ONNX_VALUE_TENSOR;
			o->dtype = bi->dtype;
			o->rank = bi->rank >= 0 && bi->rank < ONNX_MAX_RANK ? bi->rank + 1 : -1;
			if (o->rank > 0)
			{
				o->dims[0] = -1;
				o->dim_params[0] = NULL;
				for (int d = 0; d < bi->rank; d++)
				{
					o->dims[d + 1] = bi->dims[d];
					o->dim_params[d + 1] = bi->dim_params[d];
				}
			}
		}
	}
	return ONNX_OK;
}

static OnnxStatus
run_loop(OnnxKernelCtx *ctx)
{
	const OnnxGraph *body = onnx_ctl_graph_attr(ctx->node, "body");
	const OnnxTensor *m = onnx_in(ctx, 0);
	const OnnxTensor *c = onnx_in(ctx, 1);
	int			nv = ctx->n_inputs - 2;
	int			nk = body->n_outputs - 1 - nv;
	int64_t		max_trip = INT64_MAX;
	int64_t		iter = 0;
	uint8_t		cond_byte;
	bool		cond = true;
	bool		have = false;
	OnnxValue  *in = NULL,
			   *out = NULL,
			   *cur = NULL;
	OnnxValueList *lists = NULL;
	OnnxStatus	st = ONNX_OK;

	if (m)
	{
		if (m->count != 1 || m->dtype == ONNX_DTYPE_STRING)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Loop trip count must be a tensor of one element");
		max_trip = onnx_tensor_get_i64(m, 0);
	}
	if (c && !onnx_ctl_cond(ctx, c, "Loop condition", &cond))
		return ctx->err->status;
	in = values_alloc(ctx, 2 + nv);
	out = values_alloc(ctx, body->n_outputs);
	cur = values_alloc(ctx, nv);
	lists = lists_alloc(ctx, nk);
	if (!in || !out || !cur || !lists)
		return ctx->err->status;

	/* the body's first two inputs: the iteration number and the condition */
	in[0].kind = ONNX_VALUE_TENSOR;
	in[0].tensor.dtype = ONNX_DTYPE_INT64;
	in[0].tensor.count = 1;
	in[0].tensor.nbytes = sizeof(int64_t);
	in[0].tensor.data = &iter;
	in[1].kind = ONNX_VALUE_TENSOR;
	in[1].tensor.dtype = ONNX_DTYPE_BOOL;
	in[1].tensor.count = 1;
	in[1].tensor.nbytes = 1;
	in[1].tensor.data = &cond_byte;

	while (iter < max_trip && cond)
	{
		/* every iteration, even of a body without nodes */
		if ((st = onnx_ctl_check_abort(ctx)) != ONNX_OK)
			goto done;
		cond_byte = 1;
		for (int i = 0; i < nv; i++)
		{
			const OnnxValue *init = ctx->inputs[2 + i];

			if (have)
				in[2 + i] = cur[i];
			else if (init)
				in[2 + i] = *init;
			else
				memset(&in[2 + i], 0, sizeof(OnnxValue));
		}
		memset(out, 0, sizeof(OnnxValue) * (size_t) body->n_outputs);
		if ((st = onnx_kernel_run_subgraph(ctx, body, 2 + nv, in, out)) != ONNX_OK)
			goto done;
		/* without a condition input, the body's condition is ignored */
		if (c && !onnx_ctl_cond(ctx, out[0].kind == ONNX_VALUE_TENSOR ? &out[0].tensor : NULL,
								"Loop body condition output", &cond))
		{
			st = ctx->err->status;
			goto done;
		}
		onnx_kernel_release(ctx, &out[0]);
		for (int i = 0; i < nv; i++)
		{
			if (have)
				onnx_ctl_drop(ctx, &cur[i]);
			cur[i] = out[1 + i];
			memset(&out[1 + i], 0, sizeof(OnnxValue));
		}
		have = true;
		for (int i = 0; i < nv; i++)
			if ((st = onnx_kernel_charge(ctx, &cur[i])) != ONNX_OK)
			{
				/* the uncharged ones must not be uncharged at the end */
				for (int k = i; k < nv; k++)
					onnx_kernel_release(ctx, &cur[k]);
				goto done;
			}
		for (int k = 0; k < nk; k++)
			if ((st = onnx_ctl_list_push(ctx, &lists[k], &out[1 + nv + k])) != ONNX_OK)
				goto done;
		iter++;
	}

	/* final values: the last iteration's, or the initial ones */
	for (int i = 0; i < nv && i < ctx->n_outputs; i++)
	{
		if (have)
			st = emit(ctx, i, &cur[i]);
		else if (ctx->inputs[2 + i])
		{
			OnnxValue	copy;

			if ((st = onnx_value_copy(&copy, ctx->inputs[2 + i], onnx_kernel_allocator(ctx),
									  ctx->err)) == ONNX_OK)
				st = onnx_out_value(ctx, i, &copy);
		}
		if (st != ONNX_OK)
			goto done;
	}
	for (int k = 0; k < nk && nv + k < ctx->n_outputs; k++)
	{
		if ((st = stack_output(ctx, nv + k, &lists[k], 0, false,
							   body_out_info(body, 1 + nv + k))) != ONNX_OK)
			goto done;
		onnx_ctl_list_free(ctx, &lists[k]);
	}

done:
	release_all(ctx, out, body->n_outputs);
	if (have)
		for (int i = 0; i < nv; i++)
			onnx_ctl_drop(ctx, &cur[i]);
	for (int k = 0; k < nk; k++)
			onnx_ctl_list_free(ctx, &lists[k]);
	return st;
}

/* ---- Scan ---- */

/* One run of a Scan body over a sequence. */
typedef struct ScanRun
{
	const OnnxGraph *body;
	int			n_state;
	int			n_in;			/* scan inputs */
	int			n_out;			/* scan outputs */
	const OnnxValue *state0;	/* n_state initial values (borrowed) */
	const OnnxTensor **xs;		/* n_in scan inputs */
	const int  *axes;			/* their scan axes (normalised) */
	const bool *rev;			/* read backwards */
	int64_t		len;			/* iterations */
	OnnxValue  *in;				/* n_state + n_in body inputs (scratch) */
	OnnxValue  *out;			/* the body's outputs (scratch) */
} ScanRun;

/*
 * Row idx of x (dims[0] > idx) along axis 0 as a view into x's data, for
 * a Scan body input: no copy, not owned (never released), valid while x
 * is.  The body only reads its inputs and hands out copies of them.
 */
static void
row_view(const OnnxTensor *x, int64_t idx, OnnxValue *out)
{
	int64_t		inner = x->count / x->dims[0];
	size_t		es = onnx_dtype_size(x->dtype);

	memset(out, 0, sizeof(*out));
	out->kind = ONNX_VALUE_TENSOR;
	out->tensor.dtype = x->dtype;
	out->tensor.rank = x->rank - 1;
	for (int d = 1; d < x->rank; d++)
		out->tensor.dims[d - 1] = x->dims[d];
	out->tensor.count = inner;
	out->tensor.nbytes = (size_t) inner * es;
	out->tensor.data = (char *) x->data + (size_t) (idx * inner) * es;
}

/* Whether Scan reads input j of sr as row views (axis 0, not strings). */
#define SCAN_VIEWS(sr, j) ((sr)->axes[j] == 0 && (sr)->xs[j]->dtype != ONNX_DTYPE_STRING)

/* Release the scan input slices of one iteration (views are only forgotten). */
static void
release_slices(OnnxKernelCtx *ctx, const ScanRun *sr, OnnxValue *slices)
{
	for (int j = 0; j < sr->n_in; j++)
	{
		if (SCAN_VIEWS(sr, j))
			memset(&slices[j], 0, sizeof(OnnxValue));
		else
			onnx_kernel_release(ctx, &slices[j]);
	}
}

/*
 * Run the body len times.  states (n_state values) receive the final
 * state and lists (n_out) the scan output items, both charged and owned
 * by the kernel, also on failure (release with onnx_ctl_drop and
 * onnx_ctl_list_free).
 */
static OnnxStatus
scan_iterate(OnnxKernelCtx *ctx, const ScanRun *sr, OnnxValue *states, OnnxValueList *lists)
{
	int			nin = sr->n_state + sr->n_in;
	int			nout = sr->body->n_outputs;
	OnnxValue  *in = sr->in;
	OnnxValue  *out = sr->out;
	bool		have = false;
	OnnxStatus	st = ONNX_OK;

	memset(in, 0, sizeof(OnnxValue) * (size_t) nin);
	memset(out, 0, sizeof(OnnxValue) * (size_t) nout);
	for (int64_t t = 0; t < sr->len; t++)
	{
		if ((st = onnx_ctl_check_abort(ctx)) != ONNX_OK)
			goto done;
		for (int i = 0; i < sr->n_state; i++)
			in[i] = have ? states[i] : sr->state0[i];
		for (int j = 0; j < sr->n_in; j++)
		{
			int64_t		idx = sr->rev[j] ? sr->len - 1 - t : t;

			if (SCAN_VIEWS(sr, j))
				row_view(sr->xs[j], idx, &in[sr->n_state + j]);
			else if ((st = take_slice(ctx, sr->xs[j], sr->axes[j], idx,
									  &in[sr->n_state + j])) != ONNX_OK)
				goto done;
		}
		memset(out, 0, sizeof(OnnxValue) * (size_t) nout);
		st = onnx_kernel_run_subgraph(ctx, sr->body, nin, in, out);
		release_slices(ctx, sr, in + sr->n_state);
		if (st != ONNX_OK)
			goto done;
		for (int i = 0; i < sr->n_state; i++)
		{
			if (have)
				onnx_ctl_drop(ctx, &states[i]);
			states[i] = out[i];
			memset(&out[i], 0, sizeof(OnnxValue));
		}
		have = true;
		for (int i = 0; i < sr->n_state; i++)
			if ((st = onnx_kernel_charge(ctx, &states[i])) != ONNX_OK)
			{
				for (int k = i; k < sr->n_state; k++)
					onnx_kernel_release(ctx, &states[k]);
				goto done;
			}
		for (int k = 0; k < sr->n_out; k++)
			if ((st = onnx_ctl_list_push(ctx, &lists[k], &out[sr->n_state + k])) != ONNX_OK)
				goto done;
	}
	if (!have)
		for (int i = 0; i < sr->n_state; i++)
		{
			if ((st = onnx_value_copy(&states[i], &sr->state0[i], onnx_kernel_allocator(ctx),
									  ctx->err)) != ONNX_OK)
				goto done;
			if ((st = onnx_kernel_charge(ctx, &states[i])) != ONNX_OK)
			{
				onnx_kernel_release(ctx, &states[i]);
				goto done;
			}
		}
done:
	release_slices(ctx, sr, in + sr->n_state);
	release_all(ctx, out, nout);
	return st;
}

/* ints attribute name: n values (default dflt), each within [-range, range). */
static OnnxStatus
scan_ints(OnnxKernelCtx *ctx, const char *name, int n, int64_t *out, int64_t dflt)
{
	const int64_t *v;
	int			k = onnx_attr_ints(ctx->node, name, &v);

	if (k != 0 && k != n)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL,
								"Scan attribute %s has %d values, expected %d", name, k, n);
	for (int i = 0; i < n; i++)
		out[i] = k ? v[i] : dflt;
	return ONNX_OK;
}

static OnnxStatus
check_scan(const OnnxNode *n, OnnxError *err)
{
	const OnnxGraph *b = onnx_ctl_graph_attr(n, "body");
	int64_t		m = onnx_attr_int(n, "num_scan_inputs", -1);
	int			lens = n->opset < 9 ? 1 : 0;	/* Scan 8: sequence_lens first */
	int			ns;

	if (b == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "Scan needs the graph attribute body");
	if (m < 1 || m > n->n_inputs - lens)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "Scan num_scan_inputs %lld is out of range", (long long) m);
	if (m > ONNX_MAX_RANK * 64)
		return onnx_error_set(err, ONNX_ERR_LIMIT, "Scan has too many scan inputs");
	ns = n->n_inputs - lens - (int) m;
	if (b->n_inputs != ns + m)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "Scan body takes %d inputs, expected %d", b->n_inputs, ns + (int) m);
	if (b->n_outputs < ns || n->n_outputs > b->n_outputs)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "Scan has %d outputs and %d state values, its body %d outputs",
							  n->n_outputs, ns, b->n_outputs);
	return ONNX_OK;
}

static OnnxStatus
infer_scan(OnnxInferCtx *ctx)
{
	const OnnxGraph *b = onnx_ctl_graph_attr(ctx->node, "body");
	int			lens = ctx->node->opset < 9 ? 1 : 0;
	int			ns = ctx->n_inputs - lens - (int) onnx_attr_int(ctx->node, "num_scan_inputs", 0);
	const int64_t *axes;
	int			n_axes = onnx_attr_ints(ctx->node, "scan_output_axes", &axes);

	for (int i = 0; i < ctx->n_outputs; i++)
	{
		const OnnxValueInfo *bi = body_out_info(b, i);
		OnnxValueInfo *o = ctx->outputs[i];
		int			axis = 0;

		if (o == NULL || bi == NULL || bi->kind != ONNX_VALUE_TENSOR ||
			bi->dtype == ONNX_DTYPE_UNDEFINED)
			continue;
		o->kind = ONNX_VALUE_TENSOR;
		o->dtype = bi->dtype;
		if (i < ns && !lens)
		{
			onnx_info_copy_shape(o, bi);
			continue;
		}
		/* Scan 8: a batch axis first, and a sequence axis after it */
		if (bi->rank < 0 || bi->rank + 1 + (lens && i >= ns) > ONNX_MAX_RANK)
		{
			o->rank = -1;
			continue;
		}
		if (lens)
			axis = i >= ns ? 1 : 0;
		else if (i - ns < n_axes && !onnx_norm_axis(axes[i - ns], bi->rank + 1, &axis))
			continue;
		o->rank = bi->rank + 1 + (lens && i >= ns);
		for (int d = 0, k = 0; d < o->rank; d++)
		{
			bool		fresh = d == axis || (lens && i >= ns && d == 0);

			o->dims[d] = fresh ? -1 : bi->dims[k];
			o->dim_params[d] = fresh ? NULL : bi->dim_params[k];
			if (!fresh)
				k++;
		}
	}
	return ONNX_OK;
}

/* Scan 9 and later: no batch axis, axes and directions per input/output. */
static OnnxStatus
run_scan9(OnnxKernelCtx *ctx)
{
	const OnnxGraph *body = onnx_ctl_graph_attr(ctx->node, "body");
	int			m = (int) onnx_attr_int(ctx->node, "num_scan_inputs", 1);
	int			ns = ctx->n_inputs - m;
	int			nk = body->n_outputs - ns;
	int64_t    *ia = onnx_kernel_scratch(ctx, (size_t) (2 * m + 2 * nk) + 1, sizeof(int64_t));
	int64_t    *id = ia ? ia + m : NULL;
	int64_t    *oa = ia ? ia + 2 * m : NULL;
	int64_t    *od = ia ? ia + 2 * m + nk : NULL;
	int		   *axes = onnx_kernel_scratch(ctx, (size_t) m + 1, sizeof(int));
	bool	   *rev = onnx_kernel_scratch(ctx, (size_t) m + 1, sizeof(bool));
	const OnnxTensor **xs = onnx_kernel_scratch(ctx, (size_t) m + 1, sizeof(OnnxTensor *));
	OnnxValue  *state0 = values_alloc(ctx, ns);
	OnnxValue  *states = values_alloc(ctx, ns);
	OnnxValueList *lists = lists_alloc(ctx, nk);
	ScanRun		sr;
	OnnxStatus	st = ONNX_OK;
	bool		ran = false;

	memset(&sr, 0, sizeof(sr));
	if (!ia || !axes || !rev || !xs || !state0 || !states || !lists ||
		(sr.in = values_alloc(ctx, ns + m)) == NULL ||
		(sr.out = values_alloc(ctx, body->n_outputs)) == NULL)
		return ctx->err->status;
	if ((st = scan_ints(ctx, "scan_input_axes", m, ia, 0)) != ONNX_OK ||
		(st = scan_ints(ctx, "scan_input_directions", m, id, 0)) != ONNX_OK ||
		(st = scan_ints(ctx, "scan_output_axes", nk, oa, 0)) != ONNX_OK ||
		(st = scan_ints(ctx, "scan_output_directions", nk, od, 0)) != ONNX_OK)
		goto done;
	for (int j = 0; j < m; j++)
	{
		xs[j] = onnx_in(ctx, ns + j);
		if (xs[j] == NULL || xs[j]->rank < 1)
		{
			st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								  "Scan input %d must be a tensor of rank 1 or more", ns + j);
			goto done;
		}
		if (!onnx_norm_axis(ia[j], xs[j]->rank, &axes[j]))
		{
			st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								  "Scan input axis %lld is out of range for rank %d",
								  (long long) ia[j], xs[j]->rank);
			goto done;
		}
		rev[j] = id[j] != 0;
		if (j == 0)
			sr.len = xs[j]->dims[axes[j]];
		else if (xs[j]->dims[axes[j]] != sr.len)
		{
			st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								  "Scan inputs have sequence lengths %lld and %lld",
								  (long long) sr.len, (long long) xs[j]->dims[axes[j]]);
			goto done;
		}
	}
	for (int i = 0; i < ns; i++)
		if (ctx->inputs[i])
			state0[i] = *ctx->inputs[i];
	sr.body = body;
	sr.n_state = ns;
	sr.n_in = m;
	sr.n_out = nk;
	sr.state0 = state0;
	sr.xs = xs;
	sr.axes = axes;
	sr.rev = rev;
	ran = true;
	if ((st = scan_iterate(ctx, &sr, states, lists)) != ONNX_OK)
		goto done;
	for (int i = 0; i < ns && st == ONNX_OK; i++)
		st = emit(ctx, i, &states[i]);
	for (int k = 0; k < nk && st == ONNX_OK; k++)
		st = stack_output(ctx, ns + k, &lists[k], oa[k], od[k] != 0, body_out_info(body, ns + k));
done:
	if (ran)
		for (int i = 0; i < ns; i++)
			onnx_ctl_drop(ctx, &states[i]);
	for (int k = 0; k < nk; k++)
		onnx_ctl_list_free(ctx, &lists[k]);
	return st;
}

/*
 * Scan 8: (sequence_lens, states..., inputs...), every tensor with a batch
 * axis first and the inputs' sequence axis second; each batch entry runs
 * the body over its own length, shorter scan outputs padded with zeros.
 */
static OnnxStatus
run_scan8(OnnxKernelCtx *ctx)
{
	const OnnxGraph *body = onnx_ctl_graph_attr(ctx->node, "body");
	const OnnxTensor *lens = onnx_in(ctx, 0);
	int			m = (int) onnx_attr_int(ctx->node, "num_scan_inputs", 1);
	int			ns = ctx->n_inputs - 1 - m;
	int			nk = body->n_outputs - ns;
	int			nall = ns + m;
	int64_t    *dirs = onnx_kernel_scratch(ctx, (size_t) m + 1, sizeof(int64_t));
	int		   *axes = onnx_kernel_scratch(ctx, (size_t) m + 1, sizeof(int));
	bool	   *rev = onnx_kernel_scratch(ctx, (size_t) m + 1, sizeof(bool));
	const OnnxTensor **xs = onnx_kernel_scratch(ctx, (size_t) m + 1, sizeof(OnnxTensor *));
	OnnxValue  *slices = values_alloc(ctx, nall);	/* this batch entry's inputs */
	OnnxValue  *states = values_alloc(ctx, ns);
	OnnxTensor **ys = onnx_kernel_scratch_zero(ctx, (size_t) (ns + nk) + 1, sizeof(OnnxTensor *));
	OnnxValueList *lists = lists_alloc(ctx, nk);
	int64_t		batch = -1,
				max_len = -1;
	OnnxStatus	st = ONNX_OK;
	ScanRun		sr;

	memset(&sr, 0, sizeof(sr));
	if (!dirs || !axes || !rev || !xs || !slices || !states || !ys || !lists ||
		(sr.in = values_alloc(ctx, nall)) == NULL ||
		(sr.out = values_alloc(ctx, body->n_outputs)) == NULL)
		return ctx->err->status;
	if ((st = scan_ints(ctx, "directions", m, dirs, 0)) != ONNX_OK)
		goto done;
	for (int i = 0; i < nall; i++)
	{
		const OnnxTensor *t = onnx_in(ctx, 1 + i);

		if (t == NULL || t->rank < (i < ns ? 1 : 2) ||
			(batch >= 0 && t->dims[0] != batch) ||
			(i >= ns && max_len >= 0 && t->dims[1] != max_len))
		{
			st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								  "Scan input %d must be a tensor with the batch axis (and for scan inputs the sequence axis) of the others",
								  1 + i);
			goto done;
		}
		batch = t->dims[0];
		if (i >= ns)
		{
			max_len = t->dims[1];
			xs[i - ns] = NULL;
			axes[i - ns] = 0;
			rev[i - ns] = dirs[i - ns] != 0;
		}
	}
	if (lens && (lens->count != batch || lens->dtype == ONNX_DTYPE_STRING))
	{
		st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
							  "Scan sequence_lens must have one length per batch entry");
		goto done;
	}
	sr.body = body;
	sr.n_state = ns;
	sr.n_in = m;
	sr.n_out = nk;
	sr.state0 = slices;
	sr.xs = xs;
	sr.axes = axes;
	sr.rev = rev;
	for (int64_t b = 0; b < batch; b++)
	{
		sr.len = lens ? onnx_tensor_get_i64(lens, b) : max_len;
		if (sr.len < 0 || sr.len > max_len)
		{
			st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								  "Scan sequence length %lld is out of range", (long long) sr.len);
			goto done;
		}
		for (int i = 0; i < nall; i++)
			if ((st = take_slice(ctx, onnx_in(ctx, 1 + i), 0, b, &slices[i])) != ONNX_OK)
				goto done;
		for (int j = 0; j < m; j++)
			xs[j] = &slices[ns + j].tensor;
		st = scan_iterate(ctx, &sr, states, lists);
		release_all(ctx, slices, nall);
		if (st != ONNX_OK)
			goto done;
		/* final states into [batch, ...] */
		for (int i = 0; i < ns && i < ctx->n_outputs; i++)
		{
			const OnnxTensor *s = &states[i].tensor;
			int64_t		dims[ONNX_MAX_RANK];

			if (states[i].kind != ONNX_VALUE_TENSOR || s->rank + 1 > ONNX_MAX_RANK ||
				(ys[i] && (ys[i]->dtype != s->dtype || ys[i]->count != batch * s->count)))
			{
				st = onnx_kernel_fail(ctx, ONNX_ERR_RUNTIME,
									  "Scan state %d changes type or shape across the batch", i);
				goto done;
			}
			if (ys[i] == NULL)
			{
				dims[0] = batch;
				memcpy(dims + 1, s->dims, sizeof(int64_t) * (size_t) s->rank);
				if ((ys[i] = onnx_out(ctx, i, s->dtype, s->rank + 1, dims)) == NULL)
				{
					st = ctx->err->status;
					goto done;
				}
			}
			if ((st = onnx_ctl_copy_elems(ctx, ys[i], b * s->count, s, 0, s->count)) != ONNX_OK)
				goto done;
		}
		/* scan outputs into [batch, max_len, ...] */
		for (int k = 0; k < nk && ns + k < ctx->n_outputs; k++)
			for (int64_t t = 0; t < lists[k].n; t++)
			{
				const OnnxTensor *s = &lists[k].v[t].tensor;
				OnnxTensor *y = ys[ns + k];
				int64_t		dims[ONNX_MAX_RANK];

				if (lists[k].v[t].kind != ONNX_VALUE_TENSOR || s->rank + 2 > ONNX_MAX_RANK ||
					(y && (y->dtype != s->dtype || y->count != batch * max_len * s->count)))
				{
					st = onnx_kernel_fail(ctx, ONNX_ERR_RUNTIME,
										  "Scan output %d changes type or shape", ns + k);
					goto done;
				}
				if (y == NULL)
				{
					dims[0] = batch;
					dims[1] = max_len;
					memcpy(dims + 2, s->dims, sizeof(int64_t) * (size_t) s->rank);
					if ((y = ys[ns + k] = onnx_out(ctx, ns + k, s->dtype, s->rank + 2, dims)) == NULL)
					{
						st = ctx->err->status;
						goto done;
					}
				}
				if ((st = onnx_ctl_copy_elems(ctx, y, (b * max_len + t) * s->count, s, 0,
											  s->count)) != ONNX_OK)
					goto done;
			}
		for (int i = 0; i < ns; i++)
			onnx_ctl_drop(ctx, &states[i]);
		for (int k = 0; k < nk; k++)
			onnx_ctl_list_free(ctx, &lists[k]);
	}
	/* outputs no batch entry produced (no batch, or no iteration) */
	for (int i = 0; i < ns + nk && i < ctx->n_outputs; i++)
		if (ys[i] == NULL)
		{
			const OnnxValueInfo *bi = body_out_info(body, i);
			int64_t		dims[2] = {batch < 0 ? 0 : batch, max_len < 0 ? 0 : max_len};

			if (onnx_out(ctx, i, bi && bi->dtype != ONNX_DTYPE_UNDEFINED ? bi->dtype : ONNX_DTYPE_FLOAT,
						 i < ns ? 1 : 2, dims) == NULL)
			{
				st = ctx->err->status;
				goto done;
			}
		}
done:
	release_all(ctx, slices, nall);
	for (int i = 0; i < ns; i++)
		onnx_ctl_drop(ctx, &states[i]);
	for (int k = 0; k < nk; k++)
		onnx_ctl_list_free(ctx, &lists[k]);
	return st;
}

static const OnnxAttrSpec if_attrs[] = {
	{"then_branch", ONNX_ATTR_GRAPH}, {"else_branch", ONNX_ATTR_GRAPH}, {0}
};
static const OnnxAttrSpec loop_attrs[] = {{"body", ONNX_ATTR_GRAPH}, {0}};
static const OnnxAttrSpec scan8_attrs[] = {
	{"body", ONNX_ATTR_GRAPH}, {"num_scan_inputs", ONNX_ATTR_INT}, {"directions", ONNX_ATTR_INTS}, {0}
};
static const OnnxAttrSpec scan_attrs[] = {
	{"body", ONNX_ATTR_GRAPH}, {"num_scan_inputs", ONNX_ATTR_INT},
	{"scan_input_axes", ONNX_ATTR_INTS}, {"scan_input_directions", ONNX_ATTR_INTS},
	{"scan_output_axes", ONNX_ATTR_INTS}, {"scan_output_directions", ONNX_ATTR_INTS}, {0}
};

#define IF(v) \
	ONNX_OP("", "If", v, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, -1), .input0_types = ONNX_TS_ANY, \
		.out_type = ONNX_OUT_CUSTOM, .check = check_if, .infer = infer_if, .run = run_if, \
		.attrs = if_attrs)
/* Loop's M and cond, and Scan 8's sequence_lens, may be "" (absent): checked in check_* */
#define LOOP(v) \
	ONNX_OP("", "Loop", v, ONNX_INPUTS(0, -1), ONNX_OUTPUTS(1, -1), .input0_types = ONNX_TS_ANY, \
		.out_type = ONNX_OUT_CUSTOM, .check = check_loop, .infer = infer_loop, .run = run_loop, \
		.attrs = loop_attrs)
#define SCAN(v) \
	ONNX_OP("", "Scan", v, ONNX_INPUTS(1, -1), ONNX_OUTPUTS(1, -1), .input0_types = ONNX_TS_ANY, \
		.out_type = ONNX_OUT_CUSTOM, .check = check_scan, .infer = infer_scan, .run = run_scan9, \
		.attrs = scan_attrs)

const OnnxOpDef onnx_ops_control[] = {
	IF(1), IF(11), IF(13), IF(16), IF(19), IF(21), IF(23), IF(24), IF(25),
	LOOP(1), LOOP(11), LOOP(13), LOOP(16), LOOP(19), LOOP(21), LOOP(23), LOOP(24), LOOP(25),
	ONNX_OP("", "Scan", 8, ONNX_INPUTS(0, -1), ONNX_OUTPUTS(1, -1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_CUSTOM, .check = check_scan, .infer = infer_scan, .run = run_scan8,
		.attrs = scan8_attrs),
	SCAN(9), SCAN(11), SCAN(16), SCAN(19), SCAN(21), SCAN(23), SCAN(24), SCAN(25),
	{0}
};
