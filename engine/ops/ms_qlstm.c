/*-------------------------------------------------------------------------
 *
 * ms_qlstm.c
 *	  com.microsoft DynamicQuantizeLSTM: ONNX's LSTM (gates i o f c, layout
 *	  0) with 8-bit weights W (dirs, in, 4*hid) and R (dirs, hid, 4*hid),
 *	  scales and zero points per direction or per output column, as
 *	  onnxruntime computes it:
 *
 *	  XW (seq*batch, 4h) = dq(quant(X) @ W) + Wb + Rb, X quantized once
 *		  to uint8 over its whole range (DynamicQuantizeLinear's rule);
 *	  per step HR (batch, 4h) = dq(quant(H) @ R), H quantized per step;
 *	  dq(acc)[n] = float(acc) * (x_scale * w_scale[n]);
 *	  then the gates of rnn_cell.c.
 *
 * Only the default activations (Sigmoid, Tanh, Tanh) are supported, which
 * is what quantize_dynamic keeps from an LSTM; clip, input_forget and
 * peepholes are.  Weights are packed once at load when constant.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <strings.h>

#include "op_tables.h"
#include "qmatmul.h"
#include "rnn_cell.h"
#include "pack.h"

enum
{
	IN_X = 0, IN_W, IN_R, IN_B, IN_LENS, IN_H0, IN_C0, IN_P,
	IN_WS, IN_WZ, IN_RS, IN_RZ
};

#define MAX_DIRS 2

/* node->prepared: W and R of each direction, packed with their zero points. */
typedef struct QLstmPacked
{
	OnnxQgemmB *w[MAX_DIRS];
	OnnxQgemmB *r[MAX_DIRS];
} QLstmPacked;

/* Zero points of direction d of a (dirs) or (dirs, 4h) tensor, into zp (4h). */
static bool
dir_zp(const OnnxTensor *z, int d, int dirs, int64_t gh, int32_t *zp)
{
	if (z == NULL)
	{
		memset(zp, 0, sizeof(int32_t) * (size_t) gh);
		return true;
	}
	if (z->count == dirs)
		for (int64_t n = 0; n < gh; n++)
			zp[n] = z->dtype == ONNX_DTYPE_INT8 ? ((const int8_t *) z->data)[d] :
				((const uint8_t *) z->data)[d];
	else if (z->count == dirs * gh)
		for (int64_t n = 0; n < gh; n++)
			zp[n] = z->dtype == ONNX_DTYPE_INT8 ? ((const int8_t *) z->data)[d * gh + n] :
				((const uint8_t *) z->data)[d * gh + n];
	else
		return false;
	return true;
}

/* Scales of direction d, into s (4h). */
static bool
dir_scale(const OnnxTensor *t, int d, int dirs, int64_t gh, float *s)
{
	if (t == NULL || t->dtype != ONNX_DTYPE_FLOAT)
		return false;
	if (t->count == dirs)
		for (int64_t n = 0; n < gh; n++)
			s[n] = ((const float *) t->data)[d];
	else if (t->count == dirs * gh)
		memcpy(s, (const float *) t->data + d * gh, sizeof(float) * (size_t) gh);
	else
		return false;
	return true;
}

static int
lstm_dirs(const OnnxNode *node)
{
	return strcmp(onnx_attr_string(node, "direction", "forward"), "bidirectional") == 0 ? 2 : 1;
}

/* Whether W (dirs, in, 4h) and R (dirs, hid, 4h) have usable shapes. */
static bool
weights_ok(const OnnxTensor *w, const OnnxTensor *r, int dirs, int64_t *in, int64_t *hid)
{
	uint64_t	i8 = ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8);

	if (w == NULL || r == NULL || w->rank != 3 || r->rank != 3 || w->dims[0] != dirs ||
		r->dims[0] != dirs || !(ONNX_T(w->dtype) & i8) || !(ONNX_T(r->dtype) & i8))
		return false;
	*in = w->dims[1];
	*hid = r->dims[1];
	return *hid > 0 && *hid <= (1 << 20) && w->dims[2] == 4 * *hid && r->dims[2] == 4 * *hid;
}

