/*-------------------------------------------------------------------------
 *
 * onnx_bench_model.c
 *	  Time the engine on one test case and check its outputs.
 *
 *	  usage: onnx_bench_model CASE_DIR [--budget SECONDS] [--min-runs N]
 *								[--max-runs N] [--threads N] [--profile]
 *								[--profile-cpu] [--serve]
 *			 onnx_bench_model --gemm-kernel
 *
 *	  CASE_DIR holds model.onnx and test_data_set_0/input_K.pb (bound to
 *	  the model's inputs in graph-input order) and output_K.pb (the
 *	  expected graph outputs, in order).  One warm-up run, whose outputs
 *	  are checked, is followed by timed runs until the budget is spent
 *	  (at least --min-runs, at most --max-runs); the median wall time
 *	  and the median CPU time of the thread per run are printed.
 *	  Float outputs match when |ours - ref| <= 1e-4 * max(1, max|ref|) +
 *	  1e-3 * |ref| elementwise (NaN matches NaN); other types must be
 *	  equal.  --profile then runs the model again with the engine's
 *	  profiler on and prints the time per operator type (wall time, with
 *	  the wall and CPU time of the profiled runs); --profile-cpu times the
 *	  nodes on the thread's CPU clock instead, for a crowded machine.
 *
 *	  --serve keeps the session for a driver that alternates with another
 *	  engine: after the check it reads commands from stdin, "time N" (N
 *	  runs, answered by "times MS MS ..." of wall time and "cpu_times MS
 *	  MS ..." of thread CPU time), "profile N" and "profile_cpu N" (N
 *	  profiled runs, answered by the profile table) and "quit"; every
 *	  answer ends with a line "end".
 *
 *	  Output is line based ("key: value") for run_real_models.py; exit
 *	  status 1 when the model cannot be loaded or run, 0 otherwise (a
 *	  mismatch is reported by "check: FAIL", not by the status).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnx_engine.h"

#define MAX_IO 64
#define MAX_PROFILE 512

typedef struct Bench
{
	OnnxModel  *model;
	OnnxSession *session;
	int			n_in;
	const char *in_names[MAX_IO];
	OnnxValue	in[MAX_IO];
	int			n_out;
	OnnxValue	expected[MAX_IO];
} Bench;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time of this thread: what a run costs when other processes share the cores. */
static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Whole file into a malloc'd buffer, or NULL. */
static void *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	long		n;
	char	   *buf;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t) n;
	return buf;
}

/* Decode a TensorProto file into *v (malloc allocator); 0 when missing. */
static int
read_tensor(const char *path, OnnxValue *v)
{
	size_t		len;
	void	   *bytes = read_file(path, &len);
	OnnxError	err;
	OnnxStatus	st;

	if (bytes == NULL)
		return 0;
	st = onnx_value_decode(bytes, len, ONNX_VALUE_TENSOR, &onnx_malloc_allocator, v, &err);
	free(bytes);
	if (st != ONNX_OK)
	{
		printf("error: %s does not decode: %s\n", path, err.message);
		exit(1);
	}
	return 1;
}

static const char *
shape_text(const OnnxTensor *t, char *buf, size_t len)
{
	size_t		p = 0;

	p += snprintf(buf + p, len - p, "%s[", onnx_dtype_name(t->dtype));
	for (int d = 0; d < t->rank && p < len; d++)
		p += snprintf(buf + p, len - p, "%s%lld", d ? "," : "", (long long) t->dims[d]);
	if (p < len)
		snprintf(buf + p, len - p, "]");
	return buf;
}

static int
is_float(OnnxDType dt)
{
	return dt == ONNX_DTYPE_FLOAT || dt == ONNX_DTYPE_DOUBLE ||
		dt == ONNX_DTYPE_FLOAT16 || dt == ONNX_DTYPE_BFLOAT16;
}

/*
 * Compare output got with reference ref under the benchmark's rule; add
 * the largest absolute float error to *max_err and the largest
 * error / tolerance to *worst.  Returns 1 when they match.
 */
