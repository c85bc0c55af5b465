// Persistent worker pool: see include/nk_pool.h.
#define _GNU_SOURCE
#include "nk_pool.h"
#include "CNeuralKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define NK_MAX_WORKERS 255
#define NK_OPEN ((uint64_t)1 << 63)
#define NK_SLOT ((uint64_t)1 << 32)
#define NK_JOINED_MASK ((uint64_t)0xffff)
// Iterations of the spin-wait before a worker parks (each a pause, ~20–60 ns): ~100 µs.
#define NK_SPIN 4000

static _Atomic int busy;            // 1 while a caller owns the pool
static _Atomic uint32_t generation; // bumped for every job; workers wait on it (futex word)
static _Atomic int sleepers;        // workers parked in futex_wait
static _Atomic uint64_t state;      // NK_OPEN | slots << 32 | joined
static _Atomic long next_task;
static nk_task_fn job_fn;           // written only while state is closed with joined == 0
static void *job_ctx;
static long job_tasks;
static int job_level_cap;          // the caller's nk_thread_level_cap, which the workers take on
static _Atomic int nworkers;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void park(uint32_t seen) {
#if defined(__linux__)
    syscall(SYS_futex, &generation, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
#else
    (void)seen;
    sched_yield();
#endif
}

static void unpark(int count) {
#if defined(__linux__)
    syscall(SYS_futex, &generation, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
#else
    (void)count;
#endif
}

static inline void run_tasks(nk_task_fn fn, void *ctx, long tasks) {
    long t;
    while ((t = atomic_fetch_add_explicit(&next_task, 1, memory_order_relaxed)) < tasks) fn(ctx, t);
}

static void *worker_main(void *arg) {
    (void)arg;
    uint32_t seen = atomic_load(&generation);
    for (;;) {
        // Wait for a new job: spin, then park.
        int spins = 0;
        while (atomic_load_explicit(&generation, memory_order_acquire) == seen) {
            if (++spins < NK_SPIN) { cpu_relax(); continue; }
            atomic_fetch_add(&sleepers, 1);
            while (atomic_load(&generation) == seen) park(seen);
            atomic_fetch_sub(&sleepers, 1);
        }
        seen = atomic_load_explicit(&generation, memory_order_acquire);
        // Join the open job if it has a free slot.
        uint64_t s = atomic_load_explicit(&state, memory_order_relaxed);
        for (;;) {
            if (!(s & NK_OPEN) || (s & ~NK_OPEN) < NK_SLOT) break;
            if (atomic_compare_exchange_weak_explicit(&state, &s, s - NK_SLOT + 1,
                                                      memory_order_acquire, memory_order_relaxed)) {
                int saved = nk_set_thread_level_cap(job_level_cap);
                run_tasks(job_fn, job_ctx, job_tasks);
                nk_set_thread_level_cap(saved);
                atomic_fetch_sub_explicit(&state, 1, memory_order_release);
                break;
            }
        }
    }
    return NULL;
}

static void ensure_workers(int want) {
    if (want > NK_MAX_WORKERS) want = NK_MAX_WORKERS;
    if (atomic_load_explicit(&nworkers, memory_order_acquire) >= want) return;
    pthread_mutex_lock(&grow_lock);
    while (atomic_load(&nworkers) < want) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&th, &attr, worker_main, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;  // run with the workers we have
        atomic_fetch_add(&nworkers, 1);
    }
    pthread_mutex_unlock(&grow_lock);
}

int nk_pool_workers(void) { return atomic_load(&nworkers); }

void nk_pool_run(nk_task_fn fn, void *ctx, long tasks, int threads) {
    if (threads > tasks) threads = (int)tasks;
    int expected = 0;
    if (threads <= 1 || !atomic_compare_exchange_strong(&busy, &expected, 1)) {
        for (long t = 0; t < tasks; t++) fn(ctx, t);
        return;
    }
    ensure_workers(threads - 1);
    int helpers = atomic_load(&nworkers);
    if (helpers > threads - 1) helpers = threads - 1;
    job_fn = fn;
    job_ctx = ctx;
    job_tasks = tasks;
    job_level_cap = nk_thread_level_cap();
    atomic_store_explicit(&next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&state, NK_OPEN | (uint64_t)helpers * NK_SLOT, memory_order_release);
    atomic_fetch_add(&generation, 1);
    if (helpers > 0 && atomic_load(&sleepers) > 0) unpark(helpers);
    run_tasks(fn, ctx, tasks);
    // Close the job to late workers, then wait for those that joined to finish their tasks.
    uint64_t s = atomic_fetch_and_explicit(&state, ~NK_OPEN, memory_order_acquire) & ~NK_OPEN;
    int spins = 0;
    while ((s & NK_JOINED_MASK) != 0) {
        if (++spins < NK_SPIN) cpu_relax(); else sched_yield();
        s = atomic_load_explicit(&state, memory_order_acquire);
    }
    atomic_store_explicit(&busy, 0, memory_order_release);
}
