/*-------------------------------------------------------------------------
 *
 * ops_einsum.c
 *	  Operator family "einsum": Einsum.
 *
 *	  The equation is parsed and validated once at load (check hook) and
 *	  kept in the node (prepare hook).  At run time the ellipsis is expanded
 *	  against the input ranks and every label gets a size.  Two float or
 *	  double operands without diagonals or one-sided sums are contracted as
 *	  a batched matrix product through blas.c: A is laid out as
 *	  (batch, M, K), B as (batch, K, N), C (batch, M, N) is permuted into
 *	  the output.  Everything else (one or many operands, diagonals,
 *	  broadcasting, integer types, float16) goes through a general loop
 *	  over all labels that accumulates in double (float types) or int64
 *	  (integer types).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "op_tables.h"

#define EIN_LETTERS 52			/* A-Z then a-z, so label order is ASCII order */
#define EIN_LABELS (EIN_LETTERS + ONNX_MAX_RANK)	/* letters, then ellipsis dims */
#define EIN_ELLIPSIS (-1)

/* One term of the equation: letter labels and at most one ellipsis marker. */
typedef struct EinTerm
{
	int			n;				/* entries in lab */
	int			n_letters;
	bool		has_ellipsis;
	int8_t		lab[ONNX_MAX_RANK + 1];
} EinTerm;

/* The parsed equation (node->prepared). */
typedef struct EinSpec
{
	int			n_terms;
	EinTerm    *terms;
	bool		explicit_out;
	EinTerm		out;
} EinSpec;

/* ---- parsing ---- */

/*
 * Parse one term starting at *p up to ',', '-' or the end (spaces
 * skipped); advance *p.  False with why set on a bad character, a second
 * ellipsis or too many labels.
 */
static bool
parse_term(const char **p, EinTerm *t, char *why, size_t why_len)
{
	const char *s = *p;

	memset(t, 0, sizeof(*t));
	for (; *s && *s != ',' && *s != '-'; s++)
	{
		int			code;

		if (*s == ' ')
			continue;
		if (*s == '.')
		{
			if (strncmp(s, "...", 3) != 0 || t->has_ellipsis)
			{
				snprintf(why, why_len, "a term has a malformed or second ellipsis");
				return false;
			}
			t->has_ellipsis = true;
			code = EIN_ELLIPSIS;
			s += 2;
		}
		else if (*s >= 'A' && *s <= 'Z')
			code = *s - 'A';
		else if (*s >= 'a' && *s <= 'z')
			code = 26 + (*s - 'a');
		else
		{
			snprintf(why, why_len, "character '%c' is not a letter, ',', '...' or '->'", *s);
			return false;
		}
		if (t->n >= ONNX_MAX_RANK + (t->has_ellipsis ? 1 : 0))
		{
			snprintf(why, why_len, "a term has more than %d labels", ONNX_MAX_RANK);
			return false;
		}
		t->lab[t->n++] = (int8_t) code;
		if (code != EIN_ELLIPSIS)
			t->n_letters++;
	}
	*p = s;
	return true;
}

/*
 * Parse equation eq for n_inputs operands into spec (spec->terms holds
 * n_inputs entries, or is NULL to validate only).  Returns false with why
 * set when the equation is malformed.
 */
