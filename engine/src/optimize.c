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
 *	  - Gemm, Conv or Add followed by Relu: when its output feeds only that
 *	    Relu and is not a graph output, the producer writes the Relu's
 *	    output and applies the activation in place; the Relu node is
 *	    skipped.
 *	  - Conv (float32) followed by Add (or two-input Sum) of a tensor of
 *	    the Conv output's shape, and the Add's Relu: the Conv reads the addend as an extra
 *	    input and writes Relu((conv + B) + addend); the Add is skipped.
 *	  - MatMul followed by Add of a constant float32 1-D bias with one
 *	    value per output column: the MatMul writes the Add's output,
 *	    starting from the bias rows (GEMM with beta 1); the Add is skipped.
 *
 *	  - ConvInteger -> Cast(float) -> Mul(s), quantize_dynamic's Conv, with s
 *	    of a static shape broadcasting along the channels (x_scale *
 *	    w_scale): the engine's ConvIntegerToFloat (qconv.c) reading s (or
 *	    the two factors of the Mul that makes s) and writing float, with the per-channel Mul / Add / BatchNormalization
 *	    after it and an activation folded in (fused_scale, fused_bias,
 *	    fused_act).
 *	  - QuantizeLinear -> QLinearMatMul -> DequantizeLinear of the
 *	    QLinearMatMul's own parameters: the engine's QLinearMatMulFloat
 *	    (ops_quant.c), one node.
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
#include "op_tables.h"

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
		if (conv->skip || conv->fused_act.kind != ONNX_ACT_NONE || conv->fused_bias ||
			conv->domain[0] || strcmp(conv->op_type, "Conv") != 0 ||
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
		bn->skip = true;
		/*
		 * the BN reads nothing any more: later rewrites see the counts a
		 * fresh count_uses would give (its bias, moved to the Conv, read once)
		 */
		for (int k = 0; k < bn->n_inputs; k++)
			if (bn->inputs[k] >= 0)
				uses[bn->inputs[k]]--;
		bn->n_inputs = 0;
		bn->n_outputs = 0;
next:
		;
	}
}

/*
 * Readers of every value: node indices user[off[id] .. off[id + 1]), a
 * node once per input that reads the value, skipped nodes included; -1
 * for a use by a subgraph (a capture), which no rewrite may take over.
 */
typedef struct Users
{
	int		   *off;
	int		   *user;
} Users;

static bool
users_build(const OnnxGraph *g, OnnxArena *arena, const int *uses, Users *u)
{
	int		   *fill;
	int			total = 0;

	u->off = onnx_arena_alloc(arena, sizeof(int) * ((size_t) g->n_values + 1));
	fill = onnx_arena_alloc(arena, sizeof(int) * ((size_t) g->n_values + 1));
	if (u->off == NULL || fill == NULL)
		return false;
	for (int id = 0; id < g->n_values; id++)
	{
		u->off[id] = total;
		fill[id] = total;
		total += uses[id];
	}
	u->off[g->n_values] = total;
	if ((u->user = onnx_arena_alloc(arena, sizeof(int) * ((size_t) total + 1))) == NULL)
		return false;
	for (int k = 0; k < total; k++)
		u->user[k] = -1;
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; k < g->nodes[i].n_inputs; k++)
			if (g->nodes[i].inputs[k] >= 0)
				u->user[fill[g->nodes[i].inputs[k]]++] = i;
	return true;
}

/* The one-element float32 constant of value id, into *v. */
static bool
const_scalar(OnnxGraph *g, int id, float *v)
{
	OnnxTensor *t = const_f32(g, id, 1);

	if (t == NULL)
		return false;
	*v = ((const float *) t->data)[0];
	return true;
}

/*
 * The node that alone reads value id, computed by a live node, not a
 * graph output and of static type float32 unless any_type; NULL
 * otherwise.
 */
static OnnxNode *
sole_reader(OnnxGraph *g, const int *uses, const Users *u, int id, bool any_type)
{
	OnnxNode   *n;

	if (id < 0 || g->values[id].source != ONNX_SRC_NODE || g->values[id].is_output ||
		consumers(uses, id) != 1 || (!any_type && g->values[id].info.dtype != ONNX_DTYPE_FLOAT))
		return NULL;
	if (u->user[u->off[id]] < 0)
		return NULL;			/* read by a subgraph */
	n = &g->nodes[u->user[u->off[id]]];
	return n->skip || n->domain[0] || n->n_outputs != 1 || n->outputs[0] < 0 ? NULL : n;
}

static bool
is_op(const OnnxNode *n, const char *op)
{
	return n != NULL && strcmp(n->op_type, op) == 0;
}

/* Whether binary node n reads values a and b, in either order. */
static bool
reads_pair(const OnnxNode *n, int a, int b)
{
	return n->n_inputs == 2 &&
		((n->inputs[0] == a && n->inputs[1] == b) || (n->inputs[0] == b && n->inputs[1] == a));
}

/* For binary node n reading value a: the constant scalar of its other input. */
static bool
other_scalar(OnnxGraph *g, const OnnxNode *n, int a, float *v)
{
	if (n->n_inputs != 2 || n->opset < 7)
		return false;
	if (n->inputs[0] == a)
		return const_scalar(g, n->inputs[1], v);
	return n->inputs[1] == a && const_scalar(g, n->inputs[0], v);
}

