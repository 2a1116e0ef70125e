/*-------------------------------------------------------------------------
 *
 * ops_attention.c
 *	  Operator family "attention": Attention, RotaryEmbedding, LinearAttention,
 *	  CausalConvWithState and ai.onnx.preview FlexAttention.
 *
 * Attention and FlexAttention compute in float (float, float16, bfloat16
 * inputs) or double (double inputs).  Every tensor is seen through a
 * "work" copy of the same layout in that type: the tensor's own data when
 * its dtype already is the work type, a converted scratch copy otherwise.
 * Q·Kᵀ and P·V are one BLAS GEMM per (batch, head); 3-D (B, S, H*D)
 * inputs are read in place with a row stride of H*D.
 *
 * Scratch memory comes from the kernel allocator and is freed before the
 * kernel returns; outputs go through onnx_out (memory limit enforced).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"

/* ---- work-type conversion ---- */

/* Whether output i of the node is wanted (present and named). */
static bool
want_out(OnnxKernelCtx *ctx, int i)
{
	return i < ctx->n_outputs && i < ctx->node->n_outputs && ctx->node->outputs[i] >= 0;
}

/* n elements of t from element off converted into dst (float or double). */
static void
load_work(const OnnxTensor *t, int64_t off, int64_t n, void *dst, bool dbl)
{
	if (t->dtype == ONNX_DTYPE_BOOL)
	{
		/* a boolean mask: true takes part (0), false is masked (-inf) */
		for (int64_t i = 0; i < n; i++)
		{
			bool		keep = ((const uint8_t *) t->data)[off + i] != 0;

			if (dbl)
				((double *) dst)[i] = keep ? 0.0 : -INFINITY;
			else
				((float *) dst)[i] = keep ? 0.0f : -INFINITY;
		}
	}
	else if (dbl)
		onnx_tensor_read_f64(t, off, n, dst);
	else
		onnx_tensor_read_f32(t, off, n, dst);
}

/* n work elements from src into t from element off (converted). */
static void
store_work(OnnxTensor *t, int64_t off, int64_t n, const void *src, bool dbl)
{
	if (dbl)
		onnx_tensor_write_f64(t, off, n, src);
	else
		onnx_tensor_write_f32(t, off, n, src);
}

/*
 * The work view of input t: its data when t already holds the work type,
 * else a converted copy in scratch (also in *owned).  NULL with the error
 * set on allocation failure.
 */
static const void *
work_in(OnnxKernelCtx *ctx, const OnnxTensor *t, bool dbl, void **owned)
{
	size_t		esz = dbl ? sizeof(double) : sizeof(float);

	*owned = NULL;
	if (t->dtype == (dbl ? ONNX_DTYPE_DOUBLE : ONNX_DTYPE_FLOAT))
		return t->data;
	if ((*owned = onnx_kernel_scratch(ctx, (size_t) t->count, esz)) == NULL)
		return NULL;
	load_work(t, 0, t->count, *owned, dbl);
	return *owned;
}

/*
 * Where results for output tensor t are written: its data in the work
 * type, else scratch in *owned to be stored with work_out_finish.
 */
static void *
work_out(OnnxKernelCtx *ctx, OnnxTensor *t, bool dbl, void **owned)
{
	size_t		esz = dbl ? sizeof(double) : sizeof(float);

	*owned = NULL;
	if (t->dtype == (dbl ? ONNX_DTYPE_DOUBLE : ONNX_DTYPE_FLOAT))
		return t->data;
	*owned = onnx_kernel_scratch(ctx, (size_t) t->count, esz);
	return *owned;
}

/* Convert the scratch of work_out (NULL: none) into t. */
static void
work_out_finish(OnnxTensor *t, void *owned, bool dbl)
{
	if (owned)
		store_work(t, 0, t->count, owned, dbl);
}

/* ---- scaled dot-product attention core ---- */

/* A 4-D (batch, head, row, col) view: element strides of batch, head, row. */
typedef struct AttnView
{
	const void *p;
	int64_t		sb,
				sh,
				sr;
} AttnView;

/*
 * Everything one (batch, head) pair needs.  Scores are (Sq, T): T =
 * past + kv length.  The mask view is broadcast (stride 0 where its dim is
 * 1) with mask_len <= T columns; columns past it are masked.
 */
typedef struct AttnPlan
{
	int64_t		B,
				Hq,
				Hkv,
				Sq,
				T,
				D,
				Dv,
				past,
				group;			/* Hq / Hkv */
	double		scale;
	double		softcap;		/* <= 0: none */
	bool		causal;
	AttnView	q,
				k,
				v;
	bool		has_mask;
	AttnView	mask;
	int64_t		mask_len;
	const int64_t *nonpad;		/* (B,) or NULL */
} AttnPlan;

/*
 * Per-element stages on one (Sq, T) score block of the work type T:
 * scores (GEMM), softcap, bias (mask, causal, padding), softmax (a row with
 * every entry -inf becomes zeros, not NaN), and Y = P·V (GEMM).
 */
