/*-------------------------------------------------------------------------
 *
 * model_load.c
 *	  onnx_model_load: guard, decode, convert, resolve operators, infer
 *	  types and shapes; and the model's public accessors.
 *
 * The protobuf message is freed before returning: the model keeps only
 * the converted graph, in its arena.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "concat_plan.h"
#include "const_fold.h"
#include "function_inline.h"
#include "graph_build.h"
#include "pack.h"
#include "infer.h"
#include "fp16_promote.h"
#include "optimize.h"
#include "onnx.pb-c.h"
#include "proto_guard.h"

/* Highest IR version and opsets this engine knows (those of onnx 1.22). */
#define ONNX_MAX_IR_VERSION 13
#define ONNX_MAX_OPSET_DEFAULT 27
#define ONNX_MAX_OPSET_ML 5

static void *
arena_hook_alloc(void *ctx, size_t size)
{
	return onnx_arena_alloc((OnnxArena *) ctx, size);
}

static void
arena_hook_free(void *ctx, void *ptr)
{
	(void) ctx;
	(void) ptr;
}

/* Opset version the model imports for domain ("" = ai.onnx); 0 if none. */
int
onnx_model_opset(const OnnxModel *model, const char *domain)
{
	for (int i = 0; i < model->meta.n_opsets; i++)
		if (strcmp(model->opsets[i].domain, domain) == 0)
			return (int) model->opsets[i].version;
	return 0;
}

typedef struct MissingOps
{
	char		text[400];
	int			count;
} MissingOps;

static void
note_missing(MissingOps *m, const char *domain, const char *op, int opset)
{
	char		item[160];

	snprintf(item, sizeof(item), "%s%s%s (opset %d)", domain[0] ? domain : "",
			 domain[0] ? "." : "", op, opset);
	if (strstr(m->text, item))
		return;
	if (m->count > 0 && strlen(m->text) + strlen(item) + 3 < sizeof(m->text))
		strcat(m->text, ", ");
	if (strlen(m->text) + strlen(item) + 1 < sizeof(m->text))
		strcat(m->text, item);
	m->count++;
}

static const char *
attr_type_name(OnnxAttrType t)
{
	static const char *const names[] = {"undefined", "float", "int", "string", "tensor",
		"graph", "floats", "ints", "strings", "tensors", "graphs", "sparse tensor",
	"sparse tensors", "type", "types"};

	return (t >= 0 && t <= ONNX_ATTR_TYPE_PROTOS) ? names[t] : "unknown";
}

/* Resolve every node of g (and its subgraphs) to an operator definition. */
static OnnxStatus
resolve_graph(OnnxModel *model, OnnxGraph *g, MissingOps *missing, OnnxError *err)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		OnnxNode   *n = &g->nodes[i];
		int			opset = onnx_model_opset(model, n->domain);
		OnnxGraph  *sub;
		OnnxStatus	st;

		n->opset = opset;
		/* onnxruntime, too, takes version 1 of com.microsoft when not imported */
		if (opset == 0 && (n->domain[0] == '\0' || strcmp(n->domain, "com.microsoft") == 0))
			opset = n->opset = 1;
		if (opset == 0)
		{
			note_missing(missing, n->domain, n->op_type, 0);
			continue;
		}
		n->def = onnx_registry_lookup(n->domain, n->op_type, opset);
		if (n->def == NULL)
		{
			note_missing(missing, n->domain, n->op_type, opset);
			continue;
		}
		if (n->n_inputs < n->def->min_inputs ||
			(n->def->max_inputs >= 0 && n->n_inputs > n->def->max_inputs))
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
								  "node \"%s\" (%s) has %d inputs, expected %d to %d",
								  n->name, n->op_type, n->n_inputs, n->def->min_inputs,
								  n->def->max_inputs);
		if (n->n_outputs < n->def->min_outputs ||
			(n->def->max_outputs >= 0 && n->n_outputs > n->def->max_outputs))
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
								  "node \"%s\" (%s) has %d outputs, expected %d to %d",
								  n->name, n->op_type, n->n_outputs, n->def->min_outputs,
								  n->def->max_outputs);
		for (int k = 0; k < n->def->min_inputs; k++)
			if (n->inputs[k] < 0)
				return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
									  "node \"%s\" (%s) lacks required input %d",
									  n->name, n->op_type, k);
		for (const OnnxAttrSpec *spec = n->def->attrs; spec && spec->name; spec++)
		{
			const OnnxAttr *a = onnx_attr(n, spec->name);

			if (a && a->type != spec->type)
				return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
									  "node \"%s\" (%s): attribute \"%s\" is of type %s, expected %s",
									  n->name, n->op_type, spec->name, attr_type_name(a->type),
									  attr_type_name(spec->type));
		}
		if ((n->def->check && (st = n->def->check(n, err)) != ONNX_OK) ||
			(n->def->prepare && (st = n->def->prepare(n, &model->arena, err)) != ONNX_OK))
			return onnx_error_at_node(err, n, st);
		for (int k = 0; (sub = onnx_node_subgraph(n, k)) != NULL; k++)
			if ((st = resolve_graph(model, sub, missing, err)) != ONNX_OK)
				return st;
	}
	return ONNX_OK;
}

