/*-------------------------------------------------------------------------
 *
 * ops_random.c
 *	  Operator family "random" (see op_tables.h): RandomUniform,
 *	  RandomNormal, RandomUniformLike, RandomNormalLike, Bernoulli and
 *	  Multinomial.
 *
 *	  Every node call draws from its own xoshiro256** generator, seeded
 *	  through splitmix64: from the bits of the "seed" attribute when it is
 *	  set (the same seed gives the same output in every run and session),
 *	  else from a process-wide counter mixed with the clock and the node's
 *	  address (two runs differ).  No global generator state (rand()) is
 *	  touched, so sessions on different threads stay independent.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <time.h>

#include "op_tables.h"

#define RAND_ABORT_EVERY 65536	/* elements between abort checks */

typedef struct RandState
{
	uint64_t	s[4];
	double		spare;			/* second Box-Muller value */
	bool		has_spare;
} RandState;

static uint64_t rand_entropy_counter;

/* splitmix64 step: advances *x and returns a well-mixed 64-bit value. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/*
 * Seed r for one call of node: from the "seed" attribute's value when
 * present, else from a fresh counter value, the clock and the node.
 */
static void
rand_init(RandState *r, const OnnxNode *node)
{
	const OnnxAttr *a = onnx_attr(node, "seed");
	uint64_t	x;

	if (a != NULL)
	{
		double		seed = (double) a->f;

		memcpy(&x, &seed, sizeof(x));
	}
	else
	{
		struct timespec ts;
		uint64_t	n = __atomic_add_fetch(&rand_entropy_counter, 1, __ATOMIC_RELAXED);

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
		x ^= splitmix64(&n) ^ (uint64_t) (uintptr_t) node;
	}
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	r->has_spare = false;
}

static inline uint64_t
rotl64(uint64_t v, int k)
{
	return (v << k) | (v >> (64 - k));
}

/* xoshiro256**: next 64 random bits. */
static inline uint64_t
rand_next(RandState *r)
{
	uint64_t   *s = r->s;
	uint64_t	out = rotl64(s[1] * 5, 7) * 9,
				t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return out;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double
rand_unit(RandState *r)
{
	return (double) (rand_next(r) >> 11) * 0x1.0p-53;
}

/* Standard normal value (Box-Muller; the pair's second value is kept). */
static double
rand_gauss(RandState *r)
{
	double		u1,
				u2,
				rad;

	if (r->has_spare)
	{
		r->has_spare = false;
		return r->spare;
	}
	u1 = 1.0 - rand_unit(r);	/* (0, 1]: log is finite */
	u2 = rand_unit(r);
	rad = sqrt(-2.0 * log(u1));
	r->spare = rad * sin(2.0 * M_PI * u2);
	r->has_spare = true;
	return rad * cos(2.0 * M_PI * u2);
}

static bool
random_float_dtype(int64_t dt)
{
	return dt == ONNX_DTYPE_FLOAT || dt == ONNX_DTYPE_DOUBLE ||
		dt == ONNX_DTYPE_FLOAT16 || dt == ONNX_DTYPE_BFLOAT16;
}

static bool
is_like(const OnnxNode *node)
{
	size_t		n = strlen(node->op_type);

	return n > 4 && strcmp(node->op_type + n - 4, "Like") == 0;
}

/*
 * Output dtype of node given its input's dtype in0 (UNDEFINED if none or
 * unknown): the "dtype" attribute, else the op's default.
 */
static OnnxDType
random_out_dtype(const OnnxNode *node, OnnxDType in0)
{
	const OnnxAttr *a = onnx_attr(node, "dtype");

	if (a != NULL)
		return (a->i > 0 && a->i < ONNX_DTYPE_COUNT) ? (OnnxDType) a->i : ONNX_DTYPE_UNDEFINED;
	if (strcmp(node->op_type, "Multinomial") == 0)
		return ONNX_DTYPE_INT32;
	if (strcmp(node->op_type, "RandomUniform") == 0 || strcmp(node->op_type, "RandomNormal") == 0)
		return ONNX_DTYPE_FLOAT;
	return in0;
}

/* Finite float attribute name (default dflt); false if set and not finite. */
static bool
finite_attr(const OnnxNode *node, const char *name, float dflt, double *out)
{
	*out = onnx_attr_float(node, name, dflt);
	return isfinite(*out);
}

/*
 * Load-time checks: dtype among those the op produces, a valid "shape"
 * (RandomUniform, RandomNormal), finite low/high/mean/scale, and a
 * non-negative sample_size (Multinomial).
 */
static OnnxStatus
check_random(const OnnxNode *node, OnnxError *err)
{
	const char *op = node->op_type;
	const OnnxAttr *dt = onnx_attr(node, "dtype");
	double		v;

	if (dt != NULL)
	{
		bool		ok;

		if (strcmp(op, "Multinomial") == 0)
			ok = dt->i == ONNX_DTYPE_INT32 || dt->i == ONNX_DTYPE_INT64;
		else if (strcmp(op, "Bernoulli") == 0)
			ok = dt->i > 0 && dt->i < ONNX_DTYPE_COUNT && dt->i != ONNX_DTYPE_STRING &&
				(onnx_dtype_is_float((OnnxDType) dt->i) || onnx_dtype_is_signed_int((OnnxDType) dt->i) ||
				 onnx_dtype_is_unsigned_int((OnnxDType) dt->i) || dt->i == ONNX_DTYPE_BOOL);
		else
			ok = random_float_dtype(dt->i);
		if (!ok)
			return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "%s does not produce dtype %s (%lld)",
								  op, dt->i > 0 && dt->i < ONNX_DTYPE_COUNT ?
								  onnx_dtype_name((OnnxDType) dt->i) : "unknown", (long long) dt->i);
	}
	if (strcmp(op, "RandomUniform") == 0 || strcmp(op, "RandomNormal") == 0)
	{
		const int64_t *dims;
		int			rank = onnx_attr_ints(node, "shape", &dims);

		if (onnx_attr(node, "shape") == NULL || rank > ONNX_MAX_RANK)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
								  "%s needs the attribute \"shape\" of at most %d dimensions",
								  op, ONNX_MAX_RANK);
		for (int i = 0; i < rank; i++)
			if (dims[i] < 0)
				return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
									  "%s shape dimension %d is negative (%lld)",
									  op, i, (long long) dims[i]);
	}
	if (!finite_attr(node, "low", 0, &v) || !finite_attr(node, "high", 1, &v) ||
		!finite_attr(node, "mean", 0, &v) || !finite_attr(node, "scale", 1, &v))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "%s low, high, mean and scale must be finite", op);
	if (onnx_attr_int(node, "sample_size", 1) < 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "Multinomial sample_size must not be negative");
	return ONNX_OK;
}

