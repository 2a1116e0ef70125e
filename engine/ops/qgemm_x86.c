/*-------------------------------------------------------------------------
 *
 * qgemm_x86.c
 *	  The x86-64 microkernels of the exact int8 product (qgemm.h), each
 *	  compiled for its instruction set with a target attribute and chosen
 *	  at run time by qgemm.c:
 *
 *	  tile (MR, 32) = A (MR rows, groups of k) @ [B panel 0 | B panel 1]
 *
 *	  VNNI:		 vpdpbusd, u8 x s8 summed in fours straight into int32 lanes
 *				 (exact); 12 zmm accumulators (6 rows x 2 panels).
 *	  AVX-512BW: vpmaddwd on int16 pairs (u8 and s8 values widened at
 *				 packing: products and pair sums fit, exact) + vpaddd.
 *	  AVX2:		 the same on ymm, one panel (2 ymm) at a time.
 *
 * vpmaddubsw (u8 x s8 pairs into a saturating int16) is not used: a pair
 * sum of 255*127*2 overflows int16.
 *
 * Rows i >= mr of A are not read (their pointers repeat row 0; the VNNI
 * kernel does not compute them at all) and the caller ignores their tile
 * rows.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "qgemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

static inline int32_t
load4(const void *p)
{
	int32_t		v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * The AVX-512 tiles for a constant number of rows MR (1..6): only those
 * rows are loaded and multiplied, so a product of few rows (batch 1, the
 * last rows of a block) does not pay for six.  Both layouts hold 64 bytes
 * of B per group of k and 4 bytes of A per row and group (VNNI: 4 uint8;
 * AVX-512BW: 2 int16); ES is A's element size, DP the multiply-add.  The
 * accumulators are named variables, not an array: gcc then keeps them in
 * registers without the register copies per multiply-add it emits for an
 * array.  QG_TILE(name, tgt, ES, DP) defines name##_rows, the six
 * instances and the dispatcher onnx_qgemm_micro_##name.
 */
#define QG_DP_VNNI(c, x, w) _mm512_dpbusd_epi32(c, x, w)
#define QG_DP_BW(c, x, w) _mm512_add_epi32(c, _mm512_madd_epi16(x, w))
#define QG_ROW(i, DP, ES) \
	if (MR > i) \
	{ \
		x = _mm512_set1_epi32(load4(a + i * lda * ES + 4 * g)); \
		c##i##0 = DP(c##i##0, x, w0); \
		c##i##1 = DP(c##i##1, x, w1); \
	}
#define QG_STORE(i) \
	if (MR > i) \
	{ \
		_mm512_storeu_si512((void *) (tile + i * 32), c##i##0); \
		_mm512_storeu_si512((void *) (tile + i * 32 + 16), c##i##1); \
	}
#define QG_INST(name, tgt, R) \
__attribute__((target(tgt))) \
static void \
name##_##R(int64_t groups, const char *a, int64_t lda, const char *p0, const char *p1, int32_t *tile) \
{ \
	name##_rows(R, groups, a, lda, p0, p1, tile); \
}
#define QG_TILE(name, tgt, ES, DP) \
__attribute__((target(tgt), always_inline)) \
static inline void \
name##_rows(const int MR, int64_t groups, const char *a, int64_t lda, const char *p0, \
			const char *p1, int32_t *tile) \
{ \
	__m512i		c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, \
				c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00; \
\
	for (int64_t g = 0; g < groups; g++) \
	{ \
		__m512i		w0 = _mm512_load_si512((const void *) (p0 + g * 64)), \
					w1 = _mm512_load_si512((const void *) (p1 + g * 64)), \
					x; \
\
		QG_ROW(0, DP, ES) QG_ROW(1, DP, ES) QG_ROW(2, DP, ES) \
		QG_ROW(3, DP, ES) QG_ROW(4, DP, ES) QG_ROW(5, DP, ES) \
	} \
	QG_STORE(0) QG_STORE(1) QG_STORE(2) QG_STORE(3) QG_STORE(4) QG_STORE(5) \
} \
QG_INST(name, tgt, 1) QG_INST(name, tgt, 2) QG_INST(name, tgt, 3) \
QG_INST(name, tgt, 4) QG_INST(name, tgt, 5) QG_INST(name, tgt, 6) \
__attribute__((target(tgt))) \
void \
onnx_qgemm_micro_##name(int64_t groups, const void *a, int64_t lda, int mr, const void *b0, \
						const void *b1, int32_t *tile) \
{ \
	static void (*const by_rows[ONNX_QGEMM_MR]) (int64_t, const char *, int64_t, const char *, \
												  const char *, int32_t *) = { \
		name##_1, name##_2, name##_3, name##_4, name##_5, name##_6 \
	}; \
\
	by_rows[mr >= 1 && mr <= ONNX_QGEMM_MR ? mr - 1 : ONNX_QGEMM_MR - 1] (groups, a, lda, b0, b1, tile); \
}

