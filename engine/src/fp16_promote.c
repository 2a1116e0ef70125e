/*-------------------------------------------------------------------------
 *
 * fp16_promote.c
 *	  Float16 models compute in float32: before the graph is built, every
 *	  float16 value inside the graph becomes float32, and only the graph's
 *	  own inputs and outputs stay float16.
 *
 * This is what onnxruntime does on CPU (its InsertCastTransformer): a node
 * without a float16 kernel, which is every arithmetic node there, gets a
 * Cast to float32 before and a Cast back after, and the pairs of Casts
 * between two such nodes are then removed, so values travel in float32
 * from node to node and float16 rounding happens only at the graph's
 * inputs, outputs and weights.  Computing in float16 instead overflows
 * where float32 does not (a Pow feeding a ReduceMean gave inf and the
 * model's probability 1 instead of 0) and loses precision in every
 * accumulation.
 *
 * The rewrite, on the decoded protobuf (new parts in a temporary arena,
 * shared with the original where unchanged):
 *	- a float16 tensor input of the main graph x (or a float16 initializer
 *	  that is a graph output) stays float16; a Cast(to FLOAT) at the start
 *	  makes "x#f32", which every reader (in subgraphs too) reads instead;
 *	- a float16 tensor output y produced by a node: the node writes
 *	  "y#f32" (read by every reader of y), and a Cast(to FLOAT16) at the
 *	  end makes y;
 *	- every other float16 initializer (subgraphs' too, sparse ones'
 *	  values), every float16 tensor attribute (Constant, ConstantOfShape)
 *	  becomes float32 (exactly: float32 holds every float16);
 *	- an integer attribute "to", "dtype" or "output_dtype" that names
 *	  FLOAT16 (Cast, EyeLike, Random*, DequantizeLinear, ...) names FLOAT;
 *	- float16 in value_info and subgraph input and output types, in
 *	  tensor, sequence, optional and map types, becomes float32.
 * A main-graph input or output whose type holds float16 inside a sequence,
 * map or optional cannot be cast at the boundary, nor an output whose
 * element type is not declared: such a model is left as it is (computed
 * in float16).
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "fp16_promote.h"

#define F16 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
#define F32 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define SUFFIX "#f32"

/* A set of names: open addressing, cap a power of 2 (0: empty). */
typedef struct NameSet
{
	size_t		cap;
	const char **v;
} NameSet;

typedef struct Promoter
{
	OnnxArena  *arena;
	OnnxError  *err;
	bool		changed;
	/* open-addressing table of renamed values: from -> to (cap a power of 2) */
	size_t		cap;
	const char **from;
	const char **to;
	NameSet		inputs;			/* main graph: its input names */
	NameSet		inits;			/* main graph: its initializer names */
} Promoter;

#define OOM(p) onnx_error_set((p)->err, ONNX_ERR_OUT_OF_MEMORY, "out of memory promoting float16 to float32")

static size_t
hash_name(const char *s)
{
	size_t		h = 5381;

	while (*s)
		h = h * 33 + (unsigned char) *s++;
	return h;
}

/* The new name of value name, or name itself if it is not renamed. */
static const char *
renamed(const Promoter *p, const char *name)
{
	if (p->cap == 0 || name == NULL || name[0] == '\0')
		return name;
	for (size_t h = hash_name(name) & (p->cap - 1);; h = (h + 1) & (p->cap - 1))
	{
		if (p->from[h] == NULL)
			return name;
		if (strcmp(p->from[h], name) == 0)
			return p->to[h];
	}
}

/* Record that readers of name read to instead (name not yet recorded). */
static void
add_rename(Promoter *p, const char *name, const char *to)
{
	size_t		h = hash_name(name) & (p->cap - 1);

	while (p->from[h] != NULL)
	{
		if (strcmp(p->from[h], name) == 0)
			return;
		h = (h + 1) & (p->cap - 1);
	}
	p->from[h] = name;
	p->to[h] = to;
}