static int
compare(const OnnxValue *got, const OnnxValue *ref, double *max_err, double *worst,
		char *why, size_t why_len)
{
	const OnnxTensor *g = &got->tensor,
			   *r = &ref->tensor;
	double		ref_max = 0,
				tol0;

	if (got->kind != ONNX_VALUE_TENSOR)
	{
		snprintf(why, why_len, "output is not a tensor");
		return 0;
	}
	if (g->dtype != r->dtype || g->rank != r->rank || g->count != r->count)
	{
		char		a[128],
					b[128];

		snprintf(why, why_len, "got %s, expected %s", shape_text(g, a, sizeof(a)),
				 shape_text(r, b, sizeof(b)));
		return 0;
	}
	for (int d = 0; d < g->rank; d++)
		if (g->dims[d] != r->dims[d])
		{
			snprintf(why, why_len, "dimension %d is %lld, expected %lld", d,
					 (long long) g->dims[d], (long long) r->dims[d]);
			return 0;
		}
	if (r->dtype == ONNX_DTYPE_STRING)
	{
		for (int64_t i = 0; i < r->count; i++)
			if (strcmp(((char **) g->data)[i], ((char **) r->data)[i]) != 0)
			{
				snprintf(why, why_len, "string %lld differs", (long long) i);
				return 0;
			}
		return 1;
	}
	if (!is_float(r->dtype))
	{
		for (int64_t i = 0; i < r->count; i++)
			if (onnx_tensor_get_i64(g, i) != onnx_tensor_get_i64(r, i))
			{
				snprintf(why, why_len, "element %lld is %lld, expected %lld", (long long) i,
						 (long long) onnx_tensor_get_i64(g, i),
						 (long long) onnx_tensor_get_i64(r, i));
				return 0;
			}
		return 1;
	}
	for (int64_t i = 0; i < r->count; i++)
	{
		double		v = fabs(onnx_tensor_get_f64(r, i));

		if (isfinite(v) && v > ref_max)
			ref_max = v;
	}
	tol0 = 1e-4 * (ref_max > 1 ? ref_max : 1);
	for (int64_t i = 0; i < r->count; i++)
	{
		double		a = onnx_tensor_get_f64(g, i),
					b = onnx_tensor_get_f64(r, i),
					err,
					tol;

		if (isnan(a) && isnan(b))
			continue;
		if (isinf(a) || isinf(b))
			err = a == b ? 0 : INFINITY;
		else
			err = fabs(a - b);
		if (isnan(err))
			err = INFINITY;
		tol = tol0 + 1e-3 * fabs(b);
		if (err > *max_err)
			*max_err = err;
		if (err / tol > *worst)
			*worst = err / tol;
		if (!(err <= tol))
		{
			snprintf(why, why_len, "element %lld is %.9g, expected %.9g", (long long) i, a, b);
			return 0;
		}
	}
	return 1;
}

