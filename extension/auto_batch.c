/*-------------------------------------------------------------------------
 *
 * auto_batch.c
 *	  The planner hook of auto-batching.  After standard planning, calls of
 *	  onnx_predict, onnx_run and onnx_run_row on a constant model name or
 *	  content hash (or a parameter) that a plan node evaluates once per
 *	  row are handed to an OnnxBatch custom scan node (batch_scan.c), which evaluates them
 *	  for many rows in one engine run.  The plan is otherwise the one
 *	  standard planning chose; the node's layout is in auto_batch.h.
 *
 * Where the node goes:
 *	- above a scan, a join or a projecting Result node N whose target list
 *	  or filter calls the functions.  N keeps its filters up to the first
 *	  one with a batched call and computes the calls' arguments and the
 *	  parts of its target list that need no call; the node above computes
 *	  the calls, the remaining filters and the target list, row by row in
 *	  the same order, so its output is N's.  When filters moved, the node
 *	  below passes up only the Vars the moved expressions read (evaluating
 *	  more there would run it for rows a moved filter removes).
 *	- between an Agg and its input, for calls in aggregate arguments
 *	  (aggregates without FILTER, which evaluate their arguments for every
 *	  input row).
 *
 * What is batched keeps per-row semantics:
 *	- only calls every row evaluates: not under CASE, COALESCE, AND/OR
 *	  after their first operand and the like, and not inside a call;
 *	- arguments must be stable (no volatile function) and not return sets;
 *	  the model name (and output names) must be the same for every row: a
 *	  constant or a parameter of the statement;
 *	- a call that a moved filter guards (needed by a later filter or the
 *	  target list) is batched only when its arguments cannot fail for rows
 *	  the filter would have removed (OnnxExprIsSpeculationSafe), unless the
 *	  same call is needed before that filter anyway;
 *	- no node is placed where mark/restore is needed (inner side of a merge
 *	  join), and a scrollable cursor's plan gets a Material on top if the
 *	  node took its backward scan away.
 * Anything else stays with its node and runs per row, silently.
 *
 * The node reads rows ahead of the node above (a batch at a time); under a
 * constant LIMIT its first batch holds only as many rows as the LIMIT
 * needs.  Under Gather or Gather Merge it runs in every worker, marked
 * parallel-aware only to share its statistics for EXPLAIN ANALYZE.
 *
 * The hook works on plans made after the library was loaded:
 * shared_preload_libraries or session_preload_libraries load it before
 * the first query; otherwise the first call of an onnx function in the
 * session loads it, and the statements after that are batched.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "auto_batch.h"

static planner_hook_type prev_planner_hook = NULL;

/* Kinds of the functions seen, by OID; reset when pg_proc changes. */
typedef struct KindEntry
{
	Oid			funcid;
	OnnxCallKind kind;
} KindEntry;

static HTAB *kind_cache = NULL;
static bool kind_cache_valid = false;

static void
kind_cache_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	kind_cache_valid = false;
}

/* The kind of a function from its pg_proc row: a C function of this library. */
static OnnxCallKind
lookup_kind(Oid funcid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	OnnxCallKind kind = ONNX_CALL_NONE;
	Datum		d;
	bool		isnull;

	if (!HeapTupleIsValid(tup))
		return ONNX_CALL_NONE;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	if (proc->prolang == ClanguageId && !proc->proretset)
	{
		d = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_probin, &isnull);
		if (!isnull)
		{
			char	   *bin = TextDatumGetCString(d);
			char	   *base = strrchr(bin, '/');

			base = base ? base + 1 : bin;
			d = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc, &isnull);
			if (!isnull && (strcmp(base, "onnx") == 0 || strcmp(base, "onnx.so") == 0) &&
				proc->pronargs >= 2)
			{
				char	   *src = TextDatumGetCString(d);
				Oid			first = proc->proargtypes.values[0];
				int			nargs = proc->pronargs;

				if (first == TEXTOID && nargs == 2 && strcmp(src, "onnx_predict") == 0)
					kind = ONNX_CALL_PREDICT;
				else if (first == TEXTOID && nargs == 3 && strcmp(src, "onnx_predict_output") == 0)
					kind = ONNX_CALL_PREDICT_OUTPUT;
				else if (first == TEXTOID && nargs == 2 && strcmp(src, "onnx_run") == 0)
					kind = ONNX_CALL_RUN;
				else if (first == TEXTOID && nargs == 3 && strcmp(src, "onnx_run") == 0)
					kind = ONNX_CALL_RUN_OUTPUTS;
				else if (first == TEXTOID && nargs == 2 && strcmp(src, "onnx_run_row") == 0)
					kind = ONNX_CALL_RUN_ROW;
				else if (first == TEXTOID && nargs == 3 && strcmp(src, "onnx_score_row") == 0)
					kind = ONNX_CALL_SCORE_ROW;
				else if (first == BYTEAOID && nargs == 2 && strcmp(src, "onnx_predict_pinned") == 0)
					kind = ONNX_CALL_PREDICT_PINNED;
				else if (first == BYTEAOID && nargs == 2 && strcmp(src, "onnx_run_pinned") == 0)
					kind = ONNX_CALL_RUN_PINNED;
			}
		}
	}
	ReleaseSysCache(tup);
	return kind;
}

