/*-------------------------------------------------------------------------
 *
 * ml_svm.c
 *	  Operator family "ml_svm": ai.onnx.ml SVMClassifier, SVMRegressor, as
 *	  onnxruntime computes them (libsvm's conventions).
 *
 *	  Kernels (kernel_params = [gamma, coef0, degree]): LINEAR x.s,
 *	  POLY (gamma x.s + coef0)^degree, RBF exp(-gamma |x - s|^2), SIGMOID
 *	  tanh(gamma x.s + coef0); inputs are taken as float, dot products by
 *	  single-precision GEMM.
 *
 *	  SVMClassifier with support vectors: one-vs-one, a decision value per
 *	  pair of classes (i < j; positive votes for i), the label by votes;
 *	  with prob_a / prob_b the pairwise values go through Platt's sigmoid
 *	  and are coupled into class probabilities (Wu, Lin and Weng's method,
 *	  100 iterations); without, the scores are the decision values (two
 *	  classes: [-d, d], or [1 - d, d] under a post_transform).  Without
 *	  support vectors (liblinear), a score per class x.w_c + rho[0].
 *	  SVMRegressor: sum of coefficients times kernels + rho[0] (or
 *	  x.w + rho[0]); one_class gives +-1.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "ml_common.h"

enum
{
	K_LINEAR, K_POLY, K_RBF, K_SIGMOID
};

typedef struct Svm
{
	int			kernel;
	float		gamma;
	float		coef0;
	float		degree;
	const float *sv;			/* V x F */
	int64_t		V;
	int64_t		F;
} Svm;

static int
kernel_of(const OnnxNode *n)
{
	const char *k = onnx_attr_string(n, "kernel_type", "LINEAR");

	return strcmp(k, "LINEAR") == 0 ? K_LINEAR : strcmp(k, "POLY") == 0 ? K_POLY :
		strcmp(k, "RBF") == 0 ? K_RBF : strcmp(k, "SIGMOID") == 0 ? K_SIGMOID : -1;
}

static void
svm_params(const OnnxNode *n, Svm *s)
{
	const float *kp;
	int			nk = onnx_attr_floats(n, "kernel_params", &kp);

	s->gamma = nk > 0 ? kp[0] : 0;
	s->coef0 = nk > 1 ? kp[1] : 0;
	s->degree = nk > 2 ? kp[2] : 0;
}

/* X as a float matrix (inputs cast to float, as onnxruntime does), in scratch. */
static float *
x_float(OnnxKernelCtx *ctx, const OnnxTensor *x)
{
	float	   *xf = onnx_kernel_scratch(ctx, (size_t) x->count, sizeof(float));

	if (xf == NULL)
		return NULL;
	if (x->dtype == ONNX_DTYPE_FLOAT)
		memcpy(xf, x->data, sizeof(float) * (size_t) x->count);
	else
		for (int64_t i = 0; i < x->count; i++)
			xf[i] = x->dtype == ONNX_DTYPE_INT64 || x->dtype == ONNX_DTYPE_INT32 ?
				(float) onnx_tensor_get_i64(x, i) : (float) onnx_tensor_get_f64(x, i);
	return xf;
}

/*
 * out (N x M) = kernel(x rows, b rows) (b: M x F), plus c for LINEAR.
 * Dot products through sgemm; RBF summed directly in float.
 */
static void
kernel_dot(const Svm *s, int kernel, const float *x, int64_t N, const float *b, int64_t M, int64_t F, float c,
		   float *out)
{
	if (kernel == K_RBF)
	{
		for (int64_t n = 0; n < N; n++)
			for (int64_t m = 0; m < M; m++)
			{
				float		sum = 0;

				for (int64_t f = 0; f < F; f++)
				{
					float		v = x[n * F + f] - b[m * F + f];

					sum += v * v;
				}
				out[n * M + m] = expf(-s->gamma * sum);
			}
		return;
	}
	if (F > 0)
		onnx_blas_sgemm(false, true, N, M, F, kernel == K_LINEAR ? 1.0f : s->gamma, x, F, b, F, 0.0f, out, M);
	else
		memset(out, 0, sizeof(float) * (size_t) (N * M));
	if (kernel != K_LINEAR)
		c = s->coef0;
	for (int64_t i = 0; i < N * M; i++)
	{
		float		v = out[i] + c;

		if (kernel == K_POLY)
			v = s->degree == 2 ? v * v : s->degree == 3 ? v * v * v : powf(v, s->degree);
		else if (kernel == K_SIGMOID)
			v = tanhf(v);
		out[i] = v;
	}
}

