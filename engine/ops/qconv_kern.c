/*-------------------------------------------------------------------------
 *
 * qconv_kern.c
 *	  The inner loops of the integer convolutions (qconv.c) that are not a
 *	  GEMM: requantization of the int32 products, the depthwise tap loop,
 *	  and byte transposes.  Plain C written so the compiler vectorizes it;
 *	  the file is compiled once per instruction-set level (portable,
 *	  -DQC_ISA_AVX2, -DQC_ISA_AVX512, see the Makefile) and qconv.c picks
 *	  the table of vecmath.h's level at run time (onnx_qconv_kern).
 *
 *	  Every loop is exact integer arithmetic except the requantization,
 *	  which is onnxruntime's: float32 product of the int32 sum and the
 *	  multiplier, round half to even, saturate (qmm_quant).
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "qconv_kern.h"
#include "qmatmul.h"

#if defined(QC_ISA_AVX512)
#define QC_TABLE onnx_qconv_kern_avx512
#elif defined(QC_ISA_AVX2)
#define QC_TABLE onnx_qconv_kern_avx2
#else
#define QC_TABLE onnx_qconv_kern_portable
#endif

#if (defined(QC_ISA_AVX512) || defined(QC_ISA_AVX2)) && !defined(__x86_64__)
#error "the AVX builds of qconv_kern.c are for x86-64"
#endif

#if defined(QC_ISA_AVX512) || defined(__SSSE3__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(QC_ISA_AVX512)
/*
 * 16 lanes of qmm_quant((float) (a + b) * m, yz, lo, hi) as bytes into
 * d under mask k: NaN to 0, clamped to [lo - yz, hi - yz], rounded to
 * nearest even by vcvtps2dq (the default rounding mode, as the magic
 * constant of qmm_quant), yz added; the value is in [lo, hi], so the
 * truncating vpmovdb keeps it exactly.
 */
static inline void
quant16(__mmask16 k, __m512i a, __m512i b, __m512 m, __m512 flo, __m512 fhi, __m512i zp, uint8_t *d)
{
	__m512		v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(a, b)), m);

	v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
	v = _mm512_min_ps(_mm512_max_ps(v, flo), fhi);
	_mm_mask_storeu_epi8(d, k, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), zp)));
}
#endif

/*
 * acc (P, mg) int32, rows lda apart -> q (P, mg) bytes:
 * q[p][j] = saturate(round((acc[p][j] + bias[j]) * mult[j]) + yz) in
 * [lo, hi] (bias NULL: 0); the bytes are int8 when lo < 0.  AVX-512:
 * 16 channels at a time, the last ones under a mask.
 */
static void
requant_rows(const int32_t *acc, int64_t P, int64_t mg, int64_t lda, const int32_t *bias,
			 const float *mult, int32_t yz, int32_t lo, int32_t hi, uint8_t *q)
{
#if defined(QC_ISA_AVX512)
	__m512		flo = _mm512_set1_ps((float) (lo - yz)),
				fhi = _mm512_set1_ps((float) (hi - yz));
	__m512i		zp = _mm512_set1_epi32(yz);

	for (int64_t j0 = 0; j0 < mg; j0 += 16)
	{
		__mmask16	k = mg - j0 >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << (mg - j0)) - 1);
		__m512i		b = bias ? _mm512_maskz_loadu_epi32(k, bias + j0) : _mm512_setzero_si512();
		__m512		m = _mm512_maskz_loadu_ps(k, mult + j0);

		for (int64_t p = 0; p < P; p++)
			quant16(k, _mm512_maskz_loadu_epi32(k, acc + p * lda + j0), b, m, flo, fhi, zp, q + p * mg + j0);
	}
#else
	for (int64_t p = 0; p < P; p++)
	{
		const int32_t *a = acc + p * lda;
		uint8_t    *d = q + p * mg;

		if (bias)
			for (int64_t j = 0; j < mg; j++)
				d[j] = (uint8_t) qmm_quant((float) (a[j] + bias[j]) * mult[j], yz, lo, hi);
		else
			for (int64_t j = 0; j < mg; j++)
				d[j] = (uint8_t) qmm_quant((float) a[j] * mult[j], yz, lo, hi);
	}
#endif
}

/*
 * out[o] = sum over taps t < kk of wv[t] * base[off[t] + o], o < n.
 * Blocks of 64 outputs stay in registers (AVX-512) or a small L1 buffer
 * across all taps, so out is written once.
 */
