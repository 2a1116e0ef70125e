/*-------------------------------------------------------------------------
 *
 * session.c
 *	  Sessions and the executor.
 *
 * A run executes the graph's nodes in topological order inside a frame
 * that holds one value per graph value.  Ownership follows the one rule
 * of engine_internal.h: inputs and initializers are borrowed; node
 * outputs are the frame's, freed after their last reader (graph outputs
 * excepted), their buffers going back to the session's pool
 * (buffer_pool.c) for reuse; a kernel's scratch is the node's, released
 * when the kernel returns (scratch.c).  Subgraphs (If, Loop, Scan)
 * run in child frames that see their parents' values.  On any failure the
 * frame frees everything and the caller gets no output.
 *
 * Per-node costs are kept small: a graph's value slots are allocated once
 * per session and left empty between runs, initializers are read where
 * they are, and Identity, Reshape, Flatten, Squeeze and Unsqueeze pass
 * their input's buffer on (onnx_out_alias) instead of copying it: they
 * take it over when their input dies with them, or borrow it when it
 * lives for the whole run (a view, which the frame never frees and hands
 * out only as a copy).
 *
 * Threading: one thread runs a session at a time; only the abort callback
 * is called back, on that thread.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "buffer_pool.h"
#include "engine_internal.h"
#include "profile.h"
#include "scratch.h"

/* What a frame does with a value slot at the end of the run. */
enum
{
	SLOT_BORROWED = 0,			/* empty, or not the frame's (inputs, initializers) */
	SLOT_OWNED = 1,				/* the frame frees it */
	SLOT_VIEW = 2,				/* borrows a buffer that lives for the whole run */
	SLOT_PART = 3				/* a slice of a Concat's output (concat_plan.c):
								 * never freed, never lent further */
};

/*
 * A graph's value slots, kept by the session between runs (one graph runs
 * at most once at a time: a subgraph never contains itself).  Idle slots
 * are all empty, so a run starts without clearing them.
 */
typedef struct FrameSlots
{
	OnnxValue  *vals;			/* n_values */
	uint8_t    *state;			/* n_values, SLOT_* */
	bool		busy;
} FrameSlots;

struct OnnxSession
{
	const OnnxModel *model;
	OnnxSessionOptions opts;
	const OnnxAllocator *alloc;
	size_t		live_bytes;		/* bytes of tensors owned by running frames */
	OnnxBufferPool pool;
	OnnxScratch scratch;		/* kernels' per-node memory (scratch.c) */
	FrameSlots *frames;			/* model->n_graphs, by OnnxGraph.id */
	size_t		frame_bytes;
	OnnxProfile *profile;		/* per-op times; set while opts.profile is on */
};

typedef struct OnnxFrame
{
	const OnnxGraph *g;
	struct OnnxFrame *parent;
	OnnxValue  *vals;			/* n_values; initializers are read from the graph */
	uint8_t    *state;			/* n_values, SLOT_* */
	FrameSlots *slots;			/* where vals come from; NULL: allocated for this frame */
} OnnxFrame;

/* ---- buffers ---- */

#define buffer_get(s, size) onnx_pool_get(&(s)->pool, (size))
#define buffer_put(s, p, size) onnx_pool_put(&(s)->pool, (p), (size))

/*
 * Bytes a value holds: tensor data, and for a sequence, map or optional
 * its items and their descriptors (a sequence of a million scalars is
 * mostly descriptors).  What live_bytes counts for it.
 */
size_t
onnx_value_bytes(const OnnxValue *v)
{
	size_t		n = (v->kind == ONNX_VALUE_TENSOR || v->kind == ONNX_VALUE_MAP) ?
		v->tensor.nbytes : 0;

	n += sizeof(OnnxValue) * (size_t) (v->n_items > 0 ? v->n_items : 0);
	for (int i = 0; i < v->n_items; i++)
		n += onnx_value_bytes(&v->items[i]);
	return n;
}

#define value_bytes onnx_value_bytes

static void
live_sub(OnnxSession *s, size_t n)
{
	s->live_bytes = s->live_bytes >= n ? s->live_bytes - n : 0;
}

/*
 * Free value v, a tensor's buffer going back to the pool; no accounting.
 * Empty is kind NONE: the other fields are rewritten whole by whoever
 * fills the value next.
 */
static void
value_release_to_pool(OnnxSession *s, OnnxValue *v)
{
	if (v->kind == ONNX_VALUE_TENSOR && v->tensor.dtype != ONNX_DTYPE_STRING &&
		v->tensor.data && v->n_items == 0)
	{
		buffer_put(s, v->tensor.data, v->tensor.nbytes ? v->tensor.nbytes : 1);
		v->kind = ONNX_VALUE_NONE;
		v->tensor.data = NULL;
		return;
	}
	onnx_value_release(s->alloc, v);
}

/* Release a frame-owned value (counted in live_bytes) into the pool. */
static void
frame_value_release(OnnxSession *s, OnnxValue *v)
{
	live_sub(s, value_bytes(v));
	value_release_to_pool(s, v);
}

void
onnx_kernel_release(OnnxKernelCtx *ctx, OnnxValue *v)
{
	value_release_to_pool(ctx->session, v);
}

/* ---- sessions ---- */

