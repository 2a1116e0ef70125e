/*-------------------------------------------------------------------------
 *
 * ops_pool.c
 *	  Pooling: MaxPool (with Indices), AveragePool, LpPool, their Global
 *	  forms, MaxUnpool, and the sampling operators RoiAlign and GridSample.
 *
 * Pools work on X (N,C,spatial...) plane by plane.  For every output
 * position the window's valid kernel range is computed per dimension, so
 * padding is never read.  float32 max and average pools run the
 * separable kernels of pool_fast.c; float64, LpPool and N-D Indices the
 * general core here; float16, bfloat16, int8 and uint8 are staged
 * through float32 (exactly).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "pool_fast.h"

typedef enum PoolMode
{
	POOL_MAX,
	POOL_AVG,
	POOL_LP
} PoolMode;

typedef struct PoolParams
{
	PoolMode	mode;
	bool		count_include_pad;
	bool		col_major;		/* storage_order = 1 for Indices */
	double		p;				/* LpPool norm */
} PoolParams;

/*
 * Pool core: x (NC, in...) -> y (NC, out...), idx (NC, out...) int64 or
 * NULL.  Indices are flat offsets into X (row- or column-major spatial).
 */
#define DEFINE_POOL_CORE(T, SFX) \
static OnnxStatus \
pool_core_##SFX(OnnxKernelCtx *ctx, const ConvGeom *g, const PoolParams *pp, \
				const T *x, T *y, int64_t *idx, int64_t NC) \
{ \
	int			nsp = g->nsp; \
	int64_t		cstride[ONNX_MAX_RANK], \
				rstride[ONNX_MAX_RANK]; \
\
	cstride[0] = 1; \
	for (int i = 1; i < nsp; i++) \
		cstride[i] = cstride[i - 1] * g->in[i - 1]; \
	rstride[nsp - 1] = 1; \
	for (int i = nsp - 2; i >= 0; i--) \
		rstride[i] = rstride[i + 1] * g->in[i + 1]; \
	for (int64_t nc = 0; nc < NC; nc++) \
	{ \
		const T    *xp = x + nc * g->in_size; \
		int64_t		o[ONNX_MAX_RANK] = {0}; \
\
		if (onnx_kernel_should_abort(ctx)) \
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled"); \
		for (int64_t op = 0; op < g->out_size; op++) \
		{ \
			int64_t		start[ONNX_MAX_RANK], \
						klo[ONNX_MAX_RANK], \
						khi[ONNX_MAX_RANK], \
						kk[ONNX_MAX_RANK]; \
			int64_t		cnt_valid = 1, \
						cnt_pad = 1; \
			double		acc = pp->mode == POOL_MAX ? -INFINITY : 0; \
			int64_t		best = -1; \
			bool		empty = false; \
\
			if ((op & 65535) == 65535 && onnx_kernel_should_abort(ctx)) \
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled"); \
			for (int i = 0; i < nsp; i++) \
			{ \
				int64_t		st = o[i] * g->s[i] - g->pb[i], \
							d = g->d[i], \
							hp; \
\
				start[i] = st; \
				klo[i] = st >= 0 ? 0 : (-st + d - 1) / d; \
				khi[i] = g->in[i] - st > 0 ? (g->in[i] - st + d - 1) / d : 0; \
				hp = g->in[i] + g->pe[i] - st > 0 ? (g->in[i] + g->pe[i] - st + d - 1) / d : 0; \
				if (khi[i] > g->k[i]) \
					khi[i] = g->k[i]; \
				if (hp > g->k[i]) \
					hp = g->k[i]; \
				if (klo[i] >= khi[i]) \
					empty = true; \
				cnt_valid *= khi[i] > klo[i] ? khi[i] - klo[i] : 0; \
				cnt_pad *= hp; \
				kk[i] = klo[i]; \
			} \
			if (!empty) \
				for (;;) \
				{ \
					int64_t		off = 0; \
					double		v; \
\
					for (int i = 0; i < nsp; i++) \
						off += (start[i] + kk[i] * g->d[i]) * rstride[i]; \
					v = (double) xp[off]; \
					if (pp->mode == POOL_MAX) \
					{ \
						if (v > acc || best < 0) \
						{ \
							acc = v; \
							best = off; \
						} \
					} \
					else if (pp->mode == POOL_AVG) \
						acc += v; \
					else \
						acc += pow(fabs(v), pp->p); \
					{ \
						int			i; \
\
						for (i = nsp - 1; i >= 0; i--) \
						{ \
							if (++kk[i] < khi[i]) \
								break; \
							kk[i] = klo[i]; \
						} \
						if (i < 0) \
							break; \
					} \
				} \
			if (pp->mode == POOL_AVG) \
				acc = acc / (double) (pp->count_include_pad ? cnt_pad : cnt_valid); \
			else if (pp->mode == POOL_LP) \
				acc = pow(acc, 1.0 / pp->p); \
			y[nc * g->out_size + op] = (T) acc; \
			if (idx) \
			{ \
				int64_t		flat = -1; \
\
				if (best >= 0) \
				{ \
					if (pp->col_major) \
					{ \
						int64_t		r = best; \
\
						flat = 0; \
						for (int i = 0; i < nsp; i++) \
						{ \
							flat += (r / rstride[i]) * cstride[i]; \
							r %= rstride[i]; \
						} \
					} \
					else \
						flat = best; \
					flat += nc * g->in_size; \
				} \
				idx[nc * g->out_size + op] = flat; \
			} \
			onnx_index_next(o, g->out, nsp); \
		} \
	} \
	return ONNX_OK; \
}