/* Pairwise probabilities r (k x k) into class probabilities p (onnxruntime, float). */
static void
multiclass_probability(int64_t k, const float *r, float *p, float *Q, float *Qp)
{
	float		eps = 0.005f / (float) k;

	memset(Q, 0, sizeof(float) * (size_t) (k * k));
	for (int64_t i = 0; i < k; i++)
	{
		p[i] = 1.0f / (float) k;
		Qp[i] = 0;
		for (int64_t j = 0; j < i; j++)
		{
			Q[i * k + i] += r[j * k + i] * r[j * k + i];
			Q[i * k + j] = Q[j * k + i];
		}
		for (int64_t j = i + 1; j < k; j++)
		{
			Q[i * k + i] += r[j * k + i] * r[j * k + i];
			Q[i * k + j] = -r[j * k + i] * r[i * k + j];
		}
	}
	for (int loop = 0; loop < 100; loop++)
	{
		float		pQp = 0,
					max_error = 0;

		for (int64_t i = 0; i < k; i++)
		{
			Qp[i] = 0;
			for (int64_t j = 0; j < k; j++)
				Qp[i] += Q[i * k + j] * p[j];
			pQp += p[i] * Qp[i];
		}
		for (int64_t i = 0; i < k; i++)
		{
			float		e = fabsf(Qp[i] - pQp);

			if (e > max_error)
				max_error = e;
		}
		if (max_error < eps)
			break;
		for (int64_t i = 0; i < k; i++)
		{
			float		diff = (-Qp[i] + pQp) / Q[i * k + i];

			p[i] += diff;
			pQp = (pQp + diff * (diff * Q[i * k + i] + 2 * Qp[i])) / (1 + diff) / (1 + diff);
			for (int64_t j = 0; j < k; j++)
			{
				Qp[j] = (Qp[j] + diff * Q[i * k + j]) / (1 + diff);
				p[j] /= (1 + diff);
			}
		}
	}
}

