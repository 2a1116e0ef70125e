/*-------------------------------------------------------------------------
 *
 * gemm.h
 *	  The engine's own single-precision GEMM: BLIS-style blocking (cache
 *	  blocks KC, MC around packed panels of A and B) over register-tiled
 *	  microkernels, one per instruction set (AVX-512F, AVX2+FMA, portable
 *	  C), chosen once by CPUID at first use.
 *
 *	  All matrices are row-major.  The product is
 *
 *		C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C
 *
 *	  with op(X) = X or X^T.  beta == 0 means C is not read (it may hold
 *	  garbage, NaN included); K == 0 gives C = beta * C.
 *
 * Packed constant operands (weights packed once at load)
 * ------------------------------------------------------
 *	  A constant operand can be packed once into the layout the kernel
 *	  reads, so runs skip the packing and read contiguous panels:
 *
 *		size_t	bytes;
 *		OnnxGemmPacked *p;
 *
 *		if (!onnx_sgemm_pack_size(ONNX_GEMM_PACK_B, K, N, &bytes))
 *			... too large: leave the operand unpacked ...
 *		buf = onnx_arena_alloc(arena, bytes);		(64-byte aligned not needed)
 *		p = onnx_sgemm_pack_b(buf, bytes, trans_b, K, N, B, ldb);
 *		...
 *		onnx_sgemm_packed(M, N, K, alpha, trans_a, A, lda, NULL,
 *						  false, NULL, 0, p, beta, C, ldc, threads);
 *
 *	  The right operand op(B) (K,N) packs with onnx_sgemm_pack_b (MatMul
 *	  and Gemm weights); the left operand op(A) (M,K) with
 *	  onnx_sgemm_pack_a (convolution weights W (Cout, Cin*kh*kw) in
 *	  Y = W @ col).  A packed buffer records the kernel it was packed for
 *	  and is only read by that kernel; it holds a copy, so the source may
 *	  be freed.  It is read-only during runs: many threads and sessions
 *	  may share it.
 *
 * Threads: the caller passes a thread cap; with more than one thread the
 * work is split over engine/src/parallel.c's pool.  Nothing here
 * allocates: per-call packing buffers are fixed-size arrays on the
 * stack (ONNX_GEMM_STACK_FLOATS floats, 256 KB, per calling thread), so
 * no call can fail; the caller's stack must have that much to spare.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GEMM_H
#define GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Instruction sets, in the order of preference. */
typedef enum OnnxGemmIsa
{
	ONNX_GEMM_ISA_AUTO = 0,		/* the best the CPU supports */
	ONNX_GEMM_ISA_REF,			/* portable C */
	ONNX_GEMM_ISA_AVX2,			/* AVX2 + FMA */
	ONNX_GEMM_ISA_AVX512		/* AVX-512F */
} OnnxGemmIsa;

/*
 * What a microkernel call does besides the product (gemm.c fills it in):
 * after C = alpha * AB + beta * C, add bias[j] to column j (bias NULL:
 * nothing) and then, with relu, replace negative values by zero (NaN
 * stays NaN, as Relu does); both only on the last depth block of C.
 * While it runs, the kernel may prefetch pf_lines 64-byte lines from pf
 * on into L2 (the next packed B panel, which otherwise arrives from L3
 * or memory while the next call waits); prefetches never fault, so pf
 * may point past a buffer.
 */
typedef struct OnnxGemmEdge
{
	const float *bias;			/* n column values, or NULL */
	bool		relu;
	const float *pf;			/* NULL: no prefetch */
	int64_t		pf_lines;
} OnnxGemmEdge;

/*
 * Microkernel: C (m,n) = alpha * A (m,kc) @ Bp (kc,n) + beta * C, then
 * the edge e (never NULL), with m <= mr, n <= nr.  With lda == 0, A is a
 * packed panel: element (i,k) at a[k*mr + i]; otherwise A is read in
 * place, element (i,k) at a[i*lda + k].  Only rows 0..m-1 of A are read.
 * Bp element (k,j) is at b[k*ldb + j]; the kernel may read all nr
 * columns of every row (the caller pads), so b[k*ldb + 0 .. nr-1] must
 * be readable.  C is read (when beta != 0) and written only in its m x n
 * corner.
 */
typedef void (*OnnxGemmMicro) (int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb,
							   float *c, int64_t ldc, int m, int n, float alpha, float beta,
							   const OnnxGemmEdge *e);

/*
 * Transposing pack: dst[k*w + r] = src[r*ld + k] for r < rows, k < kc,
 * and 0 for the rows rows..w-1 (1 <= rows <= w).  Packs A panels (rows
 * of A) and panels of a transposed B.
 */
typedef void (*OnnxGemmPackT) (float *dst, int w, const float *src, int64_t ld, int rows,
							   int64_t kc);

/* Portable C and AVX2 versions (gemm_ref.c, gemm_avx2.c). */
extern void onnx_gemm_pack_t_c(float *dst, int w, const float *src, int64_t ld, int rows,
							   int64_t kc);
extern void onnx_gemm_pack_t_avx2(float *dst, int w, const float *src, int64_t ld, int rows,
								  int64_t kc);