OnnxStatus
onnx_session_create(const OnnxModel *model, const OnnxSessionOptions *opts,
					OnnxSession **session, OnnxError *err)
{
	OnnxSession *s;
	const OnnxAllocator *alloc;

	onnx_error_clear(err);
	*session = NULL;
	if (model == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_ARGUMENT, "no model");
	if (opts && opts->device == ONNX_DEVICE_CUDA)
	{
		char		why[200];

		if (!onnx_cuda_available(why, sizeof(why)))
			return onnx_error_set(err, ONNX_ERR_DEVICE, "CUDA is not available: %s", why);
	}
	alloc = opts && opts->alloc ? opts->alloc : model->alloc;
	s = alloc->alloc(alloc->ctx, sizeof(OnnxSession));
	if (s == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory creating a session");
	memset(s, 0, sizeof(*s));
	s->frames = alloc->alloc(alloc->ctx, sizeof(FrameSlots) * (size_t) (model->n_graphs + 1));
	if (s->frames == NULL)
	{
		alloc->free(alloc->ctx, s);
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory creating a session");
	}
	memset(s->frames, 0, sizeof(FrameSlots) * (size_t) (model->n_graphs + 1));
	s->model = model;
	s->alloc = alloc;
	onnx_pool_init(&s->pool, s->alloc);
	onnx_scratch_init(&s->scratch, s->alloc);
	if (opts)
		s->opts = *opts;
	if (s->opts.threads <= 0)
		s->opts.threads = 1;
	if (s->opts.profile)
	{
		OnnxStatus	st = onnx_profile_create(model, s->alloc, &s->profile, err);

		if (st != ONNX_OK)
		{
			s->alloc->free(s->alloc->ctx, s->frames);
			s->alloc->free(s->alloc->ctx, s);
			return st;
		}
	}
	*session = s;
	return ONNX_OK;
}

void
onnx_session_free(OnnxSession *session)
{
	if (session == NULL)
		return;
	onnx_pool_free_all(&session->pool);
	onnx_scratch_free_all(&session->scratch);
	for (int i = 0; i <= session->model->n_graphs; i++)
	{
		session->alloc->free(session->alloc->ctx, session->frames[i].vals);
		session->alloc->free(session->alloc->ctx, session->frames[i].state);
	}
	session->alloc->free(session->alloc->ctx, session->frames);
	onnx_profile_free(session->profile, session->alloc);
	session->alloc->free(session->alloc->ctx, session);
}

size_t
onnx_session_bytes(const OnnxSession *session)
{
	return sizeof(*session) + session->pool.bytes + session->scratch.held +
		session->frame_bytes +
		session->model->arena.total + session->model->folded_bytes;
}

size_t
onnx_session_pool_bytes(const OnnxSession *session)
{
	return session->pool.bytes + session->scratch.held;
}

void
onnx_session_trim(OnnxSession *session, size_t keep_bytes)
{
	OnnxScratch *scr = &session->scratch;

	/* scratch chunks go whole, and only between runs */
	if (scr->used == 0 && scr->held > keep_bytes)
		onnx_scratch_free_all(scr);
	onnx_pool_trim(&session->pool, keep_bytes - (scr->held < keep_bytes ? scr->held : keep_bytes));
}

/* ---- frames ---- */

/*
 * Start frame f for graph g: the session's idle slots for g, or new ones
 * when they are busy (not expected: a graph never runs inside itself).
 */
static OnnxStatus
frame_init(OnnxSession *s, OnnxFrame *f, const OnnxGraph *g, OnnxFrame *parent,
		   OnnxError *err)
{
	size_t		n = (size_t) g->n_values + 1;
	FrameSlots *fs = (g->id >= 0 && g->id <= s->model->n_graphs) ? &s->frames[g->id] : NULL;

	f->g = g;
	f->parent = parent;
	f->slots = NULL;
	if (fs && !fs->busy)
	{
		if (fs->vals == NULL)
		{
			fs->vals = s->alloc->alloc(s->alloc->ctx, sizeof(OnnxValue) * n);
			fs->state = s->alloc->alloc(s->alloc->ctx, n);
			if (!fs->vals || !fs->state)
			{
				s->alloc->free(s->alloc->ctx, fs->vals);
				s->alloc->free(s->alloc->ctx, fs->state);
				fs->vals = NULL;
				fs->state = NULL;
				return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory starting a run");
			}
			memset(fs->vals, 0, sizeof(OnnxValue) * n);
			memset(fs->state, 0, n);
			s->frame_bytes += (sizeof(OnnxValue) + 1) * n;
		}
		fs->busy = true;
		f->slots = fs;
		f->vals = fs->vals;
		f->state = fs->state;
		return ONNX_OK;
	}
	f->vals = s->alloc->alloc(s->alloc->ctx, sizeof(OnnxValue) * n);
	f->state = s->alloc->alloc(s->alloc->ctx, n);
	if (!f->vals || !f->state)
	{
		s->alloc->free(s->alloc->ctx, f->vals);
		s->alloc->free(s->alloc->ctx, f->state);
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory starting a run");
	}
	memset(f->vals, 0, sizeof(OnnxValue) * n);
	memset(f->state, 0, n);
	return ONNX_OK;
}

/* Release what the frame owns and leave its slots empty (and idle). */
static void
frame_free(OnnxSession *s, OnnxFrame *f)
{
	for (int i = 0; i < f->g->n_values; i++)
	{
		if (f->state[i] == SLOT_OWNED)
			frame_value_release(s, &f->vals[i]);
		else
			f->vals[i].kind = ONNX_VALUE_NONE;	/* empty; refilled whole */
		f->state[i] = SLOT_BORROWED;
	}
	if (f->slots)
		f->slots->busy = false;
	else
	{
		s->alloc->free(s->alloc->ctx, f->vals);
		s->alloc->free(s->alloc->ctx, f->state);
	}
}

/*
 * The value of id in frame f: captures follow to the enclosing frames,
 * initializers are read from the graph unless the caller overrode them.
 */
static OnnxValue *
frame_get(OnnxFrame *f, int id)
{
	const OnnxValueSlot *v = &f->g->values[id];

	if (v->source == ONNX_SRC_OUTER)
	{
		OnnxFrame  *p = f;

		for (int k = 0; k < v->outer_depth && p; k++)
			p = p->parent;
		if (p == NULL)
			return NULL;
		return frame_get(p, v->outer_id);
	}
	if (v->source == ONNX_SRC_INITIALIZER && f->vals[id].kind == ONNX_VALUE_NONE)
		return v->init;
	return &f->vals[id];
}

/* ---- kernel helpers ---- */

const OnnxTensor *
onnx_in(OnnxKernelCtx *ctx, int i)
{
	if (i < 0 || i >= ctx->n_inputs || ctx->inputs[i] == NULL ||
		ctx->inputs[i]->kind != ONNX_VALUE_TENSOR)
		return NULL;
	return &ctx->inputs[i]->tensor;
}

/*
 * Whether bytes more than the session holds now (values of running frames
 * and the scratch in use) would pass its memory limit.
 */
static bool
over_memory_limit(const OnnxSession *s, size_t bytes)
{
	size_t		held = s->live_bytes + s->scratch.used;

	return s->opts.max_memory &&
		(bytes > s->opts.max_memory || held > s->opts.max_memory - bytes);
}

#define BIT(i) (UINT64_C(1) << (i))

/* Empty output i, which the kernel writes again (a view is only forgotten). */
static void
clear_output(OnnxKernelCtx *ctx, int i)
{
	if (i < 64 && ((ctx->viewed | ctx->parted) & BIT(i)))
	{
		memset(ctx->outputs[i], 0, sizeof(OnnxValue));
		ctx->viewed &= ~BIT(i);
		ctx->parted &= ~BIT(i);
		return;
	}
	frame_value_release(ctx->session, ctx->outputs[i]);
}

/*
 * Output i as input k's buffer, shaped (rank, dims): taken over when the
 * frame owns the input and this node is its last reader (always, when
 * write is set: the kernel will write into it), else borrowed as a view of
 * a value that lives for the whole run; NULL when neither applies.
 */
static OnnxTensor *
take_input(OnnxKernelCtx *ctx, int i, int k, int rank, const int64_t *dims, bool write)
{
	OnnxFrame  *f = ctx->frame;
	const OnnxNode *n = ctx->node;
	const OnnxValueSlot *slot;
	const OnnxValue *x;
	OnnxValue  *y;
	int64_t		count = 1;
	int			id;
	bool		steal;

	if (f == NULL || i < 0 || i >= 64 || i >= ctx->n_outputs || k < 0 || k >= 64 ||
		k >= ctx->n_inputs || n->outputs[i] < 0 || (id = n->inputs[k]) < 0 ||
		rank < 0 || rank > ONNX_MAX_RANK)
		return NULL;
	x = ctx->inputs[k];
	y = ctx->outputs[i];
	if (x == NULL || x->kind != ONNX_VALUE_TENSOR || x->n_items != 0 ||
		x->tensor.dtype == ONNX_DTYPE_STRING || y->kind != ONNX_VALUE_NONE)
		return NULL;
	for (int d = 0; d < rank; d++)
		if (dims[d] < 0 || onnx_mul_overflow_i64(count, dims[d], &count))
			return NULL;
	if (count != x->tensor.count)
		return NULL;
	/* a value read twice by this node is taken once at most */
	for (int j = 0; j < n->n_inputs && j < 64; j++)
		if (n->inputs[j] == id && (ctx->stolen & BIT(j)))
			return NULL;
	slot = &f->g->values[id];
	steal = slot->source == ONNX_SRC_NODE && f->state[id] == SLOT_OWNED &&
		slot->last_use == n->index && !slot->is_output;
	if (!steal && (write || (slot->source == ONNX_SRC_NODE && f->state[id] != SLOT_VIEW)))
		return NULL;
	y->tensor.dtype = x->tensor.dtype;
	y->tensor.rank = rank;
	memcpy(y->tensor.dims, dims, sizeof(int64_t) * (size_t) rank);
	memset(y->tensor.dims + rank, 0, sizeof(int64_t) * (size_t) (ONNX_MAX_RANK - rank));
	y->tensor.count = x->tensor.count;
	y->tensor.nbytes = x->tensor.nbytes;
	y->tensor.data = x->tensor.data;
	y->n_items = 0;
	y->items = NULL;
	y->elem_dtype = x->elem_dtype;
	y->kind = ONNX_VALUE_TENSOR;
	if (steal)
		ctx->stolen |= BIT(k);
	else
		ctx->viewed |= BIT(i);
	return &y->tensor;
}

OnnxTensor *
onnx_out_alias(OnnxKernelCtx *ctx, int i, int k, int rank, const int64_t *dims)
{
	return take_input(ctx, i, k, rank, dims, false);
}

OnnxTensor *
onnx_out_reuse(OnnxKernelCtx *ctx, int i, int k)
{
	const OnnxTensor *x = onnx_in(ctx, k);

	if (x == NULL || x->data == NULL || x->nbytes == 0)
		return NULL;
	return take_input(ctx, i, k, x->rank, x->dims, true);
}

/*
 * After node n ran (or failed): an input whose buffer an output took is
 * emptied without freeing it, an output that views an input is marked so.
 */
static void
settle_aliases(OnnxFrame *f, const OnnxNode *n, const OnnxKernelCtx *ctx)
{
	for (int k = 0; ctx->stolen && k < n->n_inputs && k < 64; k++)
		if (ctx->stolen & BIT(k))
		{
			memset(&f->vals[n->inputs[k]], 0, sizeof(OnnxValue));
			f->state[n->inputs[k]] = SLOT_BORROWED;
		}
	for (int k = 0; ctx->viewed && k < n->n_outputs && k < 64; k++)
		if (ctx->viewed & BIT(k))
			f->state[n->outputs[k]] = SLOT_VIEW;
	for (int k = 0; ctx->parted && k < n->n_outputs && k < 64; k++)
		if (ctx->parted & BIT(k))
			f->state[n->outputs[k]] = SLOT_PART;
}

/*
 * Where value id of frame f goes inside the output of the Concat that
 * reads it (concat_plan.c), shaped as its static info says: that output's
 * buffer, reserved now when it is not yet (itself a slice of an outer
 * Concat's output when planned so); NULL when id has no place or the
 * reservation fails (the value then gets a buffer of its own and the
 * Concat copies it; an error only for the memory limit).
 */
static char *
concat_slot(OnnxSession *s, OnnxFrame *f, int id, int depth)
{
	const OnnxGraph *g = f->g;
	int			c;
	OnnxValue  *cv;
	OnnxTensor *t;

	if (!g->cat_planned || (c = g->cat_dest[id]) < 0 || depth > 64)
		return NULL;
	cv = &f->vals[c];
	if (cv->kind == ONNX_VALUE_NONE)
	{
		const OnnxValueInfo *info = &g->values[c].info;
		OnnxError	e;
		char	   *inner = concat_slot(s, f, c, depth + 1);

		t = &cv->tensor;
		memset(cv, 0, sizeof(*cv));
		if (onnx_tensor_set_shape(t, info->dtype, info->rank, info->dims, &e) != ONNX_OK ||
			t->nbytes == 0)
		{
			memset(cv, 0, sizeof(*cv));
			return NULL;
		}
		if (inner)
		{
			t->data = inner;
			f->state[c] = SLOT_PART;
		}
		else
		{
			if (over_memory_limit(s, t->nbytes) || (t->data = buffer_get(s, t->nbytes)) == NULL)
			{
				memset(cv, 0, sizeof(*cv));
				return NULL;
			}
			s->live_bytes += t->nbytes;
			f->state[c] = SLOT_OWNED;
		}
		cv->kind = ONNX_VALUE_TENSOR;
	}
	else if (cv->kind != ONNX_VALUE_TENSOR || cv->n_items != 0 ||
			 (f->state[c] != SLOT_OWNED && f->state[c] != SLOT_PART))
		return NULL;
	t = &cv->tensor;
	return (char *) t->data + (size_t) g->cat_off[id] * onnx_dtype_size(t->dtype);
}

/*
 * Output i placed inside its Concat's reserved output when planned and
 * its dtype and shape are the static ones; false otherwise.
 */
static bool
out_in_concat(OnnxKernelCtx *ctx, int i, OnnxTensor *t)
{
	OnnxFrame  *f = ctx->frame;
	const OnnxValueInfo *info;
	int			id;
	char	   *p;

	if (f == NULL || !f->g->cat_planned || i >= 64 || (id = ctx->node->outputs[i]) < 0 ||
		f->g->cat_dest[id] < 0)
		return false;
	info = &f->g->values[id].info;
	if (t->dtype != info->dtype || t->rank != info->rank ||
		memcmp(t->dims, info->dims, sizeof(int64_t) * (size_t) t->rank) != 0 ||
		(p = concat_slot(ctx->session, f, id, 0)) == NULL)
		return false;
	t->data = p;
	ctx->parted |= BIT(i);
	return true;
}

OnnxTensor *
onnx_out_concat_reserved(OnnxKernelCtx *ctx, int i, OnnxDType dtype, int rank, const int64_t *dims)
{
	OnnxFrame  *f = ctx->frame;
	OnnxValue  *v;
	int			id;

	if (f == NULL || !f->g->cat_planned || i < 0 || i >= ctx->n_outputs ||
		(id = ctx->node->outputs[i]) < 0)
		return NULL;
	v = ctx->outputs[i];
	if (v->kind != ONNX_VALUE_TENSOR || (f->state[id] != SLOT_OWNED && f->state[id] != SLOT_PART))
		return NULL;
	if (v->tensor.dtype == dtype && v->tensor.rank == rank &&
		memcmp(v->tensor.dims, dims, sizeof(int64_t) * (size_t) rank) == 0)
		return &v->tensor;
	/* not the static shape: set aside until the node ends (its parts read from it) */
	ctx->held = *v;
	ctx->held_owned = f->state[id] == SLOT_OWNED;
	memset(v, 0, sizeof(*v));
	return NULL;
}

/* onnx_out and onnx_out_raw: zero the data or leave it as it is. */
static OnnxTensor *
out_tensor(OnnxKernelCtx *ctx, int i, OnnxDType dtype, int rank, const int64_t *dims, bool zero)
{
	OnnxSession *s = ctx->session;
	OnnxValue  *v;
	OnnxTensor *t;

	if (i < 0 || i >= ctx->n_outputs)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "output %d out of range", i);
		return NULL;
	}
	v = ctx->outputs[i];
	if (v->kind != ONNX_VALUE_NONE)
		clear_output(ctx, i);
	/* built in place; the value stays empty (kind NONE) until it is complete */
	t = &v->tensor;
	t->data = NULL;
	if (onnx_tensor_set_shape(t, dtype, rank, dims, ctx->err) != ONNX_OK)
	{
		onnx_kernel_fail(ctx, ctx->err->status, "%s", ctx->err->message);
		return NULL;
	}
	if (over_memory_limit(s, t->nbytes))
	{
		onnx_kernel_fail(ctx, ONNX_ERR_LIMIT,
						 "output of %zu bytes would exceed the memory limit of %zu bytes",
						 t->nbytes, s->opts.max_memory);
		return NULL;
	}
	if (dtype == ONNX_DTYPE_STRING)
	{
		if (onnx_tensor_alloc_data(t, s->alloc, ctx->err) != ONNX_OK)
		{
			onnx_kernel_fail(ctx, ONNX_ERR_OUT_OF_MEMORY, "out of memory");
			return NULL;
		}
	}
	else if (out_in_concat(ctx, i, t))
	{
		if (zero)
			memset(t->data, 0, t->nbytes);
		v->kind = ONNX_VALUE_TENSOR;
		v->n_items = 0;
		v->items = NULL;
		v->elem_dtype = ONNX_DTYPE_UNDEFINED;
		return t;
	}
	else
	{
		t->data = buffer_get(s, t->nbytes ? t->nbytes : 1);
		if (t->data == NULL)
		{
			onnx_kernel_fail(ctx, ONNX_ERR_OUT_OF_MEMORY,
							 "out of memory allocating %zu bytes", t->nbytes);
			return NULL;
		}
		if (zero)
			memset(t->data, 0, t->nbytes ? t->nbytes : 1);
	}
	s->live_bytes += t->nbytes;
	v->kind = ONNX_VALUE_TENSOR;
	v->n_items = 0;
	v->items = NULL;
	v->elem_dtype = ONNX_DTYPE_UNDEFINED;
	return t;
}

