/*-------------------------------------------------------------------------
 *
 * session_cache.c
 *	  Per-backend cache of prepared sessions, keyed by device and model
 *	  name.
 *
 * A cached call costs a hash lookup and a privilege check, not a table
 * read or a parse.  Every change to onnx_models raises a relcache
 * invalidation of the table (see model_store.c); it reaches this backend
 * at the end of the changing command (own transaction) and every other
 * backend when the transaction commits.  The callback only marks entries
 * invalid; they are freed at the next lookup, never while in use.
 * Bounded by onnx.cache_size with least-recently-used eviction.
 *
 * What may be cached: a model is read with the latest snapshot, after
 * pending invalidations were accepted, so a change committed later always
 * sends an invalidation this backend has not seen yet.  An invalidation
 * that arrives while the model is being read, or a read that had to use
 * the statement's snapshot (parallel mode cannot take a new one), gives an
 * entry good for the current statement only.  A statement that starts
 * after a change commits therefore scores the new version.
 *
 * Row security: when a policy applies to the current user, every call
 * checks with a query that the user sees the model's row, and that it is
 * the cached version.
 *
 * Memory kept between calls: the sessions' run buffers are trimmed after
 * every run so that together they stay within onnx.max_cached_memory.
 *
 * Each entry owns a memory context holding the engine's model, session
 * and run-time memory; evicting the entry deletes the context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/xact.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "onnx_ext.h"

#define CACHE_KEY_LEN ONNX_MODEL_REF_LEN
#define MODEL_NAME_MAX 120

static HTAB *session_cache = NULL;
static MemoryContext cache_cxt = NULL;
static Oid	models_relid = InvalidOid;
static uint64 inval_count = 0;	/* invalidations of onnx_models seen */
static size_t pool_total = 0;	/* run buffers kept by all cached sessions */

/* Relcache callback: a change to onnx_models makes every entry stale. */
static void
invalidate_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	OnnxCacheEntry *e;

	if (relid != InvalidOid && relid != models_relid)
		return;
	inval_count++;
	models_relid = InvalidOid;	/* the table may have been dropped */
	if (session_cache == NULL)
		return;
	hash_seq_init(&status, session_cache);
	while ((e = hash_seq_search(&status)) != NULL)
		e->valid = false;
}

/* Register the invalidation callback (once per backend). */
void
OnnxCacheInit(void)
{
	CacheRegisterRelcacheCallback(invalidate_callback, (Datum) 0);
}

static void
ensure_cache(void)
{
	HASHCTL		ctl;

	if (session_cache)
		return;
	cache_cxt = AllocSetContextCreate(TopMemoryContext, "onnx session cache",
									  ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = CACHE_KEY_LEN;
	ctl.entrysize = sizeof(OnnxCacheEntry);
	ctl.hcxt = cache_cxt;
	session_cache = hash_create("onnx session cache", 16, &ctl,
								HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/* Namespace of extension ext (PostgreSQL 15 does not export this). */
static Oid
extension_schema(Oid ext)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			result = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		result = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* Schema of the onnx extension; error if the extension is not installed. */
Oid
OnnxExtensionSchema(void)
{
	Oid			ext = get_extension_oid("onnx", true);

	if (!OidIsValid(ext))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"onnx\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION onnx.")));
	return extension_schema(ext);
}

/* OID of onnx_models (cached until an invalidation). */
Oid
OnnxModelsRelid(bool missing_ok)
{
	if (!OidIsValid(models_relid))
	{
		Oid			ext = get_extension_oid("onnx", missing_ok);

		if (!OidIsValid(ext))
			return InvalidOid;
		models_relid = get_relname_relid("onnx_models", extension_schema(ext));
		if (!OidIsValid(models_relid) && !missing_ok)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table onnx_models of extension onnx is missing")));
	}
	return models_relid;
}

static void
free_entry(OnnxCacheEntry *e)
{
	if (e->session)
		pool_total -= Min(pool_total, onnx_session_pool_bytes(e->session));
	onnx_session_free(e->session);
	if (e->shared_handle >= 0)
		OnnxSharedModelRelease(e->shared_handle);
	else
		onnx_model_free(e->model);
	e->shared_handle = -1;
	if (e->cxt)
		MemoryContextDelete(e->cxt);
	e->session = NULL;
	e->model = NULL;
	e->cxt = NULL;
}

