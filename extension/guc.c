/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  The onnx.* configuration parameters.  Settings that take more of the
 *	  machine (threads) are capped by superuser-only ceilings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "onnx_ext.h"

int			onnx_device = ONNX_DEVICE_CPU;
int			onnx_threads = ONNX_THREADS_DEFAULT;
int			onnx_max_threads = 4;
int			onnx_cache_size = ONNX_CACHE_SIZE_DEFAULT;
int			onnx_batch_size = ONNX_BATCH_SIZE_DEFAULT;
int			onnx_max_memory_kb = ONNX_MAX_MEMORY_DEFAULT;
int			onnx_max_cached_memory_kb = ONNX_MAX_CACHED_MEMORY_DEFAULT;
bool		onnx_auto_batch = true;

static const struct config_enum_entry device_options[] = {
	{"cpu", ONNX_DEVICE_CPU, false},
	{"cuda", ONNX_DEVICE_CUDA, false},
	{NULL, 0, false}
};

/* Define every onnx.* parameter and reserve the prefix. */
void
OnnxGucInit(void)
{
	DefineCustomEnumVariable("onnx.device", "Device that runs ONNX models.",
							 "cpu, or cuda when the extension was built with CUDA and a GPU is present.",
							 &onnx_device, ONNX_DEVICE_CPU, device_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("onnx.threads", "Intra-op threads one inference may use.",
							"Capped by onnx.max_threads.",
							&onnx_threads, ONNX_THREADS_DEFAULT, ONNX_THREADS_MIN, ONNX_THREADS_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("onnx.max_threads", "Ceiling on onnx.threads.",
							"Only superusers can raise it.",
							&onnx_max_threads, 4, ONNX_THREADS_MIN, ONNX_THREADS_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("onnx.cache_size", "Prepared models kept per backend.",
							"The least recently used session is evicted beyond this count.",
							&onnx_cache_size, ONNX_CACHE_SIZE_DEFAULT, ONNX_CACHE_SIZE_MIN,
							ONNX_CACHE_SIZE_MAX, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("onnx.batch_size", "Rows scored per engine run by batch scoring.",
							NULL, &onnx_batch_size, ONNX_BATCH_SIZE_DEFAULT, ONNX_BATCH_SIZE_MIN,
							ONNX_BATCH_SIZE_MAX, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("onnx.max_memory", "Memory one inference may hold in tensors.",
							"0 means no limit.  Only superusers can change it.",
							&onnx_max_memory_kb, ONNX_MAX_MEMORY_DEFAULT, ONNX_MAX_MEMORY_MIN,
							ONNX_MAX_MEMORY_MAX, PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("onnx.max_cached_memory",
							"Memory a backend keeps between calls in run buffers of its cached models.",
							"Buffers beyond it are freed after each run.  Only superusers can change it.",
							&onnx_max_cached_memory_kb, ONNX_MAX_CACHED_MEMORY_DEFAULT,
							ONNX_MAX_CACHED_MEMORY_MIN, ONNX_MAX_CACHED_MEMORY_MAX, PGC_SUSET,
							GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomBoolVariable("onnx.auto_batch",
							 "Scores per-row calls of ordinary queries in batches.",
							 "onnx_predict, onnx_run and onnx_run_row calls on a constant model name are evaluated for many rows at once; the results are those of the per-row calls.",
							 &onnx_auto_batch, true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("onnx.score_pushdown",
							 "Runs onnx_score's model on the Citus workers when its query reads a distributed table.",
							 "The workers score their shards and return the outputs; the coordinator only builds the result rows.",
							 &onnx_score_pushdown, true, PGC_USERSET, 0, NULL, NULL, NULL);
}

/* onnx.threads limited by onnx.max_threads. */
int
OnnxEffectiveThreads(void)
{
	return Min(onnx_threads, onnx_max_threads);
}
