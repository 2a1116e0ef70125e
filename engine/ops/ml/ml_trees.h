/*-------------------------------------------------------------------------
 *
 * ml_trees.h
 *	  The tree ensembles' shared parts: the node layouts, the forest, the
 *	  build-time form, and the functions between the four files
 *	  (ml_trees_attrs.c reads the attributes, ml_trees_layout.c lays the
 *	  trees out, ml_trees_eval.c walks them, ml_trees.c the operators).
 *
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
#ifndef ML_TREES_H
#define ML_TREES_H

#include <stdio.h>
#include <stdlib.h>

#include "ml_common.h"


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

typedef struct Tmp
{
	const OnnxAllocator *a;
	void	   *p[40];
	int			n;
} Tmp;

/* A float or tensor attribute list: count, element i through get. */
typedef struct Vals
{
	int64_t		n;
	const float *f;
	const OnnxTensor *t;
} Vals;

static inline double
vals_get(const Vals *v, int64_t i)
{
	return v->t ? onnx_tensor_get_f64(v->t, i) : v->f[i];
}

/* ml_trees_attrs.c: build-time memory and the attributes */
extern void *onnx_trees_tmp_alloc(Tmp *t, int64_t n, size_t size);
extern void onnx_trees_tmp_free(Tmp *t);
extern OnnxStatus onnx_trees_oom(OnnxError *err);
extern void onnx_trees_vals_of(const OnnxNode *nd, const char *fname, const char *tname, Vals *v);
extern OnnxStatus onnx_trees_raw_v3(const OnnxNode *nd, const char *wprefix, Raw *r, Tmp *tmp,
									OnnxError *err);
extern OnnxStatus onnx_trees_raw_v5(const OnnxNode *nd, Raw *r, Tmp *tmp, OnnxError *err);

/* ml_trees_layout.c */
extern OnnxStatus onnx_trees_layout(const Raw *r, int64_t n_targets, Forest *f, OnnxArena *arena,
									Tmp *tmp, OnnxError *err);

/* ml_trees_eval.c */
extern OnnxStatus onnx_trees_forest_eval(OnnxKernelCtx *ctx, const Forest *f, const OnnxTensor *x,
										 int64_t N, int64_t F, int agg, double *acc, uint8_t *has);

#endif							/* ML_TREES_H */