OnnxTensor *
onnx_out(OnnxKernelCtx *ctx, int i, OnnxDType dtype, int rank, const int64_t *dims)
{
	return out_tensor(ctx, i, dtype, rank, dims, true);
}

OnnxTensor *
onnx_out_raw(OnnxKernelCtx *ctx, int i, OnnxDType dtype, int rank, const int64_t *dims)
{
	return out_tensor(ctx, i, dtype, rank, dims, dtype == ONNX_DTYPE_STRING);
}

OnnxTensor *
onnx_out_like(OnnxKernelCtx *ctx, int i, OnnxDType dtype, const OnnxTensor *t)
{
	return onnx_out(ctx, i, dtype, t->rank, t->dims);
}

/* Move *v into output i; *v is left empty. */
OnnxStatus
onnx_out_value(OnnxKernelCtx *ctx, int i, OnnxValue *v)
{
	OnnxValue  *o;

	if (i < 0 || i >= ctx->n_outputs)
	{
		onnx_value_release(ctx->session->alloc, v);
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "output %d out of range", i);
	}
	o = ctx->outputs[i];
	if (o->kind != ONNX_VALUE_NONE)
		clear_output(ctx, i);
	/* sequences and optionals count against the memory limit too */
	if (onnx_kernel_charge(ctx, v) != ONNX_OK)
	{
		onnx_value_release(ctx->session->alloc, v);
		return ctx->err->status;
	}
	*o = *v;
	memset(v, 0, sizeof(*v));
	return ONNX_OK;
}

