/*-------------------------------------------------------------------------
 *
 * ops_trees.c
 *	  ai.onnx.ml TreeEnsembleClassifier and TreeEnsembleRegressor.
 *
 *	  X (N, F) -> Regressor: Y (N, n_targets) float;
 *	              Classifier: label (N) int64 | string, scores (N, C) float.
 *
 *	  The node attributes are flattened into index arrays (children by
 *	  index, leaf weights in CSR form) and trees are evaluated tree-outer,
 *	  row-inner over blocks of rows.  Every reference between nodes is
 *	  checked; a walk longer than the node count (a cycle) is an error.
 *	  NaN features follow nodes_missing_value_tracks_true.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>

#include "ml_common.h"

enum
{
	M_LEQ, M_LT, M_GTE, M_GT, M_EQ, M_NEQ, M_LEAF
};

typedef struct Forest
{
	int64_t		n;				/* nodes */
	int64_t	   *tree;
	int64_t	   *id;
	int64_t	   *feat;
	double	   *thr;
	uint8_t    *mode;
	uint8_t    *miss_true;
	int64_t	   *tru;			/* child indices */
	int64_t	   *fal;
	int64_t	   *order;			/* node indices sorted by (tree, id) */
	int64_t		n_roots;
	int64_t	   *roots;
	int64_t	   *leaf_start;		/* CSR of leaf weights, n + 1 */
	int64_t	   *w_target;
	double	   *w_value;
} Forest;

static const Forest *sort_forest;

static int
cmp_key(const void *a, const void *b)
{
	int64_t		i = *(const int64_t *) a,
				j = *(const int64_t *) b;
	const Forest *f = sort_forest;

	if (f->tree[i] != f->tree[j])
		return f->tree[i] < f->tree[j] ? -1 : 1;
	if (f->id[i] != f->id[j])
		return f->id[i] < f->id[j] ? -1 : 1;
	return (i > j) - (i < j);
}

