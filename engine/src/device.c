/*-------------------------------------------------------------------------
 *
 * device.c
 *	  Device availability for builds without CUDA (WITH_CUDA unset).  The
 *	  CUDA build replaces this with engine/cuda/cuda_device.cu.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "engine_internal.h"

#ifndef ONNX_WITH_CUDA
/* Always false here: this build has no CUDA support. */
int
onnx_cuda_available(char *why, size_t why_len)
{
	if (why && why_len)
		snprintf(why, why_len, "the engine was built without CUDA (rebuild with make WITH_CUDA=1)");
	return 0;
}
#endif
