/*-------------------------------------------------------------------------
 *
 * ops_reduce.c
 *	  Operator family "reduce" (see op_tables.h).
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_reduce[] = {
	{0}
};
