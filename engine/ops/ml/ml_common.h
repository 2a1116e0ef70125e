/*
 * ml_common.h - post-transforms shared by the ai.onnx.ml classifiers and
 * regressors (ml_trees*.c, ml_linear.c).
 */
#ifndef ML_COMMON_H
#define ML_COMMON_H

#include <float.h>
#include <math.h>

#include "op_tables.h"

typedef enum MlPost
{
	ML_POST_NONE,
	ML_POST_LOGISTIC,
	ML_POST_SOFTMAX,
	ML_POST_SOFTMAX_ZERO,
	ML_POST_PROBIT
} MlPost;

/* post_transform attribute; -1 if unknown. */
static inline int
ml_post_transform(const OnnxNode *n)
{
	const char *p = onnx_attr_string(n, "post_transform", "NONE");

	if (strcmp(p, "NONE") == 0)
		return ML_POST_NONE;
	if (strcmp(p, "LOGISTIC") == 0)
		return ML_POST_LOGISTIC;
	if (strcmp(p, "SOFTMAX") == 0)
		return ML_POST_SOFTMAX;
	if (strcmp(p, "SOFTMAX_ZERO") == 0)
		return ML_POST_SOFTMAX_ZERO;
	if (strcmp(p, "PROBIT") == 0)
		return ML_POST_PROBIT;
	return -1;
}

/*
 * The transforms as onnxruntime computes them (its ml_common.h): in single
 * precision, with its approximations, because onnxruntime is what users
 * compare against.  PROBIT uses Winitzki's erf^-1 approximation (a =
 * 0.147), not an exact inverse.
 */
static inline float
ml_logistic(float v)
{
	float		e = 1.0f / (1.0f + expf(-fabsf(v)));

	return v < 0 ? 1.0f - e : e;
}

static inline float
ml_erfinv(float x)
{
	float		sgn = x < 0 ? -1.0f : 1.0f;
	float		l,
				v,
				v2,
				v3;

	x = (1 - x) * (1 + x);
	l = logf(x);
	v = 2 / ((float) M_PI * 0.147f) + 0.5f * l;
	v2 = 1 / 0.147f * l;
	v3 = -v + sqrtf(v * v - v2);
	return sgn * sqrtf(v3);
}

static inline float
ml_probit(float p)
{
	return (float) M_SQRT2 * ml_erfinv(2 * p - 1);
}

static inline void
ml_softmax(float *s, int64_t n)
{
	float		mx = -FLT_MAX,
				sum = 0;

	for (int64_t i = 0; i < n; i++)
		if (s[i] > mx)
			mx = s[i];
	for (int64_t i = 0; i < n; i++)
	{
		s[i] = expf(s[i] - mx);
		sum += s[i];
	}
	for (int64_t i = 0; i < n; i++)
		s[i] = s[i] / sum;
}

/* SOFTMAX_ZERO: values within 1e-7 of zero stay (scaled) zeros. */
static inline void
ml_softmax_zero(float *s, int64_t n)
{
	float		mx = -FLT_MAX,
				sum = 0,
				e;

	for (int64_t i = 0; i < n; i++)
		if (s[i] > mx)
			mx = s[i];
	e = expf(-mx);
	for (int64_t i = 0; i < n; i++)
	{
		if (s[i] > 0.0000001f || s[i] < -0.0000001f)
		{
			s[i] = expf(s[i] - mx);
			sum += s[i];
		}
		else
			s[i] = s[i] * e;
	}
	for (int64_t i = 0; i < n; i++)
		s[i] = s[i] / sum;
}

/* Apply a post-transform in place to one row of n scores. */
static inline void
ml_apply_post_f(int post, float *s, int64_t n)
{
	switch (post)
	{
		case ML_POST_LOGISTIC:
			for (int64_t i = 0; i < n; i++)
				s[i] = ml_logistic(s[i]);
			break;
		case ML_POST_SOFTMAX:
			ml_softmax(s, n);
			break;
		case ML_POST_SOFTMAX_ZERO:
			ml_softmax_zero(s, n);
			break;
		case ML_POST_PROBIT:
			for (int64_t i = 0; i < n; i++)
				s[i] = ml_probit(s[i]);
			break;
		default:
			break;
	}
}

/*
 * onnxruntime's write_scores: n >= 2 scores are transformed; a single
 * score is written alone (add_second < 0), as [probit(s), s] (PROBIT), or
 * expanded to two
 * columns by add_second: 0, 1 -> [1 - s, s] (no transform); 2, 3 ->
 * [logistic(-s), logistic(s)] under LOGISTIC, else [-s, s].  s holds at
 * least 2 slots; returns the number of values now in s.
 */
static inline int64_t
ml_write_scores(int post, float *s, int64_t n, int add_second)
{
	if (n >= 2)
	{
		ml_apply_post_f(post, s, n);
		return n;
	}
	if (n < 1)
		return 0;
	if (post == ML_POST_PROBIT)
	{
		/* onnxruntime leaves the raw score in the second column */
		s[1] = s[0];
		s[0] = ml_probit(s[0]);
		return 2;
	}
	switch (add_second)
	{
		case 0:
		case 1:
			s[1] = s[0];
			s[0] = 1 - s[0];
			return 2;
		case 2:
		case 3:
			if (post == ML_POST_LOGISTIC)
			{
				float		v = s[0];

				s[1] = ml_logistic(v);
				s[0] = ml_logistic(-v);
			}
			else
			{
				s[1] = s[0];
				s[0] = -s[0];
			}
			return 2;
		default:
			return 1;
	}
}

/* Class labels of a classifier: int64s or strings; n = 0 when neither. */
typedef struct MlLabels
{
	int			n;
	const int64_t *ints;
	const char **strings;
} MlLabels;

