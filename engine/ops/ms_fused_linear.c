/*-------------------------------------------------------------------------
 *
 * ms_fused_linear.c
 *	  Operator family "ms_fused_linear": com.microsoft FusedConv, FusedGemm
 *	  and FusedMatMul with onnxruntime's semantics (its
 *	  docs/ContribOperators.md), float32.
 *
 *	  FusedConv(X, W, B?)   Conv, then the activation named by attribute
 *	      "activation" (Relu, Tanh, Sigmoid, LeakyRelu, HardSigmoid, Clip)
 *	      with "activation_params"; the optional fourth input Z (of the
 *	      output's shape) is added before the activation.
 *	  FusedGemm(A, B, C?)   Gemm, then the activation with
 *	      "activation_alpha" / "activation_beta".
 *	  FusedMatMul(A, B)     alpha * op(A) @ op(B), numpy batch broadcasting;
 *	      transBatchA / transBatchB first move axis 0 of an operand of rank
 *	      >= 3 behind its other batch axes (perm 1, ..., R-2, 0, R-1), then
 *	      transA / transB transpose the last two axes.
 *
 *	  FusedConv and FusedGemm are the engine's own Conv and Gemm operators
 *	  (packed weights, convolution kernels) with the activation set as the
 *	  node's fused epilogue (OnnxNode.fused_act, applied while the output
 *	  is in cache), exactly as the optimizer folds Conv + Relu.  FusedMatMul
 *	  is one SGEMM per batch element.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "fused_act.h"
#include "gemm.h"

/* The ONNX operator this one runs (cached: a pointer into a static table). */
static const OnnxOpDef *
base_def(const OnnxNode *node)
{
	static const OnnxOpDef *conv,
			   *gemm;
	bool		is_conv = strcmp(node->op_type, "FusedConv") == 0;
	const OnnxOpDef **slot = is_conv ? &conv : &gemm;
	const OnnxOpDef *d = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (d == NULL)
	{
		d = onnx_registry_lookup("", is_conv ? "Conv" : "Gemm", 13);
		__atomic_store_n(slot, d, __ATOMIC_RELEASE);
	}
	return d;
}

/*
 * The activation of a FusedConv / FusedGemm node as the fused epilogue;
 * an unknown activation or the Z input refuses the model.
 */
static OnnxStatus
prepare_fused(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	const char *act = onnx_attr_string(node, "activation", "");
	bool		is_conv = strcmp(node->op_type, "FusedConv") == 0;
	const float *params = NULL;
	int			np = is_conv ? onnx_attr_floats(node, "activation_params", &params) : 0;
	float		a,
				b;
	OnnxFusedAct *fa = &node->fused_act;

	(void) arena;
	if (base_def(node) == NULL)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "%s: base operator missing", node->op_type);
	a = is_conv ? (np > 0 ? params[0] : NAN) : onnx_attr_float(node, "activation_alpha", NAN);
	b = is_conv ? (np > 1 ? params[1] : NAN) : onnx_attr_float(node, "activation_beta", NAN);
	memset(fa, 0, sizeof(*fa));
	if (act[0] == '\0')
		fa->kind = ONNX_ACT_NONE;
	else if (strcmp(act, "Relu") == 0)
		fa->kind = ONNX_ACT_RELU;
	else if (strcmp(act, "Tanh") == 0)
		fa->kind = ONNX_ACT_TANH;
	else if (strcmp(act, "Sigmoid") == 0)
		fa->kind = ONNX_ACT_SIGMOID;
	else if (strcmp(act, "LeakyRelu") == 0)
	{
		fa->kind = ONNX_ACT_LEAKY_RELU;
		fa->alpha = isnan(a) ? 0.01f : a;
	}
	else if (strcmp(act, "HardSigmoid") == 0)
	{
		fa->kind = ONNX_ACT_HARD_SIGMOID;
		fa->alpha = isnan(a) ? 0.2f : a;
		fa->beta = isnan(b) ? 0.5f : b;
	}
	else if (strcmp(act, "Clip") == 0)
	{
		fa->kind = ONNX_ACT_CLIP;
		fa->alpha = isnan(a) ? -INFINITY : a;
		fa->beta = isnan(b) ? INFINITY : b;
	}
	else
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "%s: activation \"%s\" is not supported",
							  node->op_type, act);
	return ONNX_OK;
}

/* Infer, pack and run through the base operator. */
static OnnxStatus
infer_fused(OnnxInferCtx *ctx)
{
	const OnnxOpDef *d = base_def(ctx->node);

	return d && d->infer ? d->infer(ctx) : ONNX_OK;
}

static OnnxStatus
pack_fused(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	const OnnxOpDef *d = base_def(node);

	return d && d->pack ? d->pack(node, g, arena, err) : ONNX_OK;
}

/*
 * Run the base operator; with FusedConv's Z, run it on a copy of the node
 * without the activation, add Z and apply the activation after.
 */
