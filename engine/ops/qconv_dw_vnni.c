/*-------------------------------------------------------------------------
 *
 * qconv_dw_vnni.c
 *	  One depthwise channel of an integer convolution (qconv.c) on
 *	  AVX512-VNNI and AVX512-VBMI, 8-bit all the way:
 *
 *		acc (out_h, out_w) = sum over taps t of (x - xz)[window_t] * (w[t] - wz)
 *
 *	  x is copied once into a padded plane of bytes, uint8 (int8 x flipped
 *	  by +128, its zero point alike: xu, xzu), the padding set to xzu.  w
 *	  comes as int8 ws with zero point wzs (uint8 w as w - 128): either
 *	  w - wz itself when it fits int8 (wzs = 0), or the raw weights.  As
 *	  the padding holds xzu, over all KK taps exactly
 *
 *		acc = sum xu * ws - wzs * sum xu - xzu * sum ws + KK * xzu * wzs
 *
 *	  (every term fits int32 for the tap counts onnx_qdw_vnni_ok accepts;
 *	  int32 wraps alike on both sides).  sum xu * ws is vpdpbusd (u8 x s8,
 *	  four products into each int32 lane): 16 output columns per vector,
 *	  the four bytes of lane i the input columns s_w * i + d_w * j (j < 4)
 *	  of four taps of one kernel row, gathered from one 64-byte load by
 *	  vpermb; a kernel row of k_w taps takes ceil(k_w / 4) of them (the
 *	  missing taps weigh 0).  The window sums sum xu, needed only when wzs
 *	  is not 0, are vpdpbusd of the same bytes against ones.  Eight vectors
 *	  (128 columns) are summed at a time for the instruction-level
 *	  parallelism, then requantized in registers as qconv_kern.c's
 *	  requant_plane does (same instructions, same results) or stored as
 *	  int32.
 *
 *	  Chosen by qconv.c when onnx_qdw_vnni_ok says so; the portable and
 *	  AVX2 / AVX-512BW paths stay qconv_kern.c's dw_plane.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "qconv_kern.h"
#include "qgemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QDW_X86 1
#include <immintrin.h>
#endif

/* Taps of one kernel row per vpdpbusd; most taps of a kernel (255 * 128 * them fits int32). */
#define QDW_TAPS 4
#define QDW_MAX_TAPS 4096
/* Output columns summed at a time: eight vectors of independent sums */
#define QDW_COLS 128

/* Padded-plane row width: every 64-byte load of a vector stays inside. */
static bool
qdw_row_width(const ConvGeom2D *v, int64_t *wq)
{
	int64_t		ow16,
				groups = (v->k_w + QDW_TAPS - 1) / QDW_TAPS,
				t;

	/* columns read: ow0 * s_w + g * 4 * d_w + 64 for the last vector */
	if (__builtin_add_overflow(v->out_w, 15, &ow16) ||
		__builtin_mul_overflow(ow16 / 16 * 16, v->s_w, &ow16) ||
		__builtin_mul_overflow(groups * QDW_TAPS, v->d_w, &t) ||
		__builtin_add_overflow(ow16, t, &ow16) || __builtin_add_overflow(ow16, 64, wq))
		return false;
	/* and the image's own columns, copied whole */
	if (*wq < v->in_w + v->p_w)
		*wq = v->in_w + v->p_w;
	return true;
}

/*
 * The padded plane's layout for v: rows of *wq bytes, *bytes in all (every
 * 64-byte load inside), and whether the plane is read flat (*flat): with
 * unit strides, output (oh, ow) reads the bytes at oh * wq + ow + (taps'
 * offsets), so out_h rows of wq columns are one row of
 * (out_h - 1) * wq + out_w columns whose columns ow >= out_w of each row
 * are computed and dropped: few wide blocks of vectors instead of one
 * short row at a time (a 7 x 7 plane: 4 vectors, not 7 of which 9 lanes
 * idle).  Equal strides s alike (output column q reads input column
 * s * q), taken when it needs no more vectors than row by row.  False
 * when a size overflows.
 */
