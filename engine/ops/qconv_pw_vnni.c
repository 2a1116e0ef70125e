/*-------------------------------------------------------------------------
 *
 * qconv_pw_vnni.c
 *	  The QLinearConv of one group (qconv.c) on AVX512-VNNI and
 *	  AVX512-VBMI, channels-first in and out, without transposes:
 *
 *		Y (Mg, P) = requant(W (Mg, K) @ X (K, P))
 *
 *	  X's rows are the group's K input channels of a 1x1 convolution, each
 *	  a plane of P bytes, or the rows of its channels-first patches (uint8;
 *	  int8 x flipped by +128 to xu, its zero point alike: xzu).
 *	  Per block of 64 output positions, X is repacked once into groups of
 *	  four channels: group g is four vectors of 16 positions, the four
 *	  bytes of lane i the channels 4g..4g+3 of position i (vpermb of four
 *	  16-byte rows), channels past K zero.  An output channel's four
 *	  weights of group g are one int32 broadcast, so vpdpbusd (u8 x s8,
 *	  four products into each int32 lane) sums 16 positions of one output
 *	  channel per instruction; up to 6 output channels by 4 vectors are
 *	  summed in registers, then requantized there (requant_plane's
 *	  instructions, same results) and stored as rows of Y.  The weights ws
 *	  (int8, zero point wzs) come from onnx_qpw_vnni_prep: w - wz itself
 *	  when it fits int8 (wzs = 0), else the raw weights; exactly
 *
 *		acc = sum xu * ws - wzs * sum xu - xzu * sum ws + K * xzu * wzs
 *
 *	  the last two terms and the bias are one constant per output channel
 *	  (corr), sum xu (the window sums, only when some wzs is not 0) is
 *	  vpdpbusd against ones.  int32 wraps alike on both sides; the exact
 *	  sums fit int32 as onnxruntime's do.  The float form
 *	  (ConvIntegerToFloat) stores float(acc) * mult instead, rows of
 *	  float32 Y, rounded as the scalar expression.
 *
 *	  The GEMM path of qconv.c (patches, qgemm, requant_rows, transpose)
 *	  stays for every other ISA level and for ConvInteger.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "qconv_kern.h"
#include "qgemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QPW_X86 1
#include <immintrin.h>
#endif

/* Output positions per block (four vectors), output channels per tile. */
#define QPW_COLS 64
#define QPW_MR 6

bool
onnx_qpw_vnni_ok(void)
{
#ifdef QPW_X86
	return onnx_qgemm_isa() == ONNX_QGEMM_VNNI && __builtin_cpu_supports("avx512vbmi");
#else
	return false;
#endif
}

void
onnx_qpw_vnni_prep(const uint8_t *w, bool w_signed, int64_t M, int64_t K, const int32_t *wz,
				   int8_t *ws, int64_t ldw, int32_t *wzs, int32_t *wsum)
{
	for (int64_t m = 0; m < M; m++)
	{
		const uint8_t *wm = w + m * K;
		int8_t	   *d = ws + m * ldw;
		bool		fits = true;
		int32_t		sh = w_signed ? 0 : 128,
					z = 0;
		uint32_t	sum = 0;

		for (int64_t k = 0; k < K && fits; k++)
		{
			int32_t		v = (w_signed ? (int8_t) wm[k] : wm[k]) - wz[m];

			fits = v >= -128 && v <= 127;
			d[k] = (int8_t) v;
		}
		if (!fits)
		{
			for (int64_t k = 0; k < K; k++)
				d[k] = (int8_t) ((w_signed ? (int8_t) wm[k] : wm[k]) - sh);
			z = wz[m] - sh;
		}
		for (int64_t k = K; k < ldw; k++)
			d[k] = 0;
		for (int64_t k = 0; k < K; k++)
			sum += (uint32_t) (int32_t) d[k];
		wzs[m] = z;
		if (wsum)
			wsum[m] = (int32_t) sum;
	}
}

void
onnx_qpw_vnni_corr(int64_t M, int64_t K, const int32_t *wzs, const int32_t *wsum,
				   const int32_t *bias, int32_t xzu, int32_t *corr)
{
	/* bias - xzu * sum ws + K * xzu * wzs, wrapping as the vector adds do */
	for (int64_t m = 0; m < M; m++)
		corr[m] = (int32_t) ((uint32_t) (bias ? bias[m] : 0) - (uint32_t) xzu * (uint32_t) wsum[m] +
							 (uint32_t) K * (uint32_t) xzu * (uint32_t) wzs[m]);
}