static OnnxStatus
qlstm_pack(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	const OnnxTensor *w = onnx_const_input(g, node, IN_W),
			   *r = onnx_const_input(g, node, IN_R),
			   *wz = onnx_const_input(g, node, IN_WZ),
			   *rz = onnx_const_input(g, node, IN_RZ);
	int			dirs = lstm_dirs(node);
	int64_t		in,
				hid;
	int32_t    *zp;
	QLstmPacked *p;

	if (!weights_ok(w, r, dirs, &in, &hid) || wz == NULL || rz == NULL)
		return ONNX_OK;
	if ((p = onnx_arena_alloc(arena, sizeof(QLstmPacked))) == NULL ||
		(zp = onnx_arena_alloc(arena, sizeof(int32_t) * (size_t) (4 * hid))) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing weights");
	for (int d = 0; d < dirs; d++)
	{
		size_t		wb = onnx_qgemm_pack_b_size(onnx_qgemm_isa(), in, 4 * hid),
					rb = onnx_qgemm_pack_b_size(onnx_qgemm_isa(), hid, 4 * hid);
		void	   *wbuf,
				   *rbuf;

		if (wb == 0 || rb == 0)
			return ONNX_OK;
		if ((wbuf = onnx_arena_alloc(arena, wb)) == NULL || (rbuf = onnx_arena_alloc(arena, rb)) == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing weights");
		if (!dir_zp(wz, d, dirs, 4 * hid, zp))
			return ONNX_OK;
		p->w[d] = onnx_qgemm_pack_b(wbuf, onnx_qgemm_isa(), in, 4 * hid,
									(const uint8_t *) w->data + d * in * 4 * hid, 4 * hid, false,
									w->dtype == ONNX_DTYPE_INT8, zp, 4 * hid);
		if (!dir_zp(rz, d, dirs, 4 * hid, zp))
			return ONNX_OK;
		p->r[d] = onnx_qgemm_pack_b(rbuf, onnx_qgemm_isa(), hid, 4 * hid,
									(const uint8_t *) r->data + d * hid * 4 * hid, 4 * hid, false,
									r->dtype == ONNX_DTYPE_INT8, zp, 4 * hid);
	}
	node->prepared = p;
	return ONNX_OK;
}

/* Scratch of one run, freed together. */
typedef struct QLstmRun
{
	int64_t		seq,
				batch,
				in,
				hid;
	int			dirs;
	RnnCell		cell;
	const int64_t *lens;		/* (batch) or NULL */
	/* scratch */
	uint8_t    *qx;				/* (seq*batch*in) */
	uint8_t    *qh;				/* (batch*hid) */
	int32_t    *acc;			/* (max(seq*batch, batch), 4h) */
	float	   *xw;				/* (seq*batch, 4h) */
	float	   *hr;				/* (batch, 4h) */
	float	   *hs,
			   *cs;				/* (batch, hid) */
	float	   *mult;			/* (4h) */
	float	   *bias;			/* (4h) */
	float	   *tmp;			/* (4h) cell scratch */
	int32_t    *zp;				/* (4h) */
} QLstmRun;

/* One direction over all steps; outputs where wanted (NULL: not). */
static OnnxStatus
qlstm_direction(OnnxKernelCtx *ctx, QLstmRun *q, int d, bool reverse, const OnnxQgemmB *pw,
				const OnnxQgemmB *pr, float *y, float *yh, float *yc)
{
	const OnnxTensor *x = onnx_in(ctx, IN_X),
			   *b = onnx_in(ctx, IN_B),
			   *h0 = onnx_in(ctx, IN_H0),
			   *c0 = onnx_in(ctx, IN_C0),
			   *ws = onnx_in(ctx, IN_WS),
			   *rs = onnx_in(ctx, IN_RS);
	int64_t		hid = q->hid,
				gh = 4 * hid,
				batch = q->batch,
				rows = q->seq * batch,
				steps = 0;
	float		xs,
				hsc;
	int32_t		xz,
				hz;

	/* XW = dq(quant(X) @ W) + Wb + Rb */
	for (int64_t n = 0; n < gh; n++)
		q->bias[n] = b ? ((const float *) b->data)[d * 2 * gh + n] + ((const float *) b->data)[d * 2 * gh + gh + n] : 0;
	if (!dir_scale(ws, d, q->dirs, gh, q->mult))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "W_scale must be float (dirs) or (dirs, 4*hidden)");
	onnx_qmm_dyn_quantize(x->data, x->count, q->qx, &xs, &xz);
	if (!onnx_qmm_2d(ctx, pw, rows, q->qx, q->in, false, &xz, 1, q->acc, gh))
		return ctx->err->status;
	for (int64_t i = 0; i < rows; i++)
		for (int64_t n = 0; n < gh; n++)
			q->xw[i * gh + n] = (float) q->acc[i * gh + n] * (xs * q->mult[n]) + q->bias[n];
	if (!dir_scale(rs, d, q->dirs, gh, q->mult))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "R_scale must be float (dirs) or (dirs, 4*hidden)");

	for (int64_t bi = 0; bi < batch; bi++)
	{
		int64_t		len = q->lens ? q->lens[bi] : q->seq;

		for (int64_t k = 0; k < hid; k++)
		{
			q->hs[bi * hid + k] = h0 ? ((const float *) h0->data)[(d * batch + bi) * hid + k] : 0;
			q->cs[bi * hid + k] = c0 ? ((const float *) c0->data)[(d * batch + bi) * hid + k] : 0;
		}
		steps = len > steps ? len : steps;
	}
	for (int64_t s = 0; s < steps; s++)
	{
		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		/* HR (batch, 4h) = dq(quant(H) @ R) */
		onnx_qmm_dyn_quantize(q->hs, batch * hid, q->qh, &hsc, &hz);
		if (!onnx_qmm_2d(ctx, pr, batch, q->qh, hid, false, &hz, 1, q->acc, gh))
			return ctx->err->status;
		for (int64_t i = 0; i < batch; i++)
			for (int64_t n = 0; n < gh; n++)
				q->hr[i * gh + n] = (float) q->acc[i * gh + n] * (hsc * q->mult[n]);
		for (int64_t bi = 0; bi < batch; bi++)
		{
			int64_t		len = q->lens ? q->lens[bi] : q->seq;
			int64_t		t = reverse ? len - 1 - s : s;

			if (s >= len)
				continue;
			rnn_cell_lstm(&q->cell, q->xw + (t * batch + bi) * gh, q->hr + bi * gh,
						  q->cs + bi * hid, q->hs + bi * hid);
			if (y)
				memcpy(y + ((t * q->dirs + d) * batch + bi) * hid, q->hs + bi * hid,
					   sizeof(float) * (size_t) hid);
		}
	}
	for (int64_t bi = 0; bi < batch; bi++)
	{
		bool		empty = q->lens && q->lens[bi] == 0;

		if (yh)
			memcpy(yh + (d * batch + bi) * hid, q->hs + bi * hid, sizeof(float) * (size_t) hid);
		if (yc)
			memcpy(yc + (d * batch + bi) * hid, q->cs + bi * hid, sizeof(float) * (size_t) hid);
		if (empty && yh)
			memset(yh + (d * batch + bi) * hid, 0, sizeof(float) * (size_t) hid);
		if (empty && yc)
			memset(yc + (d * batch + bi) * hid, 0, sizeof(float) * (size_t) hid);
	}
	return ONNX_OK;
}

