/*-------------------------------------------------------------------------
 *
 * ops_string.c
 *	  Operator family "string": StringNormalizer, StringConcat, StringSplit, RegexFullMatch.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_string[] = {
	{0}
};
