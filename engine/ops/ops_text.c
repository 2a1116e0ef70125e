/*-------------------------------------------------------------------------
 *
 * ops_text.c
 *	  Text features: TfIdfVectorizer.
 *
 *	  X (C) or (N, C) of int32, int64 or string -> Y (size) or (N, size)
 *	  float, size = max(ngram_indexes) + 1.
 *
 *	  The pool lists n-grams grouped by length (ngram_counts gives where
 *	  each length starts); the i-th pool n-gram (counting every length)
 *	  has id i and output column ngram_indexes[i].  For every skip distance
 *	  1 .. max_skip_count + 1 and every start position, the n-grams of
 *	  lengths min .. max read with that stride are counted when they are
 *	  in the pool (lengths outside [min, max] are never counted; 1-grams
 *	  only with stride 1).  mode TF gives counts, IDF weights (or 1) where
 *	  the count is positive, TFIDF counts times weights.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "op_tables.h"

typedef struct TfIdfPool
{
	int			n_grams;
	int		   *len;			/* n-gram length of each pool entry */
	int64_t    *start;			/* first element in the pool arrays */
	bool		strings;
	const int64_t *ints;
	const char **strs;
	int64_t		n_items;
} TfIdfPool;

/* X element i equals pool element p. */
static bool
elem_equal(const OnnxTensor *x, int64_t i, const TfIdfPool *pool, int64_t p)
{
	if (pool->strings)
	{
		const char *s = ((char *const *) x->data)[i];

		return strcmp(s ? s : "", pool->strs[p]) == 0;
	}
	return onnx_tensor_get_i64(x, i) == pool->ints[p];
}

static OnnxStatus
run_tfidf(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxNode *n = ctx->node;
	int64_t		min_len = onnx_attr_int(n, "min_gram_length", 0);
	int64_t		max_len = onnx_attr_int(n, "max_gram_length", 0);
	int64_t		max_skip = onnx_attr_int(n, "max_skip_count", 0);
	const char *mode = onnx_attr_string(n, "mode", "TF");
	const int64_t *counts,
			   *indexes,
			   *pool_ints;
	const float *weights;
	const OnnxAttr *pool_strs = onnx_attr(n, "pool_strings");
	int			n_counts = onnx_attr_ints(n, "ngram_counts", &counts);
	int			n_indexes = onnx_attr_ints(n, "ngram_indexes", &indexes);
	int			n_weights = onnx_attr_floats(n, "weights", &weights);
	int			n_pool_ints = onnx_attr_ints(n, "pool_int64s", &pool_ints);
	TfIdfPool	pool;
	int64_t		rows,
				cols,
				size = 0,
				dims[2];
	OnnxTensor *y;
	int			g;

	if (x == NULL || x->rank > 2)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be 1-D or 2-D");
	if (min_len < 1 || max_len < min_len || max_len > 64 || max_skip < 0 || max_skip > 1024)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL,
								"n-gram lengths must satisfy 1 <= min <= max <= 64 and the skip count be 0 to 1024");
	memset(&pool, 0, sizeof(pool));
	pool.strings = pool_strs != NULL;
	pool.n_items = pool.strings ? pool_strs->n : n_pool_ints;
	pool.strs = pool.strings ? pool_strs->strings : NULL;
	pool.ints = pool_ints;
	if (pool.strings != (x->dtype == ONNX_DTYPE_STRING))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"X is %s but the pool holds %s", onnx_dtype_name(x->dtype),
								pool.strings ? "strings" : "integers");
	for (int i = 0; i < n_indexes; i++)
	{
		if (indexes[i] < 0 || indexes[i] > (1 << 26))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "ngram_indexes[%d] is out of range", i);
		if (indexes[i] + 1 > size)
			size = indexes[i] + 1;
	}
	/* pool entries: length k+1 entries from counts[k] to counts[k+1] */
	if ((pool.len = onnx_kernel_scratch(ctx, (size_t) pool.n_items + 1, sizeof(int))) == NULL ||
		(pool.start = onnx_kernel_scratch(ctx, (size_t) pool.n_items + 1, sizeof(int64_t))) == NULL)
		return ctx->err->status;
	for (int k = 0; k < n_counts; k++)
	{
		int64_t		from = counts[k];
		int64_t		to = k + 1 < n_counts ? counts[k + 1] : pool.n_items;

		if (from < 0 || to > pool.n_items || from > to)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "ngram_counts do not fit the pool");
		for (int64_t p = from; p + (k + 1) <= to; p += k + 1)
		{
			pool.len[pool.n_grams] = k + 1;
			pool.start[pool.n_grams] = p;
			pool.n_grams++;
		}
	}
	rows = x->rank == 2 ? x->dims[0] : 1;
	cols = x->rank == 0 ? 1 : x->dims[x->rank - 1];
	dims[0] = rows;
	dims[1] = size;
	if (x->rank == 2)
		y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 2, dims);
	else
		y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 1, &dims[1]);
	if (y == NULL)
		return ctx->err->status;
	for (int64_t r = 0; r < rows; r++)
	{
		float	   *out = (float *) y->data + r * size;
		int64_t		first_len = min_len;

		for (int64_t skip = 1; skip <= max_skip + 1; skip++)
		{
			for (int64_t s = 0; s < cols; s++)
			{
				if (s + skip * (first_len - 1) >= cols)
					break;
				/* n-grams starting at s with this stride, lengths 1..max_len */
				for (int64_t len = 1; len <= max_len && s + skip * (len - 1) < cols; len++)
				{
					bool		prefix_seen = false;

					for (g = 0; g < pool.n_grams; g++)
					{
						bool		match = pool.len[g] >= len && pool.len[g] >= min_len &&
							pool.len[g] <= max_len;

						for (int64_t k = 0; match && k < len; k++)
							match = elem_equal(x, r * cols + s + k * skip, &pool, pool.start[g] + k);
						if (!match)
							continue;
						prefix_seen = true;
						if (pool.len[g] == len && len >= first_len && g < n_indexes)
							out[indexes[g]] += 1;
					}
					if (!prefix_seen)
						break;
				}
			}
			if (first_len == 1)
			{
				first_len = 2;
				if (first_len > max_len)
					break;
			}
		}
		for (int64_t i = 0; i < size; i++)
		{
			double		w = i < n_weights ? weights[i] : 1.0;

			if (strcmp(mode, "IDF") == 0)
				out[i] = out[i] > 0 ? (float) w : 0.0f;
			else if (strcmp(mode, "TFIDF") == 0)
				out[i] = (float) (out[i] * w);
		}
	}
	return ONNX_OK;
}

static const OnnxAttrSpec tfidf_attrs[] = {
	{"min_gram_length", ONNX_ATTR_INT}, {"max_gram_length", ONNX_ATTR_INT},
	{"max_skip_count", ONNX_ATTR_INT}, {"mode", ONNX_ATTR_STRING},
	{"ngram_counts", ONNX_ATTR_INTS}, {"ngram_indexes", ONNX_ATTR_INTS},
	{"pool_int64s", ONNX_ATTR_INTS}, {"pool_strings", ONNX_ATTR_STRINGS},
	{"weights", ONNX_ATTR_FLOATS}, {0}
};

const OnnxOpDef onnx_ops_text[] = {
	ONNX_OP("", "TfIdfVectorizer", 9, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_STRING) | ONNX_T(ONNX_DTYPE_INT32) | ONNX_T(ONNX_DTYPE_INT64),
		.out_type = ONNX_OUT_UNKNOWN, .run = run_tfidf, .attrs = tfidf_attrs),
	{0}
};