/* Whether type holds float16 anywhere (tensor, sequence, map, optional). */
static bool
type_has_f16(const Onnx__TypeProto *t)
{
	for (int depth = 0; t != NULL && depth < 64; depth++)
	{
		switch (t->value_case)
		{
			case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
				return t->tensor_type && t->tensor_type->elem_type == F16;
			case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
				return t->sparse_tensor_type && t->sparse_tensor_type->elem_type == F16;
			case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
				t = t->sequence_type ? t->sequence_type->elem_type : NULL;
				break;
			case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
				t = t->optional_type ? t->optional_type->elem_type : NULL;
				break;
			case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
				t = t->map_type ? t->map_type->value_type : NULL;
				break;
			default:
				return false;
		}
	}
	return false;
}

static bool
is_f16_tensor_type(const Onnx__TypeProto *t)
{
	return t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type &&
		t->tensor_type->elem_type == F16;
}

/* A copy of type with float16 replaced by float32 (type itself if none). */
static OnnxStatus
promote_type(Promoter *p, Onnx__TypeProto *t, Onnx__TypeProto **out, int depth)
{
	Onnx__TypeProto *c;
	OnnxStatus	st;

	*out = t;
	if (!type_has_f16(t) || depth > 64)
		return ONNX_OK;
	if ((c = onnx_arena_alloc(p->arena, sizeof(*c))) == NULL)
		return OOM(p);
	*c = *t;
	switch (t->value_case)
	{
		case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
			if ((c->tensor_type = onnx_arena_alloc(p->arena, sizeof(*c->tensor_type))) == NULL)
				return OOM(p);
			*c->tensor_type = *t->tensor_type;
			c->tensor_type->elem_type = F32;
			break;
		case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
			if ((c->sparse_tensor_type = onnx_arena_alloc(p->arena, sizeof(*c->sparse_tensor_type))) == NULL)
				return OOM(p);
			*c->sparse_tensor_type = *t->sparse_tensor_type;
			c->sparse_tensor_type->elem_type = F32;
			break;
		case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
			if ((c->sequence_type = onnx_arena_alloc(p->arena, sizeof(*c->sequence_type))) == NULL)
				return OOM(p);
			*c->sequence_type = *t->sequence_type;
			if ((st = promote_type(p, t->sequence_type->elem_type, &c->sequence_type->elem_type, depth + 1)) != ONNX_OK)
				return st;
			break;
		case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
			if ((c->optional_type = onnx_arena_alloc(p->arena, sizeof(*c->optional_type))) == NULL)
				return OOM(p);
			*c->optional_type = *t->optional_type;
			if ((st = promote_type(p, t->optional_type->elem_type, &c->optional_type->elem_type, depth + 1)) != ONNX_OK)
				return st;
			break;
		case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
			if ((c->map_type = onnx_arena_alloc(p->arena, sizeof(*c->map_type))) == NULL)
				return OOM(p);
			*c->map_type = *t->map_type;
			if ((st = promote_type(p, t->map_type->value_type, &c->map_type->value_type, depth + 1)) != ONNX_OK)
				return st;
			break;
		default:
			break;
	}
	*out = c;
	p->changed = true;
	return ONNX_OK;
}

/* Copies of the value infos with float16 types promoted (in place in the array copy). */
static OnnxStatus
promote_infos(Promoter *p, size_t n, Onnx__ValueInfoProto **src, Onnx__ValueInfoProto ***out)
{
	Onnx__ValueInfoProto **v = NULL;

	*out = src;
	for (size_t i = 0; i < n; i++)
	{
		Onnx__ValueInfoProto *c;
		OnnxStatus	st;

		if (src[i] == NULL || !type_has_f16(src[i]->type))
			continue;
		if (v == NULL)
		{
			if ((v = onnx_arena_alloc_array(p->arena, n, sizeof(*v))) == NULL)
				return OOM(p);
			memcpy(v, src, n * sizeof(*v));
		}
		if ((c = onnx_arena_alloc(p->arena, sizeof(*c))) == NULL)
			return OOM(p);
		*c = *src[i];
		if ((st = promote_type(p, src[i]->type, &c->type, 0)) != ONNX_OK)
			return st;
		v[i] = c;
	}
	if (v != NULL)
		*out = v;
	return ONNX_OK;
}

/*
 * A float32 copy of a float16 TensorProto (t itself if not float16, or if
 * its data do not match its dims: the graph builder reports that).
 */
