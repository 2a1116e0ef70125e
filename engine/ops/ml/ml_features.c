/*-------------------------------------------------------------------------
 *
 * ml_features.c
 *	  Operator family "ml_features" (see op_tables.h): ai.onnx.ml Binarizer,
 *	  ArrayFeatureExtractor, FeatureVectorizer, DictVectorizer, CastMap.
 *
 *	  Binarizer: X -> X > threshold ? 1 : 0, same type (NaN gives 0).
 *	  ArrayFeatureExtractor: X (..., F), Y indices -> X[..., Y]; a 1-D X
 *	    gives (1, |Y|), as onnxruntime does.
 *	  FeatureVectorizer: inputs (N, C_i) -> (N, sum inputdimensions) float,
 *	    each input cut or zero-padded to its dimension; a 1-D input is one
 *	    row (onnxruntime).
 *	  DictVectorizer: a map (or a sequence of maps) -> (1 | N, vocabulary)
 *	    of the map's value type, 0 / "" for keys not in the map.
 *	  CastMap: map int64 -> string | float into (1, n): values in key order
 *	    (DENSE) or at their key's position up to max_map (SPARSE).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ml_common.h"

/* ---- Binarizer ---- */

static OnnxStatus
run_binarizer(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	double		thr = onnx_attr_float(ctx->node, "threshold", 0.0f);
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Binarizer input is missing");
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	switch (x->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			for (int64_t i = 0; i < x->count; i++)
				((float *) y->data)[i] = ((const float *) x->data)[i] > thr ? 1.0f : 0.0f;
			break;
		case ONNX_DTYPE_DOUBLE:
			for (int64_t i = 0; i < x->count; i++)
				((double *) y->data)[i] = ((const double *) x->data)[i] > thr ? 1.0 : 0.0;
			break;
		default:
			for (int64_t i = 0; i < x->count; i++)
				onnx_tensor_set_i64(y, i, onnx_tensor_get_f64(x, i) > thr ? 1 : 0);
			break;
	}
	return ONNX_OK;
}

/* ---- ArrayFeatureExtractor ---- */

static OnnxStatus
run_array_feature_extractor(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ix = onnx_in(ctx, 1);
	int64_t		dims[ONNX_MAX_RANK];
	int			rank;
	int64_t		F,
				K,
				outer;
	size_t		esz;
	OnnxTensor *z;

	if (x == NULL || ix == NULL || x->rank < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "ArrayFeatureExtractor needs X of rank >= 1 and indices");
	if (ix->dtype != ONNX_DTYPE_INT64 && ix->dtype != ONNX_DTYPE_INT32)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "ArrayFeatureExtractor indices must be int64");
	F = x->dims[x->rank - 1];
	K = ix->count;
	if (K == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "ArrayFeatureExtractor needs at least one index");
	for (int64_t k = 0; k < K; k++)
	{
		int64_t		j = onnx_tensor_get_i64(ix, k);

		if (j < 0 || j >= F)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "index %lld is out of range for %lld features",
									(long long) j, (long long) F);
	}
	if (x->rank == 1)
	{
		rank = 2;
		dims[0] = 1;
		dims[1] = K;
	}
	else
	{
		rank = x->rank;
		memcpy(dims, x->dims, sizeof(int64_t) * (size_t) rank);
		dims[rank - 1] = K;
	}
	if ((z = onnx_out(ctx, 0, x->dtype, rank, dims)) == NULL)
		return ctx->err->status;
	outer = F ? x->count / F : 0;
	esz = onnx_dtype_size(x->dtype);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t k = 0; k < K; k++)
		{
			int64_t		j = onnx_tensor_get_i64(ix, k);

			if (x->dtype == ONNX_DTYPE_STRING)
			{
				char	   *d = ml_strdup(ctx, ((char *const *) x->data)[o * F + j]);

				if (d == NULL)
					return ctx->err->status;
				((char **) z->data)[o * K + k] = d;
			}
			else
				memcpy((char *) z->data + (o * K + k) * esz, (const char *) x->data + (o * F + j) * esz, esz);
		}
	return ONNX_OK;
}