DEFINE_POOL_CORE(float, f32)
DEFINE_POOL_CORE(double, f64)

/*
 * float32 pools: the separable kernels of pool_fast.c, the 2-D indices
 * kernel, the plane reductions for the global pools; LpPool and N-D
 * Indices through the general core.
 */
static OnnxStatus
pool_f32(OnnxKernelCtx *ctx, const ConvGeom *g, const PoolParams *pp, bool global,
		 const float *x, float *y, int64_t *idx, int64_t NC)
{
	if (pp->mode == POOL_LP || (idx != NULL && g->nsp != 2))
		return pool_core_f32(ctx, g, pp, x, y, idx, NC);
	if (idx != NULL)
		return onnx_pool2d_max_idx_f32(ctx, g, pp->col_major, x, y, idx, NC);
	if (global)
		return onnx_global_pool_f32(ctx, pp->mode == POOL_MAX, x, y, NC, g->in_size);
	return onnx_pool_f32(ctx, g, pp->mode == POOL_MAX, pp->count_include_pad, x, y, NC);
}

/*
 * float16, bfloat16, int8, uint8 elements as float32 (all exact), and
 * back; one loop per type, so the 8-bit ones vectorize.
 */
static void
pool_stage_in(const OnnxTensor *t, float *f)
{
	int64_t		n = t->count;

	switch (t->dtype)
	{
		case ONNX_DTYPE_FLOAT16:
			for (int64_t i = 0; i < n; i++)
				f[i] = onnx_half_to_float(((const uint16_t *) t->data)[i]);
			break;
		case ONNX_DTYPE_BFLOAT16:
			for (int64_t i = 0; i < n; i++)
				f[i] = onnx_bf16_to_float(((const uint16_t *) t->data)[i]);
			break;
		case ONNX_DTYPE_INT8:
			for (int64_t i = 0; i < n; i++)
				f[i] = ((const int8_t *) t->data)[i];
			break;
		default:
			for (int64_t i = 0; i < n; i++)
				f[i] = ((const uint8_t *) t->data)[i];
			break;
	}
}

/* Back from float32; integers saturate (an empty max window is -inf). */
static void
pool_stage_out(const float *f, OnnxTensor *t)
{
	int64_t		n = t->count;

	switch (t->dtype)
	{
		case ONNX_DTYPE_FLOAT16:
			for (int64_t i = 0; i < n; i++)
				((uint16_t *) t->data)[i] = onnx_float_to_half(f[i]);
			break;
		case ONNX_DTYPE_BFLOAT16:
			for (int64_t i = 0; i < n; i++)
				((uint16_t *) t->data)[i] = onnx_float_to_bf16(f[i]);
			break;
		case ONNX_DTYPE_INT8:
			for (int64_t i = 0; i < n; i++)
				((int8_t *) t->data)[i] = (int8_t) (int32_t) (f[i] < -128.0f ? -128.0f : f[i] > 127.0f ? 127.0f : f[i]);
			break;
		default:
			for (int64_t i = 0; i < n; i++)
				((uint8_t *) t->data)[i] = (uint8_t) (int32_t) (f[i] < 0.0f ? 0.0f : f[i] > 255.0f ? 255.0f : f[i]);
			break;
	}
}

/*
 * Run a pool on tensor x into y (and indices): float32 directly, float64
 * through the double core, the narrow types staged through float32.
 */
static OnnxStatus
pool_dispatch(OnnxKernelCtx *ctx, const ConvGeom *g, const PoolParams *pp, bool global,
			  const OnnxTensor *x, OnnxTensor *y, OnnxTensor *ind)
{
	int64_t		NC = x->dims[0] * x->dims[1];
	int64_t    *idx = ind ? (int64_t *) ind->data : NULL;
	float	   *fx,
			   *fy;
	OnnxStatus	st;

	if (x->dtype == ONNX_DTYPE_FLOAT)
		return pool_f32(ctx, g, pp, global, x->data, y->data, idx, NC);
	if (x->dtype == ONNX_DTYPE_DOUBLE)
		return pool_core_f64(ctx, g, pp, x->data, y->data, idx, NC);
	if (x->dtype != ONNX_DTYPE_FLOAT16 && x->dtype != ONNX_DTYPE_BFLOAT16 &&
		x->dtype != ONNX_DTYPE_INT8 && x->dtype != ONNX_DTYPE_UINT8)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "pooling does not support %s",
								onnx_dtype_name(x->dtype));
	if ((fx = onnx_kernel_scratch(ctx, (size_t) x->count, sizeof(float))) == NULL ||
		(fy = onnx_kernel_scratch(ctx, (size_t) y->count, sizeof(float))) == NULL)
		return ctx->err->status;
	pool_stage_in(x, fx);
	st = pool_f32(ctx, g, pp, global, fx, fy, idx, NC);
	if (st == ONNX_OK)
		pool_stage_out(fy, y);
	return st;
}

