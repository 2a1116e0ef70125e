/*-------------------------------------------------------------------------
 *
 * conv_narrow.h
 *	  float32 convolution with few output positions per image
 *	  (conv_narrow.c): the GEMM turned round so that it runs along the
 *	  output channels instead of the handful of positions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONV_NARROW_H
#define CONV_NARROW_H

#include "window_geom.h"
#include "gemm.h"

/*
 * Output positions per image at most: CONV_NARROW_MAX_P always, up to
 * CONV_NARROW_WIDE_P with at least CONV_NARROW_WIDE_M output channels per
 * group.  The implicit GEMM of conv_bcast.c computes the padded columns
 * of a small map too (28 positions for the 16 of a 4x4 map with a 3x3
 * window), while this path pays a gather of P x K window values that
 * the Mg output channels amortise.  Intel Xeon (AVX-512), one thread,
 * against conv_bcast.c: 4x4 maps, C = M = 256: 0.19 against 0.22 ms;
 * 7x7 maps, C = M = 512: 1.88 against 2.47 ms; 8x8 maps, C = M = 128:
 * 0.21 against 0.15 ms (too few channels).
 */
#define CONV_NARROW_MAX_P 16
#define CONV_NARROW_WIDE_P 64
#define CONV_NARROW_WIDE_M 256
#define CONV_NARROW_MIN_M 16	/* output channels per group at least */

/* Constant weights up to this size get W^T packed at load when the positions are unknown. */
#define CONV_NARROW_PACK_BYTES ((size_t) 1 << 20)

/* Largest W_g (Mg, K) packed per run when no packed copy was made at load. */
#define CONV_NARROW_UNPACKED_MAX ((int64_t) 1 << 18)	/* floats */

/*
 * Whether the narrow path suits P output positions per image and Mg
 * output channels per group (not depthwise: Cg input channels per group
 * with group > 1 and Cg == 1 has its own kernel).
 */
extern bool onnx_conv_narrow_suits(int64_t P, int64_t Mg, int64_t Cg, int64_t group);

/*
 * Conv of any number of spatial dims, float32:
 *	 X (N, C, in...), W (M, C/group, k...), B (M) or NULL
 *	 -> Y (N, M, out...) = act(conv + bias), every element written.
 * Per group, colT (rows, K) holds the windows of rows = images x P output
 * positions (K = C/group * prod(k)) and
 *	 T (rows, Mg) = colT (rows, K) @ W_g^T (K, Mg)
 * on wt[gi] (W_g^T packed as the B operand, onnx_sgemm_pack_b with
 * trans_b) when wt is given, else on W_g itself; T is written into Y
 * transposed, then the bias and act.  Every element of T is the same
 * fused multiply-add chain as in Y_g = W_g @ col (gemm.h: row
 * invariance), so the result has the bits of the im2col path.
 * *handled false (ONNX_OK) when the shape is outside what it takes.
 */
extern OnnxStatus onnx_conv_narrow_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x,
									   const float *w, const OnnxGemmPacked *const *wt,
									   const float *b, const OnnxFusedAct *act, float *y,
									   int64_t N, int64_t C, int64_t M, int64_t group,
									   bool *handled);

/*
 * Output positions per image of Conv node with weights w when its input's
 * static shape xi fixes them, else -1 (dynamic dims, auto_pad or
 * attributes the run would refuse).
 */
extern int64_t onnx_conv_static_positions(const OnnxNode *node, const OnnxValueInfo *xi,
										  const OnnxTensor *w);

#endif							/* CONV_NARROW_H */
