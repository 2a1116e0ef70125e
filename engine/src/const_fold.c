/*-------------------------------------------------------------------------
 *
 * const_fold.c
 *	  Constant folding at load: every node whose inputs are all constant
 *	  is run once, with the engine's own kernels, and its outputs become
 *	  initializers; the node is skipped at run time.
 *
 *	  Constant inputs: initializers the caller cannot override (those of
 *	  the model and those folding made; onnx_const_value), captured from
 *	  an enclosing graph too, and absent optional inputs.  Shape and Size
 *	  of a value whose static shape is known (the dims Shape's start and
 *	  end select) are constant as well: they run on a tensor with that
 *	  shape and no data.
 *
 *	  Nodes go in execution order, each re-inferred first when one of its
 *	  inputs became constant or better known, so chains fold in one pass
 *	  (Shape -> Gather -> Concat -> Reshape, ConstantOfShape weights) and
 *	  the shapes after them become known (a Reshape whose shape is now
 *	  constant).  Subgraphs (If branches, Loop and Scan bodies) fold their
 *	  own constants the same way; what they capture from an enclosing
 *	  graph counts as constant only when it is.
 *
 *	  Never folded:
 *	  - the random operators (RandomUniform, RandomNormal, their Like
 *	    forms, Bernoulli, Multinomial): each run draws anew;
 *	  - nodes with a graph attribute (If, Loop, Scan, SequenceMap, ...):
 *	    running a subgraph at load would need a frame of its enclosing
 *	    graphs, and their bodies fold their own constants anyway;
 *	  - nodes none of whose outputs anybody reads, and nodes producing
 *	    anything but tensors (sequences, maps, optionals);
 *	  - outputs past the memory bound: one node's outputs above
 *	    FOLD_MAX_NODE_BYTES, or all folded values together above
 *	    FOLD_BUDGET_BYTES.  The kernel runs under that limit, so a
 *	    ConstantOfShape of 10^10 elements is refused before anything is
 *	    allocated.
 *	  Nodes whose outputs nothing reads (not a graph output, no node that
	  still runs, no subgraph) are skipped after folding, with what fed
	  only them, except the random ones and those with subgraphs.

	  A node whose kernel fails (bad data, an unsupported case, the memory
 *	  bound) is left to run, and fail, at run time; running out of memory
 *	  fails the load.
 *
 *	  Folded values are owned by the model (OnnxModel.folded), in its
 *	  memory; the kernels run in a session on the load's scratch allocator
 *	  (their outputs copied into the model's memory when that is another
 *	  allocator).  One that only folded nodes read is freed as soon as the
 *	  last of them is folded, so intermediate constants of a chain do not
 *	  stay.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "const_fold.h"
#include "infer.h"

/* Outputs of one node larger than this are not folded (onnxruntime's bound too). */
#define FOLD_MAX_NODE_BYTES ((size_t) 1 << 30)
/* All folded values alive at once, per model. */
#define FOLD_BUDGET_BYTES ((size_t) 2 << 30)
/* Nodes with more inputs or outputs than this are left alone. */
#define FOLD_MAX_IO 64

typedef struct FoldCtx
{
	OnnxModel  *model;
	const OnnxAllocator *scratch;	/* the session's: freed by the end of the load */
	OnnxSession *session;		/* runs the kernels; its memory limit is the bound */
	OnnxError  *err;
} FoldCtx;

static const char *const nondeterministic_ops[] = {
	"RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike",
	"Bernoulli", "Multinomial", NULL
};

static bool
has_graph_attr(const OnnxNode *n)
{
	for (int a = 0; a < n->n_attrs; a++)
		if (n->attrs[a].type == ONNX_ATTR_GRAPH || n->attrs[a].type == ONNX_ATTR_GRAPHS)
			return true;
	return false;
}

/* Whether folding may run n at all (not whether its inputs are constant). */
static bool
foldable_op(const OnnxNode *n)
{
	if (n->skip || n->def == NULL || n->def->run == NULL || has_graph_attr(n) ||
		n->n_inputs > FOLD_MAX_IO || n->n_outputs > FOLD_MAX_IO)
		return false;
	if (n->domain[0] == '\0')
		for (int i = 0; nondeterministic_ops[i]; i++)
			if (strcmp(n->op_type, nondeterministic_ops[i]) == 0)
				return false;
	return true;
}

/*
 * reader[id] = readers of value id that still run: inputs of nodes not
 * skipped, and 1 for a graph output (fold_graph adds the captures by
 * subgraphs).  Folding a node takes its inputs off; a folded value nobody
 * reads any more is freed.
 */
