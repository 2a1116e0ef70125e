/*-------------------------------------------------------------------------
 *
 * profile.h
 *	  Per-operator timing of a session's runs (profile.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ONNX_PROFILE_H
#define ONNX_PROFILE_H

#include "engine_internal.h"

typedef struct OnnxProfile OnnxProfile;

/*
 * A zeroed table with one entry per operator definition used by model's
 * graph and its subgraphs, from alloc.
 */
extern OnnxStatus onnx_profile_create(const OnnxModel *model, const OnnxAllocator *alloc,
									  OnnxProfile **profile, OnnxError *err);
extern void onnx_profile_free(OnnxProfile *profile, const OnnxAllocator *alloc);

/*
 * Run ctx's node through its kernel and add its self time, read on the
 * clock that mode (ONNX_PROFILE_WALL or ONNX_PROFILE_CPU) names, to its
 * operator.
 */
extern OnnxStatus onnx_profile_run_node(OnnxProfile *profile, int mode, OnnxKernelCtx *ctx);

/* Entries with calls, largest total first (see onnx_session_profile). */
extern int	onnx_profile_read(const OnnxProfile *profile, OnnxOpProfile *entries, int max);
extern void onnx_profile_reset(OnnxProfile *profile);

#endif							/* ONNX_PROFILE_H */
