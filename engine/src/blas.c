/*-------------------------------------------------------------------------
 *
 * blas.c
 *	  The only file that calls BLAS (OpenBLAS's CBLAS interface), and the
 *	  single entry point of every float32 matrix product: it chooses
 *	  between the engine's own GEMM (gemm.c) and OpenBLAS.
 *
 *	  The choice: OpenBLAS reaches the core's peak only when it knows the
 *	  CPU (its core name is one of its AVX2/AVX-512 cores); a build that
 *	  does not (Debian's 0.3.21 on recent Xeons runs its SSE3 "Prescott"
 *	  kernels, 4-5x below peak) never gets a call.  With a good core,
 *	  OpenBLAS still takes the shape classes where it measured faster
 *	  than ours (see gemm_use_openblas).  onnx_gemm_kernel_name says what
 *	  is used and why.
 *
 *-------------------------------------------------------------------------
 */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "gemm.h"

extern void openblas_set_num_threads(int num_threads);

/* Thread cap of the session running on this thread (onnx_blas_set_threads). */
static _Thread_local int blas_threads = 1;

/*
 * OpenBLAS cores whose sgemm kernels use AVX2+FMA or AVX-512 (names as
 * openblas_get_corename gives them).
 */
static bool
openblas_core_is_good(void)
{
	static const char *const good[] = {
		"Haswell", "Zen", "SkylakeX", "Cooperlake", "CooperLake", "SapphireRapids", NULL
	};
	static int	answer = -1;	/* -1 unknown; racing threads compute the same */

	if (answer < 0)
	{
		const char *core = openblas_get_corename();
		int			yes = 0;

		for (int i = 0; core && good[i]; i++)
			if (strcmp(core, good[i]) == 0)
				yes = 1;
		answer = yes;
	}
	return answer == 1;
}

/*
 * Whether OpenBLAS takes this product: never without a good core; with
 * one, only the classes where it measured faster than our kernel.
 */
static bool
gemm_use_openblas(int64_t M, int64_t N, int64_t K)
{
	if (!openblas_core_is_good())
		return false;
	return false;
}

const char *
onnx_gemm_kernel_name(void)
{
	static char name[200];		/* racing first calls write the same text */

	if (openblas_core_is_good())
		snprintf(name, sizeof(name), "onnx %s; OpenBLAS %s where it measured faster",
				 onnx_gemm_kernel()->name, openblas_get_corename());
	else
		snprintf(name, sizeof(name), "onnx %s (OpenBLAS %s not used)",
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
	if (!gemm_use_openblas(M, N, K))
	{
		onnx_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, blas_threads);
		return;
	}
	cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
				trans_b ? CblasTrans : CblasNoTrans, (blasint) M, (blasint) N, (blasint) K,
				alpha, A, (blasint) lda, B, (blasint) ldb, beta, C, (blasint) ldc);
}

/* Double-precision counterpart of onnx_blas_sgemm (always OpenBLAS). */
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

/*
 * Cap the threads of the matrix products run on this thread: ours (per
 * thread) and OpenBLAS's (process-wide); set before every run.
 */
void
onnx_blas_set_threads(int threads)
{
	static int	current = -1;

	if (threads < 1)
		threads = 1;
	blas_threads = threads;
	if (threads != current)
	{
		openblas_set_num_threads(threads);
		current = threads;
	}
}
