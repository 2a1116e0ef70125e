/*-------------------------------------------------------------------------
 *
 * json_tensor.c
 *	  JSON tensors for onnx_run: jsonb in, engine values; engine values,
 *	  JSON text out.
 *
 * Input forms: a nested array (or a scalar), dtype taken from the model;
 * or {"dtype": "float32", "shape": [2, 3], "data": [ row-major ]}.
 * Output form: always the object form.  NaN and infinities are the
 * strings "NaN", "Infinity", "-Infinity"; int64 and uint64 are exact;
 * bool is true/false; strings are JSON strings; a sequence is a JSON array
 * of values, a map a JSON object, an absent optional null.  A scalar has
 * shape [].
 *
 * Values built here are palloc'd in the current memory context and only
 * borrowed by the engine.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>

#include "common/int.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/fmgrprotos.h"

#include "json_tensor.h"
#include "mb/pg_wchar.h"
#include "onnx_ext.h"

#define JSON_ERROR(input, ...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), \
					errmsg("invalid value for input \"%s\"", input), \
					errdetail(__VA_ARGS__)))

/* Text of a JSON number. */
static char *
numeric_text(JsonbValue *v)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
}

/* Text of a jsonb scalar, for messages (long numbers shortened). */
static char *
scalar_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNumeric:
			{
				char	   *s = numeric_text(v);

				if (strlen(s) > 40)
					return psprintf("%.20s... (%zu digits)", s, strlen(s));
				return s;
			}
		case jbvString:
			return psprintf("\"%.*s\"", v->val.string.len, v->val.string.val);
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvNull:
			return pstrdup("null");
		default:
			return pstrdup("an array or object");
	}
}

/* Largest finite value of the 8- and 4-bit float formats (0 for others). */
static double
small_float_max(OnnxDType dt)
{
	switch (dt)
	{
		case ONNX_DTYPE_FLOAT8E4M3FN:
			return 448;
		case ONNX_DTYPE_FLOAT8E4M3FNUZ:
			return 240;
		case ONNX_DTYPE_FLOAT8E5M2:
		case ONNX_DTYPE_FLOAT8E5M2FNUZ:
			return 57344;
		case ONNX_DTYPE_FLOAT8E8M0:
			return ldexp(1.0, 127);
		case ONNX_DTYPE_FLOAT4E2M1:
			return 6;
		default:
			return 0;
	}
}

/*
 * Whether the finite number d has a finite value in float type dt: within
 * the largest finite value of the small formats (float8e8m0 holds positive
 * numbers only), and rounding to a finite value (checked by storing and
 * reading back).
 */
static bool
fits_float_type(OnnxDType dt, double d)
{
	uint64		cell = 0;
	OnnxTensor	t;
	double		max = small_float_max(dt);

	if (max > 0 && (fabs(d) > max || (dt == ONNX_DTYPE_FLOAT8E8M0 && d <= 0)))
		return false;
	memset(&t, 0, sizeof(t));
	t.dtype = dt;
	t.count = 1;
	t.nbytes = onnx_dtype_size(dt);
	t.data = &cell;
	onnx_tensor_set_f64(&t, 0, d);
	return isfinite(onnx_tensor_get_f64(&t, 0));
}

