/*-------------------------------------------------------------------------
 *
 * nbits_gemm.c
 *	  MatMulNBits' product on 4-bit block-quantized weights kept packed:
 *	  Y (M, N) += A (M, K) @ Wᵀ, W (N, K) dequantized block by block inside
 *	  the product, so the weights stay K * N / 2 bytes (the initializer's
 *	  codes, read in place, plus 4 bytes a block for -zero point * scale)
 *	  instead of a 4 * K * N-byte float32 copy.
 *
 *	  Per row m and column n, with blocks j of bs values along K:
 *	      y = Σ_j scale_j Σ_i a_i q_i + Σ_j zs_j Σ_i a_i,  zs_j = -zp_j scale_j
 *	  The block sums of A are computed once per row (A padded with zeros to
 *	  whole blocks, so the codes of a ragged last block meet zeros).  The
 *	  inner sum runs in AVX-512 (16 codes a step: 8 bytes widened to 16
 *	  int32, converted, FMA), AVX2+FMA (two halves of 8) or portable C,
 *	  chosen by onnx_vec_isa().  The sums are reassociated float32 ones:
 *	  the error stays within K * 2^-23 * Σ_i |a_i w_i|, as any float GEMM.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "nbits_gemm.h"
#include "parallel.h"
#include "vecmath.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NBITS_X86 1
#endif

/* Σ_j s[j] Σ_i a[j * bs + i] q_ji over kb blocks of bs codes, portable C. */
static float
dot4_portable(const uint8_t *q, const float *s, const float *a, int64_t kb, int64_t bs)
{
	float		acc = 0.0f;

	for (int64_t j = 0; j < kb; j++)
	{
		float		t = 0.0f;

		for (int64_t i = 0; i < bs / 2; i++)
			t += a[2 * i] * (float) (q[i] & 15) + a[2 * i + 1] * (float) (q[i] >> 4);
		acc += t * s[j];
		q += bs / 2;
		a += bs;
	}
	return acc;
}

/* Rows 0 .. nr - 1 (lda apart) of dot4_portable: out[r]. */
static void
dot4x_portable(const uint8_t *q, const float *s, const float *a, int64_t lda, int nr, int64_t kb, int64_t bs,
			   float *out)
{
	for (int r = 0; r < nr; r++)
		out[r] = dot4_portable(q, s, a + r * lda, kb, bs);
}

#ifdef NBITS_X86
/* 16 codes from 8 bytes, in order (low nibble first). */
__attribute__((target("avx2")))
static inline __m128i
codes16(const uint8_t *q)
{
	__m128i		b8 = _mm_loadl_epi64((const __m128i *) q),
				m = _mm_set1_epi8(15);

	return _mm_unpacklo_epi8(_mm_and_si128(b8, m), _mm_and_si128(_mm_srli_epi16(b8, 4), m));
}

/* dot4_portable in AVX2+FMA. */
__attribute__((target("avx2,fma")))
static float
dot4_avx2(const uint8_t *q, const float *s, const float *a, int64_t kb, int64_t bs)
{
	__m256		acc = _mm256_setzero_ps();
	__m128		r;

	for (int64_t j = 0; j < kb; j++)
	{
		__m256		t = _mm256_setzero_ps();

		for (int64_t i = 0; i < bs; i += 16)
		{
			__m128i		c = codes16(q + i / 2);
			__m256		w0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c)),
						w1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c, 8)));

			t = _mm256_fmadd_ps(w0, _mm256_loadu_ps(a + i), t);
			t = _mm256_fmadd_ps(w1, _mm256_loadu_ps(a + i + 8), t);
		}
		acc = _mm256_fmadd_ps(t, _mm256_set1_ps(s[j]), acc);
		q += bs / 2;
		a += bs;
	}
	r = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
	r = _mm_add_ps(r, _mm_movehl_ps(r, r));
	r = _mm_add_ss(r, _mm_movehdup_ps(r));
	return _mm_cvtss_f32(r);
}

