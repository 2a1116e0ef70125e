/*-------------------------------------------------------------------------
 *
 * qmatmul.c
 *	  Integer matrix products of tensors (qmatmul.h): shapes, batching and
 *	  broadcasting, packing of constant weights at load, scratch.
 *
 *-------------------------------------------------------------------------
 */
#include "qmatmul.h"
#include "pack.h"
#include "vecmath.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#define I8MASK (ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8))

void
onnx_qmm_zp(const OnnxTensor *zp, int32_t *out, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = zp == NULL ? 0 : zp->dtype == ONNX_DTYPE_INT8 ?
			((const int8_t *) zp->data)[zp->count == 1 ? 0 : i] :
			((const uint8_t *) zp->data)[zp->count == 1 ? 0 : i];
}

OnnxStatus
onnx_qmm_pack(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err,
			  int b_in, int bzp_in, bool trans)
{
	const OnnxTensor *b = onnx_const_input(g, node, b_in);
	const OnnxTensor *bzp = NULL;
	int64_t		K,
				N;
	int32_t    *zp;
	size_t		bytes;
	QmmPacked  *qp;
	void	   *buf;

	if (b == NULL || b->rank != 2 || !(ONNX_T(b->dtype) & I8MASK))
		return ONNX_OK;
	if (bzp_in >= 0 && bzp_in < node->n_inputs && node->inputs[bzp_in] >= 0)
	{
		if ((bzp = onnx_const_input(g, node, bzp_in)) == NULL)
			return ONNX_OK;
		if (bzp->dtype != b->dtype)
			return ONNX_OK;		/* the run reports it */
	}
	K = trans ? b->dims[1] : b->dims[0];
	N = trans ? b->dims[0] : b->dims[1];
	if (bzp && bzp->count != 1 && bzp->count != N)
		return ONNX_OK;
	if ((bytes = onnx_qgemm_pack_b_size(onnx_qgemm_isa(), K, N)) == 0)
		return ONNX_OK;
	qp = onnx_arena_alloc(arena, sizeof(QmmPacked));
	buf = onnx_arena_alloc(arena, bytes);
	zp = onnx_arena_alloc(arena, sizeof(int32_t) * (size_t) (N ? N : 1));
	if (!qp || !buf || !zp)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing weights");
	onnx_qmm_zp(bzp, zp, N);
	qp->pb = onnx_qgemm_pack_b(buf, onnx_qgemm_isa(), K, N, b->data, b->dims[1], trans,
							   b->dtype == ONNX_DTYPE_INT8, zp, N);
	node->prepared = qp;
	return ONNX_OK;
}

OnnxQgemmB *
onnx_qmm_pack_now(OnnxKernelCtx *ctx, int64_t K, int64_t N, const void *b, int64_t ldb,
				  bool trans, bool b_signed, const int32_t *bzp, int64_t nzp)
{
	size_t		bytes = onnx_qgemm_pack_b_size(onnx_qgemm_isa(), K, N);
	void	   *buf;

	if (bytes == 0)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "matrix of %lld x %lld is too large",
						 (long long) K, (long long) N);
		return NULL;
	}
	if ((buf = onnx_kernel_alloc(ctx, bytes)) == NULL)
		return NULL;
	return onnx_qgemm_pack_b(buf, onnx_qgemm_isa(), K, N, b, ldb, trans, b_signed, bzp, nzp);
}

bool
onnx_qmm_2d(OnnxKernelCtx *ctx, const OnnxQgemmB *pb, int64_t M, const void *a, int64_t lda,
			bool a_signed, const int32_t *azp, int64_t nazp, int32_t *c, int64_t ldc)
{
	size_t		bytes = onnx_qgemm_pack_a_size(pb, M);
	void	   *ap;
	int32_t    *rs;

	if (M <= 0)
		return true;
	if (bytes == 0)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "matrix too large");
		return false;
	}
	if ((rs = onnx_kernel_alloc(ctx, sizeof(int32_t) * (size_t) M)) == NULL)
		return false;
	if (onnx_qgemm_a_in_place(pb, a_signed))
	{
		/* uint8 rows with K a multiple of 4 are the VNNI layout already */
		onnx_qgemm_row_sums(pb, M, a, lda, rs);
		onnx_qgemm_run(pb, M, a, lda, rs, azp, nazp, a_signed, c, ldc, onnx_kernel_threads(ctx));
		onnx_kernel_free(ctx, rs);
		return true;
	}
	if ((ap = onnx_kernel_alloc(ctx, bytes)) == NULL)
	{
		onnx_kernel_free(ctx, rs);
		return false;
	}
	onnx_qgemm_pack_a(pb, M, a, lda, a_signed, ap, rs);
	onnx_qgemm_run(pb, M, ap, pb->Kp, rs, azp, nazp, a_signed, c, ldc, onnx_kernel_threads(ctx));
	onnx_kernel_free(ctx, rs);
	onnx_kernel_free(ctx, ap);
	return true;
}

