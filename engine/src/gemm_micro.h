/*-------------------------------------------------------------------------
 *
 * gemm_micro.h
 *	  The microkernel of gemm.h over a SIMD file's tile() (gemm_avx2.c,
 *	  gemm_avx512.c), included once per instruction set after tile() and
 *	  gemm_tile.h's parameters, with GT_MICRO naming the function:
 *
 *		C (m, n) = alpha * Ap (m, kc) @ Bp (kc, n) + beta * C [+ bias, Relu]
 *
 *	  one instance of tile per row count (1 .. GT_MR) and width: one vector
 *	  when n <= GT_W (a narrow output's last panel), else GT_NV.
 *
 *-------------------------------------------------------------------------
 */

#define GT_ROW(r, nv) \
	case r: tile(r, nv, kc, a, lda, b, ldb, c, ldc, n, alpha, beta, e); break;
#if GT_MR == 6
#define GT_ROWS(nv) GT_ROW(1, nv) GT_ROW(2, nv) GT_ROW(3, nv) GT_ROW(4, nv) GT_ROW(5, nv) \
	GT_ROW(6, nv)
#elif GT_MR == 14
#define GT_ROWS(nv) GT_ROW(1, nv) GT_ROW(2, nv) GT_ROW(3, nv) GT_ROW(4, nv) GT_ROW(5, nv) \
	GT_ROW(6, nv) GT_ROW(7, nv) GT_ROW(8, nv) GT_ROW(9, nv) GT_ROW(10, nv) GT_ROW(11, nv) \
	GT_ROW(12, nv) GT_ROW(13, nv) GT_ROW(14, nv)
#else
#error "gemm_micro.h: no row list for this GT_MR"
#endif

static GT_TARGET void
GT_MICRO(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb,
		 float *c, int64_t ldc, int m, int n, float alpha, float beta,
		 const OnnxGemmEdge *e)
{
	if (n <= GT_W)
		switch (m)
		{
				GT_ROWS(1)
			default:
				break;
		}
	else
		switch (m)
		{
				GT_ROWS(GT_NV)
			default:
				break;
		}
}

#undef GT_ROWS
#undef GT_ROW
