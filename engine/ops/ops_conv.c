/*-------------------------------------------------------------------------
 *
 * ops_conv.c
 *	  Convolutions: Conv, ConvTranspose, Col2Im (DeformConv is in
 *	  ops_deform_conv.c; the integer ones, ConvInteger and QLinearConv,
 *	  in qconv.c).
 *
 * float32 and float64 go through im2col + GEMM (src/blas.c); the column
 * buffer is bounded (COL_BUDGET bytes) by processing the output positions
 * in chunks.  float16/bfloat16 are computed in float32.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "fused_act.h"
#include "gemm.h"
#include "op_tables.h"
#include "vecmath.h"
#include "conv_bcast.h"
#include "conv_depthwise.h"
#include "conv_direct.h"
#include "conv_narrow.h"
#include "conv_transpose.h"
#include "eltwise.h"
#include "window_geom.h"

#ifndef COL_BUDGET
#define COL_BUDGET ((int64_t) 2 << 20)
#endif	/* bytes of im2col buffer */
#define CONV_TILE_BYTES ((int64_t) 512 << 10)	/* bytes of a pointwise output tile */
#define BLAS_DIM_MAX ((int64_t) INT32_MAX)
#define GATHER_MAP_MAX ((int64_t) 1024)	/* entries of a gather map */

/* Whether the window is the identity map (1x1 kernel, stride 1, no pads). */
static bool
geom_is_pointwise(const ConvGeom *g)
{
	for (int i = 0; i < g->nsp; i++)
		if (g->k[i] != 1 || g->s[i] != 1 || g->pb[i] != 0 || g->pe[i] != 0 ||
			g->out[i] != g->in[i])
			return false;
	return true;
}

static inline int64_t
ceil_div_pos(int64_t a, int64_t b)
{
	return (a + b - 1) / b;
}

/*
 * im2col over output positions [p0, p0 + nc) of a window geometry.
 * img (channels, in...) <-> col (channels * k_size, nc), rows ld apart
 * (ld >= nc; several images may sit side by side).  Gather fills
 * col (zeros where the window is in the padding); scatter adds col into
 * img (col2im, the adjoint).  Works on lines of the last spatial dim.
 */
#define DEFINE_IM2COL(T, SFX) \
static void \
im2col_##SFX(const ConvGeom *g, T *img, int64_t channels, int64_t p0, int64_t nc, \
			 T *col, int64_t ld, bool scatter) \
{ \
	int			nsp = g->nsp, \
				last = nsp - 1; \
	int64_t		Wl = g->in[last], \
				sl = g->s[last], \
				outl = g->out[last]; \
	int64_t		row = 0; \
	int64_t		o0[ONNX_MAX_RANK]; \
	int64_t		rem = p0; \
\
	for (int i = last; i >= 0; i--) \
	{ \
		o0[i] = g->out[i] ? rem % g->out[i] : 0; \
		rem = g->out[i] ? rem / g->out[i] : 0; \
	} \
	for (int64_t c = 0; c < channels; c++) \
	{ \
		T		   *imc = img + c * g->in_size; \
		int64_t		kidx[ONNX_MAX_RANK] = {0}; \
\
		for (int64_t kk = 0; kk < g->k_size; kk++, row++) \
		{ \
			T		   *dst = col + row * ld; \
			int64_t		o[ONNX_MAX_RANK]; \
			int64_t		koff = kidx[last] * g->d[last] - g->pb[last]; \
			int64_t		ow_min, \
						ow_max, \
						remaining = nc; \
\
			ow_min = koff >= 0 ? 0 : ceil_div_pos(-koff, sl); \
			ow_max = Wl - koff <= 0 ? 0 : ceil_div_pos(Wl - koff, sl); \
			if (ow_max > outl) \
				ow_max = outl; \
			memcpy(o, o0, sizeof(int64_t) * nsp); \
			while (remaining > 0) \
			{ \
				int64_t		start = o[last]; \
				int64_t		len = outl - start < remaining ? outl - start : remaining; \
				int64_t		off = 0; \
				bool		valid = true; \
\
				for (int i = 0; i < last; i++) \
				{ \
					int64_t		ii = o[i] * g->s[i] + kidx[i] * g->d[i] - g->pb[i]; \
\
					if (ii < 0 || ii >= g->in[i]) \
					{ \
						valid = false; \
						break; \
					} \
					off = off * g->in[i] + ii; \
				} \
				if (valid) \
				{ \
					T		   *base = imc + off * Wl; \
					int64_t		lo = ow_min - start, \
								hi = ow_max - start; \
\
					if (lo < 0) \
						lo = 0; \
					if (lo > len) \
						lo = len; \
					if (hi > len) \
						hi = len; \
					if (hi < lo) \
						hi = lo; \
					if (!scatter) \
					{ \
						for (int64_t j = 0; j < lo; j++) \
							dst[j] = 0; \
						if (sl == 1) \
							memcpy(dst + lo, base + start + lo + koff, sizeof(T) * (hi - lo)); \
						else \
							for (int64_t j = lo; j < hi; j++) \
								dst[j] = base[(start + j) * sl + koff]; \
						for (int64_t j = hi; j < len; j++) \
							dst[j] = 0; \
					} \
					else \
						for (int64_t j = lo; j < hi; j++) \
							base[(start + j) * sl + koff] += dst[j]; \
				} \
				else if (!scatter) \
					for (int64_t j = 0; j < len; j++) \
						dst[j] = 0; \
				dst += len; \
				remaining -= len; \
				o[last] += len; \
				if (o[last] >= outl) \
				{ \
					o[last] = 0; \
					onnx_index_next(o, g->out, last); \
				} \
			} \
			onnx_index_next(kidx, g->k, last + 1); \
		} \
	} \
}

DEFINE_IM2COL(float, f32)
DEFINE_IM2COL(double, f64)

/*
 * One im2col row of a stride-1 2-D window whose output width equals the
 * input width W, for output rows [oh0, oh1):
 * dst (oh1-oh0, W)[oh-oh0][j] = plane (H, W)[oh + hoff][j + koff], zero
 * outside the plane.  The valid output rows read one contiguous block of
 * the plane, so it is copied at once and the columns outside [lo, hi)
 * (wrapped in from neighbouring rows) are zeroed after.
 */
#define DEFINE_SHIFTED_PLANE(T, SFX) \
static void \
shifted_plane_##SFX(const T *plane, int64_t H, int64_t W, int64_t oh0, int64_t oh1, \
					int64_t hoff, int64_t koff, int64_t lo, int64_t hi, T *dst) \
{ \
	int64_t		r0 = -hoff > oh0 ? -hoff : oh0, \
				r1 = H - hoff < oh1 ? H - hoff : oh1, \
				OH = oh1 - oh0; \
\
	if (r1 <= r0 || hi <= lo) \
	{ \
		memset(dst, 0, sizeof(T) * OH * W); \
		return; \
	} \
	r0 -= oh0; \
	r1 -= oh0; \
	memset(dst, 0, sizeof(T) * (r0 * W + lo)); \
	memcpy(dst + r0 * W + lo, plane + (r0 + oh0 + hoff) * W + lo + koff, \
		   sizeof(T) * ((r1 - 1 - r0) * W + hi - lo)); \
	for (int64_t r = r0; r < r1; r++) \
	{ \
		for (int64_t j = 0; j < lo; j++) \
			dst[r * W + j] = 0; \
		for (int64_t j = hi; j < W; j++) \
			dst[r * W + j] = 0; \
	} \
	memset(dst + (r1 - 1) * W + hi, 0, sizeof(T) * ((OH - r1) * W + W - hi)); \
}

DEFINE_SHIFTED_PLANE(float, f32)
DEFINE_SHIFTED_PLANE(double, f64)

