/*
 * concat_plan.h
 *	  Values written straight into the output of the Concat that reads
 *	  them (see concat_plan.c).
 */
#ifndef CONCAT_PLAN_H
#define CONCAT_PLAN_H

#include "engine_internal.h"

/*
 * Set g->cat_dest / cat_off (left NULL when g has no Concat): for each
 * value that goes into a Concat's output in place, that output's value id
 * and the element offset there; -1 for other values.  After lifetimes.
 */
extern OnnxStatus onnx_graph_plan_concats(OnnxGraph *g, OnnxArena *arena, OnnxError *err);

#endif
