/*
 * parallel.h
 *	  The engine's intra-op thread pool: run independent tasks of one
 *	  kernel on up to n threads (the caller's thread is one of them).
 */
#ifndef PARALLEL_H
#define PARALLEL_H

#include <stdint.h>

/* One task; tasks of a call run concurrently, in any order. */
typedef void (*OnnxParallelFn) (void *arg, int64_t task);

/*
 * Run fn(arg, t) for every t in [0, n_tasks) on at most n_threads
 * threads, the caller's included, and return when all have finished.
 * Falls back to running them all on the caller's thread when n_threads
 * <= 1, when threads cannot be created, or when the pool is busy (a
 * nested call, or another thread's call).  fn must not fail: it reports
 * through its arg.
 */
extern void onnx_parallel_for(int n_threads, int64_t n_tasks, OnnxParallelFn fn, void *arg);

#endif							/* PARALLEL_H */
