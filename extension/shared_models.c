/*-------------------------------------------------------------------------
 *
 * shared_models.c
 *	  One copy of each model for all backends: models loaded into a region
 *	  of the server's main shared memory, keyed by content hash.
 *
 * Why this works without relocating pointers: the main shared memory
 * segment is created by the postmaster before it forks, so it sits at the
 * same address in every backend, and so does this library when it is in
 * shared_preload_libraries.  A model the engine builds in the region (graph,
 * weights, packed weights, tree layouts: everything onnx_model_free would
 * release) is therefore valid as it is in every backend, and the engine
 * never writes a model after loading it (the conformance suite checks that
 * with the model in read-only memory).  Backends keep only their sessions
 * (run buffers) privately.  This needs a fork-based server (not
 * EXEC_BACKEND builds) and the library preloaded; otherwise, and when the
 * region is full, models are loaded privately as before.
 *
 * Layout: a header, then onnx.shared_memory bytes of blocks.  Every block
 * starts with a SharedBlock header; free blocks are on one list and are
 * merged with free neighbours; the blocks of a model are linked from its
 * entry, so a model is freed by freeing its blocks (no engine call, which
 * also frees the blocks of a backend that died while loading).
 *
 * Entries: a fixed table.  An entry is loading (owned by one backend, no
 * other may use it), then ready; refcount counts the backends whose session
 * caches hold it.  An entry stays when its refcount drops to 0 (a later
 * backend maps it without loading: warm start) unless it is obsolete: a
 * newer version of the same model (database and name) was loaded, or its
 * model was evicted to make room.  Obsolete entries are freed when their
 * last user releases them.  A backend that exits releases its references;
 * a backend that crashes makes the postmaster reinitialize shared memory,
 * so nothing leaks.
 *
 * Locking: one LWLock guards the allocator and the table; it is held only
 * for table updates and single block allocations, never while the engine
 * loads a model.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "onnx_ext.h"

#define SHARED_MODELS_MAX 256
#define BLOCK_ALIGN 64
#define MIN_SPLIT 512

typedef struct SharedBlock
{
	Size		size;			/* bytes including this header */
	int32		entry;			/* owning entry, -1 when free */
	struct SharedBlock *prev_phys;	/* previous block in address order */
	struct SharedBlock *next_list;	/* free list, or the owner's block list */
	struct SharedBlock *prev_list;
} SharedBlock;

#define BLOCK_HDR (TYPEALIGN(BLOCK_ALIGN, sizeof(SharedBlock)))

typedef struct SharedModel
{
	bool		used;
	bool		ready;
	bool		obsolete;
	int			loader_pid;		/* backend loading it while !ready */
	char		sha256[65];
	Oid			dbid;			/* the latest user's database and name */
	char		name[128];
	OnnxModel  *model;
	OnnxAllocator alloc;		/* {block_alloc, block_free, this entry} */
	SharedBlock *blocks;
	Size		bytes;
	int			refcount;
	TimestampTz last_used;
} SharedModel;

typedef struct SharedModelsHeader
{
	LWLock	   *lock;
	char	   *region;
	Size		region_size;
	Size		free_bytes;
	SharedBlock *free_list;
	SharedModel entries[SHARED_MODELS_MAX];
} SharedModelsHeader;

int			onnx_shared_memory_kb = 256 * 1024;
static SharedModelsHeader *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static int	my_refs[SHARED_MODELS_MAX];	/* references this backend holds */
static bool exit_hook_set = false;

static Size
region_size(void)
{
	return TYPEALIGN(BLOCK_ALIGN, (Size) onnx_shared_memory_kb * 1024);
}

static Size
shared_size(void)
{
	return add_size(sizeof(SharedModelsHeader) + BLOCK_ALIGN, region_size());
}

/* ---- the block allocator (lock held) ---- */

static SharedBlock *
next_phys(SharedBlock *b)
{
	char	   *n = (char *) b + b->size;

	return n < shared->region + shared->region_size ? (SharedBlock *) n : NULL;
}

static void
list_push(SharedBlock **head, SharedBlock *b)
{
	b->prev_list = NULL;
	b->next_list = *head;
	if (*head)
		(*head)->prev_list = b;
	*head = b;
}

static void
list_remove(SharedBlock **head, SharedBlock *b)
{
	if (b->prev_list)
		b->prev_list->next_list = b->next_list;
	else
		*head = b->next_list;
	if (b->next_list)
		b->next_list->prev_list = b->prev_list;
	b->next_list = b->prev_list = NULL;
}