/* Clip's bounds (attributes before opset 11, constant inputs after). */
static bool
clip_bounds(OnnxGraph *g, const OnnxNode *clip, float *lo, float *hi)
{
	*lo = -INFINITY;
	*hi = INFINITY;
	if (clip->opset < 11)
	{
		*lo = onnx_attr_float(clip, "min", -3.402823e+38f);
		*hi = onnx_attr_float(clip, "max", 3.402823e+38f);
		return true;
	}
	if (clip->n_inputs > 1 && clip->inputs[1] >= 0 && !const_scalar(g, clip->inputs[1], lo))
		return false;
	if (clip->n_inputs > 2 && clip->inputs[2] >= 0 && !const_scalar(g, clip->inputs[2], hi))
		return false;
	return true;
}

/* An activation pattern found after a producer: what it computes and its nodes. */
typedef struct ActMatch
{
	OnnxFusedAct act;
	int			n_nodes;
	OnnxNode   *nodes[5];		/* to skip, in order; the last writes the result */
} ActMatch;

/* One-input activation node n reading x: its kind and parameters. */
static bool
match_unary_act(OnnxGraph *g, const OnnxNode *n, int x, OnnxFusedAct *act)
{
	if (n->n_inputs < 1 || n->inputs[0] != x)
		return false;
	for (int k = 1; k < n->n_inputs; k++)
		if (n->inputs[k] == x)
			return false;
	act->alpha = 0;
	act->beta = 0;
	if (is_op(n, "Relu"))
		act->kind = ONNX_ACT_RELU;
	else if (is_op(n, "LeakyRelu"))
	{
		act->kind = ONNX_ACT_LEAKY_RELU;
		act->alpha = onnx_attr_float(n, "alpha", 0.01f);
	}
	else if (is_op(n, "HardSigmoid"))
	{
		act->kind = ONNX_ACT_HARD_SIGMOID;
		act->alpha = onnx_attr_float(n, "alpha", 0.2f);
		act->beta = onnx_attr_float(n, "beta", 0.5f);
	}
	else if (is_op(n, "HardSwish"))
	{
		act->kind = ONNX_ACT_HARD_SWISH;
		act->alpha = 1.0f / 6.0f;
		act->beta = 0.5f;
	}
	else if (is_op(n, "Sigmoid"))
		act->kind = ONNX_ACT_SIGMOID;
	else if (is_op(n, "Tanh"))
		act->kind = ONNX_ACT_TANH;
	else if (is_op(n, "Clip"))
	{
		act->kind = ONNX_ACT_CLIP;
		if (!clip_bounds(g, n, &act->alpha, &act->beta) || isnan(act->alpha) || isnan(act->beta))
			return false;
	}
	else
		return false;
	return n->n_inputs == 1 || act->kind == ONNX_ACT_CLIP;
}

/*
 * x * gate(x) read by two nodes, gate and the Mul: SiLU for a Sigmoid
 * gate, HardSwish(alpha, beta) for a HardSigmoid gate.
 */
static bool
match_gated(OnnxGraph *g, const int *uses, const Users *u, int x, ActMatch *m)
{
	int			a = u->user[u->off[x]],
				b = u->user[u->off[x] + 1];

	if (a < 0 || b < 0)
		return false;			/* read by a subgraph */
	for (int pass = 0; pass < 2; pass++)
	{
		OnnxNode   *gate = &g->nodes[pass ? b : a];
		OnnxNode   *mul;
		OnnxFusedAct ga;

		if (gate->skip || gate->domain[0] || gate->n_outputs != 1 ||
			!match_unary_act(g, gate, x, &ga) ||
			(ga.kind != ONNX_ACT_SIGMOID && ga.kind != ONNX_ACT_HARD_SIGMOID))
			continue;
		mul = sole_reader(g, uses, u, gate->outputs[0], false);
		if (!is_op(mul, "Mul") || mul != &g->nodes[pass ? a : b] ||
			!reads_pair(mul, x, gate->outputs[0]))
			continue;
		m->act = ga;
		m->act.kind = ga.kind == ONNX_ACT_SIGMOID ? ONNX_ACT_SILU : ONNX_ACT_HARD_SWISH;
		m->nodes[0] = gate;
		m->nodes[1] = mul;
		m->n_nodes = 2;
		return true;
	}
	return false;
}

/*
 * HardSwish spelled out, x read by the Add and a Mul:
 *	 Mul(x, Clip(Add(x, c), 0, h)) then Div by h (or Mul by 1/h), or
 *	 Div (Mul) of the Clip first and Mul(x, .) last
 * = x * max(0, min(1, x / h + c / h)).
 */