#define DEFINE_ATTN_STAGES(TYPE, SFX, GEMM, EXP, TANH) \
static void \
attn_scores_##SFX(const AttnPlan *pl, int64_t b, int64_t h, TYPE *sc) \
{ \
	int64_t		kh = h / pl->group; \
	const TYPE *q = (const TYPE *) pl->q.p + b * pl->q.sb + h * pl->q.sh; \
	const TYPE *k = (const TYPE *) pl->k.p + b * pl->k.sb + kh * pl->k.sh; \
\
	if (pl->D == 0) \
	{ \
		memset(sc, 0, sizeof(TYPE) * (size_t) (pl->Sq * pl->T)); \
		return; \
	} \
	GEMM(false, true, pl->Sq, pl->T, pl->D, (TYPE) pl->scale, q, pl->q.sr, \
		 k, pl->k.sr, 0, sc, pl->T); \
} \
\
static void \
attn_softcap_##SFX(const AttnPlan *pl, TYPE *sc) \
{ \
	TYPE		cap = (TYPE) pl->softcap; \
\
	for (int64_t i = 0; i < pl->Sq * pl->T; i++) \
		sc[i] = cap * TANH(sc[i] / cap); \
} \
\
static void \
attn_bias_##SFX(const AttnPlan *pl, int64_t b, int64_t h, TYPE *sc) \
{ \
	int64_t		valid = pl->T; \
\
	if (pl->nonpad && pl->nonpad[b] < valid) \
		valid = pl->nonpad[b] < 0 ? 0 : pl->nonpad[b]; \
	for (int64_t i = 0; i < pl->Sq; i++) \
	{ \
		TYPE	   *row = sc + i * pl->T; \
		int64_t		stop = valid; \
\
		if (pl->has_mask) \
		{ \
			const TYPE *m = (const TYPE *) pl->mask.p + b * pl->mask.sb + \
				h * pl->mask.sh + i * pl->mask.sr; \
\
			for (int64_t j = 0; j < pl->mask_len; j++) \
				row[j] += m[j]; \
			if (pl->mask_len < stop) \
				stop = pl->mask_len; \
		} \
		if (pl->causal && i + pl->past + 1 < stop) \
			stop = i + pl->past + 1; \
		for (int64_t j = stop; j < pl->T; j++) \
			row[j] = -INFINITY; \
	} \
} \
\
static void \
attn_softmax_##SFX(int64_t rows, int64_t n, TYPE *sc) \
{ \
	for (int64_t i = 0; i < rows; i++) \
	{ \
		TYPE	   *row = sc + i * n; \
		TYPE		mx = -INFINITY, \
					sum = 0; \
\
		for (int64_t j = 0; j < n; j++) \
			if (row[j] > mx) \
				mx = row[j]; \
		if (mx == -INFINITY) \
		{ \
			memset(row, 0, sizeof(TYPE) * (size_t) n); \
			continue; \
		} \
		for (int64_t j = 0; j < n; j++) \
		{ \
			row[j] = EXP(row[j] - mx); \
			sum += row[j]; \
		} \
		for (int64_t j = 0; j < n; j++) \
			row[j] /= sum; \
	} \
} \
\
static void \
attn_pv_##SFX(const AttnPlan *pl, int64_t b, int64_t h, const TYPE *p, \
			  TYPE *y, int64_t ldy) \
{ \
	int64_t		kh = h / pl->group; \
	const TYPE *v = (const TYPE *) pl->v.p + b * pl->v.sb + kh * pl->v.sh; \
\
	if (pl->T == 0) \
	{ \
		for (int64_t i = 0; i < pl->Sq; i++) \
			memset(y + i * ldy, 0, sizeof(TYPE) * (size_t) pl->Dv); \
		return; \
	} \
	GEMM(false, false, pl->Sq, pl->Dv, pl->T, 1, p, pl->T, v, pl->v.sr, 0, y, ldy); \
}

DEFINE_ATTN_STAGES(float, f32, onnx_blas_sgemm, expf, tanhf)
DEFINE_ATTN_STAGES(double, f64, onnx_blas_dgemm, exp, tanh)

/*
 * Attention for every (batch, head): Y block (Sq, Dv) at y + b*ysb + h*ysh
 * with row stride ldy; qk (B, Hq, Sq, T) receives the scores at stage
 * qk_mode (0 matmul, 1 softcap, 2 bias, 3 softmax) when not NULL.
 */
static OnnxStatus
attn_run_all(OnnxKernelCtx *ctx, const AttnPlan *pl, bool dbl, void *y,
			 int64_t ysb, int64_t ysh, int64_t ldy, void *qk, int qk_mode)
{
	size_t		esz = dbl ? sizeof(double) : sizeof(float);
	int64_t		blk;
	size_t		bytes;
	char	   *sc;

	if (onnx_mul_overflow_i64(pl->Sq, pl->T, &blk) ||
		onnx_mul_overflow_size(esz, (size_t) blk, &bytes))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "attention scores of %lld x %lld are too large",
								(long long) pl->Sq, (long long) pl->T);
	if ((sc = onnx_kernel_scratch(ctx, bytes, 1)) == NULL)
		return ctx->err->status;
	for (int64_t b = 0; b < pl->B; b++)
		for (int64_t h = 0; h < pl->Hq; h++)
		{
			char	   *qkb = qk ? (char *) qk + esz * (size_t) ((b * pl->Hq + h) * blk) : NULL;
			char	   *yb = (char *) y + esz * (size_t) (b * ysb + h * ysh);

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			if (dbl)
				attn_scores_f64(pl, b, h, (double *) sc);
			else
				attn_scores_f32(pl, b, h, (float *) sc);
			for (int stage = 0; stage < 4; stage++)
			{
				if (stage == 1 && pl->softcap > 0)
				{
					if (dbl)
						attn_softcap_f64(pl, (double *) sc);
					else
						attn_softcap_f32(pl, (float *) sc);
				}
				else if (stage == 2)
				{
					if (dbl)
						attn_bias_f64(pl, b, h, (double *) sc);
					else
						attn_bias_f32(pl, b, h, (float *) sc);
				}
				else if (stage == 3)
				{
					if (dbl)
						attn_softmax_f64(pl->Sq, pl->T, (double *) sc);
					else
						attn_softmax_f32(pl->Sq, pl->T, (float *) sc);
				}
				if (qkb && stage == qk_mode)
					memcpy(qkb, sc, esz * (size_t) blk);
			}
			if (dbl)
				attn_pv_f64(pl, b, h, (const double *) sc, (double *) yb, ldy);
			else
				attn_pv_f32(pl, b, h, (const float *) sc, (float *) yb, ldy);
		}
	return ONNX_OK;
}

/* ---- Attention (23, 24) ---- */

/*
 * Shape of one of Q, K, V as (B, H, S, D) with its view strides; a 3-D
 * tensor (B, S, H*D) needs heads, which must divide its hidden size.
 */
static OnnxStatus
attn_shape(OnnxKernelCtx *ctx, const char *what, const OnnxTensor *t, int64_t heads,
		   int64_t *dims, AttnView *view)
{
	if (t->rank == 4)
	{
		memcpy(dims, t->dims, sizeof(int64_t) * 4);
		view->sb = dims[1] * dims[2] * dims[3];
		view->sh = dims[2] * dims[3];
		view->sr = dims[3];
		return ONNX_OK;
	}
	if (heads <= 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"3-D %s needs q_num_heads and kv_num_heads attributes > 0", what);
	if (t->dims[2] % heads != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s hidden size %lld is not divisible by %lld heads",
								what, (long long) t->dims[2], (long long) heads);
	dims[0] = t->dims[0];
	dims[1] = heads;
	dims[2] = t->dims[1];
	dims[3] = t->dims[2] / heads;
	view->sb = t->dims[1] * t->dims[2];
	view->sh = dims[3];
	view->sr = t->dims[2];
	return ONNX_OK;
}

