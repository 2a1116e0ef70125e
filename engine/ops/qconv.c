/*-------------------------------------------------------------------------
 *
 * qconv.c
 *	  Integer convolutions, ConvInteger and QLinearConv, on the exact int8
 *	  GEMM of qgemm.h.  Per image and group, the output positions are the
 *	  rows of the product:
 *
 *		Y^T (P, Mg) = patches (P, KK*Cg) @ W_g^T (KK*Cg, Mg)
 *
 *	  patches row p = the input window of output position p (kernel taps,
 *	  then channels: with the image transposed once to (H*W, Cg), a tap is
 *	  one copy of Cg bytes), the padding filled with x's zero point so it
 *	  adds nothing; W_g^T is reordered alike and packed once at load when
 *	  W and its zero point are constant.  The int32 result is written transposed into Y (N, M, P),
 *	  as int32 (ConvInteger), scaled to float32 (the engine's
 *	  ConvIntegerToFloat, optimize.c's fusion of quantize_dynamic's
 *	  ConvInteger -> Cast -> Mul [-> bias, activation]) or requantized as onnxruntime does
 *	  (QLinearConv): y = saturate(round(float(acc + B[m]) * (x_scale *
 *	  w_scale[m] / y_scale)) + y_zp), the multiplier in float32.
 *
 *	  Depthwise convolutions (one input and one output channel per group)
 *	  skip the GEMM: with AVX512-VNNI and VBMI, 8-bit products over the
 *	  padded plane with the requantization fused (qconv_dw_vnni.c); else a
 *	  direct int32 loop per channel, tap by tap over whole output rows.
 *	  With AVX512-VNNI and VBMI, a QLinearConv or ConvIntegerToFloat of
 *	  1x1 stride 1 without padding, or of at most 4 channels per group (an
 *	  image's first layer), runs qconv_pw_vnni.c channels-first in and out
 *	  (the float form: float planes, then the fused bias and activation per
 *	  chunk): its rows are the image's planes, or the channels-first
 *	  patches (patch_cols).
 *	  Otherwise a 1x1 convolution of stride 1 without padding takes the transposed
 *	  image itself as its patches.  The GEMM runs per block of output
 *	  positions whose patches and products stay in cache (block_rows):
 *	  the patches of a whole image (K bytes per position) would be a pass
 *	  through memory each way.  uint8 patches on the VNNI kernel are
 *	  built padded to its groups of 4 and read in place, without row sums
 *	  when the weights are symmetric.  The inner loops that
 *	  are not the GEMM (requantization, the depthwise taps, transposes) are
 *	  qconv_kern.c's, vectorized per instruction-set level.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "window_geom.h"
#include "qmatmul.h"
#include "pack.h"
#include "qconv_kern.h"
#include "qlut.h"
#include "vecmath.h"
#include "fused_act.h"
#include "qconv_float.h"

#define T_8BIT (ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8))

/* The kernel table of vecmath.h's current level. */
const OnnxQconvKern *
onnx_qconv_kern(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	switch (onnx_vec_isa())
	{
		case ONNX_VEC_AVX512:
			return &onnx_qconv_kern_avx512;
		case ONNX_VEC_AVX2:
			return &onnx_qconv_kern_avx2;
		default:
			break;
	}
#endif
	return &onnx_qconv_kern_portable;
}

/*
 * node->prepared: W_g^T of every group, packed with w's zero points; for
 * QLinearConv and ConvIntegerToFloat also W as qconv_pw_vnni.c takes it
 * (onnx_qpw_vnni_prep).
 */
typedef struct QConvPacked
{
	int64_t		group;
	OnnxQgemmB **pb;			/* (group) */
	int8_t	   *dws;			/* (M, Kp) or NULL */
	int32_t    *dwzs,			/* (M) */
			   *dwsum;			/* (M) */
} QConvPacked;

/* Input indexes of an op: w, w zero point. */
static void
conv_inputs(const OnnxNode *node, int *w_in, int *wzp_in)
{
	bool		ql = strcmp(node->op_type, "QLinearConv") == 0;

	*w_in = ql ? 3 : 1;
	*wzp_in = ql ? 5 : 3;
}

/*
 * W_g (Mg, Cg, KK) of group g reordered to (Mg, KK, Cg), the order of
 * the patches' columns (tap, then channel).
 */
static void
permute_w(const uint8_t *w, int64_t Mg, int64_t Cg, int64_t KK, uint8_t *dst)
{
	for (int64_t n = 0; n < Mg; n++)
		for (int64_t c = 0; c < Cg; c++)
			for (int64_t t = 0; t < KK; t++)
				dst[(n * KK + t) * Cg + c] = w[(n * Cg + c) * KK + t];
}