OnnxStatus
onnx_qmm_shape(OnnxKernelCtx *ctx, const OnnxTensor *a, const OnnxTensor *b, int *orank,
			   int64_t *odims, int64_t *count)
{
	int64_t		M,
				K,
				N,
				Kb,
				nbatch = 1;
	int			ra,
				rb,
				rbatch;
	int64_t		batch[ONNX_MAX_RANK];

	if (a == NULL || b == NULL || a->rank < 1 || b->rank < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "A and B must have rank 1 or more");
	if (!(I8MASK & ONNX_T(a->dtype)) || !(I8MASK & ONNX_T(b->dtype)))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "A and B must be int8 or uint8, got %s and %s",
								onnx_dtype_name(a->dtype), onnx_dtype_name(b->dtype));
	M = a->rank == 1 ? 1 : a->dims[a->rank - 2];
	K = a->dims[a->rank - 1];
	Kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
	N = b->rank == 1 ? 1 : b->dims[b->rank - 1];
	if (K != Kb)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "inner dimensions differ (%lld, %lld)",
								(long long) K, (long long) Kb);
	if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "matrix dimensions exceed 2^31");
	ra = a->rank > 2 ? a->rank - 2 : 0;
	rb = b->rank > 2 ? b->rank - 2 : 0;
	if (!onnx_broadcast_shape(ra, a->dims, rb, b->dims, &rbatch, batch))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "batch dimensions do not broadcast");
	*orank = 0;
	for (int i = 0; i < rbatch; i++)
	{
		odims[(*orank)++] = batch[i];
		if (onnx_mul_overflow_i64(nbatch, batch[i], &nbatch))
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "batch size overflows");
	}
	if (a->rank > 1)
		odims[(*orank)++] = M;
	if (b->rank > 1)
		odims[(*orank)++] = N;
	if (onnx_mul_overflow_i64(nbatch, M, count) || onnx_mul_overflow_i64(*count, N, count))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "output size overflows");
	return ONNX_OK;
}