static int *
count_readers(const OnnxGraph *g, OnnxArena *arena)
{
	int		   *r = onnx_arena_alloc(arena, sizeof(int) * ((size_t) g->n_values + 1));

	if (r == NULL)
		return NULL;
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; !g->nodes[i].skip && k < g->nodes[i].n_inputs; k++)
			if (g->nodes[i].inputs[k] >= 0)
				r[g->nodes[i].inputs[k]]++;
	for (int i = 0; i < g->n_values; i++)
		r[i] += g->values[i].is_output;
	return r;
}

/*
 * For Shape or Size node n reading a value of static info: a tensor with
 * that shape and no data (their kernels read the shape only), when the
 * dims n reads are known: all of them for Size, those in [start, end)
 * for Shape (the others read as 1).  False otherwise.
 */
static bool
shape_only_value(const OnnxNode *n, const OnnxValueInfo *info, OnnxValue *v)
{
	int64_t		count = 1;
	int64_t		start = 0,
				end = info->rank;

	if (info->kind != ONNX_VALUE_TENSOR || info->rank < 0 || info->rank > ONNX_MAX_RANK)
		return false;
	if (strcmp(n->op_type, "Shape") == 0)
	{
		/* the clamping of run_shape */
		start = onnx_attr_int(n, "start", 0);
		end = onnx_attr_int(n, "end", INT64_MAX);
		if (start < 0)
			start = start < -info->rank ? 0 : start + info->rank;
		if (end < 0)
			end = end < -info->rank ? 0 : end + info->rank;
		start = start > info->rank ? info->rank : start;
		end = end > info->rank ? info->rank : end;
	}
	memset(v, 0, sizeof(*v));
	v->kind = ONNX_VALUE_TENSOR;
	v->tensor.dtype = info->dtype != ONNX_DTYPE_UNDEFINED ? info->dtype : ONNX_DTYPE_UINT8;
	v->tensor.rank = info->rank;
	for (int d = 0; d < info->rank; d++)
	{
		bool		read = d >= start && d < end;

		if (read && info->dims[d] < 0)
			return false;
		v->tensor.dims[d] = read ? info->dims[d] : 1;
		if (onnx_mul_overflow_i64(count, v->tensor.dims[d], &count))
			return false;
	}
	v->tensor.count = count;
	return true;
}

/* Static info of a folded value: the tensor's own type and shape. */
static void
info_from_value(OnnxValueInfo *info, const OnnxTensor *t, bool keep_declared)
{
	if (info->dtype == ONNX_DTYPE_UNDEFINED || !keep_declared)
		info->dtype = t->dtype;
	info->kind = ONNX_VALUE_TENSOR;
	if (keep_declared && info->rank == t->rank)
	{
		/* a graph output keeps what it declares; only unknown dims are filled */
		for (int d = 0; d < t->rank; d++)
			if (info->dims[d] < 0)
				info->dims[d] = t->dims[d];
		return;
	}
	if (keep_declared && info->rank >= 0)
		return;
	info->rank = t->rank;
	for (int d = 0; d < ONNX_MAX_RANK; d++)
	{
		info->dims[d] = d < t->rank ? t->dims[d] : 0;
		info->dim_params[d] = NULL;
	}
}

/* Free folded value id of g once nothing reads it (it stays in the model's list, empty). */
static void
drop_if_unread(FoldCtx *fc, OnnxGraph *g, int id, const int *reader)
{
	OnnxValueSlot *v = &g->values[id];

	if (reader[id] > 0 || !v->folded || v->init == NULL)
		return;
	fc->model->folded_bytes -= onnx_value_bytes(v->init);
	onnx_value_release(fc->model->alloc, v->init);
}

/*
 * Skip node n of g: its inputs lose a reader, and folded ones nothing
 * reads any more are freed.
 */
static void
skip_node(FoldCtx *fc, OnnxGraph *g, OnnxNode *n, int *reader)
{
	n->skip = true;
	for (int k = 0; k < n->n_inputs; k++)
		if (n->inputs[k] >= 0)
			reader[n->inputs[k]]--;
	for (int k = 0; k < n->n_inputs; k++)
		if (n->inputs[k] >= 0)
			drop_if_unread(fc, g, n->inputs[k], reader);
}

/*
 * Fold node n of g when its inputs are constant; a node that cannot be
 * folded is left as it is.  Fails only when memory runs out.
 */
