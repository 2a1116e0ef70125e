/*-------------------------------------------------------------------------
 *
 * model_stats.c
 *	  Usage statistics per model, in the style of pg_stat_statements:
 *	  onnx_stat_models (model, content hash, calls, rows, batches, errors,
 *	  run times, prepares, shared bytes, backends) and onnx_stat_reset().
 *
 * Kept in shared memory (so it needs shared_preload_libraries), one entry
 * per (database, role, model name, content hash), at most
 * onnx.stat_max_models of them; calls beyond that are not counted (the
 * view says how many were dropped).  Every backend and parallel worker
 * adds to the same counters: the hash table is guarded by an LWLock
 * (held shared while counters change, exclusive to insert or reset), each
 * entry's counters by its own spinlock.  Backends remember where their
 * last entry is; a reset moves to a new generation, which makes them look
 * it up again.
 *
 * Visibility follows pg_stat_statements: every role sees every row's
 * counters, and the model name and hash of other roles' rows only with
 * the privileges of pg_read_all_stats.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"

#include "onnx_ext.h"

typedef struct StatKey
{
	Oid			dbid;
	Oid			userid;
	char		name[128];
	char		sha256[65];
} StatKey;

typedef struct StatEntry
{
	StatKey		key;
	slock_t		mutex;
	int64		calls;
	int64		rows;
	int64		batches;
	int64		errors;
	double		total_ms;
	double		max_ms;
	int64		prepares;
	double		prepare_ms;
} StatEntry;

typedef struct StatShared
{
	LWLock	   *lock;
	pg_atomic_uint64 generation;
	pg_atomic_uint64 dropped;
} StatShared;

int			onnx_stat_max_models = 5000;
static StatShared *stat_shared = NULL;
static HTAB *stat_hash = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
stats_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(StatShared)),
									hash_estimate_size(onnx_stat_max_models, sizeof(StatEntry))));
	RequestNamedLWLockTranche("onnx stats", 1);
}

static void
stats_startup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stat_shared = ShmemInitStruct("onnx stats", sizeof(StatShared), &found);
	if (!found)
	{
		stat_shared->lock = &(GetNamedLWLockTranche("onnx stats"))->lock;
		pg_atomic_init_u64(&stat_shared->generation, 1);
		pg_atomic_init_u64(&stat_shared->dropped, 0);
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StatKey);
	info.entrysize = sizeof(StatEntry);
	stat_hash = ShmemInitHash("onnx stats hash", onnx_stat_max_models, onnx_stat_max_models,
							  &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/* When preloaded: the GUC (PGC_POSTMASTER) and the shared memory hooks. */
void
OnnxStatsInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("onnx.stat_max_models", "Models onnx_stat_models tracks (database, role, model, version).",
							"Needs shared_preload_libraries; calls of further models are not counted.",
							&onnx_stat_max_models, 5000, 100, INT_MAX / 1024, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = stats_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = stats_startup;
}

/* What one event adds to an entry. */
typedef struct StatDelta
{
	int64		calls;
	int64		rows;
	int64		batches;
	int64		errors;
	double		run_ms;
	int64		prepares;
	double		prepare_ms;
} StatDelta;

/*
 * Add d to the entry of (this database, current role, name, sha256),
 * created when missing (not counted when the table is full).  The shared
 * lock is held while the counters change, so a reset never frees an
 * entry under a writer; *cache (the caller's) saves the hash lookup while
 * the generation and role stay the same.
 */
static void
stat_add(const char *name, const char *sha256, OnnxStatRef *cache, const StatDelta *d)
{
	StatKey		key;
	StatEntry  *e = NULL;
	LWLockMode	mode = LW_SHARED;
	uint64		gen;
	bool		found;

	if (stat_hash == NULL)
		return;
	LWLockAcquire(stat_shared->lock, mode);
	gen = pg_atomic_read_u64(&stat_shared->generation);
	if (cache->entry && cache->generation == gen && cache->userid == GetUserId())
		e = (StatEntry *) cache->entry;
	else
	{
		memset(&key, 0, sizeof(key));
		key.dbid = MyDatabaseId;
		key.userid = GetUserId();
		strlcpy(key.name, name, sizeof(key.name));
		strlcpy(key.sha256, sha256, sizeof(key.sha256));
		e = hash_search(stat_hash, &key, HASH_FIND, NULL);
		if (e == NULL)
		{
			LWLockRelease(stat_shared->lock);
			mode = LW_EXCLUSIVE;
			LWLockAcquire(stat_shared->lock, mode);
			gen = pg_atomic_read_u64(&stat_shared->generation);
			e = hash_search(stat_hash, &key, HASH_ENTER_NULL, &found);
			if (e && !found)
			{
				memset((char *) e + sizeof(StatKey), 0, sizeof(StatEntry) - sizeof(StatKey));
				SpinLockInit(&e->mutex);
			}
		}
		if (e == NULL)
		{
			pg_atomic_fetch_add_u64(&stat_shared->dropped, 1);
			LWLockRelease(stat_shared->lock);
			return;
		}
		cache->entry = e;
		cache->generation = gen;
		cache->userid = key.userid;
	}
	SpinLockAcquire(&e->mutex);
	e->calls += d->calls;
	e->rows += d->rows;
	e->batches += d->batches;
	e->errors += d->errors;
	e->total_ms += d->run_ms;
	if (d->batches && d->run_ms > e->max_ms)
		e->max_ms = d->run_ms;
	e->prepares += d->prepares;
	e->prepare_ms += d->prepare_ms;
	SpinLockRelease(&e->mutex);
	LWLockRelease(stat_shared->lock);
}

