/*-------------------------------------------------------------------------
 *
 * hostile_run.c
 *	  Run the hostile-model corpus through the engine: load, prepare and,
 *	  when that succeeds, run with inputs shaped from the declared types
 *	  (dynamic dimensions 2, unknown rank 1) under a 256 MB memory limit.
 *
 *	  usage: hostile_run CORPUS_DIR
 *
 *	  Every case must end in a clean status; a crash or hang ends the
 *	  process, which the test command counts as a failure.  Cases of the
 *	  known attack classes (hand_*, raw_*) that must be refused at load are
 *	  checked to be refused.  Prints "N passed, N failed".
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dummy_inputs.h"
#include "onnx_engine.h"

/* Cases that must be refused when loading. */
static const char *const must_refuse[] = {
	"hand_deep_if_nesting", "hand_raw_data_short", "hand_dims_overflow", "hand_dims_negative",
	"hand_dims_huge_count", "hand_rank_20", "hand_external_data_0", "hand_external_data_1",
	"hand_external_data_2", "hand_external_data_3", "hand_cycle", "hand_self_loop",
	"hand_duplicate_output", "hand_output_shadows_input", "hand_undefined_input",
	"hand_undefined_output", "hand_empty_op_type", "hand_ir_version_99", "hand_ir_version_0",
	"hand_opset_999", "hand_opset_negative", "hand_add_one_input", "hand_relu_three_inputs",
	"hand_duplicate_attribute", "hand_gemm_alpha_string", "hand_float_data_short", "hand_string_data_short",
	"hand_int64_data_short", "hand_data_type_999", "hand_sparse_index_out_of_range",
	"hand_function_recursive", "hand_function_mutual_recursion", "hand_function_exponential",
	"raw_empty", "raw_zero_bytes", "raw_varint_endless", "raw_length_past_end",
	"raw_group_wire_type", "raw_text", "raw_nesting_300", NULL
};

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void *
read_all(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	if (n > 0 && fread(buf, 1, (size_t) n, f) != (size_t) n)
		n = 0;
	fclose(f);
	*len = (size_t) n;
	return buf;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "test/hostile/corpus";
	DIR		   *d = opendir(dir);
	struct dirent *e;
	char	  **names = NULL;
	int			n = 0,
				cap = 0;
	int			passed = 0,
				failed = 0;
	int			by_status[ONNX_ERR_INTERNAL + 1] = {0};

	if (d == NULL)
	{
		printf("cannot open %s\n0 passed, 1 failed\n", dir);
		return 1;
	}
	while ((e = readdir(d)) != NULL)
	{
		if (strstr(e->d_name, ".onnx") == NULL)
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 256;
			names = realloc(names, sizeof(char *) * (size_t) cap);
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t) n, sizeof(char *), cmp_names);
	for (int i = 0; i < n; i++)
	{
		char		path[4096];
		size_t		len;
		void	   *bytes;
		OnnxError	err;
		const char *stage;
		OnnxStatus	st;
		char		base[256];
		bool		refuse = false;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(base, sizeof(base), "%s", names[i]);
		*strstr(base, ".onnx") = '\0';
		for (int k = 0; must_refuse[k]; k++)
			if (strcmp(base, must_refuse[k]) == 0)
				refuse = true;
		printf("# %s\n", base);
		fflush(stdout);
		bytes = read_all(path, &len);
		memset(&err, 0, sizeof(err));
		st = dummy_run_model(bytes, len, NULL, 0, &err, &stage);
		free(bytes);
		if (st < 0 || st > ONNX_ERR_INTERNAL || st == ONNX_ERR_INTERNAL ||
			(st != ONNX_OK && err.message[0] == '\0'))
		{
			printf("not ok - %s: status %d with message \"%s\"\n", base, (int) st, err.message);
			failed++;
			continue;
		}
		by_status[st]++;
		if (refuse && !(st != ONNX_OK && strcmp(stage, "load") == 0))
		{
			printf("not ok - %s: expected a refusal at load, got %s at %s\n", base,
				   onnx_status_name(st), stage);
			failed++;
			continue;
		}
		printf("ok - %s: %s at %s%s%s\n", base, onnx_status_name(st), stage,
			   st ? ": " : "", st ? err.message : "");
		passed++;
	}
	printf("# statuses:");
	for (int s = 0; s <= ONNX_ERR_INTERNAL; s++)
		if (by_status[s])
			printf(" %s %d,", onnx_status_name((OnnxStatus) s), by_status[s]);
	printf("\n%d passed, %d failed\n", passed, failed);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return failed ? 1 : 0;
}
