// One token through every linear layer of SmolLM2-135M (30 blocks of q, k, v, o, gate, up, down
// in Q4_1, then the 49152×576 LM head in Q8_0) with the CQuantKernels products, on 1 and 2
// threads. Weights are random blocks (sane fp16 scales), 96 MB in all, so each token streams them
// from memory as a real decode step does. Build and run: scripts/bench-quant-kernels.
//
// Prints ms per token (median and best of the measured tokens), weight GB/s, and per-shape
// figures on one thread.

#define _GNU_SOURCE
#include "CQuantKernels.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BLOCKS = 30, WIDTH = 576, KV = 192, FFN = 1536, VOCAB = 49152, MAX_K = 1536 };

typedef struct {
    cqk_weight_type type;
    int d, k;
    unsigned char *w;
    const char *name;
} matrix;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t state = 0x9E3779B97F4A7C15u;
static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static matrix make(cqk_weight_type type, int d, int k, const char *name) {
    matrix m = {type, d, k, NULL, name};
    const ptrdiff_t bytes = cqk_row_bytes(type, k) * d;
    m.w = aligned_alloc(64, (bytes + 63) / 64 * 64);
    for (ptrdiff_t i = 0; i < bytes; i += 8) {
        const uint64_t v = next();
        memcpy(m.w + i, &v, bytes - i < 8 ? (size_t)(bytes - i) : 8);
    }
    // scales in [−0.02, 0.02]: random bit patterns would include infinities and NaNs
    const int block_bytes = type == CQK_Q4_1 ? 20 : 34, blocks = d * (k / 32);
    for (int b = 0; b < blocks; b++) {
        const uint16_t s = cqk_f32_to_fp16(((int)(next() % 2001) - 1000) * 2e-5f);
        memcpy(m.w + (ptrdiff_t)b * block_bytes, &s, 2);
        if (type == CQK_Q4_1) memcpy(m.w + (ptrdiff_t)b * block_bytes + 2, &s, 2);
    }
    return m;
}

// A second thread that spins on a generation counter: a decode step makes ~211 products of
// 30–600 µs, too short to pay a futex wake-up for each.
typedef struct {
    const matrix *m;
    const cqk_block_q8a *x;
    float *y;
    int n, d0, d1;
} job;

static job pending;
static atomic_int generation, done_generation, quit;
static int threads = 1;

static void run(const job *j) { cqk_matmul_q8a(CQK_PATH_BEST, j->m->type, j->m->w, j->m->k, j->d0, j->d1, j->x, j->n, j->y, j->m->d); }

static void *helper(void *unused) {
    (void)unused;
    int seen = 0;
    while (!atomic_load_explicit(&quit, memory_order_acquire)) {
        const int g = atomic_load_explicit(&generation, memory_order_acquire);
        if (g == seen) {
            __builtin_ia32_pause();
            continue;
        }
        seen = g;
        run(&pending);
        atomic_store_explicit(&done_generation, g, memory_order_release);
    }
    return NULL;
}

static double shape_seconds[8];

static void product(const matrix *m, const cqk_block_q8a *x, int n, float *y, int slot) {
    const double t0 = slot >= 0 ? now() : 0;
    if (threads == 1) {
        job j = {m, x, y, n, 0, m->d};
        run(&j);
    } else {
        // rows split evenly; the helper takes the second half
        const int half = m->d / 2;
        pending = (job){m, x, y, n, half, m->d};
        const int g = atomic_load(&generation) + 1;
        atomic_store_explicit(&generation, g, memory_order_release);
        job mine = {m, x, y, n, 0, half};
        run(&mine);
        while (atomic_load_explicit(&done_generation, memory_order_acquire) != g) __builtin_ia32_pause();
    }
    if (slot >= 0) shape_seconds[slot] += now() - t0;
}

static matrix layers[BLOCKS][7], head;
static const char *names[8] = {"q 576x576", "k 192x576", "v 192x576", "o 576x576", "gate 1536x576", "up 1536x576", "down 576x1536", "head 49152x576"};

