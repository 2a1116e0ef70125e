/*-------------------------------------------------------------------------
 *
 * onnx_node_test.c
 *	  Run one ONNX backend test directory (model.onnx + test_data_set_N/
 *	  input_K.pb, output_K.pb) through the engine and compare.
 *
 *	  usage: onnx_node_test [--rtol R] [--atol A] [--isa LEVEL]
 *	                        [--threads N] [--readonly-model] TEST_DIR
 *
 *	  --readonly-model loads the model into its own mapping, makes that
 *	  read-only and runs with a separate session allocator: a kernel that
 *	  writes into the model (which shared model memory forbids) crashes.
 *
 *	  --isa portable|avx2|avx512bw|avx512 caps the instruction set of the
 *	  engine's run-time dispatched kernels (vecmath.h), to test the
 *	  portable path; avx512bw is avx512 without the int8 VNNI kernel.
 *
 *	  --threads N runs the session with N intra-op threads (default 1), to
 *	  test the kernels' parallel paths.
 *	  --dump DIR writes the engine's tensor outputs of the first data set
 *	  to DIR/ours_K.bin (values as float64, row-major) and DIR/ours_K.txt
 *	  (the dims), for drivers that compare with their own rule.
 *
 *	  Prints one line: "PASS", "FAIL <why>" or "UNSUPPORTED <why>" and
 *	  exits 0, 1 or 3.  A crash or hang is caught by the driver
 *	  (run_conformance.py), which runs every test in its own process.
 *	  This is a test tool: it reads files; the engine never does.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <sys/mman.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_engine.h"

/* engine-internal (vecmath.h): cap the SIMD level of the row kernels */
extern void onnx_vec_set_max_isa(int isa);
extern void onnx_qgemm_set_max_isa(int isa);

static double rel_tol = 1e-3;
static double abs_tol = 1e-7;
static char why[2048];
static int	old_bf16_data;		/* expected output relabelled from uint16 */
static const char *dump_dir;	/* --dump: where to write our outputs */

static void *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t) n : 1);
	if (buf && n > 0 && fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t) n;
	return buf;
}

static double
elem_f64(const OnnxTensor *t, int64_t i)
{
	const void *d = t->data;

	switch (t->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			return ((const float *) d)[i];
		case ONNX_DTYPE_DOUBLE:
			return ((const double *) d)[i];
		case ONNX_DTYPE_FLOAT16:
			{
				uint16_t	h = ((const uint16_t *) d)[i];
				uint32_t	sign = (uint32_t) (h & 0x8000) << 16,
							e = (h >> 10) & 0x1f,
							m = h & 0x3ff,
							bits;
				float		f;

				if (e == 0)
					return (sign ? -1.0 : 1.0) * m * (1.0 / 16777216.0);
				bits = e == 31 ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112) << 23) | (m << 13));
				memcpy(&f, &bits, 4);
				return f;
			}
		case ONNX_DTYPE_BFLOAT16:
			{
				uint32_t	bits = (uint32_t) ((const uint16_t *) d)[i] << 16;
				float		f;

				memcpy(&f, &bits, 4);
				return f;
			}
		case ONNX_DTYPE_INT8:
		case ONNX_DTYPE_INT4:
		case ONNX_DTYPE_INT2:
			return ((const int8_t *) d)[i];
		case ONNX_DTYPE_INT16:
			return ((const int16_t *) d)[i];
		case ONNX_DTYPE_INT32:
			return ((const int32_t *) d)[i];
		case ONNX_DTYPE_INT64:
			return (double) ((const int64_t *) d)[i];
		case ONNX_DTYPE_UINT16:
			return ((const uint16_t *) d)[i];
		case ONNX_DTYPE_UINT32:
			return ((const uint32_t *) d)[i];
		case ONNX_DTYPE_UINT64:
			return (double) ((const uint64_t *) d)[i];
		default:
			return ((const uint8_t *) d)[i];
	}
}

