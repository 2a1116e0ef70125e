/*-------------------------------------------------------------------------
 *
 * ops_rnn.c
 *	  Recurrent layers: RNN, GRU, LSTM (every opset; layout from 14).
 *
 * Shapes (layout 0; layout 1 swaps seq and batch in X and Y, and puts
 * batch first in the state outputs):
 *	  X (seq, batch, in), W (dirs, G*hid, in), R (dirs, G*hid, hid),
 *	  B (dirs, 2*G*hid), sequence_lens (batch), initial_h (dirs, batch, hid),
 *	  LSTM: initial_c (dirs, batch, hid), P (dirs, 3*hid)
 *	  -> Y (seq, dirs, batch, hid), Y_h (dirs, batch, hid), LSTM: Y_c
 * with G = 1 (RNN), 3 (GRU: gates z r h), 4 (LSTM: gates i o f c).
 * Steps past a row's sequence length give zeros in Y and keep the state.
 * Computed in double for float, float16 and double inputs.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <strings.h>

#include "op_tables.h"

typedef enum RnnKind
{
	RNN_PLAIN,
	RNN_GRU,
	RNN_LSTM
} RnnKind;

typedef struct Activation
{
	int			fn;				/* index into activation_names */
	double		alpha;
	double		beta;
} Activation;

static const char *const activation_names[] = {
	"Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
	"HardSigmoid", "Elu", "Softsign", "Softplus", NULL
};

/* Default alpha/beta of each activation (ONNX RNN spec). */
static void
activation_defaults(int fn, double *alpha, double *beta)
{
	*alpha = 0;
	*beta = 0;
	switch (fn)
	{
		case 3:					/* Affine */
			*alpha = 1.0;
			break;
		case 4:					/* LeakyRelu */
			*alpha = 0.01;
			break;
		case 5:					/* ThresholdedRelu */
			*alpha = 1.0;
			break;
		case 6:					/* ScaledTanh */
			*alpha = 1.0;
			*beta = 1.0;
			break;
		case 7:					/* HardSigmoid */
			*alpha = 0.2;
			*beta = 0.5;
			break;
		case 8:					/* Elu */
			*alpha = 1.0;
			break;
		default:
			break;
	}
}

static double
activate(const Activation *a, double x)
{
	switch (a->fn)
	{
		case 0:
			return x > 0 ? x : 0;
		case 1:
			return tanh(x);
		case 2:
			return 1.0 / (1.0 + exp(-x));
		case 3:
			return a->alpha * x + a->beta;
		case 4:
			return x >= 0 ? x : a->alpha * x;
		case 5:
			return x > a->alpha ? x : 0;
		case 6:
			return a->alpha * tanh(a->beta * x);
		case 7:
			{
				double		v = a->alpha * x + a->beta;

				return v < 0 ? 0 : (v > 1 ? 1 : v);
			}
		case 8:
			return x >= 0 ? x : a->alpha * (exp(x) - 1);
		case 9:
			return x / (1 + fabs(x));
		default:
			return log1p(exp(-fabs(x))) + (x > 0 ? x : 0);	/* Softplus */
	}
}

/* Read the activations (n per direction) with their alpha/beta lists. */
static OnnxStatus
read_activations(OnnxKernelCtx *ctx, int per_dir, int dirs, const int *defaults, Activation *out)
{
	const OnnxAttr *names = onnx_attr(ctx->node, "activations");
	const float *alphas;
	const float *betas;
	int			na = onnx_attr_floats(ctx->node, "activation_alpha", &alphas);
	int			nb = onnx_attr_floats(ctx->node, "activation_beta", &betas);
	int			n = per_dir * dirs;

	for (int i = 0; i < n; i++)
	{
		int			fn = defaults[i % per_dir];

		if (names && names->type == ONNX_ATTR_STRINGS)
		{
			if (names->n != per_dir && names->n != n)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL,
										"activations lists %d functions, expected %d or %d",
										names->n, per_dir, n);
			fn = -1;
			for (int k = 0; activation_names[k]; k++)
				if (strcasecmp(names->strings[i % names->n], activation_names[k]) == 0)
					fn = k;
			if (fn < 0)
				return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "activation \"%s\" is not supported",
										names->strings[i % names->n]);
		}
		out[i].fn = fn;
		activation_defaults(fn, &out[i].alpha, &out[i].beta);
		if (i < na)
			out[i].alpha = alphas[i];
		if (i < nb)
			out[i].beta = betas[i];
	}
	return ONNX_OK;
}

/* Tensor element of an optional input as double; 0 when absent. */
static inline double
opt_get(const OnnxTensor *t, int64_t i)
{
	return t ? onnx_tensor_get_f64(t, i) : 0.0;
}

static inline double
clipped(double v, double clip)
{
	return clip > 0 ? fmax(-clip, fmin(clip, v)) : v;
}

