/*-------------------------------------------------------------------------
 *
 * ops_rnn.c
 *	  Recurrent layers: RNN, GRU, LSTM (every opset; layout from 14).
 *
 * Shapes (layout 0; layout 1 swaps seq and batch in X and Y, and puts
 * batch first in the states):
 *	  X (seq, batch, in), W (dirs, G*hid, in), R (dirs, G*hid, hid),
 *	  B (dirs, 2*G*hid), sequence_lens (batch), initial_h (dirs, batch, hid),
 *	  LSTM: initial_c (dirs, batch, hid), P (dirs, 3*hid)
 *	  -> Y (seq, dirs, batch, hid), Y_h (dirs, batch, hid), LSTM: Y_c
 * with G = 1 (RNN), 3 (GRU: gates z r h), 4 (LSTM: gates i o f c).
 * Steps past a row's sequence length give zeros in Y and keep the state;
 * a reverse direction starts at each row's last valid step; a row of
 * length 0 gets zeros in Y_h and Y_c (as onnxruntime).
 *
 * Computation, per direction, in float32 (float16, bfloat16 and double
 * inputs are converted, outputs converted back):
 *	  XW (seq*batch, G*hid) = X (seq*batch, in) @ W^T (in, G*hid) + bias
 * once for all steps (rows in X's own order), then per step
 *	  HR (batch, G*hid) = H (batch, hid) @ R^T (hid, G*hid)
 * and the gates of each row (rnn_cell.c).  bias is Wb + Rb, except the
 * h gate of a GRU with linear_before_reset, whose Rb_h stays inside the
 * reset product.  Constant W, R, B and P are converted and the biases
 * summed once at load (rnn_pack); float32 weights are used in place, and
 * W^T and R^T of each direction are also packed once as the GEMM's B
 * operand (gemm.h), so a step does not repack R (hid x G*hid floats, as
 * many as the step's multiply-adds at batch 1).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <strings.h>

#include "gemm.h"
#include "op_tables.h"
#include "parallel.h"
#include "rnn_cell.h"

typedef enum RnnKind
{
	RNN_PLAIN,
	RNN_GRU,
	RNN_LSTM
} RnnKind;

/* The attributes of a node, read and checked. */
typedef struct RnnAttrs
{
	RnnKind		kind;
	int			G;				/* gates: 1, 3 or 4 */
	int			per_dir;		/* activations per direction: 1, 2 or 3 */
	int			dirs;
	bool		reverse;		/* the one direction runs backwards */
	int			layout;
	int64_t		hid;			/* hidden_size, or -1 (from R) */
	float		clip;			/* +inf without clip */
	bool		input_forget;
	bool		lbr;			/* GRU linear_before_reset */
	RnnAct		acts[6];		/* per direction: f, g, h */
} RnnAttrs;

/*
 * Constant weights as float32, made at load: all directions, NULL where
 * the input is not constant.  in and hid are the sizes they were made for.
 */
typedef struct RnnPrepared
{
	int64_t		in,
				hid;
	const float *w;				/* W (dirs, G*hid, in) */
	const float *r;				/* R (dirs, G*hid, hid) */
	const float *bias;			/* (dirs, G*hid): see the file header */
	const float *rbh;			/* GRU linear_before_reset: Rb_h (dirs, hid) */
	const float *p;				/* LSTM: P (dirs, 3*hid) */
	const OnnxGemmPacked *wp[2];	/* per direction W^T (in, G*hid), packed, or NULL */
	const OnnxGemmPacked *rp[2];	/* R^T (hid, G*hid); GRU without lbr: z, r columns */
	const OnnxGemmPacked *rhp[2];	/* GRU without lbr: R_h^T (hid, hid) */
} RnnPrepared;

static const char *const act_names[] = {
	"Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
	"HardSigmoid", "Elu", "Softsign", "Softplus", NULL
};

/*
 * Default alpha/beta of each activation, and how many of the
 * activation_alpha / activation_beta lists it takes (the lists are
 * consumed in order by the activations that have parameters).
 */
static void
act_defaults(RnnAct *a, int *n_alpha, int *n_beta)
{
	static const float alpha[] = {0, 0, 0, 1.0f, 0.01f, 1.0f, 1.0f, 0.2f, 1.0f, 0, 0};
	static const float beta[] = {0, 0, 0, 0, 0, 0, 1.0f, 0.5f, 0, 0, 0};
	static const char takes_alpha[] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0};
	static const char takes_beta[] = {0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0};

	a->alpha = alpha[a->fn];
	a->beta = beta[a->fn];
	*n_alpha = takes_alpha[a->fn];
	*n_beta = takes_beta[a->fn];
}

