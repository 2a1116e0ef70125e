/*-------------------------------------------------------------------------
 *
 * ops_pool.c
 *	  Operator family "pool" (see op_tables.h).
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_pool[] = {
	{0}
};
