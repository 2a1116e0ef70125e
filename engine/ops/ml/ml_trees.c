/*-------------------------------------------------------------------------
 *
 * ml_trees.c
 *	  ai.onnx.ml TreeEnsembleClassifier, TreeEnsembleRegressor (opsets 1,
 *	  3) and TreeEnsemble (opset 5).
 *
 *	  X (N, F) -> Regressor: Y (N, n_targets) float;
 *	              Classifier: label (N) int64 | string, scores (N, C) float;
 *	              TreeEnsemble: Y (N, n_targets) of X's type.
 *
 *	  At load (OpDef.prepare) the attributes (opset 5's leaves and set
 *	  membership included) become one array of nodes per model, each tree
 *	  breadth first, children by position.  Every reference is checked; a
 *	  tree may share subtrees (converters make DAGs for categorical splits)
 *	  but not have a cycle.  Layouts:
 *
 *	  - fast, float: 16-byte nodes {threshold, feature, children[2]} when
 *	    every split is <, <=, >, >= on a threshold exactly representable as
 *	    a float.  Every split becomes "x' < t'": <= turns into < of the next
 *	    float up, > and >= into comparisons of the negated feature (kept in
 *	    extra columns), and missing_value_tracks_true into swapped children,
 *	    so that a NaN, false under "<", lands where the model says.  A leaf
 *	    points at itself both ways, so a descent runs a fixed number of
 *	    steps (the tree's depth) without a branch: rows walk one tree in
 *	    lockstep, eight in registers, tree-outer over blocks of 128 rows
 *	    held column by column; a single row walks sixteen trees in lockstep.
 *	  - complete (batches, shallow trees, one weight per leaf): each tree
 *	    as a heap of 8-byte splits (children of i at 2i + 1, 2i + 2; leaves
 *	    above the last level repeated below it) and its leaf values: a step
 *	    loads one split and one feature, no child.
 *	  - fast, double: 24-byte nodes for thresholds that need a double.
 *	  - generic: a mode per node (EQ, NEQ, set membership, NaN or infinite
 *	    thresholds), walked per row.
 *
 *	  Leaves with one weight each, every leaf of a tree for one target,
 *	  keep the weight inline; others use a CSR of weights.  Numerics follow
 *	  onnxruntime: inputs that are not double compare (and sum) as float,
 *	  doubles compare exactly (and sum in double), and the post-transforms,
 *	  base values, binary classifiers and classes no leaf reached are as
 *	  onnxruntime gives them (ml_common.h).  Opset 5's post_transform uses
 *	  the ONNX numbering (1 SOFTMAX, 2 LOGISTIC).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>

#include "ml_common.h"
#include "parallel.h"
#include "vecmath.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TREES_AVX512 1
#endif

enum
{
	M_LEQ, M_LT, M_GTE, M_GT, M_EQ, M_NEQ, M_MEMBER, M_LEAF
};

enum
{
	AGG_SUM, AGG_AVERAGE, AGG_MIN, AGG_MAX
};

/*
 * Or'ed into the aggregate for the walks: sums in single precision, as
 * onnxruntime keeps them for inputs that are not double (its scores are
 * of the threshold type; its PROBIT near 0.5 magnifies any difference).
 * A sum is kept in a double rounded to float after every addition, which
 * is a float addition.
 */
#define AGG_F32 8

static inline double
rnd(bool f32, double v)
{
	return f32 ? (double) (float) v : v;
}

enum
{
	LAYOUT_FLOAT, LAYOUT_DOUBLE, LAYOUT_GENERIC
};

#define ROW_BLOCK 128			/* rows walked together */
#define LANES 8					/* walks interleaved in registers */

/* Fast layouts: go to c[0] when x[feat] < thr, else (NaN too) to c[1]. */
typedef struct FNode
{
	float		thr;			/* leaves: the inline weight */
	int32_t		feat;
	int32_t		c[2];
} FNode;

typedef struct DNode
{
	double		thr;
	int32_t		feat;
	int32_t		c[2];
} DNode;

/*
 * Complete layout (float, inline leaves, shallow trees): each tree a heap
 * of 2^depth - 1 splits {thr, feat} (children of i at 2i + 1, 2i + 2; a
 * leaf above the last level is repeated below), then 2^depth leaf values.
 * A step is a load of the split and the feature, no child to fetch.
 */
typedef struct CNode
{
	float		thr;
	int32_t		feat;
} CNode;

/* Generic layout: c[0] true child, c[1] false child. */
typedef struct GNode
{
	double		thr;			/* leaves: the inline weight */
	int32_t		feat;
	int32_t		c[2];
	int32_t		set;			/* M_MEMBER: first member in set_vals */
	int32_t		set_end;
	uint8_t		mode;
	uint8_t		miss;
} GNode;

typedef struct Forest
{
	int			layout;
	int64_t		n_trees;
	int64_t		T;				/* targets (classes) the weights name */
	int32_t		K;				/* features read: max feature + 1 (0 if none) */
	bool		need_neg;		/* fast layouts read negated columns K..2K */
	int64_t		n_nodes;		/* laid out */
	void	   *nodes;			/* FNode, DNode or GNode array */
	int32_t    *root;			/* per tree */
	int32_t    *depth;			/* per tree: longest path, in edges */
	int32_t    *group_depth;	/* per 16 trees: the longest */
	bool		complete;		/* the complete layout is built */
	CNode	   *cn;
	float	   *cv;
	int64_t    *cn_off;			/* per tree: first split in cn */
	int64_t    *cv_off;			/* per tree: first leaf value in cv */
	bool		inline_leaf;	/* every leaf: one weight, inline */
	int32_t		one_target;		/* inline, every tree for the same target; else -1 */
	int32_t    *tree_target;	/* per tree, inline: its leaves' target */
	int32_t    *wstart;			/* CSR by node (n_nodes + 1) */
	int32_t    *w_target;
	double	   *w_value;
	double	   *set_vals;		/* generic: set members */
	bool		has_static;		/* which targets get a weight does not depend on the row */
	uint8_t    *has_target;		/* has_static: per target */
	/* classifier facts, as onnxruntime uses them */
	bool		all_positive;
	bool		one_class_id;
} Forest;

/* Build-time form: one entry per node, children by index (-1: none). */
typedef struct Raw
{
	int64_t		n;
	int64_t    *feat;
	double	   *thr;
	uint8_t    *mode;
	uint8_t    *miss;
	int64_t    *tru;
	int64_t    *fal;
	int64_t    *set_start;		/* M_MEMBER sets, n + 1 */
	double	   *set_vals;
	int64_t		n_set_vals;
	int64_t		n_roots;
	int64_t    *roots;
	int64_t    *leaf_start;		/* CSR of leaf weights, n + 1 */
	int64_t    *w_target;
	double	   *w_value;
	int64_t		nw;
	bool		all_positive;
	bool		one_class_id;
} Raw;

/* ---- build-time memory (the model's allocator, freed after prepare) ---- */

typedef struct Tmp
{
	const OnnxAllocator *a;
	void	   *p[40];
	int			n;
} Tmp;

static void *
tmp_alloc(Tmp *t, int64_t n, size_t size)
{
	size_t		bytes;
	void	   *p;

	if (n < 0 || t->n >= 40 || onnx_mul_overflow_size((size_t) n + 1, size, &bytes))
		return NULL;
	p = t->a->alloc(t->a->ctx, bytes);
	if (p == NULL)
		return NULL;
	memset(p, 0, bytes);
	t->p[t->n++] = p;
	return p;
}

static void
tmp_free(Tmp *t)
{
	for (int i = 0; i < t->n; i++)
		t->a->free(t->a->ctx, t->p[i]);
	t->n = 0;
}

static void *
aalloc(OnnxArena *arena, int64_t n, size_t size)
{
	size_t		bytes;

	if (n < 0 || onnx_mul_overflow_size((size_t) n + 1, size, &bytes))
		return NULL;
	return onnx_arena_alloc(arena, bytes);
}

static OnnxStatus
oom(OnnxError *err)
{
	return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory preparing a tree ensemble");
}

/* ---- attributes, opsets 1 and 3 ---- */

typedef struct NodeKey
{
	int64_t		tree;
	int64_t		id;
	int64_t		idx;
} NodeKey;