/* Read and check the attributes; err names what is wrong. */
static OnnxStatus
rnn_read_attrs(const OnnxNode *node, RnnAttrs *at, OnnxError *err)
{
	static const RnnActFn defaults[3][3] = {
		{RNN_ACT_TANH}, {RNN_ACT_SIGMOID, RNN_ACT_TANH},
		{RNN_ACT_SIGMOID, RNN_ACT_TANH, RNN_ACT_TANH}
	};
	const char *direction = onnx_attr_string(node, "direction", "forward");
	const OnnxAttr *names = onnx_attr(node, "activations");
	const float *alphas,
			   *betas;
	int			na = onnx_attr_floats(node, "activation_alpha", &alphas);
	int			nb = onnx_attr_floats(node, "activation_beta", &betas);
	int			ia = 0,
				ib = 0,
				n;
	float		clip = onnx_attr_float(node, "clip", 0.0f);

	at->kind = strcmp(node->op_type, "LSTM") == 0 ? RNN_LSTM :
		(strcmp(node->op_type, "GRU") == 0 ? RNN_GRU : RNN_PLAIN);
	at->G = at->kind == RNN_PLAIN ? 1 : (at->kind == RNN_GRU ? 3 : 4);
	at->per_dir = at->kind == RNN_PLAIN ? 1 : (at->kind == RNN_GRU ? 2 : 3);
	at->dirs = strcmp(direction, "bidirectional") == 0 ? 2 : 1;
	at->reverse = strcmp(direction, "reverse") == 0;
	if (at->dirs == 1 && !at->reverse && strcmp(direction, "forward") != 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "direction \"%s\" is not forward, reverse or bidirectional", direction);
	at->layout = (int) onnx_attr_int(node, "layout", 0);
	if (at->layout != 0 && at->layout != 1)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "layout must be 0 or 1");
	at->hid = onnx_attr_int(node, "hidden_size", -1);
	if (onnx_attr(node, "hidden_size") && (at->hid <= 0 || at->hid > (1 << 20)))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "hidden_size %lld is out of range",
							  (long long) at->hid);
	/* no clip, or a non-positive one (ignored, as before): no bound */
	at->clip = clip > 0 ? clip : INFINITY;
	at->input_forget = onnx_attr_int(node, "input_forget", 0) != 0;
	at->lbr = onnx_attr_int(node, "linear_before_reset", 0) != 0;
	if (names && names->type == ONNX_ATTR_STRINGS &&
		names->n != at->per_dir && names->n != at->per_dir * at->dirs)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "activations lists %d functions, expected %d or %d",
							  names->n, at->per_dir, at->per_dir * at->dirs);
	/* one list for both directions, or one per direction */
	n = names && names->type == ONNX_ATTR_STRINGS ? names->n : at->per_dir;
	for (int i = 0; i < at->per_dir * at->dirs; i++)
	{
		RnnAct	   *a = &at->acts[i];
		int			ta,
					tb;

		if (i >= n)
		{
			*a = at->acts[i - n];
			continue;
		}
		a->fn = defaults[at->per_dir - 1][i % at->per_dir];
		if (names && names->type == ONNX_ATTR_STRINGS)
		{
			const char *name = names->strings[i];
			int			k;

			for (k = 0; act_names[k]; k++)
				if (strcasecmp(name, act_names[k]) == 0)
					break;
			if (act_names[k] == NULL)
				return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
									  "activation \"%s\" is not supported", name);
			a->fn = (RnnActFn) k;
		}
		act_defaults(a, &ta, &tb);
		if (ta && ia < na)
			a->alpha = alphas[ia++];
		if (tb && ib < nb)
			a->beta = betas[ib++];
	}
	return ONNX_OK;
}

/* Element i of a float tensor as float32 (any other numeric type too). */
static inline float
elem_f32(const OnnxTensor *t, int64_t i)
{
	switch (t->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			return ((const float *) t->data)[i];
		case ONNX_DTYPE_FLOAT16:
			return onnx_half_to_float(((const uint16_t *) t->data)[i]);
		case ONNX_DTYPE_BFLOAT16:
			return onnx_bf16_to_float(((const uint16_t *) t->data)[i]);
		case ONNX_DTYPE_DOUBLE:
			return (float) ((const double *) t->data)[i];
		default:
			return (float) onnx_tensor_get_f64(t, i);
	}
}

/*
 * Summed biases of all directions into bias (dirs, G*hid) and, for a GRU
 * with linear_before_reset, rbh (dirs, hid); B (dirs, 2*G*hid) may be
 * NULL (zeros).
 */
static void
fill_bias(const RnnAttrs *at, int64_t hid, const OnnxTensor *b, float *bias, float *rbh)
{
	int64_t		gh = at->G * hid;

	for (int d = 0; d < at->dirs; d++)
	{
		int64_t		boff = d * 2 * gh;

		for (int64_t j = 0; j < gh; j++)
		{
			float		wb = b ? elem_f32(b, boff + j) : 0,
						rb = b ? elem_f32(b, boff + gh + j) : 0;
			bool		keep_rb = rbh && j >= 2 * hid;	/* Rb_h stays apart */

			bias[d * gh + j] = keep_rb ? wb : wb + rb;
			if (keep_rb)
				rbh[d * hid + j - 2 * hid] = rb;
		}
	}
}

