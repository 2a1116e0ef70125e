/*-------------------------------------------------------------------------
 *
 * test_gemm.c
 *	  Unit tests of the engine's SGEMM (engine/src/gemm.c) and thread
 *	  pool (engine/src/parallel.c): every microkernel the CPU runs
 *	  (forced in turn: portable C, AVX2, AVX-512) against a naive triple
 *	  loop in double, for many shapes (M, N, K from 1 to 70 and some
 *	  larger than the cache blocks), all transposes, alpha/beta, leading
 *	  dimensions larger than the rows, prepacked A and B, and 1 or 2
 *	  threads.  Also checks that nothing outside C's corner is written
 *	  and that beta == 0 does not read C, and row invariance: every row of
 *	  C has the same bits computed alone, in blocks of any size or in the
 *	  whole product (packed or not, transposed or not, 1 or 2 threads).
 *
 *	  usage: test_gemm [-v]
 *	  Prints "ok"/"not ok" per check and a last line "N passed, N failed".
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"
#include "gemm.h"
#include "parallel.h"


static int	passed,
			failed;
static bool verbose;

#define CHECK(cond, ...) do { \
	if (cond) { passed++; if (verbose) { printf("ok - "); printf(__VA_ARGS__); printf("\n"); } } \
	else { failed++; printf("not ok - "); printf(__VA_ARGS__); printf(" (%s:%d)\n", __FILE__, __LINE__); } \
} while (0)

static uint64_t rng = 88172645463325252ull;

static float
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float) ((rng >> 11) % 2001) / 1000.0f - 1.0f;
}

/* Which operands to prepack. */
enum
{
	PACK_NONE = 0, PACK_A = 1, PACK_B = 2, PACK_BOTH = 3
};

/* Guard value around C's corner: written means a bug. */
#define GUARD 12345.0f

/*
 * Options of run_case that test_epilogue sets (and resets): the epilogue
 * (bias N values and/or Relu) and a leading dimension of A in place of
 * the padded one (0: padded).
 */
static bool case_bias,
			case_relu;
static int64_t case_lda;

/*
 * One case: C (M,N) = alpha op(A) op(B) + beta C (+ bias, then Relu) with
 * padded leading dimensions, compared element by element against a
 * double reference with a bound scaled by K (float rounding of a K-term
 * sum).
 */
