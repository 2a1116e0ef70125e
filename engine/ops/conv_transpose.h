/*-------------------------------------------------------------------------
 *
 * conv_transpose.h
 *	  float32 ConvTranspose of 1 or 2 spatial dims as one GEMM per block
 *	  of input rows followed by col2im (conv_transpose.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONV_TRANSPOSE_H
#define CONV_TRANSPOSE_H

#include "window_geom.h"

/*
 * ConvTranspose, float32, 1 or 2 spatial dims (g->in: the output image,
 * g->out: X's spatial dims):
 *	 X (N, C, [H,] W), W (C, M/group, [KH,] KW), B (M) or NULL
 *	 -> Y (N, M, [OH,] OW) = act(convT + bias), every element written.
 * Sets *handled false (returning ONNX_OK) for other ranks; fails on
 * memory or cancellation.
 */
extern OnnxStatus onnx_conv_transpose_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x,
										  const float *w, const float *b,
										  const OnnxFusedAct *act, float *y, int64_t N,
										  int64_t C, int64_t M, int64_t group, bool *handled);

#endif							/* CONV_TRANSPOSE_H */
