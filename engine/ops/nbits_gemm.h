/*
 * nbits_gemm.h
 *	  MatMulNBits' product on 4-bit block-quantized weights kept packed
 *	  (nbits_gemm.c).
 */
#ifndef NBITS_GEMM_H
#define NBITS_GEMM_H

#include <stdint.h>

/*
 * Packed 4-bit weights W (N, K): W[n, j * bs + i] = q * scale + zs with q
 * the 4-bit code i of block j of row n (two codes a byte, low nibble
 * first), zs = -zero_point * scale.  codes may point into the model's
 * initializer (read only).
 */
typedef struct OnnxNBits4
{
	int64_t		K,
				N,
				bs,				/* block size: a power of two >= 16 */
				kb;				/* blocks per row: ceil(K / bs) */
	const uint8_t *codes;		/* (N, kb, bs / 2) */
	const float *scale;			/* (N, kb) */
	const float *zs;			/* (N, kb) */
} OnnxNBits4;

/*
 * Y (M, N) += A (M, K) @ Wᵀ, the blocks dequantized inside the product;
 * scratch holds M * kb * (bs + 1) floats.  Up to threads threads split N.
 */
extern void onnx_nbits4_gemm(const OnnxNBits4 *w, const float *a, int64_t M, float *y, float *scratch,
							 int threads);

/* Rows n0 .. n0 + rows - 1 of W as float32: out (rows, K). */
extern void onnx_nbits4_dequant(const OnnxNBits4 *w, int64_t n0, int64_t rows, float *out);

#endif							/* NBITS_GEMM_H */