static void
dw_taps(const int32_t *base, const int64_t *off, const int32_t *wv, int64_t kk, int64_t n,
		int32_t *out)
{
	for (int64_t o0 = 0; o0 < n; o0 += 64)
	{
		int64_t		len = n - o0 < 64 ? n - o0 : 64;
#if defined(QC_ISA_AVX512)
		__mmask16	k[4];
		__m512i		a[4];

		for (int i = 0; i < 4; i++)
		{
			int64_t		r = len - 16 * i;

			k[i] = r >= 16 ? (__mmask16) 0xffff : r <= 0 ? 0 : (__mmask16) ((1u << r) - 1);
			a[i] = _mm512_setzero_si512();
		}
		for (int64_t t = 0; t < kk; t++)
		{
			const int32_t *s = base + off[t] + o0;
			__m512i		w = _mm512_set1_epi32(wv[t]);

			if (wv[t] == 0)
				continue;
			for (int i = 0; i < 4; i++)
				a[i] = _mm512_add_epi32(a[i], _mm512_mullo_epi32(w, _mm512_maskz_loadu_epi32(k[i], s + 16 * i)));
		}
		for (int i = 0; i < 4; i++)
			_mm512_mask_storeu_epi32(out + o0 + 16 * i, k[i], a[i]);
#else
		int32_t		a[64];

		memset(a, 0, sizeof(a));
		for (int64_t t = 0; t < kk; t++)
		{
			const int32_t *s = base + off[t] + o0;
			int32_t		w = wv[t];

			if (w == 0)
				continue;
			if (len == 64)
				for (int i = 0; i < 64; i++)
					a[i] += w * s[i];
			else
				for (int64_t i = 0; i < len; i++)
					a[i] += w * s[i];
		}
		memcpy(out + o0, a, sizeof(int32_t) * (size_t) len);
#endif
	}
}

/*
 * One depthwise channel, 1 or 2 spatial dims (v; 1-D as height 1):
 *
 *	 acc (out_h, out_w) = sum over taps t  wv[t] * (x - xz)[window of t]
 *
 * with x (in_h, in_w), int8 when xs else uint8, and padding adding
 * nothing.  The image minus xz is first copied as int32 into xp, a
 * plane of Hp x Wp (the rows and columns the windows reach, the padding
 * zero), so no tap needs a bounds test.  With stride 1 every tap is one
 * pass over the whole plane (dw_taps): the output is computed Wp wide
 * (accx, out_h x Wp, the columns past out_w wasted) so that output o
 * reads xp at o + the tap's offset; with stride 2 across, the rows of xp
 * are stored as their even columns, then their odd ones, so each output
 * row is one such pass too; other strides loop per output row and tap.
 * off: k_h * k_w scratch; xp holds Hp * Wp and accx out_h * Wp int32
 * (onnx_dw_plane_sizes).  All sums are exact int32.
 */
/*
 * d[i] = x[i] - xz for i < n, x int8 when xs else uint8 (AVX-512: 16 at a
 * time, the last under a mask: the rows are short)
 */
static inline void
widen_row(int32_t *restrict d, const uint8_t *restrict x, int64_t n, int32_t xz, bool xs)
{
	const int8_t *restrict xi = (const int8_t *) x;

#if defined(QC_ISA_AVX512)
	__m512i		z = _mm512_set1_epi32(xz);

	for (int64_t i = 0; i < n; i += 16)
	{
		__mmask16	k = n - i >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << (n - i)) - 1);
		__m128i		b = _mm_maskz_loadu_epi8(k, x + i);
		__m512i		w = xs ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);

		_mm512_mask_storeu_epi32(d + i, k, _mm512_sub_epi32(w, z));
	}
	return;
#endif
	if (xs)
		for (int64_t i = 0; i < n; i++)
			d[i] = (int32_t) xi[i] - xz;
	else
		for (int64_t i = 0; i < n; i++)
			d[i] = (int32_t) x[i] - xz;
}

