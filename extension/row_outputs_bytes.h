/* row_outputs_bytes.h - one scored row's outputs as bytes (see row_outputs_bytes.c) */
#ifndef ROW_OUTPUTS_BYTES_H
#define ROW_OUTPUTS_BYTES_H

#include "fmgr.h"

#include "onnx_engine.h"

extern bytea *OnnxRowOutputsToBytes(int n, const char *const *names, const OnnxValue *outs,
									const char *model_name);
extern void OnnxRowOutputsFromBytes(bytea *bytes, int n, OnnxValue *vals, char **jsons,
									bool *per_row);

#endif