/* Index of node (tree, id), or -1. */
static int64_t
find_node(const Forest *f, int64_t tree, int64_t id)
{
	int64_t		lo = 0,
				hi = f->n - 1;

	while (lo <= hi)
	{
		int64_t		mid = (lo + hi) / 2;
		int64_t		k = f->order[mid];

		if (f->tree[k] == tree && f->id[k] == id)
			return k;
		if (f->tree[k] < tree || (f->tree[k] == tree && f->id[k] < id))
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Allocate n * size zeroed bytes through the kernel; NULL on failure. */
static void *
kalloc(OnnxKernelCtx *ctx, int64_t n, size_t size, void **list, int *nl)
{
	void	   *p = onnx_kernel_alloc(ctx, (size_t) (n + 1) * size);

	if (p)
	{
		memset(p, 0, (size_t) (n + 1) * size);
		list[(*nl)++] = p;
	}
	return p;
}

/*
 * Flatten the node attributes and the leaf weights (prefix "target" or
 * "class") into f.  Allocations go into list (freed by the caller).
 */
static OnnxStatus
build_forest(OnnxKernelCtx *ctx, const char *wprefix, Forest *f, void **list, int *nl)
{
	const OnnxNode *nd = ctx->node;
	const int64_t *treeids,
			   *nodeids,
			   *featids,
			   *trueids,
			   *falseids,
			   *miss,
			   *wtree,
			   *wnode,
			   *wid;
	const float *vals,
			   *wvals;
	const OnnxAttr *modes = onnx_attr(nd, "nodes_modes");
	const OnnxAttr *vt = onnx_attr(nd, "nodes_values_as_tensor");
	const OnnxAttr *wt;
	char		name[64];
	int64_t		n = onnx_attr_ints(nd, "nodes_treeids", &treeids);
	int64_t		nw;
	int			nv = onnx_attr_floats(nd, "nodes_values", &vals);
	int			nm = onnx_attr_ints(nd, "nodes_missing_value_tracks_true", &miss);

	if (onnx_attr_ints(nd, "nodes_nodeids", &nodeids) != n ||
		onnx_attr_ints(nd, "nodes_featureids", &featids) != n ||
		onnx_attr_ints(nd, "nodes_truenodeids", &trueids) != n ||
		onnx_attr_ints(nd, "nodes_falsenodeids", &falseids) != n ||
		modes == NULL || modes->type != ONNX_ATTR_STRINGS || modes->n != n ||
		(vt ? (vt->t == NULL || vt->t->count != n) : nv != n) || (nm && nm != n) || n == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "tree node attributes are missing or differ in length");
	snprintf(name, sizeof(name), "%s_treeids", wprefix);
	nw = onnx_attr_ints(nd, name, &wtree);
	snprintf(name, sizeof(name), "%s_nodeids", wprefix);
	if (onnx_attr_ints(nd, name, &wnode) != nw)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "leaf weight attributes differ in length");
	snprintf(name, sizeof(name), "%s_ids", wprefix);
	if (onnx_attr_ints(nd, name, &wid) != nw)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "leaf weight attributes differ in length");
	snprintf(name, sizeof(name), "%s_weights_as_tensor", wprefix);
	wt = onnx_attr(nd, name);
	snprintf(name, sizeof(name), "%s_weights", wprefix);
	if (!wt && onnx_attr_floats(nd, name, &wvals) != nw)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "leaf weights differ in length");
	if (wt && (wt->t == NULL || wt->t->count != nw))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "leaf weights differ in length");

	f->n = n;
	if (!(f->tree = kalloc(ctx, n, sizeof(int64_t), list, nl)) || !(f->id = kalloc(ctx, n, sizeof(int64_t), list, nl)) ||
		!(f->feat = kalloc(ctx, n, sizeof(int64_t), list, nl)) || !(f->thr = kalloc(ctx, n, sizeof(double), list, nl)) ||
		!(f->mode = kalloc(ctx, n, 1, list, nl)) || !(f->miss_true = kalloc(ctx, n, 1, list, nl)) ||
		!(f->tru = kalloc(ctx, n, sizeof(int64_t), list, nl)) || !(f->fal = kalloc(ctx, n, sizeof(int64_t), list, nl)) ||
		!(f->order = kalloc(ctx, n, sizeof(int64_t), list, nl)) || !(f->roots = kalloc(ctx, n, sizeof(int64_t), list, nl)) ||
		!(f->leaf_start = kalloc(ctx, n + 1, sizeof(int64_t), list, nl)) ||
		!(f->w_target = kalloc(ctx, nw, sizeof(int64_t), list, nl)) || !(f->w_value = kalloc(ctx, nw, sizeof(double), list, nl)))
		return ctx->err->status;
	for (int64_t i = 0; i < n; i++)
	{
		const char *m = modes->strings[i];

		f->tree[i] = treeids[i];
		f->id[i] = nodeids[i];
		f->feat[i] = featids[i];
		f->thr[i] = vt ? onnx_tensor_get_f64(vt->t, i) : vals[i];
		f->miss_true[i] = nm ? miss[i] != 0 : 0;
		f->mode[i] = strcmp(m, "BRANCH_LEQ") == 0 ? M_LEQ : strcmp(m, "BRANCH_LT") == 0 ? M_LT :
			strcmp(m, "BRANCH_GTE") == 0 ? M_GTE : strcmp(m, "BRANCH_GT") == 0 ? M_GT :
			strcmp(m, "BRANCH_EQ") == 0 ? M_EQ : strcmp(m, "BRANCH_NEQ") == 0 ? M_NEQ :
			strcmp(m, "LEAF") == 0 ? M_LEAF : 255;
		if (f->mode[i] == 255)
			return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "tree node mode \"%s\" is not supported", m);
		f->order[i] = i;
	}
	sort_forest = f;
	qsort(f->order, (size_t) n, sizeof(int64_t), cmp_key);
	for (int64_t k = 1; k < n; k++)
		if (f->tree[f->order[k]] == f->tree[f->order[k - 1]] && f->id[f->order[k]] == f->id[f->order[k - 1]])
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "tree %lld has node %lld twice",
									(long long) f->tree[f->order[k]], (long long) f->id[f->order[k]]);
	for (int64_t i = 0; i < n; i++)
	{
		if (f->mode[i] == M_LEAF)
			continue;
		f->tru[i] = find_node(f, treeids[i], trueids[i]);
		f->fal[i] = find_node(f, treeids[i], falseids[i]);
		if (f->tru[i] < 0 || f->fal[i] < 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "tree %lld node %lld points to a missing node",
									(long long) treeids[i], (long long) nodeids[i]);
	}
	/* roots: the first node listed for each tree */
	for (int64_t i = 0; i < n; i++)
	{
		bool		seen = false;

		for (int64_t r = 0; r < f->n_roots && !seen; r++)
			seen = f->tree[f->roots[r]] == treeids[i];
		if (!seen)
			f->roots[f->n_roots++] = i;
	}
	/* leaf weights in CSR */
	for (int64_t k = 0; k < nw; k++)
	{
		int64_t		leaf = find_node(f, wtree[k], wnode[k]);

		if (leaf < 0)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "a leaf weight names a missing node");
		f->leaf_start[leaf + 1]++;
	}
	for (int64_t i = 0; i < n; i++)
		f->leaf_start[i + 1] += f->leaf_start[i];
	{
		int64_t    *fill = kalloc(ctx, n, sizeof(int64_t), list, nl);

		if (fill == NULL)
			return ctx->err->status;
		for (int64_t k = 0; k < nw; k++)
		{
			int64_t		leaf = find_node(f, wtree[k], wnode[k]);
			int64_t		pos = f->leaf_start[leaf] + fill[leaf]++;

			f->w_target[pos] = wid[k];
			f->w_value[pos] = wt ? onnx_tensor_get_f64(wt->t, k) : wvals[k];
		}
	}
	return ONNX_OK;
}

