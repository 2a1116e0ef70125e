/*-------------------------------------------------------------------------
 *
 * ms_attention.c
 *	  Operator family "ms_attention": com.microsoft Attention,
 *	  MultiHeadAttention and RotaryEmbedding with onnxruntime's semantics (its
 *	  docs/ContribOperators.md), float32.
 *
 *	  Attention(input (B, S, D), weights (D, Dq + Dk + Dv), bias?,
 *	            mask_index?, past?, attention_bias?)
 *	      -> output (B, S, Dv), present? (2, B, N, P + S, hd)
 *	      Q, K, V = input @ weights + bias, split by qkv_hidden_sizes
 *	      (default three equal parts), N = num_heads heads each;
 *	      do_rotary turns Q and K by position P + s first (attn_rotary).
 *	  MultiHeadAttention(query (B, S, D) or packed QKV (B, S, N, 3, hd),
 *	            key (B, L, D), (B, N, L, hd) or packed KV (B, L, N, 2, hd),
 *	            value likewise (absent when packed), bias? (Dq + Dk + Dv),
 *	            key_padding_mask?, attention_bias?, past_key?, past_value?
 *	            (B, N, P, hd))
 *	      -> output (B, S, Dv), present_key?, present_value?, qk?
 *
 *	  Per batch b and head h: P = softmax(scale * Q Kᵀ + mask + bias),
 *	  out = P V, scale = attribute "scale" or 1 / sqrt(head size).  The
 *	  additive mask (build_mask) is mask_filter_value (default -10000) where
 *	  mask_index / key_padding_mask masks a key: (B) keys at or after the
 *	  row's length, (2B) also before its start, (3B + 2) as (B), (B, T),
 *	  (B, S, T) or (B, 1, M, M) (rows P .. P + S - 1) where the value is not
 *	  > 0; unidirectional masks keys after the query's own position (past
 *	  included) with the lowest float, as onnxruntime's CPU kernels do.
 *
 *	  RotaryEmbedding(input (B, S, N * hd) or (B, N, S, hd), position_ids
 *	            (B, S) or (1) = offset of position 0, cos_cache, sin_cache
 *	            (max position, rot / 2)) -> output (input's shape)
 *	      rotates the first rot = rotary_embedding_dim (default hd) values
 *	      of each head, halves (x[i], x[i + rot/2]) or, interleaved, pairs
 *	      (x[2i], x[2i+1]): (x1 cos - x2 sin, x2 cos + x1 sin); hd is
 *	      hidden / num_heads, or 2 * cos_cache's width without num_heads.
 *	      onnxruntime ignores the "scale" attribute; so does this.
 *
 *	  Q·Kᵀ and P·V are one GEMM each per (batch, head) on the engine's
 *	  SGEMM, reading heads in place through row strides.
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>

#include "op_tables.h"
#include "gemm.h"
#include "nn_rows.h"

/* Whether output i of the node is wanted (present and named). */
static bool
want_out(OnnxKernelCtx *ctx, int i)
{
	return i < ctx->n_outputs && i < ctx->node->n_outputs && ctx->node->outputs[i] >= 0;
}

/* A head-major view: element (b, h, t, d) at p[b * sb + h * sh + t * st + d]. */
typedef struct HeadView
{
	const float *p;
	int64_t		sb,
				sh,
				st;
} HeadView;

/* What one attention computes. */
typedef struct AttnJob
{
	int64_t		B,
				N,
				S,				/* queries */
				T,				/* keys (past included) */
				dk,				/* Q and K head size */
				dv;				/* V head size */
	float		scale;
	HeadView	q,
				k,
				v;
	const float *mask;			/* additive (B, mask_rows, T) or NULL */
	int64_t		mask_rows;		/* 1 or S */
	const OnnxTensor *bias;		/* attention_bias (B|1, N|1, S, T) or NULL */
	float	   *y;				/* (B, S, N * dv) */
	float	   *qk;				/* (B, N, S, T) scores before softmax, or NULL */
} AttnJob;

