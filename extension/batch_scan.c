/*-------------------------------------------------------------------------
 *
 * batch_scan.c
 *	  The OnnxBatch executor node (plan layout in auto_batch.h): it reads
 *	  up to onnx.batch_size rows from its child into a buffer, scores the
 *	  batched calls for many rows per engine run, and returns the rows in
 *	  their order with the results in place of the calls.
 *
 * Rows are processed one at a time, in order, as the node the calls came
 * from would process them: stage by stage (each moved filter, then the
 * target list).  When a row needs a call's result that is not known yet,
 * the call is run in one engine run for that row and for every later row
 * of the buffer that may still need it (not yet filtered out).  So that no
 * error comes early, and every error is the per-row call's own:
 *	- the model is looked up (OnnxCacheGet, which may fail) only for the
 *	  row that needs it now, with its arguments not NULL;
 *	- a row whose arguments a run cannot take (other shapes, NULL
 *	  elements, JSON that does not parse), every row of a run the engine
 *	  refused, and every row whose result failed to convert, is evaluated
 *	  later by calling the function for that row alone, in its turn;
 *	- only errors of the rows' data are caught (batch_calls.c); a cancel
 *	  or statement_timeout stops the run inside the engine and is raised.
 * A filter that cannot fail (OnnxExprIsSpeculationSafe) is tested ahead
 * for the rows of a run, so that later calls skip the rows it removes.
 * With onnx.auto_batch off at execution (a plan cached earlier) every
 * row is evaluated alone.
 *
 * Memory: the buffer (child rows, arguments, results) lives in a context
 * reset for each batch; a run's tensors in one reset after each run; the
 * engine's outputs are converted and released at once.
 *
 * In a parallel plan each process runs its own node over its rows.  The
 * node is parallel-aware only to share its statistics: workers add theirs
 * to the dynamic shared memory at the end, and the leader copies them out
 * when the segment is detached, for EXPLAIN ANALYZE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#endif
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "portability/instr_time.h"
#include "storage/dsm.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "auto_batch.h"

#define ROW_UNKNOWN 0
#define ROW_DONE 1
#define ROW_ONE_BY_ONE 2

#define ROW_FILTERED (-1)		/* passed[]: removed by a filter */

typedef struct BatchStats
{
	int64		batches;		/* engine runs */
	int64		rows;			/* rows they scored */
	int64		one_by_one;		/* rows evaluated alone */
	double		engine_ms;		/* time in the engine */
} BatchStats;

/* Statistics of the workers, in the dynamic shared memory. */
typedef struct BatchShared
{
	slock_t		mutex;
	int			ncalls;
	BatchStats	stats[FLEXIBLE_ARRAY_MEMBER];
} BatchShared;

/* Where the leader keeps them (TopTransactionContext: outlives any segment). */
typedef struct BatchMailbox
{
	BatchShared *shared;
	int			ncalls;
	BatchStats	stats[FLEXIBLE_ARRAY_MEMBER];
} BatchMailbox;

typedef struct BatchCall
{
	OnnxCallKind kind;
	int			stage;
	int			col;			/* result column in the scan tuple, 0-based */
	FuncExpr   *expr;			/* the call, arguments over the child's row */
	int			nargs;
	ExprState  *argstate[BATCH_MAX_ARGS];	/* per-row arguments */
	int			argcol[BATCH_MAX_ARGS]; /* or a child column (1-based) */
	int16		arglen[BATCH_MAX_ARGS];
	bool		argbyval[BATCH_MAX_ARGS];
	ExprState  *invstate[BATCH_MAX_ARGS];	/* arguments the same for every row */
	Datum		inv[BATCH_MAX_ARGS];
	bool		invnull;		/* one of them is NULL */
	bool		inv_done;
	char	   *model;			/* model name, once known */
	ExprState  *rowstate;		/* the call for one row */
	bool		batchable;		/* false once the model showed it cannot be */
	int			max_rows;		/* rows per run (halved after memory errors) */
	/* per buffered row */
	Datum	   *args;			/* [row * nargs + a] */
	bool	   *argnull;		/* an argument is NULL */
	uint8	   *state;
	Datum	   *value;
	bool	   *isnull;
	BatchStats	stats;
} BatchCall;

