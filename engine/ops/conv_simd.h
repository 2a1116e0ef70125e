/*-------------------------------------------------------------------------
 *
 * conv_simd.h
 *	  What the direct convolution kernels share (conv_simd.c): row moves
 *	  (copies, stride-2 splits and merges) in portable C, AVX2 and
 *	  AVX-512, and prepared input rows.
 *
 *	  A prepared row is an input row with zeros for the left and right
 *	  pads, split into its s_w phases so that for kernel column kw the
 *	  inputs of consecutive outputs are consecutive floats:
 *
 *		row[phase * Lp + i] = x[i * s_w + phase - p_w]   (0 outside the row)
 *		output ow, tap kw reads row[off[kw] + ow],
 *		off[kw] = (kw*d_w % s_w) * Lp + kw*d_w / s_w
 *
 *	  Kernels read whole steps of up to 4 vectors past each output row
 *	  start, so Lp covers the output width rounded up to that step.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONV_SIMD_H
#define CONV_SIMD_H

#include "window_geom.h"
#include "vecmath.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CONV_X86 1
#define CONV_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define CONV_AVX2 __attribute__((target("avx2,fma")))

/* Store the first n (< 16) lanes of v at p. */
CONV_AVX512 static inline void
conv_store_part_avx512(float *p, __m512 v, int64_t n)
{
	_mm512_mask_storeu_ps(p, (__mmask16) ((1u << n) - 1), v);
}

/* Store the first n (< 8) lanes of v at p. */
CONV_AVX2 static inline void
conv_store_part_avx2(float *p, __m256 v, int64_t n)
{
	__m256i		lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

	_mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32((int) n), lane), v);
}
#endif

typedef struct ConvVec
{
	/* dst[i] = src[i] for i < n */
	void		(*copy) (float *dst, const float *src, int64_t n);
	/* even[i] = src[2i], odd[i] = src[2i + 1] for i < n */
	void		(*deinterleave2) (const float *src, float *even, float *odd, int64_t n);
	/* dst[2i] = a[i], dst[2i + 1] = b[i] for i < n */
	void		(*interleave2) (float *dst, const float *a, const float *b, int64_t n);
	/* y[i] += a * x[i] for i < n */
	void		(*axpy) (float *y, const float *x, float a, int64_t n);
} ConvVec;

/* The row moves of an instruction-set level (OnnxVecIsa). */
extern const ConvVec *onnx_conv_vec(int level);

#define CONV_ROWS_MAX_STRIDE 16	/* wider strides: no prepared rows */

/* The layout of prepared rows for a geometry. */
typedef struct ConvRows
{
	ConvGeom2D	v;				/* image: the input */
	int64_t		Lp;				/* floats per phase */
	int64_t		rowlen;			/* floats per prepared row: s_w * Lp */
	int64_t		Hp;				/* rows all windows cover: (out_h-1)*s_h + (k_h-1)*d_h + 1 */
	int64_t		lo[CONV_ROWS_MAX_STRIDE],
				hi[CONV_ROWS_MAX_STRIDE];	/* valid range of each phase */
	int64_t		both_lo,
				both_hi;		/* stride 2: where both phases are valid */
} ConvRows;

/*
 * Plan prepared rows of 1-D or 2-D geometry g for kernels of vector
 * width vw (floats); false when g is outside what they take (rank, a
 * stride above CONV_ROWS_MAX_STRIDE, sizes near the int64 limits).
 */
extern bool onnx_conv_rows_plan(const ConvGeom *g, int vw, ConvRows *p);

/* off[kw] for kw < k_w (see the file header). */
extern void onnx_conv_rows_offsets(const ConvRows *p, int64_t *off);

/*
 * Prepare input row xr (in_w floats) into dst (rowlen floats): writes the
 * valid range of each phase only; the rest of dst must already be zero.
 */
extern void onnx_conv_rows_prepare(const ConvRows *p, const ConvVec *k, const float *xr,
								   float *dst);

#endif							/* CONV_SIMD_H */
