/*-------------------------------------------------------------------------
 *
 * optimize.c
 *	  Graph rewrites done once at load, after operator resolution and
 *	  inference.  Each keeps the graph's results unchanged.
 *
 *	  - Identity: its readers read its input instead, unless its output is
 *	    a graph output or captured by a subgraph; the node is skipped.
 *	  - Reshape to a constant shape (no dim copied from the input) of the
 *	    output of Reshape, Flatten, Squeeze or Unsqueeze read by nothing
 *	    else: it reshapes that node's input directly, and the node is
 *	    skipped (chains collapse into their last Reshape).
 *	  - Conv followed by BatchNormalization (inference), both with constant
 *	    float weights used nowhere else: the normalization is folded into
 *	    the convolution's weights and bias, and the BatchNormalization node
 *	    is skipped.
 *	  - Gemm or Conv followed by Relu: when its output feeds only that
 *	    Relu and is not a graph output, the producer writes the Relu's
 *	    output and applies the activation in place; the Relu node is
 *	    skipped.
 *	  - MatMul followed by Add of a constant float32 1-D bias with one
 *	    value per output column: the MatMul writes the Add's output,
 *	    starting from the bias rows (GEMM with beta 1); the Add is skipped.
 *
 *	  Subgraphs (If branches, Loop and Scan bodies) are optimized the same
 *	  way.  A value a subgraph captures counts as one more use, so no
 *	  rewrite changes or takes over what a subgraph reads: its producer
 *	  keeps writing it, and an initializer it reads is never rewritten.
 *
 *-------------------------------------------------------------------------
 */
#include "engine_internal.h"
#include "optimize.h"

#include <math.h>

/*
 * uses[id] = number of node inputs of g that read value id, skipped nodes
 * included, plus one per capture of id by a subgraph (at any depth), so
 * that no rewrite takes a value a subgraph reads for its own (counted once
 * per optimization, kept up to date by rewrites that add an input); NULL
 * if out of memory.
 */
static int *
count_uses(const OnnxGraph *g, OnnxArena *arena)
{
	int		   *uses = onnx_arena_alloc(arena, sizeof(int) * ((size_t) g->n_values + 1));

	if (uses == NULL)
		return NULL;
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; k < g->nodes[i].n_inputs; k++)
			if (g->nodes[i].inputs[k] >= 0)
				uses[g->nodes[i].inputs[k]]++;
	onnx_graph_count_captures(g, uses);
	return uses;
}

/* Number of node inputs that read value id (0 for an absent value). */
static inline int
consumers(const int *uses, int id)
{
	return id >= 0 ? uses[id] : 0;
}

/* The float32 initializer tensor of value id with n elements, or NULL. */
static OnnxTensor *
const_f32(OnnxGraph *g, int id, int64_t n)
{
	OnnxTensor *t;

	if (id < 0 || g->values[id].source != ONNX_SRC_INITIALIZER || g->values[id].init == NULL ||
		g->values[id].is_output || g->values[id].overridable)
		return NULL;
	t = &g->values[id].init->tensor;
	if (g->values[id].init->kind != ONNX_VALUE_TENSOR || t->dtype != ONNX_DTYPE_FLOAT ||
		t->data == NULL || t->count != n)
		return NULL;
	return t;
}

/*
 * Fold BatchNormalization into the Conv that feeds it:
 *	 s = scale / sqrt(var + eps);  W'[m] = W[m] * s[m];
 *	 B'[m] = (B[m] - mean[m]) * s[m] + bias[m]
 * W (M, C/group, k...) and B (M) must be float initializers read only by
 * this Conv, and the BN's four parameters float initializers (M).  A Conv
 * without B takes the BN's bias initializer (read only by the BN) as B'.
 */
