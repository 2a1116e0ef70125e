/*-------------------------------------------------------------------------
 *
 * ms_quant.c
 *	  onnxruntime's com.microsoft quantized matrix products, as its
 *	  contrib-operator documentation and CPU kernels define them:
 *	  DynamicQuantizeMatMul, MatMulIntegerToFloat, QGemm, MatMulNBits, and
 *	  the contrib QuantizeLinear / DequantizeLinear (ops_quant.c's kernels).
 *
 * The integer products are exact int32 sums (qmatmul.c over qgemm.h);
 * the float epilogue follows onnxruntime: Y = float(acc) * (a_scale *
 * b_scale[n]) + bias[n], the multiplier rounded to float32 first.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "qmatmul.h"
#include "qconv_kern.h"
#include "pack.h"
#include "nbits_gemm.h"

/* A float32 scalar input (a one-element tensor of any float type). */
static bool
scalar_f(const OnnxTensor *t, float *v)
{
	if (t == NULL || t->count != 1 || !onnx_dtype_is_float(t->dtype))
		return false;
	*v = (float) onnx_tensor_get_f64(t, 0);
	return true;
}

/*
 * mult (N) = a_scale * b_scale[n] (* alpha); false when b_scale is
 * neither a scalar nor (N) floats.
 */
static bool
fill_mult(const OnnxTensor *bs, float a_scale, float alpha, int64_t N, float *mult)
{
	if (bs == NULL || !onnx_dtype_is_float(bs->dtype) || (bs->count != 1 && bs->count != N))
		return false;
	for (int64_t n = 0; n < N; n++)
		mult[n] = alpha * a_scale * (float) onnx_tensor_get_f64(bs, bs->count == 1 ? 0 : n);
	return true;
}

/* A bias (N) as floats, or false. */
static bool
bias_ok(const OnnxTensor *b, int64_t N)
{
	return b == NULL || (b->dtype == ONNX_DTYPE_FLOAT && b->count == N);
}

/*
 * Y (float32, count) = float(c) * mult[n] + bias[n], n the column; c may
 * alias Y's data.
 */
static void
dequant_out(const int32_t *c, int64_t count, int64_t N, const float *mult,
			const OnnxTensor *bias, float *y)
{
	const float *bv = bias ? bias->data : NULL;

	for (int64_t i = 0; i < count; i += N)
		for (int64_t n = 0; n < N; n++)
			y[i + n] = (float) c[i + n] * mult[n] + (bv ? bv[n] : 0.0f);
}

/* Shape of a float A with B (K,N) or (..., K, N) as a quantized matmul. */
static OnnxStatus
float_a_shape(OnnxKernelCtx *ctx, const OnnxTensor *a, const OnnxTensor *b, OnnxTensor *qa,
			  int *orank, int64_t *odims, int64_t *count)
{
	if (a == NULL || a->dtype != ONNX_DTYPE_FLOAT)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "A must be a float32 tensor");
	*qa = *a;
	qa->dtype = ONNX_DTYPE_UINT8;
	qa->nbytes = (size_t) a->count;
	return onnx_qmm_shape(ctx, qa, b, orank, odims, count);
}

/*
 * Output (float32) of A (float or 8-bit) @ B: acc (int32) in the output
 * buffer, then scaled.  qa: A as 8-bit; azp one value in A's type.
 */
static OnnxStatus
qmm_to_float(OnnxKernelCtx *ctx, const OnnxTensor *qa, const OnnxTensor *azp, const OnnxTensor *b,
			 const OnnxTensor *bzp, const OnnxTensor *bs, float a_scale, const OnnxTensor *bias,
			 int orank, const int64_t *odims, int64_t count)
{
	int64_t		N = b->rank == 1 ? 1 : b->dims[b->rank - 1];
	float	   *mult;
	OnnxTensor *y;
	OnnxStatus	st;

	if (!bias_ok(bias, N))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "bias must be float32 of B's last dimension");
	if ((mult = onnx_kernel_scratch(ctx, (size_t) N, sizeof(float))) == NULL)
		return ctx->err->status;
	if (!fill_mult(bs, a_scale, 1.0f, N, mult))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"b_scale must be a float scalar or have B's last dimension");
	if ((y = onnx_out_raw(ctx, 0, ONNX_DTYPE_FLOAT, orank, odims)) == NULL)
		return ctx->err->status;
	if ((st = onnx_qmm_run(ctx, qa, azp, b, bzp, ctx->node->prepared, y->data)) == ONNX_OK)
		dequant_out(y->data, count, N, mult, bias, y->data);
	return st;
}

