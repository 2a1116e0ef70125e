/*-------------------------------------------------------------------------
 *
 * cuda_device.cu
 *	  CUDA device discovery for the WITH_CUDA=1 build.  No CUDA call is
 *	  made until a caller first asks (never at load or in the postmaster).
 *	  Every CUDA error becomes a return value, never an abort.
 *
 *-------------------------------------------------------------------------
 */
#include <cstdio>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "onnx_engine.h"

/* 1 if a CUDA device is usable now; otherwise 0 and the reason in why. */
extern "C" int
onnx_cuda_available(char *why, size_t why_len)
{
	int			count = 0;
	cudaError_t rc = cudaGetDeviceCount(&count);

	if (rc != cudaSuccess)
	{
		if (why && why_len)
			snprintf(why, why_len, "no usable CUDA device: %s", cudaGetErrorString(rc));
		return 0;
	}
	if (count == 0)
	{
		if (why && why_len)
			snprintf(why, why_len, "no CUDA device found");
		return 0;
	}
	if (why && why_len)
		snprintf(why, why_len, "%d CUDA device(s)", count);
	return 1;
}