/* A float tensor's elements as float32 in arena memory (the data itself if float32). */
static const float *
pack_f32(const OnnxTensor *t, OnnxArena *arena)
{
	float	   *out;

	if (t->dtype == ONNX_DTYPE_FLOAT)
		return t->data;
	if ((size_t) t->count > SIZE_MAX / sizeof(float) ||
		(out = onnx_arena_alloc(arena, sizeof(float) * (size_t) t->count)) == NULL)
		return NULL;
	for (int64_t i = 0; i < t->count; i++)
		out[i] = elem_f32(t, i);
	return out;
}

/* Shape test for a 3-D weight: (dirs, rows, cols). */
static bool
weight_shape_is(const OnnxTensor *t, int64_t dirs, int64_t rows, int64_t cols)
{
	return t && t->rank == 3 && t->dims[0] == dirs && t->dims[1] == rows && t->dims[2] == cols;
}

/*
 * op(B) (K, N) = M^T for M (N, K) float32, packed in arena memory as the
 * GEMM's B operand; NULL when it would be too large (the run then packs
 * per product).
 */
static const OnnxGemmPacked *
pack_bt(const float *m, int64_t n, int64_t k, OnnxArena *arena, bool *oom)
{
	size_t		bytes;
	void	   *buf;

	if (n < 1 || k < 1 || !onnx_sgemm_pack_size(ONNX_GEMM_PACK_B, k, n, &bytes))
		return NULL;
	if ((buf = onnx_arena_alloc(arena, bytes)) == NULL)
	{
		*oom = true;
		return NULL;
	}
	return onnx_sgemm_pack_b(buf, bytes, true, k, n, m, k);
}

/*
 * Load-time hook: constant W, R, B, P converted to float32 (or used in
 * place) and the biases summed, into node->prepared.  A node whose
 * attributes or constant shapes are wrong is left to the run to report.
 */
static OnnxStatus
rnn_pack(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	const OnnxTensor *w = onnx_const_input(g, node, 1);
	const OnnxTensor *r = onnx_const_input(g, node, 2);
	const OnnxTensor *b = onnx_const_input(g, node, 3);
	const OnnxTensor *p = onnx_const_input(g, node, 7);
	bool		b_absent = node->n_inputs <= 3 || node->inputs[3] < 0;
	RnnAttrs	at;
	RnnPrepared *pr;
	OnnxError	ignored;
	int64_t		hid,
				in;

	if (w == NULL || r == NULL || r->rank != 3 || rnn_read_attrs(node, &at, &ignored) != ONNX_OK)
		return ONNX_OK;
	/* the sizes follow from constant W and R (the run checks X against them) */
	hid = at.hid > 0 ? at.hid : r->dims[2];
	in = w->rank == 3 ? w->dims[2] : -1;
	if (!weight_shape_is(w, at.dirs, at.G * hid, in) ||
		!weight_shape_is(r, at.dirs, at.G * hid, hid))
		return ONNX_OK;
	if ((pr = onnx_arena_alloc(arena, sizeof(RnnPrepared))) == NULL)
		return ONNX_ERROR_OOM(err);
	memset(pr, 0, sizeof(*pr));
	pr->in = in;
	pr->hid = hid;
	if ((pr->w = pack_f32(w, arena)) == NULL || (pr->r = pack_f32(r, arena)) == NULL)
		return ONNX_ERROR_OOM(err);
	if (b_absent || (b && b->count == (int64_t) at.dirs * 2 * at.G * hid))
	{
		float	   *bias = onnx_arena_alloc(arena, sizeof(float) * (size_t) (at.dirs * at.G * hid));
		float	   *rbh = NULL;

		if (bias && at.kind == RNN_GRU && at.lbr)
			rbh = onnx_arena_alloc(arena, sizeof(float) * (size_t) (at.dirs * hid));
		if (bias == NULL || (at.kind == RNN_GRU && at.lbr && rbh == NULL))
			return ONNX_ERROR_OOM(err);
		fill_bias(&at, hid, b, bias, rbh);
		pr->bias = bias;
		pr->rbh = rbh;
	}
	if (at.kind == RNN_LSTM && p && p->count == (int64_t) at.dirs * 3 * hid &&
		(pr->p = pack_f32(p, arena)) == NULL)
		return ONNX_ERROR_OOM(err);
	for (int d = 0; d < at.dirs; d++)
	{
		int64_t		gh = at.G * hid;
		bool		gru2 = at.kind == RNN_GRU && !at.lbr,
					oom = false;

		pr->wp[d] = pack_bt(pr->w + d * gh * in, gh, in, arena, &oom);
		pr->rp[d] = pack_bt(pr->r + d * gh * hid, gru2 ? 2 * hid : gh, hid, arena, &oom);
		if (gru2)
			pr->rhp[d] = pack_bt(pr->r + d * gh * hid + 2 * hid * hid, hid, hid, arena, &oom);
		if (oom)
			return ONNX_ERROR_OOM(err);
	}
	node->prepared = pr;
	return ONNX_OK;
}

