/*-------------------------------------------------------------------------
 *
 * blas.c
 *	  The only file that calls BLAS (OpenBLAS's CBLAS interface), and the
 *	  single entry point of every matrix product.  float32 products run
 *	  the engine's own GEMM (gemm.c) whatever the shape: it is row-invariant
 *	  (a row of C gets the same bits whatever M is, see gemm.h), which
 *	  per-row and batched scoring need to agree, and OpenBLAS is not (its
 *	  kernels, small-matrix paths and edge tiles change with the shape).
 *	  Where its AVX-512 kernels measured faster (gemm_bench, Intel Xeon,
 *	  OpenBLAS 0.3.21 forced to SkylakeX: 1.1-1.5x for tiny or M >= 512
 *	  products of an operand not packed at load) that speed is given up.
 *	  float64 products go to OpenBLAS.  onnx_gemm_kernel_name says what is
 *	  used.
 *
 *-------------------------------------------------------------------------
 */
#include <cblas.h>
#include <stdio.h>

#include "engine_internal.h"
#include "gemm.h"

extern void openblas_set_num_threads(int num_threads);

/* Thread cap of the session running on this thread (onnx_blas_set_threads). */
static _Thread_local int blas_threads = 1;

/*
 * Give OpenBLAS the thread cap, only right before calling it: in a forked
 * process (a PostgreSQL backend) openblas_set_num_threads starts OpenBLAS's
 * worker threads, which spin for a while after every call; a process that
 * never calls OpenBLAS never gets them.
 */
static void
openblas_threads(void)
{
	static int	current = -1;

	if (blas_threads != current)
	{
		openblas_set_num_threads(blas_threads);
		current = blas_threads;
	}
}

/* The float32 kernel in use, and OpenBLAS's core for float64. */
const char *
onnx_gemm_kernel_name(void)
{
	static char name[200];		/* racing first calls write the same text */

	snprintf(name, sizeof(name), "onnx %s (OpenBLAS %s for float64)",
			 onnx_gemm_kernel()->name, openblas_get_corename());
	return name;
}

/* C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C, row-major. */
void
onnx_blas_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
				float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
				float beta, float *C, int64_t ldc)
{
	if (M == 0 || N == 0)
		return;
	onnx_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, blas_threads);
}

/* Double-precision counterpart of onnx_blas_sgemm (always OpenBLAS). */
void
onnx_blas_dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
				double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
				double beta, double *C, int64_t ldc)
{
	if (M == 0 || N == 0)
		return;
	openblas_threads();
	cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
				trans_b ? CblasTrans : CblasNoTrans, (blasint) M, (blasint) N, (blasint) K,
				alpha, A, (blasint) lda, B, (blasint) ldb, beta, C, (blasint) ldc);
}

/*
 * Cap the threads of the matrix products run on this thread: ours (per
 * thread) and OpenBLAS's (process-wide, given when it is next called);
 * set before every run.
 */
void
onnx_blas_set_threads(int threads)
{
	blas_threads = threads < 1 ? 1 : threads;
}
