/*-------------------------------------------------------------------------
 *
 * prewarm.c
 *	  Warm starts: onnx_prewarm(model) and the setting onnx.prewarm, which
 *	  loads and prepares models into shared memory when the server starts,
 *	  so that the first call of a new connection maps a prepared model
 *	  instead of parsing and packing it.
 *
 *	  onnx.prewarm = 'db1:churn, db1:fraud, db2:ocr'
 *
 * One background worker per database of the list (a worker connects to
 * one database) loads its models as the bootstrap superuser and exits; the
 * models stay in shared memory, unused, until replaced or evicted for
 * room.  A model that fails to load is logged as a warning; the others
 * still load.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"

#include "onnx_ext.h"

#define PREWARM_MAX_DATABASES 16

static char *onnx_prewarm_list = NULL;

PGDLLEXPORT void onnx_prewarm_main(Datum arg);

/*
 * The entries of onnx.prewarm, "db:model" separated by commas: in
 * dbs/models (palloc'd, n_out entries); false if the list is malformed.
 */
static bool
parse_list(const char *list, char ***dbs, char ***models, int *n_out)
{
	char	   *copy = pstrdup(list ? list : "");
	List	   *items;
	ListCell   *lc;
	int			n = 0;

	if (!SplitGUCList(copy, ',', &items))
		return false;
	*dbs = palloc0(sizeof(char *) * (list_length(items) + 1));
	*models = palloc0(sizeof(char *) * (list_length(items) + 1));
	foreach(lc, items)
	{
		char	   *item = lfirst(lc);
		char	   *colon = strchr(item, ':');

		if (colon == NULL || colon == item || colon[1] == '\0')
			return false;
		*colon = '\0';
		(*dbs)[n] = item;
		(*models)[n] = colon + 1;
		n++;
	}
	*n_out = n;
	return true;
}

static bool
check_prewarm(char **newval, void **extra, GucSource source)
{
	char	  **dbs,
			  **models;
	int			n;

	if (!parse_list(*newval, &dbs, &models, &n))
	{
		GUC_check_errdetail("List entries must be database:model, separated by commas.");
		return false;
	}
	return true;
}

/* The setting and, when preloaded, one worker per database of it. */
void
OnnxPrewarmInit(void)
{
	char	  **dbs,
			  **models;
	int			n,
				n_db = 0;
	char	   *seen[PREWARM_MAX_DATABASES];

	/* a PGC_POSTMASTER setting can only be defined when preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomStringVariable("onnx.prewarm",
							   "Models to load into shared memory when the server starts.",
							   "A comma-separated list of database:model; needs shared_preload_libraries.",
							   &onnx_prewarm_list, "", PGC_POSTMASTER, 0, check_prewarm, NULL, NULL);
	if (!parse_list(onnx_prewarm_list, &dbs, &models, &n))
		return;
	for (int i = 0; i < n && n_db < PREWARM_MAX_DATABASES; i++)
	{
		BackgroundWorker worker;
		bool		dup = false;

		for (int k = 0; k < n_db; k++)
			dup |= strcmp(seen[k], dbs[i]) == 0;
		if (dup)
			continue;
		seen[n_db++] = dbs[i];
		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = BGW_NEVER_RESTART;
		strlcpy(worker.bgw_library_name, "onnx", BGW_MAXLEN);
		strlcpy(worker.bgw_function_name, "onnx_prewarm_main", BGW_MAXLEN);
		snprintf(worker.bgw_name, BGW_MAXLEN, "onnx prewarm %s", dbs[i]);
		strlcpy(worker.bgw_type, "onnx prewarm", BGW_MAXLEN);
		strlcpy(worker.bgw_extra, dbs[i], BGW_EXTRALEN);
		RegisterBackgroundWorker(&worker);
	}
}

/* Background worker: load the models of onnx.prewarm in its database. */
void
onnx_prewarm_main(Datum arg)
{
	char		db[BGW_EXTRALEN];
	char	  **dbs,
			  **models;
	int			n;
	volatile int loaded = 0;	/* counted inside PG_TRY, read after it */

	strlcpy(db, MyBgworkerEntry->bgw_extra, sizeof(db));
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(db, NULL, 0);
	if (!parse_list(onnx_prewarm_list, &dbs, &models, &n))
		proc_exit(0);
	for (int i = 0; i < n; i++)
	{
		MemoryContext cxt = CurrentMemoryContext;

		if (strcmp(dbs[i], db) != 0)
			continue;
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		PG_TRY();
		{
			OnnxCacheGet(models[i]);
			PopActiveSnapshot();
			CommitTransactionCommand();
			loaded++;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			ereport(WARNING,
					(errmsg("could not prewarm ONNX model \"%s\" in database \"%s\": %s",
							models[i], db, edata->message)));
		}
		PG_END_TRY();
	}
	ereport(LOG, (errmsg("onnx prewarm: %d model(s) of database \"%s\" loaded", loaded, db)));
	proc_exit(0);
}

PG_FUNCTION_INFO_V1(onnx_prewarm);

/*
 * onnx_prewarm(model) -> boolean: load and prepare the model now (into
 * shared memory when it is on); true when the model is in shared memory.
 */
Datum
onnx_prewarm(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	OnnxCacheEntry *e = OnnxCacheGet(name);

	PG_RETURN_BOOL(e->shared_handle >= 0);
}