/* Store the JSON scalar v as element i of t (dtype already set). */
static void
set_element(OnnxTensor *t, int64 i, JsonbValue *v, const char *input)
{
	OnnxDType	dt = t->dtype;

	if (dt == ONNX_DTYPE_STRING)
	{
		if (v->type != jbvString)
			JSON_ERROR(input, "Expected a string, got %s.", scalar_text(v));
		/* the engine's strings are UTF-8 */
		((char **) t->data)[i] = pg_server_to_any(pnstrdup(v->val.string.val, v->val.string.len),
												  v->val.string.len, PG_UTF8);
		return;
	}
	if (dt == ONNX_DTYPE_BOOL)
	{
		if (v->type == jbvBool)
			((uint8 *) t->data)[i] = v->val.boolean ? 1 : 0;
		else if (v->type == jbvNumeric)
			((uint8 *) t->data)[i] = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
																		NumericGetDatum(v->val.numeric))) != 0;
		else
			JSON_ERROR(input, "Expected true or false, got %s.", scalar_text(v));
		return;
	}
	if (onnx_dtype_is_floating(dt))
	{
		double		d;

		if (v->type == jbvNumeric)
		{
			/* a finite number must stay finite in the input's type */
			d = strtod(numeric_text(v), NULL);
			if (isinf(d) || !fits_float_type(dt, d))
				JSON_ERROR(input, "Value %s is out of the range of %s.", scalar_text(v),
						   onnx_dtype_name(dt));
		}
		else if (v->type == jbvString)
		{
			char	   *s = pnstrdup(v->val.string.val, v->val.string.len);

			if (pg_strcasecmp(s, "NaN") == 0)
				d = NAN;
			else if (pg_strcasecmp(s, "Infinity") == 0 || pg_strcasecmp(s, "inf") == 0)
				d = INFINITY;
			else if (pg_strcasecmp(s, "-Infinity") == 0 || pg_strcasecmp(s, "-inf") == 0)
				d = -INFINITY;
			else
				JSON_ERROR(input, "Expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", got %s.",
						   scalar_text(v));
		}
		else
			JSON_ERROR(input, "Expected a number, got %s.", scalar_text(v));
		onnx_tensor_set_f64(t, i, d);
		return;
	}
	/* integers: exact, range-checked */
	if (v->type == jbvNumeric)
	{
		char	   *s = scalar_text(v);
		char	   *end;
		bool		bad = false;

		errno = 0;
		if (dt == ONNX_DTYPE_UINT64)
		{
			unsigned long long u = strtoull(s, &end, 10);

			if (*end || errno || s[0] == '-')
				bad = true;
			else
				((uint64 *) t->data)[i] = (uint64) u;
		}
		else
		{
			long long	x = strtoll(s, &end, 10);
			long long	lo = INT64_MIN,
						hi = INT64_MAX;

			switch (dt)
			{
				case ONNX_DTYPE_INT8:
					lo = INT8_MIN, hi = INT8_MAX;
					break;
				case ONNX_DTYPE_INT16:
					lo = INT16_MIN, hi = INT16_MAX;
					break;
				case ONNX_DTYPE_INT32:
					lo = INT32_MIN, hi = INT32_MAX;
					break;
				case ONNX_DTYPE_UINT8:
					lo = 0, hi = UINT8_MAX;
					break;
				case ONNX_DTYPE_UINT16:
					lo = 0, hi = UINT16_MAX;
					break;
				case ONNX_DTYPE_UINT32:
					lo = 0, hi = UINT32_MAX;
					break;
				default:
					break;
			}
			if (*end || errno || x < lo || x > hi)
				bad = true;
			else
				onnx_tensor_set_i64(t, i, (int64) x);
		}
		if (bad)
			JSON_ERROR(input, "Value %s is not an integer in the range of %s.", s, onnx_dtype_name(dt));
		return;
	}
	JSON_ERROR(input, "Expected an integer, got %s.", scalar_text(v));
}

/* A dimension of "shape": a non-negative integer that fits int64. */
static int64
shape_dim(JsonbValue *v, const char *input)
{
	char	   *s = numeric_text(v);
	char	   *end;
	long long	x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0 || x < 0)
		JSON_ERROR(input, "\"shape\" must hold non-negative integers that fit int64, got %s.",
				   scalar_text(v));
	return (int64) x;
}