/* Whether the activations are the defaults (absent, or Sigmoid Tanh Tanh per direction). */
static bool
default_acts(const OnnxNode *node)
{
	const OnnxAttr *a = onnx_attr(node, "activations");
	static const char *const want[3] = {"Sigmoid", "Tanh", "Tanh"};

	if (a == NULL)
		return true;
	if (a->type != ONNX_ATTR_STRINGS || (a->n != 3 && a->n != 6))
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcasecmp(a->strings[i], want[i % 3]) != 0)
			return false;
	return true;
}

static OnnxStatus
run_dynamic_quantize_lstm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, IN_X),
			   *w = onnx_in(ctx, IN_W),
			   *r = onnx_in(ctx, IN_R),
			   *b = onnx_in(ctx, IN_B),
			   *lt = onnx_in(ctx, IN_LENS),
			   *h0 = onnx_in(ctx, IN_H0),
			   *c0 = onnx_in(ctx, IN_C0),
			   *p = onnx_in(ctx, IN_P);
	const QLstmPacked *pre = ctx->node->prepared;
	const char *dir = onnx_attr_string(ctx->node, "direction", "forward");
	float		clip = onnx_attr_float(ctx->node, "clip", 0.0f);
	int64_t		ahid = onnx_attr_int(ctx->node, "hidden_size", 0),
				states,
				xn,
				an,
				ydims[4],
				hdims[3];
	QLstmRun	q;
	OnnxTensor *y = NULL,
			   *yh = NULL,
			   *yc = NULL;
	OnnxStatus	st = ONNX_OK;

	memset(&q, 0, sizeof(q));
	q.dirs = lstm_dirs(ctx->node);
	if (strcmp(dir, "forward") != 0 && strcmp(dir, "reverse") != 0 && q.dirs != 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "direction \"%s\" is not valid", dir);
	if (!default_acts(ctx->node))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "only the default activations are supported");
	if (onnx_in(ctx, IN_WS) == NULL || onnx_in(ctx, IN_RS) == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "W_scale and R_scale are required");
	if (x == NULL || x->rank != 3 || x->dtype != ONNX_DTYPE_FLOAT || !weights_ok(w, r, q.dirs, &q.in, &q.hid) ||
		x->dims[2] != q.in || (ahid > 0 && ahid != q.hid))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"X must be float32 (seq, batch, in), W (dirs, in, 4*hidden) and R (dirs, hidden, 4*hidden) 8-bit");
	q.seq = x->dims[0];
	q.batch = x->dims[1];
	if (onnx_mul_overflow_i64(q.dirs * q.hid, q.batch, &states) ||
		onnx_mul_overflow_i64(q.seq, q.batch, &an) || onnx_mul_overflow_i64(an < q.batch ? q.batch : an, 4 * q.hid, &an))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "sizes overflow");
	if ((b && (b->dtype != ONNX_DTYPE_FLOAT || b->count != q.dirs * 8 * q.hid)) ||
		(h0 && (h0->dtype != ONNX_DTYPE_FLOAT || h0->count != states)) ||
		(c0 && (c0->dtype != ONNX_DTYPE_FLOAT || c0->count != states)) ||
		(p && (p->dtype != ONNX_DTYPE_FLOAT || p->count != q.dirs * 3 * q.hid)) ||
		(lt && lt->count != q.batch))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "B, initial states, P or sequence_lens have the wrong size");
	if (lt)
	{
		int64_t    *lens = onnx_kernel_scratch(ctx, (size_t) q.batch, sizeof(int64_t));

		if (lens == NULL)
			return ctx->err->status;
		for (int64_t i = 0; i < q.batch; i++)
			if ((lens[i] = onnx_tensor_get_i64(lt, i)) < 0 || lens[i] > q.seq)
				st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "sequence_lens out of range");
		q.lens = lens;
	}
	ydims[0] = q.seq, ydims[1] = q.dirs, ydims[2] = q.batch, ydims[3] = q.hid;
	hdims[0] = q.dirs, hdims[1] = q.batch, hdims[2] = q.hid;
	xn = x->count;
	if (st == ONNX_OK &&
		((ctx->n_outputs > 0 && ctx->node->outputs[0] >= 0 && (y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 4, ydims)) == NULL) ||
		 (ctx->n_outputs > 1 && ctx->node->outputs[1] >= 0 && (yh = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, 3, hdims)) == NULL) ||
		 (ctx->n_outputs > 2 && ctx->node->outputs[2] >= 0 && (yc = onnx_out(ctx, 2, ONNX_DTYPE_FLOAT, 3, hdims)) == NULL)))
		st = ctx->err->status;
