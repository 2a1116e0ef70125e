/*-------------------------------------------------------------------------
 *
 * ops_ml_svm.c
 *	  Operator family "ml_svm": ai.onnx.ml SVMClassifier, SVMRegressor.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_ml_svm[] = {
	{0}
};