static bool
run_case(int64_t M, int64_t N, int64_t K, bool ta, bool tb, float alpha, float beta,
		 int pack, int threads, bool via_blas, char *why, size_t whylen)
{
	int64_t		ar = ta ? K : M,
				ac = ta ? M : K,
				br = tb ? N : K,
				bc = tb ? K : N;
	int64_t		lda = case_lda > 0 ? case_lda : ac + 3,
				ldb = bc + 5,
				ldc = N + 2;
	float	   *bias = malloc(sizeof(float) * (size_t) (N + 1));
	OnnxGemmEpilogue ep = {case_bias ? bias : NULL, case_relu};
	float	   *A = malloc(sizeof(float) * (size_t) (ar * lda + 1)),
			   *B = malloc(sizeof(float) * (size_t) (br * ldb + 1)),
			   *C = malloc(sizeof(float) * (size_t) (M * ldc + 1)),
			   *C0 = malloc(sizeof(float) * (size_t) (M * ldc + 1));
	void	   *bufa = NULL,
			   *bufb = NULL;
	const OnnxGemmPacked *pa = NULL,
			   *pb = NULL;
	size_t		bytes;
	bool		ok = true;

	for (int64_t i = 0; i < ar * lda; i++)
		A[i] = rnd();
	for (int64_t i = 0; i < br * ldb; i++)
		B[i] = rnd();
	for (int64_t j = 0; j < N; j++)
		bias[j] = rnd();
	for (int64_t i = 0; i < M * ldc; i++)
		C0[i] = (i % ldc) < N ? rnd() : GUARD;
	memcpy(C, C0, sizeof(float) * (size_t) (M * ldc));
	if (beta == 0.0f)			/* C must not be read: NaN would show */
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++)
				C[i * ldc + j] = NAN;
	if ((pack & PACK_A) && onnx_sgemm_pack_size(ONNX_GEMM_PACK_A, M, K, &bytes))
	{
		bufa = malloc(bytes);
		pa = onnx_sgemm_pack_a(bufa, bytes, ta, M, K, A, lda);
	}
	if ((pack & PACK_B) && onnx_sgemm_pack_size(ONNX_GEMM_PACK_B, K, N, &bytes))
	{
		bufb = malloc(bytes);
		pb = onnx_sgemm_pack_b(bufb, bytes, tb, K, N, B, ldb);
	}
	if (((pack & PACK_A) && pa == NULL) || ((pack & PACK_B) && pb == NULL))
	{
		snprintf(why, whylen, "packing failed");
		ok = false;
	}
	else if (via_blas)
	{
		onnx_blas_set_threads(threads);
		onnx_blas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
	}
	else if (case_bias || case_relu)
		onnx_sgemm_packed_ep(M, N, K, alpha, ta, A, lda, pa, tb, B, ldb, pb, beta, C, ldc, threads, &ep);
	else
		onnx_sgemm_packed(M, N, K, alpha, ta, A, lda, pa, tb, B, ldb, pb, beta, C, ldc, threads);

	for (int64_t i = 0; ok && i < M; i++)
		for (int64_t j = 0; ok && j < ldc; j++)
		{
			double		ref = 0,
						mag = 0,
						tol;
			float		got = C[i * ldc + j];

			if (j >= N)
			{
				if (got != GUARD)
				{
					snprintf(why, whylen, "wrote C[%lld][%lld] outside the %lldx%lld corner",
							 (long long) i, (long long) j, (long long) M, (long long) N);
					ok = false;
				}
				continue;
			}
			for (int64_t k = 0; k < K; k++)
			{
				double		p = (double) (ta ? A[k * lda + i] : A[i * lda + k]) *
				(double) (tb ? B[j * ldb + k] : B[k * ldb + j]);

				ref += p;
				mag += fabs(p);
			}
			ref = alpha * ref + (beta != 0.0f ? (double) beta * C0[i * ldc + j] : 0.0);
			mag = fabs(alpha) * mag + fabs((double) beta * C0[i * ldc + j]);
			if (case_bias)
			{
				ref += bias[j];
				mag += fabs(bias[j]);
			}
			if (case_relu && ref < 0)
				ref = 0;
			/* float sum of K+1 products: |error| <= (K+2) eps sum|terms| */
			tol = (double) (K + 2) * 1.2e-7 * mag + 1e-30;
			if (!(fabs((double) got - ref) <= tol))
			{
				snprintf(why, whylen, "C[%lld][%lld] = %.9g, expected %.9g (bound %.3g)",
						 (long long) i, (long long) j, got, ref, tol);
				ok = false;
			}
		}
	free(A);
	free(B);
	free(C);
	free(C0);
	free(bufa);
	free(bufb);
	free(bias);
	return ok;
}

static const char *
isa_name(OnnxGemmIsa isa)
{
	return isa == ONNX_GEMM_ISA_REF ? "ref" : isa == ONNX_GEMM_ISA_AVX2 ? "avx2" : "avx512";
}

/* Small shapes of every edge: all transposes, alpha/beta, packing, per kernel. */
static void
test_small_shapes(OnnxGemmIsa isa)
{
	static const int64_t mn[] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 15, 16, 17, 29, 31, 32, 33, 47, 70};
	static const int64_t ks[] = {1, 2, 3, 7, 8, 9, 16, 17, 33, 70};
	static const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}, {1.0f, 1.0f}};
	int			n_bad = 0,
				n = 0,
				variant = 0;
	char		why[256],
				first[512] = "";

	for (size_t mi = 0; mi < sizeof(mn) / sizeof(mn[0]); mi++)
		for (size_t ni = 0; ni < sizeof(mn) / sizeof(mn[0]); ni++)
			for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++, variant++)
			{
				bool		ta = (variant & 1) != 0,
							tb = (variant & 2) != 0;
				const float *x = ab[(variant >> 2) % 4];
				int			pack = (variant / 16) % 4;

				n++;
				if (!run_case(mn[mi], mn[ni], ks[ki], ta, tb, x[0], x[1], pack, 1, false, why, sizeof(why)))
				{
					if (n_bad++ == 0)
						snprintf(first, sizeof(first), "M=%lld N=%lld K=%lld ta=%d tb=%d alpha=%g beta=%g pack=%d: %s",
								 (long long) mn[mi], (long long) mn[ni], (long long) ks[ki], ta, tb,
								 x[0], x[1], pack, why);
				}
			}
	CHECK(n_bad == 0, "%s: %d small shapes (M, N in 1..70, K in 1..70, transposes, alpha/beta, packing) match the naive loop%s%s",
		  isa_name(isa), n, n_bad ? "; first failure: " : "", first);
}

