/*-------------------------------------------------------------------------
 *
 * ops_matmul.c
 *	  Matrix products: MatMul (numpy matmul semantics) and Gemm.
 *	  float32/float64 go through BLAS (src/blas.c); other numeric types
 *	  use a reference loop in double or int64.  A constant float32 2-D
 *	  weight is packed once at load (pack hook) into the engine GEMM's
 *	  panels (src/gemm.h), and runs read the panels instead of packing
 *	  the weight on every call.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>

#include "fused_act.h"
#include "gemm.h"
#include "op_tables.h"

/* node->prepared of MatMul and Gemm: the constant operand, packed. */
typedef struct MatMulPacked
{
	const OnnxGemmPacked *pa;	/* op(A) (M,K) when A is the constant (MatMul only) */
	const OnnxGemmPacked *pb;	/* op(B) (K,N) when B is */
} MatMulPacked;

/*
 * Pack constant input k (0: A, 1: B) of a MatMul or Gemm, transposed by
 * trans, into node->prepared.  Only float32 2-D constants are packed;
 * anything else keeps the general path.
 */
static OnnxStatus
pack_const_operand(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err,
				   int k, bool trans)
{
	const OnnxTensor *t = onnx_const_input(g, node, k);
	MatMulPacked *mp = node->prepared;
	int64_t		rows,
				cols;
	size_t		bytes;
	void	   *buf;
	const OnnxGemmPacked *p;

	if (t == NULL || t->dtype != ONNX_DTYPE_FLOAT || t->rank != 2 || t->count == 0)
		return ONNX_OK;
	rows = trans ? t->dims[1] : t->dims[0];
	cols = trans ? t->dims[0] : t->dims[1];
	if (!onnx_sgemm_pack_size(k == 0 ? ONNX_GEMM_PACK_A : ONNX_GEMM_PACK_B, rows, cols, &bytes))
		return ONNX_OK;
	if ((mp == NULL && (mp = onnx_arena_alloc(arena, sizeof(MatMulPacked))) == NULL) ||
		(buf = onnx_arena_alloc(arena, bytes)) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory packing the weight of %s",
							  node->op_type);
	node->prepared = mp;
	if (k == 0)
		p = mp->pa = onnx_sgemm_pack_a(buf, bytes, trans, rows, cols, t->data, t->dims[1]);
	else
		p = mp->pb = onnx_sgemm_pack_b(buf, bytes, trans, rows, cols, t->data, t->dims[1]);
	if (p == NULL)
		return onnx_error_set(err, ONNX_ERR_INTERNAL, "packing the weight of %s failed", node->op_type);
	return ONNX_OK;
}

/* MatMul: pack B (the usual weight), else a constant A. */
static OnnxStatus
pack_matmul(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	OnnxStatus	st = pack_const_operand(node, g, arena, err, 1, false);

	if (st == ONNX_OK && node->prepared == NULL)
		st = pack_const_operand(node, g, arena, err, 0, false);
	return st;
}

/* Gemm: pack op(B) when B is constant. */
static OnnxStatus
pack_gemm(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	return pack_const_operand(node, g, arena, err, 1, onnx_attr_int(node, "transB", 0) != 0);
}

/* The packed operand of input k, if it was packed with these dims (M,K) or (K,N). */
static const OnnxGemmPacked *
packed_operand(const OnnxKernelCtx *ctx, int k, int64_t rows, int64_t cols)
{
	const MatMulPacked *mp = ctx->node->prepared;
	const OnnxGemmPacked *p = mp == NULL ? NULL : k == 0 ? mp->pa : mp->pb;

	return p != NULL && p->rows == rows && p->cols == cols ? p : NULL;
}

/* C (M,N) = A (M,K) @ B (K,N) for one batch of non-BLAS types. */
static void
matmul_generic(const OnnxTensor *a, int64_t aoff, const OnnxTensor *b, int64_t boff,
			   OnnxTensor *c, int64_t coff, int64_t M, int64_t N, int64_t K)
{
	bool		integer = (ONNX_TS_INT & ONNX_T(c->dtype)) != 0;

	for (int64_t i = 0; i < M; i++)
		for (int64_t j = 0; j < N; j++)
		{
			if (integer)
			{
				uint64_t	acc = 0;

				for (int64_t k = 0; k < K; k++)
					acc += (uint64_t) onnx_tensor_get_i64(a, aoff + i * K + k) *
						(uint64_t) onnx_tensor_get_i64(b, boff + k * N + j);
				onnx_tensor_set_i64(c, coff + i * N + j, (int64_t) acc);
			}
			else
			{
				double		acc = 0;

				for (int64_t k = 0; k < K; k++)
					acc += onnx_tensor_get_f64(a, aoff + i * K + k) *
						onnx_tensor_get_f64(b, boff + k * N + j);
				onnx_tensor_set_f64(c, coff + i * N + j, acc);
			}
		}
}

