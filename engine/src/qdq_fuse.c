/*-------------------------------------------------------------------------
 *
 * qdq_fuse.c
 *	  The load-time rewrite of QDQ-format quantized models (what
 *	  onnxruntime's quantize_static writes by default) into integer
 *	  operators, as onnxruntime's own QDQ transformer does, so they run on
 *	  the int8 kernels and round as onnxruntime does:
 *
 *		DQ(x) -> Conv(., DQ(w), DQ(b)?) [-> Relu] -> Q   =>  QLinearConv
 *		DQ(a) -> MatMul(., DQ(b)) -> Q                  =>  QLinearMatMul
 *		DQ(a) -> Gemm(., DQ(b), DQ(c)?) [-> Relu] -> Q   =>  com.microsoft QGemm
 *		DQ -> Add / Sum of two / Mul / Sigmoid / LeakyRelu / Softmax /
 *			  GlobalAveragePool / AveragePool / Concat -> Q	=>  com.microsoft QLinear*
 *			  (Add and Sum also with a Relu before Q, dropped as below)
 *		DQ -> Reshape / Transpose / Squeeze / Unsqueeze / Flatten / Resize
 *			  (nearest) / MaxPool -> Q, one scale and zero point
 *									=>  the op on the 8-bit values
 *
 *	  x, a: 8-bit with constant scalar scale and zero point; w, b: 8-bit of
 *	  known shape (an initializer, or a QuantizeLinear of a Constant that
 *	  folding turns into one) with per-tensor or per-output-channel
 *	  constant scales; the bias int32 dequantized with zero point 0
 *	  (quantize_static's form; a Conv's float32 bias is also taken: the
 *	  fused QLinearConv rounds it to int32 with scale x_scale * w_scale, as
 *	  the tool would have); Q: constant scalar scale and zero point.
 *	  A Relu between is dropped only when Q's zero point is the bottom of
 *	  its range (Q clamps negatives to it anyway).  The middle float
 *	  values must have no other reader and not be graph outputs.
 *
 *	  Runs after inference and before constant folding (which would fold
 *	  the weights' DequantizeLinear into float constants).  The Q node
 *	  becomes the integer operator; the others are skipped when nothing
 *	  else reads their outputs.
 *
 *	  A second pass (onnx_graph_qdq_tables), after folding:
 *		DQ -> chain of elementwise float ops (BatchNormalization, Mul, Add,
 *			  Sub, Div, Relu, Clip, HardSigmoid, HardSwish, Sigmoid,
 *			  LeakyRelu, Tanh, Neg, Abs, Elu, Max, Min) whose other inputs are
 *			  constants of one value or one per channel (axis 1)
 *			  [-> Reshape / Transpose / Squeeze / Unsqueeze / Flatten, at most
 *			  4, as in a channel shuffle] -> Q
 *			=>  the engine's QLinearTable (qlut.c): a 256-entry table per
 *			  channel, or one, made at load by running the chain's own
 *			  kernels on all 256 codes, so the outputs are those of the
 *			  unfused chain bit for bit (moves after the chain then carry
 *			  the table's bytes: Q commutes with them).  Tables live in the model's arena
 *			  (at most LUT_MAX_CHANNELS * 256 bytes per node).
 *	  Then, on the integer graph:
 *		QLinearAdd / QLinearMul / QLinearSigmoid / QLinearLeakyRelu of one
 *			  8-bit input x, the others constants (one value or one per
 *			  channel), or x and a table of x that only the node reads
 *			  (x * HardSigmoid(x), x * Sigmoid(x))	=>  QLinearTable, made
 *			  by running the node's own kernel on every code;
 *		QLinearTable -> QLinearTable, the first read by the second only
 *			=>  one QLinearTable (the tables composed; exact);
 *		QLinearConv -> QLinearTable, the first read by the second only
 *			=>  the QLinearConv applying the table to its output
 *			  (OnnxNode.fused_table), one node less per activation.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "engine_internal.h"
#include "optimize.h"
#include "pack.h"
#include "qlut.h"
#include "op_tables.h"

/* A DequantizeLinear feeding value id: its node, or NULL. */
static OnnxNode *
dq_of(OnnxGraph *g, int id)
{
	OnnxNode   *n;

	if (id < 0 || g->values[id].producer < 0)
		return NULL;
	n = &g->nodes[g->values[id].producer];
	if (n->skip || strcmp(n->op_type, "DequantizeLinear") != 0 ||
		(n->domain[0] && strcmp(n->domain, "com.microsoft") != 0) || n->n_inputs < 2)
		return NULL;
	return n;
}

static bool
is_8bit(OnnxDType dt)
{
	return dt == ONNX_DTYPE_INT8 || dt == ONNX_DTYPE_UINT8;
}

/* Input k of n is a constant with count 1 or n_ok values; its tensor. */
static const OnnxTensor *
const_in(OnnxGraph *g, const OnnxNode *n, int k, int64_t n_ok)
{
	const OnnxTensor *t = onnx_const_input(g, n, k);

	if (t == NULL || (t->count != 1 && t->count != n_ok))
		return NULL;
	return t;
}

/*
 * A DQ's quantization parameters are usable: scale float32 constant with
 * 1 (or n_ok along axis) values, zero point absent or a constant of the
 * quantized type with as many.
 */
static bool
dq_params_ok(OnnxGraph *g, const OnnxNode *dq, int64_t n_ok, int axis, int rank)
{
	const OnnxTensor *s = const_in(g, dq, 1, n_ok),
			   *z = dq->n_inputs > 2 && dq->inputs[2] >= 0 ? const_in(g, dq, 2, n_ok) : NULL;
	int64_t		ax = onnx_attr_int(dq, "axis", 1);

	if (s == NULL || s->dtype != ONNX_DTYPE_FLOAT)
		return false;
	if (dq->n_inputs > 2 && dq->inputs[2] >= 0 && (z == NULL || z->count != s->count))
		return false;
	if (s->count > 1 && (ax < 0 ? ax + rank : ax) != axis)
		return false;
	if (onnx_attr_int(dq, "block_size", 0) != 0)
		return false;
	return true;
}

