/*-------------------------------------------------------------------------
 *
 * optimize.c
 *	  Graph rewrites done once at load, after operator resolution and
 *	  inference.  Each keeps the graph's results unchanged.
 *
 *	  - Gemm followed by Relu: when Gemm's output feeds only that Relu and
 *	    is not a graph output, Gemm writes the Relu's output and applies
 *	    the activation in place; the Relu node is skipped.
 *
 *	  Graphs with subgraphs (If, Loop, Scan) are left as they are, so no
 *	  captured value can be rewritten under a subgraph.
 *
 *-------------------------------------------------------------------------
 */
#include "engine_internal.h"
#include "optimize.h"

static bool
has_subgraphs(const OnnxGraph *g)
{
	for (int i = 0; i < g->n_nodes; i++)
		for (int a = 0; a < g->nodes[i].n_attrs; a++)
			if (g->nodes[i].attrs[a].type == ONNX_ATTR_GRAPH ||
				g->nodes[i].attrs[a].type == ONNX_ATTR_GRAPHS)
				return true;
	return false;
}

/* Number of node inputs in g that read value id. */
static int
consumers(const OnnxGraph *g, int id)
{
	int			n = 0;

	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; k < g->nodes[i].n_inputs; k++)
			if (g->nodes[i].inputs[k] == id)
				n++;
	return n;
}

/* Fold Relu into the Gemm that feeds it. */
static void
fuse_gemm_relu(OnnxGraph *g)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *relu = &g->nodes[i];
		OnnxNode   *gemm;
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
		gemm = &g->nodes[prod];
		if (gemm->skip || gemm->fused_relu || gemm->domain[0] ||
			strcmp(gemm->op_type, "Gemm") != 0 || gemm->n_outputs != 1 || gemm->outputs[0] != mid ||
			consumers(g, mid) != 1)
			continue;
		gemm->outputs[0] = relu->outputs[0];
		gemm->fused_relu = true;
		g->values[relu->outputs[0]].producer = prod;
		g->values[mid].last_use = -1;
		relu->skip = true;
	}
}

/* Apply every rewrite to the main graph. */
void
onnx_graph_optimize(OnnxGraph *g)
{
	if (has_subgraphs(g))
		return;
	fuse_gemm_relu(g);
}
