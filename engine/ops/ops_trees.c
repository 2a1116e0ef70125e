/*-------------------------------------------------------------------------
 *
 * ops_trees.c
 *	  ai.onnx.ml TreeEnsembleClassifier and TreeEnsembleRegressor.
 *
 *	  X (N, F) -> Regressor: Y (N, n_targets) float;
 *	              Classifier: label (N) int64 | string, scores (N, C) float.
 *
 *	  At load (OpDef.prepare) the node attributes are flattened into index
 *	  arrays in the model arena (children by index, leaf weights in CSR
 *	  form); runs evaluate the trees tree-outer, row-inner over blocks of
 *	  rows, on X converted to double once.  Every reference between nodes is
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
	int64_t		max_feat;		/* largest feature index read, -1 if none */
	struct TreeNode *nodes;		/* packed copy for the walks */
	bool		all_leq;		/* every branch is BRANCH_LEQ (fast path) */
	int32_t    *depth;			/* per root: longest path in edges */
} Forest;

/*
 * One node as the walks read it: 24 bytes, one cache line holds most of
 * a path's step.  For a leaf, tru/fal delimit its weights in the CSR.
 */
typedef struct TreeNode
{
	double		thr;
	int32_t		feat;
	int32_t		tru;			/* leaves: first weight in the CSR */
	int32_t		fal;			/* leaves: end of its weights */
	uint8_t		mode;
	uint8_t		miss;
} TreeNode;

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

/* n + 1 zeroed elements of size bytes from the model arena; NULL on failure. */
static void *
aalloc(OnnxArena *arena, int64_t n, size_t size)
{
	size_t		bytes;

	if (n < 0 || onnx_mul_overflow_size((size_t) (n + 1), size, &bytes))
		return NULL;
	return onnx_arena_alloc(arena, bytes);
}

/* Per-run scratch through the kernel, remembered in list for freeing. */
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
 * "class") of node nd into f, in the model arena (done once, at load).
 */
