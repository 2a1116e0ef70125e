/*-------------------------------------------------------------------------
 *
 * ms_fused.c
 *	  Operator family "ms_fused": the com.microsoft fusions that
 *	  onnxruntime's transformer optimizer writes, elementwise and
 *	  normalization ones, with onnxruntime's semantics (its
 *	  docs/ContribOperators.md):
 *
 *	  Gelu(X)                   0.5 x (1 + erf(x / sqrt 2))
 *	  BiasGelu(A, B)            Gelu(A + B), B (C) over the last axis
 *	  FastGelu(X, bias?)        tanh form of Gelu of X + bias
 *	  QuickGelu(X) alpha        x sigmoid(alpha x), alpha 1.702
 *	  BiasAdd(X, bias, skip)    X + bias + skip, X and skip (N, S, C)
 *	  SkipLayerNormalization(input, skip, gamma, beta?, bias?)
 *	      -> output, mean?, inv_std_var?, input_skip_bias_sum?
 *	      s = input + skip + bias; LayerNorm of s over the last axis
 *	  SkipSimplifiedLayerNormalization(input, skip, gamma, bias?)
 *	      the same with RMS normalization (no mean, no beta)
 *	  SimplifiedLayerNormalization(X, scale) axis epsilon
 *	      RMS normalization over [axis, rank) (onnxruntime registers it
 *	      in the ONNX domain; here in both)
 *	  LayerNormalization (ONNX domain from opset 1, com.microsoft):
 *	      onnxruntime's contrib version, the ONNX-17 kernel
 *	  EmbedLayerNormalization(input_ids, segment_ids?, word_embedding,
 *	      position_embedding, segment_embedding?, gamma, beta, mask?,
 *	      position_ids?) -> output, mask_index, embedding_sum?
 *
 *	  Inputs are float32 (float16 models compute in float32, see
 *	  fp16_promote.c); the activations also take float16 and bfloat16 as
 *	  the ONNX activations do.  Row statistics are summed in double.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "eltwise.h"
#include "nn_rows.h"

/* Whether output i of the node is wanted (present and named). */
static bool
want_out(OnnxKernelCtx *ctx, int i)
{
	return i < ctx->n_outputs && i < ctx->node->n_outputs && ctx->node->outputs[i] >= 0;
}

/* ---- activations ---- */

/*
 * Y = act(X + bias) (bias absent: act(X)); bias is a (C) vector over the
 * last axis; p holds the activation's two parameters.
 */
static OnnxStatus
bias_act(OnnxKernelCtx *ctx, const OnnxTensor *x, const OnnxTensor *bias, OnnxEwUnOp op,
		 const float *p)
{
	OnnxTensor *y;
	const OnnxTensor *ins[2] = {x, bias};
	OnnxStatus	st;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "missing input X");
	if (onnx_ew_type(x->dtype) < 0 || (x->dtype != ONNX_DTYPE_FLOAT && x->dtype != ONNX_DTYPE_FLOAT16 &&
									   x->dtype != ONNX_DTYPE_BFLOAT16))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s: unsupported dtype %s",
								ctx->node->op_type, onnx_dtype_name(x->dtype));
	if (bias != NULL)
	{
		if (bias->dtype != x->dtype)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "bias dtype differs from X");
		if (bias->rank != 1 || x->rank < 1 || bias->dims[0] != x->dims[x->rank - 1])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"bias must be 1-D with the last dimension of the input");
		if ((y = onnx_ew_out(ctx, 0, x->dtype, 2, ins, 1)) == NULL)
			return ctx->err->status;
		if ((st = onnx_ew_binary(ctx, y, x, bias, onnx_ew_bin_fn(EW_ADD, x->dtype))) != ONNX_OK)
			return st;
		return onnx_ew_unary(ctx, y, y, op, p);
	}
	if ((y = onnx_ew_out(ctx, 0, x->dtype, 1, ins, 1)) == NULL)
		return ctx->err->status;
	return onnx_ew_unary(ctx, y, x, op, p);
}

