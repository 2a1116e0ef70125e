/*-------------------------------------------------------------------------
 *
 * row_outputs_bytes.c
 *	  The outputs of one scored row as bytes: what onnx_score_row returns on
 *	  a Citus worker and onnx_score reads back on the coordinator
 *	  (score_pushdown.c), exactly, without a text round trip.
 *
 * Layout (native byte order; the magic number tells a reader of the other
 * order that it cannot read it):
 *	  uint32 magic, uint32 number of outputs, then per output in the
 *	  model's order:
 *		uint32 ROW_OUT_TENSOR, int32 dtype, int32 rank, int64 dims[rank]
 *			(dims[0] is the row: 1), then the values: count * element size
 *			bytes, or for strings per value uint32 length and its bytes;
 *		uint32 ROW_OUT_JSON, uint32 length, JSON text (in the server
 *			encoding): an output that is a sequence of one item per row,
 *			the item as onnx_score returns it in a jsonb column;
 *		uint32 ROW_OUT_NOT_PER_ROW: an output without one entry per row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "json_tensor.h"
#include "onnx_ext.h"
#include "row_outputs_bytes.h"

#define ROW_OUT_MAGIC 0x4F4E5852	/* "ONXR" */
#define ROW_OUT_TENSOR 1
#define ROW_OUT_JSON 2
#define ROW_OUT_NOT_PER_ROW 3

static void
put_u32(StringInfo buf, uint32 v)
{
	appendBinaryStringInfo(buf, (char *) &v, sizeof(v));
}

/*
 * The n outputs of a one-row run (each a tensor whose first dimension is
 * that row, or a sequence of one item) as a bytea; strings are checked
 * UTF-8 (OnnxCheckOutputText) and stored as the engine has them.
 */
bytea *
OnnxRowOutputsToBytes(int n, const char *const *names, const OnnxValue *outs,
					  const char *model_name)
{
	StringInfoData buf;
	bytea	   *result;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	put_u32(&buf, ROW_OUT_MAGIC);
	put_u32(&buf, (uint32) n);
	for (int k = 0; k < n; k++)
	{
		const OnnxValue *v = &outs[k];

		OnnxCheckOutputText(v, names[k], model_name);
		if (v->kind == ONNX_VALUE_SEQUENCE && v->n_items == 1)
		{
			StringInfoData json;

			initStringInfo(&json);
			OnnxValueToJson(&json, &v->items[0]);
			put_u32(&buf, ROW_OUT_JSON);
			put_u32(&buf, (uint32) json.len);
			appendBinaryStringInfo(&buf, json.data, json.len);
		}
		else if (v->kind == ONNX_VALUE_TENSOR && v->tensor.rank >= 1 && v->tensor.dims[0] == 1)
		{
			const OnnxTensor *t = &v->tensor;
			int32		dtype = (int32) t->dtype;
			int32		rank = (int32) t->rank;

			put_u32(&buf, ROW_OUT_TENSOR);
			appendBinaryStringInfo(&buf, (char *) &dtype, sizeof(dtype));
			appendBinaryStringInfo(&buf, (char *) &rank, sizeof(rank));
			appendBinaryStringInfo(&buf, (char *) t->dims, sizeof(int64) * rank);
			if (t->dtype == ONNX_DTYPE_STRING)
				for (int64 i = 0; i < t->count; i++)
				{
					const char *s = ((char *const *) t->data)[i];
					size_t		len = strlen(s);

					put_u32(&buf, (uint32) len);
					appendBinaryStringInfo(&buf, s, (int) len);
				}
			else
				appendBinaryStringInfo(&buf, t->data, (int) (t->count * onnx_dtype_size(t->dtype)));
		}
		else
			put_u32(&buf, ROW_OUT_NOT_PER_ROW);
	}
	result = (bytea *) buf.data;
	SET_VARSIZE(result, buf.len);
	return result;
}

typedef struct Reader
{
	const char *p;
	const char *end;
} Reader;