/* LpPool's p: a float attribute in opset 1, an int from opset 2. */
static double
lp_norm(const OnnxNode *node)
{
	const OnnxAttr *a = onnx_attr(node, "p");

	if (a == NULL)
		return 2.0;
	return a->type == ONNX_ATTR_FLOAT ? (double) a->f : (double) a->i;
}

/*
 * Windowed pools: X (N,C,in...) -> Y (N,C,out...) with kernel_shape,
 * strides, pads/auto_pad, dilations and ceil_mode; MaxPool may also give
 * Indices (N,C,out...) int64.
 */
static OnnxStatus
pool_windowed(OnnxKernelCtx *ctx, PoolMode mode)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const int64_t *ks;
	int			nks = onnx_attr_ints(ctx->node, "kernel_shape", &ks);
	int64_t		storage = onnx_attr_int(ctx->node, "storage_order", 0);
	int64_t		dims[ONNX_MAX_RANK];
	PoolParams	pp;
	ConvGeom	g;
	OnnxStatus	st;
	OnnxTensor *y,
			   *ind = NULL;

	if (x == NULL || x->rank < 3)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must have shape (N, C, spatial...)");
	if (nks != x->rank - 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"kernel_shape needs %d values, got %d", x->rank - 2, nks);
	if (storage != 0 && storage != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "storage_order must be 0 or 1");
	memset(&pp, 0, sizeof(pp));
	pp.mode = mode;
	pp.count_include_pad = onnx_attr_int(ctx->node, "count_include_pad", 0) != 0;
	pp.col_major = storage == 1;
	pp.p = lp_norm(ctx->node);
	if (mode == POOL_LP && !(pp.p > 0 && pp.p < 1e6))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "LpPool p must be positive");
	for (int i = 2; i < x->rank; i++)
		if (x->dims[i] > ((int64_t) 1 << 60))
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "spatial dimension too large");
	if ((st = cpq_geom_forward(ctx, x->rank - 2, x->dims + 2, ks,
							   onnx_attr_int(ctx->node, "ceil_mode", 0) != 0, &g)) != ONNX_OK)
		return st;
	/* like onnxruntime: a pad must be smaller than the (dilated) window */
	for (int i = 0; i < g.nsp; i++)
		if (g.pb[i] >= (g.k[i] - 1) * g.d[i] + 1 || g.pe[i] >= (g.k[i] - 1) * g.d[i] + 1)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"pads (%lld, %lld) of dimension %d must be smaller than the window %lld",
									(long long) g.pb[i], (long long) g.pe[i], i,
									(long long) ((g.k[i] - 1) * g.d[i] + 1));
	dims[0] = x->dims[0];
	dims[1] = x->dims[1];
	memcpy(dims + 2, g.out, sizeof(int64_t) * g.nsp);
	/* every element of Y is written by the pool */
	if ((y = onnx_out_raw(ctx, 0, x->dtype, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (mode == POOL_MAX && ctx->n_outputs > 1 && ctx->outputs[1] != NULL &&
		(ind = onnx_out(ctx, 1, ONNX_DTYPE_INT64, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	return pool_dispatch(ctx, &g, &pp, false, x, y, ind);
}

static OnnxStatus run_max_pool(OnnxKernelCtx *ctx) { return pool_windowed(ctx, POOL_MAX); }
static OnnxStatus run_average_pool(OnnxKernelCtx *ctx) { return pool_windowed(ctx, POOL_AVG); }
static OnnxStatus run_lp_pool(OnnxKernelCtx *ctx) { return pool_windowed(ctx, POOL_LP); }

/* Global pools: X (N,C,in...) -> Y (N,C,1,...,1) over all spatial positions. */
static OnnxStatus
pool_global(OnnxKernelCtx *ctx, PoolMode mode)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		dims[ONNX_MAX_RANK];
	PoolParams	pp;
	ConvGeom	g;
	OnnxStatus	st;
	OnnxTensor *y;

	if (x == NULL || x->rank < 3)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must have shape (N, C, spatial...)");
	memset(&pp, 0, sizeof(pp));
	memset(&g, 0, sizeof(g));
	pp.mode = mode;
	pp.p = lp_norm(ctx->node);
	if (mode == POOL_LP && !(pp.p > 0 && pp.p < 1e6))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "GlobalLpPool p must be positive");
	g.nsp = x->rank - 2;
	dims[0] = x->dims[0];
	dims[1] = x->dims[1];
	for (int i = 0; i < g.nsp; i++)
	{
		g.in[i] = g.k[i] = x->dims[i + 2];
		g.s[i] = g.d[i] = 1;
		g.out[i] = 1;
		dims[i + 2] = 1;
	}
	if ((st = cpq_geom_sizes(ctx, &g)) != ONNX_OK)
		return st;
	if ((y = onnx_out_raw(ctx, 0, x->dtype, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	return pool_dispatch(ctx, &g, &pp, true, x, y, NULL);
}

static OnnxStatus run_global_average_pool(OnnxKernelCtx *ctx) { return pool_global(ctx, POOL_AVG); }
static OnnxStatus run_global_max_pool(OnnxKernelCtx *ctx) { return pool_global(ctx, POOL_MAX); }
static OnnxStatus run_global_lp_pool(OnnxKernelCtx *ctx) { return pool_global(ctx, POOL_LP); }

/*
 * MaxUnpool: X (N,C,in...), I (same shape, int64 flat offsets into the
 * unpooled tensor), output_shape (optional)
 *	 -> Y zero except Y[I[e]] = X[e].  The unpooled shape is
 *	 (in - 1) * s - pb - pe + k; a larger output_shape pads it at the end.
 */
static OnnxStatus
run_max_unpool(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ind = onnx_in(ctx, 1);
	const OnnxTensor *osh = onnx_in(ctx, 2);
	const int64_t *ks;
	int			nks = onnx_attr_ints(ctx->node, "kernel_shape", &ks);
	int			nsp;
	int64_t		s[ONNX_MAX_RANK],
				pads[2 * ONNX_MAX_RANK],
				inf[ONNX_MAX_RANK],
				dims[ONNX_MAX_RANK],
				total = 1;
	size_t		esz;
	OnnxStatus	st;
	OnnxTensor *y;

	if (x == NULL || ind == NULL || x->rank < 3 || ind->rank != x->rank ||
		ind->dtype != ONNX_DTYPE_INT64 || memcmp(x->dims, ind->dims, sizeof(int64_t) * x->rank) != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"X must be (N, C, spatial...) and I an int64 tensor of the same shape");
	nsp = x->rank - 2;
	if (nks != nsp)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "kernel_shape needs %d values", nsp);
	if ((st = cpq_attr_ints(ctx, "strides", nsp, 1, 1, s)) != ONNX_OK ||
		(st = cpq_attr_ints(ctx, "pads", 2 * nsp, 0, 0, pads)) != ONNX_OK)
		return st;
	inf[0] = x->dims[0];
	inf[1] = x->dims[1];
	for (int i = 0; i < nsp; i++)
	{
		int64_t		v;

		if (ks[i] < 1 || ks[i] > CONV_ATTR_MAX || x->dims[i + 2] > ((int64_t) 1 << 40))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "kernel_shape or input size out of range");
		v = (x->dims[i + 2] > 0 ? x->dims[i + 2] - 1 : 0) * s[i] - pads[i] - pads[nsp + i] + ks[i];
		if (v < 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "pads exceed the unpooled size");
		inf[i + 2] = v;
	}
	for (int i = 0; i < x->rank; i++)
		if (onnx_mul_overflow_i64(total, inf[i], &total))
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "unpooled size overflows");
	memcpy(dims, inf, sizeof(int64_t) * x->rank);
	if (osh)
	{
		if (osh->dtype != ONNX_DTYPE_INT64 || osh->rank != 1 || osh->count != x->rank)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "output_shape must be int64 [%d]", x->rank);
		for (int i = 0; i < x->rank; i++)
		{
			dims[i] = ((const int64_t *) osh->data)[i];
			if (dims[i] < inf[i])
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"output_shape[%d] = %lld is smaller than the unpooled size %lld",
										i, (long long) dims[i], (long long) inf[i]);
		}
	}
	if ((esz = onnx_dtype_size(x->dtype)) == 0 || x->dtype == ONNX_DTYPE_STRING)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "MaxUnpool does not support %s",
								onnx_dtype_name(x->dtype));
	if ((y = onnx_out(ctx, 0, x->dtype, x->rank, dims)) == NULL)
		return ctx->err->status;
	for (int64_t e = 0; e < x->count; e++)
	{
		int64_t		flat = ((const int64_t *) ind->data)[e],
					off = 0,
					mul = 1;

		if (flat < 0 || flat >= total)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"index %lld is outside the unpooled tensor of %lld elements",
									(long long) flat, (long long) total);
		for (int i = x->rank - 1; i >= 0; i--)
		{
			off += (flat % inf[i]) * mul;
			flat /= inf[i];
			mul *= dims[i];
		}
		memcpy((char *) y->data + off * esz, (const char *) x->data + e * esz, esz);
	}
	return ONNX_OK;
}

