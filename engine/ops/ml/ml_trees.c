/*-------------------------------------------------------------------------
 *
 * ml_trees.c
 *	  ai.onnx.ml TreeEnsembleClassifier, TreeEnsembleRegressor (opsets 1,
 *	  3) and TreeEnsemble (opset 5): the operators, their preparation at
 *	  load, and their table.  The design is in ml_trees.h.
 *
 *	  X (N, F) -> Regressor: Y (N, n_targets) float;
 *	              Classifier: label (N) int64 | string, scores (N, C) float;
 *	              TreeEnsemble: Y (N, n_targets) of X's type.
 *
 *-------------------------------------------------------------------------
 */
#include "ml_trees.h"

/* ---- operators ---- */

/* Base values: count and element i, from the attribute or the tensor form. */
static int64_t
base_values(const OnnxNode *nd, Vals *v)
{
	onnx_trees_vals_of(nd, "base_values", "base_values_as_tensor", v);
	return v->n;
}

static int
agg_of(const OnnxNode *nd, bool v5)
{
	if (v5)
	{
		int64_t		a = onnx_attr_int(nd, "aggregate_function", 1);

		return a == 0 ? AGG_AVERAGE : a == 1 ? AGG_SUM : a == 2 ? AGG_MIN : a == 3 ? AGG_MAX : -1;
	}
	else
	{
		const char *s = onnx_attr_string(nd, "aggregate_function", "SUM");

		return strcmp(s, "SUM") == 0 ? AGG_SUM : strcmp(s, "AVERAGE") == 0 ? AGG_AVERAGE :
			strcmp(s, "MIN") == 0 ? AGG_MIN : strcmp(s, "MAX") == 0 ? AGG_MAX : -1;
	}
}

static int
post_of(const OnnxNode *nd, bool v5)
{
	if (v5)
	{
		int64_t		p = onnx_attr_int(nd, "post_transform", 0);

		return p == 0 ? ML_POST_NONE : p == 1 ? ML_POST_SOFTMAX : p == 2 ? ML_POST_LOGISTIC :
			p == 3 ? ML_POST_SOFTMAX_ZERO : p == 4 ? ML_POST_PROBIT : -1;
	}
	return ml_post_transform(nd);
}

/* X as (N, F): rank 1 is one row. */
static bool
x_shape(const OnnxTensor *x, int64_t *N, int64_t *F)
{
	if (x == NULL || x->rank > 2 || x->rank < 1)
		return false;
	*N = x->rank == 2 ? x->dims[0] : 1;
	*F = x->rank == 2 ? x->dims[1] : x->dims[0];
	return true;
}

/*
 * Scratch for a run: acc (N x T doubles), has (N x T bytes, NULL when not
 * needed), out (2 * max(T, 2) floats).
 */
typedef struct Scratch
{
	double	   *acc;
	uint8_t    *has;
	float	   *out;
	void	   *block;
} Scratch;

static bool
scratch_get(OnnxKernelCtx *ctx, Scratch *s, int64_t N, int64_t T, bool need_has, int agg)
{
	size_t		nacc,
				bytes;
	int64_t		no = 2 * (T < 2 ? 2 : T);

	if (onnx_mul_overflow_size((size_t) N, (size_t) T, &nacc) ||
		nacc > (SIZE_MAX / 16) ||
		(bytes = nacc * sizeof(double) + (need_has ? nacc : 0) + sizeof(float) * (size_t) no + 16) == 0)
	{
		onnx_kernel_fail(ctx, ONNX_ERR_LIMIT, "tree ensemble output is too large");
		return false;
	}
	s->block = onnx_kernel_scratch(ctx, bytes, 1);
	if (s->block == NULL)
		return false;
	s->acc = s->block;
	s->out = (float *) (s->acc + nacc);
	s->has = need_has ? (uint8_t *) (s->out + no) : NULL;
	if (need_has)
		memset(s->has, 0, nacc);
	for (size_t i = 0; i < nacc; i++)
		s->acc[i] = agg == AGG_MIN ? INFINITY : agg == AGG_MAX ? -INFINITY : 0;
	return true;
}

