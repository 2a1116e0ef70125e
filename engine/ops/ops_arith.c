/*-------------------------------------------------------------------------
 *
 * ops_arith.c
 *	  Elementwise arithmetic with numpy broadcasting: Add, Sub, Mul, Div,
 *	  A (shape a), B (shape b) -> C (broadcast(a, b)), one dtype; Pow(X, Y)
 *	  (Y of any numeric type); Mod (fmod); PRelu; Min, Max, Sum, Mean
 *	  (1..n inputs).
 *
 * Add to Div, PRelu, the variadic ops and Pow of floats run eltwise.h's
 * typed loops over broadcast runs; Mod and integer Pow read elements as
 * double (float types), int64 (signed) or uint64 (unsigned) so every
 * numeric dtype shares one loop.
 *
 * The typed loops and the broadcast driver are eltwise.h's: every numeric
 * dtype has its own loop (float16/bfloat16 compute in float32), integers
 * wrap, and integer division by zero yields 0 instead of a trap: the
 * engine must never crash on data.  C takes A's or B's buffer when the
 * executor allows it.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "eltwise.h"
#include "fused_act.h"

/* C = act(A op B), act the Relu optimize.c folded into an Add (or none) */
static OnnxStatus
binary_apply(OnnxKernelCtx *ctx, OnnxEwBinOp op)
{
	const OnnxTensor *ins[2] = {onnx_in(ctx, 0), onnx_in(ctx, 1)};
	const OnnxTensor *a = ins[0],
			   *b = ins[1];
	OnnxEwBinFn fn;
	OnnxTensor *c;
	OnnxStatus	st;

	if (a == NULL || b == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "inputs must be tensors");
	if (a->dtype != b->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s needs inputs of one type, got %s and %s", ctx->node->op_type,
								onnx_dtype_name(a->dtype), onnx_dtype_name(b->dtype));
	if ((fn = onnx_ew_bin_fn(op, a->dtype)) == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s does not support type %s",
								ctx->node->op_type, onnx_dtype_name(a->dtype));
	if ((c = onnx_ew_out(ctx, 0, a->dtype, 2, ins, 3)) == NULL)
		return ctx->err->status;
	if ((st = onnx_ew_binary(ctx, c, a, b, fn)) == ONNX_OK)
		onnx_act_tensor(&ctx->node->fused_act, c);
	return st;
}

static OnnxStatus run_add(OnnxKernelCtx *ctx) { return binary_apply(ctx, EW_ADD); }
static OnnxStatus run_sub(OnnxKernelCtx *ctx) { return binary_apply(ctx, EW_SUB); }
static OnnxStatus run_mul(OnnxKernelCtx *ctx) { return binary_apply(ctx, EW_MUL); }
static OnnxStatus run_div(OnnxKernelCtx *ctx) { return binary_apply(ctx, EW_DIV); }

/* ---- Pow and Mod ---- */

static int64_t
ipow(int64_t b, int64_t e)
{
	uint64_t	r = 1,
				x = (uint64_t) b;

	if (e < 0)
		return b == 1 ? 1 : (b == -1 ? ((e & 1) ? -1 : 1) : 0);
	while (e)
	{
		if (e & 1)
			r *= x;
		x *= x;
		e >>= 1;
	}
	return (int64_t) r;
}

/*
 * Pow of float32/float16/bfloat16 X by one exponent e (Y of one element,
 * any numeric type) as a unary kernel: e = 2 as x * x, other integers in
 * [-64, 64] by repeated squaring, +-0.5 through sqrt; false (nothing
 * done) for other exponents.
 */
static bool
pow_scalar(OnnxKernelCtx *ctx, OnnxTensor *y, const OnnxTensor *x, double e, OnnxStatus *st)
{
	float		p[2] = {0, 0};
	OnnxEwUnOp	op;

	if (e == 2)
		op = EW_SQUARE;
	else if (e == floor(e) && fabs(e) <= 64)
	{
		op = EW_POWI;
		p[0] = (float) e;
	}
	else if (fabs(e) == 0.5)
	{
		op = EW_POW_HALF;
		p[0] = e > 0 ? 1.0f : -1.0f;
	}
	else
		return false;
	*st = onnx_ew_unary(ctx, y, x, op, p);
	return true;
}