/*
 * Mask (..., Sq or 1, <= T) right-aligned on (B, Hq, Sq, T): broadcast
 * strides into pl->mask (data converted by the caller).
 */
static OnnxStatus
attn_mask_plan(OnnxKernelCtx *ctx, const OnnxTensor *m, AttnPlan *pl)
{
	int64_t		want[4] = {pl->B, pl->Hq, pl->Sq, pl->T};
	int64_t		dims[4] = {1, 1, 1, 1};
	int64_t		stride = 1;
	int64_t		st[4];

	if (m->rank < 1 || m->rank > 4)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"attn_mask must have rank 1 to 4, got %d", m->rank);
	for (int i = 0; i < m->rank; i++)
		dims[4 - m->rank + i] = m->dims[i];
	if (dims[3] > pl->T)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"attn_mask last dimension %lld is longer than the total sequence length %lld",
								(long long) dims[3], (long long) pl->T);
	for (int i = 0; i < 3; i++)
		if (dims[i] != 1 && dims[i] != want[i])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"attn_mask dimension %d (%lld) does not broadcast to %lld",
									i - 4 + m->rank, (long long) dims[i], (long long) want[i]);
	for (int i = 3; i >= 0; i--)
	{
		st[i] = dims[i] == 1 ? 0 : stride;
		stride *= dims[i];
	}
	pl->has_mask = true;
	pl->mask_len = dims[3];
	pl->mask.sb = st[0];
	pl->mask.sh = st[1];
	pl->mask.sr = st[2];
	return ONNX_OK;
}

/*
 * Present cache (B, Hkv, past + S, D): past rows then the new rows of the
 * view x, in the work type.
 */
static void
attn_concat(const OnnxTensor *past, const void *x, const AttnView *xv, int64_t B,
			int64_t H, int64_t P, int64_t S, int64_t D, bool dbl, void *dst)
{
	size_t		esz = dbl ? sizeof(double) : sizeof(float);
	int64_t		T = P + S;

	for (int64_t b = 0; b < B; b++)
		for (int64_t h = 0; h < H; h++)
		{
			char	   *o = (char *) dst + esz * (size_t) ((b * H + h) * T * D);

			if (P > 0)
				load_work(past, (b * H + h) * P * D, P * D, o, dbl);
			for (int64_t s = 0; s < S; s++)
				memcpy(o + esz * (size_t) ((P + s) * D),
					   (const char *) x + esz * (size_t) (b * xv->sb + h * xv->sh + s * xv->sr),
					   esz * (size_t) D);
		}
}

/* Converted copies of the Attention kernel (scratch; NULL where none). */
typedef struct AttnScratch
{
	void	   *q,
			   *k,
			   *v,
			   *mask,
			   *kcat,
			   *vcat,
			   *y,
			   *qk;
	int64_t    *nonpad;
} AttnScratch;

/* A failed step's status: the error set, else st. */
static inline OnnxStatus
attn_status(OnnxKernelCtx *ctx, OnnxStatus st)
{
	return ctx->err->status != ONNX_OK ? ctx->err->status : st;
}

/*
 * Build the present key or value cache (output index oi when wanted) and
 * point view at the cache used for the products.
 */
static OnnxStatus
attn_cache(OnnxKernelCtx *ctx, int oi, const OnnxTensor *past, const void *x,
		   AttnView *view, const int64_t *dims, int64_t P, OnnxDType dtype,
		   bool dbl, void **owned)
{
	int64_t		B = dims[0],
				H = dims[1],
				S = dims[2],
				D = dims[3];
	int64_t		odims[4] = {B, H, P + S, D};
	OnnxTensor *out = NULL;
	void	   *dst;

	if (want_out(ctx, oi))
	{
		if ((out = onnx_out(ctx, oi, dtype, 4, odims)) == NULL)
			return ctx->err->status;
		dst = work_out(ctx, out, dbl, owned);
	}
	else if (past == NULL)
	{
		view->p = x;
		return ONNX_OK;
	}
	else
		dst = *owned = onnx_kernel_scratch(ctx, (size_t) (B * H * (P + S) * D),
										   dbl ? sizeof(double) : sizeof(float));
	if (dst == NULL)
		return ctx->err->status;
	attn_concat(past, x, view, B, H, P, S, D, dbl, dst);
	if (out)
		store_work(out, 0, *owned ? out->count : 0, *owned ? *owned : dst, dbl);
	view->p = dst;
	view->sb = H * (P + S) * D;
	view->sh = (P + S) * D;
	view->sr = D;
	return ONNX_OK;
}

/* Check a past cache (B, H, P, D) against the new K or V. */
static OnnxStatus
attn_check_past(OnnxKernelCtx *ctx, const char *what, const OnnxTensor *p,
				const int64_t *dims)
{
	if (p->rank != 4 || p->dims[0] != dims[0] || p->dims[1] != dims[1] || p->dims[3] != dims[3])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s must have shape (%lld, %lld, past_sequence_length, %lld)",
								what, (long long) dims[0], (long long) dims[1], (long long) dims[3]);
	return ONNX_OK;
}

/* Check and size Q, K, V into pl; views set, data not yet. */
static OnnxStatus
attn_plan_shapes(OnnxKernelCtx *ctx, const OnnxTensor *q, const OnnxTensor *k,
				 const OnnxTensor *v, int64_t *qd, int64_t *kd, int64_t *vd, AttnPlan *pl)
{
	int64_t		qh = onnx_attr_int(ctx->node, "q_num_heads", 0);
	int64_t		kvh = onnx_attr_int(ctx->node, "kv_num_heads", 0);
	OnnxStatus	st;

	if ((q->rank != 3 && q->rank != 4) || k->rank != q->rank || v->rank != q->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Q, K and V must all be 3-D or all 4-D");
	if ((st = attn_shape(ctx, "Q", q, qh, qd, &pl->q)) != ONNX_OK ||
		(st = attn_shape(ctx, "K", k, kvh, kd, &pl->k)) != ONNX_OK ||
		(st = attn_shape(ctx, "V", v, kvh, vd, &pl->v)) != ONNX_OK)
		return st;
	if (kd[0] != qd[0] || vd[0] != qd[0])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Q, K and V batch sizes differ");
	if (kd[1] != vd[1] || kd[2] != vd[2])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"K and V must have the same heads and sequence length");
	if (kd[3] != qd[3])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Q head size %lld differs from K head size %lld",
								(long long) qd[3], (long long) kd[3]);
	if (kd[1] <= 0 || qd[1] % kd[1] != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"q_num_heads %lld must be a multiple of kv_num_heads %lld",
								(long long) qd[1], (long long) kd[1]);
	pl->B = qd[0];
	pl->Hq = qd[1];
	pl->Sq = qd[2];
	pl->D = qd[3];
	pl->Hkv = kd[1];
	pl->Dv = vd[3];
	pl->group = qd[1] / kd[1];
	return ONNX_OK;
}