/* Sizes and float32 views of one run's operands. */
typedef struct RnnRun
{
	const RnnAttrs *at;
	int64_t		seq,
				batch,
				in,
				hid;
	const float *x;				/* X rows in X's order */
	const float *w,
			   *r,
			   *bias,
			   *rbh,
			   *p;				/* all directions, as in RnnPrepared */
	const RnnPrepared *packed;	/* W^T, R^T packed at load, or NULL */
	const float *h0,
			   *c0;				/* states in the output layout, or NULL */
	const int64_t *lens;		/* per row, or NULL: all seq */
	float	   *y,
			   *yh,
			   *yc;				/* outputs as float32, NULL when not wanted */
	/* scratch, of xw_n and work_n floats */
	int64_t		xw_n,
				work_n;
	float	   *xw;				/* (seq*batch, G*hid) */
	float	   *hs,
			   *cs;				/* states (batch, hid) */
	float	   *hr;				/* (batch, G*hid) */
	float	   *rh;				/* GRU: (batch, hid) */
	float	   *tmp;			/* 4*hid */
} RnnRun;

/* Offset of state row (d, b): (dirs, batch, hid), or (batch, dirs, hid) in layout 1. */
static inline int64_t
state_off(const RnnRun *rr, int d, int64_t b)
{
	return (rr->at->layout ? b * rr->at->dirs + d : d * rr->batch + b) * rr->hid;
}

/* Row of X (and XW) for step t of batch row b. */
static inline int64_t
x_row(const RnnRun *rr, int64_t t, int64_t b)
{
	return rr->at->layout ? b * rr->seq + t : t * rr->batch + b;
}

/* Offset of Y's row (t, d, b). */
static inline int64_t
y_off(const RnnRun *rr, int64_t t, int d, int64_t b)
{
	return (rr->at->layout ? (b * rr->seq + t) * rr->at->dirs + d :
			(t * rr->at->dirs + d) * rr->batch + b) * rr->hid;
}

/*
 * C (M, N) = A (M, K) @ Bm^T + beta * C, Bm (N, K) row-major (rows K
 * apart), on its copy packed at load when there is one.
 */
static void
rnn_gemm(OnnxKernelCtx *ctx, int64_t M, int64_t N, int64_t K, const float *A, const float *Bm,
		 const OnnxGemmPacked *packed, float beta, float *C, int64_t ldc)
{
	if (packed)
		onnx_sgemm_packed(M, N, K, 1.0f, false, A, K, NULL, true, Bm, K, packed, beta, C, ldc,
						  onnx_kernel_threads(ctx));
	else
		onnx_blas_sgemm(false, true, M, N, K, 1.0f, A, K, Bm, K, beta, C, ldc);
}

/* One direction of a run: its operands and scratch (its own), its cell, its progress. */
typedef struct RnnDir
{
	RnnRun		rr;				/* the run's, with this direction's scratch */
	int			d;
	bool		reverse;
	RnnCell		cell;
	int64_t		steps;			/* the longest row's length */
} RnnDir;

/*
 * Start direction dd->d: its cell, XW (rows, gh) = X (rows, in) @ W^T
 * (in, gh) + bias for every step, and the initial states.
 */
static void
dir_begin(OnnxKernelCtx *ctx, RnnDir *dd)
{
	const RnnRun *rr = &dd->rr;
	const RnnAttrs *at = rr->at;
	int			d = dd->d;
	int64_t		hid = rr->hid,
				gh = at->G * hid,
				batch = rr->batch,
				rows = rr->seq * batch;
	const float *w = rr->w + d * gh * rr->in,
			   *bias = rr->bias + d * gh;
	RnnCell    *cell = &dd->cell;

	cell->hid = hid;
	cell->clip = at->clip;
	cell->f = at->acts[d * at->per_dir];
	cell->g = at->acts[d * at->per_dir + (at->per_dir > 1)];
	cell->h = at->acts[d * at->per_dir + 2 * (at->per_dir > 2)];
	cell->fused = at->kind == RNN_PLAIN ? cell->f.fn == RNN_ACT_TANH :
		(cell->f.fn == RNN_ACT_SIGMOID && cell->g.fn == RNN_ACT_TANH &&
		 (at->kind == RNN_GRU || cell->h.fn == RNN_ACT_TANH));
	cell->input_forget = at->input_forget;
	cell->peep = rr->p ? rr->p + d * 3 * hid : NULL;
	cell->rbh = rr->rbh ? rr->rbh + d * hid : NULL;
	cell->tmp = rr->tmp;

	for (int64_t i = 0; i < rows; i++)
		memcpy(rr->xw + i * gh, bias, sizeof(float) * (size_t) gh);
	if (rr->in > 0)
		rnn_gemm(ctx, rows, gh, rr->in, rr->x, w, rr->packed ? rr->packed->wp[d] : NULL, 1.0f,
				 rr->xw, gh);

	dd->steps = 0;
	for (int64_t b = 0; b < batch; b++)
	{
		int64_t		len = rr->lens ? rr->lens[b] : rr->seq;

		for (int64_t k = 0; k < hid; k++)
		{
			rr->hs[b * hid + k] = rr->h0 ? rr->h0[state_off(rr, d, b) + k] : 0;
			rr->cs[b * hid + k] = rr->c0 ? rr->c0[state_off(rr, d, b) + k] : 0;
		}
		dd->steps = len > dd->steps ? len : dd->steps;
	}
	if (at->kind == RNN_GRU && !at->lbr)
		memset(rr->rh, 0, sizeof(float) * (size_t) (batch * hid));
}