static int
compare_tensor(const OnnxTensor *got, const OnnxTensor *exp, const char *what)
{
	double		rtol = rel_tol;

	if (got->dtype != exp->dtype)
	{
		snprintf(why, sizeof(why), "%s: dtype %s, expected %s", what,
				 onnx_dtype_name(got->dtype), onnx_dtype_name(exp->dtype));
		return 0;
	}
	if (got->rank != exp->rank)
	{
		snprintf(why, sizeof(why), "%s: rank %d, expected %d", what, got->rank, exp->rank);
		return 0;
	}
	for (int d = 0; d < got->rank; d++)
		if (got->dims[d] != exp->dims[d])
		{
			snprintf(why, sizeof(why), "%s: dim %d is %lld, expected %lld", what, d,
					 (long long) got->dims[d], (long long) exp->dims[d]);
			return 0;
		}
	if (exp->dtype == ONNX_DTYPE_STRING)
	{
		for (int64_t i = 0; i < exp->count; i++)
		{
			const char *a = ((char *const *) got->data)[i];
			const char *b = ((char *const *) exp->data)[i];

			if (strcmp(a ? a : "", b ? b : "") != 0)
			{
				snprintf(why, sizeof(why), "%s[%lld]: \"%s\", expected \"%s\"", what,
						 (long long) i, a ? a : "", b ? b : "");
				return 0;
			}
		}
		return 1;
	}
	if (exp->dtype == ONNX_DTYPE_INT64 || exp->dtype == ONNX_DTYPE_UINT64)
	{
		if (memcmp(got->data, exp->data, exp->nbytes) != 0)
		{
			for (int64_t i = 0; i < exp->count; i++)
				if (((int64_t *) got->data)[i] != ((int64_t *) exp->data)[i])
				{
					snprintf(why, sizeof(why), "%s[%lld]: %lld, expected %lld", what, (long long) i,
							 (long long) ((int64_t *) got->data)[i], (long long) ((int64_t *) exp->data)[i]);
					return 0;
				}
		}
		return 1;
	}
	/*
	 * onnx 1.12 made its bfloat16 expectations by truncating, the spec
	 * (and the newer data) round to nearest even: allow one bfloat16 ulp.
	 */
	if (exp->dtype == ONNX_DTYPE_BFLOAT16 && old_bf16_data)
		rtol = 1.0 / 128;
	for (int64_t i = 0; i < exp->count; i++)
	{
		double		a = elem_f64(got, i);
		double		b = elem_f64(exp, i);

		if (isnan(b) && isnan(a))
			continue;
		if (isinf(b) && a == b)
			continue;
		if (!(fabs(a - b) <= abs_tol + rtol * fabs(b)))
		{
			snprintf(why, sizeof(why), "%s[%lld]: %.9g, expected %.9g", what, (long long) i, a, b);
			return 0;
		}
	}
	return 1;
}

static int
compare_value(const OnnxValue *got, const OnnxValue *exp, const char *what)
{
	if (exp->kind == ONNX_VALUE_OPTIONAL && exp->n_items == 0)
	{
		if (got->kind == ONNX_VALUE_NONE || (got->kind == ONNX_VALUE_OPTIONAL && got->n_items == 0))
			return 1;
		snprintf(why, sizeof(why), "%s: expected an empty optional", what);
		return 0;
	}
	if (exp->kind == ONNX_VALUE_OPTIONAL && got->kind != ONNX_VALUE_OPTIONAL)
		return compare_value(got, &exp->items[0], what);
	if (got->kind != exp->kind)
	{
		snprintf(why, sizeof(why), "%s: value kind %d, expected %d", what, got->kind, exp->kind);
		return 0;
	}
	if (exp->kind == ONNX_VALUE_TENSOR)
		return compare_tensor(&got->tensor, &exp->tensor, what);
	if (exp->kind == ONNX_VALUE_MAP && !compare_tensor(&got->tensor, &exp->tensor, what))
		return 0;
	if (got->n_items != exp->n_items)
	{
		snprintf(why, sizeof(why), "%s: %d items, expected %d", what, got->n_items, exp->n_items);
		return 0;
	}
	for (int i = 0; i < exp->n_items; i++)
		if (!compare_value(&got->items[i], &exp->items[i], what))
			return 0;
	return 1;
}

/*
 * Older test data (onnx 1.12) stores bfloat16 tensors as uint16 (numpy has
 * no bfloat16): take the bits as the bfloat16 the model declares.  Returns
 * 1 when it relabelled.
 */
static int
relabel_bfloat16(OnnxValue *v, const OnnxValueInfo *info)
{
	if (v->kind == ONNX_VALUE_TENSOR && v->tensor.dtype == ONNX_DTYPE_UINT16 &&
		info->dtype == ONNX_DTYPE_BFLOAT16)
	{
		v->tensor.dtype = ONNX_DTYPE_BFLOAT16;
		return 1;
	}
	return 0;
}

