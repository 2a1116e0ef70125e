/*-------------------------------------------------------------------------
 *
 * gemm_avx2.c
 *	  AVX2+FMA microkernel of the engine's SGEMM (see gemm.h): a tile of
 *	  6 rows x 16 columns held in 12 ymm accumulators; per step of k, two
 *	  vectors of the B panel are loaded and each row's A value is
 *	  broadcast into two FMAs.  Edge columns use masked loads and stores
 *	  of C; edge rows use the variant compiled for that row count, and a
 *	  tile of at most 8 columns a one-vector variant.  The epilogue adds
 *	  a column bias and applies Relu while C is in registers.
 *
 *	  Compiled with target attributes, called only when CPUID reports
 *	  AVX2 and FMA (gemm.c).
 *
 *-------------------------------------------------------------------------
 */
#include <immintrin.h>

#include "gemm.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

#define GEMM_MR 6
#define GEMM_NV 2				/* ymm vectors per row */
#define GEMM_NR (8 * GEMM_NV)

#define GT_VEC __m256
#define GT_W 8
#define GT_MR GEMM_MR
#define GT_NV GEMM_NV
#define GT_TARGET AVX2
#define GT_ZERO() _mm256_setzero_ps()
#define GT_LOAD(p) _mm256_loadu_ps(p)
#define GT_BCAST(p) _mm256_broadcast_ss(p)
#define GT_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#include "gemm_tile.h"

/*
 * C (m, n) = alpha * Ap (m,kc) @ Bp (kc, 8*nv) + beta * C, then e's bias
 * and Relu; m and nv are constants in every instance, so the
 * accumulators stay in registers.  nv = 1 serves tiles of at most 8
 * columns.
 */
INLINE AVX2 void
tile(const int m, const int nv, int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb,
	 float *c, int64_t ldc, int n, float alpha, float beta, const OnnxGemmEdge *e)
{
	__m256		acc[GEMM_MR][GEMM_NV];
	__m256i		mask[GEMM_NV];
	__m256		bias[GEMM_NV];
	__m256		va,
				vb,
				zero = _mm256_setzero_ps();

	if (lda == 0)
		gt_accumulate(m, nv, kc, a, 1, GEMM_MR, b, ldb, c, ldc, e->pf, e->pf_lines, acc);
	else
		gt_accumulate(m, nv, kc, a, lda, 1, b, ldb, c, ldc, e->pf, e->pf_lines, acc);

	/* epilogue: lane masks for the columns present, then C = alpha AB + beta C + bias */
#pragma GCC unroll 4
	for (int v = 0; v < nv; v++)
	{
		mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8 * v),
									 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
		bias[v] = e->bias ? _mm256_maskload_ps(e->bias + 8 * v, mask[v]) : zero;
	}
	va = _mm256_set1_ps(alpha);
	vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
	for (int i = 0; i < m; i++)
	{
		float	   *cr = c + i * ldc;

#pragma GCC unroll 4
		for (int v = 0; v < nv; v++)
		{
			__m256		r = _mm256_mul_ps(acc[i][v], va);

			if (n >= 8 * nv)
			{
				if (beta != 0.0f)
					r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8 * v), r);
			}
			else if (beta != 0.0f)
				r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + 8 * v, mask[v]), r);
			if (e->bias)
				r = _mm256_add_ps(r, bias[v]);
			if (e->relu)
				r = _mm256_max_ps(zero, r); /* NaN (second operand) passes */
			if (n >= 8 * nv)
				_mm256_storeu_ps(cr + 8 * v, r);
			else
				_mm256_maskstore_ps(cr + 8 * v, mask[v], r);
		}
	}
}

#define GT_MICRO micro_avx2
#include "gemm_micro.h"

/*
 * The transposing pack of gemm.h with 8x8 in-register transposes: eight
 * rows of eight k values in, eight k-major vectors of eight rows out.
 * Rows past `rows` read as zero; lanes past w are not stored.
 */
AVX2 void
onnx_gemm_pack_t_avx2(float *dst, int w, const float *src, int64_t ld, int rows, int64_t kc)
{
	for (int r0 = 0; r0 < w; r0 += 8)
	{
		int			nrow = rows - r0 < 0 ? 0 : rows - r0 > 8 ? 8 : rows - r0;
		int			lanes = w - r0 < 8 ? w - r0 : 8;
		__m256i		store = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes),
											   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
		int64_t		k = 0;

		for (; k + 8 <= kc; k += 8)
		{
			__m256		r[8],
						t[8],
						s[8];

#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				r[i] = i < nrow ? _mm256_loadu_ps(src + (r0 + i) * ld + k) : _mm256_setzero_ps();
#pragma GCC unroll 8
			for (int i = 0; i < 8; i += 2)
			{
				t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
				t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
			}
#pragma GCC unroll 8
			for (int i = 0; i < 8; i += 4)
			{
				s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
				s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
				s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
				s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
			}
#pragma GCC unroll 8
			for (int i = 0; i < 4; i++)
			{
				__m256		lo = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20),
							hi = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);

				if (lanes == 8)
				{
					_mm256_storeu_ps(dst + (k + i) * w + r0, lo);
					_mm256_storeu_ps(dst + (k + i + 4) * w + r0, hi);
				}
				else
				{
					_mm256_maskstore_ps(dst + (k + i) * w + r0, store, lo);
					_mm256_maskstore_ps(dst + (k + i + 4) * w + r0, store, hi);
				}
			}
		}
		for (; k < kc; k++)
			for (int i = 0; i < lanes; i++)
				dst[k * w + r0 + i] = i < nrow ? src[(r0 + i) * ld + k] : 0.0f;
	}
}

const OnnxGemmKernel onnx_gemm_kernel_avx2 = {
	"avx2+fma 6x16", ONNX_GEMM_ISA_AVX2, GEMM_MR, GEMM_NR, 256, 168, micro_avx2,
	onnx_gemm_pack_t_avx2
};

#else							/* not x86: never chosen */

void
onnx_gemm_pack_t_avx2(float *dst, int w, const float *src, int64_t ld, int rows, int64_t kc)
{
	onnx_gemm_pack_t_c(dst, w, src, ld, rows, kc);
}

const OnnxGemmKernel onnx_gemm_kernel_avx2 = {
	"avx2+fma (not built)", ONNX_GEMM_ISA_AVX2, 1, 1, 1, 1, NULL, NULL
};

#endif