/* Run the job: scores, mask, bias, softmax and P V for every (b, h). */
static OnnxStatus
attn_run(OnnxKernelCtx *ctx, const AttnJob *j)
{
	size_t		n;
	float	   *sc,
			   *pr;

	if (onnx_mul_overflow_size((size_t) j->S, (size_t) j->T, &n))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "attention scores too large");
	if ((sc = onnx_kernel_scratch(ctx, n, sizeof(float))) == NULL ||
		(pr = onnx_kernel_scratch(ctx, n, sizeof(float))) == NULL)
		return ctx->err->status;
	for (int64_t b = 0; b < j->B; b++)
		for (int64_t h = 0; h < j->N; h++)
		{
			const float *q = j->q.p + b * j->q.sb + h * j->q.sh;
			const float *k = j->k.p + b * j->k.sb + h * j->k.sh;
			const float *v = j->v.p + b * j->v.sb + h * j->v.sh;

			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "cancelled");
			if (j->T == 0)
				continue;
			/*
			 * scores (S, T) = attention_bias + mask + scale * Q (S, dk) @ K
			 * (T, dk)ᵀ, summed in onnxruntime's order (a masked score is
			 * near -10000, where the order shows in the last bits)
			 */
			if (j->bias)
			{
				const OnnxTensor *ab = j->bias;
				int64_t		bb = ab->dims[0] == 1 ? 0 : b,
							hh = ab->dims[1] == 1 ? 0 : h;

				memcpy(sc, (const float *) ab->data + (bb * ab->dims[1] + hh) * j->S * j->T,
					   (size_t) (j->S * j->T) * sizeof(float));
			}
			if (j->mask)
			{
				const float *m = j->mask + b * j->mask_rows * j->T;

				for (int64_t s = 0; s < j->S; s++)
					for (int64_t t = 0; t < j->T; t++)
					{
						float		a = m[(j->mask_rows == 1 ? 0 : s) * j->T + t];

						sc[s * j->T + t] = j->bias ? sc[s * j->T + t] + a : a;
					}
			}
			onnx_sgemm(false, true, j->S, j->T, j->dk, j->scale, q, j->q.st, k, j->k.st,
					   j->mask || j->bias ? 1.0f : 0.0f, sc, j->T, 1);
			if (j->qk)
				memcpy(j->qk + (b * j->N + h) * j->S * j->T, sc, (size_t) (j->S * j->T) * sizeof(float));
			onnx_softmax_f32(ctx, sc, pr, j->S, j->T, 1, false);
			/* out (S, dv) = P (S, T) @ V (T, dv), rows N * dv apart */
			onnx_sgemm(false, false, j->S, j->dv, j->T, 1.0f, pr, j->T, v, j->v.st, 0.0f,
					   j->y + b * j->S * j->N * j->dv + h * j->dv, j->N * j->dv, 1);
		}
	return ONNX_OK;
}

/* How a mask input and causality become the additive mask. */
typedef struct MaskSpec
{
	const OnnxTensor *m;		/* mask_index / key_padding_mask or NULL */
	bool		causal;			/* unidirectional and S > 1 (onnxruntime's rule) */
	float		filter;			/* where the mask masks a key */
	float		causal_value;	/* where causality masks a key (onnxruntime: the
								 * lowest float) */
	int64_t		B,
				S,
				T,				/* keys, past included */
				P;				/* past keys */
} MaskSpec;

/*
 * Additive mask (B, rows, T) from the spec; *rows is 1 or S.  Mask forms,
 * as onnxruntime reads them: (B) key lengths, (2B) lengths then starts,
 * (3B + 2) lengths first (the rest is for CUDA's packed kernels), (B, T)
 * and (B, S, T) raw masks, (B, 1, M, M) a raw mask of the longest sequence
 * M >= T read at rows P .. P + S - 1.  A raw value > 0 keeps the key, any
 * other value masks it: mask_filter_value.  Causality (query row r, key t >
 * P + r) sets causal_value instead; as onnxruntime, not in the last row (where
 * it masks nothing unless cross attention has more keys than queries).  NULL with *none when nothing is masked; NULL
 * otherwise means error (set).
 */
static float *
build_mask(OnnxKernelCtx *ctx, const MaskSpec *ms, int64_t *rows, bool *none)
{
	const OnnxTensor *m = ms->m;
	int64_t		B = ms->B,
				S = ms->S,
				T = ms->T,
				P = ms->P,
				M = 0;
	float	   *mk;
	size_t		n;

	*none = false;
	*rows = ms->causal || (m && m->rank >= 3) ? S : 1;
	if (m == NULL && !ms->causal)
	{
		*none = true;
		return NULL;
	}
	if (m && m->dtype != ONNX_DTYPE_INT32 && m->dtype != ONNX_DTYPE_INT64 && m->dtype != ONNX_DTYPE_FLOAT &&
		m->dtype != ONNX_DTYPE_BOOL)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "mask dtype %s not supported", onnx_dtype_name(m->dtype));
		return NULL;
	}
	if (m && m->rank == 4)
		M = m->dims[3];
	if (m && !((m->rank == 1 && (m->dims[0] == B || m->dims[0] == 2 * B || m->dims[0] == 3 * B + 2)) ||
			   (m->rank == 2 && m->dims[0] == B && m->dims[1] == T) ||
			   (m->rank == 3 && m->dims[0] == B && m->dims[1] == S && m->dims[2] == T) ||
			   (m->rank == 4 && m->dims[0] == B && m->dims[1] == 1 && m->dims[2] == M && M >= T && M >= P + S)))
	{
		onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
						 "mask must be (B), (2B), (3B + 2), (B, T), (B, S, T) or (B, 1, M, M) with M >= T, "
						 "for B = %lld, S = %lld queries, T = %lld keys", (long long) B, (long long) S,
						 (long long) T);
		return NULL;
	}
	if (onnx_mul_overflow_size((size_t) B, (size_t) *rows, &n) ||
		onnx_mul_overflow_size(n, (size_t) T, &n))
	{
		onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "mask too large");
		return NULL;
	}
	if ((mk = onnx_kernel_scratch(ctx, n, sizeof(float))) == NULL)
		return NULL;
	for (int64_t b = 0; b < B; b++)
		for (int64_t r = 0; r < *rows; r++)
			for (int64_t t = 0; t < T; t++)
			{
				bool		masked = false;

				if (m && m->rank == 1)
				{
					int64_t		end = onnx_tensor_get_i64(m, b),
								start = m->dims[0] == 2 * B ? onnx_tensor_get_i64(m, B + b) : 0;

					masked = t >= end || t < start;
				}
				else if (m && m->rank == 2)
					masked = !(onnx_tensor_get_f64(m, b * T + t) > 0);
				else if (m && m->rank == 3)
					masked = !(onnx_tensor_get_f64(m, (b * S + r) * T + t) > 0);
				else if (m)
					masked = !(onnx_tensor_get_f64(m, (b * M + P + r) * M + t) > 0);
				/* onnxruntime leaves the last query row unmasked causally */
				mk[(b * *rows + r) * T + t] = ms->causal && r < S - 1 && t > P + r ? ms->causal_value :
					masked ? ms->filter : 0.0f;
			}
	return mk;
}