static OnnxStatus
run_fused(OnnxKernelCtx *ctx)
{
	const OnnxOpDef *d = base_def(ctx->node);
	const OnnxTensor *z = ctx->n_inputs > 3 ? onnx_in(ctx, 3) : NULL;
	OnnxNode	plain;
	OnnxKernelCtx c2;
	const OnnxTensor *y;
	OnnxStatus	st;

	if (d == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "base operator missing");
	if (z == NULL)
		return d->run(ctx);
	plain = *ctx->node;
	plain.fused_act.kind = ONNX_ACT_NONE;
	c2 = *ctx;
	c2.node = &plain;
	c2.n_inputs = 3;
	if ((st = d->run(&c2)) != ONNX_OK)
		return st;
	ctx->stolen |= c2.stolen;
	ctx->viewed |= c2.viewed;
	if (ctx->outputs[0] == NULL)
		return ONNX_OK;			/* an output nobody reads: discarded */
	y = ctx->outputs[0]->kind == ONNX_VALUE_TENSOR ? &ctx->outputs[0]->tensor : NULL;
	if (y == NULL || y->dtype != ONNX_DTYPE_FLOAT || z->dtype != ONNX_DTYPE_FLOAT || z->rank != y->rank ||
		memcmp(z->dims, y->dims, sizeof(int64_t) * y->rank) != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "FusedConv: Z must be float32 of the output's shape");
	for (int64_t i = 0; i < y->count; i++)
		((float *) y->data)[i] += ((const float *) z->data)[i];
	onnx_act_tensor(&ctx->node->fused_act, (OnnxTensor *) y);
	return ONNX_OK;
}

/*
 * t with axis 0 moved behind the other batch axes (perm 1, ..., R-2, 0,
 * R-1) into *owned, node scratch (dims into dims); false with the error
 * set when out of memory.
 */
static bool
trans_batch(OnnxKernelCtx *ctx, const OnnxTensor *t, int64_t *dims, float **owned)
{
	int			R = t->rank;
	int64_t		inner = t->dims[R - 1],
				mid = 1;
	const float *src = t->data;
	float	   *dst;

	for (int d = 1; d < R - 1; d++)
		mid *= t->dims[d];
	for (int d = 0; d < R - 2; d++)
		dims[d] = t->dims[d + 1];
	dims[R - 2] = t->dims[0];
	dims[R - 1] = inner;
	if ((dst = onnx_kernel_scratch(ctx, (size_t) t->count, sizeof(float))) == NULL)
		return false;
	/* src (d0, mid, inner) -> dst (mid, d0, inner) */
	for (int64_t i0 = 0; i0 < t->dims[0]; i0++)
		for (int64_t m = 0; m < mid; m++)
			memcpy(dst + (m * t->dims[0] + i0) * inner, src + (i0 * mid + m) * inner,
				   (size_t) inner * sizeof(float));
	*owned = dst;
	return true;
}

/*
 * FusedMatMul: A (..., M, K) (or (..., K, M) with transA), B (..., K, N)
 * (or (..., N, K) with transB) -> Y (broadcast batch..., M, N) = alpha A B.
 * A 1-D A is a row (K), a 1-D B a column (K); their unit axes are dropped.
 */
