/*-------------------------------------------------------------------------
 *
 * blas.c
 *	  The only file that calls BLAS (OpenBLAS's CBLAS interface), and the
 *	  single entry point of every float32 matrix product: it chooses
 *	  between the engine's own GEMM (gemm.c) and OpenBLAS.
 *
 *	  The choice, from gemm_bench on an Intel Xeon (Sapphire Rapids class)
 *	  with OpenBLAS 0.3.21 forced to each of its cores
 *	  (OPENBLAS_CORETYPE, benchmark only):
 *	  - OpenBLAS without an AVX2 or AVX-512 core (Debian's build runs its
 *		SSE3 "Prescott" kernels on recent Xeons, 4-5x below peak): never.
 *	  - OpenBLAS with an AVX2 core (Haswell, Zen): never.  Against our
 *		AVX2 kernel it measured 0.91-1.08x for M > 4 and 2.5-4.7x slower
 *		for M <= 4; against our AVX-512 kernel 1.4-2x slower.
 *	  - OpenBLAS with an AVX-512 core (SkylakeX, Cooperlake,
 *		SapphireRapids) while ours is AVX-512 too: it takes M > 4 when the
 *		product is tiny (M*N*K <= 2^20: its small-matrix kernels skip
 *		packing, 1.2-1.5x faster) or M >= 512 (its large packing buffers,
 *		1.1-1.4x faster); ours takes M <= 4 (3x) and the middle (1.1x).
 *	  Products whose weight was packed at load (gemm.h) always run ours.
 *	  onnx_gemm_kernel_name says what is used.
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

/* OpenBLAS's kernels by its core name: 0 older, 1 AVX2, 2 AVX-512. */
static int
openblas_level(void)
{
	static const char *const avx2[] = {"Haswell", "Zen", NULL};
	static const char *const avx512[] = {"SkylakeX", "Cooperlake", "CooperLake", "SapphireRapids", NULL};
	static int	level = -1;		/* racing first calls compute the same */

	if (level < 0)
	{
		const char *core = openblas_get_corename();
		int			l = 0;

		for (int i = 0; core && avx2[i]; i++)
			if (strcmp(core, avx2[i]) == 0)
				l = 1;
		for (int i = 0; core && avx512[i]; i++)
			if (strcmp(core, avx512[i]) == 0)
				l = 2;
		level = l;
	}
	return level;
}

/* Whether OpenBLAS takes this product (the rule in the file header). */
static bool
gemm_use_openblas(int64_t M, int64_t N, int64_t K)
{
	int64_t		work;

	if (M <= ONNX_GEMM_GEMV_ROWS || openblas_level() < 2 ||
		onnx_gemm_kernel()->isa != ONNX_GEMM_ISA_AVX512)
		return false;
	return M >= 512 || (!__builtin_mul_overflow(M, N, &work) &&
						!__builtin_mul_overflow(work, K, &work) && work <= ((int64_t) 1 << 20));
}

const char *
onnx_gemm_kernel_name(void)
{
	static char name[200];		/* racing first calls write the same text */

	if (openblas_level() == 2 && onnx_gemm_kernel()->isa == ONNX_GEMM_ISA_AVX512)
		snprintf(name, sizeof(name),
				 "onnx %s; OpenBLAS %s for M > 4 with M*N*K <= 2^20 or M >= 512",
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