/* Readers of value id among live nodes (captures count as readers). */
static int
readers(const OnnxGraph *g, const int *caps, int id)
{
	int			n = caps[id];

	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].skip)
			for (int k = 0; k < g->nodes[i].n_inputs; k++)
				n += g->nodes[i].inputs[k] == id;
	return n;
}

static bool
is_output(const OnnxGraph *g, int id)
{
	return g->values[id].is_output;
}

/* The only live reader of id, or NULL. */
static OnnxNode *
only_reader(OnnxGraph *g, const int *caps, int id)
{
	OnnxNode   *r = NULL;

	if (caps[id] || is_output(g, id))
		return NULL;
	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].skip)
			for (int k = 0; k < g->nodes[i].n_inputs; k++)
				if (g->nodes[i].inputs[k] == id)
				{
					if (r && r != &g->nodes[i])
						return NULL;
					r = &g->nodes[i];
				}
	return r;
}

/* Q's scale scalar float constant and zero point scalar 8-bit constant. */
static bool
q_ok(OnnxGraph *g, const OnnxNode *q, int64_t *zp, OnnxDType *dt)
{
	const OnnxTensor *s = const_in(g, q, 1, 1),
			   *z = q->n_inputs > 2 && q->inputs[2] >= 0 ? const_in(g, q, 2, 1) : NULL;

	if (s == NULL || s->dtype != ONNX_DTYPE_FLOAT || z == NULL || !is_8bit(z->dtype) ||
		onnx_attr_int(q, "output_dtype", 0) != 0)
		return false;
	*zp = onnx_tensor_get_i64(z, 0);
	*dt = z->dtype;
	return true;
}

/* An int32 bias constant dequantized with zero point 0 (or absent): its value id. */
static int
int32_bias(OnnxGraph *g, int id, int64_t M)
{
	OnnxNode   *dq = dq_of(g, id);
	const OnnxValueInfo *b;
	const OnnxTensor *z;

	if (dq == NULL)
		return -1;
	b = &g->values[dq->inputs[0]].info;
	if (b->dtype != ONNX_DTYPE_INT32 || b->rank != 1 || b->dims[0] != M)
		return -1;
	if (dq->n_inputs > 2 && dq->inputs[2] >= 0)
	{
		if ((z = onnx_const_input(g, dq, 2)) == NULL)
			return -1;
		for (int64_t i = 0; i < z->count; i++)
			if (onnx_tensor_get_i64(z, i) != 0)
				return -1;
	}
	return dq->inputs[0];
}

/* Rewrite q into op (domain) reading ins; skip the nodes in dead. */
static void
rewrite(OnnxArena *arena, OnnxNode *q, const char *domain, const char *op, int opset,
		const int *ins, int n_ins, const OnnxNode *attrs_from)
{
	const OnnxOpDef *def = onnx_registry_lookup(domain, op, opset);
	int		   *in = onnx_arena_alloc(arena, sizeof(int) * (size_t) n_ins);

	if (def == NULL || in == NULL)
		return;
	memcpy(in, ins, sizeof(int) * (size_t) n_ins);
	q->op_type = op;
	q->domain = domain;
	q->opset = opset;
	q->def = def;
	q->inputs = in;
	q->n_inputs = n_ins;
	q->attrs = attrs_from->attrs;
	q->n_attrs = attrs_from->n_attrs;
}

/* A DQ of an activation with scalar constant parameters (zero point present) of type dt. */
static OnnxNode *
dq_act(OnnxGraph *g, int id, OnnxDType dt)
{
	OnnxNode   *d = dq_of(g, id);

	if (d == NULL || g->values[d->inputs[0]].info.dtype != dt || d->n_inputs < 3 || d->inputs[2] < 0 ||
		!dq_params_ok(g, d, 1, 0, 0))
		return NULL;
	return d;
}

/*
 * DQ -> op -> Q for the com.microsoft QLinear operators (ms_qlinear.c):
 * Add, Mul (both inputs DQ), Sigmoid, LeakyRelu, Softmax (opset 13+),
 * GlobalAveragePool, AveragePool, Concat; every input of q's type.
 */
static bool
fuse_qlinear(OnnxGraph *g, OnnxArena *arena, OnnxNode *q, OnnxNode *op, OnnxDType dt)
{
	static const char *const unary[][2] = {
		{"Sigmoid", "QLinearSigmoid"}, {"LeakyRelu", "QLinearLeakyRelu"}, {"Softmax", "QLinearSoftmax"},
		{"GlobalAveragePool", "QLinearGlobalAveragePool"}, {"AveragePool", "QLinearAveragePool"}
	};
	int			ins[3 * 16 + 2];
	OnnxNode   *a,
			   *b;

	bool		add = strcmp(op->op_type, "Add") == 0 || strcmp(op->op_type, "Sum") == 0;

	if (add || strcmp(op->op_type, "Mul") == 0)
	{
		if (op->n_inputs != 2 || (a = dq_act(g, op->inputs[0], dt)) == NULL ||
			(b = dq_act(g, op->inputs[1], dt)) == NULL)
			return false;
		ins[0] = a->inputs[0], ins[1] = a->inputs[1], ins[2] = a->inputs[2];
		ins[3] = b->inputs[0], ins[4] = b->inputs[1], ins[5] = b->inputs[2];
		ins[6] = q->inputs[1], ins[7] = q->inputs[2];
		rewrite(arena, q, "com.microsoft", add ? "QLinearAdd" : "QLinearMul", 1, ins, 8, op);
		return q->def && strcmp(q->op_type, "QuantizeLinear") != 0;
	}
	if (strcmp(op->op_type, "Concat") == 0)
	{
		int			n = 2;

		if (op->n_inputs < 1 || op->n_inputs > 16)
			return false;
		ins[0] = q->inputs[1], ins[1] = q->inputs[2];
		for (int k = 0; k < op->n_inputs; k++)
		{
			if ((a = dq_act(g, op->inputs[k], dt)) == NULL)
				return false;
			ins[n++] = a->inputs[0], ins[n++] = a->inputs[1], ins[n++] = a->inputs[2];
		}
		rewrite(arena, q, "com.microsoft", "QLinearConcat", 1, ins, n, op);
		return q->def && strcmp(q->op_type, "QuantizeLinear") != 0;
	}
	for (int i = 0; i < (int) (sizeof(unary) / sizeof(unary[0])); i++)
		if (strcmp(op->op_type, unary[i][0]) == 0)
		{
			if (op->n_inputs != 1 || (a = dq_act(g, op->inputs[0], dt)) == NULL ||
				(i == 2 && op->opset < 13) ||
				(i == 4 && (onnx_attr(op, "dilations") || onnx_attr_int(op, "ceil_mode", 0))))
				return false;
			ins[0] = a->inputs[0], ins[1] = a->inputs[1], ins[2] = a->inputs[2];
			ins[3] = q->inputs[1], ins[4] = q->inputs[2];
			rewrite(arena, q, "com.microsoft", unary[i][1], 1, ins, 5, op);
			return q->def && strcmp(q->op_type, "QuantizeLinear") != 0;
		}
	return false;
}

