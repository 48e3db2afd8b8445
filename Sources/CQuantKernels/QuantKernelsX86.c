// x86 builds of the quantized products, each compiled for its own target and chosen at run time
// (QuantKernels.c). One token through a model reads every weight byte once, so these loops aim at
// doing a block's arithmetic in fewer cycles than its 20 or 34 bytes take to arrive from memory:
//
//  - int8 path: a block's 32 weights and 32 quantized activations meet in one 256-bit `vpdpbusd`
//    (u8 × s8 → eight int32 partial sums; AVX2 emulates it with `vpmaddubsw` + `vpmaddwd`), then
//    one FMA adds those partial sums times `d_w·d_x` to a float accumulator. Q4_1's nibbles are
//    already unsigned; Q8_0's signed weights go in as |w| with the activation's sign flipped where
//    w < 0 (`vpsignb`), so the product is unchanged. 256-bit rather than 512-bit registers: one
//    block is exactly 32 bytes, so no shuffles are needed to keep each block's lanes apart.
//  - float path: a block is widened to floats (`d·q + m` by FMA) and multiplied with FMA.
//
// Activation rows go up to four at a time so a weight block is unpacked once for all of them; the
// int8 loops keep two accumulators per row (even and odd blocks) because one FMA chain per row
// would wait on its own 4-cycle latency.

#include "QuantKernelsInternal.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define INLINE static inline __attribute__((always_inline))

int cqk_x86_has_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

int cqk_x86_has_avx512_vnni(void) {
    return cqk_x86_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

enum { TILE = 4 };

static inline uint32_t load_u32(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint16_t load_u16(const void *p) {
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

// ---- int8 path ---------------------------------------------------------------------------------

// The body is a macro so that the AVX2 and VNNI builds share it while each is compiled for its own
// target (an always_inline helper may not use features its caller lacks). DOT(u8, s8) gives eight
// int32 sums of four u8·s8 products each.
#define DOT_VNNI(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#define DOT_AVX2(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))

// `Σ_lanes v`.
#define HSUM256(v)                                                                                   \
    ({                                                                                               \
        __m128 h_ = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps((v), 1));            \
        h_ = _mm_add_ps(h_, _mm_movehl_ps(h_, h_));                                                  \
        h_ = _mm_add_ss(h_, _mm_movehdup_ps(h_));                                                    \
        _mm_cvtss_f32(h_);                                                                           \
    })

// One Q4_1 block against `nt` activation rows, into accumulator set `acc`/`macc`:
// acc[u] += (Σ q·x_q per lane)·(d·d_x); macc[u] lane 1 += m·s (lane 0 collects d·d_x, unused).
#define Q4_1_STEP(DOT, t, acc, macc)                                                                 \
    do {                                                                                             \
        const cqk_block_q4_1 *b_ = row + (t);                                                       \
        const __m128i packed_ = _mm_loadu_si128((const __m128i *)b_->qs);                            \
        /* low nibbles are elements 0…15, high nibbles 16…31: the activation block's own order */    \
        const __m256i q_ = _mm256_and_si256(                                                        \
            _mm256_set_m128i(_mm_srli_epi16(packed_, 4), packed_), _mm256_set1_epi8(0x0F));          \
        const __m128 dm_ = _mm_cvtph_ps(_mm_cvtsi32_si128((int)load_u32(&b_->d)));                   \
        for (int u = 0; u < nt; u++) {                                                               \
            const cqk_block_q8a *a_ = x + (i0 + u) * blocks + (t);                                   \
            const __m256i dot_ = DOT(q_, _mm256_loadu_si256((const __m256i *)a_->qs));               \
            const __m128 prod_ = _mm_mul_ps(dm_, _mm_castpd_ps(_mm_load_sd((const double *)&a_->d))); \
            macc[u] = _mm_add_ps(macc[u], prod_);                                                    \
            acc[u] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_), _mm256_broadcastss_ps(prod_), acc[u]); \
        }                                                                                            \
    } while (0)

#define Q8_0_STEP(DOT, t, acc, macc)                                                                 \
    do {                                                                                             \
        const cqk_block_q8_0 *b_ = row + (t);                                                       \
        const __m256i w_ = _mm256_loadu_si256((const __m256i *)b_->qs);                              \
        const __m256i magnitude_ = _mm256_abs_epi8(w_); /* −128 → 0x80, read as unsigned 128 */      \
        const __m128 dw_ = _mm_cvtph_ps(_mm_cvtsi32_si128(load_u16(&b_->d)));                        \
        for (int u = 0; u < nt; u++) {                                                               \
            const cqk_block_q8a *a_ = x + (i0 + u) * blocks + (t);                                   \
            const __m256i signed_ = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)a_->qs), w_); \
            const __m256i dot_ = DOT(magnitude_, signed_);                                           \
            const __m128 scale_ = _mm_mul_ss(dw_, _mm_load_ss(&a_->d));                              \
            acc[u] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_), _mm256_broadcastss_ps(scale_), acc[u]); \
        }                                                                                            \
        (void)macc;                                                                                  \
    } while (0)

