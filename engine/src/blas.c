/*-------------------------------------------------------------------------
 *
 * blas.c
 *	  The only file that calls BLAS (OpenBLAS's CBLAS interface).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include <cblas.h>

#include "engine_internal.h"

extern void openblas_set_num_threads(int num_threads);

/* C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C, row-major. */
void
onnx_blas_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
				float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
				float beta, float *C, int64_t ldc)
{
	if (M == 0 || N == 0)
		return;
	if (M <= 4)
	{
		/*
		 * A few rows: one GEMV per row reads B once without the packing
		 * GEMM does on every call.  Row i of op(A) starts at A + i*lda
		 * (stride 1), or at A + i with stride lda when A is transposed.
		 */
		for (int64_t i = 0; i < M; i++)
		{
			const float *x = trans_a ? A + i : A + i * lda;
			blasint		incx = trans_a ? (blasint) lda : 1;

			if (trans_b)		/* B (N,K): y = B x */
				cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint) N, (blasint) K, alpha,
							B, (blasint) ldb, x, incx, beta, C + i * ldc, 1);
			else				/* B (K,N): y = B^T x */
				cblas_sgemv(CblasRowMajor, CblasTrans, (blasint) K, (blasint) N, alpha,
							B, (blasint) ldb, x, incx, beta, C + i * ldc, 1);
		}
		return;
	}
	cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
				trans_b ? CblasTrans : CblasNoTrans, (blasint) M, (blasint) N, (blasint) K,
				alpha, A, (blasint) lda, B, (blasint) ldb, beta, C, (blasint) ldc);
}

/* Double-precision counterpart of onnx_blas_sgemm. */
void
onnx_blas_dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
				double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
				double beta, double *C, int64_t ldc)
{
	if (M == 0 || N == 0)
		return;
	cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
				trans_b ? CblasTrans : CblasNoTrans, (blasint) M, (blasint) N, (blasint) K,
				alpha, A, (blasint) lda, B, (blasint) ldb, beta, C, (blasint) ldc);
}

/* Cap OpenBLAS's threads (process-wide; set before every run). */
void
onnx_blas_set_threads(int threads)
{
	static int	current = -1;

	if (threads < 1)
		threads = 1;
	if (threads != current)
	{
		openblas_set_num_threads(threads);
		current = threads;
	}
}

/* The sgemm kernel OpenBLAS chose for this CPU, e.g. "OpenBLAS Prescott". */
const char *
onnx_gemm_kernel_name(void)
{
	static char name[64];

	if (name[0] == '\0')
		snprintf(name, sizeof(name), "OpenBLAS %s", openblas_get_corename());
	return name;
}
