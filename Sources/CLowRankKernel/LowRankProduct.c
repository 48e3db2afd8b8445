// The adapter path of a LoRA layer, `Y += (X·Aᵀ)·(s·B)ᵀ`, as one Float kernel for AVX2+FMA.
//
// Two BLAS calls pack all of `X` for a product with 16 columns and make two passes with little
// arithmetic per byte. Here `A` and `s·B` are packed once, ahead of time, into 16-wide panels
// (8-wide for `A` when r ≤ 8), and each block of six rows of `X` meets a panel in twelve vector
// accumulators: `X` is read once, straight from its rows, and each `Y` tile is loaded and stored
// once. Rows are split between the caller and pinned helper threads (`lowrank_run_parts`).

#include "CLowRankKernel.h"

enum { PANEL = 16, NARROW_PANEL = 8, ROW_BLOCK = 6 };

int lowrank_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static ptrdiff_t panels(ptrdiff_t count) { return (count + PANEL - 1) / PANEL; }

/// `A`'s panel width: 8 ranks for `r ≤ 8` (so ranks 4 and 8 do not multiply a panel of zeros), 16
/// otherwise.
static ptrdiff_t a_panel_width(ptrdiff_t r) { return r <= NARROW_PANEL ? NARROW_PANEL : PANEL; }

ptrdiff_t lowrank_packed_a_count(ptrdiff_t r, ptrdiff_t k) {
    const ptrdiff_t width = a_panel_width(r);
    return (r + width - 1) / width * width * k;
}

ptrdiff_t lowrank_packed_b_count(ptrdiff_t d, ptrdiff_t r) { return panels(d) * PANEL * r; }

void lowrank_pack_a_f32(const float *a, ptrdiff_t r, ptrdiff_t k, float *packed) {
    const ptrdiff_t width = a_panel_width(r);
    for (ptrdiff_t p = 0; p * width < r; p++) {
        float *panel = packed + p * width * k;
        for (ptrdiff_t q = 0; q < width; q++) {
            const ptrdiff_t row = p * width + q;
            for (ptrdiff_t l = 0; l < k; l++) panel[width * l + q] = row < r ? a[row * k + l] : 0;
        }
    }
}

