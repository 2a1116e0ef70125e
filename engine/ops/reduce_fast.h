/*-------------------------------------------------------------------------
 *
 * reduce_fast.h
 *	  float32 reductions for ops_reduce.c: X viewed as (outer, R, inner)
 *	  reduced along R, and ArgMax/ArgMin along one axis.
 *
 *-------------------------------------------------------------------------
 */
#ifndef REDUCE_FAST_H
#define REDUCE_FAST_H

#include "engine_internal.h"

/* What is accumulated along R. */
typedef enum ReduceAcc
{
	RACC_SUM,					/* x */
	RACC_SUMSQ,					/* x * x */
	RACC_SUMABS,				/* |x| */
	RACC_MAX,					/* a NaN wins */
	RACC_MIN,					/* a NaN wins */
	RACC_PROD,
	RACC_LOGSUMEXP				/* log(sum(exp(x - max))) + max, finished */
} ReduceAcc;

/*
 * y (outer, inner) = the accumulation of x (outer, R, inner) along R,
 * R >= 1; sums and products in double, rounded once to float.
 */
extern OnnxStatus onnx_reduce_f32(OnnxKernelCtx *ctx, ReduceAcc acc, const float *x, float *y,
								  int64_t outer, int64_t R, int64_t inner);

/*
 * ArgMax (is_max) or ArgMin of x (outer, n, inner) along n, n >= 1, into
 * y (outer, inner): the first best index, the last with select_last; a
 * NaN is never better than what came before it.
 */
extern OnnxStatus onnx_arg_f32(OnnxKernelCtx *ctx, bool is_max, bool select_last, const float *x,
							   int64_t *y, int64_t outer, int64_t n, int64_t inner);

/*
 * The same for one slice (o, in) of x (outer, n, inner) of any numeric
 * type, n >= 1, read as double: the index of the best along n.
 */
extern int64_t onnx_arg_index(const OnnxTensor *x, int64_t o, int64_t in, int64_t n, int64_t inner,
							  bool is_max, bool select_last);

#endif							/* REDUCE_FAST_H */
