/*-------------------------------------------------------------------------
 *
 * ms_qlinear.c
 *	  onnxruntime's com.microsoft QLinear operators on 8-bit tensors that
 *	  quantize_static (QOperator format) emits around its matrix products:
 *	  QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu,
 *	  QLinearSoftmax, QLinearConcat, QLinearWhere, QLinearAveragePool,
 *	  QLinearGlobalAveragePool.
 *
 * Every one is "dequantize, compute in float32, quantize":
 *	 dq(x) = (x - x_zp) * x_scale,	q(v) = saturate(round_half_even(v / y_scale) + y_zp)
 * as onnxruntime computes them; the unary ones and the requantizing
 * copies (Concat, Where) through a 256-entry table per input built with
 * exactly that formula, the binary ones with onnxruntime's float scale
 * ratios: Add v = (a - a_zp) * (a_s / c_s) + (b - b_zp) * (b_s / c_s),
 * Mul v = (a - a_zp) * (b - b_zp) * (a_s * b_s / c_s), c = q'(v) with
 * c = saturate(round(v) + c_zp).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "pool_fast.h"
#include "qlut.h"
#include "qmatmul.h"
#include "vecmath.h"
#include "window_geom.h"

#define I8 (ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8))

/* Quantization parameters of one tensor. */
typedef struct QParam
{
	float		scale;
	int32_t		zp;
} QParam;

/*
 * Read scale input si and zero point input zi (-1 or absent: 0) for a
 * tensor of dtype dt; both must be scalars.
 */
static bool
qparam(OnnxKernelCtx *ctx, int si, int zi, OnnxDType dt, QParam *p)
{
	const OnnxTensor *s = onnx_in(ctx, si),
			   *z = zi >= 0 ? onnx_in(ctx, zi) : NULL;

	if (s == NULL || s->count != 1 || !onnx_dtype_is_float(s->dtype))
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input %d must be a float scalar scale", si);
		return false;
	}
	if (z && (z->count != 1 || z->dtype != dt))
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input %d must be a %s scalar zero point",
						 zi, onnx_dtype_name(dt));
		return false;
	}
	p->scale = (float) onnx_tensor_get_f64(s, 0);
	p->zp = 0;
	onnx_qmm_zp(z, &p->zp, 1);
	return true;
}

static inline int32_t
qlo(OnnxDType dt)
{
	return dt == ONNX_DTYPE_INT8 ? -128 : 0;
}

static inline int32_t
qhi(OnnxDType dt)
{
	return dt == ONNX_DTYPE_INT8 ? 127 : 255;
}

/* q(v) of the output parameters. */
static inline int32_t
quant(float v, const QParam *y, OnnxDType dt)
{
	return qmm_quant(v / y->scale, y->zp, qlo(dt), qhi(dt));
}

/* The code of 8-bit element i (int8 or uint8 by dt). */
static inline int32_t
code_at(const void *d, OnnxDType dt, int64_t i)
{
	return dt == ONNX_DTYPE_INT8 ? ((const int8_t *) d)[i] : ((const uint8_t *) d)[i];
}

/* Table index of a code: uint8 as is, int8 + 128. */
static inline int
tix(int32_t code, OnnxDType dt)
{
	return dt == ONNX_DTYPE_INT8 ? code + 128 : code;
}

static inline void
store(void *d, OnnxDType dt, int64_t i, int32_t v)
{
	if (dt == ONNX_DTYPE_INT8)
		((int8_t *) d)[i] = (int8_t) v;
	else
		((uint8_t *) d)[i] = (uint8_t) v;
}

typedef float (*QFn) (float v, float alpha);

static float
fn_identity(float v, float alpha)
{
	(void) alpha;
	return v;
}

static float
fn_sigmoid(float v, float alpha)
{
	(void) alpha;
	return 1.0f / (1.0f + expf(-v));
}

static float
fn_leaky(float v, float alpha)
{
	return v >= 0 ? v : v * alpha;
}

/* table[tix(x)] = q(fn(dq(x))) for every code x of dt. */
static void
build_table(uint8_t *table, OnnxDType dt, const QParam *x, const QParam *y, OnnxDType ydt,
			QFn fn, float alpha)
{
	for (int32_t c = qlo(dt); c <= qhi(dt); c++)
		table[tix(c, dt)] = (uint8_t) quant(fn((float) (c - x->zp) * x->scale, alpha), y, ydt);
}

/* ---- unary: QLinearSigmoid, QLinearLeakyRelu ---- */

