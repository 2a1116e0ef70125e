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
 * onnx_qconv_store_f32 in AVX-512: tiles of 16 positions x 16 channels
 * loaded (tails masked, missing rows zero), transposed, converted and
 * scaled per channel, stored 16 positions at a time under the positions'
 * mask.
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

bool
onnx_qconv_store_f32(const int32_t *acc, int64_t np, int64_t mg, const int32_t *bias,
					 const float *scale, float *y, int64_t ldy)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	/*
	 * up to 8 channels would fill half tiles: the caller's loop is faster
	 * there (measured on a Xeon SPR class core)
	 */
	if (onnx_vec_isa() == ONNX_VEC_AVX512 && mg > 8)
	{
		store_f32_x512(acc, np, mg, bias, scale, y, ldy);
		return true;
	}
#endif
	(void) acc, (void) np, (void) bias, (void) scale, (void) y, (void) ldy;
	return false;
}