static void
alloc_tensor(OnnxTensor *t, OnnxDType dt, int rank, const int64 *dims, const char *input)
{
	size_t		esize = onnx_dtype_size(dt);

	if (esize == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("input \"%s\" has element type %s, which onnx_run cannot build from JSON",
						input, onnx_dtype_name(dt))));
	memset(t, 0, sizeof(*t));
	t->dtype = dt;
	t->rank = rank;
	t->count = 1;
	for (int d = 0; d < rank; d++)
	{
		t->dims[d] = dims[d];
		if (pg_mul_s64_overflow(t->count, dims[d], &t->count))
			JSON_ERROR(input, "The shape is too large.");
	}
	if ((Size) t->count > MaxAllocHugeSize / esize)
		JSON_ERROR(input, "The shape is too large.");
	t->nbytes = (size_t) t->count * esize;
	t->data = palloc_extended(Max(t->nbytes, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* Shape of a nested array: descend through first elements. */
static int
nested_shape(JsonbContainer *c, int64 *dims, const char *input)
{
	int			rank = 0;

	while (c && JsonContainerIsArray(c) && !JsonContainerIsScalar(c))
	{
		JsonbValue *first;

		if (rank >= ONNX_MAX_RANK)
			JSON_ERROR(input, "Arrays are nested more than %d deep.", ONNX_MAX_RANK);
		dims[rank++] = JsonContainerSize(c);
		if (JsonContainerSize(c) == 0)
			break;
		first = getIthJsonbValueFromContainer(c, 0);
		if (first->type != jbvBinary)
			break;
		c = first->val.binary.data;
	}
	return rank;
}

/* Fill t from a nested array, checking it is rectangular. */
static void
fill_nested(OnnxTensor *t, JsonbContainer *c, int level, int64 *pos, const char *input)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int64		n = 0;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		n++;
		if (level + 1 < t->rank)
		{
			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data) ||
				JsonContainerSize(v.val.binary.data) != t->dims[level + 1])
				JSON_ERROR(input, "Nested arrays must be rectangular: every array at depth %d needs " INT64_FORMAT " elements.",
						   level + 2, t->dims[level + 1]);
			fill_nested(t, v.val.binary.data, level + 1, pos, input);
		}
		else
		{
			if (v.type == jbvBinary)
				JSON_ERROR(input, "Nested arrays must be rectangular.");
			set_element(t, (*pos)++, &v, input);
		}
	}
	if (n != t->dims[level])
		JSON_ERROR(input, "Nested arrays must be rectangular.");
}

