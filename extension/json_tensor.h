/* json_tensor.h - JSON tensors of onnx_run (see json_tensor.c) */
#ifndef JSON_TENSOR_H
#define JSON_TENSOR_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "onnx_engine.h"

extern bool OnnxValueFromJson(JsonbValue *jv, const OnnxValueInfo *vi, OnnxValue *out);
extern void OnnxValueToJson(StringInfo buf, const OnnxValue *v);
extern void OnnxValueToRowJson(StringInfo buf, const OnnxValue *v);
extern Datum OnnxOutputsJsonb(int n, const char *const *names, const OnnxValue *outs,
							  bool row_form, const char *model_name);
extern Datum OnnxOutputsToJsonb(int n, const char *const *names, OnnxValue *outs,
								 const OnnxAllocator *alloc, bool row_form,
								 const char *model_name);

/* run.c */
extern int	OnnxRunInputs(const OnnxModel *model, Jsonb *inputs, const char *name,
						  OnnxValue *vals, const char **names);
extern const char **OnnxRunOutputNames(const OnnxModel *model, ArrayType *outputs, int *n_out);

#endif
