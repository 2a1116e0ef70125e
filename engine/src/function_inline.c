/*-------------------------------------------------------------------------
 *
 * function_inline.c
 *	  Model-local functions (ModelProto.functions, FunctionProto): every
 *	  node whose domain, op_type (and overload) name a function of the
 *	  model is replaced, before the graph is built, by the function body.
 *
 * One call is expanded by copying the body's nodes with
 *	- the function's formal inputs and outputs renamed to the caller's
 *	  actual names (a formal input the caller leaves out becomes "", an
 *	  absent input; a formal output the caller leaves out stays internal),
 *	- every other name, in the body and in the subgraphs of its nodes,
 *	  prefixed with "<function>#<call number>/", which keeps the names of
 *	  two calls (or of a call and the caller) apart,
 *	- every attribute that refers to a function attribute (ref_attr_name)
 *	  replaced by the caller's attribute of that name, else the function's
 *	  default (FunctionProto.attribute_proto), else dropped, so that the
 *	  operator's own default applies.
 * The copies are expanded again, so calls inside functions work; subgraphs
 * (If, Loop, Scan bodies) are searched for calls too.
 *
 * Local functions take precedence over operators of the same name.
 * Hostile models: a function that calls itself, directly or through
 * others, is refused; calls nest at most ONNX_MAX_FUNCTION_DEPTH deep and
 * inlining makes at most ONNX_MAX_INLINED_NODES node copies in all (a
 * function calling another twice, ten levels deep, is 1024 copies).
 *
 * Everything new lives in a temporary arena and shares what it does not
 * change with the decoded model; the graph builder copies what it keeps.
 * Function opset imports are not consulted: body nodes resolve against
 * the model's opsets, as the rest of the graph does.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "function_inline.h"

typedef struct Inliner
{
	OnnxArena  *arena;
	const Onnx__ModelProto *mp;
	OnnxError  *err;
	long		copies;			/* node copies made so far */
	long		calls;			/* calls expanded so far: unique prefixes */
	int			depth;			/* calls being expanded, innermost last */
	const Onnx__FunctionProto *stack[ONNX_MAX_FUNCTION_DEPTH];
} Inliner;

/* One call being expanded. */
typedef struct CallSite
{
	const Onnx__FunctionProto *fn;
	const Onnx__NodeProto *node;	/* the calling node */
	const char *prefix;
} CallSite;

typedef struct NodeList
{
	Onnx__NodeProto **v;
	size_t		n;
	size_t		cap;
} NodeList;

#define OOM(in) onnx_error_set((in)->err, ONNX_ERR_OUT_OF_MEMORY, "out of memory inlining model-local functions")

static const char *
norm_domain(const char *d)
{
	if (d == NULL || strcmp(d, "ai.onnx") == 0)
		return "";
	return d;
}

static bool
str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The function node calls, or NULL. */
static const Onnx__FunctionProto *
find_function(const Inliner *in, const Onnx__NodeProto *node)
{
	for (size_t i = 0; i < in->mp->n_functions; i++)
	{
		const Onnx__FunctionProto *fn = in->mp->functions[i];

		if (fn->name && node->op_type && strcmp(fn->name, node->op_type) == 0 &&
			strcmp(norm_domain(fn->domain), norm_domain(node->domain)) == 0 &&
			str_eq(fn->overload, node->overload))
			return fn;
	}
	return NULL;
}

static OnnxStatus
count_copy(Inliner *in)
{
	if (++in->copies > ONNX_MAX_INLINED_NODES)
		return onnx_error_set(in->err, ONNX_ERR_LIMIT,
							  "inlining model-local functions would make more than %d nodes",
							  ONNX_MAX_INLINED_NODES);
	return ONNX_OK;
}

