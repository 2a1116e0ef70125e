/*-------------------------------------------------------------------------
 *
 * graph_build.c
 *	  Convert a GraphProto into the engine's graph: a value table (inputs,
 *	  initializers, node outputs, captures from enclosing graphs), nodes
 *	  with resolved value ids and converted attributes, topological order
 *	  and value lifetimes.
 *
 * Refuses values defined twice, undefined references and cycles.  All
 * memory comes from the model arena.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "graph_build.h"
#include "tensor_proto.h"

/* ---- name table: open addressing over value ids ---- */

typedef struct NameTable
{
	int			cap;			/* power of two */
	int		   *ids;			/* -1 empty */
} NameTable;

static uint32_t
hash_name(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t) *s++) * 16777619u;
	return h;
}

static int
table_find(const NameTable *nt, const OnnxGraph *g, const char *name)
{
	uint32_t	i = hash_name(name) & (uint32_t) (nt->cap - 1);

	while (nt->ids[i] >= 0)
	{
		if (strcmp(g->values[nt->ids[i]].name, name) == 0)
			return nt->ids[i];
		i = (i + 1) & (uint32_t) (nt->cap - 1);
	}
	return -1;
}

static void
table_insert(NameTable *nt, const OnnxGraph *g, int id)
{
	uint32_t	i = hash_name(g->values[id].name) & (uint32_t) (nt->cap - 1);

	while (nt->ids[i] >= 0)
		i = (i + 1) & (uint32_t) (nt->cap - 1);
	nt->ids[i] = id;
}

/* Per-graph build state, kept for lookups from subgraphs. */
typedef struct GraphScope
{
	OnnxGraph  *g;
	NameTable	names;
	int			cap_values;
	struct GraphScope *parent;
} GraphScope;

/* Find name in g (not its parents); -1 if absent. */
int
onnx_graph_find_value(const OnnxGraph *g, const char *name)
{
	for (int i = 0; i < g->n_values; i++)
		if (strcmp(g->values[i].name, name) == 0)
			return i;
	return -1;
}

#define OOM(bc) onnx_error_set((bc)->err, ONNX_ERR_OUT_OF_MEMORY, "out of memory loading the model")

static int
add_value(OnnxBuildCtx *bc, GraphScope *sc, const char *name, OnnxValueSource src)
{
	OnnxGraph  *g = sc->g;
	OnnxValueSlot *v;

	if (g->n_values >= sc->cap_values)
		return -2;
	v = &g->values[g->n_values];
	memset(v, 0, sizeof(*v));
	v->name = onnx_arena_strdup(bc->arena, name);
	if (v->name == NULL)
		return -3;
	v->source = src;
	v->producer = -1;
	v->last_use = -1;
	v->info.rank = -1;
	v->info.name = v->name;
	table_insert(&sc->names, g, g->n_values);
	return g->n_values++;
}

/* ---- types ---- */

/* Element type name as ONNX Runtime prints it: float, double, int64, ... */
static const char *
type_elem_name(OnnxDType dt)
{
	if (dt == ONNX_DTYPE_FLOAT)
		return "float";
	if (dt == ONNX_DTYPE_DOUBLE)
		return "double";
	return onnx_dtype_name(dt);
}

static const char *
type_text(OnnxBuildCtx *bc, const OnnxValueInfo *info, const Onnx__TypeProto *tp)
{
	char		buf[256];

	if (tp == NULL)
		return "unknown";
	switch (tp->value_case)
	{
		case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
			snprintf(buf, sizeof(buf), "tensor(%s)", type_elem_name(info->dtype));
			break;
		case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
			snprintf(buf, sizeof(buf), "sparse_tensor(%s)", type_elem_name(info->dtype));
			break;
		case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
			snprintf(buf, sizeof(buf), "seq(%s)",
					 tp->sequence_type && tp->sequence_type->elem_type ?
					 type_text(bc, info, tp->sequence_type->elem_type) : "unknown");
			break;
		case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
			snprintf(buf, sizeof(buf), "map(%s,%s)",
					 type_elem_name((OnnxDType) (tp->map_type ? tp->map_type->key_type : 0)),
					 tp->map_type && tp->map_type->value_type ?
					 type_text(bc, info, tp->map_type->value_type) : "unknown");
			break;
		case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
			snprintf(buf, sizeof(buf), "optional(%s)",
					 tp->optional_type && tp->optional_type->elem_type ?
					 type_text(bc, info, tp->optional_type->elem_type) : "unknown");
			break;
		default:
			return "unknown";
	}
	return onnx_arena_strdup(bc->arena, buf);
}