static bool
match_spelled_hardswish(OnnxGraph *g, const int *uses, const Users *u, int x, ActMatch *m)
{
	int			a = u->user[u->off[x]],
				b = u->user[u->off[x] + 1];

	if (a < 0 || b < 0)
		return false;			/* read by a subgraph */
	for (int pass = 0; pass < 2; pass++)
	{
		OnnxNode   *add = &g->nodes[pass ? b : a];
		OnnxNode   *clip,
				   *n3,
				   *n4;
		float		c,
					lo,
					hi,
					d;
		OnnxNode   *mul = &g->nodes[pass ? a : b];

		if (add->skip || add->domain[0] || !is_op(add, "Add") || add->n_outputs != 1 ||
			!other_scalar(g, add, x, &c))
			continue;
		clip = sole_reader(g, uses, u, add->outputs[0], false);
		if (!is_op(clip, "Clip") || clip->inputs[0] != add->outputs[0] ||
			!clip_bounds(g, clip, &lo, &hi) || lo != 0.0f || !(hi > 0.0f) || isinf(hi))
			continue;
		n3 = sole_reader(g, uses, u, clip->outputs[0], false);
		if (n3 == NULL || (n4 = sole_reader(g, uses, u, n3->outputs[0], false)) == NULL)
			continue;
		if (is_op(n3, "Mul") && n3 == mul && reads_pair(n3, x, clip->outputs[0]))
		{
			/* x * clip, then scaled */
			if (!other_scalar(g, n4, n3->outputs[0], &d))
				continue;
		}
		else if (is_op(n4, "Mul") && n4 == mul && reads_pair(n4, x, n3->outputs[0]))
		{
			/* clip scaled, then times x */
			if (!other_scalar(g, n3, clip->outputs[0], &d))
				continue;
		}
		else
			continue;
		if (is_op(n3, "Div") || is_op(n4, "Div"))
		{
			OnnxNode   *div = is_op(n3, "Div") ? n3 : n4;

			/* the constant must be the divisor: Div(value, h) */
			if (!(d == hi) ||
				(div == n4 && div->inputs[0] != n3->outputs[0]) ||
				(div == n3 && div->inputs[0] != clip->outputs[0]))
				continue;
		}
		else if (!((is_op(n3, "Mul") && is_op(n4, "Mul")) && fabsf(d * hi - 1.0f) <= 1e-6f))
			continue;
		m->act.kind = ONNX_ACT_HARD_SWISH;
		m->act.alpha = 1.0f / hi;
		m->act.beta = c / hi;
		m->nodes[0] = add;
		m->nodes[1] = clip;
		m->nodes[2] = n3;
		m->nodes[3] = n4;
		m->n_nodes = 4;
		return true;
	}
	return false;
}

/*
 * GELU spelled out with Erf, x read by two nodes, the scaling and a Mul:
 *	 Mul(Mul(x, 0.5), Add(Erf(Div(x, sqrt 2)), 1))		x * 0.5 * (1 + erf)
 *	 Mul(x, Mul(Add(Erf(..), 1), 0.5))					x * (0.5 * (1 + erf))
 *	 Mul(Mul(x, Add(Erf(..), 1)), 0.5)					x * (1 + erf) * 0.5
 * with Div(x, sqrt 2) or Mul(x, 1 / sqrt 2), each Add and Mul in either
 * operand order (the export of BERT-style models): 0.5 x (1 + erf(x / sqrt 2)).
 */
static bool
match_spelled_gelu(OnnxGraph *g, const int *uses, const Users *u, int x, ActMatch *m)
{
	int			a = u->user[u->off[x]],
				b = u->user[u->off[x] + 1];

	if (a < 0 || b < 0 || a == b)
		return false;			/* read by a subgraph, or twice by one node */
	for (int pass = 0; pass < 2; pass++)
	{
		OnnxNode   *scale = &g->nodes[pass ? b : a];
		OnnxNode   *other = &g->nodes[pass ? a : b];	/* x's other reader, a Mul */
		OnnxNode   *erf,
				   *add,
				   *n4,
				   *n5 = NULL;
		float		c,
					one,
					half;

		if (scale->skip || scale->domain[0] || scale->n_outputs != 1 || !is_op(other, "Mul") ||
			!other_scalar(g, scale, x, &c))
			continue;
		if (is_op(scale, "Div") ? scale->inputs[0] != x || fabsf(c - 1.41421356f) > 1e-6f :
			!is_op(scale, "Mul") || fabsf(c - 0.70710678f) > 1e-6f)
			continue;
		erf = sole_reader(g, uses, u, scale->outputs[0], false);
		if (!is_op(erf, "Erf") || erf->n_inputs != 1)
			continue;
		add = sole_reader(g, uses, u, erf->outputs[0], false);
		if (!is_op(add, "Add") || !other_scalar(g, add, erf->outputs[0], &one) || one != 1.0f)
			continue;
		n4 = sole_reader(g, uses, u, add->outputs[0], false);
		if (!is_op(n4, "Mul"))
			continue;
		if (other_scalar(g, other, x, &half) && half == 0.5f)
		{
			/* x * 0.5 first: n4 multiplies it by (1 + erf) */
			if (n4 != sole_reader(g, uses, u, other->outputs[0], false) ||
				!reads_pair(n4, other->outputs[0], add->outputs[0]))
				continue;
			m->nodes[3] = other;
			m->nodes[4] = n4;
		}
		else
		{
			n5 = sole_reader(g, uses, u, n4->outputs[0], false);
			if (!is_op(n5, "Mul"))
				continue;
			if (n5 == other && reads_pair(n5, x, n4->outputs[0]) &&
				other_scalar(g, n4, add->outputs[0], &half) && half == 0.5f)
				;				/* 0.5 * (1 + erf) first, then times x */
			else if (n4 == other && reads_pair(n4, x, add->outputs[0]) &&
					 other_scalar(g, n5, n4->outputs[0], &half) && half == 0.5f)
				;				/* x * (1 + erf) first, then times 0.5 */
			else
				continue;
			m->nodes[3] = n4;
			m->nodes[4] = n5;
		}
		m->act.kind = ONNX_ACT_GELU;
		m->act.alpha = 0;
		m->act.beta = 0;
		m->nodes[0] = scale;
		m->nodes[1] = erf;
		m->nodes[2] = add;
		m->n_nodes = 5;
		return true;
	}
	return false;
}

/*
 * Activations a producer accepts: every kind for Conv, ConvTranspose and
 * BatchNormalization, Relu and GELU for Gemm and MatMul (applied after
 * MatMul's folded bias), Relu for Add (a residual block's sum).
 */
