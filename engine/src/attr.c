/*-------------------------------------------------------------------------
 *
 * attr.c
 *	  Attribute look-up with defaults, for kernels and checks, and the
 *	  subgraphs that graph attributes hold.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include "engine_internal.h"

/* The attribute called name, or NULL. */
const OnnxAttr *
onnx_attr(const OnnxNode *node, const char *name)
{
	for (int i = 0; i < node->n_attrs; i++)
		if (strcmp(node->attrs[i].name, name) == 0)
			return &node->attrs[i];
	return NULL;
}

int64_t
onnx_attr_int(const OnnxNode *node, const char *name, int64_t dflt)
{
	const OnnxAttr *a = onnx_attr(node, name);

	if (a == NULL)
		return dflt;
	if (a->type == ONNX_ATTR_INT)
		return a->i;
	if (a->type == ONNX_ATTR_FLOAT)
	{
		/* saturated: a cast of a float outside int64's range is undefined */
		if (isnan(a->f))
			return dflt;
		if (a->f >= 9223372036854775807.0f)
			return INT64_MAX;
		if (a->f <= -9223372036854775808.0f)
			return INT64_MIN;
		return (int64_t) a->f;
	}
	return dflt;
}

float
onnx_attr_float(const OnnxNode *node, const char *name, float dflt)
{
	const OnnxAttr *a = onnx_attr(node, name);

	if (a == NULL)
		return dflt;
	if (a->type == ONNX_ATTR_FLOAT)
		return a->f;
	if (a->type == ONNX_ATTR_INT)
		return (float) a->i;
	return dflt;
}

/* The attribute called name when it has type type, else NULL. */
static const OnnxAttr *
attr_typed(const OnnxNode *node, const char *name, OnnxAttrType type)
{
	const OnnxAttr *a = onnx_attr(node, name);

	return a && a->type == type ? a : NULL;
}

const char *
onnx_attr_string(const OnnxNode *node, const char *name, const char *dflt)
{
	const OnnxAttr *a = attr_typed(node, name, ONNX_ATTR_STRING);

	return a ? a->s : dflt;
}

/* INTS attribute: count (0 if absent) and data in *out. */
int
onnx_attr_ints(const OnnxNode *node, const char *name, const int64_t **out)
{
	const OnnxAttr *a = attr_typed(node, name, ONNX_ATTR_INTS);

	*out = a ? a->ints : NULL;
	return a ? a->n : 0;
}

/* FLOATS attribute: count (0 if absent) and data in *out. */
int
onnx_attr_floats(const OnnxNode *node, const char *name, const float **out)
{
	const OnnxAttr *a = attr_typed(node, name, ONNX_ATTR_FLOATS);

	*out = a ? a->floats : NULL;
	return a ? a->n : 0;
}

/* The i-th subgraph of node (graph, then graphs attributes, in order), or NULL. */
OnnxGraph *
onnx_node_subgraph(const OnnxNode *node, int i)
{
	for (int a = 0; a < node->n_attrs; a++)
	{
		const OnnxAttr *at = &node->attrs[a];

		if (at->type == ONNX_ATTR_GRAPH && at->g && i-- == 0)
			return at->g;
		if (at->type == ONNX_ATTR_GRAPHS)
		{
			if (i < at->n)
				return at->graphs[i];
			i -= at->n;
		}
	}
	return NULL;
}

/*
 * Add to counts[id] one for every capture of value id of g by a subgraph
 * of g's nodes, at any depth (an If branch nested in a Loop body that
 * reads a value of g counts as well).
 */
static void
count_captures_below(const OnnxGraph *sub, int levels, int *counts)
{
	OnnxGraph  *inner;

	for (int i = 0; i < sub->n_values; i++)
		if (sub->values[i].source == ONNX_SRC_OUTER && sub->values[i].outer_depth == levels)
			counts[sub->values[i].outer_id]++;
	for (int n = 0; n < sub->n_nodes; n++)
		for (int k = 0; (inner = onnx_node_subgraph(&sub->nodes[n], k)) != NULL; k++)
			count_captures_below(inner, levels + 1, counts);
}

void
onnx_graph_count_captures(const OnnxGraph *g, int *counts)
{
	OnnxGraph  *sub;

	for (int n = 0; n < g->n_nodes; n++)
		for (int k = 0; (sub = onnx_node_subgraph(&g->nodes[n], k)) != NULL; k++)
			count_captures_below(sub, 1, counts);
}