/* Shapes beyond the cache blocks (several KC and MC blocks), threads 1 and 2. */
static void
test_large_shapes(OnnxGemmIsa isa)
{
	static const int64_t shapes[][3] = {
		{300, 257, 513}, {129, 1000, 300}, {1, 700, 600}, {3, 333, 1030}, {250, 40, 270}, {64, 3136, 27}
	};
	char		why[256];

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (int v = 0; v < 4; v++)
		{
			bool		ta = v == 1,
						tb = v >= 2;
			int			pack = v == 2 ? PACK_B : v == 3 ? PACK_A : PACK_NONE;
			int			threads = 1 + (v & 1);

			CHECK(run_case(shapes[s][0], shapes[s][1], shapes[s][2], ta, tb, 1.5f, v == 3 ? 0.0f : 0.5f,
						   pack, threads, false, why, sizeof(why)),
				  "%s: M=%lld N=%lld K=%lld ta=%d tb=%d pack=%d threads=%d %s",
				  isa_name(isa), (long long) shapes[s][0], (long long) shapes[s][1],
				  (long long) shapes[s][2], ta, tb, pack, threads, why);
		}
	/* many threads on a shape split by rows, then by columns */
	CHECK(run_case(700, 20, 50, false, false, 1.0f, 0.0f, PACK_NONE, 4, false, why, sizeof(why)),
		  "%s: row split over 4 threads %s", isa_name(isa), why);
	CHECK(run_case(20, 900, 60, false, true, 1.0f, 1.0f, PACK_B, 3, false, why, sizeof(why)),
		  "%s: column split over 3 threads, packed B %s", isa_name(isa), why);
}

/*
 * The epilogue (bias, Relu, both) over small and large shapes (bias
 * added once when K spans several depth blocks; at the right columns
 * when threads split the columns), narrow outputs (N <= 16, the
 * one-vector tiles), and A rows 4 KiB apart (lda 1024: A packed, not
 * read in place) against the padded lda (read in place).
 */
