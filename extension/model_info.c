/*-------------------------------------------------------------------------
 *
 * model_info.c
 *	  Model metadata as jsonb: what ONNX Runtime's get_modelmeta(),
 *	  get_inputs() and get_outputs() tell, for onnx_model_info() and the
 *	  metadata columns of onnx_models.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"

#include "onnx_ext.h"

static Jsonb *
jsonb_from_text(const char *json)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

/* A model string (checked UTF-8 at load) as JSON in the database encoding. */
static void
append_json_string(StringInfo buf, const char *s)
{
	escape_json(buf, OnnxModelCString(s, "a text", NULL));
}

/* {"name":..., "type":"tensor(float)", "shape":[ "batch", 4 ]} */
static void
append_value_info(StringInfo buf, const OnnxValueInfo *vi)
{
	appendStringInfoString(buf, "{\"name\": ");
	append_json_string(buf, vi->name);
	appendStringInfoString(buf, ", \"type\": ");
	append_json_string(buf, vi->type_text);
	appendStringInfoString(buf, ", \"dtype\": ");
	append_json_string(buf, onnx_dtype_name(vi->dtype));
	appendStringInfoString(buf, ", \"shape\": ");
	if (vi->rank < 0)
		appendStringInfoString(buf, "null");
	else
	{
		appendStringInfoChar(buf, '[');
		for (int d = 0; d < vi->rank; d++)
		{
			if (d)
				appendStringInfoString(buf, ", ");
			if (vi->dims[d] >= 0)
				appendStringInfo(buf, INT64_FORMAT, vi->dims[d]);
			else if (vi->dim_params[d])
				append_json_string(buf, vi->dim_params[d]);
			else
				appendStringInfoString(buf, "null");
		}
		appendStringInfoChar(buf, ']');
	}
	if (vi->doc && vi->doc[0])
	{
		appendStringInfoString(buf, ", \"doc\": ");
		append_json_string(buf, vi->doc);
	}
	appendStringInfoChar(buf, '}');
}

static void
append_value_infos(StringInfo buf, const OnnxModel *model, bool inputs)
{
	int			n = inputs ? onnx_model_input_count(model) : onnx_model_output_count(model);

	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (i)
			appendStringInfoString(buf, ", ");
		append_value_info(buf, inputs ? onnx_model_input(model, i) : onnx_model_output(model, i));
	}
	appendStringInfoChar(buf, ']');
}

static void
append_opsets(StringInfo buf, const OnnxModel *model)
{
	OnnxModelMeta meta;

	onnx_model_meta(model, &meta);
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < meta.n_opsets; i++)
	{
		if (i)
			appendStringInfoString(buf, ", ");
		append_json_string(buf, meta.opsets[i].domain[0] ? meta.opsets[i].domain : "ai.onnx");
		appendStringInfo(buf, ": " INT64_FORMAT, meta.opsets[i].version);
	}
	appendStringInfoChar(buf, '}');
}

/* Inputs (or outputs) as a jsonb array of {name, type, dtype, shape}. */
Jsonb *
OnnxValueInfosJsonb(const OnnxModel *model, bool inputs)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_value_infos(&buf, model, inputs);
	return jsonb_from_text(buf.data);
}

/* Opset imports as {"ai.onnx": 17, "ai.onnx.ml": 3}. */
Jsonb *
OnnxOpsetsJsonb(const OnnxModel *model)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_opsets(&buf, model);
	return jsonb_from_text(buf.data);
}

/* Everything onnx_model_info() returns. */
Jsonb *
OnnxModelInfoJsonb(const OnnxModel *model, const char *name)
{
	StringInfoData buf;
	OnnxModelMeta meta;

	onnx_model_meta(model, &meta);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"name\": ");
	append_json_string(&buf, name);
	appendStringInfo(&buf, ", \"ir_version\": " INT64_FORMAT, meta.ir_version);
	appendStringInfoString(&buf, ", \"producer_name\": ");
	append_json_string(&buf, meta.producer_name);
	appendStringInfoString(&buf, ", \"producer_version\": ");
	append_json_string(&buf, meta.producer_version);
	appendStringInfoString(&buf, ", \"domain\": ");
	append_json_string(&buf, meta.domain);
	appendStringInfo(&buf, ", \"model_version\": " INT64_FORMAT, meta.model_version);
	appendStringInfoString(&buf, ", \"description\": ");
	append_json_string(&buf, meta.doc_string);
	appendStringInfoString(&buf, ", \"graph_name\": ");
	append_json_string(&buf, meta.graph_name);
	appendStringInfoString(&buf, ", \"graph_description\": ");
	append_json_string(&buf, meta.graph_doc);
	appendStringInfoString(&buf, ", \"custom_metadata_map\": {");
	for (int i = 0; i < meta.n_props; i++)
	{
		if (i)
			appendStringInfoString(&buf, ", ");
		append_json_string(&buf, meta.prop_keys[i]);
		appendStringInfoString(&buf, ": ");
		append_json_string(&buf, meta.prop_values[i]);
	}
	appendStringInfoString(&buf, "}, \"opsets\": ");
	append_opsets(&buf, model);
	appendStringInfoString(&buf, ", \"inputs\": ");
	append_value_infos(&buf, model, true);
	appendStringInfoString(&buf, ", \"outputs\": ");
	append_value_infos(&buf, model, false);
	appendStringInfoChar(&buf, '}');
	return jsonb_from_text(buf.data);
}
