/* qlut.h - 8-bit table lookup rows (qlut.c) */
#ifndef QLUT_H
#define QLUT_H

#include <stdint.h>

/* The table one QLinearTable node reads (built at load by qdq_fuse.c). */
typedef struct OnnxQTable
{
	int64_t		channels;		/* 1: one table; else one per channel (axis 1) */
	uint8_t    *tab;			/* channels * 256 bytes, indexed by the raw input byte */
} OnnxQTable;

/* y[i] = table[x[i]] for i < n; table has 256 entries. */
extern void onnx_lut8_row(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n);

/*
 * X (outer, ch, inner) 8-bit -> Y: Y[o, c, i] = t's table of channel c (or
 * its one table)[X[o, c, i]]; y may be x.  ch is t->channels unless that
 * is 1.
 */
extern void onnx_qtable_apply(const OnnxQTable *t, const uint8_t *x, uint8_t *y, int64_t outer,
							  int64_t ch, int64_t inner);

#endif
