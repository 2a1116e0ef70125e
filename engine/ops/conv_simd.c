/*-------------------------------------------------------------------------
 *
 * conv_simd.c
 *	  Row moves for the convolution kernels (see conv_simd.h).
 *
 *-------------------------------------------------------------------------
 */
#include "conv_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CV_X86 1
#define CV_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define CV_AVX2 __attribute__((target("avx2,fma")))
#endif

/* ---- portable C ---- */

static void
copy_c(float *dst, const float *src, int64_t n)
{
	memcpy(dst, src, sizeof(float) * (size_t) n);
}

static void
deinterleave2_c(const float *src, float *even, float *odd, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
	{
		even[i] = src[2 * i];
		odd[i] = src[2 * i + 1];
	}
}

static void
interleave2_c(float *dst, const float *a, const float *b, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
	{
		dst[2 * i] = a[i];
		dst[2 * i + 1] = b[i];
	}
}

#ifdef CV_X86

/* ---- AVX-512 ---- */

CV_AVX512 static void
copy_avx512(float *dst, const float *src, int64_t n)
{
	int64_t		i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);

		_mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
	}
}

CV_AVX512 static void
deinterleave2_avx512(const float *src, float *even, float *odd, int64_t n)
{
	const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
	const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
	int64_t		i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m512		a = _mm512_loadu_ps(src + 2 * i),
					b = _mm512_loadu_ps(src + 2 * i + 16);

		_mm512_storeu_ps(even + i, _mm512_permutex2var_ps(a, ie, b));
		_mm512_storeu_ps(odd + i, _mm512_permutex2var_ps(a, io, b));
	}
	deinterleave2_c(src + 2 * i, even + i, odd + i, n - i);
}

CV_AVX512 static void
interleave2_avx512(float *dst, const float *a, const float *b, int64_t n)
{
	const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
	const __m512i ihi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
	int64_t		i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m512		va = _mm512_loadu_ps(a + i),
					vb = _mm512_loadu_ps(b + i);

		_mm512_storeu_ps(dst + 2 * i, _mm512_permutex2var_ps(va, ilo, vb));
		_mm512_storeu_ps(dst + 2 * i + 16, _mm512_permutex2var_ps(va, ihi, vb));
	}
	interleave2_c(dst + 2 * i, a + i, b + i, n - i);
}

/* ---- AVX2 ---- */

CV_AVX2 static void
copy_avx2(float *dst, const float *src, int64_t n)
{
	int64_t		i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
	for (; i < n; i++)
		dst[i] = src[i];
}

CV_AVX2 static void
deinterleave2_avx2(const float *src, float *even, float *odd, int64_t n)
{
	int64_t		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		a = _mm256_loadu_ps(src + 2 * i),
					b = _mm256_loadu_ps(src + 2 * i + 8);
		/* [a0 a2 b0 b2 | a4 a6 b4 b6] -> [a0 a2 a4 a6 b0 b2 b4 b6] */
		__m256		e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
					o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));

		_mm256_storeu_ps(even + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
		_mm256_storeu_ps(odd + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8)));
	}
	deinterleave2_c(src + 2 * i, even + i, odd + i, n - i);
}

CV_AVX2 static void
interleave2_avx2(float *dst, const float *a, const float *b, int64_t n)
{
	int64_t		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		va = _mm256_loadu_ps(a + i),
					vb = _mm256_loadu_ps(b + i);
		/* [a0 b0 a1 b1 | a4 b4 a5 b5], [a2 b2 a3 b3 | a6 b6 a7 b7] */
		__m256		lo = _mm256_unpacklo_ps(va, vb),
					hi = _mm256_unpackhi_ps(va, vb);

		_mm256_storeu_ps(dst + 2 * i, _mm256_permute2f128_ps(lo, hi, 0x20));
		_mm256_storeu_ps(dst + 2 * i + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
	}
	interleave2_c(dst + 2 * i, a + i, b + i, n - i);
}
#endif							/* CV_X86 */

static const ConvVec vec_c = {copy_c, deinterleave2_c, interleave2_c};
#ifdef CV_X86
static const ConvVec vec_avx2 = {copy_avx2, deinterleave2_avx2, interleave2_avx2};
static const ConvVec vec_avx512 = {copy_avx512, deinterleave2_avx512, interleave2_avx512};
#endif

const ConvVec *
onnx_conv_vec(int level)
{
#ifdef CV_X86
	if (level == ONNX_SIMD_AVX512)
		return &vec_avx512;
	if (level == ONNX_SIMD_AVX2)
		return &vec_avx2;
#endif
	return &vec_c;
}
