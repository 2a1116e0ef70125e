/*-------------------------------------------------------------------------
 *
 * ops_linear_ml.c
 *	  ai.onnx.ml LinearClassifier, LinearRegressor, Normalizer, ZipMap,
 *	  and the preprocessing of pipelines: Scaler, Imputer, OneHotEncoder.
 *
 *	  LinearClassifier: X (N, F), coefficients (K * F), intercepts (K)
 *	    -> label (N), scores (N, K) (K = 1 with two classes: [-s, s]).
 *	  LinearRegressor: X (N, F) -> Y (N, targets).
 *	  Normalizer: X (N, F) rows scaled to unit MAX, L1 or L2 norm.
 *	  ZipMap: X (N, C) -> a sequence of N maps label -> probability.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "ml_common.h"

/* scores[r][k] = X[r] . coef[k] + intercept[k] into s (N x K). */
static OnnxStatus
linear_scores(OnnxKernelCtx *ctx, const OnnxTensor *x, int64_t K, double *s, int64_t *Np)
{
	const float *coef,
			   *icpt;
	int			nc = onnx_attr_floats(ctx->node, "coefficients", &coef);
	int			ni = onnx_attr_floats(ctx->node, "intercepts", &icpt);
	int64_t		N = x->rank == 2 ? x->dims[0] : 1;
	int64_t		F = x->rank >= 1 ? x->dims[x->rank - 1] : 1;

	if (nc != K * F || (ni && ni != K))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"coefficients must have %lld values and intercepts %lld for X with %lld features",
								(long long) (K * F), (long long) K, (long long) F);
	for (int64_t r = 0; r < N; r++)
		for (int64_t k = 0; k < K; k++)
		{
			double		acc = ni ? icpt[k] : 0;

			for (int64_t j = 0; j < F; j++)
				acc += onnx_tensor_get_f64(x, r * F + j) * coef[k * F + j];
			s[r * K + k] = acc;
		}
	*Np = N;
	return ONNX_OK;
}

static OnnxStatus
run_linear_classifier(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int			post = ml_post_transform(ctx->node);
	MlLabels	labels;
	const float *coef;
	int			nc = onnx_attr_floats(ctx->node, "coefficients", &coef);
	int64_t		F,
				K,
				N,
				S,
				sdims[2];
	double	   *s;
	OnnxTensor *ylab,
			   *ysc = NULL;
	OnnxStatus	st;

	ml_labels(ctx->node, "classlabels_ints", "classlabels_strings", &labels);
	if (x == NULL || x->rank > 2 || post < 0 || labels.n < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be (N, F), with class labels and a known post_transform");
	F = x->rank >= 1 ? x->dims[x->rank - 1] : 1;
	K = F ? nc / F : 0;
	if (K < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "coefficients do not fit %lld features", (long long) F);
	S = (K == 1 && labels.n == 2) ? 2 : K;
	s = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) ((x->rank == 2 ? x->dims[0] : 1) * S + 1));
	if (s == NULL)
		return ctx->err->status;
	if ((st = linear_scores(ctx, x, K, s, &N)) != ONNX_OK)
	{
		onnx_kernel_free(ctx, s);
		return st;
	}
	sdims[0] = N;
	sdims[1] = S;
	if ((ylab = ml_label_out(ctx, &labels, N)) == NULL ||
		(ctx->n_outputs > 1 && (ysc = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, 2, sdims)) == NULL))
	{
		onnx_kernel_free(ctx, s);
		return ctx->err->status;
	}
	/* expand single scores to [-s, s], from the last row backwards */
	if (S == 2 && K == 1)
		for (int64_t r = N - 1; r >= 0; r--)
		{
			double		v = s[r];

			s[r * 2] = -v;
			s[r * 2 + 1] = v;
		}
	for (int64_t r = 0; r < N; r++)
	{
		double	   *row = &s[r * S];
		int64_t		best = 0;

		ml_apply_post(post, row, S);
		if (S > 1)
		{
			for (int64_t k = 1; k < S; k++)
				if (row[k] > row[best])
					best = k;
			if (!ml_set_label(ctx, ylab, &labels, r, best))
			{
				onnx_kernel_free(ctx, s);
				return ctx->err->status;
			}
		}
		else
		{
			/* one class, one score: the class or 0 by threshold */
			double		thr = post == ML_POST_NONE ? 0 : 0.5;

			if (labels.strings)
			{
				if (!ml_set_label(ctx, ylab, &labels, r, row[0] >= thr ? 0 : -1))
				{
					onnx_kernel_free(ctx, s);
					return ctx->err->status;
				}
			}
			else
				((int64_t *) ylab->data)[r] = row[0] >= thr ? labels.ints[0] : 0;
		}
		if (ysc)
			for (int64_t k = 0; k < S; k++)
				((float *) ysc->data)[r * S + k] = (float) row[k];
	}
	onnx_kernel_free(ctx, s);
	return ONNX_OK;
}