static void
shape_into_info(OnnxBuildCtx *bc, const Onnx__TensorShapeProto *sh, OnnxValueInfo *info)
{
	if (sh == NULL || sh->n_dim > ONNX_MAX_RANK)
	{
		info->rank = -1;
		return;
	}
	info->rank = (int) sh->n_dim;
	for (size_t i = 0; i < sh->n_dim; i++)
	{
		const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];

		info->dims[i] = -1;
		info->dim_params[i] = NULL;
		if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0)
			info->dims[i] = d->dim_value;
		else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
			info->dim_params[i] = onnx_arena_strdup(bc->arena, d->dim_param);
	}
}

/* Fill kind, dtype, shape and type text from a TypeProto (NULL: unknown). */
OnnxStatus
onnx_info_from_type(OnnxBuildCtx *bc, const Onnx__TypeProto *tp, OnnxValueInfo *info)
{
	const Onnx__TypeProto *inner = tp;

	info->rank = -1;
	info->kind = ONNX_VALUE_TENSOR;
	info->dtype = ONNX_DTYPE_UNDEFINED;
	if (tp == NULL)
	{
		info->type_text = "unknown";
		return ONNX_OK;
	}
	switch (tp->value_case)
	{
		case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
			info->kind = ONNX_VALUE_SEQUENCE;
			inner = tp->sequence_type ? tp->sequence_type->elem_type : NULL;
			break;
		case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
			info->kind = ONNX_VALUE_MAP;
			inner = tp->map_type ? tp->map_type->value_type : NULL;
			break;
		case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
			info->kind = ONNX_VALUE_OPTIONAL;
			inner = tp->optional_type ? tp->optional_type->elem_type : NULL;
			break;
		default:
			break;
	}
	/* element type: first tensor type found inside */
	while (inner && inner->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
		   inner->value_case != ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE)
	{
		if (inner->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE && inner->sequence_type)
			inner = inner->sequence_type->elem_type;
		else if (inner->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE && inner->optional_type)
			inner = inner->optional_type->elem_type;
		else if (inner->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE && inner->map_type)
			inner = inner->map_type->value_type;
		else
			inner = NULL;
	}
	if (inner && inner->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && inner->tensor_type)
	{
		if (inner->tensor_type->elem_type > 0 && inner->tensor_type->elem_type < ONNX_DTYPE_COUNT)
			info->dtype = (OnnxDType) inner->tensor_type->elem_type;
		if (info->kind == ONNX_VALUE_TENSOR)
			shape_into_info(bc, inner->tensor_type->shape, info);
	}
	else if (inner && inner->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE && inner->sparse_tensor_type)
	{
		if (inner->sparse_tensor_type->elem_type > 0 && inner->sparse_tensor_type->elem_type < ONNX_DTYPE_COUNT)
			info->dtype = (OnnxDType) inner->sparse_tensor_type->elem_type;
		if (info->kind == ONNX_VALUE_TENSOR)
			shape_into_info(bc, inner->sparse_tensor_type->shape, info);
	}
	info->type_text = type_text(bc, info, tp);
	return ONNX_OK;
}

/* Static info of a constant tensor. */
static void
info_from_tensor(OnnxValueInfo *info, const OnnxTensor *t, OnnxArena *arena)
{
	char		buf[64];

	info->kind = ONNX_VALUE_TENSOR;
	info->dtype = t->dtype;
	info->rank = t->rank;
	for (int i = 0; i < t->rank; i++)
		info->dims[i] = t->dims[i];
	snprintf(buf, sizeof(buf), "tensor(%s)", type_elem_name(t->dtype));
	info->type_text = onnx_arena_strdup(arena, buf);
}

/* ---- attributes ---- */

static OnnxStatus build_graph_scoped(OnnxBuildCtx *bc, const Onnx__GraphProto *gp,
									 GraphScope *parent, OnnxGraph **out);