static bool
accepts_act(const OnnxNode *src, OnnxActKind kind)
{
	if (strcmp(src->domain, ONNX_ENGINE_DOMAIN) == 0)
		return strcmp(src->op_type, "ConvIntegerToFloat") == 0;
	if (src->domain[0])
		return false;
	if (strcmp(src->op_type, "Conv") == 0 || strcmp(src->op_type, "ConvTranspose") == 0 ||
		strcmp(src->op_type, "BatchNormalization") == 0)
		return true;
	if (strcmp(src->op_type, "Add") == 0)
		return kind == ONNX_ACT_RELU;	/* a residual sum's Relu */
	return (kind == ONNX_ACT_RELU || kind == ONNX_ACT_GELU) &&
		(strcmp(src->op_type, "Gemm") == 0 || strcmp(src->op_type, "MatMul") == 0);
}

/*
 * Fold the activation after a Conv, ConvTranspose (every kind) or Gemm
 * (Relu) into it: the producer writes the activation's output and applies
 * it while writing; the activation's nodes are skipped.  Every value in
 * between is read only inside the pattern and is no graph output; all
 * but Relu need float32 values.
 */
static void
fuse_activations(OnnxGraph *g, const int *uses, const Users *u)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *src = &g->nodes[i];
		ActMatch	m;
		int			mid,
					out;

		if (src->skip || src->fused_act.kind != ONNX_ACT_NONE || src->n_outputs != 1 ||
			(mid = src->outputs[0]) < 0 || g->values[mid].source != ONNX_SRC_NODE ||
			g->values[mid].is_output || !accepts_act(src, ONNX_ACT_RELU))
			continue;
		memset(&m, 0, sizeof(m));
		if (consumers(uses, mid) == 1)
		{
			OnnxNode   *n = sole_reader(g, uses, u, mid, true);

			if (n == NULL || !match_unary_act(g, n, mid, &m.act))
				continue;
			if (m.act.kind != ONNX_ACT_RELU && g->values[mid].info.dtype != ONNX_DTYPE_FLOAT)
				continue;
			m.nodes[0] = n;
			m.n_nodes = 1;
		}
		else if (consumers(uses, mid) == 2 && g->values[mid].info.dtype == ONNX_DTYPE_FLOAT)
		{
			if (!match_gated(g, uses, u, mid, &m) && !match_spelled_hardswish(g, uses, u, mid, &m) &&
				!match_spelled_gelu(g, uses, u, mid, &m))
				continue;
		}
		else
			continue;
		if (!accepts_act(src, m.act.kind))
			continue;
		out = m.nodes[m.n_nodes - 1]->outputs[0];
		for (int k = 0; k < m.n_nodes; k++)
			m.nodes[k]->skip = true;
		src->outputs[0] = out;
		src->fused_act = m.act;
		g->values[out].producer = i;
	}
}

/*
 * Whether values a and b have one static shape: the same rank and every
 * dim known and equal or unknown under one symbolic name.
 */
static bool
same_static_shape(const OnnxGraph *g, int a, int b)
{
	const OnnxValueInfo *ia = &g->values[a].info,
			   *ib = &g->values[b].info;

	if (ia->rank < 0 || ia->rank != ib->rank)
		return false;
	for (int d = 0; d < ia->rank; d++)
		if (ia->dims[d] >= 0 ? ia->dims[d] != ib->dims[d] :
			(ib->dims[d] >= 0 || ia->dim_params[d] == NULL || ib->dim_params[d] == NULL ||
			 strcmp(ia->dim_params[d], ib->dim_params[d]) != 0))
			return false;
	return true;
}

/*
 * Fold a residual Add (with the Relu fuse_activations gave it) or
 * two-input Sum (same-shape inputs: the same sum) into the
 * float32 Conv that makes one of its inputs: Conv -> Add(other) [-> act]
 * where the Conv's output is read by that Add alone, is no graph output,
 * and other has the Add's static shape (no broadcast) and is ready before
 * the Conv runs (not made by a later node).  The Conv reads other as an
 * appended input 3, writes the Add's output as act((conv + B) + other),
 * the rounding order of the nodes it replaces; the Add is skipped.
 */
static void
fuse_conv_sum(OnnxGraph *g, OnnxArena *arena, int *uses, const Users *u)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *conv = &g->nodes[i],
				   *add;
		int			mid,
					other,
					out,
				   *ins;

		if (conv->skip || conv->domain[0] || strcmp(conv->op_type, "Conv") != 0 ||
			conv->fused_act.kind != ONNX_ACT_NONE || conv->fused_sum || conv->n_outputs != 1 ||
			conv->n_inputs < 2 || conv->n_inputs > 3 || (mid = conv->outputs[0]) < 0)
			continue;
		add = sole_reader(g, uses, u, mid, false);
		if (!(is_op(add, "Add") || is_op(add, "Sum")) || add->n_inputs != 2 ||
			(add->fused_act.kind != ONNX_ACT_NONE && add->fused_act.kind != ONNX_ACT_RELU))
			continue;
		other = add->inputs[0] == mid ? add->inputs[1] : add->inputs[0];
		out = add->outputs[0];
		if (other < 0 || other == mid || g->values[other].info.dtype != ONNX_DTYPE_FLOAT ||
			g->values[out].info.dtype != ONNX_DTYPE_FLOAT ||
			!same_static_shape(g, mid, other) || !same_static_shape(g, mid, out) ||
			(g->values[other].source == ONNX_SRC_NODE && g->values[other].producer >= i))
			continue;
		if ((ins = onnx_arena_alloc(arena, sizeof(int) * 4)) == NULL)
			return;
		for (int k = 0; k < 3; k++)
			ins[k] = k < conv->n_inputs ? conv->inputs[k] : -1;
		ins[3] = other;
		conv->inputs = ins;
		conv->n_inputs = 4;
		conv->fused_sum = true;
		conv->fused_act = add->fused_act;
		conv->outputs[0] = out;
		g->values[out].producer = i;
		add->skip = true;
		uses[other]++;
	}
}

