/* input_binding.h - model inputs fed from rows (see input_binding.c) */
#ifndef INPUT_BINDING_H
#define INPUT_BINDING_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/array.h"

#include "onnx_engine.h"

/* Rows to score: same field names as SPITupleTable. */
typedef struct RowSet
{
	TupleDesc	tupdesc;
	HeapTuple  *vals;
	uint64		numvals;
} RowSet;

typedef struct InputBinding
{
	const OnnxValueInfo *vi;
	int			col;			/* 1-based column */
	Oid			coltype;
	Oid			elemtype;		/* InvalidOid for a scalar column */
	int16		elemlen;
	bool		elembyval;
	char		elemalign;
	int64		per_row;		/* values per row, -1 until known */
	OnnxDType	dtype;
} InputBinding;

extern void OnnxBindInputs(const OnnxModel *model, TupleDesc qdesc, InputBinding *b,
						   const char *name, bool allow_fallback);
extern void OnnxNameRowFields(TupleDesc desc, ArrayType *names);
extern bool OnnxRowIsScorable(const InputBinding *b, int n_in, HeapTuple row, TupleDesc desc);
extern int64 OnnxRowValueCount(const InputBinding *b, HeapTuple row, TupleDesc desc);
extern void OnnxBuildInput(InputBinding *b, const RowSet *rows, const bool *valid,
						   int64 nvalid, OnnxTensor *x, const char *name);

#endif
