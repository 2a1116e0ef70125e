/*-------------------------------------------------------------------------
 *
 * qgemm.c
 *	  The driver of the exact int8 matrix product (qgemm.h): kernel choice,
 *	  packing of A and B, the loops around the microkernels, the zero-point
 *	  corrections, and the portable C microkernel.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "qgemm.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "vecmath.h"
#include "parallel.h"

static int	qgemm_best = -1;
static int	qgemm_cap = ONNX_QGEMM_VNNI;

bool
onnx_qgemm_cpu_has(OnnxQgemmIsa isa)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	switch (isa)
	{
		case ONNX_QGEMM_VNNI:
			return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
				__builtin_cpu_supports("avx512f");
		case ONNX_QGEMM_AVX512BW:
			return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f");
		case ONNX_QGEMM_AVX2:
			return __builtin_cpu_supports("avx2");
		default:
			return true;
	}
#else
	return isa == ONNX_QGEMM_PORTABLE;
#endif
}

OnnxQgemmIsa
onnx_qgemm_isa(void)
{
	int			best = qgemm_best,
				cap;

	if (best < 0)
	{
		best = ONNX_QGEMM_PORTABLE;
		for (int i = ONNX_QGEMM_VNNI; i > ONNX_QGEMM_PORTABLE; i--)
			if (onnx_qgemm_cpu_has((OnnxQgemmIsa) i))
			{
				best = i;
				break;
			}
		qgemm_best = best;
	}
	switch (onnx_vec_isa())
	{
		case ONNX_VEC_PORTABLE:
			cap = ONNX_QGEMM_PORTABLE;
			break;
		case ONNX_VEC_AVX2:
			cap = ONNX_QGEMM_AVX2;
			break;
		default:
			cap = qgemm_cap;
			break;
	}
	return (OnnxQgemmIsa) (best < cap ? best : cap);
}

const char *
onnx_qgemm_isa_name(OnnxQgemmIsa isa)
{
	static const char *const names[] = {"portable", "avx2", "avx512bw", "avx512vnni"};

	return names[isa];
}

void
onnx_qgemm_set_max_isa(int isa)
{
	qgemm_cap = isa;
}

/* Group of k (2 or 4) and bytes per element of a layout. */
static inline int
group_of(OnnxQgemmIsa isa)
{
	return isa == ONNX_QGEMM_VNNI ? 4 : 2;
}

static inline int
elem_of(OnnxQgemmIsa isa)
{
	return isa == ONNX_QGEMM_VNNI ? 1 : 2;
}

#define ALIGN8(x) (((x) + 7) & ~(size_t) 7)

size_t
onnx_qgemm_pack_b_size(OnnxQgemmIsa isa, int64_t K, int64_t N)
{
	int64_t		g = group_of(isa),
				kp,
				panels,
				n;

	if (K < 0 || N < 0 || K > INT32_MAX || N > INT32_MAX)
		return 0;
	kp = (K + g - 1) / g * g;
	panels = (N + ONNX_QGEMM_NR - 1) / ONNX_QGEMM_NR;
	if (__builtin_mul_overflow(panels, kp, &n) || __builtin_mul_overflow(n, ONNX_QGEMM_NR * elem_of(isa), &n) ||
		__builtin_add_overflow(n, (int64_t) (ALIGN8(sizeof(OnnxQgemmB)) + 2 * ALIGN8(sizeof(int32_t) * (size_t) N) + 64), &n))
		return 0;
	return (size_t) n;
}

#if defined(__SSE2__)
/*
 * The VNNI pack of a row-major B (K,N) (pb's fields set, colsum zeroed):
 * column sums by a plain loop over rows (vectorized), then per panel and
 * group of 4 k the 4 x 16 bytes interleaved by SSE2 unpacks into the
 * 64-byte group (byte n*4 + kk = B'[4g+kk, n]); a partial panel or group
 * element by element, zero filled.  uint8 B is shifted by xor 0x80
 * (= v - 128).
 */
