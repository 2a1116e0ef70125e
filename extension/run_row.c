/*-------------------------------------------------------------------------
 *
 * run_row.c
 *	  onnx_run_row(model, row) -> jsonb: score a table row with a
 *	  multi-input tabular model (one input per column, as skl2onnx makes
 *	  for a ColumnTransformer pipeline) without writing JSON by hand.
 *
 *	  SELECT id, onnx_run_row('pipeline', c) FROM customers c;
 *	  SELECT onnx_run_row('pipeline', c) ->> 'output_label' FROM customers c;
 *
 * Each model input is bound to the field of the row with its name (a
 * single-input model takes the row's first array field when no name
 * matches); the row is a batch of one.  The result holds every output in
 * the row form (see OnnxValueToRowJson): a label is a JSON scalar, a
 * probability vector an array, ZipMap's map a JSON object of label to
 * probability.  A NULL in a bound field gives NULL.
 *
 * onnx_score_row(model, row, field_names) is the same run with the row's
 * fields named by field_names, its outputs as bytes (row_outputs_bytes.c):
 * what onnx_score asks the Citus workers for (score_pushdown.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "input_binding.h"
#include "json_tensor.h"
#include "onnx_ext.h"
#include "row_outputs_bytes.h"

PG_FUNCTION_INFO_V1(onnx_run_row);
PG_FUNCTION_INFO_V1(onnx_score_row);

/*
 * The outputs of a one-row run of the row in argument 1 (fields named by
 * field_names when not NULL), in the row form of onnx_run_row (as_bytes
 * false) or as the bytes of onnx_score_row; NULL when a bound field is NULL.
 */
static Datum
run_one_row(FunctionCallInfo fcinfo, ArrayType *field_names, bool as_bytes)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	HeapTupleHeader th;
	HeapTupleData tuple;
	TupleDesc	desc;
	OnnxCacheEntry *entry;
	const OnnxModel *model;
	int			n_in,
				n_out;
	InputBinding *b;
	OnnxValue  *ins;
	OnnxValue  *outs;
	const char **in_names;
	const char **out_names;
	bool		valid = true;
	RowSet		rows;
	OnnxError	err;
	Datum		result;

	if (!OidIsValid(argtype) || !type_is_rowtype(argtype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s takes a row, not %s", as_bytes ? "onnx_score_row" : "onnx_run_row",
						format_type_be(argtype)),
				 errhint("Pass a table alias: SELECT %s('model', t%s) FROM t.",
						 as_bytes ? "onnx_score_row" : "onnx_run_row",
						 as_bytes ? ", ARRAY[...]" : "")));
	th = PG_GETARG_HEAPTUPLEHEADER(1);
	desc = lookup_rowtype_tupdesc_copy(HeapTupleHeaderGetTypeId(th), HeapTupleHeaderGetTypMod(th));
	if (field_names != NULL)
		OnnxNameRowFields(desc, field_names);
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;

	entry = OnnxCacheGet(name);
	model = entry->model;
	n_in = onnx_model_input_count(model);
	n_out = onnx_model_output_count(model);
	b = palloc0(sizeof(InputBinding) * (n_in + 1));
	ins = palloc0(sizeof(OnnxValue) * (n_in + 1));
	outs = palloc0(sizeof(OnnxValue) * (n_out + 1));
	in_names = palloc0(sizeof(char *) * (n_in + 1));
	out_names = palloc0(sizeof(char *) * (n_out + 1));
	OnnxBindInputs(model, desc, b, name, true);
	valid = OnnxRowIsScorable(b, n_in, &tuple, desc);
	if (!valid)
		PG_RETURN_NULL();
	rows.tupdesc = desc;
	rows.vals = palloc(sizeof(HeapTuple));
	rows.vals[0] = &tuple;
	rows.numvals = 1;
	for (int i = 0; i < n_in; i++)
	{
		ins[i].kind = ONNX_VALUE_TENSOR;
		OnnxBuildInput(&b[i], &rows, &valid, 1, &ins[i].tensor, name);
		in_names[i] = b[i].vi->name;
	}
	for (int k = 0; k < n_out; k++)
		out_names[k] = onnx_model_output(model, k)->name;
	if (OnnxSessionRun(entry, n_in, in_names, ins, n_out, out_names, outs, &err) != ONNX_OK)
		OnnxReportEngineError(&err, name);
	if (!as_bytes)
		return OnnxOutputsToJsonb(n_out, out_names, outs, entry->alloc, true, name);
	PG_TRY();
	{
		result = PointerGetDatum(OnnxRowOutputsToBytes(n_out, out_names, outs, name));
	}
	PG_FINALLY();
	{
		for (int k = 0; k < n_out; k++)
			onnx_value_release(entry->alloc, &outs[k]);
	}
	PG_END_TRY();
	return result;
}

/* onnx_run_row(model, row): every output of a one-row run as jsonb. */
Datum
onnx_run_row(PG_FUNCTION_ARGS)
{
	return run_one_row(fcinfo, NULL, false);
}

/*
 * onnx_score_row(model, row, field_names): every output of a one-row run,
 * the row's fields named by field_names (Citus sends a subquery's row as
 * an anonymous ROW(...)), as the bytes onnx_score reads back when it
 * scores on the Citus workers (score_pushdown.c, row_outputs_bytes.c).
 */
Datum
onnx_score_row(PG_FUNCTION_ARGS)
{
	return run_one_row(fcinfo, PG_GETARG_ARRAYTYPE_P(2), true);
}