/*
 * DynamicQuantizeMatMul: A (float, ..., K), B (int8/uint8 (K,N)), b_scale,
 * b_zero_point?, bias? -> Y = (quant(A) - a_zp) @ (B - b_zp) * a_scale *
 * b_scale + bias, A quantized to uint8 over its whole range as
 * DynamicQuantizeLinear.
 */
static OnnxStatus
run_dynamic_quantize_matmul(OnnxKernelCtx *ctx)
{
	const OnnxTensor *a = onnx_in(ctx, 0),
			   *b = onnx_in(ctx, 1);
	OnnxTensor	qa,
				azp;
	int			orank;
	int64_t		odims[ONNX_MAX_RANK],
				count;
	float		a_scale;
	int32_t		zp;
	uint8_t		zp8;
	OnnxStatus	st;

	if ((st = float_a_shape(ctx, a, b, &qa, &orank, odims, &count)) != ONNX_OK)
		return st;
	if ((qa.data = onnx_kernel_scratch(ctx, (size_t) a->count, 1)) == NULL)
		return ctx->err->status;
	onnx_qmm_dyn_quantize(a->data, a->count, qa.data, &a_scale, &zp);
	zp8 = (uint8_t) zp;
	memset(&azp, 0, sizeof(azp));
	azp.dtype = ONNX_DTYPE_UINT8;
	azp.count = 1;
	azp.nbytes = 1;
	azp.data = &zp8;
	return qmm_to_float(ctx, &qa, &azp, b, onnx_in(ctx, 3), onnx_in(ctx, 2), a_scale, onnx_in(ctx, 4),
						orank, odims, count);
}

/*
 * MatMulIntegerToFloat: A, B (8-bit), a_scale (scalar), b_scale (scalar or
 * (N)), a_zero_point?, b_zero_point?, bias? -> float32
 * Y = (A - a_zp) @ (B - b_zp) * a_scale * b_scale + bias.
 */
static OnnxStatus
run_matmul_integer_to_float(OnnxKernelCtx *ctx)
{
	const OnnxTensor *a = onnx_in(ctx, 0),
			   *b = onnx_in(ctx, 1);
	int			orank;
	int64_t		odims[ONNX_MAX_RANK],
				count;
	float		a_scale;
	OnnxStatus	st;

	if ((st = onnx_qmm_shape(ctx, a, b, &orank, odims, &count)) != ONNX_OK)
		return st;
	if (!scalar_f(onnx_in(ctx, 2), &a_scale))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "a_scale must be a float scalar");
	return qmm_to_float(ctx, a, onnx_in(ctx, 4), b, onnx_in(ctx, 5), onnx_in(ctx, 3), a_scale,
						onnx_in(ctx, 6), orank, odims, count);
}

/*
 * QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zp?
 *	 acc (M,N) = (op(A) - a_zp) @ (op(B) - b_zp) + C (int32, broadcast)
 *	 Y = acc * alpha * a_scale * b_scale[n]	(float32, no y_scale), or
 *	 Y = saturate(round(acc * (alpha * a_scale * b_scale[n] / y_scale)) + y_zp).
 */
