/*-------------------------------------------------------------------------
 *
 * ml_linear.c
 *	  ai.onnx.ml LinearClassifier, LinearRegressor, Normalizer, ZipMap,
 *	  and the preprocessing of pipelines: Scaler, Imputer, OneHotEncoder.
 *
 *	  LinearClassifier: X (N, F), coefficients (K * F), intercepts (K)
 *	    -> label (N), scores (N, K) (K = 1 with two classes: [-s, s]).
 *	  LinearRegressor: X (N, F) -> Y (N, targets).
 *	  Normalizer: X (N, F) rows scaled to unit MAX, L1 or L2 norm.
 *	  Scaler, Imputer, OneHotEncoder: as onnxruntime computes them.
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

	if (nc != K * F)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"coefficients must have %lld values for X with %lld features",
								(long long) (K * F), (long long) F);
	if (ni != K)
		ni = 0;					/* onnxruntime uses intercepts only when there is one per row */
	for (int64_t r = 0; r < N; r++)
		for (int64_t k = 0; k < K; k++)
		{
			double		acc = ni ? icpt[k] : 0;

			/* inputs are taken as float, as onnxruntime casts them */
			for (int64_t j = 0; j < F; j++)
				acc += (double) (float) onnx_tensor_get_f64(x, r * F + j) * coef[k * F + j];
			s[r * K + k] = acc;
		}
	*Np = N;
	return ONNX_OK;
}

/*
 * LinearClassifier as onnxruntime computes it: K = number of intercepts
 * (else coefficients / F) score rows; the label is the argmax of the raw
 * scores, or for K = 1 the sign of the score (labels[1] / labels[0] with
 * two labels, else 1 / 0).  Scores: K > 1 transformed per row; K = 1 with
 * two labels expanded to [1 - p, p], p = logistic(s) under LOGISTIC and s
 * otherwise; PROBIT alone applied to a single score.
 */
static OnnxStatus
run_linear_classifier(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int			post = ml_post_transform(ctx->node);
	MlLabels	labels;
	const float *coef,
			   *icpt;
	int			nc = onnx_attr_floats(ctx->node, "coefficients", &coef);
	int			ni = onnx_attr_floats(ctx->node, "intercepts", &icpt);
	int64_t		F,
				K,
				N,
				S,
				sdims[2];
	double	   *s;
	float	   *row;
	OnnxTensor *ylab,
			   *ysc = NULL;
	OnnxStatus	st;
	bool		add_second;

	ml_labels(ctx->node, "classlabels_ints", "classlabels_strings", &labels);
	if (x == NULL || x->rank > 2 || x->rank < 1 || post < 0 || labels.n < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be (N, F), with class labels and a known post_transform");
	F = x->dims[x->rank - 1];
	K = ni ? ni : (F ? nc / F : 0);
	if (K < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "coefficients do not fit %lld features", (long long) F);
	add_second = K == 1 && labels.n == 2;
	S = add_second ? 2 : K;
	N = x->rank == 2 ? x->dims[0] : 1;
	if ((s = onnx_kernel_scratch(ctx, (size_t) (N * K), sizeof(double))) == NULL ||
		(row = onnx_kernel_scratch(ctx, (size_t) (S + 2), sizeof(float))) == NULL)
		return ctx->err->status;
	if ((st = linear_scores(ctx, x, K, s, &N)) != ONNX_OK)
		return st;
	sdims[0] = N;
	sdims[1] = S;
	if ((ylab = ml_label_out(ctx, &labels, N)) == NULL ||
		(ctx->n_outputs > 1 && (ysc = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, 2, sdims)) == NULL))
		return ctx->err->status;
	for (int64_t r = 0; r < N; r++)
	{
		const double *sr = &s[r * K];
		bool		ok = true;

		for (int64_t k = 0; k < K; k++)
			row[k] = (float) sr[k];
		if (K == 1)
		{
			bool		pos = row[0] > 0;

			if (labels.n == 2)
				ok = ml_set_label(ctx, ylab, &labels, r, pos ? 1 : 0);
			else if (labels.strings)
			{
				char	   *d = onnx_kernel_alloc(ctx, 2);

				ok = d != NULL;
				if (d)
				{
					d[0] = pos ? '1' : '0';
					d[1] = 0;
					((char **) ylab->data)[r] = d;
				}
			}
			else
				((int64_t *) ylab->data)[r] = pos ? 1 : 0;
			if (post == ML_POST_PROBIT)
			{
				row[0] = ml_probit(row[0]);
				row[1] = 0;
			}
			else if (add_second)
			{
				row[1] = post == ML_POST_LOGISTIC ? ml_logistic(row[0]) : row[0];
				row[0] = 1 - row[1];
			}
		}
		else
		{
			int64_t		best = 0;

			for (int64_t k = 1; k < K; k++)
				if (row[k] > row[best])
					best = k;
			ok = ml_set_label(ctx, ylab, &labels, r, best);
			ml_apply_post_f(post, row, K);
		}
		if (!ok)
			return ctx->err->status;
		if (ysc)
			memcpy((float *) ysc->data + r * S, row, sizeof(float) * (size_t) S);
	}
	return ONNX_OK;
}