static OnnxStatus
build_forest(const OnnxNode *nd, const char *wprefix, Forest *f, OnnxArena *arena, OnnxError *err)
{
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
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree node attributes are missing or differ in length");
	snprintf(name, sizeof(name), "%s_treeids", wprefix);
	nw = onnx_attr_ints(nd, name, &wtree);
	snprintf(name, sizeof(name), "%s_nodeids", wprefix);
	if (onnx_attr_ints(nd, name, &wnode) != nw)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "leaf weight attributes differ in length");
	snprintf(name, sizeof(name), "%s_ids", wprefix);
	if (onnx_attr_ints(nd, name, &wid) != nw)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "leaf weight attributes differ in length");
	snprintf(name, sizeof(name), "%s_weights_as_tensor", wprefix);
	wt = onnx_attr(nd, name);
	snprintf(name, sizeof(name), "%s_weights", wprefix);
	if (!wt && onnx_attr_floats(nd, name, &wvals) != nw)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "leaf weights differ in length");
	if (wt && (wt->t == NULL || wt->t->count != nw))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "leaf weights differ in length");

	f->n = n;
	if (!(f->tree = aalloc(arena, n, sizeof(int64_t))) || !(f->id = aalloc(arena, n, sizeof(int64_t))) ||
		!(f->feat = aalloc(arena, n, sizeof(int64_t))) || !(f->thr = aalloc(arena, n, sizeof(double))) ||
		!(f->mode = aalloc(arena, n, 1)) || !(f->miss_true = aalloc(arena, n, 1)) ||
		!(f->tru = aalloc(arena, n, sizeof(int64_t))) || !(f->fal = aalloc(arena, n, sizeof(int64_t))) ||
		!(f->order = aalloc(arena, n, sizeof(int64_t))) || !(f->roots = aalloc(arena, n, sizeof(int64_t))) ||
		!(f->leaf_start = aalloc(arena, n + 1, sizeof(int64_t))) ||
		!(f->w_target = aalloc(arena, nw, sizeof(int64_t))) || !(f->w_value = aalloc(arena, nw, sizeof(double))))
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory preparing a tree ensemble");
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
			return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "tree node mode \"%s\" is not supported", m);
		f->order[i] = i;
	}
	sort_forest = f;
	qsort(f->order, (size_t) n, sizeof(int64_t), cmp_key);
	for (int64_t k = 1; k < n; k++)
		if (f->tree[f->order[k]] == f->tree[f->order[k - 1]] && f->id[f->order[k]] == f->id[f->order[k - 1]])
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree %lld has node %lld twice",
									(long long) f->tree[f->order[k]], (long long) f->id[f->order[k]]);
	for (int64_t i = 0; i < n; i++)
	{
		if (f->mode[i] == M_LEAF)
			continue;
		f->tru[i] = find_node(f, treeids[i], trueids[i]);
		f->fal[i] = find_node(f, treeids[i], falseids[i]);
		if (f->tru[i] < 0 || f->fal[i] < 0)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree %lld node %lld points to a missing node",
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
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "a leaf weight names a missing node");
		f->leaf_start[leaf + 1]++;
	}
	for (int64_t i = 0; i < n; i++)
		f->leaf_start[i + 1] += f->leaf_start[i];
	{
		int64_t    *fill = aalloc(arena, n, sizeof(int64_t));

		if (fill == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory preparing a tree ensemble");
		for (int64_t k = 0; k < nw; k++)
		{
			int64_t		leaf = find_node(f, wtree[k], wnode[k]);
			int64_t		pos = f->leaf_start[leaf] + fill[leaf]++;

			f->w_target[pos] = wid[k];
			f->w_value[pos] = wt ? onnx_tensor_get_f64(wt->t, k) : wvals[k];
		}
	}
	f->max_feat = -1;
	for (int64_t i = 0; i < n; i++)
		if (f->mode[i] != M_LEAF && f->feat[i] > f->max_feat)
			f->max_feat = f->feat[i];
	for (int64_t i = 0; i < n; i++)
		if (f->mode[i] != M_LEAF && f->feat[i] < 0)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "a tree node has a negative feature index");
	if (n > INT32_MAX || f->max_feat > INT32_MAX || nw > INT32_MAX)
		return onnx_error_set(err, ONNX_ERR_LIMIT, "tree ensemble is too large");
	f->nodes = onnx_arena_alloc(arena, sizeof(TreeNode) * (size_t) (n + 1));
	if (f->nodes == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory preparing a tree ensemble");
	f->all_leq = true;
	for (int64_t i = 0; i < n; i++)
	{
		TreeNode   *t = &f->nodes[i];

		t->thr = f->thr[i];
		t->feat = (int32_t) f->feat[i];
		t->mode = f->mode[i];
		t->miss = f->miss_true[i];
		if (f->mode[i] == M_LEAF)
		{
			t->tru = (int32_t) f->leaf_start[i];
			t->fal = (int32_t) f->leaf_start[i + 1];
		}
		else
		{
			t->tru = (int32_t) f->tru[i];
			t->fal = (int32_t) f->fal[i];
			if (f->mode[i] != M_LEQ)
				f->all_leq = false;
		}
	}
	/*
	 * Every tree must be a tree: a depth-first walk from each root visits
	 * at most n nodes (a cycle or a shared subtree would exceed that), so
	 * the run-time walks always reach a leaf.
	 */
	{
		int64_t    *stack = aalloc(arena, n + 2, sizeof(int64_t));
		int64_t    *sdepth = aalloc(arena, n + 2, sizeof(int64_t));

		f->depth = aalloc(arena, f->n_roots, sizeof(int32_t));
		if (stack == NULL || sdepth == NULL || f->depth == NULL)
			return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory preparing a tree ensemble");
		for (int64_t r = 0; r < f->n_roots; r++)
		{
			int64_t		sp = 0,
						visits = 0,
						maxd = 0;

			stack[sp] = f->roots[r];
			sdepth[sp++] = 0;
			while (sp > 0)
			{
				int64_t		i = stack[--sp];
				int64_t		d = sdepth[sp];

				if (++visits > n || sp + 2 > n + 2)
					return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
										  "tree %lld has a cycle or a shared subtree", (long long) f->tree[f->roots[r]]);
				if (d > maxd)
					maxd = d;
				if (f->mode[i] == M_LEAF)
					continue;
				stack[sp] = f->tru[i];
				sdepth[sp++] = d + 1;
				stack[sp] = f->fal[i];
				sdepth[sp++] = d + 1;
			}
			f->depth[r] = (int32_t) maxd;
		}
	}
	return ONNX_OK;
}

