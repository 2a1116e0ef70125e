/*-------------------------------------------------------------------------
 *
 * concat_plan.c
 *	  Which values of a graph are written straight into the output of the
 *	  Concat that reads them, so that the Concat copies nothing.
 *
 * A Concat of static shape whose dims before the axis are all 1 (a batch
 * of one, concatenated along channels: Inception, SqueezeNet, DenseNet)
 * lays its inputs one after another in its output.  An input made by an
 * earlier node of the same graph, read last by this Concat, read by it
 * once and not a graph output, can then live inside the Concat's output
 * from the start: the session (session.c) reserves the Concat's output
 * buffer when the first such part is written and hands each producer its
 * slice in place of a buffer of its own; the Concat finds its parts in
 * place and copies only the others.  Other readers of a part run before
 * the Concat (it is its last reader), while the reservation lives.
 *
 * A part may itself be a Concat's output (DenseNet's growing blocks,
 * each the previous block plus a new slice): its reservation is then a
 * slice of the outer one, so a whole dense block shares one buffer.
 *
 * The plan only says where a part goes; the session checks at run time
 * that the part's dtype and shape are the static ones before placing it.
 *
 *-------------------------------------------------------------------------
 */
#include "concat_plan.h"

/* Static element count of value id (dims all known and positive), or -1. */
static int64_t
static_count(const OnnxGraph *g, int id)
{
	const OnnxValueInfo *info = &g->values[id].info;
	int64_t		n = 1;

	if (info->kind != ONNX_VALUE_TENSOR || info->rank < 1 || info->rank > ONNX_MAX_RANK ||
		info->dtype == ONNX_DTYPE_UNDEFINED || info->dtype == ONNX_DTYPE_STRING)
		return -1;
	for (int d = 0; d < info->rank; d++)
		if (info->dims[d] <= 0 || onnx_mul_overflow_i64(n, info->dims[d], &n))
			return -1;
	return n;
}

/*
 * Concat node c's parts into g->cat_dest / cat_off when its output and
 * inputs have static shapes that agree (same rank and dtype, same dims
 * off the axis, the output's axis dim their sum) and the dims before the
 * axis are 1.
 */
static void
plan_concat(OnnxGraph *g, const OnnxNode *c)
{
	const OnnxValueInfo *yi;
	int64_t		sum = 0,
				off = 0;
	int			ax,
				out = c->outputs[0];

	if (out < 0 || static_count(g, out) < 0 || g->values[out].info.kind != ONNX_VALUE_TENSOR)
		return;
	yi = &g->values[out].info;
	if (!onnx_norm_axis(onnx_attr_int(c, "axis", c->opset < 4 ? 1 : 0), yi->rank, &ax))
		return;
	for (int d = 0; d < ax; d++)
		if (yi->dims[d] != 1)
			return;
	for (int k = 0; k < c->n_inputs; k++)
	{
		const OnnxValueInfo *xi;

		if (c->inputs[k] < 0 || static_count(g, c->inputs[k]) < 0)
			return;
		xi = &g->values[c->inputs[k]].info;
		if (xi->rank != yi->rank || xi->dtype != yi->dtype)
			return;
		for (int d = 0; d < yi->rank; d++)
			if (d != ax && xi->dims[d] != yi->dims[d])
				return;
		sum += xi->dims[ax];
	}
	if (sum != yi->dims[ax])
		return;
	for (int k = 0; k < c->n_inputs; k++)
	{
		int			id = c->inputs[k];
		const OnnxValueSlot *v = &g->values[id];
		int			reads = 0;

		for (int j = 0; j < c->n_inputs; j++)
			reads += c->inputs[j] == id;
		if (v->source == ONNX_SRC_NODE && v->producer >= 0 && v->producer < c->index &&
			v->last_use == c->index && !v->is_output && reads == 1)
		{
			g->cat_dest[id] = out;
			g->cat_off[id] = off;
			g->cat_planned = true;
		}
		off += static_count(g, id);
	}
}

OnnxStatus
onnx_graph_plan_concats(OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	bool		any = false;

	for (int i = 0; i < g->n_nodes && !any; i++)
		any = !g->nodes[i].skip && g->nodes[i].def && g->nodes[i].domain[0] == '\0' &&
			strcmp(g->nodes[i].op_type, "Concat") == 0 && g->nodes[i].n_outputs == 1;
	if (!any)
		return ONNX_OK;
	g->cat_dest = onnx_arena_alloc(arena, sizeof(int) * ((size_t) g->n_values + 1));
	g->cat_off = onnx_arena_alloc(arena, sizeof(int64_t) * ((size_t) g->n_values + 1));
	if (g->cat_dest == NULL || g->cat_off == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory planning concatenations");
	for (int v = 0; v < g->n_values; v++)
	{
		g->cat_dest[v] = -1;
		g->cat_off[v] = 0;
	}
	for (int i = 0; i < g->n_nodes; i++)
	{
		const OnnxNode *n = &g->nodes[i];

		if (!n->skip && n->def && n->domain[0] == '\0' && strcmp(n->op_type, "Concat") == 0 &&
			n->n_outputs == 1 && n->n_inputs > 0)
			plan_concat(g, n);
	}
	return ONNX_OK;
}
