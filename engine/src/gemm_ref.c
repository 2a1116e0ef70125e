/*-------------------------------------------------------------------------
 *
 * gemm_ref.c
 *	  Portable C microkernel of the engine's SGEMM (see gemm.h): a tile of
 *	  4 rows x 16 columns accumulated in a local array the compiler may
 *	  vectorise for the baseline instruction set; the transposing pack as
 *	  a plain loop.  Used on CPUs without
 *	  AVX2, and forced by tests so the driver's portable path is checked.
 *
 *-------------------------------------------------------------------------
 */
#include "gemm.h"

#define GEMM_MR 4
#define GEMM_NR 16

/* C (m,n) = alpha * A (m,kc) @ Bp (kc,16) + beta * C, then e's bias and Relu. */
static void
micro_ref(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb,
		  float *c, int64_t ldc, int m, int n, float alpha, float beta,
		  const OnnxGemmEdge *e)
{
	float		acc[GEMM_MR][GEMM_NR] = {{0}};
	int64_t		rs = lda == 0 ? 1 : lda,	/* A (i,k) at a[i*rs + k*ks] */
				ks = lda == 0 ? GEMM_MR : 1;

	for (int64_t k = 0; k < kc; k++)
	{
		for (int i = 0; i < m; i++)
		{
			float		ai = a[i * rs];

			for (int j = 0; j < GEMM_NR; j++)
				acc[i][j] += ai * b[j];
		}
		a += ks;
		b += ldb;
	}
	for (int i = 0; i < m; i++)
	{
		float	   *cr = c + i * ldc;

		for (int j = 0; j < n; j++)
		{
			float		r = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * cr[j];

			if (e->bias)
				r += e->bias[j];
			cr[j] = e->relu && r < 0.0f ? 0.0f : r;
		}
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

const OnnxGemmKernel onnx_gemm_kernel_ref = {
	"portable C 4x16", ONNX_GEMM_ISA_REF, GEMM_MR, GEMM_NR, 256, 64, micro_ref,
	onnx_gemm_pack_t_c
};