/*
 * The per-channel constant of value id for an output of rank rank with
 * M channels (dim 1): a float32 initializer of one element, or of shape
 * (..., M, 1, ..., 1) broadcasting along the channel dim only; NULL
 * otherwise.
 */
static const float *
channel_const(OnnxGraph *g, int id, int rank, int64_t M, bool *per_channel)
{
	OnnxTensor *t;

	if (id < 0 || g->values[id].init == NULL || g->values[id].init->kind != ONNX_VALUE_TENSOR)
		return NULL;
	t = &g->values[id].init->tensor;
	if (t->rank > rank || (t->count != 1 && t->count != M) || const_f32(g, id, t->count) == NULL)
		return NULL;
	for (int i = 0; i < t->rank; i++)
	{
		int			pos = rank - t->rank + i;

		if (t->dims[i] != 1 && !(pos == 1 && t->dims[i] == M))
			return NULL;
	}
	*per_channel = t->count != 1;
	return t->data;
}

/*
 * The Mul or Add (opset 7+) that alone reads value mid (rank dims, M
 * channels) with a per-channel or scalar float32 constant as its other
 * input: the node, *mul, its constant *c and whether that has M values;
 * NULL when there is none.
 */
static OnnxNode *
affine_reader(OnnxGraph *g, const int *uses, const Users *u, int mid, int rank, int64_t M,
			  bool *mul, const float **c, bool *per_channel)
{
	OnnxNode   *op = sole_reader(g, uses, u, mid, false);

	if (op == NULL || op->opset < 7 || op->n_inputs != 2 ||
		!(is_op(op, "Mul") || is_op(op, "Add")) || op->inputs[0] == op->inputs[1])
		return NULL;
	*mul = is_op(op, "Mul");
	*c = channel_const(g, op->inputs[op->inputs[0] == mid ? 1 : 0], rank, M, per_channel);
	return *c ? op : NULL;
}

/* Node i (producer) now writes the output of op, which it absorbed; op is skipped. */
static void
absorb_reader(OnnxGraph *g, int i, OnnxNode *producer, OnnxNode *op)
{
	producer->outputs[0] = op->outputs[0];
	g->values[op->outputs[0]].producer = i;
	op->skip = true;
}

/*
 * Fold Mul and Add by per-channel (or scalar) float32 constants after a
 * Conv into its weights and bias: Mul(conv, s) gives W'[m] = W[m] * s[m],
 * B'[m] = B[m] * s[m]; Add(conv, c) gives B'[m] = B[m] + c[m].  W and B
 * must be float32 initializers read only by the Conv; a Conv without B
 * gets an arena bias (fused_bias) for the Add.  Chains fold one by one.
 */
static void
fold_conv_affine(OnnxGraph *g, OnnxArena *arena, const int *uses, const Users *u)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *conv = &g->nodes[i],
				   *op;
		OnnxTensor *w,
				   *b = NULL;
		const float *c;
		bool		per_channel,
					mul;
		int64_t		M,
					per;
		int			rank;

		if (conv->skip || conv->domain[0] || strcmp(conv->op_type, "Conv") != 0 ||
			conv->fused_act.kind != ONNX_ACT_NONE || conv->n_outputs != 1 || conv->n_inputs < 2 ||
			conv->inputs[1] < 0 || consumers(uses, conv->inputs[1]) != 1 ||
			g->values[conv->inputs[1]].init == NULL)
			continue;
		w = &g->values[conv->inputs[1]].init->tensor;
		if (w->rank < 3 || w->dims[0] <= 0 || (w = const_f32(g, conv->inputs[1], w->count)) == NULL)
			continue;
		M = w->dims[0];
		rank = w->rank;
		per = w->count / M;
		if (conv->n_inputs >= 3 && conv->inputs[2] >= 0 &&
			(consumers(uses, conv->inputs[2]) != 1 || (b = const_f32(g, conv->inputs[2], M)) == NULL))
			continue;
		if (b == NULL && conv->fused_bias)
			b = (OnnxTensor *) conv->fused_bias;
		while ((op = affine_reader(g, uses, u, conv->outputs[0], rank, M, &mul, &c,
								   &per_channel)) != NULL)
		{
			if (!mul && b == NULL)
			{
				OnnxTensor *t = onnx_arena_alloc(arena, sizeof(OnnxTensor));
				float	   *d = onnx_arena_alloc(arena, sizeof(float) * (size_t) M);
				OnnxError	err;

				if (t == NULL || d == NULL ||
					onnx_tensor_set_shape(t, ONNX_DTYPE_FLOAT, 1, &M, &err) != ONNX_OK)
					break;
				t->data = d;
				conv->fused_bias = b = t;
			}
			for (int64_t m = 0; m < M; m++)
			{
				float		v = c[per_channel ? m : 0];
				float	   *bd = b ? (float *) b->data : NULL;

				if (mul)
				{
					float	   *wd = (float *) w->data + m * per;

					for (int64_t j = 0; j < per; j++)
						wd[j] *= v;
					if (bd)
						bd[m] *= v;
				}
				else
					bd[m] += v;
			}
			absorb_reader(g, i, conv, op);
		}
	}
}

/*
 * Fold Mul and Add by per-channel (or scalar) float32 constants after an
 * inference BatchNormalization into its scale and bias: Mul(bn, s) gives
 * scale'[m] = scale[m] * s[m], bias'[m] = bias[m] * s[m]; Add(bn, c) gives
 * bias'[m] = bias[m] + c[m].  scale and bias must be float32 initializers
 * of M values read only by the BN, whose output rank is known.  (A
 * BatchNormalization after a Conv was folded into the Conv before.)
 */
