/*-------------------------------------------------------------------------
 *
 * conv_simd.c
 *	  Row moves and prepared rows for the direct convolution kernels (see
 *	  conv_simd.h).
 *
 *-------------------------------------------------------------------------
 */
#include "conv_simd.h"

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

static void
axpy_c(float *restrict y, const float *restrict x, float a, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		y[i] += a * x[i];
}

#ifdef CONV_X86

/* ---- AVX-512 ---- */

CONV_AVX512 static void
axpy_avx512(float *y, const float *x, float a, int64_t n)
{
	__m512		va = _mm512_set1_ps(a);
	int64_t		i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);

		_mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i),
														_mm512_maskz_loadu_ps(m, y + i)));
	}
}

CONV_AVX512 static void
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

CONV_AVX512 static void
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

CONV_AVX512 static void
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

CONV_AVX2 static void
axpy_avx2(float *y, const float *x, float a, int64_t n)
{
	__m256		va = _mm256_set1_ps(a);
	int64_t		i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] += a * x[i];
}

CONV_AVX2 static void
copy_avx2(float *dst, const float *src, int64_t n)
{
	int64_t		i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
	for (; i < n; i++)
		dst[i] = src[i];
}

CONV_AVX2 static void
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

CONV_AVX2 static void
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
#endif							/* CONV_X86 */

static const ConvVec vec_c = {copy_c, deinterleave2_c, interleave2_c, axpy_c};
#ifdef CONV_X86
static const ConvVec vec_avx2 = {copy_avx2, deinterleave2_avx2, interleave2_avx2, axpy_avx2};
static const ConvVec vec_avx512 = {copy_avx512, deinterleave2_avx512, interleave2_avx512,
axpy_avx512};
#endif

const ConvVec *
onnx_conv_vec(int level)
{
#ifdef CONV_X86
	if (level == ONNX_VEC_AVX512)
		return &vec_avx512;
	if (level == ONNX_VEC_AVX2)
		return &vec_avx2;
#endif
	return &vec_c;
}

/* ---- prepared rows ---- */

static inline int64_t
round_up(int64_t v, int64_t m)
{
	return (v + m - 1) / m * m;
}

/* Valid range [lo, hi) of phase ph: the i < Lp with 0 <= i*s_w + ph - p_w < in_w. */
static void
phase_range(const ConvRows *p, int64_t ph, int64_t *lo, int64_t *hi)
{
	*lo = p->v.p_w > ph ? (p->v.p_w - ph + p->v.s_w - 1) / p->v.s_w : 0;
	*hi = (p->v.in_w + p->v.p_w - ph + p->v.s_w - 1) / p->v.s_w;
	if (*lo > p->Lp)
		*lo = p->Lp;
	if (*hi > p->Lp)
		*hi = p->Lp;
	if (*hi < *lo)
		*hi = *lo;
}

bool
onnx_conv_rows_plan(const ConvGeom *g, int vw, ConvRows *p)
{
	int64_t		step,
				nv;

	if (g->nsp < 1 || g->nsp > 2 || g->out_size == 0)
		return false;
	cpq_geom_2d(g, &p->v);
	/* every value below then stays far from the int64 limits */
	if (p->v.out_w > ((int64_t) 1 << 30) || p->v.out_h > ((int64_t) 1 << 30) ||
		p->v.k_w > ((int64_t) 1 << 20) || p->v.k_h > ((int64_t) 1 << 20) ||
		p->v.d_w > ((int64_t) 1 << 20) || p->v.d_h > ((int64_t) 1 << 20) ||
		p->v.s_w > CONV_ROWS_MAX_STRIDE || p->v.s_h > ((int64_t) 1 << 20))
		return false;
	nv = (p->v.out_w + vw - 1) / vw;
	step = (int64_t) vw * (nv < 4 ? nv : 4);
	p->Lp = round_up(round_up(p->v.out_w, step) + (p->v.k_w - 1) * p->v.d_w / p->v.s_w + 1, 16);
	p->rowlen = p->v.s_w * p->Lp;
	p->Hp = (p->v.out_h - 1) * p->v.s_h + (p->v.k_h - 1) * p->v.d_h + 1;
	for (int64_t ph = 0; ph < p->v.s_w; ph++)
		phase_range(p, ph, &p->lo[ph], &p->hi[ph]);
	p->both_lo = p->both_hi = 0;
	if (p->v.s_w == 2)
	{
		p->both_lo = p->lo[0] > p->lo[1] ? p->lo[0] : p->lo[1];
		p->both_hi = p->hi[0] < p->hi[1] ? p->hi[0] : p->hi[1];
	}
	return true;
}

void
onnx_conv_rows_offsets(const ConvRows *p, int64_t *off)
{
	for (int64_t kw = 0; kw < p->v.k_w; kw++)
		off[kw] = (kw * p->v.d_w % p->v.s_w) * p->Lp + kw * p->v.d_w / p->v.s_w;
}

void
onnx_conv_rows_prepare(const ConvRows *p, const ConvVec *k, const float *xr, float *dst)
{
	if (p->v.s_w == 1)
	{
		k->copy(dst + p->lo[0], xr + p->lo[0] - p->v.p_w, p->hi[0] - p->lo[0]);
		return;
	}
	if (p->v.s_w == 2 && p->both_hi > p->both_lo)
	{
		/* both phases valid on [both_lo, both_hi): one deinterleave, edges one by one */
		k->deinterleave2(xr + 2 * p->both_lo - p->v.p_w, dst + p->both_lo, dst + p->Lp + p->both_lo,
						 p->both_hi - p->both_lo);
		for (int64_t ph = 0; ph < 2; ph++)
		{
			float	   *d = dst + ph * p->Lp;
			const float *src = xr + ph - p->v.p_w;

			for (int64_t i = p->lo[ph]; i < p->both_lo; i++)
				d[i] = src[i * 2];
			for (int64_t i = p->both_hi; i < p->hi[ph]; i++)
				d[i] = src[i * 2];
		}
		return;
	}
	for (int64_t ph = 0; ph < p->v.s_w; ph++)
	{
		float	   *d = dst + ph * p->Lp;
		const float *src = xr + ph - p->v.p_w;

		for (int64_t i = p->lo[ph]; i < p->hi[ph]; i++)
			d[i] = src[i * p->v.s_w];
	}
}