/* Which of the batched functions funcid is (ONNX_CALL_NONE: none). */
OnnxCallKind
OnnxCallKindOf(Oid funcid)
{
	KindEntry  *e;
	OnnxCallKind kind;

	if (!kind_cache_valid && kind_cache != NULL)
	{
		hash_destroy(kind_cache);
		kind_cache = NULL;
	}
	if (kind_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(KindEntry);
		ctl.hcxt = TopMemoryContext;
		kind_cache = hash_create("onnx batched functions", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		kind_cache_valid = true;
	}
	e = hash_search(kind_cache, &funcid, HASH_FIND, NULL);
	if (e)
		return e->kind;
	kind = lookup_kind(funcid);
	/* an invalidation while looking: do not keep what was read */
	if (kind_cache_valid)
	{
		e = hash_search(kind_cache, &funcid, HASH_ENTER, NULL);
		e->kind = kind;
	}
	return kind;
}

static bool
contain_onnx_call_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr) && OnnxCallKindOf(((FuncExpr *) node)->funcid) != ONNX_CALL_NONE)
		return true;
	return expression_tree_walker(node, contain_onnx_call_walker, context);
}

/* Whether expr calls one of the batched functions anywhere. */
static bool
contain_onnx_call(Node *expr)
{
	return contain_onnx_call_walker(expr, NULL);
}

/*
 * A model or output name argument that is the same for every row: a
 * constant or a parameter (of the statement, an initplan's result, or a
 * nested loop's outer value: fixed until the node is rescanned).
 */
