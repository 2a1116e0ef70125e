/*-------------------------------------------------------------------------
 *
 * strided_copy.h
 *	  Copy a block of fixed-size elements between two strided layouts, in
 *	  the largest contiguous runs the layouts allow: the engine of the
 *	  data-movement operators (Transpose, Slice, Tile, Pad, ...).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STRIDED_COPY_H
#define STRIDED_COPY_H

#include "engine_internal.h"

/*
 * Block (dims[0..rank)) of elements of es bytes (not strings):
 *	 dst[sum i_d * dst_stride[d]] = src[sum i_d * src_stride[d]]
 * for every index i in the block; strides in elements, any sign, 0 for a
 * broadcast source.  Dims of 1 are dropped and neighbours merged where
 * both layouts step through them alike; the innermost run is a memcpy,
 * a fill, a blocked 2-D transpose or a typed strided loop.  The caller
 * guarantees every addressed element lies inside its buffer and that
 * dst elements do not overlap src.  Checks ctx's abort flag between
 * chunks; fails only when cancelled.
 */
extern OnnxStatus onnx_copy_strided(OnnxKernelCtx *ctx, size_t es, int rank, const int64_t *dims,
									void *dst, const int64_t *dst_stride,
									const void *src, const int64_t *src_stride);

/* Fill n elements of es bytes at dst with copies of the element at val. */
extern void onnx_fill_elems(void *dst, const void *val, size_t es, int64_t n);

#endif							/* STRIDED_COPY_H */
