/*-------------------------------------------------------------------------
 *
 * score_pushdown.c
 *	  onnx_score over a Citus distributed table: the model runs on the
 *	  workers, next to the shards.
 *
 * Left alone, Citus pulls every row of onnx_score's query to the
 * coordinator, which scores them all.  When the query reads a distributed
 * table, onnx_score runs instead
 *
 *	  SELECT onnx_score_query.*,
 *			 <extension schema>.onnx_score_row('@<sha256>', onnx_score_query.*,
 *											   ARRAY[<the query's column names>])
 *	  FROM (<query>) onnx_score_query
 *
 * which Citus pushes into each shard query: every worker scores its own
 * rows (in batches, auto_batch.c) with the very version the coordinator
 * pinned (the hash reference; a worker that lacks it raises an error),
 * binding the inputs to the named fields as onnx_score binds them to the
 * query's columns, and the coordinator only turns each row's outputs,
 * which travel as raw tensors (row_outputs_bytes.c), into the columns of
 * the definition list with the code of a local run: the answer is the
 * local answer, bit for bit.  A query Citus cannot push down as a
 * subquery is still answered correctly (Citus plans it recursively).
 *
 * The query stays on the coordinator when onnx.score_pushdown is off, when
 * Citus is not installed or the query reads no distributed table or
 * onnx_models is no reference table (the workers would not have the
 * model), when it
 * sorts or limits at its top level (the wrapped query would not keep the
 * order), and when a requested output cannot be rebuilt from the row form
 * as onnx_score returns it: a tensor whose first dimension is not dynamic,
 * or neither a tensor nor a sequence.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"

#include "onnx_ext.h"
#include "score_pushdown.h"

bool		onnx_score_pushdown = true;

/* Adds the relation of every RTE_RELATION below node to *relids. */
static bool
collect_relids(Node *node, List **relids)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, collect_relids, relids, QTW_EXAMINE_RTES_BEFORE);
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
			*relids = lappend_oid(*relids, rte->relid);
		return false;
	}
	return expression_tree_walker(node, collect_relids, relids);
}

/*
 * Whether one of relids is a Citus distributed (hash, range or append)
 * table, and onnx_models a reference table (so that the workers have the
 * model).
 */
static bool
reads_distributed_table(List *relids)
{
	Datum	   *elems;
	Oid			types[2] = {OIDARRAYOID, OIDOID};
	Datum		args[2];
	ListCell   *lc;
	int			n = 0;
	int			rc;
	bool		found;

	if (relids == NIL ||
		!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return false;
	elems = palloc(sizeof(Datum) * list_length(relids));
	foreach(lc, relids)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	args[0] = PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	args[1] = ObjectIdGetDatum(OnnxModelsRelid(false));
	rc = SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition d "
							   "WHERE d.logicalrelid OPERATOR(pg_catalog.=) ANY ($1) "
							   "AND d.partmethod OPERATOR(pg_catalog.<>) 'n' "
							   "AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition r "
							   "WHERE r.logicalrelid OPERATOR(pg_catalog.=) $2 "
							   "AND r.partmethod OPERATOR(pg_catalog.=) 'n' "
							   "AND r.repmodel OPERATOR(pg_catalog.=) 't') LIMIT 1",
							   2, types, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_partition: %s", SPI_result_code_string(rc));
	found = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	return found;
}

/* Whether output vi has one entry per row whatever the batch (see the header). */
static bool
output_pushable(const OnnxValueInfo *vi)
{
	return vi->kind == ONNX_VALUE_SEQUENCE ||
		(vi->kind == ONNX_VALUE_TENSOR && vi->rank >= 1 && vi->dims[0] < 0);
}

/*
 * Whether onnx_score should run the query of plan (prepared through SPI,
 * the caller connected) on the Citus workers, asking for the first
 * rdesc->natts - query columns outputs of model.
 */
bool
OnnxScoreOnWorkers(SPIPlanPtr plan, const OnnxModel *model, TupleDesc rdesc)
{
	List	   *sources = SPI_plan_get_plan_sources(plan);
	CachedPlanSource *ps;
	Query	   *q;
	List	   *relids = NIL;
	int			n_out_cols;

	if (!onnx_score_pushdown || list_length(sources) != 1)
		return false;
	ps = linitial(sources);
	if (list_length(ps->query_list) != 1 || ps->resultDesc == NULL)
		return false;
	q = linitial_node(Query, ps->query_list);
	if (q->commandType != CMD_SELECT || q->sortClause != NIL ||
		q->limitCount != NULL || q->limitOffset != NULL)
		return false;
	n_out_cols = rdesc->natts - ps->resultDesc->natts;
	if (n_out_cols < 1 || n_out_cols > onnx_model_output_count(model))
		return false;			/* onnx_score raises the error */
	for (int k = 0; k < n_out_cols; k++)
		if (!output_pushable(onnx_model_output(model, k)))
			return false;
	collect_relids((Node *) q, &relids);
	return reads_distributed_table(relids);
}

/*
 * The query that scores query's rows (its columns described by qdesc) on
 * the workers with the model of content hash sha256: query's columns
 * followed by one bytea column of each row's outputs (row_outputs_bytes.c;
 * NULL for a row that is not scored).
 */
char *
OnnxScoreWorkerQuery(const char *query, TupleDesc qdesc, const char *sha256)
{
	StringInfoData names;
	List	   *stmts = pg_parse_query(query);
	RawStmt    *raw;
	char	   *text;

	/* the statement's own text, without a ";" or what follows it */
	if (list_length(stmts) != 1)
		elog(ERROR, "the query of onnx_score must be a single statement");
	raw = linitial_node(RawStmt, stmts);
	text = raw->stmt_len > 0 ? pnstrdup(query + raw->stmt_location, raw->stmt_len) :
		pstrdup(query + raw->stmt_location);
	/* Citus sends the row as ROW(...): its fields are named here */
	initStringInfo(&names);
	for (int c = 0; c < qdesc->natts; c++)
		appendStringInfo(&names, "%s%s", c ? ", " : "",
						 quote_literal_cstr(NameStr(TupleDescAttr(qdesc, c)->attname)));
	/* the newline ends a trailing "--" comment */
	return psprintf("SELECT onnx_score_query.*, %s.onnx_score_row(%s, onnx_score_query.*, "
					"ARRAY[%s]::pg_catalog.text[]) FROM (%s\n) onnx_score_query",
					quote_identifier(get_namespace_name(OnnxExtensionSchema())),
					quote_literal_cstr(psprintf("@%s", sha256)), names.data, text);
}
