/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  The operator list: every operator version the engine implements,
 *	  gathered from one table per operator family (engine/ops/).  This is
 *	  the single source of truth for names, versions and dispatch; the
 *	  README's operator table is generated from it.
 *
 *-------------------------------------------------------------------------
 */
#include "engine_internal.h"
#include "ops/op_tables.h"

#define ONNX_OP_FAMILY_ENTRY(f) onnx_ops_##f,
static const OnnxOpDef *const families[] = {
	ONNX_OP_FAMILIES(ONNX_OP_FAMILY_ENTRY)
	NULL
};
#undef ONNX_OP_FAMILY_ENTRY

/*
 * The definition of domain.name for a model importing opset: the highest
 * since_version not above opset.  NULL if none.
 */
const OnnxOpDef *
onnx_registry_lookup(const char *domain, const char *name, int opset)
{
	const OnnxOpDef *best = NULL;

	for (int f = 0; families[f]; f++)
		for (const OnnxOpDef *d = families[f]; d->name; d++)
			if (d->since_version <= opset &&
				strcmp(d->name, name) == 0 && strcmp(d->domain, domain) == 0 &&
				(best == NULL || d->since_version > best->since_version))
				best = d;
	return best;
}

/* Whether any version of domain.name exists. */
bool
onnx_registry_has_name(const char *domain, const char *name)
{
	for (int f = 0; families[f]; f++)
		for (const OnnxOpDef *d = families[f]; d->name; d++)
			if (strcmp(d->name, name) == 0 && strcmp(d->domain, domain) == 0)
				return true;
	return false;
}

int
onnx_registry_count(void)
{
	int			n = 0;

	for (int f = 0; families[f]; f++)
		for (const OnnxOpDef *d = families[f]; d->name; d++)
			n++;
	return n;
}

void
onnx_registry_entry(int i, const char **domain, const char **name, int *since_version)
{
	for (int f = 0; families[f]; f++)
		for (const OnnxOpDef *d = families[f]; d->name; d++)
			if (i-- == 0)
			{
				*domain = d->domain;
				*name = d->name;
				*since_version = d->since_version;
				return;
			}
	*domain = *name = NULL;
	*since_version = 0;
}