static OnnxStatus
fold_node(FoldCtx *fc, OnnxGraph *g, OnnxNode *n, int *reader, bool *changed)
{
	OnnxValue	shapes[FOLD_MAX_IO];
	const OnnxValue *ins[FOLD_MAX_IO];
	OnnxValue	outs[FOLD_MAX_IO];
	OnnxFoldedValue *fv[FOLD_MAX_IO];
	bool		shape_op = n->domain[0] == '\0' &&
		(strcmp(n->op_type, "Shape") == 0 || strcmp(n->op_type, "Size") == 0);
	bool		read = false;
	size_t		room;
	OnnxSessionOptions opts = {0};
	OnnxStatus	st;

	if (!foldable_op(n))
		return ONNX_OK;
	for (int k = 0; k < n->n_outputs; k++)
		if (n->outputs[k] >= 0 && reader[n->outputs[k]] > 0)
			read = true;
	if (!read)
		return ONNX_OK;
	for (int k = 0; k < n->n_inputs; k++)
	{
		int			id = n->inputs[k];

		ins[k] = NULL;
		if (id < 0)
			continue;
		if ((ins[k] = onnx_const_value(g, id)) != NULL)
			continue;
		if (!shape_op || !shape_only_value(n, &g->values[id].info, &shapes[k]))
			return ONNX_OK;
		ins[k] = &shapes[k];
	}

	/* the memory bound is the session's limit while the kernel runs */
	room = FOLD_BUDGET_BYTES > fc->model->folded_bytes ?
		FOLD_BUDGET_BYTES - fc->model->folded_bytes : 0;
	if (room > FOLD_MAX_NODE_BYTES)
		room = FOLD_MAX_NODE_BYTES;
	if (room == 0)
		return ONNX_OK;
	opts.threads = 1;
	opts.alloc = fc->scratch;
	opts.max_memory = room;
	if ((st = onnx_session_set_options(fc->session, &opts, fc->err)) != ONNX_OK)
		return st;
	st = onnx_session_run_node(fc->session, n, ins, outs, fc->err);
	if (st == ONNX_ERR_OUT_OF_MEMORY)
		return st;
	if (st != ONNX_OK)
	{
		/* left to run time, where it fails (or passes) as it would have */
		onnx_error_clear(fc->err);
		return ONNX_OK;
	}
	for (int k = 0; k < n->n_outputs; k++)
	{
		fv[k] = NULL;
		if (n->outputs[k] >= 0 && outs[k].kind != ONNX_VALUE_TENSOR)
			st = ONNX_ERR_UNSUPPORTED;	/* not a constant an initializer can hold */
	}
	for (int k = 0; st == ONNX_OK && k < n->n_outputs; k++)
	{
		if (n->outputs[k] < 0)
			continue;
		if ((fv[k] = onnx_arena_alloc(&fc->model->arena, sizeof(OnnxFoldedValue))) == NULL)
			st = onnx_error_set(fc->err, ONNX_ERR_OUT_OF_MEMORY, "out of memory folding constants");
		else if (fc->scratch == fc->model->alloc)
		{
			fv[k]->value = outs[k];		/* already the model's memory */
			memset(&outs[k], 0, sizeof(OnnxValue));
		}
		else
			st = onnx_value_copy(&fv[k]->value, &outs[k], fc->model->alloc, fc->err);
	}
	for (int k = 0; k < n->n_outputs; k++)
		onnx_value_release(fc->scratch, &outs[k]);
	if (st != ONNX_OK)
	{
		for (int k = 0; k < n->n_outputs; k++)
			if (fv[k])
				onnx_value_release(fc->model->alloc, &fv[k]->value);
		return st == ONNX_ERR_OUT_OF_MEMORY ? st : ONNX_OK;
	}

	/* commit: the outputs become initializers the model owns */
	for (int k = 0; k < n->n_outputs; k++)
	{
		OnnxValueSlot *v;

		if (fv[k] == NULL)
			continue;
		v = &g->values[n->outputs[k]];
		fv[k]->next = fc->model->folded;
		fc->model->folded = fv[k];
		fc->model->folded_bytes += onnx_value_bytes(&fv[k]->value);
		v->source = ONNX_SRC_INITIALIZER;
		v->init = &fv[k]->value;
		v->folded = true;
		v->producer = -1;
		info_from_value(&v->info, &fv[k]->value.tensor, v->is_output);
		changed[n->outputs[k]] = true;
	}
	skip_node(fc, g, n, reader);
	return ONNX_OK;
}

/*
 * Re-infer n when an input became constant or better known since the
 * first inference, or when forced; a failure keeps what was known before.
 * Marks the outputs whose info changed.
 */