/*
 * LinearRegressor as onnxruntime computes it: intercepts only when there
 * is one per target; transforms per row for several targets, PROBIT alone
 * for one.
 */
static OnnxStatus
run_linear_regressor(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		T = onnx_attr_int(ctx->node, "targets", 1);
	int			post = ml_post_transform(ctx->node);
	int64_t		N,
				dims[2];
	double	   *s;
	float	   *row;
	OnnxTensor *y;
	OnnxStatus	st;

	if (x == NULL || x->rank > 2 || post < 0 || T < 1 || T > (1 << 20))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be (N, F), with targets >= 1 and a known post_transform");
	N = x->rank == 2 ? x->dims[0] : 1;
	if ((s = onnx_kernel_scratch(ctx, (size_t) (N * T), sizeof(double))) == NULL ||
		(row = onnx_kernel_scratch(ctx, (size_t) T, sizeof(float))) == NULL)
		return ctx->err->status;
	if ((st = linear_scores(ctx, x, T, s, &N)) != ONNX_OK)
		return st;
	dims[0] = N;
	dims[1] = T;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 2, dims)) == NULL)
		return ctx->err->status;
	for (int64_t r = 0; r < N; r++)
	{
		for (int64_t t = 0; t < T; t++)
			row[t] = (float) s[r * T + t];
		if (T > 1)
			ml_apply_post_f(post, row, T);
		else if (post == ML_POST_PROBIT)
			row[0] = ml_probit(row[0]);
		memcpy((float *) y->data + r * T, row, sizeof(float) * (size_t) T);
	}
	return ONNX_OK;
}

/*
 * Normalizer as onnxruntime computes it, in float: along axis 1 (a 1-D X
 * is one vector); MAX divides by the largest value, L1 by the sum of
 * absolute values, L2 gives sign(x) * sqrt(x^2 / sum x^2); a zero norm
 * leaves the values as they are.
 */