/* ---- FeatureVectorizer ---- */

static OnnxStatus
run_feature_vectorizer(OnnxKernelCtx *ctx)
{
	const int64_t *idims;
	int			nd = onnx_attr_ints(ctx->node, "inputdimensions", &idims);
	int64_t		total = 0,
				N = -1,
				off = 0,
				dims[2];
	OnnxTensor *y;

	if (nd != ctx->n_inputs)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%d inputs for %d inputdimensions", ctx->n_inputs, nd);
	for (int i = 0; i < nd; i++)
	{
		const OnnxTensor *x = onnx_in(ctx, i);
		int64_t		n;

		if (x == NULL || x->rank < 1 || idims[i] < 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "FeatureVectorizer input %d is missing or empty", i);
		n = x->rank == 1 ? 1 : x->dims[0];
		if (N >= 0 && n != N)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "FeatureVectorizer inputs have %lld and %lld rows",
									(long long) N, (long long) n);
		N = n;
		total += idims[i];
	}
	dims[0] = N < 0 ? 0 : N;
	dims[1] = total;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 2, dims)) == NULL)
		return ctx->err->status;
	for (int i = 0; i < nd; i++)
	{
		const OnnxTensor *x = onnx_in(ctx, i);
		int64_t		c = x->rank == 1 ? x->dims[0] : (x->dims[0] ? x->count / x->dims[0] : 0);
		int64_t		w = c < idims[i] ? c : idims[i];

		for (int64_t r = 0; r < N; r++)
			for (int64_t j = 0; j < w; j++)
				((float *) y->data)[r * total + off + j] = (float) onnx_tensor_get_f64(x, r * c + j);
		off += idims[i];
	}
	return ONNX_OK;
}

/* ---- maps ---- */

/*
 * A map's values are one 1-D tensor (items[0]), or, as decoded for string
 * values, a sequence of scalar tensors: element e of either.
 */
static const OnnxTensor *
map_value(const OnnxValue *m, int64_t e, int64_t *at)
{
	const OnnxValue *v = &m->items[0];

	if (v->kind == ONNX_VALUE_TENSOR)
	{
		*at = e;
		return &v->tensor;
	}
	*at = 0;
	return &v->items[e].tensor;
}

/* Whether m is a map with n values in one of the two forms; their type into *vt. */
static bool
map_ok(const OnnxValue *m, OnnxDType *vt)
{
	const OnnxValue *v;

	if (m == NULL || m->kind != ONNX_VALUE_MAP || m->n_items != 1 || m->tensor.rank != 1)
		return false;
	v = &m->items[0];
	if (v->kind == ONNX_VALUE_TENSOR)
	{
		*vt = v->tensor.dtype;
		return v->tensor.count == m->tensor.count;
	}
	if (v->kind != ONNX_VALUE_SEQUENCE || v->n_items != m->tensor.count)
		return false;
	*vt = v->n_items ? v->items[0].tensor.dtype : v->elem_dtype;
	for (int i = 0; i < v->n_items; i++)
		if (v->items[i].kind != ONNX_VALUE_TENSOR || v->items[i].tensor.count != 1 || v->items[i].tensor.dtype != *vt)
			return false;
	return true;
}

/* ---- DictVectorizer ---- */

typedef struct DictVec
{
	MlHash		h;				/* vocabulary -> first position */
	int64_t    *next;			/* the next position with the same key, -1 */
	int64_t		n;
	bool		str;
} DictVec;