static int
cmp_key(const void *a, const void *b)
{
	const NodeKey *x = a,
			   *y = b;

	if (x->tree != y->tree)
		return x->tree < y->tree ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Index of node (tree, id), or -1. */
static int64_t
find_node(const NodeKey *keys, int64_t n, int64_t tree, int64_t id)
{
	int64_t		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;
		const NodeKey *k = &keys[mid];

		if (k->tree == tree && k->id == id)
			return k->idx;
		if (k->tree < tree || (k->tree == tree && k->id < id))
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int
mode_of(const char *m)
{
	return strcmp(m, "BRANCH_LEQ") == 0 ? M_LEQ : strcmp(m, "BRANCH_LT") == 0 ? M_LT :
		strcmp(m, "BRANCH_GTE") == 0 ? M_GTE : strcmp(m, "BRANCH_GT") == 0 ? M_GT :
		strcmp(m, "BRANCH_EQ") == 0 ? M_EQ : strcmp(m, "BRANCH_NEQ") == 0 ? M_NEQ :
		strcmp(m, "LEAF") == 0 ? M_LEAF : -1;
}

/* A float or tensor attribute list: count, element i through get. */
typedef struct Vals
{
	int64_t		n;
	const float *f;
	const OnnxTensor *t;
} Vals;

static void
vals_of(const OnnxNode *nd, const char *fname, const char *tname, Vals *v)
{
	const OnnxAttr *t = tname ? onnx_attr(nd, tname) : NULL;

	v->f = NULL;
	v->t = NULL;
	if (t && t->type == ONNX_ATTR_TENSOR && t->t)
	{
		v->t = t->t;
		v->n = t->t->count;
	}
	else
		v->n = fname ? onnx_attr_floats(nd, fname, &v->f) : 0;
}

static inline double
vals_get(const Vals *v, int64_t i)
{
	return v->t ? onnx_tensor_get_f64(v->t, i) : v->f[i];
}

/* Opsets 1 and 3: node attributes, leaf weights named <wprefix>_*. */
static OnnxStatus
raw_v3(const OnnxNode *nd, const char *wprefix, Raw *r, Tmp *tmp, OnnxError *err)
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
	const OnnxAttr *modes = onnx_attr(nd, "nodes_modes");
	Vals		thr,
				wv;
	char		name[64];
	int64_t		n = onnx_attr_ints(nd, "nodes_treeids", &treeids);
	int64_t		nw;
	int			nm = onnx_attr_ints(nd, "nodes_missing_value_tracks_true", &miss);
	NodeKey    *keys;

	vals_of(nd, "nodes_values", "nodes_values_as_tensor", &thr);
	if (onnx_attr_ints(nd, "nodes_nodeids", &nodeids) != n ||
		onnx_attr_ints(nd, "nodes_featureids", &featids) != n ||
		onnx_attr_ints(nd, "nodes_truenodeids", &trueids) != n ||
		onnx_attr_ints(nd, "nodes_falsenodeids", &falseids) != n ||
		modes == NULL || modes->type != ONNX_ATTR_STRINGS || modes->n != n ||
		thr.n != n || (nm && nm != n) || n == 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree node attributes are missing or differ in length");
	snprintf(name, sizeof(name), "%s_treeids", wprefix);
	nw = onnx_attr_ints(nd, name, &wtree);
	snprintf(name, sizeof(name), "%s_nodeids", wprefix);
	if (onnx_attr_ints(nd, name, &wnode) != nw)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "leaf weight attributes differ in length");
	snprintf(name, sizeof(name), "%s_ids", wprefix);
	if (onnx_attr_ints(nd, name, &wid) != nw)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "leaf weight attributes differ in length");
	{
		char		tname[64];

		snprintf(name, sizeof(name), "%s_weights", wprefix);
		snprintf(tname, sizeof(tname), "%s_weights_as_tensor", wprefix);
		vals_of(nd, name, tname, &wv);
	}
	if (wv.n != nw)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "leaf weights differ in length");
	if (n > INT32_MAX / 4 || nw > INT32_MAX / 2)
		return onnx_error_set(err, ONNX_ERR_LIMIT, "tree ensemble is too large");

	r->n = n;
	r->nw = nw;
	if (!(r->feat = tmp_alloc(tmp, n, sizeof(int64_t))) || !(r->thr = tmp_alloc(tmp, n, sizeof(double))) ||
		!(r->mode = tmp_alloc(tmp, n, 1)) || !(r->miss = tmp_alloc(tmp, n, 1)) ||
		!(r->tru = tmp_alloc(tmp, n, sizeof(int64_t))) || !(r->fal = tmp_alloc(tmp, n, sizeof(int64_t))) ||
		!(r->roots = tmp_alloc(tmp, n, sizeof(int64_t))) || !(keys = tmp_alloc(tmp, n, sizeof(NodeKey))) ||
		!(r->leaf_start = tmp_alloc(tmp, n + 1, sizeof(int64_t))) ||
		!(r->w_target = tmp_alloc(tmp, nw, sizeof(int64_t))) || !(r->w_value = tmp_alloc(tmp, nw, sizeof(double))))
		return oom(err);
	for (int64_t i = 0; i < n; i++)
	{
		int			m = mode_of(modes->strings[i]);

		if (m < 0)
			return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "tree node mode \"%s\" is not supported", modes->strings[i]);
		r->mode[i] = (uint8_t) m;
		r->feat[i] = featids[i];
		r->thr[i] = vals_get(&thr, i);
		r->miss[i] = nm ? miss[i] == 1 : 0;
		keys[i].tree = treeids[i];
		keys[i].id = nodeids[i];
		keys[i].idx = i;
	}
	qsort(keys, (size_t) n, sizeof(NodeKey), cmp_key);
	for (int64_t k = 1; k < n; k++)
		if (keys[k].tree == keys[k - 1].tree && keys[k].id == keys[k - 1].id)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree %lld has node %lld twice",
								  (long long) keys[k].tree, (long long) keys[k].id);
	for (int64_t i = 0; i < n; i++)
	{
		r->tru[i] = r->fal[i] = -1;
		if (r->mode[i] == M_LEAF)
			continue;
		r->tru[i] = find_node(keys, n, treeids[i], trueids[i]);
		r->fal[i] = find_node(keys, n, treeids[i], falseids[i]);
		if (r->tru[i] < 0 || r->fal[i] < 0)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree %lld node %lld points to a missing node",
								  (long long) treeids[i], (long long) nodeids[i]);
	}
	/* roots: the first node listed for each tree, in order of appearance */
	{
		uint8_t    *is_root = tmp_alloc(tmp, n, 1);

		if (is_root == NULL)
			return oom(err);
		for (int64_t k = 0; k < n;)
		{
			int64_t		e = k,
						first = keys[k].idx;

			while (e < n && keys[e].tree == keys[k].tree)
			{
				if (keys[e].idx < first)
					first = keys[e].idx;
				e++;
			}
			is_root[first] = 1;
			k = e;
		}
		for (int64_t i = 0; i < n; i++)
			if (is_root[i])
				r->roots[r->n_roots++] = i;
	}
	/* leaf weights in CSR (weights naming a branch are ignored, as onnxruntime does) */
	r->all_positive = true;
	r->one_class_id = true;
	for (int64_t k = 0; k < nw; k++)
	{
		int64_t		leaf = find_node(keys, n, wtree[k], wnode[k]);

		if (leaf < 0)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "a leaf weight names a missing node");
		r->leaf_start[leaf + 1]++;
		if (vals_get(&wv, k) < 0)
			r->all_positive = false;
		if (wid[k] != wid[0])
			r->one_class_id = false;
	}
	for (int64_t i = 0; i < n; i++)
		r->leaf_start[i + 1] += r->leaf_start[i];
	{
		int64_t    *fill = tmp_alloc(tmp, n, sizeof(int64_t));

		if (fill == NULL)
			return oom(err);
		for (int64_t k = 0; k < nw; k++)
		{
			int64_t		leaf = find_node(keys, n, wtree[k], wnode[k]);
			int64_t		pos = r->leaf_start[leaf] + fill[leaf]++;

			r->w_target[pos] = wid[k];
			r->w_value[pos] = vals_get(&wv, k);
		}
	}
	return ONNX_OK;
}

/* ---- attributes, opset 5 ---- */

