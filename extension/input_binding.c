/*-------------------------------------------------------------------------
 *
 * input_binding.c
 *	  Model inputs fed from rows: binding inputs to columns by name, and
 *	  building one batch tensor per input from a set of rows.  Used by
 *	  onnx_score (query rows) and onnx_run_row (one composite value).
 *
 * A row holds the input's shape without the batch dimension: an array
 * column gives that many values per row, a scalar column one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "input_binding.h"

static bool
is_supported_scalar(Oid t)
{
	return t == FLOAT4OID || t == FLOAT8OID || t == INT2OID || t == INT4OID ||
		t == INT8OID || t == BOOLOID || t == TEXTOID || t == VARCHAROID || t == NUMERICOID;
}

/*
 * Bind each model input to the column of qdesc with its name; with
 * allow_fallback, a single-input model whose name matches no column takes
 * the first array column (or the only column).
 */
void
OnnxBindInputs(const OnnxModel *model, TupleDesc qdesc, InputBinding *b, const char *name,
			   bool allow_fallback)
{
	int			n_in = onnx_model_input_count(model);

	for (int i = 0; i < n_in; i++)
	{
		const OnnxValueInfo *vi = onnx_model_input(model, i);
		int			col = SPI_fnumber(qdesc, vi->name);

		if (col <= 0 && n_in == 1 && allow_fallback)
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
					 errmsg("no column named \"%s\" for input \"%s\" of ONNX model \"%s\"",
							vi->name, vi->name, name),
					 errhint("Name the columns after the model's inputs (see onnx_model_info).")));
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
			{
				char	   *str = TextDatumGetCString(d);

				/* the engine's strings are UTF-8 */
				((char **) x->data)[i] = pg_server_to_any(str, strlen(str), PG_UTF8);
				break;
			}
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
 * Build the batch tensor of one input from the valid rows of tt (rows
 * already checked non-NULL): [rows, rest of the input's shape].
 */
void
OnnxBuildInput(InputBinding *b, const RowSet *tt, const bool *valid, int64 nvalid,
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


/* Whether row has every bound column non-NULL, and no NULL array element. */
bool
OnnxRowIsScorable(const InputBinding *b, int n_in, HeapTuple row, TupleDesc desc)
{
	for (int i = 0; i < n_in; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(row, desc, b[i].col, &isnull);

		if (isnull || (OidIsValid(b[i].elemtype) && array_contains_nulls(DatumGetArrayTypeP(d))))
			return false;
	}
	return true;
}

/* Values the bound column of a scorable row holds (its elements, or 1). */
int64
OnnxRowValueCount(const InputBinding *b, HeapTuple row, TupleDesc desc)
{
	bool		isnull;
	Datum		d = SPI_getbinval(row, desc, b->col, &isnull);
	ArrayType  *a;

	if (!OidIsValid(b->elemtype))
		return 1;
	a = DatumGetArrayTypeP(d);
	return ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
}

/*
 * Name the fields of desc (a copy, changed in place) by names, a text[] of
 * as many names as desc has fields: a row built by ROW(...) has only
 * f1, f2, ... .
 */
void
OnnxNameRowFields(TupleDesc desc, ArrayType *names)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_ELEMTYPE(names) != TEXTOID || ARR_NDIM(names) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field names must be a one-dimensional text array")));
	deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n != desc->natts)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("one field name per field of the row is needed"),
				 errdetail("The row has %d fields, %d names were given.", desc->natts, n)));
	for (int i = 0; i < n; i++)
	{
		char	   *s;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("field name %d is NULL", i + 1)));
		s = TextDatumGetCString(elems[i]);
		if (strlen(s) >= NAMEDATALEN)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("field name \"%s\" is too long", s)));
		namestrcpy(&TupleDescAttr(desc, i)->attname, s);
	}
}