/* j with the mask ms describes (NULL when nothing is masked): run it. */
static OnnxStatus
attn_masked_run(OnnxKernelCtx *ctx, AttnJob *j, const MaskSpec *ms)
{
	bool		none;

	j->mask = build_mask(ctx, ms, &j->mask_rows, &none);
	if (j->mask == NULL && !none)
		return ctx->err->status;
	return attn_run(ctx, j);
}

/* attention_bias t: float32 (B|1, N|1, S, T), or an error. */
static bool
bias_ok(const OnnxTensor *t, int64_t B, int64_t N, int64_t S, int64_t T)
{
	return t->dtype == ONNX_DTYPE_FLOAT && t->rank == 4 && (t->dims[0] == 1 || t->dims[0] == B) &&
		(t->dims[1] == 1 || t->dims[1] == N) && t->dims[2] == S && t->dims[3] == T;
}

/*
 * K or V of all heads with past rows first: dst (B, N, P + L, hd) from past
 * (B, N, P, hd) or NULL and the new rows (view src).
 */
static void
concat_past(float *dst, const OnnxTensor *past, const HeadView *src, int64_t B, int64_t N,
			int64_t P, int64_t L, int64_t hd)
{
	for (int64_t b = 0; b < B; b++)
		for (int64_t h = 0; h < N; h++)
		{
			float	   *d = dst + (b * N + h) * (P + L) * hd;

			if (P > 0)
				memcpy(d, (const float *) past->data + (b * N + h) * P * hd, (size_t) (P * hd) * sizeof(float));
			for (int64_t t = 0; t < L; t++)
				memcpy(d + (P + t) * hd, src->p + b * src->sb + h * src->sh + t * src->st,
					   (size_t) hd * sizeof(float));
		}
}

/*
 * Attention's do_rotary on the projection qkv (B * S rows of W floats, Q
 * heads at column 0, K heads at column k0, N heads of hd each): the first
 * rot values of every Q and K head turn by position pos = P + s, halves
 * (x[i], x[i + rot/2]) by angle pos * 10000^(-2i / rot):
 * (x1 cos - x2 sin, x2 cos + x1 sin), onnxruntime's CUDA kernel (its CPU
 * kernel has no rotary).  Angles in double, no approximation.
 */
static OnnxStatus
attn_rotary(OnnxKernelCtx *ctx, float *qkv, int64_t B, int64_t S, int64_t W, int64_t N, int64_t hd,
			int64_t k0, int64_t rot, int64_t P)
{
	int64_t		half = rot / 2;
	float	   *cs = onnx_kernel_scratch(ctx, (size_t) (2 * half), sizeof(float));

	if (cs == NULL)
		return ctx->err->status;
	for (int64_t s = 0; s < S; s++)
	{
		for (int64_t i = 0; i < half; i++)
		{
			double		a = (double) (P + s) * pow(10000.0, -2.0 * (double) i / (double) rot);

			cs[i] = (float) cos(a);
			cs[half + i] = (float) sin(a);
		}
		for (int64_t b = 0; b < B; b++)
			for (int64_t part = 0; part < 2; part++)
				for (int64_t h = 0; h < N; h++)
				{
					float	   *x = qkv + (b * S + s) * W + part * k0 + h * hd;

					for (int64_t i = 0; i < half; i++)
					{
						float		x1 = x[i],
									x2 = x[i + half];

						x[i] = x1 * cs[i] - x2 * cs[half + i];
						x[i + half] = x2 * cs[i] + x1 * cs[half + i];
					}
				}
	}
	return ONNX_OK;
}