/*
 * Attention: Q (B, Hq, Sq, D) | (B, Sq, Hq*D), K (B, Hkv, S, D), V (B, Hkv,
 * S, Dv), attn_mask, past_key (B, Hkv, P, D), past_value (B, Hkv, P, Dv),
 * nonpad_kv_seqlen (B,) -> Y (B, Hq, Sq, Dv) | (B, Sq, Hq*Dv), present_key,
 * present_value (B, Hkv, P+S, ·), qk_matmul_output (B, Hq, Sq, P+S).
 */
static OnnxStatus
run_attention(OnnxKernelCtx *ctx)
{
	const OnnxTensor *q = onnx_in(ctx, 0),
			   *k = onnx_in(ctx, 1),
			   *v = onnx_in(ctx, 2),
			   *mask = onnx_in(ctx, 3),
			   *pk = onnx_in(ctx, 4),
			   *pv = onnx_in(ctx, 5),
			   *np = onnx_in(ctx, 6);
	const OnnxAttr *scale_attr = onnx_attr(ctx->node, "scale");
	int			qk_mode = (int) onnx_attr_int(ctx->node, "qk_matmul_output_mode", 0);
	AttnPlan	pl;
	AttnScratch s;
	int64_t		qd[4],
				kd[4],
				vd[4],
				P = 0;
	bool		dbl;
	OnnxTensor *y,
			   *qk = NULL;
	void	   *yw,
			   *qkw = NULL;
	OnnxStatus	st;

	memset(&pl, 0, sizeof(pl));
	memset(&s, 0, sizeof(s));
	if (!q || !k || !v)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Q, K and V are required");
	if ((st = attn_plan_shapes(ctx, q, k, v, qd, kd, vd, &pl)) != ONNX_OK)
		return st;
	if ((pk == NULL) != (pv == NULL))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"past_key and past_value must be given together");
	if (pk)
	{
		if ((st = attn_check_past(ctx, "past_key", pk, kd)) != ONNX_OK ||
			(st = attn_check_past(ctx, "past_value", pv, vd)) != ONNX_OK)
			return st;
		if (pk->dims[2] != pv->dims[2])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"past_key and past_value sequence lengths differ");
		P = pk->dims[2];
	}
	if (qk_mode < 0 || qk_mode > 3)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"qk_matmul_output_mode must be 0 to 3, got %d", qk_mode);
	dbl = q->dtype == ONNX_DTYPE_DOUBLE;
	pl.past = P;
	pl.T = P + kd[2];
	pl.causal = onnx_attr_int(ctx->node, "is_causal", 0) != 0;
	pl.softcap = onnx_attr_float(ctx->node, "softcap", 0.0f);
	pl.scale = scale_attr ? scale_attr->f : 1.0 / sqrt((double) (pl.D > 0 ? pl.D : 1));
	if (mask && (st = attn_mask_plan(ctx, mask, &pl)) != ONNX_OK)
		return st;
	if (np)
	{
		if (np->count != pl.B || np->dtype != ONNX_DTYPE_INT64)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"nonpad_kv_seqlen must be int64 of shape (%lld)", (long long) pl.B);
		pl.nonpad = (const int64_t *) np->data;
	}

	/* outputs */
	{
		int64_t		ydims[4] = {pl.B, pl.Hq, pl.Sq, pl.Dv};
		int64_t		y3[3] = {pl.B, pl.Sq, pl.Hq * pl.Dv};

		y = q->rank == 4 ? onnx_out(ctx, 0, q->dtype, 4, ydims) : onnx_out(ctx, 0, q->dtype, 3, y3);
		if (y == NULL)
			return ctx->err->status;
	}
	if (want_out(ctx, 3))
	{
		int64_t		qkdims[4] = {pl.B, pl.Hq, pl.Sq, pl.T};

		if ((qk = onnx_out(ctx, 3, q->dtype, 4, qkdims)) == NULL)
			return ctx->err->status;
	}

	/* work views */
	st = ctx->err->status;
	if ((pl.q.p = work_in(ctx, q, dbl, &s.q)) == NULL ||
		(pl.k.p = work_in(ctx, k, dbl, &s.k)) == NULL ||
		(pl.v.p = work_in(ctx, v, dbl, &s.v)) == NULL ||
		(mask && (pl.mask.p = work_in(ctx, mask, dbl, &s.mask)) == NULL) ||
		(yw = work_out(ctx, y, dbl, &s.y)) == NULL ||
		(qk && (qkw = work_out(ctx, qk, dbl, &s.qk)) == NULL))
		return attn_status(ctx, st);
	if ((st = attn_cache(ctx, 1, pk, pl.k.p, &pl.k, kd, P, k->dtype, dbl, &s.kcat)) != ONNX_OK ||
		(st = attn_cache(ctx, 2, pv, pl.v.p, &pl.v, vd, P, v->dtype, dbl, &s.vcat)) != ONNX_OK)
		return attn_status(ctx, st);

	if (q->rank == 4)
		st = attn_run_all(ctx, &pl, dbl, yw, pl.Hq * pl.Sq * pl.Dv, pl.Sq * pl.Dv, pl.Dv, qkw, qk_mode);
	else
		st = attn_run_all(ctx, &pl, dbl, yw, pl.Sq * pl.Hq * pl.Dv, pl.Dv, pl.Hq * pl.Dv, qkw, qk_mode);
	if (st != ONNX_OK)
		return attn_status(ctx, st);
	work_out_finish(y, s.y, dbl);
	if (qk)
		work_out_finish(qk, s.qk, dbl);
	return ONNX_OK;
}

/* ---- RotaryEmbedding (23) ---- */

/*
 * Rotate one head vector x (D) into y with cos/sin rows (rd/2): the first
 * rd entries as halves or interleaved pairs, the rest copied.
 */