static OnnxStatus
prepare_dict_vectorizer(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	const OnnxAttr *sv = onnx_attr(node, "string_vocabulary");
	const int64_t *iv;
	int			ni = onnx_attr_ints(node, "int64_vocabulary", &iv);
	DictVec    *d = onnx_arena_alloc(arena, sizeof(DictVec));
	bool		ok;

	if (d == NULL)
		return ONNX_ERROR_OOM(err);
	d->str = sv && sv->type == ONNX_ATTR_STRINGS && sv->n > 0;
	d->n = d->str ? sv->n : ni;
	if (d->n == 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "DictVectorizer needs a vocabulary");
	/* int64 keys as their uint64 words (the hash copies them) */
	ok = ml_hash_build(&d->h, arena, d->n, d->str ? sv->strings : NULL,
					   d->str ? NULL : (const uint64_t *) iv, false);
	if (!ok || (d->next = onnx_arena_alloc(arena, sizeof(int64_t) * (size_t) d->n)) == NULL)
		return ONNX_ERROR_OOM(err);
	/* chain repeated vocabulary entries: every one of them gets the value */
	for (int64_t i = 0; i < d->n; i++)
		d->next[i] = -1;
	for (int64_t i = d->n - 1; i >= 0; i--)
	{
		int64_t		first = d->str ? ml_hash_find_str(&d->h, sv->strings[i]) : ml_hash_find_word(&d->h, (uint64_t) iv[i]);

		if (first >= 0 && first != i)
		{
			d->next[i] = d->next[first];
			d->next[first] = i;
		}
	}
	node->prepared = d;
	return ONNX_OK;
}

/* One map into row r of y (V columns). */
static bool
dict_row(OnnxKernelCtx *ctx, const DictVec *d, const OnnxValue *m, OnnxTensor *y, int64_t r)
{
	const OnnxTensor *keys = &m->tensor;

	for (int64_t e = 0; e < keys->count; e++)
	{
		int64_t		p = d->str ? ml_hash_find_str(&d->h, ((char *const *) keys->data)[e])
			: ml_hash_find_word(&d->h, (uint64_t) onnx_tensor_get_i64(keys, e));
		int64_t		ve;
		const OnnxTensor *vals = map_value(m, e, &ve);

		for (; p >= 0; p = d->next[p])
		{
			int64_t		o = r * d->n + p;

			if (y->dtype == ONNX_DTYPE_STRING)
			{
				char	   *s = ml_strdup(ctx, ((char *const *) vals->data)[ve]);

				if (s == NULL)
					return false;
				onnx_kernel_free(ctx, ((char **) y->data)[o]);
				((char **) y->data)[o] = s;
			}
			else if (onnx_dtype_is_float(y->dtype))
				onnx_tensor_set_f64(y, o, onnx_tensor_get_f64(vals, ve));
			else
				onnx_tensor_set_i64(y, o, onnx_tensor_get_i64(vals, ve));
		}
	}
	return true;
}

static bool
dict_ok(const DictVec *d, const OnnxValue *m, OnnxDType *vt)
{
	return map_ok(m, vt) && (d->str ? m->tensor.dtype == ONNX_DTYPE_STRING : m->tensor.dtype != ONNX_DTYPE_STRING);
}

static OnnxStatus
run_dict_vectorizer(OnnxKernelCtx *ctx)
{
	const DictVec *d = ctx->node->prepared;
	const OnnxValue *in = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	bool		seq = in && in->kind == ONNX_VALUE_SEQUENCE;
	int64_t		N = seq ? in->n_items : 1,
				dims[2];
	OnnxDType	vt = ONNX_DTYPE_FLOAT;
	OnnxTensor *y;

	if (d == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "DictVectorizer was not prepared");
	if (in == NULL || (!seq && !dict_ok(d, in, &vt)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"DictVectorizer needs a map (or a sequence of maps) with %s keys",
								d->str ? "string" : "int64");
	for (int64_t r = 0; r < N; r++)
	{
		const OnnxValue *m = seq ? &in->items[r] : in;

		if (!dict_ok(d, m, &vt))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "DictVectorizer: item %lld is not a suitable map",
									(long long) r);
	}
	if (seq && N == 0)
		vt = in->elem_dtype != ONNX_DTYPE_UNDEFINED ? in->elem_dtype : ONNX_DTYPE_FLOAT;
	dims[0] = N;
	dims[1] = d->n;
	if ((y = onnx_out(ctx, 0, vt, 2, dims)) == NULL)
		return ctx->err->status;
	if (vt == ONNX_DTYPE_STRING)
		for (int64_t i = 0; i < y->count; i++)
			if ((((char **) y->data)[i] = ml_strdup(ctx, "")) == NULL)
				return ctx->err->status;
	for (int64_t r = 0; r < N; r++)
		if (!dict_row(ctx, d, seq ? &in->items[r] : in, y, r))
			return ctx->err->status;
	return ONNX_OK;
}