/* First fit; splits off the rest when it is worth a block. */
static SharedBlock *
block_take_locked(Size size)
{
	Size		need;

	if (size > shared->region_size)
		return NULL;
	need = TYPEALIGN(BLOCK_ALIGN, BLOCK_HDR + size);
	for (SharedBlock *b = shared->free_list; b; b = b->next_list)
	{
		if (b->size < need)
			continue;
		list_remove(&shared->free_list, b);
		if (b->size - need >= MIN_SPLIT)
		{
			SharedBlock *rest = (SharedBlock *) ((char *) b + need);
			SharedBlock *after;

			rest->size = b->size - need;
			rest->entry = -1;
			rest->prev_phys = b;
			if ((after = next_phys(rest)) != NULL)
				after->prev_phys = rest;
			list_push(&shared->free_list, rest);
			b->size = need;
		}
		shared->free_bytes -= b->size;
		return b;
	}
	return NULL;
}

/* Give a block back, merging it with free neighbours. */
static void
block_give_locked(SharedBlock *b)
{
	SharedBlock *n;

	shared->free_bytes += b->size;
	b->entry = -1;
	if ((n = next_phys(b)) != NULL && n->entry < 0)
	{
		list_remove(&shared->free_list, n);
		b->size += n->size;
		if ((n = next_phys(b)) != NULL)
			n->prev_phys = b;
	}
	if (b->prev_phys && b->prev_phys->entry < 0)
	{
		SharedBlock *p = b->prev_phys;

		list_remove(&shared->free_list, p);
		p->size += b->size;
		if ((n = next_phys(p)) != NULL)
			n->prev_phys = p;
		b = p;
	}
	list_push(&shared->free_list, b);
}

/* Free every block of entry e and clear it. */
static void
entry_free_locked(SharedModel *e)
{
	while (e->blocks)
	{
		SharedBlock *b = e->blocks;

		list_remove(&e->blocks, b);
		block_give_locked(b);
	}
	memset(e, 0, sizeof(*e));
}

/*
 * Free ready entries nobody uses, least recently used first, until a block
 * of size bytes fits (or nothing more can go).  Their models are dropped
 * from shared memory; a later use loads them again.
 */
static SharedBlock *
take_with_eviction_locked(Size size, SharedModel *self)
{
	SharedBlock *b;

	while ((b = block_take_locked(size)) == NULL)
	{
		SharedModel *victim = NULL;

		for (int i = 0; i < SHARED_MODELS_MAX; i++)
		{
			SharedModel *e = &shared->entries[i];

			if (e->used && e->ready && e->refcount == 0 && e != self &&
				(victim == NULL || e->last_used < victim->last_used))
				victim = e;
		}
		if (victim == NULL)
			return NULL;
		entry_free_locked(victim);
	}
	return b;
}

/* OnnxAllocator over the region for one entry's model (engine callback). */
static void *
block_alloc(void *ctx, size_t size)
{
	SharedModel *e = ctx;
	SharedBlock *b;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	b = take_with_eviction_locked(size ? size : 1, e);
	if (b)
	{
		b->entry = (int32) (e - shared->entries);
		list_push(&e->blocks, b);
		e->bytes += b->size;
	}
	LWLockRelease(shared->lock);
	return b ? (char *) b + BLOCK_HDR : NULL;
}

static void
block_free(void *ctx, void *ptr)
{
	SharedModel *e = ctx;
	SharedBlock *b;

	if (ptr == NULL)
		return;
	b = (SharedBlock *) ((char *) ptr - BLOCK_HDR);
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	list_remove(&e->blocks, b);
	e->bytes -= b->size;
	block_give_locked(b);
	LWLockRelease(shared->lock);
}

/* ---- shared memory ---- */

static void
shared_models_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	if (onnx_shared_memory_kb > 0)
	{
		RequestAddinShmemSpace(shared_size());
		RequestNamedLWLockTranche("onnx shared models", 1);
	}
}