static void
rope_row(const float *x, float *y, const float *c, const float *sn, int64_t D,
		 int64_t rd, bool interleaved)
{
	int64_t		half = rd / 2;

	for (int64_t i = 0; i < half; i++)
	{
		int64_t		i1 = interleaved ? 2 * i : i,
					i2 = interleaved ? 2 * i + 1 : i + half;
		float		x1 = x[i1],
					x2 = x[i2];

		y[i1] = c[i] * x1 - sn[i] * x2;
		y[i2] = sn[i] * x1 + c[i] * x2;
	}
	for (int64_t i = rd; i < D; i++)
		y[i] = x[i];
}

/*
 * RotaryEmbedding: X (B, H, S, D) | (B, S, H*D), cos_cache, sin_cache
 * (max_pos, rd/2) with position_ids (B, S), or (B, S, rd/2) without
 * -> Y like X.
 */
static OnnxStatus
run_rotary_embedding(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *cc = onnx_in(ctx, 1),
			   *sc = onnx_in(ctx, 2),
			   *pos = onnx_in(ctx, 3);
	bool		interleaved = onnx_attr_int(ctx->node, "interleaved", 0) != 0;
	int64_t		rd = onnx_attr_int(ctx->node, "rotary_embedding_dim", 0);
	int64_t		heads = onnx_attr_int(ctx->node, "num_heads", 0);
	int64_t		B,
				H,
				S,
				D,
				half;
	void	   *xo = NULL,
			   *co = NULL,
			   *so = NULL,
			   *yo = NULL;
	const float *xw,
			   *cw,
			   *sw;
	float	   *yw;
	OnnxTensor *y;

	if (!x || !cc || !sc)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X, cos_cache and sin_cache are required");
	if (x->rank == 4)
	{
		B = x->dims[0];
		H = x->dims[1];
		S = x->dims[2];
		D = x->dims[3];
	}
	else if (x->rank == 3)
	{
		if (heads <= 0 || x->dims[2] % heads != 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"3-D input needs num_heads > 0 dividing its hidden size %lld",
									(long long) x->dims[2]);
		B = x->dims[0];
		S = x->dims[1];
		H = heads;
		D = x->dims[2] / heads;
	}
	else
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input must be 3-D or 4-D, got rank %d", x->rank);
	if (rd == 0)
		rd = D;
	if (rd < 0 || rd > D || rd % 2 != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"rotary_embedding_dim %lld must be even and at most the head size %lld",
								(long long) rd, (long long) D);
	half = rd / 2;
	if (cc->rank != sc->rank || memcmp(cc->dims, sc->dims, sizeof(int64_t) * cc->rank) != 0 ||
		cc->rank < 1 || cc->dims[cc->rank - 1] != half)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"cos_cache and sin_cache must have the same shape ending in rotary_embedding_dim/2 = %lld",
								(long long) half);
	if (pos)
	{
		if (cc->rank != 2 || pos->dtype != ONNX_DTYPE_INT64 || pos->count != B * S ||
			(pos->rank == 2 && (pos->dims[0] != B || pos->dims[1] != S)))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"position_ids must be int64 (%lld, %lld) and the caches 2-D",
									(long long) B, (long long) S);
		for (int64_t i = 0; i < pos->count; i++)
			if (((const int64_t *) pos->data)[i] < 0 || ((const int64_t *) pos->data)[i] >= cc->dims[0])
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"position id %lld is outside the cache of %lld positions",
										(long long) ((const int64_t *) pos->data)[i], (long long) cc->dims[0]);
	}
	else if (cc->rank != 3 || cc->dims[0] != B || cc->dims[1] != S)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"without position_ids the caches must have shape (%lld, %lld, %lld)",
								(long long) B, (long long) S, (long long) half);
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if ((xw = work_in(ctx, x, false, &xo)) == NULL ||
		(cw = work_in(ctx, cc, false, &co)) == NULL ||
		(sw = work_in(ctx, sc, false, &so)) == NULL ||
		(yw = work_out(ctx, y, false, &yo)) == NULL)
		return ctx->err->status;
	for (int64_t b = 0; b < B; b++)
		for (int64_t s = 0; s < S; s++)
		{
			int64_t		p = pos ? ((const int64_t *) pos->data)[b * S + s] : b * S + s;

			for (int64_t h = 0; h < H; h++)
			{
				int64_t		off = x->rank == 4 ? ((b * H + h) * S + s) * D : (b * S + s) * H * D + h * D;

				rope_row(xw + off, yw + off, cw + p * half, sw + p * half, D, rd, interleaved);
			}
		}
	work_out_finish(y, yo, false);
	return ctx->err->status;
}

static const OnnxAttrSpec rotary_attrs[] = {
	{"interleaved", ONNX_ATTR_INT}, {"num_heads", ONNX_ATTR_INT},
	{"rotary_embedding_dim", ONNX_ATTR_INT}, {0}
};

/* ---- CausalConvWithState (27) ---- */

/*
 * CausalConvWithState: input (B, C, L), weight (C, 1, K), bias (C),
 * past_state (B, C, K-1) -> output (B, C, L) = depthwise causal conv of
 * [past, input] (+ SiLU), present_state (B, C, K-1) = last K-1 of it.
 */