static OnnxStatus
run_linear_regressor(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		T = onnx_attr_int(ctx->node, "targets", 1);
	int			post = ml_post_transform(ctx->node);
	int64_t		N,
				dims[2];
	double	   *s;
	OnnxTensor *y;
	OnnxStatus	st;

	if (x == NULL || x->rank > 2 || post < 0 || T < 1 || T > (1 << 20))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be (N, F), with targets >= 1 and a known post_transform");
	s = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) ((x->rank == 2 ? x->dims[0] : 1) * T + 1));
	if (s == NULL)
		return ctx->err->status;
	if ((st = linear_scores(ctx, x, T, s, &N)) != ONNX_OK)
	{
		onnx_kernel_free(ctx, s);
		return st;
	}
	dims[0] = N;
	dims[1] = T;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 2, dims)) == NULL)
	{
		onnx_kernel_free(ctx, s);
		return ctx->err->status;
	}
	for (int64_t r = 0; r < N; r++)
	{
		ml_apply_post(post, &s[r * T], T);
		for (int64_t t = 0; t < T; t++)
			((float *) y->data)[r * T + t] = (float) s[r * T + t];
	}
	onnx_kernel_free(ctx, s);
	return ONNX_OK;
}

static OnnxStatus
run_normalizer(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const char *norm = onnx_attr_string(ctx->node, "norm", "MAX");
	int			kind = strcmp(norm, "MAX") == 0 ? 0 : strcmp(norm, "L1") == 0 ? 1 : strcmp(norm, "L2") == 0 ? 2 : -1;
	int64_t		N,
				F;
	OnnxTensor *y;

	if (x == NULL || x->rank > 2 || kind < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be (N, F) and norm MAX, L1 or L2");
	N = x->rank == 2 ? x->dims[0] : 1;
	F = x->rank >= 1 ? x->dims[x->rank - 1] : 1;
	if ((y = onnx_out_like(ctx, 0, ONNX_DTYPE_FLOAT, x)) == NULL)
		return ctx->err->status;
	for (int64_t r = 0; r < N; r++)
	{
		double		z = 0;

		for (int64_t j = 0; j < F; j++)
		{
			double		v = onnx_tensor_get_f64(x, r * F + j);

			z = kind == 0 ? (v > z || j == 0 ? v : z) : kind == 1 ? z + fabs(v) : z + v * v;
		}
		if (kind == 2)
			z = sqrt(z);
		for (int64_t j = 0; j < F; j++)
			((float *) y->data)[r * F + j] = (float) (z != 0 ? onnx_tensor_get_f64(x, r * F + j) / z : 0);
	}
	return ONNX_OK;
}

/* ZipMap: X (N, C) float -> sequence of N maps (label -> probability). */
static OnnxStatus
run_zipmap(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxAllocator *a = onnx_kernel_allocator(ctx);
	MlLabels	labels;
	OnnxValue	seq;
	OnnxError  *err = ctx->err;
	int64_t		N,
				C;

	ml_labels(ctx->node, "classlabels_int64s", "classlabels_strings", &labels);
	if (x == NULL || x->rank > 2 || labels.n < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "ZipMap needs X (N, C) and class labels");
	N = x->rank == 2 ? x->dims[0] : 1;
	C = x->rank >= 1 ? x->dims[x->rank - 1] : 1;
	if (C != labels.n)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X has %lld columns for %d labels", (long long) C, labels.n);
	memset(&seq, 0, sizeof(seq));
	seq.kind = ONNX_VALUE_SEQUENCE;
	seq.elem_dtype = ONNX_DTYPE_FLOAT;
	seq.items = a->alloc(a->ctx, sizeof(OnnxValue) * (size_t) (N + 1));
	if (seq.items == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_OUT_OF_MEMORY, "out of memory");
	memset(seq.items, 0, sizeof(OnnxValue) * (size_t) (N + 1));
	for (int64_t r = 0; r < N; r++)
	{
		OnnxValue  *m = &seq.items[r];
		OnnxTensor *vals;

		seq.n_items = (int) r + 1;
		m->kind = ONNX_VALUE_MAP;
		m->items = a->alloc(a->ctx, sizeof(OnnxValue));
		if (m->items == NULL ||
			onnx_tensor_set_shape(&m->tensor, labels.strings ? ONNX_DTYPE_STRING : ONNX_DTYPE_INT64, 1, &C, err) != ONNX_OK ||
			onnx_tensor_alloc_data(&m->tensor, a, err) != ONNX_OK)
			goto fail;
		memset(m->items, 0, sizeof(OnnxValue));
		m->n_items = 1;
		m->items[0].kind = ONNX_VALUE_TENSOR;
		vals = &m->items[0].tensor;
		if (onnx_tensor_set_shape(vals, ONNX_DTYPE_FLOAT, 1, &C, err) != ONNX_OK ||
			onnx_tensor_alloc_data(vals, a, err) != ONNX_OK)
			goto fail;
		for (int64_t k = 0; k < C; k++)
		{
			if (labels.strings)
			{
				size_t		n = strlen(labels.strings[k]);
				char	   *d = a->alloc(a->ctx, n + 1);

				if (d == NULL)
					goto fail;
				memcpy(d, labels.strings[k], n + 1);
				((char **) m->tensor.data)[k] = d;
			}
			else
				((int64_t *) m->tensor.data)[k] = labels.ints[k];
			((float *) vals->data)[k] = (float) onnx_tensor_get_f64(x, r * C + k);
		}
	}
	return onnx_out_value(ctx, 0, &seq);
fail:
	onnx_value_release(a, &seq);
	return onnx_kernel_fail(ctx, ONNX_ERR_OUT_OF_MEMORY, "out of memory building ZipMap's maps");
}

/* Scaler: Y = (X - offset) * scale, offset/scale of length 1 or F. */
static OnnxStatus
run_scaler(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const float *off,
			   *sc;
	int			noff = onnx_attr_floats(ctx->node, "offset", &off);
	int			nsc = onnx_attr_floats(ctx->node, "scale", &sc);
	int64_t		F;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Scaler input is missing");
	F = x->rank >= 1 ? x->dims[x->rank - 1] : 1;
	if ((noff > 1 && noff != F) || (nsc > 1 && nsc != F))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "offset and scale must have 1 or %lld values", (long long) F);
	if ((y = onnx_out_like(ctx, 0, ONNX_DTYPE_FLOAT, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		int64_t		j = F ? i % F : 0;
		double		o = noff ? off[noff == 1 ? 0 : j] : 0;
		double		k = nsc ? sc[nsc == 1 ? 0 : j] : 1;

		((float *) y->data)[i] = (float) ((onnx_tensor_get_f64(x, i) - o) * k);
	}
	return ONNX_OK;
}

/* Imputer: values equal to replaced_value (NaN matches NaN) -> imputed value of their column. */
static OnnxStatus
run_imputer(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const float *fv;
	const int64_t *iv;
	int			nf = onnx_attr_floats(ctx->node, "imputed_value_floats", &fv);
	int			ni = onnx_attr_ints(ctx->node, "imputed_value_int64s", &iv);
	double		rf = onnx_attr_float(ctx->node, "replaced_value_float", 0.0f);
	int64_t		ri = onnx_attr_int(ctx->node, "replaced_value_int64", 0);
	int64_t		F;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Imputer input is missing");
	F = x->rank >= 1 ? x->dims[x->rank - 1] : 1;
	if (onnx_dtype_is_float(x->dtype) ? (nf != 1 && nf != F) : (ni != 1 && ni != F))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "imputed values must have 1 or %lld entries", (long long) F);
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		int64_t		j = F ? i % F : 0;

		if (onnx_dtype_is_float(x->dtype))
		{
			double		v = onnx_tensor_get_f64(x, i);
			bool		hit = isnan(rf) ? isnan(v) : v == rf;

			onnx_tensor_set_f64(y, i, hit ? fv[nf == 1 ? 0 : j] : v);
		}
		else
		{
			int64_t		v = onnx_tensor_get_i64(x, i);

			onnx_tensor_set_i64(y, i, v == ri ? iv[ni == 1 ? 0 : j] : v);
		}
	}
	return ONNX_OK;
}

