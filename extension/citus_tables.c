/*-------------------------------------------------------------------------
 *
 * citus_tables.c
 *	  onnx_models and onnx_model_history as Citus reference tables.
 *
 * With Citus, every node (the coordinator included, once it is in the
 * metadata) holds a placement of each reference table, a local table named
 * <table>_<shardid>, while the table itself is an empty shell that Citus
 * routes queries through.  Reading a model through the shell from inside a
 * shard query on a worker would need nested distributed execution, so the
 * extension reads the local placement directly when there is one; writes by
 * the management functions still go through the shell, so that Citus
 * changes every placement in one distributed transaction.  The validation
 * trigger fires on each placement: it accepts a placement of onnx_models
 * (same schema, name onnx_models_<shardid>, and the column types its checks
 * demand), archives old versions into the local placement of the history,
 * and invalidates the shell's relcache entry, which is what the session
 * caches of every node listen to.
 *
 * Without Citus (no pg_dist_shard), every name is the table's own.  The
 * lookup is cached per backend until the next relcache invalidation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "onnx_ext.h"

typedef struct LocalName
{
	const char *table;
	char		name[NAMEDATALEN];	/* "" until looked up */
} LocalName;

static LocalName local_names[] = {{"onnx_models", ""}, {"onnx_model_history", ""}};
static bool callback_registered = false;

static void
forget_local_names(Datum arg, Oid relid)
{
	for (int i = 0; i < (int) lengthof(local_names); i++)
		local_names[i].name[0] = '\0';
}

/*
 * The name (unqualified) of the local placement of extension table
 * "table" in schema, or of the table itself when it is no Citus table or
 * this node holds no placement.
 */
static const char *
local_name(const char *table, Oid schema)
{
	LocalName  *ln = NULL;

	for (int i = 0; i < (int) lengthof(local_names); i++)
		if (strcmp(local_names[i].table, table) == 0)
			ln = &local_names[i];
	if (ln == NULL)
		return table;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(forget_local_names, (Datum) 0);
		callback_registered = true;
	}
	if (ln->name[0] == '\0')
	{
		Oid			relid = get_relname_relid(table, schema);

		strlcpy(ln->name, table, sizeof(ln->name));
		if (OidIsValid(relid) && OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE)))
		{
			Oid			types[1] = {OIDOID};
			Datum		args[1] = {ObjectIdGetDatum(relid)};
			int			rc;

			if ((rc = SPI_connect()) != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
			rc = SPI_execute_with_args("SELECT shardid FROM pg_catalog.pg_dist_shard "
									   "WHERE logicalrelid OPERATOR(pg_catalog.=) $1",
									   1, types, args, NULL, true, 0);
			for (uint64 i = 0; rc == SPI_OK_SELECT && i < SPI_processed; i++)
			{
				char	   *placement = psprintf("%s_%s", table,
												 SPI_getvalue(SPI_tuptable->vals[i],
															  SPI_tuptable->tupdesc, 1));

				if (OidIsValid(get_relname_relid(placement, schema)))
					strlcpy(ln->name, placement, sizeof(ln->name));
			}
			SPI_finish();
		}
	}
	return ln->name;
}

/*
 * Schema-qualified name, for SQL text, to read extension table "table"
 * from: its local Citus placement when there is one.
 */
char *
OnnxReadTable(const char *table)
{
	Oid			schema = OnnxExtensionSchema();

	return psprintf("%s.%s", quote_identifier(get_namespace_name(schema)),
					quote_identifier(local_name(table, schema)));
}

/* Whether rel is onnx_models or this node's Citus placement of it. */
bool
OnnxIsModelsTable(Relation rel)
{
	Oid			models = OnnxModelsRelid(false);
	const char *relname = RelationGetRelationName(rel);
	const char *digits;

	if (RelationGetRelid(rel) == models)
		return true;
	if (RelationGetNamespace(rel) != get_rel_namespace(models) ||
		strncmp(relname, "onnx_models_", 12) != 0)
		return false;
	for (digits = relname + 12; *digits >= '0' && *digits <= '9'; digits++)
		;
	return digits > relname + 12 && *digits == '\0' &&
		strcmp(local_name("onnx_models", RelationGetNamespace(rel)), relname) == 0;
}