static void
dw_plane(const ConvGeom2D *v, const uint8_t *x, bool xs, int32_t xz, const int32_t *wv,
		 int64_t *off, int32_t *xp, int32_t *accx, int32_t *acc)
{
	int64_t		Hp = (v->out_h - 1) * v->s_h + (v->k_h - 1) * v->d_h + 1,
				Wp = (v->out_w - 1) * v->s_w + (v->k_w - 1) * v->d_w + 1,
				c_lo = v->p_w < Wp ? v->p_w : Wp,
				c_hi = v->p_w + v->in_w < Wp ? v->p_w + v->in_w : Wp;

	for (int64_t r = 0; r < Hp; r++)
	{
		int64_t		ih = r - v->p_h;
		int32_t    *d = xp + r * Wp;

		if (ih < 0 || ih >= v->in_h)
		{
			memset(d, 0, sizeof(int32_t) * (size_t) Wp);
			continue;
		}
		for (int64_t c = 0; c < c_lo; c++)
			d[c] = 0;
		widen_row(d + c_lo, x + ih * v->in_w + c_lo - v->p_w, c_hi - c_lo, xz, xs);
		for (int64_t c = c_hi > c_lo ? c_hi : c_lo; c < Wp; c++)
			d[c] = 0;
		if (v->s_w == 2)
		{
			/* the row as its even columns, then its odd ones (accx as scratch) */
			int64_t		we = (Wp + 1) / 2;

			memcpy(accx, d, sizeof(int32_t) * (size_t) Wp);
			for (int64_t c = 0; c < Wp; c++)
				d[(c & 1) * we + (c >> 1)] = accx[c];
		}
	}
	for (int64_t kh = 0; kh < v->k_h; kh++)
		for (int64_t kw = 0; kw < v->k_w; kw++)
		{
			int64_t		c = kw * v->d_w;

			/* stride 2: column c is in the even or the odd half of its row */
			off[kh * v->k_w + kw] = kh * v->d_h * Wp +
				(v->s_w == 2 ? (c & 1) * ((Wp + 1) / 2) + (c >> 1) : c);
		}
	if (v->s_h == 1 && v->s_w == 1)
	{
		dw_taps(xp, off, wv, v->k_h * v->k_w, v->out_h * Wp - (v->k_w - 1) * v->d_w, accx);
		for (int64_t oh = 0; oh < v->out_h; oh++)
			memcpy(acc + oh * v->out_w, accx + oh * Wp, sizeof(int32_t) * (size_t) v->out_w);
		return;
	}
	if (v->s_w <= 2)
	{
		for (int64_t oh = 0; oh < v->out_h; oh++)
			dw_taps(xp + oh * v->s_h * Wp, off, wv, v->k_h * v->k_w, v->out_w, acc + oh * v->out_w);
		return;
	}
	memset(acc, 0, sizeof(int32_t) * (size_t) (v->out_h * v->out_w));
	for (int64_t oh = 0; oh < v->out_h; oh++)
	{
		int32_t    *a = acc + oh * v->out_w;

		for (int64_t kh = 0; kh < v->k_h; kh++)
			for (int64_t kw = 0; kw < v->k_w; kw++)
			{
				int32_t		w = wv[kh * v->k_w + kw];
				const int32_t *s = xp + (oh * v->s_h + kh * v->d_h) * Wp + kw * v->d_w;

				if (w != 0)
					for (int64_t ow = 0; ow < v->out_w; ow++)
						a[ow] += w * s[ow * v->s_w];
			}
	}
}

/*
 * Requantize one depthwise channel: y[i] = saturate(round((acc[i] + b) *
 * mult) + yz) for i in [0, n).
 */
static void
requant_plane(const int32_t *acc, int64_t n, int32_t b, float mult, int32_t yz, int32_t lo,
			  int32_t hi, uint8_t *y)
{
#if defined(QC_ISA_AVX512)
	__m512		flo = _mm512_set1_ps((float) (lo - yz)),
				fhi = _mm512_set1_ps((float) (hi - yz)),
				m = _mm512_set1_ps(mult);
	__m512i		zp = _mm512_set1_epi32(yz),
				bv = _mm512_set1_epi32(b);

	for (int64_t i = 0; i < n; i += 16)
	{
		__mmask16	k = n - i >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << (n - i)) - 1);

		quant16(k, _mm512_maskz_loadu_epi32(k, acc + i), bv, m, flo, fhi, zp, y + i);
	}
#else
	for (int64_t i = 0; i < n; i++)
		y[i] = (uint8_t) qmm_quant((float) (acc[i] + b) * mult, yz, lo, hi);
#endif
}

#if defined(__SSE2__)
/*
 * One 16 x 16 tile: dst[c * ldd + r] = src[r * lds + c], r, c < 16, by
 * four rounds of interleaves (bytes, words, dwords, qwords).
 */
