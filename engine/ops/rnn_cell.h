/*-------------------------------------------------------------------------
 *
 * rnn_cell.h
 *	  Gate computations of the recurrent operators (RNN, GRU, LSTM) for one
 *	  batch row and one time step, in float32, once the matrix products are
 *	  done: the caller passes a = X_t W^T + biases and r = H_{t-1} R^T.
 *
 * Gate order within a, r is ONNX's: LSTM i o f c, GRU z r h.  Every row
 * holds hid values per gate.  The default activations (sigmoid, tanh) run
 * as one fused loop per row; any other activation takes passes over the
 * row with its function chosen once per pass.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RNN_CELL_H
#define RNN_CELL_H

#include <stdbool.h>
#include <stdint.h>

/* Activation functions of the ONNX recurrent operators. */
typedef enum RnnActFn
{
	RNN_ACT_RELU = 0,
	RNN_ACT_TANH,
	RNN_ACT_SIGMOID,
	RNN_ACT_AFFINE,
	RNN_ACT_LEAKY_RELU,
	RNN_ACT_THRESHOLDED_RELU,
	RNN_ACT_SCALED_TANH,
	RNN_ACT_HARD_SIGMOID,
	RNN_ACT_ELU,
	RNN_ACT_SOFTSIGN,
	RNN_ACT_SOFTPLUS
} RnnActFn;

typedef struct RnnAct
{
	RnnActFn	fn;
	float		alpha;
	float		beta;
} RnnAct;

/* What the gate functions of one direction need besides a, r and state. */
typedef struct RnnCell
{
	int64_t		hid;
	float		clip;			/* pre-activations clamped to [-clip, clip] */
	RnnAct		f,
				g,
				h;				/* RNN uses f; GRU f, g; LSTM f, g, h */
	bool		fused;			/* f sigmoid, g and h tanh (RNN: f tanh) */
	bool		input_forget;	/* LSTM: forget gate = 1 - input gate */
	const float *peep;			/* LSTM: P (3*hid) for i o f, or NULL */
	const float *rbh;			/* GRU with linear_before_reset: Rb_h (hid) */
	float	   *tmp;			/* scratch of 4*hid floats (unfused paths) */
} RnnCell;

/* x[i] = act(x[i]) for n floats. */
extern void rnn_act_row(const RnnAct *act, float *x, int64_t n);

/* RNN: h = f(clip(a + r)); a, r, h (hid). */
extern void rnn_cell_plain(const RnnCell *cell, const float *a, const float *r, float *h);

/*
 * LSTM: a, r (4*hid); c, h (hid) hold C_{t-1}, and receive C_t, H_t.
 *	 i = f(a_i + r_i + P_i c), f = f(a_f + r_f + P_f c) (or 1 - i),
 *	 c~ = g(a_c + r_c), C = f c + i c~, o = f(a_o + r_o + P_o C),
 *	 H = o h(C); every pre-activation of f and g clipped.
 */
extern void rnn_cell_lstm(const RnnCell *cell, const float *a, const float *r,
						  float *c, float *h);

/*
 * GRU with linear_before_reset: a (3*hid, with Wb_h but not Rb_h), r (3*hid);
 * h (hid) holds H_{t-1} and receives H_t:
 *	 z = f(a_z + r_z), rt = f(a_r + r_r), h~ = g(a_h + rt (r_h + Rb_h)),
 *	 H = (1 - z) h~ + z H.
 */
extern void rnn_cell_gru_lbr(const RnnCell *cell, const float *a, const float *r, float *h);

/*
 * GRU without linear_before_reset, first half: a, r (3*hid; r's h part is
 * not read).  Writes z over r[0, hid) and rh = rt (.) H_{t-1} (hid), which
 * the caller multiplies by R_h^T into r[2*hid, 3*hid) before the second half.
 */
extern void rnn_cell_gru_zr(const RnnCell *cell, const float *a, float *r,
							const float *h, float *rh);

/*
 * Second half: h~ = g(a_h + r_h) (a_h with Wb_h + Rb_h), H = (1 - z) h~ + z H
 * with z from r[0, hid).
 */
extern void rnn_cell_gru_h(const RnnCell *cell, const float *a, const float *r, float *h);

#endif							/* RNN_CELL_H */