static OnnxStatus
run_gelu(OnnxKernelCtx *ctx)
{
	static const float none[2] = {0, 0};

	return bias_act(ctx, onnx_in(ctx, 0), NULL, EW_GELU, none);
}

static OnnxStatus
run_bias_gelu(OnnxKernelCtx *ctx)
{
	static const float none[2] = {0, 0};

	return bias_act(ctx, onnx_in(ctx, 0), onnx_in(ctx, 1), EW_GELU, none);
}

static OnnxStatus
run_fast_gelu(OnnxKernelCtx *ctx)
{
	static const float none[2] = {0, 0};

	return bias_act(ctx, onnx_in(ctx, 0), onnx_in(ctx, 1), EW_GELU_TANH, none);
}

static OnnxStatus
run_quick_gelu(OnnxKernelCtx *ctx)
{
	float		p[2] = {onnx_attr_float(ctx->node, "alpha", 1.702f), 0};

	return bias_act(ctx, onnx_in(ctx, 0), NULL, EW_SWISH, p);
}

/* BiasAdd: X (N, S, C) + bias (C) + skip (N, S, C) -> Y (N, S, C). */
static OnnxStatus
run_bias_add(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *bias = onnx_in(ctx, 1),
			   *skip = onnx_in(ctx, 2);
	const OnnxTensor *ins[3] = {x, bias, skip};
	OnnxTensor *y;
	OnnxStatus	st;

	if (x == NULL || bias == NULL || skip == NULL || x->rank != 3 || skip->rank != 3 ||
		bias->rank != 1 || bias->dims[0] != x->dims[2] ||
		memcmp(x->dims, skip->dims, 3 * sizeof(int64_t)) != 0 ||
		bias->dtype != x->dtype || skip->dtype != x->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"BiasAdd needs X and skip (N, S, C) and bias (C) of one dtype");
	if ((y = onnx_ew_out(ctx, 0, x->dtype, 3, ins, 5)) == NULL)
		return ctx->err->status;
	if ((st = onnx_ew_binary(ctx, y, x, bias, onnx_ew_bin_fn(EW_ADD, x->dtype))) != ONNX_OK)
		return st;
	return onnx_ew_binary(ctx, y, y, skip, onnx_ew_bin_fn(EW_ADD, x->dtype));
}

/* ---- normalizations ---- */

/*
 * Normalize row x (n) into y: LayerNorm ((x - mean) * inv * gamma + beta)
 * or, when simplified, RMS (x * inv * gamma, inv = 1 / sqrt(mean(x^2) +
 * eps)); gamma and beta hold n values (beta may be NULL).  Sums in double.
 * *mean_out and *inv_out receive the statistics.
 */
static void
norm_row(const float *x, float *y, int64_t n, const float *gamma, const float *beta,
		 double eps, bool simplified, float *mean_out, float *inv_out)
{
	double		s = 0,
				sq = 0,
				mean = 0;
	float		fm,
				fi;

	if (!simplified)
	{
		for (int64_t k = 0; k < n; k++)
			s += x[k];
		mean = n ? s / (double) n : 0;
	}
	for (int64_t k = 0; k < n; k++)
	{
		double		d = (double) x[k] - mean;

		sq += d * d;
	}
	fm = (float) mean;
	fi = (float) (1.0 / sqrt((n ? sq / (double) n : 0) + eps));
	for (int64_t k = 0; k < n; k++)
		y[k] = (x[k] - fm) * fi * gamma[k] + (beta ? beta[k] : 0.0f);
	*mean_out = fm;
	*inv_out = fi;
}

/* A float32 tensor with n elements (1-D of n when vec), else false. */
static bool
f32_len(const OnnxTensor *t, int64_t n)
{
	return t != NULL && t->dtype == ONNX_DTYPE_FLOAT && t->count == n;
}