OnnxStatus
onnx_qmm_run(OnnxKernelCtx *ctx, const OnnxTensor *a, const OnnxTensor *azp, const OnnxTensor *b,
			 const OnnxTensor *bzp, const QmmPacked *pre, int32_t *c)
{
	int64_t		M = a->rank == 1 ? 1 : a->dims[a->rank - 2],
				K = a->dims[a->rank - 1],
				N = b->rank == 1 ? 1 : b->dims[b->rank - 1],
				nbatch = 1;
	int			ra = a->rank > 2 ? a->rank - 2 : 0,
				rb = b->rank > 2 ? b->rank - 2 : 0,
				rbatch;
	int64_t		batch[ONNX_MAX_RANK];
	int32_t    *az = NULL,
			   *bz = NULL;
	OnnxTensor	ta,
				tb,
				tbatch;
	const OnnxTensor *bins[2];
	OnnxBcastIter it;
	OnnxStatus	st = ONNX_OK;
	bool		a_signed = a->dtype == ONNX_DTYPE_INT8;

	if ((azp && (azp->dtype != a->dtype || (azp->count != 1 && !(azp->rank == 1 && azp->dims[0] == M)))) ||
		(bzp && (bzp->dtype != b->dtype || (bzp->count != 1 && !(bzp->rank == 1 && bzp->dims[0] == N)))))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"zero points must have their input's type and be scalars, [M] for A or [N] for B");
	if (pre && (pre->pb->K != K || pre->pb->N != N || b->rank != 2))
		pre = NULL;
	if ((az = onnx_kernel_scratch(ctx, (size_t) (M + N), sizeof(int32_t))) == NULL)
		return ctx->err->status;
	bz = az + M;
	onnx_qmm_zp(azp, az, M);
	onnx_qmm_zp(bzp, bz, N);
	onnx_broadcast_shape(ra, a->dims, rb, b->dims, &rbatch, batch);
	for (int i = 0; i < rbatch; i++)
		nbatch *= batch[i];

	/* a constant 2-D B: all of A's rows in one product */
	if (pre && !(azp && azp->count != 1 && nbatch > 1))
	{
		if (!onnx_qmm_2d(ctx, pre->pb, nbatch * M, a->data, K, a_signed, az, azp && azp->count != 1 ? M : 1, c, N))
			st = ctx->err->status;
		return st;
	}
	memset(&tbatch, 0, sizeof(tbatch));
	tbatch.rank = rbatch;
	memcpy(tbatch.dims, batch, sizeof(int64_t) * (size_t) rbatch);
	ta = *a;
	tb = *b;
	ta.rank = ra;
	tb.rank = rb;
	bins[0] = &ta;
	bins[1] = &tb;
	onnx_bcast_init(&it, &tbatch, 2, bins);
	for (int64_t bi = 0; bi < nbatch && st == ONNX_OK; bi++, onnx_bcast_next(&it))
	{
		const OnnxQgemmB *pb = pre ? pre->pb : NULL;
		OnnxQgemmB *tmp = NULL;

		if (onnx_kernel_should_abort(ctx))
		{
			st = onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			break;
		}
		if (pb == NULL &&
			(pb = tmp = onnx_qmm_pack_now(ctx, K, N, (const uint8_t *) b->data + it.off[1] * K * N, N,
										  false, b->dtype == ONNX_DTYPE_INT8, bz, N)) == NULL)
			st = ctx->err->status;
		else if (!onnx_qmm_2d(ctx, pb, M, (const uint8_t *) a->data + it.off[0] * M * K, K, a_signed,
							  az, azp && azp->count != 1 ? M : 1, c + bi * M * N, N))
			st = ctx->err->status;
		if (tmp)
			onnx_kernel_free(ctx, tmp);
	}
	return st;
}

/*
 * q = saturate(round_half_even(x / scale) + zp) to uint8, NaN to 0: the
 * rounding by adding and subtracting 1.5 * 2^23, exact for |x / scale| <
 * 2^22 in the default rounding mode (larger values are clamped to 1e6
 * first, far outside [0, 255] either way), so the loop vectorizes.
 *
 * x / scale is one division per element, or with use_fma (the levels
 * with FMA) vecmath.h's onnx_div_rn_fma, the correctly rounded quotient
 * below 1e6 in magnitude, so every code is the division's (quotients past
 * +-1e6, NaN and inf are clamped, or NaN, either way).
 */
ONNX_VEC_INLINE void
quantize_u8_any(const float *x, int64_t n, float scale, float zp, uint8_t *q, bool use_fma)
{
	const float magic = 12582912.0f,
				r = 1.0f / scale;

	for (int64_t i = 0; i < n; i++)
	{
		float		a = use_fma ? onnx_div_rn_fma(x[i], scale, r) : x[i] / scale,
					v;

		a = a < -1e6f ? -1e6f : a;
		a = a > 1e6f ? 1e6f : a;
		v = ((a + magic) - magic) + zp;
		v = v < 0.0f ? 0.0f : v;
		v = v > 255.0f ? 255.0f : v;
		q[i] = a == a ? (uint8_t) (int32_t) v : 0;
	}
}

ONNX_VEC_INLINE void
quantize_u8_div_body(const float *x, int64_t n, float scale, float zp, uint8_t *q)
{
	quantize_u8_any(x, n, scale, zp, q, false);
}

ONNX_VEC_INLINE void
quantize_u8_fma_body(const float *x, int64_t n, float scale, float zp, uint8_t *q)
{
	quantize_u8_any(x, n, scale, zp, q, true);
}

ONNX_VEC_DISPATCH(static, quantize_u8_div, quantize_u8_div_body,
				  (const float *x, int64_t n, float scale, float zp, uint8_t *q),
				  (x, n, scale, zp, q))
ONNX_VEC_DISPATCH(static, quantize_u8_fma, quantize_u8_fma_body,
				  (const float *x, int64_t n, float scale, float zp, uint8_t *q),
				  (x, n, scale, zp, q))

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * quantize_u8_any with use_fma in AVX-512 instructions, 16 floats a step,
 * the tail under a mask: the same codes (the clamps as max / min, the
 * rounding by roundscale to nearest even, NaN lanes zeroed by a mask).
 */
