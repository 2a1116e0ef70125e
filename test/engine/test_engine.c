/*-------------------------------------------------------------------------
 *
 * test_engine.c
 *	  Engine unit tests: run with no PostgreSQL server and no PostgreSQL
 *	  header.  usage: test_engine FIXTURE_DIR
 *
 *	  Prints "ok"/"not ok" per check and a last line "N passed, N failed";
 *	  exits 1 on any failure.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_engine.h"
#include "onnx.pb-c.h"			/* to build a model in the test */
#include "vecmath.h"			/* engine-internal: the SIMD row kernels */
#include "engine_internal.h"	/* engine-internal: kernels, graphs, scratch */
#include "qmatmul.h"			/* engine-internal: dynamic quantization */

static int	passed,
			failed;
static const char *fixtures;

#define CHECK(cond, name) do { \
	if (cond) { passed++; printf("ok - %s\n", name); } \
	else { failed++; printf("not ok - %s (%s:%d)\n", name, __FILE__, __LINE__); } \
} while (0)

static void *
read_fixture(const char *name, size_t *len)
{
	char		path[1024];
	FILE	   *f;
	char	   *buf;
	long		n;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	f = fopen(path, "rb");
	if (f == NULL)
	{
		fprintf(stderr, "cannot open %s\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	if (fread(buf, 1, (size_t) n, f) != (size_t) n)
		exit(2);
	fclose(f);
	*len = (size_t) n;
	return buf;
}

/* ---- counting / failing allocator ---- */

typedef struct CountingAlloc
{
	long		allocs;
	long		frees;
	long		fail_at;		/* fail the n-th allocation (-1: never) */
} CountingAlloc;

static void *
counting_alloc(void *ctx, size_t size)
{
	CountingAlloc *c = ctx;

	if (c->fail_at >= 0 && c->allocs >= c->fail_at)
		return NULL;
	c->allocs++;
	return malloc(size ? size : 1);
}

static void
counting_free(void *ctx, void *p)
{
	CountingAlloc *c = ctx;

	if (p)
	{
		c->frees++;
		free(p);
	}
}

/* ---- byte-counting allocator: what is held now and at most ---- */

typedef struct ByteAlloc
{
	size_t		now;
	size_t		peak;
	long		calls;
} ByteAlloc;

static void *
byte_alloc(void *ctx, size_t size)
{
	ByteAlloc  *b = ctx;
	size_t	   *p = malloc(size + 16);

	if (p == NULL)
		return NULL;
	p[0] = size;
	b->now += size;
	if (b->now > b->peak)
		b->peak = b->now;
	b->calls++;
	return (char *) p + 16;
}

static void
byte_free(void *ctx, void *ptr)
{
	ByteAlloc  *b = ctx;
	size_t	   *p;

	if (ptr == NULL)
		return;
	p = (size_t *) ((char *) ptr - 16);
	b->now -= p[0];
	free(p);
}

static void
test_garbage(void)
{
	OnnxModel  *m = NULL;
	OnnxError	err;
	const char	junk[] = "this is certainly not an onnx model";
	unsigned char trunc[] = {0x3a, 0x7f, 0x01};	/* graph field, length past end */

	CHECK(onnx_model_load(junk, sizeof(junk), NULL, &m, &err) == ONNX_ERR_INVALID_MODEL && m == NULL,
		  "garbage bytes are an invalid model");
	CHECK(strlen(err.message) > 0, "garbage bytes give a message");
	CHECK(onnx_model_load(trunc, sizeof(trunc), NULL, &m, &err) == ONNX_ERR_INVALID_MODEL,
		  "truncated protobuf is refused");
	CHECK(onnx_model_load(NULL, 0, NULL, &m, &err) == ONNX_ERR_INVALID_MODEL, "empty model is refused");
}

/* Write the head (tag, length) of a length-delimited field of len bytes to out; its size. */
static size_t
put_field(unsigned char *out, unsigned field, size_t len)
{
	size_t		p = 0;
	uint64_t	tag = ((uint64_t) field << 3) | 2;

	do
	{
		out[p++] = (unsigned char) ((tag & 0x7f) | (tag > 0x7f ? 0x80 : 0));
		tag >>= 7;
	} while (tag);
	do
	{
		out[p++] = (unsigned char) ((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
		len >>= 7;
	} while (len);
	return p;
}

static void
test_deep_nesting(void)
{
	/* graph -> node -> attribute -> g -> node -> ... 300 levels */
	size_t		cap = 1 << 20;
	unsigned char *a = calloc(cap, 1),
			   *b = calloc(cap, 1);
	size_t		len = 0;
	OnnxModel  *m = NULL;
	OnnxError	err;
	static const unsigned fields[3] = {6, 5, 1};	/* Attr.g, Node.attribute, Graph.node: outermost last */

	for (int level = 0; level < 300; level++)
	{
		unsigned	f = fields[level % 3];
		size_t		h = put_field(b, f, len);

		memcpy(b + h, a, len);
		len += h;
		memcpy(a, b, len);
	}
	{
		size_t		h = put_field(b, 7, len);	/* Model.graph */

		memcpy(b + h, a, len);
		len += h;
	}
	CHECK(onnx_model_load(b, len, NULL, &m, &err) == ONNX_ERR_LIMIT,
		  "300-level nested model is refused before decoding");
	CHECK(strstr(err.message, "nesting") != NULL, "nesting error says so");
	free(a);
	free(b);
}

static OnnxStatus
run_mlp(OnnxSession *s, const OnnxValue *x, OnnxValue *y, OnnxError *err)
{
	const char *in_names[] = {"features"};

	return onnx_session_run(s, 1, in_names, x, 1, NULL, y, err);
}

static void
test_mlp(void)
{
	size_t		len,
				ilen,
				elen;
	void	   *bytes = read_fixture("mlp.onnx", &len);
	void	   *ib = read_fixture("mlp_input.pb", &ilen);
	void	   *eb = read_fixture("mlp_expected.pb", &elen);
	OnnxModel  *m;
	OnnxSession *s;
	OnnxError	err;
	OnnxValue	x,
				e,
				y;
	OnnxSessionOptions opts = {0};
	double		maxdiff = 0;
	const OnnxValueInfo *in;
	const OnnxValueInfo *out;

	CHECK(onnx_model_load(bytes, len, NULL, &m, &err) == ONNX_OK, "mlp fixture loads");
	if (err.status != ONNX_OK)
	{
		printf("# %s\n", err.message);
		return;
	}
	in = onnx_model_input(m, 0);
	out = onnx_model_output(m, 0);
	CHECK(onnx_model_input_count(m) == 1 && strcmp(in->name, "features") == 0, "mlp input named");
	CHECK(in->rank == 2 && in->dims[0] == -1 && in->dim_params[0] &&
		  strcmp(in->dim_params[0], "batch") == 0 && in->dims[1] == 4,
		  "mlp input shape [batch, 4]");
	CHECK(out->rank == 2 && out->dims[1] == 3 && out->dtype == ONNX_DTYPE_FLOAT, "mlp output shape [batch, 3]");
	CHECK(onnx_session_create(m, &opts, &s, &err) == ONNX_OK, "mlp session");
	CHECK(onnx_value_decode(ib, ilen, ONNX_VALUE_TENSOR, NULL == NULL ? &onnx_malloc_allocator : NULL, &x, &err) == ONNX_OK,
		  "input decodes");
	CHECK(onnx_value_decode(eb, elen, ONNX_VALUE_TENSOR, &onnx_malloc_allocator, &e, &err) == ONNX_OK,
		  "expected output decodes");
	CHECK(run_mlp(s, &x, &y, &err) == ONNX_OK, "mlp runs");
	if (err.status != ONNX_OK)
		printf("# %s\n", err.message);
	else
	{
		CHECK(y.tensor.rank == 2 && y.tensor.dims[0] == 5 && y.tensor.dims[1] == 3, "mlp output is 5 x 3");
		for (int64_t i = 0; i < e.tensor.count; i++)
		{
			double		d = fabs(((float *) y.tensor.data)[i] - ((float *) e.tensor.data)[i]);

			if (d > maxdiff)
				maxdiff = d;
		}
		printf("# max |engine - onnxruntime| = %g\n", maxdiff);
		CHECK(maxdiff <= 1e-5, "mlp matches onnxruntime within 1e-5");
		onnx_value_release(&onnx_malloc_allocator, &y);
	}

	/* wrong shape */
	{
		OnnxValue	bad = x;

		bad.tensor.dims[1] = 2;
		bad.tensor.dims[0] = 10;
		CHECK(run_mlp(s, &bad, &y, &err) == ONNX_ERR_INVALID_ARGUMENT, "wrong input shape refused");
		CHECK(strstr(err.message, "dimension 1 to be 4") != NULL, "shape error names the expected size");
		bad = x;
		bad.tensor.dtype = ONNX_DTYPE_INT32;
		CHECK(run_mlp(s, &bad, &y, &err) == ONNX_ERR_INVALID_ARGUMENT, "wrong input type refused");
		CHECK(onnx_session_run(s, 0, NULL, NULL, 1, NULL, &y, &err) == ONNX_ERR_INVALID_ARGUMENT,
			  "missing input refused");
	}
	/* batch of zero rows */
	{
		OnnxValue	empty = x;

		empty.tensor.dims[0] = 0;
		empty.tensor.count = 0;
		empty.tensor.nbytes = 0;
		CHECK(run_mlp(s, &empty, &y, &err) == ONNX_OK && y.tensor.dims[0] == 0, "zero-row batch runs");
		onnx_value_release(&onnx_malloc_allocator, &y);
	}
	onnx_session_free(s);

	/* cancellation */
	{
		int			flag = 1;
		int			(*always) (void *) = NULL;

		(void) always;
		opts.abort_fn = (OnnxAbortFn) (void *) 0;
		opts.abort_ctx = &flag;
	}
	onnx_value_release(&onnx_malloc_allocator, &x);
	onnx_value_release(&onnx_malloc_allocator, &e);
	onnx_model_free(m);
	free(bytes);
	free(ib);
	free(eb);
}

static int
abort_now(void *ctx)
{
	return *(int *) ctx;
}

static void
test_cancel_and_limits(void)
{
	size_t		len;
	void	   *bytes = read_fixture("mlp.onnx", &len);
	OnnxModel  *m;
	OnnxSession *s;
	OnnxError	err;
	OnnxSessionOptions opts = {0};
	int			flag = 1;
	float		data[8] = {0};
	OnnxValue	x = {0},
				y;
	const char *names[] = {"features"};

	x.kind = ONNX_VALUE_TENSOR;
	x.tensor.dtype = ONNX_DTYPE_FLOAT;
	x.tensor.rank = 2;
	x.tensor.dims[0] = 2;
	x.tensor.dims[1] = 4;
	x.tensor.count = 8;
	x.tensor.nbytes = sizeof(data);
	x.tensor.data = data;
	onnx_model_load(bytes, len, NULL, &m, &err);
	opts.abort_fn = abort_now;
	opts.abort_ctx = &flag;
	onnx_session_create(m, &opts, &s, &err);
	CHECK(onnx_session_run(s, 1, names, &x, 1, NULL, &y, &err) == ONNX_ERR_CANCELLED,
		  "abort callback cancels a run");
	flag = 0;
	CHECK(onnx_session_run(s, 1, names, &x, 1, NULL, &y, &err) == ONNX_OK,
		  "session usable after cancellation");
	onnx_value_release(&onnx_malloc_allocator, &y);
	onnx_session_free(s);

	opts.abort_fn = NULL;
	opts.max_memory = 16;
	onnx_session_create(m, &opts, &s, &err);
	CHECK(onnx_session_run(s, 1, names, &x, 1, NULL, &y, &err) == ONNX_ERR_LIMIT,
		  "memory limit refuses a run");
	onnx_session_free(s);

	/* run buffers kept between runs: trimmed on request, none after a failure */
	{
		float	   *rows = calloc(512 * 4, sizeof(float));
		OnnxValue	big = x;

		big.tensor.dims[0] = 512;
		big.tensor.count = 512 * 4;
		big.tensor.nbytes = 512 * 4 * sizeof(float);
		big.tensor.data = rows;
		opts.max_memory = 0;
		onnx_session_create(m, &opts, &s, &err);
		CHECK(onnx_session_run(s, 1, names, &big, 1, NULL, &y, &err) == ONNX_OK &&
			  onnx_session_pool_bytes(s) > 0, "a run leaves reusable buffers in the session");
		onnx_value_release(&onnx_malloc_allocator, &y);
		onnx_session_trim(s, 0);
		CHECK(onnx_session_pool_bytes(s) == 0, "onnx_session_trim frees them");
		CHECK(onnx_session_run(s, 1, names, &big, 1, NULL, &y, &err) == ONNX_OK &&
			  onnx_session_pool_bytes(s) > 0, "the next run refills the pool");
		onnx_value_release(&onnx_malloc_allocator, &y);
		opts.max_memory = 20000;
		onnx_session_set_options(s, &opts, &err);
		CHECK(onnx_session_run(s, 1, names, &big, 1, NULL, &y, &err) == ONNX_ERR_LIMIT &&
			  onnx_session_pool_bytes(s) == 0, "a failed run keeps no buffers");
		onnx_session_free(s);
		free(rows);
	}
	onnx_model_free(m);
	free(bytes);
}

/* Aborts from its n-th call on; counts the calls. */
typedef struct AbortAfter
{
	long		calls;
	long		after;
} AbortAfter;

static int
abort_after(void *ctx)
{
	AbortAfter *a = ctx;

	return ++a->calls > a->after;
}

/* Scalar, vector helpers for the loop fixture's inputs. */
static OnnxValue
tensor_value(OnnxDType dt, int rank, int64_t n, void *data, size_t esize)
{
	OnnxValue	v = {0};

	v.kind = ONNX_VALUE_TENSOR;
	v.tensor.dtype = dt;
	v.tensor.rank = rank;
	v.tensor.dims[0] = rank ? n : 0;
	v.tensor.count = n;
	v.tensor.nbytes = (size_t) n * esize;
	v.tensor.data = data;
	return v;
}

/*
 * loop.onnx: Loop(trips, c, x) with a body of no node that carries x and
 * gathers it as a scan output.  With 2^63-1 trips it ends only through the
 * abort callback (asked every iteration, though the body runs no node) or
 * the memory limit.
 */
static void
test_loop(void)
{
	size_t		len;
	void	   *bytes = read_fixture("loop.onnx", &len);
	OnnxModel  *m = NULL;
	OnnxSession *s = NULL;
	OnnxError	err;
	OnnxSessionOptions opts = {0};
	AbortAfter	ab = {0, 1000};
	int64_t		trips = 3;
	uint8_t		cond = 1;
	float		x[4] = {1, 2, 3, 4};
	OnnxValue	in[3],
				out[2];
	const char *names[] = {"trips", "c", "x"};

	in[0] = tensor_value(ONNX_DTYPE_INT64, 0, 1, &trips, sizeof(trips));
	in[1] = tensor_value(ONNX_DTYPE_BOOL, 0, 1, &cond, 1);
	in[2] = tensor_value(ONNX_DTYPE_FLOAT, 1, 4, x, sizeof(float));
	CHECK(onnx_model_load(bytes, len, NULL, &m, &err) == ONNX_OK, "loop fixture loads");
	if (m == NULL)
	{
		printf("# %s\n", err.message);
		free(bytes);
		return;
	}
	onnx_session_create(m, &opts, &s, &err);
	CHECK(onnx_session_run(s, 3, names, in, 2, NULL, out, &err) == ONNX_OK &&
		  out[1].tensor.rank == 2 && out[1].tensor.dims[0] == 3 && out[1].tensor.dims[1] == 4 &&
		  ((float *) out[1].tensor.data)[11] == 4 && ((float *) out[0].tensor.data)[0] == 1,
		  "Loop of 3 trips carries x and gathers it 3 times");
	onnx_value_release(&onnx_malloc_allocator, &out[0]);
	onnx_value_release(&onnx_malloc_allocator, &out[1]);
	onnx_session_free(s);

	trips = INT64_MAX;
	opts.abort_fn = abort_after;
	opts.abort_ctx = &ab;
	onnx_session_create(m, &opts, &s, &err);
	CHECK(onnx_session_run(s, 3, names, in, 2, NULL, out, &err) == ONNX_ERR_CANCELLED &&
		  ab.calls > 1000, "a Loop whose body has no node is cancelled by the abort callback");
	CHECK(strcmp(err.op, "Loop") == 0, "the cancellation names the Loop");
	onnx_session_free(s);

	opts.abort_fn = NULL;
	opts.max_memory = 64 * 1024;
	onnx_session_create(m, &opts, &s, &err);
	CHECK(onnx_session_run(s, 3, names, in, 2, NULL, out, &err) == ONNX_ERR_LIMIT,
		  "a Loop gathering scan outputs for ever stops at the memory limit");
	onnx_session_free(s);
	onnx_model_free(m);
	free(bytes);
}

/* Run random.onnx once in a new session on p (n) and logits (2, 4). */
static OnnxStatus
run_random(OnnxModel *m, float *p, int64_t n, float *logits, OnnxValue *out, OnnxError *err)
{
	OnnxSession *s = NULL;
	OnnxSessionOptions opts = {0};
	OnnxValue	in[2];
	const char *names[] = {"p", "logits"};
	OnnxStatus	st;

	in[0] = tensor_value(ONNX_DTYPE_FLOAT, 1, n, p, sizeof(float));
	in[1] = tensor_value(ONNX_DTYPE_FLOAT, 2, 8, logits, sizeof(float));
	in[1].tensor.dims[0] = 2;
	in[1].tensor.dims[1] = 4;
	if ((st = onnx_session_create(m, &opts, &s, err)) != ONNX_OK)
		return st;
	st = onnx_session_run(s, 2, names, in, 7, NULL, out, err);
	onnx_session_free(s);
	return st;
}

static void
release_values(OnnxValue *v, int n)
{
	for (int i = 0; i < n; i++)
		onnx_value_release(&onnx_malloc_allocator, &v[i]);
}

/* Run conv.onnx once on x (n, 8, 6, 7) into out[2] (h, y). */
static OnnxStatus
run_conv_fixture(OnnxModel *m, float *x, int64_t n, OnnxValue *out, OnnxError *err)
{
	OnnxSession *s = NULL;
	OnnxSessionOptions opts = {0};
	OnnxValue	in = tensor_value(ONNX_DTYPE_FLOAT, 4, n * 8 * 6 * 7, x, sizeof(float));
	const char *names[] = {"x"};
	OnnxStatus	st;

	in.tensor.dims[0] = n;
	in.tensor.dims[1] = 8;
	in.tensor.dims[2] = 6;
	in.tensor.dims[3] = 7;
	if ((st = onnx_session_create(m, &opts, &s, err)) != ONNX_OK)
		return st;
	st = onnx_session_run(s, 1, names, &in, 2, NULL, out, err);
	onnx_session_free(s);
	return st;
}

/*
 * conv.onnx: a batch of 6 images (several images per GEMM in Conv) gives
 * the same outputs as each image run alone (one GEMM per image), up to
 * rounding.
 */
static void
test_conv_batch(void)
{
	enum
	{
		N = 6, IMG = 8 * 6 * 7
	};
	size_t		len;
	void	   *bytes = read_fixture("conv.onnx", &len);
	OnnxModel  *m = NULL;
	OnnxError	err;
	float		x[N * IMG];
	OnnxValue	all[2],
				one[2];
	int			ok = 1;

	for (int i = 0; i < N * IMG; i++)
		x[i] = (float) sin(0.37 * i) * 2.0f;
	CHECK(onnx_model_load(bytes, len, NULL, &m, &err) == ONNX_OK, "conv fixture loads");
	if (m == NULL || run_conv_fixture(m, x, N, all, &err) != ONNX_OK)
	{
		CHECK(0, "conv fixture runs on a batch");
		printf("# %s\n", err.message);
		if (m)
			onnx_model_free(m);
		free(bytes);
		return;
	}
	for (int n = 0; n < N && ok; n++)
	{
		if (run_conv_fixture(m, x + n * IMG, 1, one, &err) != ONNX_OK)
		{
			printf("# %s\n", err.message);
			ok = 0;
			break;
		}
		for (int o = 0; o < 2; o++)
		{
			int64_t		per = one[o].tensor.count;
			const float *a = (const float *) all[o].tensor.data + n * per,
					   *b = one[o].tensor.data;

			if (all[o].tensor.count != N * per)
				ok = 0;
			for (int64_t i = 0; i < per && ok; i++)
				if (!(fabs(a[i] - b[i]) <= 1e-4 * (1 + fabs(b[i]))))
					ok = 0;
		}
		release_values(one, 2);
	}
	CHECK(ok, "Conv of a batch equals Conv of each image alone");
	release_values(all, 2);
	onnx_model_free(m);
	free(bytes);
}

/*
 * random.onnx: seeded outputs repeat across sessions, unseeded ones do
 * not; ranges, moments and the support of Bernoulli and Multinomial.
 */
static void
test_random(void)
{
	size_t		len;
	void	   *bytes = read_fixture("random.onnx", &len);
	OnnxModel  *m = NULL;
	OnnxError	err;
	float		p[8] = {0, 0, 0, 0, 1, 1, 1, 1};
	float		logits[8] = {0, -INFINITY, 1, -INFINITY, -INFINITY, -INFINITY, -INFINITY, 2};
	OnnxValue	a[7],
				b[7];
	const float *u,
			   *nv;
	const int64_t *mv;
	double		sum = 0,
				sq = 0,
				mean,
				sd;
	int			ok = 1,
				seen0 = 0,
				seen2 = 0;

	CHECK(onnx_model_load(bytes, len, NULL, &m, &err) == ONNX_OK, "random fixture loads");
	if (m == NULL)
	{
		printf("# %s\n", err.message);
		free(bytes);
		return;
	}
	if (run_random(m, p, 8, logits, a, &err) != ONNX_OK || run_random(m, p, 8, logits, b, &err) != ONNX_OK)
	{
		CHECK(0, "random fixture runs");
		printf("# %s\n", err.message);
		onnx_model_free(m);
		free(bytes);
		return;
	}
	u = a[0].tensor.data;
	for (int i = 0; i < 1000; i++)
		if (!(u[i] >= -2.0f && u[i] < 3.0f))
			ok = 0;
	CHECK(ok && a[0].tensor.count == 1000, "RandomUniform values lie in [low, high)");
	CHECK(memcmp(a[0].tensor.data, b[0].tensor.data, a[0].tensor.nbytes) == 0,
		  "RandomUniform with a seed repeats across sessions");
	CHECK(memcmp(a[1].tensor.data, b[1].tensor.data, a[1].tensor.nbytes) != 0,
		  "RandomUniform without a seed differs between runs");
	nv = a[2].tensor.data;
	for (int i = 0; i < 100000; i++)
	{
		sum += nv[i];
		sq += (double) nv[i] * nv[i];
	}
	mean = sum / 100000;
	sd = sqrt(sq / 100000 - mean * mean);
	printf("# RandomNormal(1.5, 2): mean %.4f, stddev %.4f\n", mean, sd);
	CHECK(fabs(mean - 1.5) < 0.03 && fabs(sd - 2.0) < 0.03,
		  "RandomNormal sample mean and stddev of 100000 values within 0.03");
	ok = 1;
	for (int i = 0; i < 8; i++)
		if (((float *) a[3].tensor.data)[i] != p[i])
			ok = 0;
	CHECK(ok, "Bernoulli of probabilities 0 and 1 gives 0 and 1");
	mv = a[4].tensor.data;
	ok = a[4].tensor.dtype == ONNX_DTYPE_INT64 && a[4].tensor.dims[0] == 2 && a[4].tensor.dims[1] == 1000;
	for (int i = 0; ok && i < 1000; i++)
	{
		seen0 += mv[i] == 0;
		seen2 += mv[i] == 2;
		if ((mv[i] != 0 && mv[i] != 2) || mv[1000 + i] != 3)
			ok = 0;
	}
	CHECK(ok && seen0 > 0 && seen2 > seen0, "Multinomial draws only classes of non-zero probability");
	CHECK(a[5].tensor.dtype == ONNX_DTYPE_FLOAT16 && a[5].tensor.count == 8 &&
		  a[6].tensor.dtype == ONNX_DTYPE_DOUBLE && a[6].tensor.count == 8,
		  "RandomUniformLike and RandomNormalLike follow the dtype attribute");
	release_values(a, 7);
	release_values(b, 7);
	p[0] = 1.5f;
	CHECK(run_random(m, p, 8, logits, a, &err) == ONNX_ERR_INVALID_ARGUMENT &&
		  strstr(err.message, "[0, 1]") != NULL, "Bernoulli refuses a probability above 1");
	onnx_model_free(m);
	free(bytes);
}

/* function.onnx: nested model-local functions; function_recursive.onnx. */
static void
test_functions(void)
{
	size_t		len;
	void	   *bytes = read_fixture("function.onnx", &len);
	OnnxModel  *m = NULL;
	OnnxSession *s = NULL;
	OnnxError	err;
	OnnxSessionOptions opts = {0};
	float		x[3] = {1, -2, 0.5f};
	OnnxValue	in,
				out;
	const char *names[] = {"x"};

	in = tensor_value(ONNX_DTYPE_FLOAT, 1, 3, x, sizeof(float));
	CHECK(onnx_model_load(bytes, len, NULL, &m, &err) == ONNX_OK, "model-local functions are inlined at load");
	if (m)
	{
		onnx_session_create(m, &opts, &s, &err);
		CHECK(onnx_session_run(s, 1, names, &in, 1, NULL, &out, &err) == ONNX_OK &&
			  out.tensor.count == 3 && ((float *) out.tensor.data)[0] == 12 &&
			  ((float *) out.tensor.data)[1] == -24 && ((float *) out.tensor.data)[2] == 6,
			  "function attributes: a caller's value and a default (y = 12 x)");
		onnx_value_release(&onnx_malloc_allocator, &out);
		onnx_session_free(s);
		onnx_model_free(m);
	}
	free(bytes);
	bytes = read_fixture("function_recursive.onnx", &len);
	CHECK(onnx_model_load(bytes, len, NULL, &m, &err) == ONNX_ERR_INVALID_MODEL && m == NULL &&
		  strstr(err.message, "calls itself") != NULL,
		  "a self-recursive model-local function is refused at load");
	free(bytes);
}

/*
 * Fail every allocation of load, create and run of fixture in turn: each
 * failure is ONNX_ERR_OUT_OF_MEMORY and leaks nothing.
 */
static void
alloc_sweep_opts(const char *fixture, int n_in, const char *const *names, const OnnxValue *in,
				 int n_out, const OnnxSessionOptions *base)
{
	size_t		len;
	void	   *bytes = read_fixture(fixture, &len);
	int			all_clean = 1,
				leaks = 0;
	long		n;
	char		what[200];

	for (n = 0; n < 100000; n++)
	{
		CountingAlloc c = {0, 0, n};
		OnnxAllocator a = {counting_alloc, counting_free, &c};
		OnnxModel  *m = NULL;
		OnnxSession *s = NULL;
		OnnxSessionOptions opts = *base;
		OnnxValue	out[4];
		OnnxError	err;
		OnnxStatus	st;

		st = onnx_model_load(bytes, len, &a, &m, &err);
		if (st == ONNX_OK)
			st = onnx_session_create(m, &opts, &s, &err);
		if (st == ONNX_OK && (st = onnx_session_run(s, n_in, names, in, n_out, NULL, out, &err)) == ONNX_OK)
			for (int i = 0; i < n_out; i++)
				onnx_value_release(&a, &out[i]);
		onnx_session_free(s);
		onnx_model_free(m);
		if (st != ONNX_OK && st != ONNX_ERR_OUT_OF_MEMORY)
		{
			printf("# %s, allocation %ld: %s: %s\n", fixture, n, onnx_status_name(st), err.message);
			all_clean = 0;
		}
		if (c.allocs != c.frees)
			leaks++;
		if (st == ONNX_OK)
			break;
	}
	printf("# %s: %ld allocation points tried\n", fixture, n);
	snprintf(what, sizeof(what), "%s%s: every failed allocation is out of memory, nothing leaks",
			 fixture, base->profile ? " (profiled)" : "");
	CHECK(all_clean && leaks == 0, what);
	free(bytes);
}

static void
alloc_sweep(const char *fixture, int n_in, const char *const *names, const OnnxValue *in,
			int n_out)
{
	OnnxSessionOptions opts = {0};

	alloc_sweep_opts(fixture, n_in, names, in, n_out, &opts);
}

static void
test_control_alloc_failures(void)
{
	int64_t		trips = 3;
	uint8_t		cond = 1;
	float		x[4] = {1, 2, 3, 4};
	OnnxValue	in[3];
	const char *loop_names[] = {"trips", "c", "x"};
	const char *fn_names[] = {"x"};

	in[0] = tensor_value(ONNX_DTYPE_INT64, 0, 1, &trips, sizeof(trips));
	in[1] = tensor_value(ONNX_DTYPE_BOOL, 0, 1, &cond, 1);
	in[2] = tensor_value(ONNX_DTYPE_FLOAT, 1, 4, x, sizeof(float));
	alloc_sweep("loop.onnx", 3, loop_names, in, 2);
	{
		OnnxSessionOptions prof = {0};

		prof.profile = 1;
		alloc_sweep_opts("loop_add.onnx", 3, loop_names, in, 1, &prof);
	}
	in[0] = tensor_value(ONNX_DTYPE_FLOAT, 1, 3, x, sizeof(float));
	alloc_sweep("function.onnx", 1, fn_names, in, 1);
}

/*
 * fold.onnx: y = If(max(x) > 1e30, r + sum(ConstantOfShape(10^10 floats)),
 * Relu(r)), r = Reshape(x @ ConstantOfShape([256, 1024], 0.01), Concat(
 * Shape(x)[0], -1)).  Folding at load builds the 1 MiB weight and the
 * Reshape's shape once, never the 40 GB constant of the branch no run
 * takes; a run then holds so little that a 256 KiB memory limit passes
 * (the weight alone would not fit it), and in the steady state a run
 * calls the allocator only for what it hands back.
 */
static void
test_fold(void)
{
	size_t		len;
	void	   *bytes = read_fixture("fold.onnx", &len);
	ByteAlloc	ba = {0, 0, 0};
	OnnxAllocator a = {byte_alloc, byte_free, &ba};
	OnnxModel  *m = NULL;
	OnnxSession *s = NULL;
	OnnxSessionOptions opts = {0};
	OnnxError	err;
	float		x[256];
	double		sum = 0;
	OnnxValue	in,
				y;
	const char *names[] = {"x"};
	int			ok = 1;
	long		calls[4];

	for (int i = 0; i < 256; i++)
	{
		x[i] = (float) (-1.0 + 2.0 * i / 255.0 + 0.5);
		sum += x[i];
	}
	in = tensor_value(ONNX_DTYPE_FLOAT, 2, 256, x, sizeof(float));
	in.tensor.dims[0] = 1;
	in.tensor.dims[1] = 256;
	CHECK(onnx_model_load(bytes, len, &a, &m, &err) == ONNX_OK, "fold fixture loads");
	if (m == NULL)
	{
		printf("# %s\n", err.message);
		free(bytes);
		return;
	}
	printf("# fold.onnx: load held at most %zu bytes, the model holds %zu\n", ba.peak, ba.now);
	CHECK(ba.peak < ((size_t) 16 << 20),
		  "a ConstantOfShape of 10^10 floats is not built at load (under 16 MiB held)");
	opts.max_memory = 256 * 1024;
	CHECK(onnx_session_create(m, &opts, &s, &err) == ONNX_OK, "fold session");
	for (int r = 0; r < 4 && ok; r++)
	{
		long		before = ba.calls;

		if (onnx_session_run(s, 1, names, &in, 1, NULL, &y, &err) != ONNX_OK)
		{
			printf("# run %d: %s\n", r, err.message);
			ok = 0;
			break;
		}
		calls[r] = ba.calls - before;
		for (int j = 0; j < 1024 && ok; j++)
			if (fabs(((float *) y.tensor.data)[j] - fmax(sum * 0.01, 0)) > 1e-4)
				ok = 0;
		onnx_value_release(&a, &y);
	}
	CHECK(ok, "folded weight and shape give x @ 0.01 reshaped, under a 256 KiB memory limit");
	if (ok)
	{
		printf("# allocator calls per run: %ld, %ld, %ld, %ld\n", calls[0], calls[1], calls[2], calls[3]);
		CHECK(calls[3] <= 3, "a run in the steady state calls the allocator at most 3 times");
	}
	onnx_session_free(s);
	onnx_model_free(m);
	CHECK(ba.now == 0, "fold fixture: everything freed");
	free(bytes);
	alloc_sweep("fold.onnx", 1, names, &in, 1);
}

static void
test_alloc_failures(void)
{
	size_t		len;
	void	   *bytes = read_fixture("mlp.onnx", &len);
	long		n;
	int			all_clean = 1;
	int			leaks = 0;
	OnnxError	err;

	/* fail every allocation point in load + create + run in turn */
	for (n = 0; n < 100000; n++)
	{
		CountingAlloc c = {0, 0, n};
		OnnxAllocator a = {counting_alloc, counting_free, &c};
		OnnxModel  *m = NULL;
		OnnxSession *s = NULL;
		OnnxStatus	st;
		float		data[4] = {1, 2, 3, 4};
		OnnxValue	x = {0},
					y;
		const char *names[] = {"features"};
		OnnxSessionOptions opts = {0};

		x.kind = ONNX_VALUE_TENSOR;
		x.tensor.dtype = ONNX_DTYPE_FLOAT;
		x.tensor.rank = 2;
		x.tensor.dims[0] = 1;
		x.tensor.dims[1] = 4;
		x.tensor.count = 4;
		x.tensor.nbytes = sizeof(data);
		x.tensor.data = data;
		st = onnx_model_load(bytes, len, &a, &m, &err);
		if (st == ONNX_OK)
			st = onnx_session_create(m, &opts, &s, &err);
		if (st == ONNX_OK)
		{
			st = onnx_session_run(s, 1, names, &x, 1, NULL, &y, &err);
			if (st == ONNX_OK)
				onnx_value_release(&a, &y);
		}
		onnx_session_free(s);
		onnx_model_free(m);
		if (st != ONNX_OK && st != ONNX_ERR_OUT_OF_MEMORY)
		{
			printf("# allocation %ld: %s: %s\n", n, onnx_status_name(st), err.message);
			all_clean = 0;
		}
		if (c.allocs != c.frees)
			leaks++;
		if (st == ONNX_OK)
			break;
	}
	printf("# %ld allocation points tried\n", n);
	CHECK(all_clean, "every failed allocation gives ONNX_ERR_OUT_OF_MEMORY");
	CHECK(leaks == 0, "no allocation leaks on any failure path");
	free(bytes);
}

/* The profile entry of op_type in e[0..n), or NULL. */
static const OnnxOpProfile *
profile_entry(const OnnxOpProfile *e, int n, const char *op_type)
{
	for (int i = 0; i < n; i++)
		if (strcmp(e[i].op_type, op_type) == 0)
			return &e[i];
	return NULL;
}

/*
 * The profiler: per-op-type calls count the nodes run (body nodes of a
 * Loop under their own op types, once per trip), entries come largest
 * first, reset empties them, and a session that does not profile counts
 * nothing until set_options turns profiling on.
 */
static void
test_profile(void)
{
	size_t		len;
	void	   *bytes = read_fixture("mlp.onnx", &len);
	OnnxModel  *m = NULL;
	OnnxSession *s = NULL;
	OnnxError	err;
	OnnxSessionOptions opts = {0};
	OnnxOpProfile e[64],
				top[2];
	const OnnxOpProfile *p;
	float		data[8] = {1, 2, 3, 4, -1, 0.5f, 2, 0};
	OnnxValue	x,
				y,
				in[3];
	const char *names[] = {"features"};
	const char *loop_names[] = {"trips", "c", "x"};
	int			n,
				ok;
	int64_t		calls = 0,
				trips = 4;
	uint8_t		cond = 1;
	uint64_t	ns = 0;

	x = tensor_value(ONNX_DTYPE_FLOAT, 2, 8, data, sizeof(float));
	x.tensor.dims[0] = 2;
	x.tensor.dims[1] = 4;
	if (onnx_model_load(bytes, len, NULL, &m, &err) != ONNX_OK)
	{
		CHECK(0, "mlp loads for profiling");
		free(bytes);
		return;
	}
	onnx_session_create(m, &opts, &s, &err);
	onnx_session_run(s, 1, names, &x, 1, NULL, &y, &err);
	onnx_value_release(&onnx_malloc_allocator, &y);
	CHECK(onnx_session_profile(s, e, 64) == 0, "a session without profiling has no profile");

	opts.profile = ONNX_PROFILE_WALL;
	CHECK(onnx_session_set_options(s, &opts, &err) == ONNX_OK, "set_options turns profiling on");
	ok = 1;
	for (int r = 0; r < 3; r++)
	{
		ok &= onnx_session_run(s, 1, names, &x, 1, NULL, &y, &err) == ONNX_OK;
		onnx_value_release(&onnx_malloc_allocator, &y);
	}
	n = onnx_session_profile(s, e, 64);
	for (int i = 0; i < n; i++)
	{
		calls += e[i].calls;
		ns += e[i].total_ns;
		if (i > 0 && e[i].total_ns > e[i - 1].total_ns)
			ok = 0;
		if (e[i].calls % 3 != 0 || strcmp(e[i].domain, "") != 0)
			ok = 0;
	}
	CHECK(ok && n >= 4 && ns > 0, "3 profiled runs: every op type ran a multiple of 3 times, largest first");
	/* the optimizer may fuse some of the 11 nodes, never these */
	CHECK((p = profile_entry(e, n, "Softmax")) && p->calls == 3 &&
		  (p = profile_entry(e, n, "Tanh")) && p->calls == 3 &&
		  (p = profile_entry(e, n, "Sigmoid")) && p->calls == 3 &&
		  calls >= 3 * 5 && calls <= 3 * 11, "profile counts the mlp's nodes once per run");
	CHECK(onnx_session_profile(s, top, 2) == n && top[0].calls == e[0].calls &&
		  top[0].total_ns == e[0].total_ns && top[1].total_ns == e[1].total_ns,
		  "a short buffer receives the largest entries and the count of all");
	onnx_session_profile_reset(s);
	CHECK(onnx_session_profile(s, e, 64) == 0, "reset empties the profile");
	opts.profile = 0;
	onnx_session_set_options(s, &opts, &err);
	onnx_session_run(s, 1, names, &x, 1, NULL, &y, &err);
	onnx_value_release(&onnx_malloc_allocator, &y);
	CHECK(onnx_session_profile(s, e, 64) == 0, "runs with profiling off add nothing");
	opts.profile = ONNX_PROFILE_CPU;
	onnx_session_set_options(s, &opts, &err);
	onnx_session_run(s, 1, names, &x, 1, NULL, &y, &err);
	onnx_value_release(&onnx_malloc_allocator, &y);
	n = onnx_session_profile(s, e, 64);
	CHECK((p = profile_entry(e, n, "Softmax")) && p->calls == 1 && e[0].total_ns > 0,
		  "the CPU-clock profile counts the nodes of one run");
	onnx_session_free(s);
	onnx_model_free(m);
	free(bytes);

	/* a Loop's body nodes count under their own op types, once per trip */
	bytes = read_fixture("loop_add.onnx", &len);
	in[0] = tensor_value(ONNX_DTYPE_INT64, 0, 1, &trips, sizeof(trips));
	in[1] = tensor_value(ONNX_DTYPE_BOOL, 0, 1, &cond, 1);
	in[2] = tensor_value(ONNX_DTYPE_FLOAT, 1, 2, data, sizeof(float));
	if (onnx_model_load(bytes, len, NULL, &m, &err) != ONNX_OK)
	{
		CHECK(0, "loop_add loads");
		free(bytes);
		return;
	}
	opts.profile = 1;
	CHECK(onnx_session_create(m, &opts, &s, &err) == ONNX_OK &&
		  onnx_session_run(s, 3, loop_names, in, 1, NULL, &y, &err) == ONNX_OK &&
		  ((float *) y.tensor.data)[0] == 5 && ((float *) y.tensor.data)[1] == 6,
		  "profiled Loop of 4 trips adds 4");
	onnx_value_release(&onnx_malloc_allocator, &y);
	n = onnx_session_profile(s, e, 64);
	CHECK((p = profile_entry(e, n, "Loop")) && p->calls == 1 &&
		  (p = profile_entry(e, n, "Add")) && p->calls == 4 &&
		  (p = profile_entry(e, n, "Identity")) && p->calls == 4,
		  "profile counts a Loop once and its body's nodes once per trip");
	onnx_session_free(s);
	onnx_model_free(m);
	free(bytes);
}

/*
 * dead.onnx: y = Relu(x) beside nodes nothing reads.  The unread Constant
 * and the Constant -> Mul -> Exp chain are skipped at load; the unread
 * RandomUniform still runs (each run draws).
 */
static void
test_dead_nodes(void)
{
	size_t		len;
	void	   *bytes = read_fixture("dead.onnx", &len);
	OnnxModel  *m = NULL;
	OnnxSession *s = NULL;
	OnnxSessionOptions opts = {0};
	OnnxError	err;
	OnnxOpProfile e[16];
	const OnnxOpProfile *p;
	float		x[4] = {-1, 2, -3, 4};
	OnnxValue	in = tensor_value(ONNX_DTYPE_FLOAT, 1, 4, x, sizeof(float)),
				y;
	const char *names[] = {"x"};
	int			n;

	if (bytes == NULL || onnx_model_load(bytes, len, NULL, &m, &err) != ONNX_OK)
	{
		CHECK(0, "dead.onnx loads");
		free(bytes);
		return;
	}
	opts.profile = ONNX_PROFILE_WALL;
	CHECK(onnx_session_create(m, &opts, &s, &err) == ONNX_OK &&
		  onnx_session_run(s, 1, names, &in, 1, NULL, &y, &err) == ONNX_OK &&
		  ((float *) y.tensor.data)[0] == 0 && ((float *) y.tensor.data)[3] == 4,
		  "dead.onnx: y = Relu(x)");
	onnx_value_release(&onnx_malloc_allocator, &y);
	n = onnx_session_profile(s, e, 16);
	CHECK((p = profile_entry(e, n, "Relu")) && p->calls == 1 &&
		  (p = profile_entry(e, n, "RandomUniform")) && p->calls == 1 &&
		  !profile_entry(e, n, "Constant") && !profile_entry(e, n, "Mul") &&
		  !profile_entry(e, n, "Exp"),
		  "nodes nothing reads are skipped at load, random ones still run");
	onnx_session_free(s);
	onnx_model_free(m);
	free(bytes);
}

static void
test_unsupported(void)
{
	size_t		len;
	void	   *bytes = read_fixture("unsupported_ops.onnx", &len);
	OnnxModel  *m;
	OnnxError	err;

	CHECK(onnx_model_load(bytes, len, NULL, &m, &err) == ONNX_ERR_UNSUPPORTED,
		  "unknown operators refused at load");
	CHECK(strstr(err.message, "FrobnicateA") && strstr(err.message, "FrobnicateB"),
		  "error lists every missing operator");
	printf("# %s\n", err.message);
	free(bytes);
}

/* Run override.onnx (y = x @ w + v) with x = [1, 2], optionally feeding w or v. */
static OnnxStatus
run_override(OnnxSession *s, const char *fed, const float *fed_data, int64_t fed_n,
			 float *y3, OnnxError *err)
{
	float		xd[2] = {1, 2};
	int64_t		xdims[2] = {1, 2};
	int64_t		fdims[2] = {2, 3};
	OnnxValue	in[2],
				y;
	const char *names[2] = {"x", fed};
	OnnxStatus	st;

	memset(in, 0, sizeof(in));
	in[0].kind = ONNX_VALUE_TENSOR;
	in[0].tensor.dtype = ONNX_DTYPE_FLOAT;
	in[0].tensor.rank = 2;
	memcpy(in[0].tensor.dims, xdims, sizeof(xdims));
	in[0].tensor.count = 2;
	in[0].tensor.nbytes = sizeof(xd);
	in[0].tensor.data = xd;
	if (fed)
	{
		in[1] = in[0];
		in[1].tensor.rank = fed_n == 3 ? 1 : 2;
		if (fed_n == 3)
			in[1].tensor.dims[0] = 3;
		else
			memcpy(in[1].tensor.dims, fdims, sizeof(fdims));
		in[1].tensor.count = fed_n;
		in[1].tensor.nbytes = sizeof(float) * (size_t) fed_n;
		in[1].tensor.data = (void *) fed_data;
	}
	st = onnx_session_run(s, fed ? 2 : 1, names, in, 1, NULL, &y, err);
	if (st == ONNX_OK)
	{
		memcpy(y3, y.tensor.data, 3 * sizeof(float));
		onnx_value_release(&onnx_malloc_allocator, &y);
	}
	return st;
}

/*
 * An initializer also listed as an input (IR >= 4) is a default the
 * caller may override; a plain initializer is a constant nobody overrides
 * (kernels may have packed it at load).
 */
static void
test_initializer_override(void)
{
	size_t		len;
	void	   *bytes = read_fixture("override.onnx", &len);
	OnnxModel  *m;
	OnnxSession *s;
	OnnxError	err;
	OnnxSessionOptions opts = {0};
	float		y[3];
	const float w2[6] = {1, 0, 0, 0, 1, 0};
	const float v3[3] = {5, 5, 5};

	if (bytes == NULL || onnx_model_load(bytes, len, NULL, &m, &err) != ONNX_OK)
	{
		CHECK(0, "override fixture loads");
		free(bytes);
		return;
	}
	CHECK(onnx_model_input_count(m) == 1, "an overridable initializer is not a required input");
	CHECK(onnx_session_create(m, &opts, &s, &err) == ONNX_OK, "override session");
	/* x @ arange(6).reshape(2, 3) + 1 = [1*0+2*3, 1*1+2*4, 1*2+2*5] + 1 */
	CHECK(run_override(s, NULL, NULL, 0, y, &err) == ONNX_OK &&
		  y[0] == 7 && y[1] == 10 && y[2] == 13, "the stored default is used when not fed");
	CHECK(run_override(s, "w", w2, 6, y, &err) == ONNX_OK &&
		  y[0] == 2 && y[1] == 3 && y[2] == 1, "a fed value overrides an initializer listed as an input");
	CHECK(run_override(s, "v", v3, 3, y, &err) == ONNX_ERR_INVALID_ARGUMENT &&
		  strstr(err.message, "no input named \"v\"") != NULL,
		  "a plain initializer cannot be overridden");
	onnx_session_free(s);
	onnx_model_free(m);
	free(bytes);
}

static void
test_dtypes(void)
{
	int			ok = 1;

	for (int d = 1; d < ONNX_DTYPE_COUNT; d++)
		if ((int) onnx_dtype_from_name(onnx_dtype_name((OnnxDType) d)) != d || onnx_dtype_size((OnnxDType) d) == 0)
			ok = 0;
	CHECK(ok, "every ONNX dtype has a name and a size");
	CHECK(onnx_dtype_from_name("float") == ONNX_DTYPE_FLOAT, "float is float32");
	CHECK(onnx_registry_count() > 10, "registry has operators");
}

/*
 * Error of got against the double ref in units of the float32 spacing at
 * ref (the smallest subnormal below FLT_MIN); 0 for matching NaN/inf.
 */
static double
ulp_error(float got, double ref)
{
	float		rf = (float) ref;
	double		u;

	if (isnan(ref) || isinf(ref))
		return (isnan(ref) ? isnan(got) : got == rf) ? 0 : 1e30;
	u = fabs(ref) < 1.1754944e-38 ? 1.4e-45 :
		(double) nextafterf(fabsf(rf), INFINITY) - fabs((double) rf);
	return fabs((double) got - ref) / u;
}

/*
 * onnx_vec_sigmoid_f32 / onnx_vec_tanh_f32 at every instruction set level
 * this CPU has, against double references: one float in every 4099 bit
 * patterns (both signs, subnormals, huge, inf, NaN) and a dense sweep of
 * [-20, 20], in rows of odd lengths so every vector tail runs.  Bounds
 * are those vecmath.h states (sigmoid 2.9 ulp for x >= -87, else within
 * 1.7e-38 of 0; tanh 1.6 ulp).
 */
static void
test_vecmath(void)
{
	enum
	{
		N = 1 << 20
	};
	float	   *x = malloc(sizeof(float) * N),
			   *ys = malloc(sizeof(float) * N),
			   *yt = malloc(sizeof(float) * N);
	int			best,
				n = 0;
	char		name[160];

	onnx_vec_set_max_isa(ONNX_VEC_AVX512);
	best = (int) onnx_vec_isa();
	for (uint64_t u = 0; u < ((uint64_t) 1 << 32) && n < N / 2; u += 4099)
	{
		uint32_t	b = (uint32_t) u;

		memcpy(&x[n++], &b, sizeof(float));
	}
	for (int i = 0; n < N; i++)
		x[n++] = -20.0f + 40.0f * (float) i / (float) (N / 2);
	x[0] = INFINITY, x[1] = -INFINITY, x[2] = NAN, x[3] = 0.0f, x[4] = -0.0f;
	for (int level = 0; level <= best; level++)
	{
		double		worst_s = 0,
					worst_t = 0;
		int			specials_ok,
					off = 0;

		onnx_vec_set_max_isa(level);
		/* rows of 1, 2, ..., 37 floats, then the rest */
		for (int len = 1; off < N; len = len < 37 ? len + 1 : N)
		{
			int			m = off + len <= N ? len : N - off;

			onnx_vec_sigmoid_f32(x + off, ys + off, m);
			onnx_vec_tanh_f32(x + off, yt + off, m);
			off += m;
		}
		for (int i = 5; i < N; i++)
		{
			double		xd = x[i],
						es = xd < -87 ? (fabs(ys[i] - 1 / (1 + exp(-xd))) < 1.7e-38 ? 0 : 1e30) :
				ulp_error(ys[i], 1 / (1 + exp(-xd))),
						et = ulp_error(yt[i], tanh(xd));

			worst_s = es > worst_s || isnan(es) ? es : worst_s;
			worst_t = et > worst_t || isnan(et) ? et : worst_t;
		}
		specials_ok = ys[0] == 1 && ys[1] == 0 && isnan(ys[2]) && ys[3] == 0.5f && ys[4] == 0.5f &&
			yt[0] == 1 && yt[1] == -1 && isnan(yt[2]) && yt[3] == 0 && !signbit(yt[3]) &&
			yt[4] == 0 && signbit(yt[4]);
		printf("# vecmath level %d: sigmoid %.2f ulp, tanh %.2f ulp\n", level, worst_s, worst_t);
		snprintf(name, sizeof(name), "vecmath level %d is used when capped to it", level);
		CHECK((int) onnx_vec_isa() == level, name);
		snprintf(name, sizeof(name), "vecmath level %d: sigmoid within 2.9 ulp, tanh within 1.6 ulp", level);
		CHECK(worst_s <= 2.9 && worst_t <= 1.6, name);
		snprintf(name, sizeof(name), "vecmath level %d: +-inf, NaN and +-0 give the exact results", level);
		CHECK(specials_ok, name);
	}
	onnx_vec_set_max_isa(ONNX_VEC_AVX512);
	free(x);
	free(ys);
	free(yt);
}

/* DynamicQuantizeLinear's code of x: x / scale rounded to nearest even, + zp, clamped; NaN 0 */
static uint8_t
dyn_code(float x, float scale, float zp)
{
	float		a = x / scale;

	if (isnan(x))
		return 0;
	a = a < -1e6f ? -1e6f : a > 1e6f ? 1e6f : a;
	a = nearbyintf(a) + zp;
	return (uint8_t) (a < 0 ? 0 : a > 255 ? 255 : a);
}

/*
 * onnx_qmm_quantize_u8 and onnx_qmm_range (qmatmul.c) at every SIMD level
 * against the scalar definitions: every length 1..200 (the 64-float
 * steps and the masked tails), at several offsets, over ties, +-inf, NaN,
 * huge values and random bit patterns, several scales and zero points.
 */
static void
test_dyn_quantize(void)
{
	enum
	{
		N = 4096
	};
	float	   *x = malloc(sizeof(float) * N);
	uint8_t    *q = malloc(N);
	const float scales[] = {0.05f, 1.0f / 255, 3.7f, 1e-30f, 1e30f};
	int			best,
				bad_q = 0,
				bad_r = 0;
	uint32_t	seed = 12345;
	char		name[160];

	onnx_vec_set_max_isa(ONNX_VEC_AVX512);
	best = (int) onnx_vec_isa();
	for (int level = 0; level <= best; level++)
	{
		onnx_vec_set_max_isa(level);
		for (int si = 0; si < 5; si++)
		{
			float		s = scales[si],
						zp = (float) ((si * 61) % 256);

			for (int i = 0; i < N; i++)
			{
				uint32_t	b;

				seed = seed * 1664525u + 1013904223u;
				b = seed;
				switch (i % 5)
				{
					case 0:
						memcpy(&x[i], &b, sizeof(float));
						break;
					case 1:
						x[i] = ((float) (b % 4001) - 2000.0f) * 0.5f * s;	/* ties */
						break;
					case 2:
						x[i] = i % 7 == 0 ? INFINITY : i % 7 == 1 ? -INFINITY : i % 7 == 2 ? NAN : -3e38f;
						break;
					default:
						x[i] = ((float) (b % 20001) - 10000.0f) * s / 37.0f;
				}
			}
			for (int len = 1, off = 0; len <= 200 && off + len <= N; off += len, len++)
			{
				float		mn,
							mx,
							rl = 0,
							rh = 0;

				onnx_qmm_quantize_u8(x + off, len, s, zp, q + off);
				for (int i = off; i < off + len; i++)
				{
					bad_q += q[i] != dyn_code(x[i], s, zp);
					/* the range over finite values and NaN (skipped) */
					x[i] = isinf(x[i]) ? 1.0f : x[i];
					rl = x[i] < rl ? x[i] : rl;
					rh = x[i] > rh ? x[i] : rh;
				}
				onnx_qmm_range(x + off, len, &mn, &mx);
				bad_r += mn != rl || mx != rh;
			}
		}
		snprintf(name, sizeof(name), "dynamic quantization level %d: codes are the division's", level);
		CHECK(bad_q == 0, name);
		snprintf(name, sizeof(name), "dynamic quantization level %d: min / max as the scalar loop", level);
		CHECK(bad_r == 0, name);
	}
	onnx_vec_set_max_isa(ONNX_VEC_AVX512);
	free(x);
	free(q);
}

/* The float16 LSTM fixture under the allocation-failure sweep. */
static void
test_lstm_alloc_failures(void)
{
	uint16_t	x[4 * 3 * 5],
				h0[2 * 3 * 6],
				c0[2 * 3 * 6];
	int32_t		lens[3] = {4, 2, 0};
	OnnxValue	in[4];
	const char *names[] = {"x", "lens", "h0", "c0"};
	static const uint16_t halves[] = {0x3C00, 0xB800, 0x3400, 0xBC00, 0x0000, 0x3A00, 0xB266};

	for (int i = 0; i < 60; i++)
		x[i] = halves[i % 7];
	for (int i = 0; i < 36; i++)
	{
		h0[i] = halves[(i + 3) % 7];
		c0[i] = halves[(i + 5) % 7];
	}
	in[0] = tensor_value(ONNX_DTYPE_FLOAT16, 3, 60, x, 2);
	in[0].tensor.dims[0] = 4, in[0].tensor.dims[1] = 3, in[0].tensor.dims[2] = 5;
	in[1] = tensor_value(ONNX_DTYPE_INT32, 1, 3, lens, 4);
	in[2] = tensor_value(ONNX_DTYPE_FLOAT16, 3, 36, h0, 2);
	in[2].tensor.dims[0] = 2, in[2].tensor.dims[1] = 3, in[2].tensor.dims[2] = 6;
	in[3] = in[2];
	in[3].tensor.data = c0;
	alloc_sweep("lstm.onnx", 4, names, in, 3);
}

/*
 * The serialized model y = Tanh(Exp(Neg(Sigmoid(Relu(x))))), x and y
 * float (n); malloc'ed, length in *len.
 */
static void *
elementwise_chain_model(int64_t n, size_t *len)
{
	static char *ops[] = {"Relu", "Sigmoid", "Neg", "Exp", "Tanh"};
	static char *names[] = {"x", "t1", "t2", "t3", "t4", "y"};
	Onnx__NodeProto nodes[5],
			   *node_ptrs[5];
	Onnx__TensorShapeProto__Dimension dim = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT,
			   *dims[1] = {&dim};
	Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
	Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
	Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
	Onnx__ValueInfoProto in = ONNX__VALUE_INFO_PROTO__INIT,
			   *ins[1] = {&in},
				out = ONNX__VALUE_INFO_PROTO__INIT,
			   *outs[1] = {&out};
	Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
	Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT,
			   *opsets[1] = {&opset};
	Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
	void	   *buf;

	for (int i = 0; i < 5; i++)
	{
		onnx__node_proto__init(&nodes[i]);
		nodes[i].op_type = ops[i];
		nodes[i].n_input = 1;
		nodes[i].input = &names[i];
		nodes[i].n_output = 1;
		nodes[i].output = &names[i + 1];
		node_ptrs[i] = &nodes[i];
	}
	dim.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
	dim.dim_value = n;
	shape.n_dim = 1;
	shape.dim = dims;
	tt.has_elem_type = 1;
	tt.elem_type = ONNX_DTYPE_FLOAT;
	tt.shape = &shape;
	type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	type.tensor_type = &tt;
	in.name = "x";
	in.type = &type;
	out.name = "y";
	out.type = &type;
	g.name = "chain";
	g.n_node = 5;
	g.node = node_ptrs;
	g.n_input = 1;
	g.input = ins;
	g.n_output = 1;
	g.output = outs;
	opset.domain = "";
	opset.has_version = 1;
	opset.version = 21;
	m.has_ir_version = 1;
	m.ir_version = 10;
	m.n_opset_import = 1;
	m.opset_import = opsets;
	m.graph = &g;
	*len = onnx__model_proto__get_packed_size(&m);
	buf = malloc(*len);
	onnx__model_proto__pack(&m, buf);
	return buf;
}

/*
 * A chain of elementwise ops runs in one buffer: each output takes over
 * its input's (the memory limit leaves room for one intermediate tensor
 * only), the graph input is not written, the results are right.
 */
static void
test_elementwise_in_place(void)
{
	const int64_t n = 1000;
	size_t		len;
	void	   *bytes = elementwise_chain_model(n, &len);
	float	   *xs = malloc(sizeof(float) * n);
	const char *names[] = {"x"};
	OnnxModel  *m;
	OnnxSession *s;
	OnnxError	err;
	OnnxSessionOptions opts = {0};
	OnnxValue	x = {0},
				y = {0};
	bool		right = true,
				kept = true;

	for (int64_t i = 0; i < n; i++)
		xs[i] = (float) (i - n / 2) / 100.0f;
	x.kind = ONNX_VALUE_TENSOR;
	x.tensor.dtype = ONNX_DTYPE_FLOAT;
	x.tensor.rank = 1;
	x.tensor.dims[0] = n;
	x.tensor.count = n;
	x.tensor.nbytes = sizeof(float) * n;
	x.tensor.data = xs;
	CHECK(onnx_model_load(bytes, len, &onnx_malloc_allocator, &m, &err) == ONNX_OK,
		  "an elementwise chain built in the test loads");
	opts.max_memory = sizeof(float) * n * 3 / 2;
	onnx_session_create(m, &opts, &s, &err);
	CHECK(onnx_session_run(s, 1, names, &x, 1, NULL, &y, &err) == ONNX_OK,
		  "its five ops run in one buffer (memory limit of 1.5 tensors)");
	for (int64_t i = 0; i < n && y.kind == ONNX_VALUE_TENSOR; i++)
	{
		double		v = xs[i] > 0 ? xs[i] : 0;

		v = tanh(exp(-1.0 / (1.0 + exp(-v))));
		right &= fabs(((float *) y.tensor.data)[i] - v) <= 1e-6 * fabs(v);
		kept &= xs[i] == (float) (i - n / 2) / 100.0f;
	}
	CHECK(y.kind == ONNX_VALUE_TENSOR && right, "the chain computed in place is right");
	CHECK(kept, "the graph input is not written");
	onnx_value_release(&onnx_malloc_allocator, &y);
	onnx_session_free(s);
	onnx_model_free(m);
	free(xs);
	free(bytes);
}

/* ---- scratch: per-node memory released by the executor ---- */

typedef struct ScratchProbe
{
	unsigned char *outer;		/* the outer kernel's block */
	size_t		used_in_inner;	/* scratch in use inside the inner kernel */
	size_t		used_after_inner;	/* in the outer kernel after the body ran */
	bool		outer_intact;	/* its block survived the body's nodes */
	bool		aligned;
	bool		huge_refused;
	bool		inner_fail;		/* make the inner kernel fail */
	OnnxStatus	inner_status;	/* what the subgraph run returned */
} ScratchProbe;

static ScratchProbe probe;
static OnnxGraph probe_body;

/* Body node: takes scratch of its own (and a chunk's worth), maybe fails. */
static OnnxStatus
probe_inner_run(OnnxKernelCtx *ctx)
{
	unsigned char *b = onnx_kernel_scratch(ctx, 1000, 1);
	unsigned char *big = onnx_kernel_scratch(ctx, 3, 1 << 20);

	if (b == NULL || big == NULL)
		return ONNX_KERNEL_OOM(ctx);
	memset(b, 0xcd, 1000);
	memset(big, 0xee, 3 << 20);
	probe.used_in_inner = onnx_session_scratch_used(ctx->session);
	if (probe.inner_fail)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "inner kernel fails on purpose");
	return ONNX_OK;
}

/* Node with a subgraph: holds scratch while the body runs, then fails. */
static OnnxStatus
probe_outer_run(OnnxKernelCtx *ctx)
{
	unsigned char *a = onnx_kernel_scratch(ctx, 1000, 1);
	size_t		before;

	if (a == NULL)
		return ONNX_KERNEL_OOM(ctx);
	probe.outer = a;
	probe.aligned = ((uintptr_t) a % 64) == 0;
	memset(a, 0xab, 1000);
	before = onnx_session_scratch_used(ctx->session);
	probe.inner_status = onnx_kernel_run_subgraph(ctx, &probe_body, 0, NULL, NULL);
	onnx_error_clear(ctx->err);
	probe.used_after_inner = onnx_session_scratch_used(ctx->session);
	probe.outer_intact = probe.used_after_inner == before;
	for (int i = 0; i < 1000; i++)
		if (a[i] != 0xab)
			probe.outer_intact = false;
	probe.huge_refused = onnx_kernel_scratch(ctx, SIZE_MAX / 2, 4) == NULL &&
		ctx->err->status == ONNX_ERR_LIMIT;
	return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "outer kernel fails on purpose");
}

/*
 * A kernel's scratch is released after it returns, even when it fails; a
 * node running a subgraph keeps its scratch while the body's nodes take
 * and release theirs (succeeding or failing); a product that overflows is
 * refused.
 */
static void
test_scratch(void)
{
	size_t		len;
	void	   *bytes = read_fixture("loop.onnx", &len);
	OnnxModel  *m = NULL;
	OnnxSession *s = NULL;
	OnnxError	err;
	OnnxOpDef	inner_def = {0},
				outer_def = {0};
	OnnxNode	inner = {0},
				outer = {0};
	OnnxValue	dummy;

	inner_def.name = "ProbeInner";
	inner_def.run = probe_inner_run;
	outer_def.name = "ProbeOuter";
	outer_def.run = probe_outer_run;
	inner.op_type = "ProbeInner";
	inner.name = "inner";
	inner.def = &inner_def;
	outer.op_type = "ProbeOuter";
	outer.name = "outer";
	outer.def = &outer_def;
	probe_body.name = "probe_body";
	probe_body.n_nodes = 1;
	probe_body.nodes = &inner;
	probe_body.id = -1;

	if (onnx_model_load(bytes, len, NULL, &m, &err) != ONNX_OK ||
		onnx_session_create(m, NULL, &s, &err) != ONNX_OK)
	{
		CHECK(false, "scratch: a session to run probe kernels in");
		free(bytes);
		return;
	}
	for (int fail = 0; fail <= 1; fail++)
	{
		memset(&probe, 0, sizeof(probe));
		probe.inner_fail = fail;
		CHECK(onnx_session_run_node(s, &outer, NULL, &dummy, &err) == ONNX_ERR_INVALID_ARGUMENT &&
			  strcmp(err.node, "outer") == 0,
			  fail ? "scratch: a failing body node's failure reaches the node running it" :
			  "scratch: the node running a subgraph fails on purpose");
		CHECK(probe.inner_status == (fail ? ONNX_ERR_INVALID_ARGUMENT : ONNX_OK),
			  "scratch: the body's status is what its kernel returned");
		CHECK(probe.used_in_inner >= 1000 + (3 << 20) + 1000,
			  "scratch: the body's node takes scratch above its parent's");
		CHECK(probe.outer_intact && probe.used_after_inner >= 1000 &&
			  probe.used_after_inner < (3 << 20),
			  fail ? "scratch: a parent's scratch survives a failing body node" :
			  "scratch: a parent's scratch survives the body's nodes");
		CHECK(probe.aligned, "scratch: blocks are 64-byte aligned");
		CHECK(probe.huge_refused, "scratch: an overflowing size is refused with ONNX_ERR_LIMIT");
		CHECK(onnx_session_scratch_used(s) == 0,
			  "scratch: a failing kernel's scratch is released by the executor");
	}
	CHECK(onnx_session_bytes(s) > (size_t) (3 << 20), "scratch: chunks stay with the session");
	onnx_session_trim(s, 0);
	CHECK(onnx_session_bytes(s) < (size_t) (3 << 20), "scratch: trimming an idle session frees its chunks");
	onnx_session_free(s);
	onnx_model_free(m);
	free(bytes);
}

int
main(int argc, char **argv)
{
	fixtures = argc > 1 ? argv[1] : "test/fixtures";
	test_garbage();
	test_deep_nesting();
	test_dtypes();
	test_mlp();
	test_cancel_and_limits();
	test_alloc_failures();
	test_unsupported();
	test_loop();
	test_functions();
	test_control_alloc_failures();
	test_fold();
	test_dead_nodes();
	test_random();
	test_conv_batch();
	test_initializer_override();
	test_profile();
	test_vecmath();
	test_dyn_quantize();
	test_lstm_alloc_failures();
	test_elementwise_in_place();
	test_scratch();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
