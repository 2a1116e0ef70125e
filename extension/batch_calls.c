/*-------------------------------------------------------------------------
 *
 * batch_calls.c
 *	  One engine run over several rows of one call, for each function the
 *	  OnnxBatch node batches (batch_scan.c): which rows fit the run, the
 *	  batch tensors, and each row's result, which is what the function
 *	  returns for that row alone, made by the function's own code:
 *	  - onnx_predict: rows holding exactly one sample (a 1-D array of the
 *		input's values without the batch dimension, no NULL element),
 *		stacked along the input's dynamic first dimension; a row's result
 *		is its slice of the output through OnnxPredictResultArray;
 *	  - onnx_run: rows whose JSON gives the same inputs with the same
 *		dtypes and shapes, each with a first dimension of 1, concatenated
 *		(OnnxRunInputs parses them); a row's result is its slices of the
 *		outputs in the object form, first dimension 1;
 *	  - onnx_run_row: rows of one row type whose bound fields hold as many
 *		values as the first row's, built by OnnxBuildInput as onnx_score
 *		builds them; the slices in the row form;
 *	  - onnx_score_row: the same, the fields named by its (row-invariant)
 *		third argument; the slices as bytes (row_outputs_bytes.c).
 *	  A run needs model inputs and outputs whose first dimension is
 *	  dynamic (or ZipMap's sequence of one map per row), and outputs with
 *	  one entry per row (OnnxBatchOutputsFit); the model is taken to score
 *	  the rows along that dimension independently, as onnx_score and
 *	  onnx_predict_batch take it.
 *
 *	  Which row is checked where: OnnxBatchBegin is called for the row
 *	  that needs the result now, so it may raise the model-level errors the
 *	  per-row call raises first (an input count, a binding); OnnxBatchClassify
 *	  looks at later rows and never raises for them: a row that does not
 *	  fit is evaluated alone in its turn, which raises its own error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "auto_batch.h"
#include "input_binding.h"
#include "json_tensor.h"
#include "row_outputs_bytes.h"

/* Bytes of input one run may stack (more rows wait for the next run). */
#define BATCH_RUN_MAX_BYTES ((int64) 64 * 1024 * 1024)

typedef struct PredictRun
{
	const OnnxValueInfo *vi;
	int64		per;			/* values per row */
	ArrayType **arrays;			/* per buffered row, detoasted */
} PredictRun;

typedef struct JsonRun
{
	OnnxValue **vals;			/* per buffered row: its inputs */
	const char ***names;		/* and their names */
	int		   *counts;			/* how many inputs it gives */
	int			first;			/* buffered row whose shapes the run takes */
} JsonRun;

typedef struct RowRun
{
	Oid			typid;
	int32		typmod;
	TupleDesc	desc;
	InputBinding *b;
	int64	   *counts;			/* values per input of the run's rows */
	HeapTuple  *tuples;			/* per buffered row */
} RowRun;

/* Whether a model input or output has a batch as its first dimension. */
static bool
has_batch_dim(const OnnxValueInfo *vi)
{
	if (vi->kind == ONNX_VALUE_SEQUENCE)
		return vi->type_text != NULL && strncmp(vi->type_text, "seq(map(", 8) == 0;
	return vi->kind == ONNX_VALUE_TENSOR && vi->rank >= 1 && vi->dims[0] < 0;
}

/* Whether every output the run asks for has a batch dimension. */
static bool
outputs_have_batch_dim(const BatchRun *run)
{
	const OnnxModel *model = run->entry->model;

	for (int j = 0; j < run->n_out; j++)
	{
		bool		found = false;

		for (int i = 0; i < onnx_model_output_count(model) && !found; i++)
			if (strcmp(onnx_model_output(model, i)->name, run->out_names[j]) == 0)
			{
				if (!has_batch_dim(onnx_model_output(model, i)))
					return false;
				found = true;
			}
		if (!found)
			return false;		/* the engine's error, row by row */
	}
	return true;
}

static Datum
row_arg(const BatchRun *run, int row, int a)
{
	return run->args[row * run->nargs + a];
}

/* Add bytes to the run's input; false when the run is full. */
static bool
run_has_room(BatchRun *run, int64 bytes)
{
	if (run->nrows > 0 && run->bytes + bytes > BATCH_RUN_MAX_BYTES)
		return false;
	run->bytes += bytes;
	return true;
}

/*
 * Row i of the run's output v: the same value with a first dimension of 1
 * (a tensor), or the row's item (a sequence); data shared with v.
 */
