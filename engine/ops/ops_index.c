/*-------------------------------------------------------------------------
 *
 * ops_index.c
 *	  Operator family "index": GatherND, Scatter*, TopK, OneHot, NonZero, Unique, Compress, ReverseSequence, DepthToSpace, SpaceToDepth, CenterCropPad.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_index[] = {
	{0}
};