typedef struct BatchScanState
{
	CustomScanState css;
	int			ncalls;
	BatchCall  *calls;
	int			nstages;		/* moved filters; stage nstages: target list */
	ExprState **stage_qual;
	bool	   *stage_safe;		/* may be tested ahead */
	int		   *spec_next;		/* per stage: rows before it were tested ahead */
	int			nchild;
	bool		enabled;
	int			cap;			/* rows per batch */
	int			first_batch;
	int			next_batch;
	/* the buffer */
	MemoryContext inv_cxt;		/* arguments the same for every row, until a rescan */
	MemoryContext batch_cxt;
	MemoryContext run_cxt;
	int			nrows;
	int			pos;
	bool		child_done;
	Datum	   *rowvals;		/* [row * nchild + col] */
	bool	   *rownulls;
	int		   *passed;			/* stages passed, or ROW_FILTERED */
	TupleTableSlot *rowslot;	/* a buffered child row */
	TupleTableSlot *mtslot;		/* deforms copied rows */
	/* parallel statistics */
	BatchShared *shared;
	BatchMailbox *mailbox;
} BatchScanState;

static Node *batch_create_state(CustomScan *cscan);
static void batch_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *batch_exec(CustomScanState *node);
static void batch_end(CustomScanState *node);
static void batch_rescan(CustomScanState *node);
static Size batch_estimate_dsm(CustomScanState *node, ParallelContext *pcxt);
static void batch_init_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate);
static void batch_reinit_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate);
static void batch_init_worker(CustomScanState *node, shm_toc *toc, void *coordinate);
static void batch_explain(CustomScanState *node, List *ancestors, ExplainState *es);

const CustomScanMethods OnnxBatchScanMethods = {
	ONNX_BATCH_SCAN_NAME,
	batch_create_state
};

static const CustomExecMethods batch_exec_methods = {
	.CustomName = ONNX_BATCH_SCAN_NAME,
	.BeginCustomScan = batch_begin,
	.ExecCustomScan = batch_exec,
	.EndCustomScan = batch_end,
	.ReScanCustomScan = batch_rescan,
	.EstimateDSMCustomScan = batch_estimate_dsm,
	.InitializeDSMCustomScan = batch_init_dsm,
	.ReInitializeDSMCustomScan = batch_reinit_dsm,
	.InitializeWorkerCustomScan = batch_init_worker,
	.ExplainCustomScan = batch_explain
};

/* Register the node so that plans naming it can be read (parallel workers). */
void
OnnxBatchScanInit(void)
{
	RegisterCustomScanMethods(&OnnxBatchScanMethods);
}

static Node *
batch_create_state(CustomScan *cscan)
{
	BatchScanState *bs = palloc0(sizeof(BatchScanState));

	NodeSetTag(bs, T_CustomScanState);
	bs->css.methods = &batch_exec_methods;
	return (Node *) bs;
}