/*
 * 2-D gather of output rows [oh0, oh1) of whole images: img (channels,
 * H, W) -> col (channels*KH*KW, (oh1-oh0)*OW), rows ld apart; the same
 * result as im2col over those positions, with the bounds of each kernel
 * tap worked out once per tap and row.
 */
#define DEFINE_IM2COL_2D(T, SFX) \
static void \
im2col_2d_##SFX(const ConvGeom *g, const T *img, int64_t channels, int64_t oh0, int64_t oh1, \
				T *col, int64_t ld) \
{ \
	int64_t		H = g->in[0], \
				Wd = g->in[1], \
				OW = g->out[1], \
				sh = g->s[0], \
				sw = g->s[1]; \
	T		   *dst = col; \
\
	for (int64_t c = 0; c < channels; c++) \
		for (int64_t kh = 0; kh < g->k[0]; kh++) \
			for (int64_t kw = 0; kw < g->k[1]; kw++, dst += ld) \
			{ \
				int64_t		koff = kw * g->d[1] - g->pb[1]; \
				int64_t		lo = koff >= 0 ? 0 : ceil_div_pos(-koff, sw), \
							hi = Wd - koff <= 0 ? 0 : ceil_div_pos(Wd - koff, sw); \
\
				if (hi > OW) \
					hi = OW; \
				if (lo > hi) \
					lo = hi; \
				if (sh == 1 && sw == 1 && OW == Wd) \
				{ \
					shifted_plane_##SFX(img + c * H * Wd, H, Wd, oh0, oh1, \
										kh * g->d[0] - g->pb[0], koff, lo, hi, dst); \
					continue; \
				} \
				for (int64_t oh = oh0; oh < oh1; oh++) \
				{ \
					int64_t		ih = oh * sh + kh * g->d[0] - g->pb[0]; \
					T		   *d = dst + (oh - oh0) * OW; \
					const T    *src = img + (c * H + ih) * Wd + koff; \
\
					if (ih < 0 || ih >= H) \
					{ \
						for (int64_t j = 0; j < OW; j++) \
							d[j] = 0; \
						continue; \
					} \
					for (int64_t j = 0; j < lo; j++) \
						d[j] = 0; \
					if (sw == 1) \
						for (int64_t j = lo; j < hi; j++) \
							d[j] = src[j]; \
					else \
						for (int64_t j = lo; j < hi; j++) \
							d[j] = src[j * sw]; \
					for (int64_t j = hi; j < OW; j++) \
						d[j] = 0; \
				} \
			} \
}

DEFINE_IM2COL_2D(float, f32)
DEFINE_IM2COL_2D(double, f64)

/*
 * Gather map of a 2-D window geometry for small output images: entry
 * kk * P + p is the offset in the (H, W) plane read by kernel tap kk at
 * output position p, or -1 where that falls in the padding.  The caller
 * checks k_size * P <= GATHER_MAP_MAX and H * W <= INT32_MAX.
 */
static void
gather_map_build(const ConvGeom *g, int32_t *map)
{
	for (int64_t kh = 0; kh < g->k[0]; kh++)
		for (int64_t kw = 0; kw < g->k[1]; kw++)
			for (int64_t oh = 0; oh < g->out[0]; oh++)
				for (int64_t ow = 0; ow < g->out[1]; ow++)
				{
					int64_t		ih = oh * g->s[0] + kh * g->d[0] - g->pb[0],
								iw = ow * g->s[1] + kw * g->d[1] - g->pb[1];

					*map++ = (ih < 0 || ih >= g->in[0] || iw < 0 || iw >= g->in[1])
						? -1 : (int32_t) (ih * g->in[1] + iw);
				}
}

/*
 * im2col gather of positions [p0, p0 + nc) into col (rows ld apart):
 * through map (whole images, see gather_map_build) when given, else the
 * 2-D path for whole output rows, else the general one.
 */
#define DEFINE_GATHER(T, SFX) \
static inline void \
gather_##SFX(const ConvGeom *g, const T *img, int64_t channels, int64_t p0, int64_t nc, \
			 T *col, int64_t ld, const int32_t *map) \
{ \
	if (map) \
	{ \
		int64_t		taps = g->k_size, \
					P = g->out_size; \
\
		for (int64_t c = 0; c < channels; c++) \
		{ \
			const T    *plane = img + c * g->in_size; \
\
			for (int64_t kk = 0; kk < taps; kk++) \
			{ \
				T		   *d = col + (c * taps + kk) * ld; \
				const int32_t *mk = map + kk * P; \
\
				for (int64_t p = 0; p < P; p++) \
					d[p] = mk[p] >= 0 ? plane[mk[p]] : 0; \
			} \
		} \
	} \
	else if (g->nsp == 2 && g->out[1] > 0 && p0 % g->out[1] == 0 && nc % g->out[1] == 0) \
		im2col_2d_##SFX(g, img, channels, p0 / g->out[1], (p0 + nc) / g->out[1], col, ld); \
	else \
		im2col_##SFX(g, (T *) img, channels, p0, nc, col, ld, false); \
}

DEFINE_GATHER(float, f32)
DEFINE_GATHER(double, f64)

/* Output positions per im2col chunk for rows rows of T-sized elements. */
static int64_t
col_chunk(int64_t rows, int64_t positions, size_t elem)
{
	int64_t		chunk = rows > 0 ? COL_BUDGET / (int64_t) elem / rows : positions;

	if (chunk < 64)
		chunk = 64;
	if (chunk > positions)
		chunk = positions;
	return chunk < 1 ? 1 : chunk;
}

/* y[i] += a * x[i] for i < n, unrolled so the compiler emits vector code. */
#define DEFINE_AXPY(T, SFX) \
static inline void \
axpy_##SFX(T *restrict y, const T *restrict x, T a, int64_t n) \
{ \
	int64_t		i = 0; \
\
	for (; i + 8 <= n; i += 8) \
	{ \
		y[i] += a * x[i]; \
		y[i + 1] += a * x[i + 1]; \
		y[i + 2] += a * x[i + 2]; \
		y[i + 3] += a * x[i + 3]; \
		y[i + 4] += a * x[i + 4]; \
		y[i + 5] += a * x[i + 5]; \
		y[i + 6] += a * x[i + 6]; \
		y[i + 7] += a * x[i + 7]; \
	} \
	for (; i < n; i++) \
		y[i] += a * x[i]; \
}

DEFINE_AXPY(float, f32)
DEFINE_AXPY(double, f64)

/*
 * Depthwise core (one input channel per group, 1-D or 2-D): output
 * channel m reads input channel m / (M/group).  Y holds the bias (or
 * zeros) on entry; every kernel tap adds a shifted, scaled input row.
 */