/* X, X_scale, X_zp?, Y_scale, Y_zp? -> Y = table(X) */
static OnnxStatus
run_unary(OnnxKernelCtx *ctx, QFn fn, float alpha)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	QParam		px,
				py;
	uint8_t		table[256],
				bytes[256];
	OnnxTensor *y;

	if (x == NULL || !(ONNX_T(x->dtype) & I8))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be int8 or uint8");
	if (!qparam(ctx, 1, 2, x->dtype, &px) || !qparam(ctx, 3, 4, x->dtype, &py))
		return ctx->err->status;
	build_table(table, x->dtype, &px, &py, x->dtype, fn, alpha);
	if ((y = onnx_out_raw(ctx, 0, x->dtype, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	/* indexed by the raw byte for the lookup row */
	for (int b = 0; b < 256; b++)
		bytes[b] = table[b ^ (x->dtype == ONNX_DTYPE_INT8 ? 0x80 : 0)];
	onnx_lut8_row(bytes, x->data, y->data, x->count);
	return ONNX_OK;
}

static OnnxStatus run_qlinear_sigmoid(OnnxKernelCtx *ctx) { return run_unary(ctx, fn_sigmoid, 0); }

static OnnxStatus
run_qlinear_leaky_relu(OnnxKernelCtx *ctx)
{
	return run_unary(ctx, fn_leaky, onnx_attr_float(ctx->node, "alpha", 0.01f));
}

/* ---- binary: QLinearAdd, QLinearMul ---- */

/*
 * c[i] = q(v) over n elements, a and b stepping by sa, sb (1, or 0 for a
 * scalar); v as run_binary states.  Vectorized per instruction set.
 */
#define BIN_LOOP(T, SA, SB, OP) \
	for (int64_t i = 0; i < n; i++) \
	{ \
		float		va = (float) (((const T *) a)[i * (SA)] - za), \
					vb = (float) (((const T *) b)[i * (SB)] - zb); \
		((T *) c)[i] = (T) qmm_quant(OP, zc, lo, hi); \
	}
#define BIN_OPS(T, SA, SB) \
	do { if (mul) { BIN_LOOP(T, SA, SB, va * vb * ra) } else { BIN_LOOP(T, SA, SB, va * ra + vb * rb) } } while (0)
#define BIN_STRIDES(T) \
	do { \
		if (sa == 1 && sb == 1) BIN_OPS(T, 1, 1); \
		else if (sa == 1 && sb == 0) BIN_OPS(T, 1, 0); \
		else if (sa == 0 && sb == 1) BIN_OPS(T, 0, 1); \
		else BIN_OPS(T, sa, sb); \
	} while (0)

ONNX_VEC_INLINE void
binary_rows_body(const void *a, int64_t sa, int32_t za, const void *b, int64_t sb, int32_t zb,
				 void *c, int64_t n, bool s8, bool mul, float ra, float rb, int32_t zc)
{
	int32_t		lo = s8 ? -128 : 0,
				hi = s8 ? 127 : 255;

	if (s8)
		BIN_STRIDES(int8_t);
	else
		BIN_STRIDES(uint8_t);
}

ONNX_VEC_DISPATCH(static, binary_rows, binary_rows_body,
				  (const void *a, int64_t sa, int32_t za, const void *b, int64_t sb, int32_t zb,
				   void *c, int64_t n, bool s8, bool mul, float ra, float rb, int32_t zc),
				  (a, sa, za, b, sb, zb, c, n, s8, mul, ra, rb, zc))

/* A, A_scale, A_zp?, B, B_scale, B_zp?, C_scale, C_zp? -> C (broadcast) */
static OnnxStatus
run_binary(OnnxKernelCtx *ctx, bool mul)
{
	const OnnxTensor *a = onnx_in(ctx, 0),
			   *b = onnx_in(ctx, 3);
	QParam		pa,
				pb,
				pc;
	int			rank;
	int64_t		dims[ONNX_MAX_RANK];
	float		ra,
				rb;
	OnnxDType	dt;
	OnnxTensor *c;
	OnnxBcastPlan plan;
	const OnnxTensor *ins[2];

	if (a == NULL || b == NULL || !(ONNX_T(a->dtype) & I8) || a->dtype != b->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "A and B must be int8 or uint8 of one type");
	dt = a->dtype;
	if (!qparam(ctx, 1, 2, dt, &pa) || !qparam(ctx, 4, 5, dt, &pb) || !qparam(ctx, 6, 7, dt, &pc))
		return ctx->err->status;
	if (!onnx_broadcast_shape(a->rank, a->dims, b->rank, b->dims, &rank, dims))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "A and B do not broadcast");
	if ((c = onnx_out_raw(ctx, 0, dt, rank, dims)) == NULL)
		return ctx->err->status;
	ra = mul ? pa.scale * pb.scale / pc.scale : pa.scale / pc.scale;
	rb = pb.scale / pc.scale;
	if ((a->count == c->count || a->count == 1) && (b->count == c->count || b->count == 1))
	{
		binary_rows(a->data, a->count == 1 ? 0 : 1, pa.zp, b->data, b->count == 1 ? 0 : 1, pb.zp,
					c->data, c->count, dt == ONNX_DTYPE_INT8, mul, ra, rb, pc.zp);
		return ONNX_OK;
	}
	/* general broadcast: runs along the collapsed last dim */
	ins[0] = a;
	ins[1] = b;
	onnx_bcast_plan(&plan, c->rank, c->dims, 2, ins);
	{
		int			r = plan.rank;
		int64_t		run = plan.dims[r - 1],
					idx[ONNX_MAX_RANK] = {0},
					oa = 0,
					ob = 0;

		for (int64_t i = 0; i < c->count; i += run)
		{
			binary_rows((const uint8_t *) a->data + oa, plan.strides[0][r - 1], pa.zp,
						(const uint8_t *) b->data + ob, plan.strides[1][r - 1], pb.zp,
						(uint8_t *) c->data + i, run, dt == ONNX_DTYPE_INT8, mul, ra, rb, pc.zp);
			for (int d = r - 2; d >= 0; d--)
			{
				oa += plan.strides[0][d];
				ob += plan.strides[1][d];
				if (++idx[d] < plan.dims[d])
					break;
				oa -= plan.strides[0][d] * plan.dims[d];
				ob -= plan.strides[1][d] * plan.dims[d];
				idx[d] = 0;
			}
		}
	}
	return ONNX_OK;
}

static OnnxStatus run_qlinear_add(OnnxKernelCtx *ctx) { return run_binary(ctx, false); }
static OnnxStatus run_qlinear_mul(OnnxKernelCtx *ctx) { return run_binary(ctx, true); }

/* ---- QLinearSoftmax ---- */

/*
 * X, X_scale, x_zp?, y_scale, y_zp -> Y = q(softmax(dq(X))) along axis
 * (opset >= 13: that axis, default -1), or over the flattened dims from
 * axis on (opset < 13, default 1).
 */
static OnnxStatus
run_qlinear_softmax(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		opset = onnx_attr_int(ctx->node, "opset", 13),
				axis = onnx_attr_int(ctx->node, "axis", opset >= 13 ? -1 : 1),
				outer = 1,
				n = 1,
				inner = 1;
	int			ax;
	QParam		px,
				py;
	float	   *e,
				ex[256];
	OnnxTensor *y;
	OnnxDType	dt;

	if (x == NULL || !(ONNX_T(x->dtype) & I8))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be int8 or uint8");
	dt = x->dtype;
	if (!qparam(ctx, 1, 2, dt, &px) || !qparam(ctx, 3, 4, dt, &py))
		return ctx->err->status;
	if (!onnx_norm_axis(axis, x->rank, &ax) && !(x->rank == 0 && axis == 0))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld out of range", (long long) axis);
	for (int i = 0; i < x->rank; i++)
	{
		if (i < ax)
			outer *= x->dims[i];
		else if (i == ax || opset < 13)
			n *= x->dims[i];
		else
			inner *= x->dims[i];
	}
	if ((y = onnx_out_raw(ctx, 0, dt, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	if (x->count == 0)
		return ONNX_OK;
	if ((e = onnx_kernel_scratch(ctx, (size_t) n, sizeof(float))) == NULL)
		return ctx->err->status;
	/* x - max takes 256 values at most: ex[d] = exp(-d * x_scale) */
	for (int d = 0; d < 256; d++)
		ex[d] = expf((float) -d * px.scale);
	if (inner == 1)
	{
		/* contiguous rows: the same arithmetic, one loop per type and step */
		for (int64_t o = 0; o < outer; o++)
		{
			const uint8_t *xu = (const uint8_t *) x->data + o * n;
			const int8_t *xs = (const int8_t *) x->data + o * n;
			uint8_t    *yu = (uint8_t *) y->data + o * n;
			int32_t		mx = qlo(dt),
						lo = qlo(dt),
						hi = qhi(dt);
			float		sum = 0;

			if (dt == ONNX_DTYPE_INT8)
			{
				for (int64_t k = 0; k < n; k++)
					mx = xs[k] > mx ? xs[k] : mx;
				for (int64_t k = 0; k < n; k++)
					e[k] = ex[mx - xs[k]];
			}
			else
			{
				for (int64_t k = 0; k < n; k++)
					mx = xu[k] > mx ? xu[k] : mx;
				for (int64_t k = 0; k < n; k++)
					e[k] = ex[mx - xu[k]];
			}
			for (int64_t k = 0; k < n; k++)
				sum += e[k];
			for (int64_t k = 0; k < n; k++)
				yu[k] = (uint8_t) qmm_quant(e[k] / sum / py.scale, py.zp, lo, hi);
		}
		return ONNX_OK;
	}
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++)
		{
			int64_t		base = o * n * inner + in;
			int32_t		mx = qlo(dt);
			float		sum = 0;

			for (int64_t k = 0; k < n; k++)
			{
				int32_t		v = code_at(x->data, dt, base + k * inner);

				mx = v > mx ? v : mx;
			}
			for (int64_t k = 0; k < n; k++)
			{
				e[k] = ex[mx - code_at(x->data, dt, base + k * inner)];
				sum += e[k];
			}
			for (int64_t k = 0; k < n; k++)
				store(y->data, dt, base + k * inner, quant(e[k] / sum, &py, dt));
		}
	return ONNX_OK;
}

/* ---- QLinearConcat ---- */

/* Y_scale, Y_zp, (X_i, X_i_scale, X_i_zp)... -> Y, each X requantized to Y's */
static OnnxStatus
run_qlinear_concat(OnnxKernelCtx *ctx)
{
	int			n_in = (ctx->n_inputs - 2) / 3,
				ax;
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 0),
				dims[ONNX_MAX_RANK],
				outer = 1,
				inner = 1,
				total = 0,
				off = 0;
	const OnnxTensor *x0 = onnx_in(ctx, 2),
			   *yz = onnx_in(ctx, 1);
	QParam		py;
	OnnxDType	dt;
	OnnxTensor *y;
	uint8_t		table[256];

	if (n_in < 1 || (ctx->n_inputs - 2) % 3 != 0 || x0 == NULL || yz == NULL || !(ONNX_T(yz->dtype) & I8))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"inputs must be Y_scale, Y_zero_point and triples of tensor, scale, zero point");
	dt = yz->dtype;
	if (!qparam(ctx, 0, 1, dt, &py))
		return ctx->err->status;
	if (!onnx_norm_axis(axis, x0->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld out of range", (long long) axis);
	for (int i = 0; i < n_in; i++)
	{
		const OnnxTensor *x = onnx_in(ctx, 2 + 3 * i);

		if (x == NULL || x->dtype != dt || x->rank != x0->rank)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input %d must be %s of rank %d",
									i, onnx_dtype_name(dt), x0->rank);
		for (int d = 0; d < x->rank; d++)
			if (d != ax && x->dims[d] != x0->dims[d])
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input %d differs off the axis", i);
		total += x->dims[ax];
	}
	memcpy(dims, x0->dims, sizeof(int64_t) * (size_t) x0->rank);
	dims[ax] = total;
	for (int d = 0; d < ax; d++)
		outer *= x0->dims[d];
	for (int d = ax + 1; d < x0->rank; d++)
		inner *= x0->dims[d];
	if ((y = onnx_out_raw(ctx, 0, dt, x0->rank, dims)) == NULL)
		return ctx->err->status;
	for (int i = 0; i < n_in; i++)
	{
		const OnnxTensor *x = onnx_in(ctx, 2 + 3 * i);
		int64_t		run = x->dims[ax] * inner;
		QParam		px;
		bool		same;

		if (!qparam(ctx, 3 + 3 * i, 4 + 3 * i, dt, &px))
			return ctx->err->status;
		same = px.scale == py.scale && px.zp == py.zp;
		build_table(table, dt, &px, &py, dt, fn_identity, 0);
		for (int64_t o = 0; o < outer; o++)
		{
			const uint8_t *src = (const uint8_t *) x->data + o * run;
			uint8_t    *dst = (uint8_t *) y->data + o * total * inner + off;

			if (same)
				memcpy(dst, src, (size_t) run);
			else
				for (int64_t k = 0; k < run; k++)
					dst[k] = table[src[k] ^ (dt == ONNX_DTYPE_INT8 ? 0x80 : 0)];
		}
		off += run;
	}
	return ONNX_OK;
}

/* ---- QLinearWhere ---- */

/* condition, X, x_s, x_zp, Y, y_s, y_zp, z_s, z_zp -> Z = cond ? rq(X) : rq(Y) */
static OnnxStatus
run_qlinear_where(OnnxKernelCtx *ctx)
{
	const OnnxTensor *cond = onnx_in(ctx, 0),
			   *x = onnx_in(ctx, 1),
			   *y = onnx_in(ctx, 4);
	QParam		px,
				py,
				pz;
	uint8_t		tx[256],
				ty[256];
	int			rank,
				r2;
	int64_t		d1[ONNX_MAX_RANK],
				dims[ONNX_MAX_RANK];
	OnnxDType	dt;
	OnnxTensor *z;
	OnnxBcastIter it;
	const OnnxTensor *ins[3];

	if (cond == NULL || x == NULL || y == NULL || cond->dtype != ONNX_DTYPE_BOOL ||
		!(ONNX_T(x->dtype) & I8) || x->dtype != y->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "condition must be bool, X and Y 8-bit of one type");
	dt = x->dtype;
	if (!qparam(ctx, 2, 3, dt, &px) || !qparam(ctx, 5, 6, dt, &py) || !qparam(ctx, 7, 8, dt, &pz))
		return ctx->err->status;
	if (!onnx_broadcast_shape(cond->rank, cond->dims, x->rank, x->dims, &r2, d1) ||
		!onnx_broadcast_shape(r2, d1, y->rank, y->dims, &rank, dims))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "condition, X and Y do not broadcast");
	if ((z = onnx_out_raw(ctx, 0, dt, rank, dims)) == NULL)
		return ctx->err->status;
	build_table(tx, dt, &px, &pz, dt, fn_identity, 0);
	build_table(ty, dt, &py, &pz, dt, fn_identity, 0);
	ins[0] = cond;
	ins[1] = x;
	ins[2] = y;
	onnx_bcast_init(&it, z, 3, ins);
	for (int64_t i = 0; i < z->count; i++, onnx_bcast_next(&it))
	{
		uint8_t		f = dt == ONNX_DTYPE_INT8 ? 0x80 : 0;

		((uint8_t *) z->data)[i] = ((const bool *) cond->data)[it.off[0]] ?
			tx[((const uint8_t *) x->data)[it.off[1]] ^ f] :
			ty[((const uint8_t *) y->data)[it.off[2]] ^ f];
	}
	return ONNX_OK;
}

/* ---- pooling ---- */

/*
 * QLinearGlobalAveragePool: X (N,C,spatial...) or channels_last
 * (N,spatial...,C), x_s, x_zp, y_s, y_zp -> mean over the spatial dims,
 * kept as 1s: v = sum(x - x_zp) * (x_s / (y_s * count)), y = sat(round(v) + y_zp).
 */
static OnnxStatus
run_qlinear_global_avgpool(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	bool		last = onnx_attr_int(ctx->node, "channels_last", 0) != 0;
	QParam		px,
				py;
	int64_t		dims[ONNX_MAX_RANK],
				N,
				C,
				S = 1;
	float		f;
	OnnxDType	dt;
	OnnxTensor *y;

	if (x == NULL || !(ONNX_T(x->dtype) & I8) || x->rank < 3)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be 8-bit of rank 3 or more");
	dt = x->dtype;
	if (!qparam(ctx, 1, 2, dt, &px) || !qparam(ctx, 3, 4, dt, &py))
		return ctx->err->status;
	N = x->dims[0];
	C = last ? x->dims[x->rank - 1] : x->dims[1];
	for (int i = 0; i < x->rank; i++)
	{
		dims[i] = (i == 0 || i == (last ? x->rank - 1 : 1)) ? x->dims[i] : 1;
		if (dims[i] == 1 && i != 0 && i != (last ? x->rank - 1 : 1))
			S *= x->dims[i];
	}
	if ((y = onnx_out_raw(ctx, 0, dt, x->rank, dims)) == NULL)
		return ctx->err->status;
	f = px.scale / (py.scale * (float) (S ? S : 1));
	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++)
		{
			int64_t		sum = 0;

			for (int64_t s = 0; s < S; s++)
				sum += code_at(x->data, dt, last ? (n * S + s) * C + c : (n * C + c) * S + s) - px.zp;
			store(y->data, dt, n * C + c, qmm_quant((float) sum * f, py.zp, qlo(dt), qhi(dt)));
		}
	return ONNX_OK;
}

