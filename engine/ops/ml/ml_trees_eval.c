/*-------------------------------------------------------------------------
 *
 * ml_trees_eval.c
 *	  The tree ensembles' walks (ml_trees.h): every tree for every row,
 *	  by layout, in row blocks, on the thread pool.
 *
 *-------------------------------------------------------------------------
 */
#include "ml_trees.h"
#include "parallel.h"
#include "vecmath.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TREES_AVX512 1
#endif

#define LANES 8					/* walks interleaved in registers */

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
OnnxStatus
onnx_trees_forest_eval(OnnxKernelCtx *ctx, const Forest *f, const OnnxTensor *x, int64_t N, int64_t F,
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
	if ((bufs = onnx_kernel_scratch(ctx, (size_t) per_round, buf_bytes)) == NULL)
		return ctx->err->status;
	for (int64_t b0 = 0; b0 < blocks; b0 += per_round)
	{
		TreeRound	tr = {f, x, N, F, W, b0, agg, acc, has, bufs, buf_bytes};

		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		onnx_parallel_for(threads, blocks - b0 < per_round ? blocks - b0 : per_round, tree_task, &tr);
	}
	return ONNX_OK;
}
