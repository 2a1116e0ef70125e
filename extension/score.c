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
 * engine.
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

#include "json_tensor.h"
#include "onnx_ext.h"

typedef struct InputBinding
{
	const OnnxValueInfo *vi;
	int			col;			/* 1-based column of the query */
	Oid			coltype;
	Oid			elemtype;		/* InvalidOid for a scalar column */
	int16		elemlen;
	bool		elembyval;
	char		elemalign;
	int64		per_row;		/* values per row, -1 until known */
	OnnxDType	dtype;
} InputBinding;

static bool
is_supported_scalar(Oid t)
{
	return t == FLOAT4OID || t == FLOAT8OID || t == INT2OID || t == INT4OID ||
		t == INT8OID || t == BOOLOID || t == TEXTOID || t == VARCHAROID || t == NUMERICOID;
}

/* Bind model inputs to query columns (rules in the file header). */
static void
bind_inputs(const OnnxModel *model, TupleDesc qdesc, InputBinding *b, const char *name)
{
	int			n_in = onnx_model_input_count(model);

	for (int i = 0; i < n_in; i++)
	{
		const OnnxValueInfo *vi = onnx_model_input(model, i);
		int			col = SPI_fnumber(qdesc, vi->name);

		if (col <= 0 && n_in == 1)
		{
			for (int c = 0; c < qdesc->natts && col <= 0; c++)
				if (type_is_array(TupleDescAttr(qdesc, c)->atttypid))
					col = c + 1;
			if (col <= 0 && qdesc->natts == 1)
				col = 1;
		}
		if (col <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("query has no column named \"%s\" for input \"%s\" of ONNX model \"%s\"",
							vi->name, vi->name, name),
					 errhint("Name the query's columns after the model's inputs (see onnx_model_info).")));
		if (vi->kind != ONNX_VALUE_TENSOR)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("input \"%s\" of ONNX model \"%s\" is %s; onnx_score binds tensors only",
							vi->name, name, vi->type_text)));
		b[i].vi = vi;
		b[i].col = col;
		b[i].coltype = TupleDescAttr(qdesc, col - 1)->atttypid;
		b[i].elemtype = get_element_type(b[i].coltype);
		b[i].per_row = -1;
		b[i].dtype = vi->dtype;
		if (OidIsValid(b[i].elemtype))
			get_typlenbyvalalign(b[i].elemtype, &b[i].elemlen, &b[i].elembyval, &b[i].elemalign);
		if (!is_supported_scalar(OidIsValid(b[i].elemtype) ? b[i].elemtype : b[i].coltype))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" has type %s, which cannot feed input \"%s\" (%s)",
							NameStr(TupleDescAttr(qdesc, col - 1)->attname),
							format_type_be(b[i].coltype), vi->name, vi->type_text)));
		if ((b[i].dtype == ONNX_DTYPE_STRING) !=
			((OidIsValid(b[i].elemtype) ? b[i].elemtype : b[i].coltype) == TEXTOID ||
			 (OidIsValid(b[i].elemtype) ? b[i].elemtype : b[i].coltype) == VARCHAROID))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" has type %s, input \"%s\" is %s",
							NameStr(TupleDescAttr(qdesc, col - 1)->attname),
							format_type_be(b[i].coltype), vi->name, vi->type_text)));
	}
}

/* Store Datum d of scalar type t as element i of tensor x. */
static void
put_scalar(OnnxTensor *x, int64 i, Datum d, Oid t)
{
	switch (t)
	{
		case FLOAT4OID:
			if (x->dtype == ONNX_DTYPE_FLOAT)
				((float *) x->data)[i] = DatumGetFloat4(d);
			else
				onnx_tensor_set_f64(x, i, DatumGetFloat4(d));
			break;
		case FLOAT8OID:
			onnx_tensor_set_f64(x, i, DatumGetFloat8(d));
			break;
		case INT2OID:
			onnx_tensor_set_i64(x, i, DatumGetInt16(d));
			break;
		case INT4OID:
			onnx_tensor_set_i64(x, i, DatumGetInt32(d));
			break;
		case INT8OID:
			if (onnx_dtype_size(x->dtype) && x->dtype != ONNX_DTYPE_FLOAT && x->dtype != ONNX_DTYPE_DOUBLE)
				onnx_tensor_set_i64(x, i, DatumGetInt64(d));
			else
				onnx_tensor_set_f64(x, i, (double) DatumGetInt64(d));
			break;
		case BOOLOID:
			onnx_tensor_set_i64(x, i, DatumGetBool(d) ? 1 : 0);
			break;
		case NUMERICOID:
			onnx_tensor_set_f64(x, i, DatumGetFloat8(DirectFunctionCall1(numeric_float8, d)));
			break;
		default:				/* text, varchar */
			((char **) x->data)[i] = TextDatumGetCString(d);
			break;
	}
}

