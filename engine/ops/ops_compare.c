/*-------------------------------------------------------------------------
 *
 * ops_compare.c
 *	  Comparison, logic and selection elementwise operators, all with
 *	  numpy broadcasting:
 *	  Equal, Less, Greater, LessOrEqual, GreaterOrEqual -> bool;
 *	  And, Or, Xor, Not (bool); BitwiseAnd/Or/Xor/Not, BitShift (integers);
 *	  Where(cond, X, Y).  The arithmetic ones are ops_arith.c's.
 *
 *	  Comparisons, logic and Where run eltwise.h's typed loops over
 *	  broadcast runs; the rest (strings, bitwise ops) read elements as
 *	  int64 (signed) or uint64 (unsigned) so every integer dtype shares one
 *	  loop.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>

#include "op_tables.h"
#include "eltwise.h"

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
		uint64_t	x = onnx_ew_get_u64(ins[0], it.off[0]),
					z = onnx_ew_get_u64(ins[1], it.off[1]),
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
		onnx_ew_set_u64(y, i, v);
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
		onnx_ew_set_u64(y, i, logical ? !((uint8_t *) x->data)[i] : ~onnx_ew_get_u64(x, i));
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

#define CMP(name, since, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ALL, \
		.out_type = ONNX_OUT_BOOL, .infer = onnx_infer_broadcast, .run = fn)
#define SAME2(name, since, types, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = types, \
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_broadcast, .run = fn)

static const OnnxAttrSpec shift_attrs[] = {{"direction", ONNX_ATTR_STRING}, {0}};

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
		ONNX_OUT_LIKE_INPUT0, .run = run_bitwise_not),
	ONNX_OP("", "BitShift", 11, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_UINT,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_broadcast, .run = run_bitshift,
		.attrs = shift_attrs),
	ONNX_OP("", "Where", 9, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_BOOL), .out_type = ONNX_OUT_UNKNOWN,
		.infer = onnx_infer_broadcast, .run = run_where),
	{0}
};
