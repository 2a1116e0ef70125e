/*-------------------------------------------------------------------------
 *
 * predict.c
 *	  onnx_predict(model, float4[] [, output]) and
 *	  onnx_predict_batch(model, float4[]): one float input, one output.
 *
 * Binding rules (checked in BindFloatInput):
 *	- no NULL elements; the model's single input is a float32 or float64
 *	  tensor;
 *	- onnx_predict: a 1-D array fills the input's shape, its one dynamic
 *	  dimension (the batch) taking what remains (4 values for [batch, 4]
 *	  give batch 1); the result is then 1-D.  An array with the input's
 *	  rank is taken as the full shape, and the result keeps the output's
 *	  shape;
 *	- onnx_predict_batch: a 2-D array (rows x features) or an array with
 *	  the input's rank; one engine run; the result has rows as its first
 *	  dimension.
 * Static dimensions must match; every mismatch names the expected shape.
 * A ZipMap output (one map of label -> probability per row) comes back as
 * the maps' probabilities in the model's label order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "onnx_ext.h"

/* "[batch, 4]" for messages */
static char *
info_shape_text(const OnnxValueInfo *vi)
{
	StringInfoData buf;

	if (vi->rank < 0)
		return pstrdup("(unknown shape)");
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int d = 0; d < vi->rank; d++)
	{
		if (d)
			appendStringInfoString(&buf, ", ");
		if (vi->dims[d] >= 0)
			appendStringInfo(&buf, INT64_FORMAT, vi->dims[d]);
		else
			appendStringInfoString(&buf, vi->dim_params[d] ? vi->dim_params[d] : "?");
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/* The single input of the model, or an error. */
const OnnxValueInfo *
OnnxPredictInput(const OnnxModel *model, const char *name)
{
	const OnnxValueInfo *vi;

	if (onnx_model_input_count(model) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ONNX model \"%s\" has %d inputs; onnx_predict takes models with one input",
						name, onnx_model_input_count(model)),
				 errhint("Use onnx_run() with named inputs.")));
	vi = onnx_model_input(model, 0);
	if (vi->kind != ONNX_VALUE_TENSOR ||
		(vi->dtype != ONNX_DTYPE_FLOAT && vi->dtype != ONNX_DTYPE_DOUBLE))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("input \"%s\" of ONNX model \"%s\" is %s, not a float tensor",
						vi->name, name, vi->type_text),
				 errhint("Use onnx_run() for inputs of other types.")));
	return vi;
}

static void
check_static_dims(const OnnxValueInfo *vi, const int64 *dims, int rank, const char *name)
{
	for (int d = 0; d < rank && d < vi->rank; d++)
		if (vi->dims[d] >= 0 && vi->dims[d] != dims[d])
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("input array does not fit input \"%s\" of ONNX model \"%s\"", vi->name, name),
					 errdetail("The input has shape %s; dimension %d of the array is " INT64_FORMAT ", expected " INT64_FORMAT ".",
							   info_shape_text(vi), d + 1, dims[d], vi->dims[d])));
}

/*
 * Shape the array's values for the model input (rules in the file
 * header); fills tensor (data pointing into the array, or converted to
 * double).  *flat is set when the result should be returned 1-D.
 */