/*
 * Attention: the packed projection, optional past (2, B, N, P, hd) and
 * present output, then attn_run.
 */
static OnnxStatus
run_attention(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *w = onnx_in(ctx, 1),
			   *bias = onnx_in(ctx, 2),
			   *mask = onnx_in(ctx, 3),
			   *past = onnx_in(ctx, 4),
			   *abias = onnx_in(ctx, 5);
	int64_t		N = onnx_attr_int(ctx->node, "num_heads", 0);
	bool		causal = onnx_attr_int(ctx->node, "unidirectional", 0) != 0,
				rotary = onnx_attr_int(ctx->node, "do_rotary", 0) != 0;
	int64_t		rot = onnx_attr_int(ctx->node, "rotary_embedding_dim", 0);
	float		filter = onnx_attr_float(ctx->node, "mask_filter_value", -10000.0f);
	const int64_t *hs;
	int64_t		B,
				S,
				D,
				W,
				Dq,
				Dk,
				Dv,
				P = 0,
				T,
				dims[5];
	size_t		n;
	float	   *qkv = NULL,
			   *kall = NULL,
			   *vall = NULL;
	OnnxTensor *y,
			   *present = NULL;
	AttnJob		j;
	MaskSpec	ms;
	OnnxStatus	st;

	if (x == NULL || w == NULL || x->rank != 3 || w->rank != 2 || x->dtype != ONNX_DTYPE_FLOAT ||
		w->dtype != ONNX_DTYPE_FLOAT || w->dims[0] != x->dims[2] || N <= 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Attention needs float32 input (B, S, D), weights (D, 3H) and num_heads > 0");
	if (onnx_attr_int(ctx->node, "past_present_share_buffer", 0) != 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED,
								"Attention with past_present_share_buffer is not supported (onnxruntime's CPU "
								"kernel has it neither)");
	if (mask && mask->rank == 4 && causal)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Attention: a 4-D mask_index needs unidirectional = 0 (the mask holds causality)");
	B = x->dims[0];
	S = x->dims[1];
	D = x->dims[2];
	W = w->dims[1];
	if (onnx_attr_ints(ctx->node, "qkv_hidden_sizes", &hs) == 3)
	{
		Dq = hs[0];
		Dk = hs[1];
		Dv = hs[2];
	}
	else
		Dq = Dk = Dv = W / 3;
	if (Dq < 0 || Dk < 0 || Dv < 0 || Dq > W || Dk > W || Dv > W || Dq + Dk + Dv != W || Dq != Dk || Dq % N || Dv % N ||
		(bias && (bias->dtype != ONNX_DTYPE_FLOAT || bias->count != W)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Attention: weights, bias and qkv_hidden_sizes disagree with num_heads");
	if (past)
	{
		if (past->dtype != ONNX_DTYPE_FLOAT || past->rank != 5 || past->dims[0] != 2 || past->dims[1] != B ||
			past->dims[2] != N || past->dims[4] != Dk / N || Dk != Dv)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "past must be (2, B, N, P, head size)");
		P = past->dims[3];
	}
	T = P + S;
	if (abias && !bias_ok(abias, B, N, S, T))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "attention_bias must be float32 (B|1, N|1, S, T)");
	if (rotary)
	{
		if (rot == 0)
			rot = Dk / N;
		if (rot < 2 || rot % 2 || rot > Dk / N)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Attention: rotary_embedding_dim %lld must be even and at most the head size %lld",
									(long long) rot, (long long) (Dk / N));
	}
	dims[0] = B;
	dims[1] = S;
	dims[2] = Dv;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 3, dims)) == NULL)
		return ctx->err->status;
	/* QKV (B*S, W) = X (B*S, D) @ weights (D, W) + bias */
	if (onnx_mul_overflow_size((size_t) (B * S), (size_t) W, &n))
		return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "Attention projection too large");
	if ((qkv = onnx_kernel_scratch(ctx, n, sizeof(float))) == NULL)
		return ctx->err->status;
	if (bias)
		for (int64_t r = 0; r < B * S; r++)
			memcpy(qkv + r * W, bias->data, (size_t) W * sizeof(float));
	if (B * S > 0 && W > 0)
		onnx_sgemm(false, false, B * S, W, D, 1.0f, x->data, D, w->data, W, bias ? 1.0f : 0.0f,
				   qkv, W, onnx_kernel_threads(ctx));
	if (rotary && (st = attn_rotary(ctx, qkv, B, S, W, N, Dk / N, Dq, rot, P)) != ONNX_OK)
		return st;
	memset(&j, 0, sizeof(j));
	j.B = B;
	j.N = N;
	j.S = S;
	j.T = T;
	j.dk = Dk / N;
	j.dv = Dv / N;
	j.scale = onnx_attr_float(ctx->node, "scale", 0.0f);
	if (j.scale == 0.0f)
		j.scale = 1.0f / sqrtf((float) j.dk);
	j.q = (HeadView) {qkv, S * W, j.dk, W};
	j.k = (HeadView) {qkv + Dq, S * W, j.dk, W};
	j.v = (HeadView) {qkv + Dq + Dk, S * W, j.dv, W};
	if (past || want_out(ctx, 1))
	{
		/* K and V with past rows: (B, N, T, hd) each, written to present when wanted */
		size_t		kn;

		dims[0] = 2;
		dims[1] = B;
		dims[2] = N;
		dims[3] = T;
		dims[4] = j.dk;
		if (Dk != Dv)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "present needs equal K and V sizes");
		if (want_out(ctx, 1))
		{
			if ((present = onnx_out_raw(ctx, 1, ONNX_DTYPE_FLOAT, 5, dims)) == NULL)
				return ctx->err->status;
			kall = present->data;
		}
		else
		{
			/* past without a present output: K and V in scratch */
			size_t		bytes;

			if (onnx_mul_overflow_size((size_t) (2 * B * N), (size_t) T, &bytes) ||
				onnx_mul_overflow_size(bytes, (size_t) j.dk, &bytes))
				return onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "keys and values too large");
			if ((kall = onnx_kernel_scratch(ctx, bytes, sizeof(float))) == NULL)
				return ctx->err->status;
		}
		kn = (size_t) (B * N * T * j.dk);
		vall = kall + kn;
		concat_past(kall, past, &j.k, B, N, P, S, j.dk);
		if (past)
		{
			OnnxTensor	pv = *past;

			pv.data = (float *) past->data + (size_t) (B * N * P * j.dk);
			concat_past(vall, &pv, &j.v, B, N, P, S, j.dv);
		}
		else
			concat_past(vall, NULL, &j.v, B, N, 0, S, j.dv);
		j.k = (HeadView) {kall, N * T * j.dk, T * j.dk, j.dk};
		j.v = (HeadView) {vall, N * T * j.dv, T * j.dv, j.dv};
	}
	ms = (MaskSpec) {mask, causal && S > 1, filter, -FLT_MAX, B, S, T, P};
	j.bias = abias;
	j.y = y->data;
	return attn_masked_run(ctx, &j, &ms);
}