/* Walk one tree for row x (F features); the leaf index or -1 (cycle). */
static inline int64_t
walk(const Forest *f, int64_t root, const OnnxTensor *x, int64_t row, int64_t F)
{
	int64_t		i = root;

	for (int64_t steps = 0; steps <= f->n; steps++)
	{
		double		v,
					t;
		bool		go;

		if (f->mode[i] == M_LEAF)
			return i;
		v = onnx_tensor_get_f64(x, row * F + f->feat[i]);
		t = f->thr[i];
		if (isnan(v))
			go = f->miss_true[i];
		else
			switch (f->mode[i])
			{
				case M_LEQ:
					go = v <= t;
					break;
				case M_LT:
					go = v < t;
					break;
				case M_GTE:
					go = v >= t;
					break;
				case M_GT:
					go = v > t;
					break;
				case M_EQ:
					go = v == t;
					break;
				default:
					go = v != t;
					break;
			}
		i = go ? f->tru[i] : f->fal[i];
	}
	return -1;
}

#define ROW_BLOCK 256

/*
 * Sum (or min/max) the leaf weights of every tree into acc (N x T),
 * tree-outer and row-inner per block of rows.
 */
static OnnxStatus
accumulate(OnnxKernelCtx *ctx, const Forest *f, const OnnxTensor *x, int64_t N, int64_t F,
		   int64_t T, int agg, double *acc)
{
	for (int64_t r = 0; r < f->n; r++)
		if (f->mode[r] != M_LEAF && (f->feat[r] < 0 || f->feat[r] >= F))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"a tree reads feature %lld, X has %lld", (long long) f->feat[r], (long long) F);
	for (int64_t b0 = 0; b0 < N; b0 += ROW_BLOCK)
	{
		int64_t		b1 = b0 + ROW_BLOCK < N ? b0 + ROW_BLOCK : N;

		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		for (int64_t t = 0; t < f->n_roots; t++)
			for (int64_t row = b0; row < b1; row++)
			{
				int64_t		leaf = walk(f, f->roots[t], x, row, F);

				if (leaf < 0)
					return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "a tree has a cycle");
				for (int64_t k = f->leaf_start[leaf]; k < f->leaf_start[leaf + 1]; k++)
				{
					int64_t		tg = f->w_target[k];
					double	   *a;

					if (tg < 0 || tg >= T)
						return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "leaf target %lld is out of range",
												(long long) tg);
					a = &acc[row * T + tg];
					if (agg == 2)
						*a = *a < f->w_value[k] ? *a : f->w_value[k];
					else if (agg == 3)
						*a = *a > f->w_value[k] ? *a : f->w_value[k];
					else
						*a += f->w_value[k];
				}
			}
	}
	return ONNX_OK;
}