static void
test_epilogue(OnnxGemmIsa isa)
{
	static const int64_t mn[] = {1, 3, 6, 7, 14, 15, 16, 17, 33, 64, 70};
	static const int64_t ks[] = {1, 5, 16, 33, 257};
	static const int64_t big[][3] = {{64, 10, 256}, {130, 300, 600}, {29, 700, 513}};
	int			n_bad = 0,
				n = 0,
				variant = 0;
	char		why[256],
				first[512] = "";

	for (size_t mi = 0; mi < sizeof(mn) / sizeof(mn[0]); mi++)
		for (size_t ni = 0; ni < sizeof(mn) / sizeof(mn[0]); ni++)
			for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++, variant++)
			{
				bool		tb = (variant & 1) != 0;
				int			pack = (variant / 2) % 3 == 1 ? PACK_B : (variant / 2) % 3 == 2 ? PACK_A : PACK_NONE;
				float		beta = variant % 5 == 0 ? 0.5f : 0.0f;

				case_bias = variant % 3 != 2;
				case_relu = variant % 3 != 0;
				case_lda = (variant / 6) % 2 ? 1024 : 0;
				n++;
				if (!run_case(mn[mi], mn[ni], ks[ki], false, tb, 1.5f, beta, pack, 1, false, why, sizeof(why)) &&
					n_bad++ == 0)
					snprintf(first, sizeof(first), "M=%lld N=%lld K=%lld tb=%d pack=%d bias=%d relu=%d lda=%lld: %s",
							 (long long) mn[mi], (long long) mn[ni], (long long) ks[ki], tb, pack,
							 case_bias, case_relu, (long long) case_lda, why);
			}
	for (size_t s = 0; s < sizeof(big) / sizeof(big[0]); s++)
		for (int v = 0; v < 6; v++)
		{
			case_bias = v != 1;
			case_relu = v != 0;
			case_lda = v == 5 ? 1024 : 0;
			n++;
			if (!run_case(big[s][0], big[s][1], big[s][2], v == 4, v == 2, 1.0f, v == 3 ? 1.0f : 0.0f,
						  v >= 2 ? PACK_B : PACK_NONE, 1 + (v & 1), false, why, sizeof(why)) && n_bad++ == 0)
				snprintf(first, sizeof(first), "M=%lld N=%lld K=%lld v=%d: %s", (long long) big[s][0],
						 (long long) big[s][1], (long long) big[s][2], v, why);
		}
	case_bias = case_relu = false;
	case_lda = 0;
	CHECK(n_bad == 0, "%s: %d products with a bias and/or Relu epilogue, narrow outputs, A in place "
		  "and packed, match the naive loop%s%s", isa_name(isa), n, n_bad ? "; first failure: " : "", first);
}

/* K == 0, empty outputs, and the onnx_blas_sgemm entry point. */
static void
test_degenerate(void)
{
	float		C[6] = {1, 2, 3, 4, 5, 6};
	char		why[256];

	onnx_sgemm(false, false, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 2.0f, C, 3, 1);
	CHECK(C[0] == 2 && C[5] == 12, "K == 0 scales C by beta");
	C[0] = NAN;
	onnx_sgemm(false, false, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, C, 3, 1);
	CHECK(C[0] == 0 && C[5] == 0, "K == 0 with beta 0 clears C, NaN included");
	onnx_sgemm(false, false, 0, 3, 4, 1.0f, NULL, 4, NULL, 3, 0.0f, NULL, 3, 1);
	onnx_sgemm(false, false, 3, 0, 4, 1.0f, NULL, 4, NULL, 3, 0.0f, NULL, 3, 1);
	CHECK(true, "M == 0 and N == 0 touch nothing");
	for (int64_t m = 1; m <= 6; m++)
		CHECK(run_case(m, 77, 91, m % 2 == 0, m % 3 == 0, 1.0f, m > 3 ? 1.0f : 0.0f, PACK_NONE,
					   1 + (m == 5), true, why, sizeof(why)),
			  "onnx_blas_sgemm M=%lld %s", (long long) m, why);
	CHECK(run_case(200, 300, 100, true, true, 0.75f, -1.0f, PACK_NONE, 2, true, why, sizeof(why)),
		  "onnx_blas_sgemm 200x300x100 transposed, 2 threads %s", why);
}

/* Pack sizes overflow-checked, a short buffer refused. */
static void
test_pack_api(void)
{
	size_t		bytes;
	float		A[6] = {1, 2, 3, 4, 5, 6};
	char		small[64];

	CHECK(!onnx_sgemm_pack_size(ONNX_GEMM_PACK_B, INT64_MAX / 2, INT64_MAX / 2, &bytes),
		  "pack size overflow is refused");
	CHECK(!onnx_sgemm_pack_size(ONNX_GEMM_PACK_A, INT64_MAX, 2, &bytes), "pack size of INT64_MAX rows refused");
	CHECK(!onnx_sgemm_pack_size(ONNX_GEMM_PACK_A, -1, 2, &bytes), "negative pack size refused");
	CHECK(onnx_sgemm_pack_a(small, sizeof(small), false, 2, 3, A, 3) == NULL, "short pack buffer refused");
	CHECK(onnx_sgemm_pack_size(ONNX_GEMM_PACK_A, 2, 3, &bytes) && bytes > sizeof(small),
		  "pack size covers header and padded panels");
}