/*
 * The view of a MultiHeadAttention query/key/value t: (B, L, N * hd) with
 * bias slice b (or NULL) added into a scratch copy, or (B, N, L, hd) as is.
 */
static OnnxStatus
mha_view(OnnxKernelCtx *ctx, const OnnxTensor *t, const float *b, int64_t B, int64_t N,
		 int64_t hd, HeadView *v, int64_t *L)
{
	if (t->dtype != ONNX_DTYPE_FLOAT || t->dims[0] != B)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "query, key and value must be float32 with batch %lld",
								(long long) B);
	if (t->rank == 3 && t->dims[2] == N * hd)
	{
		const float *p = t->data;

		*L = t->dims[1];
		if (b)
		{
			float	   *c = onnx_kernel_scratch(ctx, (size_t) t->count, sizeof(float));

			if (c == NULL)
				return ctx->err->status;
			for (int64_t r = 0; r < B * *L; r++)
				for (int64_t k = 0; k < N * hd; k++)
					c[r * N * hd + k] = p[r * N * hd + k] + b[k];
			p = c;
		}
		*v = (HeadView) {p, *L * N * hd, hd, N * hd};
		return ONNX_OK;
	}
	if (t->rank == 4 && t->dims[1] == N && t->dims[3] == hd && b == NULL)
	{
		*L = t->dims[2];
		*v = (HeadView) {t->data, N * *L * hd, *L * hd, hd};
		return ONNX_OK;
	}
	return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
							"query, key and value must be (B, L, N * head size) or (B, N, L, head size)");
}

/* Scratch (rows, T, hd) floats, or NULL with the error set. */
static float *
kv_alloc(OnnxKernelCtx *ctx, int64_t rows, int64_t T, int64_t hd)
{
	size_t		n;

	if (onnx_mul_overflow_size((size_t) rows, (size_t) T, &n) ||
		onnx_mul_overflow_size(n, (size_t) hd, &n))
	{
		onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "keys and values too large");
		return NULL;
	}
	return onnx_kernel_scratch(ctx, n, sizeof(float));
}

/*
 * Present key (oi 1) or value (oi 2), (B, N, T, hd): output oi when
 * wanted, else scratch (kv_alloc).  NULL with the error set on failure.
 */
static float *
kv_buffer(OnnxKernelCtx *ctx, int oi, int64_t B, int64_t N, int64_t T, int64_t hd)
{
	int64_t		dims[4] = {B, N, T, hd};
	OnnxTensor *out;

	if (!want_out(ctx, oi))
		return kv_alloc(ctx, B * N, T, hd);
	if ((out = onnx_out_raw(ctx, oi, ONNX_DTYPE_FLOAT, 4, dims)) == NULL)
		return NULL;
	return out->data;
}