#ifdef QPW_X86
#define QPW_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))

/*
 * Rows m0 .. m0+MR of Y at positions p0 .. p0+len (len <= 64, NV vectors)
 * from the packed block xp (Kp / 4 groups of 4 vectors); sx: the window
 * sums of the block's vectors (used when some wzs is not 0).
 */
static inline __attribute__((always_inline)) QPW_TARGET void
qpw_tile(const int MR, const int NV, const uint8_t *xp, int64_t groups, const int8_t *ws, int64_t Kp,
		 const int32_t *wzs, const int32_t *corr, const float *mult, const __m512i *sx, bool zs,
		 int32_t yz, int32_t lo, int32_t hi, int64_t len, uint8_t *y, float *fy, int64_t ldy)
{
	__m512i		a[QPW_MR][4],
				zp = _mm512_set1_epi32(yz);
	__m512		flo = _mm512_set1_ps((float) (lo - yz)),
				fhi = _mm512_set1_ps((float) (hi - yz));

	for (int i = 0; i < MR; i++)
		for (int v = 0; v < NV; v++)
			a[i][v] = _mm512_setzero_si512();
	for (int64_t g = 0; g < groups; g++)
	{
		__m512i		xv[4];

		for (int v = 0; v < NV; v++)
			xv[v] = _mm512_loadu_si512(xp + (g * 4 + v) * 64);
		for (int i = 0; i < MR; i++)
		{
			int32_t		wb;
			__m512i		wv;

			memcpy(&wb, ws + i * Kp + g * 4, 4);
			wv = _mm512_set1_epi32(wb);
			for (int v = 0; v < NV; v++)
				a[i][v] = _mm512_dpbusd_epi32(a[i][v], xv[v], wv);
		}
	}
	for (int i = 0; i < MR; i++)
	{
		__m512		m = _mm512_set1_ps(mult[i]);
		__m512i		c = _mm512_set1_epi32(corr[i]),
					wz = _mm512_set1_epi32(wzs[i]);
		/* NaN products only from a non-finite multiplier (the sums are finite) */
		bool		finite = mult[i] - mult[i] == 0.0f;

		for (int v = 0; v < NV; v++)
		{
			int64_t		rest = len - 16 * v;
			__mmask16	k = rest >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << rest) - 1);
			__m512i		t = _mm512_add_epi32(a[i][v], c);
			__m512		f;

			if (zs)
				t = _mm512_sub_epi32(t, _mm512_mullo_epi32(wz, sx[v]));
			if (fy)
			{
				/* float output: float(acc) * mult, rounded as the scalar */
				_mm512_mask_storeu_ps(fy + i * ldy + 16 * v, k, _mm512_mul_ps(_mm512_cvtepi32_ps(t), m));
				continue;
			}
			/* requant_plane's quant16: NaN to 0, clamp, round to even, + yz */
			f = _mm512_mul_ps(_mm512_cvtepi32_ps(t), m);
			if (!finite)
				f = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(f, f, _CMP_ORD_Q), f);
			f = _mm512_min_ps(_mm512_max_ps(f, flo), fhi);
			_mm_mask_storeu_epi8(y + i * ldy + 16 * v, k,
								 _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f), zp)));
		}
	}
}

/* qpw_tile with MR and NV as constants (the accumulators in registers) */
#define QPW_NV(MR_) \
	do { \
		switch (nv) \
		{ \
			case 1: qpw_tile(MR_, 1, xp, groups, wm, Kp, wzs + m0, corr + m0, mult + m0, sx, zs, yz, lo, hi, len, ym, fym, ldy); break; \
			case 2: qpw_tile(MR_, 2, xp, groups, wm, Kp, wzs + m0, corr + m0, mult + m0, sx, zs, yz, lo, hi, len, ym, fym, ldy); break; \
			case 3: qpw_tile(MR_, 3, xp, groups, wm, Kp, wzs + m0, corr + m0, mult + m0, sx, zs, yz, lo, hi, len, ym, fym, ldy); break; \
			default: qpw_tile(MR_, 4, xp, groups, wm, Kp, wzs + m0, corr + m0, mult + m0, sx, zs, yz, lo, hi, len, ym, fym, ldy); break; \
		} \
	} while (0)

