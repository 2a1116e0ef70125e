/*-------------------------------------------------------------------------
 *
 * model_store.c
 *	  The onnx_models table: a row trigger that validates every inserted or
 *	  updated model and fills the metadata columns, and the functions
 *	  onnx_create_model, onnx_replace_model, onnx_drop_model and
 *	  onnx_model_info.
 *
 * Writing the table by function or by plain INSERT/UPDATE goes through the
 * same trigger, so a model that does not load (parse error, inconsistent
 * graph, unsupported operators: all listed) is refused and nothing is
 * stored.  Each change raises a relcache invalidation of onnx_models,
 * which the session caches of all backends see when the change commits.
 *
 * The functions run with the caller's privileges: ordinary GRANTs on
 * onnx_models decide who may read or change models.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "onnx_ext.h"

/* Hex SHA-256 of data. */
static char *
sha256_hex(const void *data, size_t len)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);

	if (pg_cryptohash_init(ctx) < 0 || pg_cryptohash_update(ctx, data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		sprintf(hex + 2 * i, "%02x", digest[i]);
	return hex;
}

/* Attribute number of column name of onnx_models, which must have type typid. */
static int
column(TupleDesc desc, const char *name, Oid typid)
{
	int			att = SPI_fnumber(desc, name);

	if (att <= 0 || TupleDescAttr(desc, att - 1)->atttypid != typid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table onnx_models has no column \"%s\" of type %s", name,
						format_type_be(typid)),
				 errhint("Reinstall the extension: its table was altered.")));
	return att;
}

/*
 * The version columns of a row being written (version, changed_by; absent
 * before the 0.2.0 update): a new model keeps counting after the versions
 * in the history; an update that changes the model archives the old
 * version and takes the next number; one that keeps it keeps its version.
 * Returns how many of the two columns it set.
 */
static int
set_version(TriggerData *trig, Relation rel, Datum name, const char *sha,
			int *cols, Datum *values, bool *nulls)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			vcol = SPI_fnumber(desc, "version");
	int			bycol = SPI_fnumber(desc, "changed_by");
	HeapTuple	old = TRIGGER_FIRED_BY_UPDATE(trig->tg_event) ? trig->tg_trigtuple : NULL;
	bool		isnull;
	int32		version;
	int32		given;

	if (vcol <= 0 || bycol <= 0)
		return 0;
	column(desc, "version", INT4OID);
	column(desc, "changed_by", NAMEOID);
	if (old)
	{
		char	   *old_sha = TextDatumGetCString(heap_getattr(old, column(desc, "sha256", TEXTOID),
															   desc, &isnull));
		Datum		old_name = heap_getattr(old, column(desc, "name", TEXTOID), desc, &isnull);
		int32		old_version = DatumGetInt32(heap_getattr(old, vcol, desc, &isnull));

		if (strcmp(old_sha, sha) == 0 &&
			strcmp(TextDatumGetCString(old_name), TextDatumGetCString(name)) == 0)
			return 0;			/* same model: same version, same author */
		OnnxArchiveVersion(rel, old);
		version = Max(isnull ? 0 : old_version, OnnxLatestArchivedVersion(rel, name)) + 1;
	}
	else
	{
		/* a restore brings its version numbers along */
		given = DatumGetInt32(heap_getattr(trig->tg_trigtuple, vcol, desc, &isnull));
		version = Max(isnull ? 0 : given, OnnxLatestArchivedVersion(rel, name) + 1);
	}
	cols[0] = vcol;
	values[0] = Int32GetDatum(version);
	nulls[0] = false;
	cols[1] = bycol;
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	nulls[1] = false;
	return 2;
}

PG_FUNCTION_INFO_V1(onnx_models_trigger);

/*
 * BEFORE INSERT OR UPDATE OR DELETE FOR EACH ROW on onnx_models: validate
 * the model and fill sha256, size_bytes, ir_version, opsets, producer,
 * inputs, outputs and updated_at; raise the cache invalidation.
 */