/*
 * Views of a packed MultiHeadAttention input t (B, L, N, M, hd) that holds M
 * matrices per head (QKV: M = 3, KV: M = 2): views[i] is matrix i.  Bias b
 * (M * N * hd floats, matrix-major) or NULL is added into a scratch copy.
 */
static OnnxStatus
mha_packed(OnnxKernelCtx *ctx, const OnnxTensor *t, const float *b, int64_t M, HeadView *views)
{
	int64_t		L = t->dims[1],
				N = t->dims[2],
				hd = t->dims[4];
	const float *p = t->data;

	if (b)
	{
		float	   *c = onnx_kernel_scratch(ctx, (size_t) t->count, sizeof(float));

		if (c == NULL)
			return ctx->err->status;
		for (int64_t r = 0; r < t->dims[0] * L; r++)
			for (int64_t n = 0; n < N; n++)
				for (int64_t m = 0; m < M; m++)
				{
					int64_t		o = ((r * N + n) * M + m) * hd;

					for (int64_t d = 0; d < hd; d++)
						c[o + d] = p[o + d] + b[(m * N + n) * hd + d];
				}
		p = c;
	}
	for (int64_t m = 0; m < M; m++)
		views[m] = (HeadView) {p + m * hd, L * N * M * hd, M * hd, N * M * hd};
	return ONNX_OK;
}

/*
 * MultiHeadAttention: separate query, key, value; packed QKV (query
 * (B, S, N, 3, hd), no key or value) or packed KV (key (B, L, N, 2, hd), no
 * value); optional bias, key_padding_mask, attention_bias, past; outputs
 * present_key, present_value and qk (B, N, S, T), the scores before softmax
 * with mask and bias added.
 */