/* Constant scalar input k of n as a double, or NaN. */
static double
const_scalar(OnnxGraph *g, const OnnxNode *n, int k)
{
	const OnnxTensor *t = k < n->n_inputs && n->inputs[k] >= 0 ? const_in(g, n, k, 1) : NULL;

	return t ? onnx_tensor_get_f64(t, 0) : NAN;
}

/*
 * DQ -> Reshape / Transpose / Squeeze / Unsqueeze / Flatten / Resize
 * (nearest) / MaxPool (opset 12+, no indices) -> Q with the same scale
 * (positive, normal) and zero point: the op moves (or, MaxPool, picks,
 * as DQ is increasing) the 8-bit values themselves (Q(DQ(x)) is x for
 * those parameters: (x - z) * s / s is within an ulp of the integer
 * x - z), as onnxruntime's QDQ transformer drops such pairs.
 */
static bool
fuse_move(OnnxGraph *g, OnnxArena *arena, OnnxNode *q, OnnxNode *op, OnnxDType dt)
{
	static const char *const moves[] = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten"};
	int			ins[8];
	OnnxNode   *a;
	double		s;
	bool		known = false;

	for (int i = 0; i < (int) (sizeof(moves) / sizeof(moves[0])); i++)
		known = known || strcmp(op->op_type, moves[i]) == 0;
	if (strcmp(op->op_type, "Resize") == 0)
	{
		const char *mode = onnx_attr_string(op, "mode", "nearest");

		known = mode && strcmp(mode, "nearest") == 0;
	}
	if (strcmp(op->op_type, "MaxPool") == 0)
		known = op->opset >= 12 && (op->n_outputs == 1 || op->outputs[1] < 0);
	if (!known || op->n_inputs < 1 || op->n_inputs > 8 || (a = dq_act(g, op->inputs[0], dt)) == NULL)
		return false;
	s = const_scalar(g, a, 1);
	if (!(s > 0) || !isnormal((float) s) || s != const_scalar(g, q, 1) ||
		const_scalar(g, a, 2) != const_scalar(g, q, 2))
		return false;
	ins[0] = a->inputs[0];
	for (int k = 1; k < op->n_inputs; k++)
		ins[k] = op->inputs[k];
	rewrite(arena, q, "", op->op_type, op->opset, ins, op->n_inputs, op);
	return q->def && strcmp(q->op_type, "QuantizeLinear") != 0;
}

/*
 * The chain ending in q, if it is one of the patterns: its compute node
 * (Conv, MatMul, Gemm) and optional Relu.
 */