/* dot4_portable in AVX-512: two blocks in flight to hide the FMA latency. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
static float
dot4_avx512(const uint8_t *q, const float *s, const float *a, int64_t kb, int64_t bs)
{
	__m512		acc0 = _mm512_setzero_ps(),
				acc1 = _mm512_setzero_ps();
	int64_t		j = 0;

	for (; j + 1 < kb; j += 2)
	{
		__m512		t0 = _mm512_setzero_ps(),
					t1 = _mm512_setzero_ps();

		for (int64_t i = 0; i < bs; i += 16)
		{
			t0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(codes16(q + i / 2))),
								 _mm512_loadu_ps(a + i), t0);
			t1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(codes16(q + bs / 2 + i / 2))),
								 _mm512_loadu_ps(a + bs + i), t1);
		}
		acc0 = _mm512_fmadd_ps(t0, _mm512_set1_ps(s[j]), acc0);
		acc1 = _mm512_fmadd_ps(t1, _mm512_set1_ps(s[j + 1]), acc1);
		q += bs;
		a += 2 * bs;
	}
	if (j < kb)
	{
		__m512		t0 = _mm512_setzero_ps();

		for (int64_t i = 0; i < bs; i += 16)
			t0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(codes16(q + i / 2))),
								 _mm512_loadu_ps(a + i), t0);
		acc0 = _mm512_fmadd_ps(t0, _mm512_set1_ps(s[j]), acc0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/*
 * Rows 0 .. nr - 1 (nr <= 4, lda apart) of dot4 at once, each block's
 * codes widened once for all rows: out[r] = Σ_j s[j] Σ_i a_r[j * bs + i] q_ji.
 */
__attribute__((target("avx2,fma")))
static void
dot4x_avx2(const uint8_t *q, const float *s, const float *a, int64_t lda, int nr, int64_t kb, int64_t bs,
		   float *out)
{
	__m256		acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};

	for (int64_t j = 0; j < kb; j++)
	{
		__m256		t[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};

		for (int64_t i = 0; i < bs; i += 16)
		{
			__m128i		c = codes16(q + i / 2);
			__m256		w0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c)),
						w1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c, 8)));

			for (int r = 0; r < nr; r++)
			{
				t[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(a + r * lda + i), t[r]);
				t[r] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(a + r * lda + i + 8), t[r]);
			}
		}
		for (int r = 0; r < nr; r++)
			acc[r] = _mm256_fmadd_ps(t[r], _mm256_set1_ps(s[j]), acc[r]);
		q += bs / 2;
		a += bs;
	}
	for (int r = 0; r < nr; r++)
	{
		__m128		x = _mm_add_ps(_mm256_castps256_ps128(acc[r]), _mm256_extractf128_ps(acc[r], 1));

		x = _mm_add_ps(x, _mm_movehl_ps(x, x));
		x = _mm_add_ss(x, _mm_movehdup_ps(x));
		out[r] = _mm_cvtss_f32(x);
	}
}

/* dot4x_avx2 in AVX-512. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
static void
dot4x_avx512(const uint8_t *q, const float *s, const float *a, int64_t lda, int nr, int64_t kb, int64_t bs,
			 float *out)
{
	__m512		acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};

	for (int64_t j = 0; j < kb; j++)
	{
		__m512		t[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};

		for (int64_t i = 0; i < bs; i += 16)
		{
			__m512		w = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(codes16(q + i / 2)));

			for (int r = 0; r < nr; r++)
				t[r] = _mm512_fmadd_ps(w, _mm512_loadu_ps(a + r * lda + i), t[r]);
		}
		for (int r = 0; r < nr; r++)
			acc[r] = _mm512_fmadd_ps(t[r], _mm512_set1_ps(s[j]), acc[r]);
		q += bs / 2;
		a += bs;
	}
	for (int r = 0; r < nr; r++)
		out[r] = _mm512_reduce_add_ps(acc[r]);
}
#endif

typedef float (*Dot4Fn) (const uint8_t *q, const float *s, const float *a, int64_t kb, int64_t bs);
typedef void (*Dot4xFn) (const uint8_t *q, const float *s, const float *a, int64_t lda, int nr, int64_t kb,
						 int64_t bs, float *out);

/* The columns n0 .. n0 + 63 of every row: one task of onnx_nbits4_gemm. */
typedef struct Nbits4Job
{
	const OnnxNBits4 *w;
	const float *apad;			/* (M, kb * bs) */
	const float *asum;			/* (M, kb) */
	int64_t		M;
	float	   *y;
	Dot4Fn		dot;			/* one row */
	Dot4xFn		dotx;			/* up to 4 rows */
} Nbits4Job;