/* ---- RoiAlign ---- */

/*
 * RoiAlign: X (N,C,H,W), rois (R,4) [x1,y1,x2,y2], batch_indices (R)
 *	 -> Y (R,C,output_height,output_width): each bin averages (or takes
 *	 the max of) bilinear samples on a sampling_ratio grid (adaptive,
 *	 ceil(roi size / bins), when 0).  half_pixel shifts coordinates by
 *	 -0.5 (opset 16 default); output_half_pixel (opset 10) does not and
 *	 forces rois to at least 1x1.
 */
static OnnxStatus
run_roi_align(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *rois = onnx_in(ctx, 1);
	const OnnxTensor *bi = onnx_in(ctx, 2);
	const char *ctm = onnx_attr_string(ctx->node, "coordinate_transformation_mode",
									   ctx->opset >= 16 ? "half_pixel" : "output_half_pixel");
	const char *mode = onnx_attr_string(ctx->node, "mode", "avg");
	int64_t		ph_n = onnx_attr_int(ctx->node, "output_height", 1);
	int64_t		pw_n = onnx_attr_int(ctx->node, "output_width", 1);
	int64_t		sampling = onnx_attr_int(ctx->node, "sampling_ratio", 0);
	double		scale = onnx_attr_float(ctx->node, "spatial_scale", 1.0f);
	bool		half_pixel,
				is_max;
	int64_t		R,
				C,
				H,
				W,
				dims[4];
	OnnxTensor *y;

	if (x == NULL || rois == NULL || bi == NULL || x->rank != 4 || rois->rank != 2 ||
		rois->dims[1] != 4 || bi->rank != 1 || bi->dims[0] != rois->dims[0] ||
		(bi->dtype != ONNX_DTYPE_INT64 && bi->dtype != ONNX_DTYPE_INT32) ||
		!onnx_dtype_is_float(rois->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"RoiAlign expects X (N,C,H,W), rois (R,4) float and batch_indices (R) int64");
	if (strcmp(ctm, "half_pixel") != 0 && strcmp(ctm, "output_half_pixel") != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "unknown coordinate_transformation_mode \"%s\"", ctm);
	if (strcmp(mode, "avg") != 0 && strcmp(mode, "max") != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "mode must be avg or max, got \"%s\"", mode);
	if (ph_n < 1 || pw_n < 1 || ph_n > CONV_ATTR_MAX || pw_n > CONV_ATTR_MAX || sampling < 0 ||
		sampling > 65536)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"output_height, output_width must be positive and sampling_ratio in [0, 65536]");
	half_pixel = strcmp(ctm, "half_pixel") == 0;
	is_max = strcmp(mode, "max") == 0;
	R = rois->dims[0];
	C = x->dims[1];
	H = x->dims[2];
	W = x->dims[3];
	dims[0] = R;
	dims[1] = C;
	dims[2] = ph_n;
	dims[3] = pw_n;
	if ((y = onnx_out(ctx, 0, x->dtype, 4, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	if (H == 0 || W == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "RoiAlign needs a non-empty feature map");
	for (int64_t r = 0; r < R; r++)
	{
		int64_t		b = onnx_tensor_get_i64(bi, r);
		double		off = half_pixel ? 0.5 : 0.0;
		double		x1 = onnx_tensor_get_f64(rois, r * 4 + 0) * scale - off;
		double		y1 = onnx_tensor_get_f64(rois, r * 4 + 1) * scale - off;
		double		x2 = onnx_tensor_get_f64(rois, r * 4 + 2) * scale - off;
		double		y2 = onnx_tensor_get_f64(rois, r * 4 + 3) * scale - off;
		double		rw = x2 - x1,
					rh = y2 - y1,
					bh,
					bw,
					gh_d,
					gw_d;
		int64_t		gh,
					gw,
					count;

		if (b < 0 || b >= x->dims[0])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"batch index %lld is out of range [0, %lld)", (long long) b,
									(long long) x->dims[0]);
		if (!isfinite(x1) || !isfinite(y1) || !isfinite(rw) || !isfinite(rh))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "roi %lld is not finite", (long long) r);
		if (!half_pixel)
		{
			rw = rw > 1.0 ? rw : 1.0;
			rh = rh > 1.0 ? rh : 1.0;
		}
		bh = rh / (double) ph_n;
		bw = rw / (double) pw_n;
		gh_d = sampling > 0 ? (double) sampling : ceil(rh / (double) ph_n);
		gw_d = sampling > 0 ? (double) sampling : ceil(rw / (double) pw_n);
		if (gh_d > 65536 || gw_d > 65536)
			return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "roi %lld needs more than 65536 samples per bin side",
									(long long) r);
		gh = gh_d > 0 ? (int64_t) gh_d : 0;
		gw = gw_d > 0 ? (int64_t) gw_d : 0;
		count = gh * gw > 1 ? gh * gw : 1;
		for (int64_t c = 0; c < C; c++)
		{
			int64_t		xbase = (b * C + c) * H * W;

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			for (int64_t ph = 0; ph < ph_n; ph++)
				for (int64_t pw = 0; pw < pw_n; pw++)
				{
					double		acc = 0;
					bool		first = true;

					for (int64_t iy = 0; iy < gh; iy++)
					{
						double		yy = y1 + ph * bh + (iy + 0.5) * bh / (double) gh;

						for (int64_t ix = 0; ix < gw; ix++)
						{
							double		xx = x1 + pw * bw + (ix + 0.5) * bw / (double) gw;
							double		yv = yy,
										xv = xx,
										ly,
										lx,
										v[4],
										wt[4],
										val;
							int64_t		yl,
										xl,
										yh,
										xh;

							if (yv < -1.0 || yv > (double) H || xv < -1.0 || xv > (double) W)
							{
								for (int k = 0; k < 4; k++)
									v[k] = wt[k] = 0;
							}
							else
							{
								yv = yv > 0 ? yv : 0;
								xv = xv > 0 ? xv : 0;
								yl = (int64_t) yv;
								xl = (int64_t) xv;
								if (yl >= H - 1)
								{
									yh = yl = H - 1;
									yv = (double) yl;
								}
								else
									yh = yl + 1;
								if (xl >= W - 1)
								{
									xh = xl = W - 1;
									xv = (double) xl;
								}
								else
									xh = xl + 1;
								ly = yv - yl;
								lx = xv - xl;
								wt[0] = (1 - ly) * (1 - lx);
								wt[1] = (1 - ly) * lx;
								wt[2] = ly * (1 - lx);
								wt[3] = ly * lx;
								v[0] = onnx_tensor_get_f64(x, xbase + yl * W + xl);
								v[1] = onnx_tensor_get_f64(x, xbase + yl * W + xh);
								v[2] = onnx_tensor_get_f64(x, xbase + yh * W + xl);
								v[3] = onnx_tensor_get_f64(x, xbase + yh * W + xh);
							}
							if (is_max)
							{
								val = wt[0] * v[0];
								for (int k = 1; k < 4; k++)
									if (wt[k] * v[k] > val)
										val = wt[k] * v[k];
								if (first || val > acc)
									acc = val;
								first = false;
							}
							else
								acc += wt[0] * v[0] + wt[1] * v[1] + wt[2] * v[2] + wt[3] * v[3];
						}
					}
					if (!is_max)
						acc /= (double) count;
					onnx_tensor_set_f64(y, ((r * C + c) * ph_n + ph) * pw_n + pw, acc);
				}
		}
	}
	return ONNX_OK;
}