static OnnxStatus
run_qgemm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *a = onnx_in(ctx, 0),
			   *azp = onnx_in(ctx, 2),
			   *b = onnx_in(ctx, 3),
			   *bs = onnx_in(ctx, 4),
			   *bzp = onnx_in(ctx, 5),
			   *c = onnx_in(ctx, 6),
			   *ys = onnx_in(ctx, 7),
			   *yzp = onnx_in(ctx, 8);
	bool		ta = onnx_attr_int(ctx->node, "transA", 0) != 0,
				tb = onnx_attr_int(ctx->node, "transB", 0) != 0;
	float		alpha = onnx_attr_float(ctx->node, "alpha", 1.0f),
				a_scale,
				y_scale = 1.0f;
	const QmmPacked *pre = ctx->node->prepared;
	const OnnxQgemmB *pb;
	OnnxQgemmB *tmpb = NULL;
	int64_t		M,
				K,
				N,
				dims[2];
	int32_t    *acc = NULL,
			   *bz = NULL,
				az,
				zi;
	uint8_t    *at = NULL;
	float	   *mult = NULL;
	OnnxTensor *y;
	OnnxStatus	st = ONNX_OK;

	if (a == NULL || b == NULL || a->rank != 2 || b->rank != 2 ||
		!((ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8)) & ONNX_T(a->dtype)) ||
		!((ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8)) & ONNX_T(b->dtype)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "A and B must be 2-D int8 or uint8 tensors");
	if (!scalar_f(onnx_in(ctx, 1), &a_scale) || (azp && (azp->count != 1 || azp->dtype != a->dtype)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "a_scale and a_zero_point must be scalars");
	if ((ys && !scalar_f(ys, &y_scale)) || (yzp && (yzp->count != 1 ||
												   !((ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8)) & ONNX_T(yzp->dtype)))))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "y_scale and y_zero_point must be scalars");
	M = ta ? a->dims[1] : a->dims[0];
	K = ta ? a->dims[0] : a->dims[1];
	N = tb ? b->dims[0] : b->dims[1];
	if ((tb ? b->dims[1] : b->dims[0]) != K)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "inner dimensions differ");
	if (bzp && (bzp->dtype != b->dtype || (bzp->count != 1 && bzp->count != N)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "b_zero_point must be a scalar or (N) of B's type");
	if (c && (c->dtype != ONNX_DTYPE_INT32 || c->rank > 2 ||
			  (c->rank == 2 && ((c->dims[0] != 1 && c->dims[0] != M) || (c->dims[1] != 1 && c->dims[1] != N))) ||
			  (c->rank == 1 && c->dims[0] != 1 && c->dims[0] != N)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "C must be int32 and broadcast to (M, N)");
	dims[0] = M;
	dims[1] = N;
	if ((y = onnx_out_raw(ctx, 0, ys ? (yzp ? yzp->dtype : ONNX_DTYPE_UINT8) : ONNX_DTYPE_FLOAT, 2, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	if ((acc = onnx_kernel_scratch(ctx, (size_t) (M * N), sizeof(int32_t))) == NULL ||
		(bz = onnx_kernel_scratch(ctx, (size_t) N, sizeof(int32_t))) == NULL ||
		(mult = onnx_kernel_scratch(ctx, (size_t) N, sizeof(float))) == NULL ||
		(ta && (at = onnx_kernel_scratch(ctx, (size_t) (M * K), 1)) == NULL))
	{
		st = ctx->err->status;
		goto done;
	}
	if (!fill_mult(bs, a_scale, alpha, N, mult))
	{
		st = onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "b_scale must be a float scalar or (N)");
		goto done;
	}
	onnx_qmm_zp(bzp, bz, N);
	onnx_qmm_zp(azp, &az, 1);
	zi = 0;
	onnx_qmm_zp(yzp, &zi, 1);
	if (ta)						/* A^T (M,K) */
		for (int64_t m = 0; m < M; m++)
			for (int64_t k = 0; k < K; k++)
				at[m * K + k] = ((const uint8_t *) a->data)[k * M + m];
	pb = pre && pre->pb->K == K && pre->pb->N == N ? pre->pb : NULL;
	if (pb == NULL &&
		(pb = tmpb = onnx_qmm_pack_now(ctx, K, N, b->data, b->dims[1], tb,
									   b->dtype == ONNX_DTYPE_INT8, bz, N)) == NULL)
	{
		st = ctx->err->status;
		goto done;
	}
	if (!onnx_qmm_2d(ctx, pb, M, ta ? at : a->data, K, a->dtype == ONNX_DTYPE_INT8, &az, 1, acc, N))
	{
		st = ctx->err->status;
		goto done;
	}
	if (ys && (c == NULL || (c->count == N && (c->rank == 1 || c->dims[0] == 1))))
	{
		/* C absent or one int32 per column: requantized rows, vectorized */
		for (int64_t n = 0; n < N; n++)
			mult[n] = mult[n] / y_scale;
		onnx_qconv_kern()->requant_rows(acc, M, N, N, c ? c->data : NULL, mult, zi,
										y->dtype == ONNX_DTYPE_INT8 ? -128 : 0,
										y->dtype == ONNX_DTYPE_INT8 ? 127 : 255, y->data);
	}
	else if (ys == NULL && c == NULL)
		for (int64_t m = 0; m < M; m++)
		{
			float	   *yr = (float *) y->data + m * N;
			const int32_t *ar = acc + m * N;

			for (int64_t n = 0; n < N; n++)
				yr[n] = (float) ar[n] * mult[n];
		}
	else
		for (int64_t m = 0; m < M; m++)
			for (int64_t n = 0; n < N; n++)
			{
				int32_t		v = acc[m * N + n];

				if (c)
					v += ((const int32_t *) c->data)[(c->rank == 2 && c->dims[0] != 1 ? m * c->dims[c->rank - 1] : 0) +
													  (c->rank > 0 && c->dims[c->rank - 1] != 1 ? n : 0)];
				if (ys == NULL)
					((float *) y->data)[m * N + n] = (float) v * mult[n];
				else if (y->dtype == ONNX_DTYPE_INT8)
					((int8_t *) y->data)[m * N + n] = (int8_t) qmm_quant((float) v * (mult[n] / y_scale), zi, -128, 127);
				else
					((uint8_t *) y->data)[m * N + n] = (uint8_t) qmm_quant((float) v * (mult[n] / y_scale), zi, 0, 255);
			}
done:
	if (tmpb)
		onnx_kernel_free(ctx, tmpb);
	return st;
}

/* ---- MatMulNBits ---- */

/*
 * node->prepared of MatMulNBits: 4-bit weights kept packed (q4.codes set),
 * other widths dequantized.
 */
typedef struct NBitsPacked
{
	int64_t		K,
				N;
	float	   *w;				/* W^T (N,K), or NULL */
	OnnxNBits4	q4;
} NBitsPacked;

/*
 * The packed form of constant 4-bit weights: q4 reads b's codes and sc's
 * scales in place; zs (N * k_blocks floats, arena) = -zero point * scale.
 * False when the sizes disagree (the run reports it).
 */
static bool
nbits4_prepare(const OnnxNode *node, const OnnxTensor *b, const OnnxTensor *sc, const OnnxTensor *zp,
			   int64_t K, int64_t N, OnnxArena *arena, OnnxNBits4 *q4)
{
	int64_t		bs = onnx_attr_int(node, "block_size", 0),
				kb,
				zrow;
	float	   *zs;

	if (bs < 16 || (bs & (bs - 1)) || bs > ((int64_t) 1 << 20) || b->dtype != ONNX_DTYPE_UINT8 ||
		sc->dtype != ONNX_DTYPE_FLOAT)
		return false;
	kb = (K + bs - 1) / bs;
	zrow = (kb + 1) / 2;
	if (b->count != N * kb * (bs / 2) || sc->count != N * kb ||
		(zp && !((zp->dtype == ONNX_DTYPE_UINT8 && zp->count == N * zrow) ||
				 (zp->dtype == ONNX_DTYPE_FLOAT && zp->count == N * kb))))
		return false;
	if ((zs = onnx_arena_alloc(arena, sizeof(float) * (size_t) (N * kb))) == NULL)
		return false;
	for (int64_t n = 0; n < N; n++)
		for (int64_t j = 0; j < kb; j++)
		{
			float		z = 8.0f;

			if (zp && zp->dtype == ONNX_DTYPE_FLOAT)
				z = ((const float *) zp->data)[n * kb + j];
			else if (zp)
			{
				uint8_t		v = ((const uint8_t *) zp->data)[n * zrow + j / 2];

				z = (float) (j % 2 ? v >> 4 : v & 15);
			}
			zs[n * kb + j] = -z * ((const float *) sc->data)[n * kb + j];
		}
	*q4 = (OnnxNBits4) {K, N, bs, kb, b->data, sc->data, zs};
	return true;
}

/*
 * W^T (N,K) = (q - zp) * scale of B (N, k_blocks, blob) with bits-wide
 * codes, little-endian within bytes; zp from packed uint8 (N,
 * ceil(k_blocks*bits/8)), float (N, k_blocks), or 2^(bits-1).  False when
 * the inputs' sizes disagree.
 */
static bool
nbits_dequant(const OnnxNode *node, const OnnxTensor *b, const OnnxTensor *sc, const OnnxTensor *zp,
			  int64_t K, int64_t N, float *w)
{
	int64_t		bits = onnx_attr_int(node, "bits", 4),
				bs = onnx_attr_int(node, "block_size", 0),
				kb,
				blob,
				zrow;

	if (bits < 2 || bits > 8 || bs < 16 || (bs & (bs - 1)) || K <= 0 || N <= 0 ||
		b->dtype != ONNX_DTYPE_UINT8 || sc == NULL || sc->dtype != ONNX_DTYPE_FLOAT)
		return false;
	kb = (K + bs - 1) / bs;
	blob = bs * bits / 8;
	zrow = (kb * bits + 7) / 8;
	if (b->count != N * kb * blob || sc->count != N * kb)
		return false;
	if (zp && !((zp->dtype == ONNX_DTYPE_UINT8 && zp->count == N * zrow) ||
				(zp->dtype == ONNX_DTYPE_FLOAT && zp->count == N * kb)))
		return false;
	for (int64_t n = 0; n < N; n++)
		for (int64_t j = 0; j < kb; j++)
		{
			const uint8_t *blk = (const uint8_t *) b->data + (n * kb + j) * blob;
			float		s = ((const float *) sc->data)[n * kb + j],
						z = (float) (1 << (bits - 1));

			if (zp && zp->dtype == ONNX_DTYPE_FLOAT)
				z = ((const float *) zp->data)[n * kb + j];
			else if (zp)
			{
				int64_t		bit = j * bits;
				const uint8_t *zr = (const uint8_t *) zp->data + n * zrow;
				unsigned	v = zr[bit / 8] | (bit / 8 + 1 < zrow ? (unsigned) zr[bit / 8 + 1] << 8 : 0);

				z = (float) ((v >> (bit % 8)) & ((1u << bits) - 1));
			}
			for (int64_t i = 0; i < bs && j * bs + i < K; i++)
			{
				int64_t		bit = i * bits;
				unsigned	v = blk[bit / 8] | (bit / 8 + 1 < blob ? (unsigned) blk[bit / 8 + 1] << 8 : 0);
				float		q = (float) ((v >> (bit % 8)) & ((1u << bits) - 1));

				w[n * K + j * bs + i] = (q - z) * s;
			}
		}
	return true;
}

static OnnxStatus
pack_matmul_nbits(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	const OnnxTensor *b = onnx_const_input(g, node, 1),
			   *sc = onnx_const_input(g, node, 2),
			   *zp = NULL;
	int64_t		K = onnx_attr_int(node, "K", 0),
				N = onnx_attr_int(node, "N", 0),
				n;
	NBitsPacked *p;

	if (b == NULL || sc == NULL)
		return ONNX_OK;
	if (node->n_inputs > 3 && node->inputs[3] >= 0 && (zp = onnx_const_input(g, node, 3)) == NULL)
		return ONNX_OK;
	if (K <= 0 || N <= 0 || onnx_mul_overflow_i64(K, N, &n) || n > ((int64_t) 1 << 31))
		return ONNX_OK;
	if (onnx_attr_int(node, "bits", 4) == 4)
	{
		if ((p = onnx_arena_alloc(arena, sizeof(NBitsPacked))) == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory preparing weights");
		memset(p, 0, sizeof(*p));
		if (!nbits4_prepare(node, b, sc, zp, K, N, arena, &p->q4))
			return ONNX_OK;		/* the run reports it */
		p->K = K;
		p->N = N;
		node->prepared = p;
		return ONNX_OK;
	}
	p = onnx_arena_alloc(arena, sizeof(NBitsPacked));
	if (p == NULL || (p->w = onnx_arena_alloc(arena, sizeof(float) * (size_t) n)) == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory unpacking weights");
	p->q4.codes = NULL;
	if (!nbits_dequant(node, b, sc, zp, K, N, p->w))
		return ONNX_OK;			/* the run reports it */
	p->K = K;
	p->N = N;
	node->prepared = p;
	return ONNX_OK;
}

/*
 * MatMulNBits: A (..., K) float32, B (N, k_blocks, blob) uint8, scales,
 * zero_points?, g_idx?, bias? -> Y (..., N) = A @ dequant(B)^T + bias.
 * Constant 4-bit weights stay packed: up to 16 rows of A take
 * onnx_nbits4_gemm (blocks dequantized inside the product, 4 rows per
 * widening), more rows dequantize 64 columns of W at a time for the SGEMM.  Other weights are
 * dequantized to float32 (at load when constant).  The product runs in
 * float32: as accurate as onnxruntime's accuracy_level 0 path, closer to
 * the float model than its int8 path (level 4).
 */
/* Y (M, N) += A (M, K) @ Wᵀ on the packed 4-bit weights q4 (see run_matmul_nbits). */
static OnnxStatus
run_nbits4(OnnxKernelCtx *ctx, const OnnxNBits4 *q4, const float *a, int64_t M, float *y)
{
	int64_t		cols = M <= 16 ? 0 : 64;
	size_t		n;
	float	   *scratch;

	/* scratch: padded rows of A and their block sums, or 64 columns of W */
	if (cols == 0 ? onnx_mul_overflow_size((size_t) M, (size_t) (q4->kb * (q4->bs + 1)), &n) :
		onnx_mul_overflow_size((size_t) cols, (size_t) q4->K, &n))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "MatMulNBits scratch too large");
	if ((scratch = onnx_kernel_scratch(ctx, n, sizeof(float))) == NULL)
		return ctx->err->status;
	if (cols == 0)
		onnx_nbits4_gemm(q4, a, M, y, scratch, onnx_kernel_threads(ctx));
	else
		for (int64_t n0 = 0; n0 < q4->N; n0 += cols)
		{
			int64_t		nb = q4->N - n0 < cols ? q4->N - n0 : cols;

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
			onnx_nbits4_dequant(q4, n0, nb, scratch);
			onnx_blas_sgemm(false, true, M, nb, q4->K, 1.0f, a, q4->K, scratch, q4->K, 1.0f, y + n0, q4->N);
		}
	return ONNX_OK;
}

static OnnxStatus
run_matmul_nbits(OnnxKernelCtx *ctx)
{
	const OnnxTensor *a = onnx_in(ctx, 0),
			   *bias = onnx_in(ctx, 5);
	const NBitsPacked *p = ctx->node->prepared;
	int64_t		K = onnx_attr_int(ctx->node, "K", 0),
				N = onnx_attr_int(ctx->node, "N", 0),
				M,
				n,
				dims[ONNX_MAX_RANK];
	float	   *w = NULL;
	OnnxTensor *y;

	if (a == NULL || a->dtype != ONNX_DTYPE_FLOAT || a->rank < 1 || a->dims[a->rank - 1] != K || N <= 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "A must be float32 with last dimension K");
	if (onnx_in(ctx, 4))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "g_idx is not supported");
	if (!bias_ok(bias, N))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "bias must be float32 (N)");
	if (onnx_mul_overflow_i64(K, N, &n))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "weights too large");
	if (p == NULL)
	{
		if ((w = onnx_kernel_scratch(ctx, (size_t) n, sizeof(float))) == NULL)
			return ctx->err->status;
		if (!nbits_dequant(ctx->node, onnx_in(ctx, 1), onnx_in(ctx, 2), onnx_in(ctx, 3), K, N, w))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"B, scales and zero_points do not match K, N, bits and block_size");
	}
	memcpy(dims, a->dims, sizeof(int64_t) * (size_t) a->rank);
	dims[a->rank - 1] = N;
	M = a->count / K;
	if ((y = onnx_out_raw(ctx, 0, ONNX_DTYPE_FLOAT, a->rank, dims)) == NULL)
		return ctx->err->status;
	for (int64_t m = 0; m < M; m++)
		for (int64_t j = 0; j < N; j++)
			((float *) y->data)[m * N + j] = bias ? ((const float *) bias->data)[j] : 0.0f;
	if (p && p->q4.codes && M > 0)
		return run_nbits4(ctx, &p->q4, a->data, M, y->data);
	if (M > 0)
		onnx_blas_sgemm(false, true, M, N, K, 1.0f, a->data, K, w ? w : p->w, K, 1.0f, y->data, N);
	return ONNX_OK;
}