/* Sessions pinned by running statements, and removed-while-pinned ones. */
#define MAX_PINS 64
static OnnxSession *pinned[MAX_PINS];
static int	n_pinned = 0;
static OnnxCacheEntry orphans[MAX_PINS];
static int	n_orphans = 0;

static bool
is_pinned(OnnxSession *s)
{
	for (int i = 0; i < n_pinned; i++)
		if (pinned[i] == s)
			return true;
	return false;
}

static void
remove_entry(OnnxCacheEntry *e)
{
	if (is_pinned(e->session) && n_orphans < MAX_PINS)
		orphans[n_orphans++] = *e;	/* freed at unpin */
	else
		free_entry(e);
	hash_search(session_cache, e->name, HASH_REMOVE, NULL);
}

/* Keep entry's session alive until OnnxCacheUnpin. */
void
OnnxCachePin(OnnxCacheEntry *entry, OnnxPinnedSession *pin)
{
	if (n_pinned >= MAX_PINS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many ONNX models in use at once in this statement")));
	pinned[n_pinned++] = entry->session;
	pin->copy = *entry;
}

/* Release a pin; frees the session if it was removed meanwhile. */
void
OnnxCacheUnpin(OnnxPinnedSession *pin)
{
	OnnxSession *s = pin->copy.session;

	for (int i = 0; i < n_pinned; i++)
		if (pinned[i] == s)
		{
			pinned[i] = pinned[--n_pinned];
			break;
		}
	if (is_pinned(s))
		return;
	for (int i = 0; i < n_orphans; i++)
		if (orphans[i].session == s)
		{
			free_entry(&orphans[i]);
			orphans[i] = orphans[--n_orphans];
			break;
		}
}

/* Evict least recently used entries until one more fits. */
static void
make_room(void)
{
	while (hash_get_num_entries(session_cache) >= onnx_cache_size)
	{
		HASH_SEQ_STATUS status;
		OnnxCacheEntry *e,
				   *oldest = NULL;

		hash_seq_init(&status, session_cache);
		while ((e = hash_seq_search(&status)) != NULL)
			if (oldest == NULL || e->last_used < oldest->last_used)
				oldest = e;
		if (oldest == NULL)
			break;
		remove_entry(oldest);	/* pinned ones live on as orphans */
	}
}

static void
fill_options(OnnxSessionOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->device = (OnnxDevice) onnx_device;
	opts->threads = OnnxEffectiveThreads();
	opts->max_memory = (size_t) onnx_max_memory_kb * 1024;
	opts->abort_fn = OnnxAbortRequested;
}

/* Identity of the current statement, for entries good for it only. */
static void
current_statement(OnnxCacheEntry *e)
{
	e->stmt_start = GetCurrentStatementStartTimestamp();
	e->stmt_lxid = OnnxMyLocalXid();
}

static bool
same_statement(const OnnxCacheEntry *e)
{
	return e->stmt_start == GetCurrentStatementStartTimestamp() && e->stmt_lxid == OnnxMyLocalXid();
}

/* A parsed model reference (model_versions.c): name, version or hash pin. */
typedef struct ModelRef
{
	const char *text;			/* as given */
	char		name[128];		/* "" for a bare content hash */
	int			version;		/* 0: not pinned by number */
	char		prefix[65];		/* content hash prefix, "" if none */
	bool		pinned;
} ModelRef;

static void
parse_ref(const char *text, ModelRef *ref)
{
	ref->text = text;
	OnnxParseModelRef(text, ref->name, sizeof(ref->name), &ref->version,
					  ref->prefix, sizeof(ref->prefix));
	ref->pinned = ref->version > 0 || ref->prefix[0] != '\0';
	if (ref->name[0] != '\0' || !ref->pinned)
		OnnxCheckModelName(ref->name);
}

/*
 * Run the reference's query (OnnxModelRefQuery) as the current user,
 * read-only, with the latest snapshot unless in parallel mode; returns
 * whether that snapshot was the latest.  The caller is connected to SPI.
 * A hash prefix that matches two different versions is an error.
 */
static bool
read_models(const char *cols, const ModelRef *ref, long limit)
{
	Oid			argtypes[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		args[3] = {CStringGetTextDatum(ref->name), Int32GetDatum(ref->version),
	CStringGetTextDatum(psprintf("%s%%", ref->prefix))};
	char	   *query = OnnxModelRefQuery(psprintf("sha256, %s", cols), ref->pinned);
	SPIPlanPtr	plan;
	bool		latest = !IsInParallelMode();
	int			rc;

	if ((plan = SPI_prepare(query, 3, argtypes)) == NULL)
		elog(ERROR, "could not prepare a query of onnx_models: %s",
			 SPI_result_code_string(SPI_result));
	rc = SPI_execute_snapshot(plan, args, NULL, latest ? GetLatestSnapshot() : InvalidSnapshot,
							  InvalidSnapshot, true, false, ref->pinned ? 2 : limit);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading onnx_models failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ONNX model \"%s\" does not exist", ref->text),
				 ref->pinned ? errhint("onnx_model_versions(name) lists the kept versions.") :
				 errhint("Store it with onnx_create_model().")));
	if (SPI_processed > 1 &&
		strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
			   SPI_getvalue(SPI_tuptable->vals[1], SPI_tuptable->tupdesc, 1)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 errmsg("ONNX model reference \"%s\" matches more than one version", ref->text),
				 errhint("Give more digits of the content hash.")));
	return latest;
}


