/*-------------------------------------------------------------------------
 *
 * qconv_kern.h
 *	  Table of the integer convolutions' vectorized inner loops
 *	  (qconv_kern.c), one per instruction-set level.
 *
 *-------------------------------------------------------------------------
 */
#ifndef QCONV_KERN_H
#define QCONV_KERN_H

#include <stdbool.h>
#include <stdint.h>

#include "window_geom.h"

typedef struct OnnxQconvKern
{
	/* acc (P, mg) rows lda apart -> q (P, mg) requantized bytes */
	void		(*requant_rows) (const int32_t *acc, int64_t P, int64_t mg, int64_t lda,
								 const int32_t *bias, const float *mult, int32_t yz,
								 int32_t lo, int32_t hi, uint8_t *q);
	/* one depthwise channel: acc (out_h, out_w); scratch per onnx_dw_plane_sizes */
	void		(*dw_plane) (const ConvGeom2D *v, const uint8_t *x, bool xs, int32_t xz,
							 const int32_t *wv, int64_t *off, int32_t *xp, int32_t *accx,
							 int32_t *acc);
	/* y[i] = requantized acc[i] + b, i < n */
	void		(*requant_plane) (const int32_t *acc, int64_t n, int32_t b, float mult,
								  int32_t yz, int32_t lo, int32_t hi, uint8_t *y);
	/* dst (cols, rows) = src (rows, cols)^T, dst rows ldd >= rows apart */
	void		(*transpose_u8) (const uint8_t *src, int64_t rows, int64_t cols, uint8_t *dst,
								 int64_t ldd);
} OnnxQconvKern;

extern const OnnxQconvKern onnx_qconv_kern_portable;
extern const OnnxQconvKern onnx_qconv_kern_avx2;
extern const OnnxQconvKern onnx_qconv_kern_avx512;

/*
 * Scratch int32 counts dw_plane needs for v: *xp (the padded plane) and
 * *accx (out_h rows of the padded width); false on overflow.
 */
static inline bool
onnx_dw_plane_sizes(const ConvGeom2D *v, int64_t *xp, int64_t *accx)
{
	int64_t		hp,
				wp,
				t;

	if (__builtin_mul_overflow(v->out_h - 1, v->s_h, &hp) ||
		__builtin_mul_overflow(v->k_h - 1, v->d_h, &t) || __builtin_add_overflow(hp, t + 1, &hp) ||
		__builtin_mul_overflow(v->out_w - 1, v->s_w, &wp) ||
		__builtin_mul_overflow(v->k_w - 1, v->d_w, &t) || __builtin_add_overflow(wp, t + 1, &wp))
		return false;
	return !__builtin_mul_overflow(hp, wp, xp) && !__builtin_mul_overflow(v->out_h, wp, accx);
}

/*
 * The AVX512-VNNI depthwise channels (qconv_dw_vnni.c): whether they run
 * geometry v on this CPU at the current level (*plane_bytes: the byte
 * scratch xp they need), and nch channels of one image: acc (out_h,
 * out_w) of channel c of x (planes in_h * in_w apart; int8 when xs)
 * against w (nch, k_h * k_w; int8) with zero points wzs (nch) plus bias
 * (nch, or NULL), then requantized into y (planes out_h * out_w apart)
 * as requant_plane with mult (nch), or when mult is NULL stored as int32
 * into acc.
 */
extern bool onnx_qdw_vnni_ok(const ConvGeom2D *v, int64_t *plane_bytes);
extern void onnx_qdw_vnni_channels(const ConvGeom2D *v, const uint8_t *x, int64_t nch, bool xs,
								   int32_t xz, const int8_t *w, const int32_t *wzs,
								   const int32_t *bias, const float *mult, int32_t yz, int32_t lo,
								   int32_t hi, uint8_t *xp, uint8_t *y, int32_t *acc);

/*
 * The AVX512-VNNI channels-first QLinearConv of one group
 * (qconv_pw_vnni.c): whether it runs on this CPU at the current level;
 * the weights w (M, K; int8 when w_signed) with zero points wz (M) as it
 * (and qconv_dw_vnni.c) takes them: ws (M, K) int8 in rows ldw >= K apart
 * (Kp = K rounded up to 4 here), zero from K to ldw, their zero points wzs
 * (M) and sums wsum (M, or NULL); corr (M) from those, bias (M, or NULL) and the x
 * zero point xzu (as uint8); and y (Mg, np) = requant(ws (Mg, Kp) @ x
 * (K, np)) (x rows ldx apart, int8 when xs; y rows ldy apart;
 * requantized as requant_plane with mult (Mg)); or, fy not NULL, fy
 * (Mg, np) = float(acc) * mult[m] as float32 rows ldy apart (y, yz, lo,
 * hi unused).  xp: scratch of Kp * 64 bytes.
 */
extern bool onnx_qpw_vnni_ok(void);
extern void onnx_qpw_vnni_prep(const uint8_t *w, bool w_signed, int64_t M, int64_t K,
							   const int32_t *wz, int8_t *ws, int64_t ldw, int32_t *wzs,
							   int32_t *wsum);
extern void onnx_qpw_vnni_corr(int64_t M, int64_t K, const int32_t *wzs, const int32_t *wsum,
							   const int32_t *bias, int32_t xzu, int32_t *corr);
extern void onnx_qpw_vnni_run(const uint8_t *x, int64_t ldx, int64_t K, int64_t np, bool xs,
							  const int8_t *ws, int64_t Mg, const int32_t *wzs,
							  const int32_t *corr, const float *mult, int32_t yz, int32_t lo,
							  int32_t hi, uint8_t *xp, uint8_t *y, float *fy, int64_t ldy);

/* The table of vecmath.h's current level (onnx_vec_isa). */
extern const OnnxQconvKern *onnx_qconv_kern(void);

#endif							/* QCONV_KERN_H */
