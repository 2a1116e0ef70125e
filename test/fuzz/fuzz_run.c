/*-------------------------------------------------------------------------
 *
 * fuzz_run.c
 *	  libFuzzer target: the fixture models of test/fixtures with random
 *	  input data and a random dynamic batch size.  The first byte picks
 *	  the model, the second the batch size, the rest fills the inputs.
 *
 *	  make -C engine fuzz
 *	  engine/build-fuzz/fuzz_run -max_total_time=600 test/fuzz/seeds/run
 *	  (run from the repository root: the models are read at start-up)
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dummy_inputs.h"

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const model_files[] = {
	"test/fixtures/mlp.onnx", "test/fixtures/linear.onnx", "test/fixtures/dtypes.onnx", NULL
};
static void *models[8];
static size_t model_len[8];
static int	n_models;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (n_models = 0; model_files[n_models]; n_models++)
	{
		FILE	   *f = fopen(model_files[n_models], "rb");
		long		n;

		if (f == NULL)
		{
			fprintf(stderr, "run from the repository root: cannot open %s\n", model_files[n_models]);
			exit(2);
		}
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		models[n_models] = malloc((size_t) n);
		model_len[n_models] = fread(models[n_models], 1, (size_t) n, f);
		fclose(f);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	OnnxError	err;
	const char *stage;
	int			which;

	if (size < 2)
		return 0;
	which = data[0] % n_models;
	dummy_run_model(models[which], model_len[which], data + 1, size - 1, &err, &stage);
	return 0;
}