#define NBITS_COLS 64

static void
nbits4_task(void *arg, int64_t task)
{
	const Nbits4Job *jb = arg;
	const OnnxNBits4 *w = jb->w;
	int64_t		n1 = (task + 1) * NBITS_COLS < w->N ? (task + 1) * NBITS_COLS : w->N;

	for (int64_t n = task * NBITS_COLS; n < n1; n++)
	{
		const uint8_t *q = w->codes + n * w->kb * (w->bs / 2);
		const float *s = w->scale + n * w->kb,
				   *zs = w->zs + n * w->kb;

		for (int64_t m0 = 0; m0 < jb->M; m0 += 4)
		{
			int			nr = jb->M - m0 < 4 ? (int) (jb->M - m0) : 4;
			float		d[4];

			if (nr == 1)
				d[0] = jb->dot(q, s, jb->apad + m0 * w->kb * w->bs, w->kb, w->bs);
			else
				jb->dotx(q, s, jb->apad + m0 * w->kb * w->bs, w->kb * w->bs, nr, w->kb, w->bs, d);
			for (int r = 0; r < nr; r++)
			{
				const float *as = jb->asum + (m0 + r) * w->kb;
				float		z = 0.0f;

				for (int64_t j = 0; j < w->kb; j++)
					z += zs[j] * as[j];
				jb->y[(m0 + r) * w->N + n] += d[r] + z;
			}
		}
	}
}

void
onnx_nbits4_gemm(const OnnxNBits4 *w, const float *a, int64_t M, float *y, float *scratch, int threads)
{
	int64_t		kp = w->kb * w->bs;
	float	   *apad = scratch,
			   *asum = scratch + M * kp;
	Nbits4Job	jb = {w, apad, asum, M, y, dot4_portable, dot4x_portable};

#ifdef NBITS_X86
	if (onnx_vec_isa() == ONNX_VEC_AVX512)
	{
		jb.dot = dot4_avx512;
		jb.dotx = dot4x_avx512;
	}
	else if (onnx_vec_isa() == ONNX_VEC_AVX2)
	{
		jb.dot = dot4_avx2;
		jb.dotx = dot4x_avx2;
	}
#endif
	for (int64_t m = 0; m < M; m++)
	{
		memcpy(apad + m * kp, a + m * w->K, (size_t) w->K * sizeof(float));
		memset(apad + m * kp + w->K, 0, (size_t) (kp - w->K) * sizeof(float));
		for (int64_t j = 0; j < w->kb; j++)
		{
			float		t = 0.0f;

			for (int64_t i = 0; i < w->bs; i++)
				t += apad[m * kp + j * w->bs + i];
			asum[m * w->kb + j] = t;
		}
	}
	onnx_parallel_for(threads, (w->N + NBITS_COLS - 1) / NBITS_COLS, nbits4_task, &jb);
}

void
onnx_nbits4_dequant(const OnnxNBits4 *w, int64_t n0, int64_t rows, float *out)
{
	for (int64_t r = 0; r < rows; r++)
	{
		int64_t		n = n0 + r;
		const uint8_t *q = w->codes + n * w->kb * (w->bs / 2);
		float	   *o = out + r * w->K;

		for (int64_t j = 0; j < w->kb; j++)
		{
			float		s = w->scale[n * w->kb + j],
						z = w->zs[n * w->kb + j];
			int64_t		k0 = j * w->bs,
						len = w->K - k0 < w->bs ? w->K - k0 : w->bs;

			for (int64_t i = 0; i + 1 < len; i += 2)
			{
				uint8_t		v = q[(k0 + i) / 2];

				o[k0 + i] = (float) (v & 15) * s + z;
				o[k0 + i + 1] = (float) (v >> 4) * s + z;
			}
			if (len % 2)
				o[k0 + len - 1] = (float) (q[(k0 + len - 1) / 2] & 15) * s + z;
		}
	}
}