static bool
is_row_invariant(Node *arg)
{
	while (arg && IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	return arg != NULL && (IsA(arg, Const) || IsA(arg, Param));
}

static bool
unsafe_walker(Node *node, void *context)
{
	Oid			funcid = InvalidOid;

	if (node == NULL)
		return false;
	switch (nodeTag(node))
	{
		case T_Var:
		case T_Const:
		case T_List:
		case T_RelabelType:
		case T_BoolExpr:
		case T_NullTest:
		case T_BooleanTest:
		case T_CaseExpr:
		case T_CaseWhen:
		case T_CaseTestExpr:
		case T_CoalesceExpr:
		case T_FieldSelect:
			break;
		case T_Param:
			/* a PARAM_EXEC may run an initplan */
			return ((Param *) node)->paramkind != PARAM_EXTERN;
		case T_SubscriptingRef:
			{
				SubscriptingRef *sr = (SubscriptingRef *) node;

				/* array element fetches: NULL when out of range */
				if (sr->refassgnexpr != NULL || !OidIsValid(get_element_type(sr->refcontainertype)))
					return true;
				break;
			}
		case T_FuncExpr:
			if (((FuncExpr *) node)->funcretset)
				return true;
			funcid = ((FuncExpr *) node)->funcid;
			break;
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			set_opfuncid((OpExpr *) node);
			funcid = ((OpExpr *) node)->opfuncid;
			break;
		case T_ScalarArrayOpExpr:
			set_sa_opfuncid((ScalarArrayOpExpr *) node);
			funcid = ((ScalarArrayOpExpr *) node)->opfuncid;
			break;
		default:
			return true;
	}
	/* leakproof functions raise no error that depends on their input */
	if (OidIsValid(funcid) &&
		(!get_func_leakproof(funcid) || func_volatile(funcid) == PROVOLATILE_VOLATILE))
		return true;
	return expression_tree_walker(node, unsafe_walker, context);
}

/*
 * Whether evaluating expr for a row cannot fail nor have an effect: Vars,
 * constants, statement parameters, leakproof stable functions and
 * operators, array element fetches and conditionals over them.  Such an
 * expression may be evaluated for rows ahead of their turn.
 */
bool
OnnxExprIsSpeculationSafe(Node *expr)
{
	return !unsafe_walker(expr, NULL);
}

/* ---- finding the calls to batch ---- */

typedef struct FoundCall
{
	FuncExpr   *expr;			/* the call in the plan (pointer identity) */
	OnnxCallKind kind;
	int			stage;
	bool		safe_args;		/* its arguments may be evaluated ahead */
} FoundCall;

typedef struct FindContext
{
	List	   *found;			/* FoundCall * */
	int			stage;
	bool		conditional;	/* below a node that may skip evaluation */
	bool		in_node;		/* arguments evaluated by the batch node itself */
} FindContext;

/* Whether a call can be batched at all (its position aside). */
static OnnxCallKind
batchable_kind(FuncExpr *f, FindContext *ctx, bool *safe_args)
{
	OnnxCallKind kind = OnnxCallKindOf(f->funcid);
	Node	   *data;

	if (kind == ONNX_CALL_NONE || f->funcretset || list_length(f->args) < 2)
		return ONNX_CALL_NONE;
	if (!is_row_invariant(linitial(f->args)))
		return ONNX_CALL_NONE;
	if (list_length(f->args) > 2 && !is_row_invariant(lthird(f->args)))
		return ONNX_CALL_NONE;
	data = lsecond(f->args);
	if (contain_onnx_call(data) || contain_volatile_functions(data) ||
		expression_returns_set(data))
		return ONNX_CALL_NONE;
	if (ctx->in_node && contain_subplans(data))
		return ONNX_CALL_NONE;
	if ((kind == ONNX_CALL_RUN_ROW || kind == ONNX_CALL_SCORE_ROW) &&
		!type_is_rowtype(exprType(data)))
		return ONNX_CALL_NONE;	/* the per-row call's error */
	*safe_args = OnnxExprIsSpeculationSafe(data);
	return kind;
}

static bool find_walker(Node *node, FindContext *ctx);

/* Walk node with ctx->conditional set to cond, then restore it. */
static void
find_in(Node *node, FindContext *ctx, bool cond)
{
	bool		save = ctx->conditional;

	ctx->conditional = save || cond;
	find_walker(node, ctx);
	ctx->conditional = save;
}

/*
 * Collect the batchable calls of an expression that every evaluation of
 * it evaluates.  Nodes whose operands are all evaluated are walked as
 * they are; for those that stop early only the first operand counts; the
 * inside of any other node is left alone.
 */
static bool
find_walker(Node *node, FindContext *ctx)
{
	if (node == NULL)
		return false;
	check_stack_depth();
	switch (nodeTag(node))
	{
		case T_FuncExpr:
			{
				FuncExpr   *f = (FuncExpr *) node;
				bool		safe = false;
				OnnxCallKind kind;

				if (!ctx->conditional && (kind = batchable_kind(f, ctx, &safe)) != ONNX_CALL_NONE)
				{
					FoundCall  *fc = palloc0(sizeof(FoundCall));

					fc->expr = f;
					fc->kind = kind;
					fc->stage = ctx->stage;
					fc->safe_args = safe;
					ctx->found = lappend(ctx->found, fc);
					return false;
				}
				/* a function evaluates all its arguments (strict or not) */
				return expression_tree_walker(node, find_walker, ctx);
			}
		case T_BoolExpr:
			{
				BoolExpr   *b = (BoolExpr *) node;
				ListCell   *lc;

				foreach(lc, b->args)
					find_in(lfirst(lc), ctx, b->boolop != NOT_EXPR && lc != list_head(b->args));
				return false;
			}
		case T_CaseExpr:
			{
				CaseExpr   *c = (CaseExpr *) node;

				find_in((Node *) c->arg, ctx, false);
				if (c->args != NIL)
					find_in((Node *) ((CaseWhen *) linitial(c->args))->expr, ctx, false);
				return false;
			}
		case T_CoalesceExpr:
			find_in((Node *) linitial(((CoalesceExpr *) node)->args), ctx, false);
			return false;
		case T_SubscriptingRef:
			/* subscripts are skipped when the container is NULL */
			find_in((Node *) ((SubscriptingRef *) node)->refexpr, ctx, false);
			return false;
		case T_List:
		case T_TargetEntry:
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
		case T_ScalarArrayOpExpr:
		case T_RelabelType:
		case T_CoerceViaIO:
		case T_ArrayCoerceExpr:
		case T_ConvertRowtypeExpr:
		case T_CollateExpr:
		case T_ArrayExpr:
		case T_RowExpr:
		case T_FieldSelect:
		case T_NullTest:
		case T_BooleanTest:
		case T_CoerceToDomain:
		case T_MinMaxExpr:
			return expression_tree_walker(node, find_walker, ctx);
		default:
			return false;
	}
}

/*
 * Group the found calls: equal calls share one result column; a group's
 * stage is its earliest.  A group whose stage is after the first is kept
 * only if its arguments may be evaluated ahead.  Returns the groups (one
 * FoundCall each, its expr the first of the group); *members gets, for
 * every kept FoundCall, its group index (-1 when dropped), in the order
 * of found.
 */
static List *
group_calls(List *found, int **members)
{
	List	   *groups = NIL;
	ListCell   *lc;
	int			i = 0;

	*members = palloc(sizeof(int) * (list_length(found) + 1));
	foreach(lc, found)
	{
		FoundCall  *fc = lfirst(lc);
		int			g = 0;
		ListCell   *lg;

		(*members)[i] = -1;
		foreach(lg, groups)
		{
			FoundCall  *gc = lfirst(lg);

			if (equal(gc->expr, fc->expr))
			{
				(*members)[i] = g;
				gc->stage = Min(gc->stage, fc->stage);
				break;
			}
			g++;
		}
		if ((*members)[i] < 0)
		{
			FoundCall  *gc = palloc(sizeof(FoundCall));

			*gc = *fc;
			groups = lappend(groups, gc);
			(*members)[i] = list_length(groups) - 1;
		}
		i++;
	}
	/* drop groups that a moved filter guards, whose arguments may fail */
	i = 0;
	foreach(lc, groups)
	{
		FoundCall  *gc = lfirst(lc);

		if (gc->stage > 0 && !gc->safe_args)
		{
			for (int k = 0; k < list_length(found); k++)
				if ((*members)[k] == i)
					(*members)[k] = -2;
			gc->kind = ONNX_CALL_NONE;
		}
		i++;
	}
	return groups;
}

/* ---- building the node ---- */

typedef struct BatchPlanner
{
	int			next_plan_id;	/* plan_node_id of the next new node */
	bool		changed;
} BatchPlanner;

/* Position of pointer p in list l, or -1. */
static int
ptr_index(List *l, void *p)
{
	ListCell   *lc;

	foreach(lc, l)
		if (lfirst(lc) == p)
			return foreach_current_index(lc);
	return -1;
}

/* Var of result column attno (1-based) of the scan tuple, typed as expr. */
static Var *
var_for(int varno, int attno, Node *expr)
{
	return makeVar(varno, attno, exprType(expr), exprTypmod(expr), exprCollation(expr), 0);
}

/*
 * The OnnxBatch node over child.  calls are the kept groups (FoundCall,
 * kind NONE skipped is not allowed here), scan_tlist the scan tuple.
 */
static Plan *
make_batch_node(BatchPlanner *bp, Plan *child, List *scan_tlist, List *tlist, List *qual,
				List *calls, int nchild, int64 bound, bool parallel,
				Bitmapset *extParam, Bitmapset *allParam)
{
	CustomScan *cs = makeNode(CustomScan);
	Plan	   *p = &cs->scan.plan;
	List	   *priv;
	ListCell   *lc;

	p->startup_cost = child->startup_cost;
	p->total_cost = child->total_cost;
	p->plan_rows = child->plan_rows;
	p->plan_width = child->plan_width;
	p->parallel_aware = parallel;
	p->parallel_safe = child->parallel_safe;
	p->plan_node_id = bp->next_plan_id++;
	p->targetlist = tlist;
	p->qual = qual;
	p->lefttree = child;
	p->extParam = extParam;
	p->allParam = allParam;
	cs->scan.scanrelid = 0;
	cs->flags = 0;
	cs->custom_scan_tlist = scan_tlist;
	priv = list_make3(makeInteger((int) Min(Max(bound, 0), INT_MAX)), makeInteger(nchild),
					  makeInteger(list_length(calls)));
	foreach(lc, calls)
	{
		FoundCall  *gc = lfirst(lc);

		priv = lappend(priv, makeInteger((int) gc->kind));
		priv = lappend(priv, makeInteger(gc->stage));
	}
	cs->custom_private = priv;
	cs->methods = &OnnxBatchScanMethods;
	bp->changed = true;
	return (Plan *) cs;
}

/* ---- above a scan, join or Result ---- */

typedef struct SkeletonContext
{
	List	   *calls;			/* FuncExpr pointers to replace */
	int		   *groups;			/* their group (result column) */
	List	   *kept;			/* kept groups, FoundCall */
	List	   *pushed;			/* expressions the node below computes */
	bool		subtrees;		/* push call-free subtrees, not only Vars */
	bool		failed;			/* something cannot move up */
} SkeletonContext;

/* Index (1-based) of expr among the pushed expressions, adding it. */
static int
push_expr(SkeletonContext *ctx, Node *expr)
{
	int			i = 1;
	ListCell   *lc;

	foreach(lc, ctx->pushed)
	{
		if (equal(lfirst(lc), expr))
			return i;
		i++;
	}
	ctx->pushed = lappend(ctx->pushed, copyObject(expr));
	return list_length(ctx->pushed);
}

static bool
placeholder_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, CaseTestExpr) || IsA(node, CoerceToDomainValue) || IsA(node, SetToDefault))
		return true;
	return expression_tree_walker(node, placeholder_walker, context);
}

