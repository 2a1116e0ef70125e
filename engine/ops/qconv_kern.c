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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * acc (P, mg) int32, rows lda apart -> q (P, mg) bytes:
 * q[p][j] = saturate(round((acc[p][j] + bias[j]) * mult[j]) + yz) in
 * [lo, hi] (bias NULL: 0); the bytes are int8 when lo < 0.
 */
static void
requant_rows(const int32_t *acc, int64_t P, int64_t mg, int64_t lda, const int32_t *bias,
			 const float *mult, int32_t yz, int32_t lo, int32_t hi, uint8_t *q)
{
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
 * loop over the whole plane: the output is computed Wp wide (accx,
 * out_h x Wp, the columns past out_w wasted) so that output o reads xp
 * at o + the tap's offset; otherwise one loop per output row and tap.
 * xp holds Hp * Wp and accx out_h * Wp int32 (dw_plane_sizes).  All
 * sums are exact int32.
 */
static void
dw_plane(const ConvGeom2D *v, const uint8_t *x, bool xs, int32_t xz, const int32_t *wv,
		 int32_t *xp, int32_t *accx, int32_t *acc)
{
	const int8_t *xi = (const int8_t *) x;
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
		if (xs)
			for (int64_t c = c_lo; c < c_hi; c++)
				d[c] = (int32_t) xi[ih * v->in_w + c - v->p_w] - xz;
		else
			for (int64_t c = c_lo; c < c_hi; c++)
				d[c] = (int32_t) x[ih * v->in_w + c - v->p_w] - xz;
		for (int64_t c = c_hi > c_lo ? c_hi : c_lo; c < Wp; c++)
			d[c] = 0;
	}
	if (v->s_h == 1 && v->s_w == 1)
	{
		int64_t		n = v->out_h * Wp - (v->k_w - 1) * v->d_w;

		memset(accx, 0, sizeof(int32_t) * (size_t) (v->out_h * Wp));
		for (int64_t kh = 0; kh < v->k_h; kh++)
			for (int64_t kw = 0; kw < v->k_w; kw++)
			{
				int32_t		w = wv[kh * v->k_w + kw];
				const int32_t *s = xp + kh * v->d_h * Wp + kw * v->d_w;

				if (w != 0)
					for (int64_t o = 0; o < n; o++)
						accx[o] += w * s[o];
			}
		for (int64_t oh = 0; oh < v->out_h; oh++)
			memcpy(acc + oh * v->out_w, accx + oh * Wp, sizeof(int32_t) * (size_t) v->out_w);
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

				if (w == 0)
					continue;
				if (v->s_w == 2)
					for (int64_t ow = 0; ow < v->out_w; ow++)
						a[ow] += w * s[2 * ow];
				else
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
	for (int64_t i = 0; i < n; i++)
		y[i] = (uint8_t) qmm_quant((float) (acc[i] + b) * mult, yz, lo, hi);
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

/*
 * dst (cols, rows) = src (rows, cols)^T, bytes: tiles of 16 x 16 with
 * SSE2 where there is SSE2, the edges (and everything elsewhere) one
 * byte at a time.
 */
static void
transpose_u8(const uint8_t *src, int64_t rows, int64_t cols, uint8_t *dst)
{
	int64_t		r16 = 0,
				c16 = 0;

#if defined(__SSE2__)
	r16 = rows / 16 * 16;
	c16 = cols / 16 * 16;
	for (int64_t r0 = 0; r0 < r16; r0 += 16)
		for (int64_t c0 = 0; c0 < c16; c0 += 16)
			transpose_16x16(src + r0 * cols + c0, cols, dst + c0 * rows + r0, rows);
#endif
	/* the right edge of the tiled rows, then the rows below them */
	for (int64_t r = 0; r < r16; r++)
		for (int64_t c = c16; c < cols; c++)
			dst[c * rows + r] = src[r * cols + c];
	for (int64_t c0 = 0; c0 < cols; c0 += 32)
	{
		int64_t		c1 = c0 + 32 < cols ? c0 + 32 : cols;

		for (int64_t c = c0; c < c1; c++)
			for (int64_t r = r16; r < rows; r++)
				dst[c * rows + r] = src[r * cols + c];
	}
}

const OnnxQconvKern QC_TABLE = {
	requant_rows,
	dw_plane,
	requant_plane,
	transpose_u8
};