static OnnxStatus
promote_tensor(Promoter *p, Onnx__TensorProto *t, Onnx__TensorProto **out)
{
	Onnx__TensorProto *c;
	size_t		n = 1;
	float	   *f;

	*out = t;
	if (t == NULL || t->data_type != F16 ||
		(t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
		return ONNX_OK;
	for (size_t d = 0; d < t->n_dims; d++)
	{
		if (t->dims[d] < 0 || (t->dims[d] > 0 && n > SIZE_MAX / 8 / (size_t) t->dims[d]))
			return ONNX_OK;
		n *= (size_t) t->dims[d];
	}
	if (t->has_raw_data ? t->raw_data.len != 2 * n : t->n_int32_data != n)
		return ONNX_OK;
	if ((c = onnx_arena_alloc(p->arena, sizeof(*c))) == NULL ||
		(f = onnx_arena_alloc_array(p->arena, n, sizeof(float))) == NULL)
		return OOM(p);
	for (size_t i = 0; i < n; i++)
	{
		uint16_t	h;

		if (t->has_raw_data)
			memcpy(&h, t->raw_data.data + 2 * i, 2);
		else
			h = (uint16_t) t->int32_data[i];
		f[i] = onnx_half_to_float(h);
	}
	*c = *t;
	c->data_type = F32;
	c->has_raw_data = false;
	c->raw_data.len = 0;
	c->raw_data.data = NULL;
	c->n_int32_data = 0;
	c->int32_data = NULL;
	c->n_float_data = n;
	c->float_data = f;
	*out = c;
	p->changed = true;
	return ONNX_OK;
}

static OnnxStatus
promote_sparse(Promoter *p, Onnx__SparseTensorProto *s, Onnx__SparseTensorProto **out)
{
	Onnx__TensorProto *v;
	Onnx__SparseTensorProto *c;
	OnnxStatus	st;

	*out = s;
	if (s == NULL || (st = promote_tensor(p, s->values, &v)) != ONNX_OK || v == s->values)
		return s == NULL ? ONNX_OK : st;
	if ((c = onnx_arena_alloc(p->arena, sizeof(*c))) == NULL)
		return OOM(p);
	*c = *s;
	c->values = v;
	*out = c;
	return ONNX_OK;
}

static OnnxStatus promote_graph(Promoter *p, const Onnx__GraphProto *g, bool main,
								const Onnx__GraphProto **out);

/* A copy of attribute a with its float16 parts promoted (a if none). */
static OnnxStatus
promote_attr(Promoter *p, Onnx__AttributeProto *a, Onnx__AttributeProto **out)
{
	Onnx__AttributeProto c = *a;
	OnnxStatus	st;
	bool		changed = false;

	*out = a;
	if (a->name && a->has_i && a->i == F16 &&
		(strcmp(a->name, "to") == 0 || strcmp(a->name, "dtype") == 0 ||
		 strcmp(a->name, "output_dtype") == 0))
	{
		c.i = F32;
		changed = true;
	}
	if (a->t && (st = promote_tensor(p, a->t, &c.t)) != ONNX_OK)
		return st;
	if (a->sparse_tensor && (st = promote_sparse(p, a->sparse_tensor, &c.sparse_tensor)) != ONNX_OK)
		return st;
	if (a->tp && (st = promote_type(p, a->tp, &c.tp, 0)) != ONNX_OK)
		return st;
	if (a->g && (st = promote_graph(p, a->g, false, (const Onnx__GraphProto **) &c.g)) != ONNX_OK)
		return st;
	changed |= c.t != a->t || c.sparse_tensor != a->sparse_tensor || c.tp != a->tp || c.g != a->g;
	if (a->n_tensors > 0)
	{
		Onnx__TensorProto **v = onnx_arena_alloc_array(p->arena, a->n_tensors, sizeof(*v));

		if (v == NULL)
			return OOM(p);
		for (size_t i = 0; i < a->n_tensors; i++)
		{
			if ((st = promote_tensor(p, a->tensors[i], &v[i])) != ONNX_OK)
				return st;
			changed |= v[i] != a->tensors[i];
		}
		c.tensors = v;
	}
	if (a->n_graphs > 0)
	{
		Onnx__GraphProto **v = onnx_arena_alloc_array(p->arena, a->n_graphs, sizeof(*v));

		if (v == NULL)
			return OOM(p);
		for (size_t i = 0; i < a->n_graphs; i++)
		{
			if (a->graphs[i] && (st = promote_graph(p, a->graphs[i], false,
													(const Onnx__GraphProto **) &v[i])) != ONNX_OK)
				return st;
			if (a->graphs[i] == NULL)
				v[i] = NULL;
			changed |= v[i] != a->graphs[i];
		}
		c.graphs = v;
	}
	if (a->n_type_protos > 0)
	{
		Onnx__TypeProto **v = onnx_arena_alloc_array(p->arena, a->n_type_protos, sizeof(*v));

		if (v == NULL)
			return OOM(p);
		for (size_t i = 0; i < a->n_type_protos; i++)
		{
			if ((st = promote_type(p, a->type_protos[i], &v[i], 0)) != ONNX_OK)
				return st;
			changed |= v[i] != a->type_protos[i];
		}
		c.type_protos = v;
	}
	if (!changed)
		return ONNX_OK;
	if ((*out = onnx_arena_alloc(p->arena, sizeof(**out))) == NULL)
		return OOM(p);
	**out = c;
	p->changed = true;
	return ONNX_OK;
}

/* A copy of node n with inputs renamed and attributes promoted (n if none). */
static OnnxStatus
promote_node(Promoter *p, Onnx__NodeProto *n, Onnx__NodeProto **out)
{
	Onnx__NodeProto *c;
	Onnx__AttributeProto **attrs = NULL;
	char	  **inputs = NULL;
	OnnxStatus	st;

	*out = n;
	for (size_t i = 0; i < n->n_input; i++)
	{
		const char *r = renamed(p, n->input[i]);

		if (r == n->input[i])
			continue;
		if (inputs == NULL)
		{
			if ((inputs = onnx_arena_alloc_array(p->arena, n->n_input, sizeof(*inputs))) == NULL)
				return OOM(p);
			memcpy(inputs, n->input, n->n_input * sizeof(*inputs));
		}
		inputs[i] = (char *) r;
	}
	for (size_t i = 0; i < n->n_attribute; i++)
	{
		Onnx__AttributeProto *a;

		if (n->attribute[i] == NULL)
			continue;
		if ((st = promote_attr(p, n->attribute[i], &a)) != ONNX_OK)
			return st;
		if (a == n->attribute[i])
			continue;
		if (attrs == NULL)
		{
			if ((attrs = onnx_arena_alloc_array(p->arena, n->n_attribute, sizeof(*attrs))) == NULL)
				return OOM(p);
			memcpy(attrs, n->attribute, n->n_attribute * sizeof(*attrs));
		}
		attrs[i] = a;
	}
	if (inputs == NULL && attrs == NULL)
		return ONNX_OK;
	if ((c = onnx_arena_alloc(p->arena, sizeof(*c))) == NULL)
		return OOM(p);
	*c = *n;
	if (inputs)
		c->input = inputs;
	if (attrs)
		c->attribute = attrs;
	*out = c;
	p->changed = true;
	return ONNX_OK;
}

static char *
with_suffix(Promoter *p, const char *name)
{
	size_t		len = strlen(name);
	char	   *s = onnx_arena_alloc(p->arena, len + sizeof(SUFFIX));

	if (s)
	{
		memcpy(s, name, len);
		memcpy(s + len, SUFFIX, sizeof(SUFFIX));
	}
	return s;
}

/* A Cast node from -> to with attribute to = dtype. */
static Onnx__NodeProto *
cast_node(Promoter *p, const char *from, const char *to, int dtype)
{
	Onnx__NodeProto *n = onnx_arena_alloc(p->arena, sizeof(*n));
	Onnx__AttributeProto *a = onnx_arena_alloc(p->arena, sizeof(*a));
	char	  **in = onnx_arena_alloc_array(p->arena, 1, sizeof(char *));
	char	  **outv = onnx_arena_alloc_array(p->arena, 1, sizeof(char *));
	Onnx__AttributeProto **av = onnx_arena_alloc_array(p->arena, 1, sizeof(*av));

	if (!n || !a || !in || !outv || !av)
		return NULL;
	*n = (Onnx__NodeProto) ONNX__NODE_PROTO__INIT;
	*a = (Onnx__AttributeProto) ONNX__ATTRIBUTE_PROTO__INIT;
	a->name = "to";
	a->has_type = true;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
	a->has_i = true;
	a->i = dtype;
	av[0] = a;
	in[0] = (char *) from;
	outv[0] = (char *) to;
	n->n_input = 1;
	n->input = in;
	n->n_output = 1;
	n->output = outv;
	n->op_type = "Cast";
	n->domain = "";
	n->name = (char *) to;
	n->n_attribute = 1;
	n->attribute = av;
	return n;
}

/* Add nm to set (room left guaranteed by its sizing); false if there already. */
static bool
set_insert(NameSet *set, const char *nm)
{
	for (size_t h = hash_name(nm) & (set->cap - 1);; h = (h + 1) & (set->cap - 1))
	{
		if (set->v[h] == NULL)
		{
			set->v[h] = nm;
			return true;
		}
		if (strcmp(set->v[h], nm) == 0)
			return false;
	}
}

/* Make set empty with room for n names, then add name(arg, i) for i < m. */
static OnnxStatus
set_build(Promoter *p, NameSet *set, size_t n, size_t m,
		  const char *(*name) (const void *, size_t), const void *arg)
{
	set->cap = 1;
	while (set->cap < 2 * n + 2)
		set->cap <<= 1;
	if ((set->v = onnx_arena_alloc_array(p->arena, set->cap, sizeof(char *))) == NULL)
		return OOM(p);
	for (size_t i = 0; i < m; i++)
	{
		const char *nm = name(arg, i);

		if (nm != NULL)
			set_insert(set, nm);
	}
	return ONNX_OK;
}

static bool
set_has(const NameSet *set, const char *nm)
{
	if (nm == NULL || set->cap == 0)
		return false;
	for (size_t h = hash_name(nm) & (set->cap - 1);; h = (h + 1) & (set->cap - 1))
	{
		if (set->v[h] == NULL)
			return false;
		if (strcmp(set->v[h], nm) == 0)
			return true;
	}
}

static const char *
input_name(const void *g, size_t i)
{
	const Onnx__ValueInfoProto *v = ((const Onnx__GraphProto *) g)->input[i];

	return v ? v->name : NULL;
}

static const char *
init_name(const void *g, size_t i)
{
	const Onnx__TensorProto *t = ((const Onnx__GraphProto *) g)->initializer[i];

	return t ? t->name : NULL;
}

/*
 * Promote graph g; the main graph keeps float16 at its inputs and outputs
 * through the boundary Casts, a subgraph's types are all promoted.
 */
static OnnxStatus
promote_graph(Promoter *p, const Onnx__GraphProto *g, bool main, const Onnx__GraphProto **out)
{
	Onnx__GraphProto *c;
	Onnx__NodeProto **nodes;
	Onnx__TensorProto **inits;
	size_t		n_nodes = 0,
				n_pre = 0,
				n_post = 0;
	OnnxStatus	st;
	bool		was = p->changed;

	*out = g;
	p->changed = false;
	if ((c = onnx_arena_alloc(p->arena, sizeof(*c))) == NULL)
		return OOM(p);
	*c = *g;
	if (main)
	{
		/* boundary values: the rename table, sized for every input and output */
		size_t		want = 2 * (g->n_input + g->n_output) + 2;

		p->cap = 1;
		while (p->cap < want)
			p->cap <<= 1;
		if ((p->from = onnx_arena_alloc_array(p->arena, p->cap, sizeof(char *))) == NULL ||
			(p->to = onnx_arena_alloc_array(p->arena, p->cap, sizeof(char *))) == NULL)
			return OOM(p);
		if ((st = set_build(p, &p->inputs, g->n_input, g->n_input, input_name, g)) != ONNX_OK ||
			(st = set_build(p, &p->inits, g->n_initializer, g->n_initializer, init_name, g)) != ONNX_OK)
			return st;
		for (size_t i = 0; i < g->n_input; i++)
			if (g->input[i] && g->input[i]->name && is_f16_tensor_type(g->input[i]->type))
				n_pre++;
		for (size_t i = 0; i < g->n_output; i++)
			if (g->output[i] && g->output[i]->name && is_f16_tensor_type(g->output[i]->type))
				n_post++;
	}
	if ((nodes = onnx_arena_alloc_array(p->arena, g->n_node + n_pre + n_post, sizeof(*nodes))) == NULL)
		return OOM(p);
	if (main)
	{
		for (size_t i = 0; i < g->n_input; i++)
		{
			const char *x = g->input[i] ? g->input[i]->name : NULL;
			char	   *x32;

			if (x == NULL || !is_f16_tensor_type(g->input[i]->type) || renamed(p, x) != x)
				continue;
			if ((x32 = with_suffix(p, x)) == NULL ||
				(nodes[n_nodes++] = cast_node(p, x, x32, F32)) == NULL)
				return OOM(p);
			add_rename(p, x, x32);
		}
		/* float16 initializers that are outputs (not inputs) stay float16 too */
		for (size_t i = 0; i < g->n_output; i++)
		{
			const char *y = g->output[i] ? g->output[i]->name : NULL;
			char	   *y32;

			if (y == NULL || !is_f16_tensor_type(g->output[i]->type) || renamed(p, y) != y ||
				!set_has(&p->inits, y))
				continue;
			if ((y32 = with_suffix(p, y)) == NULL ||
				(nodes[n_nodes++] = cast_node(p, y, y32, F32)) == NULL)
				return OOM(p);
			add_rename(p, y, y32);
		}
		/* node outputs that are graph outputs: written as y#f32 */
		for (size_t i = 0; i < g->n_output; i++)
		{
			const char *y = g->output[i] ? g->output[i]->name : NULL;
			char	   *y32;

			if (y == NULL || y[0] == '\0' || !is_f16_tensor_type(g->output[i]->type) ||
				renamed(p, y) != y || set_has(&p->inputs, y) || set_has(&p->inits, y))
				continue;
			if ((y32 = with_suffix(p, y)) == NULL)
				return OOM(p);
			add_rename(p, y, y32);
		}
	}
	for (size_t i = 0; i < g->n_node; i++)
	{
		Onnx__NodeProto *n = g->node[i];

		if (n == NULL)
		{
			nodes[n_nodes++] = NULL;
			continue;
		}
		if ((st = promote_node(p, n, &n)) != ONNX_OK)
			return st;
		if (main)
		{
			/* an output that is a float16 graph output is written renamed */
			char	  **outs = NULL;

			for (size_t k = 0; k < n->n_output; k++)
			{
				const char *r = renamed(p, n->output[k]);

				if (r == n->output[k])
					continue;
				if (outs == NULL)
				{
					Onnx__NodeProto *cn;

					if ((outs = onnx_arena_alloc_array(p->arena, n->n_output, sizeof(*outs))) == NULL)
						return OOM(p);
					memcpy(outs, n->output, n->n_output * sizeof(*outs));
					if (n == g->node[i])
					{
						if ((cn = onnx_arena_alloc(p->arena, sizeof(*cn))) == NULL)
							return OOM(p);
						*cn = *n;
						n = cn;
					}
				}
				outs[k] = (char *) r;
			}
			if (outs)
			{
				n->output = outs;
				p->changed = true;
			}
		}
		nodes[n_nodes++] = n;
	}
	if (main)
	{
		NameSet		done;

		if ((st = set_build(p, &done, g->n_output, 0, input_name, g)) != ONNX_OK)
			return st;
		for (size_t i = 0; i < g->n_output; i++)
		{
			const char *y = g->output[i] ? g->output[i]->name : NULL;
			const char *r = y ? renamed(p, y) : NULL;

			/*
			 * an output that is a node's: cast back (an input's or
			 * initializer's is kept); a name listed twice is cast once
			 */
			if (r == NULL || r == y || set_has(&p->inputs, y) || set_has(&p->inits, y) ||
				!set_insert(&done, y))
				continue;
			if ((nodes[n_nodes++] = cast_node(p, r, y, F16)) == NULL)
				return OOM(p);
		}
	}
	else
	{
		/* a subgraph output may name an outer value that was renamed */
		Onnx__ValueInfoProto **outs = NULL;

		for (size_t i = 0; i < g->n_output; i++)
		{
			const char *y = g->output[i] ? g->output[i]->name : NULL;
			const char *r = renamed(p, y);
			Onnx__ValueInfoProto *vc;

			if (r == y)
				continue;
			if (outs == NULL)
			{
				if ((outs = onnx_arena_alloc_array(p->arena, g->n_output, sizeof(*outs))) == NULL)
					return OOM(p);
				memcpy(outs, g->output, g->n_output * sizeof(*outs));
			}
			if ((vc = onnx_arena_alloc(p->arena, sizeof(*vc))) == NULL)
				return OOM(p);
			*vc = *g->output[i];
			vc->name = (char *) r;
			outs[i] = vc;
			p->changed = true;
		}
		if (outs)
			c->output = outs;
		if ((st = promote_infos(p, g->n_input, c->input, &c->input)) != ONNX_OK ||
			(st = promote_infos(p, g->n_output, c->output, &c->output)) != ONNX_OK)
			return st;
	}
	c->n_node = n_nodes;
	c->node = nodes;
	if ((st = promote_infos(p, g->n_value_info, g->value_info, &c->value_info)) != ONNX_OK)
		return st;
	if ((inits = onnx_arena_alloc_array(p->arena, g->n_initializer, sizeof(*inits))) == NULL)
		return OOM(p);
	for (size_t i = 0; i < g->n_initializer; i++)
	{
		Onnx__TensorProto *t = g->initializer[i];

		/* an initializer the main graph keeps float16 (input or output) */
		if (main && t && t->name && (set_has(&p->inputs, t->name) ||
									 renamed(p, t->name) != t->name))
			inits[i] = t;
		else if ((st = promote_tensor(p, t, &inits[i])) != ONNX_OK)
			return st;
	}
	c->initializer = inits;
	if (g->n_sparse_initializer > 0)
	{
		Onnx__SparseTensorProto **v = onnx_arena_alloc_array(p->arena, g->n_sparse_initializer, sizeof(*v));

		if (v == NULL)
			return OOM(p);
		for (size_t i = 0; i < g->n_sparse_initializer; i++)
		{
			const char *nm = g->sparse_initializer[i] && g->sparse_initializer[i]->values ?
				g->sparse_initializer[i]->values->name : NULL;

			if (main && nm && (set_has(&p->inputs, nm) || renamed(p, nm) != nm))
				v[i] = g->sparse_initializer[i];
			else if ((st = promote_sparse(p, g->sparse_initializer[i], &v[i])) != ONNX_OK)
				return st;
		}
		c->sparse_initializer = v;
	}
	if (p->changed)
		*out = c;
	p->changed |= was;
	return ONNX_OK;
}

OnnxStatus
onnx_promote_float16(OnnxArena *tmp, const Onnx__GraphProto *g,
					 const Onnx__GraphProto **out, OnnxError *err)
{
	Promoter	p;

	*out = g;
	if (g == NULL)
		return ONNX_OK;
	/* boundary values of a non-tensor float16 type cannot be cast: leave the model */
	for (size_t i = 0; i < g->n_input; i++)
		if (g->input[i] && type_has_f16(g->input[i]->type) && !is_f16_tensor_type(g->input[i]->type))
			return ONNX_OK;
	for (size_t i = 0; i < g->n_output; i++)
		if (g->output[i] && type_has_f16(g->output[i]->type) && !is_f16_tensor_type(g->output[i]->type))
			return ONNX_OK;
	/* nor can an output without a declared element type (it might be float16) */
	for (size_t i = 0; i < g->n_output; i++)
	{
		const Onnx__TypeProto *t = g->output[i] ? g->output[i]->type : NULL;

		if (t == NULL || t->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET ||
			(t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
			 (t->tensor_type == NULL || t->tensor_type->elem_type == 0)))
			return ONNX_OK;
	}
	memset(&p, 0, sizeof(p));
	p.arena = tmp;
	p.err = err;
	return promote_graph(&p, g, true, out);
}
