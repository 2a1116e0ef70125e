/*-------------------------------------------------------------------------
 *
 * float_array.c
 *	  float4[] straight from a float buffer: one allocation and a memcpy,
 *	  instead of a Datum per element (the scoring functions' hot path).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "onnx_ext.h"

/* A NULL-free float4 array of ndim dims (lower bounds 1) holding vals. */
ArrayType *
OnnxFloat4Array(const float *vals, int ndim, const int *dims)
{
	int64		n = 1;
	Size		size;
	ArrayType  *a;

	for (int d = 0; d < ndim; d++)
		n *= dims[d];
	if (n == 0)
		return construct_empty_array(FLOAT4OID);
	size = ARR_OVERHEAD_NONULLS(ndim) + (Size) n * sizeof(float4);
	if (!AllocSizeIsValid(size))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("array of " INT64_FORMAT " values is too large", n)));
	a = (ArrayType *) palloc0(size);
	SET_VARSIZE(a, size);
	a->ndim = ndim;
	a->dataoffset = 0;
	a->elemtype = FLOAT4OID;
	for (int d = 0; d < ndim; d++)
	{
		ARR_DIMS(a)[d] = dims[d];
		ARR_LBOUND(a)[d] = 1;
	}
	memcpy(ARR_DATA_PTR(a), vals, (Size) n * sizeof(float4));
	return a;
}