static OnnxStatus
convert_attr(OnnxBuildCtx *bc, GraphScope *sc, const Onnx__AttributeProto *ap, OnnxAttr *a)
{
	OnnxStatus	st;
	OnnxArena  *ar = bc->arena;

	a->name = onnx_arena_strdup(ar, ap->name ? ap->name : "");
	if (ap->ref_attr_name && ap->ref_attr_name[0])
		return onnx_error_set(bc->err, ONNX_ERR_UNSUPPORTED,
							  "attribute \"%s\" refers to a function attribute outside a function",
							  a->name);
	a->type = ap->has_type ? (OnnxAttrType) ap->type : ONNX_ATTR_UNDEFINED;
	if (a->type == ONNX_ATTR_UNDEFINED)
	{
		/* IR < 3 left type unset: guess from the filled field */
		if (ap->n_floats)
			a->type = ONNX_ATTR_FLOATS;
		else if (ap->n_ints)
			a->type = ONNX_ATTR_INTS;
		else if (ap->n_strings)
			a->type = ONNX_ATTR_STRINGS;
		else if (ap->t)
			a->type = ONNX_ATTR_TENSOR;
		else if (ap->g)
			a->type = ONNX_ATTR_GRAPH;
		else if (ap->has_s)
			a->type = ONNX_ATTR_STRING;
		else if (ap->has_i)
			a->type = ONNX_ATTR_INT;
		else if (ap->has_f)
			a->type = ONNX_ATTR_FLOAT;
	}
	switch (a->type)
	{
		case ONNX_ATTR_FLOAT:
			a->f = ap->f;
			break;
		case ONNX_ATTR_INT:
			a->i = ap->i;
			break;
		case ONNX_ATTR_STRING:
			{
				char	   *s = onnx_arena_alloc(ar, ap->s.len + 1);

				if (s == NULL)
					return OOM(bc);
				if (ap->s.len)
					memcpy(s, ap->s.data, ap->s.len);
				a->s = s;
				a->s_len = ap->s.len;
				break;
			}
		case ONNX_ATTR_TENSOR:
			if (ap->t == NULL)
				return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL, "tensor attribute \"%s\" has no tensor", a->name);
			a->t = onnx_arena_alloc(ar, sizeof(OnnxTensor));
			if (a->t == NULL)
				return OOM(bc);
			if ((st = onnx_tensor_from_proto(ap->t, &bc->arena_alloc, a->t, bc->err)) != ONNX_OK)
				return st;
			break;
		case ONNX_ATTR_SPARSE_TENSOR:
			if (ap->sparse_tensor == NULL)
				return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL, "sparse tensor attribute \"%s\" is empty", a->name);
			a->t = onnx_arena_alloc(ar, sizeof(OnnxTensor));
			if (a->t == NULL)
				return OOM(bc);
			if ((st = onnx_sparse_from_proto(ap->sparse_tensor, &bc->arena_alloc, a->t, bc->err)) != ONNX_OK)
				return st;
			break;
		case ONNX_ATTR_GRAPH:
			if (ap->g == NULL)
				return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL, "graph attribute \"%s\" has no graph", a->name);
			if ((st = build_graph_scoped(bc, ap->g, sc, &a->g)) != ONNX_OK)
				return st;
			break;
		case ONNX_ATTR_FLOATS:
			a->n = (int) ap->n_floats;
			a->floats = onnx_arena_alloc(ar, sizeof(float) * (ap->n_floats + 1));
			if (a->floats == NULL)
				return OOM(bc);
			if (ap->n_floats)
				memcpy(a->floats, ap->floats, sizeof(float) * ap->n_floats);
			break;
		case ONNX_ATTR_INTS:
			a->n = (int) ap->n_ints;
			a->ints = onnx_arena_alloc(ar, sizeof(int64_t) * (ap->n_ints + 1));
			if (a->ints == NULL)
				return OOM(bc);
			if (ap->n_ints)
				memcpy(a->ints, ap->ints, sizeof(int64_t) * ap->n_ints);
			break;
		case ONNX_ATTR_STRINGS:
			a->n = (int) ap->n_strings;
			a->strings = onnx_arena_alloc(ar, sizeof(char *) * (ap->n_strings + 1));
			if (a->strings == NULL)
				return OOM(bc);
			for (size_t i = 0; i < ap->n_strings; i++)
			{
				char	   *s = onnx_arena_alloc(ar, ap->strings[i].len + 1);

				if (s == NULL)
					return OOM(bc);
				if (ap->strings[i].len)
					memcpy(s, ap->strings[i].data, ap->strings[i].len);
				a->strings[i] = s;
			}
			break;
		case ONNX_ATTR_TENSORS:
			a->n = (int) ap->n_tensors;
			a->tensors = onnx_arena_alloc(ar, sizeof(OnnxTensor) * (ap->n_tensors + 1));
			if (a->tensors == NULL)
				return OOM(bc);
			for (size_t i = 0; i < ap->n_tensors; i++)
				if ((st = onnx_tensor_from_proto(ap->tensors[i], &bc->arena_alloc, &a->tensors[i], bc->err)) != ONNX_OK)
					return st;
			break;
		case ONNX_ATTR_GRAPHS:
			a->n = (int) ap->n_graphs;
			a->graphs = onnx_arena_alloc(ar, sizeof(OnnxGraph *) * (ap->n_graphs + 1));
			if (a->graphs == NULL)
				return OOM(bc);
			for (size_t i = 0; i < ap->n_graphs; i++)
				if ((st = build_graph_scoped(bc, ap->graphs[i], sc, &a->graphs[i])) != ONNX_OK)
					return st;
			break;
		case ONNX_ATTR_TYPE_PROTO:
			a->type_proto = onnx_arena_alloc(ar, sizeof(OnnxValueInfo));
			if (a->type_proto == NULL)
				return OOM(bc);
			return onnx_info_from_type(bc, ap->tp, a->type_proto);
		case ONNX_ATTR_SPARSE_TENSORS:
		case ONNX_ATTR_TYPE_PROTOS:
			return onnx_error_set(bc->err, ONNX_ERR_UNSUPPORTED,
								  "attribute \"%s\" has an unsupported list type", a->name);
		default:
			return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL,
								  "attribute \"%s\" has no type", a->name);
	}
	return ONNX_OK;
}