static OnnxStatus
run_pow(OnnxKernelCtx *ctx)
{
	const OnnxTensor *ins[2] = {onnx_in(ctx, 0), onnx_in(ctx, 1)};
	OnnxTensor *y;
	OnnxBcastIter it;
	OnnxDType	dt;
	OnnxStatus	st;

	if (!ins[0] || !ins[1] || ins[0]->dtype == ONNX_DTYPE_STRING || ins[1]->dtype == ONNX_DTYPE_STRING)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Pow needs numeric X and Y");
	dt = ins[0]->dtype;
	if ((y = onnx_ew_out(ctx, 0, dt, 2, ins, 1)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	if ((dt == ONNX_DTYPE_FLOAT || dt == ONNX_DTYPE_FLOAT16 || dt == ONNX_DTYPE_BFLOAT16) &&
		ins[1]->count == 1 && y->count == ins[0]->count &&
		pow_scalar(ctx, y, ins[0], onnx_tensor_get_f64(ins[1], 0), &st))
		return st;
	if (ins[1]->dtype == dt && onnx_dtype_is_float(dt))
		return onnx_ew_binary(ctx, y, ins[0], ins[1], onnx_ew_bin_fn(EW_POW, dt));
	onnx_bcast_init(&it, y, 2, ins);
	for (int64_t i = 0; i < y->count; i++, onnx_bcast_next(&it))
	{
		if (onnx_dtype_is_float(y->dtype))
			onnx_tensor_set_f64(y, i, pow(onnx_tensor_get_f64(ins[0], it.off[0]), onnx_tensor_get_f64(ins[1], it.off[1])));
		else if (onnx_dtype_is_float(ins[1]->dtype))
			onnx_tensor_set_f64(y, i, pow(onnx_tensor_get_f64(ins[0], it.off[0]), onnx_tensor_get_f64(ins[1], it.off[1])));
		else
			onnx_tensor_set_i64(y, i, ipow(onnx_tensor_get_i64(ins[0], it.off[0]), onnx_tensor_get_i64(ins[1], it.off[1])));
	}
	return ONNX_OK;
}

static OnnxStatus
run_mod(OnnxKernelCtx *ctx)
{
	const OnnxTensor *ins[2] = {onnx_in(ctx, 0), onnx_in(ctx, 1)};
	bool		use_fmod = onnx_attr_int(ctx->node, "fmod", 0) != 0;
	OnnxTensor *y;
	OnnxBcastIter it;

	if (!ins[0] || !ins[1] || ins[0]->dtype != ins[1]->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Mod needs two inputs of one type");
	if (onnx_dtype_is_float(ins[0]->dtype) && !use_fmod)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "Mod on floating-point inputs needs fmod=1");
	if ((y = onnx_ew_out(ctx, 0, ins[0]->dtype, 2, ins, 0)) == NULL)
		return ctx->err->status;
	onnx_bcast_init(&it, y, 2, ins);
	for (int64_t i = 0; i < y->count; i++, onnx_bcast_next(&it))
	{
		if (onnx_dtype_is_float(y->dtype))
			onnx_tensor_set_f64(y, i, fmod(onnx_tensor_get_f64(ins[0], it.off[0]), onnx_tensor_get_f64(ins[1], it.off[1])));
		else if (onnx_dtype_is_unsigned_int(y->dtype))
		{
			uint64_t	a = onnx_ew_get_u64(ins[0], it.off[0]),
						b = onnx_ew_get_u64(ins[1], it.off[1]);

			onnx_ew_set_u64(y, i, b ? a % b : 0);
		}
		else
		{
			int64_t		a = onnx_tensor_get_i64(ins[0], it.off[0]),
						b = onnx_tensor_get_i64(ins[1], it.off[1]),
						r;

			if (b == 0 || (b == -1 && a == INT64_MIN))
				r = 0;
			else
			{
				r = a % b;
				if (!use_fmod && r != 0 && ((r < 0) != (b < 0)))
					r += b;		/* the sign of the divisor, like Python */
			}
			onnx_tensor_set_i64(y, i, r);
		}
	}
	return ONNX_OK;
}

/* ---- PRelu: X, slope broadcast to X -> x < 0 ? slope * x : x ---- */

static OnnxStatus
run_prelu(OnnxKernelCtx *ctx)
{
	const OnnxTensor *ins[2] = {onnx_in(ctx, 0), onnx_in(ctx, 1)};
	OnnxTensor *y;
	OnnxEwBinFn fn;

	if (!ins[0] || !ins[1] || ins[0]->dtype != ins[1]->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "PRelu needs X and slope of one type");
	if ((fn = onnx_ew_bin_fn(EW_PRELU, ins[0]->dtype)) == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "PRelu does not support type %s",
								onnx_dtype_name(ins[0]->dtype));
	if ((y = onnx_ew_out(ctx, 0, ins[0]->dtype, 2, ins, 3)) == NULL)
		return ctx->err->status;
	if (y->count != ins[0]->count)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "slope must broadcast to the shape of X");
	return onnx_ew_binary(ctx, y, ins[0], ins[1], fn);
}

/* ---- Min, Max, Sum, Mean over 1..n inputs ---- */

typedef enum VarOp
{
	VAR_MIN,
	VAR_MAX,
	VAR_SUM,
	VAR_MEAN
} VarOp;

/*
 * Y = X0 op X1 op ... (left to right, each step one broadcast pass over
 * Y; Mean divides by n at the end).  Y may take X0's buffer: X0 is read
 * by the first pass only, element by element, unless it is given again.
 */
static OnnxStatus
run_variadic(OnnxKernelCtx *ctx, VarOp op)
{
	const OnnxTensor *all[64];
	const OnnxTensor *ins[64];
	int			n = 0;
	OnnxTensor *y;
	OnnxDType	dt;
	OnnxEwBinFn fn;
	OnnxStatus	st;
	unsigned	reuse;

	if (ctx->n_inputs > 64)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s takes at most 64 inputs", ctx->node->op_type);
	for (int i = 0; i < ctx->n_inputs; i++)
		if ((all[i] = onnx_in(ctx, i)) != NULL)
			ins[n++] = all[i];
	if (n == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s needs at least one input", ctx->node->op_type);
	dt = ins[0]->dtype;
	for (int i = 1; i < n; i++)
		if (ins[i]->dtype != dt)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s inputs differ in type", ctx->node->op_type);
	fn = onnx_ew_bin_fn(op == VAR_MIN ? EW_MIN : op == VAR_MAX ? EW_MAX : EW_ADD, dt);
	if (fn == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s does not support type %s",
								ctx->node->op_type, onnx_dtype_name(dt));
	/* X0's buffer only when no later input reads the same data */
	reuse = all[0] != NULL;
	for (int i = 1; i < n; i++)
		if (ins[i]->data == ins[0]->data)
			reuse = 0;
	if ((y = onnx_ew_out(ctx, 0, dt, ctx->n_inputs, all, reuse)) == NULL)
		return ctx->err->status;
	if (n == 1)
	{
		if (y->data != ins[0]->data && y->nbytes)
			memcpy(y->data, ins[0]->data, y->nbytes);
		return ONNX_OK;
	}
	if ((st = onnx_ew_binary(ctx, y, ins[0], ins[1], fn)) != ONNX_OK)
		return st;
	for (int k = 2; k < n; k++)
		if ((st = onnx_ew_binary(ctx, y, y, ins[k], fn)) != ONNX_OK)
			return st;
	if (op == VAR_MEAN)
	{
		uint64_t	buf = 0;
		OnnxTensor	count;

		memset(&count, 0, sizeof(count));
		count.dtype = dt;
		count.count = 1;
		count.nbytes = onnx_dtype_size(dt);
		count.data = &buf;
		onnx_tensor_set_f64(&count, 0, n);
		return onnx_ew_binary(ctx, y, y, &count, onnx_ew_bin_fn(EW_DIV, dt));
	}
	return ONNX_OK;
}

static OnnxStatus run_min(OnnxKernelCtx *ctx) { return run_variadic(ctx, VAR_MIN); }
static OnnxStatus run_max(OnnxKernelCtx *ctx) { return run_variadic(ctx, VAR_MAX); }
static OnnxStatus run_sum(OnnxKernelCtx *ctx) { return run_variadic(ctx, VAR_SUM); }
static OnnxStatus run_mean(OnnxKernelCtx *ctx) { return run_variadic(ctx, VAR_MEAN); }

#define BIN(name, since, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_NUMERIC, .out_type = ONNX_OUT_SAME, \
		.infer = onnx_infer_broadcast, .run = fn)

#define SAME2(name, since, types, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = types, \
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_broadcast, .run = fn)
#define VAR(name, since, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(1, -1), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_NUMERIC, .out_type = ONNX_OUT_SAME, \
		.infer = onnx_infer_broadcast, .run = fn)

static const OnnxAttrSpec mod_attrs[] = {{"fmod", ONNX_ATTR_INT}, {0}};

const OnnxOpDef onnx_ops_arith[] = {
	BIN("Add", 1, run_add),
	BIN("Sub", 1, run_sub),
	BIN("Mul", 1, run_mul),
	BIN("Div", 1, run_div),
	SAME2("Pow", 1, ONNX_TS_NUMERIC, run_pow),
	ONNX_OP("", "Mod", 10, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_broadcast, .run = run_mod, .attrs = mod_attrs),
	SAME2("PRelu", 1, ONNX_TS_FLOAT | ONNX_TS_SINT | ONNX_TS_UINT, run_prelu),
	VAR("Min", 1, run_min),
	VAR("Max", 1, run_max),
	VAR("Sum", 1, run_sum),
	VAR("Mean", 1, run_mean),
	{0}
};
