/*-------------------------------------------------------------------------
 *
 * ops_sequence.c
 *	  Operator family "sequence" (see op_tables.h).
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_sequence[] = {
	{0}
};