/*
 * Steps [s0, s1) of a started direction.  Calls nothing of the session
 * but its thread cap: it may run on a pool thread (run_directions).
 */
static void
dir_steps(OnnxKernelCtx *ctx, RnnDir *dd, int64_t s0, int64_t s1)
{
	const RnnRun *rr = &dd->rr;
	const RnnAttrs *at = rr->at;
	int			d = dd->d;
	int64_t		hid = rr->hid,
				gh = at->G * hid,
				batch = rr->batch;
	const float *r = rr->r + d * gh * hid;
	bool		gru2 = at->kind == RNN_GRU && !at->lbr;	/* two products per step */

	for (int64_t s = s0; s < s1; s++)
	{
		/* HR (batch, gh) = H (batch, hid) @ R^T (hid, gh); GRU: z and r columns first */
		rnn_gemm(ctx, batch, gru2 ? 2 * hid : gh, hid, rr->hs, r,
				 rr->packed ? rr->packed->rp[d] : NULL, 0.0f, rr->hr, gh);
		for (int pass = 0; pass < (gru2 ? 2 : 1); pass++)
		{
			if (pass == 1)		/* HR[:, 2hid:] (batch, hid) = (rt (.) H) @ R_h^T */
				rnn_gemm(ctx, batch, hid, hid, rr->rh, r + 2 * hid * hid,
						 rr->packed ? rr->packed->rhp[d] : NULL, 0.0f, rr->hr + 2 * hid, gh);
			for (int64_t b = 0; b < batch; b++)
			{
				int64_t		len = rr->lens ? rr->lens[b] : rr->seq;
				int64_t		t = dd->reverse ? len - 1 - s : s;
				const float *a = rr->xw + x_row(rr, t, b) * gh;
				float	   *hr = rr->hr + b * gh,
						   *h = rr->hs + b * hid;

				if (s >= len)
					continue;
				if (at->kind == RNN_LSTM)
					rnn_cell_lstm(&dd->cell, a, hr, rr->cs + b * hid, h);
				else if (at->kind == RNN_PLAIN)
					rnn_cell_plain(&dd->cell, a, hr, h);
				else if (!gru2)
					rnn_cell_gru_lbr(&dd->cell, a, hr, h);
				else if (pass == 0)
					rnn_cell_gru_zr(&dd->cell, a, hr, h, rr->rh + b * hid);
				else
					rnn_cell_gru_h(&dd->cell, a, hr, h);
				if (rr->y && pass == gru2)
					memcpy(rr->y + y_off(rr, t, d, b), h, sizeof(float) * (size_t) hid);
			}
		}
	}
}

/* The last states of a finished direction; zeros for an empty sequence (as onnxruntime). */
static void
dir_end(RnnDir *dd)
{
	const RnnRun *rr = &dd->rr;
	int64_t		hid = rr->hid;

	for (int64_t b = 0; b < rr->batch; b++)
	{
		bool		empty = rr->lens && rr->lens[b] == 0;
		int64_t		so = state_off(rr, dd->d, b);

		if (rr->yh && empty)
			memset(rr->yh + so, 0, sizeof(float) * (size_t) hid);
		else if (rr->yh)
			memcpy(rr->yh + so, rr->hs + b * hid, sizeof(float) * (size_t) hid);
		if (rr->yc && empty)
			memset(rr->yc + so, 0, sizeof(float) * (size_t) hid);
		else if (rr->yc)
			memcpy(rr->yc + so, rr->cs + b * hid, sizeof(float) * (size_t) hid);
	}
}

/* Steps per round between two looks at the abort callback. */
#define RNN_ROUND_STEPS 32

/* Multiply-adds of a direction's recurrence below which a second thread costs more than it saves. */
#define RNN_PARALLEL_MIN_WORK ((int64_t) 1 << 17)

typedef struct RnnRound
{
	OnnxKernelCtx *ctx;
	RnnDir	   *dirs;
	int64_t		s0,
				s1;
} RnnRound;

/* Task t of a parallel round: direction t's steps of the round. */
static void
round_task(void *arg, int64_t t)
{
	RnnRound   *rd = arg;

	RnnDir	   *dd = &rd->dirs[t];

	dir_steps(rd->ctx, dd, rd->s0, rd->s1 < dd->steps ? rd->s1 : dd->steps);
}

/*
 * Every direction of a run (dirs[0..n), each with its own scratch): each
 * is started, stepped in rounds of RNN_ROUND_STEPS with the abort
 * callback heard between rounds, and finished.  With two directions and
 * two threads the directions of a round run at once (they share nothing
 * but the outputs, where they write disjoint rows); the answer is the
 * same bits as one after the other.
 */