#define DEFINE_DEPTHWISE(T, SFX) \
static OnnxStatus \
depthwise_##SFX(OnnxKernelCtx *ctx, const ConvGeom *g, const T *x, const T *w, T *y, \
				int64_t N, int64_t C, int64_t M) \
{ \
	bool		two = g->nsp == 2; \
	int64_t		H = two ? g->in[0] : 1, \
				Wd = g->in[two], \
				OH = two ? g->out[0] : 1, \
				OW = g->out[two], \
				KH = two ? g->k[0] : 1, \
				KW = g->k[two], \
				sh = two ? g->s[0] : 1, \
				sw = g->s[two], \
				dh = two ? g->d[0] : 1, \
				dw = g->d[two], \
				ph = two ? g->pb[0] : 0, \
				pw = g->pb[two], \
				Mg = M / C; \
\
	for (int64_t n = 0; n < N; n++) \
		for (int64_t m = 0; m < M; m++) \
		{ \
			const T    *xc = x + (n * C + m / Mg) * H * Wd; \
			T		   *yc = y + (n * M + m) * OH * OW; \
\
			if (onnx_kernel_should_abort(ctx)) \
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled"); \
			for (int64_t kh = 0; kh < KH; kh++) \
				for (int64_t kw = 0; kw < KW; kw++) \
				{ \
					T			wv = w[(m * KH + kh) * KW + kw]; \
					int64_t		koff = kw * dw - pw; \
					int64_t		lo = koff >= 0 ? 0 : ceil_div_pos(-koff, sw); \
					int64_t		hi = Wd - koff <= 0 ? 0 : ceil_div_pos(Wd - koff, sw); \
\
					if (hi > OW) \
						hi = OW; \
					for (int64_t oh = 0; oh < OH; oh++) \
					{ \
						int64_t		ih = oh * sh + kh * dh - ph; \
						const T    *xr; \
						T		   *yr = yc + oh * OW; \
\
						if (ih < 0 || ih >= H) \
							continue; \
						xr = xc + ih * Wd + koff; \
						if (sw == 1) \
						{ \
							if (hi > lo) \
								axpy_##SFX(yr + lo, xr + lo, wv, hi - lo); \
						} \
						else \
							for (int64_t ow = lo; ow < hi; ow++) \
								yr[ow] += wv * xr[ow * sw]; \
					} \
				} \
		} \
	return ONNX_OK; \
}

DEFINE_DEPTHWISE(float, f32)
DEFINE_DEPTHWISE(double, f64)

/*
 * Kernel state of a Conv with constant float32 weights, built at load (pack
 * hook, conv_pack): the weights packed for conv_direct.c, or for the GEMM
 * path one packed A operand per group (W_g (M/g, K) in Y_g = W_g @ col).
 */
typedef struct ConvPrepared
{
	const void *w_data;			/* the weights it was made from */
	const float *direct_w;		/* packed for onnx_conv_direct_f32 */
	const float *bcast_w;		/* packed for onnx_conv_bcast_f32 */
	const OnnxGemmPacked **gemm_w;	/* per group, packed for onnx_sgemm_packed */
	int64_t		gemm_mg,
				gemm_k;			/* their shape: M/group x C/group * taps */
	const OnnxGemmPacked **narrow_w;	/* per group W_g^T packed as B (conv_narrow.c) */
} ConvPrepared;

/*
 * The GEMM of the convolution cores, Y_g (Mg, n) = W_g (Mg, K) @ B (K, n):
 * on the group's weights packed at load when there are some (float32),
 * else on W_g itself.  w is the whole weight tensor, wg the group's rows.
 */
static void
conv_gemm_f32(OnnxKernelCtx *ctx, const float *w, const float *wg, int64_t Mg, int64_t n,
			  int64_t K, const float *b, int64_t ldb, float *c, int64_t ldc)
{
	const ConvPrepared *cp = ctx->node->prepared;

	if (cp && cp->gemm_w && cp->w_data == (const void *) w && cp->gemm_mg == Mg &&
		cp->gemm_k == K)
		onnx_sgemm_packed(Mg, n, K, 1.0f, false, NULL, 0, cp->gemm_w[(wg - w) / (Mg * K)],
						  false, b, ldb, NULL, 0.0f, c, ldc, onnx_kernel_threads(ctx));
	else
		onnx_blas_sgemm(false, false, Mg, n, K, 1.0f, wg, K, b, ldb, 0.0f, c, ldc);
}

static void
conv_gemm_f64(OnnxKernelCtx *ctx, const double *w, const double *wg, int64_t Mg, int64_t n,
			  int64_t K, const double *b, int64_t ldb, double *c, int64_t ldc)
{
	(void) ctx;
	(void) w;
	onnx_blas_dgemm(false, false, Mg, n, K, 1.0, wg, K, b, ldb, 0.0, c, ldc);
}

/*
 * Images per GEMM for the batched path: as many whole images of P output
 * positions as fit both the column buffer (K rows) and the GEMM result
 * (Mg rows) in COL_BUDGET bytes each, at most N.  Below 2 the per-image
 * path is used.
 */
static int64_t
conv_batch_images(int64_t N, int64_t K, int64_t Mg, int64_t P, size_t elem)
{
	int64_t		nb = COL_BUDGET / (int64_t) elem / K / P,
				nt = COL_BUDGET / (int64_t) elem / Mg / P;

	if (nt < nb)
		nb = nt;
	return nb < N ? nb : N;
}

/* Y rows (rows, n), ld apart, in place: act(y + bias[r]) in double (float64 convolutions). */
static void
act_rows_f64(const OnnxFusedAct *act, double *y, int64_t rows, int64_t n, int64_t ld,
			 const double *bias)
{
	if (!onnx_act_is_set(act) && bias == NULL)
		return;
	for (int64_t r = 0; r < rows; r++)
		for (int64_t i = 0; i < n; i++)
			y[r * ld + i] = onnx_act_f64(act, y[r * ld + i] + (bias ? bias[r] : 0));
}

/*
 * Batched conv for small output images (K, Mg, P > 0): per run of nb
 * images and group, col (K, cnt*P) holds the images' im2col blocks side by
 * side, one GEMM gives t (Mg, cnt*P) = W_g (Mg, K) @ col, and t is
 * copied to Y (N, M, P) with the bias and the activation.  One GEMM with
 * many columns instead of one per image amortises the packing of W.
 * col holds K*nb*P elements, t Mg*nb*P; map is NULL or the geometry's
 * gather map.
 */
#define DEFINE_CONV_BATCHED(T, SFX, GEMM) \
static OnnxStatus \
conv_batched_##SFX(OnnxKernelCtx *ctx, const ConvGeom *g, const T *x, const T *w, \
				   const T *b, const OnnxFusedAct *act, T *y, int64_t N, int64_t C, int64_t M, \
				   int64_t group, int64_t K, int64_t nb, T *col, T *t, const int32_t *map) \
{ \
	int64_t		Cg = C / group, \
				Mg = M / group, \
				P = g->out_size; \
\
	for (int64_t n0 = 0; n0 < N; n0 += nb) \
	{ \
		int64_t		cnt = N - n0 < nb ? N - n0 : nb, \
					ld = cnt * P; \
\
		if (onnx_kernel_should_abort(ctx)) \
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled"); \
		for (int64_t gi = 0; gi < group; gi++) \
		{ \
			for (int64_t j = 0; j < cnt; j++) \
				gather_##SFX(g, x + ((n0 + j) * C + gi * Cg) * g->in_size, Cg, 0, P, \
							 col + j * P, ld, map); \
			CONV_GEMM_##SFX(ctx, w, w + gi * Mg * K, Mg, ld, K, col, ld, t, ld); \
			for (int64_t j = 0; j < cnt; j++) \
			{ \
				T		   *yg = y + ((n0 + j) * M + gi * Mg) * P; \
\
				for (int64_t m = 0; m < Mg; m++) \
					memcpy(yg + m * P, t + m * ld + j * P, sizeof(T) * (size_t) P); \
				act_rows_##SFX(act, yg, Mg, P, P, b ? b + gi * Mg : NULL); \
			} \
		} \
	} \
	return ONNX_OK; \
}

/* the float32 epilogue under the name the macros use */
#define act_rows_f32 onnx_act_rows_f32

#define CONV_GEMM_f32 conv_gemm_f32
#define CONV_GEMM_f64 conv_gemm_f64
DEFINE_CONV_BATCHED(float, f32, unused)
DEFINE_CONV_BATCHED(double, f64, unused)

/*
 * Output positions per tile of the GEMM path: whole output rows of a 2-D
 * geometry (so the row gather applies), at least one row unless one
 * row's columns exceed 4 * COL_BUDGET bytes; for the
 * pointwise path (no column buffer, rows = 0) a tile of Y that stays in
 * cache for the epilogue.
 */
static int64_t
conv_tile(const ConvGeom *g, int64_t rows, int64_t Mg, size_t elem)
{
	int64_t		P = g->out_size,
				nc;

	if (rows == 0)
	{
		nc = CONV_TILE_BYTES / (int64_t) elem / (Mg > 0 ? Mg : 1);
		nc = nc < 256 ? 256 : nc / 16 * 16;
		return nc < P ? nc : P;
	}
	nc = col_chunk(rows, P, elem);
	if (g->nsp == 2 && g->out[1] > 0 && nc < P &&
		g->out[1] <= 4 * COL_BUDGET / (int64_t) elem / rows)
	{
		int64_t		OW = g->out[1];

		nc = nc < OW ? OW : nc / OW * OW;
	}
	return nc;
}

/*
 * Conv core: X (N,C,in...), W (M,C/group,k...), B (M) or NULL
 *	 -> Y (N,M,out...) = act(conv + B), every element written.
 * Per image, group and tile of output positions [p0, p0 + nc):
 *	 Y_g[:, p0..] (M/g, nc) = W_g (M/g, K) @ col (K, nc)
 * with K = C/g * prod(k), col the tile's im2col block (X_g itself for a
 * pointwise window), then the bias and the activation over the tile while
 * it is in cache.  Small output images of a batch go through
 * conv_batched (several images per GEMM); depthwise kernels that
 * conv_depthwise.c does not take through depthwise.
 */
#define DEFINE_CONV_CORE(T, SFX, GEMM) \
static OnnxStatus \
conv_core_##SFX(OnnxKernelCtx *ctx, const ConvGeom *g, const T *x, const T *w, \
				const T *b, const OnnxFusedAct *act, T *y, int64_t N, int64_t C, int64_t M, \
				int64_t group) \
{ \
	int64_t		Cg = C / group, \
				Mg = M / group, \
				K, \
				P = g->out_size, \
				chunk, \
				nb; \
	bool		direct = geom_is_pointwise(g); \
	T		   *col = NULL; \
\
	if (onnx_mul_overflow_i64(Cg, g->k_size, &K)) \
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "Conv kernel size overflows"); \
	if (K > BLAS_DIM_MAX || P > BLAS_DIM_MAX || Mg > BLAS_DIM_MAX) \
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, \
								"Conv matrix dimensions exceed 2^31 (K %lld, P %lld)", \
								(long long) K, (long long) P); \
	if (K > 0 && P > 0 && Mg > 0 && !(Cg == 1 && g->nsp <= 2 && group > 1) && \
		(nb = conv_batch_images(N, K, Mg, P, sizeof(T))) >= 2) \
	{ \
		T		   *t; \
		int32_t    *map = NULL; \
\
		/* both buffers are at most COL_BUDGET bytes by conv_batch_images */ \
		if ((col = onnx_kernel_scratch(ctx, (size_t) (K * nb * P), sizeof(T))) == NULL || \
			(t = onnx_kernel_scratch(ctx, (size_t) (Mg * nb * P), sizeof(T))) == NULL) \
			return ctx->err->status; \
		if (g->nsp == 2 && g->k_size * P <= GATHER_MAP_MAX && g->in_size <= INT32_MAX) \
		{ \
			if ((map = onnx_kernel_scratch(ctx, (size_t) (g->k_size * P), sizeof(int32_t))) == NULL) \
				return ctx->err->status; \
			gather_map_build(g, map); \
		} \
		return conv_batched_##SFX(ctx, g, x, w, b, act, y, N, C, M, group, K, nb, col, t, map); \
	} \
	if (K == 0 || P == 0 || Mg == 0) \
		return ONNX_OK; \
	if (Cg == 1 && g->nsp <= 2 && group > 1) \
	{ \
		OnnxStatus	st; \
\
		/* depthwise accumulates into Y: zeros first, bias and act after */ \
		memset(y, 0, sizeof(T) * (size_t) (N * M * P)); \
		st = depthwise_##SFX(ctx, g, x, w, y, N, C, M); \
		for (int64_t n = 0; st == ONNX_OK && n < N; n++) \
			act_rows_##SFX(act, y + n * M * P, M, P, P, b); \
		return st; \
	} \
	chunk = conv_tile(g, direct ? 0 : K, Mg, sizeof(T)); \
	if (!direct) \
	{ \
		if ((col = onnx_kernel_scratch(ctx, (size_t) K * (size_t) chunk, sizeof(T))) == NULL) \
			return ctx->err->status; \
	} \
	for (int64_t n = 0; n < N; n++) \
		for (int64_t gi = 0; gi < group; gi++) \
		{ \
			const T    *xg = x + (n * C + gi * Cg) * g->in_size; \
			const T    *wg = w + gi * Mg * K; \
			T		   *yg = y + (n * M + gi * Mg) * P; \
\
			for (int64_t p0 = 0; p0 < P; p0 += chunk) \
			{ \
				int64_t		nc = P - p0 < chunk ? P - p0 : chunk; \
\
				if (onnx_kernel_should_abort(ctx)) \
					return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled"); \
				if (direct) \
					CONV_GEMM_##SFX(ctx, w, wg, Mg, nc, K, xg + p0, P, yg + p0, P); \
				else \
				{ \
					gather_##SFX(g, xg, Cg, p0, nc, col, nc, NULL); \
					CONV_GEMM_##SFX(ctx, w, wg, Mg, nc, K, col, nc, yg + p0, P); \
				} \
				act_rows_##SFX(act, yg + p0, Mg, nc, P, b ? b + gi * Mg : NULL); \
			} \
		} \
	return ONNX_OK; \
}

DEFINE_CONV_CORE(float, f32, unused)
DEFINE_CONV_CORE(double, f64, unused)

/*
 * ConvTranspose core: X (N,C,xin...), W (C,M/group,k...), B (M) or NULL
 *	 -> Y (N,M,yout...), zeroed here first.  g has in = yout, out = xin.
 * Per image and group: col (M/g*prod(k), P) = W_g^T @ X_g (C/g, P), then
 * col2im scatter-adds col into Y_g.
 */
#define DEFINE_CONVT_CORE(T, SFX, GEMM) \
static OnnxStatus \
convt_core_##SFX(OnnxKernelCtx *ctx, const ConvGeom *g, const T *x, const T *w, \
				 const T *b, T *y, int64_t N, int64_t C, int64_t M, int64_t group) \
{ \
	int64_t		Cg = C / group, \
				Mg = M / group, \
				Kr, \
				P = g->out_size, \
				chunk; \
	T		   *col = NULL; \
\
	if (onnx_mul_overflow_i64(Mg, g->k_size, &Kr)) \
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "ConvTranspose kernel size overflows"); \
	if (Kr > BLAS_DIM_MAX || P > BLAS_DIM_MAX || Cg > BLAS_DIM_MAX) \
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, \
								"ConvTranspose matrix dimensions exceed 2^31"); \
	memset(y, 0, sizeof(T) * (size_t) (N * M * g->in_size)); \
	chunk = col_chunk(Kr, P, sizeof(T)); \
	if (Kr > 0 && P > 0) \
	{ \
		if ((col = onnx_kernel_scratch(ctx, (size_t) Kr * (size_t) chunk, sizeof(T))) == NULL) \
			return ctx->err->status; \
		for (int64_t n = 0; n < N; n++) \
			for (int64_t gi = 0; gi < group; gi++) \
			{ \
				const T    *xg = x + (n * C + gi * Cg) * P; \
				const T    *wg = w + gi * Cg * Kr; \
				T		   *yg = y + (n * M + gi * Mg) * g->in_size; \
\
				if (onnx_kernel_should_abort(ctx)) \
					return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled"); \
				for (int64_t p0 = 0; p0 < P; p0 += chunk) \
				{ \
					int64_t		nc = P - p0 < chunk ? P - p0 : chunk; \
\
					if (p0 > 0 && onnx_kernel_should_abort(ctx)) \
						return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled"); \
					if (Cg > 0) \
						GEMM(true, false, Kr, nc, Cg, 1, wg, Kr, xg + p0, P, 0, col, nc); \
					else \
						memset(col, 0, sizeof(T) * (size_t) (Kr * nc)); \
					im2col_##SFX(g, yg, Mg, p0, nc, col, nc, true); \
				} \
			} \
	} \
	if (b) \
		for (int64_t n = 0; n < N; n++) \
			for (int64_t m = 0; m < M; m++) \
			{ \
				T		   *ym = y + (n * M + m) * g->in_size; \
\
				for (int64_t p = 0; p < g->in_size; p++) \
					ym[p] += b[m]; \
			} \
	return ONNX_OK; \
}

