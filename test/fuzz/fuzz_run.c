/*-------------------------------------------------------------------------
 *
 * fuzz_run.c
 *	  libFuzzer target: the fixture models of test/fixtures with random
 *	  input data and a random dynamic batch size.  The first two bytes
 *	  pick the model, the next the batch size, the rest fills the inputs.
 *	  With ONNX_FUZZ_MODELS=DIR the models are every DIR/<name>/model.onnx
 *	  instead (up to 4096), e.g. the ONNX node tests, so that every
 *	  operator's kernel meets random shapes and values.
 *
 *	  make -C engine fuzz
 *	  engine/build-fuzz/fuzz_run -max_total_time=600 test/fuzz/seeds/run
 *	  (run from the repository root: the models are read at start-up)
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dummy_inputs.h"

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const model_files[] = {
	"test/fixtures/mlp.onnx", "test/fixtures/linear.onnx", "test/fixtures/dtypes.onnx", NULL
};
#define MAX_MODELS 4096
static void *models[MAX_MODELS];
static size_t model_len[MAX_MODELS];
static int	n_models;

/* Read path into models[n_models] and count it; false if unreadable. */
static bool
add_model(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	long		n;

	if (f == NULL || n_models >= MAX_MODELS)
	{
		if (f)
			fclose(f);
		return false;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	models[n_models] = malloc((size_t) (n > 0 ? n : 1));
	model_len[n_models] = fread(models[n_models], 1, (size_t) (n > 0 ? n : 0), f);
	fclose(f);
	n_models++;
	return true;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("ONNX_FUZZ_MODELS");

	(void) argc;
	(void) argv;

	if (dir != NULL)
	{
		DIR		   *d = opendir(dir);
		struct dirent *e;
		char	   *names[MAX_MODELS];
		int			n = 0;
		char		path[4096];

		while (d && (e = readdir(d)) != NULL && n < MAX_MODELS)
			if (e->d_name[0] != '.')
				names[n++] = strdup(e->d_name);
		if (d)
			closedir(d);
		/* sorted, so that a saved crash input picks the same model again */
		qsort(names, (size_t) n, sizeof(char *), cmp_names);
		for (int i = 0; i < n; i++)
		{
			snprintf(path, sizeof(path), "%s/%s/model.onnx", dir, names[i]);
			add_model(path);
			free(names[i]);
		}
		fprintf(stderr, "fuzz_run: %d models from %s\n", n_models, dir);
		if (n_models == 0)
			exit(2);
		return 0;
	}
	for (int i = 0; model_files[i]; i++)
		if (!add_model(model_files[i]))
		{
			fprintf(stderr, "run from the repository root: cannot open %s\n", model_files[i]);
			exit(2);
		}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	OnnxError	err;
	const char *stage;
	int			which;

	if (size < 3)
		return 0;
	which = (data[0] | data[1] << 8) % n_models;
	dummy_run_model(models[which], model_len[which], data + 2, size - 2, &err, &stage);
	return 0;
}