/* ---- CastMap ---- */

static int
cmp_i64_idx(const void *a, const void *b, void *keys)
{
	int64_t		x = ((const int64_t *) keys)[*(const int64_t *) a],
				y = ((const int64_t *) keys)[*(const int64_t *) b];

	return (x > y) - (x < y);
}

/* Insertion sort of n positions by key (maps are small; no qsort_r needed). */
static void
sort_by_key(int64_t *pos, int64_t n, const int64_t *keys)
{
	for (int64_t i = 1; i < n; i++)
	{
		int64_t		p = pos[i],
					j = i;

		while (j > 0 && cmp_i64_idx(&pos[j - 1], &p, (void *) keys) > 0)
		{
			pos[j] = pos[j - 1];
			j--;
		}
		pos[j] = p;
	}
}

/* Element e of the map's values cast to the output at o; false with the error set. */
static bool
castmap_put(OnnxKernelCtx *ctx, const OnnxValue *m, int64_t me, OnnxTensor *y, int64_t o)
{
	int64_t		e;
	const OnnxTensor *vals = map_value(m, me, &e);
	bool		from_str = vals->dtype == ONNX_DTYPE_STRING;

	switch (y->dtype)
	{
		case ONNX_DTYPE_STRING:
			{
				char		buf[64];
				const char *s;

				if (from_str)
					s = ((char *const *) vals->data)[e];
				else
				{
					snprintf(buf, sizeof(buf), "%f", (double) (float) onnx_tensor_get_f64(vals, e));
					s = buf;
				}
				return (((char **) y->data)[o] = ml_strdup(ctx, s)) != NULL;
			}
		case ONNX_DTYPE_INT64:
			if (from_str)
			{
				const char *s = ((char *const *) vals->data)[e];
				char	   *end;
				long long	v;

				errno = 0;
				v = strtoll(s ? s : "", &end, 10);
				if (end == s || errno)
				{
					onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CastMap: \"%s\" is not an integer", s ? s : "");
					return false;
				}
				((int64_t *) y->data)[o] = v;
			}
			else
			{
				float		v = (float) onnx_tensor_get_f64(vals, e);

				if (!(v >= -9.2233720368547758e18f && v < 9.2233720368547758e18f))
				{
					onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CastMap: %g does not fit int64", (double) v);
					return false;
				}
				((int64_t *) y->data)[o] = (int64_t) v;
			}
			return true;
		default:
			if (from_str)
			{
				const char *s = ((char *const *) vals->data)[e];
				char	   *end;
				float		v;

				v = strtof(s ? s : "", &end);
				if (end == s)
				{
					onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CastMap: \"%s\" is not a number", s ? s : "");
					return false;
				}
				((float *) y->data)[o] = v;
			}
			else
				((float *) y->data)[o] = (float) onnx_tensor_get_f64(vals, e);
			return true;
	}
}

