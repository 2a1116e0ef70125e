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

static const OnnxOpDef *const families[] = {
	onnx_ops_unary,
	onnx_ops_binary,
	onnx_ops_matmul,
	onnx_ops_tensor_shape,
	onnx_ops_tensor_move,
	onnx_ops_cast,
	onnx_ops_reduce,
	onnx_ops_nn,
	onnx_ops_conv,
	onnx_ops_pool,
	onnx_ops_quant,
	onnx_ops_control,
	onnx_ops_sequence,
	onnx_ops_misc,
	onnx_ops_ml,
	onnx_ops_rnn,
	onnx_ops_detection,
	onnx_ops_text,
	onnx_ops_signal,
	onnx_ops_compare,
	onnx_ops_loss,
	onnx_ops_trees,
	onnx_ops_linear_ml,
	onnx_ops_index,
	onnx_ops_einsum,
	onnx_ops_image,
	onnx_ops_attention,
	onnx_ops_string,
	onnx_ops_ml_svm,
	onnx_ops_ml_encode,
	onnx_ops_random,
	onnx_ops_ms_fused,
	onnx_ops_ms_attention,
	onnx_ops_ms_fused_linear,
	onnx_ops_ms_quant,
	onnx_ops_ms_qlinear,
	onnx_ops_ms_qlstm,
	onnx_ops_qconv,
	onnx_ops_qlut,
	NULL
};

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
