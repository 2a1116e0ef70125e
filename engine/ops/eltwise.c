/*-------------------------------------------------------------------------
 *
 * eltwise.c
 *	  The elementwise driver (see eltwise.h): choosing the kernel table for
 *	  the CPU, running kernels over broadcast shapes in contiguous runs,
 *	  float16/bfloat16 through float32 in blocks, and outputs that reuse an
 *	  input's buffer.
 *
 * The table follows vecmath.h's run-time instruction-set level
 * (onnx_vec_isa), which tests cap with onnx_vec_set_max_isa to run the
 * portable path.
 *
 * Threads: a run of EW_PARALLEL_MIN elements or more is cut into chunks
 * (multiples of EW_BLOCK elements, at least EW_TASK_MIN) that the pool
 * runs at once; a kernel's vector tail stays at the run's end, so every
 * element gets the bits of one thread.  Runs shorter than that (a
 * channel broadcast over small planes) stay on the calling thread.
 *
 *-------------------------------------------------------------------------
 */
#include "eltwise.h"
#include "parallel.h"
#include "vecmath.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

/* elements between two looks at the abort callback */
#define EW_ABORT_EVERY (INT64_C(1) << 20)
/* float16/bfloat16 elements converted at a time */
#define EW_BLOCK 256

static const OnnxEwTable *chosen[3];	/* per OnnxVecIsa level, once known */

/* ---- instruction-set dispatch ---- */

#if defined(__x86_64__) && defined(__GNUC__)
/* F16C (CPUID leaf 1, ECX bit 29): clang 14 has no name for it in __builtin_cpu_supports */
static bool
has_f16c(void)
{
	unsigned	a,
				b,
				c,
				d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)) != 0;
}
#endif

/*
 * The table of vecmath.h's instruction-set level (onnx_vec_isa: the CPU's
 * best, under the cap tests set with onnx_vec_set_max_isa); the AVX
 * tables also need F16C, which every AVX2 CPU has in practice.  Racing
 * first calls store the same pointer.
 */
const OnnxEwTable *
onnx_ew_table(void)
{
	OnnxVecIsa	isa = onnx_vec_isa();
	const OnnxEwTable *t = __atomic_load_n(&chosen[isa], __ATOMIC_ACQUIRE);

	if (t == NULL)
	{
		t = &onnx_ew_table_portable;
#if defined(__x86_64__) && defined(__GNUC__)
		if (has_f16c())
			t = isa == ONNX_VEC_AVX512 ? &onnx_ew_table_avx512 :
				isa == ONNX_VEC_AVX2 ? &onnx_ew_table_avx2 : t;
#endif
		__atomic_store_n(&chosen[isa], t, __ATOMIC_RELEASE);
	}
	return t;
}

int
onnx_ew_type(OnnxDType dt)
{
	switch (dt)
	{
		case ONNX_DTYPE_FLOAT:
			return EW_F32;
		case ONNX_DTYPE_DOUBLE:
			return EW_F64;
		case ONNX_DTYPE_INT8:
			return EW_I8;
		case ONNX_DTYPE_INT16:
			return EW_I16;
		case ONNX_DTYPE_INT32:
			return EW_I32;
		case ONNX_DTYPE_INT64:
			return EW_I64;
		case ONNX_DTYPE_UINT8:
		case ONNX_DTYPE_BOOL:
			return EW_U8;
		case ONNX_DTYPE_UINT16:
			return EW_U16;
		case ONNX_DTYPE_UINT32:
			return EW_U32;
		case ONNX_DTYPE_UINT64:
			return EW_U64;
		default:
			return -1;
	}
}

/* typed-loop type of dt, float16/bfloat16 computing as float32 */
static int
compute_type(OnnxDType dt)
{
	if (dt == ONNX_DTYPE_FLOAT16 || dt == ONNX_DTYPE_BFLOAT16)
		return EW_F32;
	return onnx_ew_type(dt);
}

OnnxEwBinFn
onnx_ew_bin_fn(OnnxEwBinOp op, OnnxDType dt)
{
	int			t = compute_type(dt);

	return t < 0 || dt == ONNX_DTYPE_BOOL ? NULL : onnx_ew_table()->bin[op][t];
}