#define SCRATCH(ptr, n, sz) \
	do { if (st == ONNX_OK) { \
		if (((ptr) = onnx_kernel_scratch(ctx, (size_t) (n), (sz))) == NULL) st = ctx->err->status; } } while (0)
	SCRATCH(q.qx, xn, 1);
	SCRATCH(q.qh, q.batch * q.hid, 1);
	SCRATCH(q.acc, an, sizeof(int32_t));
	SCRATCH(q.xw, q.seq * q.batch * 4 * q.hid, sizeof(float));
	SCRATCH(q.hr, q.batch * 4 * q.hid, sizeof(float));
	SCRATCH(q.hs, q.batch * q.hid, sizeof(float));
	SCRATCH(q.cs, q.batch * q.hid, sizeof(float));
	SCRATCH(q.mult, 4 * q.hid, sizeof(float));
	SCRATCH(q.bias, 4 * q.hid, sizeof(float));
	SCRATCH(q.tmp, 4 * q.hid, sizeof(float));
	SCRATCH(q.zp, 4 * q.hid, sizeof(int32_t));
#undef SCRATCH
	q.cell.hid = q.hid;
	q.cell.clip = clip > 0 ? clip : INFINITY;
	q.cell.f.fn = RNN_ACT_SIGMOID;
	q.cell.g.fn = q.cell.h.fn = RNN_ACT_TANH;
	q.cell.fused = true;
	q.cell.input_forget = onnx_attr_int(ctx->node, "input_forget", 0) != 0;
	q.cell.tmp = q.tmp;
	for (int d = 0; d < q.dirs && st == ONNX_OK; d++)
	{
		const OnnxQgemmB *pw = pre ? pre->w[d] : NULL,
				   *pr = pre ? pre->r[d] : NULL;
		OnnxQgemmB *tw = NULL,
				   *tr = NULL;

		q.cell.peep = p ? (const float *) p->data + d * 3 * q.hid : NULL;
		if (pw == NULL)
		{
			if (!dir_zp(onnx_in(ctx, IN_WZ), d, q.dirs, 4 * q.hid, q.zp))
				st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "W_zero_point has the wrong size");
			else if ((pw = tw = onnx_qmm_pack_now(ctx, q.in, 4 * q.hid, (const uint8_t *) w->data + d * q.in * 4 * q.hid,
												  4 * q.hid, false, w->dtype == ONNX_DTYPE_INT8, q.zp, 4 * q.hid)) == NULL)
				st = ctx->err->status;
		}
		if (st == ONNX_OK && pr == NULL)
		{
			if (!dir_zp(onnx_in(ctx, IN_RZ), d, q.dirs, 4 * q.hid, q.zp))
				st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "R_zero_point has the wrong size");
			else if ((pr = tr = onnx_qmm_pack_now(ctx, q.hid, 4 * q.hid, (const uint8_t *) r->data + d * q.hid * 4 * q.hid,
												  4 * q.hid, false, r->dtype == ONNX_DTYPE_INT8, q.zp, 4 * q.hid)) == NULL)
				st = ctx->err->status;
		}
		if (st == ONNX_OK)
			st = qlstm_direction(ctx, &q, d, q.dirs == 2 ? d == 1 : strcmp(dir, "reverse") == 0, pw, pr,
								 y ? y->data : NULL, yh ? yh->data : NULL, yc ? yc->data : NULL);
		if (tw)
			onnx_kernel_free(ctx, tw);
		if (tr)
			onnx_kernel_free(ctx, tr);
	}
	return st;
}