/* Window [*lo, *hi) of output o along one dim, clipped to the input; its count. */
static int64_t
pool_window(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe, bool incl,
			int64_t *lo, int64_t *hi)
{
	int64_t		cnt;

	*lo = o * s - pb;
	*hi = *lo + k;
	if (*hi > in + pe)
		*hi = in + pe;
	cnt = *hi - *lo;
	*lo = *lo < 0 ? 0 : *lo;
	*hi = *hi > in ? in : *hi;
	if (!incl)
		cnt = *hi > *lo ? *hi - *lo : 0;
	return cnt;
}

/*
 * QLinearAveragePool channels first through the float pool, as
 * onnxruntime computes it: x dequantized ((x - x_zp) * x_s) into a float
 * buffer, averaged by pool_fast.c's separable kernels (sum of the window's
 * taps over their count, pads counted when incl), quantized with y's
 * parameters.  sr spatial dims at in/k/s/pb/pe/out[3 - sr..2].  False
 * (nothing written) when the geometry is outside what the float kernels
 * take; a failure sets ctx->err and returns true with *st set.
 */
static bool
avgpool_float(OnnxKernelCtx *ctx, const OnnxTensor *x, OnnxTensor *y, int sr, const int64_t *in,
			  const int64_t *k, const int64_t *s, const int64_t *pb, const int64_t *pe, const int64_t *out,
			  bool incl, const QParam *px, const QParam *py, OnnxStatus *st)
{
	ConvGeom	g;
	float	   *xf,
			   *yf;

	memset(&g, 0, sizeof(g));
	g.nsp = sr;
	for (int i = 0; i < sr; i++)
	{
		int			o = 3 - sr + i;

		if (k[o] > CONV_ATTR_MAX || s[o] > CONV_ATTR_MAX || pb[o] > CONV_ATTR_MAX || pe[o] > CONV_ATTR_MAX)
			return false;
		g.in[i] = in[o];
		g.k[i] = k[o];
		g.s[i] = s[o];
		g.d[i] = 1;
		g.pb[i] = pb[o];
		g.pe[i] = pe[o];
		g.out[i] = out[o];
	}
	if ((*st = cpq_geom_sizes(ctx, &g)) != ONNX_OK)
		return true;
	xf = onnx_kernel_scratch(ctx, (size_t) x->count, sizeof(float));
	yf = xf ? onnx_kernel_scratch(ctx, (size_t) y->count, sizeof(float)) : NULL;
	if (yf == NULL)
	{
		*st = ctx->err->status;
		return true;
	}
	onnx_dequantize_8bit(x->data, x->dtype == ONNX_DTYPE_INT8, x->count, px->scale, px->zp, xf);
	if ((*st = onnx_pool_f32(ctx, &g, false, incl, xf, yf, x->count / g.in_size)) != ONNX_OK)
		return true;
	onnx_quantize_8bit(yf, y->count, py->scale, py->zp, qlo(x->dtype), qhi(x->dtype), y->data);
	return true;
}