/* A Const or Param, maybe relabelled: the same for every row. */
static bool
is_invariant(Node *arg)
{
	while (arg && IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	return arg != NULL && (IsA(arg, Const) || IsA(arg, Param));
}

static void
batch_begin(CustomScanState *node, EState *estate, int eflags)
{
	BatchScanState *bs = (BatchScanState *) node;
	CustomScan *cs = (CustomScan *) node->ss.ps.plan;
	PlanState  *ps = &node->ss.ps;
	List	   *priv = cs->custom_private;
	TupleDesc	child_desc;
	int			i;
	ListCell   *lc;

	outerPlanState(bs) = ExecInitNode(outerPlan(cs), estate,
									  eflags & ~(EXEC_FLAG_BACKWARD | EXEC_FLAG_MARK));
	child_desc = ExecGetResultType(outerPlanState(bs));
	bs->first_batch = intVal(list_nth(priv, BATCH_PRIV_FIRST_BATCH));
	bs->nchild = intVal(list_nth(priv, BATCH_PRIV_CHILD_COLS));
	bs->ncalls = intVal(list_nth(priv, BATCH_PRIV_NCALLS));
	bs->calls = palloc0(sizeof(BatchCall) * bs->ncalls);
	for (i = 0; i < bs->ncalls; i++)
	{
		BatchCall  *c = &bs->calls[i];
		TargetEntry *te = list_nth(cs->custom_scan_tlist, bs->nchild + i);
		int			a = 0;

		c->kind = (OnnxCallKind) intVal(list_nth(priv, BATCH_PRIV_CALLS + 2 * i));
		c->stage = intVal(list_nth(priv, BATCH_PRIV_CALLS + 2 * i + 1));
		c->col = bs->nchild + i;
		c->expr = (FuncExpr *) te->expr;
		c->nargs = Min(list_length(c->expr->args), BATCH_MAX_ARGS);
		foreach(lc, c->expr->args)
		{
			Node	   *arg = lfirst(lc);

			if (a >= BATCH_MAX_ARGS)
				break;
			get_typlenbyval(exprType(arg), &c->arglen[a], &c->argbyval[a]);
			if (is_invariant(arg))
				c->invstate[a] = ExecInitExpr((Expr *) arg, ps);
			else if (IsA(arg, Var) && ((Var *) arg)->varno == OUTER_VAR)
				c->argcol[a] = ((Var *) arg)->varattno;
			else
				c->argstate[a] = ExecInitExpr((Expr *) arg, ps);
			a++;
		}
		c->rowstate = ExecInitExpr((Expr *) c->expr, ps);
		c->batchable = true;
		c->max_rows = INT_MAX;
	}
	bs->nstages = list_length(cs->scan.plan.qual);
	bs->stage_qual = palloc0(sizeof(ExprState *) * (bs->nstages + 1));
	bs->stage_safe = palloc0(sizeof(bool) * (bs->nstages + 1));
	bs->spec_next = palloc0(sizeof(int) * (bs->nstages + 1));
	i = 0;
	foreach(lc, cs->scan.plan.qual)
	{
		bs->stage_qual[i] = ExecInitQual(list_make1(lfirst(lc)), ps);
		bs->stage_safe[i] = OnnxExprIsSpeculationSafe(lfirst(lc));
		i++;
	}
	bs->enabled = onnx_auto_batch;
	bs->cap = bs->enabled ? onnx_batch_size : 1;
	bs->next_batch = bs->first_batch > 0 ? Min(bs->first_batch, bs->cap) : bs->cap;
	bs->rowslot = ExecInitExtraTupleSlot(estate, child_desc, &TTSOpsVirtual);
	bs->mtslot = ExecInitExtraTupleSlot(estate, child_desc, &TTSOpsMinimalTuple);
	bs->inv_cxt = AllocSetContextCreate(estate->es_query_cxt, "onnx batch arguments",
										ALLOCSET_SMALL_SIZES);
	bs->batch_cxt = AllocSetContextCreate(estate->es_query_cxt, "onnx batch",
										  ALLOCSET_DEFAULT_SIZES);
	bs->run_cxt = AllocSetContextCreate(estate->es_query_cxt, "onnx batch run",
										ALLOCSET_DEFAULT_SIZES);
}

/* The buffer's arrays, for bs->cap rows (at the first batch). */
static void
allocate_buffer(BatchScanState *bs)
{
	MemoryContext old = MemoryContextSwitchTo(bs->css.ss.ps.state->es_query_cxt);
	Size		rows = bs->cap;

	bs->rowvals = palloc_extended(sizeof(Datum) * rows * Max(bs->nchild, 1), MCXT_ALLOC_HUGE);
	bs->rownulls = palloc_extended(sizeof(bool) * rows * Max(bs->nchild, 1), MCXT_ALLOC_HUGE);
	bs->passed = palloc_extended(sizeof(int) * rows, MCXT_ALLOC_HUGE);
	for (int i = 0; i < bs->ncalls; i++)
	{
		BatchCall  *c = &bs->calls[i];

		c->args = palloc_extended(sizeof(Datum) * rows * c->nargs, MCXT_ALLOC_HUGE);
		c->argnull = palloc_extended(sizeof(bool) * rows, MCXT_ALLOC_HUGE);
		c->state = palloc_extended(rows, MCXT_ALLOC_HUGE);
		c->value = palloc_extended(sizeof(Datum) * rows, MCXT_ALLOC_HUGE);
		c->isnull = palloc_extended(sizeof(bool) * rows, MCXT_ALLOC_HUGE);
	}
	MemoryContextSwitchTo(old);
}

/* Put buffered row k into the child-row slot. */
static TupleTableSlot *
load_row_slot(BatchScanState *bs, int k)
{
	TupleTableSlot *slot = bs->rowslot;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, &bs->rowvals[k * bs->nchild], sizeof(Datum) * bs->nchild);
	memcpy(slot->tts_isnull, &bs->rownulls[k * bs->nchild], sizeof(bool) * bs->nchild);
	return ExecStoreVirtualTuple(slot);
}