static OnnxStatus
run_normalizer(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const char *norm = onnx_attr_string(ctx->node, "norm", "MAX");
	int			kind = strcmp(norm, "MAX") == 0 ? 0 : strcmp(norm, "L1") == 0 ? 1 : strcmp(norm, "L2") == 0 ? 2 : -1;
	int64_t		stride,
				inc,
				loops;
	float	   *y;
	OnnxTensor *yt;

	if (x == NULL || x->rank < 1 || kind < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Normalizer needs X and norm MAX, L1 or L2");
	if ((yt = onnx_out_like(ctx, 0, ONNX_DTYPE_FLOAT, x)) == NULL)
		return ctx->err->status;
	y = yt->data;
	stride = x->rank == 1 ? x->dims[0] : x->dims[1];
	inc = 1;
	for (int d = 2; d < x->rank; d++)
		inc *= x->dims[d];
	loops = stride ? x->count / stride : 0;
	for (int64_t n = 0; n < loops; n++)
	{
		int64_t		off = (n % inc) + (n / inc) * (stride * inc);
		float		z = kind == 0 ? -FLT_MAX : 0.0f;

		for (int64_t s = 0, i = off; s < stride; s++, i += inc)
		{
			float		v = (float) onnx_tensor_get_f64(x, i);

			if (kind == 0)
				z = v > z ? v : z;
			else if (kind == 1)
				z += fabsf(v);
			else
			{
				/* x * x in the input's type, then float */
				float		sq = x->dtype == ONNX_DTYPE_DOUBLE ? (float) (onnx_tensor_get_f64(x, i) * onnx_tensor_get_f64(x, i)) :
					x->dtype == ONNX_DTYPE_FLOAT ? v * v :
					(float) (onnx_tensor_get_i64(x, i) * onnx_tensor_get_i64(x, i));

				y[i] = sq;
				z += sq;
			}
		}
		for (int64_t s = 0, i = off; s < stride; s++, i += inc)
		{
			float		v = (float) onnx_tensor_get_f64(x, i);

			if (z == 0)
				y[i] = v;
			else if (kind == 2)
				y[i] = onnx_tensor_get_f64(x, i) < 0 ? -sqrtf(y[i] / z) : sqrtf(y[i] / z);
			else
				y[i] = v / z;
		}
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

/*
 * Scaler: Y = (X - offset) * scale, offset and scale of length 1 or
 * dims[1] (onnxruntime's stride: the last dimension of a 1-D X, else
 * dimension 1); in float except for double inputs.
 */
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

	if (x == NULL || x->rank < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Scaler input is missing or a scalar");
	F = x->rank == 1 ? x->dims[0] : x->dims[1];
	if ((noff > 1 && noff != F) || (nsc > 1 && nsc != F))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "offset and scale must have 1 or %lld values", (long long) F);
	if ((y = onnx_out_like(ctx, 0, ONNX_DTYPE_FLOAT, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		int64_t		j = F ? i % F : 0;
		float		o = noff ? off[noff == 1 ? 0 : j] : 0.0f;
		float		k = nsc ? sc[nsc == 1 ? 0 : j] : 1.0f;

		if (x->dtype == ONNX_DTYPE_DOUBLE)
			((float *) y->data)[i] = (float) ((((const double *) x->data)[i] - o) * k);
		else
			((float *) y->data)[i] = ((float) onnx_tensor_get_f64(x, i) - o) * k;
	}
	return ONNX_OK;
}

/*
 * Imputer: values equal to replaced_value (NaN matches NaN) -> imputed
 * value of their column when there is one per column (onnxruntime's
 * stride: dims[1], or dims[0] of a 1-D X), else the first.
 */
static OnnxStatus
run_imputer(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const float *fv;
	const int64_t *iv;
	int			nf = onnx_attr_floats(ctx->node, "imputed_value_floats", &fv);
	int			ni = onnx_attr_ints(ctx->node, "imputed_value_int64s", &iv);
	float		rf = onnx_attr_float(ctx->node, "replaced_value_float", 0.0f);
	int64_t		ri = onnx_attr_int(ctx->node, "replaced_value_int64", 0);
	bool		flt;
	int64_t		F;
	OnnxTensor *y;

	if (x == NULL || x->rank < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Imputer input is missing or a scalar");
	flt = onnx_dtype_is_float(x->dtype);
	F = x->rank == 1 ? x->dims[0] : x->dims[1];
	if (flt ? nf < 1 : ni < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Imputer has no imputed values for %s input",
								onnx_dtype_name(x->dtype));
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		int64_t		j = F ? i % F : 0;

		if (flt)
		{
			double		v = onnx_tensor_get_f64(x, i);
			bool		hit = isnan(rf) ? isnan(v) : v == rf;

			onnx_tensor_set_f64(y, i, hit ? fv[nf == F ? j : 0] : v);
		}
		else
		{
			int64_t		v = onnx_tensor_get_i64(x, i);

			onnx_tensor_set_i64(y, i, v == ri ? iv[ni == F ? j : 0] : v);
		}
	}
	return ONNX_OK;
}

/*
 * OneHotEncoder: X (...) -> Y (..., categories) float; numbers are cast
 * to int64 (truncated) and looked up in cats_int64s, strings in
 * cats_strings (hashed at load; a repeated category counts at its last
 * position, as in onnxruntime).  Unknown: zeros, or an error with zeros=0.
 */
typedef struct OneHot
{
	MlHash		h;
	int64_t		n;
	bool		str;
} OneHot;

static OnnxStatus
prepare_onehot_encoder(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	OneHot	   *o = onnx_arena_alloc(arena, sizeof(OneHot));
	const int64_t *cats;
	int			nci = onnx_attr_ints(node, "cats_int64s", &cats);
	const OnnxAttr *cs = onnx_attr(node, "cats_strings");

	if (o == NULL)
		return ONNX_ERROR_OOM(err);
	o->str = nci == 0;
	o->n = nci ? nci : (cs && cs->type == ONNX_ATTR_STRINGS ? cs->n : 0);
	if (o->n == 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "OneHotEncoder needs cats_int64s or cats_strings");
	/* int64 keys as their uint64 words (the hash copies them) */
	if (!ml_hash_build(&o->h, arena, o->n, o->str ? cs->strings : NULL,
					   o->str ? NULL : (const uint64_t *) cats, true))
		return ONNX_ERROR_OOM(err);
	node->prepared = o;
	return ONNX_OK;
}

static OnnxStatus
run_onehot_encoder(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OneHot *o = ctx->node->prepared;
	bool		zeros = onnx_attr_int(ctx->node, "zeros", 1) != 0;
	int64_t		dims[ONNX_MAX_RANK];
	OnnxTensor *y;

	if (o == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "OneHotEncoder was not prepared");
	if (x == NULL || x->rank >= ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "OneHotEncoder needs an input");
	if ((x->dtype == ONNX_DTYPE_STRING) != o->str)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input type does not match the categories");
	memcpy(dims, x->dims, sizeof(int64_t) * x->rank);
	dims[x->rank] = o->n;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, x->rank + 1, dims)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		int64_t		hit;

		if (o->str)
			hit = ml_hash_find_str(&o->h, ((char *const *) x->data)[i]);
		else
		{
			double		v = onnx_tensor_get_f64(x, i);

			if (onnx_dtype_is_float(x->dtype) && !(v > -9.2233720368547758e18 && v < 9.2233720368547758e18))
				hit = -1;		/* NaN or out of int64: no category */
			else
				hit = ml_hash_find_word(&o->h, (uint64_t) (onnx_dtype_is_float(x->dtype) ? (int64_t) v :
																  onnx_tensor_get_i64(x, i)));
		}
		if (hit >= 0)
			((float *) y->data)[i * o->n + hit] = 1.0f;
		else if (!zeros)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "value %lld of the input is not a known category",
									(long long) i);
	}
	return ONNX_OK;
}

#define ML_TYPES (ONNX_TS_FLOAT | ONNX_T(ONNX_DTYPE_INT64) | ONNX_T(ONNX_DTYPE_INT32))

const OnnxOpDef onnx_ops_ml_linear[] = {
	ONNX_OP("ai.onnx.ml", "LinearClassifier", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 2),
		.input0_types = ML_TYPES, .out_type = ONNX_OUT_UNKNOWN, .run = run_linear_classifier),
	ONNX_OP("ai.onnx.ml", "LinearRegressor", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ML_TYPES, .out_type = ONNX_OUT_UNKNOWN, .run = run_linear_regressor),
	ONNX_OP("ai.onnx.ml", "Normalizer", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ML_TYPES, .out_type = ONNX_OUT_UNKNOWN, .run = run_normalizer),
	ONNX_OP("ai.onnx.ml", "Scaler", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ML_TYPES,
		.out_type = ONNX_OUT_UNKNOWN, .run = run_scaler),
	ONNX_OP("ai.onnx.ml", "Imputer", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ML_TYPES,
		.out_type = ONNX_OUT_SAME, .run = run_imputer),
	ONNX_OP("ai.onnx.ml", "OneHotEncoder", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_UNKNOWN, .run = run_onehot_encoder,
		.prepare = prepare_onehot_encoder),
	ONNX_OP("ai.onnx.ml", "ZipMap", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_FLOAT), .out_type = ONNX_OUT_UNKNOWN, .run = run_zipmap),
	{0}
};