static void
reinfer_node(FoldCtx *fc, OnnxGraph *g, OnnxNode *n, bool *changed, bool any)
{
	OnnxValueInfo before[FOLD_MAX_IO];

	if (n->n_outputs > FOLD_MAX_IO)
		return;
	for (int k = 0; k < n->n_inputs && !any; k++)
		any = n->inputs[k] >= 0 && changed[n->inputs[k]];
	if (!any)
		return;
	for (int k = 0; k < n->n_outputs; k++)
		if (n->outputs[k] >= 0)
			before[k] = g->values[n->outputs[k]].info;
	if (onnx_node_infer(g, n, fc->err) != ONNX_OK)
	{
		for (int k = 0; k < n->n_outputs; k++)
			if (n->outputs[k] >= 0)
				g->values[n->outputs[k]].info = before[k];
		onnx_error_clear(fc->err);
		return;
	}
	for (int k = 0; k < n->n_outputs; k++)
		if (n->outputs[k] >= 0 &&
			memcmp(&before[k], &g->values[n->outputs[k]].info, sizeof(OnnxValueInfo)) != 0)
			changed[n->outputs[k]] = true;
}

/*
 * Skip the nodes of g whose outputs nothing reads (no node that runs, no
 * subgraph, not a graph output), last first so that what fed only them
 * goes too: the unread Constants and branches exporters leave behind.
 * Random nodes and nodes with subgraphs stay (foldable_op).
 */
static void
drop_dead_nodes(FoldCtx *fc, OnnxGraph *g, int *reader)
{
	for (int i = g->n_nodes - 1; i >= 0; i--)
	{
		OnnxNode   *n = &g->nodes[i];
		bool		dead = foldable_op(n);

		for (int k = 0; dead && k < n->n_outputs; k++)
			dead = n->outputs[k] < 0 || reader[n->outputs[k]] == 0;
		if (!dead)
			continue;
		skip_node(fc, g, n, reader);
	}
}

static OnnxStatus fold_graph(FoldCtx *fc, OnnxGraph *g);

/* Fold the subgraphs of n after refreshing what they capture; then re-infer n. */
static OnnxStatus
fold_subgraphs(FoldCtx *fc, OnnxGraph *g, OnnxNode *n, bool *changed)
{
	OnnxGraph  *sub;
	OnnxStatus	st;

	for (int k = 0; (sub = onnx_node_subgraph(n, k)) != NULL; k++)
	{
		onnx_subgraph_refresh_captures(sub);
		if ((st = fold_graph(fc, sub)) != ONNX_OK)
			return st;
	}
	/* an If or Loop takes its output types from the bodies, which may know more now */
	reinfer_node(fc, g, n, changed, true);
	return ONNX_OK;
}

static OnnxStatus
fold_graph(FoldCtx *fc, OnnxGraph *g)
{
	int		   *reader = count_readers(g, &fc->model->arena);
	bool	   *changed = onnx_arena_alloc(&fc->model->arena, (size_t) g->n_values + 1);
	OnnxStatus	st;

	if (reader == NULL || changed == NULL)
		return onnx_error_set(fc->err, ONNX_ERR_OUT_OF_MEMORY, "out of memory folding constants");
	onnx_graph_count_captures(g, reader);
	/* captures read the enclosing graphs' values, which may have been folded */
	for (int i = 0; i < g->n_values; i++)
		changed[i] = g->values[i].source == ONNX_SRC_OUTER;
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *n = &g->nodes[i];

		if (n->skip || n->def == NULL)
			continue;
		if (has_graph_attr(n))
			st = fold_subgraphs(fc, g, n, changed);
		else
		{
			reinfer_node(fc, g, n, changed, false);
			st = fold_node(fc, g, n, reader, changed);
		}
		if (st != ONNX_OK)
			return st;
	}
	drop_dead_nodes(fc, g, reader);
	return ONNX_OK;
}

OnnxStatus
onnx_graph_fold(OnnxModel *model, OnnxGraph *g, const OnnxAllocator *scratch, OnnxError *err)
{
	FoldCtx		fc;
	OnnxSessionOptions opts = {0};
	OnnxStatus	st;

	fc.model = model;
	fc.scratch = scratch ? scratch : model->alloc;
	fc.err = err;
	opts.threads = 1;
	opts.alloc = fc.scratch;
	if ((st = onnx_session_create(model, &opts, &fc.session, err)) != ONNX_OK)
		return st;
	st = fold_graph(&fc, g);
	onnx_session_free(fc.session);
	return st;
}

void
onnx_model_free_folded(OnnxModel *model)
{
	for (OnnxFoldedValue *f = model->folded; f; f = f->next)
		onnx_value_release(model->alloc, &f->value);
	model->folded = NULL;
	model->folded_bytes = 0;
}