/*
 * Count a value a kernel holds outside any frame (Loop and Scan state,
 * accumulated scan outputs, sequence elements being built) against the
 * memory limit: ONNX_ERR_LIMIT, with the node named, when it would be
 * exceeded.  onnx_kernel_uncharge gives the bytes back before the value
 * is released or moved into an output with onnx_out_value.
 */
OnnxStatus
onnx_kernel_charge(OnnxKernelCtx *ctx, const OnnxValue *v)
{
	size_t		n = value_bytes(v);
	OnnxStatus	st;

	if ((st = onnx_kernel_check_memory(ctx, n)) != ONNX_OK)
		return st;
	ctx->session->live_bytes += n;
	return ONNX_OK;
}

void
onnx_kernel_uncharge(OnnxKernelCtx *ctx, const OnnxValue *v)
{
	live_sub(ctx->session, value_bytes(v));
}

/* ONNX_ERR_LIMIT (node named) unless bytes more would fit the memory limit. */
OnnxStatus
onnx_kernel_check_memory(OnnxKernelCtx *ctx, size_t bytes)
{
	OnnxSession *s = ctx->session;

	if (over_memory_limit(s, bytes))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT,
								"%zu bytes more would exceed the memory limit of %zu bytes",
								bytes, s->opts.max_memory);
	return ONNX_OK;
}