static void
fold_bn_affine(OnnxGraph *g, const int *uses, const Users *u)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *bn = &g->nodes[i],
				   *op;
		OnnxTensor *scale,
				   *bias;
		const float *c;
		bool		per_channel,
					mul;
		int64_t		M;
		int			rank;

		if (bn->skip || bn->domain[0] || strcmp(bn->op_type, "BatchNormalization") != 0 ||
			bn->n_inputs != 5 || bn->n_outputs != 1 || bn->outputs[0] < 0 ||
			bn->fused_act.kind != ONNX_ACT_NONE || onnx_attr_int(bn, "training_mode", 0) != 0 ||
			bn->inputs[1] < 0 || bn->inputs[2] < 0 || bn->inputs[1] == bn->inputs[2] ||
			consumers(uses, bn->inputs[1]) != 1 || consumers(uses, bn->inputs[2]) != 1 ||
			g->values[bn->inputs[1]].init == NULL ||
			g->values[bn->inputs[1]].init->kind != ONNX_VALUE_TENSOR)
			continue;
		M = g->values[bn->inputs[1]].init->tensor.count;
		rank = g->values[bn->outputs[0]].info.rank;
		if (M < 1 || rank < 2 || (scale = const_f32(g, bn->inputs[1], M)) == NULL ||
			(bias = const_f32(g, bn->inputs[2], M)) == NULL)
			continue;
		while ((op = affine_reader(g, uses, u, bn->outputs[0], rank, M, &mul, &c,
								   &per_channel)) != NULL)
		{
			for (int64_t m = 0; m < M; m++)
			{
				float		v = c[per_channel ? m : 0];

				if (mul)
				{
					((float *) scale->data)[m] *= v;
					((float *) bias->data)[m] *= v;
				}
				else
					((float *) bias->data)[m] += v;
			}
			absorb_reader(g, i, bn, op);
		}
	}
}

/*
 * Whether value id is float32 of a static shape that broadcasts along dim
 * 1 only of an output of rank rank with M channels (one value, or M).
 */
static bool
channel_shaped(const OnnxGraph *g, int id, int rank, int64_t M)
{
	const OnnxValueInfo *in = &g->values[id].info;

	if (in->dtype != ONNX_DTYPE_FLOAT || in->rank < 0 || in->rank > rank)
		return false;
	for (int i = 0; i < in->rank; i++)
		if (in->dims[i] != 1 && !(rank - in->rank + i == 1 && in->dims[i] == M))
			return false;
	return true;
}

/* A zeroed float32 arena tensor (M) holding v, or NULL. */
static OnnxTensor *
arena_channels(OnnxArena *arena, int64_t M, float v)
{
	OnnxTensor *t = onnx_arena_alloc(arena, sizeof(OnnxTensor));
	float	   *d = onnx_arena_alloc(arena, sizeof(float) * (size_t) M);
	OnnxError	err;

	if (t == NULL || d == NULL || onnx_tensor_set_shape(t, ONNX_DTYPE_FLOAT, 1, &M, &err) != ONNX_OK)
		return NULL;
	for (int64_t m = 0; m < M; m++)
		d[m] = v;
	t->data = d;
	return t;
}

/* Node n becomes the engine's operator def reading ins (n_ins). */
static void
become_engine_op(OnnxNode *n, const OnnxOpDef *def, int *ins, int n_ins)
{
	n->op_type = def->name;
	n->domain = def->domain;
	n->opset = def->since_version;
	n->def = def;
	n->inputs = ins;
	n->n_inputs = n_ins;
}

/*
 * Absorb into ConvIntegerToFloat node i the per-channel affine readers of
 * its output, one by one: Mul / Add by a scalar or per-channel float32
 * constant, an inference BatchNormalization of constant parameters
 * (a = scale / sqrt(var + eps): fused_scale *= a, fused_bias =
 * (fused_bias - mean) * a + bias).  fused_scale is made only when needed,
 * so Mul(scale) -> Add(bias) keeps the unfused roundings.
 */
static void
absorb_channel_affine(OnnxGraph *g, OnnxArena *arena, const int *uses, const Users *u, int i,
					  int rank, int64_t M)
{
	OnnxNode   *conv = &g->nodes[i],
			   *op;

	while ((op = sole_reader(g, uses, u, conv->outputs[0], false)) != NULL)
	{
		float	   *fs,
				   *fb;
		const float *c = NULL,
				   *sc = NULL,
				   *bi = NULL,
				   *mu = NULL,
				   *va = NULL;
		bool		per_channel = false,
					mul = is_op(op, "Mul"),
					bn = is_op(op, "BatchNormalization");
		float		eps = 0;

		if ((mul || is_op(op, "Add")) && op->opset >= 7 && op->n_inputs == 2 &&
			op->inputs[0] != op->inputs[1])
			c = channel_const(g, op->inputs[op->inputs[0] == conv->outputs[0] ? 1 : 0], rank, M,
							  &per_channel);
		else if (bn && op->n_inputs == 5 && onnx_attr_int(op, "training_mode", 0) == 0 &&
				 op->inputs[0] == conv->outputs[0])
		{
			OnnxTensor *t[4];

			for (int k = 0; k < 4; k++)
				if ((t[k] = const_f32(g, op->inputs[k + 1], M)) == NULL)
					return;
			sc = t[0]->data;
			bi = t[1]->data;
			mu = t[2]->data;
			va = t[3]->data;
			eps = onnx_attr_float(op, "epsilon", 1e-5f);
		}
		if (c == NULL && sc == NULL)
			return;
		if ((mul || bn) && conv->fused_scale == NULL &&
			(conv->fused_scale = arena_channels(arena, M, 1.0f)) == NULL)
			return;
		if (conv->fused_bias == NULL && (conv->fused_bias = arena_channels(arena, M, 0.0f)) == NULL)
			return;
		fs = conv->fused_scale ? (float *) conv->fused_scale->data : NULL;
		fb = (float *) conv->fused_bias->data;
		for (int64_t m = 0; m < M; m++)
		{
			if (bn)
			{
				float		a = sc[m] / sqrtf(va[m] + eps);

				fs[m] *= a;
				fb[m] = (fb[m] - mu[m]) * a + bi[m];
			}
			else if (mul)
			{
				fs[m] *= c[per_channel ? m : 0];
				fb[m] *= c[per_channel ? m : 0];
			}
			else
				fb[m] += c[per_channel ? m : 0];
		}
		absorb_reader(g, i, conv, op);
	}
}

