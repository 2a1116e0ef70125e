/*-------------------------------------------------------------------------
 *
 * scratch.c
 *	  A session's scratch stack: kernels' per-node working memory.
 *
 * Blocks are cut from chunks of the session's allocator by bumping a
 * pointer; a mark records where the stack stands, and releasing it gives
 * back every block taken since, in one step.  The executor takes a mark
 * before each node and releases it after, on success and on failure, so
 * a kernel never frees its scratch.  Marks nest: a node that runs a
 * subgraph (If, Loop, Scan) keeps its blocks while the body's nodes take
 * and release theirs above them.  Chunks stay with the session between
 * nodes and runs (a chunk too small for a request is freed when the stack
 * reaches it, so they converge to the sizes a model needs) until the
 * session is trimmed or freed.  Under AddressSanitizer every block is
 * followed by a poisoned red zone and released blocks are poisoned, so
 * overruns and reads after the node are caught as with malloc.
 *
 *-------------------------------------------------------------------------
 */
#include "scratch.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCRATCH_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SCRATCH_ASAN 1
#endif

#ifdef SCRATCH_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE ONNX_SCRATCH_ALIGN
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define REDZONE 0
#define POISON(p, n) ((void) 0)
#define UNPOISON(p, n) ((void) 0)
#endif

/* Smallest chunk (bytes of data). */
#define CHUNK_MIN ((size_t) 256 * 1024)

struct OnnxScratchChunk
{
	OnnxScratchChunk *next;
	unsigned char *base;		/* data, ONNX_SCRATCH_ALIGN-aligned */
	size_t		size;			/* bytes of data */
	size_t		used;			/* bytes of data handed out */
};

void
onnx_scratch_init(OnnxScratch *s, const OnnxAllocator *alloc)
{
	memset(s, 0, sizeof(*s));
	s->alloc = alloc;
}

static void
chunk_free(OnnxScratch *s, OnnxScratchChunk *c)
{
	UNPOISON(c->base, c->size);
	s->held -= c->size;
	s->alloc->free(s->alloc->ctx, c);
}

/* A new empty chunk of at least need bytes of data; NULL when out of memory. */
static OnnxScratchChunk *
chunk_new(OnnxScratch *s, size_t need)
{
	size_t		size = need > CHUNK_MIN ? need : CHUNK_MIN;
	size_t		head = sizeof(OnnxScratchChunk) + ONNX_SCRATCH_ALIGN;
	OnnxScratchChunk *c;

	if (size > SIZE_MAX - head)
		return NULL;
	c = s->alloc->alloc(s->alloc->ctx, head + size);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->base = (unsigned char *) (((uintptr_t) (c + 1) + ONNX_SCRATCH_ALIGN - 1) &
								 ~(uintptr_t) (ONNX_SCRATCH_ALIGN - 1));
	c->size = size;
	c->used = 0;
	s->held += size;
	POISON(c->base, c->size);
	return c;
}

void *
onnx_scratch_alloc(OnnxScratch *s, size_t size)
{
	OnnxScratchChunk *c = s->cur;
	size_t		need;
	void	   *p;

	if (size > SIZE_MAX - 2 * ONNX_SCRATCH_ALIGN - REDZONE)
		return NULL;
	need = (size + REDZONE + ONNX_SCRATCH_ALIGN - 1) & ~(size_t) (ONNX_SCRATCH_ALIGN - 1);
	if (need == 0)
		need = ONNX_SCRATCH_ALIGN;
	if (c == NULL || c->size - c->used < need)
	{
		/* the chunks after cur are empty: use the next that fits, free smaller ones */
		OnnxScratchChunk **link = c ? &c->next : &s->first;

		while (*link && (*link)->size < need)
		{
			OnnxScratchChunk *small = *link;

			*link = small->next;
			chunk_free(s, small);
		}
		if (*link == NULL)
		{
			if ((*link = chunk_new(s, need)) == NULL)
				return NULL;
		}
		c = s->cur = *link;
	}
	p = c->base + c->used;
	c->used += need;
	s->used += need;
	UNPOISON(p, size);
	return p;
}

OnnxScratchMark
onnx_scratch_mark(const OnnxScratch *s)
{
	OnnxScratchMark m;

	m.chunk = s->cur;
	m.chunk_used = s->cur ? s->cur->used : 0;
	m.used = s->used;
	return m;
}

void
onnx_scratch_release(OnnxScratch *s, OnnxScratchMark m)
{
	OnnxScratchChunk *c;

	if (s->used == m.used && s->cur == m.chunk)
		return;
	/* the chunks after the mark's, up to cur, are emptied */
	for (c = m.chunk ? m.chunk->next : s->first; s->cur != m.chunk && c != NULL; c = c->next)
	{
		POISON(c->base, c->used);
		c->used = 0;
		if (c == s->cur)
			break;
	}
	if (m.chunk)
	{
		POISON(m.chunk->base + m.chunk_used, m.chunk->used - m.chunk_used);
		m.chunk->used = m.chunk_used;
	}
	s->cur = m.chunk;
	s->used = m.used;
}

void
onnx_scratch_free_all(OnnxScratch *s)
{
	OnnxScratchChunk *c = s->first;

	while (c)
	{
		OnnxScratchChunk *next = c->next;

		chunk_free(s, c);
		c = next;
	}
	s->first = s->cur = NULL;
	s->held = 0;
	s->used = 0;
}
