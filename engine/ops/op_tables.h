/*
 * op_tables.h
 *	  One operator table per family file in engine/ops/; each ends with a
 *	  zeroed entry.  Add a family here and in registry.c.
 */
#ifndef OP_TABLES_H
#define OP_TABLES_H

#include "engine_internal.h"

extern const OnnxOpDef onnx_ops_unary[];	/* ops_unary.c: math and activations */
extern const OnnxOpDef onnx_ops_binary[];	/* ops_binary.c: arithmetic, comparison, logic, variadic */
extern const OnnxOpDef onnx_ops_matmul[];	/* ops_matmul.c: MatMul, Gemm, Einsum */
extern const OnnxOpDef onnx_ops_tensor_shape[];	/* ops_tensor_shape.c: Reshape, Squeeze, Shape, ... */
extern const OnnxOpDef onnx_ops_tensor_move[];	/* ops_tensor_move.c: Transpose, Concat, Slice, Gather, ... */
extern const OnnxOpDef onnx_ops_cast[];	/* ops_cast.c: Cast, CastLike */
extern const OnnxOpDef onnx_ops_reduce[];	/* ops_reduce.c: Reduce*, ArgMax, ArgMin */
extern const OnnxOpDef onnx_ops_nn[];	/* ops_nn.c: Softmax, normalizations, Dropout */
extern const OnnxOpDef onnx_ops_conv[];	/* ops_conv.c: Conv, ConvTranspose */
extern const OnnxOpDef onnx_ops_pool[];	/* ops_pool.c: pooling */
extern const OnnxOpDef onnx_ops_quant[];	/* ops_quant.c: quantization, integer matmul */
extern const OnnxOpDef onnx_ops_control[];	/* ops_control.c: If, Loop, Scan */
extern const OnnxOpDef onnx_ops_sequence[];	/* ops_sequence.c: sequences and optionals */
extern const OnnxOpDef onnx_ops_misc[];	/* ops_misc.c: CumSum and small utilities */
extern const OnnxOpDef onnx_ops_ml[];	/* ops_ml.c: ai.onnx.ml LabelEncoder, Binarizer, ... */
extern const OnnxOpDef onnx_ops_rnn[];	/* ops_rnn.c: RNN, GRU, LSTM */
extern const OnnxOpDef onnx_ops_detection[];	/* ops_detection.c: NonMaxSuppression */
extern const OnnxOpDef onnx_ops_text[];	/* ops_text.c: TfIdfVectorizer */
extern const OnnxOpDef onnx_ops_signal[];	/* ops_signal.c: DFT, windows */
extern const OnnxOpDef onnx_ops_trees[];	/* ops_trees.c: ai.onnx.ml tree ensembles */
extern const OnnxOpDef onnx_ops_linear_ml[];	/* ops_linear_ml.c: ai.onnx.ml linear models, Normalizer, ZipMap */
extern const OnnxOpDef onnx_ops_loss[];	/* ops_loss.c: NLL, SoftmaxCrossEntropy */
extern const OnnxOpDef onnx_ops_compare[];	/* ops_compare.c: comparison, logic, Where, Pow, Mod, variadic */

extern const OnnxOpDef onnx_ops_index[];	/* ops_index.c: GatherND, Scatter*, TopK, OneHot, NonZero, Unique, Compress, ReverseSequence, DepthToSpace, SpaceToDepth, CenterCropPad */
extern const OnnxOpDef onnx_ops_einsum[];	/* ops_einsum.c: Einsum */
extern const OnnxOpDef onnx_ops_image[];	/* ops_image.c: Resize, Upsample, AffineGrid */
extern const OnnxOpDef onnx_ops_attention[];	/* ops_attention.c: Attention, RotaryEmbedding, LinearAttention, CausalConvWithState, FlexAttention */
extern const OnnxOpDef onnx_ops_string[];	/* ops_string.c: StringNormalizer, StringConcat, StringSplit, RegexFullMatch */
extern const OnnxOpDef onnx_ops_ml_svm[];	/* ops_ml_svm.c: ai.onnx.ml SVMClassifier, SVMRegressor */
extern const OnnxOpDef onnx_ops_ml_encode[];	/* ops_ml_encode.c: ai.onnx.ml encoders and feature extraction */
extern const OnnxOpDef onnx_ops_random[];	/* ops_random.c: RandomUniform, RandomNormal, *Like, Bernoulli, Multinomial */
extern const OnnxOpDef onnx_ops_ms_attention[];	/* ms_attention.c: com.microsoft Attention, MultiHeadAttention, RotaryEmbedding */
extern const OnnxOpDef onnx_ops_ms_fused_linear[];	/* ms_fused_linear.c: com.microsoft FusedConv, FusedGemm, FusedMatMul */
extern const OnnxOpDef onnx_ops_ms_fused[];	/* ms_fused.c: com.microsoft Gelu family, BiasAdd, LayerNorm fusions */
extern const OnnxOpDef onnx_ops_ms_quant[];	/* ms_quant.c: com.microsoft quantized matmuls, MatMulNBits, Q/DQ */
extern const OnnxOpDef onnx_ops_ms_qlinear[];	/* ms_qlinear.c: com.microsoft QLinear* elementwise, pooling, concat */
extern const OnnxOpDef onnx_ops_qconv[];	/* qconv.c: ConvInteger, QLinearConv (int8 GEMM) */
extern const OnnxOpDef onnx_ops_ms_qlstm[];	/* ms_qlstm.c: com.microsoft DynamicQuantizeLSTM */
extern const OnnxOpDef onnx_ops_qlut[];	/* qlut.c: the engine's internal QLinearTable */
#define ONNX_ENGINE_DOMAIN "org.postgresql.onnx.engine"

#endif