static OnnxStatus
qconv_pack(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	int			w_in,
				z_in;
	const OnnxTensor *w,
			   *wz = NULL;
	int64_t		group = onnx_attr_int(node, "group", 1),
				M,
				K,
				Mg;
	int32_t    *zp;
	uint8_t    *tmp;
	QConvPacked *p;

	conv_inputs(node, &w_in, &z_in);
	w = onnx_const_input(g, node, w_in);
	if (w == NULL || w->rank < 3 || !(ONNX_T(w->dtype) & T_8BIT) || group < 1)
		return ONNX_OK;
	if (z_in < node->n_inputs && node->inputs[z_in] >= 0 &&
		((wz = onnx_const_input(g, node, z_in)) == NULL || wz->dtype != w->dtype))
		return ONNX_OK;
	M = w->dims[0];
	if (M % group != 0 || M == 0)
		return ONNX_OK;
	Mg = M / group;
	K = w->count / M;
	if (wz && wz->count != 1 && wz->count != M)
		return ONNX_OK;
	p = onnx_arena_alloc(arena, sizeof(QConvPacked));
	zp = onnx_arena_alloc(arena, sizeof(int32_t) * (size_t) M);
	if (p == NULL || zp == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing weights");
	onnx_qmm_zp(wz, zp, M);
	p->group = group;
	p->pb = NULL;
	p->dws = NULL;
	if (Mg == 1 && w->dims[1] == 1)
	{
		/* depthwise: no GEMM; W (M, KK) as qconv_dw_vnni.c takes it */
		if ((p->dws = onnx_arena_alloc(arena, (size_t) w->count)) == NULL ||
			(p->dwzs = onnx_arena_alloc(arena, sizeof(int32_t) * (size_t) M)) == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing weights");
		onnx_qpw_vnni_prep(w->data, w->dtype == ONNX_DTYPE_INT8, M, K, zp, p->dws, K, p->dwzs, NULL);
		node->prepared = p;
		return ONNX_OK;
	}
	if ((p->pb = onnx_arena_alloc(arena, sizeof(OnnxQgemmB *) * (size_t) group)) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing weights");
	if ((tmp = onnx_arena_alloc(arena, (size_t) (Mg * K))) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing weights");
	for (int64_t gi = 0; gi < group; gi++)
	{
		size_t		bytes = onnx_qgemm_pack_b_size(onnx_qgemm_isa(), K, Mg);
		void	   *buf;

		if (bytes == 0)
			return ONNX_OK;
		if ((buf = onnx_arena_alloc(arena, bytes)) == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing weights");
		permute_w((const uint8_t *) w->data + gi * Mg * K, Mg, w->dims[1], K / w->dims[1], tmp);
		p->pb[gi] = onnx_qgemm_pack_b(buf, onnx_qgemm_isa(), K, Mg, tmp, K, true,
									  w->dtype == ONNX_DTYPE_INT8, zp + gi * Mg, Mg);
	}
	if (strcmp(node->op_type, "ConvInteger") != 0)
	{
		int64_t		Kp = (K + 3) / 4 * 4;

		if ((p->dws = onnx_arena_alloc(arena, (size_t) (M * Kp))) == NULL ||
			(p->dwzs = onnx_arena_alloc(arena, sizeof(int32_t) * (size_t) M)) == NULL ||
			(p->dwsum = onnx_arena_alloc(arena, sizeof(int32_t) * (size_t) M)) == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing weights");
		onnx_qpw_vnni_prep(w->data, w->dtype == ONNX_DTYPE_INT8, M, K, zp, p->dws, Kp, p->dwzs, p->dwsum);
	}
	node->prepared = p;
	return ONNX_OK;
}

/* What one run needs besides the tensors. */
typedef struct QConvRun
{
	ConvGeom	g;
	int64_t		N,
				C,
				M,
				group,
				Cg,
				Mg,
				K;				/* Cg * k_size */
	int32_t		xz;
	const int32_t *wz;			/* (M) */
	const int32_t *bias;		/* (M) or NULL */
	bool		qlinear;
	float	   *mult;			/* (M) QLinearConv */
	float	   *fscale;			/* (M) ConvIntegerToFloat: y = float(acc) * fscale[m] */
	const OnnxFusedAct *fact;	/* ConvIntegerToFloat: then act(y + fbias[m]) */
	const float *fbias;			/* (M) or NULL */
	bool		fdone;			/* set when fact and fbias were applied */
	int32_t		yz,
				lo,
				hi;
} QConvRun;

/*
 * patches (P, KK*Cg) of image channels x (Cg, in...): row p holds the
 * window of output position p, tap-major then channel, xz where it leaves
 * the image (any number of spatial dims).
 */
static void
build_patches_nd(const ConvGeom *g, const uint8_t *x, int64_t Cg, uint8_t xz, uint8_t *pt)
{
	int			nsp = g->nsp;
	int64_t		KK = g->k_size,
				K = Cg * KK;
	int64_t		o[ONNX_MAX_RANK] = {0};

	for (int64_t p = 0; p < g->out_size; p++)
	{
		uint8_t    *row = pt + p * K;
		int64_t		kk[ONNX_MAX_RANK] = {0};

		for (int64_t t = 0; t < KK; t++)
		{
			int64_t		off = 0;
			bool		in = true;

			for (int d = 0; d < nsp; d++)
			{
				int64_t		c = o[d] * g->s[d] - g->pb[d] + kk[d] * g->d[d];

				in = in && c >= 0 && c < g->in[d];
				off = off * g->in[d] + c;
			}
			for (int64_t c = 0; c < Cg; c++)
				row[t * Cg + c] = in ? x[c * g->in_size + off] : xz;
			for (int d = nsp - 1; d >= 0; d--)
			{
				if (++kk[d] < g->k[d])
					break;
				kk[d] = 0;
			}
		}
		for (int d = nsp - 1; d >= 0; d--)
		{
			if (++o[d] < g->out[d])
				break;
			o[d] = 0;
		}
	}
}

/*
 * n <= 32 bytes from src to dst as fixed 16- or 32-byte copies (inlined,
 * no call): up to 32 bytes past n are read and written, so both buffers
 * have QC_SLACK bytes beyond their end and what is written past n is
 * written again later.
 */
#define QC_SLACK 32

/* fewest output positions per image for the channels-first VNNI kernel */
#ifndef QPW_MIN_POSITIONS
#define QPW_MIN_POSITIONS 16
#endif
static inline void
copy_short(uint8_t *dst, const uint8_t *src, int64_t n)
{
	if (n <= 16)
		memcpy(dst, src, 16);
	else if (n <= 32)
		memcpy(dst, src, 32);
	else
		memcpy(dst, src, (size_t) n);
}

/*
 * Rows p0 .. p0+np of the patches for 1 or 2 spatial dims, from the image
 * transposed to pixels hwc (H*W pixels ldc bytes apart, the group's Cg
 * channels first): every tap of a row is a copy of Cg bytes, the inside
 * taps of a kernel row one copy when the pixels are the group's channels
 * only (ldc == Cg) and undilated.  Rows ld bytes apart (ld >= K; bytes K
 * .. ld are scratch); hwc and pt have QC_SLACK bytes past their end.
 */
static void
build_patch_rows(const ConvGeom *g, const uint8_t *hwc, int64_t ldc, int64_t Cg, uint8_t xz,
				 int64_t p0, int64_t np, uint8_t *pt, int64_t ld)
{
	ConvGeom2D	v;

	cpq_geom_2d(g, &v);
	for (int64_t p = p0; p < p0 + np; p++)
	{
		int64_t		oh = p / v.out_w,
					ow = p % v.out_w;
		uint8_t    *row = pt + (p - p0) * ld;

		for (int64_t kh = 0; kh < v.k_h; kh++)
		{
			int64_t		ih = oh * v.s_h - v.p_h + kh * v.d_h,
						iw0 = ow * v.s_w - v.p_w,
						kw0 = 0,
						kw1 = v.k_w;

			if (ih < 0 || ih >= v.in_h)
			{
				memset(row, xz, (size_t) (v.k_w * Cg));
				row += v.k_w * Cg;
				continue;
			}
			/* taps [kw0, kw1) inside the row; the others are padding */
			while (kw0 < kw1 && iw0 + kw0 * v.d_w < 0)
				kw0++;
			while (kw1 > kw0 && iw0 + (kw1 - 1) * v.d_w >= v.in_w)
				kw1--;
			if (kw0 > 0)
				memset(row, xz, (size_t) (kw0 * Cg));
			/* (every tap may be padding: then there is no pixel to read) */
			if (kw1 > kw0)
			{
				const uint8_t *src = hwc + (ih * v.in_w + iw0 + kw0 * v.d_w) * ldc;

				if (v.d_w == 1 && ldc == Cg)
					copy_short(row + kw0 * Cg, src, (kw1 - kw0) * Cg);
				else
					for (int64_t kw = kw0; kw < kw1; kw++)
						copy_short(row + kw * Cg, src + (kw - kw0) * v.d_w * ldc, Cg);
			}
			if (kw1 < v.k_w)
				memset(row + kw1 * Cg, xz, (size_t) ((v.k_w - kw1) * Cg));
			row += v.k_w * Cg;
		}
	}
}

/*
 * Depthwise, 1 or 2 spatial dims: acc (P) of channel c by qconv_kern.c's
 * dw_plane; off and wv (k_size each), xp and accx: scratch
 * (onnx_dw_plane_sizes).
 */
static void
depthwise_2d(const QConvRun *r, const uint8_t *x, bool xs, const uint8_t *w, bool ws, int64_t c,
			 int64_t *off, int32_t *wv, int32_t *xp, int32_t *accx, int32_t *acc)
{
	ConvGeom2D	v;

	cpq_geom_2d(&r->g, &v);
	for (int64_t t = 0; t < r->g.k_size; t++)
		wv[t] = (ws ? (int8_t) w[c * r->g.k_size + t] : w[c * r->g.k_size + t]) - r->wz[c];
	onnx_qconv_kern()->dw_plane(&v, x, xs, r->xz, wv, off, xp, accx, acc);
}

/*
 * Write acc (np, mg), the output positions p0 .. p0+np of channels m0..,
 * transposed into y (M, P) of one image; q: scratch of np * mg bytes
 * (QLinearConv).
 */
static void
store_out(const QConvRun *r, const int32_t *acc, int64_t m0, int64_t mg, int64_t p0, int64_t np,
		  int64_t P, void *y, OnnxDType ydt, uint8_t *q)
{
	const OnnxQconvKern *k = onnx_qconv_kern();
	int32_t		lo = ydt == ONNX_DTYPE_INT8 ? -128 : 0,
				hi = ydt == ONNX_DTYPE_INT8 ? 127 : 255;

	if (r->qlinear && mg == 1)
	{
		k->requant_plane(acc, np, r->bias ? r->bias[m0] : 0, r->mult[m0], r->yz, lo, hi,
						 (uint8_t *) y + m0 * P + p0);
		return;
	}
	if (r->qlinear)
	{
		/* requantized row by row (vectorized over channels), then transposed */
		k->requant_rows(acc, np, mg, mg, r->bias ? r->bias + m0 : NULL, r->mult + m0, r->yz, lo, hi, q);
		k->transpose_u8(q, np, mg, (uint8_t *) y + m0 * P + p0, P);
		return;
	}
	/* ConvIntegerToFloat: transposed and scaled in registers where that pays */
	if (r->fscale && onnx_qconv_store_f32(acc, np, mg, r->bias ? r->bias + m0 : NULL, r->fscale + m0,
										  (float *) y + m0 * P + p0, P))
		return;

	/*
	 * ConvInteger (ConvIntegerToFloat: scaled to float): blocks of 64
	 * positions, so the strided reads of acc stay in cache
	 */
	for (int64_t b0 = 0; b0 < np; b0 += 64)
	{
		int64_t		b1 = b0 + 64 < np ? b0 + 64 : np;

		for (int64_t j = 0; j < mg; j++)
		{
			int64_t		m = m0 + j;
			int32_t		b = r->bias ? r->bias[m] : 0;
			const int32_t *a = acc + j;

			if (r->fscale)
			{
				float	   *yf = (float *) y + m * P + p0,
							s = r->fscale[m];

				for (int64_t p = b0; p < b1; p++)
					yf[p] = (float) (a[p * mg] + b) * s;
			}
			else
			{
				int32_t    *yr = (int32_t *) y + m * P + p0;

				for (int64_t p = b0; p < b1; p++)
					yr[p] = a[p * mg] + b;
			}
		}
	}
}

/*
 * Channels m0 .. m0+nch of one image's y (nch, P) int32 in place ->
 * act(float(y) * fscale[m] + fbias[m]) (ConvIntegerToFloat), while the
 * block is in cache.
 */
static void
scale_in_place(const QConvRun *r, void *y, int64_t m0, int64_t nch)
{
	int64_t		P = r->g.out_size;

	for (int64_t m = 0; m < nch; m++)
	{
		int32_t    *a = (int32_t *) y + m * P;
		float	   *f = (float *) a,
					s = r->fscale[m0 + m];

		for (int64_t p = 0; p < P; p++)
			f[p] = (float) a[p] * s;
	}
	if (r->fbias || r->fact)
		onnx_act_rows_f32(r->fact, (float *) y, nch, P, P, r->fbias ? r->fbias + m0 : NULL);
}

/*
 * Whether the patches of a convolution are the transposed image itself:
 * a 1x1 kernel (1 or 2 spatial dims), stride 1, no padding.
 */
static bool
pointwise(const ConvGeom *g)
{
	if (g->nsp > 2 || g->k_size != 1 || g->out_size != g->in_size)
		return false;
	for (int d = 0; d < g->nsp; d++)
		if (g->s[d] != 1 || g->pb[d] != 0)
			return false;
	return true;
}

/* Depthwise: acc (P) of channel c = sum over taps (x - xz) * (w - wz). */
static void
depthwise(const QConvRun *r, const uint8_t *x, bool xs, const uint8_t *w, bool ws, int64_t c,
		  int32_t *acc)
{
	const ConvGeom *g = &r->g;
	int64_t		KK = g->k_size;
	int64_t		o[ONNX_MAX_RANK] = {0};

	for (int64_t p = 0; p < g->out_size; p++)
	{
		int64_t		kk[ONNX_MAX_RANK] = {0};
		int32_t		sum = 0;

		for (int64_t t = 0; t < KK; t++)
		{
			int64_t		off = 0;
			bool		in = true;

			for (int d = 0; d < g->nsp; d++)
			{
				int64_t		cc = o[d] * g->s[d] - g->pb[d] + kk[d] * g->d[d];

				in = in && cc >= 0 && cc < g->in[d];
				off = off * g->in[d] + cc;
			}
			if (in)
			{
				int32_t		xv = xs ? (int8_t) x[off] : x[off];
				int32_t		wv = ws ? (int8_t) w[c * KK + t] : w[c * KK + t];

				sum += (xv - r->xz) * (wv - r->wz[c]);
			}
			for (int d = g->nsp - 1; d >= 0; d--)
			{
				if (++kk[d] < g->k[d])
					break;
				kk[d] = 0;
			}
		}
		acc[p] = sum;
		for (int d = g->nsp - 1; d >= 0; d--)
		{
			if (++o[d] < g->out[d])
				break;
			o[d] = 0;
		}
	}
}

/*
 * Depthwise on qconv_dw_vnni.c's kernel, every image and channel into y
 * (requantization fused; ConvIntegerToFloat: scaled, biased and
 * activated per block of channels, r->fdone), when it takes r's geometry
 * on this CPU; *done false otherwise (nothing written).  The weights go as w - wz when that
 * fits int8 for the channel, else as int8 (uint8 w less 128) with their
 * zero point.
 */
static OnnxStatus
depthwise_vnni(OnnxKernelCtx *ctx, QConvRun *r, const OnnxTensor *x, const OnnxTensor *w,
			   OnnxTensor *y, bool *done)
{
	ConvGeom2D	v;
	int64_t		plane,
				KK = r->g.k_size,
				P = r->g.out_size;
	bool		ws = w->dtype == ONNX_DTYPE_INT8,
				xs = x->dtype == ONNX_DTYPE_INT8;
	int32_t		lo = y->dtype == ONNX_DTYPE_INT8 ? -128 : 0,
				hi = y->dtype == ONNX_DTYPE_INT8 ? 127 : 255,
			   *wzs;
	int8_t	   *wd;
	uint8_t    *xp;
	const QConvPacked *pre = ctx->node->prepared;

	*done = false;
	if (r->g.nsp > 2)
		return ONNX_OK;
	cpq_geom_2d(&r->g, &v);
	if (!onnx_qdw_vnni_ok(&v, &plane))
		return ONNX_OK;
	/* wd (M, KK) and wzs (M) as the kernel takes them: from load, or now */
	if (pre && pre->dws && pre->group == r->group)
	{
		wd = pre->dws;
		wzs = pre->dwzs;
	}
	else
	{
		if ((wd = onnx_kernel_scratch(ctx, (size_t) w->count, 1)) == NULL ||
			(wzs = onnx_kernel_scratch(ctx, (size_t) r->M, sizeof(int32_t))) == NULL)
			return ctx->err->status;
		onnx_qpw_vnni_prep(w->data, ws, r->M, KK, r->wz, wd, KK, wzs, NULL);
	}
	if ((xp = onnx_kernel_scratch(ctx, (size_t) plane, 1)) == NULL)
		return ctx->err->status;
	/* blocks of channels between the checks for cancellation */
	for (int64_t n = 0; n < r->N; n++)
		for (int64_t m = 0; m < r->M; m += 32)
		{
			int64_t		nch = r->M - m < 32 ? r->M - m : 32;
			const uint8_t *xc = (const uint8_t *) x->data + (n * r->C + m) * r->g.in_size;
			int64_t		at = (n * r->M + m) * P;

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			onnx_qdw_vnni_channels(&v, xc, nch, xs, r->xz, wd + m * KK, wzs + m,
								   r->bias ? r->bias + m : NULL, r->qlinear ? r->mult + m : NULL,
								   r->yz, lo, hi, xp, r->qlinear ? (uint8_t *) y->data + at : NULL,
								   r->qlinear ? NULL : (int32_t *) y->data + at);
			if (r->fscale)
				scale_in_place(r, (int32_t *) y->data + at, m, nch);
		}
	*done = true;
	r->fdone = r->fscale != NULL;
	return ONNX_OK;
}

/*
 * Columns of output positions p0 .. p0+np of the channels-first patches
 * (K = Cg * k_h * k_w rows, ld bytes apart; row (c, kh, kw) holds tap
 * (kh, kw) of channel c of every position) from the group's channels x
 * (Cg planes), xz where a window leaves the image; 1 or 2 spatial dims.
 */
static void
patch_cols(const ConvGeom *g, const uint8_t *x, int64_t Cg, uint8_t xz, int64_t p0, int64_t np,
		   uint8_t *pt, int64_t ld)
{
	ConvGeom2D	v;
	uint8_t    *row = pt;

	cpq_geom_2d(g, &v);
	for (int64_t c = 0; c < Cg; c++)
		for (int64_t kh = 0; kh < v.k_h; kh++)
			for (int64_t kw = 0; kw < v.k_w; kw++, row += ld)
				for (int64_t p = p0; p < p0 + np;)
				{
					int64_t		oh = p / v.out_w,
								ow = p % v.out_w,
								n = v.out_w - ow < p0 + np - p ? v.out_w - ow : p0 + np - p,
								ih = oh * v.s_h - v.p_h + kh * v.d_h,
								off = kw * v.d_w - v.p_w;
					uint8_t    *d = row + (p - p0);

					if (ih < 0 || ih >= v.in_h)
						memset(d, xz, (size_t) n);
					else
					{
						const uint8_t *src = x + (c * v.in_h + ih) * v.in_w + off;
						int64_t		i0 = 0,
									i1 = n;

						/* [i0, i1): the columns inside the image */
						while (i0 < n && (ow + i0) * v.s_w + off < 0)
							d[i0++] = xz;
						while (i1 > i0 && (ow + i1 - 1) * v.s_w + off >= v.in_w)
							d[--i1] = xz;
						src += ow * v.s_w;
						if (v.s_w == 1)
							memcpy(d + i0, src + i0, (size_t) (i1 - i0));
						else if (v.s_w == 2)
							for (int64_t i = i0; i < i1; i++)
								d[i] = src[2 * i];
						else
							for (int64_t i = i0; i < i1; i++)
								d[i] = src[i * v.s_w];
					}
					p += n;
				}
}

/*
 * A QLinearConv or ConvIntegerToFloat on qconv_pw_vnni.c's kernel, every
 * image and group into y, channels-first throughout: pointwise, the
 * image's planes are the kernel's rows; else blocks of output positions
 * of the channels-first patches (patch_cols, about 32 KiB).  The weights
 * come prepared at load (qconv_pack) or are prepared now; the positions
 * go in chunks between the checks for cancellation.  ConvIntegerToFloat:
 * float(acc) * fscale, then the fused bias and activation over each chunk
 * while it is in cache (r->fdone).
 */
static OnnxStatus
direct_vnni(OnnxKernelCtx *ctx, QConvRun *r, const OnnxTensor *x, const OnnxTensor *w,
			OnnxTensor *y)
{
	int64_t		Kp = (r->K + 3) / 4 * 4,
				P = r->g.out_size,
				chunk;
	bool		xs = x->dtype == ONNX_DTYPE_INT8,
				pw = pointwise(&r->g);
	int32_t		lo = y->dtype == ONNX_DTYPE_INT8 ? -128 : 0,
				hi = y->dtype == ONNX_DTYPE_INT8 ? 127 : 255,
				xzu = xs ? r->xz + 128 : r->xz,
			   *wzs,
			   *wsum,
			   *corr;
	int8_t	   *ws;
	uint8_t    *xp,
			   *pt = NULL;
	const QConvPacked *pre = ctx->node->prepared;

	if (onnx_mul_overflow_i64(r->M, Kp, &chunk) || onnx_mul_overflow_i64(Kp, 64, &chunk) ||
		onnx_mul_overflow_i64(Kp * 64, r->Mg, &chunk))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "convolution too large");
	/* about 2^22 multiply-adds between the checks, whole blocks of 64 */
	chunk = ((int64_t) 1 << 22) / (Kp * r->Mg) / 64 * 64;
	if (chunk < 64)
		chunk = 64;
	if (!pw && chunk > ((int64_t) 32 << 10) / Kp)
		chunk = ((int64_t) 32 << 10) / Kp / 64 * 64 > 64 ? ((int64_t) 32 << 10) / Kp / 64 * 64 : 64;
	if ((corr = onnx_kernel_scratch(ctx, (size_t) r->M, sizeof(int32_t))) == NULL ||
		(xp = onnx_kernel_scratch(ctx, (size_t) (Kp * 64), 1)) == NULL ||
		(!pw && (pt = onnx_kernel_scratch(ctx, (size_t) (r->K * chunk), 1)) == NULL))
		return ctx->err->status;
	if (pre && pre->dws && pre->group == r->group)
	{
		ws = pre->dws;
		wzs = pre->dwzs;
		wsum = pre->dwsum;
	}
	else
	{
		if ((ws = onnx_kernel_scratch(ctx, (size_t) (r->M * Kp), 1)) == NULL ||
			(wzs = onnx_kernel_scratch(ctx, (size_t) r->M, sizeof(int32_t))) == NULL ||
			(wsum = onnx_kernel_scratch(ctx, (size_t) r->M, sizeof(int32_t))) == NULL)
			return ctx->err->status;
		/* W (M, Cg, KK): a row's order is the patches' (channel, tap) */
		onnx_qpw_vnni_prep(w->data, w->dtype == ONNX_DTYPE_INT8, r->M, r->K, r->wz, ws, Kp, wzs, wsum);
	}
	onnx_qpw_vnni_corr(r->M, r->K, wzs, wsum, r->bias, xzu, corr);
	r->fdone = r->fscale != NULL;
	for (int64_t n = 0; n < r->N; n++)
		for (int64_t gi = 0; gi < r->group; gi++)
		{
			const uint8_t *xg = (const uint8_t *) x->data + (n * r->C + gi * r->Cg) * r->g.in_size;
			uint8_t    *yg = r->fscale ? NULL : (uint8_t *) y->data + (n * r->M + gi * r->Mg) * P;
			float	   *fy = r->fscale ? (float *) y->data + n * r->M * P : NULL;
			int64_t		m0 = gi * r->Mg;

			for (int64_t p0 = 0; p0 < P; p0 += chunk)
			{
				int64_t		np = P - p0 < chunk ? P - p0 : chunk;

				if (onnx_kernel_should_abort(ctx))
					return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
				if (!pw)
					patch_cols(&r->g, xg, r->Cg, (uint8_t) r->xz, p0, np, pt, np);
				onnx_qpw_vnni_run(pw ? xg + p0 : pt, pw ? P : np, r->K, np, xs, ws + m0 * Kp, r->Mg,
								  wzs + m0, corr + m0, fy ? r->fscale + m0 : r->mult + m0, r->yz, lo,
								  hi, xp, fy ? NULL : yg + p0, fy ? fy + m0 * P + p0 : NULL, P);
				if (fy && (r->fbias || r->fact))
					onnx_act_rows_f32(r->fact, fy + m0 * P + p0, r->Mg, np, P,
									  r->fbias ? r->fbias + m0 : NULL);
			}
		}
	return ONNX_OK;
}

/* W_g^T of group gi packed now (kernel memory), or NULL. */
static OnnxQgemmB *
pack_weights_now(OnnxKernelCtx *ctx, const QConvRun *r, const OnnxTensor *w, int64_t gi)
{
	uint8_t    *tmp = onnx_kernel_alloc(ctx, (size_t) (r->Mg * r->K + 1));
	OnnxQgemmB *pb;

	if (tmp == NULL)
		return NULL;
	permute_w((const uint8_t *) w->data + gi * r->Mg * r->K, r->Mg, r->Cg, r->g.k_size, tmp);
	pb = onnx_qmm_pack_now(ctx, r->K, r->Mg, tmp, r->K, true, w->dtype == ONNX_DTYPE_INT8,
						   r->wz + gi * r->Mg, r->Mg);
	onnx_kernel_free(ctx, tmp);
	return pb;
}

/*
 * Output positions per block of the GEMM path: the block's patches (rows
 * of ld bytes) and its int32 products (Mg per row) stay near 128 KiB, in
 * the core's cache; a multiple of the microkernel's rows, at least four
 * tiles.
 */
static int64_t
block_rows(int64_t P, int64_t ld, int64_t Mg)
{
	int64_t		per = ld > 4 * Mg ? ld : 4 * Mg,
				np = (((int64_t) 128 << 10) / (per > 0 ? per : 1)) / ONNX_QGEMM_MR * ONNX_QGEMM_MR;

	if (np < 4 * ONNX_QGEMM_MR)
		np = 4 * ONNX_QGEMM_MR;
	return np < P ? np : P;
}

/*
 * acc (np, Mg) = patches a (np rows lda bytes apart, int8 when xs) @
 * W_g^T, zero points included.  uint8 rows on the VNNI kernel with lda >=
 * Kp are read in place (bytes K .. Kp multiply B's zero padding), their
 * row sums skipped when every packed w zero point is 0 (symmetric
 * weights: the sums' term vanishes); else onnx_qmm_2d packs them.  rs:
 * scratch of np int32.
 */
static bool
qconv_gemm(OnnxKernelCtx *ctx, const QConvRun *r, const OnnxQgemmB *pb, const uint8_t *a,
		   int64_t lda, int64_t np, bool xs, int32_t *rs, int32_t *acc)
{
	bool		sym = true;

	if (xs || pb->isa != ONNX_QGEMM_VNNI || lda < pb->Kp)
		return onnx_qmm_2d(ctx, pb, np, a, lda, xs, &r->xz, 1, acc, r->Mg);
	for (int64_t n = 0; n < pb->N && sym; n++)
		sym = pb->zp[n] == 0;
	if (sym)
		memset(rs, 0, sizeof(int32_t) * (size_t) np);
	else
		onnx_qgemm_row_sums(pb, np, a, lda, rs);
	onnx_qgemm_run(pb, np, a, lda, rs, &r->xz, 1, false, acc, r->Mg, onnx_kernel_threads(ctx));
	return true;
}

/*
 * The depthwise convolutions without qconv_dw_vnni.c's kernel: every image
 * and channel into y.
 */
static OnnxStatus
qconv_depthwise(OnnxKernelCtx *ctx, QConvRun *r, const OnnxTensor *x, const OnnxTensor *w,
				OnnxTensor *y)
{
	int64_t		P = r->g.out_size;
	size_t		es = y->dtype == ONNX_DTYPE_INT32 || y->dtype == ONNX_DTYPE_FLOAT ? 4 : 1;
	int32_t    *acc;
	int64_t    *dws = NULL;
	int64_t		nxp = 0,
				nacx = 0;

	if (r->g.nsp <= 2)
	{
		ConvGeom2D	v;

		cpq_geom_2d(&r->g, &v);
		if (!onnx_dw_plane_sizes(&v, &nxp, &nacx) || nxp > INT32_MAX / 8 || nacx > INT32_MAX / 8)
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "convolution too large");
		if ((dws = onnx_kernel_scratch(ctx, (size_t) (2 * r->g.k_size + nxp + nacx), sizeof(int64_t))) == NULL)
			return ctx->err->status;
	}
	if ((acc = onnx_kernel_scratch(ctx, (size_t) P, sizeof(int32_t))) == NULL)
		return ctx->err->status;
	for (int64_t n = 0; n < r->N; n++)
		for (int64_t gi = 0; gi < r->group; gi++)
		{
			const uint8_t *xg = (const uint8_t *) x->data + (n * r->C + gi) * r->g.in_size;

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			if (dws)
				depthwise_2d(r, xg, x->dtype == ONNX_DTYPE_INT8, w->data, w->dtype == ONNX_DTYPE_INT8, gi,
							 dws, (int32_t *) (dws + r->g.k_size), (int32_t *) (dws + 2 * r->g.k_size),
							 (int32_t *) (dws + 2 * r->g.k_size) + nxp, acc);
			else
				depthwise(r, xg, x->dtype == ONNX_DTYPE_INT8, w->data, w->dtype == ONNX_DTYPE_INT8, gi, acc);
			store_out(r, acc, gi, 1, 0, P, P, (char *) y->data + (size_t) (n * r->M * P) * es, y->dtype, NULL);
		}
	return ONNX_OK;
}

/*
 * The convolution of every image and group into y.  The GEMM path runs in
 * blocks of output positions (block_rows): per block the patches are
 * built (or, pointwise, are the transposed image itself), multiplied and
 * requantized into y while they are in cache.
 */
static OnnxStatus
qconv_compute(OnnxKernelCtx *ctx, QConvRun *r, const OnnxTensor *x, const OnnxTensor *w,
			  OnnxTensor *y)
{
	const QConvPacked *pre = ctx->node->prepared;
	int64_t		P = r->g.out_size;
	size_t		es = y->dtype == ONNX_DTYPE_INT32 || y->dtype == ONNX_DTYPE_FLOAT ? 4 : 1;
	bool		pw = pointwise(&r->g),
				nd = r->g.nsp > 2,
				xs = x->dtype == ONNX_DTYPE_INT8;
	uint8_t    *pt = NULL,
			   *hwc = NULL,
			   *q = NULL;
	int32_t    *acc,
			   *rs;
	int64_t		ld,
				ldc,
				nb,
				ptn;
	bool		inplace;
	OnnxStatus	st = ONNX_OK;

	if (pre && pre->group != r->group)
		pre = NULL;
	if (r->Cg == 1 && r->Mg == 1)
	{
		bool		done;

		if ((st = depthwise_vnni(ctx, r, x, w, y, &done)) != ONNX_OK)
			return st;
		if (done)
			return ONNX_OK;
		return qconv_depthwise(ctx, r, x, w, y);
	}
	/*
	 * The channels-first kernel's vectors are 16 output positions: under
	 * QPW_MIN_POSITIONS (a squeeze-excitation 1x1 map, a spectrogram's few
	 * frames) they would be mostly empty, and the GEMM path, whose vectors
	 * are output channels, is faster.
	 */
	if ((r->qlinear || r->fscale) && !nd && (pw || r->Cg <= 4) && P >= QPW_MIN_POSITIONS &&
		onnx_qpw_vnni_ok())
		return direct_vnni(ctx, r, x, w, y);
	/*
	 * Patch rows padded to the VNNI group, so that they are read in place;
	 * pointwise, the pixels themselves are the rows: padded alike, every
	 * group's rows then read past its channels into zero rows of B.
	 */
	inplace = !xs && onnx_qgemm_isa() == ONNX_QGEMM_VNNI;
	ld = !nd && inplace ? (r->K + 3) / 4 * 4 : r->K;
	ldc = pw && inplace ? (r->C + 3) / 4 * 4 : r->C;
	if (onnx_mul_overflow_i64(P, ld, &ptn) || onnx_mul_overflow_i64(P, r->Mg, &ptn) ||
		onnx_mul_overflow_i64(P * r->Mg, (int64_t) sizeof(int32_t), &ptn) ||
		onnx_mul_overflow_i64(r->g.in_size, ldc, &ptn) || ptn > INT64_MAX - QC_SLACK)
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "convolution too large");
	nb = nd ? P : block_rows(P, pw ? ldc : ld, r->Mg);
	if ((acc = onnx_kernel_scratch(ctx, (size_t) (nb * r->Mg), sizeof(int32_t))) == NULL ||
		(rs = onnx_kernel_scratch(ctx, (size_t) nb, sizeof(int32_t))) == NULL ||
		(!pw && (pt = onnx_kernel_scratch_zero(ctx, (size_t) (nb * ld + QC_SLACK), 1)) == NULL) ||
		(!nd && (hwc = (ldc > r->C ? onnx_kernel_scratch_zero : onnx_kernel_scratch)
				 (ctx, (size_t) (r->g.in_size * ldc + QC_SLACK), 1)) == NULL) ||
		(r->qlinear && (q = onnx_kernel_scratch(ctx, (size_t) (nb * r->Mg), 1)) == NULL))
		return ctx->err->status;
	for (int64_t n = 0; n < r->N && st == ONNX_OK; n++)
	{
		/* the image's pixels (in_size, ldc), once for all groups */
		if (!nd)
			onnx_qconv_kern()->transpose_u8((const uint8_t *) x->data + n * r->C * r->g.in_size, r->C,
											r->g.in_size, hwc, ldc);
		for (int64_t gi = 0; gi < r->group && st == ONNX_OK; gi++)
		{
			const uint8_t *xg = (const uint8_t *) x->data + (n * r->C + gi * r->Cg) * r->g.in_size;
			char	   *yimg = (char *) y->data + (size_t) (n * r->M * P) * es;
			const OnnxQgemmB *pb = pre ? pre->pb[gi] : NULL;
			OnnxQgemmB *tmp = NULL;

			if (nd)
				build_patches_nd(&r->g, xg, r->Cg, (uint8_t) r->xz, pt);
			if (pb == NULL && (pb = tmp = pack_weights_now(ctx, r, w, gi)) == NULL)
				return ctx->err->status;
			for (int64_t p0 = 0; p0 < P; p0 += nb)
			{
				int64_t		np = P - p0 < nb ? P - p0 : nb;
				const uint8_t *a = pt;
				int64_t		lda = ld;

				if (onnx_kernel_should_abort(ctx))
				{
					st = onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
					break;
				}
				if (pw)
				{
					a = hwc + p0 * ldc + gi * r->Cg;
					lda = ldc;
				}
				else if (!nd)
					build_patch_rows(&r->g, hwc + gi * r->Cg, ldc, r->Cg, (uint8_t) r->xz, p0, np, pt, ld);
				if (!qconv_gemm(ctx, r, pb, a, lda, np, xs, rs, acc))
				{
					st = ctx->err->status;
					break;
				}
				store_out(r, acc, gi * r->Mg, r->Mg, p0, np, P, yimg, y->dtype, q);
			}
			if (tmp)
				onnx_kernel_free(ctx, tmp);
		}
	}
	return st;
}

/*
 * Shapes, geometry and zero points of x, w (inputs xi, wi; zero points
 * xzi, wzi); dims receives Y's shape.  r->wz is node scratch; r->bias
 * points into b.
 */
static OnnxStatus
qconv_setup(OnnxKernelCtx *ctx, const OnnxTensor *x, const OnnxTensor *xz, const OnnxTensor *w,
			const OnnxTensor *wz, const OnnxTensor *b, QConvRun *r, int64_t *dims)
{
	const int64_t *ks;
	int			nks = onnx_attr_ints(ctx->node, "kernel_shape", &ks);
	int32_t    *s;
	OnnxStatus	st;

	r->group = onnx_attr_int(ctx->node, "group", 1);
	if (x == NULL || w == NULL || x->rank < 3 || w->rank != x->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X (N,C,spatial...) and W of the same rank are required");
	if (!(T_8BIT & ONNX_T(x->dtype)) || !(T_8BIT & ONNX_T(w->dtype)))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "x and w must be int8 or uint8, got %s and %s",
								onnx_dtype_name(x->dtype), onnx_dtype_name(w->dtype));
	r->N = x->dims[0];
	r->C = x->dims[1];
	r->M = w->dims[0];
	if (r->group < 1 || r->C % r->group != 0 || r->M % r->group != 0 || w->dims[1] * r->group != r->C)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "W does not match the input channels and group");
	if (nks != 0 && nks != x->rank - 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "kernel_shape does not match the spatial rank");
	for (int i = 0; i < nks; i++)
		if (ks[i] != w->dims[i + 2])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "kernel_shape differs from W's shape");
	if ((xz && (xz->dtype != x->dtype || xz->count != 1)) ||
		(wz && (wz->dtype != w->dtype || (wz->count != 1 && !(wz->rank == 1 && wz->dims[0] == r->M)))))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"x zero point must be a scalar, w zero point a scalar or [%lld], of their inputs' types",
								(long long) r->M);
	if (b && (b->dtype != ONNX_DTYPE_INT32 || b->rank != 1 || b->dims[0] != r->M))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "B must be int32 [%lld]", (long long) r->M);
	if ((st = cpq_geom_forward(ctx, x->rank - 2, x->dims + 2, w->dims + 2, false, &r->g)) != ONNX_OK)
		return st;
	r->Cg = r->C / r->group;
	r->Mg = r->M / r->group;
	if (onnx_mul_overflow_i64(r->Cg, r->g.k_size, &r->K) || r->K > INT32_MAX)
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "kernel too large");
	dims[0] = r->N;
	dims[1] = r->M;
	memcpy(dims + 2, r->g.out, sizeof(int64_t) * (size_t) r->g.nsp);
	if ((s = onnx_kernel_scratch(ctx, (size_t) r->M, sizeof(int32_t))) == NULL)
		return ctx->err->status;
	onnx_qmm_zp(wz, s, r->M);
	r->wz = s;
	r->xz = 0;
	onnx_qmm_zp(xz, &r->xz, 1);
	r->bias = b ? b->data : NULL;
	return ONNX_OK;
}