void *
onnx_kernel_alloc(OnnxKernelCtx *ctx, size_t size)
{
	void	   *p = ctx->session->alloc->alloc(ctx->session->alloc->ctx, size ? size : 1);

	if (p == NULL)
		onnx_kernel_fail(ctx, ONNX_ERR_OUT_OF_MEMORY, "out of memory allocating %zu bytes", size);
	return p;
}

void
onnx_kernel_free(OnnxKernelCtx *ctx, void *p)
{
	ctx->session->alloc->free(ctx->session->alloc->ctx, p);
}

void *
onnx_kernel_scratch(OnnxKernelCtx *ctx, size_t n, size_t size)
{
	OnnxSession *s = ctx->session;
	size_t		bytes;
	void	   *p;

	if (size != 0 && n > SIZE_MAX / size)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "scratch of %zu elements of %zu bytes is too large",
						 n, size);
		return NULL;
	}
	bytes = n * size;
	if (onnx_kernel_check_memory(ctx, bytes) != ONNX_OK)
		return NULL;
	if ((p = onnx_scratch_alloc(&s->scratch, bytes)) == NULL)
		onnx_kernel_fail(ctx, ONNX_ERR_OUT_OF_MEMORY, "out of memory allocating %zu bytes of scratch",
						 bytes);
	return p;
}

size_t
onnx_session_scratch_used(const OnnxSession *s)
{
	return s->scratch.used;
}

void *
onnx_kernel_scratch_zero(OnnxKernelCtx *ctx, size_t n, size_t size)
{
	void	   *p = onnx_kernel_scratch(ctx, n, size);

	if (p && n)
		memset(p, 0, n * size);
	return p;
}

