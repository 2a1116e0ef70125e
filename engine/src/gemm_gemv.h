/*
 * gemm_gemv.h
 *	  The few-row kernels shared by the SIMD instruction sets (gemm_avx2.c,
 *	  gemm_avx512.c), included after gemm_tile.h's GT_ macros plus
 *	  GT_STORE(p, v) and GT_HSUM(v) (sum of the lanes).  Contract: gemm.h's
 *	  OnnxGemmGemv.  B is read in memory order, once: rows of B (not
 *	  transposed) four at a time into a chunk of C rows kept in L1, or
 *	  rows of B^T four at a time as dot products with the A rows.
 */

/* C chunk columns per pass over a block of B rows: m x 1024 floats stay in L1. */
#define GV_JC 1024

/* C[:, j0..j0+jn) (+)= a (m,kb) @ B (kb, jn) for B (kb rows, ldb), B not transposed. */
GT_INLINE GT_TARGET void
gv_nn(const int m, int64_t kb, const float *a, const float *B, int64_t ldb,
	  float *C, int64_t ldc, int64_t jn)
{
	int64_t		k = 0;

	for (; k + 4 <= kb; k += 4)
	{
		const float *b0 = B + k * ldb,
				   *b1 = b0 + ldb,
				   *b2 = b1 + ldb,
				   *b3 = b2 + ldb;
		GT_VEC		av[4][4];
		int64_t		j = 0;

#pragma GCC unroll 4
		for (int i = 0; i < m; i++)
#pragma GCC unroll 4
			for (int u = 0; u < 4; u++)
				av[i][u] = GT_BCAST(a + i * kb + k + u);
		for (; j + GT_W <= jn; j += GT_W)
		{
			GT_VEC		v0 = GT_LOAD(b0 + j),
						v1 = GT_LOAD(b1 + j),
						v2 = GT_LOAD(b2 + j),
						v3 = GT_LOAD(b3 + j);

#pragma GCC unroll 4
			for (int i = 0; i < m; i++)
			{
				GT_VEC		c = GT_LOAD(C + i * ldc + j);

				c = GT_FMA(av[i][0], v0, c);
				c = GT_FMA(av[i][1], v1, c);
				c = GT_FMA(av[i][2], v2, c);
				c = GT_FMA(av[i][3], v3, c);
				GT_STORE(C + i * ldc + j, c);
			}
		}
		for (; j < jn; j++)
			for (int i = 0; i < m; i++)
				C[i * ldc + j] += a[i * kb + k] * b0[j] + a[i * kb + k + 1] * b1[j] +
					a[i * kb + k + 2] * b2[j] + a[i * kb + k + 3] * b3[j];
	}
	for (; k < kb; k++)
		for (int i = 0; i < m; i++)
			for (int64_t j = 0; j < jn; j++)
				C[i * ldc + j] += a[i * kb + k] * B[k * ldb + j];
}

/* C[:, j] (+)= a (m,kb) . row j of Bt (N rows of kb, ldb), for 4 rows of Bt at once. */
GT_INLINE GT_TARGET void
gv_nt(const int m, int64_t kb, const float *a, const float *Bt, int64_t ldb,
	  float *C, int64_t ldc, int64_t N)
{
	int64_t		j = 0;

	for (; j < N; j += 4)
	{
		int			rows = N - j < 4 ? (int) (N - j) : 4;
		const float *b[4];
		GT_VEC		acc[4][4];
		int64_t		k = 0;

		/* a short last group repeats its first row: computed, not stored */
#pragma GCC unroll 4
		for (int r = 0; r < 4; r++)
			b[r] = Bt + (j + (r < rows ? r : 0)) * ldb;
#pragma GCC unroll 4
		for (int r = 0; r < 4; r++)
#pragma GCC unroll 4
			for (int i = 0; i < m; i++)
				acc[r][i] = GT_ZERO();
		for (; k + GT_W <= kb; k += GT_W)
		{
			GT_VEC		bv[4];

#pragma GCC unroll 4
			for (int r = 0; r < 4; r++)
				bv[r] = GT_LOAD(b[r] + k);
#pragma GCC unroll 4
			for (int i = 0; i < m; i++)
			{
				GT_VEC		x = GT_LOAD(a + i * kb + k);

#pragma GCC unroll 4
				for (int r = 0; r < 4; r++)
					acc[r][i] = GT_FMA(x, bv[r], acc[r][i]);
			}
		}
		for (int r = 0; r < rows; r++)
			for (int i = 0; i < m; i++)
			{
				float		s = GT_HSUM(acc[r][i]);

				for (int64_t kk = k; kk < kb; kk++)
					s += a[i * kb + kk] * b[r][kk];
				C[i * ldc + j + r] += s;
			}
	}
}

/* OnnxGemmGemv: one instance per row count. */
static GT_TARGET void
GV_NAME(int m, int64_t kb, const float *a, bool trans_b, const float *B, int64_t ldb,
		float *C, int64_t ldc, int64_t N)
{
	for (int64_t j0 = 0; j0 < N; j0 += GV_JC)
	{
		int64_t		jn = N - j0 < GV_JC ? N - j0 : GV_JC;

#define GV_ROWS(r) case r: \
		if (trans_b) gv_nt(r, kb, a, B + j0 * ldb, ldb, C + j0, ldc, jn); \
		else gv_nn(r, kb, a, B + j0, ldb, C + j0, ldc, jn); \
		break;
		switch (m)
		{
				GV_ROWS(1) GV_ROWS(2) GV_ROWS(3) GV_ROWS(4)
			default:
				break;
		}
#undef GV_ROWS
	}
}