static OnnxStatus
run_causal_conv(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *w = onnx_in(ctx, 1),
			   *bias = onnx_in(ctx, 2),
			   *past = onnx_in(ctx, 3);
	const char *act = onnx_attr_string(ctx->node, "activation", "none");
	bool		silu;
	int64_t		B,
				C,
				L,
				K,
				pdims[3];
	float	   *pad = NULL,
			   *wk = NULL,
			   *row = NULL;
	OnnxTensor *y,
			   *ps;

	if (strcmp(act, "silu") == 0 || strcmp(act, "swish") == 0)
		silu = true;
	else if (strcmp(act, "none") == 0)
		silu = false;
	else
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"activation must be \"none\", \"silu\" or \"swish\", got \"%s\"", act);
	if (!x || !w || x->rank != 3 || w->rank != 3)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"input (B, C, L) and weight (C, 1, K) are required");
	B = x->dims[0];
	C = x->dims[1];
	L = x->dims[2];
	K = w->dims[2];
	if (w->dims[0] != C || w->dims[1] != 1 || K < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"weight must have shape (%lld, 1, k) with k >= 1", (long long) C);
	if (bias && bias->count != C)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "bias must have %lld values", (long long) C);
	pdims[0] = B;
	pdims[1] = C;
	pdims[2] = K - 1;
	if (past && (past->rank != 3 || memcmp(past->dims, pdims, sizeof(pdims)) != 0))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"past_state must have shape (%lld, %lld, %lld)",
								(long long) B, (long long) C, (long long) (K - 1));
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL ||
		(ps = onnx_out(ctx, 1, x->dtype, 3, pdims)) == NULL)
		return ctx->err->status;
	if ((pad = onnx_kernel_scratch(ctx, (size_t) (L + K), sizeof(float))) == NULL ||
		(wk = onnx_kernel_scratch(ctx, (size_t) (C * K + C), sizeof(float))) == NULL ||
		(row = onnx_kernel_scratch(ctx, (size_t) (L + 1), sizeof(float))) == NULL)
		return ctx->err->status;
	load_work(w, 0, C * K, wk, false);
	if (bias)
		load_work(bias, 0, C, wk + C * K, false);
	else
		memset(wk + C * K, 0, sizeof(float) * (size_t) C);
	for (int64_t b = 0; b < B; b++)
		for (int64_t c = 0; c < C; c++)
		{
			const float *wc = wk + c * K;

			/* pad (L + K - 1) = [past or zeros (K-1), input (L)] */
			if (past)
				load_work(past, (b * C + c) * (K - 1), K - 1, pad, false);
			else
				memset(pad, 0, sizeof(float) * (size_t) (K - 1));
			load_work(x, (b * C + c) * L, L, pad + K - 1, false);
			for (int64_t t = 0; t < L; t++)
			{
				float		acc = wk[C * K + c];

				for (int64_t j = 0; j < K; j++)
					acc += wc[j] * pad[t + j];
				if (silu)
					acc = acc / (1.0f + expf(-acc));
				row[t] = acc;
			}
			store_work(y, (b * C + c) * L, L, row, false);
			store_work(ps, (b * C + c) * (K - 1), K - 1, pad + L, false);
		}
	return ctx->err->status;
}

static const OnnxAttrSpec causal_conv_attrs[] = {{"activation", ONNX_ATTR_STRING}, {0}};

/* ---- LinearAttention (27) ---- */

/* Whether t is (B, T, a) or (B, T, b). */
static bool
linattn_side(const OnnxTensor *t, int64_t B, int64_t T, int64_t a, int64_t b)
{
	return t->rank == 3 && t->dims[0] == B && t->dims[1] == T &&
		(t->dims[2] == a || t->dims[2] == b);
}

/*
 * One recurrence step of one KV head on its state S (dk, dv): decay
 * S *= exp(g), delta v <- beta (v - Sᵀk), write S += k ⊗ v.  g has gn
 * values (1 or dk); tmp holds dv floats.
 */
static void
linattn_update(float *S, const float *k, const float *v, const float *g, int64_t gn,
			   const float *beta, int64_t dk, int64_t dv, float *tmp)
{
	if (g)
		for (int64_t d = 0; d < dk; d++)
		{
			float		e = expf(g[gn == 1 ? 0 : d]);

			for (int64_t m = 0; m < dv; m++)
				S[d * dv + m] *= e;
		}
	memcpy(tmp, v, sizeof(float) * (size_t) dv);
	if (beta)
	{
		for (int64_t m = 0; m < dv; m++)
		{
			float		r = 0;

			for (int64_t d = 0; d < dk; d++)
				r += S[d * dv + m] * k[d];
			tmp[m] = *beta * (v[m] - r);
		}
	}
	for (int64_t d = 0; d < dk; d++)
		for (int64_t m = 0; m < dv; m++)
			S[d * dv + m] += k[d] * tmp[m];
}

/*
 * LinearAttention: query (B, T, Hq*dk), key (B, T, Hkv*dk), value (B, T,
 * Hkv*dv), past_state (B, Hkv, dk, dv), decay (B, T, Hkv | Hkv*dk), beta
 * (B, T, Hkv | 1) -> output (B, T, Hq*dv), present_state (B, Hkv, dk, dv).
 * The recurrence runs in float; query head h reads KV head h / (Hq/Hkv).
 */
