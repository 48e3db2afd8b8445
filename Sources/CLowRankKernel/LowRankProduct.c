// The adapter path of a LoRA layer, `Y += (X·Aᵀ)·(s·B)ᵀ`, as one Float kernel with an AVX2+FMA
// and an AVX-512 build, chosen at run time.
//
// Two BLAS calls pack all of `X` for a product with 16 columns and make two passes with little
// arithmetic per byte. Here `A` and `s·B` are packed once, ahead of time, into 16-wide panels
// (8-wide for `A` when r ≤ 8), and each block of six rows of `X` meets one or two panels in
// twelve to twenty-four vector accumulators: `X` is read once, straight from its rows, and each `Y`
// tile is loaded and stored once. Rows are split between the caller and pinned helper threads
// (`lowrank_run_parts`).
//
// The blocks are written once, on GCC/Clang vectors of one panel (16 floats) or of a narrow
// panel (8): compiled for AVX2 a 16-float vector is two ymm registers, for AVX-512 one zmm. The
// two builds share the packed layout and differ only in how many accumulators a block keeps
// (`struct blocking`), which is what the register files (16 ymm, 32 zmm) decide.

#include "CLowRankKernel.h"
#include "RowParts.h"

#include <string.h>

enum { PANEL = 16, NARROW_PANEL = 8 };

