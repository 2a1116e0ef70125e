/*-------------------------------------------------------------------------
 *
 * qgemm.h
 *	  Exact 8-bit integer matrix products for the quantized operators:
 *
 *		C (M,N) int32 = sum_k (A[m,k] - azp[m]) * (B[k,n] - bzp[n])
 *
 *	  with A and B each int8 or uint8.  Every variant returns the exact
 *	  int32 sums (no int16 saturation).
 *
 * How: A is shifted to uint8 (int8 + 128) and B to int8 (uint8 - 128);
 * the core computes raw = A' @ B' and the zero points (shifted alike)
 * come back through row sums of A' and column sums of B':
 *
 *	 C = raw - bzp'[n] * rowsum(A')[m] - azp'[m] * colsum(B')[n] + K azp' bzp'
 *
 * B is packed once (at load for constant weights) in panels of 16
 * columns; the layout depends on the kernel:
 *	 VNNI (AVX512_VNNI vpdpbusd, u8 x s8 -> exact int32): groups of 4 k,
 *		 64 bytes per group: byte (n*4 + kk) = B'[4g+kk, n];
 *	 AVX-512BW, AVX2, portable (vpmaddwd on int16, exact): groups of 2 k,
 *		 32 int16 per group: element (n*2 + kk) = B'[2g+kk, n].
 * A is packed per call to rows of Kp (K rounded up to the group) bytes
 * (VNNI) or int16 (others), zero padded.
 *
 * The kernel is chosen by CPUID, capped by vecmath.h's engine-wide level
 * (onnx_vec_set_max_isa) and by onnx_qgemm_set_max_isa (tests use it to
 * run the AVX-512BW kernel on a VNNI machine).  A packed B records its
 * kernel and is always computed by it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef QGEMM_H
#define QGEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum OnnxQgemmIsa
{
	ONNX_QGEMM_PORTABLE = 0,
	ONNX_QGEMM_AVX2,			/* vpmaddwd ymm */
	ONNX_QGEMM_AVX512BW,		/* vpmaddwd zmm */
	ONNX_QGEMM_VNNI				/* vpdpbusd zmm */
} OnnxQgemmIsa;

#define ONNX_QGEMM_NR 16		/* columns per B panel */
#define ONNX_QGEMM_MR 6			/* rows of A per microkernel call */

/* The kernel new packs use; its name ("avx512vnni"). */
extern OnnxQgemmIsa onnx_qgemm_isa(void);
extern const char *onnx_qgemm_isa_name(OnnxQgemmIsa isa);
extern void onnx_qgemm_set_max_isa(int isa);	/* an OnnxQgemmIsa; tests */

/* A packed B operand; data and sums follow the struct in one block. */
typedef struct OnnxQgemmB
{
	OnnxQgemmIsa isa;
	int64_t		K,
				N,
				Kp;				/* K rounded up to the group (2 or 4) */
	int64_t		panels;			/* ceil(N / NR) */
	int32_t    *colsum;			/* (N) sums of B' */
	int32_t    *zp;				/* (N) shifted zero points bzp' */
	void	   *data;			/* panels * Kp * NR elements */
} OnnxQgemmB;

/*
 * Bytes of one packed B of (K,N) for isa, struct included; 0 when the
 * size overflows.
 */
extern size_t onnx_qgemm_pack_b_size(OnnxQgemmIsa isa, int64_t K, int64_t N);

/*
 * Pack B (K,N) into buf (onnx_qgemm_pack_b_size bytes, any alignment up to
 * 8): element (k,n) is b[trans ? n*ldb + k : k*ldb + n], int8 when
 * b_signed else uint8; bzp has nzp (1 or N) values (NULL: 0).  Returns
 * the packed operand, inside buf.
 */
extern OnnxQgemmB *onnx_qgemm_pack_b(void *buf, OnnxQgemmIsa isa, int64_t K, int64_t N,
									 const void *b, int64_t ldb, bool trans, bool b_signed,
									 const int32_t *bzp, int64_t nzp);

/* Bytes of the packed A of M rows for pb (0 on overflow). */
extern size_t onnx_qgemm_pack_a_size(const OnnxQgemmB *pb, int64_t M);

/*
 * Pack A (M,K) rows (row m at a + m*lda, int8 when a_signed else uint8)
 * for pb into dst, and rowsum (M) of the shifted rows.
 */
extern void onnx_qgemm_pack_a(const OnnxQgemmB *pb, int64_t M, const void *a, int64_t lda,
							  bool a_signed, void *dst, int32_t *rowsum);

/*
 * Whether uint8 rows of A, lda bytes apart, are already pb's packed A
 * (the VNNI layout with K a multiple of 4): then onnx_qgemm_row_sums
 * gives the row sums and onnx_qgemm_run reads A in place.
 */
extern bool onnx_qgemm_a_in_place(const OnnxQgemmB *pb, bool a_signed);
extern void onnx_qgemm_row_sums(const OnnxQgemmB *pb, int64_t M, const void *a, int64_t lda,
								int32_t *rowsum);

/*
 * C (M,N) = (A - azp) @ (B - bzp) for a packed A (onnx_qgemm_pack_a, rows
 * lda elements apart: pb->Kp, or A itself per onnx_qgemm_a_in_place) with
 * its row sums; azp has nazp (1 or M) values in A's own type (unshifted;
 * NULL: 0); C rows ldc apart.  threads: at most that many threads of the
 * engine's pool.
 */
extern void onnx_qgemm_run(const OnnxQgemmB *pb, int64_t M, const void *ap, int64_t lda,
						   const int32_t *rowsum, const int32_t *azp, int64_t nazp,
						   bool a_signed, int32_t *C, int64_t ldc, int threads);

/* The microkernels (qgemm_x86.c): raw tile (MR, 32) of rows a[i*lda]. */
typedef void (*OnnxQgemmMicro) (int64_t groups, const void *a, int64_t lda, int mr,
								const void *b0, const void *b1, int32_t *tile);
extern void onnx_qgemm_micro_avx2(int64_t groups, const void *a, int64_t lda, int mr,
								  const void *b0, const void *b1, int32_t *tile);
extern void onnx_qgemm_micro_avx512bw(int64_t groups, const void *a, int64_t lda, int mr,
									  const void *b0, const void *b1, int32_t *tile);
extern void onnx_qgemm_micro_vnni(int64_t groups, const void *a, int64_t lda, int mr,
								  const void *b0, const void *b1, int32_t *tile);
extern bool onnx_qgemm_cpu_has(OnnxQgemmIsa isa);
extern int32_t onnx_qgemm_row_vnni(const uint8_t *src, int64_t K, int64_t Kp, uint8_t x, uint8_t *d);

#endif							/* QGEMM_H */
