/*-------------------------------------------------------------------------
 *
 * ops_pool.c
 *	  Pooling: MaxPool (with Indices), AveragePool, LpPool, their Global
 *	  forms, and MaxUnpool.
 *
 * Pools work on X (N,C,spatial...) plane by plane.  For every output
 * position the window's valid kernel range is computed per dimension, so
 * padding is never read.  float32/float64 are pooled directly; other
 * types (float16, bfloat16, int8, uint8) are staged through float64.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "conv_pool_quant_util.h"

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
			for (int i = nsp - 1; i >= 0; i--) \
			{ \
				if (++o[i] < g->out[i]) \
					break; \
				o[i] = 0; \
			} \
		} \
	} \
	return ONNX_OK; \
}

DEFINE_POOL_CORE(float, f32)
DEFINE_POOL_CORE(double, f64)

/* Run the pool core on tensor x into y (and indices), staging odd types. */
static OnnxStatus
pool_dispatch(OnnxKernelCtx *ctx, const ConvGeom *g, const PoolParams *pp,
			  const OnnxTensor *x, OnnxTensor *y, OnnxTensor *ind)
{
	int64_t		NC = x->dims[0] * x->dims[1];
	int64_t    *idx = ind ? (int64_t *) ind->data : NULL;
	double	   *dx,
			   *dy;
	OnnxStatus	st;

	if (x->dtype == ONNX_DTYPE_FLOAT)
		return pool_core_f32(ctx, g, pp, x->data, y->data, idx, NC);
	if (x->dtype == ONNX_DTYPE_DOUBLE)
		return pool_core_f64(ctx, g, pp, x->data, y->data, idx, NC);
	if ((dx = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) x->count)) == NULL)
		return ctx->err->status;
	if ((dy = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) y->count)) == NULL)
	{
		onnx_kernel_free(ctx, dx);
		return ctx->err->status;
	}
	for (int64_t i = 0; i < x->count; i++)
		dx[i] = onnx_tensor_get_f64(x, i);
	st = pool_core_f64(ctx, g, pp, dx, dy, idx, NC);
	if (st == ONNX_OK)
		for (int64_t i = 0; i < y->count; i++)
		{
			double		v = dy[i];

			/* an all-padding max window is -inf: keep integer casts defined */
			if (isinf(v))
				v = v > 0 ? 1e18 : -1e18;
			onnx_tensor_set_f64(y, i, v);
		}
	onnx_kernel_free(ctx, dx);
	onnx_kernel_free(ctx, dy);
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
	dims[0] = x->dims[0];
	dims[1] = x->dims[1];
	memcpy(dims + 2, g.out, sizeof(int64_t) * g.nsp);
	if ((y = onnx_out(ctx, 0, x->dtype, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (mode == POOL_MAX && ctx->n_outputs > 1 && ctx->outputs[1] != NULL &&
		(ind = onnx_out(ctx, 1, ONNX_DTYPE_INT64, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	return pool_dispatch(ctx, &g, &pp, x, y, ind);
}

static OnnxStatus
run_max_pool(OnnxKernelCtx *ctx)
{
	return pool_windowed(ctx, POOL_MAX);
}

static OnnxStatus
run_average_pool(OnnxKernelCtx *ctx)
{
	return pool_windowed(ctx, POOL_AVG);
}

static OnnxStatus
run_lp_pool(OnnxKernelCtx *ctx)
{
	return pool_windowed(ctx, POOL_LP);
}

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
	if ((y = onnx_out(ctx, 0, x->dtype, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	return pool_dispatch(ctx, &g, &pp, x, y, NULL);
}

static OnnxStatus
run_global_average_pool(OnnxKernelCtx *ctx)
{
	return pool_global(ctx, POOL_AVG);
}

static OnnxStatus
run_global_max_pool(OnnxKernelCtx *ctx)
{
	return pool_global(ctx, POOL_MAX);
}

static OnnxStatus
run_global_lp_pool(OnnxKernelCtx *ctx)
{
	return pool_global(ctx, POOL_LP);
}

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

/* Output 0 takes X's dtype; MaxPool's Indices are int64. */
static OnnxStatus
infer_pool(OnnxInferCtx *ctx)
{
	if (ctx->n_outputs > 1 && ctx->outputs[1])
	{
		ctx->outputs[1]->dtype = ONNX_DTYPE_INT64;
		ctx->outputs[1]->kind = ONNX_VALUE_TENSOR;
	}
	return ONNX_OK;
}

#define POOL_FLOAT ONNX_TS_FLOAT
#define POOL_MAXT (ONNX_TS_FLOAT | ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8))
#define POOL(name, since, nout, types, fn) \
	{"", name, since, 1, 1, 1, nout, types, ONNX_OUT_SAME, NULL, infer_pool, fn}

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
	{"", "MaxUnpool", 9, 2, 3, 1, 1, ONNX_TS_NUMERIC, ONNX_OUT_SAME, NULL, NULL, run_max_unpool},
	{"", "MaxUnpool", 11, 2, 3, 1, 1, ONNX_TS_NUMERIC, ONNX_OUT_SAME, NULL, NULL, run_max_unpool},
	{"", "MaxUnpool", 22, 2, 3, 1, 1, ONNX_TS_NUMERIC, ONNX_OUT_SAME, NULL, NULL, run_max_unpool},
	{0}
};
