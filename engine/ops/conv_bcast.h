/*-------------------------------------------------------------------------
 *
 * conv_bcast.h
 *	  Float32 convolution as an implicit GEMM on a zero-padded copy of the
 *	  input split into stride phases (conv_bcast.c): no im2col buffer; each
 *	  input value is broadcast from the copy straight into the register
 *	  tile.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONV_BCAST_H
#define CONV_BCAST_H

#include "window_geom.h"

#define CONV_BCAST_NB 32		/* output channels per packed weight block */

/*
 * Whether the kernel takes a convolution of nsp spatial dims with Mg
 * output and Cg input channels per group, k_size taps and strides s
 * (nsp values), pointwise (1x1, stride 1, no pads) or not: 1 or 2
 * spatial dims, strides up to 4, not pointwise nor depthwise, not an
 * RGB-like input (under 4 channels) with few enough output channels for
 * conv_direct.c, and enough depth (Cg * k_size) for the tile to pay off.  Only at the AVX-512 level
 * (onnx_conv_bcast_f32 declines otherwise).
 */
extern bool onnx_conv_bcast_suits(int nsp, int64_t Mg, int64_t Cg, int64_t group, int64_t k_size,
								  const int64_t *s, bool pointwise);

/*
 * Conv of 1 or 2 spatial dims, float32, with weights packed in blocks of
 * CONV_BCAST_NB channels (onnx_conv_block_pack, conv_direct.h): X (N, C, [H,] W), B (M) or NULL
 *	 -> Y (N, M, [OH,] OW) = act(conv + bias), every element written.
 * Sets *handled false (returning ONNX_OK) when it does not take the
 * geometry or the instruction-set level is below AVX-512; fails on
 * memory or cancellation.
 */
extern OnnxStatus onnx_conv_bcast_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x,
									  const float *wp, const float *b, const OnnxFusedAct *act,
									  float *y, int64_t N, int64_t C, int64_t M, int64_t group,
									  bool *handled);

#endif							/* CONV_BCAST_H */