/*
 * Read, load and prepare a model into a new context (child of the current
 * one until it succeeds, so an error frees it with the transaction).
 */
static void
load_entry(const ModelRef *ref, OnnxCacheEntry *tmp)
{
	const char *name = ref->text;
	bool		isnull;
	bytea	   *model_bytes;
	char	   *sha;
	MemoryContext cxt;
	OnnxSessionOptions opts;
	OnnxError	err;
	uint64		seen;
	bool		latest;
	bool		failed;
	instr_time	start,
				elapsed;
	int			rc;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "onnx model",
								ALLOCSET_DEFAULT_SIZES);
	tmp->cxt = cxt;
	tmp->alloc = OnnxContextAllocator(cxt);
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	/* changes committed from here on send invalidations not yet seen */
	AcceptInvalidationMessages();
	seen = inval_count;
	INSTR_TIME_SET_CURRENT(start);

	/* first the content hash: a prepared copy in shared memory needs no bytes */
	latest = read_models("size_bytes, name", ref, 1);
	sha = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	strlcpy(tmp->sha256, sha ? sha : "", sizeof(tmp->sha256));
	tmp->bytes = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	/* statistics by the model's own name, also for a pinned reference */
	strlcpy(tmp->model_name, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3),
			sizeof(tmp->model_name));
	tmp->model = OnnxSharedModelFind(tmp->sha256, name, &tmp->shared_handle);
	if (tmp->model == NULL)
	{
		latest &= read_models("model", ref, 1);
		model_bytes = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
													2, &isnull));
		sha = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		strlcpy(tmp->sha256, sha ? sha : "", sizeof(tmp->sha256));
		tmp->bytes = VARSIZE_ANY_EXHDR(model_bytes);
		/* one copy for all backends when shared memory has room, else private */
		tmp->model = OnnxSharedModelGet(tmp->sha256, name, VARDATA_ANY(model_bytes),
										VARSIZE_ANY_EXHDR(model_bytes), tmp->alloc,
										&tmp->shared_handle, &failed, &err);
		if (failed)
			OnnxReportEngineError(&err, name);
		if (tmp->model == NULL)
			tmp->model = OnnxLoadModelOrError(VARDATA_ANY(model_bytes),
											  VARSIZE_ANY_EXHDR(model_bytes), tmp->alloc, name);
	}
	SPI_finish();
	PG_TRY();
	{
		/* models stored by an older version were not checked */
		OnnxCheckModelText(tmp->model, name);
		fill_options(&opts);
		opts.alloc = tmp->alloc;	/* run memory is always this backend's */
		tmp->device = opts.device;
		if (onnx_session_create(tmp->model, &opts, &tmp->session, &err) != ONNX_OK)
			OnnxReportEngineError(&err, name);
	}
	PG_CATCH();
	{
		if (tmp->shared_handle >= 0)
			OnnxSharedModelRelease(tmp->shared_handle);
		PG_RE_THROW();
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	OnnxStatPrepare(name, tmp->sha256, &tmp->stat, INSTR_TIME_GET_MILLISEC(elapsed));
	/* a pinned version never changes: good until its entry is invalidated */
	tmp->confirmed = ref->pinned || (latest && inval_count == seen);
	current_statement(tmp);
}