void lowrank_pack_b_f32(const float *b, ptrdiff_t d, ptrdiff_t r, float scale, float *packed) {
    for (ptrdiff_t p = 0; p < panels(d); p++) {
        float *panel = packed + p * PANEL * r;
        for (ptrdiff_t j = 0; j < PANEL; j++) {
            const ptrdiff_t row = p * PANEL + j;
            for (ptrdiff_t q = 0; q < r; q++) panel[PANEL * q + j] = row < d ? scale * b[row * r + q] : 0;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2_FMA __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

/// Lanes `0..<count` of eight set (`count` clamped to `0...8`).
AVX2_FMA INLINE __m256i first_lanes(ptrdiff_t count) {
    const int clamped = count < 0 ? 0 : count > 8 ? 8 : (int)count;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(clamped), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// One rank-1 step of a block of `rows × 16` sums: `sum[i] += values[i·stride]·row` for `i < rows`,
/// with `row` 16 floats of a panel. Both products are made of these steps.
AVX2_FMA INLINE void add_outer_product(
    const int rows, __m256 sum[][2], const float *row, const float *values, ptrdiff_t stride
) {
    const __m256 low = _mm256_loadu_ps(row), high = _mm256_loadu_ps(row + 8);
    for (int i = 0; i < rows; i++) {
        const __m256 value = _mm256_broadcast_ss(values + i * stride);
        sum[i][0] = _mm256_fmadd_ps(value, low, sum[i][0]);
        sum[i][1] = _mm256_fmadd_ps(value, high, sum[i][1]);
    }
}

/// `tᵀ[q][i] = Σₗ x[i][l]·panel[l][q]` for `i < rows`, `q < width`: rows `i` of `X`, one panel
/// of `A` (`k×16`, rank `q` of the panel in lane `q`).
AVX2_FMA INLINE void project_block(
    const int rows, const float *x, ptrdiff_t ldx, const float *panel, ptrdiff_t k, float *t, ptrdiff_t ldt,
    ptrdiff_t width
) {
    __m256 sum[ROW_BLOCK][2];
    for (int i = 0; i < rows; i++) sum[i][0] = sum[i][1] = _mm256_setzero_ps();
    for (ptrdiff_t l = 0; l < k; l++) add_outer_product(rows, sum, panel + PANEL * l, x + l, ldx);
    float block[ROW_BLOCK][PANEL];
    for (int i = 0; i < rows; i++) {
        _mm256_storeu_ps(block[i], sum[i][0]);
        _mm256_storeu_ps(block[i] + 8, sum[i][1]);
    }
    for (ptrdiff_t q = 0; q < width; q++)
        for (int i = 0; i < rows; i++) t[q * ldt + i] = block[i][q];
}

/// `tᵀ[q][i] = Σₗ x[i][l]·panel[l][q]` for `i < rows`, `q < width ≤ 8`, with a panel of 8 ranks
/// (`k×8`): even and odd `l` go to separate accumulators, so twelve products are in flight as in
/// the 16-wide block.
AVX2_FMA INLINE void project_narrow_block(
    const int rows, const float *x, ptrdiff_t ldx, const float *panel, ptrdiff_t k, float *t, ptrdiff_t ldt,
    ptrdiff_t width
) {
    __m256 even[ROW_BLOCK], odd[ROW_BLOCK];
    for (int i = 0; i < rows; i++) even[i] = odd[i] = _mm256_setzero_ps();
    ptrdiff_t l = 0;
    for (; l + 2 <= k; l += 2) {
        const __m256 first = _mm256_loadu_ps(panel + NARROW_PANEL * l), second = _mm256_loadu_ps(panel + NARROW_PANEL * (l + 1));
        for (int i = 0; i < rows; i++) {
            even[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i * ldx + l), first, even[i]);
            odd[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i * ldx + l + 1), second, odd[i]);
        }
    }
    if (l < k) {
        const __m256 last = _mm256_loadu_ps(panel + NARROW_PANEL * l);
        for (int i = 0; i < rows; i++) even[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i * ldx + l), last, even[i]);
    }
    float block[ROW_BLOCK][NARROW_PANEL];
    for (int i = 0; i < rows; i++) _mm256_storeu_ps(block[i], _mm256_add_ps(even[i], odd[i]));
    for (ptrdiff_t q = 0; q < width; q++)
        for (int i = 0; i < rows; i++) t[q * ldt + i] = block[i][q];
}

/// `y[i][j] += Σ_q tᵀ[q][i]·panel[q][j]` for `i < rows` and the 16 columns `j` of one panel of
/// `s·B` (`r×16`); `columns < 16` (the last panel) loads and stores only those.
AVX2_FMA INLINE void update_tile(
    const int rows, const float *t, ptrdiff_t ldt, const float *panel, ptrdiff_t r, float *y, ptrdiff_t ldy,
    ptrdiff_t columns
) {
    const __m256i low_mask = first_lanes(columns), high_mask = first_lanes(columns - 8);
    __m256 sum[ROW_BLOCK][2];
    for (int i = 0; i < rows; i++) {
        if (columns == PANEL) {
            sum[i][0] = _mm256_loadu_ps(y + i * ldy);
            sum[i][1] = _mm256_loadu_ps(y + i * ldy + 8);
        } else {
            sum[i][0] = _mm256_maskload_ps(y + i * ldy, low_mask);
            sum[i][1] = _mm256_maskload_ps(y + i * ldy + 8, high_mask);
        }
    }
    for (ptrdiff_t q = 0; q < r; q++) add_outer_product(rows, sum, panel + PANEL * q, t + q * ldt, 1);
    for (int i = 0; i < rows; i++) {
        if (columns == PANEL) {
            _mm256_storeu_ps(y + i * ldy, sum[i][0]);
            _mm256_storeu_ps(y + i * ldy + 8, sum[i][1]);
        } else {
            _mm256_maskstore_ps(y + i * ldy, low_mask, sum[i][0]);
            _mm256_maskstore_ps(y + i * ldy + 8, high_mask, sum[i][1]);
        }
    }
}

/// `Tᵀ` for one block of `rows ≤ 6` rows: one narrow panel for r ≤ 8, 16-wide panels otherwise.
/// `rows` is a constant at each call site, so every block size gets its own unrolled loops.
AVX2_FMA INLINE void project_rows(
    const int rows, const float *x, ptrdiff_t ldx, const float *packed_a, float *t, ptrdiff_t ldt, ptrdiff_t k,
    ptrdiff_t r
) {
    if (r <= NARROW_PANEL) {
        project_narrow_block(rows, x, ldx, packed_a, k, t, ldt, r);
        return;
    }
    for (ptrdiff_t p = 0; p < panels(r); p++) {
        const ptrdiff_t width = r - p * PANEL < PANEL ? r - p * PANEL : PANEL;
        project_block(rows, x, ldx, packed_a + p * PANEL * k, k, t + p * PANEL * ldt, ldt, width);
    }
}

/// `Y += T·(s·B)ᵀ` for one block of `rows ≤ 6` rows, tile by tile across the `d` columns.
AVX2_FMA INLINE void update_rows(
    const int rows, const float *t, ptrdiff_t ldt, const float *packed_b, float *y, ptrdiff_t ldy, ptrdiff_t r,
    ptrdiff_t d
) {
    const ptrdiff_t full = d / PANEL;
    for (ptrdiff_t p = 0; p < full; p++) update_tile(rows, t, ldt, packed_b + p * PANEL * r, r, y + p * PANEL, ldy, PANEL);
    if (d > full * PANEL) update_tile(rows, t, ldt, packed_b + full * PANEL * r, r, y + full * PANEL, ldy, d - full * PANEL);
}

/// Calls `body(rows)` with `rows` a literal for the remainder block, so it is unrolled too.
#define FOR_ROW_BLOCKS(total, start, body)                                            \
    for (start = 0; start + ROW_BLOCK <= (total); start += ROW_BLOCK) body(ROW_BLOCK); \
    switch ((total) - start) {                                                        \
    case 5: body(5); break;                                                           \
    case 4: body(4); break;                                                           \
    case 3: body(3); break;                                                           \
    case 2: body(2); break;                                                           \
    case 1: body(1); break;                                                           \
    default: break;                                                                   \
    }

AVX2_FMA static void low_rank_update_avx2_fma(
    const float *x, ptrdiff_t ldx, const float *packed_a, const float *packed_b, float *t, ptrdiff_t ldt, float *y,
    ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d
) {
    ptrdiff_t i;
    // All projections first, then all updates: each phase keeps its packed factor in L2.
#define PROJECT(rows) project_rows(rows, x + i * ldx, ldx, packed_a, t + i, ldt, k, r)
    FOR_ROW_BLOCKS(n, i, PROJECT)
#undef PROJECT
#define UPDATE(rows) update_rows(rows, t + i, ldt, packed_b, y + i * ldy, ldy, r, d)
    FOR_ROW_BLOCKS(n, i, UPDATE)
#undef UPDATE
}

/// One call's operands, shared by its parts.
struct update_job {
    const float *x, *packed_a, *packed_b;
    float *t, *y;
    ptrdiff_t ldx, ldt, ldy, n, k, r, d;
    int parts;
};

/// Part `part` of `parts`: whole blocks of six rows, so every row is computed as in one part
/// (results do not depend on the split).
static void update_part(void *context, int part) {
    const struct update_job *job = context;
    const ptrdiff_t blocks = (job->n + ROW_BLOCK - 1) / ROW_BLOCK;
    const ptrdiff_t first = blocks * part / job->parts * ROW_BLOCK;
    const ptrdiff_t end = blocks * (part + 1) / job->parts * ROW_BLOCK;
    const ptrdiff_t last = end < job->n ? end : job->n;
    if (last <= first) return;
    low_rank_update_avx2_fma(
        job->x + first * job->ldx, job->ldx, job->packed_a, job->packed_b, job->t + first, job->ldt,
        job->y + first * job->ldy, job->ldy, last - first, job->k, job->r, job->d);
}
#endif

void lowrank_update_f32(
    const float *x, ptrdiff_t ldx, const float *packed_a, const float *packed_b, float *t, ptrdiff_t ldt, float *y,
    ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d, int threads
) {
#if defined(__x86_64__)
    if (lowrank_cpu_has_avx2_fma()) {
        // A part of ≥ 2²² multiply-adds (≈ 0.1 ms) is worth waking a helper for.
        const ptrdiff_t worth = n * r * (k + d) >> 22;
        int parts = worth < threads ? (worth < 1 ? 1 : (int)worth) : threads;
        if (parts > 1) {
            const int cpus = lowrank_available_cpus();
            if (cpus < parts) parts = cpus;
        }
        struct update_job job = {x, packed_a, packed_b, t, y, ldx, ldt, ldy, n, k, r, d, parts};
        lowrank_run_parts(update_part, &job, parts);
        return;
    }
#endif
    __builtin_trap();  // callers check lowrank_cpu_has_avx2_fma() first
}