__attribute__((target("avx512f,avx512bw,avx512vl,fma")))
static void
quantize_u8_x512(const float *x, int64_t n, float scale, float zp, uint8_t *q)
{
	const __m512 vs = _mm512_set1_ps(scale),
				vr = _mm512_set1_ps(1.0f / scale),
				vz = _mm512_set1_ps(zp),
				lo = _mm512_set1_ps(-1e6f),
				hi = _mm512_set1_ps(1e6f),
				zero = _mm512_setzero_ps(),
				top = _mm512_set1_ps(255.0f);

	for (int64_t i = 0; i < n; i += 16)
	{
		__mmask16	m = n - i >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (n - i)) - 1);
		__m512		a = onnx_div_rn_x512(_mm512_maskz_loadu_ps(m, x + i), vs, vr),
					v;
		__mmask16	ok = _mm512_cmp_ps_mask(a, a, _CMP_ORD_Q);

		a = _mm512_min_ps(_mm512_max_ps(a, lo), hi);
		v = _mm512_add_ps(_mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), vz);
		v = _mm512_min_ps(_mm512_max_ps(v, zero), top);
		_mm512_mask_cvtepi32_storeu_epi8(q + i, m, _mm512_maskz_cvttps_epi32(ok, v));
	}
}

/*
 * One vector of quantize_u8_x512's quotients (onnx_div_rn_x512), clamped
 * to [-1e6, 1e6] and rounded to nearest even as int32: an infinite x
 * gives +-1e6, and a NaN x -1e6 (max returns its second operand), which
 * saturates to code 0.
 */
__attribute__((target("avx512f,avx512bw,avx512vl,fma")))
static inline __m512i
quantize_u8_rne(__m512 xv, __m512 vs, __m512 vr)
{
	__m512		a = onnx_div_rn_x512(xv, vs, vr);

	a = _mm512_min_ps(_mm512_max_ps(a, _mm512_set1_ps(-1e6f)), _mm512_set1_ps(1e6f));
	return _mm512_cvt_roundps_epi32(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/*
 * quantize_u8_x512, 64 floats a step in integers: the rounded quotients
 * (at most 1e6) saturated to int16, zp added with int16 saturation, then
 * saturated to [0, 255], which is round(x / scale) + zp clamped to
 * [0, 255] as the float steps compute it (zp is in [0, 255], so a
 * saturated quotient still clamps to the same end); NaN gives 0.  The
 * tail (n % 64) is quantize_u8_x512's.
 */
__attribute__((target("avx512f,avx512bw,avx512vl,fma")))
static void
quantize_u8_x512_wide(const float *x, int64_t n, float scale, float zp, uint8_t *q)
{
	const __m512 vs = _mm512_set1_ps(scale),
				vr = _mm512_set1_ps(1.0f / scale);
	const __m512i vz = _mm512_set1_epi16((int16_t) zp),
				order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
	int64_t		i = 0;

	for (; i + 64 <= n; i += 64)
	{
		__m512i		a = quantize_u8_rne(_mm512_loadu_ps(x + i), vs, vr),
					b = quantize_u8_rne(_mm512_loadu_ps(x + i + 16), vs, vr),
					c = quantize_u8_rne(_mm512_loadu_ps(x + i + 32), vs, vr),
					d = quantize_u8_rne(_mm512_loadu_ps(x + i + 48), vs, vr),
					ab = _mm512_adds_epi16(_mm512_packs_epi32(a, b), vz),
					cd = _mm512_adds_epi16(_mm512_packs_epi32(c, d), vz);

		/* per 128-bit lane j: a, b, c, d's elements 4j..4j+3, put in order */
		_mm512_storeu_si512((void *) (q + i), _mm512_permutexvar_epi32(order, _mm512_packus_epi16(ab, cd)));
	}
	if (i < n)
		quantize_u8_x512(x + i, n - i, scale, zp, q + i);
}
#endif

void
onnx_qmm_quantize_u8(const float *x, int64_t n, float scale, float zp, uint8_t *q)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (onnx_vec_isa() == ONNX_VEC_AVX512)
	{
		quantize_u8_x512_wide(x, n, scale, zp, q);
		return;
	}
#endif
	/* the portable level divides (its fmaf would be a libm call) */
	if (onnx_vec_isa() != ONNX_VEC_PORTABLE)
		quantize_u8_fma(x, n, scale, zp, q);
	else
		quantize_u8_div(x, n, scale, zp, q);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * min(0, x...) and max(0, x...) as the scalar loop below: vminps(x, m)
 * keeps m where x is NaN or equal, as "x < m ? x : m" does, so NaN is
 * skipped and the result does not depend on the order; four accumulators
 * (the min / max latency), tails masked.
 */
__attribute__((target("avx512f")))
static void
range_x512(const float *x, int64_t n, float *mn, float *mx)
{
	__m512		lo[4],
				hi[4];
	int64_t		i = 0;

	for (int k = 0; k < 4; k++)
		lo[k] = hi[k] = _mm512_setzero_ps();
	for (; i + 64 <= n; i += 64)
		for (int k = 0; k < 4; k++)
		{
			__m512		v = _mm512_loadu_ps(x + i + 16 * k);

			lo[k] = _mm512_min_ps(v, lo[k]);
			hi[k] = _mm512_max_ps(v, hi[k]);
		}
	for (; i < n; i += 16)
	{
		__mmask16	m = n - i >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (n - i)) - 1);
		__m512		v = _mm512_maskz_loadu_ps(m, x + i);

		lo[0] = _mm512_min_ps(v, lo[0]);
		hi[0] = _mm512_max_ps(v, hi[0]);
	}
	*mn = _mm512_reduce_min_ps(_mm512_min_ps(_mm512_min_ps(lo[0], lo[1]), _mm512_min_ps(lo[2], lo[3])));
	*mx = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(hi[0], hi[1]), _mm512_max_ps(hi[2], hi[3])));
}