/* Put buffered row k and the results known for it into the scan slot. */
static TupleTableSlot *
load_scan_slot(BatchScanState *bs, int k)
{
	TupleTableSlot *slot = bs->css.ss.ss_ScanTupleSlot;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, &bs->rowvals[k * bs->nchild], sizeof(Datum) * bs->nchild);
	memcpy(slot->tts_isnull, &bs->rownulls[k * bs->nchild], sizeof(bool) * bs->nchild);
	for (int i = 0; i < bs->ncalls; i++)
	{
		BatchCall  *c = &bs->calls[i];

		slot->tts_values[c->col] = c->state[k] == ROW_DONE ? c->value[k] : (Datum) 0;
		slot->tts_isnull[c->col] = c->state[k] != ROW_DONE || c->isnull[k];
	}
	return ExecStoreVirtualTuple(slot);
}

/* The arguments that are the same for every row, evaluated once. */
static void
load_invariants(BatchScanState *bs, BatchCall *c)
{
	ExprContext *econtext = bs->css.ss.ps.ps_ExprContext;
	MemoryContext old = MemoryContextSwitchTo(bs->inv_cxt);

	for (int a = 0; a < c->nargs; a++)
	{
		bool		isnull;
		Datum		d;

		if (c->invstate[a] == NULL)
			continue;
		d = ExecEvalExpr(c->invstate[a], econtext, &isnull);
		if (isnull)
			c->invnull = true;
		else
			c->inv[a] = datumCopy(d, c->argbyval[a], c->arglen[a]);
	}
	c->inv_done = true;
	MemoryContextSwitchTo(old);
}

/* The arguments of buffered row k for call c. */
static void
load_args(BatchScanState *bs, BatchCall *c, int k)
{
	ExprContext *econtext = bs->css.ss.ps.ps_ExprContext;
	bool		anynull = c->invnull;

	for (int a = 0; a < c->nargs; a++)
	{
		Datum		d = (Datum) 0;
		bool		isnull = false;

		if (c->invstate[a])
			d = c->inv[a];
		else if (c->argcol[a] > 0)
		{
			d = bs->rowvals[k * bs->nchild + c->argcol[a] - 1];
			isnull = bs->rownulls[k * bs->nchild + c->argcol[a] - 1];
		}
		else
		{
			MemoryContext old;

			ResetExprContext(econtext);
			econtext->ecxt_outertuple = load_row_slot(bs, k);
			d = ExecEvalExpr(c->argstate[a], econtext, &isnull);
			old = MemoryContextSwitchTo(bs->batch_cxt);
			if (!isnull)
				d = datumCopy(d, c->argbyval[a], c->arglen[a]);
			MemoryContextSwitchTo(old);
		}
		c->args[k * c->nargs + a] = d;
		anynull |= isnull;
	}
	c->argnull[k] = anynull;
}

/* Read the next batch of child rows into the buffer; false if none. */
static bool
fill_batch(BatchScanState *bs)
{
	PlanState  *child = outerPlanState(bs);
	int			size;

	if (bs->rowvals == NULL)
		allocate_buffer(bs);
	MemoryContextReset(bs->batch_cxt);
	bs->nrows = 0;
	bs->pos = 0;
	size = Min(bs->next_batch, bs->cap);
	bs->next_batch = (int) Min((int64) bs->next_batch * 2, (int64) bs->cap);
	for (int s = 0; s <= bs->nstages; s++)
		bs->spec_next[s] = 0;
	while (bs->nrows < size)
	{
		TupleTableSlot *slot = ExecProcNode(child);
		int			k = bs->nrows;
		MemoryContext old;
		MinimalTuple mt;

		if (TupIsNull(slot))
		{
			bs->child_done = true;
			break;
		}
		old = MemoryContextSwitchTo(bs->batch_cxt);
		mt = ExecCopySlotMinimalTuple(slot);
		MemoryContextSwitchTo(old);
		ExecStoreMinimalTuple(mt, bs->mtslot, false);
		slot_getallattrs(bs->mtslot);
		memcpy(&bs->rowvals[k * bs->nchild], bs->mtslot->tts_values, sizeof(Datum) * bs->nchild);
		memcpy(&bs->rownulls[k * bs->nchild], bs->mtslot->tts_isnull, sizeof(bool) * bs->nchild);
		ExecClearTuple(bs->mtslot);
		bs->passed[k] = 0;
		for (int i = 0; i < bs->ncalls; i++)
		{
			BatchCall  *c = &bs->calls[i];

			if (!c->inv_done)
				load_invariants(bs, c);
			c->state[k] = ROW_UNKNOWN;
			load_args(bs, c, k);
		}
		bs->nrows++;
	}
	return bs->nrows > 0;
}