static void
fold_conv_batchnorm(OnnxGraph *g, OnnxArena *arena, int *uses)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *bn = &g->nodes[i];
		OnnxNode   *conv;
		OnnxTensor *w,
				   *b,
				   *scale,
				   *bias,
				   *mean,
				   *var;
		int			mid,
					bias_id;
		int64_t		M,
					per;
		float		eps;

		if (bn->skip || bn->domain[0] || strcmp(bn->op_type, "BatchNormalization") != 0 ||
			bn->n_inputs != 5 || bn->outputs[0] < 0 || onnx_attr_int(bn, "training_mode", 0) != 0)
			continue;
		for (int k = 1; k < bn->n_outputs; k++)
			if (bn->outputs[k] >= 0)
				goto next;
		mid = bn->inputs[0];
		if (mid < 0 || g->values[mid].source != ONNX_SRC_NODE || g->values[mid].is_output ||
			g->values[mid].producer < 0 || consumers(uses, mid) != 1)
			continue;
		conv = &g->nodes[g->values[mid].producer];
		if (conv->skip || conv->fused_relu || conv->domain[0] || strcmp(conv->op_type, "Conv") != 0 ||
			conv->n_outputs != 1 || conv->outputs[0] != mid || conv->n_inputs < 2 ||
			conv->inputs[1] < 0 || consumers(uses, conv->inputs[1]) != 1 ||
			g->values[conv->inputs[1]].init == NULL)
			continue;
		w = &g->values[conv->inputs[1]].init->tensor;
		if (w->rank < 3 || w->dims[0] <= 0)
			continue;
		M = w->dims[0];
		if ((w = const_f32(g, conv->inputs[1], w->count)) == NULL ||
			(scale = const_f32(g, bn->inputs[1], M)) == NULL ||
			(bias = const_f32(g, bn->inputs[2], M)) == NULL ||
			(mean = const_f32(g, bn->inputs[3], M)) == NULL ||
			(var = const_f32(g, bn->inputs[4], M)) == NULL)
			continue;
		if (conv->n_inputs >= 3 && conv->inputs[2] >= 0)
		{
			bias_id = conv->inputs[2];
			if (consumers(uses, bias_id) != 1 || (b = const_f32(g, bias_id, M)) == NULL)
				continue;
		}
		else
		{
			int		   *ins;

			/* the BN's bias becomes the Conv's B; it must be read by the BN alone */
			bias_id = bn->inputs[2];
			if (consumers(uses, bias_id) != 1 ||
				(ins = onnx_arena_alloc(arena, sizeof(int) * 3)) == NULL)
				continue;
			ins[0] = conv->inputs[0];
			ins[1] = conv->inputs[1];
			ins[2] = bias_id;
			conv->inputs = ins;
			conv->n_inputs = 3;
			uses[bias_id]++;
			b = NULL;
		}
		eps = onnx_attr_float(bn, "epsilon", 1e-5f);
		per = w->count / M;
		for (int64_t m = 0; m < M; m++)
		{
			float	   *sc = scale->data,
					   *bi = bias->data,
					   *mu = mean->data,
					   *va = var->data,
					   *wd = (float *) w->data + m * per;
			float		sm = sc[m] / sqrtf(va[m] + (float) eps);
			float		b0 = b ? ((float *) b->data)[m] : 0.0f;

			for (int64_t j = 0; j < per; j++)
				wd[j] *= sm;
			((float *) g->values[bias_id].init->tensor.data)[m] = (b0 - mu[m]) * sm + bi[m];
		}
		/* the Conv now writes the BN's output */
		conv->outputs[0] = bn->outputs[0];
		g->values[bn->outputs[0]].producer = g->values[mid].producer;
		g->values[mid].last_use = -1;
		bn->skip = true;
next:
		;
	}
}

/* Fold Relu into the Gemm or Conv that feeds it. */
static void
fuse_relu(OnnxGraph *g, const int *uses)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *relu = &g->nodes[i];
		OnnxNode   *src;
		int			mid,
					prod;

		if (relu->skip || relu->domain[0] || strcmp(relu->op_type, "Relu") != 0 ||
			relu->n_inputs != 1 || relu->n_outputs != 1 || relu->outputs[0] < 0)
			continue;
		mid = relu->inputs[0];
		if (mid < 0 || g->values[mid].source != ONNX_SRC_NODE || g->values[mid].is_output)
			continue;
		prod = g->values[mid].producer;
		if (prod < 0)
			continue;
		src = &g->nodes[prod];
		if (src->skip || src->fused_relu || src->domain[0] ||
			(strcmp(src->op_type, "Gemm") != 0 && strcmp(src->op_type, "Conv") != 0) ||
			src->n_outputs != 1 || src->outputs[0] != mid ||
			consumers(uses, mid) != 1)
			continue;
		src->outputs[0] = relu->outputs[0];
		src->fused_relu = true;
		g->values[relu->outputs[0]].producer = prod;
		g->values[mid].last_use = -1;
		relu->skip = true;
	}
}