static OnnxStatus
run_cast_map(OnnxKernelCtx *ctx)
{
	const OnnxValue *m = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	const char *to = onnx_attr_string(ctx->node, "cast_to", "TO_FLOAT");
	const char *form = onnx_attr_string(ctx->node, "map_form", "DENSE");
	int64_t		max_map = onnx_attr_int(ctx->node, "max_map", 1);
	OnnxDType	odt = strcmp(to, "TO_FLOAT") == 0 ? ONNX_DTYPE_FLOAT : strcmp(to, "TO_INT64") == 0 ? ONNX_DTYPE_INT64 :
		strcmp(to, "TO_STRING") == 0 ? ONNX_DTYPE_STRING : ONNX_DTYPE_UNDEFINED;
	bool		sparse = strcmp(form, "SPARSE") == 0;
	const OnnxTensor *keys;
	OnnxDType	vt;
	int64_t		n,
				dims[2],
			   *pos;
	OnnxTensor *y;

	if (odt == ONNX_DTYPE_UNDEFINED || (!sparse && strcmp(form, "DENSE") != 0) || (sparse && max_map < 0))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CastMap: unknown cast_to \"%s\" or map_form \"%s\"", to, form);
	if (!map_ok(m, &vt) || m->tensor.dtype != ONNX_DTYPE_INT64 || (vt != ONNX_DTYPE_STRING && vt != ONNX_DTYPE_FLOAT))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CastMap needs a map from int64 to string or float");
	keys = &m->tensor;
	n = keys->count;
	dims[0] = 1;
	dims[1] = sparse ? max_map : n;
	if ((pos = onnx_kernel_scratch(ctx, (size_t) n, sizeof(int64_t))) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < n; i++)
		pos[i] = i;
	sort_by_key(pos, n, keys->data);
	if (sparse && n > 0 && ((const int64_t *) keys->data)[pos[0]] < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CastMap: negative keys are not allowed in SPARSE form");
	if ((y = onnx_out(ctx, 0, odt, 2, dims)) == NULL)
		return ctx->err->status;
	if (!sparse)
	{
		for (int64_t i = 0; i < n; i++)
			if (!castmap_put(ctx, m, pos[i], y, i))
				return ctx->err->status;
	}
	else
	{
		int64_t		k = 0;

		for (int64_t o = 0; o < max_map; o++)
		{
			while (k < n && ((const int64_t *) keys->data)[pos[k]] < o)
				k++;
			if (k < n && ((const int64_t *) keys->data)[pos[k]] == o)
			{
				if (!castmap_put(ctx, m, pos[k], y, o))
					return ctx->err->status;
			}
			else if (odt == ONNX_DTYPE_STRING)
			{
				/* onnxruntime's pad value for strings */
				if ((((char **) y->data)[o] = ml_strdup(ctx, "0.f")) == NULL)
					return ctx->err->status;
			}
		}
	}
	return ONNX_OK;
}

#define BIN_TYPES (ONNX_T(ONNX_DTYPE_FLOAT) | ONNX_T(ONNX_DTYPE_DOUBLE) | ONNX_T(ONNX_DTYPE_INT64) | ONNX_T(ONNX_DTYPE_INT32))
#define AFE_TYPES (BIN_TYPES | ONNX_T(ONNX_DTYPE_STRING))

const OnnxOpDef onnx_ops_ml_features[] = {
	ONNX_OP("ai.onnx.ml", "Binarizer", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = BIN_TYPES, ONNX_OUT_LIKE_INPUT0,
		.run = run_binarizer),
	ONNX_OP("ai.onnx.ml", "ArrayFeatureExtractor", 1, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1),
		.input0_types = AFE_TYPES, .out_type = ONNX_OUT_SAME, .run = run_array_feature_extractor),
	ONNX_OP("ai.onnx.ml", "FeatureVectorizer", 1, ONNX_INPUTS(1, -1), ONNX_OUTPUTS(1, 1),
		.input0_types = BIN_TYPES, .out_type = ONNX_OUT_UNKNOWN, .run = run_feature_vectorizer),
	ONNX_OP("ai.onnx.ml", "DictVectorizer", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_UNKNOWN, .run = run_dict_vectorizer,
		.prepare = prepare_dict_vectorizer),
	ONNX_OP("ai.onnx.ml", "CastMap", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_UNKNOWN, .run = run_cast_map),
	{0}
};