static OnnxStatus
raw_v5(const OnnxNode *nd, Raw *r, Tmp *tmp, OnnxError *err)
{
	const int64_t *featids,
			   *trueids,
			   *falseids,
			   *trueleaf,
			   *falseleaf,
			   *miss,
			   *targets,
			   *roots;
	const OnnxAttr *ma = onnx_attr(nd, "nodes_modes");
	const OnnxAttr *sa = onnx_attr(nd, "nodes_splits");
	const OnnxAttr *wa = onnx_attr(nd, "leaf_weights");
	const OnnxAttr *mva = onnx_attr(nd, "membership_values");
	const OnnxTensor *mv = mva && mva->type == ONNX_ATTR_TENSOR ? mva->t : NULL;
	int64_t		ni = onnx_attr_ints(nd, "nodes_featureids", &featids);
	int64_t		nl = onnx_attr_ints(nd, "leaf_targetids", &targets);
	int64_t		nt = onnx_attr_ints(nd, "tree_roots", &roots);
	int			nm = onnx_attr_ints(nd, "nodes_missing_value_tracks_true", &miss);
	int64_t		n,
				mpos = 0;

	if (onnx_attr_ints(nd, "nodes_truenodeids", &trueids) != ni ||
		onnx_attr_ints(nd, "nodes_falsenodeids", &falseids) != ni ||
		onnx_attr_ints(nd, "nodes_trueleafs", &trueleaf) != ni ||
		onnx_attr_ints(nd, "nodes_falseleafs", &falseleaf) != ni ||
		ma == NULL || ma->type != ONNX_ATTR_TENSOR || ma->t == NULL || ma->t->count != ni ||
		sa == NULL || sa->type != ONNX_ATTR_TENSOR || sa->t == NULL || sa->t->count != ni ||
		wa == NULL || wa->type != ONNX_ATTR_TENSOR || wa->t == NULL || wa->t->count != nl ||
		(nm && nm != ni) || nt == 0 || nl == 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "TreeEnsemble attributes are missing or differ in length");
	if (ni > INT32_MAX / 8 || nl > INT32_MAX / 8)
		return onnx_error_set(err, ONNX_ERR_LIMIT, "tree ensemble is too large");
	n = ni + nl;
	r->n = n;
	r->nw = nl;
	if (!(r->feat = tmp_alloc(tmp, n, sizeof(int64_t))) || !(r->thr = tmp_alloc(tmp, n, sizeof(double))) ||
		!(r->mode = tmp_alloc(tmp, n, 1)) || !(r->miss = tmp_alloc(tmp, n, 1)) ||
		!(r->tru = tmp_alloc(tmp, n, sizeof(int64_t))) || !(r->fal = tmp_alloc(tmp, n, sizeof(int64_t))) ||
		!(r->roots = tmp_alloc(tmp, nt, sizeof(int64_t))) ||
		!(r->set_start = tmp_alloc(tmp, n + 1, sizeof(int64_t))) ||
		!(r->set_vals = tmp_alloc(tmp, mv ? mv->count : 0, sizeof(double))) ||
		!(r->leaf_start = tmp_alloc(tmp, n + 1, sizeof(int64_t))) ||
		!(r->w_target = tmp_alloc(tmp, nl, sizeof(int64_t))) || !(r->w_value = tmp_alloc(tmp, nl, sizeof(double))))
		return oom(err);
	r->all_positive = true;
	r->one_class_id = true;
	for (int64_t i = 0; i < ni; i++)
	{
		int64_t		m = onnx_tensor_get_i64(ma->t, i);

		if (m < 0 || m > 6)
			return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "tree node mode %lld is not supported", (long long) m);
		r->mode[i] = (uint8_t) m;	/* 0..6: LEQ LT GTE GT EQ NEQ MEMBER, as M_* */
		r->feat[i] = featids[i];
		r->thr[i] = onnx_tensor_get_f64(sa->t, i);
		r->miss[i] = nm ? miss[i] == 1 : 0;
		r->tru[i] = trueleaf[i] ? ni + trueids[i] : trueids[i];
		r->fal[i] = falseleaf[i] ? ni + falseids[i] : falseids[i];
		if (trueids[i] < 0 || falseids[i] < 0 || trueids[i] >= (trueleaf[i] ? nl : ni) ||
			falseids[i] >= (falseleaf[i] ? nl : ni))
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree node %lld points to a missing node", (long long) i);
		/* sets, NaN-separated, in the order the member nodes are listed */
		r->set_start[i] = r->n_set_vals;
		if (m == M_MEMBER)
		{
			if (mv == NULL)
				return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "set membership nodes need membership_values");
			while (mpos < mv->count && !isnan(onnx_tensor_get_f64(mv, mpos)))
				r->set_vals[r->n_set_vals++] = onnx_tensor_get_f64(mv, mpos++);
			mpos++;
		}
		r->set_start[i + 1] = r->n_set_vals;
	}
	for (int64_t j = 0; j < nl; j++)
	{
		int64_t		i = ni + j;

		r->mode[i] = M_LEAF;
		r->tru[i] = r->fal[i] = -1;
		r->set_start[i] = r->set_start[i + 1] = r->n_set_vals;
		r->leaf_start[i] = j;
		r->leaf_start[i + 1] = j + 1;
		r->w_target[j] = targets[j];
		r->w_value[j] = onnx_tensor_get_f64(wa->t, j);
		if (r->w_value[j] < 0)
			r->all_positive = false;
		if (targets[j] != targets[0])
			r->one_class_id = false;
	}
	for (int64_t t = 0; t < nt; t++)
	{
		int64_t		k = roots[t];

		if (k < 0 || k >= ni)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree root %lld is out of range", (long long) k);
		/* a tree that is one leaf: both branches name the same leaf */
		if (trueleaf[k] && falseleaf[k] && trueids[k] == falseids[k])
		{
			if (k >= nl)
				return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree root %lld is out of range", (long long) k);
			k = ni + k;
		}
		r->roots[r->n_roots++] = k;
	}
	return ONNX_OK;
}

/* ---- layout ---- */

/* Smallest float strictly above t (t finite or -inf); false if none. */
static bool
float_up(double t, float *out)
{
	float		f = (float) t;

	if (isnan(t) || t == INFINITY || (double) f != t)
		return false;
	*out = nextafterf(f, INFINITY);
	return true;
}

static bool
double_up(double t, double *out)
{
	if (isnan(t) || t == INFINITY)
		return false;
	*out = nextafter(t, INFINITY);
	return true;
}

/*
 * One split as "v < thr ? c[0] : c[1]" with v = x[f] or -x[f] (neg);
 * swap: c[0] is the false child.  False when it cannot be (EQ, NEQ, sets,
 * NaN thresholds, infinities that have no next value).
 */
static bool
fast_split(int mode, bool miss, double t, bool *neg, double *thr, bool *swap, bool dbl)
{
	float		ff;
	double		dd;
	bool		up;				/* threshold is the next value above */
	double		base;

	if (isnan(t))
		return false;
	switch (mode)
	{
		case M_LEQ:
			/* no miss: x < up(t) -> T.  miss: -x < -t -> F, else T */
			*neg = miss;
			*swap = miss;
			base = miss ? -t : t;
			up = !miss;
			break;
		case M_LT:
			/* no miss: x < t -> T.  miss: -x < up(-t) (x >= t) -> F, else T */
			*neg = miss;
			*swap = miss;
			base = miss ? -t : t;
			up = miss;
			break;
		case M_GTE:
			/* no miss: -x < up(-t) -> T.  miss: x < t -> F, else T */
			*neg = !miss;
			*swap = miss;
			base = miss ? t : -t;
			up = !miss;
			break;
		case M_GT:
			/* no miss: -x < -t -> T.  miss: x < up(t) -> F, else T */
			*neg = !miss;
			*swap = miss;
			base = miss ? t : -t;
			up = miss;
			break;
		default:
			return false;
	}
	if (!dbl)
	{
		if ((double) (float) base != base)
			return false;
		if (up)
		{
			if (!float_up(base, &ff))
				return false;
			*thr = ff;
		}
		else
			*thr = base;
		return true;
	}
	if (up)
	{
		if (!double_up(base, &dd))
			return false;
		*thr = dd;
	}
	else
		*thr = base;
	return true;
}

/* Fill the heap of a tree from the fast layout: split k at heap position pos, depth d. */
static void
complete_fill(const Forest *f, const FNode *fn, int32_t k, int64_t pos, int d, int D, CNode *cn, float *cv)
{
	if (fn[k].c[0] == k && fn[k].c[1] == k)
	{
		/* a leaf: dummy splits below it, its value on every leaf of the last level */
		for (int l = d; l < D; l++)
		{
			int64_t		w = (int64_t) 1 << (l - d),
						first = (pos + 1) * w - 1;

			for (int64_t q = first; q < first + w; q++)
			{
				cn[q].thr = 0;
				cn[q].feat = 0;
			}
		}
		{
			int64_t		w = (int64_t) 1 << (D - d),
						first = (pos + 1) * w - 1 - (((int64_t) 1 << D) - 1);

			for (int64_t q = first; q < first + w; q++)
				cv[q] = fn[k].thr;
		}
		return;
	}
	cn[pos].thr = fn[k].thr;
	cn[pos].feat = fn[k].feat;		/* already times ROW_BLOCK */
	complete_fill(f, fn, fn[k].c[0], 2 * pos + 1, d + 1, D, cn, cv);
	complete_fill(f, fn, fn[k].c[1], 2 * pos + 2, d + 1, D, cn, cv);
}

/*
 * The complete layout, when the float layout has inline leaves and the
 * heaps stay small (depth <= 16, at most four times the nodes).
 */
static OnnxStatus
complete_layout(Forest *f, OnnxArena *arena, OnnxError *err)
{
	int64_t		nn = 0,
				nv = 0;

	f->complete = false;
	if (f->layout != LAYOUT_FLOAT || !f->inline_leaf)
		return ONNX_OK;
	for (int64_t t = 0; t < f->n_trees; t++)
	{
		if (f->depth[t] > 16)
			return ONNX_OK;
		nn += ((int64_t) 1 << f->depth[t]) - 1;
		nv += (int64_t) 1 << f->depth[t];
	}
	if (nn + nv > 4 * f->n_nodes + 4096 || nn > INT32_MAX / 4)
		return ONNX_OK;
	if (!(f->cn = aalloc(arena, nn, sizeof(CNode))) || !(f->cv = aalloc(arena, nv, sizeof(float))) ||
		!(f->cn_off = aalloc(arena, f->n_trees, sizeof(int64_t))) ||
		!(f->cv_off = aalloc(arena, f->n_trees, sizeof(int64_t))))
		return oom(err);
	nn = nv = 0;
	for (int64_t t = 0; t < f->n_trees; t++)
	{
		f->cn_off[t] = nn;
		f->cv_off[t] = nv;
		complete_fill(f, f->nodes, f->root[t], 0, 0, f->depth[t], f->cn + nn, f->cv + nv);
		nn += ((int64_t) 1 << f->depth[t]) - 1;
		nv += (int64_t) 1 << f->depth[t];
	}
	f->complete = true;
	return ONNX_OK;
}

/*
 * Lay the trees out breadth first into f (model arena).  n_targets: the
 * targets (or classes) weights may name.
 */