/*
 * MatMul: A (..., M, K) @ B (..., K, N) -> (broadcast(...), M, N); a 1-D
 * A is (1, K) with M dropped after, a 1-D B is (K, 1) with N dropped.
 * Plus the bias optimize.c folded in; the output into *out, and whether
 * the GEMM's epilogue applied the folded activation (a Relu) into *act_done.
 */
static OnnxStatus
matmul_body(OnnxKernelCtx *ctx, OnnxTensor **out, bool *act_done)
{
	const OnnxTensor *a = onnx_in(ctx, 0);
	const OnnxTensor *b = onnx_in(ctx, 1);
	int64_t		M,
				K,
				N,
				Kb;
	int			ra,
				rb,
				rbatch;
	int64_t		adims[ONNX_MAX_RANK],
				bdims[ONNX_MAX_RANK],
				batch[ONNX_MAX_RANK],
				odims[ONNX_MAX_RANK];
	int			orank = 0;
	int64_t		nbatch = 1;
	OnnxTensor *c;
	const OnnxTensor *bias = ctx->node->fused_bias;
	float		beta = 0.0f;
	OnnxGemmEpilogue ep = {NULL, false};

	if (a == NULL || b == NULL || a->rank < 1 || b->rank < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "MatMul needs inputs of rank 1 or more");
	if (a->dtype != b->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "MatMul inputs differ in type (%s, %s)",
								onnx_dtype_name(a->dtype), onnx_dtype_name(b->dtype));
	M = a->rank == 1 ? 1 : a->dims[a->rank - 2];
	K = a->dims[a->rank - 1];
	Kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
	N = b->rank == 1 ? 1 : b->dims[b->rank - 1];
	if (K != Kb)
	{
		char		sa[128],
					sb[128];

		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"MatMul inner dimensions differ: A is %s, B is %s",
								onnx_shape_text(a, sa, sizeof(sa)), onnx_shape_text(b, sb, sizeof(sb)));
	}
	ra = a->rank > 2 ? a->rank - 2 : 0;
	rb = b->rank > 2 ? b->rank - 2 : 0;
	memcpy(adims, a->dims, sizeof(int64_t) * (size_t) ra);
	memcpy(bdims, b->dims, sizeof(int64_t) * (size_t) rb);
	if (!onnx_broadcast_shape(ra, adims, rb, bdims, &rbatch, batch))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "MatMul batch dimensions do not broadcast");
	for (int i = 0; i < rbatch; i++)
	{
		odims[orank++] = batch[i];
		nbatch *= batch[i];
	}
	if (a->rank > 1)
		odims[orank++] = M;
	if (b->rank > 1)
		odims[orank++] = N;
	/* BLAS with beta 0 (or the bias rows below) writes every element of C */
	if ((c = (bias != NULL || (K > 0 && (a->dtype == ONNX_DTYPE_FLOAT || a->dtype == ONNX_DTYPE_DOUBLE))) ?
		 onnx_out_raw(ctx, 0, a->dtype, orank, odims) : onnx_out(ctx, 0, a->dtype, orank, odims)) == NULL)
		return ctx->err->status;
	*out = c;
	if (c->count == 0)
		return ONNX_OK;
	if (bias != NULL)
	{
		/* Add of a bias folded in by optimize.c */
		if (c->dtype != ONNX_DTYPE_FLOAT || b->rank < 2 || bias->count != N)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"MatMul with a folded bias needs float inputs and %lld bias values",
									(long long) N);
		if (rb == 0 && K > 0)
			ep.bias = bias->data;	/* the single GEMM below adds it */
		else
		{
			/* C starts as the bias rows */
			for (int64_t r = 0; r < c->count / N; r++)
				memcpy((float *) c->data + r * N, bias->data, sizeof(float) * (size_t) N);
			beta = 1.0f;
		}
	}

	/* B without batch dims: fold A's batches into M, one GEMM */
	if (rb == 0 && (c->dtype == ONNX_DTYPE_FLOAT || c->dtype == ONNX_DTYPE_DOUBLE))
	{
		int64_t		rows = (a->count / (K ? K : 1));
		int64_t		block;
		const OnnxGemmPacked *pb = b->rank == 2 ? packed_operand(ctx, 1, K, N) : NULL;
		const OnnxGemmPacked *pa = a->rank == 2 ? packed_operand(ctx, 0, M, K) : NULL;

		if (K == 0)
			return ONNX_OK;
		/* a folded Relu is the epilogue's (the single GEMM's, or each column block's) */
		if (c->dtype == ONNX_DTYPE_FLOAT && ctx->node->fused_act.kind == ONNX_ACT_RELU)
			ep.relu = *act_done = true;
		if (c->dtype == ONNX_DTYPE_FLOAT && pa != NULL)
		{
			/* constant A (M,K): column blocks of B, so cancel is prompt */
			block = ((int64_t) 1 << 28) / (M * K > 0 ? M * K : 1);
			if (block < 64)
				block = 64;
			for (int64_t c0 = 0; c0 < N; c0 += block)
			{
				OnnxGemmEpilogue epc = {ep.bias ? ep.bias + c0 : NULL, ep.relu};

				if (c0 > 0 && onnx_kernel_should_abort(ctx))
					return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
				onnx_sgemm_packed_ep(M, N - c0 < block ? N - c0 : block, K, 1.0f, false, NULL, 0, pa,
									 false, (const float *) b->data + c0, N, NULL, beta,
									 (float *) c->data + c0, N, onnx_kernel_threads(ctx), &epc);
			}
			return ONNX_OK;
		}
		/* row blocks of about 2^28 multiply-adds, so cancel is prompt */
		block = (int64_t) 1 << 28;
		block = block / (N * K > 0 ? N * K : 1);
		if (block < 16)
			block = 16;
		for (int64_t r0 = 0; r0 < rows; r0 += block)
		{
			int64_t		nr = rows - r0 < block ? rows - r0 : block;

			if (r0 > 0 && onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			if (c->dtype == ONNX_DTYPE_FLOAT)
				onnx_sgemm_packed_ep(nr, N, K, 1.0f, false, (const float *) a->data + r0 * K, K, NULL,
									 false, b->data, N, pb, beta, (float *) c->data + r0 * N, N,
									 onnx_kernel_threads(ctx), &ep);
			else
				onnx_blas_dgemm(false, false, nr, N, K, 1.0, (const double *) a->data + r0 * K, K,
								b->data, N, 0.0, (double *) c->data + r0 * N, N);
		}
		return ONNX_OK;
	}
	{
		OnnxTensor	ta = *a,
					tb = *b,
					tbatch;
		const OnnxTensor *bins[2];
		OnnxBcastIter it;
		const OnnxGemmPacked *pa;

		/* iterate batches with broadcasting over the batch dims only */
		memset(&tbatch, 0, sizeof(tbatch));
		tbatch.rank = rbatch;
		memcpy(tbatch.dims, batch, sizeof(int64_t) * (size_t) rbatch);
		ta.rank = ra;
		tb.rank = rb;
		bins[0] = &ta;
		bins[1] = &tb;
		onnx_bcast_init(&it, &tbatch, 2, bins);
		/* a constant 2-D A (no batch dims) is the same packed panels in every batch */
		pa = a->rank == 2 ? packed_operand(ctx, 0, M, K) : NULL;
		for (int64_t bi = 0; bi < nbatch; bi++, onnx_bcast_next(&it))
		{
			int64_t		aoff = it.off[0] * M * K;
			int64_t		boff = it.off[1] * K * N;
			int64_t		coff = bi * M * N;

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			if (c->dtype == ONNX_DTYPE_FLOAT && pa != NULL)
				onnx_sgemm_packed(M, N, K, 1.0f, false, NULL, 0, pa, false, (const float *) b->data + boff, N,
								  NULL, beta, (float *) c->data + coff, N, onnx_kernel_threads(ctx));
			else if (c->dtype == ONNX_DTYPE_FLOAT)
				onnx_blas_sgemm(false, false, M, N, K, 1.0f, (const float *) a->data + aoff, K,
								(const float *) b->data + boff, N, beta, (float *) c->data + coff, N);
			else if (c->dtype == ONNX_DTYPE_DOUBLE)
				onnx_blas_dgemm(false, false, M, N, K, 1.0, (const double *) a->data + aoff, K,
								(const double *) b->data + boff, N, 0.0, (double *) c->data + coff, N);
			else
				matmul_generic(a, aoff, b, boff, c, coff, M, N, K);
		}
	}
	return ONNX_OK;
}