DEFINE_CONVT_CORE(float, f32, onnx_blas_sgemm)
DEFINE_CONVT_CORE(double, f64, onnx_blas_dgemm)

/* ---- dtype staging ---- */

/* A float32 copy of a float16/bfloat16 tensor (scratch), NULL on failure. */
static float *
stage_f32(OnnxKernelCtx *ctx, const OnnxTensor *t)
{
	float	   *p;

	if (t == NULL)
		return NULL;
	if ((p = onnx_kernel_scratch(ctx, (size_t) t->count, sizeof(float))) == NULL)
		return NULL;
	onnx_tensor_read_f32(t, 0, t->count, p);
	return p;
}

/* Dispatch of the float convolutions by dtype (float16/bfloat16 staged). */
typedef enum ConvKind
{
	CONV_FORWARD,
	CONV_TRANSPOSE
} ConvKind;


/* Whether a Conv's attributes make a 1x1 window the identity (stride 1, no pads). */
static bool
attrs_pointwise(const OnnxNode *node, const OnnxTensor *w)
{
	const int64_t *v;
	int			n;

	for (int i = 2; i < w->rank; i++)
		if (w->dims[i] != 1)
			return false;
	n = onnx_attr_ints(node, "strides", &v);
	for (int i = 0; i < n; i++)
		if (v[i] != 1)
			return false;
	n = onnx_attr_ints(node, "pads", &v);
	for (int i = 0; i < n; i++)
		if (v[i] != 0)
			return false;
	return true;
}