/*
 * Whether expr holds a placeholder for a value its enclosing node supplies
 * (an array coercion's element, a CASE's test value, a domain's value):
 * it means nothing outside that node, so it cannot move below.
 */
static bool
contain_placeholder(Node *expr)
{
	return placeholder_walker(expr, NULL);
}

static bool
contains_call_walker(Node *node, SkeletonContext *ctx)
{
	if (node == NULL)
		return false;
	if (ptr_index(ctx->calls, node) >= 0)
		return true;
	return expression_tree_walker(node, contains_call_walker, ctx);
}

/*
 * The expression as the batch node evaluates it: batched calls become
 * result columns (Vars of INDEX_VAR with negative attnos, fixed once the
 * pushed columns are counted), what the node below computes becomes its
 * column, the rest stays.
 */
static Node *
skeleton_mutator(Node *node, SkeletonContext *ctx)
{
	int			i;

	if (node == NULL)
		return NULL;
	if ((i = ptr_index(ctx->calls, node)) >= 0)
		return (Node *) var_for(INDEX_VAR, -(ctx->groups[i] + 1), node);
	if (IsA(node, Const))
		return copyObject(node);
	if (IsA(node, Var))
		return (Node *) var_for(INDEX_VAR, push_expr(ctx, node), node);
	/* parts of an expression, not expressions: only their contents move */
	if (IsA(node, List) || IsA(node, CaseWhen) || IsA(node, TargetEntry))
		return expression_tree_mutator(node, skeleton_mutator, ctx);
	if (ctx->subtrees && !IsA(node, Param) && !contains_call_walker(node, ctx) &&
		!contain_volatile_functions(node) && !contain_placeholder(node))
		return (Node *) var_for(INDEX_VAR, push_expr(ctx, node), node);
	if (IsA(node, SubPlan) || IsA(node, AlternativeSubPlan) || IsA(node, Aggref) ||
		IsA(node, WindowFunc) || IsA(node, GroupingFunc) || IsA(node, PlaceHolderVar))
	{
		ctx->failed = true;
		return node;
	}
	return expression_tree_mutator(node, skeleton_mutator, ctx);
}