Datum
onnx_models_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	bool		isnull;
	Datum		d;
	Datum		d_name;
	char	   *name;
	bytea	   *model_bytes;
	MemoryContext tmpcxt,
				oldcxt;
	OnnxModel  *model;
	OnnxSession *session;
	OnnxSessionOptions opts;
	OnnxError	err;
	OnnxModelMeta meta;
	int			cols[10];
	Datum		values[10];
	bool		nulls[10] = {false};
	int			ncols;
	char	   *producer;
	char	   *sha;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trig->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("onnx_models_trigger must be a BEFORE ROW trigger")));
	rel = trig->tg_relation;
	/*
	 * By OID: only the extension's own table (or this node's Citus
	 * placement of it), whatever the schema or layout.
	 */
	if (!OnnxIsModelsTable(rel))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("onnx_models_trigger fires only on the table onnx_models of extension onnx"),
				 errdetail("It was fired on \"%s\".", RelationGetRelationName(rel))));
	desc = RelationGetDescr(rel);

	/*
	 * Every change, deletes included, makes cached sessions stale at commit:
	 * they listen to onnx_models itself, also when a Citus placement changed.
	 */
	CacheInvalidateRelcache(rel);
	if (RelationGetRelid(rel) != OnnxModelsRelid(false))
		CacheInvalidateRelcacheByRelid(OnnxModelsRelid(false));
	if (TRIGGER_FIRED_BY_DELETE(trig->tg_event))
	{
		/* a dropped model keeps its last version in the history */
		OnnxArchiveVersion(rel, trig->tg_trigtuple);
		return PointerGetDatum(trig->tg_trigtuple);
	}
	tuple = TRIGGER_FIRED_BY_UPDATE(trig->tg_event) ? trig->tg_newtuple : trig->tg_trigtuple;

	d_name = heap_getattr(tuple, column(desc, "name", TEXTOID), desc, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("ONNX model name must not be null")));
	name = TextDatumGetCString(d_name);
	OnnxCheckModelName(name);
	d = heap_getattr(tuple, column(desc, "model", BYTEAOID), desc, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("ONNX model \"%s\" has no model bytes", name)));
	model_bytes = DatumGetByteaPP(d);

	tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "onnx model validation",
								   ALLOCSET_DEFAULT_SIZES);
	model = OnnxLoadModelOrError(VARDATA_ANY(model_bytes), VARSIZE_ANY_EXHDR(model_bytes),
								 OnnxContextAllocator(tmpcxt), name);
	memset(&opts, 0, sizeof(opts));
	opts.threads = 1;
	if (onnx_session_create(model, &opts, &session, &err) != ONNX_OK)
		OnnxReportEngineError(&err, name);
	onnx_session_free(session);

	OnnxCheckModelText(model, name);
	onnx_model_meta(model, &meta);
	producer = OnnxModelCString(meta.producer_version && meta.producer_version[0] ?
								psprintf("%s %s", meta.producer_name, meta.producer_version) :
								meta.producer_name, "producer_name", name);
	sha = sha256_hex(VARDATA_ANY(model_bytes), VARSIZE_ANY_EXHDR(model_bytes));
	cols[0] = column(desc, "sha256", TEXTOID);
	values[0] = CStringGetTextDatum(sha);
	cols[1] = column(desc, "size_bytes", INT8OID);
	values[1] = Int64GetDatum((int64) VARSIZE_ANY_EXHDR(model_bytes));
	cols[2] = column(desc, "ir_version", INT8OID);
	values[2] = Int64GetDatum(meta.ir_version);
	cols[3] = column(desc, "opsets", JSONBOID);
	values[3] = JsonbPGetDatum(OnnxOpsetsJsonb(model));
	cols[4] = column(desc, "producer", TEXTOID);
	values[4] = CStringGetTextDatum(producer);
	nulls[4] = producer[0] == '\0';
	cols[5] = column(desc, "inputs", JSONBOID);
	values[5] = JsonbPGetDatum(OnnxValueInfosJsonb(model, true));
	cols[6] = column(desc, "outputs", JSONBOID);
	values[6] = JsonbPGetDatum(OnnxValueInfosJsonb(model, false));
	cols[7] = column(desc, "updated_at", TIMESTAMPTZOID);
	values[7] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	ncols = 8 + set_version(trig, rel, d_name, sha, &cols[8], &values[8], &nulls[8]);

	oldcxt = CurrentMemoryContext;
	onnx_model_free(model);
	MemoryContextDelete(tmpcxt);
	MemoryContextSwitchTo(oldcxt);
	tuple = heap_modify_tuple_by_cols(tuple, desc, ncols, cols, values, nulls);
	return PointerGetDatum(tuple);
}

/* Run one statement on onnx_models with (name, model/description) args. */
static uint64
exec_store_sql(const char *sql_fmt, int nargs, Oid *types, Datum *args, const char *nulls)
{
	Oid			schema = OnnxExtensionSchema();
	char	   *sql = psprintf(sql_fmt, quote_identifier(get_namespace_name(schema)));
	int			rc;
	uint64		n;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args(sql, nargs, types, args, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "updating onnx_models failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	SPI_finish();
	return n;
}

static bool
model_exists(Datum name)
{
	Oid			types[1] = {TEXTOID};

	return exec_store_sql("SELECT 1 FROM %s.onnx_models WHERE name OPERATOR(pg_catalog.=) $1", 1, types, &name, NULL) > 0;
}

PG_FUNCTION_INFO_V1(onnx_create_model);

/* onnx_create_model(name, model, description): validate and store. */
Datum
onnx_create_model(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTOID, BYTEAOID, TEXTOID};
	Datum		args[3];
	char		nulls[4] = "   ";

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and model bytes must not be null")));
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	nulls[2] = PG_ARGISNULL(2) ? 'n' : ' ';
	if (model_exists(args[0]))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("ONNX model \"%s\" already exists", TextDatumGetCString(args[0])),
				 errhint("Use onnx_replace_model() to change it.")));
	exec_store_sql("INSERT INTO %s.onnx_models (name, model, description) VALUES ($1, $2, $3)",
				   3, types, args, nulls);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(onnx_replace_model);

/* onnx_replace_model(name, model): validate and swap in this transaction. */
Datum
onnx_replace_model(PG_FUNCTION_ARGS)
{
	Oid			types[2] = {TEXTOID, BYTEAOID};
	Datum		args[2];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and model bytes must not be null"),
				 errhint("pg_read_binary_file(path, true) gives null for a missing file.")));
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PG_GETARG_DATUM(1);

	if (exec_store_sql("UPDATE %s.onnx_models SET model = $2 WHERE name OPERATOR(pg_catalog.=) $1",
					   2, types, args, NULL) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ONNX model \"%s\" does not exist", TextDatumGetCString(args[0]))));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(onnx_drop_model);

/* onnx_drop_model(name): remove. */
Datum
onnx_drop_model(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be null")));
	args[0] = PG_GETARG_DATUM(0);
	if (exec_store_sql("DELETE FROM %s.onnx_models WHERE name OPERATOR(pg_catalog.=) $1", 1, types, args, NULL) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ONNX model \"%s\" does not exist", TextDatumGetCString(args[0]))));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(onnx_model_info);

/* onnx_model_info(name): metadata, inputs and outputs as jsonb. */
Datum
onnx_model_info(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	OnnxCacheEntry *e = OnnxCacheGet(name);

	PG_RETURN_JSONB_P(OnnxModelInfoJsonb(e->model, name));
}
