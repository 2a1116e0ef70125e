/*-------------------------------------------------------------------------
 *
 * alloc.c
 *	  The malloc allocator for tools and tests, and the arena used for
 *	  everything that lives as long as a model or session.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>

#include "engine_internal.h"

static void *
malloc_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size ? size : 1);
}

static void
malloc_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

const OnnxAllocator onnx_malloc_allocator = {malloc_alloc, malloc_free, NULL};

#define ARENA_BLOCK_SIZE (64 * 1024)

struct OnnxArenaBlock
{
	OnnxArenaBlock *next;
	size_t		size;
	size_t		used;
	/* data follows, 16-byte aligned */
	_Alignas(16) unsigned char data[];
};

/* Start an empty arena drawing from alloc. */
void
onnx_arena_init(OnnxArena *arena, const OnnxAllocator *alloc)
{
	arena->alloc = alloc;
	arena->blocks = NULL;
	arena->total = 0;
}

/* Zeroed memory that lives until onnx_arena_free_all; NULL on failure. */
void *
onnx_arena_alloc(OnnxArena *arena, size_t size)
{
	OnnxArenaBlock *b = arena->blocks;
	void	   *p;

	size = (size + 15) & ~(size_t) 15;
	if (size == 0)
		size = 16;
	if (b == NULL || b->size - b->used < size)
	{
		size_t		bsize = size > ARENA_BLOCK_SIZE / 4 ? size : ARENA_BLOCK_SIZE;

		if (bsize > SIZE_MAX - sizeof(OnnxArenaBlock))
			return NULL;
		b = arena->alloc->alloc(arena->alloc->ctx, sizeof(OnnxArenaBlock) + bsize);
		if (b == NULL)
			return NULL;
		b->size = bsize;
		b->used = 0;
		arena->total += bsize;
		if (size > ARENA_BLOCK_SIZE / 4 && arena->blocks != NULL)
		{
			/* big block: keep the current small block in front */
			b->next = arena->blocks->next;
			arena->blocks->next = b;
		}
		else
		{
			b->next = arena->blocks;
			arena->blocks = b;
		}
	}
	p = b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

/*
 * Zeroed room for n + 1 elements of size bytes (one more, so that n = 0
 * still gives a usable pointer), from the arena; NULL when the size
 * overflows or the allocation fails.
 */
void *
onnx_arena_alloc_array(OnnxArena *arena, size_t n, size_t size)
{
	if (size == 0 || n > SIZE_MAX / size - 1)
		return NULL;
	return onnx_arena_alloc(arena, (n + 1) * size);
}

/* Copy of s in the arena (NULL stays NULL; NULL on failure). */
char *
onnx_arena_strdup(OnnxArena *arena, const char *s)
{
	size_t		n;
	char	   *p;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	p = onnx_arena_alloc(arena, n + 1);
	if (p)
		memcpy(p, s, n + 1);
	return p;
}

/* Free every block. */
void
onnx_arena_free_all(OnnxArena *arena)
{
	OnnxArenaBlock *b = arena->blocks;

	while (b)
	{
		OnnxArenaBlock *next = b->next;

		arena->alloc->free(arena->alloc->ctx, b);
		b = next;
	}
	arena->blocks = NULL;
	arena->total = 0;
}