/*
 * The Mul (opset 7 or later) that computes scale s = a * b (x_scale *
 * w_scale of quantize_dynamic's Conv) for reader alone, a and b float32
 * of static shapes along the M channels of a rank rank output (so their
 * product is s's values), s no graph output; NULL otherwise.
 */
static OnnxNode *
scale_product(OnnxGraph *g, const int *uses, const Users *u, int s, const OnnxNode *reader,
			  int rank, int64_t M)
{
	OnnxNode   *sm;

	if (g->values[s].source != ONNX_SRC_NODE || g->values[s].producer < 0 ||
		sole_reader(g, uses, u, s, false) != reader)
		return NULL;
	sm = &g->nodes[g->values[s].producer];
	if (sm->skip || sm->domain[0] || !is_op(sm, "Mul") || sm->opset < 7 || sm->n_inputs != 2 ||
		sm->n_outputs != 1 || sm->outputs[0] != s || sm->inputs[0] < 0 || sm->inputs[1] < 0 ||
		!channel_shaped(g, sm->inputs[0], rank, M) || !channel_shaped(g, sm->inputs[1], rank, M))
		return NULL;
	return sm;
}

/*
 * ConvInteger -> Cast(float) -> Mul(s), what quantize_dynamic writes for a
 * Conv, with s float32 of a static shape broadcasting along the channels
 * only (x_scale * w_scale): the ConvInteger becomes the engine's
 * ConvIntegerToFloat (qconv.c) reading s, writing the Mul's output, and
 * absorbs the per-channel affine nodes after it (absorb_channel_affine);
 * fuse_activations then folds an activation.  When s is a Mul of two such
 * values read by nothing else (scale_product), the node reads those two
 * and multiplies them itself (float32, as the Mul); the Mul is skipped.  W must be constant (its
 * shape gives M); every value in between is read once and no graph output.
 */
static void
fuse_conv_integer_float(OnnxGraph *g, OnnxArena *arena, int *uses, const Users *u)
{
	const OnnxOpDef *def = onnx_registry_lookup(ONNX_ENGINE_DOMAIN, "ConvIntegerToFloat", 1);

	for (int i = 0; def != NULL && i < g->n_nodes; i++)
	{
		OnnxNode   *conv = &g->nodes[i],
				   *cast,
				   *mul;
		const OnnxTensor *w;
		OnnxNode   *smul;
		int		   *ins;
		int			s,
					n_ins;

		if (conv->skip || conv->domain[0] || !is_op(conv, "ConvInteger") || conv->n_outputs != 1 ||
			conv->n_inputs < 2 || conv->n_inputs > 4 || conv->fused_act.kind != ONNX_ACT_NONE ||
			(w = onnx_const_input(g, conv, 1)) == NULL || w->rank < 3 || w->dims[0] <= 0)
			continue;
		cast = sole_reader(g, uses, u, conv->outputs[0], true);
		if (!is_op(cast, "Cast") || onnx_attr_int(cast, "to", 0) != ONNX_DTYPE_FLOAT ||
			cast->n_inputs != 1)
			continue;
		mul = sole_reader(g, uses, u, cast->outputs[0], false);
		if (!is_op(mul, "Mul") || mul->opset < 7 || mul->n_inputs != 2 ||
			mul->inputs[0] == mul->inputs[1])
			continue;
		s = mul->inputs[mul->inputs[0] == cast->outputs[0] ? 1 : 0];
		if (s < 0 || !channel_shaped(g, s, w->rank, w->dims[0]) ||
			(ins = onnx_arena_alloc(arena, sizeof(int) * 6)) == NULL)
			continue;
		for (int k = 0; k < 4; k++)
			ins[k] = k < conv->n_inputs ? conv->inputs[k] : -1;
		ins[4] = s;
		n_ins = 5;
		if ((smul = scale_product(g, uses, u, s, mul, w->rank, w->dims[0])) != NULL)
		{
			/* the node reads the Mul's two inputs in its place */
			ins[4] = smul->inputs[0];
			ins[5] = smul->inputs[1];
			n_ins = 6;
			smul->skip = true;
		}
		else
			uses[s]++;
		become_engine_op(conv, def, ins, n_ins);
		cast->skip = true;
		absorb_reader(g, i, conv, mul);
		absorb_channel_affine(g, arena, uses, u, i, w->rank, w->dims[0]);
	}
}

/*
 * Input ka of a and input kb of b are the same value, or constant scalars
 * of one type and bit pattern.
 */