/* ---- value references ---- */

/*
 * Resolve name seen in graph sc: a local value, or a capture from an
 * enclosing graph (added as an ONNX_SRC_OUTER slot).  -1 if undefined.
 */
static int
resolve_name(OnnxBuildCtx *bc, GraphScope *sc, const char *name)
{
	int			id = table_find(&sc->names, sc->g, name);
	int			depth = 1;

	if (id >= 0)
		return id;
	for (GraphScope *p = sc->parent; p; p = p->parent, depth++)
	{
		int			pid = table_find(&p->names, p->g, name);

		if (pid >= 0)
		{
			OnnxValueSlot *src = &p->g->values[pid];
			int			nid;

			if (src->source == ONNX_SRC_OUTER)
			{
				depth += src->outer_depth;
				pid = src->outer_id;
				for (int k = 0; k < src->outer_depth; k++)
					p = p->parent;
			}
			nid = add_value(bc, sc, name, ONNX_SRC_OUTER);
			if (nid < 0)
				return nid;
			sc->g->values[nid].outer_depth = depth;
			sc->g->values[nid].outer_id = pid;
			sc->g->values[nid].info = p->g->values[pid].info;
			sc->g->values[nid].info.name = sc->g->values[nid].name;
			return nid;
		}
	}
	return -1;
}

/*
 * Keep alive, until node node_idx of target finishes, every value of
 * target that subgraph g (levels below target) captures.
 */
static void
mark_captures(const OnnxGraph *g, int levels, OnnxGraph *target, int node_idx)
{
	OnnxGraph  *sub;

	for (int i = 0; i < g->n_values; i++)
	{
		const OnnxValueSlot *v = &g->values[i];

		if (v->source == ONNX_SRC_OUTER && v->outer_depth == levels)
		{
			OnnxValueSlot *t = &target->values[v->outer_id];

			if (t->last_use < node_idx)
				t->last_use = node_idx;
		}
	}
	for (int n = 0; n < g->n_nodes; n++)
		for (int k = 0; (sub = onnx_node_subgraph(&g->nodes[n], k)) != NULL; k++)
			mark_captures(sub, levels + 1, target, node_idx);
}

