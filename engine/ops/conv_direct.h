/*-------------------------------------------------------------------------
 *
 * conv_direct.h
 *	  Direct float32 convolution for few output channels per group
 *	  (conv_direct.c): no im2col buffer, weights packed in blocks of
 *	  CONV_DIRECT_MR output channels.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONV_DIRECT_H
#define CONV_DIRECT_H

#include "window_geom.h"

#define CONV_DIRECT_MR 8		/* output channels per weight block */
#define CONV_DIRECT_MAX_M 64	/* more output channels per group: im2col + GEMM */

/*
 * Whether the direct kernel is meant for a convolution with Mg output
 * and Cg input channels per group and a window of k_size taps, pointwise
 * (1x1, stride 1, no pads) or not.  Depthwise and pointwise convolutions
 * have kernels of their own.
 */
extern bool onnx_conv_direct_suits(int64_t Mg, int64_t Cg, int64_t group, int64_t k_size,
								   bool pointwise);

/*
 * Weights packed in blocks of `block` output channels (this kernel's and
 * conv_bcast.c's layout): onnx_conv_block_packed_size gives the floats,
 * into *n (false on overflow), onnx_conv_block_pack writes
 * dst[gi][mb][c][t][j] = W[gi*Mg + mb*block + j][c][t], zero for the
 * channels past Mg in the last block of a group.
 */
extern bool onnx_conv_block_packed_size(int64_t M, int64_t Cg, int64_t taps, int64_t group,
										int64_t block, int64_t *n);
extern void onnx_conv_block_pack(const float *w, int64_t M, int64_t Cg, int64_t taps,
								 int64_t group, int64_t block, float *dst);

/*
 * Floats of the packed weights of W (M, Cg, taps...) in `group` groups
 * (M / group output channels each), into *n; false on overflow.
 */
extern bool onnx_conv_direct_packed_size(int64_t M, int64_t Cg, int64_t taps, int64_t group,
										 int64_t *n);

/*
 * Pack W (M, Cg, taps) into dst (onnx_conv_direct_packed_size floats):
 * dst[gi][mb][c][t][j] = W[gi*Mg + mb*MR + j][c][t], zero for the
 * channels past Mg in the last block of a group.
 */
extern void onnx_conv_direct_pack(const float *w, int64_t M, int64_t Cg, int64_t taps,
								  int64_t group, float *dst);

/*
 * Conv of 1 or 2 spatial dims, float32, with weights packed by
 * onnx_conv_direct_pack: X (N, C, [H,] W), B (M) or NULL
 *	 -> Y (N, M, [OH,] OW) = act(conv + bias), every element written.
 * Sets *handled false (returning ONNX_OK) when the geometry is outside
 * what it takes; fails on memory or cancellation.
 */
extern OnnxStatus onnx_conv_direct_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x,
									   const float *wp, const float *b, const OnnxFusedAct *act,
									   float *y, int64_t N, int64_t C, int64_t M, int64_t group,
									   bool *handled);

#endif							/* CONV_DIRECT_H */