/*
 * Row invariance (gemm.h): C (M,N) computed whole, then again in blocks
 * of rows (1, 2, 3, 5, 14, 17, ...): every row must have the same bits.
 * Through onnx_sgemm_packed (B packed or not) and onnx_blas_sgemm.
 */
static void
test_row_invariance(OnnxGemmIsa isa)
{
	static const int64_t shapes[][3] = {{300, 256, 256}, {130, 10, 700}, {77, 45, 3}, {41, 1000, 33}};
	static const int64_t blocks[] = {1, 2, 3, 4, 5, 7, 14, 17, 32, 64};
	int			cases = 0,
				bad = 0;
	char		first[256] = "";

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (int v = 0; v < 12; v++)
		{
			int64_t		M = shapes[s][0],
						N = shapes[s][1],
						K = shapes[s][2];
			bool		ta = (v & 1) != 0,
						tb = (v & 2) != 0;
			bool		packed = (v & 4) != 0 && v < 8,
						via_blas = v >= 8;
			int			threads = 1 + (v % 3 == 0);
			float		alpha = v % 2 ? 1.5f : 1.0f,
						beta = v % 4 == 3 ? 0.5f : 0.0f;
			int64_t		lda = ta ? M : K,
						ldb = tb ? K : N;
			float	   *A = malloc(sizeof(float) * (size_t) (M * K)),
					   *B = malloc(sizeof(float) * (size_t) (K * N)),
					   *C0 = malloc(sizeof(float) * (size_t) (M * N)),
					   *Cw = malloc(sizeof(float) * (size_t) (M * N)),
					   *Cb = malloc(sizeof(float) * (size_t) (M * N)),
					   *Ab = malloc(sizeof(float) * (size_t) (M * K));
			void	   *buf = NULL;
			const OnnxGemmPacked *pb = NULL;
			size_t		bytes;

			for (int64_t i = 0; i < M * K; i++)
				A[i] = rnd();
			for (int64_t i = 0; i < K * N; i++)
				B[i] = rnd();
			for (int64_t i = 0; i < M * N; i++)
				C0[i] = rnd();
			if (packed && onnx_sgemm_pack_size(ONNX_GEMM_PACK_B, K, N, &bytes))
			{
				buf = malloc(bytes);
				pb = onnx_sgemm_pack_b(buf, bytes, tb, K, N, B, ldb);
			}
			memcpy(Cw, C0, sizeof(float) * (size_t) (M * N));
			if (via_blas)
			{
				onnx_blas_set_threads(threads);
				onnx_blas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cw, N);
			}
			else
				onnx_sgemm_packed(M, N, K, alpha, ta, A, lda, NULL, tb, B, ldb, pb, beta, Cw, N, threads);
			for (size_t bi = 0; bi < sizeof(blocks) / sizeof(blocks[0]); bi++)
			{
				memcpy(Cb, C0, sizeof(float) * (size_t) (M * N));
				for (int64_t r0 = 0; r0 < M; r0 += blocks[bi])
				{
					int64_t		m = M - r0 < blocks[bi] ? M - r0 : blocks[bi];

					/* the block's rows of op(A), laid out as the whole product's */
					for (int64_t i = 0; i < m; i++)
						for (int64_t k = 0; k < K; k++)
							Ab[ta ? k * m + i : i * K + k] = ta ? A[k * lda + r0 + i] : A[(r0 + i) * lda + k];
					if (via_blas)
						onnx_blas_sgemm(ta, tb, m, N, K, alpha, Ab, ta ? m : K, B, ldb, beta, Cb + r0 * N, N);
					else
						onnx_sgemm_packed(m, N, K, alpha, ta, Ab, ta ? m : K, NULL, tb, B, ldb, pb, beta,
										  Cb + r0 * N, N, threads);
				}
				cases++;
				if (memcmp(Cw, Cb, sizeof(float) * (size_t) (M * N)) != 0 && bad++ == 0)
					snprintf(first, sizeof(first), "M=%lld N=%lld K=%lld ta=%d tb=%d packed=%d blas=%d "
							 "threads=%d, blocks of %lld rows", (long long) M, (long long) N, (long long) K,
							 ta, tb, packed, via_blas, threads, (long long) blocks[bi]);
			}
			free(A);
			free(B);
			free(C0);
			free(Cw);
			free(Cb);
			free(Ab);
			free(buf);
		}
	CHECK(bad == 0, "%s: row invariance, %d products computed whole and in blocks of 1 to 64 rows "
		  "give the same bits%s%s", isa_name(isa), cases, bad ? "; first difference: " : "", first);
}

