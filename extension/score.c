/*-------------------------------------------------------------------------
 *
 * score.c
 *	  onnx_score(model, query) -> setof record: score a whole query in
 *	  batches.
 *
 *	  SELECT * FROM onnx_score('churn', 'SELECT id, features FROM customers')
 *	           AS s(id int, features float4[], probabilities float4[]);
 *
 * The query runs through a cursor, onnx.batch_size rows at a time, so any
 * table size is scored in bounded memory (the result goes to a tuplestore,
 * which spills to disk past work_mem).  Each model input is bound to the
 * query column of the same name; a model with one input whose name
 * matches no column takes the query's first array column (or its only
 * column).  A row has the input's shape without the batch dimension:
 * an array column gives that many values per row, a scalar column one.
 * Rows with a NULL in a bound column, or NULL array elements, are not
 * scored: their outputs are NULL.  The column definition list names the
 * query's columns (same types) followed by one column per model output,
 * in the model's order (the first k outputs may be asked for).  Output
 * columns may be float4[]/float8[]/int4[]/int8[]/text[] (the row's slice),
 * a scalar type (a slice of one value) or jsonb (any output, ZipMap maps
 * included).  Cancellation is checked between batches and inside the
 * engine.  A query that reads a Citus distributed table is scored on the
 * workers (score_pushdown.c); the result is the same.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"

#include "input_binding.h"
#include "json_tensor.h"
#include "onnx_ext.h"
#include "row_outputs_bytes.h"
#include "score_pushdown.h"

/* Datum for output value v, row r of nvalid, as result column type t. */
static Datum
output_datum(const OnnxValue *v, int64 r, int64 nvalid, Oid t, const char *out, const char *name)
{
	if (t == JSONBOID)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		if (v->kind == ONNX_VALUE_SEQUENCE)
			OnnxValueToJson(&buf, &v->items[r]);
		else
		{
			OnnxValue	slice = *v;
			int64		per = v->tensor.count / nvalid;

			slice.tensor.rank = v->tensor.rank - 1;
			for (int d = 0; d < slice.tensor.rank; d++)
				slice.tensor.dims[d] = v->tensor.dims[d + 1];
			slice.tensor.count = per;
			slice.tensor.data = (char *) v->tensor.data + r * per * onnx_dtype_size(v->tensor.dtype);
			OnnxValueToJson(&buf, &slice);
		}
		return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	}
	if (v->kind != ONNX_VALUE_TENSOR)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("output \"%s\" of ONNX model \"%s\" is not a tensor; declare its column as jsonb",
						out, name)));
	{
		const OnnxTensor *o = &v->tensor;
		int64		per = o->count / nvalid;
		int64		base = r * per;
		Oid			elem = get_element_type(t);

		if (elem == FLOAT4OID && o->dtype == ONNX_DTYPE_FLOAT)
		{
			int			n = (int) per;

			return PointerGetDatum(OnnxFloat4Array((const float *) o->data + base, 1, &n));
		}
		if (OidIsValid(elem))
		{
			Datum	   *vals = palloc(sizeof(Datum) * Max(per, 1));
			int16		len;
			bool		byval;
			char		align;

			for (int64 k = 0; k < per; k++)
			{
				switch (elem)
				{
					case FLOAT4OID:
						vals[k] = Float4GetDatum((float4) onnx_tensor_get_f64(o, base + k));
						break;
					case FLOAT8OID:
						vals[k] = Float8GetDatum(onnx_tensor_get_f64(o, base + k));
						break;
					case INT4OID:
						vals[k] = Int32GetDatum((int32) onnx_tensor_get_i64(o, base + k));
						break;
					case INT8OID:
						vals[k] = Int64GetDatum(onnx_tensor_get_i64(o, base + k));
						break;
					case TEXTOID:
						if (o->dtype != ONNX_DTYPE_STRING)
							goto bad_type;
						vals[k] = CStringGetTextDatum(OnnxModelCString(((char **) o->data)[base + k], out, name));
						break;
					default:
						goto bad_type;
				}
			}
			get_typlenbyvalalign(elem, &len, &byval, &align);
			return PointerGetDatum(construct_array(vals, (int) per, elem, len, byval, align));
		}
		if (per != 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("output \"%s\" of ONNX model \"%s\" has " INT64_FORMAT " values per row; declare its column as an array",
							out, name, per)));
		switch (t)
		{
			case FLOAT4OID:
				return Float4GetDatum((float4) onnx_tensor_get_f64(o, base));
			case FLOAT8OID:
				return Float8GetDatum(onnx_tensor_get_f64(o, base));
			case INT2OID:
				return Int16GetDatum((int16) onnx_tensor_get_i64(o, base));
			case INT4OID:
				return Int32GetDatum((int32) onnx_tensor_get_i64(o, base));
			case INT8OID:
				return Int64GetDatum(onnx_tensor_get_i64(o, base));
			case BOOLOID:
				return BoolGetDatum(onnx_tensor_get_i64(o, base) != 0);
			case TEXTOID:
				if (o->dtype == ONNX_DTYPE_STRING)
					return CStringGetTextDatum(OnnxModelCString(((char **) o->data)[base], out, name));
				return CStringGetTextDatum(psprintf("%.9g", onnx_tensor_get_f64(o, base)));
			default:
				break;
		}
	}