OnnxEwBinFn
onnx_ew_cmp_fn(OnnxEwCmpOp op, OnnxDType dt)
{
	int			t = compute_type(dt);

	return t < 0 ? NULL : onnx_ew_table()->cmp[op][t];
}

/* ---- runs on several threads ---- */

/* Elements of a run from which it is split over threads, and the least a task gets. */
#define EW_PARALLEL_MIN (INT64_C(1) << 16)
#define EW_TASK_MIN (INT64_C(1) << 14)

/* One run cut into tasks of per elements (the last one shorter). */
typedef struct EwSplit
{
	OnnxEwRunFn fn;				/* broadcast runs, or NULL: un */
	const void *arg;
	OnnxEwUnFn	un;				/* float32 unary kernel */
	const float *un_p;
	char	   *y;
	const void *x[4];
	size_t		xsz[4],
				ysz;
	int			n_in;
	unsigned	mode;
	int64_t		n,
				per;
} EwSplit;

static void
split_task(void *arg, int64_t t)
{
	const EwSplit *sp = arg;
	int64_t		i0 = t * sp->per,
				c = sp->n - i0 < sp->per ? sp->n - i0 : sp->per;
	const void *xc[4];

	for (int k = 0; k < sp->n_in; k++)
		xc[k] = (const char *) sp->x[k] + ((sp->mode >> k) & 1 ? (size_t) i0 * sp->xsz[k] : 0);
	if (sp->fn)
		sp->fn(sp->arg, sp->y + (size_t) i0 * sp->ysz, xc, c, sp->mode);
	else
		sp->un((float *) sp->y + i0, (const float *) xc[0], c, sp->un_p);
}

/*
 * Run sp (its fn or un over n elements) on up to threads threads when the
 * run is long enough, else on this one.
 */
static void
split_run(EwSplit *sp, int threads)
{
	int64_t		tasks = 1;

	if (threads > 1 && sp->n >= EW_PARALLEL_MIN)
	{
		sp->per = (sp->n + threads - 1) / threads;
		sp->per = (sp->per + EW_BLOCK - 1) / EW_BLOCK * EW_BLOCK;
		if (sp->per < EW_TASK_MIN)
			sp->per = EW_TASK_MIN;
		tasks = (sp->n + sp->per - 1) / sp->per;
	}
	if (tasks > 1)
		onnx_parallel_for(threads, tasks, split_task, sp);
	else
	{
		sp->per = sp->n;
		split_task(sp, 0);
	}
}

/* ---- broadcast runs ---- */

/*
 * Short runs are widened to several rows of the dim outside them (up to
 * EW_WIDE_BYTES per input): inputs contiguous across both dims are read
 * in place, one that repeats its run on every row (a row broadcast, A
 * (M,80) + B (80)) from a copy of the run made once per block, one
 * constant along each run (a column, A (M,4) * B (M,1)) from a copy with
 * each value spread over its run, made per block.  That saves the driver
 * and kernel set-up of every short run: runs under EW_SHORT_RUN elements
 * are widened, and under EW_ROW_RUN when no input needs a per-block copy.
 */
#define EW_SHORT_RUN 64
#define EW_ROW_RUN 512
#define EW_WIDE_BYTES 4096

typedef enum EwWide
{
	WIDE_IN_PLACE,				/* contiguous across the rows, or a scalar */
	WIDE_ROW,					/* the same run on every row */
	WIDE_COL					/* one value per row */
} EwWide;

/*
 * Rows per widened run for plan p, kinds of the inputs in w; 1 when
 * widening does not apply.
 */