static OnnxStatus
run_mha(OnnxKernelCtx *ctx)
{
	const OnnxTensor *q = onnx_in(ctx, 0),
			   *k = onnx_in(ctx, 1),
			   *v = onnx_in(ctx, 2),
			   *bias = onnx_in(ctx, 3),
			   *kpm = onnx_in(ctx, 4),
			   *abias = onnx_in(ctx, 5),
			   *pk = onnx_in(ctx, 6),
			   *pv = onnx_in(ctx, 7);
	int64_t		N = onnx_attr_int(ctx->node, "num_heads", 0);
	bool		causal = onnx_attr_int(ctx->node, "unidirectional", 0) != 0;
	float		filter = onnx_attr_float(ctx->node, "mask_filter_value", -10000.0f);
	int64_t		B,
				S,
				Dq,
				Dk,
				Dv,
				L,
				Lv,
				P = 0,
				T,
				dims[4];
	const float *bd = bias ? bias->data : NULL;
	OnnxTensor *y,
			   *outqk;
	HeadView	pack[3];
	AttnJob		j;
	MaskSpec	ms;
	OnnxStatus	st;

	if (q == NULL || (q->rank != 3 && q->rank != 5) || N <= 0 || q->dtype != ONNX_DTYPE_FLOAT)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"MultiHeadAttention needs float32 query (B, S, D) or packed QKV (B, S, N, 3, head size) "
								"and num_heads > 0");
	if (onnx_in(ctx, 8) || onnx_in(ctx, 9))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED,
								"MultiHeadAttention with past_sequence_length or cache_indirection (decoder buffer "
								"sharing) is not supported");
	if (bias && bias->dtype != ONNX_DTYPE_FLOAT)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "MultiHeadAttention: bias must be float32");
	memset(&j, 0, sizeof(j));
	B = q->dims[0];
	S = q->dims[1];
	j.B = B;
	j.N = N;
	j.S = S;
	if (q->rank == 5)
	{
		/* packed QKV (B, S, N, 3, hd) */
		if (k || v || q->dims[2] != N || q->dims[3] != 3 || (bias && bias->count != 3 * N * q->dims[4]))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"MultiHeadAttention: packed QKV must be (B, S, num_heads, 3, head size) with no "
									"key or value, bias 3 * num_heads * head size");
		j.dk = j.dv = q->dims[4];
		Dq = Dk = Dv = N * j.dk;
		if ((st = mha_packed(ctx, q, bd, 3, pack)) != ONNX_OK)
			return st;
		j.q = pack[0];
		j.k = pack[1];
		j.v = pack[2];
		L = S;
	}
	else if (k && k->rank == 5)
	{
		/* packed KV (B, L, N, 2, hd) */
		Dq = q->dims[2];
		if (v || k->dtype != ONNX_DTYPE_FLOAT || k->dims[0] != B || k->dims[2] != N || k->dims[3] != 2 ||
			Dq != N * k->dims[4] || (bias && bias->count != 3 * Dq))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"MultiHeadAttention: packed KV must be (B, L, num_heads, 2, head size) with the "
									"query's head size and no value, bias 3 * hidden size");
		j.dk = j.dv = k->dims[4];
		Dk = Dv = Dq;
		if ((st = mha_view(ctx, q, bd, B, N, j.dk, &j.q, &Lv)) != ONNX_OK ||
			(st = mha_packed(ctx, k, bd ? bd + Dq : NULL, 2, pack)) != ONNX_OK)
			return st;
		j.k = pack[0];
		j.v = pack[1];
		L = k->dims[1];
	}
	else
	{
		if (k == NULL || v == NULL)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"MultiHeadAttention needs key and value unless query is packed QKV "
									"or key packed KV");
		Dq = q->dims[2];
		Dk = k->rank == 3 ? k->dims[2] : k->rank == 4 ? k->dims[1] * k->dims[3] : -1;
		Dv = v->rank == 3 ? v->dims[2] : v->rank == 4 ? v->dims[1] * v->dims[3] : -1;
		if (Dq % N || Dk != Dq || Dv < 0 || Dv % N || (bias && bias->count != Dq + Dk + Dv))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"MultiHeadAttention: query, key, value and bias sizes disagree with num_heads");
		j.dk = Dq / N;
		j.dv = Dv / N;
		if ((st = mha_view(ctx, q, bd, B, N, j.dk, &j.q, &L)) != ONNX_OK ||
			(st = mha_view(ctx, k, bd ? bd + Dq : NULL, B, N, j.dk, &j.k, &L)) != ONNX_OK ||
			(st = mha_view(ctx, v, bd ? bd + Dq + Dk : NULL, B, N, j.dv, &j.v, &Lv)) != ONNX_OK)
			return st;
		if (L != Lv)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "key and value lengths differ");
	}
	if ((pk != NULL) != (pv != NULL) ||
		(pk && (pk->dtype != ONNX_DTYPE_FLOAT || pv->dtype != ONNX_DTYPE_FLOAT || pk->rank != 4 ||
				pv->rank != 4 || pk->dims[0] != B || pk->dims[1] != N || pk->dims[3] != j.dk ||
				pv->dims[0] != B || pv->dims[1] != N || pv->dims[3] != j.dv || pv->dims[2] != pk->dims[2])))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "past_key and past_value must be (B, N, P, head size)");
	if (pk)
		P = pk->dims[2];
	T = P + L;
	j.T = T;
	if (abias && !bias_ok(abias, B, N, S, T))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "attention_bias must be float32 (B|1, N|1, S, T)");
	dims[0] = B;
	dims[1] = S;
	dims[2] = Dv;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 3, dims)) == NULL)
		return ctx->err->status;
	if (pk || want_out(ctx, 1) || want_out(ctx, 2))
	{
		float	   *kd,
				   *vd;

		if ((kd = kv_buffer(ctx, 1, B, N, T, j.dk)) == NULL ||
			(vd = kv_buffer(ctx, 2, B, N, T, j.dv)) == NULL)
			return ctx->err->status;
		concat_past(kd, pk, &j.k, B, N, P, L, j.dk);
		concat_past(vd, pv, &j.v, B, N, P, L, j.dv);
		j.k = (HeadView) {kd, N * T * j.dk, T * j.dk, j.dk};
		j.v = (HeadView) {vd, N * T * j.dv, T * j.dv, j.dv};
	}
	if (want_out(ctx, 3))
	{
		dims[0] = B;
		dims[1] = N;
		dims[2] = S;
		dims[3] = T;
		if ((outqk = onnx_out_raw(ctx, 3, ONNX_DTYPE_FLOAT, 4, dims)) == NULL)
			return ctx->err->status;
		j.qk = outqk->data;
	}
	j.scale = onnx_attr_float(ctx->node, "scale", 0.0f);
	if (j.scale == 0.0f)
		j.scale = 1.0f / sqrtf((float) j.dk);
	ms = (MaskSpec) {kpm, causal && S > 1, filter, -FLT_MAX, B, S, T, P};
	j.bias = abias;
	j.y = y->data;
	return attn_masked_run(ctx, &j, &ms);
}

