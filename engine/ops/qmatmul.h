/*-------------------------------------------------------------------------
 *
 * qmatmul.h
 *	  Integer matrix products of tensors for the quantized operators
 *	  (MatMulInteger, QLinearMatMul, DynamicQuantizeMatMul,
 *	  MatMulIntegerToFloat, QGemm, DynamicQuantizeLSTM): numpy matmul
 *	  shapes over qgemm.h's exact int8 kernels, with the constant right
 *	  operand packed once at load.
 *
 *-------------------------------------------------------------------------
 */
#ifndef QMATMUL_H
#define QMATMUL_H

#include "engine_internal.h"
#include "qgemm.h"

/* node->prepared of the ops that pack a constant B */
typedef struct QmmPacked
{
	OnnxQgemmB *pb;				/* B (K,N) packed with its zero points */
} QmmPacked;

/*
 * Pack hook helper: when input b_in is a constant 2-D int8/uint8 tensor
 * and input bzp_in (-1: none) is absent or constant with 1 or N values,
 * pack op(B) (trans: B is (N,K)) into node->prepared.
 */
extern OnnxStatus onnx_qmm_pack(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena,
								OnnxError *err, int b_in, int bzp_in, bool trans);

/* Zero points of a tensor as int32 (NULL tensor: NULL), n values into out. */
extern void onnx_qmm_zp(const OnnxTensor *zp, int32_t *out, int64_t n);

/*
 * C = (A - azp) @ (B - bzp) in int32, numpy matmul shapes: A (..., M, K),
 * B (..., K, N) -> (broadcast(...), M, N); a 1-D A or B drops its M or N.
 * azp: NULL, a scalar or (M); bzp NULL, a scalar or (N).  With pre (a
 * packed constant B, 2-D) b and bzp are not read.  c must hold *count
 * int32 (call first with c NULL to get the shape and count only).
 */
extern OnnxStatus onnx_qmm_shape(OnnxKernelCtx *ctx, const OnnxTensor *a, const OnnxTensor *b,
								 int *orank, int64_t *odims, int64_t *count);
extern OnnxStatus onnx_qmm_run(OnnxKernelCtx *ctx, const OnnxTensor *a, const OnnxTensor *azp,
							   const OnnxTensor *b, const OnnxTensor *bzp,
							   const QmmPacked *pre, int32_t *c);

/*
 * The 2-D product C (M,N) = (A - azp) @ (B - bzp) of a row-major A (M,K)
 * rows lda apart (int8 when a_signed) against a packed B; azp NULL or
 * nazp (1 or M) values.  Returns false when scratch cannot be allocated
 * (ctx's error is set).
 */
extern bool onnx_qmm_2d(OnnxKernelCtx *ctx, const OnnxQgemmB *pb, int64_t M, const void *a,
						int64_t lda, bool a_signed, const int32_t *azp, int64_t nazp,
						int32_t *c, int64_t ldc);

/* Pack a 2-D B now (kernel memory; free with onnx_kernel_free), or NULL. */
extern OnnxQgemmB *onnx_qmm_pack_now(OnnxKernelCtx *ctx, int64_t K, int64_t N, const void *b,
									 int64_t ldb, bool trans, bool b_signed,
									 const int32_t *bzp, int64_t nzp);

/*
 * QuantizeLinear / DequantizeLinear of ops_quant.c, also registered for
 * com.microsoft by ms_quant.c.
 */
extern OnnxStatus onnx_run_quantize_linear(OnnxKernelCtx *ctx);
extern OnnxStatus onnx_run_dequantize_linear(OnnxKernelCtx *ctx);
extern OnnxStatus onnx_infer_quantize_linear(OnnxInferCtx *ctx);
extern OnnxStatus onnx_infer_dequantize_linear(OnnxInferCtx *ctx);

/*
 * Their per-tensor loops, vectorized: y = (x - zp) * scale (x int8 when
 * is_signed, else uint8); y = saturate(round_half_even(x / scale) + zp)
 * into [lo, hi] (int8 when lo < 0), NaN giving saturate(0).
 */
extern void onnx_dequantize_8bit(const void *x, bool is_signed, int64_t n, float scale, int32_t zp,
								 float *y);
extern void onnx_quantize_8bit(const float *x, int64_t n, float scale, int32_t zp, int32_t lo,
							   int32_t hi, void *y);

/*
 * Dynamic quantization of n floats to uint8 as onnxruntime's
 * DynamicQuantizeLinear: range [min(x, 0), max(x, 0)] onto [0, 255],
 * q = saturate(round_half_even(x / scale) + zp).
 */
extern void onnx_qmm_dyn_quantize(const float *x, int64_t n, uint8_t *q, float *scale,
								  int32_t *zp);

/* *mn = min(0, x...), *mx = max(0, x...), NaN skipped; vectorized */
extern void onnx_qmm_range(const float *x, int64_t n, float *mn, float *mx);

/* q = saturate(round_half_even(x / scale) + zp) into uint8 (zp integral), vectorized */
extern void onnx_qmm_quantize_u8(const float *x, int64_t n, float scale, float zp, uint8_t *q);

/*
 * saturate(round_half_even(v) + zp) into [lo, hi], NaN as 0: v clamped
 * to [lo - zp, hi - zp] first, then rounded by adding and subtracting
 * 1.5 * 2^23 (exact for these magnitudes in the default rounding mode),
 * then zp added, as onnxruntime's requantization does.  Branch-free and
 * inline, so loops over it vectorize.
 */
static inline int32_t
qmm_quant(float v, int32_t zp, int32_t lo, int32_t hi)
{
	const float magic = 12582912.0f;
	float		c = v != v ? 0.0f : v;

	c = c < (float) (lo - zp) ? (float) (lo - zp) : c;
	c = c > (float) (hi - zp) ? (float) (hi - zp) : c;
	return (int32_t) ((c + magic) - magic) + zp;
}

/* saturate(round_half_even(v)) into [lo, hi] */
static inline int32_t
qmm_sat_round(float v, int32_t lo, int32_t hi)
{
	return qmm_quant(v, 0, lo, hi);
}

#endif							/* QMATMUL_H */
