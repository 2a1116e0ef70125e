/*-------------------------------------------------------------------------
 *
 * run.c
 *	  onnx_run(model, inputs jsonb [, outputs text[]]) -> jsonb: named
 *	  inputs to named outputs, every dtype, like ONNX Runtime's
 *	  session.run(output_names, input_feed).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "json_tensor.h"
#include "onnx_ext.h"

static int
find_input(const OnnxModel *model, const char *name)
{
	for (int i = 0; i < onnx_model_input_count(model); i++)
		if (strcmp(onnx_model_input(model, i)->name, name) == 0)
			return i;
	return -1;
}

static char *
input_names_text(const OnnxModel *model)
{
	StringInfoData buf;


	initStringInfo(&buf);
	for (int i = 0; i < onnx_model_input_count(model); i++)
		appendStringInfo(&buf, "%s%s %s", i ? ", " : "", onnx_model_input(model, i)->name,
						 onnx_model_input(model, i)->type_text);
	return buf.data;
}

/*
 * Values of the model inputs named in the JSON object inputs, in its key
 * order: fills vals and names (room for every model input) and returns
 * how many; errors as onnx_run raises them.
 */
int
OnnxRunInputs(const OnnxModel *model, Jsonb *inputs, const char *name, OnnxValue *vals,
			  const char **names)
{
	int			n_in = 0;
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(inputs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("onnx_run inputs must be a JSON object of input name to value"),
				 errdetail("Model \"%s\" takes: %s.", name, input_names_text(model))));
	it = JsonbIteratorInit(&inputs->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		int			idx;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		idx = find_input(model, key);
		if (idx < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ONNX model \"%s\" has no input named \"%s\"", name, key),
					 errdetail("The model takes: %s.", input_names_text(model))));
		if (OnnxValueFromJson(&v, onnx_model_input(model, idx), &vals[n_in]))
			names[n_in++] = onnx_model_input(model, idx)->name;
	}
	return n_in;
}

/*
 * The outputs onnx_run returns: those of the text array outputs, or every
 * model output when it is NULL.
 */
const char **
OnnxRunOutputNames(const OnnxModel *model, ArrayType *outputs, int *n_out)
{
	const char **out_names;

	if (outputs != NULL)
	{
		Datum	   *elems;
		bool	   *nulls;

		deconstruct_array(outputs, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n_out);
		out_names = palloc0(sizeof(char *) * (*n_out + 1));
		for (int i = 0; i < *n_out; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("output names must not be null")));
			out_names[i] = TextDatumGetCString(elems[i]);
		}
	}
	else
	{
		*n_out = onnx_model_output_count(model);
		out_names = palloc0(sizeof(char *) * (*n_out + 1));
		for (int i = 0; i < *n_out; i++)
			out_names[i] = onnx_model_output(model, i)->name;
	}
	return out_names;
}

/* onnx_run's body for the model reference name. */
static Datum
run_common(FunctionCallInfo fcinfo, const char *name)
{
	Jsonb	   *inputs = PG_GETARG_JSONB_P(1);
	OnnxCacheEntry *entry = OnnxCacheGet(name);
	const OnnxModel *model = entry->model;
	int			max_in = onnx_model_input_count(model);
	OnnxValue  *in_vals = palloc0(sizeof(OnnxValue) * (max_in + 1));
	const char **in_names = palloc0(sizeof(char *) * (max_in + 1));
	int			n_in;
	int			n_out;
	const char **out_names;
	OnnxValue  *outs;
	OnnxError	err;

	n_in = OnnxRunInputs(model, inputs, name, in_vals, in_names);
	out_names = OnnxRunOutputNames(model, PG_NARGS() > 2 && !PG_ARGISNULL(2) ?
								   PG_GETARG_ARRAYTYPE_P(2) : NULL, &n_out);
	outs = palloc0(sizeof(OnnxValue) * (n_out + 1));
	if (OnnxSessionRun(entry, n_in, in_names, in_vals, n_out, out_names, outs, &err) != ONNX_OK)
		OnnxReportEngineError(&err, name);

	PG_RETURN_DATUM(OnnxOutputsToJsonb(n_out, out_names, outs, entry->alloc, false, name));
}

PG_FUNCTION_INFO_V1(onnx_run);

/* onnx_run(model, inputs [, outputs]): JSON object of named outputs. */
Datum
onnx_run(PG_FUNCTION_ARGS)
{
	return run_common(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)));
}

PG_FUNCTION_INFO_V1(onnx_run_pinned);

/* onnx_run(model_sha256 bytea, inputs): pinned to content, IMMUTABLE. */
Datum
onnx_run_pinned(PG_FUNCTION_ARGS)
{
	return run_common(fcinfo, OnnxPinnedRef(PG_GETARG_BYTEA_PP(0)));
}