static void
BindFloatInput(const OnnxValueInfo *vi, ArrayType *arr, bool batch, const char *name,
			   OnnxTensor *t, bool *flat)
{
	int			ndim = ARR_NDIM(arr);
	int		   *adims = ARR_DIMS(arr);
	int64		n = ndim > 0 ? ArrayGetNItems(ndim, adims) : 0;
	int64		dims[ONNX_MAX_RANK];
	int			rank = 0;

	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("input array must not contain NULL elements"),
				 errdetail("Input \"%s\" of ONNX model \"%s\" has shape %s.", vi->name, name,
						   info_shape_text(vi))));
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("input array is empty"),
				 errdetail("Input \"%s\" of ONNX model \"%s\" has shape %s.", vi->name, name,
						   info_shape_text(vi))));
	*flat = false;
	if (vi->rank < 0 || (ndim == vi->rank && !(batch && ndim == 1 && vi->rank != 1)))
	{
		/* the array's own shape */
		rank = ndim;
		for (int d = 0; d < ndim; d++)
			dims[d] = adims[d];
		check_static_dims(vi, dims, rank, name);
		*flat = ndim == 1 && !batch;
	}
	else if ((ndim == 1 && !batch) || (ndim == 2 && batch))
	{
		/* fill the input shape; one dynamic dim takes what is left */
		int64		per = 1;
		int			dyn = -1;
		int64		rows = batch ? adims[0] : -1;

		for (int d = 0; d < vi->rank; d++)
		{
			if (batch && d == 0)
				continue;
			if (vi->dims[d] < 0)
			{
				if (dyn >= 0)
					ereport(ERROR,
							(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
							 errmsg("input \"%s\" of ONNX model \"%s\" has several dynamic dimensions %s",
									vi->name, name, info_shape_text(vi)),
							 errhint("Pass an array with all %d dimensions.", vi->rank)));
				dyn = d;
			}
			else
				per *= vi->dims[d];
		}
		if (batch)
		{
			if (vi->rank < 1)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("input \"%s\" of ONNX model \"%s\" is a scalar and has no batch dimension",
								vi->name, name),
						 errhint("Use onnx_predict() for a model whose input is a scalar.")));
			if (vi->dims[0] >= 0 && vi->dims[0] != rows)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("input \"%s\" of ONNX model \"%s\" has a fixed first dimension of " INT64_FORMAT ", got %d rows",
								vi->name, name, vi->dims[0], adims[0])));
			n = adims[1];
		}
		if ((dyn < 0 && per != n) || (dyn >= 0 && (per == 0 || n % per != 0)))
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("input array has " INT64_FORMAT " values%s, input \"%s\" of ONNX model \"%s\" needs %s" INT64_FORMAT,
							n, batch ? " per row" : "", vi->name, name,
							dyn >= 0 ? "a multiple of " : "", per),
					 errdetail("The input has shape %s.", info_shape_text(vi))));
		rank = vi->rank;
		for (int d = 0; d < rank; d++)
			dims[d] = vi->dims[d] >= 0 ? vi->dims[d] : (d == dyn ? n / per : 0);
		if (batch)
			dims[0] = rows;
		*flat = !batch;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("input array has %d dimensions, input \"%s\" of ONNX model \"%s\" has shape %s",
						ndim, vi->name, name, info_shape_text(vi)),
				 errhint(batch ? "Pass a 2-D array of rows x features, or an array of the input's rank."
						 : "Pass a 1-D array, or an array of the input's rank.")));

	memset(t, 0, sizeof(*t));
	t->rank = rank;
	t->count = 1;
	for (int d = 0; d < rank; d++)
	{
		t->dims[d] = dims[d];
		t->count *= dims[d];
	}
	if (vi->dtype == ONNX_DTYPE_DOUBLE)
	{
		float4	   *src = (float4 *) ARR_DATA_PTR(arr);
		double	   *dst = palloc(sizeof(double) * t->count);

		for (int64 i = 0; i < t->count; i++)
			dst[i] = src[i];
		t->dtype = ONNX_DTYPE_DOUBLE;
		t->data = dst;
		t->nbytes = sizeof(double) * t->count;
	}
	else
	{
		t->dtype = ONNX_DTYPE_FLOAT;
		t->data = ARR_DATA_PTR(arr);
		t->nbytes = sizeof(float4) * t->count;
	}
}