static OnnxStatus
run_fused_matmul(OnnxKernelCtx *ctx)
{
	const OnnxTensor *a = onnx_in(ctx, 0),
			   *b = onnx_in(ctx, 1);
	float		alpha = onnx_attr_float(ctx->node, "alpha", 1.0f);
	bool		ta = onnx_attr_int(ctx->node, "transA", 0) != 0,
				tb = onnx_attr_int(ctx->node, "transB", 0) != 0,
				tba = onnx_attr_int(ctx->node, "transBatchA", 0) != 0,
				tbb = onnx_attr_int(ctx->node, "transBatchB", 0) != 0;
	const float *pa,
			   *pb;
	float	   *owned_a = NULL,
			   *owned_b = NULL;
	OnnxStatus	st = ONNX_OK;
	int64_t		ad[ONNX_MAX_RANK],
				bd[ONNX_MAX_RANK],
				yd[ONNX_MAX_RANK],
				M,
				K,
				N,
				Kb,
				batch = 1;
	int			ra,
				rb,
				ry,
				nb;
	OnnxTensor *y;

	if (a == NULL || b == NULL || a->dtype != ONNX_DTYPE_FLOAT || b->dtype != ONNX_DTYPE_FLOAT ||
		a->rank < 1 || b->rank < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "FusedMatMul needs float32 A and B of rank >= 1");
	if ((tba || tbb) && (a->rank < 3 || b->rank < 3))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "FusedMatMul: transBatchA/B need operands of rank >= 3");
	ra = a->rank < 2 ? 2 : a->rank;
	rb = b->rank < 2 ? 2 : b->rank;
	pa = a->data;
	pb = b->data;
	if (tba)
	{
		if (!trans_batch(ctx, a, ad, &owned_a))
			return ctx->err->status;
		pa = owned_a;
	}
	else if (a->rank == 1)
	{
		ad[0] = 1;
		ad[1] = a->dims[0];
		ta = false;
	}
	else
		memcpy(ad, a->dims, sizeof(int64_t) * a->rank);
	if (tbb)
	{
		if (!trans_batch(ctx, b, bd, &owned_b))
			return ctx->err->status;
		pb = owned_b;
	}
	else if (b->rank == 1)
	{
		bd[0] = b->dims[0];
		bd[1] = 1;
		tb = false;
	}
	else
		memcpy(bd, b->dims, sizeof(int64_t) * b->rank);
	M = ta ? ad[ra - 1] : ad[ra - 2];
	K = ta ? ad[ra - 2] : ad[ra - 1];
	Kb = tb ? bd[rb - 1] : bd[rb - 2];
	N = tb ? bd[rb - 2] : bd[rb - 1];
	if (K != Kb)
		st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "FusedMatMul: inner dimensions %lld and %lld differ",
							  (long long) K, (long long) Kb);
	else if (!onnx_broadcast_shape(ra - 2, ad, rb - 2, bd, &nb, yd))
		st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "FusedMatMul: batch dimensions do not broadcast");
	if (st != ONNX_OK)
		return st;
	ry = nb;
	if (a->rank > 1)
		yd[ry++] = M;
	if (b->rank > 1)
		yd[ry++] = N;
	if ((y = onnx_out_raw(ctx, 0, ONNX_DTYPE_FLOAT, ry, yd)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	for (int d = 0; d < nb; d++)
		batch *= yd[d];			/* divides y->count: no overflow */
	for (int64_t i = 0; i < batch; i++)
	{
		int64_t		rem = i,
					ia = 0,
					ib = 0,
					sa = 1,
					sb = 1;

		/* batch index i -> the batch element of A and of B (broadcast dims fixed at 0) */
		for (int d = nb - 1; d >= 0; d--)
		{
			int64_t		c = rem % yd[d];
			int			da = d - (nb - (ra - 2)),
						db = d - (nb - (rb - 2));

			rem /= yd[d];
			if (da >= 0)
			{
				ia += (ad[da] == 1 ? 0 : c) * sa;
				sa *= ad[da];
			}
			if (db >= 0)
			{
				ib += (bd[db] == 1 ? 0 : c) * sb;
				sb *= bd[db];
			}
		}
		if (K == 0)
			memset((float *) y->data + i * M * N, 0, (size_t) (M * N) * sizeof(float));
		else
			onnx_sgemm(ta, tb, M, N, K, alpha, pa + ia * M * K, ta ? M : K, pb + ib * K * N, tb ? K : N,
					   0.0f, (float *) y->data + i * M * N, N, onnx_kernel_threads(ctx));
		if ((i & 63) == 63 && onnx_kernel_should_abort(ctx))
		{
			st = onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
			break;
		}
	}
	return st;
}

static const OnnxAttrSpec fused_conv_attrs[] = {
	{"activation", ONNX_ATTR_STRING}, {"activation_params", ONNX_ATTR_FLOATS},
	{"auto_pad", ONNX_ATTR_STRING}, {"dilations", ONNX_ATTR_INTS}, {"group", ONNX_ATTR_INT},
	{"kernel_shape", ONNX_ATTR_INTS}, {"pads", ONNX_ATTR_INTS}, {"strides", ONNX_ATTR_INTS}, {0}
};
static const OnnxAttrSpec fused_gemm_attrs[] = {
	{"activation", ONNX_ATTR_STRING}, {"activation_alpha", ONNX_ATTR_FLOAT},
	{"activation_beta", ONNX_ATTR_FLOAT}, {"activation_gamma", ONNX_ATTR_FLOAT},
	{"alpha", ONNX_ATTR_FLOAT}, {"beta", ONNX_ATTR_FLOAT}, {"transA", ONNX_ATTR_INT},
	{"transB", ONNX_ATTR_INT}, {0}
};
static const OnnxAttrSpec fused_matmul_attrs[] = {
	{"alpha", ONNX_ATTR_FLOAT}, {"transA", ONNX_ATTR_INT}, {"transB", ONNX_ATTR_INT},
	{"transBatchA", ONNX_ATTR_INT}, {"transBatchB", ONNX_ATTR_INT}, {0}
};


const OnnxOpDef onnx_ops_ms_fused_linear[] = {
	ONNX_OP(ONNX_DOMAIN_MS, "FusedConv", 1, ONNX_INPUTS(2, 4), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_F32,
		.out_type = ONNX_OUT_SAME, .infer = infer_fused, .run = run_fused, .attrs = fused_conv_attrs,
		.prepare = prepare_fused, .pack = pack_fused),
	ONNX_OP(ONNX_DOMAIN_MS, "FusedGemm", 1, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_F32,
		.out_type = ONNX_OUT_SAME, .infer = infer_fused, .run = run_fused, .attrs = fused_gemm_attrs,
		.prepare = prepare_fused, .pack = pack_fused),
	ONNX_OP(ONNX_DOMAIN_MS, "FusedMatMul", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_F32,
		.out_type = ONNX_OUT_SAME, .run = run_fused_matmul, .attrs = fused_matmul_attrs),
	{0}
};
