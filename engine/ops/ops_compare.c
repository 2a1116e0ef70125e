/*-------------------------------------------------------------------------
 *
 * ops_compare.c
 *	  Comparison, logic, selection and variadic elementwise operators, all
 *	  with numpy broadcasting:
 *	  Equal, Less, Greater, LessOrEqual, GreaterOrEqual -> bool;
 *	  And, Or, Xor, Not (bool); BitwiseAnd/Or/Xor/Not, BitShift (integers);
 *	  Where(cond, X, Y); Pow(X, Y) (Y of any numeric type); Mod (fmod);
 *	  Min, Max, Sum, Mean (1..n inputs); PRelu.
 *
 *	  Comparisons, logic, Where, PRelu, the variadic ops and Pow of floats
 *	  run eltwise.h's typed loops over broadcast runs; the rest (strings,
 *	  bitwise ops, Mod, integer Pow) read elements as double (float
 *	  types), int64 (signed) or uint64 (unsigned) so every numeric dtype
 *	  shares one loop.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>

#include "op_tables.h"
#include "eltwise.h"

static inline uint64_t
get_u64(const OnnxTensor *t, int64_t i)
{
	switch (t->dtype)
	{
		case ONNX_DTYPE_UINT64:
			return ((const uint64_t *) t->data)[i];
		case ONNX_DTYPE_UINT32:
			return ((const uint32_t *) t->data)[i];
		case ONNX_DTYPE_UINT16:
			return ((const uint16_t *) t->data)[i];
		default:
			return (uint64_t) onnx_tensor_get_i64(t, i);
	}
}

static inline void
set_u64(OnnxTensor *t, int64_t i, uint64_t v)
{
	if (t->dtype == ONNX_DTYPE_UINT64)
		((uint64_t *) t->data)[i] = v;
	else
		onnx_tensor_set_i64(t, i, (int64_t) v);
}

/* ---- comparisons ---- */

static OnnxStatus
run_compare(OnnxKernelCtx *ctx, OnnxEwCmpOp op)
{
	const OnnxTensor *ins[2] = {onnx_in(ctx, 0), onnx_in(ctx, 1)};
	const OnnxTensor *a = ins[0],
			   *b = ins[1];
	OnnxTensor *y;
	OnnxBcastIter it;
	OnnxEwBinFn fn;

	if (a == NULL || b == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s needs two inputs", ctx->node->op_type);
	if (a->dtype != b->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s inputs differ in type (%s, %s)",
								ctx->node->op_type, onnx_dtype_name(a->dtype), onnx_dtype_name(b->dtype));
	if ((y = onnx_ew_out(ctx, 0, ONNX_DTYPE_BOOL, 2, ins, 3)) == NULL)
		return ctx->err->status;
	if ((fn = onnx_ew_cmp_fn(op, a->dtype)) != NULL)
		return onnx_ew_binary(ctx, y, a, b, fn);
	if (a->dtype != ONNX_DTYPE_STRING)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s does not support type %s",
								ctx->node->op_type, onnx_dtype_name(a->dtype));
	onnx_bcast_init(&it, y, 2, ins);
	for (int64_t i = 0; i < y->count; i++, onnx_bcast_next(&it))
	{
		const char *s = ((char *const *) a->data)[it.off[0]];
		const char *t = ((char *const *) b->data)[it.off[1]];
		int			c = strcmp(s ? s : "", t ? t : "");

		((uint8_t *) y->data)[i] = op == EW_EQ ? c == 0 : op == EW_LT ? c < 0 : op == EW_GT ? c > 0 :
			op == EW_LE ? c <= 0 : c >= 0;
	}
	return ONNX_OK;
}

static OnnxStatus run_equal(OnnxKernelCtx *ctx) { return run_compare(ctx, EW_EQ); }
static OnnxStatus run_less(OnnxKernelCtx *ctx) { return run_compare(ctx, EW_LT); }
static OnnxStatus run_greater(OnnxKernelCtx *ctx) { return run_compare(ctx, EW_GT); }
static OnnxStatus run_less_equal(OnnxKernelCtx *ctx) { return run_compare(ctx, EW_LE); }
static OnnxStatus run_greater_equal(OnnxKernelCtx *ctx) { return run_compare(ctx, EW_GE); }

/* ---- logic and bitwise ---- */

typedef enum BitOp
{
	BIT_AND,
	BIT_OR,
	BIT_XOR,
	BIT_SHL,
	BIT_SHR
} BitOp;

