/*-------------------------------------------------------------------------
 *
 * ops_conv.c
 *	  Operator family "conv" (see op_tables.h).
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_conv[] = {
	{0}
};
