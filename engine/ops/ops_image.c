/*-------------------------------------------------------------------------
 *
 * ops_image.c
 *	  Operator family "image": Resize, Upsample, GridSample, AffineGrid, RoiAlign, Col2Im.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

const OnnxOpDef onnx_ops_image[] = {
	{0}
};