static bool
fix_result_vars_walker(Node *node, int *npushed)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varno == INDEX_VAR && ((Var *) node)->varattno < 0)
	{
		Var		   *v = (Var *) node;

		v->varattno = *npushed - v->varattno;
		v->varattnosyn = v->varattno;
		return false;
	}
	return expression_tree_walker(node, fix_result_vars_walker, npushed);
}

static bool
is_projection_node(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_SubqueryScan:
		case T_FunctionScan:
		case T_ValuesScan:
		case T_TableFuncScan:
		case T_CteScan:
		case T_NamedTuplestoreScan:
		case T_WorkTableScan:
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			return true;
		case T_Result:
			return plan->lefttree != NULL;
		default:
			return false;
	}
}

/* Whether expr has a batchable call that every evaluation evaluates. */
static bool
has_batchable_call(Node *expr)
{
	FindContext ctx;

	memset(&ctx, 0, sizeof(ctx));
	find_walker(expr, &ctx);
	return ctx.found != NIL;
}

/* Move N's batchable calls into a batch node above it (see file header). */
static Plan *
batch_above(BatchPlanner *bp, Plan *plan, int64 bound, bool parallel)
{
	FindContext fctx;
	SkeletonContext sctx;
	List	   *kept_quals = NIL;
	List	   *moved = NIL;
	List	   *groups;
	List	   *calls = NIL;
	List	   *scan_tlist = NIL;
	List	   *new_tlist = NIL;
	List	   *new_qual = NIL;
	List	   *child_tlist = NIL;
	int		   *members;
	int			first = -1;
	int			i;
	int			npushed;
	int			ngroups = 0;
	ListCell   *lc;

	if (!contain_onnx_call((Node *) plan->targetlist) && !contain_onnx_call((Node *) plan->qual))
		return plan;

	/* N keeps its filters before the first with a batchable call */
	i = 0;
	foreach(lc, plan->qual)
	{
		if (first < 0 && has_batchable_call(lfirst(lc)))
			first = i;
		if (first < 0)
			kept_quals = lappend(kept_quals, lfirst(lc));
		else
			moved = lappend(moved, lfirst(lc));
		i++;
	}
	/* filters kept below run as rows are read ahead: no effects there */
	if (contain_volatile_functions((Node *) kept_quals) && moved != NIL)
		return plan;

	memset(&fctx, 0, sizeof(fctx));
	i = 0;
	foreach(lc, moved)
	{
		fctx.stage = i++;
		find_walker(lfirst(lc), &fctx);
	}
	fctx.stage = list_length(moved);
	foreach(lc, plan->targetlist)
		find_walker((Node *) ((TargetEntry *) lfirst(lc))->expr, &fctx);
	if (fctx.found == NIL)
		return plan;
	groups = group_calls(fctx.found, &members);

	memset(&sctx, 0, sizeof(sctx));
	sctx.groups = palloc(sizeof(int) * (list_length(fctx.found) + 1));
	i = 0;
	foreach(lc, fctx.found)
	{
		if (members[i] >= 0)
		{
			sctx.calls = lappend(sctx.calls, ((FoundCall *) lfirst(lc))->expr);
			sctx.groups[list_length(sctx.calls) - 1] = members[i];
		}
		i++;
	}
	if (sctx.calls == NIL)
		return plan;
	/* renumber the kept groups densely */
	{
		int		   *dense = palloc(sizeof(int) * (list_length(groups) + 1));

		i = 0;
		foreach(lc, groups)
		{
			FoundCall  *gc = lfirst(lc);

			dense[i++] = gc->kind != ONNX_CALL_NONE ? ngroups++ : -1;
			if (gc->kind != ONNX_CALL_NONE)
				calls = lappend(calls, gc);
		}
		for (i = 0; i < list_length(sctx.calls); i++)
			sctx.groups[i] = dense[sctx.groups[i]];
	}

	/* the calls' arguments first: computed below for every row */
	foreach(lc, calls)
	{
		FoundCall  *gc = lfirst(lc);
		FuncExpr   *f = copyObject(gc->expr);
		ListCell   *la;

		foreach(la, f->args)
			if (!is_row_invariant(lfirst(la)))
				lfirst(la) = var_for(OUTER_VAR, push_expr(&sctx, lfirst(la)), lfirst(la));
		gc->expr = f;
	}
	sctx.subtrees = moved == NIL;
	foreach(lc, moved)
		new_qual = lappend(new_qual, skeleton_mutator(lfirst(lc), &sctx));
	foreach(lc, plan->targetlist)
	{
		TargetEntry *te = lfirst(lc);
		TargetEntry *nte = flatCopyTargetEntry(te);

		nte->expr = (Expr *) skeleton_mutator((Node *) te->expr, &sctx);
		new_tlist = lappend(new_tlist, nte);
	}
	if (sctx.failed)
		return plan;

	npushed = list_length(sctx.pushed);
	fix_result_vars_walker((Node *) new_qual, &npushed);
	fix_result_vars_walker((Node *) new_tlist, &npushed);

	i = 1;
	foreach(lc, sctx.pushed)
	{
		Node	   *e = lfirst(lc);

		child_tlist = lappend(child_tlist, makeTargetEntry((Expr *) e, i, NULL, false));
		scan_tlist = lappend(scan_tlist, makeTargetEntry((Expr *) var_for(OUTER_VAR, i, e), i,
														 NULL, false));
		i++;
	}
	foreach(lc, calls)
	{
		FoundCall  *gc = lfirst(lc);

		scan_tlist = lappend(scan_tlist, makeTargetEntry((Expr *) gc->expr, i++, NULL, false));
	}

	plan->targetlist = child_tlist;
	plan->qual = kept_quals;
	return make_batch_node(bp, plan, scan_tlist, new_tlist, new_qual, calls, npushed,
						   moved == NIL ? bound : -1, parallel,
						   bms_copy(plan->extParam), bms_copy(plan->allParam));
}