// Rows d0..<d1 of W against activation rows i0..<i0+nt.
#define Q8A_ROWS(BLOCK_TYPE, STEP, DOT, HAS_M)                                                       \
    do {                                                                                             \
        for (ptrdiff_t r = d0; r < d1; r++) {                                                        \
            const BLOCK_TYPE *row = (const BLOCK_TYPE *)w + r * blocks;                              \
            __m256 acc0[TILE], acc1[TILE];                                                           \
            __m128 macc0[TILE], macc1[TILE];                                                         \
            for (int u = 0; u < nt; u++) {                                                           \
                acc0[u] = acc1[u] = _mm256_setzero_ps();                                             \
                macc0[u] = macc1[u] = _mm_setzero_ps();                                              \
            }                                                                                        \
            ptrdiff_t t = 0;                                                                         \
            for (; t + 1 < blocks; t += 2) {                                                         \
                STEP(DOT, t, acc0, macc0);                                                           \
                STEP(DOT, t + 1, acc1, macc1);                                                       \
            }                                                                                        \
            if (t < blocks) STEP(DOT, t, acc0, macc0);                                               \
            for (int u = 0; u < nt; u++) {                                                           \
                float sum = HSUM256(_mm256_add_ps(acc0[u], acc1[u]));                                \
                if (HAS_M) sum += _mm_cvtss_f32(_mm_movehdup_ps(_mm_add_ps(macc0[u], macc1[u])));    \
                y[(i0 + u) * ldy + r] = sum;                                                         \
            }                                                                                        \
        }                                                                                            \
    } while (0)

VNNI INLINE void q4_1_vnni(const void *w, ptrdiff_t blocks, ptrdiff_t d0, ptrdiff_t d1, const cqk_block_q8a *x,
                           ptrdiff_t i0, const int nt, float *y, ptrdiff_t ldy) {
    Q8A_ROWS(cqk_block_q4_1, Q4_1_STEP, DOT_VNNI, 1);
}

VNNI INLINE void q8_0_vnni(const void *w, ptrdiff_t blocks, ptrdiff_t d0, ptrdiff_t d1, const cqk_block_q8a *x,
                           ptrdiff_t i0, const int nt, float *y, ptrdiff_t ldy) {
    Q8A_ROWS(cqk_block_q8_0, Q8_0_STEP, DOT_VNNI, 0);
}

AVX2 INLINE void q4_1_avx2(const void *w, ptrdiff_t blocks, ptrdiff_t d0, ptrdiff_t d1, const cqk_block_q8a *x,
                           ptrdiff_t i0, const int nt, float *y, ptrdiff_t ldy) {
    Q8A_ROWS(cqk_block_q4_1, Q4_1_STEP, DOT_AVX2, 1);
}

AVX2 INLINE void q8_0_avx2(const void *w, ptrdiff_t blocks, ptrdiff_t d0, ptrdiff_t d1, const cqk_block_q8a *x,
                           ptrdiff_t i0, const int nt, float *y, ptrdiff_t ldy) {
    Q8A_ROWS(cqk_block_q8_0, Q8_0_STEP, DOT_AVX2, 0);
}

// Tiles of four activation rows, then the remainder; the switch hands each loop a constant `nt` so
// the per-row loops unroll and the accumulators stay in registers.
#define TILED(KERNEL)                                                                                \
    do {                                                                                             \
        const ptrdiff_t blocks = k / CQK_BLOCK;                                                      \
        ptrdiff_t i0 = 0;                                                                            \
        for (; i0 + TILE <= n; i0 += TILE) KERNEL(w, blocks, d0, d1, x, i0, TILE, y, ldy);           \
        switch (n - i0) {                                                                            \
        case 3: KERNEL(w, blocks, d0, d1, x, i0, 3, y, ldy); break;                                  \
        case 2: KERNEL(w, blocks, d0, d1, x, i0, 2, y, ldy); break;                                  \
        case 1: KERNEL(w, blocks, d0, d1, x, i0, 1, y, ldy); break;                                  \
        default: break;                                                                              \
        }                                                                                            \
    } while (0)