/* Per group W_g^T (K, Mg) packed as the B operand of conv_narrow.c, into cp->narrow_w. */
static OnnxStatus
conv_pack_narrow(ConvPrepared *cp, const OnnxTensor *w, int64_t group, int64_t K,
				 OnnxArena *arena, OnnxError *err)
{
	int64_t		Mg = w->dims[0] / group;
	size_t		bytes;
	const OnnxGemmPacked **p;

	if (!onnx_sgemm_pack_size(ONNX_GEMM_PACK_B, K, Mg, &bytes))
		return ONNX_OK;
	if ((p = onnx_arena_alloc(arena, sizeof(OnnxGemmPacked *) * (size_t) group)) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing Conv weights");
	for (int64_t gi = 0; gi < group; gi++)
	{
		void	   *buf = onnx_arena_alloc(arena, bytes);

		if (buf == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing Conv weights");
		p[gi] = onnx_sgemm_pack_b(buf, bytes, true, K, Mg, (const float *) w->data + gi * Mg * K, K);
	}
	cp->narrow_w = p;
	return ONNX_OK;
}

/* Whether conv_bcast.c takes a Conv of weights w by its attributes (strides). */
static bool
attrs_bcast(const OnnxNode *node, const OnnxTensor *w, int64_t group, int64_t taps)
{
	const int64_t *sv;
	int64_t		s[ONNX_MAX_RANK];
	int			nsp = w->rank - 2,
				n = onnx_attr_ints(node, "strides", &sv);

	for (int i = 0; i < nsp; i++)
		s[i] = i < n ? sv[i] : 1;
	return onnx_conv_bcast_suits(nsp, w->dims[0] / group, w->dims[1], group, taps, s,
								 attrs_pointwise(node, w));
}

/*
 * Constant float32 weights of a Conv on the GEMM path (not depthwise, more
 * output channels than the direct kernel takes): each group's W_g (Mg, K)
 * packed once as the A operand of onnx_sgemm_packed (wide), and/or W_g^T
 * for conv_narrow.c (narrow).  Weights whose packing would overflow stay
 * unpacked.
 */
static OnnxStatus
conv_pack_gemm(OnnxNode *node, const OnnxTensor *w, int64_t group, int64_t taps, bool narrow,
			   bool wide, OnnxArena *arena, OnnxError *err)
{
	int64_t		Mg = w->dims[0] / group,
				K;
	ConvPrepared *cp;
	size_t		bytes;

	if (w->dims[1] == 1 && group > 1 && w->rank <= 4)
		return ONNX_OK;			/* depthwise: conv_depthwise.c */
	if (onnx_mul_overflow_i64(w->dims[1], taps, &K) ||
		!onnx_sgemm_pack_size(ONNX_GEMM_PACK_A, Mg, K, &bytes))
		return ONNX_OK;
	if ((cp = onnx_arena_alloc(arena, sizeof(ConvPrepared))) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing Conv weights");
	memset(cp, 0, sizeof(*cp));
	if (wide &&
		(cp->gemm_w = onnx_arena_alloc(arena, sizeof(OnnxGemmPacked *) * (size_t) group)) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing Conv weights");
	for (int64_t gi = 0; wide && gi < group; gi++)
	{
		void	   *buf = onnx_arena_alloc(arena, bytes);

		if (buf == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing Conv weights");
		cp->gemm_w[gi] = onnx_sgemm_pack_a(buf, bytes, false, Mg, K,
										   (const float *) w->data + gi * Mg * K, K);
	}
	if (narrow && conv_pack_narrow(cp, w, group, K, arena, err) != ONNX_OK)
		return err->status;
	cp->w_data = w->data;
	cp->gemm_mg = Mg;
	cp->gemm_k = K;
	node->prepared = cp;
	return ONNX_OK;
}

/*
 * Pack hook of Conv: constant float32 weights of 1 or 2 spatial dims,
 * packed once into the model's arena for the kernel that will read them:
 * conv_narrow.c where the input's static shape gives few output
 * positions, else the implicit GEMM (conv_bcast.c, AVX-512), the direct
 * kernel or the im2col GEMM; small weights
 * whose positions are unknown until the run also get conv_narrow.c's
 * copy.  Anything else keeps node->prepared NULL.
 */
static OnnxStatus
conv_pack(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	const OnnxTensor *w = onnx_const_input(g, node, 1);
	int64_t		group = onnx_attr_int(node, "group", 1),
				taps = 1,
				n,
				P,
				Mg;
	bool		narrow_fixed,
				narrow_maybe;
	ConvPrepared *cp;
	float	   *packed;

	if (w == NULL || w->dtype != ONNX_DTYPE_FLOAT || w->rank < 3 || w->rank > 4 || group < 1 ||
		w->dims[0] % group != 0 || w->count == 0)
		return ONNX_OK;
	for (int i = 2; i < w->rank; i++)
		taps *= w->dims[i];		/* <= count, no overflow */
	Mg = w->dims[0] / group;
	P = node->inputs[0] < 0 ? -1 :
		onnx_conv_static_positions(node, &g->values[node->inputs[0]].info, w);
	narrow_fixed = P > 0 && onnx_conv_narrow_suits(P, Mg, w->dims[1], group);
	narrow_maybe = P < 0 && onnx_conv_narrow_suits(1, Mg, w->dims[1], group) &&
		w->nbytes <= CONV_NARROW_PACK_BYTES;
	if (narrow_fixed)
		return conv_pack_gemm(node, w, group, taps, true, false, arena, err);
	/* (a 1x1 window never runs there, conv_blocked: GEMM weights instead) */
	if (onnx_vec_isa() == ONNX_VEC_AVX512 && taps > 1 && attrs_bcast(node, w, group, taps))
	{
		if (!onnx_conv_block_packed_size(w->dims[0], w->dims[1], taps, group, CONV_BCAST_NB, &n))
			return ONNX_OK;
		if ((cp = onnx_arena_alloc(arena, sizeof(ConvPrepared))) == NULL ||
			(packed = onnx_arena_alloc(arena, sizeof(float) * (size_t) n)) == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing Conv weights");
		memset(cp, 0, sizeof(ConvPrepared));
		onnx_conv_block_pack(w->data, w->dims[0], w->dims[1], taps, group, CONV_BCAST_NB, packed);
		cp->w_data = w->data;
		cp->bcast_w = packed;
		if (narrow_maybe && conv_pack_narrow(cp, w, group, w->dims[1] * taps, arena, err) != ONNX_OK)
			return err->status;
		node->prepared = cp;
		return ONNX_OK;
	}
	if (!onnx_conv_direct_suits(Mg, w->dims[1], group, taps, attrs_pointwise(node, w)))
		return conv_pack_gemm(node, w, group, taps, narrow_maybe, true, arena, err);
	if (!onnx_conv_direct_packed_size(w->dims[0], w->dims[1], taps, group, &n))
		return ONNX_OK;
	if ((cp = onnx_arena_alloc(arena, sizeof(ConvPrepared))) == NULL ||
		(packed = onnx_arena_alloc(arena, sizeof(float) * (size_t) n)) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing Conv weights");
	memset(cp, 0, sizeof(*cp));
	onnx_conv_direct_pack(w->data, w->dims[0], w->dims[1], taps, group, packed);
	cp->w_data = w->data;
	cp->direct_w = packed;
	if (narrow_maybe && conv_pack_narrow(cp, w, group, w->dims[1] * taps, arena, err) != ONNX_OK)
		return err->status;
	node->prepared = cp;
	return ONNX_OK;
}

/* A direct kernel on weights packed in blocks of output channels. */
typedef OnnxStatus (*ConvBlockKernel) (OnnxKernelCtx *ctx, const ConvGeom *g, const float *x,
									   const float *wp, const float *b, const OnnxFusedAct *act,
									   float *y, int64_t N, int64_t C, int64_t M, int64_t group,
									   bool *handled);

/*
 * Run kernel on the weights packed at load (prepacked, when made from w),
 * or packed into scratch now in blocks of block channels.  *handled
 * false: not taken.
 */
static OnnxStatus
conv_block_run(OnnxKernelCtx *ctx, ConvBlockKernel kernel, const float *prepacked,
			   int64_t block, const ConvGeom *g, const float *x, const float *w,
			   const float *b, const OnnxFusedAct *act, float *y, int64_t N, int64_t C, int64_t M,
			   int64_t group, bool *handled)
{
	const ConvPrepared *cp = ctx->node->prepared;
	float	   *packed = NULL;
	int64_t		n;

	if (cp == NULL || cp->w_data != (const void *) w || prepacked == NULL)
	{
		if (!onnx_conv_block_packed_size(M, C / group, g->k_size, group, block, &n))
			return ONNX_OK;
		if ((packed = onnx_kernel_scratch(ctx, (size_t) n, sizeof(float))) == NULL)
			return ctx->err->status;
		onnx_conv_block_pack(w, M, C / group, g->k_size, group, block, packed);
	}
	return kernel(ctx, g, x, packed ? packed : prepacked, b, act, y, N, C, M, group, handled);
}

/* conv_narrow.c on the weights packed at load when they match w. */
static OnnxStatus
conv_narrow(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x, const float *w,
			const float *b, const OnnxFusedAct *act, float *y, int64_t N, int64_t C, int64_t M,
			int64_t group, bool *handled)
{
	const ConvPrepared *cp = ctx->node->prepared;
	const OnnxGemmPacked *const *wt = NULL;

	if (cp && cp->narrow_w && cp->w_data == (const void *) w &&
		cp->narrow_w[0]->rows == (C / group) * g->k_size && cp->narrow_w[0]->cols == M / group)
		wt = cp->narrow_w;
	return onnx_conv_narrow_f32(ctx, g, x, w, wt, b, act, y, N, C, M, group, handled);
}

/*
 * The packed-weight kernels for a forward convolution: as an implicit
 * GEMM (conv_bcast.c, AVX-512), else few output channels per
 * group directly (conv_direct.c).  *handled false: neither taken.
 */
static OnnxStatus
conv_blocked(OnnxKernelCtx *ctx, const ConvGeom *g, const float *x, const float *w,
			 const float *b, const OnnxFusedAct *act, float *y, int64_t N, int64_t C, int64_t M,
			 int64_t group, bool *handled)
{
	const ConvPrepared *cp = ctx->node->prepared;
	bool		pw = geom_is_pointwise(g);
	OnnxStatus	st = ONNX_OK;

	*handled = false;
	/*
	 * also for a batch of small images: its tiles follow the output rows,
	 * so no position is wasted, and it runs 1.2-1.6x faster than one
	 * im2col GEMM over several images (conv_core's batched path) at 16x16
	 * and 8x8 maps of 64 and 128 channels; not a strided (or padded) 1x1
	 * window at all: its K is shallow, so the 32 transposing gathers a
	 * tile of conv_bcast.c cost more than the compact column gather of
	 * conv_core (ResNet-18's 64->128 downsample of a 16x16 map alone:
	 * 1.06x onnxruntime there, 0.69x through conv_core, Xeon 2026-12-08;
	 * a batch of them through the batched GEMM 1.35x faster too)
	 */
	if (onnx_vec_isa() == ONNX_VEC_AVX512 &&
		onnx_conv_bcast_suits(g->nsp, M / group, C / group, group, g->k_size, g->s, pw) &&
		g->k_size > 1)
		st = conv_block_run(ctx, onnx_conv_bcast_f32, cp ? cp->bcast_w : NULL, CONV_BCAST_NB,
							g, x, w, b, act, y, N, C, M, group, handled);
	if (st == ONNX_OK && !*handled &&
		onnx_conv_direct_suits(M / group, C / group, group, g->k_size, pw))
		st = conv_block_run(ctx, onnx_conv_direct_f32, cp ? cp->direct_w : NULL, CONV_DIRECT_MR,
							g, x, w, b, act, y, N, C, M, group, handled);
	return st;
}

/*
 * float32 convolution of either kind, Y written whole, then the fused
 * activation act: depthwise Conv directly (conv_depthwise.c), few output
 * positions by the turned-round GEMM (conv_narrow.c: it beats the direct
 * kernel there too, 1.4x at P = 2 and 4, Mg = 64), then the implicit GEMM
 * on padded planes (conv_bcast.c, AVX-512) or few output channels per
 * group directly (conv_direct.c), ConvTranspose of 1 or 2
 * spatial dims in conv_transpose.c, the rest through the GEMM cores.
 */
static OnnxStatus
conv_f32(OnnxKernelCtx *ctx, ConvKind kind, const ConvGeom *g, const float *x, const float *w,
		 const float *b, const OnnxFusedAct *act, float *y, int64_t N, int64_t C, int64_t M,
		 int64_t group)
{
	OnnxStatus	st = ONNX_OK;
	bool		handled = false;

	if (kind == CONV_FORWARD && group == C && group > 1)
		st = onnx_conv_depthwise_f32(ctx, g, x, w, b, act, y, N, C, M, &handled);
	else if (kind == CONV_FORWARD && onnx_conv_narrow_suits(g->out_size, M / group, C / group, group))
		st = conv_narrow(ctx, g, x, w, b, act, y, N, C, M, group, &handled);
	if (handled || st != ONNX_OK)
		return st;
	if (kind == CONV_FORWARD)
		st = conv_blocked(ctx, g, x, w, b, act, y, N, C, M, group, &handled);
	else
		st = onnx_conv_transpose_f32(ctx, g, x, w, b, act, y, N, C, M, group, &handled);
	if (handled || st != ONNX_OK)
		return st;
	if (kind == CONV_FORWARD)
		return conv_core_f32(ctx, g, x, w, b, act, y, N, C, M, group);
	st = convt_core_f32(ctx, g, x, w, b, y, N, C, M, group);
	if (st == ONNX_OK && onnx_act_is_set(act))
	{
		int64_t		count = N * M * g->in_size;

		onnx_act_rows_f32(act, y, 1, count, count, NULL);
	}
	return st;
}

/* elements per step of sum_act_f32: the sum and the activation in L1 */
#define SUM_ACT_STEP 2048

/*
 * Y (count) = act(Y + S) elementwise, the sum rounded before the
 * activation (the residual Add and its Relu a Conv took over, optimize.c),
 * in steps that keep the sum in L1 for the activation.
 */
static void
sum_act_f32(const OnnxFusedAct *act, float *y, const float *s, int64_t count)
{
	OnnxEwBinFn add = onnx_ew_bin_fn(EW_ADD, ONNX_DTYPE_FLOAT);

	for (int64_t i = 0; i < count; i += SUM_ACT_STEP)
	{
		int64_t		n = count - i < SUM_ACT_STEP ? count - i : SUM_ACT_STEP;

		add(y + i, y + i, s + i, n, 3);
		onnx_act_rows_f32(act, y + i, 1, n, n, NULL);
	}
}

/*
 * Y (zeroed) = act(conv(X, W) + B) for every float type; with an addend S
 * (float32 Conv only, Y's shape) act((conv(X, W) + B) + S).
 */
static OnnxStatus
conv_dispatch(OnnxKernelCtx *ctx, ConvKind kind, const ConvGeom *g, const OnnxTensor *x,
			  const OnnxTensor *w, const OnnxTensor *b, const OnnxTensor *s, OnnxTensor *y,
			  int64_t N, int64_t C, int64_t M, int64_t group)
{
	const OnnxFusedAct *act = &ctx->node->fused_act;
	const OnnxFusedAct none = {ONNX_ACT_NONE, 0.0f, 0.0f};
	OnnxStatus	st;

	if (s != NULL && x->dtype != ONNX_DTYPE_FLOAT)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "a fused Conv sum needs float32");
	switch (x->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			if (s == NULL)
				return conv_f32(ctx, kind, g, x->data, w->data, b ? b->data : NULL, act,
								y->data, N, C, M, group);
			st = conv_f32(ctx, kind, g, x->data, w->data, b ? b->data : NULL, &none, y->data,
						  N, C, M, group);
			if (st == ONNX_OK)
				sum_act_f32(act, y->data, s->data, y->count);
			return st;
		case ONNX_DTYPE_DOUBLE:
			if (kind == CONV_FORWARD)
				return conv_core_f64(ctx, g, x->data, w->data, b ? b->data : NULL, act, y->data,
									 N, C, M, group);
			st = convt_core_f64(ctx, g, x->data, w->data, b ? b->data : NULL, y->data, N, C, M, group);
			if (st == ONNX_OK)
				onnx_act_tensor(act, y);
			return st;
		case ONNX_DTYPE_FLOAT16:
		case ONNX_DTYPE_BFLOAT16:
			{
				float	   *fx = stage_f32(ctx, x);
				float	   *fw = fx ? stage_f32(ctx, w) : NULL;
				float	   *fb = (fw && b) ? stage_f32(ctx, b) : NULL;
				float	   *fy = NULL;

				if (fx && fw && (b == NULL || fb))
					fy = onnx_kernel_scratch(ctx, (size_t) y->count, sizeof(float));
				if (fy == NULL)
					return ctx->err->status;
				st = conv_f32(ctx, kind, g, fx, fw, fb, act, fy, N, C, M, group);
				if (st == ONNX_OK)
					onnx_tensor_write_f32(y, 0, y->count, fy);
				return st;
			}
		default:
			return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s does not support %s",
									ctx->node->op_type, onnx_dtype_name(x->dtype));
	}
}

/* ---- Conv ---- */

/*
 * Output Y (N, M, sp...) of a Conv (sp: g's output sizes) or ConvTranspose
 * (sp: g's input sizes), then conv_dispatch into it: B, then the
 * activation optimize.c folded in, applied on the way.
 */
static OnnxStatus
conv_output_run(OnnxKernelCtx *ctx, ConvKind kind, const ConvGeom *g, const int64_t *sp,
				const OnnxTensor *x, const OnnxTensor *w, const OnnxTensor *b, int64_t M,
				int64_t group)
{
	int64_t		dims[ONNX_MAX_RANK];
	OnnxTensor *y;
	const OnnxTensor *s = NULL;

	dims[0] = x->dims[0];
	dims[1] = M;
	memcpy(dims + 2, sp, sizeof(int64_t) * g->nsp);
	if (kind == CONV_FORWARD && ctx->node->fused_sum)
	{
		/* the residual addend optimize.c appended: Y's shape, checked again here */
		s = onnx_in(ctx, 3);
		if (s == NULL || s->dtype != x->dtype || s->rank != x->rank ||
			memcmp(s->dims, dims, sizeof(int64_t) * (size_t) x->rank) != 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"the Add folded into Conv needs an addend of the Conv output's shape");
	}
	if ((y = onnx_out_raw(ctx, 0, x->dtype, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	return conv_dispatch(ctx, kind, g, x, w, b, s, y, x->dims[0], x->dims[1], M, group);
}

/* Conv: X (N,C,in...), W (M,C/g,k...), B (M) -> Y (N,M,out...) */
static OnnxStatus
run_conv(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *w = onnx_in(ctx, 1);
	const OnnxTensor *b = onnx_in(ctx, 2) ? onnx_in(ctx, 2) : ctx->node->fused_bias;
	int64_t		group,
				M;
	ConvGeom	g;
	OnnxStatus	st;

	if ((st = cpq_conv_check_shapes(ctx, x, w, &group)) != ONNX_OK)
		return st;
	M = w->dims[0];
	if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X, W and B must have the same type");
	if (w->dims[1] * group != x->dims[1] || M % group != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"W (M=%lld, C/group=%lld) does not match %lld input channels in %lld groups",
								(long long) M, (long long) w->dims[1], (long long) x->dims[1],
								(long long) group);
	if (b && (b->rank != 1 || b->dims[0] != M))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "B must have shape [%lld]", (long long) M);
	if ((st = cpq_geom_forward(ctx, x->rank - 2, x->dims + 2, w->dims + 2, false, &g)) != ONNX_OK)
		return st;
	return conv_output_run(ctx, CONV_FORWARD, &g, g.out, x, w, b, M, group);
}

/*
 * Conv's output shape (N, M, out...) from X's shape and W's (M, C/group,
 * k...), where they are known statically.
 */
static OnnxStatus
infer_conv(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	const OnnxValueInfo *w = ctx->n_inputs > 1 ? ctx->inputs[1] : NULL;

	if (x == NULL || w == NULL || x->rank < 3 || w->rank != x->rank)
		return ONNX_OK;
	cpq_infer_window(ctx, x->rank - 2, w->dims + 2, false, w->dims[0]);
	return ONNX_OK;
}

/* ---- ConvTranspose ---- */

/*
 * Geometry of ConvTranspose from the attributes: g->in = output image,
 * g->out = X's spatial dims.  Output size per dim
 *	 s * (xin - 1) + output_padding + (k - 1) * d + 1 - pb - pe
 * unless output_shape gives it; SAME_* without pads derives the pads from
 * the output size (default xin * s).
 */
static OnnxStatus
convt_geom(OnnxKernelCtx *ctx, const OnnxTensor *x, const OnnxTensor *w, ConvGeom *g)
{
	int			nsp = x->rank - 2;
	const char *auto_pad = onnx_attr_string(ctx->node, "auto_pad", "NOTSET");
	const int64_t *os,
			   *pv;
	int			nos = onnx_attr_ints(ctx->node, "output_shape", &os);
	bool		have_pads = onnx_attr_ints(ctx->node, "pads", &pv) > 0;
	bool		same = strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0;
	int64_t		pads[2 * ONNX_MAX_RANK],
				opad[ONNX_MAX_RANK];
	OnnxStatus	st;

	memset(g, 0, sizeof(*g));
	g->nsp = nsp;
	if (!same && strcmp(auto_pad, "NOTSET") != 0 && strcmp(auto_pad, "VALID") != 0 && auto_pad[0])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "auto_pad \"%s\" is not recognised", auto_pad);
	if ((st = cpq_attr_ints(ctx, "strides", nsp, 1, 1, g->s)) != ONNX_OK ||
		(st = cpq_attr_ints(ctx, "dilations", nsp, 1, 1, g->d)) != ONNX_OK ||
		(st = cpq_attr_ints(ctx, "pads", 2 * nsp, 0, 0, pads)) != ONNX_OK ||
		(st = cpq_attr_ints(ctx, "output_padding", nsp, 0, 0, opad)) != ONNX_OK)
		return st;
	if (nos != 0 && nos != nsp && nos != nsp + 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"output_shape has %d values for %d spatial dimensions", nos, nsp);
	for (int i = 0; i < nsp; i++)
	{
		int64_t		xin = x->dims[i + 2],
					k = w->dims[i + 2],
					dk,
					full,
					yout;

		if (k < 1 || k > CONV_ATTR_MAX)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "kernel size %lld is out of range",
									(long long) k);
		if (xin > ((int64_t) 1 << 60))
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "input dimension too large");
		dk = (k - 1) * g->d[i] + 1;
		/* s * (xin - 1) + opad + dk: each term < 2^62 except the product */
		if (onnx_mul_overflow_i64(g->s[i], xin > 0 ? xin - 1 : 0, &full) ||
			full > ((int64_t) 1 << 61))
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "ConvTranspose output size overflows");
		full += opad[i] + dk;
		g->k[i] = k;
		g->out[i] = xin;
		if (nos)
		{
			yout = os[nos - nsp + i];
			if (yout < 0 || yout > ((int64_t) 1 << 60))
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "output_shape value %lld is out of range",
										(long long) yout);
		}
		else if (same && !have_pads)
		{
			if (onnx_mul_overflow_i64(xin, g->s[i], &yout))
				return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "ConvTranspose output size overflows");
		}
		else
			yout = full - pads[i] - pads[nsp + i];
		if (same && !have_pads)
		{
			int64_t		total = full - yout;

			if (total < 0)
				total = 0;		/* stride beyond the kernel: extra outputs get only the bias */
			g->pb[i] = strcmp(auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
			g->pe[i] = total - g->pb[i];
		}
		else
		{
			g->pb[i] = pads[i];
			g->pe[i] = pads[nsp + i];
		}
		if (yout < 1)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"ConvTranspose output dimension %d would be %lld", i, (long long) yout);
		g->in[i] = yout;
	}
	return cpq_geom_sizes(ctx, g);
}

/* ConvTranspose: X (N,C,in...), W (C,M/g,k...), B (M) -> Y (N,M,out...) */
static OnnxStatus
run_conv_transpose(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *w = onnx_in(ctx, 1);
	const OnnxTensor *b = onnx_in(ctx, 2);
	int64_t		group,
				M;
	ConvGeom	g;
	OnnxStatus	st;

	if ((st = cpq_conv_check_shapes(ctx, x, w, &group)) != ONNX_OK)
		return st;
	if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X, W and B must have the same type");
	if (w->dims[0] != x->dims[1])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"W's first dimension %lld differs from the %lld input channels",
								(long long) w->dims[0], (long long) x->dims[1]);
	if (onnx_mul_overflow_i64(w->dims[1], group, &M))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "output channel count overflows");
	if (b && (b->rank != 1 || b->dims[0] != M))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "B must have shape [%lld]", (long long) M);
	if ((st = convt_geom(ctx, x, w, &g)) != ONNX_OK)
		return st;
	return conv_output_run(ctx, CONV_TRANSPOSE, &g, g.in, x, w, b, M, group);
}