int lowrank_isa_supported(lowrank_isa isa) {
#if defined(__x86_64__)
    // The compiler runtime sets a feature only when XCR0 says the OS saves its registers.
    const int avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    switch (isa) {
    case LOWRANK_ISA_AVX2_FMA: return avx2_fma;
    case LOWRANK_ISA_AVX512:
        return avx2_fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    default: return 0;
    }
#else
    (void)isa;
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

#define INLINE static inline __attribute__((always_inline))

/// One panel row (16 floats) and one narrow panel row (8 floats), loaded from any address.
typedef float panel_vector __attribute__((vector_size(PANEL * sizeof(float)), aligned(sizeof(float)), may_alias));
typedef float narrow_vector __attribute__((vector_size(NARROW_PANEL * sizeof(float)), aligned(sizeof(float)), may_alias));

/// How many accumulators a block keeps per row: in the projection, `split` sums over interleaved
/// `l` for each of `project_panels` 16-wide panels of `A` (`narrow_split` for the one narrow
/// panel), and in the update `tile_panels` panels of `s·B` side by side. Enough independent sums
/// to cover the FMA latency, few enough to stay in registers.
struct blocking {
    int split, narrow_split, project_panels, tile_panels;
};

enum { MAX_SPLIT = 4, MAX_PROJECT_PANELS = 2, MAX_TILE_PANELS = 4 };

/// `tᵀ[q][i] = Σₗ x[i][l]·panel[l][q]` for `i < rows` and the ranks `q < width` of `count`
/// consecutive panels of `A` (`k×lanes` each, rank `q` of the panel in lane `q mod lanes`): rows
/// `i` of `X`, each `x[i][l]` broadcast once for all `count` panels, with `split` sums per row and
/// panel over interleaved `l` (`l ≡ s mod split` into sum `s`), added at the end.
#define DEFINE_PROJECT_BLOCK(name, vector, lanes)                                                                \
    INLINE void name(                                                                                            \
        const int rows, const int split, const int count, const float *x, ptrdiff_t ldx, const float *panel,     \
        ptrdiff_t k, float *t, ptrdiff_t ldt, ptrdiff_t width                                                    \
    ) {                                                                                                          \
        vector sum[ROW_BLOCK][MAX_SPLIT][MAX_PROJECT_PANELS];                                                    \
        for (int i = 0; i < rows; i++)                                                                           \
            for (int s = 0; s < split; s++)                                                                      \
                for (int p = 0; p < count; p++) sum[i][s][p] = (vector){0};                                      \
        ptrdiff_t l = 0;                                                                                         \
        for (; l + split <= k; l += split)                                                                       \
            for (int s = 0; s < split; s++) {                                                                    \
                vector row[MAX_PROJECT_PANELS];                                                                  \
                for (int p = 0; p < count; p++) row[p] = *(const vector *)(panel + (lanes) * (p * k + l + s));   \
                for (int i = 0; i < rows; i++)                                                                   \
                    for (int p = 0; p < count; p++) sum[i][s][p] += row[p] * x[i * ldx + l + s];                 \
            }                                                                                                    \
        for (; l < k; l++) {                                                                                     \
            vector row[MAX_PROJECT_PANELS];                                                                      \
            for (int p = 0; p < count; p++) row[p] = *(const vector *)(panel + (lanes) * (p * k + l));           \
            for (int i = 0; i < rows; i++)                                                                       \
                for (int p = 0; p < count; p++) sum[i][0][p] += row[p] * x[i * ldx + l];                         \
        }                                                                                                        \
        for (int i = 0; i < rows; i++)                                                                           \
            for (int p = 0; p < count; p++) {                                                                    \
                for (int s = 1; s < split; s++) sum[i][0][p] += sum[i][s][p];                                    \
                for (ptrdiff_t q = p * (lanes); q < width && q < (p + 1) * (lanes); q++)                         \
                    t[q * ldt + i] = sum[i][0][p][q - p * (lanes)];                                              \
            }                                                                                                    \
    }

DEFINE_PROJECT_BLOCK(project_block, panel_vector, PANEL)
DEFINE_PROJECT_BLOCK(project_narrow_block, narrow_vector, NARROW_PANEL)
#undef DEFINE_PROJECT_BLOCK

/// `y[i][j] += Σ_q tᵀ[q][i]·panel[q][j]` for `i < rows` and the `16·count` columns `j` of `count`
/// consecutive panels of `s·B` (`r×16` each, from `panel`).
INLINE void update_tile(
    const int rows, const int count, const float *t, ptrdiff_t ldt, const float *panel, ptrdiff_t r, float *y,
    ptrdiff_t ldy
) {
    panel_vector sum[ROW_BLOCK][MAX_TILE_PANELS];
    for (int i = 0; i < rows; i++)
        for (int p = 0; p < count; p++) sum[i][p] = *(const panel_vector *)(y + i * ldy + p * PANEL);
    for (ptrdiff_t q = 0; q < r; q++) {
        panel_vector row[MAX_TILE_PANELS];
        for (int p = 0; p < count; p++) row[p] = *(const panel_vector *)(panel + p * PANEL * r + PANEL * q);
        for (int i = 0; i < rows; i++)
            for (int p = 0; p < count; p++) sum[i][p] += row[p] * t[q * ldt + i];
    }
    for (int i = 0; i < rows; i++)
        for (int p = 0; p < count; p++) *(panel_vector *)(y + i * ldy + p * PANEL) = sum[i][p];
}

/// `Tᵀ` for one block of `rows ≤ 6` rows: one narrow panel for r ≤ 8, 16-wide panels otherwise.
/// `rows` is a constant at each call site, so every block size gets its own unrolled loops.
INLINE void project_rows(
    const int rows, const struct blocking blocking, const float *x, ptrdiff_t ldx, const float *packed_a, float *t,
    ptrdiff_t ldt, ptrdiff_t k, ptrdiff_t r
) {
    if (r <= NARROW_PANEL) {
        project_narrow_block(rows, blocking.narrow_split, 1, x, ldx, packed_a, k, t, ldt, r);
        return;
    }
    ptrdiff_t p = 0;
    for (; p + blocking.project_panels <= panels(r); p += blocking.project_panels)
        project_block(
            rows, blocking.split, blocking.project_panels, x, ldx, packed_a + p * PANEL * k, k, t + p * PANEL * ldt, ldt,
            r - p * PANEL);
    for (; p < panels(r); p++)
        project_block(rows, blocking.split, 1, x, ldx, packed_a + p * PANEL * k, k, t + p * PANEL * ldt, ldt, r - p * PANEL);
}

/// `Y += T·(s·B)ᵀ` for one block of `rows ≤ 6` rows, across the `d` columns: tiles of
/// `tile_panels` panels, then single panels, then the last part-filled panel through a copy of its
/// columns (the packed panel has zeros past `d`; `Y` has nothing there to load or store).
INLINE void update_rows(
    const int rows, const struct blocking blocking, const float *t, ptrdiff_t ldt, const float *packed_b, float *y,
    ptrdiff_t ldy, ptrdiff_t r, ptrdiff_t d
) {
    const ptrdiff_t full = d / PANEL;
    ptrdiff_t p = 0;
    for (; p + blocking.tile_panels <= full; p += blocking.tile_panels)
        update_tile(rows, blocking.tile_panels, t, ldt, packed_b + p * PANEL * r, r, y + p * PANEL, ldy);
    for (; p < full; p++) update_tile(rows, 1, t, ldt, packed_b + p * PANEL * r, r, y + p * PANEL, ldy);
    const ptrdiff_t columns = d - full * PANEL;
    if (columns == 0) return;
    float edge[ROW_BLOCK][PANEL] = {{0}};
    for (int i = 0; i < rows; i++) memcpy(edge[i], y + i * ldy + full * PANEL, columns * sizeof(float));
    update_tile(rows, 1, t, ldt, packed_b + full * PANEL * r, r, edge[0], PANEL);
    for (int i = 0; i < rows; i++) memcpy(y + i * ldy + full * PANEL, edge[i], columns * sizeof(float));
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

/// Both products for rows `0..<n`: all projections first, then all updates, so each phase
/// keeps its packed factor in L2.
INLINE void low_rank_update(
    const struct blocking blocking, const float *x, ptrdiff_t ldx, const float *packed_a, const float *packed_b,
    float *t, ptrdiff_t ldt, float *y, ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d
) {
    ptrdiff_t i;
#define PROJECT(rows) project_rows(rows, blocking, x + i * ldx, ldx, packed_a, t + i, ldt, k, r)
    FOR_ROW_BLOCKS(n, i, PROJECT)
#undef PROJECT
#define UPDATE(rows) update_rows(rows, blocking, t + i, ldt, packed_b, y + i * ldy, ldy, r, d)
    FOR_ROW_BLOCKS(n, i, UPDATE)
#undef UPDATE
}

typedef void update_function(
    const float *x, ptrdiff_t ldx, const float *packed_a, const float *packed_b, float *t, ptrdiff_t ldt, float *y,
    ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d);

/// One build of `low_rank_update` per instruction set, each with the blocking that fills its
/// registers. AVX2 (16 ymm): twelve accumulators, six rows × one 16-wide panel (two ymm each), or
/// six rows × two sums of one narrow panel. AVX-512 (32 zmm): twenty-four, six rows × two sums ×
/// two panels of `A` (each `x[i][l]` broadcast once for 32 ranks), six rows × four sums of a
/// narrow panel (ymm), six rows × four panels (64 columns) of `s·B`; of the blockings tried this
/// one was fastest at every rank (docs/PERFORMANCE.md, "AVX-512 kernels").
#define DEFINE_UPDATE(name, features, ...)                                                                          \
    __attribute__((target(features))) static void name(                                                            \
        const float *x, ptrdiff_t ldx, const float *packed_a, const float *packed_b, float *t, ptrdiff_t ldt,       \
        float *y, ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d                                 \
    ) {                                                                                                            \
        low_rank_update((struct blocking){__VA_ARGS__}, x, ldx, packed_a, packed_b, t, ldt, y, ldy, n, k, r, d); \
    }

DEFINE_UPDATE(low_rank_update_avx2_fma, "avx2,fma", 1, 2, 1, 1)
DEFINE_UPDATE(low_rank_update_avx512, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma", 2, 4, 2, 4)
#undef DEFINE_UPDATE

/// One call's operands, shared by its parts.
struct update_job {
    update_function *update;
    const float *x, *packed_a, *packed_b;
    float *t, *y;
    ptrdiff_t ldx, ldt, ldy, n, k, r, d;
    int parts;
};

/// Part `part` of `parts`: whole blocks of six rows, and every row is computed as in one part
/// (results do not depend on the split).
static void update_part(void *context, int part) {
    const struct update_job *job = context;
    ptrdiff_t first, last;
    lowrank_part_rows(job->n, part, job->parts, &first, &last);
    if (last <= first) return;
    job->update(
        job->x + first * job->ldx, job->ldx, job->packed_a, job->packed_b, job->t + first, job->ldt,
        job->y + first * job->ldy, job->ldy, last - first, job->k, job->r, job->d);
}
#endif

void lowrank_update_f32(
    const float *x, ptrdiff_t ldx, const float *packed_a, const float *packed_b, float *t, ptrdiff_t ldt, float *y,
    ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d, int threads, lowrank_isa isa
) {
#if defined(__x86_64__)
    if (lowrank_isa_supported(isa)) {
        update_function *update = isa == LOWRANK_ISA_AVX512 ? low_rank_update_avx512 : low_rank_update_avx2_fma;
        const int parts = lowrank_update_parts(n, k, r, d, threads);
        struct update_job job = {update, x, packed_a, packed_b, t, y, ldx, ldt, ldy, n, k, r, d, parts};
        lowrank_run_parts(update_part, &job, parts);
        return;
    }
#endif
    __builtin_trap();  // callers check lowrank_isa_supported(isa) first
}