static OnnxStatus
run_linear_attention(OnnxKernelCtx *ctx)
{
	const OnnxTensor *q = onnx_in(ctx, 0),
			   *k = onnx_in(ctx, 1),
			   *v = onnx_in(ctx, 2),
			   *past = onnx_in(ctx, 3),
			   *decay = onnx_in(ctx, 4),
			   *beta = onnx_in(ctx, 5);
	const char *rule = onnx_attr_string(ctx->node, "update_rule", "gated_delta");
	int64_t		Hq = onnx_attr_int(ctx->node, "q_num_heads", 0),
				Hkv = onnx_attr_int(ctx->node, "kv_num_heads", 0);
	double		scale = onnx_attr_float(ctx->node, "scale", 0.0f);
	bool		gating,
				delta;
	int64_t		B,
				T,
				dk,
				dv,
				sdims[4],
				odims[3];
	float	   *w[6] = {NULL},
			   *st = NULL,
			   *out = NULL,
			   *tmp = NULL;
	void	   *own[6] = {NULL},
			   *own_y = NULL,
			   *own_st = NULL;
	OnnxTensor *y,
			   *ps;

	if (strcmp(rule, "linear") == 0 || strcmp(rule, "gated") == 0 ||
		strcmp(rule, "delta") == 0 || strcmp(rule, "gated_delta") == 0)
	{
		gating = strncmp(rule, "gated", 5) == 0;
		delta = strcmp(rule, "delta") == 0 || strcmp(rule, "gated_delta") == 0;
	}
	else
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"update_rule must be linear, gated, delta or gated_delta, got \"%s\"", rule);
	if (Hq <= 0 || Hkv <= 0 || Hq % Hkv != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"q_num_heads %lld must be a positive multiple of kv_num_heads %lld",
								(long long) Hq, (long long) Hkv);
	if (gating != (decay != NULL) || delta != (beta != NULL))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"update_rule %s %s decay and %s beta", rule,
								gating ? "needs" : "forbids", delta ? "needs" : "forbids");
	if (!q || !k || !v || q->rank != 3 || k->rank != 3 || v->rank != 3)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "query, key and value must be 3-D (B, T, H*D)");
	B = q->dims[0];
	T = q->dims[1];
	if (q->dims[2] % Hq != 0 || v->dims[2] % Hkv != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"query and value hidden sizes must be divisible by their head counts");
	dk = q->dims[2] / Hq;
	dv = v->dims[2] / Hkv;
	if (!linattn_side(k, B, T, Hkv * dk, Hkv * dk) || !linattn_side(v, B, T, Hkv * dv, Hkv * dv))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"key must be (%lld, %lld, %lld) and value (%lld, %lld, kv_num_heads*d_v)",
								(long long) B, (long long) T, (long long) (Hkv * dk), (long long) B, (long long) T);
	if (decay && !linattn_side(decay, B, T, Hkv, Hkv * dk))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"decay must be (%lld, %lld, %lld or %lld)",
								(long long) B, (long long) T, (long long) Hkv, (long long) (Hkv * dk));
	if (beta && !linattn_side(beta, B, T, Hkv, 1))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"beta must be (%lld, %lld, %lld or 1)", (long long) B, (long long) T, (long long) Hkv);
	sdims[0] = B;
	sdims[1] = Hkv;
	sdims[2] = dk;
	sdims[3] = dv;
	if (past && (past->rank != 4 || memcmp(past->dims, sdims, sizeof(sdims)) != 0))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"past_state must have shape (%lld, %lld, %lld, %lld)",
								(long long) B, (long long) Hkv, (long long) dk, (long long) dv);
	if (scale == 0.0)
		scale = 1.0 / sqrt((double) (dk > 0 ? dk : 1));
	odims[0] = B;
	odims[1] = T;
	odims[2] = Hq * dv;
	if ((y = onnx_out(ctx, 0, q->dtype, 3, odims)) == NULL ||
		(ps = onnx_out(ctx, 1, past ? past->dtype : q->dtype, 4, sdims)) == NULL)
		return ctx->err->status;
	{
		const OnnxTensor *ins[6] = {q, k, v, past, decay, beta};

		for (int i = 0; i < 6; i++)
			if (ins[i] && i != 3 && (w[i] = (float *) work_in(ctx, ins[i], false, &own[i])) == NULL)
				return ctx->err->status;
	}
	if ((st = work_out(ctx, ps, false, &own_st)) == NULL ||
		(out = work_out(ctx, y, false, &own_y)) == NULL ||
		(tmp = onnx_kernel_scratch(ctx, (size_t) (dv + 1), sizeof(float))) == NULL)
		return ctx->err->status;
	if (past)
		load_work(past, 0, past->count, st, false);
	else
		memset(st, 0, sizeof(float) * (size_t) ps->count);
	for (int64_t t = 0; t < T; t++)
		for (int64_t b = 0; b < B; b++)
			for (int64_t kh = 0; kh < Hkv; kh++)
			{
				int64_t		bt = b * T + t;
				float	   *S = st + (b * Hkv + kh) * dk * dv;
				int64_t		gn = decay ? decay->dims[2] / Hkv : 0;
				const float *g = decay ? w[4] + bt * decay->dims[2] + kh * gn : NULL;
				const float *bp = beta ? w[5] + bt * beta->dims[2] + (beta->dims[2] == 1 ? 0 : kh) : NULL;

				linattn_update(S, w[1] + bt * Hkv * dk + kh * dk, w[2] + bt * Hkv * dv + kh * dv,
							   g, gn, bp, dk, dv, tmp);
				for (int64_t h = kh * (Hq / Hkv); h < (kh + 1) * (Hq / Hkv); h++)
				{
					const float *qv = w[0] + bt * Hq * dk + h * dk;
					float	   *o = out + bt * Hq * dv + h * dv;

					for (int64_t m = 0; m < dv; m++)
					{
						float		acc = 0;

						for (int64_t d = 0; d < dk; d++)
							acc += qv[d] * S[d * dv + m];
						o[m] = (float) scale * acc;
					}
				}
			}
	work_out_finish(y, own_y, false);
	work_out_finish(ps, own_st, false);
	return ctx->err->status;
}

static const OnnxAttrSpec linear_attention_attrs[] = {
	{"chunk_size", ONNX_ATTR_INT}, {"kv_num_heads", ONNX_ATTR_INT},
	{"q_num_heads", ONNX_ATTR_INT}, {"scale", ONNX_ATTR_FLOAT},
	{"update_rule", ONNX_ATTR_STRING}, {0}
};

/* ---- FlexAttention (ai.onnx.preview 1) ---- */

/*
 * Run modifier subgraph g on *t (B, Hq, L, S) and replace *t's data with
 * its output, which must keep the dtype and shape.
 */
static OnnxStatus
flex_modify(OnnxKernelCtx *ctx, const char *what, const OnnxGraph *g, OnnxTensor *t)
{
	const OnnxAllocator *alloc = onnx_kernel_allocator(ctx);
	OnnxValue	in,
				out;
	OnnxStatus	st;

	if (g->n_inputs != 1 || g->n_outputs != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL,
								"%s must have one input and one output", what);
	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	in.kind = ONNX_VALUE_TENSOR;
	in.tensor = *t;
	if ((st = onnx_kernel_run_subgraph(ctx, g, 1, &in, &out)) != ONNX_OK)
		return st;
	if (out.kind != ONNX_VALUE_TENSOR || out.tensor.dtype != t->dtype ||
		out.tensor.rank != 4 || memcmp(out.tensor.dims, t->dims, sizeof(int64_t) * 4) != 0)
	{
		onnx_value_release(alloc, &out);
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s must return a tensor of the shape and type of its input", what);
	}
	memcpy(t->data, out.tensor.data, t->nbytes);
	onnx_value_release(alloc, &out);
	return ONNX_OK;
}

/*
 * FlexAttention: Q (B, Hq, L, D), K (B, Hkv, S, D), V (B, Hkv, S, Dv) ->
 * Y (B, Hq, L, Dv).  Scores (B, Hq, L, S) in softmax_precision (float, or
 * double for double inputs) go through score_mod, softmax and prob_mod.
 */
