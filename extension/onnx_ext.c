/*-------------------------------------------------------------------------
 *
 * onnx_ext.c
 *	  Module entry point of the onnx extension.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "onnx_ext.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Define GUCs, the session cache's invalidation callback and the planner
 * hook of auto-batching; when loaded through shared_preload_libraries,
 * also the shared areas: progress of onnx_score, shared model memory,
 * statistics, and the prewarm workers.
 */
void
_PG_init(void)
{
	OnnxGucInit();
	OnnxCacheInit();
	OnnxProgressInit();
	OnnxSharedModelsInit();
	OnnxStatsInit();
	OnnxPrewarmInit();
	OnnxVersionsInit();
	OnnxAutoBatchInit();
	/* after every onnx.* parameter is defined, the others are errors */
	MarkGUCPrefixReserved("onnx");
}