/* Weights of one direction. */
typedef struct RnnDir
{
	const OnnxTensor *x,
			   *w,
			   *r,
			   *b,
			   *p;
	int64_t		woff,
				roff,
				boff,
				poff;
	int64_t		in,
				hid;
	int			G;
	double		clip;
	const Activation *f,
			   *g,
			   *h;
	bool		input_forget;
	bool		lbr;
} RnnDir;

/* dot(X row at xoff, W row j) */
static double
x_dot_w(const RnnDir *rd, int64_t xoff, int64_t j)
{
	double		acc = 0;

	for (int64_t k = 0; k < rd->in; k++)
		acc += onnx_tensor_get_f64(rd->x, xoff + k) * onnx_tensor_get_f64(rd->w, rd->woff + j * rd->in + k);
	return acc;
}

/* dot(v (hid), R row j) */
static double
v_dot_r(const RnnDir *rd, const double *v, int64_t j)
{
	double		acc = 0;

	for (int64_t k = 0; k < rd->hid; k++)
		acc += v[k] * onnx_tensor_get_f64(rd->r, rd->roff + j * rd->hid + k);
	return acc;
}

/* Bias of gate row j: Wb_j + Rb_j (or just Rb_j with only_r). */
static double
bias(const RnnDir *rd, int64_t j, bool w_part, bool r_part)
{
	return (w_part ? opt_get(rd->b, rd->boff + j) : 0) +
		(r_part ? opt_get(rd->b, rd->boff + rd->G * rd->hid + j) : 0);
}

/* One RNN step: H = f(X W^T + H R^T + Wb + Rb); tmp holds hid doubles. */
static void
step_rnn(const RnnDir *rd, int64_t xoff, double *H, double *tmp)
{
	for (int64_t k = 0; k < rd->hid; k++)
		tmp[k] = activate(rd->f, clipped(x_dot_w(rd, xoff, k) + v_dot_r(rd, H, k) + bias(rd, k, true, true), rd->clip));
	memcpy(H, tmp, sizeof(double) * rd->hid);
}

/* One LSTM step (gates i o f c; peepholes i o f); tmp holds 4*hid doubles. */
static void
step_lstm(const RnnDir *rd, int64_t xoff, double *H, double *C, double *tmp)
{
	int64_t		hid = rd->hid;

	for (int64_t j = 0; j < 4 * hid; j++)
		tmp[j] = x_dot_w(rd, xoff, j) + v_dot_r(rd, H, j) + bias(rd, j, true, true);
	for (int64_t k = 0; k < hid; k++)
	{
		double		it = activate(rd->f, clipped(tmp[k] + opt_get(rd->p, rd->poff + k) * C[k], rd->clip));
		double		ft = rd->input_forget ? 1 - it :
			activate(rd->f, clipped(tmp[2 * hid + k] + opt_get(rd->p, rd->poff + 2 * hid + k) * C[k], rd->clip));
		double		ct = activate(rd->g, clipped(tmp[3 * hid + k], rd->clip));

		C[k] = ft * C[k] + it * ct;
		tmp[3 * hid + k] = activate(rd->f, clipped(tmp[hid + k] + opt_get(rd->p, rd->poff + hid + k) * C[k], rd->clip));
	}
	for (int64_t k = 0; k < hid; k++)
		H[k] = tmp[3 * hid + k] * activate(rd->h, C[k]);
}

/* One GRU step (gates z r h); tmp holds 4*hid doubles. */
static void
step_gru(const RnnDir *rd, int64_t xoff, double *H, double *tmp)
{
	int64_t		hid = rd->hid;
	double	   *z = tmp,
			   *rg = tmp + hid,
			   *rh = tmp + 2 * hid,
			   *hn = tmp + 3 * hid;

	for (int64_t k = 0; k < hid; k++)
	{
		z[k] = activate(rd->f, clipped(x_dot_w(rd, xoff, k) + v_dot_r(rd, H, k) + bias(rd, k, true, true), rd->clip));
		rg[k] = activate(rd->f, clipped(x_dot_w(rd, xoff, hid + k) + v_dot_r(rd, H, hid + k) +
										bias(rd, hid + k, true, true), rd->clip));
		rh[k] = rg[k] * H[k];
	}
	for (int64_t k = 0; k < hid; k++)
	{
		int64_t		j = 2 * hid + k;
		double		pre = x_dot_w(rd, xoff, j) + bias(rd, j, true, false);

		if (rd->lbr)			/* r (.) (H R_h^T + Rb_h) */
			pre += rg[k] * (v_dot_r(rd, H, j) + bias(rd, j, false, true));
		else					/* (r (.) H) R_h^T + Rb_h */
			pre += v_dot_r(rd, rh, j) + bias(rd, j, false, true);
		hn[k] = activate(rd->g, clipped(pre, rd->clip));
	}
	for (int64_t k = 0; k < hid; k++)
		H[k] = (1 - z[k]) * hn[k] + z[k] * H[k];
}