static bool
parse_equation(const char *eq, int n_inputs, EinSpec *spec, char *why, size_t why_len)
{
	const char *p = eq;
	int			count[EIN_LETTERS] = {0};
	bool		any_ellipsis = false;
	EinTerm		tmp;

	spec->n_terms = 0;
	for (;;)
	{
		EinTerm    *t = spec->terms && spec->n_terms < n_inputs ? &spec->terms[spec->n_terms] : &tmp;

		if (!parse_term(&p, t, why, why_len))
			return false;
		for (int i = 0; i < t->n; i++)
			if (t->lab[i] >= 0)
				count[t->lab[i]]++;
		any_ellipsis |= t->has_ellipsis;
		spec->n_terms++;
		if (*p != ',')
			break;
		p++;
	}
	if (spec->n_terms != n_inputs)
	{
		snprintf(why, why_len, "the equation has %d input terms for %d inputs", spec->n_terms, n_inputs);
		return false;
	}
	spec->explicit_out = false;
	if (*p == '-')
	{
		bool		seen[EIN_LETTERS] = {false};

		if (p[1] != '>')
		{
			snprintf(why, why_len, "'-' must be followed by '>'");
			return false;
		}
		p += 2;
		if (!parse_term(&p, &spec->out, why, why_len))
			return false;
		if (*p != '\0')
		{
			snprintf(why, why_len, "the output term has a stray '%c'", *p);
			return false;
		}
		for (int i = 0; i < spec->out.n; i++)
		{
			int			l = spec->out.lab[i];

			if (l < 0)
				continue;
			if (count[l] == 0 || seen[l])
			{
				snprintf(why, why_len, "output label '%c' is %s", l < 26 ? 'A' + l : 'a' + l - 26,
						 seen[l] ? "repeated" : "not in any input term");
				return false;
			}
			seen[l] = true;
		}
		spec->explicit_out = true;
	}
	else
	{
		/* implicit: ellipsis first, then the labels seen once, in ASCII order */
		memset(&spec->out, 0, sizeof(spec->out));
		if (any_ellipsis)
		{
			spec->out.lab[spec->out.n++] = EIN_ELLIPSIS;
			spec->out.has_ellipsis = true;
		}
		for (int l = 0; l < EIN_LETTERS; l++)
			if (count[l] == 1)
			{
				if (spec->out.n > ONNX_MAX_RANK)
				{
					snprintf(why, why_len, "the output has more than %d labels", ONNX_MAX_RANK);
					return false;
				}
				spec->out.lab[spec->out.n++] = (int8_t) l;
				spec->out.n_letters++;
			}
	}
	return true;
}

static OnnxStatus
check_einsum(const OnnxNode *node, OnnxError *err)
{
	const char *eq = onnx_attr_string(node, "equation", NULL);
	EinSpec		spec = {0};
	char		why[200];

	if (eq == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "Einsum needs an equation attribute");
	if (!parse_equation(eq, node->n_inputs, &spec, why, sizeof(why)))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "Einsum equation \"%s\": %s", eq, why);
	return ONNX_OK;
}

static OnnxStatus
prepare_einsum(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	EinSpec    *spec = onnx_arena_alloc(arena, sizeof(EinSpec));
	char		why[200];

	if (spec == NULL ||
		(spec->terms = onnx_arena_alloc(arena, sizeof(EinTerm) * (node->n_inputs > 0 ? node->n_inputs : 1))) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory preparing Einsum");
	if (!parse_equation(onnx_attr_string(node, "equation", ""), node->n_inputs, spec, why, sizeof(why)))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "Einsum equation: %s", why);
	node->prepared = spec;
	return ONNX_OK;
}

/* ---- binding the equation to the inputs ---- */

/* Labels of every operand and of the output, with sizes and strides. */
typedef struct EinPlan
{
	int			n_ops;
	int			n_ell;			/* ellipsis rank (largest over the operands) */
	int64_t		size[EIN_LABELS];
	bool		used[EIN_LABELS];
	int			out_rank;
	int			out_lab[ONNX_MAX_RANK];
	int64_t		out_dims[ONNX_MAX_RANK];
	/* per operand: its labels by dimension (ellipsis expanded) */
	int			op_rank[8];
	int			op_lab[8][ONNX_MAX_RANK];
} EinPlan;

/* Labels of term t against an operand of rank r (ellipsis dims right-aligned). */
static bool
expand_term(const EinTerm *t, int r, int n_ell, int *lab)
{
	int			e = t->has_ellipsis ? r - t->n_letters : 0,
				k = 0;

	if (e < 0 || (!t->has_ellipsis && r != t->n_letters) || e > n_ell)
		return false;
	for (int i = 0; i < t->n; i++)
	{
		if (t->lab[i] == EIN_ELLIPSIS)
			for (int j = 0; j < e; j++)
				lab[k++] = EIN_LETTERS + (n_ell - e) + j;
		else
			lab[k++] = t->lab[i];
	}
	return true;
}

/* Strides of operand x per label (summed over repeated labels; 0 where broadcast). */
static void
label_strides(const EinPlan *pl, int op, const OnnxTensor *x, int64_t *st)
{
	int64_t		s = 1;

	memset(st, 0, sizeof(int64_t) * EIN_LABELS);
	for (int d = x->rank - 1; d >= 0; d--)
	{
		if (x->dims[d] != 1 || pl->size[pl->op_lab[op][d]] == 1)
			st[pl->op_lab[op][d]] += s;
		s *= x->dims[d];
	}
}

