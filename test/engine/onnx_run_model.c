/*-------------------------------------------------------------------------
 *
 * onnx_run_model.c
 *	  Load a model file, print its inputs and outputs, and run it once
 *	  with every numeric input filled with values in [0, 1) (a dynamic
 *	  first dimension set to --batch, other dynamic ones to 1); --runs
 *	  timed runs follow one warm-up run.
 *
 *	  usage: onnx_run_model MODEL.onnx [--batch N] [--runs N]
 *
 *	  A developer tool for trying models by hand; exits non-zero on error.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnx_engine.h"

int
main(int argc, char **argv)
{
	const char *path = NULL;
	int64_t		batch = 1;
	int			runs = 1;
	FILE	   *f;
	long		n;
	char	   *buf;
	OnnxModel  *m;
	OnnxSession *s;
	OnnxError	err;
	OnnxSessionOptions opts = {0};
	OnnxValue  *ins;
	const char **names;
	int			nin,
				nout;
	struct timespec t0,
				t1;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			batch = atoll(argv[++i]);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else
			path = argv[i];
	}
	if (path == NULL || (f = fopen(path, "rb")) == NULL)
	{
		fprintf(stderr, "usage: onnx_run_model MODEL.onnx [--batch N] [--runs N]\n");
		return 2;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	if (fread(buf, 1, (size_t) n, f) != (size_t) n)
		return 2;
	fclose(f);
	if (onnx_model_load(buf, (size_t) n, NULL, &m, &err) != ONNX_OK)
	{
		printf("load failed (%s): %s\n", onnx_status_name(err.status), err.message);
		return 1;
	}
	nin = onnx_model_input_count(m);
	nout = onnx_model_output_count(m);
	ins = calloc((size_t) nin + 1, sizeof(OnnxValue));
	names = calloc((size_t) nin + 1, sizeof(char *));
	for (int i = 0; i < nin; i++)
	{
		const OnnxValueInfo *vi = onnx_model_input(m, i);
		OnnxTensor *t = &ins[i].tensor;

		printf("input  %s: %s rank %d\n", vi->name, vi->type_text, vi->rank);
		ins[i].kind = ONNX_VALUE_TENSOR;
		t->dtype = vi->dtype;
		t->rank = vi->rank < 0 ? 1 : vi->rank;
		t->count = 1;
		for (int d = 0; d < t->rank; d++)
		{
			t->dims[d] = vi->rank < 0 || vi->dims[d] < 0 ? (d == 0 ? batch : 1) : vi->dims[d];
			t->count *= t->dims[d];
		}
		t->nbytes = (size_t) t->count * onnx_dtype_size(t->dtype);
		t->data = calloc(t->nbytes + 1, 1);
		for (int64_t k = 0; k < t->count; k++)
			onnx_tensor_set_f64(t, k, (double) ((k * 7919) % 1000) / 1000.0);
		names[i] = vi->name;
	}
	for (int i = 0; i < nout; i++)
		printf("output %s: %s\n", onnx_model_output(m, i)->name, onnx_model_output(m, i)->type_text);
	opts.threads = 1;
	if (onnx_session_create(m, &opts, &s, &err) != ONNX_OK)
	{
		printf("session failed: %s\n", err.message);
		return 1;
	}
	/* one untimed warm-up run, then the timed runs */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = -1; r < runs; r++)
	{
		OnnxValue  *outs = calloc((size_t) nout + 1, sizeof(OnnxValue));

		if (onnx_session_run(s, nin, names, ins, nout, NULL, outs, &err) != ONNX_OK)
		{
			printf("run failed (%s): %s [op %s, node %s]\n", onnx_status_name(err.status),
				   err.message, err.op, err.node);
			return 1;
		}
		for (int i = 0; i < nout; i++)
			onnx_value_release(&onnx_malloc_allocator, &outs[i]);
		free(outs);
		if (r == -1)
			clock_gettime(CLOCK_MONOTONIC, &t0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%d run(s), %.3f ms per run\n", runs,
		   ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / runs);
	onnx_session_free(s);
	onnx_model_free(m);
	return 0;
}