/* Write the tensor outputs as float64 values and their dims (--dump). */
static void
dump_outputs(const OnnxValue *outs, int n_out)
{
	char		path[4096];

	for (int i = 0; i < n_out; i++)
	{
		const OnnxTensor *t;
		int64_t		n = 1;
		FILE	   *f;

		if (outs[i].kind != ONNX_VALUE_TENSOR)
			continue;
		t = &outs[i].tensor;
		snprintf(path, sizeof(path), "%s/ours_%d.txt", dump_dir, i);
		if ((f = fopen(path, "w")) == NULL)
			continue;
		for (int d = 0; d < t->rank; d++)
		{
			fprintf(f, "%lld ", (long long) t->dims[d]);
			n *= t->dims[d];
		}
		fprintf(f, "\n");
		fclose(f);
		snprintf(path, sizeof(path), "%s/ours_%d.bin", dump_dir, i);
		if ((f = fopen(path, "wb")) == NULL)
			continue;
		for (int64_t k = 0; k < n && t->dtype != ONNX_DTYPE_STRING; k++)
		{
			double		v = onnx_tensor_get_f64(t, k);

			fwrite(&v, sizeof(v), 1, f);
		}
		fclose(f);
	}
}

static int
run_data_set(OnnxSession *s, const OnnxModel *m, const char *dir)
{
	int			n_in = onnx_model_input_count(m);
	int			n_out = onnx_model_output_count(m);
	OnnxValue  *decoded = calloc((size_t) n_in + 1, sizeof(OnnxValue));
	OnnxValue  *ins = calloc((size_t) n_in + 1, sizeof(OnnxValue));
	OnnxValue  *outs = calloc((size_t) n_out + 1, sizeof(OnnxValue));
	OnnxValue  *exps = calloc((size_t) n_out + 1, sizeof(OnnxValue));
	const char **names = calloc((size_t) n_in + 1, sizeof(char *));
	int			n_decoded = 0,
				given = 0,
				ok = 0;
	OnnxError	err;
	char		path[4096];

	for (int i = 0; i < n_in; i++)
	{
		size_t		len;
		void	   *buf;

		snprintf(path, sizeof(path), "%s/input_%d.pb", dir, i);
		buf = read_file(path, &len);
		if (buf == NULL)
			break;
		if (onnx_value_decode(buf, len, onnx_model_input(m, i)->kind, &onnx_malloc_allocator,
							  &decoded[i], &err) != ONNX_OK)
		{
			snprintf(why, sizeof(why), "cannot decode %s: %s", path, err.message);
			free(buf);
			goto done;
		}
		free(buf);
		relabel_bfloat16(&decoded[i], onnx_model_input(m, i));
		n_decoded++;
	}
	/* bind shallow copies; an optional input given as an empty optional is simply not bound */
	for (int i = 0; i < n_decoded; i++)
	{
		if (decoded[i].kind == ONNX_VALUE_OPTIONAL && onnx_model_input(m, i)->kind != ONNX_VALUE_OPTIONAL)
		{
			if (decoded[i].n_items == 0)
				continue;
			ins[given] = decoded[i].items[0];
		}
		else
			ins[given] = decoded[i];
		names[given++] = onnx_model_input(m, i)->name;
	}
	if (onnx_session_run(s, given, names, ins, n_out, NULL, outs, &err) != ONNX_OK)
	{
		snprintf(why, sizeof(why), "run: %s: %s%s%s%s", onnx_status_name(err.status), err.message,
				 err.op[0] ? " (op " : "", err.op, err.op[0] ? ")" : "");
		goto done;
	}
	ok = 1;
	if (dump_dir != NULL)
		dump_outputs(outs, n_out);
	for (int i = 0; i < n_out && ok; i++)
	{
		size_t		len;
		void	   *buf;
		char		what[256];

		snprintf(path, sizeof(path), "%s/output_%d.pb", dir, i);
		buf = read_file(path, &len);
		if (buf == NULL)
			continue;
		if (onnx_value_decode(buf, len, onnx_model_output(m, i)->kind, &onnx_malloc_allocator,
							  &exps[i], &err) != ONNX_OK)
		{
			snprintf(why, sizeof(why), "cannot decode %s: %s", path, err.message);
			free(buf);
			ok = 0;
			break;
		}
		free(buf);
		old_bf16_data = relabel_bfloat16(&exps[i], onnx_model_output(m, i));
		snprintf(what, sizeof(what), "output %d (%s)", i, onnx_model_output(m, i)->name);
		ok = compare_value(&outs[i], &exps[i], what);
	}
done:
	for (int i = 0; i < n_out; i++)
	{
		onnx_value_release(&onnx_malloc_allocator, &outs[i]);
		onnx_value_release(&onnx_malloc_allocator, &exps[i]);
	}
	for (int i = 0; i < n_decoded; i++)
		onnx_value_release(&onnx_malloc_allocator, &decoded[i]);
	free(decoded);
	free(ins);
	free(outs);
	free(exps);
	free(names);
	return ok;
}

