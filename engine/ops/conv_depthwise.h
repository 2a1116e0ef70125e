/*-------------------------------------------------------------------------
 *
 * conv_depthwise.h
 *	  Direct float32 depthwise convolution (conv_depthwise.c): every output
 *	  channel reads one input channel, so there is no GEMM to do.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONV_DEPTHWISE_H
#define CONV_DEPTHWISE_H

#include "window_geom.h"

/*
 * Depthwise Conv of 1 or 2 spatial dims, float32:
 *	 X (N, C, [H,] W), W (M, 1, [KH,] KW), B (M) or NULL, M = C * mult
 *	 -> Y (N, M, [OH,] OW) = act(conv + bias)
 * output channel m reads input channel m / mult.  Y is written whole
 * (bias and act included).  Returns ONNX_OK, a failure (memory,
 * cancellation), or sets *handled false and returns ONNX_OK when the
 * geometry is outside what this kernel takes (the caller then uses its
 * general path).
 */
extern OnnxStatus onnx_conv_depthwise_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x,
										  const float *w, const float *b, const OnnxFusedAct *act,
										  float *y, int64_t N, int64_t C, int64_t M, bool *handled);

#endif							/* CONV_DEPTHWISE_H */