static void
shared_models_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	if (onnx_shared_memory_kb <= 0)
		return;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("onnx shared models", shared_size(), &found);
	if (!found)
	{
		SharedBlock *all;

		memset(shared, 0, sizeof(SharedModelsHeader));
		shared->lock = &(GetNamedLWLockTranche("onnx shared models"))->lock;
		shared->region = (char *) TYPEALIGN(BLOCK_ALIGN, (char *) shared + sizeof(SharedModelsHeader));
		shared->region_size = region_size();
		all = (SharedBlock *) shared->region;
		all->size = shared->region_size;
		all->entry = -1;
		all->prev_phys = NULL;
		list_push(&shared->free_list, all);
		shared->free_bytes = shared->region_size;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * When preloaded: the GUC (a PGC_POSTMASTER setting can only be defined
 * then) and the shared memory hooks.
 */
void
OnnxSharedModelsInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("onnx.shared_memory",
							"Shared memory for models all backends use (one copy each).",
							"Needs shared_preload_libraries; 0 keeps every model private to its backend.",
							&onnx_shared_memory_kb, 256 * 1024, 0, INT_MAX / 2, PGC_POSTMASTER,
							GUC_UNIT_KB, NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shared_models_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shared_models_startup;
}

/* ---- backends ---- */

/* At exit: give back this backend's references and abandon its loads. */
static void
release_all(int code, Datum arg)
{
	if (shared == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SHARED_MODELS_MAX; i++)
	{
		SharedModel *e = &shared->entries[i];

		if (!e->used)
			continue;
		if (!e->ready && e->loader_pid == MyProcPid)
			entry_free_locked(e);
		else if (my_refs[i] > 0)
		{
			e->refcount -= Min(e->refcount, my_refs[i]);
			if (e->refcount == 0 && e->obsolete)
				entry_free_locked(e);
		}
		my_refs[i] = 0;
	}
	LWLockRelease(shared->lock);
}

/* Mark other versions of (dbid, name) obsolete; free the unused ones. */
static void
retire_other_versions_locked(SharedModel *current)
{
	for (int i = 0; i < SHARED_MODELS_MAX; i++)
	{
		SharedModel *e = &shared->entries[i];

		if (!e->used || e == current || e->dbid != current->dbid ||
			strcmp(e->name, current->name) != 0)
			continue;
		e->obsolete = true;
		if (e->ready && e->refcount == 0)
			entry_free_locked(e);
	}
}

static void
take_reference_locked(SharedModel *e, const char *name, int *handle)
{
	int			i = (int) (e - shared->entries);

	e->refcount++;
	e->obsolete = false;
	e->dbid = MyDatabaseId;
	strlcpy(e->name, name, sizeof(e->name));
	e->last_used = GetCurrentTimestamp();
	my_refs[i]++;
	*handle = i;
	retire_other_versions_locked(e);
}

static void
set_exit_hook(void)
{
	if (!exit_hook_set)
	{
		before_shmem_exit(release_all, (Datum) 0);
		exit_hook_set = true;
	}
}

/*
 * The model of content hash sha256 if shared memory holds it ready (with a
 * reference for OnnxSharedModelRelease in *handle), else NULL: the caller
 * then reads the model's bytes for OnnxSharedModelGet.
 */
OnnxModel *
OnnxSharedModelFind(const char *sha256, const char *name, int *handle)
{
	OnnxModel  *m = NULL;

	*handle = -1;
	if (shared == NULL)
		return NULL;
	set_exit_hook();
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SHARED_MODELS_MAX; i++)
	{
		SharedModel *e = &shared->entries[i];

		if (e->used && e->ready && strcmp(e->sha256, sha256) == 0)
		{
			take_reference_locked(e, name, handle);
			m = e->model;
			break;
		}
	}
	LWLockRelease(shared->lock);
	/*
	 * No MADV_POPULATE_READ of the model's blocks: that maps the raw
	 * weights too, which the kernels never read once packed copies exist;
	 * the first run's page faults (the kernel maps neighbouring pages with
	 * each) map only what the run reads, which measured faster.
	 */
	return m;
}

/*
 * The model of content hash sha256 from shared memory, loading bytes into
 * it when it is not there.  Returns NULL when the model must be loaded
 * privately (shared models off, table or region full, another backend
 * loading it right now); *failed and err tell a model the engine refuses.
 * On success *handle is for OnnxSharedModelRelease.
 */