static OnnxStatus
run_recurrent(OnnxKernelCtx *ctx, RnnKind kind)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *w = onnx_in(ctx, 1);
	const OnnxTensor *r = onnx_in(ctx, 2);
	const OnnxTensor *b = onnx_in(ctx, 3);
	const OnnxTensor *lens = onnx_in(ctx, 4);
	const OnnxTensor *h0 = onnx_in(ctx, 5);
	const OnnxTensor *c0 = kind == RNN_LSTM ? onnx_in(ctx, 6) : NULL;
	const OnnxTensor *peep = kind == RNN_LSTM ? onnx_in(ctx, 7) : NULL;
	const char *direction = onnx_attr_string(ctx->node, "direction", "forward");
	int64_t		layout = onnx_attr_int(ctx->node, "layout", 0);
	int			G = kind == RNN_PLAIN ? 1 : (kind == RNN_GRU ? 3 : 4);
	int			per_dir = kind == RNN_PLAIN ? 1 : (kind == RNN_GRU ? 2 : 3);
	int			dirs = strcmp(direction, "bidirectional") == 0 ? 2 : 1;
	static const int plain_defaults[] = {1};
	static const int gru_defaults[] = {2, 1};
	static const int lstm_defaults[] = {2, 1, 1};
	int64_t		seq,
				batch,
				in,
				hid;
	int64_t		ydims[4],
				hdims[3];
	OnnxTensor *y,
			   *yh = NULL,
			   *yc = NULL;
	double	   *H,
			   *C,
			   *tmp;
	Activation	acts[6];
	OnnxStatus	st = ONNX_OK;

	if (x == NULL || w == NULL || r == NULL || x->rank != 3 || w->rank != 3 || r->rank != 3)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X, W and R must be 3-D tensors");
	if (dirs == 1 && strcmp(direction, "forward") != 0 && strcmp(direction, "reverse") != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL,
								"direction \"%s\" is not forward, reverse or bidirectional", direction);
	if (layout != 0 && layout != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "layout must be 0 or 1");
	seq = layout ? x->dims[1] : x->dims[0];
	batch = layout ? x->dims[0] : x->dims[1];
	in = x->dims[2];
	hid = onnx_attr_int(ctx->node, "hidden_size", r->dims[2]);
	if (hid <= 0 || hid > (1 << 20) || w->dims[0] != dirs || w->dims[1] != G * hid ||
		w->dims[2] != in || r->dims[0] != dirs || r->dims[1] != G * hid || r->dims[2] != hid)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"W must be [%d, %lld, %lld] and R [%d, %lld, %lld]", dirs,
								(long long) (G * hid), (long long) in, dirs,
								(long long) (G * hid), (long long) hid);
	if (b && b->count != (int64_t) dirs * 2 * G * hid)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "B must have %lld values",
								(long long) dirs * 2 * G * hid);
	if (lens && lens->count != batch)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "sequence_lens must have %lld values",
								(long long) batch);
	if ((h0 && h0->count != dirs * batch * hid) || (c0 && c0->count != dirs * batch * hid))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "initial states must have %lld values",
								(long long) (dirs * batch * hid));
	if (peep && peep->count != (int64_t) dirs * 3 * hid)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "P must have %lld values",
								(long long) dirs * 3 * hid);
	if ((st = read_activations(ctx, per_dir, dirs,
							   kind == RNN_PLAIN ? plain_defaults :
							   (kind == RNN_GRU ? gru_defaults : lstm_defaults), acts)) != ONNX_OK)
		return st;

	if (layout == 0)
	{
		ydims[0] = seq, ydims[1] = dirs, ydims[2] = batch, ydims[3] = hid;
		hdims[0] = dirs, hdims[1] = batch, hdims[2] = hid;
	}
	else
	{
		ydims[0] = batch, ydims[1] = seq, ydims[2] = dirs, ydims[3] = hid;
		hdims[0] = batch, hdims[1] = dirs, hdims[2] = hid;
	}
	if ((y = onnx_out(ctx, 0, x->dtype, 4, ydims)) == NULL)
		return ctx->err->status;
	if (ctx->n_outputs > 1 && (yh = onnx_out(ctx, 1, x->dtype, 3, hdims)) == NULL)
		return ctx->err->status;
	if (kind == RNN_LSTM && ctx->n_outputs > 2 && (yc = onnx_out(ctx, 2, x->dtype, 3, hdims)) == NULL)
		return ctx->err->status;
	H = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) (hid + 1));
	C = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) (hid + 1));
	tmp = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) (4 * hid + 1));
	if (!H || !C || !tmp)
		goto done;

	for (int d = 0; d < dirs && st == ONNX_OK; d++)
	{
		RnnDir		rd;
		bool		reverse = dirs == 2 ? d == 1 : strcmp(direction, "reverse") == 0;

		rd.x = x, rd.w = w, rd.r = r, rd.b = b, rd.p = peep;
		rd.woff = (int64_t) d * G * hid * in;
		rd.roff = (int64_t) d * G * hid * hid;
		rd.boff = (int64_t) d * 2 * G * hid;
		rd.poff = (int64_t) d * 3 * hid;
		rd.in = in, rd.hid = hid, rd.G = G;
		rd.clip = onnx_attr_float(ctx->node, "clip", 0.0f);
		rd.f = &acts[d * per_dir];
		rd.g = per_dir > 1 ? &acts[d * per_dir + 1] : rd.f;
		rd.h = per_dir > 2 ? &acts[d * per_dir + 2] : rd.g;
		rd.input_forget = onnx_attr_int(ctx->node, "input_forget", 0) != 0;
		rd.lbr = onnx_attr_int(ctx->node, "linear_before_reset", 0) != 0;

		for (int64_t bi = 0; bi < batch; bi++)
		{
			int64_t		len = lens ? onnx_tensor_get_i64(lens, bi) : seq;
			int64_t		hoff = layout ? (bi * dirs + d) * hid : (d * batch + bi) * hid;

			if (len < 0 || len > seq)
			{
				st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									  "sequence_lens[%lld] is %lld, outside [0, %lld]",
									  (long long) bi, (long long) len, (long long) seq);
				break;
			}
			for (int64_t k = 0; k < hid; k++)
			{
				H[k] = opt_get(h0, (d * batch + bi) * hid + k);
				C[k] = opt_get(c0, (d * batch + bi) * hid + k);
			}
			for (int64_t step = 0; step < len; step++)
			{
				int64_t		t = reverse ? len - 1 - step : step;
				int64_t		xoff = layout ? (bi * seq + t) * in : (t * batch + bi) * in;
				int64_t		yoff = layout ? ((bi * seq + t) * dirs + d) * hid : ((t * dirs + d) * batch + bi) * hid;

				if (onnx_kernel_should_abort(ctx))
				{
					st = onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
					break;
				}
				if (kind == RNN_PLAIN)
					step_rnn(&rd, xoff, H, tmp);
				else if (kind == RNN_GRU)
					step_gru(&rd, xoff, H, tmp);
				else
					step_lstm(&rd, xoff, H, C, tmp);
				for (int64_t k = 0; k < hid; k++)
					onnx_tensor_set_f64(y, yoff + k, H[k]);
			}
			for (int64_t k = 0; k < hid; k++)
			{
				if (yh)
					onnx_tensor_set_f64(yh, hoff + k, H[k]);
				if (yc)
					onnx_tensor_set_f64(yc, hoff + k, C[k]);
			}
		}
	}
