/*-------------------------------------------------------------------------
 *
 * rnn_cell.c
 *	  Gate computations of RNN, GRU and LSTM for one batch row and one time
 *	  step, in float32 (see rnn_cell.h for the equations).
 *
 * The default activations run as one loop per row over sigmoid_f32_fast
 * and tanh_f32_fast (vecmath.h, error under 3 ulp), compiled for AVX-512,
 * AVX2 and portable C and chosen at run time (ONNX_VEC_DISPATCH).  Those
 * loops have no branch and restrict-qualified rows (the caller's rows
 * never overlap), or gcc leaves them scalar.  Other
 * activations take passes over the row through rnn_act_row, one switch
 * per pass.  Clipping (no clip: +-inf) keeps NaN as NaN.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "rnn_cell.h"
#include "vecmath.h"

/* x clamped to [-clip, clip]; NaN stays NaN. */
static inline float
clampf(float x, float clip)
{
	x = x < -clip ? -clip : x;
	return x > clip ? clip : x;
}

void
rnn_act_row(const RnnAct *act, float *x, int64_t n)
{
	float		alpha = act->alpha,
				beta = act->beta;

	switch (act->fn)
	{
		case RNN_ACT_RELU:
			for (int64_t i = 0; i < n; i++)
				x[i] = x[i] > 0 ? x[i] : 0;
			break;
		case RNN_ACT_TANH:
			onnx_vec_tanh_f32(x, x, n);
			break;
		case RNN_ACT_SIGMOID:
			onnx_vec_sigmoid_f32(x, x, n);
			break;
		case RNN_ACT_AFFINE:
			for (int64_t i = 0; i < n; i++)
				x[i] = alpha * x[i] + beta;
			break;
		case RNN_ACT_LEAKY_RELU:
			for (int64_t i = 0; i < n; i++)
				x[i] = x[i] >= 0 ? x[i] : alpha * x[i];
			break;
		case RNN_ACT_THRESHOLDED_RELU:
			for (int64_t i = 0; i < n; i++)
				x[i] = x[i] > alpha ? x[i] : 0;
			break;
		case RNN_ACT_SCALED_TANH:
			for (int64_t i = 0; i < n; i++)
				x[i] *= beta;
			onnx_vec_tanh_f32(x, x, n);
			for (int64_t i = 0; i < n; i++)
				x[i] *= alpha;
			break;
		case RNN_ACT_HARD_SIGMOID:
			for (int64_t i = 0; i < n; i++)
			{
				float		v = alpha * x[i] + beta;

				x[i] = v < 0 ? 0 : (v > 1 ? 1 : v);
			}
			break;
		case RNN_ACT_ELU:
			for (int64_t i = 0; i < n; i++)
				x[i] = x[i] >= 0 ? x[i] : alpha * expm1f(x[i]);
			break;
		case RNN_ACT_SOFTSIGN:
			for (int64_t i = 0; i < n; i++)
				x[i] = x[i] / (1 + fabsf(x[i]));
			break;
		case RNN_ACT_SOFTPLUS:
			for (int64_t i = 0; i < n; i++)
				x[i] = log1pf(expf(-fabsf(x[i]))) + (x[i] > 0 ? x[i] : 0);
			break;
	}
}

/* tanh(clip(a + r)) over one row. */
ONNX_VEC_INLINE void
plain_fused(const float *restrict a, const float *restrict r, float *restrict h, int64_t hid, float clip)
{
	for (int64_t k = 0; k < hid; k++)
		h[k] = tanh_f32_fast(clampf(a[k] + r[k], clip));
}

ONNX_VEC_DISPATCH(static, plain_fused_row, plain_fused,
				  (const float *a, const float *r, float *h, int64_t hid, float clip),
				  (a, r, h, hid, clip))

void
rnn_cell_plain(const RnnCell *cell, const float *a, const float *r, float *h)
{
	int64_t		hid = cell->hid;

	if (cell->fused)
	{
		plain_fused_row(a, r, h, hid, cell->clip);
		return;
	}
	for (int64_t k = 0; k < hid; k++)
		h[k] = clampf(a[k] + r[k], cell->clip);
	rnn_act_row(&cell->f, h, hid);
}

/*
 * LSTM row with sigmoid/tanh/tanh; has_p (P (3*hid) at p) is a constant
 * at each call site, so the loop has no branch and vectorizes.
 */
