/*-------------------------------------------------------------------------
 *
 * ops_attention.c
 *	  Operator family "attention": Attention, RotaryEmbedding, LinearAttention, CausalConvWithState.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_attention[] = {
	{0}
};
