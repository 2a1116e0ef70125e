/*-------------------------------------------------------------------------
 *
 * gemm.c
 *	  The engine's SGEMM driver (contract in gemm.h): kernel choice by
 *	  CPUID, packing of A and B into the microkernel's panels, and the
 *	  blocked loops around the microkernel, split over threads.
 *
 *	  Loops, for one thread's share of rows [m0,m1) and columns [n0,n1):
 *
 *		for ic in rows, step MC				A block (MC,KC): stack, L2
 *		  for pc in 0..K, step KC
 *			pack op(A)[ic.., pc..] into MR-row panels (unless prepacked, or
 *			  a row-major A the microkernel reads in place)
 *			for jr in columns, step NR		B micro-panel (KC,NR): L1
 *			  pack op(B)[pc.., jr..] (unless prepacked, or read in place)
 *			  for ir in the block, step MR
 *				microkernel: C[ir.., jr..] (MR,NR) += A panel @ B panel
 *				(and a share of the next prepacked B panel into L2)
 *
 *	  The first KC block applies the caller's beta, later ones add; the
 *	  last applies the epilogue (bias, Relu) while the tile is in registers.
 *	  Scratch is a fixed array on each thread's stack.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "gemm.h"
#include "parallel.h"
#include "vecmath.h"

/* ---- kernel choice ---- */

static const OnnxGemmKernel *gemm_current;

bool
onnx_gemm_isa_supported(OnnxGemmIsa isa)
{
	switch (isa)
	{
		case ONNX_GEMM_ISA_AUTO:
		case ONNX_GEMM_ISA_REF:
			return true;
#if defined(__x86_64__) || defined(__i386__)
		case ONNX_GEMM_ISA_AVX2:
			__builtin_cpu_init();
			return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
		case ONNX_GEMM_ISA_AVX512:
			__builtin_cpu_init();
			return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#endif
		default:
			return false;
	}
}

/* The table of isa; AUTO picks the best the CPU runs. */
static const OnnxGemmKernel *
kernel_for(OnnxGemmIsa isa)
{
	switch (isa)
	{
		case ONNX_GEMM_ISA_REF:
			return &onnx_gemm_kernel_ref;
		case ONNX_GEMM_ISA_AVX2:
			return &onnx_gemm_kernel_avx2;
		case ONNX_GEMM_ISA_AVX512:
			return &onnx_gemm_kernel_avx512;
		default:
			if (onnx_gemm_isa_supported(ONNX_GEMM_ISA_AVX512))
				return &onnx_gemm_kernel_avx512;
			if (onnx_gemm_isa_supported(ONNX_GEMM_ISA_AVX2))
				return &onnx_gemm_kernel_avx2;
			return &onnx_gemm_kernel_ref;
	}
}

const OnnxGemmKernel *
onnx_gemm_kernel(void)
{
	const OnnxGemmKernel *k = __atomic_load_n(&gemm_current, __ATOMIC_ACQUIRE);

	if (k == NULL)
	{
		/* a race only computes the same answer twice */
		k = kernel_for(ONNX_GEMM_ISA_AUTO);
		__atomic_store_n(&gemm_current, k, __ATOMIC_RELEASE);
	}
	/* the engine-wide cap of vectorised kernels (onnx_vec_set_max_isa) */
	switch (onnx_vec_isa())
	{
		case ONNX_VEC_PORTABLE:
			return &onnx_gemm_kernel_ref;
		case ONNX_VEC_AVX2:
			return k->isa == ONNX_GEMM_ISA_AVX512 ? &onnx_gemm_kernel_avx2 : k;
		default:
			return k;
	}
}

bool
onnx_gemm_force_isa(OnnxGemmIsa isa)
{
	if (!onnx_gemm_isa_supported(isa))
		return false;
	__atomic_store_n(&gemm_current, kernel_for(isa), __ATOMIC_RELEASE);
	return true;
}

/* ---- packing ---- */

/*
 * Copying pack: dst[k*w + c] = src[k*ld + c] for c < cols, k < kc, and 0
 * for the columns cols..w-1.  Packs B panels and panels of a transposed A.
 */
