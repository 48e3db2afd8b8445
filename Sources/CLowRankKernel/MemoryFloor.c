// The adapter path's memory traffic without its arithmetic: what `lowrank_update_f32` cannot go
// below on a machine whose memory, not its FMA units, sets the pace.

#include "CLowRankKernel.h"
#include "RowParts.h"

#if defined(__x86_64__)

enum { MAX_PARTS = 64, LANES = 16 };

typedef float lane_vector __attribute__((vector_size(LANES * sizeof(float)), aligned(sizeof(float)), may_alias));

struct memory_job {
    const float *x;
    float *y;
    ptrdiff_t ldx, ldy, n, k, d;
    float addend;
    lowrank_isa isa;
    int parts;
    float sums[MAX_PARTS];
};

/// One build per instruction set of the pass over rows `first..<last`: `Σ x` in four vector sums
/// (so loads are not serialised), then `y += addend`; vectors as wide as the kernel's, so both
/// issue the same loads and stores.
#define DEFINE_PASS(name, features)                                                                            \
    __attribute__((target(features))) static float name(struct memory_job *job, ptrdiff_t first, ptrdiff_t last) { \
        const ptrdiff_t ldx = job->ldx, ldy = job->ldy, k = job->k, d = job->d;                                 \
        const float addend = job->addend;                                                                       \
        lane_vector sum[4] = {{0}};                                                                             \
        float tail = 0;                                                                                         \
        for (ptrdiff_t i = first; i < last; i++) {                                                              \
            const float *x = job->x + i * ldx;                                                                  \
            ptrdiff_t l = 0;                                                                                    \
            for (; l + 4 * LANES <= k; l += 4 * LANES)                                                          \
                for (int s = 0; s < 4; s++) sum[s] += *(const lane_vector *)(x + l + s * LANES);               \
            for (; l < k; l++) tail += x[l];                                                                    \
        }                                                                                                       \
        for (ptrdiff_t i = first; i < last; i++) {                                                              \
            float *y = job->y + i * ldy;                                                                        \
            ptrdiff_t j = 0;                                                                                    \
            for (; j + LANES <= d; j += LANES) *(lane_vector *)(y + j) += addend;                               \
            for (; j < d; j++) y[j] += addend;                                                                  \
        }                                                                                                       \
        for (int s = 0; s < 4; s++)                                                                             \
            for (int j = 0; j < LANES; j++) tail += sum[s][j];                                                  \
        return tail;                                                                                            \
    }

DEFINE_PASS(pass_avx512, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
DEFINE_PASS(pass_avx2_fma, "avx2,fma")
#undef DEFINE_PASS

static void memory_part(void *context, int part) {
    struct memory_job *job = context;
    ptrdiff_t first, last;
    lowrank_part_rows(job->n, part, job->parts, &first, &last);
    job->sums[part] = job->isa == LOWRANK_ISA_AVX512 ? pass_avx512(job, first, last) : pass_avx2_fma(job, first, last);
}

#endif

float lowrank_memory_floor_f32(
    const float *x, ptrdiff_t ldx, float *y, ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d,
    float addend, int threads, lowrank_isa isa
) {
#if defined(__x86_64__)
    if (lowrank_isa_supported(isa)) {
        int parts = lowrank_update_parts(n, k, r, d, threads);
        if (parts > MAX_PARTS) parts = MAX_PARTS;
        struct memory_job job = {x, y, ldx, ldy, n, k, d, addend, isa, parts, {0}};
        lowrank_run_parts(memory_part, &job, parts);
        float total = 0;
        for (int part = 0; part < parts; part++) total += job.sums[part];
        return total;
    }
#else
    (void)x, (void)ldx, (void)y, (void)ldy, (void)n, (void)k, (void)r, (void)d, (void)addend, (void)threads, (void)isa;
#endif
    __builtin_trap();  // callers check lowrank_isa_supported(isa) first
}
