// Helper threads for kernels that split their rows: started once, woken per call, pinned off the
// caller's CPU so they start at once (see `lowrank_run_parts` in CLowRankKernel.h).

#define _GNU_SOURCE
#include "CLowRankKernel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

enum { MAX_HELPERS = 63 };

struct helper {
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    int part;  // the part to run; 0 while idle
    int cpu;   // the CPU it is pinned to, -1 before the first pin
};

static struct helper helpers[MAX_HELPERS];
static int helper_count;
static pthread_mutex_t pool = PTHREAD_MUTEX_INITIALIZER;  // held by the one call using the helpers
static void (*current_work)(void *, int);
static void *current_context;
static atomic_int parts_running;

static void *helper_main(void *argument) {
    struct helper *self = argument;
    for (;;) {
        pthread_mutex_lock(&self->mutex);
        while (self->part == 0) pthread_cond_wait(&self->wake, &self->mutex);
        const int part = self->part;
        self->part = 0;
        pthread_mutex_unlock(&self->mutex);
        current_work(current_context, part);
        atomic_fetch_sub_explicit(&parts_running, 1, memory_order_release);
    }
    return 0;
}

/// A child of `fork` has none of its parent's helper threads: it starts its own.
static void forget_helpers_in_child(void) {
    helper_count = 0;
    pthread_mutex_init(&pool, 0);
}

static void register_fork_handler(void) { pthread_atfork(0, 0, forget_helpers_in_child); }

/// Starts helpers until there are `count` (or as many as can be started); returns how many of
/// them can be used, at most `count`.
static int start_helpers(int count) {
    static pthread_once_t fork_handler = PTHREAD_ONCE_INIT;
    pthread_once(&fork_handler, register_fork_handler);
    while (helper_count < count && helper_count < MAX_HELPERS) {
        struct helper *helper = &helpers[helper_count];
        helper->part = 0;
        helper->cpu = -1;
        pthread_mutex_init(&helper->mutex, 0);
        pthread_cond_init(&helper->wake, 0);
        if (pthread_create(&helper->thread, 0, helper_main, helper) != 0) break;
        helper_count++;
    }
    return helper_count < count ? helper_count : count;
}

int lowrank_available_cpus(void) {
#if defined(__linux__)
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) > 0) return CPU_COUNT(&allowed);
#endif
    return 1;
}

/// Pins helper `i` of `0..<count` to the `i`-th allowed CPU after the caller's, going round them
/// with the caller's CPU last, so parts spread evenly even when there are more than CPUs; a
/// helper already on its CPU is left alone.
static void pin_helpers_off_caller(int count) {
#if defined(__linux__)
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) return;
    const int caller = sched_getcpu();
    int cpu = caller < 0 ? 0 : caller;
    for (int i = 0; i < count; i++) {
        do cpu = (cpu + 1) % CPU_SETSIZE;
        while (!CPU_ISSET(cpu, &allowed));
        if (helpers[i].cpu == cpu) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (pthread_setaffinity_np(helpers[i].thread, sizeof one, &one) == 0) helpers[i].cpu = cpu;
    }
#else
    (void)count;
#endif
}

void lowrank_run_parts(void (*work)(void *context, int part), void *context, int parts) {
    if (parts < 2 || pthread_mutex_trylock(&pool) != 0) {
        for (int part = 0; part < parts; part++) work(context, part);
        return;
    }
    const int helping = start_helpers(parts - 1);
    pin_helpers_off_caller(helping);
    current_work = work;
    current_context = context;
    atomic_store_explicit(&parts_running, helping, memory_order_relaxed);
    for (int i = 0; i < helping; i++) {
        pthread_mutex_lock(&helpers[i].mutex);
        helpers[i].part = i + 1;
        pthread_cond_signal(&helpers[i].wake);
        pthread_mutex_unlock(&helpers[i].mutex);
    }
    work(context, 0);
    for (int part = helping + 1; part < parts; part++) work(context, part);  // helpers that did not start
    while (atomic_load_explicit(&parts_running, memory_order_acquire) > 0) sched_yield();
    pthread_mutex_unlock(&pool);
}