/* Static last dimension of value id (its initializer's or inferred), or -1. */
static int64_t
last_dim(const OnnxGraph *g, int id)
{
	const OnnxValueSlot *v = &g->values[id];

	if (v->init != NULL && v->init->kind == ONNX_VALUE_TENSOR)
		return v->init->tensor.rank >= 2 ? v->init->tensor.dims[v->init->tensor.rank - 1] : -1;
	return v->info.rank >= 2 ? v->info.dims[v->info.rank - 1] : -1;
}

/*
 * Fold Add(MatMul(A, B), bias) (either input order) into the MatMul when
 * bias is a float32 initializer of rank 1 whose length is B's static last
 * dimension N (B of rank 2 or more), so the sum keeps the MatMul's shape.
 */
static void
fuse_matmul_bias(OnnxGraph *g, const int *uses)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *add = &g->nodes[i];
		OnnxNode   *mm;
		const OnnxTensor *bias = NULL;
		int			mid = -1;

		if (add->skip || add->domain[0] || strcmp(add->op_type, "Add") != 0 || add->opset < 7 ||
			add->n_inputs != 2 || add->n_outputs != 1 || add->outputs[0] < 0)
			continue;
		for (int k = 0; k < 2 && bias == NULL; k++)
		{
			int			in = add->inputs[k],
						other = add->inputs[1 - k];
			OnnxTensor *t;

			if (in < 0 || other < 0 || g->values[in].source != ONNX_SRC_NODE ||
				g->values[in].is_output || g->values[in].producer < 0 ||
				g->values[other].init == NULL || g->values[other].init->kind != ONNX_VALUE_TENSOR)
				continue;
			t = &g->values[other].init->tensor;
			if (t->rank != 1 || const_f32(g, other, t->count) == NULL)
				continue;
			mid = in;
			bias = t;
		}
		if (bias == NULL)
			continue;
		mm = &g->nodes[g->values[mid].producer];
		if (mm->skip || mm->fused_relu || mm->fused_bias || mm->domain[0] ||
			strcmp(mm->op_type, "MatMul") != 0 || mm->n_inputs != 2 || mm->inputs[1] < 0 ||
			mm->n_outputs != 1 || mm->outputs[0] != mid || consumers(uses, mid) != 1 ||
			last_dim(g, mm->inputs[1]) != bias->count)
			continue;
		mm->outputs[0] = add->outputs[0];
		mm->fused_bias = bias;
		g->values[add->outputs[0]].producer = g->values[mid].producer;
		g->values[mid].last_use = -1;
		add->skip = true;
	}
}

/*
 * Identity whose output is neither a graph output nor captured by a
 * subgraph: its readers read its input instead, and the node is skipped
 * (and reads nothing, so that the rewrites after it see the true uses).
 */
static void
remove_identities(OnnxGraph *g, OnnxArena *arena)
{
	int		   *captured = NULL;
	int		   *alias = NULL;
	bool		any = false;

	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *n = &g->nodes[i];
		int			in,
					out;

		if (n->skip || n->domain[0] || strcmp(n->op_type, "Identity") != 0 ||
			n->n_inputs != 1 || n->n_outputs != 1 || (in = n->inputs[0]) < 0 ||
			(out = n->outputs[0]) < 0 || g->values[out].is_output)
			continue;
		if (captured == NULL)
		{
			captured = onnx_arena_alloc(arena, sizeof(int) * ((size_t) g->n_values + 1));
			alias = onnx_arena_alloc(arena, sizeof(int) * ((size_t) g->n_values + 1));
			if (captured == NULL || alias == NULL)
				return;
			onnx_graph_count_captures(g, captured);
			for (int v = 0; v < g->n_values; v++)
				alias[v] = v;
		}
		if (captured[out])
			continue;
		/* nodes are in execution order: in is resolved already */
		alias[out] = alias[in];
		n->skip = true;
		n->n_inputs = 0;
		n->n_outputs = 0;
		g->values[out].last_use = -1;
		any = true;
	}
	if (!any)
		return;
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; k < g->nodes[i].n_inputs; k++)
		{
			int			id = g->nodes[i].inputs[k];

			if (id >= 0 && alias[id] != id)
			{
				g->nodes[i].inputs[k] = alias[id];
				if (g->values[alias[id]].last_use < i)
					g->values[alias[id]].last_use = i;
			}
		}
}