VNNI void cqk_q8a_vnni(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                       const cqk_block_q8a *x, ptrdiff_t n, float *y, ptrdiff_t ldy) {
    if (type == CQK_Q4_1)
        TILED(q4_1_vnni);
    else
        TILED(q8_0_vnni);
}

AVX2 void cqk_q8a_avx2(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                       const cqk_block_q8a *x, ptrdiff_t n, float *y, ptrdiff_t ldy) {
    if (type == CQK_Q4_1)
        TILED(q4_1_avx2);
    else
        TILED(q8_0_avx2);
}

// ---- float path --------------------------------------------------------------------------------

// 512-bit: a block is two vectors of 16 floats. Q4_1's low nibbles are elements 0…15 and its high
// nibbles 16…31, so each widens to one vector without shuffles.
VNNI INLINE void f32_rows_avx512(cqk_weight_type type, const void *w, ptrdiff_t blocks, ptrdiff_t d0, ptrdiff_t d1,
                                 const float *x, ptrdiff_t ldx, ptrdiff_t i0, const int nt, float *y, ptrdiff_t ldy) {
    const ptrdiff_t block_bytes = type == CQK_Q4_1 ? sizeof(cqk_block_q4_1) : sizeof(cqk_block_q8_0);
    for (ptrdiff_t r = d0; r < d1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * blocks * block_bytes;
        __m512 acc0[TILE], acc1[TILE];
        for (int u = 0; u < nt; u++) acc0[u] = acc1[u] = _mm512_setzero_ps();
        for (ptrdiff_t t = 0; t < blocks; t++) {
            __m512 w0, w1;
            if (type == CQK_Q4_1) {
                const cqk_block_q4_1 *b = (const cqk_block_q4_1 *)row + t;
                const __m128i packed = _mm_loadu_si128((const __m128i *)b->qs);
                const __m128i low = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
                const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
                const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)load_u32(&b->d)));
                const __m512 d = _mm512_broadcastss_ps(dm);
                const __m512 m = _mm512_broadcastss_ps(_mm_movehdup_ps(dm));
                w0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(low)), d, m);
                w1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(high)), d, m);
            } else {
                const cqk_block_q8_0 *b = (const cqk_block_q8_0 *)row + t;
                const __m512 d = _mm512_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(load_u16(&b->d))));
                w0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)b->qs))), d);
                w1 = _mm512_mul_ps(
                    _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b->qs + 16)))), d);
            }
            for (int u = 0; u < nt; u++) {
                const float *v = x + (i0 + u) * ldx + t * CQK_BLOCK;
                acc0[u] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(v), acc0[u]);
                acc1[u] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(v + 16), acc1[u]);
            }
        }
        for (int u = 0; u < nt; u++) y[(i0 + u) * ldy + r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[u], acc1[u]));
    }
}

// 256-bit: a block is four vectors of 8 floats.
AVX2 INLINE void f32_rows_avx2(cqk_weight_type type, const void *w, ptrdiff_t blocks, ptrdiff_t d0, ptrdiff_t d1,
                               const float *x, ptrdiff_t ldx, ptrdiff_t i0, const int nt, float *y, ptrdiff_t ldy) {
    const ptrdiff_t block_bytes = type == CQK_Q4_1 ? sizeof(cqk_block_q4_1) : sizeof(cqk_block_q8_0);
    for (ptrdiff_t r = d0; r < d1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * blocks * block_bytes;
        __m256 acc0[TILE], acc1[TILE];
        for (int u = 0; u < nt; u++) acc0[u] = acc1[u] = _mm256_setzero_ps();
        for (ptrdiff_t t = 0; t < blocks; t++) {
            __m256 wv[4];
            if (type == CQK_Q4_1) {
                const cqk_block_q4_1 *b = (const cqk_block_q4_1 *)row + t;
                const __m128i packed = _mm_loadu_si128((const __m128i *)b->qs);
                const __m128i low = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
                const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
                const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)load_u32(&b->d)));
                const __m256 d = _mm256_broadcastss_ps(dm);
                const __m256 m = _mm256_broadcastss_ps(_mm_movehdup_ps(dm));
                wv[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(low)), d, m);
                wv[1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(low, 8))), d, m);
                wv[2] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(high)), d, m);
                wv[3] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(high, 8))), d, m);
            } else {
                const cqk_block_q8_0 *b = (const cqk_block_q8_0 *)row + t;
                const __m256 d = _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(load_u16(&b->d))));
                for (int g = 0; g < 4; g++)
                    wv[g] = _mm256_mul_ps(
                        _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + 8 * g)))), d);
            }
            for (int u = 0; u < nt; u++) {
                const float *v = x + (i0 + u) * ldx + t * CQK_BLOCK;
                acc0[u] = _mm256_fmadd_ps(wv[0], _mm256_loadu_ps(v), acc0[u]);
                acc1[u] = _mm256_fmadd_ps(wv[1], _mm256_loadu_ps(v + 8), acc1[u]);
                acc0[u] = _mm256_fmadd_ps(wv[2], _mm256_loadu_ps(v + 16), acc0[u]);
                acc1[u] = _mm256_fmadd_ps(wv[3], _mm256_loadu_ps(v + 24), acc1[u]);
            }
        }
        for (int u = 0; u < nt; u++) y[(i0 + u) * ldy + r] = HSUM256(_mm256_add_ps(acc0[u], acc1[u]));
    }
}

