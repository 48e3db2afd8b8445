// How `lowrank_update_f32` splits its rows between threads, shared with the memory-floor pass so
// both move the same bytes on the same threads.

#ifndef LOWRANK_ROW_PARTS_H
#define LOWRANK_ROW_PARTS_H

#include "CLowRankKernel.h"

/// Rows are handed out in whole blocks of six, the kernel's register block.
enum { ROW_BLOCK = 6 };

/// Parts for rows `0..<n` of the adapter path with `X: n×k`, rank `r`, `Y: n×d`: one per ≥ 2²²
/// multiply-adds (≈ 0.1 ms, worth waking a helper for), at most `threads` and the CPUs allowed.
static inline int lowrank_update_parts(ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d, int threads) {
    const ptrdiff_t worth = n * r * (k + d) >> 22;
    int parts = worth < threads ? (worth < 1 ? 1 : (int)worth) : threads;
    if (parts > 1) {
        const int cpus = lowrank_available_cpus();
        if (cpus < parts) parts = cpus;
    }
    return parts;
}

/// Rows `first..<last` of part `part` of `parts` over `n` rows, in whole blocks of `ROW_BLOCK`.
static inline void lowrank_part_rows(ptrdiff_t n, int part, int parts, ptrdiff_t *first, ptrdiff_t *last) {
    const ptrdiff_t blocks = (n + ROW_BLOCK - 1) / ROW_BLOCK;
    *first = blocks * part / parts * ROW_BLOCK;
    const ptrdiff_t end = blocks * (part + 1) / parts * ROW_BLOCK;
    *last = end < n ? end : n;
}

#endif
