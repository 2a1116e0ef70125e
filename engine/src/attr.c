/*-------------------------------------------------------------------------
 *
 * attr.c
 *	  Attribute look-up with defaults, for kernels and checks.
 *
 *-------------------------------------------------------------------------
 */
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
		return (int64_t) a->f;
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

const char *
onnx_attr_string(const OnnxNode *node, const char *name, const char *dflt)
{
	const OnnxAttr *a = onnx_attr(node, name);

	if (a == NULL || a->type != ONNX_ATTR_STRING)
		return dflt;
	return a->s;
}

/* INTS attribute: count (0 if absent) and data in *out. */
int
onnx_attr_ints(const OnnxNode *node, const char *name, const int64_t **out)
{
	const OnnxAttr *a = onnx_attr(node, name);

	*out = NULL;
	if (a == NULL || a->type != ONNX_ATTR_INTS)
		return 0;
	*out = a->ints;
	return a->n;
}

/* FLOATS attribute: count (0 if absent) and data in *out. */
int
onnx_attr_floats(const OnnxNode *node, const char *name, const float **out)
{
	const OnnxAttr *a = onnx_attr(node, name);

	*out = NULL;
	if (a == NULL || a->type != ONNX_ATTR_FLOATS)
		return 0;
	*out = a->floats;
	return a->n;
}