static void
output_row(const OnnxValue *v, int64 i, int64 nrows, OnnxValue *row)
{
	*row = *v;
	if (v->kind == ONNX_VALUE_SEQUENCE)
	{
		row->n_items = 1;
		row->items = &v->items[i];
	}
	else
	{
		int64		per = v->tensor.count / nrows;
		size_t		esize = onnx_dtype_size(v->tensor.dtype);

		row->tensor.dims[0] = 1;
		row->tensor.count = per;
		row->tensor.nbytes = (size_t) per * esize;
		row->tensor.data = (char *) v->tensor.data + (size_t) (i * per) * esize;
	}
}

/* ---- onnx_predict ---- */

static BatchRowClass
predict_classify(BatchRun *run, int row)
{
	PredictRun *p = run->kind_state;
	ArrayType  *a = DatumGetArrayTypeP(row_arg(run, row, 1));

	p->arrays[row] = a;
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != p->per || array_contains_nulls(a))
		return BATCH_ROW_ONE_BY_ONE;
	if (!run_has_room(run, p->per * (int64) sizeof(double)))
		return BATCH_ROW_LATER;
	return BATCH_ROW_ADD;
}

static BatchRowClass
predict_begin(BatchRun *run, int row)
{
	const OnnxModel *model = run->entry->model;
	PredictRun *p = palloc0(sizeof(PredictRun));
	const OnnxValueInfo *vi = OnnxPredictInput(model, run->model);

	run->kind_state = p;
	p->vi = vi;
	p->arrays = palloc0(sizeof(ArrayType *) * run->buffer_rows);
	run->n_in = 1;
	run->in_names = palloc(sizeof(char *));
	run->in_names[0] = vi->name;
	run->ins = palloc0(sizeof(OnnxValue));
	run->n_out = 1;
	run->out_names = palloc(sizeof(char *));
	run->out_names[0] = run->kind == ONNX_CALL_PREDICT_OUTPUT ?
		TextDatumGetCString(row_arg(run, row, 2)) : onnx_model_output(model, 0)->name;
	run->outs = palloc0(sizeof(OnnxValue));

	/* one sample per row: a dynamic first dimension, the others static */
	p->per = 1;
	if (!has_batch_dim(vi) || !outputs_have_batch_dim(run))
		run->never = true;
	for (int d = 1; d < vi->rank && !run->never; d++)
	{
		if (vi->dims[d] <= 0 || p->per > INT_MAX / vi->dims[d])
			run->never = true;
		else
			p->per *= vi->dims[d];
	}
	if (run->never)
		return BATCH_ROW_ONE_BY_ONE;
	return predict_classify(run, row);
}

/* [rows, static dims] from the rows' arrays, as BindFloatInput fills one. */
static void
predict_build(BatchRun *run)
{
	PredictRun *p = run->kind_state;
	OnnxTensor *t = &run->ins[0].tensor;
	bool		dbl = p->vi->dtype == ONNX_DTYPE_DOUBLE;

	run->ins[0].kind = ONNX_VALUE_TENSOR;
	t->dtype = dbl ? ONNX_DTYPE_DOUBLE : ONNX_DTYPE_FLOAT;
	t->rank = p->vi->rank;
	t->dims[0] = run->nrows;
	for (int d = 1; d < t->rank; d++)
		t->dims[d] = p->vi->dims[d];
	t->count = run->nrows * p->per;
	t->nbytes = (size_t) t->count * (dbl ? sizeof(double) : sizeof(float));
	t->data = palloc_extended(Max(t->nbytes, 1), MCXT_ALLOC_HUGE);
	for (int i = 0; i < run->nrows; i++)
	{
		const float4 *src = (const float4 *) ARR_DATA_PTR(p->arrays[run->rows[i]]);

		if (dbl)
		{
			double	   *dst = (double *) t->data + i * p->per;

			for (int64 k = 0; k < p->per; k++)
				dst[k] = src[k];
		}
		else
			memcpy((float *) t->data + i * p->per, src, sizeof(float) * p->per);
	}
}

/* ---- onnx_run ---- */

/* Parse the row's inputs with onnx_run's own code (OnnxBatchTryStep). */
static void
json_parse_row(BatchRun *run, int row)
{
	JsonRun    *j = run->kind_state;

	j->counts[row] = OnnxRunInputs(run->entry->model, DatumGetJsonbP(row_arg(run, row, 1)),
								   run->model, j->vals[row], j->names[row]);
}

