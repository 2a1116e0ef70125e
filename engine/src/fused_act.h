/*-------------------------------------------------------------------------
 *
 * fused_act.h
 *	  Bias and activation epilogues that producing kernels (Conv,
 *	  ConvTranspose, Gemm) apply to their output while it is in cache; the
 *	  activation is the node's OnnxFusedAct (engine_internal.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef FUSED_ACT_H
#define FUSED_ACT_H

#include "engine_internal.h"

/*
 * Y (rows, n), rows ld apart, in place: y[r][i] = act(y[r][i] + bias[r]);
 * bias NULL adds nothing, act NULL or of kind NONE applies nothing.
 * Sigmoid and Tanh are within 2.9 and 1.6 ulp of the exact function
 * (vecmath.h), SiLU one rounding more, GELU as fused_act.c states; the
 * others are exact.
 */
extern void onnx_act_rows_f32(const OnnxFusedAct *act, float *y, int64_t rows, int64_t n,
							  int64_t ld, const float *bias);

/* The activation of one value, in double precision (act NULL: x). */
extern double onnx_act_f64(const OnnxFusedAct *act, double x);

/*
 * Apply act to every element of a numeric tensor: float32 through
 * onnx_act_rows_f32, Relu exactly on every type, the other kinds through
 * double on the other types.
 */
extern void onnx_act_tensor(const OnnxFusedAct *act, OnnxTensor *y);

/* Whether act does something. */
static inline bool
onnx_act_is_set(const OnnxFusedAct *act)
{
	return act != NULL && act->kind != ONNX_ACT_NONE;
}

#endif							/* FUSED_ACT_H */
