/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  Progress of running onnx_score calls, visible to other sessions
 *	  through onnx_score_progress().
 *
 * Needs a small shared memory area, so it works when the library is
 * loaded with shared_preload_libraries = 'onnx'; otherwise scoring runs
 * normally and onnx_score_progress() says how to enable it.  One slot per
 * backend, written only by its owner; readers may see a slot mid-update,
 * which is harmless for a monitoring view.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "onnx_ext.h"

typedef struct ProgressSlot
{
	int			pid;			/* 0 when idle */
	Oid			userid;			/* role running it */
	char		model[128];
	int64		rows_done;
	TimestampTz started;
} ProgressSlot;

static ProgressSlot *slots = NULL;
static int	n_slots = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
progress_size(void)
{
	return mul_size(sizeof(ProgressSlot), MaxBackends + 1);
}

static void
progress_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(progress_size());
}

static void
progress_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	slots = ShmemInitStruct("onnx score progress", progress_size(), &found);
	if (!found)
		memset(slots, 0, progress_size());
	n_slots = MaxBackends + 1;
}

/* Install the shared memory hooks when preloaded. */
void
OnnxProgressInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = progress_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = progress_shmem_startup;
}

static ProgressSlot *
my_slot(void)
{
	int			slot = OnnxMyProcSlot();

	if (slots == NULL || slot < 0 || slot >= n_slots)
		return NULL;
	return &slots[slot];
}

void
OnnxProgressStart(const char *model)
{
	ProgressSlot *s = my_slot();

	if (s == NULL)
		return;
	s->rows_done = 0;
	s->started = GetCurrentTimestamp();
	strlcpy(s->model, model, sizeof(s->model));	/* names have at most 120 bytes */
	s->userid = GetUserId();
	pg_write_barrier();
	s->pid = MyProcPid;
}

void
OnnxProgressUpdate(int64 rows_done)
{
	ProgressSlot *s = my_slot();

	if (s)
		s->rows_done = rows_done;
}

void
OnnxProgressEnd(void)
{
	ProgressSlot *s = my_slot();

	if (s)
		s->pid = 0;
}

PG_FUNCTION_INFO_V1(onnx_score_progress);

/*
 * Running onnx_score calls: pid, model, rows done, elapsed, rows per
 * second.  Other roles' runs only for roles with the privileges of
 * pg_read_all_stats, as in pg_stat_activity.
 */
Datum
onnx_score_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz now = GetCurrentTimestamp();
	bool		see_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	if (slots == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("onnx_score progress is not being tracked"),
				 errhint("Add onnx to shared_preload_libraries and restart the server.")));
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n_slots; i++)
	{
		ProgressSlot copy = slots[i];
		Datum		values[5];
		bool		nulls[5] = {false};
		double		secs;

		if (copy.pid == 0 || (!see_all && !has_privs_of_role(GetUserId(), copy.userid)))
			continue;
		copy.model[sizeof(copy.model) - 1] = '\0';
		secs = (double) (now - copy.started) / USECS_PER_SEC;
		values[0] = Int32GetDatum(copy.pid);
		values[1] = CStringGetTextDatum(copy.model);
		values[2] = Int64GetDatum(copy.rows_done);
		values[3] = IntervalPGetDatum(DatumGetIntervalP(DirectFunctionCall2(timestamp_mi,
																			 TimestampTzGetDatum(now),
																			 TimestampTzGetDatum(copy.started))));
		values[4] = Float8GetDatum(secs > 0 ? copy.rows_done / secs : 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