bad_type:
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("output \"%s\" of ONNX model \"%s\" cannot be returned as %s",
					out, name, format_type_be(t)),
			 errhint("Use float4[], float8[], int4[], int8[], text[], a scalar type or jsonb.")));
	pg_unreachable();
}

/* Score one fetched batch into the tuplestore. */
static void
score_batch(OnnxPinnedSession *pin, InputBinding *b, SPITupleTable *tt, TupleDesc rdesc,
			Tuplestorestate *ts, int n_out_cols, const char *name)
{
	const OnnxModel *model = pin->copy.model;
	int			n_in = onnx_model_input_count(model);
	int			qnatts = tt->tupdesc->natts;
	bool	   *valid = palloc0(sizeof(bool) * (tt->numvals + 1));
	int64		nvalid = 0;
	OnnxValue  *ins = palloc0(sizeof(OnnxValue) * (n_in + 1));
	const char **in_names = palloc0(sizeof(char *) * (n_in + 1));
	const char **out_names = palloc0(sizeof(char *) * (n_out_cols + 1));
	OnnxValue  *outs = palloc0(sizeof(OnnxValue) * (n_out_cols + 1));
	Datum	   *values = palloc(sizeof(Datum) * rdesc->natts);
	bool	   *nulls = palloc(sizeof(bool) * rdesc->natts);
	OnnxError	err;

	RowSet		rows = {tt->tupdesc, tt->vals, tt->numvals};

	for (uint64 r = 0; r < tt->numvals; r++)
	{
		valid[r] = OnnxRowIsScorable(b, n_in, tt->vals[r], tt->tupdesc);
		nvalid += valid[r];
	}
	for (int k = 0; k < n_out_cols; k++)
		out_names[k] = onnx_model_output(model, k)->name;
	if (nvalid > 0)
	{
		for (int i = 0; i < n_in; i++)
		{
			ins[i].kind = ONNX_VALUE_TENSOR;
			OnnxBuildInput(&b[i], &rows, valid, nvalid, &ins[i].tensor, name);
			in_names[i] = b[i].vi->name;
		}
		if (OnnxSessionRun(&pin->copy, n_in, in_names, ins, n_out_cols, out_names, outs, &err) != ONNX_OK)
			OnnxReportEngineError(&err, name);
	}
	PG_TRY();
	{
		int64		vr = 0;

		for (int k = 0; k < n_out_cols && nvalid > 0; k++)
		{
			bool		batched = outs[k].kind == ONNX_VALUE_SEQUENCE ? outs[k].n_items == nvalid :
				(outs[k].kind == ONNX_VALUE_TENSOR && outs[k].tensor.rank >= 1 &&
				 outs[k].tensor.dims[0] == nvalid);

			if (!batched)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("output \"%s\" of ONNX model \"%s\" does not have one entry per row",
								out_names[k], name),
						 errhint("onnx_score needs outputs whose first dimension is the batch.")));
			OnnxCheckOutputText(&outs[k], out_names[k], name);
		}
		for (uint64 r = 0; r < tt->numvals; r++)
		{
			for (int c = 0; c < qnatts; c++)
				values[c] = SPI_getbinval(tt->vals[r], tt->tupdesc, c + 1, &nulls[c]);
			for (int k = 0; k < n_out_cols; k++)
			{
				nulls[qnatts + k] = !valid[r];
				if (valid[r])
					values[qnatts + k] = output_datum(&outs[k], vr, nvalid,
													  TupleDescAttr(rdesc, qnatts + k)->atttypid,
													  out_names[k], name);
			}
			tuplestore_putvalues(ts, rdesc, values, nulls);
			vr += valid[r];
		}
	}
	PG_FINALLY();
	{
		for (int k = 0; k < n_out_cols; k++)
			onnx_value_release(pin->copy.alloc, &outs[k]);
	}
	PG_END_TRY();
}