static OnnxStatus
run_flex_attention(OnnxKernelCtx *ctx)
{
	const OnnxTensor *q = onnx_in(ctx, 0),
			   *k = onnx_in(ctx, 1),
			   *v = onnx_in(ctx, 2);
	const OnnxAttr *scale_attr = onnx_attr(ctx->node, "scale");
	const OnnxAttr *score_mod = onnx_attr(ctx->node, "score_mod");
	const OnnxAttr *prob_mod = onnx_attr(ctx->node, "prob_mod");
	int64_t		prec = onnx_attr_int(ctx->node, "softmax_precision", 0);
	AttnPlan	pl;
	AttnScratch s;
	int64_t		qd[4],
				kd[4],
				vd[4],
				sdims[4];
	bool		dbl;
	size_t		esz;
	OnnxTensor	sc,
			   *y;
	void	   *yw;
	OnnxStatus	st;

	memset(&pl, 0, sizeof(pl));
	memset(&s, 0, sizeof(s));
	memset(&sc, 0, sizeof(sc));
	if (!q || !k || !v || q->rank != 4)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Q, K and V must be 4-D tensors");
	if ((st = attn_plan_shapes(ctx, q, k, v, qd, kd, vd, &pl)) != ONNX_OK)
		return st;
	if (prec != 0 && prec != ONNX_DTYPE_FLOAT && prec != ONNX_DTYPE_DOUBLE)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED,
								"softmax_precision %lld is not supported (float or double)", (long long) prec);
	dbl = prec == ONNX_DTYPE_DOUBLE || (prec == 0 && q->dtype == ONNX_DTYPE_DOUBLE);
	esz = dbl ? sizeof(double) : sizeof(float);
	pl.T = kd[2];
	pl.scale = scale_attr ? scale_attr->f : 1.0 / sqrt((double) (pl.D > 0 ? pl.D : 1));
	sdims[0] = pl.B;
	sdims[1] = pl.Hq;
	sdims[2] = pl.Sq;
	sdims[3] = pl.T;
	qd[3] = pl.Dv;				/* Y (B, Hq, L, Dv) */
	if ((y = onnx_out(ctx, 0, q->dtype, 4, qd)) == NULL)
		return ctx->err->status;
	if (onnx_tensor_set_shape(&sc, dbl ? ONNX_DTYPE_DOUBLE : ONNX_DTYPE_FLOAT, 4, sdims, ctx->err) != ONNX_OK)
		return onnx_kernel_fail(ctx, ctx->err->status, "%s", ctx->err->message);
	st = ONNX_OK;
	if ((pl.q.p = work_in(ctx, q, dbl, &s.q)) == NULL ||
		(pl.k.p = work_in(ctx, k, dbl, &s.k)) == NULL ||
		(pl.v.p = work_in(ctx, v, dbl, &s.v)) == NULL ||
		(yw = work_out(ctx, y, dbl, &s.y)) == NULL ||
		(sc.data = s.qk = onnx_kernel_scratch(ctx, sc.nbytes, 1)) == NULL)
		return attn_status(ctx, st);
	for (int64_t b = 0; b < pl.B; b++)
		for (int64_t h = 0; h < pl.Hq; h++)
		{
			char	   *blk = (char *) sc.data + esz * (size_t) ((b * pl.Hq + h) * pl.Sq * pl.T);

			if (dbl)
				attn_scores_f64(&pl, b, h, (double *) blk);
			else
				attn_scores_f32(&pl, b, h, (float *) blk);
		}
	if (score_mod && score_mod->type == ONNX_ATTR_GRAPH && score_mod->g &&
		(st = flex_modify(ctx, "score_mod", score_mod->g, &sc)) != ONNX_OK)
		return attn_status(ctx, st);
	if (dbl)
		attn_softmax_f64(pl.B * pl.Hq * pl.Sq, pl.T, (double *) sc.data);
	else
		attn_softmax_f32(pl.B * pl.Hq * pl.Sq, pl.T, (float *) sc.data);
	if (prob_mod && prob_mod->type == ONNX_ATTR_GRAPH && prob_mod->g &&
		(st = flex_modify(ctx, "prob_mod", prob_mod->g, &sc)) != ONNX_OK)
		return attn_status(ctx, st);
	for (int64_t b = 0; b < pl.B; b++)
		for (int64_t h = 0; h < pl.Hq; h++)
		{
			size_t		po = esz * (size_t) ((b * pl.Hq + h) * pl.Sq * pl.T);
			size_t		yo = esz * (size_t) ((b * pl.Hq + h) * pl.Sq * pl.Dv);

			if (dbl)
				attn_pv_f64(&pl, b, h, (const double *) ((char *) sc.data + po),
							(double *) ((char *) yw + yo), pl.Dv);
			else
				attn_pv_f32(&pl, b, h, (const float *) ((char *) sc.data + po),
							(float *) ((char *) yw + yo), pl.Dv);
		}
	work_out_finish(y, s.y, dbl);
	return ONNX_OK;
}

static const OnnxAttrSpec flex_attrs[] = {
	{"prob_mod", ONNX_ATTR_GRAPH}, {"score_mod", ONNX_ATTR_GRAPH},
	{"scale", ONNX_ATTR_FLOAT}, {"softmax_precision", ONNX_ATTR_INT}, {0}
};

static const OnnxAttrSpec attention_attrs[] = {
	{"is_causal", ONNX_ATTR_INT}, {"kv_num_heads", ONNX_ATTR_INT},
	{"q_num_heads", ONNX_ATTR_INT}, {"qk_matmul_output_mode", ONNX_ATTR_INT},
	{"scale", ONNX_ATTR_FLOAT}, {"softcap", ONNX_ATTR_FLOAT},
	{"softmax_precision", ONNX_ATTR_INT}, {0}
};

const OnnxOpDef onnx_ops_attention[] = {
	ONNX_OP("", "Attention", 23, ONNX_INPUTS(3, 6), ONNX_OUTPUTS(1, 4), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_SAME, .run = run_attention, .attrs = attention_attrs),
	ONNX_OP("", "Attention", 24, ONNX_INPUTS(3, 7), ONNX_OUTPUTS(1, 4), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_SAME, .run = run_attention, .attrs = attention_attrs),
	ONNX_OP("", "RotaryEmbedding", 23, ONNX_INPUTS(3, 4), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_FLOAT, ONNX_OUT_LIKE_INPUT0,
		.run = run_rotary_embedding, .attrs = rotary_attrs),
	ONNX_OP("", "LinearAttention", 27, ONNX_INPUTS(3, 6), ONNX_OUTPUTS(2, 2),
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_UNKNOWN, .run = run_linear_attention,
		.attrs = linear_attention_attrs),
	ONNX_OP("", "CausalConvWithState", 27, ONNX_INPUTS(2, 4), ONNX_OUTPUTS(2, 2),
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_SAME, .run = run_causal_conv,
		.attrs = causal_conv_attrs),
	ONNX_OP("ai.onnx.preview", "FlexAttention", 1, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_SAME, .run = run_flex_attention,
		.attrs = flex_attrs),
	{0}
};