/* The row's inputs; false if they do not parse (the row raises it alone). */
static bool
json_parse(BatchRun *run, int row)
{
	JsonRun    *j = run->kind_state;
	int			max_in = onnx_model_input_count(run->entry->model);

	j->vals[row] = palloc0(sizeof(OnnxValue) * (max_in + 1));
	j->names[row] = palloc0(sizeof(char *) * (max_in + 1));
	return OnnxBatchTryStep(run, json_parse_row, row);
}

/* Whether the row's inputs can be stacked: tensors of first dimension 1. */
static bool
json_stackable(BatchRun *run, int row)
{
	JsonRun    *j = run->kind_state;
	const OnnxModel *model = run->entry->model;

	for (int i = 0; i < j->counts[row]; i++)
	{
		const OnnxValue *v = &j->vals[row][i];
		const OnnxValueInfo *vi = NULL;

		for (int m = 0; m < onnx_model_input_count(model); m++)
			if (strcmp(onnx_model_input(model, m)->name, j->names[row][i]) == 0)
				vi = onnx_model_input(model, m);
		if (vi == NULL || !has_batch_dim(vi) || vi->kind != ONNX_VALUE_TENSOR ||
			v->kind != ONNX_VALUE_TENSOR || v->tensor.rank != vi->rank ||
			v->tensor.dims[0] != 1 || onnx_dtype_size(v->tensor.dtype) == 0)
			return false;
	}
	return true;
}

/* Whether two rows give the same inputs with the same dtypes and shapes. */
static bool
json_same_shapes(JsonRun *j, int a, int b)
{
	if (j->counts[a] != j->counts[b])
		return false;
	for (int i = 0; i < j->counts[a]; i++)
	{
		const OnnxTensor *x = &j->vals[a][i].tensor;
		const OnnxTensor *y = &j->vals[b][i].tensor;

		if (strcmp(j->names[a][i], j->names[b][i]) != 0 || x->dtype != y->dtype ||
			x->rank != y->rank || memcmp(x->dims, y->dims, sizeof(int64) * x->rank) != 0)
			return false;
	}
	return true;
}

static BatchRowClass
json_classify(BatchRun *run, int row)
{
	JsonRun    *j = run->kind_state;
	int64		bytes = 0;

	if (!json_parse(run, row) || !json_stackable(run, row))
		return BATCH_ROW_ONE_BY_ONE;
	if (j->first < 0)
		j->first = row;
	else if (!json_same_shapes(j, j->first, row))
		return BATCH_ROW_LATER;
	for (int i = 0; i < j->counts[row]; i++)
		bytes += j->vals[row][i].tensor.nbytes;
	if (!run_has_room(run, bytes))
		return BATCH_ROW_LATER;
	return BATCH_ROW_ADD;
}

static BatchRowClass
json_begin(BatchRun *run, int row)
{
	JsonRun    *j = palloc0(sizeof(JsonRun));

	run->kind_state = j;
	j->vals = palloc0(sizeof(OnnxValue *) * run->buffer_rows);
	j->names = palloc0(sizeof(char **) * run->buffer_rows);
	j->counts = palloc0(sizeof(int) * run->buffer_rows);
	j->first = -1;
	/* onnx_run parses the inputs before it looks at the outputs */
	if (!json_parse(run, row) || !json_stackable(run, row))
		return BATCH_ROW_ONE_BY_ONE;
	run->out_names = OnnxRunOutputNames(run->entry->model,
										run->kind == ONNX_CALL_RUN_OUTPUTS ?
										DatumGetArrayTypeP(row_arg(run, row, 2)) : NULL,
										&run->n_out);
	run->outs = palloc0(sizeof(OnnxValue) * (run->n_out + 1));
	run->n_in = j->counts[row];
	run->in_names = j->names[row];
	run->ins = palloc0(sizeof(OnnxValue) * (run->n_in + 1));
	if (!outputs_have_batch_dim(run))
	{
		run->never = true;
		return BATCH_ROW_ONE_BY_ONE;
	}
	return json_classify(run, row);
}

/* Each input: the rows' tensors concatenated along the first dimension. */
static void
json_build(BatchRun *run)
{
	JsonRun    *j = run->kind_state;

	for (int i = 0; i < run->n_in; i++)
	{
		const OnnxTensor *first = &j->vals[run->rows[0]][i].tensor;
		OnnxTensor *t = &run->ins[i].tensor;
		char	   *dst;

		run->ins[i].kind = ONNX_VALUE_TENSOR;
		*t = *first;
		t->dims[0] = run->nrows;
		t->count = first->count * run->nrows;
		t->nbytes = first->nbytes * run->nrows;
		t->data = palloc_extended(Max(t->nbytes, 1), MCXT_ALLOC_HUGE);
		dst = t->data;
		for (int r = 0; r < run->nrows; r++)
		{
			memcpy(dst, j->vals[run->rows[r]][i].tensor.data, first->nbytes);
			dst += first->nbytes;
		}
	}
}

