/*-------------------------------------------------------------------------
 *
 * onnx_ext.h
 *	  Declarations shared by the files of the onnx extension: the
 *	  PostgreSQL adapter around the engine in engine/.
 *
 * The extension is the only place that raises PostgreSQL errors; engine
 * failures come back as OnnxError and are reported by
 * OnnxReportEngineError.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ONNX_EXT_H
#define ONNX_EXT_H

#include "postgres.h"

#include <limits.h>

#include "datatype/timestamp.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"
#include "access/htup.h"

#include "onnx_engine.h"
#include "pg_compat.h"

/* "device:" + name (120 bytes) + "@" + a 64-digit content hash, and NUL */
#define ONNX_MODEL_REF_LEN 200

/* GUC bounds: DEFAULT / MIN / MAX */
#define ONNX_THREADS_DEFAULT 1
#define ONNX_THREADS_MIN 1
#define ONNX_THREADS_MAX 256
#define ONNX_CACHE_SIZE_DEFAULT 16
#define ONNX_CACHE_SIZE_MIN 1
#define ONNX_CACHE_SIZE_MAX 10000
#define ONNX_BATCH_SIZE_DEFAULT 1024
#define ONNX_BATCH_SIZE_MIN 1
#define ONNX_BATCH_SIZE_MAX 1000000
#define ONNX_MAX_MEMORY_DEFAULT (1024 * 1024)	/* kB: 1 GB */
#define ONNX_MAX_MEMORY_MIN 0
#define ONNX_MAX_MEMORY_MAX (INT_MAX)
#define ONNX_MAX_CACHED_MEMORY_DEFAULT (256 * 1024)	/* kB: 256 MB */
#define ONNX_MAX_CACHED_MEMORY_MIN 0
#define ONNX_MAX_CACHED_MEMORY_MAX (INT_MAX)

/* guc.c */
extern int	onnx_device;
extern int	onnx_threads;
extern int	onnx_max_threads;
extern int	onnx_cache_size;
extern int	onnx_batch_size;
extern int	onnx_max_memory_kb;
extern int	onnx_max_cached_memory_kb;
extern bool onnx_auto_batch;
extern bool onnx_score_pushdown;
extern void OnnxGucInit(void);
extern int	OnnxEffectiveThreads(void);

/* engine_glue.c */
extern OnnxAllocator *OnnxContextAllocator(MemoryContext cxt);
extern void OnnxReleaseFreedMemory(void);
extern int	OnnxAbortRequested(void *ctx);
OnnxNoReturnBefore extern void OnnxReportEngineError(const OnnxError *err,
													const char *model_name) OnnxNoReturnAfter;
extern OnnxModel *OnnxLoadModelOrError(const void *bytes, size_t len,
									   const OnnxAllocator *alloc,
									   const char *model_name);

/* predict.c */
extern const OnnxValueInfo *OnnxPredictInput(const OnnxModel *model, const char *name);
extern ArrayType *OnnxPredictResultArray(const OnnxValue *v, const char *output,
										 const char *name);

/* auto_batch.c: the planner hook of auto-batching */
extern void OnnxAutoBatchInit(void);

/* float_array.c */
extern ArrayType *OnnxFloat4Array(const float *vals, int ndim, const int *dims);

/* progress.c */
extern void OnnxProgressInit(void);
extern void OnnxProgressStart(const char *model);
extern void OnnxProgressUpdate(int64 rows_done);
extern void OnnxProgressEnd(void);

/* model_text.c */
extern char *OnnxModelString(const char *s, size_t len, const char *what,
							 const char *model_name);
extern char *OnnxModelCString(const char *s, const char *what, const char *model_name);
extern void OnnxCheckModelText(const OnnxModel *model, const char *model_name);
extern void OnnxCheckOutputText(const OnnxValue *v, const char *output,
								const char *model_name);
extern char *OnnxMessageText(const char *s);

/* model_info.c */
extern Jsonb *OnnxValueInfosJsonb(const OnnxModel *model, bool inputs);
extern Jsonb *OnnxOpsetsJsonb(const OnnxModel *model);
extern Jsonb *OnnxModelInfoJsonb(const OnnxModel *model, const char *name);