/*
 * r->fscale (M) of a ConvIntegerToFloat: scale (input 4, one value or M;
 * with input 5, the float32 product of the two, as the Mul the optimizer
 * took them from) times the node's fused_scale where it has one.
 */
static OnnxStatus
float_scales(OnnxKernelCtx *ctx, QConvRun *r)
{
	const OnnxTensor *s = onnx_in(ctx, 4),
			   *s2 = ctx->node->n_inputs > 5 ? onnx_in(ctx, 5) : NULL,
			   *fs = ctx->node->fused_scale,
			   *fb = ctx->node->fused_bias;

	if (s == NULL || s->dtype != ONNX_DTYPE_FLOAT || (s->count != 1 && s->count != r->M) ||
		(s2 && (s2->dtype != ONNX_DTYPE_FLOAT || (s2->count != 1 && s2->count != r->M))) ||
		(fs && fs->count != r->M) || (fb && fb->count != r->M))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"scale must be float32 with one value or %lld", (long long) r->M);
	if ((r->fscale = onnx_kernel_scratch(ctx, (size_t) r->M, sizeof(float))) == NULL)
		return ctx->err->status;
	for (int64_t m = 0; m < r->M; m++)
	{
		float		v = ((const float *) s->data)[s->count == 1 ? 0 : m];

		if (s2)
			v = v * ((const float *) s2->data)[s2->count == 1 ? 0 : m];

		r->fscale[m] = fs ? v * ((const float *) fs->data)[m] : v;
	}
	return ONNX_OK;
}