/* ---- pack hooks and types ---- */

static OnnxStatus
pack_dqmm(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	return onnx_qmm_pack(node, g, arena, err, 1, 3, false);
}

static OnnxStatus
pack_mmitf(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	return onnx_qmm_pack(node, g, arena, err, 1, 5, false);
}

static OnnxStatus
pack_qgemm(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	return onnx_qmm_pack(node, g, arena, err, 3, 5, onnx_attr_int(node, "transB", 0) != 0);
}

/* QGemm: y_zero_point's type, uint8 with y_scale alone, else float32. */
static OnnxStatus
infer_qgemm(OnnxInferCtx *ctx)
{
	if (ctx->outputs[0] == NULL)
		return ONNX_OK;
	ctx->outputs[0]->kind = ONNX_VALUE_TENSOR;
	if (ctx->n_inputs > 8 && ctx->inputs[8])
		ctx->outputs[0]->dtype = ctx->inputs[8]->dtype;
	else
		ctx->outputs[0]->dtype = ctx->n_inputs > 7 && ctx->inputs[7] ? ONNX_DTYPE_UINT8 : ONNX_DTYPE_FLOAT;
	return ONNX_OK;
}

static const OnnxAttrSpec qgemm_attrs[] = {
	{"alpha", ONNX_ATTR_FLOAT}, {"transA", ONNX_ATTR_INT}, {"transB", ONNX_ATTR_INT}, {0}
};
static const OnnxAttrSpec nbits_attrs[] = {
	{"K", ONNX_ATTR_INT}, {"N", ONNX_ATTR_INT}, {"bits", ONNX_ATTR_INT}, {"block_size", ONNX_ATTR_INT},
	{"accuracy_level", ONNX_ATTR_INT}, {"weight_prepacked", ONNX_ATTR_INT}, {0}
};