/* ---- between an Agg and its input ---- */

static bool
agg_find_walker(Node *node, FindContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref))
	{
		Aggref	   *a = (Aggref *) node;

		/* arguments of every input row: no FILTER, not a final combine */
		if (a->aggfilter == NULL && !DO_AGGSPLIT_COMBINE(a->aggsplit))
			find_walker((Node *) a->args, ctx);
		return false;
	}
	return expression_tree_walker(node, agg_find_walker, ctx);
}

typedef struct AggReplaceContext
{
	List	   *calls;
	int		   *cols;			/* result column of each (1-based) */
} AggReplaceContext;

static Node *
agg_replace_mutator(Node *node, AggReplaceContext *ctx)
{
	int			i;

	if (node == NULL)
		return NULL;
	if ((i = ptr_index(ctx->calls, node)) >= 0)
		return (Node *) var_for(OUTER_VAR, ctx->cols[i], node);
	return expression_tree_mutator(node, agg_replace_mutator, ctx);
}

/* Batch calls in an Agg's aggregate arguments below it (see file header). */
static void
batch_below_agg(BatchPlanner *bp, Agg *agg, bool parallel)
{
	Plan	   *child = agg->plan.lefttree;
	FindContext fctx;
	AggReplaceContext rctx;
	List	   *groups;
	List	   *scan_tlist = NIL;
	List	   *tlist = NIL;
	int		   *members;
	int			nchild;
	int			i;
	ListCell   *lc;

	if (child == NULL || agg->groupingSets != NIL || agg->chain != NIL ||
		agg->aggstrategy == AGG_MIXED)
		return;
	if (!contain_onnx_call((Node *) agg->plan.targetlist) && !contain_onnx_call((Node *) agg->plan.qual))
		return;
	memset(&fctx, 0, sizeof(fctx));
	fctx.in_node = true;
	agg_find_walker((Node *) agg->plan.targetlist, &fctx);
	agg_find_walker((Node *) agg->plan.qual, &fctx);
	if (fctx.found == NIL)
		return;
	groups = group_calls(fctx.found, &members);
	nchild = list_length(child->targetlist);

	memset(&rctx, 0, sizeof(rctx));
	rctx.cols = palloc(sizeof(int) * (list_length(fctx.found) + 1));
	i = 0;
	foreach(lc, fctx.found)
	{
		rctx.calls = lappend(rctx.calls, ((FoundCall *) lfirst(lc))->expr);
		rctx.cols[i] = nchild + members[i] + 1;
		i++;
	}
	/* the scan tuple: the input's columns, then the results */
	i = 1;
	foreach(lc, child->targetlist)
	{
		TargetEntry *te = lfirst(lc);

		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry((Expr *) var_for(OUTER_VAR, i, (Node *) te->expr),
											 i, NULL, false));
		i++;
	}
	foreach(lc, groups)
	{
		FoundCall  *gc = lfirst(lc);

		gc->expr = copyObject(gc->expr);
		scan_tlist = lappend(scan_tlist, makeTargetEntry((Expr *) gc->expr, i++, NULL, false));
	}
	i = 1;
	foreach(lc, scan_tlist)
	{
		TargetEntry *te = lfirst(lc);

		tlist = lappend(tlist, makeTargetEntry((Expr *) var_for(INDEX_VAR, i, (Node *) te->expr),
											   i, NULL, false));
		i++;
	}
	agg->plan.targetlist = (List *) agg_replace_mutator((Node *) agg->plan.targetlist, &rctx);
	agg->plan.qual = (List *) agg_replace_mutator((Node *) agg->plan.qual, &rctx);
	agg->plan.lefttree = make_batch_node(bp, child, scan_tlist, tlist, NIL, groups, nchild, -1,
										 parallel, bms_union(child->extParam, agg->aggParams),
										 bms_union(child->allParam, agg->aggParams));
}