ONNX_VEC_INLINE void
lstm_fused(const float *restrict a, const float *restrict r, float *restrict c, float *restrict h, int64_t hid,
		   float clip, bool cifg, bool has_p, const float *restrict p)
{
	const float *ai = a,
			   *ao = a + hid,
			   *af = a + 2 * hid,
			   *ac = a + 3 * hid;
	const float *ri = r,
			   *ro = r + hid,
			   *rf = r + 2 * hid,
			   *rc = r + 3 * hid;
	uint32_t	cifg_mask = -(uint32_t) cifg;

	for (int64_t k = 0; k < hid; k++)
	{
		float		cp = c[k],
					gi = ai[k] + ri[k],
					gf = af[k] + rf[k],
					go = ao[k] + ro[k],
					it,
					ft,
					cn;

		if (has_p)
		{
			gi += p[k] * cp;
			gf += p[2 * hid + k] * cp;
		}
		it = sigmoid_f32_fast(clampf(gi, clip));
		ft = sigmoid_f32_fast(clampf(gf, clip));	/* both computed: no branch */
		ft = select_f32(cifg_mask, 1.0f - it, ft);
		cn = ft * cp + it * tanh_f32_fast(clampf(ac[k] + rc[k], clip));
		if (has_p)
			go += p[hid + k] * cn;
		c[k] = cn;
		h[k] = sigmoid_f32_fast(clampf(go, clip)) * tanh_f32_fast(cn);
	}
}

ONNX_VEC_INLINE void
lstm_fused_select(const float *restrict a, const float *restrict r, float *restrict c, float *restrict h, int64_t hid,
				  float clip, bool cifg, const float *restrict p)
{
	if (p)
		lstm_fused(a, r, c, h, hid, clip, cifg, true, p);
	else
		lstm_fused(a, r, c, h, hid, clip, cifg, false, NULL);
}

ONNX_VEC_DISPATCH(static, lstm_fused_row, lstm_fused_select,
				  (const float *a, const float *r, float *c, float *h, int64_t hid,
				   float clip, bool cifg, const float *p),
				  (a, r, c, h, hid, clip, cifg, p))

void
rnn_cell_lstm(const RnnCell *cell, const float *a, const float *r, float *c, float *h)
{
	int64_t		hid = cell->hid;
	const float *restrict p = cell->peep;
	float		clip = cell->clip;
	float	   *restrict gi = cell->tmp,
			   *restrict gf = gi + hid,
			   *restrict gc = gi + 2 * hid,
			   *restrict go = gi + 3 * hid;

	if (cell->fused)
	{
		lstm_fused_row(a, r, c, h, hid, clip, cell->input_forget, p);
		return;
	}
	/* gi, gf, gc adjacent: one pass each to sum, add peepholes, clip */
	for (int64_t k = 0; k < hid; k++)
	{
		gi[k] = a[k] + r[k];
		gf[k] = a[2 * hid + k] + r[2 * hid + k];
		gc[k] = a[3 * hid + k] + r[3 * hid + k];
	}
	for (int64_t k = 0; p && k < hid; k++)
	{
		gi[k] += p[k] * c[k];
		gf[k] += p[2 * hid + k] * c[k];
	}
	for (int64_t k = 0; k < 3 * hid; k++)
		gi[k] = clampf(gi[k], clip);
	rnn_act_row(&cell->f, gi, hid);
	if (cell->input_forget)
		for (int64_t k = 0; k < hid; k++)
			gf[k] = 1.0f - gi[k];
	else
		rnn_act_row(&cell->f, gf, hid);
	rnn_act_row(&cell->g, gc, hid);
	for (int64_t k = 0; k < hid; k++)
	{
		c[k] = gf[k] * c[k] + gi[k] * gc[k];
		go[k] = a[hid + k] + r[hid + k];
	}
	for (int64_t k = 0; p && k < hid; k++)
		go[k] += p[hid + k] * c[k];
	for (int64_t k = 0; k < hid; k++)
	{
		go[k] = clampf(go[k], clip);
		gi[k] = c[k];
	}
	rnn_act_row(&cell->f, go, hid);
	rnn_act_row(&cell->h, gi, hid);
	for (int64_t k = 0; k < hid; k++)
		h[k] = go[k] * gi[k];
}