char *
onnx_kernel_strndup(OnnxKernelCtx *ctx, const char *s, size_t n)
{
	char	   *d = onnx_kernel_alloc(ctx, n + 1);

	if (d)
	{
		if (n)
			memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Copy of C string s (NULL reads as "") from onnx_kernel_alloc (same rule); NULL with err set. */
char *
onnx_kernel_strdup(OnnxKernelCtx *ctx, const char *s)
{
	return onnx_kernel_strndup(ctx, s ? s : "", s ? strlen(s) : 0);
}

const OnnxAllocator *
onnx_kernel_allocator(OnnxKernelCtx *ctx)
{
	return ctx->session->alloc;
}

OnnxStatus
onnx_kernel_fail(OnnxKernelCtx *ctx, OnnxStatus status, const char *fmt,...)
{
	va_list		ap;
	char		msg[ONNX_ERROR_MESSAGE_LEN];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	onnx_error_set(ctx->err, status, "%s", msg);
	return onnx_error_at_node(ctx->err, ctx->node, status);
}

bool
onnx_kernel_should_abort(OnnxKernelCtx *ctx)
{
	OnnxSession *s = ctx->session;

	return s->opts.abort_fn && s->opts.abort_fn(s->opts.abort_ctx);
}

int
onnx_kernel_threads(OnnxKernelCtx *ctx)
{
	return ctx->session->opts.threads;
}

/* ---- execution ---- */

static OnnxStatus exec_graph(OnnxSession *s, OnnxFrame *f, OnnxError *err);

/* Take ownership of frame value id into *out (copy if the frame does not own it). */
static OnnxStatus
frame_take(OnnxSession *s, OnnxFrame *f, int id, OnnxValue *out, OnnxError *err)
{
	OnnxValue  *v = frame_get(f, id);

	if (v == NULL)
		return onnx_error_set(err, ONNX_ERR_INTERNAL, "captured value not found");
	if (f->g->values[id].source == ONNX_SRC_NODE && f->state[id] == SLOT_OWNED)
	{
		*out = *v;
		live_sub(s, value_bytes(out));
		memset(v, 0, sizeof(*v));
		f->state[id] = SLOT_BORROWED;
		return ONNX_OK;
	}
	if (v->kind == ONNX_VALUE_TENSOR && v->tensor.dtype != ONNX_DTYPE_STRING && v->n_items == 0)
	{
		/* a plain tensor: the copy's buffer comes from the pool */
		*out = *v;
		out->tensor.data = buffer_get(s, v->tensor.nbytes ? v->tensor.nbytes : 1);
		if (out->tensor.data == NULL)
		{
			memset(out, 0, sizeof(*out));
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory copying a value");
		}
		if (v->tensor.nbytes)
			memcpy(out->tensor.data, v->tensor.data, v->tensor.nbytes);
		return ONNX_OK;
	}
	return onnx_value_copy(out, v, s->alloc, err);
}

OnnxStatus
onnx_kernel_run_subgraph(OnnxKernelCtx *ctx, const OnnxGraph *g, int n_inputs,
						 const OnnxValue *inputs, OnnxValue *outputs)
{
	OnnxSession *s = ctx->session;
	OnnxFrame	f;
	OnnxStatus	st;
	int			i;

	if (n_inputs != g->n_inputs)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL,
								"subgraph takes %d inputs, given %d", g->n_inputs, n_inputs);
	if ((st = frame_init(s, &f, g, (OnnxFrame *) ctx->frame, ctx->err)) != ONNX_OK)
		return st;
	for (i = 0; i < n_inputs; i++)
		f.vals[g->inputs[i]] = inputs[i];	/* borrowed */
	st = exec_graph(s, &f, ctx->err);
	for (i = 0; st == ONNX_OK && i < g->n_outputs; i++)
	{
		int			dup = -1;

		/* an output listed twice is taken once and copied after */
		for (int k = 0; k < i; k++)
			if (g->outputs[k] == g->outputs[i])
				dup = k;
		if (dup >= 0)
			st = onnx_value_copy(&outputs[i], &outputs[dup], s->alloc, ctx->err);
		else
			st = frame_take(s, &f, g->outputs[i], &outputs[i], ctx->err);
	}
	if (st != ONNX_OK)
		for (int k = 0; k < i; k++)
			onnx_value_release(s->alloc, &outputs[k]);
	frame_free(s, &f);
	return st;
}

/* The context of a kernel call of node n (frame NULL: outside a graph run). */
static inline void
ctx_init(OnnxKernelCtx *ctx, OnnxSession *s, const OnnxNode *n, const OnnxValue **ins,
		 OnnxValue **outs, OnnxFrame *f, OnnxError *err)
{
	ctx->session = s;
	ctx->node = n;
	ctx->opset = n->opset;
	ctx->n_inputs = n->n_inputs;
	ctx->inputs = ins;
	ctx->n_outputs = n->n_outputs;
	ctx->outputs = outs;
	ctx->frame = f;
	ctx->err = err;
	ctx->stolen = 0;
	ctx->viewed = 0;
	ctx->parted = 0;
	ctx->held.kind = ONNX_VALUE_NONE;
	ctx->held_owned = false;
}

/* Release value id after its last reader, node ni, unless the frame does not own it. */
static inline void
release_dead(OnnxSession *s, OnnxFrame *f, int id, int ni)
{
	const OnnxValueSlot *v = &f->g->values[id];

	if (f->state[id] == SLOT_OWNED && v->last_use == ni && !v->is_output)
	{
		frame_value_release(s, &f->vals[id]);
		f->state[id] = SLOT_BORROWED;
	}
}

static OnnxStatus
exec_graph(OnnxSession *s, OnnxFrame *f, OnnxError *err)
{
	const OnnxGraph *g = f->g;
	const OnnxValue *in_buf[64];
	OnnxValue  *out_buf[64];
	OnnxValue	scratch[64];

	for (int ni = 0; ni < g->n_nodes; ni++)
	{
		const OnnxNode *n = &g->nodes[ni];
		const OnnxValue **ins = in_buf;
		OnnxValue **outs = out_buf;
		OnnxValue  *scr = scratch;
		OnnxKernelCtx ctx;
		OnnxScratchMark mark;
		OnnxStatus	st;

		if (n->skip)
			continue;
		if (s->opts.abort_fn && s->opts.abort_fn(s->opts.abort_ctx))
			return onnx_error_set(err, ONNX_ERR_CANCELLED, "inference cancelled");
		if (n->n_inputs > 64 || n->n_outputs > 64)
		{
			ins = s->alloc->alloc(s->alloc->ctx, sizeof(void *) * (size_t) n->n_inputs + 1);
			outs = s->alloc->alloc(s->alloc->ctx, sizeof(void *) * (size_t) n->n_outputs + 1);
			scr = s->alloc->alloc(s->alloc->ctx, sizeof(OnnxValue) * (size_t) n->n_outputs + 1);
			if (!ins || !outs || !scr)
			{
				if (ins != in_buf)
					s->alloc->free(s->alloc->ctx, (void *) ins);
				if (outs != out_buf)
					s->alloc->free(s->alloc->ctx, outs);
				if (scr != scratch)
					s->alloc->free(s->alloc->ctx, scr);
				return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory");
			}
		}
		for (int k = 0; k < n->n_inputs; k++)
		{
			ins[k] = n->inputs[k] >= 0 ? frame_get(f, n->inputs[k]) : NULL;
			if (ins[k] && ins[k]->kind == ONNX_VALUE_NONE &&
				g->values[n->inputs[k]].source != ONNX_SRC_NODE)
				ins[k] = NULL;
		}
		for (int k = 0; k < n->n_outputs; k++)
		{
			if (n->outputs[k] >= 0)
			{
				outs[k] = &f->vals[n->outputs[k]];
				/* a Concat's output reserved by its parts keeps its state */
				if (!g->cat_planned || outs[k]->kind == ONNX_VALUE_NONE)
					f->state[n->outputs[k]] = SLOT_OWNED;
			}
			else
			{
				memset(&scr[k], 0, sizeof(OnnxValue));
				outs[k] = &scr[k];
			}
		}
		ctx_init(&ctx, s, n, ins, outs, f, err);
		mark = onnx_scratch_mark(&s->scratch);
		st = s->opts.profile ? onnx_profile_run_node(s->profile, s->opts.profile, &ctx) :
			n->def->run(&ctx);
		onnx_scratch_release(&s->scratch, mark);
		if (st == ONNX_OK && err->status != ONNX_OK)
			st = err->status;
		if (ctx.stolen | ctx.viewed | ctx.parted)
			settle_aliases(f, n, &ctx);
		if (ctx.held.kind != ONNX_VALUE_NONE && ctx.held_owned)
			frame_value_release(s, &ctx.held);
		/* scratch outputs, and outputs nobody reads */
		for (int k = 0; k < n->n_outputs; k++)
		{
			if (n->outputs[k] >= 0)
			{
				if (st == ONNX_OK)
					release_dead(s, f, n->outputs[k], -1);
			}
			else if (scr[k].kind != ONNX_VALUE_NONE)
				frame_value_release(s, &scr[k]);
		}
		if (ins != in_buf)
		{
			s->alloc->free(s->alloc->ctx, (void *) ins);
			s->alloc->free(s->alloc->ctx, outs);
			s->alloc->free(s->alloc->ctx, scr);
		}
		if (st != ONNX_OK)
		{
			if (err->status == ONNX_OK)
				onnx_error_set(err, st, "operator failed");
			if (err->op[0] == '\0')
				onnx_error_at_node(err, n, st);
			return st;
		}
		/* free values whose last reader was this node */
		for (int k = 0; k < n->n_inputs; k++)
			if (n->inputs[k] >= 0)
				release_dead(s, f, n->inputs[k], ni);
	}
	return ONNX_OK;
}

OnnxStatus
onnx_session_run_node(OnnxSession *s, const OnnxNode *n, const OnnxValue *const *inputs,
					  OnnxValue *outputs, OnnxError *err)
{
	OnnxValue  *outs[64];
	OnnxKernelCtx ctx;
	OnnxScratchMark mark;
	OnnxStatus	st;

	onnx_error_clear(err);
	if (n->n_outputs > 64 || n->def == NULL || n->def->run == NULL)
		return onnx_error_set(err, ONNX_ERR_INTERNAL, "node cannot run alone");
	for (int k = 0; k < n->n_outputs; k++)
	{
		memset(&outputs[k], 0, sizeof(OnnxValue));
		outs[k] = &outputs[k];
	}
	ctx_init(&ctx, s, n, (const OnnxValue **) inputs, outs, NULL, err);
	mark = onnx_scratch_mark(&s->scratch);
	st = n->def->run(&ctx);
	onnx_scratch_release(&s->scratch, mark);
	if (st == ONNX_OK && err->status != ONNX_OK)
		st = err->status;
	if (st != ONNX_OK)
		for (int k = 0; k < n->n_outputs; k++)
			frame_value_release(s, &outputs[k]);
	s->live_bytes = 0;
	return st;
}

/*
 * Whether a caller's value is well formed: every tensor in it has a rank
 * in [0, ONNX_MAX_RANK], non-negative dims whose product is its count,
 * data for that many elements (nbytes), and items where it has any.  The
 * engine trusts nothing else about a value it is given.
 */
static bool
value_is_well_formed(const OnnxValue *v, int depth, char *why, size_t len)
{
	const OnnxTensor *t = &v->tensor;
	int64_t		count = 1;

	if (depth > 16)
	{
		snprintf(why, len, "values nest too deeply");
		return false;
	}
	if (v->kind == ONNX_VALUE_TENSOR || v->kind == ONNX_VALUE_MAP)
	{
		size_t		esize = onnx_dtype_size(t->dtype);

		if (t->rank < 0 || t->rank > ONNX_MAX_RANK)
		{
			snprintf(why, len, "rank %d is outside [0, %d]", t->rank, ONNX_MAX_RANK);
			return false;
		}
		for (int d = 0; d < t->rank; d++)
			if (t->dims[d] < 0 || onnx_mul_overflow_i64(count, t->dims[d], &count))
			{
				snprintf(why, len, "dimension %d (%lld) is negative or the shape overflows", d,
						 (long long) t->dims[d]);
				return false;
			}
		if (t->count != count)
		{
			snprintf(why, len, "the shape has %lld elements but the tensor says %lld",
					 (long long) count, (long long) t->count);
			return false;
		}
		if (count > 0 && (t->data == NULL ||
						  (esize > 0 && (t->nbytes / esize < (uint64_t) count))))
		{
			snprintf(why, len, "the tensor holds %zu bytes, %lld elements of %s need more",
					 t->nbytes, (long long) count, onnx_dtype_name(t->dtype));
			return false;
		}
	}
	if (v->n_items > 0 && v->items == NULL)
	{
		snprintf(why, len, "%d items are announced but none are given", v->n_items);
		return false;
	}
	for (int i = 0; i < v->n_items; i++)
		if (!value_is_well_formed(&v->items[i], depth + 1, why, len))
			return false;
	return true;
}

static bool
tensor_matches_info(const OnnxValue *v, const OnnxValueInfo *info, char *why, size_t len)
{
	if (!value_is_well_formed(v, 0, why, len))
		return false;
	if (info->kind != v->kind)
	{
		snprintf(why, len, "expected %s", info->type_text ? info->type_text : "another kind of value");
		return false;
	}
	if (v->kind != ONNX_VALUE_TENSOR)
		return true;
	if (info->dtype != ONNX_DTYPE_UNDEFINED && v->tensor.dtype != info->dtype)
	{
		snprintf(why, len, "expected element type %s, got %s",
				 onnx_dtype_name(info->dtype), onnx_dtype_name(v->tensor.dtype));
		return false;
	}
	if (info->rank >= 0)
	{
		if (v->tensor.rank != info->rank)
		{
			snprintf(why, len, "expected rank %d, got rank %d", info->rank, v->tensor.rank);
			return false;
		}
		for (int d = 0; d < info->rank; d++)
			if (info->dims[d] >= 0 && info->dims[d] != v->tensor.dims[d])
			{
				snprintf(why, len, "expected dimension %d to be %lld, got %lld", d,
						 (long long) info->dims[d], (long long) v->tensor.dims[d]);
				return false;
			}
	}
	return true;
}

OnnxStatus
onnx_session_run(OnnxSession *s, int n_inputs, const char *const *input_names,
				 const OnnxValue *inputs, int n_outputs,
				 const char *const *output_names, OnnxValue *outputs, OnnxError *err)
{
	const OnnxGraph *g;
	OnnxFrame	f;
	OnnxStatus	st;
	int			taken = 0;
	int			id_buf[16];
	int		   *out_ids = id_buf;

	onnx_error_clear(err);
	if (s == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_ARGUMENT, "no session");
	g = s->model->graph;
	for (int i = 0; i < n_outputs; i++)
		memset(&outputs[i], 0, sizeof(OnnxValue));
	onnx_blas_set_threads(s->opts.threads);
	if ((st = frame_init(s, &f, g, NULL, err)) != ONNX_OK)
		return st;

	/* bind inputs */
	for (int i = 0; i < n_inputs; i++)
	{
		int			id = -1;
		char		why[200];

		/* callers mostly pass the inputs in the model's order */
		if (i < g->n_inputs && strcmp(g->values[g->inputs[i]].name, input_names[i]) == 0)
			id = g->inputs[i];
		for (int k = 0; id < 0 && k < g->n_inputs; k++)
			if (strcmp(g->values[g->inputs[k]].name, input_names[i]) == 0)
				id = g->inputs[k];
		if (id < 0)
			for (int k = 0; k < g->n_values; k++)
				if (g->values[k].source == ONNX_SRC_INITIALIZER && g->values[k].overridable &&
					strcmp(g->values[k].name, input_names[i]) == 0)
					id = k;		/* overriding an initializer listed as an input */
		if (id < 0)
		{
			frame_free(s, &f);
			return onnx_error_set(err, ONNX_ERR_INVALID_ARGUMENT,
								  "the model has no input named \"%s\"", input_names[i]);
		}
		if (!tensor_matches_info(&inputs[i], &g->values[id].info, why, sizeof(why)))
		{
			frame_free(s, &f);
			return onnx_error_set(err, ONNX_ERR_INVALID_ARGUMENT, "input \"%s\": %s",
								  input_names[i], why);
		}
		f.vals[id] = inputs[i];
	}
	for (int k = 0; k < g->n_inputs; k++)
	{
		const OnnxValueSlot *v = &g->values[g->inputs[k]];

		if (f.vals[g->inputs[k]].kind == ONNX_VALUE_NONE && v->info.kind != ONNX_VALUE_OPTIONAL)
		{
			frame_free(s, &f);
			return onnx_error_set(err, ONNX_ERR_INVALID_ARGUMENT,
								  "input \"%s\" (%s) was not given", v->name,
								  v->info.type_text ? v->info.type_text : "tensor");
		}
	}

	st = exec_graph(s, &f, err);

	/* hand outputs over */
	if (st == ONNX_OK && n_outputs > 16)
	{
		out_ids = s->alloc->alloc(s->alloc->ctx, sizeof(int) * (size_t) n_outputs);
		if (out_ids == NULL)
			st = onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory");
	}
	for (int i = 0; st == ONNX_OK && i < n_outputs; i++)
	{
		int			id = -1,
					dup = -1;

		if (output_names == NULL)
			id = i < g->n_outputs ? g->outputs[i] : -1;
		else if (i < g->n_outputs && strcmp(g->values[g->outputs[i]].name, output_names[i]) == 0)
			id = g->outputs[i];
		else
			for (int k = 0; id < 0 && k < g->n_outputs; k++)
				if (strcmp(g->values[g->outputs[k]].name, output_names[i]) == 0)
					id = g->outputs[k];
		if (id < 0)
		{
			st = onnx_error_set(err, ONNX_ERR_INVALID_ARGUMENT,
								"the model has no output named \"%s\"",
								output_names ? output_names[i] : "?");
			break;
		}
		/* an output asked for twice is taken once and copied after */
		taken = i + 1;
		for (int k = 0; k < i; k++)
			if (out_ids[k] == id)
				dup = k;
		out_ids[i] = id;
		if (dup >= 0)
			st = onnx_value_copy(&outputs[i], &outputs[dup], s->alloc, err);
		else
			st = frame_take(s, &f, id, &outputs[i], err);
	}
	if (st != ONNX_OK)
		for (int i = 0; i < taken; i++)
			onnx_value_release(s->alloc, &outputs[i]);
	if (out_ids != id_buf)
		s->alloc->free(s->alloc->ctx, out_ids);
	frame_free(s, &f);
	s->live_bytes = 0;
	if (st != ONNX_OK)
		onnx_session_trim(s, 0);	/* a failed run keeps nothing */
	return st;
}

/* Change run options of an existing session (threads, limits, abort). */
OnnxStatus
onnx_session_set_options(OnnxSession *session, const OnnxSessionOptions *opts,
						 OnnxError *err)
{
	onnx_error_clear(err);
	if (opts->device != session->opts.device)
		return onnx_error_set(err, ONNX_ERR_INVALID_ARGUMENT,
							  "a session cannot change device; create a new one");
	if (opts->profile && session->profile == NULL)
	{
		OnnxStatus	st = onnx_profile_create(session->model, session->alloc,
											 &session->profile, err);

		if (st != ONNX_OK)
			return st;
	}
	session->opts = *opts;
	if (session->opts.threads <= 0)
		session->opts.threads = 1;
	return ONNX_OK;
}

/* Per-operator times of the profiled runs (profile.c). */
int
onnx_session_profile(const OnnxSession *session, OnnxOpProfile *entries, int max)
{
	return onnx_profile_read(session->profile, entries, max);
}

void
onnx_session_profile_reset(OnnxSession *session)
{
	onnx_profile_reset(session->profile);
}