/* ---- onnx_run_row ---- */

static BatchRowClass
row_classify(BatchRun *run, int row)
{
	RowRun	   *rr = run->kind_state;
	HeapTupleHeader th = DatumGetHeapTupleHeader(row_arg(run, row, 1));
	HeapTuple	tuple;
	int64		bytes = 0;
	bool		first = run->nrows == 0 && rr->counts[0] < 0;

	if (HeapTupleHeaderGetTypeId(th) != rr->typid || HeapTupleHeaderGetTypMod(th) != rr->typmod)
		return BATCH_ROW_LATER;
	tuple = palloc0(sizeof(HeapTupleData));
	tuple->t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = InvalidOid;
	tuple->t_data = th;
	rr->tuples[row] = tuple;
	if (!OnnxRowIsScorable(rr->b, run->n_in, tuple, rr->desc))
		return BATCH_ROW_NULL;
	for (int i = 0; i < run->n_in; i++)
	{
		int64		n = OnnxRowValueCount(&rr->b[i], tuple, rr->desc);

		if (first)
			rr->counts[i] = n;
		else if (n != rr->counts[i])
			return BATCH_ROW_LATER;
		bytes += n * (int64) Max(onnx_dtype_size(rr->b[i].dtype), 1);
	}
	if (!run_has_room(run, bytes))
		return BATCH_ROW_LATER;
	return BATCH_ROW_ADD;
}

static BatchRowClass
row_begin(BatchRun *run, int row)
{
	const OnnxModel *model = run->entry->model;
	RowRun	   *rr = palloc0(sizeof(RowRun));
	HeapTupleHeader th = DatumGetHeapTupleHeader(row_arg(run, row, 1));

	run->kind_state = rr;
	rr->typid = HeapTupleHeaderGetTypeId(th);
	rr->typmod = HeapTupleHeaderGetTypMod(th);
	rr->desc = lookup_rowtype_tupdesc_copy(rr->typid, rr->typmod);
	if (run->kind == ONNX_CALL_SCORE_ROW)	/* the same names in every row */
		OnnxNameRowFields(rr->desc, DatumGetArrayTypeP(row_arg(run, row, 2)));
	run->n_in = onnx_model_input_count(model);
	rr->b = palloc0(sizeof(InputBinding) * (run->n_in + 1));
	rr->counts = palloc(sizeof(int64) * (run->n_in + 1));
	rr->counts[0] = -1;
	rr->tuples = palloc0(sizeof(HeapTuple) * run->buffer_rows);
	OnnxBindInputs(model, rr->desc, rr->b, run->model, true);
	run->in_names = palloc0(sizeof(char *) * (run->n_in + 1));
	run->ins = palloc0(sizeof(OnnxValue) * (run->n_in + 1));
	for (int i = 0; i < run->n_in; i++)
	{
		run->in_names[i] = rr->b[i].vi->name;
		if (!has_batch_dim(rr->b[i].vi))
			run->never = true;
	}
	run->n_out = onnx_model_output_count(model);
	run->out_names = palloc0(sizeof(char *) * (run->n_out + 1));
	run->outs = palloc0(sizeof(OnnxValue) * (run->n_out + 1));
	for (int k = 0; k < run->n_out; k++)
		run->out_names[k] = onnx_model_output(model, k)->name;
	if (run->never || !outputs_have_batch_dim(run))
	{
		run->never = true;
		/* onnx_run_row answers NULL before it runs the model */
		return row_classify(run, row) == BATCH_ROW_NULL ? BATCH_ROW_NULL : BATCH_ROW_ONE_BY_ONE;
	}
	return row_classify(run, row);
}

/* Each input built from the rows as onnx_score builds it. */
static void
row_build(BatchRun *run)
{
	RowRun	   *rr = run->kind_state;
	RowSet		rows;
	bool	   *valid = palloc(sizeof(bool) * run->nrows);

	rows.tupdesc = rr->desc;
	rows.vals = palloc(sizeof(HeapTuple) * run->nrows);
	rows.numvals = run->nrows;
	for (int i = 0; i < run->nrows; i++)
	{
		rows.vals[i] = rr->tuples[run->rows[i]];
		valid[i] = true;
	}
	for (int i = 0; i < run->n_in; i++)
	{
		run->ins[i].kind = ONNX_VALUE_TENSOR;
		OnnxBuildInput(&rr->b[i], &rows, valid, run->nrows, &run->ins[i].tensor, run->model);
	}
}