/* GRU row with linear_before_reset, sigmoid/tanh. */
ONNX_VEC_INLINE void
gru_lbr_fused(const float *restrict a, const float *restrict r, const float *restrict rbh, float *restrict h, int64_t hid,
			  float clip)
{
	for (int64_t k = 0; k < hid; k++)
	{
		float		z = sigmoid_f32_fast(clampf(a[k] + r[k], clip)),
					rt = sigmoid_f32_fast(clampf(a[hid + k] + r[hid + k], clip)),
					hn = tanh_f32_fast(clampf(a[2 * hid + k] + rt * (r[2 * hid + k] + rbh[k]), clip));

		h[k] = (1.0f - z) * hn + z * h[k];
	}
}

ONNX_VEC_DISPATCH(static, gru_lbr_fused_row, gru_lbr_fused,
				  (const float *a, const float *r, const float *rbh, float *h, int64_t hid,
				   float clip),
				  (a, r, rbh, h, hid, clip))

void
rnn_cell_gru_lbr(const RnnCell *cell, const float *a, const float *r, float *h)
{
	int64_t		hid = cell->hid;
	float	   *restrict z = cell->tmp,
			   *restrict rt = z + hid,
			   *restrict hn = z + 2 * hid;

	if (cell->fused)
	{
		gru_lbr_fused_row(a, r, cell->rbh, h, hid, cell->clip);
		return;
	}
	for (int64_t k = 0; k < hid; k++)
	{
		z[k] = clampf(a[k] + r[k], cell->clip);
		rt[k] = clampf(a[hid + k] + r[hid + k], cell->clip);
	}
	rnn_act_row(&cell->f, z, 2 * hid);	/* z and rt are adjacent */
	for (int64_t k = 0; k < hid; k++)
		hn[k] = clampf(a[2 * hid + k] + rt[k] * (r[2 * hid + k] + cell->rbh[k]), cell->clip);
	rnn_act_row(&cell->g, hn, hid);
	for (int64_t k = 0; k < hid; k++)
		h[k] = (1.0f - z[k]) * hn[k] + z[k] * h[k];
}

/* First half of the GRU row without linear_before_reset, sigmoid. */
ONNX_VEC_INLINE void
gru_zr_fused(const float *restrict a, float *restrict r, const float *restrict h, float *restrict rh, int64_t hid, float clip)
{
	for (int64_t k = 0; k < hid; k++)
	{
		float		rt = sigmoid_f32_fast(clampf(a[hid + k] + r[hid + k], clip));

		r[k] = sigmoid_f32_fast(clampf(a[k] + r[k], clip));
		rh[k] = rt * h[k];
	}
}

ONNX_VEC_DISPATCH(static, gru_zr_fused_row, gru_zr_fused,
				  (const float *a, float *r, const float *h, float *rh, int64_t hid, float clip),
				  (a, r, h, rh, hid, clip))

void
rnn_cell_gru_zr(const RnnCell *cell, const float *a, float *r, const float *h, float *rh)
{
	int64_t		hid = cell->hid;

	if (cell->fused)
	{
		gru_zr_fused_row(a, r, h, rh, hid, cell->clip);
		return;
	}
	for (int64_t k = 0; k < 2 * hid; k++)
		r[k] = clampf(a[k] + r[k], cell->clip);
	rnn_act_row(&cell->f, r, 2 * hid);
	for (int64_t k = 0; k < hid; k++)
		rh[k] = r[hid + k] * h[k];
}

/* Second half of the GRU row without linear_before_reset, tanh. */
ONNX_VEC_INLINE void
gru_h_fused(const float *restrict a, const float *restrict r, float *restrict h, int64_t hid, float clip)
{
	for (int64_t k = 0; k < hid; k++)
	{
		float		z = r[k],
					hn = tanh_f32_fast(clampf(a[2 * hid + k] + r[2 * hid + k], clip));

		h[k] = (1.0f - z) * hn + z * h[k];
	}
}

ONNX_VEC_DISPATCH(static, gru_h_fused_row, gru_h_fused,
				  (const float *a, const float *r, float *h, int64_t hid, float clip),
				  (a, r, h, hid, clip))

void
rnn_cell_gru_h(const RnnCell *cell, const float *a, const float *r, float *h)
{
	int64_t		hid = cell->hid;
	float	   *restrict hn = cell->tmp;

	if (cell->fused)
	{
		gru_h_fused_row(a, r, h, hid, cell->clip);
		return;
	}
	for (int64_t k = 0; k < hid; k++)
		hn[k] = clampf(a[2 * hid + k] + r[2 * hid + k], cell->clip);
	rnn_act_row(&cell->g, hn, hid);
	for (int64_t k = 0; k < hid; k++)
		h[k] = (1.0f - r[k]) * hn[k] + r[k] * h[k];
}