/* ---- GridSample ---- */

#define GS_MAX_DIMS 5

typedef enum GsPad
{
	GS_ZEROS,
	GS_BORDER,
	GS_REFLECTION
} GsPad;

/* Reflect x into [lo, hi] by repeated mirroring at the borders. */
static double
gs_reflect(double x, double lo, double hi)
{
	double		rng = hi - lo;

	if (rng <= 0)
		return lo;
	if (x < lo)
	{
		double		dx = lo - x;
		double		n = floor(dx / rng);
		double		r = dx - n * rng;

		return fmod(n, 2.0) == 0 ? lo + r : hi - r;
	}
	if (x > hi)
	{
		double		dx = x - hi;
		double		n = floor(dx / rng);
		double		r = dx - n * rng;

		return fmod(n, 2.0) == 0 ? hi - r : lo + r;
	}
	return x;
}

/* Cubic convolution coefficients (Keys, a = -0.75) for offset t in [0, 1). */
static void
gs_cubic_coeffs(double t, double *c)
{
	const double a = -0.75;
	double		x;

	x = t + 1;
	c[0] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
	x = t;
	c[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
	x = 1 - t;
	c[2] = ((a + 2) * x - (a + 3)) * x * x + 1;
	x = 2 - t;
	c[3] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

/*
 * Map a (possibly out-of-range) integer index into [0, d) by the padding
 * mode; -1 means "zero" (zeros padding).
 */
static int64_t
gs_index(int64_t i, int64_t d, GsPad pad, double lo, double hi)
{
	if (i >= 0 && i < d)
		return i;
	if (pad == GS_ZEROS)
		return -1;
	if (pad == GS_BORDER)
		return i < 0 ? 0 : d - 1;
	i = (int64_t) gs_reflect((double) i, lo, hi);
	return i < 0 ? 0 : i >= d ? d - 1 : i;
}

/*
 * GridSample: X (N,C,D1..Dr), grid (N,O1..Or,r) with normalized
 * coordinates in [-1,1] (last component indexes the last dim)
 *	 -> Y (N,C,O1..Or); modes nearest / linear / cubic (opset 16 names
 *	 bilinear / bicubic), padding zeros / border / reflection.
 */
static OnnxStatus
run_grid_sample(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *grid = onnx_in(ctx, 1);
	const char *mode_s = onnx_attr_string(ctx->node, "mode", ctx->opset >= 20 ? "linear" : "bilinear");
	const char *pad_s = onnx_attr_string(ctx->node, "padding_mode", "zeros");
	bool		align = onnx_attr_int(ctx->node, "align_corners", 0) != 0;
	int			mode,			/* 0 nearest, 1 linear, 2 cubic */
				r;
	GsPad		pad;
	int64_t		dims[ONNX_MAX_RANK],
				N,
				C,
				O = 1,
				insz = 1,
				strides[GS_MAX_DIMS];
	double		lo[GS_MAX_DIMS],
				hi[GS_MAX_DIMS];
	OnnxTensor *y;

	if (strcmp(mode_s, "nearest") == 0)
		mode = 0;
	else if (strcmp(mode_s, "linear") == 0 || strcmp(mode_s, "bilinear") == 0)
		mode = 1;
	else if (strcmp(mode_s, "cubic") == 0 || strcmp(mode_s, "bicubic") == 0)
		mode = 2;
	else
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "unknown mode \"%s\"", mode_s);
	if (strcmp(pad_s, "zeros") == 0)
		pad = GS_ZEROS;
	else if (strcmp(pad_s, "border") == 0)
		pad = GS_BORDER;
	else if (strcmp(pad_s, "reflection") == 0)
		pad = GS_REFLECTION;
	else
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "unknown padding_mode \"%s\"", pad_s);
	if (x == NULL || grid == NULL || x->rank < 3 || x->rank - 2 > GS_MAX_DIMS ||
		grid->rank != x->rank || grid->dims[0] != x->dims[0] ||
		grid->dims[grid->rank - 1] != x->rank - 2 || !onnx_dtype_is_float(grid->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"GridSample expects X (N,C,D1..Dr) with r <= %d and grid (N,O1..Or,r) float",
								GS_MAX_DIMS);
	r = x->rank - 2;
	N = x->dims[0];
	C = x->dims[1];
	dims[0] = N;
	dims[1] = C;
	for (int i = 0; i < r; i++)
	{
		dims[i + 2] = grid->dims[i + 1];
		O *= grid->dims[i + 1];
		insz *= x->dims[i + 2];
		lo[i] = align ? 0.0 : -0.5;
		hi[i] = align ? (double) x->dims[i + 2] - 1 : (double) x->dims[i + 2] - 0.5;
	}
	strides[r - 1] = 1;
	for (int i = r - 2; i >= 0; i--)
		strides[i] = strides[i + 1] * x->dims[i + 3];
	if ((y = onnx_out(ctx, 0, x->dtype, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	if (insz == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "GridSample needs a non-empty input image");
	for (int64_t n = 0; n < N; n++)
	{
		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		for (int64_t o = 0; o < O; o++)
		{
			int64_t		base[GS_MAX_DIMS];
			double		wts[GS_MAX_DIMS][4];
			int			taps = mode == 0 ? 1 : mode == 1 ? 2 : 4;
			int64_t		combos = 1;

			if ((o & 4095) == 4095 && onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			for (int i = 0; i < r; i++)
			{
				/* dim i takes grid component r - 1 - i */
				double		g = onnx_tensor_get_f64(grid, (n * O + o) * r + (r - 1 - i));
				double		d = (double) x->dims[i + 2];
				double		v = align ? (g + 1) / 2.0 * (d - 1) : ((g + 1) * d - 1) / 2.0;

				v = (float) v;
				if (!isfinite(v))
					v = -1e9;	/* far outside: padding rules apply */
				if (v < -1e9)
					v = -1e9;
				if (v > 1e9)
					v = 1e9;
				if (mode == 0)
					v = nearbyint(v);
				if (v < lo[i] || v > hi[i])
				{
					if (pad == GS_BORDER)
						v = v < 0 ? 0 : v > d - 1 ? d - 1 : v;
					else if (pad == GS_REFLECTION)
						v = gs_reflect(v, lo[i], hi[i]);
				}
				if (mode == 0)
				{
					base[i] = (int64_t) v;
					wts[i][0] = 1;
				}
				else
				{
					double		f = floor(v);

					base[i] = (int64_t) f - (mode == 2 ? 1 : 0);
					if (mode == 1)
					{
						wts[i][0] = 1 - (v - f);
						wts[i][1] = v - f;
					}
					else
						gs_cubic_coeffs(v - f, wts[i]);
				}
				combos *= taps;
			}
			for (int64_t c = 0; c < C; c++)
			{
				int64_t		xbase = (n * C + c) * insz;
				double		acc = 0;

				for (int64_t k = 0; k < combos; k++)
				{
					int64_t		rem = k,
								off = 0;
					double		w = 1;
					bool		zero = false;

					for (int i = r - 1; i >= 0; i--)
					{
						int			t = (int) (rem % taps);
						int64_t		ii = gs_index(base[i] + t, x->dims[i + 2], pad, lo[i], hi[i]);

						rem /= taps;
						if (ii < 0)
						{
							zero = true;
							break;
						}
						w *= wts[i][t];
						off += ii * strides[i];
					}
					if (!zero)
						acc += w * onnx_tensor_get_f64(x, xbase + off);
				}
				onnx_tensor_set_f64(y, (n * C + c) * O + o, acc);
			}
		}
	}
	return ONNX_OK;
}

/*
 * Output 0 takes X's dtype, MaxPool's Indices are int64; both have the
 * shape (N, C, out...) of the window geometry (all ones for the global
 * pools) where X's shape and the attributes give it.
 */
static OnnxStatus
infer_pool(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	OnnxValueInfo *y = ctx->n_outputs > 0 ? ctx->outputs[0] : NULL;

	if (x && y && x->kind == ONNX_VALUE_TENSOR && x->rank >= 3)
	{
		if (strncmp(ctx->node->op_type, "Global", 6) == 0)
		{
			onnx_info_copy_shape(y, x);
			for (int i = 2; i < x->rank; i++)
			{
				y->dims[i] = 1;
				y->dim_params[i] = NULL;
			}
		}
		else
		{
			const int64_t *ks;

			if (onnx_attr_ints(ctx->node, "kernel_shape", &ks) == x->rank - 2)
				cpq_infer_window(ctx, x->rank - 2, ks,
								 onnx_attr_int(ctx->node, "ceil_mode", 0) != 0, x->dims[1]);
			if (y->rank >= 0)
				y->dim_params[1] = x->dim_params[1];
		}
	}
	if (ctx->n_outputs > 1 && ctx->outputs[1])
	{
		ctx->outputs[1]->dtype = ONNX_DTYPE_INT64;
		ctx->outputs[1]->kind = ONNX_VALUE_TENSOR;
		if (y && y->rank >= 0)
			onnx_info_copy_shape(ctx->outputs[1], y);
	}
	return ONNX_OK;
}

#define POOL_FLOAT ONNX_TS_FLOAT
#define POOL_MAXT (ONNX_TS_FLOAT | ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8))
#define POOL(name, since, nout, types, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, nout), .input0_types = types, \
		.out_type = ONNX_OUT_SAME, .infer = infer_pool, .run = fn)

const OnnxOpDef onnx_ops_pool[] = {
	POOL("MaxPool", 1, 1, POOL_FLOAT, run_max_pool),
	POOL("MaxPool", 8, 2, POOL_FLOAT, run_max_pool),
	POOL("MaxPool", 10, 2, POOL_FLOAT, run_max_pool),
	POOL("MaxPool", 11, 2, POOL_FLOAT, run_max_pool),
	POOL("MaxPool", 12, 2, POOL_MAXT, run_max_pool),
	POOL("MaxPool", 22, 2, POOL_MAXT, run_max_pool),
	POOL("AveragePool", 1, 1, POOL_FLOAT, run_average_pool),
	POOL("AveragePool", 7, 1, POOL_FLOAT, run_average_pool),
	POOL("AveragePool", 10, 1, POOL_FLOAT, run_average_pool),
	POOL("AveragePool", 11, 1, POOL_FLOAT, run_average_pool),
	POOL("AveragePool", 19, 1, POOL_FLOAT, run_average_pool),
	POOL("AveragePool", 22, 1, POOL_FLOAT, run_average_pool),
	POOL("LpPool", 1, 1, POOL_FLOAT, run_lp_pool),
	POOL("LpPool", 2, 1, POOL_FLOAT, run_lp_pool),
	POOL("LpPool", 11, 1, POOL_FLOAT, run_lp_pool),
	POOL("LpPool", 18, 1, POOL_FLOAT, run_lp_pool),
	POOL("LpPool", 22, 1, POOL_FLOAT, run_lp_pool),
	POOL("GlobalAveragePool", 1, 1, POOL_FLOAT, run_global_average_pool),
	POOL("GlobalAveragePool", 22, 1, POOL_FLOAT, run_global_average_pool),
	POOL("GlobalMaxPool", 1, 1, POOL_FLOAT, run_global_max_pool),
	POOL("GlobalMaxPool", 22, 1, POOL_FLOAT, run_global_max_pool),
	POOL("GlobalLpPool", 1, 1, POOL_FLOAT, run_global_lp_pool),
	POOL("GlobalLpPool", 2, 1, POOL_FLOAT, run_global_lp_pool),
	POOL("GlobalLpPool", 22, 1, POOL_FLOAT, run_global_lp_pool),
	ONNX_OP_VERSIONS("", "MaxUnpool", (9, 11, 22), ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		.out_type = ONNX_OUT_SAME, .run = run_max_unpool),
	ONNX_OP_VERSIONS("", "RoiAlign", (10, 16, 22), ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1), .input0_types = POOL_FLOAT,
		.out_type = ONNX_OUT_SAME, .run = run_roi_align),
	ONNX_OP_VERSIONS("", "GridSample", (16, 20, 22), ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_NUMERIC, .out_type = ONNX_OUT_SAME, .run = run_grid_sample),
	{0}
};
