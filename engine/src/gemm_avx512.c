/*-------------------------------------------------------------------------
 *
 * gemm_avx512.c
 *	  AVX-512F microkernel of the engine's SGEMM (see gemm.h): a tile of
 *	  GEMM_MR rows x 32 columns held in 28 zmm accumulators; per step of
 *	  k, two vectors of the B panel are loaded and each row's A value is
 *	  broadcast into two FMAs.  Edge columns use masked loads and stores
 *	  of C; edge rows use the variant compiled for that row count, and a
 *	  tile of at most 16 columns a one-vector variant.  The epilogue adds
 *	  a column bias and applies Relu while C is in registers.
 *
 *	  Compiled with target attributes, called only when CPUID reports
 *	  AVX-512F (gemm.c).
 *
 *-------------------------------------------------------------------------
 */
#include <immintrin.h>

#include "gemm.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX512 __attribute__((target("avx512f,fma")))
#define INLINE static inline __attribute__((always_inline))

#define GEMM_MR 14
#define GEMM_NV 2				/* zmm vectors per row */
#define GEMM_NR (16 * GEMM_NV)

#define GT_VEC __m512
#define GT_W 16
#define GT_MR GEMM_MR
#define GT_NV GEMM_NV
#define GT_TARGET AVX512
#define GT_ZERO() _mm512_setzero_ps()
#define GT_LOAD(p) _mm512_loadu_ps(p)
#define GT_BCAST(p) _mm512_set1_ps(*(p))
#define GT_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#include "gemm_tile.h"

/*
 * C (m, n) = alpha * Ap (m,kc) @ Bp (kc, 16*nv) + beta * C, then e's bias
 * and Relu; m and nv are constants in every instance, so the
 * accumulators stay in registers.  nv = 1 serves tiles of at most 16
 * columns (a narrow output's last panel) at half the work.
 */
INLINE AVX512 void
tile(const int m, const int nv, int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb,
	 float *c, int64_t ldc, int n, float alpha, float beta, const OnnxGemmEdge *e)
{
	__m512		acc[GEMM_MR][GEMM_NV];
	__m512		bias[GEMM_NV];
	__mmask16	mask[GEMM_NV];
	__m512		va,
				vb,
				zero = _mm512_setzero_ps();

	if (lda == 0)
		gt_accumulate(m, nv, kc, a, 1, GEMM_MR, b, ldb, c, ldc, e->pf, e->pf_lines, acc);
	else
		gt_accumulate(m, nv, kc, a, lda, 1, b, ldb, c, ldc, e->pf, e->pf_lines, acc);

	/* epilogue: masks for the columns present, then C = alpha AB + beta C + bias */
#pragma GCC unroll 4
	for (int v = 0; v < nv; v++)
	{
		int			rem = n - 16 * v;

		mask[v] = rem >= 16 ? (__mmask16) 0xFFFF : rem <= 0 ? 0 : (__mmask16) ((1u << rem) - 1);
		bias[v] = e->bias ? _mm512_maskz_loadu_ps(mask[v], e->bias + 16 * v) : zero;
	}
	va = _mm512_set1_ps(alpha);
	vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
	for (int i = 0; i < m; i++)
	{
		float	   *cr = c + i * ldc;

#pragma GCC unroll 4
		for (int v = 0; v < nv; v++)
		{
			__m512		r = _mm512_mul_ps(acc[i][v], va);

			if (beta != 0.0f)
				r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], cr + 16 * v), r);
			if (e->bias)
				r = _mm512_add_ps(r, bias[v]);
			if (e->relu)
				r = _mm512_max_ps(zero, r); /* NaN (second operand) passes */
			_mm512_mask_storeu_ps(cr + 16 * v, mask[v], r);
		}
	}
}

#define GT_MICRO micro_avx512
#include "gemm_micro.h"

const OnnxGemmKernel onnx_gemm_kernel_avx512 = {
	"avx512f 14x32", ONNX_GEMM_ISA_AVX512, GEMM_MR, GEMM_NR, 256, 224, micro_avx512,
	onnx_gemm_pack_t_avx2
};

#else							/* not x86: never chosen */

const OnnxGemmKernel onnx_gemm_kernel_avx512 = {
	"avx512f (not built)", ONNX_GEMM_ISA_AVX512, 1, 1, 1, 1, NULL, NULL
};

#endif
