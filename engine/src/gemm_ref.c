/*-------------------------------------------------------------------------
 *
 * gemm_ref.c
 *	  Portable C microkernel of the engine's SGEMM (see gemm.h): a tile of
 *	  4 rows x 16 columns accumulated in a local array the compiler may
 *	  vectorise for the baseline instruction set; the transposing pack and
 *	  the few-row kernel as plain loops.  Used on CPUs without
 *	  AVX2, and forced by tests so the driver's portable path is checked.
 *
 *-------------------------------------------------------------------------
 */
#include "gemm.h"

#define GEMM_MR 4
#define GEMM_NR 16

/* C (m,n) = alpha * Ap (m,kc) @ Bp (kc,16) + beta * C. */
static void
micro_ref(int64_t kc, const float *a, const float *b, int64_t ldb,
		  float *c, int64_t ldc, int m, int n, float alpha, float beta)
{
	float		acc[GEMM_MR][GEMM_NR] = {{0}};

	for (int64_t k = 0; k < kc; k++)
	{
		for (int i = 0; i < m; i++)
		{
			float		ai = a[i];

			for (int j = 0; j < GEMM_NR; j++)
				acc[i][j] += ai * b[j];
		}
		a += GEMM_MR;
		b += ldb;
	}
	for (int i = 0; i < m; i++)
	{
		float	   *cr = c + i * ldc;

		for (int j = 0; j < n; j++)
			cr[j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * cr[j];
	}
}

void
onnx_gemm_pack_t_c(float *dst, int w, const float *src, int64_t ld, int rows, int64_t kc)
{
	for (int r = 0; r < rows; r++)
	{
		const float *s = src + r * ld;

		for (int64_t k = 0; k < kc; k++)
			dst[k * w + r] = s[k];
	}
	for (int r = rows; r < w; r++)
		for (int64_t k = 0; k < kc; k++)
			dst[k * w + r] = 0.0f;
}

/* The few-row kernel of gemm.h: rows of B, or dot products with rows of B^T. */
static void
gemv_ref(int m, int64_t kb, const float *a, bool trans_b, const float *B, int64_t ldb,
		 float *C, int64_t ldc, int64_t N)
{
	for (int i = 0; i < m; i++)
	{
		const float *ai = a + i * kb;
		float	   *ci = C + i * ldc;

		if (!trans_b)
			for (int64_t k = 0; k < kb; k++)
				for (int64_t j = 0; j < N; j++)
					ci[j] += ai[k] * B[k * ldb + j];
		else
			for (int64_t j = 0; j < N; j++)
			{
				float		s = 0.0f;

				for (int64_t k = 0; k < kb; k++)
					s += ai[k] * B[j * ldb + k];
				ci[j] += s;
			}
	}
}

const OnnxGemmKernel onnx_gemm_kernel_ref = {
	"portable C 4x16", ONNX_GEMM_ISA_REF, GEMM_MR, GEMM_NR, 256, 64, micro_ref,
	onnx_gemm_pack_t_c, gemv_ref
};