/* ---- general loop ---- */

/*
 * Advance the odometer over the labels loop[lo..hi) (the last fastest) by
 * one step, moving each operand's offset off[i] along its strides st[i].
 */
static inline void
ein_step(const EinPlan *pl, const int *loop, int lo, int hi, int n,
		 int64_t st[][EIN_LABELS], int64_t *idx, int64_t *off)
{
	for (int q = hi - 1; q >= lo; q--)
	{
		int			l = loop[q];

		for (int i = 0; i < n; i++)
			off[i] += st[i][l];
		if (++idx[l] < pl->size[l])
			return;
		for (int i = 0; i < n; i++)
			off[i] -= st[i][l] * pl->size[l];
		idx[l] = 0;
	}
}

/*
 * Y[out labels] = sum over the other labels of the product of the
 * operands (buffers of T read through per-label strides).
 */
#define EIN_GENERAL(T, BUF, STORE) \
	do { \
		int64_t		idx[EIN_LABELS] = {0}, off[8] = {0}; \
		for (int64_t o = 0; o < y->count; o++) \
		{ \
			T			acc = 0; \
			for (int64_t s = 0; s < n_sum; s++) \
			{ \
				T			prod = 1; \
				for (int i = 0; i < n; i++) \
					prod *= BUF[i][off[i]]; \
				acc += prod; \
				ein_step(pl, loop, n_out_loop, nl, n, st, idx, off); \
			} \
			STORE; \
			ein_step(pl, loop, 0, n_out_loop, n, st, idx, off); \
			if ((o & 4095) == 0 && onnx_kernel_should_abort(ctx)) \
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled"); \
		} \
	} while (0)

static OnnxStatus
einsum_general(OnnxKernelCtx *ctx, const EinPlan *pl, const OnnxTensor **xs, OnnxTensor *y)
{
	int			n = pl->n_ops;
	int64_t		st[8][EIN_LABELS];
	int			loop[EIN_LABELS],
				nl = 0,
				n_out_loop;
	int64_t		n_sum = 1,
				work;
	bool		is_out[EIN_LABELS] = {false};
	bool		fl = onnx_dtype_is_float(y->dtype);
	void	   *buf[8] = {NULL};

	for (int i = 0; i < pl->out_rank; i++)
	{
		loop[nl++] = pl->out_lab[i];
		is_out[pl->out_lab[i]] = true;
	}
	n_out_loop = nl;
	for (int l = 0; l < EIN_LABELS; l++)
		if (pl->used[l] && !is_out[l])
		{
			loop[nl++] = l;
			n_sum *= pl->size[l];
		}
	if (onnx_mul_overflow_i64(n_sum, y->count, &work))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "Einsum step count overflows");
	for (int i = 0; i < n; i++)
	{
		label_strides(pl, i, xs[i], st[i]);
		if ((buf[i] = onnx_kernel_scratch(ctx, (size_t) xs[i]->count, 8)) == NULL)
			return ctx->err->status;
		for (int64_t e = 0; e < xs[i]->count; e++)
		{
			if (fl)
				((double *) buf[i])[e] = onnx_tensor_get_f64(xs[i], e);
			else
				((int64_t *) buf[i])[e] = onnx_tensor_get_i64(xs[i], e);
		}
	}
	if (n_sum == 0 || y->count == 0)
		return ONNX_OK;			/* sums over empty ranges: zeros */
	if (fl)
	{
		double	   *const *db = (double *const *) buf;

		EIN_GENERAL(double, db, onnx_tensor_set_f64(y, o, acc));
	}
	else
	{
		int64_t    *const *ib = (int64_t *const *) buf;

		EIN_GENERAL(uint64_t, ib, onnx_tensor_set_i64(y, o, (int64_t) acc));
	}
	return ONNX_OK;
}

/* ---- batched matrix product through BLAS ---- */

/*
 * Copy x (element size es) into dst laid out row-major over the labels
 * lab[0..nlab) of operand op (a transpose).
 */
static void
lay_out(const EinPlan *pl, int op, const OnnxTensor *x, const int *lab, int nlab, void *dst)
{
	int64_t		st[EIN_LABELS],
				idx[ONNX_MAX_RANK] = {0},
				dims[ONNX_MAX_RANK],
				total = 1,
				off = 0;
	size_t		es = onnx_dtype_size(x->dtype);

	label_strides(pl, op, x, st);
	for (int i = 0; i < nlab; i++)
	{
		dims[i] = pl->size[lab[i]];
		total *= dims[i];
	}
	for (int64_t o = 0; o < total; o++)
	{
		memcpy((char *) dst + o * es, (const char *) x->data + off * es, es);
		for (int d = nlab - 1; d >= 0; d--)
		{
			off += st[lab[d]];
			if (++idx[d] < dims[d])
				break;
			off -= st[lab[d]] * dims[d];
			idx[d] = 0;
		}
	}
}

/*
 * Whether the two-operand plan is a batched matrix product worth BLAS:
 * float or double, no repeated label in an operand, no broadcast
 * dimension, every summed label in both operands, and M * N > 1.
 */
static bool
is_batch_matmul(const EinPlan *pl, const OnnxTensor **xs)
{
	bool		in_a[EIN_LABELS] = {false},
				in_b[EIN_LABELS] = {false},
				is_out[EIN_LABELS] = {false};
	int64_t		mn = 1;

	if (pl->n_ops != 2 || xs[0]->dtype != xs[1]->dtype ||
		(xs[0]->dtype != ONNX_DTYPE_FLOAT && xs[0]->dtype != ONNX_DTYPE_DOUBLE))
		return false;
	for (int op = 0; op < 2; op++)
		for (int d = 0; d < xs[op]->rank; d++)
		{
			int			l = pl->op_lab[op][d];
			bool	   *in = op ? in_b : in_a;

			if (in[l] || xs[op]->dims[d] != pl->size[l])
				return false;
			in[l] = true;
		}
	for (int i = 0; i < pl->out_rank; i++)
		is_out[pl->out_lab[i]] = true;
	for (int l = 0; l < EIN_LABELS; l++)
	{
		if ((in_a[l] || in_b[l]) && !is_out[l] && !(in_a[l] && in_b[l]))
			return false;
		if (is_out[l] && in_a[l] != in_b[l])
			mn *= pl->size[l];
	}
	/* batched dot products (M = N = 1) are faster in the general loop */
	return mn > 1;
}

/* Label l's position in lab[0..n), or -1. */
static int
find_label(const int *lab, int n, int l)
{
	for (int i = 0; i < n; i++)
		if (lab[i] == l)
			return i;
	return -1;
}

/* dst = x (nx) ++ y (ny) ++ z (nz); returns the length. */
static int
concat_labels(int *dst, const int *x, int nx, const int *y, int ny, const int *z, int nz)
{
	memcpy(dst, x, sizeof(int) * nx);
	memcpy(dst + nx, y, sizeof(int) * ny);
	memcpy(dst + nx + ny, z, sizeof(int) * nz);
	return nx + ny + nz;
}

/*
 * Operand op as a batch of (rows, cols) matrices over the labels
 * bat ++ rows ++ cols: its own data when its labels are in that order
 * (*trans false) or in bat ++ cols ++ rows (*trans true), else a copy laid
 * out in the first order into *copy.  NULL on out of memory.
 */
static const void *
matmul_operand(OnnxKernelCtx *ctx, const EinPlan *pl, int op, const OnnxTensor *x,
			   const int *bat, int nbat, const int *rows, int nr, const int *cols, int ncl,
			   bool *trans, void **copy)
{
	int			want[ONNX_MAX_RANK];
	int			n = concat_labels(want, bat, nbat, rows, nr, cols, ncl);

	*trans = false;
	*copy = NULL;
	if (memcmp(want, pl->op_lab[op], sizeof(int) * n) == 0)
		return x->data;
	concat_labels(want, bat, nbat, cols, ncl, rows, nr);
	if (memcmp(want, pl->op_lab[op], sizeof(int) * n) == 0)
	{
		*trans = true;
		return x->data;
	}
	concat_labels(want, bat, nbat, rows, nr, cols, ncl);
	if ((*copy = onnx_kernel_alloc(ctx, x->nbytes ? x->nbytes : 1)) == NULL)
		return NULL;
	lay_out(pl, op, x, want, n, *copy);
	return *copy;
}

/*
 * A (batch.., M.., K..) @ B (batch.., K.., N..) -> C (batch.., M.., N..) -> Y (out labels).
 * Batch labels in output order, M in A's order, N in B's, K in A's; an
 * operand already in (or transposed from) that layout is used in place.
 */
static OnnxStatus
einsum_matmul(OnnxKernelCtx *ctx, const EinPlan *pl, const OnnxTensor **xs, OnnxTensor *y)
{
	const int  *la = pl->op_lab[0],
			   *lb = pl->op_lab[1];
	int			ra = pl->op_rank[0],
				rb = pl->op_rank[1];
	int			bat[ONNX_MAX_RANK],
				ml[ONNX_MAX_RANK],
				nl[ONNX_MAX_RANK],
				kl[ONNX_MAX_RANK],
				c_lab[ONNX_MAX_RANK],
				nbat = 0,
				nm = 0,
				nn = 0,
				nk = 0,
				nc;
	int64_t		B = 1,
				M = 1,
				N = 1,
				K = 1;
	bool		dbl = y->dtype == ONNX_DTYPE_DOUBLE;
	const char *pa,
			   *pb;
	char	   *pc;
	void	   *ca = NULL,
			   *cb = NULL;
	bool		ta,
				tb,
				c_direct;
	OnnxStatus	st = ONNX_OK;

	for (int i = 0; i < pl->out_rank; i++)
		if (find_label(la, ra, pl->out_lab[i]) >= 0 && find_label(lb, rb, pl->out_lab[i]) >= 0)
		{
			bat[nbat++] = pl->out_lab[i];
			B *= pl->size[pl->out_lab[i]];
		}
	for (int d = 0; d < ra; d++)
	{
		if (find_label(pl->out_lab, pl->out_rank, la[d]) < 0)
		{
			kl[nk++] = la[d];
			K *= pl->size[la[d]];
		}
		else if (find_label(lb, rb, la[d]) < 0)
		{
			ml[nm++] = la[d];
			M *= pl->size[la[d]];
		}
	}
	for (int d = 0; d < rb; d++)
		if (find_label(la, ra, lb[d]) < 0)
		{
			nl[nn++] = lb[d];
			N *= pl->size[lb[d]];
		}
	nc = concat_labels(c_lab, bat, nbat, ml, nm, nl, nn);
	c_direct = memcmp(c_lab, pl->out_lab, sizeof(int) * nc) == 0;
	pa = matmul_operand(ctx, pl, 0, xs[0], bat, nbat, ml, nm, kl, nk, &ta, &ca);
	pb = pa ? matmul_operand(ctx, pl, 1, xs[1], bat, nbat, kl, nk, nl, nn, &tb, &cb) : NULL;
	pc = c_direct ? y->data : onnx_kernel_alloc(ctx, y->nbytes ? y->nbytes : 1);
	if (pa == NULL || pb == NULL || pc == NULL)
	{
		st = ONNX_KERNEL_OOM(ctx);
		goto done;
	}
	if (K == 0)
		memset(pc, 0, y->nbytes);
	else
		for (int64_t b = 0; b < B; b++)
		{
			/* A_b (M,K) or (K,M) transposed; B_b (K,N) or (N,K) transposed */
			if (dbl)
				onnx_blas_dgemm(ta, tb, M, N, K, 1.0, (const double *) pa + b * M * K, ta ? M : K,
								(const double *) pb + b * K * N, tb ? K : N,
								0.0, (double *) pc + b * M * N, N);
			else
				onnx_blas_sgemm(ta, tb, M, N, K, 1.0f, (const float *) pa + b * M * K, ta ? M : K,
								(const float *) pb + b * K * N, tb ? K : N,
								0.0f, (float *) pc + b * M * N, N);
		}
	if (!c_direct)
	{
		/* C is an operand over c_lab; copy it into Y's label order */
		EinPlan		cp = *pl;
		OnnxTensor	ct = *y;

		cp.op_rank[0] = nc;
		memcpy(cp.op_lab[0], c_lab, sizeof(int) * nc);
		ct.rank = nc;
		for (int i = 0; i < nc; i++)
			ct.dims[i] = pl->size[c_lab[i]];
		ct.data = pc;
		lay_out(&cp, 0, &ct, pl->out_lab, pl->out_rank, y->data);
	}
done:
	if (!c_direct && pc)
		onnx_kernel_free(ctx, pc);
	onnx_kernel_free(ctx, ca);
	onnx_kernel_free(ctx, cb);
	return st;
}

/* ---- more than two operands: contraction pair by pair ---- */

/*
 * Y (out_lab) = contraction of a (labels la) and b (labels lb) with the
 * label sizes of pl: a two-operand plan run by BLAS or the general loop.
 */
static OnnxStatus
einsum_pair(OnnxKernelCtx *ctx, const EinPlan *pl, const OnnxTensor *a, const int *la,
			const OnnxTensor *b, const int *lb, const int *out_lab, int out_rank, OnnxTensor *y)
{
	EinPlan		sub = *pl;
	const OnnxTensor *xs[2] = {a, b};

	sub.n_ops = 2;
	sub.op_rank[0] = a->rank;
	sub.op_rank[1] = b->rank;
	memcpy(sub.op_lab[0], la, sizeof(int) * a->rank);
	memcpy(sub.op_lab[1], lb, sizeof(int) * b->rank);
	memset(sub.used, 0, sizeof(sub.used));
	for (int d = 0; d < a->rank; d++)
		sub.used[la[d]] = true;
	for (int d = 0; d < b->rank; d++)
		sub.used[lb[d]] = true;
	sub.out_rank = out_rank;
	memcpy(sub.out_lab, out_lab, sizeof(int) * out_rank);
	if (is_batch_matmul(&sub, xs))
		return einsum_matmul(ctx, &sub, xs, y);
	return einsum_general(ctx, &sub, xs, y);
}

/*
 * Contract float or double operands left to right into y.  Each
 * intermediate keeps the labels still needed (by a later operand or the
 * output) and must not be larger than the inputs and output together;
 * *done is false (nothing written) when one would be.
 */
static OnnxStatus
einsum_chain(OnnxKernelCtx *ctx, const EinPlan *pl, const OnnxTensor **xs, OnnxTensor *y, bool *done)
{
	OnnxTensor	cur = *xs[0];
	int			cur_lab[ONNX_MAX_RANK];
	int64_t		budget = y->count;
	void	   *owned = NULL;
	OnnxStatus	st = ONNX_OK;

	*done = false;
	for (int i = 0; i < pl->n_ops; i++)
		budget += xs[i]->count;
	memcpy(cur_lab, pl->op_lab[0], sizeof(int) * cur.rank);
	for (int i = 1; i < pl->n_ops; i++)
	{
		bool		need[EIN_LABELS] = {false},
					taken[EIN_LABELS] = {false};
		int			nxt_lab[ONNX_MAX_RANK],
					nr = 0;
		OnnxTensor	nxt;

		if (i == pl->n_ops - 1)
		{
			st = einsum_pair(ctx, pl, &cur, cur_lab, xs[i], pl->op_lab[i], pl->out_lab, pl->out_rank, y);
			*done = st == ONNX_OK;
			break;
		}
		for (int d = 0; d < pl->out_rank; d++)
			need[pl->out_lab[d]] = true;
		for (int j = i + 1; j < pl->n_ops; j++)
			for (int d = 0; d < pl->op_rank[j]; d++)
				need[pl->op_lab[j][d]] = true;
		memset(&nxt, 0, sizeof(nxt));
		nxt.dtype = y->dtype;
		nxt.count = 1;
		for (int k = 0; k < 2; k++)
		{
			const int  *lab = k ? pl->op_lab[i] : cur_lab;
			int			r = k ? xs[i]->rank : cur.rank;

			for (int d = 0; d < r; d++)
				if (need[lab[d]] && !taken[lab[d]])
				{
					if (nr == ONNX_MAX_RANK ||
						onnx_mul_overflow_i64(nxt.count, pl->size[lab[d]], &nxt.count))
						nxt.count = budget + 1;
					else
					{
						taken[lab[d]] = true;
						nxt_lab[nr] = lab[d];
						nxt.dims[nr++] = pl->size[lab[d]];
					}
				}
		}
		nxt.rank = nr;
		if (nxt.count > budget)
			break;				/* too large: the general loop does it all */
		nxt.nbytes = (size_t) nxt.count * onnx_dtype_size(nxt.dtype);
		if ((nxt.data = onnx_kernel_alloc(ctx, nxt.nbytes)) == NULL)
		{
			st = ONNX_KERNEL_OOM(ctx);
			break;
		}
		st = einsum_pair(ctx, pl, &cur, cur_lab, xs[i], pl->op_lab[i], nxt_lab, nr, &nxt);
		onnx_kernel_free(ctx, owned);
		owned = nxt.data;
		if (st != ONNX_OK)
			break;
		cur = nxt;
		memcpy(cur_lab, nxt_lab, sizeof(int) * nr);
	}
	onnx_kernel_free(ctx, owned);
	return st;
}

/* ---- Einsum: inputs by the equation -> Y (output labels) ---- */

static OnnxStatus
run_einsum(OnnxKernelCtx *ctx)
{
	const EinSpec *spec = ctx->node->prepared;
	const OnnxTensor *xs[8];
	EinPlan		pl;
	int			out_full[ONNX_MAX_RANK + 1];
	OnnxTensor *y;

	if (spec == NULL || spec->n_terms != ctx->n_inputs)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "Einsum equation was not prepared");
	if (ctx->n_inputs < 1 || ctx->n_inputs > 8)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "Einsum takes 1 to 8 inputs here, not %d", ctx->n_inputs);
	memset(&pl, 0, sizeof(pl));
	pl.n_ops = ctx->n_inputs;
	for (int i = 0; i < pl.n_ops; i++)
	{
		if ((xs[i] = onnx_in(ctx, i)) == NULL)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Einsum input %d is missing", i);
		if (xs[i]->dtype != xs[0]->dtype || xs[i]->dtype == ONNX_DTYPE_STRING || xs[i]->dtype == ONNX_DTYPE_BOOL)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Einsum inputs must share one numeric type");
		if (spec->terms[i].has_ellipsis && xs[i]->rank - spec->terms[i].n_letters > pl.n_ell)
			pl.n_ell = xs[i]->rank - spec->terms[i].n_letters;
	}
	for (int i = 0; i < EIN_LABELS; i++)
		pl.size[i] = 1;
	for (int i = 0; i < pl.n_ops; i++)
	{
		const OnnxTensor *x = xs[i];

		if (!expand_term(&spec->terms[i], x->rank, pl.n_ell, pl.op_lab[i]))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input %d has rank %d, the term has %d labels%s",
									i, x->rank, spec->terms[i].n_letters,
									spec->terms[i].has_ellipsis ? " and an ellipsis" : "");
		pl.op_rank[i] = x->rank;
		for (int d = 0; d < x->rank; d++)
		{
			int			l = pl.op_lab[i][d];

			/* sizes agree, or one of them is 1 (broadcast) */
			if (pl.used[l] && pl.size[l] != x->dims[d] && pl.size[l] != 1 && x->dims[d] != 1)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"input %d dimension %d is %lld, but the label has size %lld",
										i, d, (long long) x->dims[d], (long long) pl.size[l]);
			if (!pl.used[l] || pl.size[l] == 1)
				pl.size[l] = x->dims[d];
			pl.used[l] = true;
		}
	}
	/* ellipsis dims absent from an explicit output are summed */
	if (!expand_term(&spec->out, spec->out.n_letters + (spec->out.has_ellipsis ? pl.n_ell : 0), pl.n_ell, out_full))
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "Einsum output term does not expand");
	pl.out_rank = spec->out.n_letters + (spec->out.has_ellipsis ? pl.n_ell : 0);
	if (pl.out_rank > ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "Einsum output rank exceeds %d", ONNX_MAX_RANK);
	for (int i = 0; i < pl.out_rank; i++)
	{
		pl.out_lab[i] = out_full[i];
		pl.out_dims[i] = pl.size[out_full[i]];
		pl.used[out_full[i]] = true;
	}
	if ((y = onnx_out(ctx, 0, xs[0]->dtype, pl.out_rank, pl.out_dims)) == NULL)
		return ctx->err->status;
	if (is_batch_matmul(&pl, xs))
		return einsum_matmul(ctx, &pl, xs, y);
	if (pl.n_ops > 2 && (y->dtype == ONNX_DTYPE_FLOAT || y->dtype == ONNX_DTYPE_DOUBLE))
	{
		bool		done;
		OnnxStatus	st = einsum_chain(ctx, &pl, xs, y, &done);

		if (st != ONNX_OK || done)
			return st;
	}
	return einsum_general(ctx, &pl, xs, y);
}

static const OnnxAttrSpec einsum_attrs[] = {{"equation", ONNX_ATTR_STRING}, {0}};

const OnnxOpDef onnx_ops_einsum[] = {
	ONNX_OP("", "Einsum", 12, ONNX_INPUTS(1, -1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		.out_type = ONNX_OUT_SAME, .check = check_einsum, .run = run_einsum, .attrs = einsum_attrs,
		.prepare = prepare_einsum),
	{0}
};
