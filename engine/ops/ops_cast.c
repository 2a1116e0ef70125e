/*-------------------------------------------------------------------------
 *
 * ops_cast.c
 *	  Operator family "cast" (see op_tables.h).
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_cast[] = {
	{0}
};