/* One run; outputs released unless kept (then the caller releases them). */
static int
run_once(Bench *b, OnnxValue *keep)
{
	OnnxValue	out[MAX_IO];
	OnnxValue  *o = keep ? keep : out;
	OnnxError	err;
	int			n = onnx_model_output_count(b->model);

	if (onnx_session_run(b->session, b->n_in, b->in_names, b->in, n, NULL, o, &err) != ONNX_OK)
	{
		printf("error: run failed (%s): %s [op %s, node %s]\n", onnx_status_name(err.status),
			   err.message, err.op, err.node);
		return 0;
	}
	if (keep == NULL)
		for (int i = 0; i < n; i++)
			onnx_value_release(&onnx_malloc_allocator, &out[i]);
	return 1;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* Median of sorted v[0..n), n > 0. */
static double
median(const double *v, int n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Run n times with profiling (mode) on and print the per-op-type table. */
static int
profile_runs(Bench *b, int n, int threads, int mode)
{
	OnnxSessionOptions opts = {0};
	OnnxOpProfile e[MAX_PROFILE];
	OnnxError	err;
	uint64_t	total = 0;
	int			k;
	double		t0,
				c0,
				wall,
				cpu;

	opts.threads = threads;
	opts.profile = mode;
	if (onnx_session_set_options(b->session, &opts, &err) != ONNX_OK)
	{
		printf("error: profiling: %s\n", err.message);
		return 0;
	}
	onnx_session_profile_reset(b->session);
	t0 = now_ms();
	c0 = cpu_ms();
	for (int r = 0; r < n; r++)
		if (!run_once(b, NULL))
			return 0;
	wall = now_ms() - t0;
	cpu = cpu_ms() - c0;
	k = onnx_session_profile(b->session, e, MAX_PROFILE);
	if (k > MAX_PROFILE)
		k = MAX_PROFILE;
	for (int i = 0; i < k; i++)
		total += e[i].total_ns;
	printf("profile_runs: %d\n", n);
	printf("profile_wall_ms: %.3f\n", wall / n);
	printf("profile_cpu_ms: %.3f\n", cpu / n);
	printf("profile_nodes_ms: %.3f\n", total / 1e6 / n);
	for (int i = 0; i < k; i++)
		printf("profile: %s %s %.2f %.4f %.1f\n", e[i].op_type,
			   e[i].domain[0] ? e[i].domain : "ai.onnx", (double) e[i].calls / n,
			   e[i].total_ns / 1e6 / n, total ? 100.0 * e[i].total_ns / total : 0.0);
	opts.profile = 0;
	onnx_session_set_options(b->session, &opts, &err);
	return 1;
}

/* The --serve loop: commands on stdin until "quit" or end of input. */
static int
serve(Bench *b, int threads)
{
	char		line[256];

	while (fgets(line, sizeof(line), stdin))
	{
		int			n = 0;

		if (sscanf(line, "time %d", &n) == 1 && n > 0)
		{
			double	   *cpu = malloc(sizeof(double) * (size_t) n);

			printf("times:");
			for (int r = 0; r < n; r++)
			{
				double		t0 = now_ms(),
							c0 = cpu_ms();

				if (!run_once(b, NULL))
					return 0;
				cpu[r] = cpu_ms() - c0;
				printf(" %.4f", now_ms() - t0);
			}
			printf("\ncpu_times:");
			for (int r = 0; r < n; r++)
				printf(" %.4f", cpu[r]);
			printf("\n");
			free(cpu);
		}
		else if (sscanf(line, "profile %d", &n) == 1 && n > 0)
		{
			if (!profile_runs(b, n, threads, ONNX_PROFILE_WALL))
				return 0;
		}
		else if (sscanf(line, "profile_cpu %d", &n) == 1 && n > 0)
		{
			if (!profile_runs(b, n, threads, ONNX_PROFILE_CPU))
				return 0;
		}
		else if (strncmp(line, "quit", 4) == 0)
			break;
		else
			printf("error: unknown command %s", line);
		printf("end\n");
		fflush(stdout);
	}
	return 1;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	double		budget = 2.0;
	int			min_runs = 3,
				max_runs = 1000,
				threads = 1,
				profile = 0,
				serve_mode = 0;
	char		path[4096];
	void	   *bytes;
	size_t		len;
	OnnxError	err;
	OnnxSessionOptions opts = {0};
	Bench		b = {0};
	OnnxValue	out[MAX_IO];
	double		t0,
				max_err = 0,
				worst = 0,
			   *times,
			   *cpu;
	int			ok = 1,
				runs = 0;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--gemm-kernel") == 0)
		{
			printf("%s\n", onnx_gemm_kernel_name());
			return 0;
		}
		else if (strcmp(argv[i], "--budget") == 0 && i + 1 < argc)
			budget = atof(argv[++i]);
		else if (strcmp(argv[i], "--min-runs") == 0 && i + 1 < argc)
			min_runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--max-runs") == 0 && i + 1 < argc)
			max_runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--profile") == 0)
			profile = ONNX_PROFILE_WALL;
		else if (strcmp(argv[i], "--profile-cpu") == 0)
			profile = ONNX_PROFILE_CPU;
		else if (strcmp(argv[i], "--serve") == 0)
			serve_mode = 1;
		else if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else
			dir = NULL, argc = 0;
	}
	if (dir == NULL)
	{
		fprintf(stderr, "usage: onnx_bench_model CASE_DIR [--budget SECONDS] [--min-runs N] "
				"[--max-runs N] [--threads N] [--profile] [--profile-cpu] [--serve]\n"
				"       onnx_bench_model --gemm-kernel\n");
		return 2;
	}
	if (max_runs < min_runs)
		max_runs = min_runs;
	printf("gemm_kernel: %s\n", onnx_gemm_kernel_name());

	snprintf(path, sizeof(path), "%s/model.onnx", dir);
	if ((bytes = read_file(path, &len)) == NULL)
	{
		printf("error: cannot read %s\n", path);
		return 1;
	}
	t0 = now_ms();
	if (onnx_model_load(bytes, len, NULL, &b.model, &err) != ONNX_OK)
	{
		printf("error: load failed (%s): %s\n", onnx_status_name(err.status), err.message);
		return 1;
	}
	free(bytes);
	opts.threads = threads;
	if (onnx_session_create(b.model, &opts, &b.session, &err) != ONNX_OK)
	{
		printf("error: session failed (%s): %s\n", onnx_status_name(err.status), err.message);
		return 1;
	}
	printf("load_ms: %.3f\n", now_ms() - t0);

	/* inputs in graph-input order, expected outputs in graph-output order */
	for (int i = 0; i < onnx_model_input_count(b.model) && i < MAX_IO; i++)
	{
		char		shape[256];

		snprintf(path, sizeof(path), "%s/test_data_set_0/input_%d.pb", dir, i);
		if (!read_tensor(path, &b.in[b.n_in]))
			continue;			/* an optional input left out */
		b.in_names[b.n_in] = onnx_model_input(b.model, i)->name;
		printf("input: %s %s\n", b.in_names[b.n_in], shape_text(&b.in[b.n_in].tensor, shape, sizeof(shape)));
		b.n_in++;
	}
	b.n_out = onnx_model_output_count(b.model);
	if (b.n_out > MAX_IO)
	{
		printf("error: more than %d outputs\n", MAX_IO);
		return 1;
	}

	/* warm-up run, checked */
	t0 = now_ms();
	if (!run_once(&b, out))
		return 1;
	printf("warmup_ms: %.3f\n", now_ms() - t0);
	for (int i = 0; i < b.n_out; i++)
	{
		char		why[256] = "";

		snprintf(path, sizeof(path), "%s/test_data_set_0/output_%d.pb", dir, i);
		if (!read_tensor(path, &b.expected[i]))
		{
			printf("mismatch: output %d (%s): no %s\n", i, onnx_model_output(b.model, i)->name, path);
			ok = 0;
		}
		else if (!compare(&out[i], &b.expected[i], &max_err, &worst, why, sizeof(why)))
		{
			printf("mismatch: output %d (%s): %s\n", i, onnx_model_output(b.model, i)->name, why);
			ok = 0;
		}
		onnx_value_release(&onnx_malloc_allocator, &out[i]);
	}
	printf("check: %s outputs %d max_abs_err %.3g max_err_over_tol %.3g\n",
		   ok ? "ok" : "FAIL", b.n_out, max_err, worst);
	fflush(stdout);

	if (serve_mode)
	{
		ok = serve(&b, threads);
		goto done;
	}

	times = malloc(sizeof(double) * (size_t) max_runs);
	cpu = malloc(sizeof(double) * (size_t) max_runs);
	t0 = now_ms();
	while (runs < min_runs || (runs < max_runs && now_ms() - t0 < budget * 1e3))
	{
		double		r0 = now_ms(),
					c0 = cpu_ms();

		if (!run_once(&b, NULL))
			return 1;
		cpu[runs] = cpu_ms() - c0;
		times[runs++] = now_ms() - r0;
	}
	qsort(times, (size_t) runs, sizeof(double), cmp_double);
	qsort(cpu, (size_t) runs, sizeof(double), cmp_double);
	printf("runs: %d\n", runs);
	printf("median_ms: %.4f\n", median(times, runs));
	printf("min_ms: %.4f\n", times[0]);
	printf("median_cpu_ms: %.4f\n", median(cpu, runs));
	free(times);
	free(cpu);
	if (profile && !profile_runs(&b, runs < 10 ? runs : 10, threads, profile))
		return 1;
	ok = 1;

done:
	for (int i = 0; i < b.n_in; i++)
		onnx_value_release(&onnx_malloc_allocator, &b.in[i]);
	for (int i = 0; i < b.n_out; i++)
		onnx_value_release(&onnx_malloc_allocator, &b.expected[i]);
	onnx_session_free(b.session);
	onnx_model_free(b.model);
	return ok ? 0 : 1;
}
