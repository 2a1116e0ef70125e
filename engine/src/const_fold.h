/* const_fold.h - constant folding at load (see const_fold.c) */
#ifndef CONST_FOLD_H
#define CONST_FOLD_H

#include "engine_internal.h"

/*
 * Fold the constant nodes of g and its subgraphs (after inference, before
 * the optimizer); the kernels' own memory comes from scratch, what stays
 * from the model's allocator.  Fails only when memory runs out.
 */
extern OnnxStatus onnx_graph_fold(OnnxModel *model, OnnxGraph *g,
								  const OnnxAllocator *scratch, OnnxError *err);
/* Release the values folding made (at model free). */
extern void onnx_model_free_folded(OnnxModel *model);

#endif