/*
 * The values of target that subgraph g (levels below target) captures:
 * counted when ids is NULL, else stored at ids[*n...].  A node must run
 * after the producers of what its subgraphs capture (implicit inputs).
 */
static void
collect_captures(const OnnxGraph *g, int levels, int *ids, int *n)
{
	OnnxGraph  *sub;

	for (int i = 0; i < g->n_values; i++)
	{
		const OnnxValueSlot *v = &g->values[i];

		if (v->source == ONNX_SRC_OUTER && v->outer_depth == levels)
		{
			if (ids)
				ids[*n] = v->outer_id;
			(*n)++;
		}
	}
	for (int k = 0; k < g->n_nodes; k++)
		for (int j = 0; (sub = onnx_node_subgraph(&g->nodes[k], j)) != NULL; j++)
			collect_captures(sub, levels + 1, ids, n);
}

/* Captures of node's subgraphs (see collect_captures). */
static void
node_captures(const OnnxNode *node, int *ids, int *n)
{
	OnnxGraph  *sub;

	for (int j = 0; (sub = onnx_node_subgraph(node, j)) != NULL; j++)
		collect_captures(sub, 1, ids, n);
}

/* ---- topological order ---- */

static OnnxStatus
topo_sort(OnnxBuildCtx *bc, OnnxGraph *g)
{
	int			n = g->n_nodes;
	int			nv = g->n_values;
	int		   *indeg = onnx_arena_alloc(bc->arena, sizeof(int) * (size_t) (n + 1));
	int		   *order = onnx_arena_alloc(bc->arena, sizeof(int) * (size_t) (n + 1));
	OnnxNode   *sorted = onnx_arena_alloc(bc->arena, sizeof(OnnxNode) * (size_t) (n + 1));
	int		   *producer = onnx_arena_alloc(bc->arena, sizeof(int) * (size_t) (nv + 1));
	int		   *first_use = onnx_arena_alloc(bc->arena, sizeof(int) * (size_t) (nv + 1));
	int		   *use_node;
	int		   *use_next;
	int		   *cap_ids = NULL;
	int			n_uses = 0,
				n_caps = 0,
				head = 0,
				tail = 0;

	if (!indeg || !order || !sorted || !producer || !first_use)
		return OOM(bc);
	for (int i = 0; i < n; i++)
	{
		n_uses += g->nodes[i].n_inputs;
		node_captures(&g->nodes[i], NULL, &n_caps);
	}
	if (n_caps > 0)
	{
		cap_ids = onnx_arena_alloc(bc->arena, sizeof(int) * (size_t) n_caps);
		if (cap_ids == NULL)
			return OOM(bc);
	}
	use_node = onnx_arena_alloc(bc->arena, sizeof(int) * (size_t) (n_uses + n_caps + 1));
	use_next = onnx_arena_alloc(bc->arena, sizeof(int) * (size_t) (n_uses + n_caps + 1));
	if (!use_node || !use_next)
		return OOM(bc);
	for (int v = 0; v < nv; v++)
	{
		producer[v] = -1;
		first_use[v] = -1;
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < g->nodes[i].n_outputs; k++)
			if (g->nodes[i].outputs[k] >= 0)
				producer[g->nodes[i].outputs[k]] = i;
	/*
	 * Kahn's algorithm over the uses of node-produced values, O(nodes +
	 * edges): a node's in-degree counts its inputs made by local nodes.
	 */
	n_uses = 0;
	for (int i = 0; i < n; i++)
	{
		int			nc = 0;

		if (cap_ids)
			node_captures(&g->nodes[i], cap_ids, &nc);
		for (int k = 0; k < g->nodes[i].n_inputs + nc; k++)
		{
			/* explicit inputs, then the values its subgraphs capture */
			int			id = k < g->nodes[i].n_inputs ? g->nodes[i].inputs[k] :
				cap_ids[k - g->nodes[i].n_inputs];

			if (id < 0 || g->values[id].source != ONNX_SRC_NODE || producer[id] < 0)
				continue;
			indeg[i]++;
			use_node[n_uses] = i;
			use_next[n_uses] = first_use[id];
			first_use[id] = n_uses++;
		}
	}
	for (int i = 0; i < n; i++)
		if (indeg[i] == 0)
			order[tail++] = i;
	while (head < tail)
	{
		int			i = order[head++];

		for (int k = 0; k < g->nodes[i].n_outputs; k++)
		{
			int			out = g->nodes[i].outputs[k];

			if (out < 0)
				continue;
			for (int u = first_use[out]; u >= 0; u = use_next[u])
				if (--indeg[use_node[u]] == 0)
					order[tail++] = use_node[u];
		}
	}
	if (tail != n)
		return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL,
							  "graph \"%s\" has a cycle among its nodes", g->name ? g->name : "");
	for (int i = 0; i < n; i++)
	{
		sorted[i] = g->nodes[order[i]];
		sorted[i].index = i;
	}
	g->nodes = sorted;
	/* producers in execution order (last uses come after the optimizer) */
	for (int i = 0; i < n; i++)
		for (int k = 0; k < sorted[i].n_outputs; k++)
			if (sorted[i].outputs[k] >= 0)
				g->values[sorted[i].outputs[k]].producer = i;
	return ONNX_OK;
}