/* Walk one tree for row xr; the leaf's node (trees are acyclic: checked at load). */
static inline const TreeNode *
walk_packed(const TreeNode *nodes, int64_t root, const double *xr, bool all_leq)
{
	const TreeNode *nd = &nodes[root];

	if (all_leq)
	{
		while (nd->mode != M_LEAF)
		{
			double		v = xr[nd->feat];

			nd = &nodes[(v <= nd->thr || (nd->miss && isnan(v))) ? nd->tru : nd->fal];
		}
		return nd;
	}
	while (nd->mode != M_LEAF)
	{
		double		v = xr[nd->feat],
					t = nd->thr;
		bool		go;

		if (isnan(v))
			go = nd->miss;
		else
			switch (nd->mode)
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
		nd = &nodes[go ? nd->tru : nd->fal];
	}
	return nd;
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
	double	   *xd;

	if (f->max_feat >= F)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"a tree reads feature %lld, X has %lld", (long long) f->max_feat, (long long) F);
	/* X as double once, so the walks read plain arrays */
	xd = onnx_kernel_alloc(ctx, sizeof(double) * (size_t) (N * F + 1));
	if (xd == NULL)
		return ctx->err->status;
	if (x->dtype == ONNX_DTYPE_FLOAT)
		for (int64_t i = 0; i < N * F; i++)
			xd[i] = ((const float *) x->data)[i];
	else
		for (int64_t i = 0; i < N * F; i++)
			xd[i] = onnx_tensor_get_f64(x, i);
	for (int64_t b0 = 0; b0 < N; b0 += ROW_BLOCK)
	{
		int64_t		b1 = b0 + ROW_BLOCK < N ? b0 + ROW_BLOCK : N;

		if (onnx_kernel_should_abort(ctx))
		{
			onnx_kernel_free(ctx, xd);
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		}
		for (int64_t t = 0; t < f->n_roots; t++)
		{
			const TreeNode *nodes = f->nodes;
			int32_t		root = (int32_t) f->roots[t];

			for (int64_t row = b0; row < b1; row += 8)
			{
				int32_t		idx[8];
				int			m = b1 - row < 8 ? (int) (b1 - row) : 8;

				for (int k = 0; k < m; k++)
					idx[k] = (int32_t) (walk_packed(nodes, root, xd + (row + k) * F, f->all_leq) - nodes);
				for (int k = 0; k < m; k++)
				{
					const TreeNode *leaf = &nodes[idx[k]];

					for (int64_t w = leaf->tru; w < leaf->fal; w++)
					{
						int64_t		tg = f->w_target[w];
						double	   *a;

						if (tg < 0 || tg >= T)
						{
							onnx_kernel_free(ctx, xd);
							return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_MODEL, "leaf target %lld is out of range",
													(long long) tg);
						}
						a = &acc[(row + k) * T + tg];
						if (agg == 2)
							*a = *a < f->w_value[w] ? *a : f->w_value[w];
						else if (agg == 3)
							*a = *a > f->w_value[w] ? *a : f->w_value[w];
						else
							*a += f->w_value[w];
					}
				}
			}
		}
	}
	onnx_kernel_free(ctx, xd);
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
	const Forest *fp = ctx->node->prepared;
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
	if (fp == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "tree ensemble was not prepared");
	if (!(acc = kalloc(ctx, N * T, sizeof(double), list, &nl)) || !(base = kalloc(ctx, T, sizeof(double), list, &nl)))
	{
		free_list(ctx, list, nl);
		return ctx->err->status;
	}
	for (int64_t i = 0; i < N * T; i++)
		acc[i] = agg == 2 ? INFINITY : (agg == 3 ? -INFINITY : 0);
	if ((st = accumulate(ctx, fp, x, N, F, T, agg, acc)) != ONNX_OK)
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
			if (agg == 1 && fp->n_roots)
				s[t] /= (double) fp->n_roots;
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
	const Forest *fp = ctx->node->prepared;
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
	if (fp == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "tree ensemble was not prepared");
	if (!(acc = kalloc(ctx, N * (C < 2 ? 2 : C), sizeof(double), list, &nl)) ||
		!(base = kalloc(ctx, C < 2 ? 2 : C, sizeof(double), list, &nl)))
	{
		free_list(ctx, list, nl);
		return ctx->err->status;
	}
	if ((st = accumulate(ctx, fp, x, N, F, C < 2 ? 2 : C, 0, acc)) != ONNX_OK)
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

/* Load-time layout of the trees (OpDef.prepare). */
static OnnxStatus
prepare_forest(OnnxNode *node, OnnxArena *arena, const char *wprefix, OnnxError *err)
{
	Forest	   *f = onnx_arena_alloc(arena, sizeof(Forest));
	OnnxStatus	st;

	if (f == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory preparing a tree ensemble");
	if ((st = build_forest(node, wprefix, f, arena, err)) != ONNX_OK)
		return st;
	node->prepared = f;
	return ONNX_OK;
}

static OnnxStatus
prepare_regressor(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	return prepare_forest(node, arena, "target", err);
}

static OnnxStatus
prepare_classifier(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	return prepare_forest(node, arena, "class", err);
}

#define TREE_TYPES (ONNX_TS_FLOAT | ONNX_T(ONNX_DTYPE_INT64) | ONNX_T(ONNX_DTYPE_INT32))

const OnnxOpDef onnx_ops_trees[] = {
	{"ai.onnx.ml", "TreeEnsembleRegressor", 1, 1, 1, 1, 1, TREE_TYPES, ONNX_OUT_UNKNOWN, NULL, NULL,
	run_tree_regressor, NULL, prepare_regressor},
	{"ai.onnx.ml", "TreeEnsembleClassifier", 1, 1, 1, 1, 2, TREE_TYPES, ONNX_OUT_UNKNOWN, NULL, NULL,
	run_tree_classifier, NULL, prepare_classifier},
	{0}
};