static void
set_result(BatchCall *c, int k, Datum value, bool isnull)
{
	c->state[k] = ROW_DONE;
	c->value[k] = value;
	c->isnull[k] = isnull;
}

static void
set_class(BatchCall *c, int k, BatchRowClass cls)
{
	if (cls == BATCH_ROW_NULL)
		set_result(c, k, (Datum) 0, true);
	else if (cls == BATCH_ROW_ONE_BY_ONE)
		c->state[k] = ROW_ONE_BY_ONE;
}

static void
build_step(BatchRun *run, int arg)
{
	OnnxBatchBuild(run);
}

/* Results of the run's rows from arg on (BatchRun.nrows counts them). */
typedef struct ConvertState
{
	BatchCall  *call;
	MemoryContext cxt;
	int			done;			/* rows converted */
} ConvertState;

static void
convert_step(BatchRun *run, int arg)
{
	ConvertState *cs = run->step_state;

	for (; cs->done < run->nrows; cs->done++)
	{
		MemoryContext old = MemoryContextSwitchTo(cs->cxt);
		Datum		d = OnnxBatchResult(run, cs->done);

		MemoryContextSwitchTo(old);
		set_result(cs->call, run->rows[cs->done], d, false);
	}
}

static void
release_outputs(BatchRun *run)
{
	if (!run->have_outs)
		return;
	for (int j = 0; j < run->n_out; j++)
		onnx_value_release(run->entry->alloc, &run->outs[j]);
	run->have_outs = false;
}

/*
 * Build, run and convert: the run's rows get their results, or are left
 * to be evaluated alone (or, after a memory error, to a smaller run).
 */
static void
execute_run(BatchScanState *bs, BatchCall *c, BatchRun *run)
{
	OnnxError	err;
	OnnxStatus	st;
	instr_time	start,
				elapsed;
	ConvertState conv;

	if (!OnnxBatchTryStep(run, build_step, 0))
	{
		for (int i = 0; i < run->nrows; i++)
			c->state[run->rows[i]] = ROW_ONE_BY_ONE;
		return;
	}
	CHECK_FOR_INTERRUPTS();
	INSTR_TIME_SET_CURRENT(start);
	st = OnnxSessionRun(run->entry, run->n_in, run->in_names, run->ins, run->n_out,
						run->out_names, run->outs, &err);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	c->stats.engine_ms += INSTR_TIME_GET_MILLISEC(elapsed);
	if (st != ONNX_OK)
	{
		if (err.status == ONNX_ERR_CANCELLED)
			OnnxReportEngineError(&err, run->model);
		if (run->nrows > 1 &&
			(err.status == ONNX_ERR_OUT_OF_MEMORY || err.status == ONNX_ERR_LIMIT))
			c->max_rows = Max(run->nrows / 2, 1);	/* the rows stay unknown */
		else
			for (int i = 0; i < run->nrows; i++)
				c->state[run->rows[i]] = ROW_ONE_BY_ONE;
		return;
	}
	run->have_outs = true;
	PG_TRY();
	{
		if (!OnnxBatchOutputsFit(run))
		{
			/* not one output row per input row: this model runs row by row */
			c->batchable = false;
			for (int i = 0; i < run->nrows; i++)
				c->state[run->rows[i]] = ROW_ONE_BY_ONE;
		}
		else
		{
			conv.call = c;
			conv.cxt = bs->batch_cxt;
			conv.done = 0;
			run->step_state = &conv;
			if (!OnnxBatchTryStep(run, convert_step, 0))
				for (int i = conv.done; i < run->nrows; i++)
					c->state[run->rows[i]] = ROW_ONE_BY_ONE;
			c->stats.batches++;
			c->stats.rows += conv.done;
		}
	}
	PG_FINALLY();
	{
		release_outputs(run);
	}
	PG_END_TRY();
}

/*
 * Compute call c for row r (its state unknown) and for the later rows of
 * the buffer that fit the same run; see the file header for the rules.
 */