/*
 * QLinearAveragePool: AveragePool's attributes (kernel_shape, strides,
 * pads, auto_pad, ceil_mode, count_include_pad) plus channels_last, over
 * 1 to 3 spatial dims; v = sum(x - x_zp) * x_s / (y_s * count).
 */
static OnnxStatus
run_qlinear_avgpool(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxNode *node = ctx->node;
	bool		last = onnx_attr_int(node, "channels_last", 0) != 0,
				ceil_mode = onnx_attr_int(node, "ceil_mode", 0) != 0,
				incl = onnx_attr_int(node, "count_include_pad", 0) != 0;
	const char *ap = onnx_attr_string(node, "auto_pad", "NOTSET");
	const int64_t *ks,
			   *st = NULL,
			   *pd = NULL;
	int			nk,
				ns,
				np,
				sr;
	int64_t		in[3] = {1, 1, 1},
				k[3] = {1, 1, 1},
				s[3] = {1, 1, 1},
				pb[3] = {0, 0, 0},
				pe[3] = {0, 0, 0},
				out[3] = {1, 1, 1},
				dims[ONNX_MAX_RANK],
				N,
				C;
	QParam		px,
				py;
	OnnxDType	dt;
	OnnxTensor *y;

	if (x == NULL || !(ONNX_T(x->dtype) & I8) || x->rank < 3 || x->rank > 5)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be 8-bit with 1 to 3 spatial dims");
	dt = x->dtype;
	if (!qparam(ctx, 1, 2, dt, &px) || !qparam(ctx, 3, 4, dt, &py))
		return ctx->err->status;
	sr = x->rank - 2;
	nk = onnx_attr_ints(node, "kernel_shape", &ks);
	ns = onnx_attr_ints(node, "strides", &st);
	np = onnx_attr_ints(node, "pads", &pd);
	if (nk != sr || (ns && ns != sr) || (np && np != 2 * sr))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "kernel_shape, strides and pads must match the spatial rank");
	N = x->dims[0];
	C = last ? x->dims[x->rank - 1] : x->dims[1];
	for (int i = 0; i < sr; i++)
	{
		int			o = 3 - sr + i;

		in[o] = x->dims[last ? 1 + i : 2 + i];
		k[o] = ks[i];
		s[o] = ns ? st[i] : 1;
		pb[o] = np ? pd[i] : 0;
		pe[o] = np ? pd[i + sr] : 0;
		if (k[o] < 1 || s[o] < 1 || pb[o] < 0 || pe[o] < 0 || pb[o] >= k[o] || pe[o] >= k[o])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "invalid kernel, stride or pad");
		if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0)
		{
			int64_t		tot;

			out[o] = (in[o] + s[o] - 1) / s[o];
			tot = (out[o] - 1) * s[o] + k[o] - in[o];
			tot = tot < 0 ? 0 : tot;
			pb[o] = strcmp(ap, "SAME_UPPER") == 0 ? tot / 2 : (tot + 1) / 2;
			pe[o] = tot - pb[o];
		}
		else if (strcmp(ap, "VALID") == 0)
		{
			pb[o] = pe[o] = 0;
			out[o] = in[o] >= k[o] ? (in[o] - k[o]) / s[o] + 1 : 0;
		}
		else
		{
			int64_t		span = in[o] + pb[o] + pe[o] - k[o];

			if (span < 0)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "kernel larger than the padded input");
			out[o] = (ceil_mode ? (span + s[o] - 1) / s[o] : span / s[o]) + 1;
			if (ceil_mode && (out[o] - 1) * s[o] >= in[o] + pb[o])
				out[o]--;
		}
		dims[last ? 1 + i : 2 + i] = out[o];
	}
	dims[0] = N;
	dims[last ? x->rank - 1 : 1] = C;
	if ((y = onnx_out_raw(ctx, 0, dt, x->rank, dims)) == NULL)
		return ctx->err->status;
	if (!last && y->count > 0 && x->count > 0)
	{
		OnnxStatus	fst;

		if (avgpool_float(ctx, x, y, sr, in, k, s, pb, pe, out, incl, &px, &py, &fst))
			return fst;
	}
	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++)
		{
			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			for (int64_t od = 0; od < out[0]; od++)
				for (int64_t oh = 0; oh < out[1]; oh++)
					for (int64_t ow = 0; ow < out[2]; ow++)
					{
						int64_t		lo[3],
									hi[3],
									o[3] = {od, oh, ow},
									cnt = 1,
									sum = 0,
									oi;

						for (int d = 0; d < 3; d++)
							cnt *= pool_window(o[d], in[d], k[d], s[d], pb[d], pe[d], incl, &lo[d], &hi[d]);
						for (int64_t id = lo[0]; id < hi[0]; id++)
							for (int64_t ih = lo[1]; ih < hi[1]; ih++)
								for (int64_t iw = lo[2]; iw < hi[2]; iw++)
								{
									int64_t		sp = (id * in[1] + ih) * in[2] + iw;
									int64_t		S = in[0] * in[1] * in[2];

									sum += code_at(x->data, dt, last ? (n * S + sp) * C + c : (n * C + c) * S + sp) - px.zp;
								}
						oi = (od * out[1] + oh) * out[2] + ow;
						oi = last ? (n * out[0] * out[1] * out[2] + oi) * C + c :
							(n * C + c) * out[0] * out[1] * out[2] + oi;
						store(y->data, dt, oi,
							  quant(cnt ? (float) sum * px.scale / (float) cnt : 0.0f, &py, dt));
					}
		}
	return ONNX_OK;
}

