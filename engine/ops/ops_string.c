/* HELPER: first read /work/notes/helper_common.md (rules, build and test commands, commit on your branch, do not edit ledger/README, deadline 06:00 UTC), then delete this line. */
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
