/*
 * scratch.h
 *	  A session's scratch stack: the per-node working memory of kernels,
 *	  handed out by bumping a pointer and given back all at once when the
 *	  executor releases the node's mark (see scratch.c).
 */
#ifndef SCRATCH_H
#define SCRATCH_H

#include "engine_internal.h"

/* Alignment of every scratch block (a cache line, an AVX-512 vector). */
#define ONNX_SCRATCH_ALIGN 64

typedef struct OnnxScratchChunk OnnxScratchChunk;

typedef struct OnnxScratch
{
	const OnnxAllocator *alloc;
	OnnxScratchChunk *first;	/* chunks in order of use */
	OnnxScratchChunk *cur;		/* the chunk being bumped; NULL: none used */
	size_t		held;			/* bytes of all chunks (what trimming frees) */
	size_t		used;			/* bytes handed out and not released */
} OnnxScratch;

/* Where the stack stands; releasing it gives back everything taken after. */
typedef struct OnnxScratchMark
{
	OnnxScratchChunk *chunk;
	size_t		chunk_used;
	size_t		used;
} OnnxScratchMark;

extern void onnx_scratch_init(OnnxScratch *s, const OnnxAllocator *alloc);
/*
 * size bytes (0 allowed) aligned to ONNX_SCRATCH_ALIGN, uninitialised,
 * valid until the stack is released below the point it was taken at;
 * NULL when out of memory or when size is too large to round up.
 */
extern void *onnx_scratch_alloc(OnnxScratch *s, size_t size);
extern OnnxScratchMark onnx_scratch_mark(const OnnxScratch *s);
/* Give back every block taken since mark m (marks nest like a stack). */
extern void onnx_scratch_release(OnnxScratch *s, OnnxScratchMark m);
/* Free the chunks; only while nothing is taken (between runs). */
extern void onnx_scratch_free_all(OnnxScratch *s);

#endif