/* OneHotEncoder: X (...) -> Y (..., categories) float; unknown: zeros, or an error with zeros=0. */
static OnnxStatus
run_onehot_encoder(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const int64_t *cats;
	int			nci = onnx_attr_ints(ctx->node, "cats_int64s", &cats);
	const OnnxAttr *cs = onnx_attr(ctx->node, "cats_strings");
	int			nc = nci ? nci : (cs && cs->type == ONNX_ATTR_STRINGS ? cs->n : 0);
	bool		zeros = onnx_attr_int(ctx->node, "zeros", 1) != 0;
	int64_t		dims[ONNX_MAX_RANK];
	OnnxTensor *y;

	if (x == NULL || nc == 0 || x->rank >= ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "OneHotEncoder needs an input and categories");
	if ((x->dtype == ONNX_DTYPE_STRING) != (nci == 0))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input type does not match the categories");
	memcpy(dims, x->dims, sizeof(int64_t) * x->rank);
	dims[x->rank] = nc;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, x->rank + 1, dims)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		int			hit = -1;

		for (int k = 0; k < nc && hit < 0; k++)
		{
			if (nci)
				hit = onnx_tensor_get_i64(x, i) == cats[k] ? k : -1;
			else
			{
				const char *v = ((char *const *) x->data)[i];

				hit = strcmp(v ? v : "", cs->strings[k]) == 0 ? k : -1;
			}
		}
		if (hit >= 0)
			((float *) y->data)[i * nc + hit] = 1.0f;
		else if (!zeros)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "value %lld of the input is not a known category",
									(long long) i);
	}
	return ONNX_OK;
}

