/*
 * buffer_pool.h
 *	  A session's pool of tensor buffers for reuse between nodes and runs
 *	  (see buffer_pool.c).
 */
#ifndef BUFFER_POOL_H
#define BUFFER_POOL_H

#include "engine_internal.h"

#define POOL_LARGE_SLOTS 256
#define POOL_SMALL_BUCKETS 64
#define POOL_SMALL_DEPTH 8

typedef struct OnnxBufferPool
{
	const OnnxAllocator *alloc;
	size_t		bytes;			/* held by the pool */
	size_t		small_bytes;	/* of which in small buckets */
	int			n_large;
	struct
	{
		void	   *ptr;
		size_t		size;
	}			large[POOL_LARGE_SLOTS];
	struct
	{
		size_t		size;		/* every buffer here has exactly this size */
		int			n;
		void	   *ptr[POOL_SMALL_DEPTH];
	}			small[POOL_SMALL_BUCKETS];
} OnnxBufferPool;

extern void onnx_pool_init(OnnxBufferPool *pool, const OnnxAllocator *alloc);
/* A buffer of at least size bytes (size 0 counts as 1); NULL when out of memory. */
extern void *onnx_pool_get(OnnxBufferPool *pool, size_t size);
/* Give back p, whose usable size is at least size (frees what the pool cannot keep). */
extern void onnx_pool_put(OnnxBufferPool *pool, void *p, size_t size);
/* Free buffers, largest first, until the pool holds at most keep_bytes. */
extern void onnx_pool_trim(OnnxBufferPool *pool, size_t keep_bytes);
extern void onnx_pool_free_all(OnnxBufferPool *pool);

#endif