static const OnnxAttrSpec pool_attrs[] = {
	{"kernel_shape", ONNX_ATTR_INTS}, {"strides", ONNX_ATTR_INTS}, {"pads", ONNX_ATTR_INTS},
	{"auto_pad", ONNX_ATTR_STRING}, {"ceil_mode", ONNX_ATTR_INT}, {"count_include_pad", ONNX_ATTR_INT},
	{"channels_last", ONNX_ATTR_INT}, {0}
};

#define MS "com.microsoft"

/*
 * Output shapes for the load-time rewrites downstream (qdq_fuse.c's
 * tables need the rank and channels of their input):
 * QLinearAveragePool as AveragePool (channels first), QLinearGlobalAveragePool
 * (N, C, 1...) or (N, 1..., C), QLinearConcat the inputs' common shape with
 * the axis summed (-1 when a size is unknown).
 */
static OnnxStatus
infer_qlinear_avgpool(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	const int64_t *ks;
	int			nk = onnx_attr_ints(ctx->node, "kernel_shape", &ks);

	if (x == NULL || x->rank < 3 || nk != x->rank - 2 || onnx_attr_int(ctx->node, "channels_last", 0) != 0)
		return ONNX_OK;
	cpq_infer_window(ctx, nk, ks, onnx_attr_int(ctx->node, "ceil_mode", 0) != 0, x->dims[1]);
	return ONNX_OK;
}