/* float4[] from a numeric output tensor; NULL-free. */
static ArrayType *
tensor_to_float4_array(const OnnxTensor *t, int ndim, const int *dims, const char *output,
					   const char *name)
{
	Datum	   *vals;
	int			lbs[MAXDIM];

	if (t->dtype == ONNX_DTYPE_FLOAT)
		return OnnxFloat4Array(t->data, ndim, dims);
	vals = palloc(sizeof(Datum) * Max(t->count, 1));

	for (int64 i = 0; i < t->count; i++)
	{
		float4		v = 0;

		switch (t->dtype)
		{
			case ONNX_DTYPE_FLOAT:
				v = ((float *) t->data)[i];
				break;
			case ONNX_DTYPE_DOUBLE:
				v = (float4) ((double *) t->data)[i];
				break;
			case ONNX_DTYPE_INT64:
				v = (float4) ((int64 *) t->data)[i];
				break;
			case ONNX_DTYPE_INT32:
				v = (float4) ((int32 *) t->data)[i];
				break;
			case ONNX_DTYPE_BOOL:
			case ONNX_DTYPE_UINT8:
				v = (float4) ((uint8 *) t->data)[i];
				break;
			case ONNX_DTYPE_INT8:
				v = (float4) ((int8 *) t->data)[i];
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("output \"%s\" of ONNX model \"%s\" has type %s, which float4[] cannot hold",
								output, name, onnx_dtype_name(t->dtype)),
						 errhint("Use onnx_run() for outputs of other types.")));
		}
		vals[i] = Float4GetDatum(v);
	}
	for (int d = 0; d < ndim; d++)
		lbs[d] = 1;
	if (t->count == 0)
		return construct_empty_array(FLOAT4OID);
	return construct_md_array(vals, NULL, ndim, (int *) dims, lbs, FLOAT4OID,
							  sizeof(float4), true, TYPALIGN_INT);
}

/*
 * ZipMap output (a sequence of one map per row, label -> probability) as a
 * float4 array of the maps' values in the model's label order: rows x
 * labels, or 1-D for a single row when flat.
 */
static ArrayType *
zipmap_to_array(const OnnxValue *v, bool flat, const char *output, const char *name)
{
	int64		rows = v->n_items;
	int64		labels = rows > 0 && v->items[0].n_items > 0 ? v->items[0].tensor.count : 0;
	Datum	   *vals = palloc(sizeof(Datum) * Max(rows * labels, 1));
	int			dims[2];
	int			lbs[2] = {1, 1};

	for (int64 r = 0; r < rows; r++)
	{
		const OnnxValue *m = &v->items[r];

		if (m->kind != ONNX_VALUE_MAP || m->n_items != 1 || m->tensor.count != labels ||
			m->items[0].kind != ONNX_VALUE_TENSOR || m->items[0].tensor.count != labels)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("output \"%s\" of ONNX model \"%s\" is a sequence that is not one map per row",
							output, name),
					 errhint("Use onnx_run() for this output.")));
		for (int64 k = 0; k < labels; k++)
			vals[r * labels + k] = Float4GetDatum((float4) onnx_tensor_get_f64(&m->items[0].tensor, k));
	}
	if (rows * labels == 0)
		return construct_empty_array(FLOAT4OID);
	dims[0] = (int) rows;
	dims[1] = (int) labels;
	if (flat && rows == 1)
		return construct_md_array(vals, NULL, 1, &dims[1], lbs, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	return construct_md_array(vals, NULL, 2, dims, lbs, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
}

/* Shape of the result array for an output tensor (rules in file header). */
static ArrayType *
output_to_array(const OnnxValue *v, bool flat, bool batch, const char *output, const char *name)
{
	const OnnxTensor *t = &v->tensor;
	int			dims[MAXDIM];
	int			ndim;

	if (v->kind == ONNX_VALUE_SEQUENCE)
		return zipmap_to_array(v, flat, output, name);
	if (v->kind != ONNX_VALUE_TENSOR)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("output \"%s\" of ONNX model \"%s\" is not a tensor", output, name),
				 errhint("Use onnx_run() for sequence, map and optional outputs, or convert the model without ZipMap.")));
	if (t->count > (int64) MaxAllocSize / (int64) sizeof(float4))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("output \"%s\" of ONNX model \"%s\" is too large for an array", output, name)));
	if (flat || t->rank <= 1)
	{
		ndim = 1;
		dims[0] = (int) t->count;
	}
	else if (batch || t->rank > MAXDIM)
	{
		ndim = 2;
		dims[0] = (int) t->dims[0];
		dims[1] = (int) (t->dims[0] ? t->count / t->dims[0] : 0);
	}
	else
	{
		ndim = t->rank;
		for (int d = 0; d < ndim; d++)
			dims[d] = (int) t->dims[d];
	}
	return tensor_to_float4_array(t, ndim, dims, output, name);
}