/*
 * With row security on onnx_models for the current user: the user must
 * see the model's row (else it does not exist for them), and the cached
 * entry must be the version they see.
 */
static bool
row_security_allows(const ModelRef *ref, const OnnxCacheEntry *e)
{
	bool		same;
	char	   *sha;
	int			rc;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	read_models("size_bytes", ref, 1);
	sha = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	same = sha != NULL && strcmp(sha, e->sha256) == 0;
	SPI_finish();
	return same;
}

/*
 * A cache hit reads no table, so inside a transaction nothing else may
 * make this backend see invalidations: accept them at the first call of
 * each statement (cheap when there are none), so that a statement that
 * starts after a change commits scores the new version.  Later calls of
 * the same statement do not look again.
 */
static void
accept_invalidations_once_per_statement(void)
{
	static TimestampTz last_start = 0;
	static uint32 last_lxid = 0;

	if (last_start != GetCurrentStatementStartTimestamp() || last_lxid != OnnxMyLocalXid())
	{
		AcceptInvalidationMessages();
		last_start = GetCurrentStatementStartTimestamp();
		last_lxid = OnnxMyLocalXid();
	}
}

/* Model names: 1 to MODEL_NAME_MAX bytes (the table's CHECK says the same). */
void
OnnxCheckModelName(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > MODEL_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ONNX model name \"%s\"", name),
				 errdetail("Model names have 1 to %d bytes; this one has %zu.", MODEL_NAME_MAX, len)));
	if (strchr(name, '@') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ONNX model name \"%s\"", name),
				 errdetail("\"@\" pins a version in a model reference (name@3, name@3f9a1c2b) and cannot be part of a name.")));
}

/*
 * The cached session for a model, loading it on a miss.  Checks that the
 * current user may read onnx_models, on hits too.
 */
OnnxCacheEntry *
OnnxCacheGet(const char *name)
{
	char		key[CACHE_KEY_LEN];
	Oid			relid;
	AclResult	acl;
	OnnxCacheEntry *e;
	OnnxCacheEntry tmp;
	bool		found;
	ModelRef	ref;

	parse_ref(name, &ref);
	accept_invalidations_once_per_statement();
	relid = OnnxModelsRelid(false);
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read ONNX model \"%s\"", name),
				 errhint("Scoring needs SELECT on onnx_models.")));
	ensure_cache();
	snprintf(key, sizeof(key), "%d:%s", onnx_device, name);
	e = hash_search(session_cache, key, HASH_FIND, NULL);
	if (e && (!e->valid || (!e->confirmed && !same_statement(e)) ||
			  (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED &&
			   !row_security_allows(&ref, e))))
	{
		remove_entry(e);
		e = NULL;
	}
	if (e)
	{
		e->hits++;
		e->last_used = GetCurrentTimestamp();
		OnnxStatCall(e->model_name, e->sha256, &e->stat);
		return e;
	}

	memset(&tmp, 0, sizeof(tmp));
	tmp.shared_handle = -1;
	load_entry(&ref, &tmp);
	/* success: move into the cache */
	MemoryContextSetParent(tmp.cxt, cache_cxt);
	make_room();
	e = hash_search(session_cache, key, HASH_ENTER, &found);
	if (found)
		free_entry(e);
	strlcpy(e->name, key, sizeof(e->name));
	e->device = tmp.device;
	e->cxt = tmp.cxt;
	e->alloc = tmp.alloc;
	e->model = tmp.model;
	e->session = tmp.session;
	e->bytes = tmp.bytes;
	memcpy(e->sha256, tmp.sha256, sizeof(e->sha256));
	memcpy(e->model_name, tmp.model_name, sizeof(e->model_name));
	e->shared_handle = tmp.shared_handle;
	e->stat = tmp.stat;
	e->confirmed = tmp.confirmed;
	e->stmt_start = tmp.stmt_start;
	e->stmt_lxid = tmp.stmt_lxid;
	e->valid = true;
	e->hits = 0;
	e->last_used = GetCurrentTimestamp();
	OnnxStatCall(e->model_name, e->sha256, &e->stat);
	return e;
}