static bool
qdw_layout(const ConvGeom2D *v, int64_t *wq, int64_t *bytes, bool *flat)
{
	int64_t		groups = (v->k_w + QDW_TAPS - 1) / QDW_TAPS,
				hp = (v->out_h - 1) * v->s_h + (v->k_h - 1) * v->d_h + 1,
				len,
				t,
				lq,
				rv;

	/* row by row when the strides differ or reading flat takes more vectors */
	*flat = false;
	if (!qdw_row_width(v, wq) || __builtin_mul_overflow(hp, *wq, bytes))
		return false;
	if (v->s_h != v->s_w)
		return true;
	/* rows as wide as the windows reach (and the image's columns) */
	lq = (v->out_w - 1) * v->s_w + (v->k_w - 1) * v->d_w + 1;
	if (lq < v->in_w + v->p_w)
		lq = v->in_w + v->p_w;
	/* the last vector's load: (k_h - 1) * d_h rows down, a group's taps on, 64 bytes */
	if (__builtin_mul_overflow(v->out_h - 1, lq, &len) ||
		__builtin_add_overflow(len, v->out_w + 15, &len) ||
		__builtin_mul_overflow(v->out_h, (v->out_w + 15) / 16, &rv) || len / 16 > rv)
		return true;
	if (__builtin_mul_overflow((v->k_h - 1) * v->d_h, lq, &t) ||
		__builtin_mul_overflow(len / 16 * 16 - 16, v->s_w, &len) ||
		__builtin_add_overflow(t, len + (groups - 1) * QDW_TAPS * v->d_w + 64, &len) ||
		__builtin_mul_overflow(hp, lq, &t))
		return true;
	*flat = true;
	*wq = lq;
	*bytes = len > t ? len : t;
	return true;
}

bool
onnx_qdw_vnni_ok(const ConvGeom2D *v, int64_t *plane_bytes)
{
	int64_t		wq;
	bool		flat;

#ifdef QDW_X86
	if (onnx_qgemm_isa() != ONNX_QGEMM_VNNI || !__builtin_cpu_supports("avx512vbmi"))
		return false;
#else
	return false;
#endif
	/* lane 15's last byte inside one 64-byte load; sums within int32 */
	if (v->s_w < 1 || v->d_w < 1 || v->s_w * 15 + v->d_w * (QDW_TAPS - 1) > 63 ||
		v->k_h < 1 || v->k_w < 1 || v->k_h * v->k_w > QDW_MAX_TAPS ||
		v->k_h * ((v->k_w + QDW_TAPS - 1) / QDW_TAPS) > QDW_MAX_TAPS / QDW_TAPS ||
		v->out_h < 1 || v->out_w < 1)
		return false;
	return qdw_layout(v, &wq, plane_bytes, &flat);
}

#ifdef QDW_X86
#define QDW_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))

/* a[i] += bytes p of the next vector against weights wv (and the window sums s[i], zs) */
#define QDW_STEP(i) \
	do { \
		__m512i		p_ = _mm512_permutexvar_epi8(perm, _mm512_loadu_si512(src + 16 * (i) * v->s_w)); \
		a[i] = _mm512_dpbusd_epi32(a[i], p_, wv); \
		if (zs) \
			sm[i] = _mm512_dpbusd_epi32(sm[i], p_, ov); \
	} while (0)

/* tot[16 i ..] = the exact sums of vector i: a[i] - wz * sm[i] (wz only when zs) */
#define QDW_SUM(i) \
	do { \
		if (nv > (i)) \
			_mm512_storeu_si512(tot + 16 * (i), \
								zs ? _mm512_sub_epi32(a[i], _mm512_mullo_epi32(wzv, sm[i])) : a[i]); \
	} while (0)

