/* json_tensor.h - JSON tensors of onnx_run (see json_tensor.c) */
#ifndef JSON_TENSOR_H
#define JSON_TENSOR_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "onnx_engine.h"

extern bool OnnxValueFromJson(JsonbValue *jv, const OnnxValueInfo *vi, OnnxValue *out);
extern void OnnxValueToJson(StringInfo buf, const OnnxValue *v);
extern void OnnxValueToRowJson(StringInfo buf, const OnnxValue *v);

#endif