/*
 * Set every value's last_use in g and its subgraphs from the graph as it
 * will run: the last node that is not skipped and reads it, directly or
 * through a subgraph that captures it; -1 when nothing does.  Called once,
 * after every rewrite (fusion, folding, packing), which therefore never
 * maintain lifetimes themselves.
 */
void
onnx_graph_lifetimes(OnnxGraph *g)
{
	OnnxGraph  *sub;

	for (int i = 0; i < g->n_values; i++)
		g->values[i].last_use = -1;
	for (int i = 0; i < g->n_nodes; i++)
	{
		const OnnxNode *n = &g->nodes[i];

		if (n->skip)
			continue;
		for (int k = 0; k < n->n_inputs; k++)
			if (n->inputs[k] >= 0)
				g->values[n->inputs[k]].last_use = i;
		for (int k = 0; (sub = onnx_node_subgraph(n, k)) != NULL; k++)
			mark_captures(sub, 1, g, i);
	}
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; (sub = onnx_node_subgraph(&g->nodes[i], k)) != NULL; k++)
			onnx_graph_lifetimes(sub);
}

/* ---- the graph ---- */

static OnnxStatus
build_graph_scoped(OnnxBuildCtx *bc, const Onnx__GraphProto *gp,
				   GraphScope *parent, OnnxGraph **out)
{
	OnnxArena  *ar = bc->arena;
	GraphScope	sc;
	OnnxGraph  *g;
	size_t		cap;
	OnnxStatus	st;
	int			id;

	if (++bc->depth > 32)
		return onnx_error_set(bc->err, ONNX_ERR_LIMIT, "subgraphs are nested more than 32 levels deep");
	g = onnx_arena_alloc(ar, sizeof(OnnxGraph));
	if (g == NULL)
		return OOM(bc);
	g->name = onnx_arena_strdup(ar, gp->name ? gp->name : "");
	g->doc = onnx_arena_strdup(ar, gp->doc_string ? gp->doc_string : "");
	g->parent = parent ? parent->g : NULL;
	g->model = bc->model;

	/* upper bound of values: everything named anywhere in the graph */
	cap = gp->n_input + gp->n_initializer + gp->n_sparse_initializer + gp->n_output + 1;
	for (size_t i = 0; i < gp->n_node; i++)
		cap += gp->node[i]->n_output + gp->node[i]->n_input;
	if (cap > 100000000)
		return onnx_error_set(bc->err, ONNX_ERR_LIMIT, "graph is too large");
	sc.g = g;
	sc.parent = parent;
	sc.cap_values = (int) cap;
	sc.names.cap = 16;
	while ((size_t) sc.names.cap < cap * 2)
		sc.names.cap *= 2;
	sc.names.ids = onnx_arena_alloc(ar, sizeof(int) * (size_t) sc.names.cap);
	g->values = onnx_arena_alloc(ar, sizeof(OnnxValueSlot) * cap);
	if (!sc.names.ids || !g->values)
		return OOM(bc);
	memset(sc.names.ids, 0xff, sizeof(int) * (size_t) sc.names.cap);

	/* initializers */
	for (size_t i = 0; i < gp->n_initializer + gp->n_sparse_initializer; i++)
	{
		bool		sparse = i >= gp->n_initializer;
		const char *name = sparse ?
			(gp->sparse_initializer[i - gp->n_initializer]->values ?
			 gp->sparse_initializer[i - gp->n_initializer]->values->name : NULL) :
			gp->initializer[i]->name;
		OnnxValueSlot *v;

		if (name == NULL || name[0] == '\0')
			return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL, "an initializer has no name");
		if (table_find(&sc.names, g, name) >= 0)
			return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL, "initializer \"%s\" is defined more than once", name);
		if ((id = add_value(bc, &sc, name, ONNX_SRC_INITIALIZER)) < 0)
			return OOM(bc);
		v = &g->values[id];
		v->init = onnx_arena_alloc(ar, sizeof(OnnxValue));
		if (v->init == NULL)
			return OOM(bc);
		v->init->kind = ONNX_VALUE_TENSOR;
		st = sparse ?
			onnx_sparse_from_proto(gp->sparse_initializer[i - gp->n_initializer], &bc->arena_alloc, &v->init->tensor, bc->err) :
			onnx_tensor_from_proto(gp->initializer[i], &bc->arena_alloc, &v->init->tensor, bc->err);
		if (st != ONNX_OK)
			return st;
		info_from_tensor(&v->info, &v->init->tensor, ar);
		v->info.name = v->name;
	}

	/* inputs (an input naming an initializer is that initializer) */
	g->inputs = onnx_arena_alloc(ar, sizeof(int) * (gp->n_input + 1));
	if (g->inputs == NULL)
		return OOM(bc);
	for (size_t i = 0; i < gp->n_input; i++)
	{
		const Onnx__ValueInfoProto *vi = gp->input[i];
		int			existing;

		if (vi->name == NULL || vi->name[0] == '\0')
			return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL, "graph input %zu has no name", i);
		existing = table_find(&sc.names, g, vi->name);
		if (existing >= 0 && g->values[existing].source == ONNX_SRC_INITIALIZER)
		{
			/*
			 * From IR version 4 an initializer that is also an input is a
			 * default the caller may override (as in onnxruntime); before,
			 * every initializer had to be listed and stays a constant.
			 */
			g->values[existing].overridable = bc->model->meta.ir_version >= 4;
			continue;
		}
		if (existing >= 0)
			return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL, "graph input \"%s\" is listed more than once", vi->name);
		if ((id = add_value(bc, &sc, vi->name, ONNX_SRC_INPUT)) < 0)
			return OOM(bc);
		if ((st = onnx_info_from_type(bc, vi->type, &g->values[id].info)) != ONNX_OK)
			return st;
		g->values[id].info.name = g->values[id].name;
		g->values[id].info.doc = onnx_arena_strdup(ar, vi->doc_string ? vi->doc_string : "");
		g->inputs[g->n_inputs++] = id;
	}

	/* node outputs */
	for (size_t i = 0; i < gp->n_node; i++)
		for (size_t k = 0; k < gp->node[i]->n_output; k++)
		{
			const char *name = gp->node[i]->output[k];

			if (name == NULL || name[0] == '\0')
				continue;
			if (table_find(&sc.names, g, name) >= 0)
				return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL,
									  "value \"%s\" is defined more than once", name);
			if ((id = add_value(bc, &sc, name, ONNX_SRC_NODE)) < 0)
				return OOM(bc);
		}

	/* declared types of intermediate values */
	for (size_t i = 0; i < gp->n_value_info; i++)
	{
		const Onnx__ValueInfoProto *vi = gp->value_info[i];
		int			vid = vi->name ? table_find(&sc.names, g, vi->name) : -1;

		if (vid >= 0 && g->values[vid].source == ONNX_SRC_NODE)
		{
			if ((st = onnx_info_from_type(bc, vi->type, &g->values[vid].info)) != ONNX_OK)
				return st;
			g->values[vid].info.name = g->values[vid].name;
		}
	}

	/* nodes */
	g->n_nodes = (int) gp->n_node;
	g->nodes = onnx_arena_alloc(ar, sizeof(OnnxNode) * (gp->n_node + 1));
	if (g->nodes == NULL)
		return OOM(bc);
	for (size_t i = 0; i < gp->n_node; i++)
	{
		const Onnx__NodeProto *np = gp->node[i];
		OnnxNode   *n = &g->nodes[i];
		const char *dom = np->domain ? np->domain : "";

		if (strcmp(dom, "ai.onnx") == 0)
			dom = "";
		n->op_type = onnx_arena_strdup(ar, np->op_type ? np->op_type : "");
		n->domain = onnx_arena_strdup(ar, dom);
		n->name = onnx_arena_strdup(ar, np->name ? np->name : "");
		if (n->op_type[0] == '\0')
			return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL, "node %zu has no operator type", i);
		n->n_inputs = (int) np->n_input;
		n->n_outputs = (int) np->n_output;
		n->inputs = onnx_arena_alloc(ar, sizeof(int) * (np->n_input + 1));
		n->outputs = onnx_arena_alloc(ar, sizeof(int) * (np->n_output + 1));
		n->attrs = onnx_arena_alloc(ar, sizeof(OnnxAttr) * (np->n_attribute + 1));
		if (!n->inputs || !n->outputs || !n->attrs)
			return OOM(bc);
		for (size_t k = 0; k < np->n_output; k++)
			n->outputs[k] = (np->output[k] && np->output[k][0]) ?
				table_find(&sc.names, g, np->output[k]) : -1;
		for (size_t k = 0; k < np->n_input; k++)
		{
			const char *name = np->input[k];

			if (name == NULL || name[0] == '\0')
			{
				n->inputs[k] = -1;
				continue;
			}
			id = resolve_name(bc, &sc, name);
			if (id == -1)
				return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL,
									  "node \"%s\" (%s) uses undefined value \"%s\"",
									  n->name, n->op_type, name);
			if (id < -1)
				return OOM(bc);
			n->inputs[k] = id;
		}
		for (size_t k = 0; k < np->n_attribute; k++)
		{
			for (size_t j = 0; j < k; j++)
				if (np->attribute[j]->name && np->attribute[k]->name &&
					strcmp(np->attribute[j]->name, np->attribute[k]->name) == 0)
					return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL,
										  "node \"%s\" (%s) has attribute \"%s\" twice",
										  n->name, n->op_type, np->attribute[k]->name);
			if ((st = convert_attr(bc, &sc, np->attribute[k], &n->attrs[k])) != ONNX_OK)
				return st;
		}
		n->n_attrs = (int) np->n_attribute;
	}

	/* outputs */
	g->n_outputs = (int) gp->n_output;
	g->outputs = onnx_arena_alloc(ar, sizeof(int) * (gp->n_output + 1));
	if (g->outputs == NULL)
		return OOM(bc);
	for (size_t i = 0; i < gp->n_output; i++)
	{
		const Onnx__ValueInfoProto *vi = gp->output[i];
		OnnxValueSlot *v;

		id = vi->name ? resolve_name(bc, &sc, vi->name) : -1;
		if (id == -1)
			return onnx_error_set(bc->err, ONNX_ERR_INVALID_MODEL,
								  "graph output \"%s\" is not produced by any node",
								  vi->name ? vi->name : "");
		if (id < -1)
			return OOM(bc);
		v = &g->values[id];
		v->is_output = true;
		if (vi->type)
		{
			OnnxValueInfo declared;

			memset(&declared, 0, sizeof(declared));
			if ((st = onnx_info_from_type(bc, vi->type, &declared)) != ONNX_OK)
				return st;
			if (v->source == ONNX_SRC_NODE || v->info.dtype == ONNX_DTYPE_UNDEFINED)
			{
				v->info = declared;
				v->info.name = v->name;
			}
		}
		v->info.doc = onnx_arena_strdup(ar, vi->doc_string ? vi->doc_string : "");
		g->outputs[i] = id;
	}

	if ((st = topo_sort(bc, g)) != ONNX_OK)
		return st;
	bc->depth--;
	*out = g;
	return ONNX_OK;
}

/* Build the main graph (parent NULL) or a subgraph. */
OnnxStatus
onnx_graph_build(OnnxBuildCtx *bc, const Onnx__GraphProto *gp, OnnxGraph *parent,
				 OnnxGraph **out)
{
	(void) parent;
	return build_graph_scoped(bc, gp, NULL, out);
}
