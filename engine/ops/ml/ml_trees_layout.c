/*-------------------------------------------------------------------------
 *
 * ml_trees_layout.c
 *	  The tree ensembles' layouts (ml_trees.h): Raw laid out breadth first
 *	  into the fast float, fast double or generic nodes, and the complete
 *	  heaps, in the model's arena.
 *
 *-------------------------------------------------------------------------
 */
#include "ml_trees.h"

/* Zeroed room for n + 1 elements in the arena; NULL for n < 0 or overflow. */
static void *
aalloc(OnnxArena *arena, int64_t n, size_t size)
{
	return n < 0 ? NULL : onnx_arena_alloc_array(arena, (size_t) n, size);
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
		return onnx_trees_oom(err);
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
OnnxStatus
onnx_trees_layout(const Raw *r, int64_t n_targets, Forest *f, OnnxArena *arena, Tmp *tmp, OnnxError *err)
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

	if (!(lay = onnx_trees_tmp_alloc(tmp, r->n, sizeof(int64_t))) || !(src = onnx_trees_tmp_alloc(tmp, cap, sizeof(int64_t))) ||
		!(q = onnx_trees_tmp_alloc(tmp, cap, sizeof(int64_t))) || !(qd = onnx_trees_tmp_alloc(tmp, cap, sizeof(int64_t))) ||
		!(lay_stamp = onnx_trees_tmp_alloc(tmp, r->n, sizeof(int64_t))) || !(seen = onnx_trees_tmp_alloc(tmp, r->n, sizeof(int64_t))) ||
		!(below = onnx_trees_tmp_alloc(tmp, r->n, sizeof(int64_t))) || !(state = onnx_trees_tmp_alloc(tmp, r->n, 1)) ||
		!(ct = onnx_trees_tmp_alloc(tmp, cap, sizeof(int64_t))) || !(cf = onnx_trees_tmp_alloc(tmp, cap, sizeof(int64_t))))
		return onnx_trees_oom(err);
	if (!(f->root = aalloc(arena, f->n_trees, sizeof(int32_t))) ||
		!(f->depth = aalloc(arena, f->n_trees, sizeof(int32_t))) ||
		!(f->tree_target = aalloc(arena, f->n_trees, sizeof(int32_t))))
		return onnx_trees_oom(err);

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
		return onnx_trees_oom(err);
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
			return onnx_trees_oom(err);
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
		int64_t    *cnt = onnx_trees_tmp_alloc(tmp, n_targets, sizeof(int64_t));
		int64_t    *stamp = onnx_trees_tmp_alloc(tmp, n_targets, sizeof(int64_t));

		if (cnt == NULL || stamp == NULL || !(f->has_target = aalloc(arena, n_targets, 1)))
			return onnx_trees_oom(err);
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
			return onnx_trees_oom(err);
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
			return onnx_trees_oom(err);
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