#define MS "com.microsoft"
#define I8 (ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8))

const OnnxOpDef onnx_ops_ms_quant[] = {
	ONNX_OP(MS, "DynamicQuantizeMatMul", 1, ONNX_INPUTS(2, 5), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_FLOAT), .out_type = ONNX_OUT_SAME,
		.run = run_dynamic_quantize_matmul, .pack = pack_dqmm),
	ONNX_OP(MS, "MatMulIntegerToFloat", 1, ONNX_INPUTS(3, 7), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_FLOAT, .run = run_matmul_integer_to_float,
		.pack = pack_mmitf),
	ONNX_OP(MS, "QGemm", 1, ONNX_INPUTS(5, 9), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_CUSTOM, .infer = infer_qgemm, .run = run_qgemm, .attrs = qgemm_attrs,
		.pack = pack_qgemm),
	ONNX_OP(MS, "MatMulNBits", 1, ONNX_INPUTS(3, 6), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_FLOAT), .out_type = ONNX_OUT_SAME, .run = run_matmul_nbits,
		.attrs = nbits_attrs, .pack = pack_matmul_nbits),
	ONNX_OP(MS, "QuantizeLinear", 1, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_CUSTOM, .infer = onnx_infer_quantize_linear,
		.run = onnx_run_quantize_linear),
	ONNX_OP(MS, "DequantizeLinear", 1, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1),
		.input0_types = I8 | ONNX_T(ONNX_DTYPE_INT16) | ONNX_T(ONNX_DTYPE_UINT16) | ONNX_T(ONNX_DTYPE_INT32),
		.out_type = ONNX_OUT_CUSTOM, .infer = onnx_infer_dequantize_linear,
		.run = onnx_run_dequantize_linear),
	{0}
};