static void
pack_copy(float *dst, int w, const float *src, int64_t ld, int cols, int64_t kc)
{
	for (int64_t k = 0; k < kc; k++)
	{
		const float *s = src + k * ld;
		float	   *d = dst + k * w;
		int			c = 0;

		/* whole panel rows as fixed-size copies the compiler vectorises */
		if (cols == w && w == 32)
			memcpy(d, s, 32 * sizeof(float));
		else if (cols == w && w == 16)
			memcpy(d, s, 16 * sizeof(float));
		else
		{
			for (; c < cols; c++)
				d[c] = s[c];
			for (; c < w; c++)
				d[c] = 0.0f;
		}
	}
}

/* (kc, mr) panel of op(A) rows i0..i0+m-1, depth k0..k0+kc-1. */
static void
pack_a_panel(const OnnxGemmKernel *kr, float *dst, bool trans, const float *A, int64_t lda,
			 int64_t i0, int m, int64_t k0, int64_t kc)
{
	if (!trans)
		kr->pack_t(dst, kr->mr, A + i0 * lda + k0, lda, m, kc);
	else
		pack_copy(dst, kr->mr, A + k0 * lda + i0, lda, m, kc);
}

/* (kc, nr) panel of op(B) columns j0..j0+n-1, depth k0..k0+kc-1. */
static void
pack_b_panel(const OnnxGemmKernel *kr, float *dst, bool trans, const float *B, int64_t ldb,
			 int64_t k0, int64_t kc, int64_t j0, int n)
{
	if (!trans)
		pack_copy(dst, kr->nr, B + k0 * ldb + j0, ldb, n, kc);
	else
		kr->pack_t(dst, kr->nr, B + j0 * ldb + k0, ldb, n, kc);
}

/* Bytes of the header before the 64-byte aligned panels. */
#define PACK_HEADER 128

bool
onnx_sgemm_pack_size(OnnxGemmPackSide side, int64_t rows, int64_t cols, size_t *bytes)
{
	const OnnxGemmKernel *kr = onnx_gemm_kernel();
	int64_t		tile = side == ONNX_GEMM_PACK_A ? kr->mr : kr->nr;
	int64_t		across = side == ONNX_GEMM_PACK_A ? rows : cols;
	int64_t		depth = side == ONNX_GEMM_PACK_A ? cols : rows;
	int64_t		n;

	if (rows < 0 || cols < 0 || across > INT64_MAX - tile)
		return false;
	n = (across + tile - 1) / tile * tile;
	if (__builtin_mul_overflow(n, depth, &n) || __builtin_mul_overflow(n, (int64_t) sizeof(float), &n) ||
		n > INT64_MAX - PACK_HEADER - 64 || (uint64_t) n + PACK_HEADER + 64 > SIZE_MAX)
		return false;
	*bytes = (size_t) n + PACK_HEADER + 64;
	return true;
}

/* Header and aligned panel storage in buf, or NULL when bytes are too few. */
static OnnxGemmPacked *
pack_init(void *buf, size_t bytes, OnnxGemmPackSide side, int64_t rows, int64_t cols, float **data)
{
	OnnxGemmPacked *p = buf;
	size_t		need;
	uintptr_t	d;

	if (buf == NULL || !onnx_sgemm_pack_size(side, rows, cols, &need) || bytes < need)
		return NULL;
	p->kernel = onnx_gemm_kernel();
	p->side = side;
	p->rows = rows;
	p->cols = cols;
	d = ((uintptr_t) buf + PACK_HEADER + 63) & ~(uintptr_t) 63;
	*data = (float *) d;
	p->data = *data;
	return p;
}

