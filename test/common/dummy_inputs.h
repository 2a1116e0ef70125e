/*
 * dummy_inputs.h - inputs shaped from a model's declared input types, for
 * the test tools that run arbitrary models (hostile corpus, fuzzers).
 */
#ifndef DUMMY_INPUTS_H
#define DUMMY_INPUTS_H

#include "onnx_engine.h"

/*
 * Fill ins[0..n_inputs) and names: dynamic dims become dyn_dim, unknown
 * rank becomes 1, dims are capped at 4096 and counts at 2^24 (else the
 * tensor is left empty); data comes from bytes (repeated) or zeros.
 */
extern void dummy_inputs_make(const OnnxModel *m, OnnxValue *ins, const char **names,
							  int64_t dyn_dim, const unsigned char *bytes, size_t len);
extern void dummy_inputs_free(const OnnxModel *m, OnnxValue *ins);

/*
 * Load, prepare (256 MB limit) and run once, cancelled after 5 seconds;
 * returns the final status.
 */
extern OnnxStatus dummy_run_model(const void *model, size_t len, const unsigned char *data,
								  size_t data_len, OnnxError *err, const char **stage);

#endif