static char *
concat(Inliner *in, const char *a, const char *b)
{
	size_t		la = strlen(a),
				lb = strlen(b);
	char	   *s = onnx_arena_alloc(in->arena, la + lb + 1);

	if (s)
	{
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

/* A value name of the body as the caller's graph sees it; NULL: no memory. */
static char *
rename_value(Inliner *in, const CallSite *cs, const char *name)
{
	const Onnx__FunctionProto *fn = cs->fn;

	if (name == NULL || name[0] == '\0')
		return "";
	for (size_t i = 0; i < fn->n_input; i++)
		if (fn->input[i] && strcmp(fn->input[i], name) == 0)
			return i < cs->node->n_input && cs->node->input[i] ? cs->node->input[i] : "";
	for (size_t i = 0; i < fn->n_output; i++)
		if (fn->output[i] && strcmp(fn->output[i], name) == 0)
		{
			if (i < cs->node->n_output && cs->node->output[i] && cs->node->output[i][0])
				return cs->node->output[i];
			break;
		}
	return concat(in, cs->prefix, name);
}

static OnnxStatus rename_graph(Inliner *in, const CallSite *cs, const Onnx__GraphProto *g,
							   Onnx__GraphProto **out);

/* The attribute (of the caller, else the function's default) name refers to. */
static const Onnx__AttributeProto *
referenced_attr(const CallSite *cs, const char *ref)
{
	for (size_t i = 0; i < cs->node->n_attribute; i++)
		if (cs->node->attribute[i]->name && strcmp(cs->node->attribute[i]->name, ref) == 0)
			return cs->node->attribute[i];
	for (size_t i = 0; i < cs->fn->n_attribute_proto; i++)
		if (cs->fn->attribute_proto[i]->name && strcmp(cs->fn->attribute_proto[i]->name, ref) == 0)
			return cs->fn->attribute_proto[i];
	return NULL;
}

/* Attributes of a body node: references resolved, subgraphs renamed. */
static OnnxStatus
rename_attrs(Inliner *in, const CallSite *cs, const Onnx__NodeProto *src, Onnx__NodeProto *dst)
{
	OnnxStatus	st;

	dst->n_attribute = 0;
	dst->attribute = onnx_arena_alloc_array(in->arena, src->n_attribute, sizeof(Onnx__AttributeProto *));
	if (dst->attribute == NULL)
		return OOM(in);
	for (size_t k = 0; k < src->n_attribute; k++)
	{
		const Onnx__AttributeProto *a = src->attribute[k];
		Onnx__AttributeProto *c;

		if (a->ref_attr_name && a->ref_attr_name[0])
		{
			const Onnx__AttributeProto *v = referenced_attr(cs, a->ref_attr_name);

			if (v == NULL)
				continue;		/* not given: the operator's default */
			/* the caller's value belongs to the caller's scope: not renamed */
			c = onnx_arena_alloc(in->arena, sizeof(*c));
			if (c == NULL)
				return OOM(in);
			*c = *v;
			c->name = a->name;
			c->ref_attr_name = NULL;
			dst->attribute[dst->n_attribute++] = c;
			continue;
		}
		if (a->g == NULL && a->n_graphs == 0)
		{
			dst->attribute[dst->n_attribute++] = (Onnx__AttributeProto *) a;
			continue;
		}
		c = onnx_arena_alloc(in->arena, sizeof(*c));
		if (c == NULL)
			return OOM(in);
		*c = *a;
		if (a->g && (st = rename_graph(in, cs, a->g, &c->g)) != ONNX_OK)
			return st;
		if (a->n_graphs)
		{
			c->graphs = onnx_arena_alloc_array(in->arena, a->n_graphs, sizeof(Onnx__GraphProto *));
			if (c->graphs == NULL)
				return OOM(in);
			for (size_t i = 0; i < a->n_graphs; i++)
				if ((st = rename_graph(in, cs, a->graphs[i], &c->graphs[i])) != ONNX_OK)
					return st;
		}
		dst->attribute[dst->n_attribute++] = c;
	}
	return ONNX_OK;
}

/* A body node as it appears in the caller's graph. */
static OnnxStatus
rename_node(Inliner *in, const CallSite *cs, const Onnx__NodeProto *src, Onnx__NodeProto **out)
{
	Onnx__NodeProto *n;
	OnnxStatus	st;

	if ((st = count_copy(in)) != ONNX_OK)
		return st;
	n = onnx_arena_alloc(in->arena, sizeof(*n));
	if (n == NULL)
		return OOM(in);
	*n = *src;
	n->name = concat(in, cs->prefix, src->name ? src->name : "");
	n->input = onnx_arena_alloc_array(in->arena, src->n_input, sizeof(char *));
	n->output = onnx_arena_alloc_array(in->arena, src->n_output, sizeof(char *));
	if (!n->name || !n->input || !n->output)
		return OOM(in);
	for (size_t i = 0; i < src->n_input; i++)
		if ((n->input[i] = rename_value(in, cs, src->input[i])) == NULL)
			return OOM(in);
	for (size_t i = 0; i < src->n_output; i++)
		if ((n->output[i] = rename_value(in, cs, src->output[i])) == NULL)
			return OOM(in);
	if ((st = rename_attrs(in, cs, src, n)) != ONNX_OK)
		return st;
	*out = n;
	return ONNX_OK;
}

static OnnxStatus
rename_infos(Inliner *in, const CallSite *cs, size_t n, Onnx__ValueInfoProto **src,
			 Onnx__ValueInfoProto ***dst)
{
	*dst = onnx_arena_alloc_array(in->arena, n, sizeof(Onnx__ValueInfoProto *));
	if (*dst == NULL)
		return OOM(in);
	for (size_t i = 0; i < n; i++)
	{
		Onnx__ValueInfoProto *c = onnx_arena_alloc(in->arena, sizeof(*c));

		if (c == NULL)
			return OOM(in);
		*c = *src[i];
		if ((c->name = rename_value(in, cs, src[i]->name)) == NULL)
			return OOM(in);
		(*dst)[i] = c;
	}
	return ONNX_OK;
}

/* A subgraph of a body node with every name renamed as in the body. */
static OnnxStatus
rename_graph(Inliner *in, const CallSite *cs, const Onnx__GraphProto *g, Onnx__GraphProto **out)
{
	Onnx__GraphProto *c = onnx_arena_alloc(in->arena, sizeof(*c));
	OnnxStatus	st;

	if (c == NULL)
		return OOM(in);
	*c = *g;
	c->node = onnx_arena_alloc_array(in->arena, g->n_node, sizeof(Onnx__NodeProto *));
	c->initializer = onnx_arena_alloc_array(in->arena, g->n_initializer, sizeof(Onnx__TensorProto *));
	c->sparse_initializer = onnx_arena_alloc_array(in->arena, g->n_sparse_initializer, sizeof(Onnx__SparseTensorProto *));
	if (!c->node || !c->initializer || !c->sparse_initializer)
		return OOM(in);
	for (size_t i = 0; i < g->n_node; i++)
		if ((st = rename_node(in, cs, g->node[i], &c->node[i])) != ONNX_OK)
			return st;
	if ((st = rename_infos(in, cs, g->n_input, g->input, &c->input)) != ONNX_OK ||
		(st = rename_infos(in, cs, g->n_output, g->output, &c->output)) != ONNX_OK ||
		(st = rename_infos(in, cs, g->n_value_info, g->value_info, &c->value_info)) != ONNX_OK)
		return st;
	for (size_t i = 0; i < g->n_initializer; i++)
	{
		Onnx__TensorProto *t = onnx_arena_alloc(in->arena, sizeof(*t));

		if (t == NULL)
			return OOM(in);
		*t = *g->initializer[i];
		if ((t->name = rename_value(in, cs, t->name)) == NULL)
			return OOM(in);
		c->initializer[i] = t;
	}
	for (size_t i = 0; i < g->n_sparse_initializer; i++)
	{
		Onnx__SparseTensorProto *sp = onnx_arena_alloc(in->arena, sizeof(*sp));
		Onnx__TensorProto *vals = onnx_arena_alloc(in->arena, sizeof(*vals));

		if (sp == NULL || vals == NULL)
			return OOM(in);
		*sp = *g->sparse_initializer[i];
		if (sp->values)
		{
			*vals = *sp->values;
			if ((vals->name = rename_value(in, cs, vals->name)) == NULL)
				return OOM(in);
			sp->values = vals;
		}
		c->sparse_initializer[i] = sp;
	}
	*out = c;
	return ONNX_OK;
}

/* ---- expansion ---- */

static OnnxStatus
push_node(Inliner *in, NodeList *l, Onnx__NodeProto *n)
{
	if (l->n == l->cap)
	{
		size_t		cap = l->cap ? l->cap * 2 : 16;
		Onnx__NodeProto **v = onnx_arena_alloc_array(in->arena, cap, sizeof(*v));

		if (v == NULL)
			return OOM(in);
		if (l->n)
			memcpy(v, l->v, sizeof(*v) * l->n);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = n;
	return ONNX_OK;
}

static OnnxStatus expand_graph(Inliner *in, const Onnx__GraphProto *g,
							   const Onnx__GraphProto **out);

/* node, with the calls in its subgraphs expanded (node itself if none). */
static OnnxStatus
expand_subgraphs(Inliner *in, Onnx__NodeProto *node, Onnx__NodeProto **out)
{
	Onnx__NodeProto *copy = NULL;
	OnnxStatus	st;

	*out = node;
	for (size_t k = 0; k < node->n_attribute; k++)
	{
		const Onnx__AttributeProto *a = node->attribute[k];
		const Onnx__GraphProto *g = NULL;
		const Onnx__GraphProto **gs = NULL;
		bool		changed;

		if (a->g == NULL && a->n_graphs == 0)
			continue;
		if (a->g && (st = expand_graph(in, a->g, &g)) != ONNX_OK)
			return st;
		changed = a->g && g != a->g;
		if (a->n_graphs)
		{
			gs = onnx_arena_alloc_array(in->arena, a->n_graphs, sizeof(*gs));
			if (gs == NULL)
				return OOM(in);
			for (size_t i = 0; i < a->n_graphs; i++)
			{
				if ((st = expand_graph(in, a->graphs[i], &gs[i])) != ONNX_OK)
					return st;
				changed |= gs[i] != a->graphs[i];
			}
		}
		if (!changed)
			continue;
		if (copy == NULL)
		{
			if ((st = count_copy(in)) != ONNX_OK)
				return st;
			copy = onnx_arena_alloc(in->arena, sizeof(*copy));
			if (copy == NULL)
				return OOM(in);
			*copy = *node;
			copy->attribute = onnx_arena_alloc_array(in->arena, node->n_attribute, sizeof(Onnx__AttributeProto *));
			if (copy->attribute == NULL)
				return OOM(in);
			memcpy(copy->attribute, node->attribute, sizeof(Onnx__AttributeProto *) * node->n_attribute);
		}
		{
			Onnx__AttributeProto *ca = onnx_arena_alloc(in->arena, sizeof(*ca));

			if (ca == NULL)
				return OOM(in);
			*ca = *a;
			if (a->g)
				ca->g = (Onnx__GraphProto *) g;
			if (a->n_graphs)
				ca->graphs = (Onnx__GraphProto **) gs;
			copy->attribute[k] = ca;
		}
	}
	if (copy)
		*out = copy;
	return ONNX_OK;
}

/* Append node, or the expansion of the function it calls, to l. */
static OnnxStatus
expand_node(Inliner *in, Onnx__NodeProto *node, NodeList *l)
{
	const Onnx__FunctionProto *fn = find_function(in, node);
	CallSite	cs;
	char		num[32];
	OnnxStatus	st;

	if (fn == NULL)
	{
		Onnx__NodeProto *n;

		if ((st = expand_subgraphs(in, node, &n)) != ONNX_OK)
			return st;
		return push_node(in, l, n);
	}
	for (int i = 0; i < in->depth; i++)
		if (in->stack[i] == fn)
			return onnx_error_set(in->err, ONNX_ERR_INVALID_MODEL,
								  "model-local function %s%s%s calls itself",
								  norm_domain(fn->domain), norm_domain(fn->domain)[0] ? "." : "",
								  fn->name);
	if (in->depth >= ONNX_MAX_FUNCTION_DEPTH)
		return onnx_error_set(in->err, ONNX_ERR_LIMIT,
							  "model-local function calls are nested more than %d deep",
							  ONNX_MAX_FUNCTION_DEPTH);
	if (node->n_input > fn->n_input || node->n_output > fn->n_output)
		return onnx_error_set(in->err, ONNX_ERR_INVALID_MODEL,
							  "node \"%s\" calls function %s with %zu inputs and %zu outputs; it takes %zu and %zu",
							  node->name ? node->name : "", fn->name, node->n_input,
							  node->n_output, fn->n_input, fn->n_output);
	snprintf(num, sizeof(num), "#%ld/", ++in->calls);
	cs.fn = fn;
	cs.node = node;
	cs.prefix = concat(in, fn->name, num);
	if (cs.prefix == NULL)
		return OOM(in);
	in->stack[in->depth++] = fn;
	for (size_t i = 0; i < fn->n_node; i++)
	{
		Onnx__NodeProto *n;

		if ((st = rename_node(in, &cs, fn->node[i], &n)) != ONNX_OK ||
			(st = expand_node(in, n, l)) != ONNX_OK)
			return st;
	}
	in->depth--;
	return ONNX_OK;
}

/* g with every call expanded (g itself if it calls nothing). */
static OnnxStatus
expand_graph(Inliner *in, const Onnx__GraphProto *g, const Onnx__GraphProto **out)
{
	NodeList	l = {0};
	bool		changed = false;
	Onnx__GraphProto *c;
	OnnxStatus	st;

	*out = g;
	for (size_t i = 0; i < g->n_node; i++)
	{
		if ((st = expand_node(in, g->node[i], &l)) != ONNX_OK)
			return st;
		changed |= l.n != i + 1 || l.v[i] != g->node[i];
	}
	if (!changed)
		return ONNX_OK;
	c = onnx_arena_alloc(in->arena, sizeof(*c));
	if (c == NULL)
		return OOM(in);
	*c = *g;
	c->n_node = l.n;
	c->node = l.v;
	*out = c;
	return ONNX_OK;
}

OnnxStatus
onnx_inline_functions(OnnxArena *tmp, const Onnx__ModelProto *mp,
					  const Onnx__GraphProto **out, OnnxError *err)
{
	Inliner		in;

	*out = mp->graph;
	if (mp->n_functions == 0 || mp->graph == NULL)
		return ONNX_OK;
	memset(&in, 0, sizeof(in));
	in.arena = tmp;
	in.mp = mp;
	in.err = err;
	for (size_t i = 0; i < mp->n_functions; i++)
		if (mp->functions[i]->name == NULL || mp->functions[i]->name[0] == '\0')
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "a model-local function has no name");
	return expand_graph(&in, mp->graph, out);
}