/* Whether row r got a weight for target k. */
static inline bool
has_at(const Forest *f, const Scratch *s, int agg, int64_t r, int64_t k)
{
	if (agg == AGG_MIN || agg == AGG_MAX)
		return !isinf(s->acc[r * f->T + k]);
	if (s->has)
		return s->has[r * f->T + k] != 0;
	return f->has_target[k] != 0;
}

static OnnxStatus
run_regressor_common(OnnxKernelCtx *ctx, bool v5)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const Forest *f = ctx->node->prepared;
	int			agg = agg_of(ctx->node, v5);
	int			post = post_of(ctx->node, v5);
	Vals		bv;
	int64_t		nb = base_values(ctx->node, &bv);
	int64_t		N,
				F,
				T,
				dims[2];
	OnnxDType	odt;
	Scratch		s;
	OnnxTensor *y;
	OnnxStatus	st;
	bool		f32;

	if (f == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "tree ensemble was not prepared");
	if (!x_shape(x, &N, &F) || agg < 0 || post < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"X must be (N, F), with a known aggregate_function and post_transform");
	T = f->T;
	odt = v5 ? x->dtype : ONNX_DTYPE_FLOAT;
	f32 = x->dtype != ONNX_DTYPE_DOUBLE;
	if (!scratch_get(ctx, &s, N, T, T > 1 && !f->has_static && (agg == AGG_SUM || agg == AGG_AVERAGE), agg))
		return ctx->err->status;
	if ((st = onnx_trees_forest_eval(ctx, f, x, N, F, agg | (f32 ? AGG_F32 : 0), s.acc, s.has)) != ONNX_OK)
		return st;
	dims[0] = N;
	dims[1] = T;
	if ((y = onnx_out(ctx, 0, odt, 2, dims)) == NULL)
		return ctx->err->status;
	for (int64_t r = 0; r < N; r++)
	{
		double	   *a = &s.acc[r * T];
		float	   *o = s.out;

		if (T == 1)
		{
			/* onnxruntime's one-target path: base_values[0] when there is one, PROBIT only */
			double		v = has_at(f, &s, agg, r, 0) || agg == AGG_SUM || agg == AGG_AVERAGE ? a[0] : 0;

			if (agg == AGG_AVERAGE)
				v = rnd(f32, v / (double) f->n_trees);
			if (nb == 1)
				v = rnd(f32, v + rnd(f32, vals_get(&bv, 0)));
			o[0] = post == ML_POST_PROBIT ? ml_probit((float) v) : (float) v;
			if (odt == ONNX_DTYPE_DOUBLE)
				((double *) y->data)[r] = post == ML_POST_PROBIT ? o[0] : v;
			else
				onnx_tensor_set_f64(y, r, o[0]);
			continue;
		}
		for (int64_t k = 0; k < T; k++)
		{
			double		v = agg == AGG_MIN || agg == AGG_MAX ? (isinf(a[k]) ? 0 : a[k]) : a[k];

			if (agg == AGG_AVERAGE)
				v = rnd(f32, v / (double) f->n_trees);
			if (nb == T)
				v = rnd(f32, v + rnd(f32, vals_get(&bv, k)));
			a[k] = has_at(f, &s, agg, r, k) ? v : 0;
			o[k] = (float) a[k];
		}
		if (post == ML_POST_NONE && odt == ONNX_DTYPE_DOUBLE)
		{
			memcpy((double *) y->data + r * T, a, sizeof(double) * (size_t) T);
			continue;
		}
		ml_write_scores(post, o, T, -1);
		for (int64_t k = 0; k < T; k++)
			onnx_tensor_set_f64(y, r * T + k, o[k]);
	}
	return ONNX_OK;
}

static OnnxStatus run_tree_regressor(OnnxKernelCtx *ctx) { return run_regressor_common(ctx, false); }
static OnnxStatus run_tree_ensemble(OnnxKernelCtx *ctx) { return run_regressor_common(ctx, true); }

/*
 * The classifier's label and scores for one row, as onnxruntime decides
 * them (TreeAggregatorClassifier): returns the label index (or, for two
 * classes not in "binary" form, the label 1 or 0 as onnxruntime reports
 * it: index 1 or 0); *ncols: scores written to o.
 */