// One decode step's products for `n` activation rows (the same rows at every layer: only the
// arithmetic and the weight traffic matter here). Returns seconds.
static double token(int n, int timed_shapes) {
    static float x[16 * MAX_K], y[16 * VOCAB];
    static cqk_block_q8a xq[16 * MAX_K / 32];
    for (int i = 0; i < n * MAX_K; i++) x[i] = sinf((float)i);
    const double t0 = now();
    for (int b = 0; b < BLOCKS; b++) {
        cqk_quantize_rows_q8a(x, MAX_K, n, WIDTH, xq);
        for (int p = 0; p < 3; p++) product(&layers[b][p], xq, n, y, timed_shapes ? p : -1);
        cqk_quantize_rows_q8a(x, MAX_K, n, WIDTH, xq);
        product(&layers[b][3], xq, n, y, timed_shapes ? 3 : -1);
        cqk_quantize_rows_q8a(x, MAX_K, n, WIDTH, xq);
        product(&layers[b][4], xq, n, y, timed_shapes ? 4 : -1);
        product(&layers[b][5], xq, n, y, timed_shapes ? 5 : -1);
        cqk_quantize_rows_q8a(x, MAX_K, n, FFN, xq);
        product(&layers[b][6], xq, n, y, timed_shapes ? 6 : -1);
    }
    cqk_quantize_rows_q8a(x, MAX_K, n, WIDTH, xq);
    product(&head, xq, n, y, timed_shapes ? 7 : -1);
    return now() - t0;
}

static int compare(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const int tokens = argc > 1 ? atoi(argv[1]) : 40;
    const int shapes[7][2] = {{WIDTH, WIDTH}, {KV, WIDTH}, {KV, WIDTH}, {WIDTH, WIDTH}, {FFN, WIDTH}, {FFN, WIDTH}, {WIDTH, FFN}};
    double bytes = 0, shape_bytes[8] = {0};
    for (int b = 0; b < BLOCKS; b++)
        for (int p = 0; p < 7; p++) {
            layers[b][p] = make(CQK_Q4_1, shapes[p][0], shapes[p][1], names[p]);
            shape_bytes[p] += (double)cqk_row_bytes(CQK_Q4_1, shapes[p][1]) * shapes[p][0];
        }
    head = make(CQK_Q8_0, VOCAB, WIDTH, names[7]);
    shape_bytes[7] = (double)cqk_row_bytes(CQK_Q8_0, WIDTH) * VOCAB;
    for (int p = 0; p < 8; p++) bytes += shape_bytes[p];
    // multiply-adds per row: Σ d·k over the 30 blocks' seven products and the head
    const double macs = BLOCKS * (2.0 * WIDTH * WIDTH + 2.0 * KV * WIDTH + 3.0 * FFN * WIDTH) + (double)VOCAB * WIDTH;
    printf("path %s; weights %.1f MB per token (blocks %.1f MB, head %.1f MB)\n", cqk_path_name(CQK_PATH_BEST),
           bytes / 1e6, (bytes - shape_bytes[7]) / 1e6, shape_bytes[7] / 1e6);

    pthread_t thread;
    const int rows[] = {1, 4, 16};
    for (int t = 1; t <= 2; t++) {
        threads = t;
        // the helper spins, so it runs only while it has work: on one thread it would take a core
        if (t == 2) pthread_create(&thread, NULL, helper, NULL);
        for (int ri = 0; ri < 3; ri++) {
            const int n = rows[ri];
            const int count = n == 1 ? tokens : (n == 4 ? tokens / 2 : tokens / 4) + 3;
            double *s = malloc(sizeof(double) * count);
            for (int w = 0; w < 3; w++) token(n, 0);
            for (int i = 0; i < count; i++) s[i] = token(n, 0);
            qsort(s, count, sizeof(double), compare);
            const double median = s[count / 2], best = s[0];
            printf("threads %d, rows %2d: median %7.2f ms, best %7.2f ms per step (%6.2f ms/row); weights %5.1f GB/s "
                   "(best %5.1f); %5.1f GOP/s\n",
                   t, n, median * 1e3, best * 1e3, median * 1e3 / n, bytes / median / 1e9, bytes / best / 1e9,
                   2.0 * n * macs / median / 1e9);
            free(s);
        }
    }
    atomic_store(&quit, 1);
    pthread_join(thread, NULL);
    threads = 1;
    memset(shape_seconds, 0, sizeof shape_seconds);
    for (int i = 0; i < tokens; i++) token(1, 1);
    printf("one thread, one row, by shape (all 30 blocks):\n");
    for (int p = 0; p < 8; p++)
        printf("  %-15s %7.3f ms/token  %5.1f GB/s\n", names[p], shape_seconds[p] / tokens * 1e3,
               shape_bytes[p] * tokens / shape_seconds[p] / 1e9);
    return 0;
}