/* Whether n only reshapes its input 0 (row-major order and count kept). */
static bool
is_reshape_like(const OnnxNode *n)
{
	return !n->skip && n->domain[0] == '\0' && n->n_outputs == 1 && n->n_inputs >= 1 &&
		n->inputs[0] >= 0 &&
		(strcmp(n->op_type, "Reshape") == 0 || strcmp(n->op_type, "Flatten") == 0 ||
		 strcmp(n->op_type, "Squeeze") == 0 || strcmp(n->op_type, "Unsqueeze") == 0);
}

/*
 * A Reshape to a constant shape that copies no dim from its input (no 0,
 * or allowzero) depends on its input's element count only, so it may read
 * the input of a reshape-like producer (Reshape, Flatten, Squeeze,
 * Unsqueeze) directly when nothing else reads the producer's output; the
 * producer is then skipped, and chains collapse into their last Reshape.
 * As in onnxruntime, a producer that would have failed at run time (a
 * bad shape) no longer runs.
 */
static void
collapse_reshapes(OnnxGraph *g, int *uses)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *r = &g->nodes[i];
		const OnnxTensor *shape;
		bool		copies_dims = false;

		if (!is_reshape_like(r) || strcmp(r->op_type, "Reshape") != 0 || r->opset < 5 ||
			r->n_inputs != 2 || (shape = onnx_const_input(g, r, 1)) == NULL ||
			shape->dtype != ONNX_DTYPE_INT64)
			continue;
		for (int64_t k = 0; k < shape->count; k++)
			if (((const int64_t *) shape->data)[k] == 0)
				copies_dims = true;
		if (copies_dims && onnx_attr_int(r, "allowzero", 0) == 0)
			continue;
		for (;;)
		{
			int			mid = r->inputs[0];
			int			p = g->values[mid].producer;
			OnnxNode   *prod;

			if (g->values[mid].source != ONNX_SRC_NODE || g->values[mid].is_output || p < 0 ||
				consumers(uses, mid) != 1 || !is_reshape_like(prod = &g->nodes[p]) ||
				prod->outputs[0] != mid)
				break;
			/* r reads what prod read; prod reads nothing and is skipped */
			r->inputs[0] = prod->inputs[0];
			uses[mid]--;
			for (int k = 0; k < prod->n_inputs; k++)
				if (prod->inputs[k] >= 0)
					uses[prod->inputs[k]]--;
			uses[r->inputs[0]]++;
			if (g->values[r->inputs[0]].last_use < i)
				g->values[r->inputs[0]].last_use = i;
			g->values[mid].last_use = -1;
			prod->skip = true;
			prod->n_inputs = 0;
			prod->n_outputs = 0;
		}
	}
}

/* Apply every rewrite to g, then to its subgraphs. */
void
onnx_graph_optimize(OnnxGraph *g, OnnxArena *arena)
{
	OnnxGraph  *sub;
	int		   *uses;

	remove_identities(g, arena);
	if ((uses = count_uses(g, arena)) == NULL)
		return;
	collapse_reshapes(g, uses);
	fold_conv_batchnorm(g, arena, uses);
	fuse_relu(g, uses);
	fuse_matmul_bias(g, uses);
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; (sub = onnx_node_subgraph(&g->nodes[i], k)) != NULL; k++)
			onnx_graph_optimize(sub, arena);
}