/* ---- the plan walk ---- */

/* Rows a Limit needs from its input, or -1 when not a constant. */
static int64
limit_bound(Limit *lim)
{
	Const	   *count = (Const *) lim->limitCount;
	Const	   *offset = (Const *) lim->limitOffset;
	int64		n;

	if (count == NULL || !IsA(count, Const) || count->constisnull)
		return -1;
	n = DatumGetInt64(count->constvalue);
	if (offset != NULL)
	{
		if (!IsA(offset, Const))
			return -1;
		if (!offset->constisnull)
			n += Max(DatumGetInt64(offset->constvalue), 0);
	}
	return n >= 0 ? n : -1;
}

/*
 * Walk a plan tree bottom-up and place batch nodes; returns the plan that
 * replaces plan.  bound: rows the parent needs (-1: unknown); need_mark:
 * the parent uses mark/restore on this node; parallel: below a Gather.
 */
static Plan *
batch_walk(BatchPlanner *bp, Plan *plan, int64 bound, bool need_mark, bool parallel)
{
	ListCell   *lc;

	if (plan == NULL)
		return NULL;
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_Limit:
			plan->lefttree = batch_walk(bp, plan->lefttree, limit_bound((Limit *) plan), false,
										parallel);
			break;
		case T_Gather:
		case T_GatherMerge:
			plan->lefttree = batch_walk(bp, plan->lefttree, bound, false, true);
			break;
		case T_Result:
			plan->lefttree = batch_walk(bp, plan->lefttree, bound, need_mark, parallel);
			break;
		case T_ProjectSet:
		case T_LockRows:
			plan->lefttree = batch_walk(bp, plan->lefttree, bound, false, parallel);
			break;
		case T_SubqueryScan:
			((SubqueryScan *) plan)->subplan =
				batch_walk(bp, ((SubqueryScan *) plan)->subplan, bound, false, parallel);
			break;
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				lfirst(lc) = batch_walk(bp, lfirst(lc), bound, false, parallel);
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				lfirst(lc) = batch_walk(bp, lfirst(lc), bound, false, parallel);
			break;
		case T_MergeJoin:
			plan->lefttree = batch_walk(bp, plan->lefttree, -1, false, parallel);
			plan->righttree = batch_walk(bp, plan->righttree, -1,
										 !((MergeJoin *) plan)->skip_mark_restore, parallel);
			break;
		case T_CustomScan:
			foreach(lc, ((CustomScan *) plan)->custom_plans)
				lfirst(lc) = batch_walk(bp, lfirst(lc), -1, false, parallel);
			plan->lefttree = batch_walk(bp, plan->lefttree, -1, false, parallel);
			plan->righttree = batch_walk(bp, plan->righttree, -1, false, parallel);
			return plan;		/* another extension's node: left as it is */
		case T_BitmapAnd:
		case T_BitmapOr:
			return plan;
		default:
			plan->lefttree = batch_walk(bp, plan->lefttree, -1, false, parallel);
			plan->righttree = batch_walk(bp, plan->righttree, -1, false, parallel);
			break;
	}
	if (need_mark)
		return plan;
	if (is_projection_node(plan))
		return batch_above(bp, plan, bound, parallel);
	if (IsA(plan, Agg))
		batch_below_agg(bp, (Agg *) plan, parallel);
	return plan;
}