/*
 * ConvInteger: x, w (int8/uint8), x_zero_point, w_zero_point -> int32 Y.
 *
 * ConvIntegerToFloat (the engine's, made by optimize.c from ConvInteger ->
 * Cast(float) -> Mul(scale) [-> per-channel Mul / Add / BatchNormalization]
 * [-> activation]): the same inputs and scale (float32, one value or one
 * per output channel; or, inputs 4 and 5, two such factors of it) ->
 *	 Y (N, M, out...) = act(float(ConvInteger) * (scale[m] * fused_scale[m])
 *						   + fused_bias[m])
 * fused_scale, fused_bias (M) and act are the node's (optimizer); without
 * fused_scale the product is float(acc) * scale, then + bias: the unfused
 * chain's roundings.
 */
static OnnxStatus
run_conv_integer(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *w = onnx_in(ctx, 1),
			   *fb = ctx->node->fused_bias;
	bool		to_float = strcmp(ctx->node->op_type, "ConvIntegerToFloat") == 0;
	int64_t		dims[ONNX_MAX_RANK],
				P;
	QConvRun	r;
	OnnxStatus	st;
	OnnxTensor *y;

	memset(&r, 0, sizeof(r));
	if ((st = qconv_setup(ctx, x, onnx_in(ctx, 2), w, onnx_in(ctx, 3), NULL, &r, dims)) != ONNX_OK ||
		(to_float && (st = float_scales(ctx, &r)) != ONNX_OK))
		return st;
	if (to_float)
	{
		r.fbias = fb ? fb->data : NULL;
		r.fact = onnx_act_is_set(&ctx->node->fused_act) ? &ctx->node->fused_act : NULL;
	}
	if ((y = onnx_out_raw(ctx, 0, to_float ? ONNX_DTYPE_FLOAT : ONNX_DTYPE_INT32, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0 || (st = qconv_compute(ctx, &r, x, w, y)) != ONNX_OK || !to_float)
		return st;
	P = r.g.out_size;
	if (!r.fdone && (r.fbias || r.fact))
		for (int64_t n = 0; n < r.N; n++)
			onnx_act_rows_f32(r.fact, (float *) y->data + n * r.M * P, r.M, P, P, r.fbias);
	return ONNX_OK;
}

/*
 * QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B
 *	 -> y = saturate(round((acc + B) * x_scale * w_scale[m] / y_scale) + y_zp)
 * with w_scale / w_zp scalar or per output channel.
 */
static OnnxStatus
run_qlinear_conv(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *xs = onnx_in(ctx, 1),
			   *w = onnx_in(ctx, 3),
			   *ws = onnx_in(ctx, 4),
			   *ys = onnx_in(ctx, 6),
			   *yzp = onnx_in(ctx, 7);
	int64_t		dims[ONNX_MAX_RANK],
				M;
	int32_t    *bq;
	const OnnxTensor *bias;
	OnnxTensor	bt;
	OnnxDType	ydt;
	QConvRun	r;
	OnnxStatus	st;
	OnnxTensor *y;

	memset(&r, 0, sizeof(r));
	if (x == NULL || w == NULL || xs == NULL || ws == NULL || ys == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "x, x_scale, w, w_scale and y_scale are required");
	M = w->rank >= 1 ? w->dims[0] : 0;
	if (xs->count != 1 || ys->count != 1 || (ws->count != 1 && !(ws->rank == 1 && ws->dims[0] == M)) ||
		!onnx_dtype_is_float(xs->dtype) || !onnx_dtype_is_float(ws->dtype) || !onnx_dtype_is_float(ys->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"scales must be float scalars (w_scale may be per output channel)");
	ydt = yzp ? yzp->dtype : x->dtype;
	if (!(T_8BIT & ONNX_T(ydt)) || (yzp && yzp->count != 1))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "y_zero_point must be an int8 or uint8 scalar");
	bias = onnx_in(ctx, 8);
	if (bias && bias->dtype == ONNX_DTYPE_FLOAT && bias->rank == 1 && bias->dims[0] == M)
	{
		/*
		 * a float32 bias (only the QDQ rewrite, qdq_fuse.c, makes this):
		 * rounded to int32 with scale x_scale * w_scale[m], as
		 * quantize_static quantizes biases
		 */
		if ((bq = onnx_kernel_scratch(ctx, (size_t) M, sizeof(int32_t))) == NULL)
			return ctx->err->status;
		for (int64_t m = 0; m < M; m++)
		{
			double		bs = (double) (float) onnx_tensor_get_f64(xs, 0) *
				(float) onnx_tensor_get_f64(ws, ws->count == 1 ? 0 : m);
			double		v = bs > 0 ? ((const float *) bias->data)[m] / bs : 0;

			bq[m] = (int32_t) (v > INT32_MAX ? INT32_MAX : v < -INT32_MAX ? -INT32_MAX : cpq_round_even(v));
		}
		bt = *bias;
		bt.dtype = ONNX_DTYPE_INT32;
		bt.data = bq;
		bias = &bt;
	}
	if ((st = qconv_setup(ctx, x, onnx_in(ctx, 2), w, onnx_in(ctx, 5), bias, &r, dims)) != ONNX_OK)
		return st;
	r.qlinear = true;
	r.yz = 0;
	onnx_qmm_zp(yzp, &r.yz, 1);
	if ((r.mult = onnx_kernel_scratch(ctx, (size_t) M, sizeof(float))) == NULL)
		return ctx->err->status;
	for (int64_t m = 0; m < M; m++)
		r.mult[m] = (float) onnx_tensor_get_f64(xs, 0) * (float) onnx_tensor_get_f64(ws, ws->count == 1 ? 0 : m) /
			(float) onnx_tensor_get_f64(ys, 0);
	if ((y = onnx_out_raw(ctx, 0, ydt, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	if ((st = qconv_compute(ctx, &r, x, w, y)) != ONNX_OK || ctx->node->fused_table == NULL)
		return st;
	/* the QLinearTable qdq_fuse.c folded in, over the output while it is in cache */
	if (ctx->node->fused_table->channels > 1 && ctx->node->fused_table->channels != M)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"y has not the %lld channels of its tables",
								(long long) ctx->node->fused_table->channels);
	onnx_qtable_apply(ctx->node->fused_table, y->data, y->data, y->dims[0], M, y->count / y->dims[0] / M);
	return ONNX_OK;
}

/*
 * The output shape (N, M, out...) of ConvInteger and QLinearConv from X's
 * and W's shapes where they are known statically (as Conv's), so the
 * load-time rewrites downstream (qdq_fuse.c) see the rank.
 */
static OnnxStatus
infer_qconv(OnnxInferCtx *ctx)
{
	int			w_in = strcmp(ctx->node->op_type, "QLinearConv") == 0 ? 3 : 1;
	const OnnxValueInfo *x = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	const OnnxValueInfo *w = ctx->n_inputs > w_in ? ctx->inputs[w_in] : NULL;

	if (x == NULL || w == NULL || x->rank < 3 || w->rank != x->rank)
		return ONNX_OK;
	cpq_infer_window(ctx, x->rank - 2, w->dims + 2, false, w->dims[0]);
	return ONNX_OK;
}

const OnnxOpDef onnx_ops_qconv[] = {
	ONNX_OP("", "ConvInteger", 10, ONNX_INPUTS(2, 4), ONNX_OUTPUTS(1, 1), .input0_types = T_8BIT,
		.out_type = ONNX_OUT_INT32, .infer = infer_qconv, .run = run_conv_integer,
		.pack = qconv_pack),
	ONNX_OP(ONNX_ENGINE_DOMAIN, "ConvIntegerToFloat", 1, ONNX_INPUTS(5, 6), ONNX_OUTPUTS(1, 1),
		.input0_types = T_8BIT, .out_type = ONNX_OUT_FLOAT, .infer = infer_qconv,
		.run = run_conv_integer, .pack = qconv_pack),
	ONNX_OP("", "QLinearConv", 10, ONNX_INPUTS(8, 9), ONNX_OUTPUTS(1, 1), .input0_types = T_8BIT,
		.out_type = ONNX_OUT_INPUT, .out_input = 7, .infer = infer_qconv, .run = run_qlinear_conv,
		.pack = qconv_pack),
	{0}
};