done:
	onnx_kernel_free(ctx, H);
	onnx_kernel_free(ctx, C);
	onnx_kernel_free(ctx, tmp);
	if (!H || !C || !tmp)
		return ctx->err->status;
	return st;
}

static OnnxStatus
run_rnn(OnnxKernelCtx *ctx)
{
	return run_recurrent(ctx, RNN_PLAIN);
}

static OnnxStatus
run_gru(OnnxKernelCtx *ctx)
{
	return run_recurrent(ctx, RNN_GRU);
}

static OnnxStatus
run_lstm(OnnxKernelCtx *ctx)
{
	return run_recurrent(ctx, RNN_LSTM);
}

static const OnnxAttrSpec rnn_attrs[] = {
	{"hidden_size", ONNX_ATTR_INT}, {"direction", ONNX_ATTR_STRING}, {"layout", ONNX_ATTR_INT},
	{"clip", ONNX_ATTR_FLOAT}, {"activations", ONNX_ATTR_STRINGS},
	{"activation_alpha", ONNX_ATTR_FLOATS}, {"activation_beta", ONNX_ATTR_FLOATS},
	{"input_forget", ONNX_ATTR_INT}, {"linear_before_reset", ONNX_ATTR_INT}, {NULL}
};

#define RNN_OP(name, since, maxin, maxout, fn) \
	{"", name, since, 3, maxin, 0, maxout, ONNX_TS_FLOAT, ONNX_OUT_SAME, NULL, NULL, fn, rnn_attrs}

const OnnxOpDef onnx_ops_rnn[] = {
	RNN_OP("RNN", 1, 6, 2, run_rnn),
	RNN_OP("GRU", 1, 6, 2, run_gru),
	RNN_OP("LSTM", 1, 8, 3, run_lstm),
	{0}
};