static void
compute_batch(BatchScanState *bs, BatchCall *c, int r)
{
	BatchRun	run;
	BatchRowClass cls;
	MemoryContext old;

	if (c->argnull[r])
	{
		set_result(c, r, (Datum) 0, true);	/* the functions are strict */
		return;
	}
	if (!bs->enabled || !c->batchable)
	{
		c->state[r] = ROW_ONE_BY_ONE;
		return;
	}
	if (c->model == NULL)
	{
		/* the name the per-row call uses (a content hash may be refused) */
		old = MemoryContextSwitchTo(bs->inv_cxt);
		c->model = ONNX_CALL_IS_PINNED(c->kind) ? OnnxPinnedRef(DatumGetByteaPP(c->inv[0])) :
			TextDatumGetCString(c->inv[0]);
		MemoryContextSwitchTo(old);
	}
	old = MemoryContextSwitchTo(bs->run_cxt);
	memset(&run, 0, sizeof(run));
	run.kind = c->kind;
	run.model = c->model;
	run.nargs = c->nargs;
	run.args = c->args;
	run.buffer_rows = bs->nrows;
	run.rows = palloc(sizeof(int) * bs->nrows);
	/* the model this row needs: its errors are this row's */
	run.entry = OnnxCacheGet(c->model);
	cls = OnnxBatchBegin(&run, r);
	if (run.never)
		c->batchable = false;
	if (cls != BATCH_ROW_ADD)
		set_class(c, r, cls);
	else
	{
		run.rows[run.nrows++] = r;
		for (int k = r + 1; k < bs->nrows && run.nrows < c->max_rows; k++)
		{
			if (bs->passed[k] == ROW_FILTERED || c->state[k] != ROW_UNKNOWN)
				continue;
			if (c->argnull[k])
			{
				set_result(c, k, (Datum) 0, true);
				continue;
			}
			cls = OnnxBatchClassify(&run, k);
			if (cls == BATCH_ROW_ADD)
				run.rows[run.nrows++] = k;
			else
				set_class(c, k, cls);
		}
		execute_run(bs, c, &run);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(bs->run_cxt);
	if (c->stage < bs->nstages)
		bs->spec_next[c->stage] = Min(bs->spec_next[c->stage], r + 1);
}

/* Make sure call c has its result for row r, raising the row's error if any. */
static void
ensure_result(BatchScanState *bs, BatchCall *c, int r)
{
	while (c->state[r] == ROW_UNKNOWN)
		compute_batch(bs, c, r);
	if (c->state[r] == ROW_ONE_BY_ONE)
	{
		ExprContext *econtext = bs->css.ss.ps.ps_ExprContext;
		bool		isnull;
		Datum		d;

		econtext->ecxt_outertuple = load_row_slot(bs, r);
		d = ExecEvalExpr(c->rowstate, econtext, &isnull);
		set_result(c, r, d, isnull);
		c->stats.one_by_one++;
	}
}

/* Whether every call of stage s or before has a result for row k. */
static bool
stage_results_known(BatchScanState *bs, int s, int k)
{
	for (int i = 0; i < bs->ncalls; i++)
		if (bs->calls[i].stage <= s && bs->calls[i].state[k] != ROW_DONE)
			return false;
	return true;
}

/* Test filter s ahead for later rows whose results are known (it cannot fail). */
static void
test_ahead(BatchScanState *bs, int s, int from)
{
	ExprContext *econtext = bs->css.ss.ps.ps_ExprContext;

	for (int k = Max(from, bs->spec_next[s]); k < bs->nrows; k++)
	{
		if (bs->passed[k] != s || !stage_results_known(bs, s, k))
			continue;
		econtext->ecxt_scantuple = load_scan_slot(bs, k);
		bs->passed[k] = ExecQual(bs->stage_qual[s], econtext) ? s + 1 : ROW_FILTERED;
	}
	bs->spec_next[s] = bs->nrows;
}

/* Take row r through the filters; false if one removes it. */
static bool
process_row(BatchScanState *bs, int r)
{
	ExprContext *econtext = bs->css.ss.ps.ps_ExprContext;

	for (int s = 0; s < bs->nstages; s++)
	{
		if (bs->passed[r] == ROW_FILTERED)
			return false;
		if (bs->passed[r] > s)
			continue;
		for (int i = 0; i < bs->ncalls; i++)
			if (bs->calls[i].stage == s)
				ensure_result(bs, &bs->calls[i], r);
		econtext->ecxt_scantuple = load_scan_slot(bs, r);
		if (!ExecQual(bs->stage_qual[s], econtext))
		{
			bs->passed[r] = ROW_FILTERED;
			if (bs->stage_safe[s])
				test_ahead(bs, s, r + 1);
			return false;
		}
		bs->passed[r] = s + 1;
		if (bs->stage_safe[s])
			test_ahead(bs, s, r + 1);
	}
	if (bs->passed[r] == ROW_FILTERED)
		return false;
	for (int i = 0; i < bs->ncalls; i++)
		if (bs->calls[i].stage == bs->nstages)
			ensure_result(bs, &bs->calls[i], r);
	return true;
}

static TupleTableSlot *
batch_exec(CustomScanState *node)
{
	BatchScanState *bs = (BatchScanState *) node;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;

	for (;;)
	{
		int			r;

		CHECK_FOR_INTERRUPTS();
		if (bs->pos >= bs->nrows)
		{
			if (bs->child_done || !fill_batch(bs))
				return NULL;
		}
		r = bs->pos++;
		ResetExprContext(econtext);
		if (!process_row(bs, r))
		{
			InstrCountFiltered1(node, 1);
			continue;
		}
		econtext->ecxt_scantuple = load_scan_slot(bs, r);
		if (node->ss.ps.ps_ProjInfo)
			return ExecProject(node->ss.ps.ps_ProjInfo);
		return econtext->ecxt_scantuple;
	}
}

static void
batch_end(CustomScanState *node)
{
	BatchScanState *bs = (BatchScanState *) node;

	if (bs->shared && IsParallelWorker())
	{
		SpinLockAcquire(&bs->shared->mutex);
		for (int i = 0; i < bs->ncalls && i < bs->shared->ncalls; i++)
		{
			BatchStats *s = &bs->shared->stats[i];

			s->batches += bs->calls[i].stats.batches;
			s->rows += bs->calls[i].stats.rows;
			s->one_by_one += bs->calls[i].stats.one_by_one;
			s->engine_ms += bs->calls[i].stats.engine_ms;
		}
		SpinLockRelease(&bs->shared->mutex);
	}
	ExecEndNode(outerPlanState(node));
}

static void
batch_rescan(CustomScanState *node)
{
	BatchScanState *bs = (BatchScanState *) node;
	PlanState  *child = outerPlanState(node);

	bs->nrows = 0;
	bs->pos = 0;
	bs->child_done = false;
	bs->next_batch = bs->first_batch > 0 ? Min(bs->first_batch, bs->cap) : bs->cap;
	MemoryContextReset(bs->batch_cxt);
	MemoryContextReset(bs->inv_cxt);
	/* parameters may have changed: names are read again */
	for (int i = 0; i < bs->ncalls; i++)
	{
		bs->calls[i].inv_done = false;
		bs->calls[i].invnull = false;
		bs->calls[i].model = NULL;
	}
	if (child->chgParam == NULL)
		ExecReScan(child);
}

/* ---- parallel statistics ---- */

static Size
batch_estimate_dsm(CustomScanState *node, ParallelContext *pcxt)
{
	BatchScanState *bs = (BatchScanState *) node;

	return add_size(offsetof(BatchShared, stats), mul_size(sizeof(BatchStats), bs->ncalls));
}

/* The leader's copy of the workers' statistics, when the segment goes. */
static void
batch_dsm_detach(dsm_segment *seg, Datum arg)
{
	BatchMailbox *mb = (BatchMailbox *) DatumGetPointer(arg);

	for (int i = 0; i < mb->ncalls && i < mb->shared->ncalls; i++)
	{
		mb->stats[i].batches += mb->shared->stats[i].batches;
		mb->stats[i].rows += mb->shared->stats[i].rows;
		mb->stats[i].one_by_one += mb->shared->stats[i].one_by_one;
		mb->stats[i].engine_ms += mb->shared->stats[i].engine_ms;
	}
}

static void
batch_init_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate)
{
	BatchScanState *bs = (BatchScanState *) node;
	BatchShared *shared = coordinate;

	SpinLockInit(&shared->mutex);
	shared->ncalls = bs->ncalls;
	memset(shared->stats, 0, sizeof(BatchStats) * bs->ncalls);
	bs->shared = shared;
	if (pcxt->seg == NULL)
		return;					/* no segment: no workers either */
	if (bs->mailbox == NULL)
	{
		bs->mailbox = MemoryContextAllocZero(TopTransactionContext,
											 offsetof(BatchMailbox, stats) +
											 sizeof(BatchStats) * bs->ncalls);
		bs->mailbox->ncalls = bs->ncalls;
	}
	bs->mailbox->shared = shared;
	on_dsm_detach(pcxt->seg, batch_dsm_detach, PointerGetDatum(bs->mailbox));
}