/* Pack a whole operand, depth block by depth block (OnnxGemmPacked's layout). */
static const OnnxGemmPacked *
pack_operand(void *buf, size_t bytes, OnnxGemmPackSide side, bool trans, int64_t rows,
			 int64_t cols, const float *X, int64_t ld)
{
	float	   *data;
	OnnxGemmPacked *p = pack_init(buf, bytes, side, rows, cols, &data);
	const OnnxGemmKernel *kr;
	bool		is_a = side == ONNX_GEMM_PACK_A;
	int64_t		across = is_a ? rows : cols,
				depth = is_a ? cols : rows,
				tile,
				pad;

	if (p == NULL)
		return NULL;
	kr = p->kernel;
	tile = is_a ? kr->mr : kr->nr;
	pad = (across + tile - 1) / tile * tile;
	for (int64_t pc = 0; pc < depth; pc += kr->kc)
	{
		int64_t		kcur = depth - pc < kr->kc ? depth - pc : kr->kc;

		for (int64_t x0 = 0; x0 < across; x0 += tile)
		{
			float	   *d = data + pc * pad + x0 * kcur;
			int			w = (int) (across - x0 < tile ? across - x0 : tile);

			if (is_a)
				pack_a_panel(kr, d, trans, X, ld, x0, w, pc, kcur);
			else
				pack_b_panel(kr, d, trans, X, ld, pc, kcur, x0, w);
		}
	}
	return p;
}

const OnnxGemmPacked *
onnx_sgemm_pack_a(void *buf, size_t bytes, bool trans_a, int64_t M, int64_t K,
				  const float *A, int64_t lda)
{
	return pack_operand(buf, bytes, ONNX_GEMM_PACK_A, trans_a, M, K, A, lda);
}

const OnnxGemmPacked *
onnx_sgemm_pack_b(void *buf, size_t bytes, bool trans_b, int64_t K, int64_t N,
				  const float *B, int64_t ldb)
{
	return pack_operand(buf, bytes, ONNX_GEMM_PACK_B, trans_b, K, N, B, ldb);
}

/* ---- the blocked loops ---- */

typedef struct GemmJob
{
	const OnnxGemmKernel *kr;
	int64_t		M,
				N,
				K;
	float		alpha,
				beta;
	bool		ta,
				tb;
	const float *A,
			   *B;
	int64_t		lda,
				ldb;
	const OnnxGemmPacked *pa,
			   *pb;
	float	   *C;
	int64_t		ldc;
	const OnnxGemmEpilogue *ep; /* NULL: none */
	bool		split_rows;		/* tasks own row ranges (else column ranges) */
	int64_t		chunk;			/* rows or columns per task */
} GemmJob;

/*
 * The microkernel calls over a prepacked B panel bring the next panel
 * into L2, each call a share of its lines (at least this many), so the
 * next panel is in L2 when its first call starts instead of arriving
 * from L3 or memory during it: the weights of a layer wider than L2 are
 * read from L3 once per run (BERT's 768x3072), at batch 1 from memory.
 */
#define GEMM_PF_MIN_LINES 16

/*
 * C[ic:ic+mcur, jr:jr+ncur] (+)= the product of the A block ap (mcur rows,
 * kcur deep: packed panels when ldap is 0, else rows ldap apart in place)
 * and the B panel bp: one microkernel call per mr rows, with the
 * epilogue on the last depth block and, for a prepacked B, a share of the
 * next panel's prefetch in each call.
 */
static void
gemm_panel(const GemmJob *g, const float *ap, int64_t ldap, const float *bp, int64_t ldbp,
		   int64_t ic, int64_t mcur, int64_t pc, int64_t kcur, int64_t jr, int ncur, float beta)
{
	const OnnxGemmKernel *kr = g->kr;
	const int	mr = kr->mr;
	OnnxGemmEdge e;
	int64_t		ncalls = (mcur + mr - 1) / mr,
				lines = 0,
				share = 0;

	memset(&e, 0, sizeof(e));
	if (g->ep != NULL && pc + kcur >= g->K)
	{
		e.bias = g->ep->bias != NULL ? g->ep->bias + jr : NULL;
		e.relu = g->ep->relu;
	}
	if (g->pb != NULL)
	{
		/* panels of a depth block, and the blocks, follow each other */
		lines = kcur * kr->nr * (int64_t) sizeof(float) / 64;
		share = (lines + ncalls - 1) / ncalls;
		if (share < GEMM_PF_MIN_LINES)
			share = GEMM_PF_MIN_LINES;
		if (share > kcur)
			share = kcur;		/* a call prefetches one line per step of k */
	}
	for (int64_t t = 0; t < ncalls; t++)
	{
		int64_t		ir = t * mr;

		if (lines > t * share)
		{
			e.pf = bp + kcur * kr->nr + t * share * 16;
			e.pf_lines = lines - t * share < share ? lines - t * share : share;
		}
		else
			e.pf_lines = 0;
		kr->micro(kcur, ap + ir * (ldap ? ldap : kcur), ldap, bp, ldbp,
				  g->C + (ic + ir) * g->ldc + jr, g->ldc,
				  (int) (mcur - ir < mr ? mcur - ir : mr), ncur, g->alpha, beta, &e);
	}
}

