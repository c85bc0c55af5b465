#ifndef NK_POOL_H
#define NK_POOL_H

/// A persistent worker pool for Neural's parallel loops.
///
/// Workers spin briefly after each job, then park on a futex; the calling thread takes part in
/// every job. One job runs at a time: a call made while the pool is busy (from another thread, or
/// nested inside a task) runs its tasks inline on the calling thread, so calls never deadlock.
/// Tasks are claimed dynamically (Swift's `Parallel.forEach` runs one per thread, each working
/// through its own share of the loop first); which thread runs a task never changes what it computes.

/// The function a job runs once per task index, with the caller's context.
typedef void (*nk_task_fn)(void *ctx, long task);

/// Calls fn(ctx, t) for every t in [0, tasks) on at most `threads` threads (the caller included)
/// and returns when all have finished. Runs inline when threads <= 1, tasks <= 1 or the pool is busy.
void nk_pool_run(nk_task_fn fn, void *ctx, long tasks, int threads);

/// Number of worker threads started so far (excluding callers).
int nk_pool_workers(void);

#endif
