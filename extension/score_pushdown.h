/* score_pushdown.h - onnx_score on the Citus workers (see score_pushdown.c) */
#ifndef SCORE_PUSHDOWN_H
#define SCORE_PUSHDOWN_H

#include "access/tupdesc.h"
#include "executor/spi.h"

#include "onnx_engine.h"

extern bool OnnxScoreOnWorkers(SPIPlanPtr plan, const OnnxModel *model, TupleDesc rdesc);
extern char *OnnxScoreWorkerQuery(const char *query, TupleDesc qdesc, const char *sha256);

#endif