static OnnxStatus
layout(const Raw *r, int64_t n_targets, Forest *f, OnnxArena *arena, Tmp *tmp, OnnxError *err)
{
	int64_t		cap = 2 * r->n + r->n_roots + 1;
	int64_t    *lay,			/* raw node -> layout position (this tree's, see lay_stamp) */
			   *lay_stamp,
			   *src,			/* layout position -> raw node */
			   *ct,				/* layout position -> children's positions */
			   *cf,
			   *q,
			   *qd,
			   *seen,			/* depth-first walk: tree stamp, */
			   *below;			/* longest path below */
	uint8_t    *state;			/* 1 on the path, 2 done */
	int64_t		n_lay = 0,
				max_feat = -1,
				nw_lay = 0;
	bool		fast_ok = true,
				float_ok = true,
				inline_ok = true;
	int			kind;

	f->T = n_targets;
	f->n_trees = r->n_roots;
	f->all_positive = r->all_positive;
	f->one_class_id = r->one_class_id;
	for (int64_t i = 0; i < r->n; i++)
	{
		if (r->mode[i] == M_LEAF)
			continue;
		if (r->feat[i] < 0 || r->feat[i] >= INT32_MAX / 4)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "a tree node has feature index %lld",
								  (long long) r->feat[i]);
		if (r->feat[i] > max_feat)
			max_feat = r->feat[i];
	}
	for (int64_t k = 0; k < r->nw; k++)
		if (r->w_target[k] < 0 || r->w_target[k] >= n_targets)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "a leaf weight names target %lld of %lld",
								  (long long) r->w_target[k], (long long) n_targets);
	f->K = (int32_t) (max_feat + 1);

	if (!(lay = tmp_alloc(tmp, r->n, sizeof(int64_t))) || !(src = tmp_alloc(tmp, cap, sizeof(int64_t))) ||
		!(q = tmp_alloc(tmp, cap, sizeof(int64_t))) || !(qd = tmp_alloc(tmp, cap, sizeof(int64_t))) ||
		!(lay_stamp = tmp_alloc(tmp, r->n, sizeof(int64_t))) || !(seen = tmp_alloc(tmp, r->n, sizeof(int64_t))) ||
		!(below = tmp_alloc(tmp, r->n, sizeof(int64_t))) || !(state = tmp_alloc(tmp, r->n, 1)) ||
		!(ct = tmp_alloc(tmp, cap, sizeof(int64_t))) || !(cf = tmp_alloc(tmp, cap, sizeof(int64_t))))
		return oom(err);
	if (!(f->root = aalloc(arena, f->n_trees, sizeof(int32_t))) ||
		!(f->depth = aalloc(arena, f->n_trees, sizeof(int32_t))) ||
		!(f->tree_target = aalloc(arena, f->n_trees, sizeof(int32_t))))
		return oom(err);

	/*
	 * Per tree: a depth-first walk checks that it has no cycle (a node met
	 * again while its own subtree is being walked) and measures the
	 * longest path; subtrees shared within a tree (a DAG, as converters
	 * make for categorical splits) are fine and laid out once.  Then
	 * breadth first: the layout position of every node reached (a node
	 * shared between trees is laid out in each).  src maps positions back;
	 * ct / cf are the children's positions.
	 */
	for (int64_t t = 0; t < r->n_roots; t++)
	{
		int64_t		qh = 0,
					qt = 0,
					sp = 0;
		int64_t		root = r->roots[t];
		int64_t		stamp = t + 1;

		if (root < 0 || root >= r->n)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree root out of range");
		/* depth first, iteratively: q holds the path, qd how far each node got */
		q[sp] = root;
		qd[sp++] = 0;
		while (sp > 0)
		{
			int64_t		i = q[sp - 1];

			if (seen[i] != stamp)
			{
				seen[i] = stamp;
				state[i] = 1;	/* on the path */
				below[i] = 0;
			}
			if (r->mode[i] == M_LEAF || qd[sp - 1] == 2)
			{
				state[i] = 2;
				if (--sp > 0)
				{
					int64_t		p = q[sp - 1];

					if (below[i] + 1 > below[p])
						below[p] = below[i] + 1;
				}
				continue;
			}
			{
				int64_t		c = qd[sp - 1]++ == 0 ? r->tru[i] : r->fal[i];

				if (seen[c] == stamp && state[c] == 1)
					return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree %lld has a cycle", (long long) t);
				if (seen[c] == stamp)
				{
					if (below[c] + 1 > below[i])
						below[i] = below[c] + 1;
					continue;
				}
				if (sp >= cap)
					return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "tree %lld is too deep", (long long) t);
				q[sp] = c;
				qd[sp++] = 0;
			}
		}
		f->depth[t] = (int32_t) (below[root] > INT32_MAX ? INT32_MAX : below[root]);

		/* breadth first: positions */
		f->root[t] = (int32_t) n_lay;
		q[qt++] = root;
		lay_stamp[root] = stamp;
		lay[root] = n_lay;
		src[n_lay++] = root;
		while (qh < qt)
		{
			int64_t		i = q[qh++];

			if (r->mode[i] == M_LEAF)
				continue;
			for (int side = 0; side < 2; side++)
			{
				int64_t		c = side == 0 ? r->tru[i] : r->fal[i];

				if (lay_stamp[c] != stamp)
				{
					if (n_lay >= cap)
						return onnx_error_set(err, ONNX_ERR_LIMIT, "tree ensemble shares too many nodes between trees");
					lay_stamp[c] = stamp;
					lay[c] = n_lay;
					src[n_lay++] = c;
					q[qt++] = c;
				}
				(side == 0 ? ct : cf)[lay[i]] = lay[c];
			}
		}
	}
	f->n_nodes = n_lay;
	if (n_lay > INT32_MAX / 2)
		return onnx_error_set(err, ONNX_ERR_LIMIT, "tree ensemble is too large");
	if (!(f->group_depth = aalloc(arena, f->n_trees / 16 + 1, sizeof(int32_t))))
		return oom(err);
	for (int64_t t = 0; t < f->n_trees; t++)
		if (f->depth[t] > f->group_depth[t / 16])
			f->group_depth[t / 16] = f->depth[t];

	/* which layout: every split expressible as "<", thresholds as floats? */
	for (int64_t k = 0; k < n_lay && fast_ok; k++)
	{
		int64_t		i = src[k];
		bool		neg,
					swap;
		double		thr;

		if (r->mode[i] == M_LEAF)
			continue;
		if (!fast_split(r->mode[i], r->miss[i], r->thr[i], &neg, &thr, &swap, true))
			fast_ok = false;
		else if (float_ok && !fast_split(r->mode[i], r->miss[i], r->thr[i], &neg, &thr, &swap, false))
			float_ok = false;
	}
	/* the float walks index features times ROW_BLOCK in 32 bits */
	if ((int64_t) f->K * 2 * ROW_BLOCK >= INT32_MAX)
		float_ok = false;
	kind = !fast_ok ? LAYOUT_GENERIC : float_ok ? LAYOUT_FLOAT : LAYOUT_DOUBLE;
	f->layout = kind;

	/* leaf weights: inline (one per leaf, one target per tree) or CSR */
	for (int64_t t = 0; t < f->n_trees && inline_ok; t++)
	{
		int64_t		end = t + 1 < f->n_trees ? f->root[t + 1] : n_lay;

		f->tree_target[t] = -1;
		for (int64_t k = f->root[t]; k < end && inline_ok; k++)
		{
			int64_t		i = src[k];
			int64_t		w0 = r->leaf_start[i];

			if (r->mode[i] != M_LEAF)
				continue;
			if (r->leaf_start[i + 1] - w0 != 1 ||
				(kind == LAYOUT_FLOAT && (double) (float) r->w_value[w0] != r->w_value[w0]))
				inline_ok = false;
			else if (f->tree_target[t] < 0)
				f->tree_target[t] = (int32_t) r->w_target[w0];
			else if (f->tree_target[t] != r->w_target[w0])
				inline_ok = false;
		}
		if (f->tree_target[t] < 0)
			f->tree_target[t] = 0;
	}
	f->inline_leaf = inline_ok;
	f->one_target = inline_ok && f->n_trees > 0 ? f->tree_target[0] : -1;
	for (int64_t t = 1; t < f->n_trees && f->one_target >= 0; t++)
		if (f->tree_target[t] != f->one_target)
			f->one_target = -1;
	if (!inline_ok)
	{
		for (int64_t k = 0; k < n_lay; k++)
			if (r->mode[src[k]] == M_LEAF)
				nw_lay += r->leaf_start[src[k] + 1] - r->leaf_start[src[k]];
		if (nw_lay > INT32_MAX)
			return onnx_error_set(err, ONNX_ERR_LIMIT, "tree ensemble is too large");
		if (!(f->wstart = aalloc(arena, n_lay + 1, sizeof(int32_t))) ||
			!(f->w_target = aalloc(arena, nw_lay, sizeof(int32_t))) ||
			!(f->w_value = aalloc(arena, nw_lay, sizeof(double))))
			return oom(err);
		nw_lay = 0;
		for (int64_t k = 0; k < n_lay; k++)
		{
			int64_t		i = src[k];

			f->wstart[k] = (int32_t) nw_lay;
			if (r->mode[i] != M_LEAF)
				continue;
			for (int64_t w = r->leaf_start[i]; w < r->leaf_start[i + 1]; w++)
			{
				f->w_target[nw_lay] = (int32_t) r->w_target[w];
				f->w_value[nw_lay++] = r->w_value[w];
			}
		}
		f->wstart[n_lay] = (int32_t) nw_lay;
	}

	/*
	 * Which targets a row gets weights for (onnxruntime reports a target
	 * no leaf reached as 0): row-independent when each tree's leaves all
	 * name a target or none does.
	 */
	{
		int64_t    *cnt = tmp_alloc(tmp, n_targets, sizeof(int64_t));
		int64_t    *stamp = tmp_alloc(tmp, n_targets, sizeof(int64_t));

		if (cnt == NULL || stamp == NULL || !(f->has_target = aalloc(arena, n_targets, 1)))
			return oom(err);
		f->has_static = true;
		for (int64_t t = 0; t < f->n_trees; t++)
		{
			int64_t		end = t + 1 < f->n_trees ? f->root[t + 1] : n_lay;
			int64_t		leaves = 0;

			for (int64_t k = f->root[t]; k < end; k++)
			{
				int64_t		i = src[k];

				if (r->mode[i] != M_LEAF)
					continue;
				leaves++;
				for (int64_t w = r->leaf_start[i]; w < r->leaf_start[i + 1]; w++)
				{
					int64_t		tg = r->w_target[w];

					if (stamp[tg] != t + 1)
					{
						stamp[tg] = t + 1;
						cnt[tg] = 0;
					}
					cnt[tg]++;
				}
			}
			for (int64_t tg = 0; tg < n_targets; tg++)
				if (stamp[tg] == t + 1)
				{
					/* a leaf with the target twice counts more than once: dynamic then */
					if (cnt[tg] != leaves)
						f->has_static = false;
					f->has_target[tg] = 1;
				}
		}
	}

	/* the nodes */
	f->need_neg = false;
	if (kind == LAYOUT_FLOAT || kind == LAYOUT_DOUBLE)
	{
		FNode	   *fn = NULL;
		DNode	   *dn = NULL;

		if (kind == LAYOUT_FLOAT ? !(fn = aalloc(arena, n_lay, sizeof(FNode))) : !(dn = aalloc(arena, n_lay, sizeof(DNode))))
			return oom(err);
		f->nodes = kind == LAYOUT_FLOAT ? (void *) fn : (void *) dn;
		for (int64_t k = 0; k < n_lay; k++)
		{
			int64_t		i = src[k];
			int32_t		c0,
						c1,
						feat;
			double		thr;

			if (r->mode[i] == M_LEAF)
			{
				c0 = c1 = (int32_t) k;
				feat = 0;
				thr = f->inline_leaf ? r->w_value[r->leaf_start[i]] : 0;
			}
			else
			{
				bool		neg,
							swap;

				/* children are paired below */
				(void) fast_split(r->mode[i], r->miss[i], r->thr[i], &neg, &thr, &swap, kind == LAYOUT_DOUBLE);
				c0 = c1 = 0;
				feat = (int32_t) r->feat[i] + (neg ? f->K : 0);
				if (kind == LAYOUT_FLOAT)
					feat *= ROW_BLOCK;	/* the float walks read a column-major block */
				if (neg)
					f->need_neg = true;
			}
			if (fn)
			{
				fn[k].thr = (float) thr;
				fn[k].feat = feat;
				fn[k].c[0] = c0;
				fn[k].c[1] = c1;
			}
			else
			{
				dn[k].thr = thr;
				dn[k].feat = feat;
				dn[k].c[0] = c0;
				dn[k].c[1] = c1;
			}
		}
	}
	else
	{
		GNode	   *gn = aalloc(arena, n_lay, sizeof(GNode));

		if (gn == NULL || !(f->set_vals = aalloc(arena, r->n_set_vals, sizeof(double))))
			return oom(err);
		for (int64_t k = 0; k < r->n_set_vals; k++)
			f->set_vals[k] = r->set_vals[k];
		f->nodes = gn;
		for (int64_t k = 0; k < n_lay; k++)
		{
			int64_t		i = src[k];

			gn[k].mode = r->mode[i];
			gn[k].miss = r->miss[i];
			gn[k].feat = r->mode[i] == M_LEAF ? 0 : (int32_t) r->feat[i];
			gn[k].thr = r->mode[i] == M_LEAF ? (f->inline_leaf ? r->w_value[r->leaf_start[i]] : 0) : r->thr[i];
			gn[k].c[0] = gn[k].c[1] = (int32_t) k;
			if (r->set_start && r->mode[i] == M_MEMBER)
			{
				gn[k].set = (int32_t) r->set_start[i];
				gn[k].set_end = (int32_t) r->set_start[i + 1];
			}
		}
	}

	/* children */
	for (int64_t k = 0; k < n_lay; k++)
	{
		int64_t		i = src[k];
		int32_t		t = (int32_t) ct[k],
					e = (int32_t) cf[k];

		if (r->mode[i] == M_LEAF)
			continue;
		if (kind == LAYOUT_GENERIC)
		{
			GNode	   *gn = f->nodes;

			gn[k].c[0] = t;
			gn[k].c[1] = e;
		}
		else
		{
			bool		neg,
						swap;
			double		thr;

			(void) fast_split(r->mode[i], r->miss[i], r->thr[i], &neg, &thr, &swap, kind == LAYOUT_DOUBLE);
			if (kind == LAYOUT_FLOAT)
			{
				FNode	   *fn = f->nodes;

				fn[k].c[0] = swap ? e : t;
				fn[k].c[1] = swap ? t : e;
			}
			else
			{
				DNode	   *dn = f->nodes;

				dn[k].c[0] = swap ? e : t;
				dn[k].c[1] = swap ? t : e;
			}
		}
	}
	return complete_layout(f, arena, err);
}

