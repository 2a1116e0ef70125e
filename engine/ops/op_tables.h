/*
 * op_tables.h
 *	  The operator families: one table of operator versions per file in
 *	  engine/ops/ (classical ML in engine/ops/ml/), each ending with {0}.  ONNX_OP_FAMILIES is the
 *	  one list; it declares the tables here and orders them in registry.c
 *	  (a lookup that finds the same version in two families takes the
 *	  first).  To add a family, add one X() line.
 */
#ifndef OP_TABLES_H
#define OP_TABLES_H

#include "engine_internal.h"

#define ONNX_OP_FAMILIES(X) \
	X(unary)			/* ops_unary.c: math and activations */ \
	X(arith)			/* ops_arith.c: Add, Sub, Mul, Div, Pow, Mod, PRelu, Min, Max, Sum, Mean */ \
	X(matmul)			/* ops_matmul.c: MatMul, Gemm */ \
	X(tensor_shape)		/* ops_tensor_shape.c: Reshape, Squeeze, Shape, Constant, Range, ... */ \
	X(tensor_move)		/* ops_tensor_move.c: Transpose, Concat, Split, Slice, Gather, Tile, Pad, ... */ \
	X(cast)				/* ops_cast.c: Cast, CastLike */ \
	X(reduce)			/* ops_reduce.c: Reduce*, ArgMax, ArgMin */ \
	X(nn)				/* ops_nn.c: Softmax, normalizations, Dropout */ \
	X(conv)				/* ops_conv.c: Conv, ConvTranspose, Col2Im */ \
	X(deform_conv)		/* ops_deform_conv.c: DeformConv */ \
	X(pool)				/* ops_pool.c: pooling, RoiAlign, GridSample */ \
	X(quant)			/* ops_quant.c: Q/DQ, DynamicQuantizeLinear, MatMulInteger, QLinearMatMul */ \
	X(control)			/* ops_control.c: If, Loop, Scan */ \
	X(sequence)			/* ops_sequence.c: sequences and optionals */ \
	X(misc)				/* ops_misc.c: CumSum, CumProd, BitCast, Det, training optimizers */ \
	X(ml_features)		/* ml/ml_features.c: ai.onnx.ml Binarizer, ArrayFeatureExtractor, vectorizers, CastMap */ \
	X(rnn)				/* ops_rnn.c: RNN, GRU, LSTM */ \
	X(detection)		/* ops_detection.c: NonMaxSuppression */ \
	X(text)				/* ops_text.c: TfIdfVectorizer */ \
	X(signal)			/* ops_signal.c: DFT, STFT, MelWeightMatrix, windows */ \
	X(compare)			/* ops_compare.c: comparison, logic, bitwise, Where */ \
	X(loss)				/* ops_loss.c: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss */ \
	X(ml_trees)			/* ml/ml_trees*.c: ai.onnx.ml tree ensembles */ \
	X(ml_linear)		/* ml/ml_linear.c: ai.onnx.ml linear models, Normalizer, Scaler, Imputer, ZipMap */ \
	X(index)			/* ops_index.c: TopK, OneHot, NonZero, Unique, Compress, GatherND, Scatter*, ... */ \
	X(einsum)			/* ops_einsum.c: Einsum */ \
	X(image)			/* ops_image.c: Resize, Upsample, AffineGrid */ \
	X(attention)		/* ops_attention.c: Attention, RotaryEmbedding, LinearAttention, ... */ \
	X(string)			/* ops_string.c: StringNormalizer, StringConcat, StringSplit, RegexFullMatch */ \
	X(ml_svm)			/* ml/ml_svm.c: ai.onnx.ml SVMClassifier, SVMRegressor */ \
	X(ml_encode)		/* ml/ml_encode.c: ai.onnx.ml LabelEncoder, CategoryMapper */ \
	X(random)			/* ops_random.c: RandomUniform, RandomNormal, *Like, Bernoulli, Multinomial */ \
	X(ms_fused)			/* ms_fused.c: com.microsoft Gelu family, BiasAdd, LayerNorm fusions */ \
	X(ms_attention)		/* ms_attention.c: com.microsoft Attention, MultiHeadAttention, RotaryEmbedding */ \
	X(ms_fused_linear)	/* ms_fused_linear.c: com.microsoft FusedConv, FusedGemm, FusedMatMul */ \
	X(ms_quant)			/* ms_quant.c: com.microsoft quantized matmuls, MatMulNBits, Q/DQ */ \
	X(ms_qlinear)		/* ms_qlinear.c: com.microsoft QLinear* elementwise, pooling, concat */ \
	X(ms_qlstm)			/* ms_qlstm.c: com.microsoft DynamicQuantizeLSTM */ \
	X(qconv)			/* qconv.c: ConvInteger, QLinearConv (int8 GEMM) */ \
	X(qlut)				/* qlut.c: the engine's internal QLinearTable */

/* The domain of the engine's internal operators (made by its rewrites only). */
#define ONNX_ENGINE_DOMAIN "org.postgresql.onnx.engine"
/* Microsoft's contrib operators' domain, and their usual float32-only input */
#define ONNX_DOMAIN_MS "com.microsoft"
#define ONNX_TS_F32 ONNX_T(ONNX_DTYPE_FLOAT)
/* An output of input 0's type and shape, known at load */
#define ONNX_OUT_LIKE_INPUT0 .out_type = ONNX_OUT_SAME, .infer = onnx_infer_same_shape

#define ONNX_OP_FAMILY_DECLARE(f) extern const OnnxOpDef onnx_ops_##f[];
ONNX_OP_FAMILIES(ONNX_OP_FAMILY_DECLARE)
#undef ONNX_OP_FAMILY_DECLARE

#endif