static OnnxStatus
infer_qlinear_gap(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *x = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	OnnxValueInfo *y = ctx->n_outputs > 0 ? ctx->outputs[0] : NULL;
	bool		last = onnx_attr_int(ctx->node, "channels_last", 0) != 0;

	if (x == NULL || y == NULL || x->rank < 3)
		return ONNX_OK;
	onnx_info_copy_shape(y, x);
	for (int i = 1; i < x->rank; i++)
		if (i != (last ? x->rank - 1 : 1))
		{
			y->dims[i] = 1;
			y->dim_params[i] = NULL;
		}
	return ONNX_OK;
}

static OnnxStatus
infer_qlinear_concat(OnnxInferCtx *ctx)
{
	OnnxValueInfo *y = ctx->n_outputs > 0 ? ctx->outputs[0] : NULL;
	const OnnxValueInfo *x0 = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 0),
				sum = 0;

	if (y == NULL || x0 == NULL || x0->rank < 1 || (ctx->n_inputs - 2) % 3 != 0)
		return ONNX_OK;
	if (axis < 0)
		axis += x0->rank;
	if (axis < 0 || axis >= x0->rank)
		return ONNX_OK;
	for (int i = 2; i < ctx->n_inputs; i += 3)
	{
		const OnnxValueInfo *xi = ctx->inputs[i];

		if (xi == NULL || xi->rank != x0->rank)
			return ONNX_OK;
		sum = sum < 0 || xi->dims[axis] < 0 ? -1 : sum + xi->dims[axis];
	}
	onnx_info_copy_shape(y, x0);
	y->dims[axis] = sum;
	y->dim_params[axis] = NULL;
	return ONNX_OK;
}