/* ---- evaluation ---- */


static inline void
leaf_inline(double *a, double v, int agg)
{
	bool		f32 = (agg & AGG_F32) != 0;

	v = rnd(f32, v);
	switch (agg & 7)
	{
		case AGG_MIN:
			*a = v < *a ? v : *a;
			break;
		case AGG_MAX:
			*a = v > *a ? v : *a;
			break;
		default:
			*a = rnd(f32, *a + v);
			break;
	}
}

/* Add one leaf's weights to a row's accumulators. */
static inline void
leaf_csr(const Forest *f, int32_t leaf, double *acc, uint8_t *has, int agg)
{
	for (int32_t w = f->wstart[leaf]; w < f->wstart[leaf + 1]; w++)
	{
		leaf_inline(&acc[f->w_target[w]], f->w_value[w], agg);
		if (has)
			has[f->w_target[w]] = 1;
	}
}

/*
 * The fast walks for one node type: rows in lockstep through one tree
 * (trees outer), or, for a single row, trees in lockstep.  xb: the block
 * of rows, W columns each (features, then negated features).  The
 * descents fill idx with leaf positions; the sums follow in tree order.
 */
/*
 * A step of lane k: OFF(k) is where the lane's row starts relative to x0
 * (float layout: column-major block, feat stored times ROW_BLOCK, the row
 * is k; double layout: row-major, k * W).
 */
#define STEP(nd, i, x0, off) (nd[i].c[!((x0)[nd[i].feat + (off)] < nd[i].thr)])

/* Leaves of tree t for m rows into idx. */
typedef void (*DescendRowsFn) (const void *nodes, int32_t root, int dep, const void *xb, int64_t W, int64_t m,
							   int32_t *idx);
/* Leaves of trees t0..t0+16 for one row. */
typedef void (*DescendTreesFn) (const void *nodes, const int32_t *roots, int dep, const void *x, int32_t *idx);

#define DEFINE_FAST(NAME, NODE, XT, ROWSTRIDE) \
static void \
NAME##_descend_rows(const void *nodes, int32_t root, int dep, const void *xbv, int64_t W, int64_t m, int32_t *idx) \
{ \
	const NODE *nd = nodes; \
	const XT   *xb = xbv; \
	const int64_t rs = (ROWSTRIDE); \
	int64_t		r = 0; \
	(void) W; \
	for (; r + LANES <= m; r += LANES) \
	{ \
		const XT   *x0 = xb + r * rs; \
		int64_t		i0 = root, i1 = root, i2 = root, i3 = root, \
					i4 = root, i5 = root, i6 = root, i7 = root; \
		for (int d = 0; d < dep; d++) \
		{ \
			i0 = STEP(nd, i0, x0, 0); \
			i1 = STEP(nd, i1, x0, rs); \
			i2 = STEP(nd, i2, x0, 2 * rs); \
			i3 = STEP(nd, i3, x0, 3 * rs); \
			i4 = STEP(nd, i4, x0, 4 * rs); \
			i5 = STEP(nd, i5, x0, 5 * rs); \
			i6 = STEP(nd, i6, x0, 6 * rs); \
			i7 = STEP(nd, i7, x0, 7 * rs); \
		} \
		idx[r] = (int32_t) i0; idx[r + 1] = (int32_t) i1; idx[r + 2] = (int32_t) i2; idx[r + 3] = (int32_t) i3; \
		idx[r + 4] = (int32_t) i4; idx[r + 5] = (int32_t) i5; idx[r + 6] = (int32_t) i6; idx[r + 7] = (int32_t) i7; \
	} \
	for (; r < m; r++) \
	{ \
		int64_t		i0 = root; \
		for (int d = 0; d < dep; d++) \
			i0 = STEP(nd, i0, xb + r * rs, 0); \
		idx[r] = (int32_t) i0; \
	} \
} \
\
static void \
NAME##_descend_trees(const void *nodes, const int32_t *rt, int dep, const void *xv, int32_t *idx) \
{ \
	const NODE *nd = nodes; \
	const XT   *x = xv; \
	for (int h = 0; h < 16; h += LANES) \
	{ \
		int64_t		i0 = rt[h], i1 = rt[h + 1], i2 = rt[h + 2], i3 = rt[h + 3], \
					i4 = rt[h + 4], i5 = rt[h + 5], i6 = rt[h + 6], i7 = rt[h + 7]; \
		for (int d = 0; d < dep; d++) \
		{ \
			i0 = STEP(nd, i0, x, 0); \
			i1 = STEP(nd, i1, x, 0); \
			i2 = STEP(nd, i2, x, 0); \
			i3 = STEP(nd, i3, x, 0); \
			i4 = STEP(nd, i4, x, 0); \
			i5 = STEP(nd, i5, x, 0); \
			i6 = STEP(nd, i6, x, 0); \
			i7 = STEP(nd, i7, x, 0); \
		} \
		idx[h] = (int32_t) i0; idx[h + 1] = (int32_t) i1; idx[h + 2] = (int32_t) i2; idx[h + 3] = (int32_t) i3; \
		idx[h + 4] = (int32_t) i4; idx[h + 5] = (int32_t) i5; idx[h + 6] = (int32_t) i6; idx[h + 7] = (int32_t) i7; \
	} \
} \
\
static inline XT \
NAME##_leaf(const void *nodes, int32_t i) \
{ \
	return ((const NODE *) nodes)[i].thr; \
}

