/*-------------------------------------------------------------------------
 *
 * slice_blocks.h
 *	  The loop by which row kernels hand work to a vectorised body in
 *	  blocks, looking at the abort flag between blocks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SLICE_BLOCKS_H
#define SLICE_BLOCKS_H

#include "engine_internal.h"

/* Elements a block holds, about: one abort check per block. */
#define SLICE_BLOCK_ELEMS ((int64_t) 1 << 20)

/*
 * Run call once per block of the count slices of per elements each, with
 * o the block's first slice and n its number of slices; returns
 * ONNX_ERR_CANCELLED from the enclosing function when the abort flag is
 * set before a block.
 */
#define SLICE_BLOCKS(ctx, count, per, o, n, call) \
	for (int64_t o = 0, n = 0; o < (count); o += n) \
	{ \
		n = (per) > 0 && (per) < SLICE_BLOCK_ELEMS ? SLICE_BLOCK_ELEMS / (per) : 1; \
		if (n > (count) - o) \
			n = (count) - o; \
		if (onnx_kernel_should_abort(ctx)) \
			return onnx_kernel_fail((ctx), ONNX_ERR_CANCELLED, "inference cancelled"); \
		call; \
	}

#endif							/* SLICE_BLOCKS_H */
