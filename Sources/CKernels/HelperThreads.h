#ifndef CKERNELS_HELPER_THREADS_H
#define CKERNELS_HELPER_THREADS_H

/// Runs `work(context, part)` for every `part < parts`: part 0 on the calling thread, the others on
/// helper threads kept for the process, each pinned (Linux) to a CPU the caller is not on. Returns
/// when all parts are done. Runs every part on the caller when `parts < 2`, when helpers cannot be
/// started, or when another call holds them.
///
/// Why pinned: a helper woken by the caller is placed on the caller's CPU (the scheduler's wake
/// affinity) whenever the other CPUs are busy — for instance with OpenBLAS workers that spin for a
/// while after each call — and then waits for the caller's time slice: 1–2 ms, measured, longer
/// than the work. Pinned to another CPU it starts within 30–50 µs.
void ckernels_run_parts(void (*work)(void *context, int part), void *context, int parts);

/// How many parts `ckernels_run_parts` can run at once: the CPUs this thread may use (at least 1).
int ckernels_available_cpus(void);

#endif