/*
 * Static output type: dtype as random_out_dtype; shape from "shape", the
 * input's shape (Like, Bernoulli) or (batch, sample_size) (Multinomial).
 */
static OnnxStatus
infer_random(OnnxInferCtx *ctx)
{
	const OnnxNode *node = ctx->node;
	const OnnxValueInfo *in0 = ctx->n_inputs > 0 ? ctx->inputs[0] : NULL;
	OnnxValueInfo *y = ctx->outputs[0];
	OnnxDType	dt;

	if (y == NULL)
		return ONNX_OK;
	dt = random_out_dtype(node, in0 ? in0->dtype : ONNX_DTYPE_UNDEFINED);
	if (dt != ONNX_DTYPE_UNDEFINED)
	{
		y->dtype = dt;
		y->kind = ONNX_VALUE_TENSOR;
	}
	if (strcmp(node->op_type, "Multinomial") == 0)
	{
		y->rank = 2;
		y->dims[0] = in0 && in0->rank == 2 ? in0->dims[0] : -1;
		y->dim_params[0] = in0 && in0->rank == 2 ? in0->dim_params[0] : NULL;
		y->dims[1] = onnx_attr_int(node, "sample_size", 1);
		y->dim_params[1] = NULL;
	}
	else if (in0 != NULL)
		onnx_info_copy_shape(y, in0);
	else
	{
		const int64_t *dims;
		int			rank = onnx_attr_ints(node, "shape", &dims);

		y->rank = rank;
		for (int i = 0; i < rank; i++)
		{
			y->dims[i] = dims[i];
			y->dim_params[i] = NULL;
		}
	}
	return ONNX_OK;
}

/*
 * The output of RandomUniform/Normal(Like): shape from the "shape"
 * attribute or from input 0, dtype from random_out_dtype (a float type).
 */