/* C[m0:m1, n0:n1] of the job, on this thread (m0 a multiple of mr, n0 of nr). */
static void
gemm_block(const GemmJob *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
	const OnnxGemmKernel *kr = g->kr;
	const int	mr = kr->mr,
				nr = kr->nr;
	const int64_t K = g->K;
	int64_t		kc = kr->kc,
				mc;
	float		scratch[ONNX_GEMM_STACK_FLOATS] __attribute__((aligned(64)));
	float	   *abuf = scratch,
			   *bbuf;
	/*
	 * B read in place, not transposed: with few rows packing buys no reuse,
	 * and a small B (16K floats) stays in cache without packing
	 */
	bool		direct_b = g->pb == NULL && !g->tb && (m1 - m0 <= mr || K * (n1 - n0) <= 65536);
	/*
	 * A read in place (rows lda apart), not packed, as MLAS does: packing
	 * cost ~10% of a 64x256 @ 256x256 product.  Not when rows are a
	 * multiple of 4 KiB apart: the mr rows of a tile would then fall in
	 * the same L1 sets and evict each other.
	 */
	bool		direct_a = g->pa == NULL && !g->ta && g->lda % 1024 != 0;

	/* the A block takes what the B panel leaves of the scratch */
	mc = (ONNX_GEMM_STACK_FLOATS - kc * nr) / kc / mr * mr;
	if (mc > kr->mc)
		mc = kr->mc;
	bbuf = scratch + mc * kc;

	for (int64_t ic = m0; ic < m1; ic += mc)
	{
		int64_t		mcur = m1 - ic < mc ? m1 - ic : mc;

		for (int64_t pc = 0; pc < K; pc += kc)
		{
			int64_t		kcur = K - pc < kc ? K - pc : kc;
			float		beta = pc == 0 ? g->beta : 1.0f;
			const float *ap;
			int64_t		ldap = 0;

			if (g->pa != NULL)
				ap = g->pa->data + pc * ((g->M + mr - 1) / mr * mr) + ic * kcur;
			else if (direct_a)
			{
				ap = g->A + ic * g->lda + pc;
				ldap = g->lda;
			}
			else
			{
				for (int64_t ir = 0; ir < mcur; ir += mr)
					pack_a_panel(kr, abuf + ir * kcur, g->ta, g->A, g->lda, ic + ir,
								 (int) (mcur - ir < mr ? mcur - ir : mr), pc, kcur);
				ap = abuf;
			}
			for (int64_t jr = n0; jr < n1; jr += nr)
			{
				int			ncur = (int) (n1 - jr < nr ? n1 - jr : nr);
				const float *bp;
				int64_t		ldbp = nr;

				if (g->pb != NULL)
					bp = g->pb->data + pc * ((g->N + nr - 1) / nr * nr) + jr * kcur;
				else if (direct_b && ncur == nr)
				{
					bp = g->B + pc * g->ldb + jr;
					ldbp = g->ldb;
				}
				else
				{
					pack_b_panel(kr, bbuf, g->tb, g->B, g->ldb, pc, kcur, jr, ncur);
					bp = bbuf;
				}
				gemm_panel(g, ap, ldap, bp, ldbp, ic, mcur, pc, kcur, jr, ncur, beta);
			}
		}
	}
}