static void
pack_b_vnni_rows(OnnxQgemmB *pb, const void *b, int64_t ldb, bool b_signed)
{
	const uint8_t *bu = b;
	int64_t		K = pb->K,
				N = pb->N;
	uint8_t		flip = b_signed ? 0 : 0x80;
	const __m128i vf = _mm_set1_epi8((char) flip);

	for (int64_t k = 0; k < K; k++)
		for (int64_t n = 0; n < N; n++)
			pb->colsum[n] += (int8_t) (bu[k * ldb + n] ^ flip);
	for (int64_t pn = 0; pn < pb->panels; pn++)
	{
		int64_t		n0 = pn * ONNX_QGEMM_NR,
					nn = N - n0 < ONNX_QGEMM_NR ? N - n0 : ONNX_QGEMM_NR;
		uint8_t    *d = (uint8_t *) pb->data + pn * pb->Kp * ONNX_QGEMM_NR;

		for (int64_t k0 = 0; k0 < pb->Kp; k0 += 4, d += 64)
		{
			if (nn == ONNX_QGEMM_NR && k0 + 4 <= K)
			{
				const uint8_t *r = bu + k0 * ldb + n0;
				__m128i		r0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *) r), vf),
							r1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *) (r + ldb)), vf),
							r2 = _mm_xor_si128(_mm_loadu_si128((const __m128i *) (r + 2 * ldb)), vf),
							r3 = _mm_xor_si128(_mm_loadu_si128((const __m128i *) (r + 3 * ldb)), vf),
							t0 = _mm_unpacklo_epi8(r0, r1),
							t1 = _mm_unpackhi_epi8(r0, r1),
							t2 = _mm_unpacklo_epi8(r2, r3),
							t3 = _mm_unpackhi_epi8(r2, r3);

				_mm_storeu_si128((__m128i *) d, _mm_unpacklo_epi16(t0, t2));
				_mm_storeu_si128((__m128i *) (d + 16), _mm_unpackhi_epi16(t0, t2));
				_mm_storeu_si128((__m128i *) (d + 32), _mm_unpacklo_epi16(t1, t3));
				_mm_storeu_si128((__m128i *) (d + 48), _mm_unpackhi_epi16(t1, t3));
				continue;
			}
			for (int64_t j = 0; j < ONNX_QGEMM_NR; j++)
				for (int kk = 0; kk < 4; kk++)
					d[j * 4 + kk] = j < nn && k0 + kk < K ? (uint8_t) (bu[(k0 + kk) * ldb + n0 + j] ^ flip) : 0;
		}
	}
}
#endif

OnnxQgemmB *
onnx_qgemm_pack_b(void *buf, OnnxQgemmIsa isa, int64_t K, int64_t N, const void *b, int64_t ldb,
				  bool trans, bool b_signed, const int32_t *bzp, int64_t nzp)
{
	OnnxQgemmB *pb = buf;
	char	   *p = (char *) buf + ALIGN8(sizeof(OnnxQgemmB));
	int			g = group_of(isa);
	const uint8_t *bu = b;
	const int8_t *bs = b;

	pb->isa = isa;
	pb->K = K;
	pb->N = N;
	pb->Kp = (K + g - 1) / g * g;
	pb->panels = (N + ONNX_QGEMM_NR - 1) / ONNX_QGEMM_NR;
	pb->colsum = (int32_t *) p;
	p += ALIGN8(sizeof(int32_t) * (size_t) N);
	pb->zp = (int32_t *) p;
	p += ALIGN8(sizeof(int32_t) * (size_t) N);
	/* 64-byte alignment of the panels for the vector loads */
	p = (char *) (((uintptr_t) p + 63) & ~(uintptr_t) 63);
	pb->data = p;
	for (int64_t n = 0; n < N; n++)
	{
		pb->colsum[n] = 0;
		pb->zp[n] = (bzp ? bzp[nzp == 1 ? 0 : n] : 0) - (b_signed ? 0 : 128);
	}
#if defined(__SSE2__)
	if (isa == ONNX_QGEMM_VNNI && !trans)
	{
		pack_b_vnni_rows(pb, b, ldb, b_signed);
		return pb;
	}
#endif
	/* written in layout order: panel, group of k, column, k in the group */
	for (int64_t pn = 0; pn < pb->panels; pn++)
	{
		int64_t		n0 = pn * ONNX_QGEMM_NR,
					nn = N - n0 < ONNX_QGEMM_NR ? N - n0 : ONNX_QGEMM_NR;
		int8_t	   *d8 = (int8_t *) pb->data + pn * pb->Kp * ONNX_QGEMM_NR;
		int16_t    *d16 = (int16_t *) pb->data + pn * pb->Kp * ONNX_QGEMM_NR;

		for (int64_t k0 = 0; k0 < pb->Kp; k0 += g)
			for (int64_t j = 0; j < ONNX_QGEMM_NR; j++)
				for (int kk = 0; kk < g; kk++)
				{
					int64_t		k = k0 + kk,
								src = trans ? (n0 + j) * ldb + k : k * ldb + n0 + j;
					int			v = 0;

					if (j < nn && k < K)
					{
						v = b_signed ? bs[src] : bu[src] - 128;
						pb->colsum[n0 + j] += v;
					}
					if (isa == ONNX_QGEMM_VNNI)
						*d8++ = (int8_t) v;
					else
						*d16++ = (int16_t) v;
				}
	}
	return pb;
}