const OnnxOpDef onnx_ops_ms_qlinear[] = {
	ONNX_OP(MS, "QLinearAdd", 1, ONNX_INPUTS(1, 8), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_broadcast, .run = run_qlinear_add),
	ONNX_OP(MS, "QLinearMul", 1, ONNX_INPUTS(1, 8), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_broadcast, .run = run_qlinear_mul),
	ONNX_OP(MS, "QLinearSigmoid", 1, ONNX_INPUTS(1, 5), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_same_shape,
		.run = run_qlinear_sigmoid),
	ONNX_OP(MS, "QLinearLeakyRelu", 1, ONNX_INPUTS(1, 5), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_same_shape,
		.run = run_qlinear_leaky_relu),
	ONNX_OP(MS, "QLinearSoftmax", 1, ONNX_INPUTS(1, 5), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_same_shape,
		.run = run_qlinear_softmax),
	ONNX_OP(MS, "QLinearConcat", 1, ONNX_INPUTS(2, -1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_INPUT, .out_input = 1, .infer = infer_qlinear_concat,
		.run = run_qlinear_concat),
	ONNX_OP(MS, "QLinearWhere", 1, ONNX_INPUTS(1, 9), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_BOOL), .out_type = ONNX_OUT_INPUT, .out_input = 1,
		.run = run_qlinear_where),
	ONNX_OP(MS, "QLinearAveragePool", 1, ONNX_INPUTS(1, 5), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_SAME, .infer = infer_qlinear_avgpool, .run = run_qlinear_avgpool,
		.attrs = pool_attrs),
	ONNX_OP(MS, "QLinearGlobalAveragePool", 1, ONNX_INPUTS(1, 5), ONNX_OUTPUTS(1, 1),
		.input0_types = I8, .out_type = ONNX_OUT_SAME, .infer = infer_qlinear_gap,
		.run = run_qlinear_global_avgpool),
	{0}
};
