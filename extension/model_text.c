/*-------------------------------------------------------------------------
 *
 * model_text.c
 *	  Text that comes from a model, on its way into the database.
 *
 * ONNX strings are UTF-8 by the format's rule, but nothing enforces it: a
 * model may carry any bytes in its producer, names, doc strings, metadata
 * and string tensors.  Stored unchecked in a text or jsonb column such
 * bytes make a dump that cannot be restored.  So every string that leaves
 * the engine for a text, jsonb or catalog value passes through here: it
 * must be valid UTF-8, and is converted to the database encoding.  Model
 * metadata is checked when a model is stored or loaded (the error names
 * the field); string tensors when they are output; engine error messages,
 * which may quote node names, have invalid bytes escaped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "onnx_ext.h"

/* Whether s (len bytes) is valid UTF-8 without NUL bytes. */
static bool
is_utf8(const char *s, size_t len)
{
	return pg_verify_mbstr(PG_UTF8, s, (int) len, true);
}

/*
 * s, valid UTF-8 by the model's rule, in the database encoding.  Error
 * naming what (e.g. "string output \"label\"") when it is not UTF-8.
 */
char *
OnnxModelString(const char *s, size_t len, const char *what, const char *model_name)
{
	if (s == NULL)
		return pstrdup("");
	if (len > (size_t) MaxAllocSize / 4 || !is_utf8(s, len))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("%s of ONNX model \"%s\" is not valid UTF-8", what,
						model_name ? model_name : ""),
				 errdetail("ONNX strings are UTF-8; this one cannot be stored as text.")));
	return pg_any_to_server(s, (int) len, PG_UTF8);
}

/* The NUL-terminated model string s in the database encoding (see above). */
char *
OnnxModelCString(const char *s, const char *what, const char *model_name)
{
	return OnnxModelString(s, s ? strlen(s) : 0, what, model_name);
}

/* A model text field must be valid UTF-8; error naming field otherwise. */
static void
check_field(const char *s, const char *model_name, const char *fmt,...)
			pg_attribute_printf(3, 4);

static void
check_field(const char *s, const char *model_name, const char *fmt,...)
{
	va_list		ap;
	char		field[256];

	if (s == NULL || is_utf8(s, strlen(s)))
		return;
	va_start(ap, fmt);
	vsnprintf(field, sizeof(field), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
			 errmsg("invalid ONNX model \"%s\": %s is not valid UTF-8",
					model_name ? model_name : "", field),
			 errdetail("ONNX strings are UTF-8; text that is not cannot be stored in the database.")));
}

static void
check_infos(const OnnxModel *model, bool inputs, const char *model_name)
{
	int			n = inputs ? onnx_model_input_count(model) : onnx_model_output_count(model);
	const char *kind = inputs ? "input" : "output";

	for (int i = 0; i < n; i++)
	{
		const OnnxValueInfo *vi = inputs ? onnx_model_input(model, i) : onnx_model_output(model, i);

		check_field(vi->name, model_name, "the name of %s %d", kind, i);
		check_field(vi->doc, model_name, "the doc_string of %s %d", kind, i);
		check_field(vi->type_text, model_name, "the type of %s %d", kind, i);
		for (int d = 0; d < vi->rank; d++)
			check_field(vi->dim_params[d], model_name,
						"the name of dimension %d of %s %d", d, kind, i);
	}
}

/*
 * Every text of a model that reaches a column or a function's result:
 * producer, domain, doc strings, graph name, metadata, opset domains,
 * input and output names, docs and symbolic dimensions.
 */
void
OnnxCheckModelText(const OnnxModel *model, const char *model_name)
{
	OnnxModelMeta meta;

	onnx_model_meta(model, &meta);
	check_field(meta.producer_name, model_name, "producer_name");
	check_field(meta.producer_version, model_name, "producer_version");
	check_field(meta.domain, model_name, "domain");
	check_field(meta.doc_string, model_name, "doc_string");
	check_field(meta.graph_name, model_name, "the graph name");
	check_field(meta.graph_doc, model_name, "the graph doc_string");
	for (int i = 0; i < meta.n_props; i++)
	{
		check_field(meta.prop_keys[i], model_name, "metadata key %d", i);
		check_field(meta.prop_values[i], model_name, "metadata value %d", i);
	}
	for (int i = 0; i < meta.n_opsets; i++)
		check_field(meta.opsets[i].domain, model_name, "opset domain %d", i);
	check_infos(model, true, model_name);
	check_infos(model, false, model_name);
}

/*
 * Every string of an engine output (string tensors, map keys, the items
 * of sequences and optionals) must be valid UTF-8 before it is output;
 * error naming the output otherwise.
 */
void
OnnxCheckOutputText(const OnnxValue *v, const char *output, const char *model_name)
{
	if ((v->kind == ONNX_VALUE_TENSOR || v->kind == ONNX_VALUE_MAP) &&
		v->tensor.dtype == ONNX_DTYPE_STRING)
	{
		char *const *strs = (char *const *) v->tensor.data;

		for (int64 i = 0; i < v->tensor.count; i++)
			if (strs[i] && !is_utf8(strs[i], strlen(strs[i])))
				ereport(ERROR,
						(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
						 errmsg("string output \"%s\" of ONNX model \"%s\" is not valid UTF-8",
								OnnxMessageText(output), model_name ? model_name : ""),
						 errdetail("Element " INT64_FORMAT " is \"%s\".", i, OnnxMessageText(strs[i]))));
	}
	for (int i = 0; i < v->n_items; i++)
		OnnxCheckOutputText(&v->items[i], output, model_name);
}

/*
 * s for an error message: valid UTF-8 is kept in a UTF-8 database, every
 * other byte that is not ASCII becomes \xNN.
 */
char *
OnnxMessageText(const char *s)
{
	StringInfoData buf;
	size_t		len;

	bool		ascii_only = GetDatabaseEncoding() != PG_UTF8;

	if (s == NULL)
		return pstrdup("");
	len = strlen(s);
	if (!ascii_only && is_utf8(s, len))
		return pstrdup(s);
	initStringInfo(&buf);
	while (*s)
	{
		int			l = pg_utf_mblen((const unsigned char *) s);

		if (!IS_HIGHBIT_SET(*s) ||
			(!ascii_only && l <= (int) strlen(s) && pg_utf8_islegal((const unsigned char *) s, l)))
		{
			appendBinaryStringInfo(&buf, s, l);
			s += l;
		}
		else
			appendStringInfo(&buf, "\\x%02x", (unsigned char) *s++);
	}
	return buf.data;
}
