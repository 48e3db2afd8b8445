// Attention of one query row over a key/value cache (a decode step), head by head: scores, the
// softmax's shifted exponentials and their sum (nn_shifted_exp_sum_f32), then the exponentials'
// weighted sum of the value rows, divided by their sum once at the end. The AVX-512 build keeps a head's query
// and its output in registers (head sizes that are multiples of 16 up to 128); the portable loop
// is its reference and serves the other builds. The heads of a group go together, so its keys
// and values (`count` rows of `e` floats, strided) are read once for all of them: that traffic,
// not the arithmetic, is what a long cache costs.

#include "CNNKernels.h"

static void attention_row_portable(const float *q, ptrdiff_t heads, ptrdiff_t groups, ptrdiff_t e,
                                   const float *keys, const float *values, ptrdiff_t ld, ptrdiff_t count,
                                   float scale, float *scores, float *out) {
    for (ptrdiff_t j = 0; j < heads; j++) {
        const ptrdiff_t g = j / (heads / groups);
        const float *qj = q + j * e, *k = keys + g * e, *v = values + g * e;
        float *s = scores + j * count, *o = out + j * e, maximum = 0;
        for (ptrdiff_t t = 0; t < count; t++) {
            float dot = 0;
            for (ptrdiff_t i = 0; i < e; i++) dot += qj[i] * k[t * ld + i];
            s[t] = scale * dot;
            maximum = t == 0 || s[t] > maximum ? s[t] : maximum;
        }
        const float sum = nn_shifted_exp_sum_f32(NN_BUILD_PORTABLE, s, count, maximum);
        for (ptrdiff_t i = 0; i < e; i++) o[i] = 0;
        for (ptrdiff_t t = 0; t < count; t++)
            for (ptrdiff_t i = 0; i < e; i++) o[i] += s[t] * v[t * ld + i];
        for (ptrdiff_t i = 0; i < e; i++) o[i] /= sum;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))