/* ---- Col2Im ---- */

/*
 * Col2Im: input (N, C*prod(block), L), image_shape, block_shape
 *	 -> (N, C, image...), summing overlapping blocks; L must equal the
 *	 number of block positions.
 */
static OnnxStatus
run_col2im(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *img = onnx_in(ctx, 1);
	const OnnxTensor *blk = onnx_in(ctx, 2);
	int64_t		in[ONNX_MAX_RANK],
				k[ONNX_MAX_RANK],
				dims[ONNX_MAX_RANK],
				C;
	int			nsp;
	ConvGeom	g;
	OnnxStatus	st;
	OnnxTensor *y;

	if (x == NULL || img == NULL || blk == NULL || x->rank != 3 || img->rank != 1 ||
		blk->rank != 1 || img->count != blk->count || img->count < 1 ||
		img->count > ONNX_MAX_RANK - 2 ||
		(img->dtype != ONNX_DTYPE_INT64) || blk->dtype != ONNX_DTYPE_INT64)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Col2Im expects input (N, C*prod(block), L) and 1-D int64 image_shape and block_shape of equal length");
	nsp = (int) img->count;
	for (int i = 0; i < nsp; i++)
	{
		in[i] = ((const int64_t *) img->data)[i];
		k[i] = ((const int64_t *) blk->data)[i];
		if (in[i] < 0 || in[i] > ((int64_t) 1 << 40))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "image_shape value %lld is out of range",
									(long long) in[i]);
	}
	if ((st = cpq_geom_forward(ctx, nsp, in, k, false, &g)) != ONNX_OK)
		return st;
	if (g.k_size == 0 || x->dims[1] % g.k_size != 0 || x->dims[2] != g.out_size)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Col2Im input is (%lld, %lld, %lld); expected C*%lld rows and %lld block positions",
								(long long) x->dims[0], (long long) x->dims[1], (long long) x->dims[2],
								(long long) g.k_size, (long long) g.out_size);
	C = x->dims[1] / g.k_size;
	dims[0] = x->dims[0];
	dims[1] = C;
	memcpy(dims + 2, in, sizeof(int64_t) * nsp);
	if ((y = onnx_out(ctx, 0, x->dtype, nsp + 2, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0 || x->count == 0)
		return ONNX_OK;
	for (int64_t n = 0; n < x->dims[0]; n++)
	{
		int64_t		xs = x->dims[1] * x->dims[2],
					ys = C * g.in_size;

		if (x->dtype == ONNX_DTYPE_FLOAT)
			im2col_f32(&g, (float *) y->data + n * ys, C, 0, g.out_size,
					   (float *) x->data + n * xs, g.out_size, true);
		else if (x->dtype == ONNX_DTYPE_DOUBLE)
			im2col_f64(&g, (double *) y->data + n * ys, C, 0, g.out_size,
					   (double *) x->data + n * xs, g.out_size, true);
		else
			return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "Col2Im does not support %s",
									onnx_dtype_name(x->dtype));
	}
	return ONNX_OK;
}

#define CONV_TYPES ONNX_TS_FLOAT

const OnnxOpDef onnx_ops_conv[] = {
	ONNX_OP_VERSIONS("", "Conv", (1, 11, 22), ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1), .input0_types = CONV_TYPES,
		.out_type = ONNX_OUT_SAME, .infer = infer_conv, .run = run_conv, .pack = conv_pack),
	ONNX_OP_VERSIONS("", "ConvTranspose", (1, 11, 22), ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1), .input0_types = CONV_TYPES,
		.out_type = ONNX_OUT_SAME, .run = run_conv_transpose),
	ONNX_OP("", "Col2Im", 18, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_FLOAT) | ONNX_T(ONNX_DTYPE_DOUBLE), .out_type = ONNX_OUT_SAME,
		.run = run_col2im),
	{0}
};
