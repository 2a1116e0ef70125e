/* tensor_proto.h - protobuf tensors into engine tensors */
#ifndef TENSOR_PROTO_H
#define TENSOR_PROTO_H

#include "engine_internal.h"
#include "onnx.pb-c.h"

extern OnnxStatus onnx_tensor_from_proto(const Onnx__TensorProto *tp,
										 const OnnxAllocator *alloc,
										 OnnxTensor *t, OnnxError *err);
extern OnnxStatus onnx_sparse_from_proto(const Onnx__SparseTensorProto *sp,
										 const OnnxAllocator *alloc,
										 OnnxTensor *t, OnnxError *err);

#endif
