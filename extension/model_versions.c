/*-------------------------------------------------------------------------
 *
 * model_versions.c
 *	  Model versions: every change keeps the previous version in
 *	  onnx_model_history, a model reference may pin a version, and pinned
 *	  references are what the IMMUTABLE scoring variants use.
 *
 *	  name            the current version (onnx_models)
 *	  name@7          version 7 of name, current or kept
 *	  name@3f9a1c2b   the version of name whose SHA-256 starts with that
 *	                  (at least 6 hex digits; must be unique)
 *	  @<64 hex>       any stored version with exactly that content hash
 *	                  (the form the bytea-hash functions use)
 *
 * The history is written by the validation trigger of onnx_models (see
 * OnnxArchiveVersion) as the owner of onnx_model_history, as PostgreSQL's
 * own referential-integrity triggers act as a table's owner: whoever may
 * change onnx_models changes its history with it, and nobody writes the
 * history directly without a GRANT.  Reading versions needs SELECT on
 * onnx_model_history as well as on onnx_models.  onnx.max_model_versions
 * bounds the kept versions per model (oldest dropped first).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "onnx_ext.h"

int			onnx_max_model_versions = 10;

/* The GUC: kept versions per model. */
void
OnnxVersionsInit(void)
{
	DefineCustomIntVariable("onnx.max_model_versions",
							"Previous versions kept per model in onnx_model_history.",
							"The oldest beyond it are deleted when a model changes; -1 keeps all.  "
							"Only superusers can change it.",
							&onnx_max_model_versions, 10, -1, INT_MAX, PGC_SUSET, 0,
							NULL, NULL, NULL);
}

/* Schema-qualified name of an extension relation, for SQL text. */
static char *
ext_rel(const char *relname)
{
	return psprintf("%s.%s", quote_identifier(get_namespace_name(OnnxExtensionSchema())),
					relname);
}

/*
 * Parse a model reference into its name and pin (see the file header).
 * *version is 0 and *sha_prefix "" for the current version.  Errors
 * describe what a reference may be.
 */
void
OnnxParseModelRef(const char *ref, char *name, size_t name_len, int *version,
				  char *sha_prefix, size_t prefix_len)
{
	const char *at = strrchr(ref, '@');
	size_t		n;
	bool		digits = true,
				hex = true;

	*version = 0;
	sha_prefix[0] = '\0';
	if (at == NULL)
	{
		strlcpy(name, ref, name_len);
		return;
	}
	n = strlen(at + 1);
	for (const char *p = at + 1; *p; p++)
	{
		digits &= (*p >= '0' && *p <= '9');
		hex &= ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
	}
	if (at == ref)
		digits = false;			/* "@" and a whole hash, which may be all digits */
	if (n == 0 || !hex || (!digits && n < 6) || n > 64 || (digits && n > 9) ||
		(at == ref && n != 64) || (size_t) (at - ref) >= name_len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ONNX model reference \"%s\"", ref),
				 errdetail("A reference is a name, name@version, name@ followed by 6 to 64 lower-case "
						   "hex digits of the content hash, or @ followed by all 64.")));
	memcpy(name, ref, at - ref);
	name[at - ref] = '\0';
	if (digits && at != ref)
		*version = atoi(at + 1);
	else
		strlcpy(sha_prefix, at + 1, prefix_len);
}

/*
 * SQL that finds the stored version ref points at, with the given columns
 * of onnx_models / onnx_model_history (both have name, version, sha256,
 * model, size_bytes); $1 is the name, $2 the version, $3 the hash prefix
 * (LIKE pattern).  Every name is schema-qualified.
 */
char *
OnnxModelRefQuery(const char *cols, bool pinned)
{
	char	   *models = OnnxReadTable("onnx_models");

	if (!pinned)
		return psprintf("SELECT %s FROM %s WHERE name OPERATOR(pg_catalog.=) $1", cols, models);
	return psprintf("SELECT %s FROM (SELECT name, version, sha256, model, size_bytes FROM %s "
					"UNION ALL SELECT name, version, sha256, model, size_bytes FROM %s) v "
					"WHERE ($1 OPERATOR(pg_catalog.=) '' OR name OPERATOR(pg_catalog.=) $1) "
					"AND ($2 OPERATOR(pg_catalog.=) 0 OR version OPERATOR(pg_catalog.=) $2) "
					"AND sha256 OPERATOR(pg_catalog.~~) $3 LIMIT 2",
					cols, models, OnnxReadTable("onnx_model_history"));
}

/*
 * Run fn with the current user switched to the owner of relation relid,
 * as referential-integrity checks do (no other security context).
 */
static void
as_owner_of(Oid relid, void (*fn) (void *), void *arg)
{
	Oid			save_userid;
	int			save_sec;
	Relation	rel = relation_open(relid, AccessShareLock);
	Oid			owner = rel->rd_rel->relowner;

	relation_close(rel, AccessShareLock);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);
	PG_TRY();
	{
		fn(arg);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}

typedef struct ArchiveArgs
{
	Datum		values[8];			/* name, version, sha256, model, size_bytes,
								 * created_at, created_by, replaced_at */
	char		nulls[9];
} ArchiveArgs;

