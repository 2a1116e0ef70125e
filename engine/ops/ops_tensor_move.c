/*-------------------------------------------------------------------------
 *
 * ops_tensor_move.c
 *	  Operator family "tensor_move" (see op_tables.h).
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_tensor_move[] = {
	{0}
};