/* The pool runs every task exactly once, nested calls included. */
typedef struct PoolArg
{
	int			hits[1000];
	int			nested;
} PoolArg;

static void
pool_inner(void *arg, int64_t t)
{
	(void) t;
	__atomic_fetch_add(&((PoolArg *) arg)->nested, 1, __ATOMIC_RELAXED);
}

static void
pool_task(void *arg, int64_t t)
{
	PoolArg    *p = arg;

	__atomic_fetch_add(&p->hits[t], 1, __ATOMIC_RELAXED);
	if (t % 100 == 0)
		onnx_parallel_for(2, 3, pool_inner, p);
}

/* Two tasks that each wait (up to 5 s) until both have started. */
typedef struct PoolMeet
{
	pthread_t	who[2];
	int			started;
} PoolMeet;

static void
pool_meet_task(void *arg, int64_t t)
{
	PoolMeet   *p = arg;
	struct timespec ts = {0, 1000000};

	p->who[t] = pthread_self();
	__atomic_fetch_add(&p->started, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 5000 && __atomic_load_n(&p->started, __ATOMIC_SEQ_CST) < 2; i++)
		nanosleep(&ts, NULL);
}

static void
test_pool(void)
{
	PoolMeet	meet = {{0}, 0};

	/* two threads really run at once: each task waits for the other to start */
	onnx_parallel_for(2, 2, pool_meet_task, &meet);
	CHECK(meet.started == 2 && !pthread_equal(meet.who[0], meet.who[1]) &&
		  (pthread_equal(meet.who[0], pthread_self()) || pthread_equal(meet.who[1], pthread_self())),
		  "pool: the caller and a worker ran two tasks at the same time");
	for (int threads = 1; threads <= 4; threads++)
		for (int rep = 0; rep < 20; rep++)
		{
			static PoolArg p;
			int64_t		n = rep == 0 ? 1 : 1000 - rep;
			bool		once = true;

			memset(&p, 0, sizeof(p));
			onnx_parallel_for(threads, n, pool_task, &p);
			for (int64_t t = 0; t < 1000; t++)
				once &= p.hits[t] == (t < n ? 1 : 0);
			if (rep == 0 || rep == 19)
				CHECK(once && p.nested == 3 * (int) ((n + 99) / 100),
					  "pool: %lld tasks on %d threads each ran once, nested calls too", (long long) n, threads);
			else if (!once)
				CHECK(false, "pool: %lld tasks on %d threads", (long long) n, threads);
		}
}

int
main(int argc, char **argv)
{
	static const OnnxGemmIsa isas[] = {ONNX_GEMM_ISA_REF, ONNX_GEMM_ISA_AVX2, ONNX_GEMM_ISA_AVX512};

	verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	printf("# onnx_blas_sgemm: %s\n", onnx_gemm_kernel_name());
	for (size_t i = 0; i < sizeof(isas) / sizeof(isas[0]); i++)
	{
		if (!onnx_gemm_force_isa(isas[i]))
		{
			printf("ok - %s: skipped, the CPU lacks it\n", isa_name(isas[i]));
			continue;
		}
		printf("# kernel %s\n", onnx_gemm_kernel()->name);
		test_small_shapes(isas[i]);
		test_large_shapes(isas[i]);
		test_degenerate();
		test_row_invariance(isas[i]);
		test_epilogue(isas[i]);
	}
	onnx_gemm_force_isa(ONNX_GEMM_ISA_AUTO);
	test_pack_api();
	test_pool();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