/* model_stats.c: where a backend's last statistics entry is */
typedef struct OnnxStatRef
{
	void	   *entry;
	uint64		generation;
	Oid			userid;
} OnnxStatRef;

extern void OnnxStatsInit(void);
extern void OnnxStatCall(const char *name, const char *sha256, OnnxStatRef *cache);
extern void OnnxStatRun(const char *name, const char *sha256, OnnxStatRef *cache,
						int64 rows, double ms, bool failed);
extern void OnnxStatPrepare(const char *name, const char *sha256, OnnxStatRef *cache,
							double ms);

/* shared_models.c */
extern void OnnxSharedModelsInit(void);
extern OnnxModel *OnnxSharedModelGet(const char *sha256, const char *name,
									 const void *bytes, size_t len,
									 const OnnxAllocator *scratch, int *handle,
									 bool *failed, OnnxError *err);
extern OnnxModel *OnnxSharedModelFind(const char *sha256, const char *name, int *handle);
extern void OnnxSharedModelRelease(int handle);
extern bool OnnxSharedModelUsage(const char *sha256, int64 *bytes, int *backends);
extern void OnnxSharedMemoryTotals(int64 *used, int64 *size, int *models);

/* model_versions.c */
extern void OnnxVersionsInit(void);
extern void OnnxParseModelRef(const char *ref, char *name, size_t name_len, int *version,
							  char *sha_prefix, size_t prefix_len);
extern char *OnnxModelRefQuery(const char *cols, bool pinned);
extern void OnnxArchiveVersion(Relation models, HeapTuple old);
extern int32 OnnxLatestArchivedVersion(Relation models, Datum name);
extern char *OnnxPinnedRef(bytea *hash);

/* citus_tables.c */
extern char *OnnxReadTable(const char *table);
extern bool OnnxIsModelsTable(Relation rel);

/* prewarm.c */
extern void OnnxPrewarmInit(void);

/* session_cache.c */
typedef struct OnnxCacheEntry
{
	char		name[ONNX_MODEL_REF_LEN];	/* hash key: "device:model reference" */
	OnnxDevice	device;
	MemoryContext cxt;			/* owns model, session, engine memory */
	OnnxAllocator *alloc;
	OnnxModel  *model;
	OnnxSession *session;
	bool		valid;
	int64		hits;
	TimestampTz last_used;
	int64		bytes;			/* model bytea size */
	char		sha256[65];		/* content hash of the cached version */
	char		model_name[128];	/* the name it was asked for */
	int			shared_handle;	/* the model is in shared memory (>= 0) or private */
	OnnxStatRef stat;			/* statistics entry of the last caller */
	bool		confirmed;		/* read as the latest version: good until invalidated */
	TimestampTz stmt_start;		/* else good only for this statement */
	uint32		stmt_lxid;
} OnnxCacheEntry;

extern void OnnxCacheInit(void);
extern void OnnxCheckModelName(const char *name);
extern OnnxCacheEntry *OnnxCacheGet(const char *name);

/*
 * A session kept alive while a statement runs other SQL (onnx_score): an
 * eviction or invalidation meanwhile leaves it usable until unpinned.
 */
typedef struct OnnxPinnedSession
{
	OnnxCacheEntry copy;		/* the entry as it was when pinned */
} OnnxPinnedSession;

extern void OnnxCachePin(OnnxCacheEntry *entry, OnnxPinnedSession *pin);
extern void OnnxCacheUnpin(OnnxPinnedSession *pin);
extern Oid	OnnxModelsRelid(bool missing_ok);
extern Oid	OnnxExtensionSchema(void);
extern OnnxStatus OnnxSessionRun(OnnxCacheEntry *entry, int n_inputs,
								 const char *const *names, const OnnxValue *inputs,
								 int n_outputs, const char *const *out_names,
								 OnnxValue *outputs, OnnxError *err);

#endif							/* ONNX_EXT_H */