static int64_t
wide_rows(const OnnxBcastPlan *p, int n_in, const size_t *xsz, size_t ysz, EwWide *w)
{
	int			r = p->rank;
	int64_t		n = p->dims[r - 1];
	size_t		es = ysz;
	bool		any = false,
				col = false;

	if (r < 2 || n >= EW_ROW_RUN)
		return 1;
	for (int k = 0; k < n_in; k++)
	{
		int64_t		s_in = p->strides[k][r - 1],
					s_out = p->strides[k][r - 2];

		if ((s_in == 1 && s_out == n) || (s_in == 0 && s_out == 0))
			w[k] = WIDE_IN_PLACE;
		else if (s_in == 1 && s_out == 0)
			w[k] = WIDE_ROW;
		else if (s_in == 0)
			w[k] = WIDE_COL;
		else
			return 1;
		any |= w[k] != WIDE_IN_PLACE;
		col |= w[k] == WIDE_COL;
		if (xsz[k] > es)
			es = xsz[k];
	}
	if (!any || (col && n >= EW_SHORT_RUN))
		return 1;
	n = EW_WIDE_BYTES / (n * (int64_t) es);
	return n < 2 ? 1 : n < p->dims[r - 2] ? n : p->dims[r - 2];
}

/* n copies of the element of size es at v, from dst on */
#define FILL_AS(T) \
	do { \
		T			x_; \
		memcpy(&x_, v, sizeof(T)); \
		for (int64_t j = 0; j < n; j++) \
			memcpy(dst + sizeof(T) * (size_t) j, &x_, sizeof(T)); \
	} while (0)

static void
fill_run(unsigned char *dst, const void *v, int64_t n, size_t es)
{
	if (es == 1)
		memset(dst, *(const unsigned char *) v, (size_t) n);
	else if (es == 2)
		FILL_AS(uint16_t);
	else if (es == 4)
		FILL_AS(uint32_t);
	else
		FILL_AS(uint64_t);
}

OnnxStatus
onnx_ew_broadcast(OnnxKernelCtx *ctx, OnnxTensor *y, int n_in, const OnnxTensor *const *x,
				  OnnxEwRunFn fn, const void *arg)
{
	OnnxBcastPlan p;
	EwWide		w[4];
	_Alignas(64) unsigned char wide[4][EW_WIDE_BYTES];
	int64_t		wide_off[4];
	int64_t		idx[ONNX_MAX_RANK];
	int64_t		off[4];
	size_t		ysz = onnx_dtype_size(y->dtype),
				xsz[4];
	int64_t		inner,
				rows,
				step,
				outer,
				since_check = 0;
	int			r,
				threads = onnx_kernel_threads(ctx);
	unsigned	mode = 0;

	if (y->count == 0)
		return ONNX_OK;
	onnx_bcast_plan(&p, y->rank, y->dims, n_in, x);
	r = p.rank;
	for (int k = 0; k < n_in; k++)
	{
		xsz[k] = onnx_dtype_size(x[k]->dtype);
		off[k] = 0;
		wide_off[k] = -1;
		if (p.strides[k][r - 1] != 0)
			mode |= 1u << k;
	}
	inner = p.dims[r - 1];
	rows = r >= 2 ? p.dims[r - 2] : 1;
	step = wide_rows(&p, n_in, xsz, ysz, w);
	if (step > 1)
		for (int k = 0; k < n_in; k++)
			if (w[k] != WIDE_IN_PLACE)
				mode |= 1u << k;
	outer = y->count / (rows * inner);
	for (int d = 0; d < r; d++)
		idx[d] = 0;
	for (int64_t o = 0; o < outer; o++)
	{
		for (int64_t b0 = 0; b0 < rows; b0 += step)
		{
			int64_t		m = rows - b0 < step ? rows - b0 : step;
			int64_t		len = m * inner;
			char	   *yp = (char *) y->data + (size_t) ((o * rows + b0) * inner) * ysz;
			const void *xp[4];

			for (int k = 0; k < n_in; k++)
			{
				const char *src = (const char *) x[k]->data;
				int64_t		s_out = r >= 2 ? p.strides[k][r - 2] : 0;

				if (step == 1 || w[k] == WIDE_IN_PLACE)
					xp[k] = src + (size_t) (off[k] + b0 * s_out) * xsz[k];
				else if (w[k] == WIDE_ROW)
				{
					/* the run once per distinct position, copied step times */
					if (wide_off[k] != off[k])
					{
						size_t		run = (size_t) inner * xsz[k];

						for (int64_t i = 0; i < step; i++)
							memcpy(wide[k] + i * run, src + (size_t) off[k] * xsz[k], run);
						wide_off[k] = off[k];
					}
					xp[k] = wide[k];
				}
				else
				{
					/* each row's value spread over its run */
					for (int64_t i = 0; i < m; i++)
						fill_run(wide[k] + (size_t) (i * inner) * xsz[k],
								 src + (size_t) (off[k] + (b0 + i) * s_out) * xsz[k], inner, xsz[k]);
					xp[k] = wide[k];
				}
			}
			/* long runs in chunks, so the abort callback is heard */
			for (int64_t i0 = 0; i0 < len; i0 += EW_ABORT_EVERY)
			{
				int64_t		c = len - i0 < EW_ABORT_EVERY ? len - i0 : EW_ABORT_EVERY;
				EwSplit		sp = {.fn = fn, .arg = arg, .y = yp + (size_t) i0 * ysz};

				for (int k = 0; k < n_in; k++)
				{
					sp.x[k] = (const char *) xp[k] + ((mode >> k) & 1 ? (size_t) i0 * xsz[k] : 0);
					sp.xsz[k] = xsz[k];
				}
				sp.ysz = ysz;
				sp.n_in = n_in;
				sp.mode = mode;
				sp.n = c;
				split_run(&sp, threads);
				since_check += c;
				if (since_check >= EW_ABORT_EVERY)
				{
					since_check = 0;
					if (onnx_kernel_should_abort(ctx))
						return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
				}
			}
		}
		/* next outer index: an odometer over the collapsed dims but the last two */
		for (int d = r - 3; d >= 0; d--)
		{
			for (int k = 0; k < n_in; k++)
				off[k] += p.strides[k][d];
			if (++idx[d] < p.dims[d])
				break;
			for (int k = 0; k < n_in; k++)
				off[k] -= p.strides[k][d] * p.dims[d];
			idx[d] = 0;
		}
	}
	return ONNX_OK;
}