size_t
onnx_qgemm_pack_a_size(const OnnxQgemmB *pb, int64_t M)
{
	int64_t		n;

	if (M < 0 || __builtin_mul_overflow(M, pb->Kp * elem_of(pb->isa), &n) ||
		__builtin_add_overflow(n, 64, &n))
		return 0;
	return (size_t) n;
}

void
onnx_qgemm_pack_a(const OnnxQgemmB *pb, int64_t M, const void *a, int64_t lda, bool a_signed,
				  void *dst, int32_t *rowsum)
{
	int64_t		K = pb->K,
				Kp = pb->Kp;

	for (int64_t m = 0; m < M; m++)
	{
		const uint8_t *src = (const uint8_t *) a + m * lda;
		int32_t		sum = 0;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
		if (pb->isa == ONNX_QGEMM_VNNI)
		{
			/* a VNNI pack exists only where the CPU has AVX-512BW */
			rowsum[m] = onnx_qgemm_row_vnni(src, K, Kp, a_signed ? 0x80 : 0, (uint8_t *) dst + m * Kp);
			continue;
		}
#endif
		if (pb->isa == ONNX_QGEMM_VNNI)
		{
			uint8_t    *d = (uint8_t *) dst + m * Kp;

			if (a_signed)
				for (int64_t k = 0; k < K; k++)
				{
					d[k] = src[k] ^ 0x80;
					sum += d[k];
				}
			else
				for (int64_t k = 0; k < K; k++)
				{
					d[k] = src[k];
					sum += d[k];
				}
			memset(d + K, 0, (size_t) (Kp - K));
		}
		else
		{
			int16_t    *d = (int16_t *) dst + m * Kp;
			uint8_t		x = a_signed ? 0x80 : 0;

			for (int64_t k = 0; k < K; k++)
			{
				d[k] = (uint8_t) (src[k] ^ x);
				sum += d[k];
			}
			for (int64_t k = K; k < Kp; k++)
				d[k] = 0;
		}
		rowsum[m] = sum;
	}
}

bool
onnx_qgemm_a_in_place(const OnnxQgemmB *pb, bool a_signed)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	return pb->isa == ONNX_QGEMM_VNNI && !a_signed && pb->K == pb->Kp;
#else
	return false;
#endif
}

void
onnx_qgemm_row_sums(const OnnxQgemmB *pb, int64_t M, const void *a, int64_t lda, int32_t *rowsum)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	for (int64_t m = 0; m < M; m++)
		rowsum[m] = onnx_qgemm_row_vnni((const uint8_t *) a + m * lda, pb->K, pb->K, 0, NULL);
#else
	(void) pb;
	(void) M;
	(void) a;
	(void) lda;
	(void) rowsum;
#endif
}

/* Portable microkernel on the int16 pair layout; see OnnxQgemmMicro. */
static void
micro_portable(int64_t groups, const void *a, int64_t lda, int mr, const void *b0,
			   const void *b1, int32_t *tile)
{
	for (int i = 0; i < mr; i++)
	{
		const int16_t *ar = (const int16_t *) a + i * lda;

		for (int p = 0; p < 2; p++)
		{
			const int16_t *b = p ? b1 : b0;
			int32_t		acc[ONNX_QGEMM_NR] = {0};

			for (int64_t g = 0; g < groups; g++)
			{
				int32_t		a0 = ar[2 * g],
							a1 = ar[2 * g + 1];
				const int16_t *bg = b + g * 2 * ONNX_QGEMM_NR;

				for (int j = 0; j < ONNX_QGEMM_NR; j++)
					acc[j] += a0 * bg[2 * j] + a1 * bg[2 * j + 1];
			}
			memcpy(tile + i * 32 + p * ONNX_QGEMM_NR, acc, sizeof(acc));
		}
	}
}

static OnnxQgemmMicro
micro_for(OnnxQgemmIsa isa)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	switch (isa)
	{
		case ONNX_QGEMM_VNNI:
			return onnx_qgemm_micro_vnni;
		case ONNX_QGEMM_AVX512BW:
			return onnx_qgemm_micro_avx512bw;
		case ONNX_QGEMM_AVX2:
			return onnx_qgemm_micro_avx2;
		default:
			break;
	}
#endif
	return micro_portable;
}

typedef struct QgemmJob
{
	const OnnxQgemmB *pb;
	int64_t		M;
	const void *ap;
	const int32_t *rowsum;
	const int32_t *azp;
	int64_t		nazp;
	int32_t		ashift;
	int64_t		lda;			/* elements between rows of ap */
	int32_t    *C;
	int64_t		ldc;
	int64_t		n_rblocks;		/* row blocks per task */
} QgemmJob;