static void
free_list(OnnxKernelCtx *ctx, void **list, int nl)
{
	for (int i = 0; i < nl; i++)
		onnx_kernel_free(ctx, list[i]);
}

/* Base values (attribute or tensor form) into base[0..T). */
static void
base_values(const OnnxNode *nd, double *base, int64_t T)
{
	const float *bv;
	int			nb = onnx_attr_floats(nd, "base_values", &bv);
	const OnnxAttr *bt = onnx_attr(nd, "base_values_as_tensor");

	for (int64_t i = 0; i < T; i++)
		base[i] = bt && bt->t && i < bt->t->count ? onnx_tensor_get_f64(bt->t, i) : (i < nb ? bv[i] : 0.0);
}

static OnnxStatus
run_tree_regressor(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		T = onnx_attr_int(ctx->node, "n_targets", 1);
	const char *aggs = onnx_attr_string(ctx->node, "aggregate_function", "SUM");
	int			agg = strcmp(aggs, "SUM") == 0 ? 0 : strcmp(aggs, "AVERAGE") == 0 ? 1 :
		strcmp(aggs, "MIN") == 0 ? 2 : strcmp(aggs, "MAX") == 0 ? 3 : -1;
	int			post = ml_post_transform(ctx->node);
	Forest		f;
	void	   *list[32];
	int			nl = 0;
	int64_t		N,
				F,
				dims[2];
	double	   *acc,
			   *base;
	OnnxTensor *y;
	OnnxStatus	st;

	if (x == NULL || x->rank > 2 || agg < 0 || post < 0 || T < 1 || T > (1 << 20))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"X must be (N, F), with a known aggregate_function and post_transform");
	N = x->rank == 2 ? x->dims[0] : 1;
	F = x->rank == 2 ? x->dims[1] : (x->rank == 1 ? x->dims[0] : 1);
	memset(&f, 0, sizeof(f));
	if ((st = build_forest(ctx, "target", &f, list, &nl)) != ONNX_OK)
	{
		free_list(ctx, list, nl);
		return st;
	}
	if (!(acc = kalloc(ctx, N * T, sizeof(double), list, &nl)) || !(base = kalloc(ctx, T, sizeof(double), list, &nl)))
	{
		free_list(ctx, list, nl);
		return ctx->err->status;
	}
	for (int64_t i = 0; i < N * T; i++)
		acc[i] = agg == 2 ? INFINITY : (agg == 3 ? -INFINITY : 0);
	if ((st = accumulate(ctx, &f, x, N, F, T, agg, acc)) != ONNX_OK)
	{
		free_list(ctx, list, nl);
		return st;
	}
	base_values(ctx->node, base, T);
	dims[0] = N;
	dims[1] = T;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 2, dims)) == NULL)
	{
		free_list(ctx, list, nl);
		return ctx->err->status;
	}
	for (int64_t r = 0; r < N; r++)
	{
		double	   *s = &acc[r * T];

		for (int64_t t = 0; t < T; t++)
		{
			if (agg == 1 && f.n_roots)
				s[t] /= (double) f.n_roots;
			if ((agg == 2 || agg == 3) && isinf(s[t]))
				s[t] = 0;
			s[t] += base[t];
		}
		ml_apply_post(post, s, T);
		for (int64_t t = 0; t < T; t++)
			((float *) y->data)[r * T + t] = (float) s[t];
	}
	free_list(ctx, list, nl);
	return ONNX_OK;
}

