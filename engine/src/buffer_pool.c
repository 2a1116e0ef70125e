/*-------------------------------------------------------------------------
 *
 * buffer_pool.c
 *	  A session's pool of tensor buffers: what a run frees goes back here
 *	  and the next output of a similar size takes it, so a run in the
 *	  steady state calls the allocator for little more than the outputs it
 *	  hands to the caller.
 *
 *	  Buffers of POOL_MIN_BYTES and more: up to POOL_LARGE_SLOTS of any
 *	  size; a request takes the smallest that holds it and is at most
 *	  twice its size.  Smaller buffers: buckets by exact size (hashed,
 *	  POOL_SMALL_DEPTH deep), so that a chain of tiny nodes allocates
 *	  nothing; a size that collides with another in its bucket is freed.
 *	  The small buckets hold at most POOL_SMALL_MAX_BYTES in all.
 *
 *	  A buffer given back may be larger than the size it is given back
 *	  with (a large one taken for a smaller request); the pool only ever
 *	  relies on the size given back.
 *
 *-------------------------------------------------------------------------
 */
#include "buffer_pool.h"

#define POOL_MIN_BYTES 4096
#define POOL_SMALL_MAX_BYTES (256 * 1024)

void
onnx_pool_init(OnnxBufferPool *pool, const OnnxAllocator *alloc)
{
	memset(pool, 0, sizeof(*pool));
	pool->alloc = alloc;
}

static inline int
small_bucket(size_t size)
{
	return (int) (((uint32_t) size * 2654435761u) >> 26) & (POOL_SMALL_BUCKETS - 1);
}

void *
onnx_pool_get(OnnxBufferPool *pool, size_t size)
{
	int			best = -1;

	if (size == 0)
		size = 1;
	if (size < POOL_MIN_BYTES)
	{
		int			b = small_bucket(size);

		if (pool->small[b].n > 0 && pool->small[b].size == size)
		{
			pool->bytes -= size;
			pool->small_bytes -= size;
			return pool->small[b].ptr[--pool->small[b].n];
		}
		return pool->alloc->alloc(pool->alloc->ctx, size);
	}
	for (int i = 0; i < pool->n_large; i++)
		if (pool->large[i].size >= size && pool->large[i].size / 2 <= size &&
			(best < 0 || pool->large[i].size < pool->large[best].size))
			best = i;
	if (best >= 0)
	{
		void	   *p = pool->large[best].ptr;

		pool->bytes -= pool->large[best].size;
		pool->large[best] = pool->large[--pool->n_large];
		return p;
	}
	return pool->alloc->alloc(pool->alloc->ctx, size);
}

void
onnx_pool_put(OnnxBufferPool *pool, void *p, size_t size)
{
	if (p == NULL)
		return;
	if (size == 0)
		size = 1;
	if (size < POOL_MIN_BYTES)
	{
		int			b = small_bucket(size);

		if (pool->small[b].n == 0)
			pool->small[b].size = size;
		if (pool->small[b].size == size && pool->small[b].n < POOL_SMALL_DEPTH &&
			pool->small_bytes + size <= POOL_SMALL_MAX_BYTES)
		{
			pool->small[b].ptr[pool->small[b].n++] = p;
			pool->bytes += size;
			pool->small_bytes += size;
			return;
		}
	}
	else if (pool->n_large < POOL_LARGE_SLOTS)
	{
		pool->large[pool->n_large].ptr = p;
		pool->large[pool->n_large].size = size;
		pool->n_large++;
		pool->bytes += size;
		return;
	}
	pool->alloc->free(pool->alloc->ctx, p);
}

void
onnx_pool_trim(OnnxBufferPool *pool, size_t keep_bytes)
{
	while (pool->bytes > keep_bytes)
	{
		int			large = -1,
					small = -1;

		for (int i = 0; i < pool->n_large; i++)
			if (large < 0 || pool->large[i].size > pool->large[large].size)
				large = i;
		if (large >= 0)
		{
			pool->alloc->free(pool->alloc->ctx, pool->large[large].ptr);
			pool->bytes -= pool->large[large].size;
			pool->large[large] = pool->large[--pool->n_large];
			continue;
		}
		for (int b = 0; b < POOL_SMALL_BUCKETS; b++)
			if (pool->small[b].n > 0 && (small < 0 || pool->small[b].size > pool->small[small].size))
				small = b;
		if (small < 0)
			break;
		pool->alloc->free(pool->alloc->ctx, pool->small[small].ptr[--pool->small[small].n]);
		pool->bytes -= pool->small[small].size;
		pool->small_bytes -= pool->small[small].size;
	}
}

void
onnx_pool_free_all(OnnxBufferPool *pool)
{
	for (int i = 0; i < pool->n_large; i++)
		pool->alloc->free(pool->alloc->ctx, pool->large[i].ptr);
	for (int b = 0; b < POOL_SMALL_BUCKETS; b++)
		for (int i = 0; i < pool->small[b].n; i++)
			pool->alloc->free(pool->alloc->ctx, pool->small[b].ptr[i]);
	onnx_pool_init(pool, pool->alloc);
}