/*
 * Output k of a row scored on a Citus worker (v, or json for a sequence
 * item; per_row false when it has no entry per row) as result column type
 * t: what output_datum gives for the row in a local run, with the same
 * errors.
 */
static Datum
worker_output_datum(OnnxValue *v, const char *json, bool per_row, Oid t, const char *out,
					const char *name)
{
	if (!per_row)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("output \"%s\" of ONNX model \"%s\" does not have one entry per row",
						out, name),
				 errhint("onnx_score needs outputs whose first dimension is the batch.")));
	if (json != NULL && t == JSONBOID)
		return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	/* a sequence as another type: output_datum raises the error */
	return output_datum(v, 0, 1, t, out, name);
}

/*
 * Result rows of one fetched batch of the worker query (score_pushdown.c):
 * the query's columns, then the asked outputs rebuilt from the row's
 * bytes (read once per row), all NULL where the workers did not score the
 * row.
 */
static void
score_worker_batch(const OnnxModel *model, SPITupleTable *tt, TupleDesc rdesc,
				   Tuplestorestate *ts, int n_out_cols, const char *name)
{
	int			qnatts = tt->tupdesc->natts - 1;
	Datum	   *values = palloc(sizeof(Datum) * rdesc->natts);
	bool	   *nulls = palloc(sizeof(bool) * rdesc->natts);
	OnnxValue  *vals = palloc(sizeof(OnnxValue) * n_out_cols);
	char	  **jsons = palloc(sizeof(char *) * n_out_cols);
	bool	   *per_row = palloc(sizeof(bool) * n_out_cols);

	for (uint64 r = 0; r < tt->numvals; r++)
	{
		bool		isnull;
		Datum		d;

		for (int c = 0; c < qnatts; c++)
			values[c] = SPI_getbinval(tt->vals[r], tt->tupdesc, c + 1, &nulls[c]);
		d = SPI_getbinval(tt->vals[r], tt->tupdesc, qnatts + 1, &isnull);
		if (!isnull)
			OnnxRowOutputsFromBytes(DatumGetByteaPP(d), n_out_cols, vals, jsons, per_row);
		for (int k = 0; k < n_out_cols; k++)
		{
			nulls[qnatts + k] = isnull;
			if (!isnull)
				values[qnatts + k] = worker_output_datum(&vals[k], jsons[k], per_row[k],
														 TupleDescAttr(rdesc, qnatts + k)->atttypid,
														 onnx_model_output(model, k)->name, name);
		}
		tuplestore_putvalues(ts, rdesc, values, nulls);
	}
}

/*
 * The query is read through a read-only cursor: say clearly what that
 * refuses (SPI would only say "SELECT is not allowed in a non-volatile
 * function" for a data-modifying WITH).
 */
static void
refuse_writing_query(SPIPlanPtr plan)
{
	ListCell   *lc;

	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *ps = (CachedPlanSource *) lfirst(lc);
		ListCell   *lq;

		foreach(lq, ps->query_list)
		{
			Query	   *q = lfirst_node(Query, lq);

			if (q->hasModifyingCTE)
				ereport(ERROR,
						(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
						 errmsg("the query of onnx_score must not modify data"),
						 errdetail("It has a WITH clause that inserts, updates or deletes rows."),
						 errhint("Run the data-modifying statement first, then score its results.")));
			if (q->rowMarks != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
						 errmsg("the query of onnx_score must not lock rows"),
						 errdetail("FOR UPDATE and FOR SHARE are not allowed in it.")));
		}
	}
}

PG_FUNCTION_INFO_V1(onnx_score);

