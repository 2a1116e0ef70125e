/*-------------------------------------------------------------------------
 *
 * pack.c
 *	  The load-time pass that lets kernels prepare constant inputs once
 *	  (packed GEMM weights, transposed matrices) instead of on every run:
 *	  after inference and the optimizer, every node whose operator has a
 *	  pack hook gets it called with its graph, subgraphs included.
 *
 *	  What is constant: an initializer the caller cannot override (one in
 *	  the model or one constant folding made), also when a subgraph
 *	  captures it from an enclosing graph.  Since IR version 4 an
 *	  initializer also listed as a graph input is only a default
 *	  (onnxruntime's rule too), so it is not constant.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "engine_internal.h"
#include "pack.h"

const OnnxValue *
onnx_const_value(const OnnxGraph *g, int id)
{
	const OnnxValueSlot *v;

	if (id < 0 || id >= g->n_values)
		return NULL;
	v = &g->values[id];
	while (v->source == ONNX_SRC_OUTER)
	{
		for (int k = 0; k < v->outer_depth && g; k++)
			g = g->parent;
		if (g == NULL || v->outer_id < 0 || v->outer_id >= g->n_values)
			return NULL;
		v = &g->values[v->outer_id];
	}
	if (v->source != ONNX_SRC_INITIALIZER || v->overridable || v->init == NULL ||
		v->init->kind == ONNX_VALUE_NONE)
		return NULL;
	return v->init;
}

const OnnxTensor *
onnx_const_input(const OnnxGraph *g, const OnnxNode *node, int k)
{
	const OnnxValue *v;

	if (k < 0 || k >= node->n_inputs)
		return NULL;
	v = onnx_const_value(g, node->inputs[k]);
	return v && v->kind == ONNX_VALUE_TENSOR ? &v->tensor : NULL;
}

OnnxStatus
onnx_graph_pack(OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *n = &g->nodes[i];
		OnnxGraph  *sub;
		OnnxStatus	st;

		if (!n->skip && n->def && n->def->pack &&
			(st = n->def->pack(n, g, arena, err)) != ONNX_OK)
			return onnx_error_at_node(err, n, st);
		for (int k = 0; (sub = onnx_node_subgraph(n, k)) != NULL; k++)
			if ((st = onnx_graph_pack(sub, arena, err)) != ONNX_OK)
				return st;
	}
	return ONNX_OK;
}