static inline void
transpose_16x16(const uint8_t *src, int64_t lds, uint8_t *dst, int64_t ldd)
{
	__m128i		r[16],
				t[16];

	for (int i = 0; i < 16; i++)
		r[i] = _mm_loadu_si128((const __m128i *) (src + i * lds));
	for (int i = 0; i < 16; i += 2)
	{
		t[i] = _mm_unpacklo_epi8(r[i], r[i + 1]);
		t[i + 1] = _mm_unpackhi_epi8(r[i], r[i + 1]);
	}
	/* r[4b + j]: columns 4j..4j+3 of rows 4b..4b+3 */
	for (int b = 0; b < 4; b++)
	{
		r[4 * b] = _mm_unpacklo_epi16(t[4 * b], t[4 * b + 2]);
		r[4 * b + 1] = _mm_unpackhi_epi16(t[4 * b], t[4 * b + 2]);
		r[4 * b + 2] = _mm_unpacklo_epi16(t[4 * b + 1], t[4 * b + 3]);
		r[4 * b + 3] = _mm_unpackhi_epi16(t[4 * b + 1], t[4 * b + 3]);
	}
	/* t[8h + i]: columns 2i, 2i+1 of rows 8h..8h+7 */
	for (int h = 0; h < 2; h++)
		for (int j = 0; j < 4; j++)
		{
			t[8 * h + 2 * j] = _mm_unpacklo_epi32(r[8 * h + j], r[8 * h + 4 + j]);
			t[8 * h + 2 * j + 1] = _mm_unpackhi_epi32(r[8 * h + j], r[8 * h + 4 + j]);
		}
	for (int i = 0; i < 8; i++)
	{
		_mm_storeu_si128((__m128i *) (dst + (2 * i) * ldd), _mm_unpacklo_epi64(t[i], t[8 + i]));
		_mm_storeu_si128((__m128i *) (dst + (2 * i + 1) * ldd), _mm_unpackhi_epi64(t[i], t[8 + i]));
	}
}
#endif

#if defined(__SSSE3__)
/*
 * transpose_u8 for at most 4 rows into dst rows of ldd <= 4 bytes (the
 * pixels of an image of 1 to 4 channels): 16 columns are 16 * ldd
 * contiguous bytes of dst, each 16 of them the OR of one byte shuffle of
 * each row (byte g of the run is row g % ldd, column g / ldd; rows >=
 * rows are 0).  The last 16 columns overlap the previous ones when cols
 * is not a multiple of 16.
 */
static void
transpose_few_rows(const uint8_t *src, int64_t rows, int64_t cols, uint8_t *dst, int64_t ldd)
{
	__m128i		mask[4][4];

	for (int q = 0; q < ldd; q++)
		for (int i = 0; i < rows; i++)
		{
			int8_t		m[16];

			for (int k = 0; k < 16; k++)
			{
				int			g = 16 * q + k;

				m[k] = g % ldd == i ? (int8_t) (g / ldd) : (int8_t) 0x80;
			}
			mask[q][i] = _mm_loadu_si128((const __m128i *) m);
		}
	for (int64_t c0 = 0; c0 < cols; c0 += 16)
	{
		int64_t		ct = c0 + 16 <= cols ? c0 : cols - 16;
		__m128i		r[4];

		for (int i = 0; i < rows; i++)
			r[i] = _mm_loadu_si128((const __m128i *) (src + i * cols + ct));
		for (int q = 0; q < ldd; q++)
		{
			__m128i		o = _mm_setzero_si128();

			for (int i = 0; i < rows; i++)
				o = _mm_or_si128(o, _mm_shuffle_epi8(r[i], mask[q][i]));
			_mm_storeu_si128((__m128i *) (dst + ct * ldd + 16 * q), o);
		}
	}
}
#endif

/*
 * dst (cols, rows) = src (rows, cols)^T, bytes, dst rows ldd apart:
 * tiles of 16 x 16 with SSE2 where there is SSE2 -- a ragged edge of 16
 * or more rows or columns as one more tile overlapping the last whole one
 * (its bytes written twice, alike); fewer than 16 rows or columns: 1 to
 * 4 rows into pixels of at most 4 bytes by byte shuffles (SSSE3), the
 * rest (and everything without SSE2) one byte at a time.
 */
static void
transpose_u8(const uint8_t *src, int64_t rows, int64_t cols, uint8_t *dst, int64_t ldd)
{
#if defined(__SSE2__)
	if (rows >= 16 && cols >= 16)
	{
		for (int64_t r0 = 0; r0 < rows; r0 += 16)
		{
			int64_t		rt = r0 + 16 <= rows ? r0 : rows - 16;

			for (int64_t c0 = 0; c0 < cols; c0 += 16)
			{
				int64_t		ct = c0 + 16 <= cols ? c0 : cols - 16;

				transpose_16x16(src + rt * cols + ct, cols, dst + ct * ldd + rt, ldd);
			}
		}
		return;
	}
#if defined(__SSSE3__)
	if (rows <= 4 && ldd <= 4 && cols >= 16)
	{
		transpose_few_rows(src, rows, cols, dst, ldd);
		return;
	}
#endif
#endif
	/* fewer than 16 rows or columns (or no SSE2): byte by byte, 32 columns a block */
	for (int64_t c0 = 0; c0 < cols; c0 += 32)
	{
		int64_t		c1 = c0 + 32 < cols ? c0 + 32 : cols;

		for (int64_t c = c0; c < c1; c++)
			for (int64_t r = 0; r < rows; r++)
				dst[c * ldd + r] = src[r * cols + c];
	}
}

const OnnxQconvKern QC_TABLE = {
	requant_rows,
	dw_plane,
	requant_plane,
	transpose_u8
};