static void
fuse_one(OnnxGraph *g, OnnxArena *arena, const int *caps, OnnxNode *q)
{
	OnnxNode   *op,
			   *relu = NULL,
			   *dx,
			   *dw;
	int			mid = q->inputs[0];
	int64_t		yzp,
				M;
	OnnxDType	ydt;
	const OnnxValueInfo *w;
	int			ins[9];

	if (!q_ok(g, q, &yzp, &ydt) || mid < 0 || g->values[mid].producer < 0)
		return;
	op = &g->nodes[g->values[mid].producer];
	if (!op->skip && strcmp(op->op_type, "Relu") == 0 && op->domain[0] == '\0')
	{
		if (yzp != (ydt == ONNX_DTYPE_INT8 ? -128 : 0) || only_reader(g, caps, mid) != q)
			return;
		relu = op;
		mid = relu->inputs[0];
		if (mid < 0 || g->values[mid].producer < 0)
			return;
		op = &g->nodes[g->values[mid].producer];
	}
	if (op->skip || op->domain[0] != '\0' || only_reader(g, caps, mid) != (relu ? relu : q) ||
		op->fused_act.kind != ONNX_ACT_NONE || op->fused_bias)
		return;
	/* a Relu before Q is dropped after Add / Sum as after Conv (Q clamps) */
	if ((!relu && fuse_move(g, arena, q, op, ydt)) ||
		((!relu || strcmp(op->op_type, "Add") == 0 || strcmp(op->op_type, "Sum") == 0) &&
		 fuse_qlinear(g, arena, q, op, ydt)))
	{
		op->skip = true;
		if (relu)
			relu->skip = true;
		return;
	}
	if (op->n_inputs < 2)
		return;
	dx = dq_of(g, op->inputs[0]);
	dw = dq_of(g, op->inputs[1]);
	if (dx == NULL || dw == NULL || !is_8bit(g->values[dx->inputs[0]].info.dtype) ||
		!dq_params_ok(g, dx, 1, 0, 0))
		return;
	/*
	 * the weights: an 8-bit initializer, or a value constant folding will
	 * make one (QuantizeLinear of a Constant); the shape must be known
	 */
	w = &g->values[dw->inputs[0]].info;
	if (!is_8bit(w->dtype) || w->rank < 2)
		return;
	for (int d = 0; d < w->rank; d++)
		if (w->dims[d] < 0)
			return;
	if (strcmp(op->op_type, "Conv") == 0 && w->rank >= 3)
	{
		M = w->dims[0];
		if (!dq_params_ok(g, dw, M, 0, w->rank))
			return;
		ins[0] = dx->inputs[0], ins[1] = dx->inputs[1], ins[2] = dx->n_inputs > 2 ? dx->inputs[2] : -1;
		ins[3] = dw->inputs[0], ins[4] = dw->inputs[1], ins[5] = dw->n_inputs > 2 ? dw->inputs[2] : -1;
		ins[6] = q->inputs[1], ins[7] = q->inputs[2], ins[8] = -1;
		if (op->n_inputs > 2 && op->inputs[2] >= 0 && (ins[8] = int32_bias(g, op->inputs[2], M)) < 0)
		{
			/* a float32 bias (not quantized by the tool): QLinearConv rounds it (qconv.c) */
			const OnnxValueInfo *bi = &g->values[op->inputs[2]].info;

			if (bi->dtype != ONNX_DTYPE_FLOAT || bi->rank != 1 || bi->dims[0] != M)
				return;
			ins[8] = op->inputs[2];
		}
		rewrite(arena, q, "", "QLinearConv", 10, ins, 9, op);
	}
	else if (strcmp(op->op_type, "MatMul") == 0 && w->rank == 2 && !relu)
	{
		M = w->dims[1];
		if (!dq_params_ok(g, dw, M, 1, 2) || op->n_inputs != 2)
			return;
		ins[0] = dx->inputs[0], ins[1] = dx->inputs[1], ins[2] = dx->n_inputs > 2 ? dx->inputs[2] : -1;
		ins[3] = dw->inputs[0], ins[4] = dw->inputs[1], ins[5] = dw->n_inputs > 2 ? dw->inputs[2] : -1;
		ins[6] = q->inputs[1], ins[7] = q->inputs[2];
		if (ins[2] < 0 || ins[5] < 0 || g->values[dx->inputs[0]].info.dtype != ydt)
			return;
		rewrite(arena, q, "", "QLinearMatMul", 10, ins, 8, op);
	}
	else if (strcmp(op->op_type, "Gemm") == 0 && w->rank == 2 &&
			 onnx_attr_float(op, "beta", 1.0f) == 1.0f && onnx_attr_int(op, "transA", 0) == 0)
	{
		bool		tb = onnx_attr_int(op, "transB", 0) != 0;

		M = tb ? w->dims[0] : w->dims[1];
		if (!dq_params_ok(g, dw, M, tb ? 0 : 1, 2))
			return;
		ins[0] = dx->inputs[0], ins[1] = dx->inputs[1], ins[2] = dx->n_inputs > 2 ? dx->inputs[2] : -1;
		ins[3] = dw->inputs[0], ins[4] = dw->inputs[1], ins[5] = dw->n_inputs > 2 ? dw->inputs[2] : -1;
		ins[6] = -1, ins[7] = q->inputs[1], ins[8] = q->inputs[2];
		if (ins[5] < 0)
			return;
		if (op->n_inputs > 2 && op->inputs[2] >= 0 && (ins[6] = int32_bias(g, op->inputs[2], M)) < 0)
			return;
		rewrite(arena, q, "com.microsoft", "QGemm", 1, ins, 9, op);
	}
	else
		return;
	if (q->def == NULL || strcmp(q->op_type, "QuantizeLinear") == 0)
		return;
	op->skip = true;
	if (relu)
		relu->skip = true;
}

void
onnx_graph_fuse_qdq(OnnxGraph *g, OnnxArena *arena)
{
	int		   *caps = onnx_arena_alloc(arena, sizeof(int) * ((size_t) g->n_values + 1));
	OnnxGraph  *sub;
	bool		any = false;

	if (caps == NULL)
		return;
	onnx_graph_count_captures(g, caps);
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *n = &g->nodes[i];

		if (!n->skip && strcmp(n->op_type, "QuantizeLinear") == 0 && n->domain[0] == '\0' &&
			n->n_inputs >= 3 && n->inputs[0] >= 0)
		{
			fuse_one(g, arena, caps, n);
			any = any || strcmp(n->op_type, "QuantizeLinear") != 0;
		}
	}
	/* DequantizeLinear nodes nothing reads any more */
	for (int i = 0; any && i < g->n_nodes; i++)
	{
		OnnxNode   *n = &g->nodes[i];

		if (!n->skip && strcmp(n->op_type, "DequantizeLinear") == 0 && n->outputs[0] >= 0 &&
			!is_output(g, n->outputs[0]) && readers(g, caps, n->outputs[0]) == 0)
			n->skip = true;
	}
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; (sub = onnx_node_subgraph(&g->nodes[i], k)) != NULL; k++)
			onnx_graph_fuse_qdq(sub, arena);
}

/* ---- Dequantize -> float elementwise chain -> Quantize as one table ---- */

/* Chains longer than this are left alone. */
#define LUT_MAX_CHAIN 8
/* Channels of one table set (256 bytes each). */
#define LUT_MAX_CHANNELS 16384

/* Elementwise float ops a table may stand for: all but one input constant. */
static const char *const lut_ops[] = {
	"BatchNormalization", "Mul", "Add", "Sub", "Div", "Relu", "Clip", "HardSigmoid",
	"HardSwish", "Sigmoid", "LeakyRelu", "Tanh", "Neg", "Abs", "Elu", "Max", "Min", NULL
};

/*
 * Constant t broadcast against X of rank r with C channels on axis 1:
 * true when its values are one (count 1) or one per channel (every dim,
 * right-aligned, 1 but axis 1's, which is C); *per_ch set for the latter.
 */
