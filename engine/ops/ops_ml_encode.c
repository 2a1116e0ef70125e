/*-------------------------------------------------------------------------
 *
 * ops_ml_encode.c
 *	  Operator family "ml_encode": ai.onnx.ml encoders and feature extraction.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_ml_encode[] = {
	{0}
};