/* ---- binary ---- */

typedef struct BinArg
{
	OnnxEwBinFn fn;
	OnnxDType	in_dtype;		/* of a and b */
	OnnxDType	out_dtype;
	const OnnxEwTable *tab;
} BinArg;

static void
bin_run(const void *arg, void *y, const void *const *x, int64_t n, unsigned mode)
{
	((const BinArg *) arg)->fn(y, x[0], x[1], n, mode);
}

/* Convert n 16-bit floats of dtype dt to float32. */
static void
to_f32(const OnnxEwTable *t, OnnxDType dt, float *dst, const void *src, int64_t n)
{
	(dt == ONNX_DTYPE_FLOAT16 ? t->half_to_f32 : t->bf16_to_f32) (dst, src, n);
}

static void
from_f32(const OnnxEwTable *t, OnnxDType dt, void *dst, const float *src, int64_t n)
{
	(dt == ONNX_DTYPE_FLOAT16 ? t->f32_to_half : t->f32_to_bf16) (dst, src, n);
}

/*
 * float16/bfloat16 a, b: blocks converted to float32, the float32 kernel,
 * the block converted back (or written as it is for a bool output).
 */
static void
bin_run_half(const void *arg, void *y, const void *const *x, int64_t n, unsigned mode)
{
	const BinArg *ba = arg;
	float		ta[EW_BLOCK],
				tb[EW_BLOCK],
				ty[EW_BLOCK];
	bool		boolean = ba->out_dtype == ONNX_DTYPE_BOOL;

	if (!(mode & 1))
		to_f32(ba->tab, ba->in_dtype, ta, x[0], 1);
	if (!(mode & 2))
		to_f32(ba->tab, ba->in_dtype, tb, x[1], 1);
	for (int64_t i0 = 0; i0 < n; i0 += EW_BLOCK)
	{
		int64_t		m = n - i0 < EW_BLOCK ? n - i0 : EW_BLOCK;

		if (mode & 1)
			to_f32(ba->tab, ba->in_dtype, ta, (const uint16_t *) x[0] + i0, m);
		if (mode & 2)
			to_f32(ba->tab, ba->in_dtype, tb, (const uint16_t *) x[1] + i0, m);
		if (boolean)
			ba->fn((uint8_t *) y + i0, ta, tb, m, mode);
		else
		{
			ba->fn(ty, ta, tb, m, mode);
			from_f32(ba->tab, ba->out_dtype, (uint16_t *) y + i0, ty, m);
		}
	}
}