OnnxModel *
OnnxSharedModelGet(const char *sha256, const char *name, const void *bytes, size_t len,
				   const OnnxAllocator *scratch, int *handle, bool *failed, OnnxError *err)
{
	SharedModel *e = NULL;
	OnnxModel  *m;
	OnnxStatus	st;

	*failed = false;
	*handle = -1;
	if (shared == NULL)
		return NULL;
	set_exit_hook();
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SHARED_MODELS_MAX; i++)
		if (shared->entries[i].used && strcmp(shared->entries[i].sha256, sha256) == 0)
		{
			e = &shared->entries[i];
			break;
		}
	if (e && e->ready)
	{
		take_reference_locked(e, name, handle);
		LWLockRelease(shared->lock);
		return e->model;
	}
	if (e)
	{
		/* being loaded by another backend: do not wait for it */
		LWLockRelease(shared->lock);
		return NULL;
	}
	for (int i = 0; i < SHARED_MODELS_MAX && e == NULL; i++)
		if (!shared->entries[i].used)
			e = &shared->entries[i];
	if (e == NULL)
	{
		SharedModel *victim = NULL;

		for (int i = 0; i < SHARED_MODELS_MAX; i++)
		{
			SharedModel *c = &shared->entries[i];

			if (c->ready && c->refcount == 0 && (victim == NULL || c->last_used < victim->last_used))
				victim = c;
		}
		if (victim == NULL)
		{
			LWLockRelease(shared->lock);
			return NULL;
		}
		entry_free_locked(victim);
		e = victim;
	}
	memset(e, 0, sizeof(*e));
	e->used = true;
	e->loader_pid = MyProcPid;
	strlcpy(e->sha256, sha256, sizeof(e->sha256));
	e->dbid = MyDatabaseId;
	strlcpy(e->name, name, sizeof(e->name));
	e->alloc.alloc = block_alloc;
	e->alloc.free = block_free;
	e->alloc.ctx = e;
	LWLockRelease(shared->lock);

	/* the engine allocates the model's memory block by block, lock released */
	st = onnx_model_load_in(bytes, len, &e->alloc, scratch, &m, err);

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (st != ONNX_OK)
	{
		entry_free_locked(e);
		LWLockRelease(shared->lock);
		/* out of memory: the region is full; the caller loads privately */
		*failed = st != ONNX_ERR_OUT_OF_MEMORY;
		return NULL;
	}
	e->model = m;
	e->ready = true;
	e->loader_pid = 0;
	take_reference_locked(e, name, handle);
	LWLockRelease(shared->lock);
	return m;
}

/* Give back a reference from OnnxSharedModelGet. */
void
OnnxSharedModelRelease(int handle)
{
	SharedModel *e;

	if (shared == NULL || handle < 0 || handle >= SHARED_MODELS_MAX || my_refs[handle] <= 0)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	e = &shared->entries[handle];
	my_refs[handle]--;
	if (e->used && e->refcount > 0)
		e->refcount--;
	if (e->used && e->refcount == 0 && e->obsolete)
		entry_free_locked(e);
	LWLockRelease(shared->lock);
}

/*
 * Shared bytes and users of the model with content hash sha256 (0 and 0
 * when it is not in shared memory); whether shared models are on at all.
 */
bool
OnnxSharedModelUsage(const char *sha256, int64 *bytes, int *backends)
{
	*bytes = 0;
	*backends = 0;
	if (shared == NULL)
		return false;
	LWLockAcquire(shared->lock, LW_SHARED);
	for (int i = 0; i < SHARED_MODELS_MAX; i++)
	{
		SharedModel *e = &shared->entries[i];

		if (e->used && e->ready && strcmp(e->sha256, sha256) == 0)
		{
			*bytes = (int64) e->bytes;
			*backends = e->refcount;
		}
	}
	LWLockRelease(shared->lock);
	return true;
}

/* Bytes of the region in use and its size, and the models in it. */
void
OnnxSharedMemoryTotals(int64 *used, int64 *size, int *models)
{
	*used = *size = 0;
	*models = 0;
	if (shared == NULL)
		return;
	LWLockAcquire(shared->lock, LW_SHARED);
	*size = (int64) shared->region_size;
	*used = (int64) (shared->region_size - shared->free_bytes);
	for (int i = 0; i < SHARED_MODELS_MAX; i++)
		*models += shared->entries[i].used && shared->entries[i].ready;
	LWLockRelease(shared->lock);
}

PG_FUNCTION_INFO_V1(onnx_shared_memory);

/* onnx_shared_memory() -> (size, used, models): the shared model region. */
Datum
onnx_shared_memory(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false};
	int64		used,
				size;
	int			models;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	OnnxSharedMemoryTotals(&used, &size, &models);
	values[0] = Int64GetDatum(size);
	values[1] = Int64GetDatum(used);
	values[2] = Int32GetDatum(models);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
