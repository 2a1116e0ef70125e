/*-------------------------------------------------------------------------
 *
 * dtype_cast.h
 *	  Element conversion helpers for Cast, CastLike and the operators that
 *	  build tensors from scalars: the small float formats (float8 variants,
 *	  float4e2m1, float8e8m0), numpy-compatible float -> integer
 *	  conversion, and number <-> string conversion.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DTYPE_CAST_H
#define DTYPE_CAST_H

#include "engine_internal.h"

/* Rounding of float8e8m0 (Cast round_mode). */
typedef enum ScuRoundMode
{
	SCU_ROUND_UP = 0,
	SCU_ROUND_DOWN,
	SCU_ROUND_NEAREST
} ScuRoundMode;

/* Options of one conversion. */
typedef struct ScuCastOpts
{
	bool		saturate;		/* float8: clamp out-of-range to +-max */
	ScuRoundMode round_mode;	/* float8e8m0 only */
} ScuCastOpts;

/* True for the float8 variants, float4e2m1 and float8e8m0. */
extern bool scu_is_small_float(OnnxDType dt);
/* True for dtypes read as a double (all float formats). */
extern bool scu_is_floating(OnnxDType dt);
/* True for the unsigned integer types, bool included. */
extern bool scu_is_unsigned(OnnxDType dt);
/* True for every dtype Cast can read and write. */
extern bool scu_cast_supported(OnnxDType dt);

/* Bits of a small float (dt) nearest to v; see the .c for NaN/overflow. */
extern uint8_t scu_small_float_encode(OnnxDType dt, double v, const ScuCastOpts *o);
/* Value of small float bits of type dt. */
extern double scu_small_float_decode(OnnxDType dt, uint8_t bits);

/* Element i of a numeric tensor as a double (every numeric dtype). */
extern double scu_get_f64(const OnnxTensor *t, int64_t i);
/* Element i of an integer or bool tensor as raw 64 bits (uint64 kept). */
extern int64_t scu_get_bits64(const OnnxTensor *t, int64_t i);

/* Store a double at element i, converting like numpy astype. */
extern void scu_set_from_f64(OnnxTensor *t, int64_t i, double v, const ScuCastOpts *o);
/* Store an integer at element i (src_unsigned: v holds a uint64). */
extern void scu_set_from_int(OnnxTensor *t, int64_t i, int64_t v, bool src_unsigned,
							 const ScuCastOpts *o);

/* Convert element i of src into element j of dst (numeric dtypes only). */
extern void scu_convert_elem(const OnnxTensor *src, int64_t i, OnnxTensor *dst, int64_t j,
							 const ScuCastOpts *o);

/*
 * Format element i of a numeric tensor the way numpy's astype(str) does
 * ("0.1", "1e-05", "nan", "True").  buf should hold 64 bytes.
 */
extern void scu_format_elem(const OnnxTensor *t, int64_t i, char *buf, size_t len);

/*
 * Parse s into element i of a numeric tensor.  Accepts decimal numbers,
 * "NaN", "INF", "+INF", "-INF" (any case), and "True"/"False" for bool.
 * False if s is not a number.
 */
extern bool scu_parse_elem(const char *s, OnnxTensor *t, int64_t i, const ScuCastOpts *o);

#endif							/* DTYPE_CAST_H */