static OnnxStatus
run_tree_classifier(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int			post = ml_post_transform(ctx->node);
	MlLabels	labels;
	Forest		f;
	void	   *list[32];
	int			nl = 0;
	int64_t		N,
				F,
				C,
				sdims[2];
	double	   *acc,
			   *base;
	const int64_t *cids;
	int			ncid;
	bool		binary = true;
	OnnxTensor *ylab,
			   *ysc;
	OnnxStatus	st;

	ml_labels(ctx->node, "classlabels_int64s", "classlabels_strings", &labels);
	if (x == NULL || x->rank > 2 || post < 0 || labels.n < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"X must be (N, F), with class labels and a known post_transform");
	N = x->rank == 2 ? x->dims[0] : 1;
	F = x->rank == 2 ? x->dims[1] : (x->rank == 1 ? x->dims[0] : 1);
	C = labels.n;
	ncid = onnx_attr_ints(ctx->node, "class_ids", &cids);
	for (int i = 1; i < ncid; i++)
		if (cids[i] != cids[0])
			binary = false;
	memset(&f, 0, sizeof(f));
	if ((st = build_forest(ctx, "class", &f, list, &nl)) != ONNX_OK)
	{
		free_list(ctx, list, nl);
		return st;
	}
	if (!(acc = kalloc(ctx, N * (C < 2 ? 2 : C), sizeof(double), list, &nl)) ||
		!(base = kalloc(ctx, C < 2 ? 2 : C, sizeof(double), list, &nl)))
	{
		free_list(ctx, list, nl);
		return ctx->err->status;
	}
	if ((st = accumulate(ctx, &f, x, N, F, C < 2 ? 2 : C, 0, acc)) != ONNX_OK)
	{
		free_list(ctx, list, nl);
		return st;
	}
	base_values(ctx->node, base, C);
	sdims[0] = N;
	sdims[1] = C < 2 ? 2 : C;
	if ((ylab = ml_label_out(ctx, &labels, N)) == NULL ||
		(ctx->n_outputs > 1 && (ysc = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, 2, sdims)) == NULL))
	{
		free_list(ctx, list, nl);
		return ctx->err->status;
	}
	if (ctx->n_outputs < 2)
		ysc = NULL;
	for (int64_t r = 0; r < N; r++)
	{
		double	   *s = &acc[r * sdims[1]];
		int64_t		best = 0;

		for (int64_t c = 0; c < C; c++)
			s[c] += base[c];
		if (binary && sdims[1] == 2)
		{
			/* one score column: class 1 gets it, class 0 its complement */
			s[1] = s[0];
			s[0] = (post == ML_POST_NONE || post == ML_POST_PROBIT) ? 1 - s[1] : -s[1];
		}
		ml_apply_post(post, s, sdims[1]);
		for (int64_t c = 1; c < sdims[1]; c++)
			if (s[c] > s[best])
				best = c;
		if (!ml_set_label(ctx, ylab, &labels, r, best))
		{
			free_list(ctx, list, nl);
			return ctx->err->status;
		}
		if (ysc)
			for (int64_t c = 0; c < sdims[1]; c++)
				((float *) ysc->data)[r * sdims[1] + c] = (float) s[c];
	}
	free_list(ctx, list, nl);
	return ONNX_OK;
}

#define TREE_TYPES (ONNX_TS_FLOAT | ONNX_T(ONNX_DTYPE_INT64) | ONNX_T(ONNX_DTYPE_INT32))

const OnnxOpDef onnx_ops_trees[] = {
	{"ai.onnx.ml", "TreeEnsembleRegressor", 1, 1, 1, 1, 1, TREE_TYPES, ONNX_OUT_UNKNOWN, NULL, NULL, run_tree_regressor},
	{"ai.onnx.ml", "TreeEnsembleClassifier", 1, 1, 1, 1, 2, TREE_TYPES, ONNX_OUT_UNKNOWN, NULL, NULL, run_tree_classifier},
	{0}
};