static void
batch_reinit_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate)
{
	/* the workers of each launch keep adding to the same totals */
}

static void
batch_init_worker(CustomScanState *node, shm_toc *toc, void *coordinate)
{
	((BatchScanState *) node)->shared = coordinate;
}

/* ---- EXPLAIN ---- */

/* The model name of a call for display: the value, or the parameter. */
static char *
model_label(BatchCall *c)
{
	Node	   *arg = linitial(c->expr->args);

	if (c->model)
		return c->model;
	while (IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	if (IsA(arg, Const) && !((Const *) arg)->constisnull && ONNX_CALL_IS_PINNED(c->kind))
	{
		bytea	   *hash = DatumGetByteaPP(((Const *) arg)->constvalue);

		return VARSIZE_ANY_EXHDR(hash) == 32 ? OnnxPinnedRef(hash) : "?";
	}
	if (IsA(arg, Const) && !((Const *) arg)->constisnull)
		return TextDatumGetCString(((Const *) arg)->constvalue);
	if (IsA(arg, Param))
		return psprintf("$%d", ((Param *) arg)->paramid);
	return "?";
}

static void
batch_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	BatchScanState *bs = (BatchScanState *) node;
	StringInfoData models;
	char	  **labels = palloc0(sizeof(char *) * (bs->ncalls + 1));
	int			nlabels = 0;

	initStringInfo(&models);
	for (int i = 0; i < bs->ncalls; i++)
	{
		char	   *label = model_label(&bs->calls[i]);
		bool		seen = false;

		for (int j = 0; j < nlabels; j++)
			seen |= strcmp(labels[j], label) == 0;
		if (seen)
			continue;
		labels[nlabels++] = label;
		appendStringInfo(&models, "%s%s", models.len ? ", " : "", label);
	}
	ExplainPropertyText("Models", models.data, es);
	if (bs->enabled)
		ExplainPropertyInteger("Batch Size", NULL, bs->cap, es);
	else
		ExplainPropertyText("Batch Size", "1 (onnx.auto_batch is off)", es);
	if (bs->first_batch > 0 && bs->first_batch < bs->cap)
		ExplainPropertyInteger("First Batch", NULL, bs->first_batch, es);
	if (!es->analyze)
		return;
	if (es->format != EXPLAIN_FORMAT_TEXT)
		ExplainOpenGroup("Model Runs", "Model Runs", false, es);
	for (int j = 0; j < nlabels; j++)
	{
		BatchStats	t;

		memset(&t, 0, sizeof(t));
		for (int i = 0; i < bs->ncalls; i++)
		{
			const BatchStats *s = &bs->calls[i].stats;

			if (strcmp(model_label(&bs->calls[i]), labels[j]) != 0)
				continue;
			t.batches += s->batches;
			t.rows += s->rows;
			t.one_by_one += s->one_by_one;
			t.engine_ms += s->engine_ms;
			if (bs->mailbox)
			{
				s = &bs->mailbox->stats[i];
				t.batches += s->batches;
				t.rows += s->rows;
				t.one_by_one += s->one_by_one;
				t.engine_ms += s->engine_ms;
			}
		}
		if (es->format == EXPLAIN_FORMAT_TEXT)
		{
			StringInfoData line;

			initStringInfo(&line);
			appendStringInfo(&line, "batches=" INT64_FORMAT " rows=" INT64_FORMAT
							 " one-by-one=" INT64_FORMAT, t.batches, t.rows, t.one_by_one);
			if (es->timing)
				appendStringInfo(&line, " engine=%.3f ms", t.engine_ms);
			ExplainPropertyText(psprintf("Model %s", labels[j]), line.data, es);
		}
		else
		{
			ExplainOpenGroup("Model Run", NULL, true, es);
			ExplainPropertyText("Model", labels[j], es);
			ExplainPropertyInteger("Batches", NULL, t.batches, es);
			ExplainPropertyInteger("Rows", NULL, t.rows, es);
			ExplainPropertyInteger("Rows One By One", NULL, t.one_by_one, es);
			if (es->timing)
				ExplainPropertyFloat("Engine Time", "ms", t.engine_ms, 3, es);
			ExplainCloseGroup("Model Run", NULL, true, es);
		}
	}
	if (es->format != EXPLAIN_FORMAT_TEXT)
		ExplainCloseGroup("Model Runs", "Model Runs", false, es);
}