// `Σ_lanes` of each of `d0…d3`, in that order: two rounds of 128-bit block shuffles, then two
// within the blocks, instead of four separate reductions.
AVX512 static inline __attribute__((always_inline)) __m128 reduce4_avx512(__m512 d0, __m512 d1, __m512 d2, __m512 d3) {
    const __m512 a = _mm512_add_ps(_mm512_shuffle_f32x4(d0, d1, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_f32x4(d0, d1, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 b = _mm512_add_ps(_mm512_shuffle_f32x4(d2, d3, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_f32x4(d2, d3, _MM_SHUFFLE(3, 2, 3, 2)));
    // Blocks of c: d0, d1, d2, d3 (four partial sums each).
    __m512 c = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    c = _mm512_add_ps(c, _mm512_permute_ps(c, _MM_SHUFFLE(1, 0, 3, 2)));
    c = _mm512_add_ps(c, _mm512_permute_ps(c, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), c));
}

// `q_h·K[t]` with `nv` vectors a row.
#define ROW_DOT(h, kt)                                                                               \
    ({                                                                                               \
        __m512 dot_ = _mm512_mul_ps(qv[h][0], _mm512_loadu_ps(kt));                                  \
        for (int i_ = 1; i_ < nv; i_++) dot_ = _mm512_fmadd_ps(qv[h][i_], _mm512_loadu_ps((kt) + 16 * i_), dot_); \
        dot_;                                                                                        \
    })

// `nh` heads of one group with `nv` = e/16 vectors each (constants in each caller, so the loops
// unroll and the queries and outputs stay in registers): each key and value row is loaded once
// for all `nh`. Scores go four positions at a time.
AVX512 static inline __attribute__((always_inline)) void attention_heads_avx512(
    const float *q, ptrdiff_t e, const float *k, const float *v, ptrdiff_t ld, ptrdiff_t count, float scale,
    float *s, float *o, const int nv, const int nh) {
    __m512 qv[4][8], acc[4][8];
    float maximum[4], sum[4];
    for (int h = 0; h < nh; h++)
        for (int i = 0; i < nv; i++) qv[h][i] = _mm512_loadu_ps(q + h * e + 16 * i);
    __m128 maxima[4];
    for (int h = 0; h < nh; h++) maxima[h] = _mm_set1_ps(-__builtin_inff());
    ptrdiff_t t = 0;
    for (; t + 4 <= count; t += 4) {
        const float *kt = k + t * ld;
        for (int h = 0; h < nh; h++) {
            const __m128 four = _mm_mul_ps(
                _mm_set1_ps(scale),
                reduce4_avx512(ROW_DOT(h, kt), ROW_DOT(h, kt + ld), ROW_DOT(h, kt + 2 * ld), ROW_DOT(h, kt + 3 * ld)));
            _mm_storeu_ps(s + h * count + t, four);
            maxima[h] = _mm_max_ps(maxima[h], four);
        }
    }
    for (int h = 0; h < nh; h++) {
        const __m128 m = _mm_max_ps(maxima[h], _mm_movehl_ps(maxima[h], maxima[h]));
        maximum[h] = _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
    }
    for (; t < count; t++)
        for (int h = 0; h < nh; h++) {
            const float score = scale * _mm512_reduce_add_ps(ROW_DOT(h, k + t * ld));
            s[h * count + t] = score;
            maximum[h] = score > maximum[h] ? score : maximum[h];
        }
    for (int h = 0; h < nh; h++) {
        sum[h] = nn_shifted_exp_sum_f32(NN_BUILD_AVX512, s + h * count, count, maximum[h]);
        for (int i = 0; i < nv; i++) acc[h][i] = _mm512_setzero_ps();
    }
    for (t = 0; t < count; t++) {
        __m512 vt[8];
        for (int i = 0; i < nv; i++) vt[i] = _mm512_loadu_ps(v + t * ld + 16 * i);
        for (int h = 0; h < nh; h++) {
            const __m512 p = _mm512_set1_ps(s[h * count + t]);
            for (int i = 0; i < nv; i++) acc[h][i] = _mm512_fmadd_ps(p, vt[i], acc[h][i]);
        }
    }
    for (int h = 0; h < nh; h++) {
        const __m512 inverse = _mm512_set1_ps(1 / sum[h]);
        for (int i = 0; i < nv; i++) _mm512_storeu_ps(o + h * e + 16 * i, _mm512_mul_ps(acc[h][i], inverse));
    }
}
#undef ROW_DOT

// Heads `j0 ..< j0+nh` (one group), for `e` = 64 or 128 in batches the registers hold, else one
// head at a time.
AVX512 static void attention_batch_avx512(const float *q, ptrdiff_t e, const float *k, const float *v, ptrdiff_t ld,
                                          ptrdiff_t count, float scale, float *s, float *o, ptrdiff_t nh) {
#define HEADS(NV, NH) attention_heads_avx512(q, e, k, v, ld, count, scale, s, o, NV, NH)
    if (e == 64 && nh == 4) HEADS(4, 4);
    else if (e == 64 && nh == 3) HEADS(4, 3);
    else if (e == 64 && nh == 2) HEADS(4, 2);
    else if (e == 128 && nh == 2) HEADS(8, 2);
    else
        for (ptrdiff_t h = 0; h < nh; h++, q += e, s += count, o += e)
            switch (e / 16) {
            case 1: HEADS(1, 1); break;
            case 2: HEADS(2, 1); break;
            case 3: HEADS(3, 1); break;
            case 4: HEADS(4, 1); break;
            case 5: HEADS(5, 1); break;
            case 6: HEADS(6, 1); break;
            case 7: HEADS(7, 1); break;
            default: HEADS(8, 1); break;
            }
#undef HEADS
}

AVX512 static int attention_row_avx512(const float *q, ptrdiff_t heads, ptrdiff_t groups, ptrdiff_t e,
                                       const float *keys, const float *values, ptrdiff_t ld, ptrdiff_t count,
                                       float scale, float *scores, float *out) {
    if (e % 16 != 0 || e > 128) return 0;
    const ptrdiff_t per_group = heads / groups, batch = e <= 64 ? 4 : 2;
    for (ptrdiff_t g = 0; g < groups; g++)
        for (ptrdiff_t j = g * per_group; j < (g + 1) * per_group; j += batch) {
            const ptrdiff_t nh = (g + 1) * per_group - j < batch ? (g + 1) * per_group - j : batch;
            attention_batch_avx512(q + j * e, e, keys + g * e, values + g * e, ld, count, scale, scores + j * count,
                                   out + j * e, nh);
        }
    return 1;
}
#endif

void nn_attention_row_f32(nn_build build, const float *q, ptrdiff_t heads, ptrdiff_t groups, ptrdiff_t e,
                          const float *keys, const float *values, ptrdiff_t ld, ptrdiff_t count, float scale,
                          float *scores, float *out) {
    if (!nn_build_supported(build)) __builtin_trap();
#if defined(__x86_64__)
    if (build == NN_BUILD_AVX512 && attention_row_avx512(q, heads, groups, e, keys, values, ld, count, scale, scores, out))
        return;
#endif
    attention_row_portable(q, heads, groups, e, keys, values, ld, count, scale, scores, out);
}