static OnnxStatus
run_bits(OnnxKernelCtx *ctx, BitOp op, bool logical)
{
	const OnnxTensor *ins[2] = {onnx_in(ctx, 0), onnx_in(ctx, 1)};
	OnnxTensor *y;
	OnnxBcastIter it;

	if (ins[0] == NULL || ins[1] == NULL || ins[0]->dtype != ins[1]->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s needs two inputs of one type", ctx->node->op_type);
	if (logical && ins[0]->dtype != ONNX_DTYPE_BOOL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s takes bool inputs", ctx->node->op_type);
	if (!logical && !(ONNX_TS_INT & ONNX_T(ins[0]->dtype)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s takes integer inputs", ctx->node->op_type);
	if (op == BIT_SHL || op == BIT_SHR)
	{
		const char *dir = onnx_attr_string(ctx->node, "direction", "");

		if (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "BitShift direction must be LEFT or RIGHT");
		op = strcmp(dir, "LEFT") == 0 ? BIT_SHL : BIT_SHR;
	}
	if (logical)
	{
		if ((y = onnx_ew_out(ctx, 0, ONNX_DTYPE_BOOL, 2, ins, 3)) == NULL)
			return ctx->err->status;
		return onnx_ew_binary(ctx, y, ins[0], ins[1],
							  onnx_ew_cmp_fn(op == BIT_AND ? EW_AND : op == BIT_OR ? EW_OR : EW_XOR,
											 ONNX_DTYPE_BOOL));
	}
	if ((y = onnx_ew_out(ctx, 0, ins[0]->dtype, 2, ins, 0)) == NULL)
		return ctx->err->status;
	onnx_bcast_init(&it, y, 2, ins);
	for (int64_t i = 0; i < y->count; i++, onnx_bcast_next(&it))
	{
		uint64_t	x = get_u64(ins[0], it.off[0]),
					z = get_u64(ins[1], it.off[1]),
					v;
		int			bits = (int) onnx_dtype_size(y->dtype) * 8;

		switch (op)
		{
			case BIT_AND:
				v = x & z;
				break;
			case BIT_OR:
				v = x | z;
				break;
			case BIT_XOR:
				v = x ^ z;
				break;
			case BIT_SHL:
				v = z >= (uint64_t) bits ? 0 : x << z;
				break;
			default:
				v = z >= (uint64_t) bits ? 0 : (x & (bits == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << bits) - 1))) >> z;
				break;
		}
		set_u64(y, i, v);
	}
	return ONNX_OK;
}

static OnnxStatus run_and(OnnxKernelCtx *ctx) { return run_bits(ctx, BIT_AND, true); }
static OnnxStatus run_or(OnnxKernelCtx *ctx) { return run_bits(ctx, BIT_OR, true); }
static OnnxStatus run_xor(OnnxKernelCtx *ctx) { return run_bits(ctx, BIT_XOR, true); }
static OnnxStatus run_bitwise_and(OnnxKernelCtx *ctx) { return run_bits(ctx, BIT_AND, false); }
static OnnxStatus run_bitwise_or(OnnxKernelCtx *ctx) { return run_bits(ctx, BIT_OR, false); }
static OnnxStatus run_bitwise_xor(OnnxKernelCtx *ctx) { return run_bits(ctx, BIT_XOR, false); }
static OnnxStatus run_bitshift(OnnxKernelCtx *ctx) { return run_bits(ctx, BIT_SHL, false); }

/* Not (bool) and BitwiseNot (integers): X -> same shape. */
static OnnxStatus
run_not_common(OnnxKernelCtx *ctx, bool logical)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	OnnxTensor *y;

	if (x == NULL || (logical && x->dtype != ONNX_DTYPE_BOOL) || (!logical && !(ONNX_TS_INT & ONNX_T(x->dtype))))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s takes %s input", ctx->node->op_type,
								logical ? "a bool" : "an integer");
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
		set_u64(y, i, logical ? !((uint8_t *) x->data)[i] : ~get_u64(x, i));
	return ONNX_OK;
}

static OnnxStatus run_not(OnnxKernelCtx *ctx) { return run_not_common(ctx, true); }
static OnnxStatus run_bitwise_not(OnnxKernelCtx *ctx) { return run_not_common(ctx, false); }

/* ---- Where(cond, X, Y) ---- */

static void
where_run(const void *arg, void *y, const void *const *x, int64_t n, unsigned mode)
{
	(*(const OnnxEwWhereFn *) arg) (y, x[0], x[1], x[2], n, mode);
}

