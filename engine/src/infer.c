/*-------------------------------------------------------------------------
 *
 * infer.c
 *	  Static type and shape inference, in execution order.  Unknown stays
 *	  unknown (dtype UNDEFINED, rank -1, dim -1 or a symbolic name); only
 *	  a known input dtype that an operator cannot take is an error, raised
 *	  at load so that no run fails halfway for it.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "infer.h"

/* Copy rank, dims and symbolic names of src into dst. */
void
onnx_info_copy_shape(OnnxValueInfo *dst, const OnnxValueInfo *src)
{
	dst->rank = src->rank;
	for (int i = 0; i < ONNX_MAX_RANK; i++)
	{
		dst->dims[i] = i < src->rank ? src->dims[i] : 0;
		dst->dim_params[i] = i < src->rank ? src->dim_params[i] : NULL;
	}
}

/* Numpy broadcast of two static shapes; unknown if either is unknown. */
void
onnx_info_broadcast(OnnxValueInfo *dst, const OnnxValueInfo *a, const OnnxValueInfo *b)
{
	int			r;

	if (a->rank < 0 || b->rank < 0)
	{
		dst->rank = -1;
		return;
	}
	r = a->rank > b->rank ? a->rank : b->rank;
	dst->rank = r;
	for (int i = 0; i < r; i++)
	{
		int			ia = i - (r - a->rank);
		int			ib = i - (r - b->rank);
		int64_t		da = ia >= 0 ? a->dims[ia] : 1;
		int64_t		db = ib >= 0 ? b->dims[ib] : 1;
		const char *pa = ia >= 0 ? a->dim_params[ia] : NULL;
		const char *pb = ib >= 0 ? b->dim_params[ib] : NULL;

		dst->dim_params[i] = NULL;
		if (da == 1)
		{
			dst->dims[i] = db;
			dst->dim_params[i] = pb;
		}
		else if (db == 1 || da == db)
		{
			dst->dims[i] = da;
			dst->dim_params[i] = pa;
		}
		else if (da >= 0 && db < 0)
			dst->dims[i] = da;
		else if (db >= 0 && da < 0)
			dst->dims[i] = db;
		else
			dst->dims[i] = -1;
	}
}

/* Infer callback: every output has input 0's shape. */
OnnxStatus
onnx_infer_same_shape(OnnxInferCtx *ctx)
{
	if (ctx->n_inputs < 1 || ctx->inputs[0] == NULL)
		return ONNX_OK;
	for (int i = 0; i < ctx->n_outputs; i++)
		if (ctx->outputs[i])
			onnx_info_copy_shape(ctx->outputs[i], ctx->inputs[0]);
	return ONNX_OK;
}

/* Infer callback: output 0 is the broadcast of all inputs. */
OnnxStatus
onnx_infer_broadcast(OnnxInferCtx *ctx)
{
	OnnxValueInfo acc;
	bool		first = true;

	if (ctx->n_outputs < 1 || ctx->outputs[0] == NULL)
		return ONNX_OK;
	memset(&acc, 0, sizeof(acc));
	for (int i = 0; i < ctx->n_inputs; i++)
	{
		if (ctx->inputs[i] == NULL)
			continue;
		if (first)
		{
			onnx_info_copy_shape(&acc, ctx->inputs[i]);
			first = false;
		}
		else
		{
			OnnxValueInfo tmp = acc;

			onnx_info_broadcast(&acc, &tmp, ctx->inputs[i]);
		}
	}
	if (!first)
		onnx_info_copy_shape(ctx->outputs[0], &acc);
	return ONNX_OK;
}

/*
 * Keep what the model declared (value_info, graph outputs) where inference
 * knows less: an unknown rank, dtype or dimension never replaces a known one.
 */
static void
merge_declared(OnnxValueInfo *now, const OnnxValueInfo *declared)
{
	if (now->dtype == ONNX_DTYPE_UNDEFINED)
		now->dtype = declared->dtype;
	if (declared->rank < 0)
		return;
	if (now->rank < 0 || now->rank != declared->rank)
	{
		onnx_info_copy_shape(now, declared);
		return;
	}
	for (int d = 0; d < now->rank; d++)
		if (now->dims[d] < 0 && (declared->dims[d] >= 0 || now->dim_params[d] == NULL))
		{
			now->dims[d] = declared->dims[d];
			now->dim_params[d] = declared->dim_params[d];
		}
}

