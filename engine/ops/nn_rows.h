/*-------------------------------------------------------------------------
 *
 * nn_rows.h
 *	  float32 kernels for ops_nn.c: LRN across channels, Softmax and
 *	  LogSoftmax along any axis, and the power x^-beta they need.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NN_ROWS_H
#define NN_ROWS_H

#include "engine_internal.h"

/*
 * LRN: X (N, C, S) -> Y = X * (bias + alpha / size * square_sum)^-beta,
 * square_sum over channels [c - (size - 1) / 2, c + size / 2] clipped to
 * [0, C).  The window sum slides along the channels (one add and one
 * subtract per element, in double); the power is exact to a few ulp for
 * beta 0.5, 0.75 and 1 and otherwise within onnx_pow_neg_f32's bound.
 */
extern OnnxStatus onnx_lrn_f32(OnnxKernelCtx *ctx, const float *x, float *y, int64_t N, int64_t C,
							   int64_t S, int64_t size, float alpha, float beta, float bias);

/*
 * Softmax (or LogSoftmax when log_out) of X viewed as (outer, n, inner)
 * along n: exp(x - max) / sum, or x - max - log(sum); the sum in 16 float
 * lanes added in double (last axis) or in double (other axes), exp from
 * vecmath.h's exp_f32_fast (a few ulp).
 */
extern OnnxStatus onnx_softmax_f32(OnnxKernelCtx *ctx, const float *x, float *y, int64_t outer, int64_t n,
								   int64_t inner, bool log_out);

/*
 * y[i] = b[i]^-beta for b[i] > 0: exp2(-beta * log2(b)) with polynomial
 * log2 and exp2; relative error under 5e-7 (measured over 4M bases spaced
 * evenly in log2 over [2^-20, 2^20] for beta in [-1, 1], every
 * instruction set); b outside the normal range, or a result outside it,
 * goes through powf.
 */
extern void onnx_pow_neg_f32(const float *b, float *y, int64_t n, float beta);

/*
 * The normalizations' view of X (d...) at axis ax: outer = prod(d[:ax])
 * rows of inner = prod(d[ax:]); sdims = X's shape with the normalized
 * axes 1 (the shape of per-row statistics such as Mean and InvStdDev).
 */
extern void onnx_norm_split(const OnnxTensor *x, int ax, int64_t *outer, int64_t *inner,
							int64_t *sdims);

#endif							/* NN_ROWS_H */