static bool
lut_const_ok(const OnnxTensor *t, int r, int64_t C, bool *per_ch)
{
	if (t->count == 1 && t->rank <= r)
		return true;
	if (t->rank > r || r < 3 || C <= 1 || t->count != C)
		return false;
	for (int j = 0; j < t->rank; j++)
	{
		int			d = r - t->rank + j;

		if (t->dims[j] != (d == 1 ? C : 1))
			return false;
	}
	*per_ch = true;
	return true;
}

/*
 * Node n of the chain reading value id: an op of lut_ops, float32 in and
 * out, every other input constant as lut_const_ok says.
 */
static bool
lut_node_ok(OnnxGraph *g, const OnnxNode *n, int id, int r, int64_t C, bool *per_ch)
{
	bool		known = false;

	if (n->skip || n->domain[0] || n->n_outputs != 1 || n->fused_act.kind != ONNX_ACT_NONE ||
		n->fused_bias || g->values[n->outputs[0]].info.dtype != ONNX_DTYPE_FLOAT)
		return false;
	for (int i = 0; lut_ops[i] && !known; i++)
		known = strcmp(n->op_type, lut_ops[i]) == 0;
	if (!known)
		return false;
	if (strcmp(n->op_type, "BatchNormalization") == 0)
	{
		if (onnx_attr_int(n, "training_mode", 0) != 0 || n->inputs[0] != id || n->n_inputs != 5 ||
			r < 3 || C < 1)
			return false;
		for (int k = 1; k < 5; k++)
		{
			const OnnxTensor *t = onnx_const_input(g, n, k);

			if (t == NULL || t->dtype != ONNX_DTYPE_FLOAT || t->rank != 1 || t->count != C)
				return false;
		}
		*per_ch = *per_ch || C > 1;
		return true;
	}
	for (int k = 0; k < n->n_inputs; k++)
	{
		const OnnxTensor *t;

		if (n->inputs[k] == id || n->inputs[k] < 0)
			continue;
		if ((t = onnx_const_input(g, n, k)) == NULL || t->dtype != ONNX_DTYPE_FLOAT ||
			!lut_const_ok(t, r, C, per_ch))
			return false;
	}
	for (int k = 0, seen = 0; k < n->n_inputs; k++)
		if (n->inputs[k] == id && ++seen > 1)
			return false;
	return true;
}

/*
 * The live node producing value id when reader is id's only reader (no
 * other node, no subgraph, not a graph output); else NULL.
 */
static OnnxNode *
sole_producer(OnnxGraph *g, const int *caps, int id, const OnnxNode *reader)
{
	OnnxNode   *p;

	if (id < 0 || g->values[id].producer < 0 || only_reader(g, caps, id) != reader)
		return NULL;
	p = &g->nodes[g->values[id].producer];
	return p->skip ? NULL : p;
}

/* Moves a table chain may end in before its Q, at most. */
#define LUT_MAX_MOVES 4

/*
 * The node producing id when it moves bytes without looking at them
 * (Reshape, Transpose, Squeeze, Unsqueeze, Flatten; its other inputs
 * constant) and `reader` is id's only reader; else NULL.  Q commutes with
 * such a node exactly.
 */
static OnnxNode *
lut_move_of(OnnxGraph *g, const int *caps, int id, OnnxNode *reader)
{
	static const char *const moves[] = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", NULL};
	OnnxNode   *p;
	bool		known = false;

	if ((p = sole_producer(g, caps, id, reader)) == NULL || p->domain[0] || p->n_outputs != 1 ||
		p->n_inputs < 1 || p->inputs[0] < 0)
		return NULL;
	for (int i = 0; moves[i] && !known; i++)
		known = strcmp(p->op_type, moves[i]) == 0;
	for (int k = 1; known && k < p->n_inputs; k++)
		known = p->inputs[k] < 0 || onnx_const_input(g, p, k) != NULL;
	return known ? p : NULL;
}

/* The moves' ops are registered at their opsets (they take any type). */
static bool
lut_moves_ok(OnnxNode **moves, int n)
{
	for (int i = 0; i < n; i++)
		if (onnx_registry_lookup("", moves[i]->op_type, moves[i]->opset) == NULL)
			return false;
	return true;
}

/*
 * Run chain[0..len) (DQ, the ops, Q: Q reads the last op's value, any
 * moves between skipped) on codes, the engine's kernels in
 * session s; the Q's output into *out (scratch memory).  False when a
 * kernel fails (the chain then stays as it is).
 */
static OnnxStatus
lut_run(OnnxGraph *g, OnnxSession *s, OnnxNode **chain, int len, OnnxValue *codes,
		const OnnxAllocator *scratch, OnnxValue *out, OnnxError *err)
{
	OnnxValue	cur = *codes,
				next;
	const OnnxValue *ins[8];
	int			cur_id = chain[0]->inputs[0];
	OnnxStatus	st = ONNX_OK;

	for (int i = 0; i < len && st == ONNX_OK; i++)
	{
		OnnxNode   *n = chain[i];

		if (i == len - 1)
			cur_id = n->inputs[0];	/* the Q, maybe after moves */
		if (n->n_inputs > 8)
			st = ONNX_ERR_UNSUPPORTED;
		for (int k = 0; st == ONNX_OK && k < n->n_inputs; k++)
		{
			ins[k] = n->inputs[k] < 0 ? NULL : n->inputs[k] == cur_id ? &cur :
				onnx_const_value(g, n->inputs[k]);
			if (n->inputs[k] >= 0 && ins[k] == NULL)
				st = ONNX_ERR_UNSUPPORTED;
		}
		if (st == ONNX_OK)
			st = onnx_session_run_node(s, n, ins, &next, err);
		if (i > 0)
			onnx_value_release(scratch, &cur);
		if (st != ONNX_OK)
			break;
		cur = next;
		cur_id = n->outputs[0];
	}
	if (st == ONNX_OK)
		*out = cur;
	return st;
}

/* Byte v of channel c of table t. */
static inline uint8_t
tab_at(const OnnxQTable *t, int64_t c, int v)
{
	return t->tab[(t->channels > 1 ? c : 0) * 256 + v];
}