/* Values per row of an input, from its shape without the batch dimension. */
static int64
static_per_row(const OnnxValueInfo *vi, int *dynamic)
{
	int64		p = 1;

	*dynamic = 0;
	for (int d = 1; d < vi->rank; d++)
	{
		if (vi->dims[d] < 0)
			(*dynamic)++;
		else
			p *= vi->dims[d];
	}
	return p;
}

/*
 * Build the batch tensor of one input from the valid rows.  Rows are
 * already checked non-NULL.
 */
static void
build_input(InputBinding *b, SPITupleTable *tt, const bool *valid, int64 nvalid,
			OnnxTensor *x, const char *name)
{
	int			dynamic;
	int64		expect = static_per_row(b->vi, &dynamic);
	int64		pos = 0;
	size_t		esize = onnx_dtype_size(b->dtype);

	if (b->vi->rank <= 1)
		expect = 1, dynamic = 0;
	memset(x, 0, sizeof(*x));
	x->dtype = b->dtype;
	for (uint64 r = 0; r < tt->numvals; r++)
	{
		bool		isnull;
		Datum		d;
		int64		n = 1;

		if (!valid[r])
			continue;
		d = SPI_getbinval(tt->vals[r], tt->tupdesc, b->col, &isnull);
		if (OidIsValid(b->elemtype))
		{
			ArrayType  *a = DatumGetArrayTypeP(d);

			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		}
		if (b->per_row < 0)
		{
			if (dynamic > 1 || (dynamic == 0 && n != expect) ||
				(dynamic == 1 && (expect == 0 || n % expect != 0)))
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("column for input \"%s\" of ONNX model \"%s\" has " INT64_FORMAT " values per row, expected %s" INT64_FORMAT,
								b->vi->name, name, n, dynamic ? "a multiple of " : "", expect)));
			b->per_row = n;
		}
		else if (n != b->per_row)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("column for input \"%s\" of ONNX model \"%s\" has " INT64_FORMAT " values in one row and " INT64_FORMAT " in another",
							b->vi->name, name, n, b->per_row)));
		if (x->data == NULL)
		{
			x->count = nvalid * b->per_row;
			x->nbytes = (size_t) x->count * esize;
			x->data = palloc_extended(Max(x->nbytes, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		}
		if (OidIsValid(b->elemtype))
		{
			ArrayType  *a = DatumGetArrayTypeP(d);

			if (b->elemtype == FLOAT4OID && b->dtype == ONNX_DTYPE_FLOAT)
				memcpy((float *) x->data + pos, ARR_DATA_PTR(a), sizeof(float) * n);
			else
			{
				Datum	   *elems;
				bool	   *nulls;
				int			ne;

				deconstruct_array(a, b->elemtype, b->elemlen, b->elembyval, b->elemalign,
								  &elems, &nulls, &ne);
				for (int k = 0; k < ne; k++)
					put_scalar(x, pos + k, elems[k], b->elemtype);
			}
		}
		else
			put_scalar(x, pos, d, b->coltype);
		pos += n;
	}
	/* shape: [rows, rest of the input's dims] */
	x->dims[0] = nvalid;
	if (b->vi->rank < 0)
	{
		x->rank = b->per_row == 1 ? 1 : 2;
		x->dims[1] = b->per_row;
	}
	else
	{
		x->rank = Max(b->vi->rank, 1);
		for (int dd = 1; dd < b->vi->rank; dd++)
			x->dims[dd] = b->vi->dims[dd] >= 0 ? b->vi->dims[dd] :
				(b->per_row / Max(expect, 1));
	}
	if (x->data == NULL)
	{
		x->data = palloc0(1);
		x->count = 0;
	}
}

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
						vals[k] = CStringGetTextDatum(((char **) o->data)[base + k] ? ((char **) o->data)[base + k] : "");
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
					return CStringGetTextDatum(((char **) o->data)[base] ? ((char **) o->data)[base] : "");
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

	for (uint64 r = 0; r < tt->numvals; r++)
	{
		valid[r] = true;
		for (int i = 0; i < n_in && valid[r]; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(tt->vals[r], tt->tupdesc, b[i].col, &isnull);

			if (isnull || (OidIsValid(b[i].elemtype) && array_contains_nulls(DatumGetArrayTypeP(d))))
				valid[r] = false;
		}
		nvalid += valid[r];
	}
	for (int k = 0; k < n_out_cols; k++)
		out_names[k] = onnx_model_output(model, k)->name;
	if (nvalid > 0)
	{
		for (int i = 0; i < n_in; i++)
		{
			ins[i].kind = ONNX_VALUE_TENSOR;
			build_input(&b[i], tt, valid, nvalid, &ins[i].tensor, name);
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
				TupleDesc	qdesc = SPI_tuptable->tupdesc;
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
				bind_inputs(pin.copy.model, qdesc, b, name);
			}
			old = MemoryContextSwitchTo(batch_cxt);
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