static OnnxStatus
run_svm_classifier(OnnxKernelCtx *ctx)
{
	const OnnxNode *nd = ctx->node;
	const OnnxTensor *x = onnx_in(ctx, 0);
	int			post = ml_post_transform(nd);
	Svm			s;
	MlLabels	labels;
	const int64_t *vpc;
	const float *pa,
			   *pb,
			   *rho,
			   *coef;
	int			nvpc = onnx_attr_ints(nd, "vectors_per_class", &vpc);
	int			npa = onnx_attr_floats(nd, "prob_a", &pa);
	int			npb = onnx_attr_floats(nd, "prob_b", &pb);
	int			nrho = onnx_attr_floats(nd, "rho", &rho);
	int			ncoef = onnx_attr_floats(nd, "coefficients", &coef);
	int			nsv;
	int64_t		C,
				N,
				F,
				ncl,
				final_per,
				nscores,
				slots,
				dims[2],
			   *start = NULL,
			   *votes = NULL;
	bool		svc,
				proba,
				all_pos = true;
	int			add = -1;
	float	   *xf = NULL,
			   *kern = NULL,
			   *scores = NULL,
			   *cls = NULL,
			   *work = NULL;
	OnnxTensor *ylab,
			   *ysc = NULL;

	ml_labels(nd, "classlabels_ints", "classlabels_strings", &labels);
	memset(&s, 0, sizeof(s));
	s.kernel = kernel_of(nd);
	svm_params(nd, &s);
	nsv = onnx_attr_floats(nd, "support_vectors", &s.sv);
	if (x == NULL || x->rank < 1 || x->rank > 2 || post < 0 || s.kernel < 0 || labels.n < 1 || ncoef < 1 || nrho < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"SVMClassifier needs X (N, F), class labels, coefficients, rho and known kernel and post_transform");
	if (npa != npb)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "prob_a and prob_b differ in length");
	C = labels.n;
	N = x->rank == 2 ? x->dims[0] : 1;
	F = x->dims[x->rank - 1];
	for (int i = 0; i < nvpc; i++)
	{
		if (vpc[i] < 0 || s.V > INT32_MAX)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "vectors_per_class is invalid");
		s.V += vpc[i];
	}
	svc = s.V > 0;
	proba = npa > 0;
	for (int i = 0; i < ncoef; i++)
		if (coef[i] < 0)
			all_pos = false;
	ncl = C * (C - 1) / 2;
	if (svc)
	{
		if (nvpc != C || nsv != s.V * F || ncoef != (C - 1) * s.V || nrho < ncl || (proba && npa < ncl))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"SVMClassifier attributes do not fit %lld classes, %lld vectors and %lld features",
									(long long) C, (long long) s.V, (long long) F);
	}
	else if (ncoef != C * F)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "coefficients do not fit %lld classes of %lld features",
								(long long) C, (long long) F);
	final_per = C;
	nscores = C;
	if (svc && !proba)
	{
		final_per = C > 2 ? ncl : 2;
		nscores = ncl;
		if (C <= 2)
			add = post == ML_POST_NONE ? 2 : 0;
	}
	slots = add >= 0 ? 2 : ncl;
	dims[0] = N;
	dims[1] = final_per;
	if ((ylab = ml_label_out(ctx, &labels, N)) == NULL ||
		(ctx->n_outputs > 1 && (ysc = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, 2, dims)) == NULL))
		return ctx->err->status;
	if (ctx->n_outputs < 2)
		ysc = NULL;
	if ((scores = onnx_kernel_scratch_zero(ctx, (size_t) (N * final_per), sizeof(float))) == NULL ||
		(xf = x_float(ctx, x)) == NULL)
		return ctx->err->status;
	if (!svc)
		kernel_dot(&s, K_LINEAR, xf, N, coef, C, F, rho[0], scores);
	else
	{
		if (!(kern = onnx_kernel_scratch(ctx, (size_t) (N * s.V), sizeof(float))) ||
			!(votes = onnx_kernel_scratch_zero(ctx, (size_t) (N * C), sizeof(int64_t))) ||
			!(start = onnx_kernel_scratch(ctx, (size_t) (C + 1), sizeof(int64_t))) ||
			(proba && !(cls = onnx_kernel_scratch(ctx, (size_t) (N * ncl), sizeof(float)))))
			return ctx->err->status;
		start[0] = 0;
		for (int64_t c = 1; c <= C; c++)
			start[c] = start[c - 1] + vpc[c - 1];
		kernel_dot(&s, s.kernel, xf, N, s.sv, s.V, F, 0, kern);
		for (int64_t n = 0; n < N; n++)
		{
			const float *k = kern + n * s.V;
			float	   *out = proba ? cls + n * ncl : scores + n * slots;
			int64_t		idx = 0;

			for (int64_t i = 0; i < C - 1; i++)
				for (int64_t j = i + 1; j < C; j++)
				{
					double		sum = 0;

					for (int64_t m = start[i]; m < start[i + 1]; m++)
						sum += coef[(j - 1) * s.V + m] * k[m];
					for (int64_t m = start[j]; m < start[j + 1]; m++)
						sum += coef[i * s.V + m] * k[m];
					sum += rho[idx];
					out[idx++] = (float) sum;
					votes[n * C + (sum > 0 ? i : j)]++;
				}
		}
	}
	if (proba && svc && !(work = onnx_kernel_scratch(ctx, (size_t) (3 * C * C + C), sizeof(float))))
		return ctx->err->status;
	for (int64_t n = 0; n < N; n++)
	{
		float	   *cur = scores + n * final_per;
		int64_t		maxclass = 0;
		float		max_weight = 0;
		int64_t		label;

		if (svc && proba)
		{
			float	   *r = work,
					   *Q = work + C * C,
					   *Qp = work + 2 * C * C;
			int64_t		idx = 0;

			for (int64_t i = 0; i < C * C; i++)
				r[i] = 0;
			for (int64_t i = 0; i < C - 1; i++)
				for (int64_t j = i + 1; j < C; j++, idx++)
				{
					float		v = 1 - ml_logistic(cls[n * ncl + idx] * pa[idx] + pb[idx]);

					v = v < 1.0e-7f ? 1.0e-7f : v;
					v = v > 1 - 1.0e-7f ? 1 - 1.0e-7f : v;
					r[i * C + j] = v;
					r[j * C + i] = 1 - v;
				}
			multiclass_probability(C, r, cur, Q, Qp);
		}
		if (svc)
		{
			for (int64_t c = 1; c < C; c++)
				if (votes[n * C + c] > votes[n * C + maxclass])
					maxclass = c;
		}
		else
		{
			for (int64_t c = 1; c < C; c++)
				if (cur[c] > cur[maxclass])
					maxclass = c;
			max_weight = cur[maxclass];
		}
		label = maxclass;
		if (ncl == 1 && !proba)
		{
			if (all_pos && max_weight >= 0.5f)
				label = 1;
			else if (max_weight > 0 && !all_pos)
				label = 1;
		}
		if (!ml_set_label(ctx, ylab, &labels, n, label))
			return ctx->err->status;
		/* the scores: transformed per row, or one value expanded to two columns */
		if (nscores > 1)
			ml_apply_post_f(post, cur, nscores);
		else if (nscores == 1)
		{
			if (post == ML_POST_PROBIT)
				cur[0] = ml_probit(cur[0]);
			else if (add >= 0)
			{
				float		v = cur[0];

				if (add <= 1)
				{
					cur[1] = post == ML_POST_LOGISTIC ? ml_logistic(v) : v;
					cur[0] = 1 - cur[1];
				}
				else if (post == ML_POST_LOGISTIC)
				{
					cur[0] = ml_logistic(-v);
					cur[1] = ml_logistic(v);
				}
				else
				{
					cur[0] = -v;
					cur[1] = v;
				}
			}
		}
	}
	if (ysc)
		memcpy(ysc->data, scores, sizeof(float) * (size_t) (N * final_per));
	return ONNX_OK;
}