typedef struct OnnxGemmKernel
{
	const char *name;			/* "avx512f 14x32" */
	OnnxGemmIsa isa;
	int			mr,
				nr;				/* register tile (rows of A, columns of B) */
	int			kc,
				mc;				/* cache blocks: depth, rows of A per block */
	OnnxGemmMicro micro;
	OnnxGemmPackT pack_t;
} OnnxGemmKernel;

/* The per-ISA tables (gemm_ref.c, gemm_avx2.c, gemm_avx512.c). */
extern const OnnxGemmKernel onnx_gemm_kernel_ref;
extern const OnnxGemmKernel onnx_gemm_kernel_avx2;
extern const OnnxGemmKernel onnx_gemm_kernel_avx512;

/* Largest per-call packing scratch, in floats, each thread keeps on its stack. */
#define ONNX_GEMM_STACK_FLOATS (64 * 1024)	/* 256 KB */

/*
 * The kernel in use: chosen by CPUID at the first call, or the one forced
 * by onnx_gemm_force_isa; capped by the engine-wide instruction-set limit
 * of vecmath.h (onnx_vec_set_max_isa: tests run the portable kernel with
 * onnx_node_test --isa portable).
 */
extern const OnnxGemmKernel *onnx_gemm_kernel(void);

/*
 * Tests and benchmarks: use the kernel of isa from now on (AUTO: choose by
 * CPUID again).  Returns false, changing nothing, when the CPU lacks isa.
 * Operands packed before keep their kernel.
 */
extern bool onnx_gemm_force_isa(OnnxGemmIsa isa);

/* Whether the CPU runs the kernel of isa. */
extern bool onnx_gemm_isa_supported(OnnxGemmIsa isa);

/* Which operand a packed buffer holds. */
typedef enum OnnxGemmPackSide
{
	ONNX_GEMM_PACK_A,			/* op(A) (rows M, cols K) */
	ONNX_GEMM_PACK_B			/* op(B) (rows K, cols N) */
} OnnxGemmPackSide;

typedef struct OnnxGemmPacked
{
	const OnnxGemmKernel *kernel;	/* the layout: panels of kernel->mr rows or nr columns */
	OnnxGemmPackSide side;
	int64_t		rows,
				cols;			/* op(X)'s shape */
	/*
	 * Panels by depth block: block pc (kcur = min(kc, K - pc) deep)
	 * starts at data + pc * Xpad (Xpad: M or N rounded up to mr or nr)
	 * and holds the (kcur, mr) A panels or (kcur, nr) B panels in order,
	 * so a run reads each block front to back.
	 */
	const float *data;
} OnnxGemmPacked;

/*
 * Bytes a packed operand of that shape needs (header included), into
 * *bytes; false when the size overflows.
 */
extern bool onnx_sgemm_pack_size(OnnxGemmPackSide side, int64_t rows, int64_t cols,
								 size_t *bytes);

/*
 * Pack op(A) (M,K) (trans_a: A is stored (K,M)) or op(B) (K,N) (trans_b:
 * B is stored (N,K)) into buf, which has the bytes onnx_sgemm_pack_size
 * gave; returns the packed operand, which lives in buf.  NULL when buf is
 * too small.  Packs for the kernel in use.
 */
extern const OnnxGemmPacked *onnx_sgemm_pack_a(void *buf, size_t bytes, bool trans_a,
											   int64_t M, int64_t K, const float *A, int64_t lda);
extern const OnnxGemmPacked *onnx_sgemm_pack_b(void *buf, size_t bytes, bool trans_b,
											   int64_t K, int64_t N, const float *B, int64_t ldb);

/*
 * C (M,N) = alpha * op(A) @ op(B) + beta * C on the kernel in use, packing
 * per call; threads > 1 splits the work over the engine's pool.
 */
extern void onnx_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
					   float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
					   float beta, float *C, int64_t ldc, int threads);

/*
 * The same with either operand prepacked: pa (then A, lda, trans_a are
 * ignored) and/or pb (then B, ldb, trans_b ignored), each NULL or from
 * onnx_sgemm_pack_a / _b with pa->rows == M, pa->cols == K, pb->rows == K,
 * pb->cols == N (the caller checks).  When both are packed they must be
 * packed for the same kernel.  The kernel is the packed operand's.
 */
extern void onnx_sgemm_packed(int64_t M, int64_t N, int64_t K, float alpha,
							  bool trans_a, const float *A, int64_t lda, const OnnxGemmPacked *pa,
							  bool trans_b, const float *B, int64_t ldb, const OnnxGemmPacked *pb,
							  float beta, float *C, int64_t ldc, int threads);

/*
 * Epilogue of a product, applied to each tile of C while it is in
 * registers: C = alpha * op(A) @ op(B) + beta * C + bias (bias: N values
 * added to every row, or NULL), then Relu when relu is set.  Writes C
 * once instead of a bias copy before and an activation pass after.
 */
typedef struct OnnxGemmEpilogue
{
	const float *bias;
	bool		relu;
} OnnxGemmEpilogue;

/* onnx_sgemm_packed with an epilogue (ep NULL: none). */
extern void onnx_sgemm_packed_ep(int64_t M, int64_t N, int64_t K, float alpha,
								 bool trans_a, const float *A, int64_t lda,
								 const OnnxGemmPacked *pa, bool trans_b, const float *B,
								 int64_t ldb, const OnnxGemmPacked *pb, float beta, float *C,
								 int64_t ldc, int threads, const OnnxGemmEpilogue *ep);

#endif							/* GEMM_H */