OnnxStatus
onnx_ew_binary(OnnxKernelCtx *ctx, OnnxTensor *y, const OnnxTensor *a, const OnnxTensor *b,
			   OnnxEwBinFn fn)
{
	const OnnxTensor *ins[2] = {a, b};
	BinArg		arg = {fn, a->dtype, y->dtype, onnx_ew_table()};
	bool		half = a->dtype == ONNX_DTYPE_FLOAT16 || a->dtype == ONNX_DTYPE_BFLOAT16;

	return onnx_ew_broadcast(ctx, y, 2, ins, half ? bin_run_half : bin_run, &arg);
}

/* ---- unary ---- */

OnnxStatus
onnx_ew_unary(OnnxKernelCtx *ctx, OnnxTensor *y, const OnnxTensor *x, OnnxEwUnOp op,
			  const float *p)
{
	const OnnxEwTable *t = onnx_ew_table();
	OnnxEwUnFn	fn = t->unary[op];
	int64_t		n = x->count;
	int64_t		step = x->dtype == ONNX_DTYPE_FLOAT ? EW_ABORT_EVERY : EW_BLOCK;
	int64_t		since_check = 0;

	for (int64_t i0 = 0; i0 < n; i0 += step)
	{
		int64_t		m = n - i0 < step ? n - i0 : step;

		if (x->dtype == ONNX_DTYPE_FLOAT)
		{
			EwSplit		sp = {.un = fn, .un_p = p, .y = (char *) ((float *) y->data + i0)};

			sp.x[0] = (const float *) x->data + i0;
			sp.xsz[0] = sizeof(float);
			sp.ysz = sizeof(float);
			sp.n_in = 1;
			sp.mode = 1;
			sp.n = m;
			split_run(&sp, onnx_kernel_threads(ctx));
		}
		else
		{
			float		tx[EW_BLOCK];

			to_f32(t, x->dtype, tx, (const uint16_t *) x->data + i0, m);
			fn(tx, tx, m, p);
			from_f32(t, y->dtype, (uint16_t *) y->data + i0, tx, m);
		}
		since_check += m;
		if (since_check >= EW_ABORT_EVERY)
		{
			since_check = 0;
			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		}
	}
	return ONNX_OK;
}

/* ---- outputs ---- */

OnnxTensor *
onnx_ew_out(OnnxKernelCtx *ctx, int i, OnnxDType dtype, int n, const OnnxTensor *const *ins,
			unsigned reuse)
{
	int			rank = 0;
	int64_t		dims[ONNX_MAX_RANK];
	bool		first = true;

	for (int k = 0; k < n; k++)
	{
		int64_t		nd[ONNX_MAX_RANK];
		int			nr;

		if (ins[k] == NULL)
			continue;
		if (first)
		{
			rank = ins[k]->rank;
			memcpy(dims, ins[k]->dims, sizeof(int64_t) * (size_t) rank);
			first = false;
			continue;
		}
		if (!onnx_broadcast_shape(rank, dims, ins[k]->rank, ins[k]->dims, &nr, nd))
		{
			OnnxTensor	acc;
			char		sa[128],
						sb[128];

			acc.rank = rank;
			memcpy(acc.dims, dims, sizeof(int64_t) * (size_t) rank);
			onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s cannot broadcast shapes %s and %s",
							 ctx->node->op_type, onnx_shape_text(&acc, sa, sizeof(sa)),
							 onnx_shape_text(ins[k], sb, sizeof(sb)));
			return NULL;
		}
		rank = nr;
		memcpy(dims, nd, sizeof(int64_t) * (size_t) rank);
	}
	/* an input of the output's shape and type may give its buffer */
	for (int k = 0; k < n; k++)
	{
		OnnxTensor *t;

		if (!((reuse >> k) & 1) || ins[k] == NULL || ins[k]->dtype != dtype ||
			ins[k]->rank != rank || memcmp(ins[k]->dims, dims, sizeof(int64_t) * (size_t) rank) != 0)
			continue;
		if ((t = onnx_out_reuse(ctx, i, k)) != NULL)
			return t;
	}
	return onnx_out_raw(ctx, i, dtype, rank, dims);
}