DEFINE_FAST(fastf, FNode, float, 1)
DEFINE_FAST(fastd, DNode, double, W)

/*
 * x: the block column by column (feature j of row r at j * ROW_BLOCK + r),
 * so that a lane's feature is its split's feat (stored times ROW_BLOCK)
 * plus the lane's row: one address, no per-row pointer.
 */
#define CSTEP(cn, i, xr, k) (2 * (i) + 1 + !((xr)[cn[i].feat + (k)] < cn[i].thr))

/* Complete layout: leaf numbers (0 .. 2^D) of one tree for m rows. */
static void
complete_descend_rows(const CNode *cn, int D, const float *xc, int64_t m, int32_t *idx)
{
	int64_t		first = ((int64_t) 1 << D) - 1;
	int64_t		r = 0;

	for (; r + LANES <= m; r += LANES)
	{
		const float *x0 = xc + r;
		int64_t		i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0, i7 = 0;

		for (int d = 0; d < D; d++)
		{
			i0 = CSTEP(cn, i0, x0, 0);
			i1 = CSTEP(cn, i1, x0, 1);
			i2 = CSTEP(cn, i2, x0, 2);
			i3 = CSTEP(cn, i3, x0, 3);
			i4 = CSTEP(cn, i4, x0, 4);
			i5 = CSTEP(cn, i5, x0, 5);
			i6 = CSTEP(cn, i6, x0, 6);
			i7 = CSTEP(cn, i7, x0, 7);
		}
		idx[r] = (int32_t) (i0 - first);
		idx[r + 1] = (int32_t) (i1 - first);
		idx[r + 2] = (int32_t) (i2 - first);
		idx[r + 3] = (int32_t) (i3 - first);
		idx[r + 4] = (int32_t) (i4 - first);
		idx[r + 5] = (int32_t) (i5 - first);
		idx[r + 6] = (int32_t) (i6 - first);
		idx[r + 7] = (int32_t) (i7 - first);
	}
	for (; r < m; r++)
	{
		int64_t		i0 = 0;

		for (int d = 0; d < D; d++)
			i0 = CSTEP(cn, i0, xc + r, 0);
		idx[r] = (int32_t) (i0 - first);
	}
}

#ifdef TREES_AVX512
#define CV_LANES 16				/* rows a vector */
#define CV_VECS 4				/* vectors walked together */

/*
 * complete_descend_rows with AVX-512, for the first m - m % 64 rows (the
 * count is returned; the caller walks the rest): sixteen rows a vector,
 * four vectors interleaved.  The splits of the first four levels (nodes
 * 0..14) come from registers, deeper ones are gathered; the features are
 * gathered from the column-major block.  A step is the scalar one: "x <
 * thr" is an ordered compare (NaN goes right), i = 2i + 1 + !(x < thr).
 *
 *	  xc (F columns of ROW_BLOCK rows), cn (2^D - 1 splits) -> idx (m) leaves
 */
__attribute__((target("avx512f")))
static int64_t
complete_descend_rows_avx512(const CNode *cn, int D, const float *xc, int64_t m, int32_t *idx)
{
	const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	const __m512i one = _mm512_set1_epi32(1);
	const __m512i two = _mm512_set1_epi32(2);
	const __m512i first = _mm512_set1_epi32((1 << D) - 1);
	float		top_thr[CV_LANES] = {0};
	int32_t		top_feat[CV_LANES] = {0};
	int			top = D < 4 ? D : 4;
	int64_t		r = 0;
	__m512		tthr;
	__m512i		tfeat;

	/* the splits of levels 0 .. top-1: nodes 0 .. 2^top - 2 (at most 15) */
	for (int i = 0; i < (1 << top) - 1; i++)
	{
		top_thr[i] = cn[i].thr;
		top_feat[i] = cn[i].feat;
	}
	tthr = _mm512_loadu_ps(top_thr);
	tfeat = _mm512_loadu_si512(top_feat);
	for (; r + CV_LANES * CV_VECS <= m; r += CV_LANES * CV_VECS)
	{
		__m512i		i[CV_VECS],
					row[CV_VECS];

		for (int v = 0; v < CV_VECS; v++)
		{
			i[v] = _mm512_setzero_si512();
			row[v] = _mm512_add_epi32(lane, _mm512_set1_epi32((int) (r + CV_LANES * v)));
		}
		for (int d = 0; d < D; d++)
			for (int v = 0; v < CV_VECS; v++)
			{
				__m512		thr;
				__m512i		feat,
							next;
				__m512		x;
				__mmask16	lt;

				if (d < top)
				{
					thr = _mm512_permutexvar_ps(i[v], tthr);
					feat = _mm512_permutexvar_epi32(i[v], tfeat);
				}
				else
				{
					thr = _mm512_i32gather_ps(i[v], (const float *) cn, sizeof(CNode));
					feat = _mm512_i32gather_epi32(i[v], (const int32_t *) cn + 1, sizeof(CNode));
				}
				x = _mm512_i32gather_ps(_mm512_add_epi32(feat, row[v]), xc, sizeof(float));
				lt = _mm512_cmp_ps_mask(x, thr, _CMP_LT_OQ);
				next = _mm512_add_epi32(_mm512_add_epi32(i[v], i[v]), two);
				i[v] = _mm512_mask_sub_epi32(next, lt, next, one);
			}
		for (int v = 0; v < CV_VECS; v++)
			_mm512_storeu_si512(idx + r + CV_LANES * v, _mm512_sub_epi32(i[v], first));
	}
	return r;
}

/*
 * acc[r] += cv[idx[r]] for the first n - n % 16 rows of one target (T =
 * 1), as the scalar loop adds: in float (f32: the double holds a float,
 * and a float sum rounded once is the float addition) or in double.
 * Returns the rows done.
 */
__attribute__((target("avx512f")))
static int64_t
complete_add_leaves_avx512(const float *cv, const int32_t *idx, int64_t n, double *acc, bool f32)
{
	int64_t		r = 0;

	for (; r + CV_LANES <= n; r += CV_LANES)
	{
		__m512		w = _mm512_i32gather_ps(_mm512_loadu_si512(idx + r), cv, sizeof(float));
		__m256		lo = _mm512_castps512_ps256(w);
		__m256		hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(w), 1));
		__m512d		a0 = _mm512_loadu_pd(acc + r);
		__m512d		a1 = _mm512_loadu_pd(acc + r + 8);

		if (f32)
		{
			a0 = _mm512_cvtps_pd(_mm256_add_ps(_mm512_cvtpd_ps(a0), lo));
			a1 = _mm512_cvtps_pd(_mm256_add_ps(_mm512_cvtpd_ps(a1), hi));
		}
		else
		{
			a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(lo));
			a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(hi));
		}
		_mm512_storeu_pd(acc + r, a0);
		_mm512_storeu_pd(acc + r + 8, a1);
	}
	return r;
}
#endif