static OnnxStatus
run_directions(OnnxKernelCtx *ctx, RnnDir *dirs, int n)
{
	const RnnRun *rr = &dirs[0].rr;
	int64_t		steps = 0,
				work;
	bool		together;

	for (int i = 0; i < n; i++)
	{
		dir_begin(ctx, &dirs[i]);
		steps = dirs[i].steps > steps ? dirs[i].steps : steps;
	}
	together = n == 2 && onnx_kernel_threads(ctx) >= 2 &&
		!onnx_mul_overflow_i64(steps * rr->batch, rr->at->G * rr->hid, &work) &&
		!onnx_mul_overflow_i64(work, rr->hid, &work) && work >= RNN_PARALLEL_MIN_WORK;
	for (int64_t s0 = 0; s0 < steps; s0 += RNN_ROUND_STEPS)
	{
		RnnRound	rd = {ctx, dirs, s0, steps - s0 < RNN_ROUND_STEPS ? steps : s0 + RNN_ROUND_STEPS};

		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		if (together)
			onnx_parallel_for(2, 2, round_task, &rd);
		else
			for (int i = 0; i < n; i++)
				dir_steps(ctx, &dirs[i], rd.s0, rd.s1 < dirs[i].steps ? rd.s1 : dirs[i].steps);
	}
	for (int i = 0; i < n; i++)
		dir_end(&dirs[i]);
	return ONNX_OK;
}

/*
 * Scratch memory of one run (float32 copies of whatever is not float32
 * already, gates, states): node scratch, released after the node; the
 * count of blocks is bounded.
 */
#define RNN_MAX_SCRATCH 20

typedef struct RnnScratch
{
	int			n;
} RnnScratch;

/* n elements of size bytes each (overflow and memory limit checked), or NULL. */
static void *
scratch_alloc(OnnxKernelCtx *ctx, RnnScratch *sc, int64_t n, size_t size)
{
	if (sc->n == RNN_MAX_SCRATCH)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "too many recurrent scratch blocks");
		return NULL;
	}
	if (n < 0)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "recurrent scratch size overflows");
		return NULL;
	}
	sc->n++;
	return onnx_kernel_scratch(ctx, (size_t) n, size);
}

static float *
scratch_floats(OnnxKernelCtx *ctx, RnnScratch *sc, int64_t n)
{
	return scratch_alloc(ctx, sc, n, sizeof(float));
}

/* t's elements as float32: its data when float32, else a converted copy. */
static const float *
view_f32(OnnxKernelCtx *ctx, RnnScratch *sc, const OnnxTensor *t)
{
	float	   *out;

	if (t->dtype == ONNX_DTYPE_FLOAT)
		return t->data;
	if ((out = scratch_floats(ctx, sc, t->count)) == NULL)
		return NULL;
	for (int64_t i = 0; i < t->count; i++)
		out[i] = elem_f32(t, i);
	return out;
}

/* An output as float32: its data when float32, else scratch converted by store_output. */
static float *
output_f32(OnnxKernelCtx *ctx, RnnScratch *sc, OnnxTensor *t)
{
	if (t == NULL || t->dtype == ONNX_DTYPE_FLOAT)
		return t ? t->data : NULL;
	return scratch_floats(ctx, sc, t->count);
}

static void
store_output(OnnxTensor *t, const float *v)
{
	if (t == NULL || t->dtype == ONNX_DTYPE_FLOAT)
		return;
	for (int64_t i = 0; i < t->count; i++)
	{
		if (t->dtype == ONNX_DTYPE_FLOAT16)
			((uint16_t *) t->data)[i] = onnx_float_to_half(v[i]);
		else if (t->dtype == ONNX_DTYPE_BFLOAT16)
			((uint16_t *) t->data)[i] = onnx_float_to_bf16(v[i]);
		else
			onnx_tensor_set_f64(t, i, v[i]);
	}
}

/* Whether output i of the node is there (not absent or past the end). */
static bool
output_wanted(OnnxKernelCtx *ctx, int i)
{
	return i < ctx->n_outputs && ctx->node->outputs[i] >= 0;
}