/* MatMul, then the activation optimize.c folded in (unless the epilogue applied it). */
static OnnxStatus
run_matmul(OnnxKernelCtx *ctx)
{
	OnnxTensor *c = NULL;
	bool		act_done = false;
	OnnxStatus	st = matmul_body(ctx, &c, &act_done);

	if (st == ONNX_OK && c != NULL && !act_done)
		onnx_act_tensor(&ctx->node->fused_act, c);
	return st;
}

/*
 * Gemm: Y (M,N) = alpha * op(A) @ op(B) + beta * C, with op(A) (M,K),
 * op(B) (K,N) and C broadcastable to (M,N).
 */
static OnnxStatus
run_gemm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *a = onnx_in(ctx, 0);
	const OnnxTensor *b = onnx_in(ctx, 1);
	const OnnxTensor *cin = onnx_in(ctx, 2);
	bool		ta = onnx_attr_int(ctx->node, "transA", 0) != 0;
	bool		tb = onnx_attr_int(ctx->node, "transB", 0) != 0;
	float		alpha = onnx_attr_float(ctx->node, "alpha", 1.0f);
	float		beta = onnx_attr_float(ctx->node, "beta", 1.0f);
	int64_t		M,
				K,
				N,
				Kb,
				dims[2];
	OnnxTensor *y;
	const OnnxGemmPacked *pb;
	OnnxGemmEpilogue ep = {NULL, false};

	if (a == NULL || b == NULL || a->rank != 2 || b->rank != 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Gemm needs 2-D A and B");
	if (a->dtype != b->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Gemm inputs differ in type");
	M = ta ? a->dims[1] : a->dims[0];
	K = ta ? a->dims[0] : a->dims[1];
	Kb = tb ? b->dims[1] : b->dims[0];
	N = tb ? b->dims[0] : b->dims[1];
	if (K != Kb)
	{
		char		sa[128],
					sb[128];

		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Gemm inner dimensions differ: A is %s%s, B is %s%s",
								onnx_shape_text(a, sa, sizeof(sa)), ta ? " (transposed)" : "",
								onnx_shape_text(b, sb, sizeof(sb)), tb ? " (transposed)" : "");
	}
	dims[0] = M;
	dims[1] = N;
	/* float GEMM with beta 0, or after the C rows below, writes every element */
	if ((y = K > 0 && (a->dtype == ONNX_DTYPE_FLOAT || a->dtype == ONNX_DTYPE_DOUBLE) ?
		 onnx_out_raw(ctx, 0, a->dtype, 2, dims) : onnx_out(ctx, 0, a->dtype, 2, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	if (cin && beta != 0.0f)
	{
		int			r;
		int64_t		bd[ONNX_MAX_RANK];
		const OnnxTensor *ins[1] = {cin};
		OnnxBcastIter it;

		if (cin->dtype != a->dtype || !onnx_broadcast_shape(2, dims, cin->rank, cin->dims, &r, bd) ||
			r != 2 || bd[0] != M || bd[1] != N)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Gemm C does not broadcast to [%lld, %lld]",
									(long long) M, (long long) N);
		if (y->dtype == ONNX_DTYPE_FLOAT && cin->count == N && (cin->rank == 1 || cin->dims[0] == 1) &&
			beta == 1.0f && K > 0)
		{
			/* bias row (N) or (1,N): added by the GEMM's epilogue, C not read */
			ep.bias = cin->data;
			beta = 0.0f;
		}
		else if (y->dtype == ONNX_DTYPE_FLOAT && cin->count == N && (cin->rank == 1 || cin->dims[0] == 1))
		{
			/* bias row (N) or (1,N): copy it into every row of Y */
			for (int64_t i = 0; i < M; i++)
				memcpy((float *) y->data + i * N, cin->data, sizeof(float) * N);
		}
		else if (y->dtype == ONNX_DTYPE_FLOAT && cin->count == M * N)
			memcpy(y->data, cin->data, sizeof(float) * M * N);
		else if (y->dtype == ONNX_DTYPE_FLOAT)
		{
			onnx_bcast_init(&it, y, 1, ins);
			for (int64_t i = 0; i < y->count; i++, onnx_bcast_next(&it))
				((float *) y->data)[i] = ((const float *) cin->data)[it.off[0]];
		}
		else if ((onnx_bcast_init(&it, y, 1, ins), true))
			for (int64_t i = 0; i < y->count; i++, onnx_bcast_next(&it))
				onnx_tensor_set_f64(y, i, onnx_tensor_get_f64(cin, it.off[0]));
	}
	else
		beta = 0.0f;
	/* a folded Relu (optimize.c) is the epilogue's too */
	ep.relu = y->dtype == ONNX_DTYPE_FLOAT && ctx->node->fused_act.kind == ONNX_ACT_RELU;
	if (y->dtype == ONNX_DTYPE_FLOAT && (pb = packed_operand(ctx, 1, K, N)) != NULL)
		onnx_sgemm_packed_ep(M, N, K, alpha, ta, a->data, a->dims[1], NULL, false, NULL, 0, pb,
							 beta, y->data, N, onnx_kernel_threads(ctx), &ep);
	else if (y->dtype == ONNX_DTYPE_FLOAT)
		onnx_sgemm_packed_ep(M, N, K, alpha, ta, a->data, a->dims[1], NULL, tb, b->data, b->dims[1],
							 NULL, beta, y->data, N, onnx_kernel_threads(ctx), &ep);
	else if (y->dtype == ONNX_DTYPE_DOUBLE)
		onnx_blas_dgemm(ta, tb, M, N, K, alpha, a->data, a->dims[1], b->data, b->dims[1],
						beta, y->data, N);
	else
	{
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++)
			{
				double		acc = 0;

				for (int64_t k = 0; k < K; k++)
					acc += onnx_tensor_get_f64(a, ta ? k * M + i : i * K + k) *
						onnx_tensor_get_f64(b, tb ? j * K + k : k * N + j);
				onnx_tensor_set_f64(y, i * N + j,
									alpha * acc + beta * onnx_tensor_get_f64(y, i * N + j));
			}
	}
	if (!ep.relu)
		onnx_act_tensor(&ctx->node->fused_act, y);	/* folded in by optimize.c */
	return ONNX_OK;
}

/* Static shape of Gemm: (M, N) from A and B and the transposes. */
static OnnxStatus
infer_gemm(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *a = ctx->inputs[0];
	const OnnxValueInfo *b = ctx->inputs[1];
	OnnxValueInfo *y = ctx->outputs[0];
	bool		ta = onnx_attr_int(ctx->node, "transA", 0) != 0;
	bool		tb = onnx_attr_int(ctx->node, "transB", 0) != 0;

	if (y == NULL || a == NULL || b == NULL || a->rank != 2 || b->rank != 2)
		return ONNX_OK;
	y->rank = 2;
	y->dims[0] = a->dims[ta ? 1 : 0];
	y->dim_params[0] = a->dim_params[ta ? 1 : 0];
	y->dims[1] = b->dims[tb ? 0 : 1];
	y->dim_params[1] = b->dim_params[tb ? 0 : 1];
	return ONNX_OK;
}

/* Static shape of MatMul. */
static OnnxStatus
infer_matmul(OnnxInferCtx *ctx)
{
	const OnnxValueInfo *a = ctx->inputs[0];
	const OnnxValueInfo *b = ctx->inputs[1];
	OnnxValueInfo *y = ctx->outputs[0];
	OnnxValueInfo ba,
				bb;

	if (y == NULL || a == NULL || b == NULL || a->rank < 1 || b->rank < 1)
		return ONNX_OK;
	memset(&ba, 0, sizeof(ba));
	memset(&bb, 0, sizeof(bb));
	onnx_info_copy_shape(&ba, a);
	onnx_info_copy_shape(&bb, b);
	ba.rank = a->rank > 2 ? a->rank - 2 : 0;
	bb.rank = b->rank > 2 ? b->rank - 2 : 0;
	onnx_info_broadcast(y, &ba, &bb);
	if (a->rank > 1)
	{
		y->dims[y->rank] = a->dims[a->rank - 2];
		y->dim_params[y->rank++] = a->dim_params[a->rank - 2];
	}
	if (b->rank > 1)
	{
		y->dims[y->rank] = b->dims[b->rank - 1];
		y->dim_params[y->rank++] = b->dim_params[b->rank - 1];
	}
	return ONNX_OK;
}

#define MM_TYPES (ONNX_TS_FLOAT | ONNX_TS_INT)

static const OnnxAttrSpec gemm_attrs[] = {
	{"alpha", ONNX_ATTR_FLOAT}, {"beta", ONNX_ATTR_FLOAT},
	{"transA", ONNX_ATTR_INT}, {"transB", ONNX_ATTR_INT}, {0}
};

const OnnxOpDef onnx_ops_matmul[] = {
	ONNX_OP("", "MatMul", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = MM_TYPES,
		.out_type = ONNX_OUT_SAME, .infer = infer_matmul, .run = run_matmul, .pack = pack_matmul),
	ONNX_OP("", "Gemm", 1, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1), .input0_types = MM_TYPES,
		.out_type = ONNX_OUT_SAME, .infer = infer_gemm, .run = run_gemm, .attrs = gemm_attrs,
		.pack = pack_gemm),
	{0}
};
