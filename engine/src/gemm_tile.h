/*
 * gemm_tile.h
 *	  The accumulation loop shared by the SIMD microkernels (gemm_avx2.c,
 *	  gemm_avx512.c), included once per instruction set after defining:
 *
 *		GT_VEC			vector type			GT_W	floats per vector
 *		GT_MR, GT_NV	rows, vectors per row of the register tile
 *		GT_TARGET		the target attribute
 *		GT_ZERO(), GT_LOAD(p), GT_BCAST(p), GT_FMA(a, b, c) (a*b+c)
 *
 *	  acc (m, nv vectors) = Ap (m,kc) @ Bp (kc, GT_W*nv), nv <= GT_NV, where
 *	  Ap is a packed A panel (a[k*GT_MR + i]) and Bp row k starts at
 *	  b + k*ldb.  A tile of few columns (nv < GT_NV: the last columns of a
 *	  narrow output) loads and multiplies only the vectors it needs.
 *
 *	  Row invariance: every element is one fused multiply-add chain over k
 *	  in order, from zero, whatever the tile's row count, so a row of C
 *	  gets the same bits alone (M = 1) as in any block of rows; scoring a
 *	  row by itself and in a batch agree bit for bit.  (Partial sums over
 *	  interleaved k would hide the FMA latency for few rows, but change
 *	  the rounding with the row count.)
 */

#define GT_INLINE static inline __attribute__((always_inline))

/*
 * Rows of B ahead that the loop prefetches: the weights of a Conv or
 * MatMul with few rows (batch 1) stream from memory once per run, and
 * the hardware prefetcher stops at every 4 KiB page.  Prefetches never
 * fault, so rows past the panel's end are harmless.
 */
#define GT_PF 16

/*
 * acc += A column k (m values, a[i*rs]) x B row k (nv vectors), for one
 * k; m and nv (<= GT_NV) are constants in every instance.
 */
GT_INLINE GT_TARGET void
gt_step(const int m, const int nv, const float *a, int64_t rs, const float *b,
		GT_VEC acc[GT_MR][GT_NV])
{
	GT_VEC		bv[GT_NV];

#pragma GCC unroll 4
	for (int v = 0; v < nv; v++)
		bv[v] = GT_LOAD(b + GT_W * v);
#pragma GCC unroll 16
	for (int i = 0; i < m; i++)
	{
		GT_VEC		ai = GT_BCAST(a + i * rs);

#pragma GCC unroll 4
		for (int v = 0; v < nv; v++)
			acc[i][v] = GT_FMA(ai, bv[v], acc[i][v]);
	}
}

/*
 * acc = A @ Bp over kc steps, A element (i,k) at a[i*rs + k*ks] (a packed
 * panel: rs 1, ks GT_MR; rows of a row-major A read in place: rs lda,
 * ks 1), prefetching the C tile (m rows, ldc) the epilogue will update,
 * and one line of pf (the next B panel) into L2 per step for the first
 * pf_lines steps; m, nv, and for a packed panel rs and ks, are constants
 * in every instance.
 */
GT_INLINE GT_TARGET void
gt_accumulate(const int m, const int nv, int64_t kc, const float *a, int64_t rs, int64_t ks,
			  const float *b, int64_t ldb,
			  const float *c, int64_t ldc, const float *pf, int64_t pf_lines,
			  GT_VEC acc[GT_MR][GT_NV])
{
#pragma GCC unroll 16
	for (int i = 0; i < m; i++)
	{
		_mm_prefetch((const char *) (c + i * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *) (c + i * ldc + GT_W * nv - 1), _MM_HINT_T0);
	}
#pragma GCC unroll 16
	for (int i = 0; i < m; i++)
#pragma GCC unroll 4
		for (int v = 0; v < nv; v++)
			acc[i][v] = GT_ZERO();
#pragma GCC unroll 4
	for (int64_t k = 0; k < kc; k++)
	{
		/* B row k + GT_PF: its lines are in flight before the row is read */
		_mm_prefetch((const char *) (b + GT_PF * ldb), _MM_HINT_T0);
		_mm_prefetch((const char *) (b + GT_PF * ldb + GT_W * nv - 1), _MM_HINT_T0);
		if (k < pf_lines)
			_mm_prefetch((const char *) (pf + 16 * k), _MM_HINT_T1);
		gt_step(m, nv, a, rs, b, acc);
		a += ks;
		b += ldb;
	}
}