/* Insert the archived version and prune the history of its model. */
static void
archive_as_owner(void *arg)
{
	ArchiveArgs *a = arg;
	char	   *hist = OnnxReadTable("onnx_model_history");
	Oid			types[8] = {TEXTOID, INT4OID, TEXTOID, BYTEAOID, INT8OID, TIMESTAMPTZOID,
		NAMEOID, TIMESTAMPTZOID};
	int			rc;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args(psprintf("INSERT INTO %s (name, version, sha256, model, size_bytes, "
										"created_at, created_by, replaced_at) "
										"VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
										"ON CONFLICT DO NOTHING", hist),
							   8, types, a->values, a->nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "archiving a model version failed: %s", SPI_result_code_string(rc));
	if (onnx_max_model_versions >= 0)
	{
		Datum		pargs[2] = {a->values[0], Int32GetDatum(onnx_max_model_versions)};
		Oid			ptypes[2] = {TEXTOID, INT4OID};

		rc = SPI_execute_with_args(psprintf("DELETE FROM %s h WHERE h.name OPERATOR(pg_catalog.=) $1 "
											"AND h.version OPERATOR(pg_catalog.<=) (SELECT "
											"pg_catalog.max(version) OPERATOR(pg_catalog.-) $2 "
											"FROM %s x WHERE x.name OPERATOR(pg_catalog.=) $1)",
											hist, hist),
								   2, ptypes, pargs, NULL, false, 0);
		if (rc != SPI_OK_DELETE)
			elog(ERROR, "pruning model versions failed: %s", SPI_result_code_string(rc));
	}
	SPI_finish();
}

/*
 * Keep the version in old (a row of onnx_models, desc its layout) in the
 * history: called by the trigger when a row's model changes or the row is
 * deleted.  Pruned to onnx.max_model_versions.
 */
void
OnnxArchiveVersion(Relation models, HeapTuple old)
{
	TupleDesc	desc = RelationGetDescr(models);
	const char *cols[7] = {"name", "version", "sha256", "model", "size_bytes", "updated_at",
	"changed_by"};
	ArchiveArgs a;
	Oid			hist = get_relname_relid("onnx_model_history", RelationGetNamespace(models));

	if (!OidIsValid(hist))
		return;					/* not yet: during the 0.1.0 -> 0.2.0 update */
	memset(a.nulls, ' ', sizeof(a.nulls) - 1);
	a.nulls[8] = '\0';
	for (int i = 0; i < 7; i++)
	{
		bool		isnull;
		int			att = SPI_fnumber(desc, cols[i]);

		if (att <= 0)
			return;
		a.values[i] = heap_getattr(old, att, desc, &isnull);
		if (isnull)
			a.nulls[i] = 'n';
	}
	a.values[7] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	as_owner_of(hist, archive_as_owner, &a);
}

typedef struct NextVersionArgs
{
	Datum		name;
	int32		result;
} NextVersionArgs;

static void
next_version_as_owner(void *arg)
{
	NextVersionArgs *a = arg;
	Oid			types[1] = {TEXTOID};
	bool		isnull;
	int			rc;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args(psprintf("SELECT pg_catalog.max(version) FROM %s "
										"WHERE name OPERATOR(pg_catalog.=) $1",
										OnnxReadTable("onnx_model_history")),
							   1, types, &a->name, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading model versions failed: %s", SPI_result_code_string(rc));
	a->result = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		a->result = 0;
	SPI_finish();
}

/* The highest version of name in the history (0 if none). */
int32
OnnxLatestArchivedVersion(Relation models, Datum name)
{
	NextVersionArgs a = {name, 0};
	Oid			hist = get_relname_relid("onnx_model_history", RelationGetNamespace(models));

	if (!OidIsValid(hist))
		return 0;
	as_owner_of(hist, next_version_as_owner, &a);
	return a.result;
}

/* "@<64 hex>": the reference of the content whose SHA-256 is hash (32 bytes). */
char *
OnnxPinnedRef(bytea *hash)
{
	const unsigned char *b = (const unsigned char *) VARDATA_ANY(hash);
	char	   *ref;

	if (VARSIZE_ANY_EXHDR(hash) != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a model content hash has 32 bytes, not %d", (int) VARSIZE_ANY_EXHDR(hash)),
				 errhint("Use decode(sha256, 'hex') with the sha256 column of onnx_models or onnx_model_versions().")));
	ref = palloc(66);
	ref[0] = '@';
	for (int i = 0; i < 32; i++)
		sprintf(ref + 1 + 2 * i, "%02x", b[i]);
	return ref;
}

PG_FUNCTION_INFO_V1(onnx_rollback_model);

/*
 * onnx_rollback_model(name, version): store a kept version again as the
 * current one (a new version with the old content; the current one is
 * kept in the history as any replaced version is).
 */
Datum
onnx_rollback_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	int32		version;
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	int			rc;
	char	   *hist;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and version must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = PG_GETARG_INT32(1);
	args[0] = PG_GETARG_DATUM(0);
	args[1] = Int32GetDatum(version);
	hist = ext_rel("onnx_model_history");
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args(psprintf("UPDATE %s m SET model = h.model FROM %s h "
										"WHERE m.name OPERATOR(pg_catalog.=) $1 "
										"AND h.name OPERATOR(pg_catalog.=) $1 "
										"AND h.version OPERATOR(pg_catalog.=) $2",
										ext_rel("onnx_models"), hist),
							   2, types, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "rolling back a model failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ONNX model \"%s\" has no kept version %d", name, version),
				 errhint("onnx_model_versions(name) lists the versions; a dropped model is created again "
						 "with onnx_create_model(name, (SELECT model FROM onnx_model_history ...)).")));
	SPI_finish();
	PG_RETURN_VOID();
}
