/*
 * ml_common.h - post-transforms shared by the ai.onnx.ml classifiers and
 * regressors (ops_trees.c, ops_linear_ml.c).
 */
#ifndef ML_COMMON_H
#define ML_COMMON_H

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

/* erf^-1(x) for x in (-1, 1): Giles' approximation and two Newton steps. */
static inline double
ml_erfinv(double x)
{
	double		w,
				p,
				r;

	if (x <= -1)
		return -INFINITY;
	if (x >= 1)
		return INFINITY;
	w = -log((1.0 - x) * (1.0 + x));
	if (w < 5.0)
	{
		w -= 2.5;
		p = 2.81022636e-08;
		p = 3.43273939e-07 + p * w;
		p = -3.5233877e-06 + p * w;
		p = -4.39150654e-06 + p * w;
		p = 0.00021858087 + p * w;
		p = -0.00125372503 + p * w;
		p = -0.00417768164 + p * w;
		p = 0.246640727 + p * w;
		p = 1.50140941 + p * w;
	}
	else
	{
		w = sqrt(w) - 3.0;
		p = -0.000200214257;
		p = 0.000100950558 + p * w;
		p = 0.00134934322 + p * w;
		p = -0.00367342844 + p * w;
		p = 0.00573950773 + p * w;
		p = -0.0076224613 + p * w;
		p = 0.00943887047 + p * w;
		p = 1.00167406 + p * w;
		p = 2.83297682 + p * w;
	}
	r = p * x;
	for (int i = 0; i < 2; i++)		/* Newton on erf(r) = x */
		r -= (erf(r) - x) / (2.0 / sqrt(M_PI) * exp(-r * r));
	return r;
}

/* Probit: the inverse standard normal CDF. */
static inline double
ml_probit(double p)
{
	return sqrt(2.0) * ml_erfinv(2 * p - 1);
}

/* Apply a post-transform in place to one row of n scores. */
static inline void
ml_apply_post(int post, double *s, int64_t n)
{
	switch (post)
	{
		case ML_POST_LOGISTIC:
			for (int64_t i = 0; i < n; i++)
				s[i] = 1.0 / (1.0 + exp(-s[i]));
			break;
		case ML_POST_SOFTMAX:
		case ML_POST_SOFTMAX_ZERO:
			{
				double		mx = -INFINITY,
							sum = 0;

				for (int64_t i = 0; i < n; i++)
					if (s[i] > mx)
						mx = s[i];
				for (int64_t i = 0; i < n; i++)
				{
					if (post == ML_POST_SOFTMAX_ZERO && s[i] == 0)
						continue;
					s[i] = exp(s[i] - mx);
					sum += s[i];
				}
				for (int64_t i = 0; i < n; i++)
					s[i] = sum > 0 ? s[i] / sum : 0;
				break;
			}
		case ML_POST_PROBIT:
			for (int64_t i = 0; i < n; i++)
				s[i] = ml_probit(s[i]);
			break;
		default:
			break;
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

#endif
