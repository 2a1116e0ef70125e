/*-------------------------------------------------------------------------
 *
 * ops_misc.c
 *	  Operator family "misc" (see op_tables.h).
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_misc[] = {
	{0}
};