/* range_x512 in AVX: 8 floats a vector, two accumulators, the tail scalar */
__attribute__((target("avx")))
static void
range_x256(const float *x, int64_t n, float *mn, float *mx)
{
	__m256		lo0 = _mm256_setzero_ps(),
				lo1 = lo0,
				hi0 = lo0,
				hi1 = lo0;
	float		l[8],
				h[8],
				rl = 0,
				rh = 0;
	int64_t		i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		v0 = _mm256_loadu_ps(x + i),
					v1 = _mm256_loadu_ps(x + i + 8);

		lo0 = _mm256_min_ps(v0, lo0);
		hi0 = _mm256_max_ps(v0, hi0);
		lo1 = _mm256_min_ps(v1, lo1);
		hi1 = _mm256_max_ps(v1, hi1);
	}
	_mm256_storeu_ps(l, _mm256_min_ps(lo0, lo1));
	_mm256_storeu_ps(h, _mm256_max_ps(hi0, hi1));
	for (int k = 0; k < 8; k++)
	{
		rl = l[k] < rl ? l[k] : rl;
		rh = h[k] > rh ? h[k] : rh;
	}
	for (; i < n; i++)
	{
		rl = x[i] < rl ? x[i] : rl;
		rh = x[i] > rh ? x[i] : rh;
	}
	*mn = rl;
	*mx = rh;
}
#endif

void
onnx_qmm_range(const float *x, int64_t n, float *mn, float *mx)
{
	float		lo = 0,
				hi = 0;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (onnx_vec_isa() == ONNX_VEC_AVX512)
	{
		range_x512(x, n, mn, mx);
		return;
	}
	if (onnx_vec_isa() == ONNX_VEC_AVX2)
	{
		range_x256(x, n, mn, mx);
		return;
	}
#endif
	for (int64_t i = 0; i < n; i++)
	{
		lo = x[i] < lo ? x[i] : lo;
		hi = x[i] > hi ? x[i] : hi;
	}
	*mn = lo;
	*mx = hi;
}

void
onnx_qmm_dyn_quantize(const float *x, int64_t n, uint8_t *q, float *scale, int32_t *zp)
{
	float		mn,
				mx,
				s,
				z;

	onnx_qmm_range(x, n, &mn, &mx);
	s = mx == mn ? 1.0f : (mx - mn) / 255.0f;
	z = (float) qmm_sat_round(0.0f - mn / s, 0, 255);
	*scale = s;
	*zp = (int32_t) z;
	onnx_qmm_quantize_u8(x, n, s, z, q);
}