/*
 * *codes: every byte, as type dt, in (1, C, 256, 1...) when per_ch (X of
 * rank r >= 3) or (1..., 256); with tab, those bytes through the table.
 */
static OnnxStatus
lut_codes(OnnxValue *codes, OnnxDType dt, int r, int64_t C, bool per_ch, const OnnxQTable *tab,
		  const OnnxAllocator *scratch, OnnxError *err)
{
	OnnxStatus	st;

	memset(codes, 0, sizeof(*codes));
	codes->kind = ONNX_VALUE_TENSOR;
	codes->tensor.dtype = dt;
	codes->tensor.rank = r;
	for (int d = 0; d < r; d++)
		codes->tensor.dims[d] = 1;
	if (per_ch)
		codes->tensor.dims[1] = C, codes->tensor.dims[2] = 256;
	else
		codes->tensor.dims[r - 1] = 256;
	codes->tensor.count = C * 256;
	codes->tensor.nbytes = (size_t) C * 256;
	if ((st = onnx_tensor_alloc_data(&codes->tensor, scratch, err)) != ONNX_OK)
		return st;
	for (int64_t i = 0; i < codes->tensor.count; i++)
		((uint8_t *) codes->tensor.data)[i] = tab ? tab_at(tab, i / 256, (int) (i & 255)) :
			(uint8_t) (i & 255);
	return ONNX_OK;
}

/*
 * The table (C channels) that out holds, in the model's arena, into *t
 * (NULL when out is not C * 256 values of type dt); out released.
 */
static OnnxStatus
lut_keep(OnnxModel *m, OnnxValue *out, int64_t C, OnnxDType dt, const OnnxAllocator *scratch,
		 OnnxQTable **t, OnnxError *err)
{
	bool		fits = out->kind == ONNX_VALUE_TENSOR && out->tensor.count == C * 256 &&
		out->tensor.dtype == dt;

	*t = NULL;
	if (fits && ((*t = onnx_arena_alloc(&m->arena, sizeof(OnnxQTable))) == NULL ||
				 ((*t)->tab = onnx_arena_alloc(&m->arena, (size_t) C * 256)) == NULL))
	{
		onnx_value_release(scratch, out);
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory building tables");
	}
	if (fits)
	{
		(*t)->channels = C;
		memcpy((*t)->tab, out->tensor.data, (size_t) C * 256);
	}
	onnx_value_release(scratch, out);
	return ONNX_OK;
}

/*
 * After a table's run (status run, its output in out): node n becomes the
 * QLinearTable of input `in` holding the table (*done).  Out of memory
 * stops the load; another failure of the run, or a result that is no
 * table, leaves the graph as it is (error cleared, *done false).
 */
static OnnxStatus
lut_install(OnnxModel *m, OnnxNode *n, int in, OnnxStatus run, OnnxValue *out, int64_t C,
			OnnxDType dt, const OnnxAllocator *scratch, OnnxError *err, bool *done)
{
	OnnxStatus	st;
	OnnxQTable *t;

	*done = false;
	if (run == ONNX_ERR_OUT_OF_MEMORY)
		return run;
	if (run != ONNX_OK)
	{
		onnx_error_clear(err);
		return ONNX_OK;
	}
	if ((st = lut_keep(m, out, C, dt, scratch, &t, err)) != ONNX_OK || t == NULL)
		return st;
	rewrite(&m->arena, n, ONNX_ENGINE_DOMAIN, "QLinearTable", 1, &in, 1, n);
	if (n->def == NULL || strcmp(n->op_type, "QLinearTable") != 0)
		return ONNX_OK;
	n->n_attrs = 0;
	n->prepared = t;
	*done = true;
	return ONNX_OK;
}

