/*-------------------------------------------------------------------------
 *
 * profile.c
 *	  Per-operator run times of a session (OnnxSessionOptions.profile).
 *
 * While profiling is on, the executor runs each node through
 * onnx_profile_run_node, which reads a clock around the kernel
 * (CLOCK_MONOTONIC, or with ONNX_PROFILE_CPU the thread's CPU clock, which
 * leaves out what other processes take of the core on a crowded machine)
 * and adds the node's self time -- its time less the time of the nodes it
 * ran in subgraphs (If, Loop, Scan bodies), which are counted under their
 * own operators -- to its operator definition's entry.  Self times thus add
 * up to the time spent in nodes, and a Loop's entry holds only the Loop's
 * own work.
 *
 * The table has one entry per operator definition the model uses, found
 * when it is created, so a run never allocates here.  Lookups are a
 * linear scan of those few entries, paid only while profiling.
 *
 * Threading: the session's thread only, like the session.
 *
 *-------------------------------------------------------------------------
 */
#include <time.h>

#include "profile.h"

typedef struct ProfileEntry
{
	const OnnxOpDef *def;
	int64_t		calls;
	uint64_t	total_ns;
} ProfileEntry;

struct OnnxProfile
{
	int			n;
	ProfileEntry *entries;		/* n, one per distinct OnnxOpDef */
	uint64_t	inner_ns;		/* time of nodes run inside the current node */
};

static uint64_t
now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

/*
 * Visit the definitions of g's nodes and of the nodes of their subgraphs:
 * count them into *n, and when entries is not NULL also store each one
 * not stored yet.  The count is an upper bound of the distinct ones.
 */
static void
collect_defs(const OnnxGraph *g, ProfileEntry *entries, int *n)
{
	for (int i = 0; i < g->n_nodes; i++)
	{
		const OnnxNode *node = &g->nodes[i];
		bool		seen = false;

		if (entries)
		{
			for (int k = 0; k < *n && !seen; k++)
				seen = entries[k].def == node->def;
			if (!seen && node->def)
				entries[*n].def = node->def;
		}
		if (!seen && node->def)
			(*n)++;
		for (int a = 0; a < node->n_attrs; a++)
		{
			const OnnxAttr *attr = &node->attrs[a];

			if (attr->type == ONNX_ATTR_GRAPH && attr->g)
				collect_defs(attr->g, entries, n);
			else if (attr->type == ONNX_ATTR_GRAPHS)
				for (int k = 0; k < attr->n; k++)
					if (attr->graphs[k])
						collect_defs(attr->graphs[k], entries, n);
		}
	}
}

OnnxStatus
onnx_profile_create(const OnnxModel *model, const OnnxAllocator *alloc,
					OnnxProfile **profile, OnnxError *err)
{
	OnnxProfile *p;
	int			bound = 0;
	size_t		bytes;

	*profile = NULL;
	collect_defs(model->graph, NULL, &bound);
	if (onnx_mul_overflow_size((size_t) bound + 1, sizeof(ProfileEntry), &bytes))
		return onnx_error_set(err, ONNX_ERR_LIMIT, "too many nodes to profile");
	p = alloc->alloc(alloc->ctx, sizeof(OnnxProfile));
	if (p == NULL)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory creating a profile");
	memset(p, 0, sizeof(*p));
	p->entries = alloc->alloc(alloc->ctx, bytes);
	if (p->entries == NULL)
	{
		alloc->free(alloc->ctx, p);
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory creating a profile");
	}
	memset(p->entries, 0, bytes);
	collect_defs(model->graph, p->entries, &p->n);
	*profile = p;
	return ONNX_OK;
}

void
onnx_profile_free(OnnxProfile *profile, const OnnxAllocator *alloc)
{
	if (profile == NULL)
		return;
	alloc->free(alloc->ctx, profile->entries);
	alloc->free(alloc->ctx, profile);
}

OnnxStatus
onnx_profile_run_node(OnnxProfile *p, int mode, OnnxKernelCtx *ctx)
{
	clockid_t	clock = mode == ONNX_PROFILE_CPU ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
	const OnnxOpDef *def = ctx->node->def;
	uint64_t	outer = p->inner_ns;
	uint64_t	t0,
				elapsed;
	OnnxStatus	st;

	p->inner_ns = 0;
	t0 = now_ns(clock);
	st = def->run(ctx);
	elapsed = now_ns(clock) - t0;
	for (int k = 0; k < p->n; k++)
		if (p->entries[k].def == def)
		{
			p->entries[k].calls++;
			p->entries[k].total_ns += elapsed > p->inner_ns ? elapsed - p->inner_ns : 0;
			break;
		}
	p->inner_ns = outer + elapsed;
	return st;
}

void
onnx_profile_reset(OnnxProfile *p)
{
	if (p == NULL)
		return;
	for (int k = 0; k < p->n; k++)
	{
		p->entries[k].calls = 0;
		p->entries[k].total_ns = 0;
	}
	p->inner_ns = 0;
}

static bool
same_op(const OnnxOpDef *a, const OnnxOpDef *b)
{
	return a == b || (strcmp(a->name, b->name) == 0 && strcmp(a->domain, b->domain) == 0);
}

int
onnx_profile_read(const OnnxProfile *p, OnnxOpProfile *out, int max)
{
	int			used = 0;

	if (p == NULL)
		return 0;
	for (int k = 0; k < p->n; k++)
	{
		const ProfileEntry *e = &p->entries[k];
		OnnxOpProfile item;
		int			at;
		bool		merged = false;

		/* versions of one operator (a function's opset may differ) make one entry */
		for (int j = 0; j < k && !merged; j++)
			merged = same_op(p->entries[j].def, e->def);
		if (merged)
			continue;
		item.op_type = e->def->name;
		item.domain = e->def->domain;
		item.calls = 0;
		item.total_ns = 0;
		for (int j = k; j < p->n; j++)
			if (same_op(p->entries[j].def, e->def))
			{
				item.calls += p->entries[j].calls;
				item.total_ns += p->entries[j].total_ns;
			}
		if (item.calls == 0)
			continue;
		/* insertion into the sorted prefix out[0 .. min(used, max)) */
		at = used < max ? used : max;
		while (at > 0 && out[at - 1].total_ns < item.total_ns)
		{
			if (at < max)
				out[at] = out[at - 1];
			at--;
		}
		if (at < max)
			out[at] = item;
		used++;
	}
	return used;
}
