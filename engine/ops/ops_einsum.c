/*-------------------------------------------------------------------------
 *
 * ops_einsum.c
 *	  Operator family "einsum": Einsum.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_einsum[] = {
	{0}
};
