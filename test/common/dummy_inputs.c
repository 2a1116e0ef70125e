/*-------------------------------------------------------------------------
 *
 * dummy_inputs.c
 *	  Build inputs from a model's declared input types and run it once:
 *	  shared by test/hostile/hostile_run.c and the fuzz targets.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dummy_inputs.h"

void
dummy_inputs_make(const OnnxModel *m, OnnxValue *ins, const char **names,
				  int64_t dyn_dim, const unsigned char *bytes, size_t len)
{
	for (int i = 0; i < onnx_model_input_count(m); i++)
	{
		const OnnxValueInfo *vi = onnx_model_input(m, i);
		OnnxTensor *t = &ins[i].tensor;
		size_t		esize;

		memset(&ins[i], 0, sizeof(ins[i]));
		names[i] = vi->name;
		ins[i].kind = ONNX_VALUE_TENSOR;
		t->dtype = vi->dtype == ONNX_DTYPE_UNDEFINED ? ONNX_DTYPE_FLOAT : vi->dtype;
		esize = onnx_dtype_size(t->dtype) ? onnx_dtype_size(t->dtype) : 1;
		t->rank = vi->rank < 0 ? 1 : vi->rank;
		t->count = 1;
		for (int d = 0; d < t->rank; d++)
		{
			t->dims[d] = vi->rank < 0 || vi->dims[d] < 0 ? dyn_dim : vi->dims[d];
			if (t->dims[d] > 4096)
				t->dims[d] = 4096;	/* declared huge: the run will say so */
			t->count *= t->dims[d];
		}
		if (t->count > (1 << 24))
		{
			/* too big to build: an empty batch of the same rank instead */
			t->dims[0] = 0;
			t->count = 0;
		}
		t->nbytes = (size_t) t->count * esize;
		t->data = calloc(t->nbytes + 1, 1);
		if (t->dtype == ONNX_DTYPE_STRING)
			for (int64_t k = 0; k < t->count; k++)
				((const char **) t->data)[k] = "";
		else if (len > 0)
			for (size_t k = 0; k < t->nbytes; k++)
				((unsigned char *) t->data)[k] = bytes[k % len];
		if (t->dtype == ONNX_DTYPE_BOOL)
			for (int64_t k = 0; k < t->count; k++)
				((unsigned char *) t->data)[k] &= 1;
	}
}

void
dummy_inputs_free(const OnnxModel *m, OnnxValue *ins)
{
	for (int i = 0; i < onnx_model_input_count(m); i++)
		free(ins[i].tensor.data);
}

/*
 * A run is cancelled (ONNX_ERR_CANCELLED) after this many seconds: a
 * hostile model may loop for ever (a Loop with neither trip count nor
 * condition), which only the abort callback ends.
 */
#define DUMMY_RUN_SECONDS 5

static int
deadline_passed(void *ctx)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec >= *(const time_t *) ctx;
}

OnnxStatus
dummy_run_model(const void *model, size_t len, const unsigned char *data, size_t data_len,
				OnnxError *err, const char **stage)
{
	OnnxModel  *m = NULL;
	OnnxSession *s = NULL;
	OnnxSessionOptions opts = {0};
	OnnxStatus	st;
	int			nin,
				nout;
	OnnxValue  *ins,
			   *outs;
	const char **names;
	time_t		deadline;

	*stage = "load";
	if ((st = onnx_model_load(model, len, NULL, &m, err)) != ONNX_OK)
		return st;
	*stage = "prepare";
	opts.threads = 1;
	opts.max_memory = (size_t) 256 << 20;
	{
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		deadline = now.tv_sec + DUMMY_RUN_SECONDS;
	}
	opts.abort_fn = deadline_passed;
	opts.abort_ctx = &deadline;
	if ((st = onnx_session_create(m, &opts, &s, err)) != ONNX_OK)
	{
		onnx_model_free(m);
		return st;
	}
	*stage = "run";
	nin = onnx_model_input_count(m);
	nout = onnx_model_output_count(m);
	ins = calloc((size_t) nin + 1, sizeof(OnnxValue));
	outs = calloc((size_t) nout + 1, sizeof(OnnxValue));
	names = calloc((size_t) nin + 1, sizeof(char *));
	dummy_inputs_make(m, ins, names, data_len > 0 ? 1 + data[0] % 4 : 2, data, data_len);
	st = onnx_session_run(s, nin, names, ins, nout, NULL, outs, err);
	for (int i = 0; i < nout; i++)
		onnx_value_release(&onnx_malloc_allocator, &outs[i]);
	dummy_inputs_free(m, ins);
	free(ins);
	free(outs);
	free(names);
	onnx_session_free(s);
	onnx_model_free(m);
	return st;
}