/*
 * onnx_predict's result for output v of a run whose input was one 1-D
 * array (also one row's slice of a batched run: auto-batching).
 */
ArrayType *
OnnxPredictResultArray(const OnnxValue *v, const char *output, const char *name)
{
	return output_to_array(v, true, false, output, name);
}

/* Shared body of the predict functions. */
static Datum
predict_common(FunctionCallInfo fcinfo, const char *name, bool batch, const char *output_name)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	OnnxCacheEntry *entry = OnnxCacheGet(name);
	const OnnxValueInfo *vi = OnnxPredictInput(entry->model, name);
	OnnxValue	in;
	OnnxValue	out;
	OnnxError	err;
	bool		flat;
	const char *in_names[1];
	const char *out_names[1];
	ArrayType  *result = NULL;

	memset(&in, 0, sizeof(in));
	in.kind = ONNX_VALUE_TENSOR;
	BindFloatInput(vi, arr, batch, name, &in.tensor, &flat);
	in_names[0] = vi->name;
	out_names[0] = output_name ? output_name : onnx_model_output(entry->model, 0)->name;
	if (OnnxSessionRun(entry, 1, in_names, &in, 1, out_names, &out, &err) != ONNX_OK)
		OnnxReportEngineError(&err, name);
	PG_TRY();
	{
		result = output_to_array(&out, flat, batch, out_names[0], name);
	}
	PG_FINALLY();
	{
		onnx_value_release(entry->alloc, &out);
	}
	PG_END_TRY();
	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(onnx_predict);

/* onnx_predict(model, input): the first output for one input array. */
Datum
onnx_predict(PG_FUNCTION_ARGS)
{
	return predict_common(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), false, NULL);
}

PG_FUNCTION_INFO_V1(onnx_predict_pinned);

/* onnx_predict(model_sha256 bytea, input): pinned to content, IMMUTABLE. */
Datum
onnx_predict_pinned(PG_FUNCTION_ARGS)
{
	return predict_common(fcinfo, OnnxPinnedRef(PG_GETARG_BYTEA_PP(0)), false, NULL);
}

PG_FUNCTION_INFO_V1(onnx_predict_output);

/* onnx_predict(model, input, output): the named output. */
Datum
onnx_predict_output(PG_FUNCTION_ARGS)
{
	return predict_common(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), false,
						  text_to_cstring(PG_GETARG_TEXT_PP(2)));
}

PG_FUNCTION_INFO_V1(onnx_predict_batch);

/* onnx_predict_batch(model, rows x features): first output, one run. */
Datum
onnx_predict_batch(PG_FUNCTION_ARGS)
{
	return predict_common(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), true, NULL);
}

PG_FUNCTION_INFO_V1(onnx_predict_batch_pinned);

/* onnx_predict_batch(model_sha256 bytea, rows): pinned to content, IMMUTABLE. */
Datum
onnx_predict_batch_pinned(PG_FUNCTION_ARGS)
{
	return predict_common(fcinfo, OnnxPinnedRef(PG_GETARG_BYTEA_PP(0)), true, NULL);
}

PG_FUNCTION_INFO_V1(onnx_cuda_is_available);

/* Whether this build has CUDA and a GPU is usable. */
Datum
onnx_cuda_is_available(PG_FUNCTION_ARGS)
{
	char		why[256];

	PG_RETURN_BOOL(onnx_cuda_available(why, sizeof(why)) != 0);
}