OnnxStatus
onnx_node_infer(OnnxGraph *g, OnnxNode *n, OnnxError *err)
{
	OnnxValueInfo declared[64];
	OnnxStatus	st = ONNX_OK;

	const OnnxValueInfo *ins[64];
	const OnnxValue *consts[64];
	OnnxValueInfo *outs[64];
	const OnnxOpDef *def = n->def;
	OnnxInferCtx ctx;
	const OnnxValueInfo *in0;

	if (n->n_inputs > 64 || n->n_outputs > 64)
		return ONNX_OK;			/* variadic giants: leave unknown */
	for (int i = 0; i < n->n_inputs; i++)
	{
		int			id = n->inputs[i];

		ins[i] = id >= 0 ? &g->values[id].info : NULL;
		consts[i] = onnx_const_value(g, id);
	}
	for (int i = 0; i < n->n_outputs; i++)
	{
		outs[i] = n->outputs[i] >= 0 ? &g->values[n->outputs[i]].info : NULL;
		if (outs[i])
			declared[i] = *outs[i];
	}

	in0 = n->n_inputs > 0 ? ins[0] : NULL;
	if (def->input0_types && in0 && in0->kind == ONNX_VALUE_TENSOR &&
		in0->dtype != ONNX_DTYPE_UNDEFINED &&
		!(def->input0_types & ONNX_T(in0->dtype)))
	{
		onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
					   "operator %s (opset %d) does not support input type %s",
					   n->op_type, n->opset, onnx_dtype_name(in0->dtype));
		return onnx_error_at_node(err, n, ONNX_ERR_UNSUPPORTED);
	}

	/* element types */
	for (int i = 0; i < n->n_outputs; i++)
	{
		OnnxValueInfo *o = outs[i];

		if (o == NULL)
			continue;
		switch (def->out_type)
		{
			case ONNX_OUT_SAME:
				if (in0 && in0->dtype != ONNX_DTYPE_UNDEFINED)
				{
					o->dtype = in0->dtype;
					o->kind = in0->kind;
				}
				break;
			case ONNX_OUT_BOOL:
			case ONNX_OUT_INT32:
			case ONNX_OUT_INT64:
			case ONNX_OUT_FLOAT:
				o->dtype = def->out_type == ONNX_OUT_BOOL ? ONNX_DTYPE_BOOL :
					def->out_type == ONNX_OUT_INT32 ? ONNX_DTYPE_INT32 :
					def->out_type == ONNX_OUT_INT64 ? ONNX_DTYPE_INT64 : ONNX_DTYPE_FLOAT;
				o->kind = ONNX_VALUE_TENSOR;
				break;
			case ONNX_OUT_INPUT:
				if (def->out_input < n->n_inputs && ins[def->out_input] &&
					ins[def->out_input]->dtype != ONNX_DTYPE_UNDEFINED)
				{
					o->dtype = ins[def->out_input]->dtype;
					o->kind = ONNX_VALUE_TENSOR;
				}
				break;
			case ONNX_OUT_ATTR_TO:
				{
					int64_t		to = onnx_attr_int(n, "to", 0);

					if (to > 0 && to < ONNX_DTYPE_COUNT)
					{
						o->dtype = (OnnxDType) to;
						o->kind = ONNX_VALUE_TENSOR;
					}
					break;
				}
			default:
				break;
		}
	}
	if (def->infer)
	{
		ctx.node = n;
		ctx.n_inputs = n->n_inputs;
		ctx.inputs = ins;
		ctx.const_inputs = consts;
		ctx.n_outputs = n->n_outputs;
		ctx.outputs = outs;
		ctx.err = err;
		st = def->infer(&ctx);
	}
	for (int i = 0; i < n->n_outputs; i++)
		if (outs[i])
			merge_declared(outs[i], &declared[i]);
	return st;
}

/*
 * Copy into the captures of subgraph sub the static infos of the values
 * they name in the enclosing graphs (inferred by now; captures were copied
 * when the subgraph was built, before inference).
 */
void
onnx_subgraph_refresh_captures(OnnxGraph *sub)
{
	for (int i = 0; i < sub->n_values; i++)
	{
		OnnxValueSlot *v = &sub->values[i];
		const OnnxGraph *p = sub;

		if (v->source != ONNX_SRC_OUTER)
			continue;
		for (int k = 0; k < v->outer_depth && p; k++)
			p = p->parent;
		if (p && v->outer_id >= 0 && v->outer_id < p->n_values)
		{
			const OnnxValueInfo *src = &p->values[v->outer_id].info;

			if (src->dtype != ONNX_DTYPE_UNDEFINED || src->rank >= 0)
			{
				v->info = *src;
				v->info.name = v->name;
			}
		}
	}
}

/* Infer a subgraph (If branch, Loop/Scan body) after refreshing its captures. */
static OnnxStatus
infer_subgraph(OnnxGraph *sub, OnnxError *err)
{
	onnx_subgraph_refresh_captures(sub);
	return onnx_graph_infer(sub, err);
}

/*
 * Infer every node of g in order.  A node's subgraphs are inferred before
 * the node itself, so that If, Loop and Scan can take their output types
 * from the subgraphs' outputs.
 */
OnnxStatus
onnx_graph_infer(OnnxGraph *g, OnnxError *err)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *n = &g->nodes[i];
		OnnxGraph  *sub;
		OnnxStatus	st;

		if (n->def == NULL)
			continue;
		for (int k = 0; (sub = onnx_node_subgraph(n, k)) != NULL; k++)
			if ((st = infer_subgraph(sub, err)) != ONNX_OK)
				return st;
		if ((st = onnx_node_infer(g, n, err)) != ONNX_OK)
			return st;
	}
	return ONNX_OK;
}