static int64_t
classify_row(const Forest *f, int post, double *a, bool *has, const Vals *bv, int64_t nb, float *o, int64_t *nw,
			 bool f32)
{
#define BV(k) rnd(f32, vals_get(bv, (k)))
	int64_t		C = f->T;

	if (C > 2)
	{
		int64_t		best = -1;
		double		bestw = 0;

		for (int64_t k = 0; k < nb && k < C; k++)
		{
			a[k] = has[k] ? rnd(f32, a[k] + BV(k)) : BV(k);
			has[k] = true;
		}
		for (int64_t k = 0; k < C; k++)
			if (has[k] && (best < 0 || a[k] > bestw))
			{
				best = k;
				bestw = a[k];
			}
		for (int64_t k = 0; k < C; k++)
			o[k] = has[k] ? (float) a[k] : 0;
		*nw = ml_write_scores(post, o, C, -1);
		return best;
	}
	if (C == 2)
	{
		int			add = -1;
		int64_t		n = 2;
		double		pos;
		int64_t		label;

		if (nb == 2)
		{
			if (has[1])
			{
				/* onnxruntime: class 1 gets base_values[1] + class 0's score */
				a[1] = rnd(f32, BV(1) + a[0]);
				a[0] = -a[1];
			}
			else
			{
				a[1] = rnd(f32, a[1] + BV(1));
				a[0] = rnd(f32, a[0] + BV(0));
			}
		}
		else if (nb == 1)
		{
			a[0] = rnd(f32, a[0] + BV(0));
			if (!has[1])
				n = 1;
		}
		else if (nb == 0)
		{
			add = 3;
			if (!has[1])
				n = 1;
		}
		pos = n == 2 && has[1] ? a[1] : (has[0] ? a[0] : 0);
		if (f->one_class_id)
		{
			if (f->all_positive)
			{
				add = pos > 0.5 ? 0 : 1;
				label = pos > 0.5 ? 1 : 0;
			}
			else
			{
				add = pos > 0 ? 2 : 3;
				label = pos > 0 ? 1 : 0;
			}
		}
		else
			label = pos > 0 ? 1 : 0;
		o[0] = has[0] ? (float) a[0] : 0;
		o[1] = has[1] ? (float) a[1] : 0;
		*nw = ml_write_scores(post, o, n, add);
		return label;
	}
	/* one class: onnxruntime's single-score path */
	{
		double		p = a[0];

		if (nb == 2)
		{
			p = rnd(f32, p + BV(1));
			o[0] = (float) -p;
			o[1] = (float) p;
			*nw = ml_write_scores(post, o, 2, -1);
		}
		else
		{
			if (nb == 1)
				p = rnd(f32, p + BV(0));
			o[0] = (float) p;
			*nw = ml_write_scores(post, o, 1, -1);
		}
		return p > 0 ? 1 : 0;
	}
#undef BV
}

static OnnxStatus
run_tree_classifier(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const Forest *f = ctx->node->prepared;
	int			post = ml_post_transform(ctx->node);
	MlLabels	labels;
	Vals		bv;
	int64_t		nb = base_values(ctx->node, &bv);
	int64_t		N,
				F,
				C,
				sdims[2];
	Scratch		s;
	bool	   *has;
	OnnxTensor *ylab,
			   *ysc = NULL;
	OnnxStatus	st;

	ml_labels(ctx->node, "classlabels_int64s", "classlabels_strings", &labels);
	if (f == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "tree ensemble was not prepared");
	if (!x_shape(x, &N, &F) || post < 0 || labels.n < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"X must be (N, F), with class labels and a known post_transform");
	C = labels.n;
	if (!scratch_get(ctx, &s, N, C, !f->has_static, AGG_SUM))
		return ctx->err->status;
	if ((has = onnx_kernel_scratch(ctx, (size_t) (C + 2), sizeof(bool))) == NULL)
		return ctx->err->status;
	if ((st = onnx_trees_forest_eval(ctx, f, x, N, F, AGG_SUM | (x->dtype != ONNX_DTYPE_DOUBLE ? AGG_F32 : 0), s.acc, s.has)) != ONNX_OK)
		return st;
	sdims[0] = N;
	sdims[1] = C;
	if ((ylab = ml_label_out(ctx, &labels, N)) == NULL ||
		(ctx->n_outputs > 1 && (ysc = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, 2, sdims)) == NULL))
		return ctx->err->status;
	for (int64_t r = 0; r < N; r++)
	{
		double		a[2];
		double	   *row = C > 2 ? &s.acc[r * C] : a;
		int64_t		nw = 0,
					k;

		for (int64_t c = 0; c < C; c++)
			has[c] = has_at(f, &s, AGG_SUM, r, c);
		if (C <= 2)
		{
			a[0] = s.acc[r * C];
			a[1] = C == 2 ? s.acc[r * C + 1] : 0;
			if (C == 1)
				has[1] = false;
		}
		k = classify_row(f, post, row, has, &bv, nb, s.out, &nw, x->dtype != ONNX_DTYPE_DOUBLE);
		if (!labels.strings && ((C == 2 && !f->one_class_id) || C == 1))
			((int64_t *) ylab->data)[r] = k;	/* onnxruntime reports 1 / 0 itself */
		else if (!ml_set_label(ctx, ylab, &labels, r, k))
			return ctx->err->status;
		if (ysc)
			for (int64_t c = 0; c < C; c++)
				((float *) ysc->data)[r * C + c] = c < nw ? s.out[c] : 0;
	}
	return ONNX_OK;
}