/* Check the inputs' shapes against the attributes; fill the sizes of rr. */
static OnnxStatus
check_shapes(OnnxKernelCtx *ctx, const RnnAttrs *at, RnnRun *rr)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *w = onnx_in(ctx, 1),
			   *r = onnx_in(ctx, 2),
			   *b = onnx_in(ctx, 3),
			   *lens = onnx_in(ctx, 4),
			   *h0 = onnx_in(ctx, 5),
			   *c0 = at->kind == RNN_LSTM ? onnx_in(ctx, 6) : NULL,
			   *p = at->kind == RNN_LSTM ? onnx_in(ctx, 7) : NULL;
	int64_t		gh,
				states;

	if (x == NULL || w == NULL || r == NULL || x->rank != 3 || w->rank != 3 || r->rank != 3)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X, W and R must be 3-D tensors");
	rr->seq = at->layout ? x->dims[1] : x->dims[0];
	rr->batch = at->layout ? x->dims[0] : x->dims[1];
	rr->in = x->dims[2];
	rr->hid = at->hid > 0 ? at->hid : r->dims[2];
	gh = at->G * rr->hid;
	if (rr->hid <= 0 || rr->hid > (1 << 20) || !weight_shape_is(w, at->dirs, gh, rr->in) ||
		!weight_shape_is(r, at->dirs, gh, rr->hid))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"W must be [%d, %lld, %lld] and R [%d, %lld, %lld]", at->dirs,
								(long long) gh, (long long) rr->in, at->dirs,
								(long long) gh, (long long) rr->hid);
	/* batch is unbounded when in is 0: every product with it is checked */
	if (onnx_mul_overflow_i64(at->dirs * rr->hid, rr->batch, &states) ||
		onnx_mul_overflow_i64(rr->seq, rr->batch, &rr->xw_n) ||
		onnx_mul_overflow_i64(rr->xw_n, gh, &rr->xw_n) ||
		onnx_mul_overflow_i64(3 * rr->hid + gh, rr->batch, &rr->work_n) ||
		__builtin_add_overflow(rr->work_n, 4 * rr->hid, &rr->work_n))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "recurrent sizes overflow");
	if (b && b->count != (int64_t) at->dirs * 2 * gh)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "B must have %lld values",
								(long long) at->dirs * 2 * gh);
	if (lens && lens->count != rr->batch)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "sequence_lens must have %lld values",
								(long long) rr->batch);
	if ((h0 && h0->count != states) || (c0 && c0->count != states))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "initial states must have %lld values",
								(long long) states);
	if (p && p->count != (int64_t) at->dirs * 3 * rr->hid)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "P must have %lld values",
								(long long) at->dirs * 3 * rr->hid);
	return ONNX_OK;
}

/* Sequence lengths checked into lens (batch), or NULL when every row is full. */
static OnnxStatus
read_lens(OnnxKernelCtx *ctx, RnnScratch *sc, const OnnxTensor *t, RnnRun *rr)
{
	int64_t    *lens;
	bool		full = true;

	rr->lens = NULL;
	if (t == NULL)
		return ONNX_OK;
	if ((lens = scratch_alloc(ctx, sc, rr->batch, sizeof(int64_t))) == NULL)
		return ctx->err->status;
	for (int64_t b = 0; b < rr->batch; b++)
	{
		lens[b] = onnx_tensor_get_i64(t, b);
		if (lens[b] < 0 || lens[b] > rr->seq)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"sequence_lens[%lld] is %lld, outside [0, %lld]",
									(long long) b, (long long) lens[b], (long long) rr->seq);
		full = full && lens[b] == rr->seq;
	}
	rr->lens = full ? NULL : lens;
	return ONNX_OK;
}

/* A direction's scratch: XW and the states, products and gate temporaries. */
static OnnxStatus
dir_scratch(OnnxKernelCtx *ctx, RnnScratch *sc, RnnRun *rr)
{
	float	   *work;

	if ((rr->xw = scratch_floats(ctx, sc, rr->xw_n)) == NULL ||
		(work = scratch_floats(ctx, sc, rr->work_n)) == NULL)
		return ctx->err->status;
	rr->hs = work;
	rr->cs = rr->hs + rr->batch * rr->hid;
	rr->rh = rr->cs + rr->batch * rr->hid;
	rr->hr = rr->rh + rr->batch * rr->hid;
	rr->tmp = rr->hr + rr->batch * rr->at->G * rr->hid;
	return ONNX_OK;
}

/* The float32 operands (prepared at load, or viewed/converted now) and scratch. */
static OnnxStatus
setup_run(OnnxKernelCtx *ctx, RnnScratch *sc, RnnRun *rr)
{
	const RnnAttrs *at = rr->at;
	const RnnPrepared *pr = ctx->node->prepared;
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *b = onnx_in(ctx, 3),
			   *h0 = onnx_in(ctx, 5),
			   *c0 = at->kind == RNN_LSTM ? onnx_in(ctx, 6) : NULL,
			   *p = at->kind == RNN_LSTM ? onnx_in(ctx, 7) : NULL;
	int64_t		hid = rr->hid,
				gh = at->G * hid;
	bool		lbr = at->kind == RNN_GRU && at->lbr;

	if (pr && (pr->in != rr->in || pr->hid != hid))
		pr = NULL;
	rr->packed = pr;
	rr->x = view_f32(ctx, sc, x);
	rr->w = pr ? pr->w : view_f32(ctx, sc, onnx_in(ctx, 1));
	rr->r = pr ? pr->r : view_f32(ctx, sc, onnx_in(ctx, 2));
	rr->h0 = h0 ? view_f32(ctx, sc, h0) : NULL;
	rr->c0 = c0 ? view_f32(ctx, sc, c0) : NULL;
	rr->p = pr && pr->p ? pr->p : (p ? view_f32(ctx, sc, p) : NULL);
	if (!rr->x || !rr->w || !rr->r || (h0 && !rr->h0) || (c0 && !rr->c0) || (p && !rr->p))
		return ctx->err->status;
	if (pr && pr->bias)
	{
		rr->bias = pr->bias;
		rr->rbh = pr->rbh;
	}
	else
	{
		float	   *bias = scratch_floats(ctx, sc, at->dirs * gh);
		float	   *rbh = lbr ? scratch_floats(ctx, sc, at->dirs * hid) : NULL;

		if (bias == NULL || (lbr && rbh == NULL))
			return ctx->err->status;
		fill_bias(at, hid, b, bias, rbh);
		rr->bias = bias;
		rr->rbh = rbh;
	}
	return dir_scratch(ctx, sc, rr);
}