/* The largest plan_node_id in a plan tree. */
static int
max_plan_id(Plan *plan)
{
	int			m;
	ListCell   *lc;
	List	   *more;

	if (plan == NULL)
		return -1;
	check_stack_depth();
	m = plan->plan_node_id;
	more = list_make2(plan->lefttree, plan->righttree);
	switch (nodeTag(plan))
	{
		case T_SubqueryScan:
			more = lappend(more, ((SubqueryScan *) plan)->subplan);
			break;
		case T_Append:
			more = list_concat(more, ((Append *) plan)->appendplans);
			break;
		case T_MergeAppend:
			more = list_concat(more, ((MergeAppend *) plan)->mergeplans);
			break;
		case T_CustomScan:
			more = list_concat(more, ((CustomScan *) plan)->custom_plans);
			break;
		case T_BitmapAnd:
			more = list_concat(more, ((BitmapAnd *) plan)->bitmapplans);
			break;
		case T_BitmapOr:
			more = list_concat(more, ((BitmapOr *) plan)->bitmapplans);
			break;
		default:
			break;
	}
	foreach(lc, more)
	{
		int			sub = max_plan_id(lfirst(lc));

		m = Max(m, sub);
	}
	return m;
}

/* A Material over a finished plan (materialize_finished_plan is pre-setrefs). */
static Plan *
materialize_on_top(BatchPlanner *bp, Plan *top)
{
	Material   *mat = makeNode(Material);
	Plan	   *p = &mat->plan;
	ListCell   *lc;

	foreach(lc, top->targetlist)
	{
		TargetEntry *te = lfirst(lc);
		TargetEntry *nte = flatCopyTargetEntry(te);

		nte->expr = (Expr *) var_for(OUTER_VAR, te->resno, (Node *) te->expr);
		p->targetlist = lappend(p->targetlist, nte);
	}
	p->startup_cost = top->startup_cost;
	p->total_cost = top->total_cost + 2.0 * cpu_operator_cost * top->plan_rows;
	p->plan_rows = top->plan_rows;
	p->plan_width = top->plan_width;
	p->parallel_safe = top->parallel_safe;
	p->plan_node_id = bp->next_plan_id++;
	p->lefttree = top;
	p->extParam = bms_copy(top->extParam);
	p->allParam = bms_copy(top->allParam);
	return p;
}

/* Place batch nodes in every plan tree of a statement. */
static void
batch_statement(PlannedStmt *stmt, int cursorOptions)
{
	BatchPlanner bp;
	ListCell   *lc;
	int			maxid = max_plan_id(stmt->planTree);

	foreach(lc, stmt->subplans)
		maxid = Max(maxid, max_plan_id(lfirst(lc)));
	bp.next_plan_id = maxid + 1;
	bp.changed = false;
	stmt->planTree = batch_walk(&bp, stmt->planTree, -1, false, false);
	foreach(lc, stmt->subplans)
		lfirst(lc) = batch_walk(&bp, lfirst(lc), -1, false, false);
	if (bp.changed && (cursorOptions & CURSOR_OPT_SCROLL) &&
		!ExecSupportsBackwardScan(stmt->planTree))
		stmt->planTree = materialize_on_top(&bp, stmt->planTree);
}

static PlannedStmt *
onnx_planner(Query *parse, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams)
{
	PlannedStmt *stmt;

	if (prev_planner_hook)
		stmt = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	else
		stmt = standard_planner(parse, query_string, cursorOptions, boundParams);
	if (onnx_auto_batch && stmt->commandType != CMD_UTILITY)
		batch_statement(stmt, cursorOptions);
	return stmt;
}

/* Install the planner hook and the batch node (from _PG_init). */
void
OnnxAutoBatchInit(void)
{
	OnnxBatchScanInit();
	CacheRegisterSyscacheCallback(PROCOID, kind_cache_invalidate, (Datum) 0);
	prev_planner_hook = planner_hook;
	planner_hook = onnx_planner;
}