/* Make the chain ending in Quantize q one QLinearTable when it is one. */
static OnnxStatus
lut_one(OnnxModel *m, OnnxGraph *g, OnnxSession *s, const OnnxAllocator *scratch,
		const int *caps, OnnxNode *q, OnnxError *err)
{
	OnnxNode   *chain[LUT_MAX_CHAIN + 2],
			   *dq = NULL,
			   *reader = q;
	int			len = 0,
				mid = q->inputs[0],
				r;
	int64_t		yzp,
				C;
	OnnxDType	ydt,
				xdt;
	bool		per_ch = false;
	const OnnxValueInfo *xi;
	OnnxValue	codes,
				out;
	bool		done;
	OnnxStatus	st;
	OnnxNode   *ops[LUT_MAX_CHAIN];
	int			n_ops = 0;
	OnnxNode   *moves[LUT_MAX_MOVES],
			   *mv;
	int			n_moves = 0;

	if (!q_ok(g, q, &yzp, &ydt))
		return ONNX_OK;
	/* data movement just before q: the table goes before it, the moves carry bytes */
	while (n_moves < LUT_MAX_MOVES && (mv = lut_move_of(g, caps, mid, reader)) != NULL)
	{
		moves[n_moves++] = mv;
		reader = mv;
		mid = mv->inputs[0];
	}
	/* walk up to the DQ: every value between read by the next node only */
	while (mid >= 0 && g->values[mid].producer >= 0 && only_reader(g, caps, mid) == reader)
	{
		OnnxNode   *p = &g->nodes[g->values[mid].producer];

		if ((dq = dq_of(g, mid)) != NULL)
			break;
		if (n_ops == LUT_MAX_CHAIN || p->skip || p->domain[0] || p->n_outputs != 1)
			return ONNX_OK;
		ops[n_ops++] = p;
		reader = p;
		/* the chain input: the one input that is not a constant */
		mid = -1;
		for (int k = 0; k < p->n_inputs; k++)
			if (p->inputs[k] >= 0 && onnx_const_input(g, p, k) == NULL)
			{
				if (mid >= 0)
					return ONNX_OK;
				mid = p->inputs[k];
			}
	}
	if (dq == NULL || n_ops == 0 || !dq_params_ok(g, dq, 1, 0, 0))
		return ONNX_OK;
	xi = &g->values[dq->inputs[0]].info;
	xdt = xi->dtype;
	r = xi->rank;
	if (xdt != ydt || r < 1 || (r >= 2 && xi->dims[1] < 1) || g->values[mid].info.dtype != ONNX_DTYPE_FLOAT)
		return ONNX_OK;
	C = r >= 2 ? xi->dims[1] : 1;
	for (int i = n_ops - 1, id = mid; i >= 0; id = ops[i]->outputs[0], i--)
		if (!lut_node_ok(g, ops[i], id, r, C, &per_ch))
			return ONNX_OK;
	if (!per_ch)
		C = 1;
	if (C > LUT_MAX_CHANNELS)
		return ONNX_OK;

	/* codes: every byte, as X's type */
	if ((st = lut_codes(&codes, xdt, r, C, per_ch, NULL, scratch, err)) != ONNX_OK)
		return st;
	chain[len++] = dq;
	for (int i = n_ops - 1; i >= 0; i--)
		chain[len++] = ops[i];
	chain[len++] = q;
	st = lut_run(g, s, chain, len, &codes, scratch, &out, err);
	onnx_value_release(scratch, &codes);
	if (n_moves == 0)
	{
		if ((st = lut_install(m, q, dq->inputs[0], st, &out, C, ydt, scratch, err, &done)) == ONNX_OK &&
			done)
			for (int i = 0; i < len - 1; i++)
				chain[i]->skip = true;
		return st;
	}

	/*
	 * With moves: the last op becomes the table (its output now bytes), the
	 * moves between carry bytes, and q becomes the last move (the move
	 * reading q's input skipped); Q commutes with them, so nothing rounds
	 * differently.
	 */
	if (!lut_moves_ok(moves, n_moves))
	{
		if (st == ONNX_OK)
			onnx_value_release(scratch, &out);
		return st == ONNX_ERR_OUT_OF_MEMORY ? st : (onnx_error_clear(err), ONNX_OK);
	}
	if ((st = lut_install(m, ops[0], dq->inputs[0], st, &out, C, ydt, scratch, err, &done)) != ONNX_OK ||
		!done)
		return st;
	for (int i = 0; i < len - 2; i++)
		chain[i]->skip = true;
	g->values[ops[0]->outputs[0]].info.dtype = ydt;
	for (int i = 1; i < n_moves; i++)
		g->values[moves[i]->outputs[0]].info.dtype = ydt;
	rewrite(&m->arena, q, "", moves[0]->op_type, moves[0]->opset, moves[0]->inputs, moves[0]->n_inputs,
			moves[0]);
	moves[0]->skip = true;
	return ONNX_OK;
}


/* ---- 8-bit elementwise nodes of one input as tables, tables merged ---- */

/* Integer ops a table may stand for: every input constant but X (or X and a table of X). */
static const char *const itab_ops[] = {
	"QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu", NULL
};

/* A live QLinearTable made by this file (its table in prepared). */
static bool
is_table(const OnnxNode *n)
{
	return !n->skip && n->prepared && strcmp(n->op_type, "QLinearTable") == 0 &&
		strcmp(n->domain, ONNX_ENGINE_DOMAIN) == 0;
}

/* The QLinearTable producing id whose only reader is n, or NULL. */
static OnnxNode *
table_into(OnnxGraph *g, const int *caps, int id, const OnnxNode *n)
{
	OnnxNode   *p = sole_producer(g, caps, id, n);

	return p && is_table(p) ? p : NULL;
}


/*
 * n (an op of itab_ops) as a table of its one dynamic input x: the other
 * inputs constants (one value or one per channel), or one of them a
 * QLinearTable of x that only n reads (x * HardSigmoid(x)), absorbed.  The
 * table is made by running n's own kernel on every code, so the outputs
 * are those of the node bit for bit.
 */
static OnnxStatus
itab_one(OnnxModel *m, OnnxGraph *g, OnnxSession *s, const OnnxAllocator *scratch,
		 const int *caps, OnnxNode *n, OnnxError *err)
{
	int			x = -1,
				other = -1,
				r;
	OnnxNode   *p = NULL;
	bool		known = false,
				per_ch = false;
	const OnnxValueInfo *xi;
	int64_t		C;
	OnnxValue	codes,
				pcodes,
				out;
	const OnnxValue *ins[8];
	bool		done;
	OnnxStatus	st;

	if (n->skip || strcmp(n->domain, "com.microsoft") != 0 || n->n_outputs != 1 || n->n_inputs > 8 ||
		n->outputs[0] < 0)
		return ONNX_OK;
	for (int i = 0; itab_ops[i] && !known; i++)
		known = strcmp(n->op_type, itab_ops[i]) == 0;
	if (!known)
		return ONNX_OK;
	for (int k = 0; k < n->n_inputs; k++)
		if (n->inputs[k] >= 0 && onnx_const_input(g, n, k) == NULL)
		{
			if (x < 0 || x == n->inputs[k])
				x = n->inputs[k];
			else if (other < 0 || other == n->inputs[k])
				other = n->inputs[k];
			else
				return ONNX_OK;
		}
	if (x < 0)
		return ONNX_OK;
	if (other >= 0)
	{
		/* one of the two a table of the other */
		if ((p = table_into(g, caps, other, n)) == NULL || p->inputs[0] != x)
		{
			int			tmp = x;

			x = other;
			other = tmp;
			if ((p = table_into(g, caps, other, n)) == NULL || p->inputs[0] != x)
				return ONNX_OK;
		}
		per_ch = ((const OnnxQTable *) p->prepared)->channels > 1;
	}
	xi = &g->values[x].info;
	r = xi->rank;
	if (!is_8bit(xi->dtype) || g->values[n->outputs[0]].info.dtype != xi->dtype || r < 1 ||
		(r >= 2 && xi->dims[1] < 1))
		return ONNX_OK;
	C = r >= 2 ? xi->dims[1] : 1;
	for (int k = 0; k < n->n_inputs; k++)
	{
		const OnnxTensor *c;

		if (n->inputs[k] < 0 || n->inputs[k] == x || n->inputs[k] == other)
			continue;
		if ((c = onnx_const_input(g, n, k)) == NULL || !lut_const_ok(c, r, C, &per_ch))
			return ONNX_OK;
	}
	if (per_ch && (r < 3 || C > LUT_MAX_CHANNELS))
		return ONNX_OK;
	if (!per_ch)
		C = 1;

	/* codes as in lut_one; pcodes: the table p of them */
	if ((st = lut_codes(&codes, xi->dtype, r, C, per_ch, NULL, scratch, err)) != ONNX_OK)
		return st;
	if (p && (st = lut_codes(&pcodes, xi->dtype, r, C, per_ch, p->prepared, scratch, err)) != ONNX_OK)
	{
		onnx_value_release(scratch, &codes);
		return st;
	}
	st = ONNX_OK;
	for (int k = 0; k < n->n_inputs && st == ONNX_OK; k++)
	{
		ins[k] = n->inputs[k] < 0 ? NULL : n->inputs[k] == x ? &codes :
			n->inputs[k] == other ? &pcodes : onnx_const_value(g, n->inputs[k]);
		if (n->inputs[k] >= 0 && ins[k] == NULL)
			st = ONNX_ERR_UNSUPPORTED;
	}
	if (st == ONNX_OK)
		st = onnx_session_run_node(s, n, ins, &out, err);
	onnx_value_release(scratch, &codes);
	if (p)
		onnx_value_release(scratch, &pcodes);
	if ((st = lut_install(m, n, x, st, &out, C, xi->dtype, scratch, err, &done)) == ONNX_OK && done && p)
		p->skip = true;
	return st;
}