QG_TILE(vnni, "avx512f,avx512bw,avx512vnni", 1, QG_DP_VNNI)
QG_TILE(avx512bw, "avx512f,avx512bw", 2, QG_DP_BW)

/*
 * One row of A for the VNNI layout: d[k] = src[k] ^ x (k < K; x 0x80
 * shifts int8 to uint8), d[K..Kp) = 0, d NULL: nothing written; returns
 * the sum of the K shifted bytes (vpsadbw, 64 at a time, the tail under a
 * mask), wrapped to int32 as the scalar loop's.
 */
__attribute__((target("avx512f,avx512bw")))
int32_t
onnx_qgemm_row_vnni(const uint8_t *src, int64_t K, int64_t Kp, uint8_t x, uint8_t *d)
{
	const __m512i zero = _mm512_setzero_si512(),
				vx = _mm512_set1_epi8((char) x);
	__m512i		acc = zero;
	int64_t		k = 0;

	for (; k + 64 <= K; k += 64)
	{
		__m512i		v = _mm512_xor_si512(_mm512_loadu_si512((const void *) (src + k)), vx);

		if (d)
			_mm512_storeu_si512((void *) (d + k), v);
		acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, zero));
	}
	if (k < K)
	{
		__mmask64	m = ~(__mmask64) 0 >> (64 - (K - k));
		__m512i		v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + k), vx));

		if (d)
			_mm512_mask_storeu_epi8(d + k, m, v);
		acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, zero));
	}
	if (d)
		for (k = K; k < Kp; k++)
			d[k] = 0;
	return (int32_t) (uint32_t) (uint64_t) _mm512_reduce_add_epi64(acc);
}

__attribute__((target("avx2")))
void
onnx_qgemm_micro_avx2(int64_t groups, const void *a, int64_t lda, int mr, const void *b0,
					  const void *b1, int32_t *tile)
{
	const int16_t *ar[ONNX_QGEMM_MR];

	for (int i = 0; i < ONNX_QGEMM_MR; i++)
		ar[i] = (const int16_t *) a + (i < mr ? i : 0) * lda;
	for (int p = 0; p < 2; p++)
	{
		const int16_t *pb = p ? b1 : b0;
		__m256i		c[ONNX_QGEMM_MR][2];

		for (int i = 0; i < ONNX_QGEMM_MR; i++)
			c[i][0] = c[i][1] = _mm256_setzero_si256();
		for (int64_t g = 0; g < groups; g++)
		{
			__m256i		w0 = _mm256_load_si256((const __m256i *) (pb + g * 32));
			__m256i		w1 = _mm256_load_si256((const __m256i *) (pb + g * 32 + 16));

			for (int i = 0; i < ONNX_QGEMM_MR; i++)
			{
				__m256i		x = _mm256_set1_epi32(load4(ar[i] + 2 * g));

				c[i][0] = _mm256_add_epi32(c[i][0], _mm256_madd_epi16(x, w0));
				c[i][1] = _mm256_add_epi32(c[i][1], _mm256_madd_epi16(x, w1));
			}
		}
		for (int i = 0; i < ONNX_QGEMM_MR; i++)
		{
			_mm256_storeu_si256((__m256i *) (tile + i * 32 + p * 16), c[i][0]);
			_mm256_storeu_si256((__m256i *) (tile + i * 32 + p * 16 + 8), c[i][1]);
		}
	}
}

#endif