/* Raises an error unless n more bytes are there. */
static void
need(const Reader *r, size_t n)
{
	if ((size_t) (r->end - r->p) < n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the outputs of a row scored on a Citus worker are truncated")));
}

/* The next n bytes into dst. */
static void
take(Reader *r, void *dst, size_t n)
{
	need(r, n);
	memcpy(dst, r->p, n);
	r->p += n;
}

static uint32
take_u32(Reader *r)
{
	uint32		v;

	take(r, &v, sizeof(v));
	return v;
}

/*
 * The first n outputs of a row's outputs in bytes, in one pass: vals[k] a
 * tensor whose first dimension is the row (its data palloc'd), or for a
 * sequence item kind ONNX_VALUE_SEQUENCE with jsons[k] its JSON text;
 * per_row[k] false for an output without one entry per row.  Every length
 * is checked against the bytes.
 */
void
OnnxRowOutputsFromBytes(bytea *bytes, int n, OnnxValue *vals, char **jsons, bool *per_row)
{
	Reader		r = {VARDATA_ANY(bytes), VARDATA_ANY(bytes) + VARSIZE_ANY_EXHDR(bytes)};
	uint32		count;

	if (take_u32(&r) != ROW_OUT_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the outputs of a row scored on a Citus worker are not in this server's format"),
				 errdetail("The worker may run another version of the extension or byte order.")));
	count = take_u32(&r);
	if ((uint32) n > count)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("a row scored on a Citus worker has %u outputs, %d were asked for", count, n)));
	for (int k = 0; k < n; k++)
	{
		OnnxValue  *v = &vals[k];
		uint32		kind = take_u32(&r);

		memset(v, 0, sizeof(*v));
		jsons[k] = NULL;
		per_row[k] = true;
		if (kind == ROW_OUT_JSON)
		{
			uint32		len = take_u32(&r);
			char	   *text;

			need(&r, len);
			text = palloc(len + 1);
			take(&r, text, len);
			text[len] = '\0';
			v->kind = ONNX_VALUE_SEQUENCE;
			jsons[k] = text;
		}
		else if (kind == ROW_OUT_TENSOR)
		{
			OnnxTensor *t = &v->tensor;
			int32		dtype,
						rank;
			int64		nvals = 1;
			size_t		esize;

			take(&r, &dtype, sizeof(dtype));
			take(&r, &rank, sizeof(rank));
			esize = onnx_dtype_size((OnnxDType) dtype);
			if (rank < 1 || rank > ONNX_MAX_RANK || esize == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("a row scored on a Citus worker has an output of dtype %d and rank %d",
								dtype, rank)));
			t->dtype = (OnnxDType) dtype;
			t->rank = rank;
			take(&r, t->dims, sizeof(int64) * rank);
			for (int d = 0; d < rank; d++)
				if (t->dims[d] < 0 || pg_mul_s64_overflow(nvals, t->dims[d], &nvals) ||
					nvals > (int64) MaxAllocHugeSize)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("a row scored on a Citus worker has an output of an invalid shape")));
			if (t->dims[0] != 1)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("a row scored on a Citus worker has an output for " INT64_FORMAT " rows",
								t->dims[0])));
			t->count = nvals;
			if (t->dtype == ONNX_DTYPE_STRING)
			{
				char	  **strs = palloc0(sizeof(char *) * Max(nvals, 1));

				for (int64 i = 0; i < nvals; i++)
				{
					uint32		len = take_u32(&r);

					need(&r, len);
					strs[i] = palloc(len + 1);
					take(&r, strs[i], len);
					strs[i][len] = '\0';
				}
				t->data = strs;
			}
			else
			{
				size_t		nbytes = (size_t) nvals * esize;

				need(&r, nbytes);
				t->data = palloc(Max(nbytes, 1));
				take(&r, t->data, nbytes);
			}
			t->nbytes = (size_t) nvals * esize;
			v->kind = ONNX_VALUE_TENSOR;
		}
		else if (kind == ROW_OUT_NOT_PER_ROW)
			per_row[k] = false;
		else
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("a row scored on a Citus worker has an output of unknown kind %u", kind)));
	}
}