/* RotaryEmbedding (com.microsoft), see the file header. */
static OnnxStatus
run_rotary(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0),
			   *pid = onnx_in(ctx, 1),
			   *cc = onnx_in(ctx, 2),
			   *sc = onnx_in(ctx, 3);
	int64_t		N = onnx_attr_int(ctx->node, "num_heads", 0),
				rot = onnx_attr_int(ctx->node, "rotary_embedding_dim", 0);
	bool		inter = onnx_attr_int(ctx->node, "interleaved", 0) != 0;
	int64_t		B,
				S,
				hd,
				half,
				maxp;
	OnnxTensor *y;

	if (x == NULL || pid == NULL || cc == NULL || sc == NULL || x->dtype != ONNX_DTYPE_FLOAT ||
		cc->dtype != ONNX_DTYPE_FLOAT || sc->dtype != ONNX_DTYPE_FLOAT || cc->rank != 2 || sc->rank != 2 ||
		cc->dims[0] != sc->dims[0] || cc->dims[1] != sc->dims[1] || (x->rank != 3 && x->rank != 4) ||
		(pid->dtype != ONNX_DTYPE_INT64 && pid->dtype != ONNX_DTYPE_INT32))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"RotaryEmbedding needs float32 input (B, S, H) or (B, N, S, hd), integer "
								"position_ids and float32 caches of one shape");
	B = x->dims[0];
	S = x->rank == 3 ? x->dims[1] : x->dims[2];
	maxp = cc->dims[0];
	if (x->rank == 4)
	{
		N = x->dims[1];
		hd = x->dims[3];
	}
	else if (N > 0)
		hd = x->dims[2] % N == 0 ? x->dims[2] / N : -1;
	else
	{
		hd = rot > 0 ? -1 : 2 * cc->dims[1];
		N = hd > 0 && x->dims[2] % hd == 0 ? x->dims[2] / hd : 0;
	}
	if (rot == 0)
		rot = hd;
	half = rot / 2;
	if (hd <= 0 || N <= 0 || rot <= 0 || rot % 2 || rot > hd || cc->dims[1] < half)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"RotaryEmbedding: head size, rotary_embedding_dim and cache width disagree");
	if (!(pid->count == 1 || (pid->rank == 2 && pid->dims[0] == B && pid->dims[1] == S)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "position_ids must be (B, S) or (1)");
	if ((y = onnx_out_raw(ctx, 0, ONNX_DTYPE_FLOAT, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	for (int64_t b = 0; b < B; b++)
		for (int64_t s = 0; s < S; s++)
		{
			int64_t		p = pid->count == 1 ? onnx_tensor_get_i64(pid, 0) + s : onnx_tensor_get_i64(pid, b * S + s);
			const float *c,
					   *sn;

			if (p < 0 || p >= maxp)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"position %lld outside the caches (%lld positions)", (long long) p,
										(long long) maxp);
			c = (const float *) cc->data + p * cc->dims[1];
			sn = (const float *) sc->data + p * sc->dims[1];
			for (int64_t h = 0; h < N; h++)
			{
				int64_t		off = x->rank == 3 ? (b * S + s) * N * hd + h * hd : ((b * N + h) * S + s) * hd;
				const float *xv = (const float *) x->data + off;
				float	   *yv = (float *) y->data + off;

				for (int64_t i = 0; i < half; i++)
				{
					int64_t		i1 = inter ? 2 * i : i,
								i2 = inter ? 2 * i + 1 : i + half;
					float		x1 = xv[i1],
								x2 = xv[i2];

					yv[i1] = x1 * c[i] - x2 * sn[i];
					yv[i2] = x2 * c[i] + x1 * sn[i];
				}
				for (int64_t i = rot; i < hd; i++)
					yv[i] = xv[i];
			}
		}
	return ONNX_OK;
}

static const OnnxAttrSpec rotary_attrs[] = {
	{"interleaved", ONNX_ATTR_INT}, {"is_packed_batching", ONNX_ATTR_INT}, {"num_heads", ONNX_ATTR_INT},
	{"rotary_embedding_dim", ONNX_ATTR_INT}, {"scale", ONNX_ATTR_FLOAT}, {0}
};
static const OnnxAttrSpec attention_attrs[] = {
	{"num_heads", ONNX_ATTR_INT}, {"unidirectional", ONNX_ATTR_INT},
	{"qkv_hidden_sizes", ONNX_ATTR_INTS}, {"mask_filter_value", ONNX_ATTR_FLOAT},
	{"scale", ONNX_ATTR_FLOAT}, {"do_rotary", ONNX_ATTR_INT},
	{"past_present_share_buffer", ONNX_ATTR_INT}, {"rotary_embedding_dim", ONNX_ATTR_INT}, {0}
};
static const OnnxAttrSpec mha_attrs[] = {
	{"num_heads", ONNX_ATTR_INT}, {"unidirectional", ONNX_ATTR_INT},
	{"mask_filter_value", ONNX_ATTR_FLOAT}, {"scale", ONNX_ATTR_FLOAT}, {0}
};


const OnnxOpDef onnx_ops_ms_attention[] = {
	ONNX_OP(ONNX_DOMAIN_MS, "Attention", 1, ONNX_INPUTS(2, 7), ONNX_OUTPUTS(1, 2), .input0_types = ONNX_TS_F32,
		.out_type = ONNX_OUT_SAME, .run = run_attention, .attrs = attention_attrs),
	ONNX_OP(ONNX_DOMAIN_MS, "MultiHeadAttention", 1, ONNX_INPUTS(1, 10), ONNX_OUTPUTS(1, 4), .input0_types = ONNX_TS_F32,
		.out_type = ONNX_OUT_SAME, .run = run_mha, .attrs = mha_attrs),
	ONNX_OP(ONNX_DOMAIN_MS, "RotaryEmbedding", 1, ONNX_INPUTS(4, 4), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_F32,
		ONNX_OUT_LIKE_INPUT0, .run = run_rotary,
		.attrs = rotary_attrs),
	{0}
};