// One activation vector (a decode step), 512-bit. Both types factor the block's scale out of
// its 32 products, and Q4_1 its offset too:
//
//     Σ_j (d·q_j + m)·x_j = d·Σ_j q_j·x_j + m·S,    S = Σ_j x_j (once per block of x, shared by all rows)
//
// so a block costs two int→float widenings, two FMAs and one scaled FMA instead of dequantizing
// 32 weights first. Nibbles become floats by `vpermps` on the table 0…15 (it reads only an
// index's low four bits, so the low nibble needs no mask). Four rows go per pass so each load of
// `x` serves four blocks; a row's running sum has one FMA per block, and four rows give the FMA
// unit four independent chains. A pass's rows are adjacent in memory, so it reads one stream; the
// hardware prefetcher alone kept too few lines in flight for it, so the lines `PREFETCH_BYTES`
// ahead are requested too (docs/PERFORMANCE.md, "Decoding").
enum { VECTOR_ROWS = 4, PREFETCH_BYTES = 4096, LINE = 64 };

// Requests the lines `PREFETCH_BYTES` past the bytes block `t` of a pass over rows from `rows` reads.
#define PREFETCH_AHEAD(rows, t, block_bytes)                                                            \
    do {                                                                                             \
        const char *ahead_ = (const char *)(rows) + PREFETCH_BYTES + (t) * VECTOR_ROWS * (block_bytes); \
        for (ptrdiff_t o_ = 0; o_ < VECTOR_ROWS * (ptrdiff_t)(block_bytes); o_ += LINE)                  \
            _mm_prefetch(ahead_ + o_, _MM_HINT_T0);                                                  \
    } while (0)

VNNI INLINE void q4_1_vector_rows(const cqk_block_q4_1 *w, ptrdiff_t blocks, ptrdiff_t r0, const int nr,
                                  const float *x, const float *sums, float *y) {
    const __m512 nibble_values = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 acc[VECTOR_ROWS];
    __m128 offsets[VECTOR_ROWS];  // lane 1: Σ m·S
    for (int u = 0; u < nr; u++) {
        acc[u] = _mm512_setzero_ps();
        offsets[u] = _mm_setzero_ps();
    }
    for (ptrdiff_t t = 0; t < blocks; t++) {
        const __m512 x0 = _mm512_loadu_ps(x + t * CQK_BLOCK), x1 = _mm512_loadu_ps(x + t * CQK_BLOCK + 16);
        const __m128 sum = _mm_set_ps(0, 0, sums[t], 0);
        PREFETCH_AHEAD(w + r0 * blocks, t, sizeof(cqk_block_q4_1));
        for (int u = 0; u < nr; u++) {
            const cqk_block_q4_1 *b = w + (r0 + u) * blocks + t;
            const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)b->qs));
            const __m512 low = _mm512_permutexvar_ps(bytes, nibble_values);
            const __m512 high = _mm512_permutexvar_ps(_mm512_srli_epi32(bytes, 4), nibble_values);
            const __m512 qx = _mm512_fmadd_ps(high, x1, _mm512_mul_ps(low, x0));
            const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)load_u32(&b->d)));
            acc[u] = _mm512_fmadd_ps(qx, _mm512_broadcastss_ps(dm), acc[u]);
            offsets[u] = _mm_fmadd_ps(dm, sum, offsets[u]);
        }
    }
    for (int u = 0; u < nr; u++) y[r0 + u] = _mm512_reduce_add_ps(acc[u]) + _mm_cvtss_f32(_mm_movehdup_ps(offsets[u]));
}