static OnnxStatus
run_where(OnnxKernelCtx *ctx)
{
	const OnnxTensor *ins[3] = {onnx_in(ctx, 0), onnx_in(ctx, 1), onnx_in(ctx, 2)};
	OnnxTensor *y;
	OnnxBcastIter it;
	size_t		es;

	if (!ins[0] || !ins[1] || !ins[2] || ins[0]->dtype != ONNX_DTYPE_BOOL || ins[1]->dtype != ins[2]->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Where needs a bool condition and X, Y of one type");
	if ((y = onnx_ew_out(ctx, 0, ins[1]->dtype, 3, ins, 7)) == NULL)
		return ctx->err->status;
	es = onnx_dtype_size(y->dtype);
	if (y->dtype != ONNX_DTYPE_STRING && (es == 1 || es == 2 || es == 4 || es == 8))
	{
		OnnxEwWhereFn fn = onnx_ew_table()->where[es == 1 ? 0 : es == 2 ? 1 : es == 4 ? 2 : 3];

		return onnx_ew_broadcast(ctx, y, 3, ins, where_run, &fn);
	}
	onnx_bcast_init(&it, y, 3, ins);
	for (int64_t i = 0; i < y->count; i++, onnx_bcast_next(&it))
	{
		bool		c = ((const uint8_t *) ins[0]->data)[it.off[0]] != 0;
		const OnnxTensor *src = c ? ins[1] : ins[2];
		int64_t		off = c ? it.off[1] : it.off[2];

		if (y->dtype == ONNX_DTYPE_STRING)
		{
			const char *s = ((char *const *) src->data)[off];
			size_t		n = s ? strlen(s) : 0;
			char	   *d = onnx_kernel_alloc(ctx, n + 1);

			if (d == NULL)
				return ctx->err->status;
			memcpy(d, s ? s : "", n + 1);
			((char **) y->data)[i] = d;
		}
		else
			memcpy((char *) y->data + i * es, (const char *) src->data + off * es, es);
	}
	return ONNX_OK;
}

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
			uint64_t	a = get_u64(ins[0], it.off[0]),
						b = get_u64(ins[1], it.off[1]);

			set_u64(y, i, b ? a % b : 0);
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

#define CMP(name, since, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ALL, \
		.out_type = ONNX_OUT_BOOL, .infer = onnx_infer_broadcast, .run = fn)
#define SAME2(name, since, types, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = types, \
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_broadcast, .run = fn)
#define VAR(name, since, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(1, -1), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_NUMERIC, .out_type = ONNX_OUT_SAME, \
		.infer = onnx_infer_broadcast, .run = fn)

static const OnnxAttrSpec shift_attrs[] = {{"direction", ONNX_ATTR_STRING}, {0}};
static const OnnxAttrSpec mod_attrs[] = {{"fmod", ONNX_ATTR_INT}, {0}};

const OnnxOpDef onnx_ops_compare[] = {
	CMP("Equal", 1, run_equal),
	CMP("Less", 1, run_less),
	CMP("Greater", 1, run_greater),
	CMP("LessOrEqual", 12, run_less_equal),
	CMP("GreaterOrEqual", 12, run_greater_equal),
	ONNX_OP("", "And", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_BOOL), .out_type = ONNX_OUT_BOOL,
		.infer = onnx_infer_broadcast, .run = run_and),
	ONNX_OP("", "Or", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_T(ONNX_DTYPE_BOOL),
		.out_type = ONNX_OUT_BOOL, .infer = onnx_infer_broadcast, .run = run_or),
	ONNX_OP("", "Xor", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_BOOL), .out_type = ONNX_OUT_BOOL,
		.infer = onnx_infer_broadcast, .run = run_xor),
	ONNX_OP("", "Not", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_BOOL), .out_type = ONNX_OUT_BOOL,
		.infer = onnx_infer_same_shape, .run = run_not),
	SAME2("BitwiseAnd", 18, ONNX_TS_INT, run_bitwise_and),
	SAME2("BitwiseOr", 18, ONNX_TS_INT, run_bitwise_or),
	SAME2("BitwiseXor", 18, ONNX_TS_INT, run_bitwise_xor),
	ONNX_OP("", "BitwiseNot", 18, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_INT,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_same_shape, .run = run_bitwise_not),
	ONNX_OP("", "BitShift", 11, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_UINT,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_broadcast, .run = run_bitshift,
		.attrs = shift_attrs),
	ONNX_OP("", "Where", 9, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_BOOL), .out_type = ONNX_OUT_UNKNOWN,
		.infer = onnx_infer_broadcast, .run = run_where),
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