static OnnxStatus
infer_qlstm(OnnxInferCtx *ctx)
{
	for (int i = 0; i < ctx->n_outputs && i < 3; i++)
		if (ctx->outputs[i])
		{
			ctx->outputs[i]->dtype = ONNX_DTYPE_FLOAT;
			ctx->outputs[i]->kind = ONNX_VALUE_TENSOR;
		}
	return ONNX_OK;
}

static const OnnxAttrSpec qlstm_attrs[] = {
	{"hidden_size", ONNX_ATTR_INT}, {"direction", ONNX_ATTR_STRING}, {"clip", ONNX_ATTR_FLOAT},
	{"activations", ONNX_ATTR_STRINGS}, {"activation_alpha", ONNX_ATTR_FLOATS},
	{"activation_beta", ONNX_ATTR_FLOATS}, {"input_forget", ONNX_ATTR_INT}, {0}
};

const OnnxOpDef onnx_ops_ms_qlstm[] = {
	ONNX_OP(ONNX_DOMAIN_MS, "DynamicQuantizeLSTM", 1, ONNX_INPUTS(3, 12), ONNX_OUTPUTS(0, 3),
		.input0_types = ONNX_T(ONNX_DTYPE_FLOAT), .out_type = ONNX_OUT_CUSTOM, .infer = infer_qlstm,
		.run = run_dynamic_quantize_lstm, .attrs = qlstm_attrs, .pack = qlstm_pack),
	{0}
};