/* One SQL call of the model. */
void
OnnxStatCall(const char *name, const char *sha256, OnnxStatRef *cache)
{
	StatDelta	d = {0};

	d.calls = 1;
	stat_add(name, sha256, cache, &d);
}

/* One engine run over rows rows that took ms milliseconds (failed or not). */
void
OnnxStatRun(const char *name, const char *sha256, OnnxStatRef *cache, int64 rows,
			double ms, bool failed)
{
	StatDelta	d = {0};

	d.rows = rows;
	d.batches = 1;
	d.errors = failed;
	d.run_ms = ms;
	stat_add(name, sha256, cache, &d);
}

/* One load and prepare of the model that took ms milliseconds. */
void
OnnxStatPrepare(const char *name, const char *sha256, OnnxStatRef *cache, double ms)
{
	StatDelta	d = {0};

	d.prepares = 1;
	d.prepare_ms = ms;
	stat_add(name, sha256, cache, &d);
}

static void
require_stats(void)
{
	if (stat_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("onnx model statistics are not being tracked"),
				 errhint("Add onnx to shared_preload_libraries and restart the server.")));
}

PG_FUNCTION_INFO_V1(onnx_stat_models);

/*
 * Rows of onnx_stat_models: userid, dbid, model, sha256, calls, rows,
 * batches, errors, total/mean/max run time (ms), prepares, prepare time,
 * shared bytes, backends using the shared copy.
 */
Datum
onnx_stat_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		see_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	HASH_SEQ_STATUS status;
	StatEntry  *e;

	require_stats();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(stat_shared->lock, LW_SHARED);
	hash_seq_init(&status, stat_hash);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		Datum		values[15];
		bool		nulls[15] = {false};
		StatEntry	copy;
		bool		visible = see_all || e->key.userid == GetUserId();
		int64		shared_bytes;
		int			backends;

		SpinLockAcquire(&e->mutex);
		copy = *e;
		SpinLockRelease(&e->mutex);
		values[0] = ObjectIdGetDatum(copy.key.userid);
		values[1] = ObjectIdGetDatum(copy.key.dbid);
		values[2] = CStringGetTextDatum(visible ? copy.key.name : "<insufficient privilege>");
		values[3] = CStringGetTextDatum(copy.key.sha256);
		nulls[3] = !visible;
		values[4] = Int64GetDatum(copy.calls);
		values[5] = Int64GetDatum(copy.rows);
		values[6] = Int64GetDatum(copy.batches);
		values[7] = Int64GetDatum(copy.errors);
		values[8] = Float8GetDatum(copy.total_ms);
		values[9] = Float8GetDatum(copy.batches > 0 ? copy.total_ms / copy.batches : 0);
		values[10] = Float8GetDatum(copy.max_ms);
		values[11] = Int64GetDatum(copy.prepares);
		values[12] = Float8GetDatum(copy.prepare_ms);
		nulls[13] = !OnnxSharedModelUsage(copy.key.sha256, &shared_bytes, &backends);
		values[13] = Int64GetDatum(shared_bytes);
		values[14] = Int32GetDatum(backends);
		nulls[14] = nulls[13];
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(stat_shared->lock);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(onnx_stat_reset);

/* Forget every statistic (not executable by PUBLIC). */
Datum
onnx_stat_reset(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS status;
	StatEntry  *e;

	require_stats();
	LWLockAcquire(stat_shared->lock, LW_EXCLUSIVE);
	pg_atomic_fetch_add_u64(&stat_shared->generation, 1);
	hash_seq_init(&status, stat_hash);
	while ((e = hash_seq_search(&status)) != NULL)
		hash_search(stat_hash, &e->key, HASH_REMOVE, NULL);
	pg_atomic_write_u64(&stat_shared->dropped, 0);
	LWLockRelease(stat_shared->lock);
	PG_RETURN_VOID();
}