static bool
same_scalar(const OnnxGraph *g, const OnnxNode *a, int ka, const OnnxNode *b, int kb)
{
	const OnnxTensor *ta,
			   *tb;

	if (ka >= a->n_inputs || kb >= b->n_inputs || a->inputs[ka] < 0 || b->inputs[kb] < 0)
		return false;
	if (a->inputs[ka] == b->inputs[kb])
		return true;
	ta = onnx_const_input(g, a, ka);
	tb = onnx_const_input(g, b, kb);
	return ta && tb && ta->count == 1 && tb->count == 1 && ta->dtype == tb->dtype &&
		ta->data && tb->data && memcmp(ta->data, tb->data, onnx_dtype_size(ta->dtype)) == 0;
}

/*
 * The node of domain "" and type op that alone among live nodes reads
 * value id (as its input 0, once), which no subgraph reads and is no graph
 * output; NULL otherwise.  Skipped readers (the dead nodes of qdq_fuse.c's
 * rewrites) do not count.
 */
static OnnxNode *
only_reader_op(OnnxGraph *g, const Users *u, int id, const char *op)
{
	OnnxNode   *n = NULL;

	if (id < 0 || g->values[id].source != ONNX_SRC_NODE || g->values[id].is_output)
		return NULL;
	for (int k = u->off[id]; k < u->off[id + 1]; k++)
	{
		if (u->user[k] < 0)
			return NULL;
		if (g->nodes[u->user[k]].skip)
			continue;
		if (n != NULL)
			return NULL;
		n = &g->nodes[u->user[k]];
	}
	return n && !n->domain[0] && is_op(n, op) && n->inputs[0] == id && n->n_outputs == 1 ? n : NULL;
}

/*
 * QuantizeLinear(x) -> QLinearMatMul -> DequantizeLinear, what a QDQ
 * model's MatMul becomes (qdq_fuse.c) when its input is float, with the
 * QuantizeLinear's scale and zero point the QLinearMatMul's a_scale and
 * a_zero_point and the DequantizeLinear's its y_scale and y_zero_point
 * (scalars, zero points present): the DequantizeLinear becomes the
 * engine's QLinearMatMulFloat (ops_quant.c) reading x, the same values in
 * one node.
 */
static void
fuse_qlinear_matmul_float(OnnxGraph *g, OnnxArena *arena, int *uses, const Users *u)
{
	const OnnxOpDef *def = onnx_registry_lookup(ONNX_ENGINE_DOMAIN, "QLinearMatMulFloat", 1);

	for (int i = 0; def != NULL && i < g->n_nodes; i++)
	{
		OnnxNode   *q = &g->nodes[i],
				   *ql,
				   *dq;
		int		   *ins;

		if (q->skip || q->domain[0] || !is_op(q, "QuantizeLinear") || q->n_inputs != 3 ||
			q->n_outputs != 1 || q->inputs[0] < 0 ||
			g->values[q->inputs[0]].info.dtype != ONNX_DTYPE_FLOAT ||
			(ql = only_reader_op(g, u, q->outputs[0], "QLinearMatMul")) == NULL ||
			ql->n_inputs != 8 ||
			(dq = only_reader_op(g, u, ql->outputs[0], "DequantizeLinear")) == NULL ||
			dq->n_inputs != 3 || g->values[dq->outputs[0]].info.dtype != ONNX_DTYPE_FLOAT ||
			!same_scalar(g, q, 1, ql, 1) || !same_scalar(g, q, 2, ql, 2) ||
			!same_scalar(g, dq, 1, ql, 6) || !same_scalar(g, dq, 2, ql, 7) ||
			onnx_const_input(g, ql, 1) == NULL || onnx_const_input(g, ql, 2) == NULL ||
			(ins = onnx_arena_alloc(arena, sizeof(int) * 8)) == NULL)
			continue;
		memcpy(ins, ql->inputs, sizeof(int) * 8);
		ins[0] = q->inputs[0];
		uses[ins[0]]++;
		become_engine_op(dq, def, ins, 8);
		dq->attrs = NULL;
		dq->n_attrs = 0;
		q->skip = true;
		ql->skip = true;
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
		if (mm->skip || mm->fused_act.kind != ONNX_ACT_NONE || mm->fused_bias || mm->domain[0] ||
			strcmp(mm->op_type, "MatMul") != 0 || mm->n_inputs != 2 || mm->inputs[1] < 0 ||
			mm->n_outputs != 1 || mm->outputs[0] != mid || consumers(uses, mid) != 1 ||
			last_dim(g, mm->inputs[1]) != bias->count)
			continue;
		mm->outputs[0] = add->outputs[0];
		mm->fused_bias = bias;
		g->values[add->outputs[0]].producer = g->values[mid].producer;
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
		any = true;
	}
	if (!any)
		return;
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; k < g->nodes[i].n_inputs; k++)
		{
			int			id = g->nodes[i].inputs[k];

			if (id >= 0 && alias[id] != id)
				g->nodes[i].inputs[k] = alias[id];
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
	Users		u;

	remove_identities(g, arena);
	if ((uses = count_uses(g, arena)) == NULL)
		return;
	collapse_reshapes(g, uses);
	fold_conv_batchnorm(g, arena, uses);
	/* before the activations: MatMul, Add(bias), activation fuses whole */
	fuse_matmul_bias(g, uses);
	if (users_build(g, arena, uses, &u))
	{
		fold_conv_affine(g, arena, uses, &u);
		fuse_conv_integer_float(g, arena, uses, &u);
		fuse_qlinear_matmul_float(g, arena, uses, &u);
		fold_bn_affine(g, uses, &u);
		fuse_activations(g, uses, &u);
		fuse_conv_sum(g, arena, uses, &u);
		/* the Relu after a two-input Sum a Conv took over */
		fuse_activations(g, uses, &u);
	}
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; (sub = onnx_node_subgraph(&g->nodes[i], k)) != NULL; k++)
			onnx_graph_optimize(sub, arena);
}