/*
 * A table n reading a table p that only n reads: one table, n's after
 * p's (exact: both map codes to codes), reading p's input.
 */
static OnnxStatus
itab_merge(OnnxModel *m, OnnxGraph *g, const int *caps, OnnxNode *n, OnnxError *err)
{
	OnnxNode   *p;
	const OnnxQTable *tn,
			   *tp;
	OnnxQTable *t;
	int64_t		C;
	int			in;

	while (is_table(n) && (p = table_into(g, caps, n->inputs[0], n)) != NULL)
	{
		tn = n->prepared;
		tp = p->prepared;
		if (tn->channels > 1 && tp->channels > 1 && tn->channels != tp->channels)
			return ONNX_OK;
		C = tn->channels > tp->channels ? tn->channels : tp->channels;
		if ((t = onnx_arena_alloc(&m->arena, sizeof(OnnxQTable))) == NULL ||
			(t->tab = onnx_arena_alloc(&m->arena, (size_t) C * 256)) == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory building tables");
		t->channels = C;
		for (int64_t c = 0; c < C; c++)
			for (int v = 0; v < 256; v++)
				t->tab[c * 256 + v] = tab_at(tn, c, tab_at(tp, c, v));
		in = p->inputs[0];
		rewrite(&m->arena, n, ONNX_ENGINE_DOMAIN, "QLinearTable", 1, &in, 1, n);
		n->n_attrs = 0;
		n->prepared = t;
		p->skip = true;
	}
	return ONNX_OK;
}

/*
 * A table n whose input only n reads, written by a QLinearConv: the
 * convolution applies the table to its output (fused_table) and writes
 * n's output; n is skipped.
 */
static void
itab_into_conv(OnnxGraph *g, const int *caps, OnnxNode *n)
{
	const OnnxQTable *t;
	const OnnxTensor *w;
	OnnxNode   *p;
	int			id;

	if (!is_table(n) || n->outputs[0] < 0 || (p = sole_producer(g, caps, id = n->inputs[0], n)) == NULL)
		return;
	t = n->prepared;
	if (p->domain[0] || strcmp(p->op_type, "QLinearConv") != 0 || p->fused_table ||
		p->n_outputs != 1 || (w = onnx_const_input(g, p, 3)) == NULL || w->rank < 1 ||
		(t->channels > 1 && t->channels != w->dims[0]))
		return;
	p->fused_table = t;
	p->outputs[0] = n->outputs[0];
	g->values[n->outputs[0]].producer = (int) (p - g->nodes);
	n->skip = true;
}

OnnxStatus
onnx_graph_qdq_tables(OnnxModel *m, OnnxGraph *g, const OnnxAllocator *scratch, OnnxError *err)
{
	OnnxSessionOptions opts = {0};
	OnnxSession *s;
	int		   *caps = onnx_arena_alloc(&m->arena, sizeof(int) * ((size_t) g->n_values + 1));
	OnnxStatus	st;

	if (caps == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory building tables");
	if (scratch == NULL)
		scratch = m->alloc;
	onnx_graph_count_captures(g, caps);
	opts.threads = 1;
	opts.alloc = scratch;
	if ((st = onnx_session_create(m, &opts, &s, err)) != ONNX_OK)
		return st;
	for (int i = 0; i < g->n_nodes && st == ONNX_OK; i++)
	{
		OnnxNode   *n = &g->nodes[i];

		if (!n->skip && strcmp(n->op_type, "QuantizeLinear") == 0 && n->domain[0] == '\0' &&
			n->n_inputs >= 3 && n->inputs[0] >= 0)
			st = lut_one(m, g, s, scratch, caps, n, err);
	}
	/* then the integer elementwise ops of one input, merged with the tables before them */
	for (int i = 0; i < g->n_nodes && st == ONNX_OK; i++)
	{
		OnnxNode   *n = &g->nodes[i];

		if ((st = itab_one(m, g, s, scratch, caps, n, err)) == ONNX_OK)
			st = itab_merge(m, g, caps, n, err);
	}
	/* last, the tables a QLinearConv's store can take */
	for (int i = 0; i < g->n_nodes && st == ONNX_OK; i++)
		itab_into_conv(g, caps, &g->nodes[i]);
	onnx_session_free(s);
	return st;
}