/* A tensor from either JSON form; dt is the model's element type. */
static void
tensor_from_json(JsonbValue *jv, OnnxDType dt, OnnxTensor *t, const char *input)
{
	int64		dims[ONNX_MAX_RANK] = {0};
	int64		pos = 0;

	if (jv->type == jbvBinary && JsonContainerIsObject(jv->val.binary.data))
	{
		JsonbContainer *obj = jv->val.binary.data;
		JsonbValue *jdtype = getKeyJsonValueFromContainer(obj, "dtype", 5, NULL);
		JsonbValue *jshape = getKeyJsonValueFromContainer(obj, "shape", 5, NULL);
		JsonbValue *jdata = getKeyJsonValueFromContainer(obj, "data", 4, NULL);
		int			rank = 0;

		if (jdtype)
		{
			char	   *name;
			OnnxDType	given;

			if (jdtype->type != jbvString)
				JSON_ERROR(input, "\"dtype\" must be a string.");
			name = pnstrdup(jdtype->val.string.val, jdtype->val.string.len);
			given = onnx_dtype_from_name(name);
			if (given == ONNX_DTYPE_UNDEFINED)
				JSON_ERROR(input, "Unknown dtype \"%s\".", name);
			if (dt != ONNX_DTYPE_UNDEFINED && given != dt)
				JSON_ERROR(input, "The model takes %s, the value says %s.", onnx_dtype_name(dt), name);
			dt = given;
		}
		if (dt == ONNX_DTYPE_UNDEFINED)
			JSON_ERROR(input, "Give a \"dtype\": the model does not declare one.");
		if (jdata == NULL || jdata->type != jbvBinary || !JsonContainerIsArray(jdata->val.binary.data))
			JSON_ERROR(input, "The object form needs \"data\": an array of values in row-major order.");
		if (jshape)
		{
			JsonbIterator *it;
			JsonbValue	v;
			JsonbIteratorToken tok;

			if (jshape->type != jbvBinary || !JsonContainerIsArray(jshape->val.binary.data))
				JSON_ERROR(input, "\"shape\" must be an array of integers.");
			it = JsonbIteratorInit(jshape->val.binary.data);
			while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			{
				if (tok != WJB_ELEM)
					continue;
				if (v.type != jbvNumeric || rank >= ONNX_MAX_RANK)
					JSON_ERROR(input, "\"shape\" must be an array of at most %d integers.", ONNX_MAX_RANK);
				dims[rank] = shape_dim(&v, input);
				rank++;
			}
		}
		else
		{
			rank = 1;
			dims[0] = JsonContainerSize(jdata->val.binary.data);
		}
		alloc_tensor(t, dt, rank, dims, input);
		if (JsonContainerSize(jdata->val.binary.data) != t->count)
			JSON_ERROR(input, "\"data\" has %u values, the shape needs " INT64_FORMAT ".",
					   JsonContainerSize(jdata->val.binary.data), t->count);
		{
			JsonbIterator *it = JsonbIteratorInit(jdata->val.binary.data);
			JsonbValue	v;
			JsonbIteratorToken tok;

			while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
				if (tok == WJB_ELEM)
				{
					if (v.type == jbvBinary)
						JSON_ERROR(input, "\"data\" must be a flat array.");
					set_element(t, pos++, &v, input);
				}
		}
		return;
	}
	if (dt == ONNX_DTYPE_UNDEFINED)
		JSON_ERROR(input, "Use the object form with a \"dtype\": the model does not declare one.");
	if (jv->type == jbvBinary && JsonContainerIsArray(jv->val.binary.data))
	{
		int			rank = nested_shape(jv->val.binary.data, dims, input);

		alloc_tensor(t, dt, rank, dims, input);
		/* also when empty: [[], [1, 2]] is ragged, not a 2 x 0 tensor */
		fill_nested(t, jv->val.binary.data, 0, &pos, input);
		return;
	}
	/* a scalar */
	alloc_tensor(t, dt, 0, dims, input);
	set_element(t, 0, jv, input);
}

/* A value of the model input's kind from JSON; false for an absent optional. */
bool
OnnxValueFromJson(JsonbValue *jv, const OnnxValueInfo *vi, OnnxValue *out)
{
	memset(out, 0, sizeof(*out));
	if (jv->type == jbvNull)
	{
		if (vi->kind == ONNX_VALUE_OPTIONAL)
			return false;
		JSON_ERROR(vi->name, "null is only allowed for optional inputs; the input is %s.", vi->type_text);
	}
	if (vi->kind == ONNX_VALUE_OPTIONAL)
	{
		/* a present optional: its value as a plain tensor or sequence */
		OnnxValueInfo inner = *vi;

		inner.kind = vi->type_text && strncmp(vi->type_text, "optional(seq(", 13) == 0 ?
			ONNX_VALUE_SEQUENCE : ONNX_VALUE_TENSOR;
		out->kind = ONNX_VALUE_OPTIONAL;
		out->elem_dtype = vi->dtype;
		out->n_items = 1;
		out->items = palloc0(sizeof(OnnxValue));
		OnnxValueFromJson(jv, &inner, &out->items[0]);
		return true;
	}
	if (vi->kind == ONNX_VALUE_SEQUENCE)
	{
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken tok;
		int			n = 0;

		if (jv->type != jbvBinary || !JsonContainerIsArray(jv->val.binary.data))
			JSON_ERROR(vi->name, "A sequence is a JSON array of tensors.");
		out->kind = ONNX_VALUE_SEQUENCE;
		out->elem_dtype = vi->dtype;
		out->items = palloc0(sizeof(OnnxValue) * (JsonContainerSize(jv->val.binary.data) + 1));
		it = JsonbIteratorInit(jv->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			if (tok == WJB_ELEM)
			{
				out->items[n].kind = ONNX_VALUE_TENSOR;
				tensor_from_json(&v, vi->dtype, &out->items[n].tensor, vi->name);
				n++;
			}
		out->n_items = n;
		return true;
	}
	if (vi->kind == ONNX_VALUE_MAP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("input \"%s\" is %s; map inputs are not supported by onnx_run yet",
						vi->name, vi->type_text)));
	out->kind = ONNX_VALUE_TENSOR;
	tensor_from_json(jv, vi->dtype, &out->tensor, vi->name);
	return true;
}

