/*-------------------------------------------------------------------------
 *
 * qconv_float.c
 *	  The float32 output of the engine's ConvIntegerToFloat (qconv.c): the
 *	  GEMM path's int32 products, one row per output position, transposed
 *	  into the output's channel planes and scaled per channel in one pass.
 *
 *-------------------------------------------------------------------------
 */
#include "qconv_float.h"
#include "vecmath.h"

#include <stdbool.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

/* y[j * ldy + p] = (float) (acc[p * mg + j] + b) * s, blocks of 64 positions */
static void
store_f32_portable(const int32_t *acc, int64_t np, int64_t mg, const int32_t *bias,
				   const float *scale, float *y, int64_t ldy)
{
	for (int64_t b0 = 0; b0 < np; b0 += 64)
	{
		int64_t		b1 = b0 + 64 < np ? b0 + 64 : np;

		for (int64_t j = 0; j < mg; j++)
		{
			/* unsigned: the int32 sum wraps as the vector add */
			uint32_t	b = bias ? (uint32_t) bias[j] : 0;
			const int32_t *a = acc + j;
			float	   *yf = y + j * ldy,
						s = scale[j];

			for (int64_t p = b0; p < b1; p++)
				yf[p] = (float) (int32_t) ((uint32_t) a[p * mg] + b) * s;
		}
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * r[i] (16 int32 of row i) -> r[j] (element j of every row), in place:
 * 32-bit and 64-bit interleaves within 128-bit lanes, then a 4 x 4
 * transposition of the lanes.
 */
__attribute__((target("avx512f")))
static inline void
transpose_16x16_i32(__m512i *r)
{
	__m512i		t[16],
				u[16];

	for (int k = 0; k < 16; k += 2)
	{
		t[k] = _mm512_unpacklo_epi32(r[k], r[k + 1]);
		t[k + 1] = _mm512_unpackhi_epi32(r[k], r[k + 1]);
	}
	/* u[4k + c], lane L: column 4L + c of rows 4k .. 4k+3 */
	for (int k = 0; k < 16; k += 4)
	{
		u[k] = _mm512_unpacklo_epi64(t[k], t[k + 2]);
		u[k + 1] = _mm512_unpackhi_epi64(t[k], t[k + 2]);
		u[k + 2] = _mm512_unpacklo_epi64(t[k + 1], t[k + 3]);
		u[k + 3] = _mm512_unpackhi_epi64(t[k + 1], t[k + 3]);
	}
	for (int c = 0; c < 4; c++)
	{
		__m512i		v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], _MM_SHUFFLE(1, 0, 1, 0)),
					v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], _MM_SHUFFLE(3, 2, 3, 2)),
					v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(1, 0, 1, 0)),
					v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(3, 2, 3, 2));

		r[c] = _mm512_shuffle_i32x4(v0, v2, _MM_SHUFFLE(2, 0, 2, 0));
		r[4 + c] = _mm512_shuffle_i32x4(v0, v2, _MM_SHUFFLE(3, 1, 3, 1));
		r[8 + c] = _mm512_shuffle_i32x4(v1, v3, _MM_SHUFFLE(2, 0, 2, 0));
		r[12 + c] = _mm512_shuffle_i32x4(v1, v3, _MM_SHUFFLE(3, 1, 3, 1));
	}
}

/*
 * store_f32_portable in AVX-512: tiles of 16 positions x 16 channels
 * loaded (tails masked, missing rows zero), transposed, converted and
 * scaled per channel, stored 16 positions at a time under the positions'
 * mask; one channel (mg 1) is contiguous and needs no transposition.
 */
__attribute__((target("avx512f")))
static void
store_f32_x512(const int32_t *acc, int64_t np, int64_t mg, const int32_t *bias,
			   const float *scale, float *y, int64_t ldy)
{
	for (int64_t p0 = 0; p0 < np; p0 += 16)
	{
		int64_t		pn = np - p0 < 16 ? np - p0 : 16;
		__mmask16	pm = (__mmask16) ((1u << pn) - 1);

		if (mg == 1)
		{
			__m512i		v = _mm512_maskz_loadu_epi32(pm, acc + p0);

			if (bias)
				v = _mm512_add_epi32(v, _mm512_set1_epi32(bias[0]));
			_mm512_mask_storeu_ps(y + p0, pm, _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(scale[0])));
			continue;
		}
		for (int64_t j0 = 0; j0 < mg; j0 += 16)
		{
			int64_t		jn = mg - j0 < 16 ? mg - j0 : 16;
			__mmask16	jm = (__mmask16) ((1u << jn) - 1);
			__m512i		r[16];

			for (int i = 0; i < 16; i++)
				r[i] = i < pn ? _mm512_maskz_loadu_epi32(jm, acc + (p0 + i) * mg + j0) : _mm512_setzero_si512();
			transpose_16x16_i32(r);
			for (int64_t j = 0; j < jn; j++)
			{
				__m512i		v = r[j];

				if (bias)
					v = _mm512_add_epi32(v, _mm512_set1_epi32(bias[j0 + j]));
				_mm512_mask_storeu_ps(y + (j0 + j) * ldy + p0, pm,
									  _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(scale[j0 + j])));
			}
		}
	}
}
#endif

void
onnx_qconv_store_f32(const int32_t *acc, int64_t np, int64_t mg, const int32_t *bias,
					 const float *scale, float *y, int64_t ldy)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (onnx_vec_isa() == ONNX_VEC_AVX512)
	{
		store_f32_x512(acc, np, mg, bias, scale, y, ldy);
		return;
	}
#endif
	store_f32_portable(acc, np, mg, bias, scale, y, ldy);
}