/*
 * After a run of session, whose run buffers were before bytes: trim it so
 * that all cached sessions keep at most onnx.max_cached_memory, then the
 * others if this one alone cannot make room (pinned ones included: their
 * buffers are only a cache).  Freed memory that the C library keeps is
 * handed back to the system after a large trim.
 */
static void
keep_within_budget(OnnxSession *session, size_t before)
{
	size_t		budget = (size_t) onnx_max_cached_memory_kb * 1024;
	size_t		others;
	size_t		trimmed = 0;

	pool_total -= Min(pool_total, before);
	others = pool_total;
	if (onnx_session_pool_bytes(session) + others > budget)
	{
		size_t		mine = onnx_session_pool_bytes(session);

		onnx_session_trim(session, budget > others ? budget - others : 0);
		trimmed += mine - onnx_session_pool_bytes(session);
	}
	pool_total += onnx_session_pool_bytes(session);
	if (pool_total > budget && session_cache)
	{
		HASH_SEQ_STATUS status;
		OnnxCacheEntry *e;

		hash_seq_init(&status, session_cache);
		while ((e = hash_seq_search(&status)) != NULL)
		{
			size_t		had;

			if (e->session == session || e->session == NULL)
				continue;
			had = onnx_session_pool_bytes(e->session);
			onnx_session_trim(e->session, 0);
			trimmed += had;
			pool_total -= Min(pool_total, had);
		}
	}
	if (trimmed >= 32 * 1024 * 1024)
		OnnxReleaseFreedMemory();
}

/* Run a cached session with the current thread and memory settings. */
OnnxStatus
OnnxSessionRun(OnnxCacheEntry *entry, int n_inputs, const char *const *names,
			   const OnnxValue *inputs, int n_outputs, const char *const *out_names,
			   OnnxValue *outputs, OnnxError *err)
{
	OnnxSessionOptions opts;
	OnnxStatus	st;

	size_t		before = onnx_session_pool_bytes(entry->session);
	instr_time	start,
				elapsed;
	int64		rows = 1;

	fill_options(&opts);
	opts.device = entry->device;
	opts.alloc = entry->alloc;
	if ((st = onnx_session_set_options(entry->session, &opts, err)) != ONNX_OK)
		return st;
	INSTR_TIME_SET_CURRENT(start);
	st = onnx_session_run(entry->session, n_inputs, names, inputs, n_outputs,
						  out_names, outputs, err);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	/* rows: the leading dimension of the first input (the batch) */
	if (n_inputs > 0 && inputs[0].kind == ONNX_VALUE_TENSOR && inputs[0].tensor.rank > 0)
		rows = inputs[0].tensor.dims[0];
	OnnxStatRun(entry->model_name, entry->sha256, &entry->stat, rows,
				INSTR_TIME_GET_MILLISEC(elapsed), st != ONNX_OK);
	keep_within_budget(entry->session, before);
	return st;
}

PG_FUNCTION_INFO_V1(onnx_cache_info);

/* The sessions cached in this backend: model, device, bytes, hits, last use. */
Datum
onnx_cache_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	OnnxCacheEntry *e;

	InitMaterializedSRF(fcinfo, 0);
	if (session_cache == NULL)
		PG_RETURN_VOID();
	hash_seq_init(&status, session_cache);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		Datum		values[7];
		bool		nulls[7] = {false};
		const char *colon = strchr(e->name, ':');

		if (!e->valid)
			continue;
		values[0] = CStringGetTextDatum(colon ? colon + 1 : e->name);
		values[1] = CStringGetTextDatum(e->device == ONNX_DEVICE_CUDA ? "cuda" : "cpu");
		values[2] = Int64GetDatum(e->bytes);
		values[3] = Int64GetDatum((int64) onnx_session_bytes(e->session));
		values[4] = Int64GetDatum(e->hits);
		values[5] = TimestampTzGetDatum(e->last_used);
		values[6] = BoolGetDatum(e->shared_handle >= 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
