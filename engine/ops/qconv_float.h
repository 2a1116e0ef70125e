/*-------------------------------------------------------------------------
 *
 * qconv_float.h
 *	  The float32 output of the engine's ConvIntegerToFloat (qconv.c):
 *	  int32 products scaled per output channel into planes
 *	  (qconv_float.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef QCONV_FLOAT_H
#define QCONV_FLOAT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * acc (np, mg) int32, rows mg apart -> y (mg, np), rows ldy apart:
 *	 y[j * ldy + p] = (float) (acc[p * mg + j] + bias[j]) * scale[j]
 * (bias NULL: 0; the sum must not overflow int32), the conversion and
 * the product rounded to nearest even as the scalar expression: the
 * transposition in AVX-512 registers, 16 x 16 at a time, where the CPU
 * has it and mg > 8.  Returns false, nothing written, otherwise (the
 * caller's scalar loop then).
 */
extern bool onnx_qconv_store_f32(const int32_t *acc, int64_t np, int64_t mg, const int32_t *bias,
								 const float *scale, float *y, int64_t ldy);

#endif							/* QCONV_FLOAT_H */