/* ---- the interface ---- */

typedef struct BatchKindOps
{
	BatchRowClass (*begin) (BatchRun *run, int row);
	BatchRowClass (*classify) (BatchRun *run, int row);
	void		(*build) (BatchRun *run);
} BatchKindOps;

static const BatchKindOps kind_ops[] = {
	[ONNX_CALL_PREDICT] = {predict_begin, predict_classify, predict_build},
	[ONNX_CALL_PREDICT_OUTPUT] = {predict_begin, predict_classify, predict_build},
	[ONNX_CALL_RUN] = {json_begin, json_classify, json_build},
	[ONNX_CALL_RUN_OUTPUTS] = {json_begin, json_classify, json_build},
	[ONNX_CALL_RUN_ROW] = {row_begin, row_classify, row_build},
	[ONNX_CALL_PREDICT_PINNED] = {predict_begin, predict_classify, predict_build},
	[ONNX_CALL_RUN_PINNED] = {json_begin, json_classify, json_build},
	[ONNX_CALL_SCORE_ROW] = {row_begin, row_classify, row_build},
};

/*
 * Start a run at row (its arguments are not NULL) after run->entry was
 * looked up: model-level checks raise the errors the per-row call would
 * raise for this row; then the row's class.  run->never is set when no
 * row can be batched with this model.
 */
BatchRowClass
OnnxBatchBegin(BatchRun *run, int row)
{
	return kind_ops[run->kind].begin(run, row);
}

/* The class of a later row (arguments not NULL) for this run; never raises for it. */
BatchRowClass
OnnxBatchClassify(BatchRun *run, int row)
{
	return kind_ops[run->kind].classify(run, row);
}

/* The batch tensors of the run's rows (run->ins). */
void
OnnxBatchBuild(BatchRun *run)
{
	kind_ops[run->kind].build(run);
}

/* Whether every output has one entry per row of the run. */
bool
OnnxBatchOutputsFit(BatchRun *run)
{
	for (int j = 0; j < run->n_out; j++)
	{
		const OnnxValue *v = &run->outs[j];

		if (v->kind == ONNX_VALUE_SEQUENCE ? v->n_items != run->nrows :
			v->kind != ONNX_VALUE_TENSOR || v->tensor.rank < 1 ||
			v->tensor.dims[0] != run->nrows)
			return false;
	}
	return true;
}

/* The result of the run's i-th row, as the per-row function makes it. */
Datum
OnnxBatchResult(BatchRun *run, int i)
{
	OnnxValue  *rows = palloc(sizeof(OnnxValue) * (run->n_out + 1));

	for (int j = 0; j < run->n_out; j++)
		output_row(&run->outs[j], i, run->nrows, &rows[j]);
	switch (run->kind)
	{
		case ONNX_CALL_PREDICT:
		case ONNX_CALL_PREDICT_OUTPUT:
		case ONNX_CALL_PREDICT_PINNED:
			return PointerGetDatum(OnnxPredictResultArray(&rows[0], run->out_names[0], run->model));
		case ONNX_CALL_RUN:
		case ONNX_CALL_RUN_OUTPUTS:
		case ONNX_CALL_RUN_PINNED:
			return OnnxOutputsJsonb(run->n_out, run->out_names, rows, false, run->model);
		case ONNX_CALL_RUN_ROW:
			return OnnxOutputsJsonb(run->n_out, run->out_names, rows, true, run->model);
		case ONNX_CALL_SCORE_ROW:
			return PointerGetDatum(OnnxRowOutputsToBytes(run->n_out, run->out_names, rows,
														 run->model));
		default:
			elog(ERROR, "unexpected onnx call kind %d", (int) run->kind);
	}
	pg_unreachable();
}

/*
 * Errors of the data of one row, which the row raises again when it is
 * evaluated alone; anything else (cancel, out of memory, internal) is
 * raised at once.
 */
static bool
is_row_data_error(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
		case ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION:
		case ERRCODE_FEATURE_NOT_SUPPORTED:
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
			return true;
		default:
			return false;
	}
}

/*
 * Run step for the run (OnnxBatchStep), catching an error of the rows'
 * data: false if one was caught.  Only the extension's own conversion code
 * runs inside (array and JSON reading, tensor building, output
 * conversion), which takes no lock, pin or other resource, so that the
 * error can be dismissed without a subtransaction.
 */
bool
OnnxBatchTryStep(BatchRun *run, OnnxBatchStep step, int arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		step(run, arg);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (!is_row_data_error(edata->sqlerrcode))
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}