static void
complete_rows(const Forest *f, const float *xc, int64_t m, double *acc, int64_t T, int agg)
{
	int32_t		idx[ROW_BLOCK];
#ifdef TREES_AVX512
	bool		avx512 = onnx_vec_isa() >= ONNX_VEC_AVX512;
#endif

	for (int64_t t = 0; t < f->n_trees; t++)
	{
		const float *cv = f->cv + f->cv_off[t];
		int64_t		tg = f->tree_target[t];
		int64_t		done = 0;

#ifdef TREES_AVX512
		if (avx512)
			done = complete_descend_rows_avx512(f->cn + f->cn_off[t], f->depth[t], xc, m, idx);
#endif
		complete_descend_rows(f->cn + f->cn_off[t], f->depth[t], xc + done, m - done, idx + done);
#ifdef TREES_AVX512
		if (avx512 && T == 1 && ((agg & 7) == AGG_SUM || (agg & 7) == AGG_AVERAGE))
		{
			bool		f32 = (agg & AGG_F32) != 0;
			int64_t		r = complete_add_leaves_avx512(cv, idx, m, acc, f32);

			for (; r < m; r++)
				acc[r] = f32 ? (float) (acc[r] + cv[idx[r]]) : acc[r] + cv[idx[r]];
			continue;
		}
#endif
		if (agg == (AGG_SUM | AGG_F32) || agg == (AGG_AVERAGE | AGG_F32))
			for (int64_t r = 0; r < m; r++)
				acc[r * T + tg] = (float) (acc[r * T + tg] + cv[idx[r]]);
		else if (agg == AGG_SUM || agg == AGG_AVERAGE)
			for (int64_t r = 0; r < m; r++)
				acc[r * T + tg] += cv[idx[r]];
		else
			for (int64_t r = 0; r < m; r++)
				leaf_inline(&acc[r * T + tg], cv[idx[r]], agg);
	}
}

/* Sum (min, max) the leaves idx[0..m) of tree t into rows of acc. */
static inline void
add_leaves(const Forest *f, int64_t t, const int32_t *idx, int64_t m, double *acc, uint8_t *has, int64_t T,
		   int agg, bool dbl)
{
	if (f->inline_leaf)
	{
		int64_t		tg = f->tree_target[t];

		if (agg == (AGG_SUM | AGG_F32) || agg == (AGG_AVERAGE | AGG_F32))
		{
			for (int64_t r = 0; r < m; r++)
				acc[r * T + tg] = (float) (acc[r * T + tg] +
										   (dbl ? (float) fastd_leaf(f->nodes, idx[r]) : fastf_leaf(f->nodes, idx[r])));
		}
		else if (agg == AGG_SUM || agg == AGG_AVERAGE)
		{
			for (int64_t r = 0; r < m; r++)
				acc[r * T + tg] += dbl ? fastd_leaf(f->nodes, idx[r]) : fastf_leaf(f->nodes, idx[r]);
		}
		else
			for (int64_t r = 0; r < m; r++)
				leaf_inline(&acc[r * T + tg], dbl ? fastd_leaf(f->nodes, idx[r]) : fastf_leaf(f->nodes, idx[r]), agg);
	}
	else
		for (int64_t r = 0; r < m; r++)
			leaf_csr(f, idx[r], acc + r * T, has ? has + r * T : NULL, agg);
}

/* Rows in lockstep, tree by tree. */
static void
fast_rows(const Forest *f, DescendRowsFn descend, bool dbl, const void *xb, int64_t W, int64_t m,
		  double *acc, uint8_t *has, int64_t T, int agg)
{
	int32_t		idx[ROW_BLOCK];

	for (int64_t t = 0; t < f->n_trees; t++)
	{
		descend(f->nodes, f->root[t], f->depth[t], xb, W, m, idx);
		add_leaves(f, t, idx, m, acc, has, T, agg, dbl);
	}
}

/* One row: trees in lockstep, sixteen at a time. */
static void
fast_trees(const Forest *f, DescendTreesFn descend, bool dbl, const void *x, double *acc, uint8_t *has, int agg)
{
	int32_t		idx[16];
	int64_t		t = 0;
	bool		sum1 = f->inline_leaf && f->one_target >= 0 && ((agg & 7) == AGG_SUM || (agg & 7) == AGG_AVERAGE);
	bool		f32 = (agg & AGG_F32) != 0;
	float		sf = sum1 ? (float) acc[f->one_target] : 0;
	double		sd = sum1 ? acc[f->one_target] : 0;

	for (; t + 16 <= f->n_trees; t += 16)
	{
		int			dep = f->group_depth[t / 16];

		descend(f->nodes, f->root + t, dep, x, idx);
		if (sum1 && f32)
			for (int k = 0; k < 16; k++)
				sf += dbl ? (float) fastd_leaf(f->nodes, idx[k]) : fastf_leaf(f->nodes, idx[k]);
		else if (sum1)
			for (int k = 0; k < 16; k++)
				sd += dbl ? fastd_leaf(f->nodes, idx[k]) : fastf_leaf(f->nodes, idx[k]);
		else
			for (int k = 0; k < 16; k++)
			{
				if (f->inline_leaf)
					leaf_inline(&acc[f->tree_target[t + k]],
								dbl ? fastd_leaf(f->nodes, idx[k]) : fastf_leaf(f->nodes, idx[k]), agg);
				else
					leaf_csr(f, idx[k], acc, has, agg);
			}
	}
	if (sum1)
		acc[f->one_target] = f32 ? sf : sd;
	for (; t < f->n_trees; t++)
	{
		int32_t		i0;

		if (dbl)
			fastd_descend_rows(f->nodes, f->root[t], f->depth[t], x, 0, 1, &i0);
		else
			fastf_descend_rows(f->nodes, f->root[t], f->depth[t], x, 0, 1, &i0);
		if (f->inline_leaf)
			leaf_inline(&acc[f->tree_target[t]], dbl ? fastd_leaf(f->nodes, i0) : fastf_leaf(f->nodes, i0), agg);
		else
			leaf_csr(f, i0, acc, has, agg);
	}
}

/* Generic walk of one tree for one row (x: double, K columns). */
static inline int32_t
walk_generic(const Forest *f, int32_t i, const double *x)
{
	const GNode *nd = f->nodes;

	while (nd[i].mode != M_LEAF)
	{
		const GNode *p = &nd[i];
		double		v = x[p->feat],
					t = p->thr;
		bool		go;

		switch (p->mode)
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
			case M_NEQ:
				go = v != t;
				break;
			default:
				go = false;
				for (int32_t k = p->set; k < p->set_end && !go; k++)
					go = v == f->set_vals[k];
				break;
		}
		if (p->miss && isnan(v))
			go = true;
		i = p->c[go ? 0 : 1];
	}
	return i;
}

static void
generic_rows(const Forest *f, const double *xb, int64_t W, int64_t m, double *acc, uint8_t *has, int64_t T, int agg)
{
	const GNode *nd = f->nodes;

	for (int64_t t = 0; t < f->n_trees; t++)
		for (int64_t r = 0; r < m; r++)
		{
			int32_t		leaf = walk_generic(f, f->root[t], xb + r * W);

			if (f->inline_leaf)
				leaf_inline(&acc[r * T + f->tree_target[t]], nd[leaf].thr, agg);
			else
				leaf_csr(f, leaf, acc + r * T, has ? has + r * T : NULL, agg);
		}
}

/* floor and ceiling of a double among floats */
static inline float
float_down(double v)
{
	float		f = (float) v;

	return (double) f > v ? nextafterf(f, -INFINITY) : f;
}

static inline float
float_upper(double v)
{
	float		f = (float) v;

	return (double) f < v ? nextafterf(f, INFINITY) : f;
}

/*
 * Rows [r0, r0 + m) of X into a block: the K features read, then
 * (need_neg) their negations; column by column (feature j of row r at
 * j * ROW_BLOCK + r) for the float layout.  Float layout: float and half inputs
 * exactly, integers rounded to float as onnxruntime compares them, doubles
 * rounded down (and negations up) so that "<" against float thresholds
 * decides as the exact comparison would.
 */
static void
load_block_f(const Forest *f, const OnnxTensor *x, int64_t F, int64_t r0, int64_t m, float *xc)
{
	int32_t		K = f->K;

	for (int64_t r = 0; r < m; r++)
	{
		int64_t		base = (r0 + r) * F;

		switch (x->dtype)
		{
			case ONNX_DTYPE_FLOAT:
				for (int32_t j = 0; j < K; j++)
					xc[j * ROW_BLOCK + r] = ((const float *) x->data)[base + j];
				if (f->need_neg)
					for (int32_t j = 0; j < K; j++)
						xc[(K + j) * ROW_BLOCK + r] = -((const float *) x->data)[base + j];
				break;
			case ONNX_DTYPE_DOUBLE:
				for (int32_t j = 0; j < K; j++)
				{
					double		v = ((const double *) x->data)[base + j];

					xc[j * ROW_BLOCK + r] = float_down(v);
					if (f->need_neg)
						xc[(K + j) * ROW_BLOCK + r] = -float_upper(v);
				}
				break;
			default:
				for (int32_t j = 0; j < K; j++)
				{
					float		v = x->dtype == ONNX_DTYPE_INT64 || x->dtype == ONNX_DTYPE_INT32 ?
						(float) onnx_tensor_get_i64(x, base + j) : (float) onnx_tensor_get_f64(x, base + j);

					xc[j * ROW_BLOCK + r] = v;
					if (f->need_neg)
						xc[(K + j) * ROW_BLOCK + r] = -v;
				}
				break;
		}
	}
}