/*
 * C rows m0.. (mr of them), columns n0..n0+nn of the raw tile (MR, 32)
 * with the zero points brought back:
 *
 *	 C = raw - bzp'[n] * rowsum[m] - azp'[m] * colsum[n] + K azp'[m] bzp'[n]
 *	   = raw + bzp'[n] * (K azp'[m] - rowsum[m]) - azp'[m] * colsum[n]
 *
 * in wrapping int32 arithmetic (the exact result fits).  Compiled also
 * for AVX-512 and AVX2, chosen at load: the same integer results.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void
correct_tile(const QgemmJob *j, const int32_t *tile, int64_t m0, int mr, int64_t n0, int64_t nn)
{
	const OnnxQgemmB *pb = j->pb;
	const uint32_t *cs = (const uint32_t *) pb->colsum + n0,
			   *bz = (const uint32_t *) pb->zp + n0;

	for (int i = 0; i < mr; i++)
	{
		int64_t		m = m0 + i;
		uint32_t	az = (uint32_t) ((j->azp ? j->azp[j->nazp == 1 ? 0 : m] : 0) + j->ashift);
		uint32_t	t = (uint32_t) pb->K * az - (uint32_t) j->rowsum[m];
		const uint32_t *tr = (const uint32_t *) tile + i * 32;
		int32_t    *c = j->C + m * j->ldc + n0;

		for (int64_t jn = 0; jn < nn; jn++)
			c[jn] = (int32_t) (tr[jn] + bz[jn] * t - az * cs[jn]);
	}
}

/* Task t: rows [t*n_rblocks*MR, ...) against every panel pair. */
static void
qgemm_task(void *arg, int64_t t)
{
	const QgemmJob *j = arg;
	const OnnxQgemmB *pb = j->pb;
	OnnxQgemmMicro micro = micro_for(pb->isa);
	int			g = group_of(pb->isa),
				es = elem_of(pb->isa);
	int64_t		groups = pb->Kp / g,
				pstride = pb->Kp * ONNX_QGEMM_NR * es,
				m_lo = t * j->n_rblocks * ONNX_QGEMM_MR,
				m_hi = m_lo + j->n_rblocks * ONNX_QGEMM_MR;
	int32_t		tile[ONNX_QGEMM_MR * 32];

	if (m_hi > j->M)
		m_hi = j->M;
	for (int64_t p = 0; p < pb->panels; p += 2)
	{
		const char *b0 = (const char *) pb->data + p * pstride;
		const char *b1 = p + 1 < pb->panels ? b0 + pstride : b0;
		int64_t		n0 = p * ONNX_QGEMM_NR,
					nn = pb->N - n0 < 32 ? pb->N - n0 : 32;

		for (int64_t m0 = m_lo; m0 < m_hi; m0 += ONNX_QGEMM_MR)
		{
			int			mr = m_hi - m0 < ONNX_QGEMM_MR ? (int) (m_hi - m0) : ONNX_QGEMM_MR;
			const char *a = (const char *) j->ap + m0 * j->lda * es;

			micro(groups, a, j->lda, mr, b0, b1, tile);
			correct_tile(j, tile, m0, mr, n0, nn);
		}
	}
}

void
onnx_qgemm_run(const OnnxQgemmB *pb, int64_t M, const void *ap, int64_t lda, const int32_t *rowsum,
			   const int32_t *azp, int64_t nazp, bool a_signed, int32_t *C, int64_t ldc,
			   int threads)
{
	QgemmJob	j;
	int64_t		rblocks = (M + ONNX_QGEMM_MR - 1) / ONNX_QGEMM_MR,
				tasks;

	if (M <= 0 || pb->N <= 0)
		return;
	if (pb->K == 0)
	{
		for (int64_t m = 0; m < M; m++)
			memset(C + m * ldc, 0, sizeof(int32_t) * (size_t) pb->N);
		return;
	}
	j.pb = pb;
	j.M = M;
	j.ap = ap;
	j.lda = lda;
	j.rowsum = rowsum;
	j.azp = azp;
	j.nazp = nazp;
	j.ashift = a_signed ? 128 : 0;
	j.C = C;
	j.ldc = ldc;
	if (threads < 1)
		threads = 1;
	/* enough work per task to pay for a thread: about 2^18 multiply-adds */
	tasks = threads > 1 ? rblocks : 1;
	if (tasks > 1)
	{
		int64_t		per = (int64_t) 1 << 18,
					work = ONNX_QGEMM_MR * pb->Kp * pb->N;

		j.n_rblocks = work >= per ? 1 : (per + work - 1) / work;
		tasks = (rblocks + j.n_rblocks - 1) / j.n_rblocks;
	}
	else
		j.n_rblocks = rblocks;
	if (tasks <= 1)
	{
		j.n_rblocks = rblocks;
		qgemm_task(&j, 0);
	}
	else
		onnx_parallel_for(threads, tasks, qgemm_task, &j);
}
