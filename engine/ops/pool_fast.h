/*-------------------------------------------------------------------------
 *
 * pool_fast.h
 *	  float32 pooling kernels for ops_pool.c: windowed max/average pools
 *	  of any rank as separable row passes, 2-D max pool with Indices, and
 *	  the global pools as plane reductions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef POOL_FAST_H
#define POOL_FAST_H

#include "window_geom.h"

/*
 * Max (is_max) or average pool over g's window of x (NC, in...) into
 * y (NC, out...), any number of spatial dims.  Averages divide by the
 * taps inside the image, or by those inside image and pads when
 * include_pad.  A window without a valid tap gives -inf (max) or
 * 0 / count (average).  Max keeps the first of equal values and a NaN
 * only when it is a window's first valid tap.
 */
extern OnnxStatus onnx_pool_f32(OnnxKernelCtx *ctx, const ConvGeom *g, bool is_max, bool include_pad,
								const float *x, float *y, int64_t NC);

/*
 * 2-D max pool with Indices: x (NC, H, W) -> y (NC, oH, oW) and idx, the
 * flat offset of each maximum in x (row-major, or column-major over the
 * spatial dims when col_major), -1 for a window without a valid tap.
 */
extern OnnxStatus onnx_pool2d_max_idx_f32(OnnxKernelCtx *ctx, const ConvGeom *g, bool col_major,
										  const float *x, float *y, int64_t *idx, int64_t NC);

/* Global pools: y[p] = max or mean of the S values of plane p of x (NC, S). */
extern OnnxStatus onnx_global_pool_f32(OnnxKernelCtx *ctx, bool is_max, const float *x, float *y,
									   int64_t NC, int64_t S);

#endif							/* POOL_FAST_H */
