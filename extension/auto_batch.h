/*-------------------------------------------------------------------------
 *
 * auto_batch.h
 *	  Transparent batching of per-row scoring calls: what the planner hook
 *	  (auto_batch.c), the executor node (batch_scan.c) and the per-function
 *	  batch evaluation (batch_calls.c) share.
 *
 * The node's plan (a CustomScan named "OnnxBatch", scanrelid 0):
 *	- lefttree: the child whose rows are scored;
 *	- custom_scan_tlist: the scan tuple, the child's columns (OUTER_VAR
 *	  Vars) followed by one column per batched call, whose expression is
 *	  the call itself with arguments over the child's output;
 *	- targetlist, qual: the expressions of the node the calls came from,
 *	  over the scan tuple (INDEX_VAR);
 *	- custom_private: Integers [first batch, child columns, calls, then
 *	  kind and stage of each call].  Stage i < list_length(qual) is the
 *	  i-th qual (its calls are needed to test it); the last stage is the
 *	  target list.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUTO_BATCH_H
#define AUTO_BATCH_H

#include "postgres.h"

#include "nodes/execnodes.h"
#include "nodes/extensible.h"
#include "nodes/primnodes.h"

#include "onnx_ext.h"

#define ONNX_BATCH_SCAN_NAME "OnnxBatch"

/* The SQL functions the node batches, told apart by their C symbol. */
typedef enum OnnxCallKind
{
	ONNX_CALL_NONE = 0,
	ONNX_CALL_PREDICT,			/* onnx_predict(model, float4[]) */
	ONNX_CALL_PREDICT_OUTPUT,	/* onnx_predict(model, float4[], output) */
	ONNX_CALL_RUN,				/* onnx_run(model, jsonb) */
	ONNX_CALL_RUN_OUTPUTS,		/* onnx_run(model, jsonb, text[]) */
	ONNX_CALL_RUN_ROW,			/* onnx_run_row(model, row) */
	ONNX_CALL_PREDICT_PINNED,	/* onnx_predict(model_sha256 bytea, float4[]) */
	ONNX_CALL_RUN_PINNED,		/* onnx_run(model_sha256 bytea, jsonb) */
	ONNX_CALL_SCORE_ROW			/* onnx_score_row(model, row, field_names) */
} OnnxCallKind;

/* Whether the model argument is a content hash (bytea), not a name. */
#define ONNX_CALL_IS_PINNED(k) ((k) == ONNX_CALL_PREDICT_PINNED || (k) == ONNX_CALL_RUN_PINNED)

/* custom_private positions */
#define BATCH_PRIV_FIRST_BATCH 0
#define BATCH_PRIV_CHILD_COLS 1
#define BATCH_PRIV_NCALLS 2
#define BATCH_PRIV_CALLS 3		/* kind, stage of call 0, then call 1, ... */

/* auto_batch.c */
extern OnnxCallKind OnnxCallKindOf(Oid funcid);
extern bool OnnxExprIsSpeculationSafe(Node *expr);
extern void OnnxAutoBatchInit(void);

/* batch_scan.c */
extern const CustomScanMethods OnnxBatchScanMethods;
extern void OnnxBatchScanInit(void);

/* batch_calls.c: one engine run over several rows of one call */
typedef enum BatchRowClass
{
	BATCH_ROW_ADD,				/* scored by this run */
	BATCH_ROW_NULL,				/* the call returns NULL for the row */
	BATCH_ROW_ONE_BY_ONE,		/* evaluate the call for this row alone */
	BATCH_ROW_LATER				/* fits another run (other shapes) */
} BatchRowClass;

#define BATCH_MAX_ARGS 3

typedef struct BatchRun
{
	OnnxCallKind kind;
	const char *model;			/* model name */
	OnnxCacheEntry *entry;		/* its session (OnnxCacheGet) */
	const Datum *invariant;		/* arguments that are the same for every row */
	int			nargs;
	/* arguments of buffered row k: args[k * nargs + a] (NULL-free) */
	const Datum *args;

	int			buffer_rows;	/* rows in the buffer (0 .. buffer_rows-1) */

	/* rows of this run, in order, and the bytes of input they hold */
	int			nrows;
	int		   *rows;
	int64		bytes;
	bool		never;			/* no row can be batched with this model */

	/* engine inputs and outputs */
	int			n_in;
	const char **in_names;
	OnnxValue  *ins;
	int			n_out;
	const char **out_names;
	OnnxValue  *outs;
	bool		have_outs;		/* outs hold a run's results (release them) */

	void	   *kind_state;		/* of the call's kind (batch_calls.c) */
	void	   *step_state;		/* of the caller's OnnxBatchStep */
} BatchRun;

typedef void (*OnnxBatchStep) (BatchRun *run, int arg);

extern BatchRowClass OnnxBatchBegin(BatchRun *run, int row);
extern BatchRowClass OnnxBatchClassify(BatchRun *run, int row);
extern void OnnxBatchBuild(BatchRun *run);
extern bool OnnxBatchOutputsFit(BatchRun *run);
extern Datum OnnxBatchResult(BatchRun *run, int i);
extern bool OnnxBatchTryStep(BatchRun *run, OnnxBatchStep step, int arg);

#endif							/* AUTO_BATCH_H */