/* A bump allocator over one private mapping, made read-only after the load. */
typedef struct Region
{
	char	   *base;
	size_t		used;
	size_t		cap;
} Region;

static void *
region_alloc(void *ctx, size_t size)
{
	Region	   *r = ctx;
	size_t		at = (r->used + 63) & ~(size_t) 63;

	if (size > r->cap || at > r->cap - size)
		return NULL;
	r->used = at + size;
	return r->base + at;
}

static void
region_free(void *ctx, void *ptr)
{
	(void) ctx;
	(void) ptr;
}

/* Free a model loaded read-only (its mapping made writable again) or not. */
static void
release_model(OnnxModel *m, Region *region, int readonly_model)
{
	if (readonly_model)
		mprotect(region->base, (region->used + 4095) & ~(size_t) 4095, PROT_READ | PROT_WRITE);
	onnx_model_free(m);
	if (readonly_model)
		munmap(region->base, region->cap);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	char		path[4096];
	size_t		len;
	void	   *bytes;
	OnnxModel  *m;
	OnnxSession *s;
	OnnxError	err;
	OnnxSessionOptions opts = {0};
	int			sets = 0;
	int			readonly_model = 0;
	int			threads = 1;
	Region		region = {0};
	OnnxAllocator region_allocator = {region_alloc, region_free, &region};

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--rtol") == 0 && i + 1 < argc)
			rel_tol = atof(argv[++i]);
		else if (strcmp(argv[i], "--atol") == 0 && i + 1 < argc)
			abs_tol = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--readonly-model") == 0)
			readonly_model = 1;
		else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
			dump_dir = argv[++i];
		else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
		{
			const char *isa = argv[++i];

			onnx_vec_set_max_isa(strcmp(isa, "portable") == 0 ? 0 : strcmp(isa, "avx2") == 0 ? 1 : 2);
			/* avx512bw: AVX-512 without the VNNI int8 kernel (qgemm.h) */
			onnx_qgemm_set_max_isa(strcmp(isa, "avx512bw") == 0 ? 2 : 3);
		}
		else
			dir = argv[i];
	}
	if (dir == NULL)
	{
		fprintf(stderr, "usage: onnx_node_test [--rtol R] [--atol A] [--isa LEVEL] [--threads N] "
				"[--readonly-model] TEST_DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/model.onnx", dir);
	bytes = read_file(path, &len);
	if (bytes == NULL)
	{
		printf("FAIL cannot read %s\n", path);
		return 1;
	}
	if (readonly_model)
	{
		region.cap = (size_t) 1 << 33;
		region.base = mmap(NULL, region.cap, PROT_READ | PROT_WRITE,
						   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (region.base == MAP_FAILED)
		{
			printf("FAIL cannot map a region for the model\n");
			return 1;
		}
	}
	if (onnx_model_load_in(bytes, len, readonly_model ? &region_allocator : &onnx_malloc_allocator,
						   &onnx_malloc_allocator, &m, &err) != ONNX_OK)
	{
		free(bytes);
		printf("%s load: %s\n", err.status == ONNX_ERR_UNSUPPORTED ? "UNSUPPORTED" : "FAIL", err.message);
		return err.status == ONNX_ERR_UNSUPPORTED ? 3 : 1;
	}
	free(bytes);
	opts.threads = threads < 1 ? 1 : threads;
	if (readonly_model)
	{
		/* from here on a write into the model faults */
		mprotect(region.base, (region.used + 4095) & ~(size_t) 4095, PROT_READ);
		opts.alloc = &onnx_malloc_allocator;
	}
	if (onnx_session_create(m, &opts, &s, &err) != ONNX_OK)
	{
		printf("FAIL session: %s\n", err.message);
		release_model(m, &region, readonly_model);
		return 1;
	}
	for (int k = 0;; k++)
	{
		DIR		   *d;

		snprintf(path, sizeof(path), "%s/test_data_set_%d", dir, k);
		d = opendir(path);
		if (d == NULL)
			break;
		closedir(d);
		sets++;
		if (!run_data_set(s, m, path))
		{
			printf("FAIL set %d: %s\n", k, why);
			onnx_session_free(s);
			release_model(m, &region, readonly_model);
			return 1;
		}
	}
	onnx_session_free(s);
	release_model(m, &region, readonly_model);
	if (sets == 0)
	{
		printf("FAIL no test data sets\n");
		return 1;
	}
	printf("PASS\n");
	return 0;
}