#define ML_TYPES (ONNX_TS_FLOAT | ONNX_T(ONNX_DTYPE_INT64) | ONNX_T(ONNX_DTYPE_INT32))

const OnnxOpDef onnx_ops_linear_ml[] = {
	{"ai.onnx.ml", "LinearClassifier", 1, 1, 1, 1, 2, ML_TYPES, ONNX_OUT_UNKNOWN, NULL, NULL, run_linear_classifier},
	{"ai.onnx.ml", "LinearRegressor", 1, 1, 1, 1, 1, ML_TYPES, ONNX_OUT_UNKNOWN, NULL, NULL, run_linear_regressor},
	{"ai.onnx.ml", "Normalizer", 1, 1, 1, 1, 1, ML_TYPES, ONNX_OUT_UNKNOWN, NULL, NULL, run_normalizer},
	{"ai.onnx.ml", "Scaler", 1, 1, 1, 1, 1, ML_TYPES, ONNX_OUT_UNKNOWN, NULL, NULL, run_scaler},
	{"ai.onnx.ml", "Imputer", 1, 1, 1, 1, 1, ML_TYPES, ONNX_OUT_SAME, NULL, NULL, run_imputer},
	{"ai.onnx.ml", "OneHotEncoder", 1, 1, 1, 1, 1, ONNX_TS_ANY, ONNX_OUT_UNKNOWN, NULL, NULL, run_onehot_encoder},
	{"ai.onnx.ml", "ZipMap", 1, 1, 1, 1, 1, ONNX_T(ONNX_DTYPE_FLOAT), ONNX_OUT_UNKNOWN, NULL, NULL, run_zipmap},
	{0}
};