/*
 * SkipLayerNormalization / SkipSimplifiedLayerNormalization: input (B, S,
 * H) or (T, H), skip of the input's shape or broadcast over the leading
 * dims (its element count a divisor made of the trailing dims), gamma (H),
 * beta (H) (not for the simplified form), bias (H) -> output (input's
 * shape), mean and inv_std_var (leading dims, 1), input_skip_bias_sum.
 */
static OnnxStatus
run_skip_norm(OnnxKernelCtx *ctx, bool simplified)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *skip = onnx_in(ctx, 1),
			   *gamma = onnx_in(ctx, 2),
			   *beta = simplified ? NULL : onnx_in(ctx, 3),
			   *bias = onnx_in(ctx, simplified ? 3 : 4);
	double		eps = onnx_attr_float(ctx->node, "epsilon", 1e-12f);
	int64_t		H,
				rows,
				sdims[ONNX_MAX_RANK];
	OnnxTensor *y,
			   *mo = NULL,
			   *io = NULL,
			   *so = NULL;
	float	   *row = NULL;

	if (x == NULL || skip == NULL || gamma == NULL || x->rank < 2 || x->dtype != ONNX_DTYPE_FLOAT ||
		skip->dtype != ONNX_DTYPE_FLOAT)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s needs float32 input and skip of rank 2 or 3 and gamma",
								ctx->node->op_type);
	H = x->dims[x->rank - 1];
	rows = H ? x->count / H : 0;
	/* skip: the input's trailing dims, after any leading 1s */
	{
		int			lead = 0;

		while (lead < skip->rank - 1 && skip->dims[lead] == 1)
			lead++;
		if (skip->rank - lead > x->rank)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "skip must match the input's trailing dimensions");
		for (int d = lead; d < skip->rank; d++)
			if (skip->dims[d] != x->dims[x->rank - skip->rank + d])
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"skip must match the input's trailing dimensions");
	}
	if (!f32_len(gamma, H) || (beta && !f32_len(beta, H)) || (bias && !f32_len(bias, H)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "gamma, beta and bias must be float32 (H)");
	for (int d = 0; d < x->rank; d++)
		sdims[d] = d == x->rank - 1 ? 1 : x->dims[d];
	if ((y = onnx_out_raw(ctx, 0, ONNX_DTYPE_FLOAT, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	if (want_out(ctx, 1) && (mo = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, x->rank, sdims)) == NULL)
		return ctx->err->status;
	if (want_out(ctx, 2) && (io = onnx_out(ctx, 2, ONNX_DTYPE_FLOAT, x->rank, sdims)) == NULL)
		return ctx->err->status;
	if (want_out(ctx, 3) && (so = onnx_out_raw(ctx, 3, ONNX_DTYPE_FLOAT, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	if (so == NULL && rows > 0 && (row = onnx_kernel_scratch(ctx, (size_t) H, sizeof(float))) == NULL)
		return ctx->err->status;
	for (int64_t r = 0; r < rows; r++)
	{
		const float *xr = (const float *) x->data + r * H;
		const float *sr = (const float *) skip->data + (r * H) % (skip->count ? skip->count : 1);
		float	   *s = so ? (float *) so->data + r * H : row;
		float		m,
					inv;

		if (bias)
			for (int64_t k = 0; k < H; k++)
				s[k] = xr[k] + sr[k] + ((const float *) bias->data)[k];
		else
			for (int64_t k = 0; k < H; k++)
				s[k] = xr[k] + sr[k];
		norm_row(s, (float *) y->data + r * H, H, gamma->data, beta ? beta->data : NULL, eps,
				 simplified, &m, &inv);
		if (mo)
			((float *) mo->data)[r] = m;
		if (io)
			((float *) io->data)[r] = inv;
		if ((r & 1023) == 1023 && onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
	}
	return ONNX_OK;
}

static OnnxStatus run_skip_layernorm(OnnxKernelCtx *ctx) { return run_skip_norm(ctx, false); }
static OnnxStatus run_skip_simplified_layernorm(OnnxKernelCtx *ctx) { return run_skip_norm(ctx, true); }

/*
 * SimplifiedLayerNormalization: X normalized over [axis, rank) by its root
 * mean square, times scale (the normalized shape's elements) -> Y, and
 * inv_std_var (X's shape with those axes 1).
 */
static OnnxStatus
run_simplified_layernorm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *sc = onnx_in(ctx, 1);
	int64_t		axis = onnx_attr_int(ctx->node, "axis", -1),
				inner = 1,
				outer = 1,
				sdims[ONNX_MAX_RANK];
	double		eps = onnx_attr_float(ctx->node, "epsilon", 1e-5f);
	int			ax;
	OnnxTensor *y,
			   *io = NULL;

	if (x == NULL || sc == NULL || x->dtype != ONNX_DTYPE_FLOAT || !onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"SimplifiedLayerNormalization needs float32 X, scale and an axis in range");
	onnx_norm_split(x, ax, &outer, &inner, sdims);
	if (!f32_len(sc, inner))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "scale must be float32 of the normalized shape");
	if ((y = onnx_out_raw(ctx, 0, ONNX_DTYPE_FLOAT, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	if (want_out(ctx, 1) && (io = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, x->rank, sdims)) == NULL)
		return ctx->err->status;
	for (int64_t o = 0; o < outer; o++)
	{
		float		m,
					inv;

		norm_row((const float *) x->data + o * inner, (float *) y->data + o * inner, inner,
				 sc->data, NULL, eps, true, &m, &inv);
		if (io)
			((float *) io->data)[o] = inv;
	}
	return ONNX_OK;
}

/*
 * EmbedLayerNormalization: input_ids (B, S) int32 -> output (B, S, H) =
 * LayerNorm(word[ids] + position[pos] + segment[segment_ids]) * gamma +
 * beta; pos = position_ids (B, S) or (1, S) if given, else s.  mask_index
 * (B) int32 = the number of nonzero mask values in each row (0 without a
 * mask: no padding); embedding_sum (B, S, H) the sum before normalizing.
 * An id outside its table is an error.
 */
static OnnxStatus
run_embed_layernorm(OnnxKernelCtx *ctx)
{
	const OnnxTensor *ids = onnx_in(ctx, 0),
			   *seg_ids = onnx_in(ctx, 1),
			   *word = onnx_in(ctx, 2),
			   *pos = onnx_in(ctx, 3),
			   *seg = onnx_in(ctx, 4),
			   *gamma = onnx_in(ctx, 5),
			   *beta = onnx_in(ctx, 6),
			   *mask = onnx_in(ctx, 7),
			   *pos_ids = onnx_in(ctx, 8);
	double		eps = onnx_attr_float(ctx->node, "epsilon", 1e-12f);
	int64_t		B,
				S,
				H,
				dims[3];
	OnnxTensor *y,
			   *mi = NULL,
			   *es = NULL;
	float	   *row = NULL;

	if (ids == NULL || word == NULL || pos == NULL || gamma == NULL || beta == NULL ||
		ids->rank != 2 || ids->dtype != ONNX_DTYPE_INT32 || word->rank != 2 || pos->rank != 2 ||
		word->dtype != ONNX_DTYPE_FLOAT || pos->dtype != ONNX_DTYPE_FLOAT)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"EmbedLayerNormalization needs int32 input_ids (B, S) and float32 embeddings (V, H)");
	B = ids->dims[0];
	S = ids->dims[1];
	H = word->dims[1];
	if (pos->dims[1] != H || !f32_len(gamma, H) || !f32_len(beta, H) ||
		(seg != NULL && (seg->rank != 2 || seg->dims[1] != H || seg->dtype != ONNX_DTYPE_FLOAT)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "embeddings, gamma and beta must share the hidden size");
	if ((seg_ids != NULL) != (seg != NULL) ||
		(seg_ids && (seg_ids->dtype != ONNX_DTYPE_INT32 || seg_ids->count != ids->count)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"segment_ids (B, S) int32 and segment_embedding go together");
	if (mask && (mask->dtype != ONNX_DTYPE_INT32 || mask->count != ids->count))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "mask must be int32 (B, S)");
	if (pos_ids && ((pos_ids->dtype != ONNX_DTYPE_INT32 && pos_ids->dtype != ONNX_DTYPE_INT64) ||
					(pos_ids->count != ids->count && pos_ids->count != S)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "position_ids must be (B, S) or (1, S)");
	dims[0] = B;
	dims[1] = S;
	dims[2] = H;
	if ((y = onnx_out_raw(ctx, 0, ONNX_DTYPE_FLOAT, 3, dims)) == NULL)
		return ctx->err->status;
	if (want_out(ctx, 1) && (mi = onnx_out(ctx, 1, ONNX_DTYPE_INT32, 1, dims)) == NULL)
		return ctx->err->status;
	if (want_out(ctx, 2) && (es = onnx_out_raw(ctx, 2, ONNX_DTYPE_FLOAT, 3, dims)) == NULL)
		return ctx->err->status;
	if (es == NULL && ids->count > 0 && (row = onnx_kernel_scratch(ctx, (size_t) H, sizeof(float))) == NULL)
		return ctx->err->status;
	for (int64_t b = 0; b < B; b++)
	{
		for (int64_t s = 0; s < S; s++)
		{
			int64_t		i = b * S + s,
						w = ((const int32_t *) ids->data)[i],
						p = s,
						g = 0;
			float	   *sum = es ? (float *) es->data + i * H : row;
			const float *wr,
					   *pr;
			float		m,
						inv;

			if (pos_ids)
				p = onnx_tensor_get_i64(pos_ids, pos_ids->count == S ? s : i);
			if (seg_ids)
				g = ((const int32_t *) seg_ids->data)[i];
			if (w < 0 || w >= word->dims[0] || p < 0 || p >= pos->dims[0] ||
				(seg && (g < 0 || g >= seg->dims[0])))
			{
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"id out of range of its embedding table (word %lld, position %lld, segment %lld)",
										(long long) w, (long long) p, (long long) g);
			}
			wr = (const float *) word->data + w * H;
			pr = (const float *) pos->data + p * H;
			if (seg)
			{
				const float *gr = (const float *) seg->data + g * H;

				for (int64_t k = 0; k < H; k++)
					sum[k] = wr[k] + pr[k] + gr[k];
			}
			else
				for (int64_t k = 0; k < H; k++)
					sum[k] = wr[k] + pr[k];
			norm_row(sum, (float *) y->data + i * H, H, gamma->data, beta->data, eps, false, &m, &inv);
		}
		if (mi && mask)
		{
			int32_t		n = 0;

			for (int64_t s = 0; s < S; s++)
				n += ((const int32_t *) mask->data)[b * S + s] != 0;
			((int32_t *) mi->data)[b] = n;
		}
		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
	}
	return ONNX_OK;
}

/* LayerNormalization of the contrib registrations: find the ONNX-17 definition once. */
static OnnxStatus
prepare_contrib_layernorm(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	const OnnxOpDef *def = onnx_registry_lookup("", "LayerNormalization", 17);

	(void) arena;
	if (def == NULL || def->run == NULL)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "LayerNormalization kernel missing");
	node->prepared = (void *) def;
	return ONNX_OK;
}

/* ... and run its kernel. */
static OnnxStatus
run_contrib_layernorm(OnnxKernelCtx *ctx)
{
	const OnnxOpDef *def = ctx->node->prepared;

	if (def == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "LayerNormalization kernel missing");
	return def->run(ctx);
}

static const OnnxAttrSpec quick_gelu_attrs[] = {{"alpha", ONNX_ATTR_FLOAT}, {0}};
static const OnnxAttrSpec eps_attrs[] = {{"epsilon", ONNX_ATTR_FLOAT}, {0}};
static const OnnxAttrSpec norm_attrs[] = {
	{"axis", ONNX_ATTR_INT}, {"epsilon", ONNX_ATTR_FLOAT}, {"stash_type", ONNX_ATTR_INT}, {0}
};
static const OnnxAttrSpec embed_attrs[] = {
	{"epsilon", ONNX_ATTR_FLOAT}, {"mask_index_type", ONNX_ATTR_INT}, {0}
};

#define F ONNX_TS_FLOAT

const OnnxOpDef onnx_ops_ms_fused[] = {
	ONNX_OP(ONNX_DOMAIN_MS, "Gelu", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = F,
		ONNX_OUT_LIKE_INPUT0, .run = run_gelu),
	ONNX_OP(ONNX_DOMAIN_MS, "BiasGelu", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = F,
		ONNX_OUT_LIKE_INPUT0, .run = run_bias_gelu),
	ONNX_OP(ONNX_DOMAIN_MS, "FastGelu", 1, ONNX_INPUTS(1, 2), ONNX_OUTPUTS(1, 1), .input0_types = F,
		ONNX_OUT_LIKE_INPUT0, .run = run_fast_gelu),
	ONNX_OP(ONNX_DOMAIN_MS, "QuickGelu", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = F,
		ONNX_OUT_LIKE_INPUT0, .run = run_quick_gelu,
		.attrs = quick_gelu_attrs),
	ONNX_OP(ONNX_DOMAIN_MS, "BiasAdd", 1, ONNX_INPUTS(3, 3), ONNX_OUTPUTS(1, 1), .input0_types = F,
		ONNX_OUT_LIKE_INPUT0, .run = run_bias_add),
	ONNX_OP(ONNX_DOMAIN_MS, "SkipLayerNormalization", 1, ONNX_INPUTS(3, 5), ONNX_OUTPUTS(1, 4), .input0_types = ONNX_TS_F32,
		.out_type = ONNX_OUT_SAME, .run = run_skip_layernorm, .attrs = eps_attrs),
	ONNX_OP(ONNX_DOMAIN_MS, "SkipSimplifiedLayerNormalization", 1, ONNX_INPUTS(3, 4), ONNX_OUTPUTS(1, 4),
		.input0_types = ONNX_TS_F32, .out_type = ONNX_OUT_SAME, .run = run_skip_simplified_layernorm,
		.attrs = eps_attrs),
	ONNX_OP("", "SimplifiedLayerNormalization", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 2),
		.input0_types = ONNX_TS_F32, .out_type = ONNX_OUT_SAME, .run = run_simplified_layernorm,
		.attrs = norm_attrs),
	ONNX_OP(ONNX_DOMAIN_MS, "SimplifiedLayerNormalization", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 2),
		.input0_types = ONNX_TS_F32, .out_type = ONNX_OUT_SAME, .run = run_simplified_layernorm,
		.attrs = norm_attrs),
	ONNX_OP("", "LayerNormalization", 1, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 3), .input0_types = F,
		ONNX_OUT_LIKE_INPUT0, .run = run_contrib_layernorm,
		.attrs = norm_attrs, .prepare = prepare_contrib_layernorm),
	ONNX_OP(ONNX_DOMAIN_MS, "LayerNormalization", 1, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 3), .input0_types = F,
		ONNX_OUT_LIKE_INPUT0, .run = run_contrib_layernorm,
		.attrs = norm_attrs, .prepare = prepare_contrib_layernorm),
	ONNX_OP(ONNX_DOMAIN_MS, "EmbedLayerNormalization", 1, ONNX_INPUTS(1, 9), ONNX_OUTPUTS(1, 3),
		.input0_types = ONNX_T(ONNX_DTYPE_INT32), .out_type = ONNX_OUT_UNKNOWN,
		.run = run_embed_layernorm, .attrs = embed_attrs),
	{0}
};
