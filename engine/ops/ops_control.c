/*-------------------------------------------------------------------------
 *
 * ops_control.c
 *	  Operator family "control" (see op_tables.h).
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_control[] = {
	{0}
};
