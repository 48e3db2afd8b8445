// Each build of the C kernels against the others on one thread: the packed low-rank product
// (`lowrank_update_f32`, AVX2+FMA and AVX-512) at n = 512, d = k = 4096 for r = 4…64, and the
// GELU, SiLU and softmax exponentials (`CNNKernels`: portable, AVX2+FMA, AVX-512) on 2²⁰ floats.
// Builds the CPU lacks are skipped. Build and run: scripts/bench-kernel-builds [rounds].
//
// Rounds are interleaved (the order reversed every other round) and timed in the thread's CPU
// time, so another process taking the core does not count; printed are the best and the median
// of the rounds, ms per call.

#include "CLowRankKernel.h"
#include "CNNKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N = 512, K = 4096, D = 4096, MAX_ROUNDS = 101, ELEMENTS = 1 << 20, SOFTMAX_ROW = 32 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int ascending(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float *filled(long count, int seed) {
    float *values = malloc(sizeof(float) * count);
    for (long i = 0; i < count; i++) values[i] = (float)((i * 7919 + seed) % 1000) / 1000.0f - 0.5f;
    return values;
}

/// Times `variants` operations for `rounds` interleaved rounds and prints best and median of each.
static void compare(const char *label, int variants, const char *const names[], int rounds,
                    void (*run)(void *context, int variant), void *context, double flops) {
    double times[3][MAX_ROUNDS];
    for (int round = -1; round < rounds; round++)  // round −1 warms up
        for (int step = 0; step < variants; step++) {
            const int variant = round & 1 ? variants - 1 - step : step;
            const double start = now();
            run(context, variant);
            if (round >= 0) times[variant][round] = (now() - start) * 1e3;
        }
    printf("%-28s", label);
    for (int v = 0; v < variants; v++) {
        qsort(times[v], rounds, sizeof(double), ascending);
        printf("  %s %.3f / %.3f ms", names[v], times[v][0], times[v][rounds / 2]);
        if (flops > 0) printf(" (%.0f GFLOP/s)", flops / times[v][0] / 1e6);
    }
    printf("\n");
}

struct low_rank { const float *x, *packed_a, *packed_b; float *t, *y; int r; lowrank_isa isas[2]; };

static void run_low_rank(void *context, int variant) {
    struct low_rank *c = context;
    lowrank_update_f32(c->x, K, c->packed_a, c->packed_b, c->t, N, c->y, D, N, K, c->r, D, 1, c->isas[variant]);
}

struct element_wise { float *x, *y, *slope; nn_build builds[3]; int kernel; };

static void run_element_wise(void *context, int variant) {
    struct element_wise *c = context;
    const nn_build build = c->builds[variant];
    if (c->kernel == 0) nn_gelu_f32(build, c->x, c->y, c->slope, ELEMENTS);
    if (c->kernel == 1) nn_silu_f32(build, c->x, c->y, c->slope, ELEMENTS);
    if (c->kernel == 2) {
        for (long i = 0; i < ELEMENTS; i++) c->y[i] = -c->x[i] * c->x[i];
        for (long row = 0; row < ELEMENTS; row += SOFTMAX_ROW) nn_shifted_exp_f32(build, c->y + row, SOFTMAX_ROW, 0);
    }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 15;
    if (rounds < 1 || rounds > MAX_ROUNDS) rounds = 15;
    printf("best / median of %d rounds, one thread\n", rounds);

    struct low_rank low_rank = {
        .x = filled((long)N * K, 1), .t = malloc(sizeof(float) * 64 * N), .y = calloc((size_t)N * D, sizeof(float))};
    const char *isa_names[2];
    int isas = 0;
    if (lowrank_isa_supported(LOWRANK_ISA_AVX2_FMA)) isa_names[isas] = "AVX2+FMA", low_rank.isas[isas++] = LOWRANK_ISA_AVX2_FMA;
    if (lowrank_isa_supported(LOWRANK_ISA_AVX512)) isa_names[isas] = "AVX-512", low_rank.isas[isas++] = LOWRANK_ISA_AVX512;
    const int ranks[] = {4, 8, 16, 32, 64};
    for (int i = 0; isas > 0 && i < 5; i++) {
        const int r = ranks[i];
        float *a = filled((long)r * K, 2), *b = filled((long)D * r, 3);
        float *packed_a = malloc(sizeof(float) * lowrank_packed_a_count(r, K));
        float *packed_b = malloc(sizeof(float) * lowrank_packed_b_count(D, r));
        lowrank_pack_a_f32(a, r, K, packed_a);
        lowrank_pack_b_f32(b, D, r, 0.01f, packed_b);
        low_rank.packed_a = packed_a, low_rank.packed_b = packed_b, low_rank.r = r;
        char label[64];
        snprintf(label, sizeof label, "low-rank n=%d d=k=%d r=%d", N, K, r);
        compare(label, isas, isa_names, rounds, run_low_rank, &low_rank, 2.0 * N * r * (K + D));
        free(a), free(b), free(packed_a), free(packed_b);
    }

    struct element_wise element_wise = {
        .x = filled(ELEMENTS, 4), .y = malloc(sizeof(float) * ELEMENTS), .slope = malloc(sizeof(float) * ELEMENTS)};
    for (long i = 0; i < ELEMENTS; i++) element_wise.x[i] *= 12;  // [−6, 6)
    const char *all_builds[3] = {"portable", "AVX2+FMA", "AVX-512"}, *build_names[3];
    int builds = 0;
    for (int b = NN_BUILD_PORTABLE; b <= NN_BUILD_AVX512; b++)
        if (nn_build_supported((nn_build)b)) build_names[builds] = all_builds[b], element_wise.builds[builds++] = (nn_build)b;
    const char *kernels[3] = {"GELU 2^20", "SiLU 2^20", "shifted exp, rows of 32"};
    for (int kernel = 0; kernel < 3; kernel++) {
        element_wise.kernel = kernel;
        compare(kernels[kernel], builds, build_names, rounds, run_element_wise, &element_wise, 0);
    }
    return 0;
}