/* Double layouts and the generic walk: X as double (non-double inputs as float first). */
static void
load_block_d(const Forest *f, const OnnxTensor *x, int64_t F, int64_t r0, int64_t m, double *xb, int64_t W, bool neg)
{
	int32_t		K = f->K;

	for (int64_t r = 0; r < m; r++)
	{
		double	   *o = xb + r * W;
		int64_t		base = (r0 + r) * F;

		for (int32_t j = 0; j < K; j++)
		{
			double		v;

			if (x->dtype == ONNX_DTYPE_DOUBLE)
				v = ((const double *) x->data)[base + j];
			else if (x->dtype == ONNX_DTYPE_FLOAT)
				v = ((const float *) x->data)[base + j];
			else if (x->dtype == ONNX_DTYPE_INT64 || x->dtype == ONNX_DTYPE_INT32)
				v = (float) onnx_tensor_get_i64(x, base + j);
			else
				v = onnx_tensor_get_f64(x, base + j);
			o[j] = v;
			if (neg)
				o[K + j] = -v;
		}
	}
}

/*
 * Every tree for rows [r0, r0 + m) (m <= ROW_BLOCK) into acc and has
 * (the whole outputs), with xb as the block's buffer.  Calls nothing of
 * the session: it may run on a pool thread (forest_eval).
 */
static void
eval_block(const Forest *f, const OnnxTensor *x, int64_t F, int64_t W, int64_t r0, int64_t m,
		   int agg, double *acc, uint8_t *has, void *xb)
{
	int64_t		T = f->T;
	double	   *a = acc + r0 * T;
	uint8_t    *h = has ? has + r0 * T : NULL;

	switch (f->layout)
	{
		case LAYOUT_FLOAT:
			load_block_f(f, x, F, r0, m, xb);
			if (f->complete && m >= 4)
				complete_rows(f, xb, m, a, T, agg);
			else if (m < 4)
				for (int64_t r = 0; r < m; r++)
					fast_trees(f, fastf_descend_trees, false, (float *) xb + r, a + r * T, h ? h + r * T : NULL, agg);
			else
				fast_rows(f, fastf_descend_rows, false, xb, W, m, a, h, T, agg);
			break;
		case LAYOUT_DOUBLE:
			load_block_d(f, x, F, r0, m, xb, W, f->need_neg);
			if (m < 4)
				for (int64_t r = 0; r < m; r++)
					fast_trees(f, fastd_descend_trees, true, (double *) xb + r * W, a + r * T, h ? h + r * T : NULL, agg);
			else
				fast_rows(f, fastd_descend_rows, true, xb, W, m, a, h, T, agg);
			break;
		default:
			load_block_d(f, x, F, r0, m, xb, W, false);
			generic_rows(f, xb, W, m, a, h, T, agg);
			break;
	}
}

/* Row blocks of one round on the pool: task t takes block b0 + t and buffer t. */
typedef struct TreeRound
{
	const Forest *f;
	const OnnxTensor *x;
	int64_t		N,
				F,
				W,
				b0;
	int			agg;
	double	   *acc;
	uint8_t    *has;
	char	   *bufs;
	size_t		buf_bytes;
} TreeRound;

static void
tree_task(void *arg, int64_t t)
{
	const TreeRound *tr = arg;
	int64_t		r0 = (tr->b0 + t) * ROW_BLOCK,
				m = tr->N - r0 < ROW_BLOCK ? tr->N - r0 : ROW_BLOCK;

	eval_block(tr->f, tr->x, tr->F, tr->W, r0, m, tr->agg, tr->acc, tr->has,
			   tr->bufs + (size_t) t * tr->buf_bytes);
}

/* Row-tree walks below which a second thread costs more than it saves. */
#define TREES_PARALLEL_MIN_WORK ((int64_t) 1 << 15)
/* Bytes of row buffers a parallel evaluation may take. */
#define TREES_PARALLEL_BUF_MAX ((size_t) 16 << 20)

/*
 * Every tree for every row into acc (N x T, initialised by the caller);
 * has (N x T or NULL) marks the targets a row got weights for.  With
 * several threads, rounds of row blocks (one buffer each) run on the
 * pool, the abort callback heard between rounds; a row's sum over the
 * trees is the same whichever thread walks it.
 */
static OnnxStatus
forest_eval(OnnxKernelCtx *ctx, const Forest *f, const OnnxTensor *x, int64_t N, int64_t F,
			int agg, double *acc, uint8_t *has)
{
	int64_t		W = f->layout == LAYOUT_GENERIC ? f->K : (f->need_neg ? 2 * (int64_t) f->K : f->K);
	int64_t		B = N < ROW_BLOCK ? N : ROW_BLOCK,
				blocks = (N + ROW_BLOCK - 1) / ROW_BLOCK,
				per_round = 1,
				work;
	size_t		esz = f->layout == LAYOUT_FLOAT ? sizeof(float) : sizeof(double),
				buf_bytes;
	int			threads = onnx_kernel_threads(ctx);
	char	   *bufs;

	if (f->K > F)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"a tree reads feature %lld, X has %lld", (long long) f->K - 1, (long long) F);
	if (N == 0 || f->n_trees == 0)
		return ONNX_OK;
	/* float layout: column-major, ROW_BLOCK rows a column; others row-major */
	buf_bytes = esz * (size_t) ((f->layout == LAYOUT_FLOAT ? ROW_BLOCK : B) * W + 1);
	buf_bytes = (buf_bytes + 63) / 64 * 64;
	if (threads > 1 && blocks > 1 && !onnx_mul_overflow_i64(N, f->n_trees, &work) &&
		work >= TREES_PARALLEL_MIN_WORK)
	{
		per_round = 4 * (int64_t) threads;
		while (per_round > threads && (size_t) per_round * buf_bytes > TREES_PARALLEL_BUF_MAX)
			per_round--;
		if ((size_t) per_round * buf_bytes > TREES_PARALLEL_BUF_MAX)
			per_round = 1;
		if (per_round > blocks)
			per_round = blocks;
	}
	if ((bufs = onnx_kernel_alloc(ctx, buf_bytes * (size_t) per_round)) == NULL)
		return ctx->err->status;
	for (int64_t b0 = 0; b0 < blocks; b0 += per_round)
	{
		TreeRound	tr = {f, x, N, F, W, b0, agg, acc, has, bufs, buf_bytes};

		if (onnx_kernel_should_abort(ctx))
		{
			onnx_kernel_free(ctx, bufs);
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		}
		onnx_parallel_for(threads, blocks - b0 < per_round ? blocks - b0 : per_round, tree_task, &tr);
	}
	onnx_kernel_free(ctx, bufs);
	return ONNX_OK;
}

/* ---- operators ---- */

/* Base values: count and element i, from the attribute or the tensor form. */
static int64_t
base_values(const OnnxNode *nd, Vals *v)
{
	vals_of(nd, "base_values", "base_values_as_tensor", v);
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
	s->block = onnx_kernel_alloc(ctx, bytes);
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
	if ((st = forest_eval(ctx, f, x, N, F, agg | (f32 ? AGG_F32 : 0), s.acc, s.has)) != ONNX_OK)
	{
		onnx_kernel_free(ctx, s.block);
		return st;
	}
	dims[0] = N;
	dims[1] = T;
	if ((y = onnx_out(ctx, 0, odt, 2, dims)) == NULL)
	{
		onnx_kernel_free(ctx, s.block);
		return ctx->err->status;
	}
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
	onnx_kernel_free(ctx, s.block);
	return ONNX_OK;
}

static OnnxStatus
run_tree_regressor(OnnxKernelCtx *ctx)
{
	return run_regressor_common(ctx, false);
}

static OnnxStatus
run_tree_ensemble(OnnxKernelCtx *ctx)
{
	return run_regressor_common(ctx, true);
}

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
	has = onnx_kernel_alloc(ctx, sizeof(bool) * (size_t) (C + 2));
	if (has == NULL)
	{
		onnx_kernel_free(ctx, s.block);
		return ctx->err->status;
	}
	if ((st = forest_eval(ctx, f, x, N, F, AGG_SUM | (x->dtype != ONNX_DTYPE_DOUBLE ? AGG_F32 : 0), s.acc, s.has)) != ONNX_OK)
		goto done;
	sdims[0] = N;
	sdims[1] = C;
	st = ONNX_ERR_OUT_OF_MEMORY;
	if ((ylab = ml_label_out(ctx, &labels, N)) == NULL ||
		(ctx->n_outputs > 1 && (ysc = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, 2, sdims)) == NULL))
	{
		st = ctx->err->status;
		goto done;
	}
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
		{
			st = ctx->err->status;
			goto done;
		}
		if (ysc)
			for (int64_t c = 0; c < C; c++)
				((float *) ysc->data)[r * C + c] = c < nw ? s.out[c] : 0;
	}
	st = ONNX_OK;
done:
	onnx_kernel_free(ctx, has);
	onnx_kernel_free(ctx, s.block);
	return st;
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
		return oom(err);
	memset(&r, 0, sizeof(r));
	if (version == 5)
	{
		T = onnx_attr_int(node, "n_targets", 1);
		st = raw_v5(node, &r, &tmp, err);
	}
	else if (version == 1)
	{
		T = onnx_attr_int(node, "n_targets", 1);
		st = raw_v3(node, "target", &r, &tmp, err);
	}
	else
	{
		MlLabels	l;

		ml_labels(node, "classlabels_int64s", "classlabels_strings", &l);
		T = l.n;
		st = raw_v3(node, "class", &r, &tmp, err);
	}
	if (st == ONNX_OK && (T < 1 || T > (1 << 20)))
		st = onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "a tree ensemble needs 1 to 2^20 targets or classes");
	if (st == ONNX_OK)
		st = layout(&r, T, f, arena, &tmp, err);
	tmp_free(&tmp);
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