QPW_TARGET static void
qpw_run_vnni(const uint8_t *x, int64_t ldx, int64_t K, int64_t np, bool xs, const int8_t *ws,
			 int64_t Mg, const int32_t *wzs, const int32_t *corr, const float *mult, int32_t yz,
			 int32_t lo, int32_t hi, uint8_t *xp, uint8_t *y, float *fy, int64_t ldy)
{
	int64_t		Kp = (K + 3) / 4 * 4,
				groups = Kp / 4;
	bool		zs = false;
	uint8_t		idx[64];
	__m512i		perm,
				ones = _mm512_set1_epi8(1);
	__m128i		flip = _mm_set1_epi8(xs ? (char) 0x80 : 0);

	for (int64_t m = 0; m < Mg; m++)
		zs = zs || wzs[m] != 0;
	/* lane i, byte j <- row j's byte i (row j at bytes 16 j .. 16 j + 15) */
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 4; j++)
			idx[i * 4 + j] = (uint8_t) (16 * j + i);
	perm = _mm512_loadu_si512(idx);

	for (int64_t b0 = 0; b0 < np; b0 += QPW_COLS)
	{
		int64_t		len = np - b0 < QPW_COLS ? np - b0 : QPW_COLS;
		int			nv = (int) ((len + 15) / 16);
		__m512i		sx[4];

		/* the block packed: four channels of 16 positions per vector */
		for (int v = 0; v < 4; v++)
			sx[v] = _mm512_setzero_si512();
		for (int64_t g = 0; g < groups; g++)
			for (int v = 0; v < nv; v++)
			{
				int64_t		rest = len - 16 * v;
				__mmask16	k = rest >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << rest) - 1);
				__m128i		r[4];
				__m512i		z;

				for (int j = 0; j < 4; j++)
				{
					int64_t		c = g * 4 + j;

					r[j] = c < K ? _mm_xor_si128(_mm_maskz_loadu_epi8(k, x + c * ldx + b0 + 16 * v), flip) :
						_mm_setzero_si128();
				}
				z = _mm512_inserti32x4(_mm512_castsi128_si512(r[0]), r[1], 1);
				z = _mm512_inserti32x4(z, r[2], 2);
				z = _mm512_inserti32x4(z, r[3], 3);
				z = _mm512_permutexvar_epi8(perm, z);
				_mm512_storeu_si512(xp + (g * 4 + v) * 64, z);
				if (zs)
					sx[v] = _mm512_dpbusd_epi32(sx[v], z, ones);
			}
		for (int64_t m0 = 0; m0 < Mg; m0 += QPW_MR)
		{
			int			mr = Mg - m0 < QPW_MR ? (int) (Mg - m0) : QPW_MR;
			const int8_t *wm = ws + m0 * Kp;
			uint8_t    *ym = fy ? NULL : y + m0 * ldy + b0;
			float	   *fym = fy ? fy + m0 * ldy + b0 : NULL;

			switch (mr)
			{
				case 1:
					QPW_NV(1);
					break;
				case 2:
					QPW_NV(2);
					break;
				case 3:
					QPW_NV(3);
					break;
				case 4:
					QPW_NV(4);
					break;
				case 5:
					QPW_NV(5);
					break;
				default:
					QPW_NV(6);
					break;
			}
		}
	}
}
#endif

void
onnx_qpw_vnni_run(const uint8_t *x, int64_t ldx, int64_t K, int64_t np, bool xs, const int8_t *ws,
				  int64_t Mg, const int32_t *wzs, const int32_t *corr, const float *mult,
				  int32_t yz, int32_t lo, int32_t hi, uint8_t *xp, uint8_t *y, float *fy, int64_t ldy)
{
#ifdef QPW_X86
	qpw_run_vnni(x, ldx, K, np, xs, ws, Mg, wzs, corr, mult, yz, lo, hi, xp, y, fy, ldy);
#else
	(void) x, (void) ldx, (void) K, (void) np, (void) xs, (void) ws, (void) Mg, (void) wzs;
	(void) corr, (void) mult, (void) yz, (void) lo, (void) hi, (void) xp, (void) y, (void) fy,
		(void) ldy;
#endif
}
