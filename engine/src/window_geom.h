/*-------------------------------------------------------------------------
 *
 * window_geom.h
 *	  Window geometry shared by the convolution and pooling operators
 *	  (ops_conv.c, ops_pool.c): kernel, strides, dilations, pads and
 *	  auto_pad resolved into per-dimension sizes and begin pads.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WINDOW_GEOM_H
#define WINDOW_GEOM_H

#include "engine_internal.h"

/*
 * Geometry of a sliding window over nsp spatial dimensions.  in[] is the
 * image (the larger side), out[] the window positions; window position o
 * touches image coordinates o * s - pb + k * d for k in [0, kernel).
 */
typedef struct ConvGeom
{
	int			nsp;			/* number of spatial dimensions */
	int64_t		in[ONNX_MAX_RANK];
	int64_t		k[ONNX_MAX_RANK];
	int64_t		s[ONNX_MAX_RANK];
	int64_t		d[ONNX_MAX_RANK];
	int64_t		pb[ONNX_MAX_RANK];	/* pad before */
	int64_t		pe[ONNX_MAX_RANK];	/* pad after */
	int64_t		out[ONNX_MAX_RANK];
	int64_t		in_size;		/* prod(in) */
	int64_t		k_size;			/* prod(k) */
	int64_t		out_size;		/* prod(out) */
} ConvGeom;

/*
 * A geometry of 1 or 2 spatial dims seen as 2-D: image in_h x in_w,
 * window positions out_h x out_w (a 1-D one is a single row: in_h =
 * out_h = k_h = s_h = d_h = 1, p_h = 0).  p_h, p_w are the begin pads.
 */
typedef struct ConvGeom2D
{
	int64_t		in_h,
				in_w,
				out_h,
				out_w,
				k_h,
				k_w,
				s_h,
				s_w,
				d_h,
				d_w,
				p_h,
				p_w;
} ConvGeom2D;

/* The 2-D view of g (nsp 1 or 2). */
extern void cpq_geom_2d(const ConvGeom *g, ConvGeom2D *v);

/* Largest accepted kernel, stride, dilation or pad value. */
#define CONV_ATTR_MAX ((int64_t) 1 << 31)

/*
 * Read strides, dilations and pads (explicit, or derived from auto_pad)
 * of ctx's node for an image of nsp spatial dims in[] and a kernel k[],
 * and compute the output sizes.  ceil_mode rounds window counts up (the
 * last window must start inside the image or its begin pad).  Fails
 * with a message when an attribute is malformed or no window fits.
 */
extern OnnxStatus cpq_geom_forward(OnnxKernelCtx *ctx, int nsp, const int64_t *in,
								   const int64_t *k, bool ceil_mode, ConvGeom *g);

/* Read an optional ints attribute of exactly n values, each in [lo, CONV_ATTR_MAX]. */
extern OnnxStatus cpq_attr_ints(OnnxKernelCtx *ctx, const char *name, int n,
								int64_t lo, int64_t dflt, int64_t *out);

/* Products of in[], k[], out[] with overflow checks. */
extern OnnxStatus cpq_geom_sizes(OnnxKernelCtx *ctx, ConvGeom *g);

/*
 * Static shape of output 0 of ctx's node (Conv, pooling): (N, channels,
 * window positions...) over input 0's spatial dims with kernel k[nsp],
 * N copied from input 0 (symbolic name included), channels -1 when
 * unknown.  Left unknown where a spatial dim or k is unknown or the
 * geometry is one the run refuses (the run reports why).
 */
extern void cpq_infer_window(OnnxInferCtx *ctx, int nsp, const int64_t *k, bool ceil_mode,
							 int64_t channels);

/* Round half to even (the rounding of QuantizeLinear and friends). */
extern double cpq_round_even(double v);

/*
 * Checks shared by Conv-like operators: X (N,C,sp...) and W (M,C/group,k...)
 * of equal rank >= 3, group dividing C, kernel_shape matching W; the group.
 */
extern OnnxStatus cpq_conv_check_shapes(OnnxKernelCtx *ctx, const OnnxTensor *x, const OnnxTensor *w,
										int64_t *group_out);

#endif							/* WINDOW_GEOM_H */