/* ---- output ---- */

static void
append_element(StringInfo buf, const OnnxTensor *t, int64 i)
{
	char		num[64];

	switch (t->dtype)
	{
		case ONNX_DTYPE_STRING:
			/* checked UTF-8 by OnnxCheckOutputText; in the database encoding */
			escape_json(buf, OnnxModelCString(((char *const *) t->data)[i], "a string", NULL));
			return;
		case ONNX_DTYPE_BOOL:
			appendStringInfoString(buf, ((uint8 *) t->data)[i] ? "true" : "false");
			return;
		case ONNX_DTYPE_INT64:
			appendStringInfo(buf, INT64_FORMAT, ((int64 *) t->data)[i]);
			return;
		case ONNX_DTYPE_UINT64:
			appendStringInfo(buf, UINT64_FORMAT, ((uint64 *) t->data)[i]);
			return;
		case ONNX_DTYPE_INT8:
		case ONNX_DTYPE_INT16:
		case ONNX_DTYPE_INT32:
		case ONNX_DTYPE_UINT8:
		case ONNX_DTYPE_UINT16:
		case ONNX_DTYPE_UINT32:
		case ONNX_DTYPE_INT4:
		case ONNX_DTYPE_UINT4:
			appendStringInfo(buf, INT64_FORMAT, onnx_tensor_get_i64(t, i));
			return;
		default:
			{
				double		d = onnx_tensor_get_f64(t, i);

				if (isnan(d))
					appendStringInfoString(buf, "\"NaN\"");
				else if (isinf(d))
					appendStringInfoString(buf, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
				else if (t->dtype == ONNX_DTYPE_DOUBLE)
				{
					double_to_shortest_decimal_buf(d, num);
					appendStringInfoString(buf, num);
				}
				else
				{
					float_to_shortest_decimal_buf((float) d, num);
					appendStringInfoString(buf, num);
				}
			}
	}
}

static void
append_tensor(StringInfo buf, const OnnxTensor *t)
{
	appendStringInfoString(buf, "{\"dtype\": ");
	escape_json(buf, onnx_dtype_name(t->dtype));
	appendStringInfoString(buf, ", \"shape\": [");
	for (int d = 0; d < t->rank; d++)
		appendStringInfo(buf, "%s" INT64_FORMAT, d ? ", " : "", t->dims[d]);
	appendStringInfoString(buf, "], \"data\": [");
	for (int64 i = 0; i < t->count; i++)
	{
		if (i)
			appendStringInfoString(buf, ", ");
		append_element(buf, t, i);
	}
	appendStringInfoString(buf, "]}");
}

/* Append a value in the output JSON form. */
void
OnnxValueToJson(StringInfo buf, const OnnxValue *v)
{
	switch (v->kind)
	{
		case ONNX_VALUE_TENSOR:
			append_tensor(buf, &v->tensor);
			break;
		case ONNX_VALUE_SEQUENCE:
			appendStringInfoChar(buf, '[');
			for (int i = 0; i < v->n_items; i++)
			{
				if (i)
					appendStringInfoString(buf, ", ");
				OnnxValueToJson(buf, &v->items[i]);
			}
			appendStringInfoChar(buf, ']');
			break;
		case ONNX_VALUE_MAP:
			{
				const OnnxTensor *keys = &v->tensor;
				const OnnxValue *vals = v->n_items > 0 ? &v->items[0] : NULL;

				appendStringInfoChar(buf, '{');
				for (int64 i = 0; i < keys->count; i++)
				{
					if (i)
						appendStringInfoString(buf, ", ");
					if (keys->dtype == ONNX_DTYPE_STRING)
						append_element(buf, keys, i);
					else
						appendStringInfo(buf, "\"" INT64_FORMAT "\"", onnx_tensor_get_i64(keys, i));
					appendStringInfoString(buf, ": ");
					if (vals && vals->kind == ONNX_VALUE_TENSOR && i < vals->tensor.count)
						append_element(buf, &vals->tensor, i);
					else if (vals && vals->kind == ONNX_VALUE_SEQUENCE && i < vals->n_items)
						OnnxValueToJson(buf, &vals->items[i]);
					else
						appendStringInfoString(buf, "null");
				}
				appendStringInfoChar(buf, '}');
				break;
			}
		case ONNX_VALUE_OPTIONAL:
			if (v->n_items > 0)
				OnnxValueToJson(buf, &v->items[0]);
			else
				appendStringInfoString(buf, "null");
			break;
		default:
			appendStringInfoString(buf, "null");
	}
}

/*
 * Append output v of a one-row run in the row form: the batch dimension
 * dropped; a single value as a JSON scalar, several as a flat JSON array;
 * a one-item sequence (ZipMap) as its item, a map as a JSON object.
 */
void
OnnxValueToRowJson(StringInfo buf, const OnnxValue *v)
{
	if (v->kind == ONNX_VALUE_SEQUENCE && v->n_items == 1)
	{
		OnnxValueToRowJson(buf, &v->items[0]);
		return;
	}
	if (v->kind != ONNX_VALUE_TENSOR)
	{
		OnnxValueToJson(buf, v);
		return;
	}
	if (v->tensor.count == 1)
	{
		append_element(buf, &v->tensor, 0);
		return;
	}
	appendStringInfoChar(buf, '[');
	for (int64 i = 0; i < v->tensor.count; i++)
	{
		if (i)
			appendStringInfoString(buf, ", ");
		append_element(buf, &v->tensor, i);
	}
	appendStringInfoChar(buf, ']');
}

/*
 * {"name": value, ...} of n engine outputs as jsonb, in the row form or the
 * object form; the outputs are left as they are.
 */
Datum
OnnxOutputsJsonb(int n, const char *const *names, const OnnxValue *outs, bool row_form,
				 const char *model_name)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < n; i++)
	{
		if (i)
			appendStringInfoString(&buf, ", ");
		OnnxCheckOutputText(&outs[i], names[i], model_name);
		escape_json(&buf, OnnxModelCString(names[i], "an output name", model_name));
		appendStringInfoString(&buf, ": ");
		if (row_form)
			OnnxValueToRowJson(&buf, &outs[i]);
		else
			OnnxValueToJson(&buf, &outs[i]);
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/*
 * OnnxOutputsJsonb, then the outputs are released through alloc whatever
 * happens.
 */
Datum
OnnxOutputsToJsonb(int n, const char *const *names, OnnxValue *outs,
				   const OnnxAllocator *alloc, bool row_form, const char *model_name)
{
	volatile Datum result = (Datum) 0;	/* set inside PG_TRY */

	PG_TRY();
	{
		result = OnnxOutputsJsonb(n, names, outs, row_form, model_name);
	}
	PG_FINALLY();
	{
		for (int i = 0; i < n; i++)
			onnx_value_release(alloc, &outs[i]);
	}
	PG_END_TRY();
	return result;
}