static inline void
ml_labels(const OnnxNode *node, const char *ints_name, const char *strings_name, MlLabels *l)
{
	const OnnxAttr *s = onnx_attr(node, strings_name);

	l->ints = NULL;
	l->strings = NULL;
	l->n = onnx_attr_ints(node, ints_name, &l->ints);
	if (l->n == 0 && s && s->type == ONNX_ATTR_STRINGS)
	{
		l->n = s->n;
		l->strings = s->strings;
	}
}

/* The label output: (N) int64 or string; NULL with the error set. */
static inline OnnxTensor *
ml_label_out(OnnxKernelCtx *ctx, const MlLabels *l, int64_t N)
{
	return onnx_out(ctx, 0, l->strings ? ONNX_DTYPE_STRING : ONNX_DTYPE_INT64, 1, &N);
}

/* Store class k's label at row r. */
static inline bool
ml_set_label(OnnxKernelCtx *ctx, OnnxTensor *y, const MlLabels *l, int64_t r, int64_t k)
{
	if (l->strings)
	{
		const char *s = k >= 0 && k < l->n ? l->strings[k] : "";
		size_t		n = strlen(s);
		char	   *d = onnx_kernel_alloc(ctx, n + 1);

		if (d == NULL)
			return false;
		memcpy(d, s, n + 1);
		((char **) y->data)[r] = d;
	}
	else
		((int64_t *) y->data)[r] = k >= 0 && k < l->n ? l->ints[k] : k;
	return true;
}

/* Copy of s (NULL: "") through the kernel's allocator, for string outputs. */
static inline char *
ml_strdup(OnnxKernelCtx *ctx, const char *s)
{
	size_t		n = s ? strlen(s) : 0;
	char	   *d = onnx_kernel_alloc(ctx, n + 1);

	if (d)
	{
		if (n)
			memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

/*
 * A lookup table built at load (model arena): keys are strings or 64-bit
 * words (integers, or canonical double bits: -0 as 0, one NaN), mapped to
 * their position.  Open addressing, at most half full.
 */
typedef struct MlHash
{
	int64_t		cap;			/* a power of two */
	int64_t    *slot;			/* position + 1, 0: empty */
	bool		str;
	const char **skeys;
	uint64_t   *ikeys;
} MlHash;

static inline uint64_t
ml_hash_word(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static inline uint64_t
ml_hash_str(const char *s)
{
	uint64_t	h = UINT64_C(1469598103934665603);

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
	return ml_hash_word(h);
}

/* A double as a key word: -0 as 0, every NaN the same. */
static inline uint64_t
ml_double_key(double v)
{
	uint64_t	u;

	if (v == 0)
		v = 0;
	if (isnan(v))
		v = NAN;
	memcpy(&u, &v, sizeof(u));
	return u;
}

/*
 * Build over n keys (skeys for strings, else ikeys, copied); with
 * last_wins a repeated key maps to its last position, else its first.
 */
static inline bool
ml_hash_build(MlHash *h, OnnxArena *arena, int64_t n, const char *const *skeys, const uint64_t *ikeys,
			  bool last_wins)
{
	int64_t		cap = 16;

	while (cap < 2 * n + 2)
		cap *= 2;
	h->cap = cap;
	h->str = skeys != NULL;
	h->slot = onnx_arena_alloc(arena, sizeof(int64_t) * (size_t) cap);
	h->skeys = NULL;
	h->ikeys = NULL;
	if (h->slot == NULL)
		return false;
	if (h->str)
	{
		h->skeys = onnx_arena_alloc(arena, sizeof(char *) * (size_t) (n + 1));
		if (h->skeys == NULL)
			return false;
		for (int64_t i = 0; i < n; i++)
			h->skeys[i] = skeys[i] ? skeys[i] : "";
	}
	else
	{
		h->ikeys = onnx_arena_alloc(arena, sizeof(uint64_t) * (size_t) (n + 1));
		if (h->ikeys == NULL)
			return false;
		if (n > 0 && ikeys != NULL)
			memcpy(h->ikeys, ikeys, sizeof(uint64_t) * (size_t) n);
	}
	for (int64_t i = 0; i < n; i++)
	{
		uint64_t	k = h->str ? ml_hash_str(h->skeys[i]) : ml_hash_word(h->ikeys[i]);
		int64_t		p = (int64_t) (k & (uint64_t) (cap - 1));

		for (;; p = (p + 1) & (cap - 1))
		{
			int64_t		j = h->slot[p] - 1;

			if (j < 0)
			{
				h->slot[p] = i + 1;
				break;
			}
			if (h->str ? strcmp(h->skeys[j], h->skeys[i]) == 0 : h->ikeys[j] == h->ikeys[i])
			{
				if (last_wins)
					h->slot[p] = i + 1;
				break;
			}
		}
	}
	return true;
}

/* Position of a key, or -1. */
static inline int64_t
ml_hash_find_str(const MlHash *h, const char *s)
{
	int64_t		p;

	if (s == NULL)
		s = "";
	p = (int64_t) (ml_hash_str(s) & (uint64_t) (h->cap - 1));
	for (;; p = (p + 1) & (h->cap - 1))
	{
		int64_t		j = h->slot[p] - 1;

		if (j < 0)
			return -1;
		if (strcmp(h->skeys[j], s) == 0)
			return j;
	}
}

static inline int64_t
ml_hash_find_word(const MlHash *h, uint64_t w)
{
	int64_t		p = (int64_t) (ml_hash_word(w) & (uint64_t) (h->cap - 1));

	for (;; p = (p + 1) & (h->cap - 1))
	{
		int64_t		j = h->slot[p] - 1;

		if (j < 0)
			return -1;
		if (h->ikeys[j] == w)
			return j;
	}
}

#endif
