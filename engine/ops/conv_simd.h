/*-------------------------------------------------------------------------
 *
 * conv_simd.h
 *	  Row moves the convolution kernels share (conv_simd.c): copies,
 *	  stride-2 splits and merges, in portable C, AVX2 and AVX-512.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONV_SIMD_H
#define CONV_SIMD_H

#include "engine_internal.h"

typedef struct ConvVec
{
	/* dst[i] = src[i] for i < n */
	void		(*copy) (float *dst, const float *src, int64_t n);
	/* even[i] = src[2i], odd[i] = src[2i + 1] for i < n */
	void		(*deinterleave2) (const float *src, float *even, float *odd, int64_t n);
	/* dst[2i] = a[i], dst[2i + 1] = b[i] for i < n */
	void		(*interleave2) (float *dst, const float *a, const float *b, int64_t n);
} ConvVec;

/* The row moves of an instruction-set level (ONNX_SIMD_*). */
extern const ConvVec *onnx_conv_vec(int level);

#endif							/* CONV_SIMD_H */