/* Task t of a parallel job: its row or column range. */
static void
gemm_task(void *arg, int64_t t)
{
	const GemmJob *g = arg;
	int64_t		lo = t * g->chunk;

	int64_t		hi_n = lo + g->chunk < g->N ? lo + g->chunk : g->N;

	if (g->split_rows)
		gemm_block(g, lo, lo + g->chunk < g->M ? lo + g->chunk : g->M, 0, g->N);
	else
		gemm_block(g, 0, g->M, lo, hi_n);
}

/*
 * Multiply-adds below which a second thread costs more than it saves:
 * waking a pool thread costs tens of microseconds (thread_scaling.py, Intel
 * Xeon: the MLP at batch 64, 4.2M multiply-adds per layer, ran 0.185 ms on
 * one thread and 0.326 ms on two with 2^20 here).
 */
#define GEMM_PARALLEL_MIN_WORK ((int64_t) 1 << 23)

void
onnx_sgemm_packed_ep(int64_t M, int64_t N, int64_t K, float alpha,
					 bool trans_a, const float *A, int64_t lda, const OnnxGemmPacked *pa,
					 bool trans_b, const float *B, int64_t ldb, const OnnxGemmPacked *pb,
					 float beta, float *C, int64_t ldc, int threads, const OnnxGemmEpilogue *ep)
{
	GemmJob		g;
	int64_t		work;

	if (M <= 0 || N <= 0)
		return;
	if (K <= 0)
	{
		/* no products: C = beta * C (and beta == 0 clears, NaN included) */
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++)
			{
				float		r = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];

				if (ep != NULL && ep->bias != NULL)
					r += ep->bias[j];
				C[i * ldc + j] = ep != NULL && ep->relu && r < 0.0f ? 0.0f : r;
			}
		return;
	}
	if (ep != NULL && ep->bias == NULL && !ep->relu)
		ep = NULL;
	memset(&g, 0, sizeof(g));
	g.kr = pa ? pa->kernel : pb ? pb->kernel : onnx_gemm_kernel();
	g.M = M;
	g.N = N;
	g.K = K;
	g.alpha = alpha;
	g.beta = beta;
	g.ta = trans_a;
	g.tb = trans_b;
	g.A = A;
	g.B = B;
	g.lda = lda;
	g.ldb = ldb;
	g.pa = pa;
	g.pb = pb;
	g.C = C;
	g.ldc = ldc;
	g.ep = ep;

	if (threads > 1 && !__builtin_mul_overflow(M, N, &work) &&
		!__builtin_mul_overflow(work, K, &work) && work >= GEMM_PARALLEL_MIN_WORK)
	{
		int64_t		npanels = (N + g.kr->nr - 1) / g.kr->nr;
		int64_t		mpanels = (M + g.kr->mr - 1) / g.kr->mr;
		int64_t		ntasks;

		/* columns when each thread gets a few panels, else rows */
		if (npanels >= 2 * (int64_t) threads || npanels >= mpanels)
		{
			int64_t		per = (npanels + threads - 1) / threads;

			g.chunk = per * g.kr->nr;
			ntasks = (N + g.chunk - 1) / g.chunk;
		}
		else
		{
			int64_t		per = (mpanels + threads - 1) / threads;

			g.split_rows = true;
			g.chunk = per * g.kr->mr;
			ntasks = (M + g.chunk - 1) / g.chunk;
		}
		if (ntasks > 1)
		{
			onnx_parallel_for(threads, ntasks, gemm_task, &g);
			return;
		}
	}
	gemm_block(&g, 0, M, 0, N);
}

void
onnx_sgemm_packed(int64_t M, int64_t N, int64_t K, float alpha,
				  bool trans_a, const float *A, int64_t lda, const OnnxGemmPacked *pa,
				  bool trans_b, const float *B, int64_t ldb, const OnnxGemmPacked *pb,
				  float beta, float *C, int64_t ldc, int threads)
{
	onnx_sgemm_packed_ep(M, N, K, alpha, trans_a, A, lda, pa, trans_b, B, ldb, pb, beta, C, ldc,
						 threads, NULL);
}

void
onnx_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
		   float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
		   float beta, float *C, int64_t ldc, int threads)
{
	onnx_sgemm_packed(M, N, K, alpha, trans_a, A, lda, NULL, trans_b, B, ldb, NULL,
					  beta, C, ldc, threads);
}