static OnnxTensor *
random_output(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	OnnxDType	dt;

	if (is_like(ctx->node))
	{
		if (x == NULL)
		{
			onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s needs a tensor input",
							 ctx->node->op_type);
			return NULL;
		}
		dt = random_out_dtype(ctx->node, x->dtype);
		if (!random_float_dtype(dt))
		{
			onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED,
							 "%s of an input of type %s needs a float \"dtype\" attribute",
							 ctx->node->op_type, onnx_dtype_name(x->dtype));
			return NULL;
		}
		return onnx_out_like(ctx, 0, dt, x);
	}
	else
	{
		const int64_t *dims;
		int			rank = onnx_attr_ints(ctx->node, "shape", &dims);

		dt = random_out_dtype(ctx->node, ONNX_DTYPE_UNDEFINED);
		return onnx_out(ctx, 0, dt, rank, dims);
	}
}

/* true (with the kernel failed) when the abort callback asks to stop */
static bool
random_cancelled(OnnxKernelCtx *ctx, int64_t i)
{
	if ((i % RAND_ABORT_EVERY) != 0 || !onnx_kernel_should_abort(ctx))
		return false;
	onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
	return true;
}

/*
 * RandomUniform(Like): () or input -> Y (shape), values in [low, high):
 * a value that rounds up to high in the output dtype is drawn again.
 * RandomNormal(Like) (normal): mean + scale * N(0, 1).
 */
static OnnxStatus
random_fill(OnnxKernelCtx *ctx, bool normal)
{
	double		low = onnx_attr_float(ctx->node, normal ? "mean" : "low", 0.0f);
	double		high = onnx_attr_float(ctx->node, normal ? "scale" : "high", 1.0f);
	RandState	r;
	OnnxTensor *y;

	if ((y = random_output(ctx)) == NULL)
		return ctx->err->status;
	rand_init(&r, ctx->node);
	for (int64_t i = 0; i < y->count; i++)
	{
		int			tries = 0;

		if (random_cancelled(ctx, i))
			return ctx->err->status;
		if (normal)
		{
			onnx_tensor_set_f64(y, i, low + high * rand_gauss(&r));
			continue;
		}
		do
			onnx_tensor_set_f64(y, i, low + (high - low) * rand_unit(&r));
		while (high > low && onnx_tensor_get_f64(y, i) >= high && ++tries < 16);
		if (high > low && onnx_tensor_get_f64(y, i) >= high)
			onnx_tensor_set_f64(y, i, low);
	}
	return ONNX_OK;
}

static OnnxStatus
run_random_uniform(OnnxKernelCtx *ctx)
{
	return random_fill(ctx, false);
}

static OnnxStatus
run_random_normal(OnnxKernelCtx *ctx)
{
	return random_fill(ctx, true);
}

/* Bernoulli: P (probabilities in [0, 1]) -> Y (shape of P), 1 with probability p, else 0. */
static OnnxStatus
run_bernoulli(OnnxKernelCtx *ctx)
{
	const OnnxTensor *p = onnx_in(ctx, 0);
	RandState	r;
	OnnxTensor *y;
	OnnxDType	dt;

	if (p == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Bernoulli needs a tensor input");
	dt = random_out_dtype(ctx->node, p->dtype);
	if ((y = onnx_out_like(ctx, 0, dt, p)) == NULL)
		return ctx->err->status;
	rand_init(&r, ctx->node);
	for (int64_t i = 0; i < p->count; i++)
	{
		double		prob = onnx_tensor_get_f64(p, i);

		if (random_cancelled(ctx, i))
			return ctx->err->status;
		if (!(prob >= 0.0 && prob <= 1.0))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Bernoulli probability %g at element %lld is not in [0, 1]",
									prob, (long long) i);
		onnx_tensor_set_f64(y, i, rand_unit(&r) < prob ? 1.0 : 0.0);
	}
	return ONNX_OK;
}

/*
 * Cumulative distribution of one row of C unnormalized log-probabilities
 * into cdf (C); returns the total (0 if no class can be drawn, -1 for a
 * NaN or +inf logit) and the last class of non-zero probability.
 */
static double
multinomial_cdf(const OnnxTensor *x, int64_t row, int64_t C, double *cdf, int64_t *last)
{
	double		mx = -INFINITY,
				acc = 0;

	for (int64_t c = 0; c < C; c++)
	{
		double		v = onnx_tensor_get_f64(x, row * C + c);

		if (isnan(v) || v == INFINITY)
			return -1;
		if (v > mx)
			mx = v;
	}
	*last = -1;
	for (int64_t c = 0; c < C; c++)
	{
		double		w = mx == -INFINITY ? 0 : exp(onnx_tensor_get_f64(x, row * C + c) - mx);

		if (w > 0)
			*last = c;
		acc += w;
		cdf[c] = acc;
	}
	return acc;
}