static OnnxStatus
run_recurrent(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	RnnAttrs	at;
	RnnRun		rr;
	RnnScratch	sc;
	int64_t		ydims[4],
				hdims[3];
	OnnxTensor *y = NULL,
			   *yh = NULL,
			   *yc = NULL;
	OnnxStatus	st;

	memset(&rr, 0, sizeof(rr));
	sc.n = 0;
	if ((st = rnn_read_attrs(ctx->node, &at, ctx->err)) != ONNX_OK)
		return onnx_kernel_fail(ctx, st, "%s", ctx->err->message);
	rr.at = &at;
	if ((st = check_shapes(ctx, &at, &rr)) != ONNX_OK)
		return st;
	if (at.layout == 0)
	{
		ydims[0] = rr.seq, ydims[1] = at.dirs, ydims[2] = rr.batch, ydims[3] = rr.hid;
		hdims[0] = at.dirs, hdims[1] = rr.batch, hdims[2] = rr.hid;
	}
	else
	{
		ydims[0] = rr.batch, ydims[1] = rr.seq, ydims[2] = at.dirs, ydims[3] = rr.hid;
		hdims[0] = rr.batch, hdims[1] = at.dirs, hdims[2] = rr.hid;
	}
	/* every element is written, except Y's past a row's length: zeroed */
	if ((st = read_lens(ctx, &sc, onnx_in(ctx, 4), &rr)) != ONNX_OK ||
		(output_wanted(ctx, 0) &&
		 (y = (rr.lens ? onnx_out : onnx_out_raw) (ctx, 0, x->dtype, 4, ydims)) == NULL) ||
		(output_wanted(ctx, 1) && (yh = onnx_out_raw(ctx, 1, x->dtype, 3, hdims)) == NULL) ||
		(at.kind == RNN_LSTM && output_wanted(ctx, 2) &&
		 (yc = onnx_out_raw(ctx, 2, x->dtype, 3, hdims)) == NULL))
		st = ctx->err->status;
	if (st == ONNX_OK)
		st = setup_run(ctx, &sc, &rr);
	if (st == ONNX_OK &&
		((y && (rr.y = output_f32(ctx, &sc, y)) == NULL) ||
		 (yh && (rr.yh = output_f32(ctx, &sc, yh)) == NULL) ||
		 (yc && (rr.yc = output_f32(ctx, &sc, yc)) == NULL)))
		st = ctx->err->status;
	if (st == ONNX_OK && y && y->dtype != ONNX_DTYPE_FLOAT && rr.lens)
		memset(rr.y, 0, sizeof(float) * (size_t) y->count);
	if (st == ONNX_OK)
	{
		RnnDir		dirs[2];

		for (int d = 0; d < at.dirs; d++)
		{
			dirs[d].rr = rr;
			dirs[d].d = d;
			dirs[d].reverse = at.dirs == 2 ? d == 1 : at.reverse;
		}
		/* the second direction gets scratch of its own */
		if (at.dirs == 2)
			st = dir_scratch(ctx, &sc, &dirs[1].rr);
		if (st == ONNX_OK)
			st = run_directions(ctx, dirs, at.dirs);
	}
	if (st == ONNX_OK)
	{
		store_output(y, rr.y);
		store_output(yh, rr.yh);
		store_output(yc, rr.yc);
	}
	return st;
}

static const OnnxAttrSpec rnn_attrs[] = {
	{"hidden_size", ONNX_ATTR_INT}, {"direction", ONNX_ATTR_STRING}, {"layout", ONNX_ATTR_INT},
	{"clip", ONNX_ATTR_FLOAT}, {"activations", ONNX_ATTR_STRINGS},
	{"activation_alpha", ONNX_ATTR_FLOATS}, {"activation_beta", ONNX_ATTR_FLOATS},
	{"input_forget", ONNX_ATTR_INT}, {"linear_before_reset", ONNX_ATTR_INT}, {0}
};

#define RNN_OP(name, since, maxin, maxout) \
	ONNX_OP("", name, since, ONNX_INPUTS(3, maxin), ONNX_OUTPUTS(0, maxout), \
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_SAME, .run = run_recurrent, \
		.attrs = rnn_attrs, .pack = rnn_pack)

const OnnxOpDef onnx_ops_rnn[] = {
	RNN_OP("RNN", 1, 6, 2),
	RNN_OP("GRU", 1, 6, 2),
	RNN_OP("LSTM", 1, 8, 3),
	{0}
};