VNNI INLINE void q8_0_vector_rows(const cqk_block_q8_0 *w, ptrdiff_t blocks, ptrdiff_t r0, const int nr,
                                  const float *x, float *y) {
    __m512 acc[VECTOR_ROWS];
    for (int u = 0; u < nr; u++) acc[u] = _mm512_setzero_ps();
    for (ptrdiff_t t = 0; t < blocks; t++) {
        const __m512 x0 = _mm512_loadu_ps(x + t * CQK_BLOCK), x1 = _mm512_loadu_ps(x + t * CQK_BLOCK + 16);
        PREFETCH_AHEAD(w + r0 * blocks, t, sizeof(cqk_block_q8_0));
        for (int u = 0; u < nr; u++) {
            const cqk_block_q8_0 *b = w + (r0 + u) * blocks + t;
            const __m512 low = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)b->qs)));
            const __m512 high = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b->qs + 16))));
            const __m512 qx = _mm512_fmadd_ps(high, x1, _mm512_mul_ps(low, x0));
            const __m512 d = _mm512_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(load_u16(&b->d))));
            acc[u] = _mm512_fmadd_ps(qx, d, acc[u]);
        }
    }
    for (int u = 0; u < nr; u++) y[r0 + u] = _mm512_reduce_add_ps(acc[u]);
}

// `y[r] = Σ_j x[j]·W[r, j]` for `d0 ≤ r < d1`.
VNNI static void f32_vector_avx512(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                                   const float *x, float *y) {
    const ptrdiff_t blocks = k / CQK_BLOCK;
    ptrdiff_t r = d0;
    if (type == CQK_Q4_1) {
        float sums[blocks];
        for (ptrdiff_t t = 0; t < blocks; t++)
            sums[t] = _mm512_reduce_add_ps(
                _mm512_add_ps(_mm512_loadu_ps(x + t * CQK_BLOCK), _mm512_loadu_ps(x + t * CQK_BLOCK + 16)));
        for (; r + VECTOR_ROWS <= d1; r += VECTOR_ROWS) q4_1_vector_rows(w, blocks, r, VECTOR_ROWS, x, sums, y);
        for (; r < d1; r++) q4_1_vector_rows(w, blocks, r, 1, x, sums, y);
    } else {
        for (; r + VECTOR_ROWS <= d1; r += VECTOR_ROWS) q8_0_vector_rows(w, blocks, r, VECTOR_ROWS, x, y);
        for (; r < d1; r++) q8_0_vector_rows(w, blocks, r, 1, x, y);
    }
}

#define F32_TILED(KERNEL)                                                                            \
    do {                                                                                             \
        const ptrdiff_t blocks = k / CQK_BLOCK;                                                      \
        ptrdiff_t i0 = 0;                                                                            \
        for (; i0 + TILE <= n; i0 += TILE) KERNEL(type, w, blocks, d0, d1, x, ldx, i0, TILE, y, ldy); \
        switch (n - i0) {                                                                            \
        case 3: KERNEL(type, w, blocks, d0, d1, x, ldx, i0, 3, y, ldy); break;                       \
        case 2: KERNEL(type, w, blocks, d0, d1, x, ldx, i0, 2, y, ldy); break;                       \
        case 1: KERNEL(type, w, blocks, d0, d1, x, ldx, i0, 1, y, ldy); break;                       \
        default: break;                                                                              \
        }                                                                                            \
    } while (0)

VNNI void cqk_f32_avx512(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                         const float *x, ptrdiff_t ldx, ptrdiff_t n, float *y, ptrdiff_t ldy) {
    if (n == 1) return f32_vector_avx512(type, w, k, d0, d1, x, y);
    F32_TILED(f32_rows_avx512);
}

AVX2 void cqk_f32_avx2(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                       const float *x, ptrdiff_t ldx, ptrdiff_t n, float *y, ptrdiff_t ldy) {
    F32_TILED(f32_rows_avx2);
}

#else

int cqk_x86_has_avx2(void) { return 0; }
int cqk_x86_has_avx512_vnni(void) { return 0; }
void cqk_q8a_vnni(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                  const cqk_block_q8a *x, ptrdiff_t n, float *y, ptrdiff_t ldy) { __builtin_trap(); }
void cqk_q8a_avx2(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                  const cqk_block_q8a *x, ptrdiff_t n, float *y, ptrdiff_t ldy) { __builtin_trap(); }
void cqk_f32_avx512(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                    const float *x, ptrdiff_t ldx, ptrdiff_t n, float *y, ptrdiff_t ldy) { __builtin_trap(); }
void cqk_f32_avx2(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                  const float *x, ptrdiff_t ldx, ptrdiff_t n, float *y, ptrdiff_t ldy) { __builtin_trap(); }

#endif