/* ---- load ---- */

static OnnxStatus
prepare_common(OnnxNode *node, OnnxArena *arena, OnnxError *err, int version)
{
	Forest	   *f = onnx_arena_alloc(arena, sizeof(Forest));
	Tmp			tmp = {arena->alloc, {0}, 0};
	Raw			r;
	int64_t		T;
	OnnxStatus	st;

	if (f == NULL)
		return onnx_trees_oom(err);
	memset(&r, 0, sizeof(r));
	if (version == 5)
	{
		T = onnx_attr_int(node, "n_targets", 1);
		st = onnx_trees_raw_v5(node, &r, &tmp, err);
	}
	else if (version == 1)
	{
		T = onnx_attr_int(node, "n_targets", 1);
		st = onnx_trees_raw_v3(node, "target", &r, &tmp, err);
	}
	else
	{
		MlLabels	l;

		ml_labels(node, "classlabels_int64s", "classlabels_strings", &l);
		T = l.n;
		st = onnx_trees_raw_v3(node, "class", &r, &tmp, err);
	}
	if (st == ONNX_OK && (T < 1 || T > (1 << 20)))
		st = onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "a tree ensemble needs 1 to 2^20 targets or classes");
	if (st == ONNX_OK)
		st = onnx_trees_layout(&r, T, f, arena, &tmp, err);
	onnx_trees_tmp_free(&tmp);
	if (st != ONNX_OK)
		return st;
	node->prepared = f;
	return ONNX_OK;
}

static OnnxStatus
prepare_regressor(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	return prepare_common(node, arena, err, 1);
}

static OnnxStatus
prepare_classifier(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	return prepare_common(node, arena, err, 2);
}

static OnnxStatus
prepare_ensemble(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	return prepare_common(node, arena, err, 5);
}

#define TREE_TYPES (ONNX_TS_FLOAT | ONNX_T(ONNX_DTYPE_INT64) | ONNX_T(ONNX_DTYPE_INT32))

const OnnxOpDef onnx_ops_ml_trees[] = {
	ONNX_OP("ai.onnx.ml", "TreeEnsembleRegressor", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = TREE_TYPES, .out_type = ONNX_OUT_UNKNOWN, .run = run_tree_regressor,
		.prepare = prepare_regressor),
	ONNX_OP("ai.onnx.ml", "TreeEnsembleClassifier", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 2),
		.input0_types = TREE_TYPES, .out_type = ONNX_OUT_UNKNOWN, .run = run_tree_classifier,
		.prepare = prepare_classifier),
	ONNX_OP("ai.onnx.ml", "TreeEnsemble", 5, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_FLOAT) | ONNX_T(ONNX_DTYPE_DOUBLE) | ONNX_T(ONNX_DTYPE_FLOAT16),
		.out_type = ONNX_OUT_SAME, .run = run_tree_ensemble, .prepare = prepare_ensemble),
	{0}
};