/* Number g and its subgraphs (OnnxGraph.id) from *next on. */
static void
number_graphs(OnnxGraph *g, int *next)
{
	OnnxGraph  *sub;

	g->id = (*next)++;
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; (sub = onnx_node_subgraph(&g->nodes[i], k)) != NULL; k++)
			number_graphs(sub, next);
}

static OnnxStatus
convert_meta(OnnxModel *m, const Onnx__ModelProto *mp, OnnxError *err)
{
	OnnxArena  *ar = &m->arena;
	OnnxModelMeta *meta = &m->meta;
	char	  **keys;
	char	  **vals;

	meta->ir_version = mp->ir_version;
	meta->producer_name = onnx_arena_strdup(ar, mp->producer_name ? mp->producer_name : "");
	meta->producer_version = onnx_arena_strdup(ar, mp->producer_version ? mp->producer_version : "");
	meta->domain = onnx_arena_strdup(ar, mp->domain ? mp->domain : "");
	meta->model_version = mp->model_version;
	meta->doc_string = onnx_arena_strdup(ar, mp->doc_string ? mp->doc_string : "");
	m->opsets = onnx_arena_alloc(ar, sizeof(OnnxOpsetInfo) * (mp->n_opset_import + 1));
	keys = onnx_arena_alloc(ar, sizeof(char *) * (mp->n_metadata_props + 1));
	vals = onnx_arena_alloc(ar, sizeof(char *) * (mp->n_metadata_props + 1));
	if (!m->opsets || !keys || !vals)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory loading the model");
	for (size_t i = 0; i < mp->n_opset_import; i++)
	{
		const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";

		if (strcmp(d, "ai.onnx") == 0)
			d = "";
		m->opsets[i].domain = onnx_arena_strdup(ar, d);
		m->opsets[i].version = mp->opset_import[i]->version;
		if (m->opsets[i].version < 1 || m->opsets[i].version > 10000)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
								  "opset version %lld of domain \"%s\" is invalid",
								  (long long) m->opsets[i].version, d);
		if ((d[0] == '\0' && m->opsets[i].version > ONNX_MAX_OPSET_DEFAULT) ||
			(strcmp(d, "ai.onnx.ml") == 0 && m->opsets[i].version > ONNX_MAX_OPSET_ML))
			return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
								  "opset %lld of domain %s is newer than the supported %d",
								  (long long) m->opsets[i].version, d[0] ? d : "ai.onnx",
								  d[0] ? ONNX_MAX_OPSET_ML : ONNX_MAX_OPSET_DEFAULT);
	}
	meta->n_opsets = (int) mp->n_opset_import;
	meta->opsets = m->opsets;
	for (size_t i = 0; i < mp->n_metadata_props; i++)
	{
		keys[i] = onnx_arena_strdup(ar, mp->metadata_props[i]->key ? mp->metadata_props[i]->key : "");
		vals[i] = onnx_arena_strdup(ar, mp->metadata_props[i]->value ? mp->metadata_props[i]->value : "");
	}
	meta->n_props = (int) mp->n_metadata_props;
	meta->prop_keys = (const char *const *) keys;
	meta->prop_values = (const char *const *) vals;
	return ONNX_OK;
}