/*
 * Multinomial: X (batch, C) unnormalized log-probabilities -> Y (batch,
 * sample_size) int32/int64 class indices, each drawn with probability
 * softmax(X[b])[c]; a class of probability 0 (logit -inf) is never drawn.
 */
static OnnxStatus
run_multinomial(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		S = onnx_attr_int(ctx->node, "sample_size", 1),
				B,
				C,
				dims[2];
	RandState	r;
	OnnxTensor *y;
	double	   *cdf;

	if (x == NULL || x->rank != 2 || x->dims[1] < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Multinomial input must be (batch_size, class_size) with at least one class");
	B = x->dims[0];
	C = x->dims[1];
	dims[0] = B;
	dims[1] = S;
	if ((y = onnx_out(ctx, 0, random_out_dtype(ctx->node, x->dtype), 2, dims)) == NULL)
		return ctx->err->status;
	if ((cdf = onnx_kernel_scratch(ctx, (size_t) C, sizeof(double))) == NULL)
		return ctx->err->status;
	rand_init(&r, ctx->node);
	for (int64_t b = 0; b < B; b++)
	{
		int64_t		last;
		double		total = multinomial_cdf(x, b, C, cdf, &last);

		if (!(total > 0))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Multinomial row %lld has no drawable class (logits NaN, +inf or all -inf)",
									(long long) b);
		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		for (int64_t s = 0; s < S; s++)
		{
			double		target = rand_unit(&r) * total;
			int64_t		lo = 0,
						hi = C;

			/* first class whose cumulative weight exceeds target */
			while (lo < hi)
			{
				int64_t		mid = lo + (hi - lo) / 2;

				if (cdf[mid] > target)
					hi = mid;
				else
					lo = mid + 1;
			}
			onnx_tensor_set_i64(y, b * S + s, lo < C ? lo : last);
		}
	}
	return ONNX_OK;
}

static const OnnxAttrSpec uniform_attrs[] = {
	{"shape", ONNX_ATTR_INTS}, {"dtype", ONNX_ATTR_INT}, {"seed", ONNX_ATTR_FLOAT},
	{"low", ONNX_ATTR_FLOAT}, {"high", ONNX_ATTR_FLOAT}, {0}
};
static const OnnxAttrSpec normal_attrs[] = {
	{"shape", ONNX_ATTR_INTS}, {"dtype", ONNX_ATTR_INT}, {"seed", ONNX_ATTR_FLOAT},
	{"mean", ONNX_ATTR_FLOAT}, {"scale", ONNX_ATTR_FLOAT}, {0}
};
static const OnnxAttrSpec bernoulli_attrs[] = {
	{"dtype", ONNX_ATTR_INT}, {"seed", ONNX_ATTR_FLOAT}, {0}
};
static const OnnxAttrSpec multinomial_attrs[] = {
	{"dtype", ONNX_ATTR_INT}, {"seed", ONNX_ATTR_FLOAT}, {"sample_size", ONNX_ATTR_INT}, {0}
};

/* name, since, inputs (0 or 1), input 0 types, kernel, attribute spec */

const OnnxOpDef onnx_ops_random[] = {
	ONNX_OP_VERSIONS("", "RandomUniform", (1, 22), ONNX_INPUTS(0, 0), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_CUSTOM, .check = check_random, .infer = infer_random,
		.run = run_random_uniform, .attrs = uniform_attrs),
	ONNX_OP_VERSIONS("", "RandomNormal", (1, 22), ONNX_INPUTS(0, 0), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_ANY,
		.out_type = ONNX_OUT_CUSTOM, .check = check_random, .infer = infer_random,
		.run = run_random_normal, .attrs = normal_attrs),
	ONNX_OP_VERSIONS("", "RandomUniformLike", (1, 22), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .check = check_random,
		.infer = infer_random, .run = run_random_uniform, .attrs = uniform_attrs),
	ONNX_OP_VERSIONS("", "RandomNormalLike", (1, 22), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_CUSTOM, .check = check_random,
		.infer = infer_random, .run = run_random_normal, .attrs = normal_attrs),
	ONNX_OP_VERSIONS("", "Bernoulli", (15, 22), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_CUSTOM, .check = check_random, .infer = infer_random, .run = run_bernoulli,
		.attrs = bernoulli_attrs),
	ONNX_OP_VERSIONS("", "Multinomial", (7, 22), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_CUSTOM, .check = check_random, .infer = infer_random,
		.run = run_multinomial, .attrs = multinomial_attrs),
	{0}
};