static OnnxStatus
run_svm_regressor(OnnxKernelCtx *ctx)
{
	const OnnxNode *nd = ctx->node;
	const OnnxTensor *x = onnx_in(ctx, 0);
	Svm			s;
	const float *rho,
			   *coef;
	int			nrho = onnx_attr_floats(nd, "rho", &rho);
	int			ncoef = onnx_attr_floats(nd, "coefficients", &coef);
	int			nsv;
	bool		one_class = onnx_attr_int(nd, "one_class", 0) != 0;
	int64_t		N,
				F,
				dims[2];
	float	   *xf,
			   *y,
			   *kern = NULL;
	OnnxTensor *yt;

	memset(&s, 0, sizeof(s));
	s.kernel = kernel_of(nd);
	svm_params(nd, &s);
	nsv = onnx_attr_floats(nd, "support_vectors", &s.sv);
	s.V = onnx_attr_int(nd, "n_supports", 0);
	if (x == NULL || x->rank < 1 || x->rank > 2 || s.kernel < 0 || ncoef < 1 || nrho < 1 || s.V < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"SVMRegressor needs X (N, F), coefficients, rho and a known kernel");
	N = x->rank == 2 ? x->dims[0] : 1;
	F = x->dims[x->rank - 1];
	if (s.V > 0 ? (nsv != s.V * F || ncoef != s.V) : ncoef != F)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"SVMRegressor attributes do not fit %lld features", (long long) F);
	dims[0] = N;
	dims[1] = 1;
	if ((yt = onnx_out(ctx, 0, ONNX_DTYPE_FLOAT, 2, dims)) == NULL)
		return ctx->err->status;
	y = yt->data;
	if ((xf = x_float(ctx, x)) == NULL)
		return ctx->err->status;
	if (s.V > 0)
	{
		if ((kern = onnx_kernel_scratch(ctx, (size_t) (N * s.V), sizeof(float))) == NULL)
			return ctx->err->status;
		kernel_dot(&s, s.kernel, xf, N, s.sv, s.V, F, 0, kern);
		for (int64_t n = 0; n < N; n++)
		{
			double		sum = 0;

			for (int64_t v = 0; v < s.V; v++)
				sum += (double) kern[n * s.V + v] * coef[v];
			y[n] = (float) (sum + rho[0]);
		}
	}
	else
		kernel_dot(&s, K_LINEAR, xf, N, coef, 1, F, rho[0], y);
	if (one_class)
		for (int64_t n = 0; n < N; n++)
			y[n] = y[n] > 0 ? 1.0f : -1.0f;
	return ONNX_OK;
}

#define SVM_TYPES (ONNX_T(ONNX_DTYPE_FLOAT) | ONNX_T(ONNX_DTYPE_DOUBLE) | ONNX_T(ONNX_DTYPE_INT64) | ONNX_T(ONNX_DTYPE_INT32))

const OnnxOpDef onnx_ops_ml_svm[] = {
	ONNX_OP("ai.onnx.ml", "SVMClassifier", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 2),
		.input0_types = SVM_TYPES, .out_type = ONNX_OUT_UNKNOWN, .run = run_svm_classifier),
	ONNX_OP("ai.onnx.ml", "SVMRegressor", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = SVM_TYPES, .out_type = ONNX_OUT_UNKNOWN, .run = run_svm_regressor),
	{0}
};