static OnnxStatus
load_from_proto(OnnxModel *m, const Onnx__ModelProto *mp, const OnnxAllocator *scratch,
				OnnxError *err)
{
	OnnxBuildCtx bc;
	OnnxStatus	st;
	MissingOps	missing;
	OnnxGraph  *g;
	OnnxArena	tmp;
	const Onnx__GraphProto *gp;

	if (mp->ir_version < 1)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "model has no IR version: the bytes are probably not an ONNX model");
	if (mp->ir_version > ONNX_MAX_IR_VERSION)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
							  "IR version %lld is newer than the supported %d",
							  (long long) mp->ir_version, ONNX_MAX_IR_VERSION);
	if (mp->graph == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "model has no graph");
	if ((st = convert_meta(m, mp, err)) != ONNX_OK)
		return st;
	memset(&bc, 0, sizeof(bc));
	bc.model = m;
	bc.arena = &m->arena;
	bc.arena_alloc.alloc = arena_hook_alloc;
	bc.arena_alloc.free = arena_hook_free;
	bc.arena_alloc.ctx = &m->arena;
	bc.err = err;

	/*
	 * Calls of model-local functions become the functions' bodies first;
	 * the rewritten protobuf lives in a temporary arena, freed once the
	 * graph (which copies what it keeps) is built.
	 */
	onnx_arena_init(&tmp, scratch);
	st = onnx_inline_functions(&tmp, mp, &gp, err);
	if (st == ONNX_OK)
		st = onnx_promote_float16(&tmp, gp, &gp, err);
	if (st == ONNX_OK)
		st = onnx_graph_build(&bc, gp, NULL, &g);
	onnx_arena_free_all(&tmp);
	if (st != ONNX_OK)
		return st;
	m->graph = g;
	number_graphs(g, &m->n_graphs);
	m->meta.graph_name = g->name;
	m->meta.graph_doc = g->doc;

	memset(&missing, 0, sizeof(missing));
	if ((st = resolve_graph(m, g, &missing, err)) != ONNX_OK)
		return st;
	if (missing.count > 0)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
							  "unsupported operator%s: %s", missing.count > 1 ? "s" : "",
							  missing.text);
	if ((st = onnx_graph_infer(g, err)) != ONNX_OK)
		return st;
	onnx_graph_fuse_qdq(g, &m->arena);
	if ((st = onnx_graph_fold(m, g, scratch, err)) != ONNX_OK)
		return st;
	if ((st = onnx_graph_qdq_tables(m, g, scratch, err)) != ONNX_OK)
		return st;
	onnx_graph_optimize(g, &m->arena);
	if ((st = onnx_graph_pack(g, &m->arena, err)) != ONNX_OK)
		return st;
	onnx_graph_lifetimes(g);
	if ((st = onnx_graph_plan_concats(g, &m->arena, err)) != ONNX_OK)
		return st;

	/* public copies of input and output infos */
	m->input_infos = onnx_arena_alloc(&m->arena, sizeof(OnnxValueInfo) * (size_t) (g->n_inputs + 1));
	m->output_infos = onnx_arena_alloc(&m->arena, sizeof(OnnxValueInfo) * (size_t) (g->n_outputs + 1));
	if (!m->input_infos || !m->output_infos)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory loading the model");
	for (int i = 0; i < g->n_inputs; i++)
		m->input_infos[i] = g->values[g->inputs[i]].info;
	for (int i = 0; i < g->n_outputs; i++)
		m->output_infos[i] = g->values[g->outputs[i]].info;
	return ONNX_OK;
}

/* Public: load and validate a model from bytes. */
OnnxStatus
onnx_model_load(const void *bytes, size_t len, const OnnxAllocator *alloc,
				OnnxModel **model, OnnxError *err)
{
	return onnx_model_load_in(bytes, len, alloc, alloc, model, err);
}

/* Public: the same, the model's memory from alloc, decoding's from scratch. */
OnnxStatus
onnx_model_load_in(const void *bytes, size_t len, const OnnxAllocator *alloc,
				   const OnnxAllocator *scratch, OnnxModel **model, OnnxError *err)
{
	OnnxPbAlloc pb;
	Onnx__ModelProto *mp;
	OnnxModel  *m;
	OnnxStatus	st;

	onnx_error_clear(err);
	*model = NULL;
	if (alloc == NULL)
		alloc = &onnx_malloc_allocator;
	if (scratch == NULL)
		scratch = alloc;
	if (bytes == NULL || len == 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "model is empty");
	if ((st = onnx_proto_guard(&onnx__model_proto__descriptor, bytes, len, err)) != ONNX_OK)
		return st;
	onnx_pb_alloc_init(&pb, scratch);
	mp = onnx__model_proto__unpack(&pb.pa, len, bytes);
	if (mp == NULL && pb.failed)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory decoding the model");
	if (mp == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "model bytes do not parse as an ONNX ModelProto");
	m = alloc->alloc(alloc->ctx, sizeof(OnnxModel));
	if (m == NULL)
	{
		onnx__model_proto__free_unpacked(mp, &pb.pa);
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory loading the model");
	}
	memset(m, 0, sizeof(*m));
	m->alloc = alloc;
	onnx_arena_init(&m->arena, alloc);
	st = load_from_proto(m, mp, scratch, err);
	onnx__model_proto__free_unpacked(mp, &pb.pa);
	if (st != ONNX_OK)
	{
		onnx_model_free(m);
		return st;
	}
	*model = m;
	return ONNX_OK;
}

/* Free a model and everything in its arena. */
void
onnx_model_free(OnnxModel *model)
{
	const OnnxAllocator *alloc;

	if (model == NULL)
		return;
	alloc = model->alloc;
	onnx_model_free_folded(model);
	onnx_arena_free_all(&model->arena);
	alloc->free(alloc->ctx, model);
}

void
onnx_model_meta(const OnnxModel *model, OnnxModelMeta *meta)
{
	*meta = model->meta;
}

int
onnx_model_input_count(const OnnxModel *model)
{
	return model->graph->n_inputs;
}

const OnnxValueInfo *
onnx_model_input(const OnnxModel *model, int i)
{
	if (i < 0 || i >= model->graph->n_inputs)
		return NULL;
	return &model->input_infos[i];
}

int
onnx_model_output_count(const OnnxModel *model)
{
	return model->graph->n_outputs;
}

const OnnxValueInfo *
onnx_model_output(const OnnxModel *model, int i)
{
	if (i < 0 || i >= model->graph->n_outputs)
		return NULL;
	return &model->output_infos[i];
}
