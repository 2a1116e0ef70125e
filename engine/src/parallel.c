/*-------------------------------------------------------------------------
 *
 * parallel.c
 *	  The engine's intra-op thread pool (contract in parallel.h).
 *
 *	  Worker threads are created on first need, up to the largest thread
 *	  count asked for (at most POOL_MAX), and live for the process.  They
 *	  sleep on a condition variable between jobs (no spinning), run with
 *	  every signal blocked (so a host such as a PostgreSQL backend gets
 *	  its signals on its own thread), and run nothing but the tasks they
 *	  are given: no allocator, error or abort callback is ever called
 *	  from them.  One job runs at a time: a call that finds the pool
 *	  busy runs its tasks itself.  Tasks are handed out by an atomic
 *	  counter, so uneven tasks balance.  A forked child starts with no
 *	  workers.
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <string.h>

#include "parallel.h"

#define POOL_MAX 64
#define POOL_STACK (2 * 1024 * 1024)	/* workers' stack: GEMM keeps ~200 KB there */

static struct
{
	pthread_mutex_t lock;		/* guards the fields below */
	pthread_cond_t wake;		/* a new job was posted */
	pthread_cond_t done;		/* the last helper left the job */
	int			n_workers;
	uint64_t	generation;		/* job number */
	OnnxParallelFn fn;
	void	   *arg;
	int64_t		n_tasks;
	int64_t		next;			/* next task to hand out (atomic) */
	int			wanted;			/* helpers the job may take */
	int			joined;			/* helpers that took it */
	int			active;			/* helpers still running tasks */
	bool		atfork_set;
}			pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

/* One job at a time; held by the calling thread for the whole job. */
static pthread_mutex_t pool_busy = PTHREAD_MUTEX_INITIALIZER;

/* Take tasks of the current job until none is left. */
static void
run_tasks(OnnxParallelFn fn, void *arg, int64_t n_tasks)
{
	int64_t		t;

	while ((t = __atomic_fetch_add(&pool.next, 1, __ATOMIC_RELAXED)) < n_tasks)
		fn(arg, t);
}

static void *
worker_main(void *unused)
{
	uint64_t	seen;

	(void) unused;

	pthread_mutex_lock(&pool.lock);
	seen = pool.generation;
	for (;;)
	{
		OnnxParallelFn fn;
		void	   *arg;
		int64_t		n;

		while (pool.generation == seen)
			pthread_cond_wait(&pool.wake, &pool.lock);
		seen = pool.generation;
		if (pool.joined >= pool.wanted)
			continue;			/* the job has its helpers, or is closed */
		pool.joined++;
		pool.active++;
		fn = pool.fn;
		arg = pool.arg;
		n = pool.n_tasks;
		pthread_mutex_unlock(&pool.lock);
		run_tasks(fn, arg, n);
		pthread_mutex_lock(&pool.lock);
		if (--pool.active == 0)
			pthread_cond_signal(&pool.done);
	}
	return NULL;
}

/* In a forked child the workers do not exist: start over. */
static void
pool_atfork_child(void)
{
	pthread_mutex_init(&pool.lock, NULL);
	pthread_cond_init(&pool.wake, NULL);
	pthread_cond_init(&pool.done, NULL);
	pthread_mutex_init(&pool_busy, NULL);
	pool.n_workers = 0;
	pool.wanted = pool.joined = pool.active = 0;
}

/* Grow the pool to n workers, or as many as can be created (lock held). */
static void
pool_grow(int n)
{
	pthread_attr_t attr;
	sigset_t	all,
				old;

	if (n > POOL_MAX)
		n = POOL_MAX;
	if (pool.n_workers >= n)
		return;
	if (!pool.atfork_set)
	{
		if (pthread_atfork(NULL, NULL, pool_atfork_child) != 0)
			return;
		pool.atfork_set = true;
	}
	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, POOL_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* workers inherit it */
	while (pool.n_workers < n)
	{
		pthread_t	th;

		if (pthread_create(&th, &attr, worker_main, NULL) != 0)
			break;
		pool.n_workers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

void
onnx_parallel_for(int n_threads, int64_t n_tasks, OnnxParallelFn fn, void *arg)
{
	int			helpers;

	if (n_tasks <= 0)
		return;
	if (n_threads <= 1 || n_tasks == 1 || pthread_mutex_trylock(&pool_busy) != 0)
	{
		for (int64_t t = 0; t < n_tasks; t++)
			fn(arg, t);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	pool_grow(n_threads - 1);
	helpers = n_threads - 1;
	if (helpers > pool.n_workers)
		helpers = pool.n_workers;
	if (helpers > n_tasks - 1)
		helpers = (int) (n_tasks - 1);
	pool.fn = fn;
	pool.arg = arg;
	pool.n_tasks = n_tasks;
	pool.next = 0;
	pool.wanted = helpers;
	pool.joined = 0;
	pool.active = 0;
	pool.generation++;
	if (helpers > 0)
		pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);

	run_tasks(fn, arg, n_tasks);

	/* close the job to late helpers, then wait for those still working */
	pthread_mutex_lock(&pool.lock);
	pool.wanted = pool.joined;
	while (pool.active > 0)
		pthread_cond_wait(&pool.done, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	pthread_mutex_unlock(&pool_busy);
}