/* onnx_score(model, query): every row of the query followed by its outputs. */
Datum
onnx_score(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OnnxCacheEntry *entry;
	OnnxPinnedSession pin;
	TupleDesc	rdesc;
	MemoryContext batch_cxt;
	int			rc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("onnx_score must be called with a column definition list"),
				 errhint("SELECT * FROM onnx_score('m', 'SELECT id, features FROM t') AS s(id int, features float4[], probabilities float4[])")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	rdesc = rsinfo->setDesc;
	entry = OnnxCacheGet(name);
	OnnxCachePin(entry, &pin);
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "onnx_score batch",
									  ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		SPIPlanPtr	plan;
		Portal		portal;
		InputBinding *b = NULL;
		int			n_out_cols = 0;
		int64		done = 0;
		TupleDesc	user_desc;
		bool		on_workers;

		if ((rc = SPI_connect()) != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
		plan = SPI_prepare(query, 0, NULL);
		if (plan == NULL)
			elog(ERROR, "could not prepare the query of onnx_score: %s",
				 SPI_result_code_string(SPI_result));
		if (!SPI_is_cursor_plan(plan))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the query of onnx_score must be a single SELECT")));
		refuse_writing_query(plan);
		user_desc = CreateTupleDescCopy(((CachedPlanSource *)
										 linitial(SPI_plan_get_plan_sources(plan)))->resultDesc);
		on_workers = OnnxScoreOnWorkers(plan, pin.copy.model, rdesc);
		if (on_workers)
		{
			plan = SPI_prepare(OnnxScoreWorkerQuery(query, user_desc, pin.copy.sha256), 0, NULL);
			if (plan == NULL || !SPI_is_cursor_plan(plan))
				elog(ERROR, "could not prepare the worker query of onnx_score: %s",
					 SPI_result_code_string(SPI_result));
		}
		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
		OnnxProgressStart(name);
		for (;;)
		{
			MemoryContext old;

			CHECK_FOR_INTERRUPTS();
			SPI_cursor_fetch(portal, true, onnx_batch_size);
			if (SPI_processed == 0)
				break;
			if (b == NULL)
			{
				TupleDesc	qdesc = user_desc;
				int			n_out = onnx_model_output_count(pin.copy.model);

				n_out_cols = rdesc->natts - qdesc->natts;
				if (n_out_cols < 1 || n_out_cols > n_out)
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("column definition list has %d columns, expected the query's %d followed by 1 to %d model outputs",
									rdesc->natts, qdesc->natts, n_out)));
				for (int c = 0; c < qdesc->natts; c++)
					if (TupleDescAttr(qdesc, c)->atttypid != TupleDescAttr(rdesc, c)->atttypid)
						ereport(ERROR,
								(errcode(ERRCODE_DATATYPE_MISMATCH),
								 errmsg("column %d of the definition list is %s, the query's column \"%s\" is %s",
										c + 1, format_type_be(TupleDescAttr(rdesc, c)->atttypid),
										NameStr(TupleDescAttr(qdesc, c)->attname),
										format_type_be(TupleDescAttr(qdesc, c)->atttypid))));
				/* in the SPI context: lives until SPI_finish */
				b = palloc0(sizeof(InputBinding) * (onnx_model_input_count(pin.copy.model) + 1));
				OnnxBindInputs(pin.copy.model, qdesc, b, name, true);
			}
			old = MemoryContextSwitchTo(batch_cxt);
			if (on_workers)
				score_worker_batch(pin.copy.model, SPI_tuptable, rdesc, rsinfo->setResult,
								   n_out_cols, name);
			else
				score_batch(&pin, b, SPI_tuptable, rdesc, rsinfo->setResult, n_out_cols, name);
			MemoryContextSwitchTo(old);
			done += SPI_processed;
			OnnxProgressUpdate(done);
			SPI_freetuptable(SPI_tuptable);
			MemoryContextReset(batch_cxt);
		}
		SPI_cursor_close(portal);
		SPI_finish();
	}
	PG_FINALLY();
	{
		OnnxProgressEnd();
		OnnxCacheUnpin(&pin);
	}
	PG_END_TRY();
	MemoryContextDelete(batch_cxt);
	PG_RETURN_VOID();
}
