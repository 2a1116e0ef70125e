/*-------------------------------------------------------------------------
 *
 * ml_trees_attrs.c
 *	  The tree ensembles' attributes (opsets 1 and 3: nodes_* and
 *	  *_weights; opset 5: leaves and set membership) read into the
 *	  build-time form Raw, every reference checked (ml_trees.h).
 *
 *-------------------------------------------------------------------------
 */
#include "ml_trees.h"

/* ---- build-time memory (the model's allocator, freed after prepare) ---- */

void *
onnx_trees_tmp_alloc(Tmp *t, int64_t n, size_t size)
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

void
onnx_trees_tmp_free(Tmp *t)
{
	for (int i = 0; i < t->n; i++)
		t->a->free(t->a->ctx, t->p[i]);
	t->n = 0;
}

OnnxStatus
onnx_trees_oom(OnnxError *err)
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

void
onnx_trees_vals_of(const OnnxNode *nd, const char *fname, const char *tname, Vals *v)
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

/* Opsets 1 and 3: node attributes, leaf weights named <wprefix>_*. */
OnnxStatus
onnx_trees_raw_v3(const OnnxNode *nd, const char *wprefix, Raw *r, Tmp *tmp, OnnxError *err)
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

	onnx_trees_vals_of(nd, "nodes_values", "nodes_values_as_tensor", &thr);
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
		onnx_trees_vals_of(nd, name, tname, &wv);
	}
	if (wv.n != nw)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "leaf weights differ in length");
	if (n > INT32_MAX / 4 || nw > INT32_MAX / 2)
		return onnx_error_set(err, ONNX_ERR_LIMIT, "tree ensemble is too large");

	r->n = n;
	r->nw = nw;
	if (!(r->feat = onnx_trees_tmp_alloc(tmp, n, sizeof(int64_t))) || !(r->thr = onnx_trees_tmp_alloc(tmp, n, sizeof(double))) ||
		!(r->mode = onnx_trees_tmp_alloc(tmp, n, 1)) || !(r->miss = onnx_trees_tmp_alloc(tmp, n, 1)) ||
		!(r->tru = onnx_trees_tmp_alloc(tmp, n, sizeof(int64_t))) || !(r->fal = onnx_trees_tmp_alloc(tmp, n, sizeof(int64_t))) ||
		!(r->roots = onnx_trees_tmp_alloc(tmp, n, sizeof(int64_t))) || !(keys = onnx_trees_tmp_alloc(tmp, n, sizeof(NodeKey))) ||
		!(r->leaf_start = onnx_trees_tmp_alloc(tmp, n + 1, sizeof(int64_t))) ||
		!(r->w_target = onnx_trees_tmp_alloc(tmp, nw, sizeof(int64_t))) || !(r->w_value = onnx_trees_tmp_alloc(tmp, nw, sizeof(double))))
		return onnx_trees_oom(err);
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
		uint8_t    *is_root = onnx_trees_tmp_alloc(tmp, n, 1);

		if (is_root == NULL)
			return onnx_trees_oom(err);
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
		int64_t    *fill = onnx_trees_tmp_alloc(tmp, n, sizeof(int64_t));

		if (fill == NULL)
			return onnx_trees_oom(err);
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

OnnxStatus
onnx_trees_raw_v5(const OnnxNode *nd, Raw *r, Tmp *tmp, OnnxError *err)
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
	if (!(r->feat = onnx_trees_tmp_alloc(tmp, n, sizeof(int64_t))) || !(r->thr = onnx_trees_tmp_alloc(tmp, n, sizeof(double))) ||
		!(r->mode = onnx_trees_tmp_alloc(tmp, n, 1)) || !(r->miss = onnx_trees_tmp_alloc(tmp, n, 1)) ||
		!(r->tru = onnx_trees_tmp_alloc(tmp, n, sizeof(int64_t))) || !(r->fal = onnx_trees_tmp_alloc(tmp, n, sizeof(int64_t))) ||
		!(r->roots = onnx_trees_tmp_alloc(tmp, nt, sizeof(int64_t))) ||
		!(r->set_start = onnx_trees_tmp_alloc(tmp, n + 1, sizeof(int64_t))) ||
		!(r->set_vals = onnx_trees_tmp_alloc(tmp, mv ? mv->count : 0, sizeof(double))) ||
		!(r->leaf_start = onnx_trees_tmp_alloc(tmp, n + 1, sizeof(int64_t))) ||
		!(r->w_target = onnx_trees_tmp_alloc(tmp, nl, sizeof(int64_t))) || !(r->w_value = onnx_trees_tmp_alloc(tmp, nl, sizeof(double))))
		return onnx_trees_oom(err);
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