QDW_TARGET static void
qdw_channels_vnni(const ConvGeom2D *v, const uint8_t *x, int64_t nch, bool xs, int32_t xz,
				  const int8_t *w, const int32_t *wzs, const int32_t *bias, const float *mult,
				  int32_t yz, int32_t lo, int32_t hi, uint8_t *xp, uint8_t *y, int32_t *acc)
{
	int64_t		groups = (v->k_w + QDW_TAPS - 1) / QDW_TAPS,
				kk = v->k_h * v->k_w,
				wq = 0,
				bytes = 0,
				rows,
				cols,
				hp = (v->out_h - 1) * v->s_h + (v->k_h - 1) * v->d_h + 1,
				r0 = v->p_h < hp ? v->p_h : hp,
				r1 = v->p_h + v->in_h < hp ? v->p_h + v->in_h : hp,
				in_plane = v->in_h * v->in_w,
				out_plane = v->out_h * v->out_w;
	uint8_t		xzu = (uint8_t) (xs ? xz + 128 : xz),
				idx[64];
	int32_t		wb[QDW_MAX_TAPS / QDW_TAPS],
				ones[QDW_MAX_TAPS / QDW_TAPS];
	__m512i		perm,
				zp = _mm512_set1_epi32(yz),
				flipv = _mm512_set1_epi8(xs ? (char) 0x80 : 0);
	__m512		flo = _mm512_set1_ps((float) (lo - yz)),
				fhi = _mm512_set1_ps((float) (hi - yz));

	bool		flat;

	qdw_layout(v, &wq, &bytes, &flat);
	/* flat: one row of (out_h - 1) * wq + out_w columns (qdw_layout) */
	rows = flat ? 1 : v->out_h;
	cols = flat ? (v->out_h - 1) * wq + v->out_w : v->out_w;
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < QDW_TAPS; j++)
			idx[i * 4 + j] = (uint8_t) (v->s_w * i + v->d_w * j);
	perm = _mm512_loadu_si512(idx);
	/* the padded plane, rows of wq bytes: xzu around the image, set once */
	memset(xp, xzu, (size_t) bytes);

	for (int64_t c = 0; c < nch; c++)
	{
		const uint8_t *xc = x + c * in_plane;
		const int8_t *wc = w + c * kk;
		int32_t		wsum = 0,
					wz = wzs[c];
		bool		zs = wz != 0,
					finite;
		float		mc = mult ? mult[c] : 0.0f;
		__m512i		corr,
					wzv = _mm512_set1_epi32(wz);
		__m512		m = _mm512_set1_ps(mc);

		/* NaN products only from a non-finite multiplier (the sums are finite) */
		finite = mc - mc == 0.0f;
		/* the image rows the windows reach, int8 flipped to uint8 */
		for (int64_t r = r0; r < r1; r++)
		{
			const uint8_t *src = xc + (r - v->p_h) * v->in_w;
			uint8_t    *d = xp + r * wq + v->p_w;

			/* (masked 64-byte copies: short rows are cheaper than memcpy calls) */
			for (int64_t i = 0; i < v->in_w; i += 64)
			{
				__mmask64	k = v->in_w - i >= 64 ? ~(__mmask64) 0 :
					(((__mmask64) 1 << (v->in_w - i)) - 1);

				_mm512_mask_storeu_epi8(d + i, k, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, src + i), flipv));
			}
		}
		/* weights: four taps of a kernel row per int32, the missing ones 0 */
		for (int64_t kh = 0; kh < v->k_h; kh++)
			for (int64_t g = 0; g < groups; g++)
			{
				uint32_t	b = 0,
							o = 0;

				for (int j = 0; j < QDW_TAPS; j++)
				{
					int64_t		kw = g * QDW_TAPS + j;
					int8_t		t = kw < v->k_w ? wc[kh * v->k_w + kw] : 0;

					b |= (uint32_t) (uint8_t) t << (8 * j);
					o |= (uint32_t) (kw < v->k_w) << (8 * j);
					wsum += t;
				}
				wb[kh * groups + g] = (int32_t) b;
				ones[kh * groups + g] = (int32_t) o;
			}
		/* bias - xzu * wsum + KK * xzu * wz, wrapping as the vector adds do */
		corr = _mm512_set1_epi32((int32_t) (uint32_t) ((int64_t) (bias ? bias[c] : 0) -
													   (int64_t) xzu * wsum + kk * (int64_t) xzu * wz));

		for (int64_t oh = 0; oh < rows; oh++)
			for (int64_t o0 = 0; o0 < cols; o0 += QDW_COLS)
			{
				int64_t		len = cols - o0 < QDW_COLS ? cols - o0 : QDW_COLS;
				int			nv = (int) ((len + 15) / 16);
				__m512i		a[QDW_COLS / 16],
							sm[QDW_COLS / 16];
				int32_t		tot[QDW_COLS];
				uint8_t		fb[QDW_COLS];

				for (int i = 0; i < QDW_COLS / 16; i++)
					a[i] = sm[i] = _mm512_setzero_si512();
				for (int64_t kh = 0; kh < v->k_h; kh++)
				{
					const uint8_t *row = xp + (oh * v->s_h + kh * v->d_h) * wq + o0 * v->s_w;

					for (int64_t g = 0; g < groups; g++)
					{
						const uint8_t *src = row + g * QDW_TAPS * v->d_w;
						__m512i		wv = _mm512_set1_epi32(wb[kh * groups + g]),
									ov = _mm512_set1_epi32(ones[kh * groups + g]);

						QDW_STEP(0);
						if (nv > 1)
							QDW_STEP(1);
						if (nv > 2)
							QDW_STEP(2);
						if (nv > 3)
							QDW_STEP(3);
						if (nv > 4)
							QDW_STEP(4);
						if (nv > 5)
							QDW_STEP(5);
						if (nv > 6)
							QDW_STEP(6);
						if (nv > 7)
							QDW_STEP(7);
					}
				}
				/* the sums out of registers by constant index (a[] stays in registers) */
				QDW_SUM(0);
				QDW_SUM(1);
				QDW_SUM(2);
				QDW_SUM(3);
				QDW_SUM(4);
				QDW_SUM(5);
				QDW_SUM(6);
				QDW_SUM(7);
				for (int i = 0; i < nv; i++)
				{
					int64_t		rest = len - 16 * i;
					__mmask16	k = rest >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << rest) - 1);
					int64_t		at = c * out_plane + oh * v->out_w + o0 + 16 * i;
					__m512i		t = _mm512_add_epi32(_mm512_loadu_si512(tot + 16 * i), corr);
					__m512		f;

					if (flat && y == NULL)
					{
						_mm512_storeu_si512(tot + 16 * i, t);
						continue;
					}
					if (y == NULL)
					{
						_mm512_mask_storeu_epi32(acc + at, k, t);
						continue;
					}
					/* requant_plane's quant16: NaN to 0, clamp, round to even, + yz */
					f = _mm512_mul_ps(_mm512_cvtepi32_ps(t), m);
					if (!finite)
						f = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(f, f, _CMP_ORD_Q), f);
					f = _mm512_min_ps(_mm512_max_ps(f, flo), fhi);
					if (flat)
						_mm_storeu_si128((__m128i *) (fb + 16 * i),
										 _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f), zp)));
					else
						_mm_mask_storeu_epi8(y + at, k, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f), zp)));
				}
				/* flat: columns q of the block to (q / wq, q % wq), those within out_w */
				if (flat)
				{
					int64_t		r = o0 / wq,
								ow = o0 - r * wq;

					for (int64_t q = o0; q < o0 + len; r++, ow = 0)
					{
						int64_t		n = v->out_w - ow,
									at = c * out_plane + r * v->out_w + ow;

						if (n > 0)
						{
							if (n > o0 + len - q)
								n = o0 + len - q;
							if (y)
							{
								/* short rows: masked 16-byte moves, no memcpy call */
								for (int64_t i = 0; i < n; i += 16)
								{
									__mmask16	k = n - i >= 16 ? (__mmask16) 0xffff :
										(__mmask16) ((1u << (n - i)) - 1);

									_mm_mask_storeu_epi8(y + at + i, k, _mm_maskz_loadu_epi8(k, fb + (q - o0) + i));
								}
							}
							else
								memcpy(acc + at, tot + (q - o0), (size_t) n * sizeof(int32_t));
						}
						q += wq - ow;
					}
				}
			}
	}
}
#endif

void
onnx_qdw_vnni_channels(const ConvGeom2D *v, const uint8_t *x, int64_t nch, bool xs, int32_t xz,
					   const int8_t *w, const int32_t *wzs, const int32_t *bias, const float *mult,
					   int32_t yz, int32_t lo, int32_t hi, uint8_t *xp, uint8_t *y, int32_t *acc)
{
#ifdef QDW_X86
	qdw_channels_vnni(v, x, nch, xs, xz, w, wzs, bias, mult, yz, lo, hi, xp, y, acc);
#else
	(void) v, (void) x, (void) nch, (void) xs, (void) xz, (void) w, (void) wzs, (void) bias;
	(void) mult, (void) yz, (void) lo, (void) hi, (void) xp, (void) y, (void) acc;
#endif
}
