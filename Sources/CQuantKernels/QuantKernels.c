// Dispatch, conversions, activation quantization and the portable builds of the quantized
// products. The x86 builds are in QuantKernelsX86.c, compiled with per-function target attributes
// since Swift builds C for the x86-64 baseline.

#include "CQuantKernels.h"
#include "QuantKernelsInternal.h"

#include <math.h>
#include <string.h>

_Static_assert(sizeof(cqk_block_q4_1) == 20, "Q4_1 block is 20 bytes");
_Static_assert(sizeof(cqk_block_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(cqk_block_q8a) == 40, "activation block is 40 bytes");

static inline float from_bits(uint32_t bits) {
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static inline uint32_t to_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

float cqk_fp16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1F;
    const uint32_t mantissa = h & 0x3FF;
    if (exponent == 0x1F) return from_bits(sign | 0x7F800000u | (mantissa << 13));
    if (exponent != 0) return from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
    // subnormal: mantissa · 2⁻²⁴, exact in float
    const float magnitude = (float)mantissa * 5.9604644775390625e-8f;
    return sign ? -magnitude : magnitude;
}

uint16_t cqk_f32_to_fp16(float f) {
    const uint32_t bits = to_bits(f);
    const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    const uint32_t magnitude = bits & 0x7FFFFFFFu;
    if (magnitude > 0x7F800000u) return sign | 0x7E00;  // NaN
    if (magnitude >= 0x477FF000u) return sign | 0x7C00;  // rounds to ≥ 2¹⁶: infinity
    if (magnitude < 0x38800000u) {
        // below 2⁻¹⁴: a subnormal half, mantissa = round(|f| · 2²⁴) (the float product is exact)
        const float scaled = from_bits(magnitude) * 16777216.0f;
        return sign | (uint16_t)lrintf(scaled);
    }
    // normal: drop 13 mantissa bits, nearest even; a carry into the exponent is the right answer
    const uint32_t rounded = magnitude + 0xFFF + ((magnitude >> 13) & 1);
    return sign | (uint16_t)((rounded - (112u << 23)) >> 13);
}

ptrdiff_t cqk_row_bytes(cqk_weight_type type, ptrdiff_t k) {
    const ptrdiff_t blocks = k / CQK_BLOCK;
    return blocks * (type == CQK_Q4_1 ? (ptrdiff_t)sizeof(cqk_block_q4_1) : (ptrdiff_t)sizeof(cqk_block_q8_0));
}

void cqk_dequantize_row(cqk_weight_type type, const void *row, ptrdiff_t k, float *out) {
    const ptrdiff_t blocks = k / CQK_BLOCK;
    if (type == CQK_Q4_1) {
        const cqk_block_q4_1 *b = row;
        for (ptrdiff_t i = 0; i < blocks; i++) {
            const float d = cqk_fp16_to_f32(b[i].d), m = cqk_fp16_to_f32(b[i].m);
            for (int j = 0; j < 16; j++) {
                out[i * 32 + j] = d * (float)(b[i].qs[j] & 0x0F) + m;
                out[i * 32 + j + 16] = d * (float)(b[i].qs[j] >> 4) + m;
            }
        }
    } else {
        const cqk_block_q8_0 *b = row;
        for (ptrdiff_t i = 0; i < blocks; i++) {
            const float d = cqk_fp16_to_f32(b[i].d);
            for (int j = 0; j < 32; j++) out[i * 32 + j] = d * (float)b[i].qs[j];
        }
    }
}

void cqk_quantize_rows_q8a(const float *x, ptrdiff_t ldx, ptrdiff_t n, ptrdiff_t k, cqk_block_q8a *out) {
    const ptrdiff_t blocks = k / CQK_BLOCK;
    for (ptrdiff_t i = 0; i < n; i++) {
        for (ptrdiff_t b = 0; b < blocks; b++) {
            const float *v = x + i * ldx + b * CQK_BLOCK;
            cqk_block_q8a *q = out + i * blocks + b;
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(v[j]));
            const float d = amax / 127;
            // x·(127/amax) ≤ 127 in magnitude, so the rounded value fits int8 without clamping
            const float inverse = amax > 0 ? 127 / amax : 0;
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                const int value = (int)lrintf(v[j] * inverse);
                q->qs[j] = (int8_t)value;
                sum += value;
            }
            q->d = d;
            q->s = d * (float)sum;
        }
    }
}

// Portable builds: integer dots per block, float scales, one activation row at a time.

static void q8a_portable(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                         const cqk_block_q8a *x, ptrdiff_t n, float *y, ptrdiff_t ldy) {
    const ptrdiff_t blocks = k / CQK_BLOCK;
    const ptrdiff_t row_bytes = cqk_row_bytes(type, k);
    for (ptrdiff_t r = d0; r < d1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * row_bytes;
        for (ptrdiff_t i = 0; i < n; i++) {
            const cqk_block_q8a *a = x + i * blocks;
            float sum = 0;
            if (type == CQK_Q4_1) {
                const cqk_block_q4_1 *b = (const cqk_block_q4_1 *)row;
                for (ptrdiff_t t = 0; t < blocks; t++) {
                    int dot = 0;
                    for (int j = 0; j < 16; j++) {
                        dot += (b[t].qs[j] & 0x0F) * a[t].qs[j];
                        dot += (b[t].qs[j] >> 4) * a[t].qs[j + 16];
                    }
                    sum += cqk_fp16_to_f32(b[t].d) * a[t].d * (float)dot + cqk_fp16_to_f32(b[t].m) * a[t].s;
                }
            } else {
                const cqk_block_q8_0 *b = (const cqk_block_q8_0 *)row;
                for (ptrdiff_t t = 0; t < blocks; t++) {
                    int dot = 0;
                    for (int j = 0; j < 32; j++) dot += b[t].qs[j] * a[t].qs[j];
                    sum += cqk_fp16_to_f32(b[t].d) * a[t].d * (float)dot;
                }
            }
            y[i * ldy + r] = sum;
        }
    }
}

static void f32_portable(cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                         const float *x, ptrdiff_t ldx, ptrdiff_t n, float *y, ptrdiff_t ldy) {
    const ptrdiff_t blocks = k / CQK_BLOCK;
    const ptrdiff_t row_bytes = cqk_row_bytes(type, k);
    float values[CQK_BLOCK];
    for (ptrdiff_t r = d0; r < d1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * row_bytes;
        for (ptrdiff_t i = 0; i < n; i++) y[i * ldy + r] = 0;
        for (ptrdiff_t t = 0; t < blocks; t++) {
            const void *block = row + t * (type == CQK_Q4_1 ? sizeof(cqk_block_q4_1) : sizeof(cqk_block_q8_0));
            cqk_dequantize_row(type, block, CQK_BLOCK, values);
            for (ptrdiff_t i = 0; i < n; i++) {
                const float *v = x + i * ldx + t * CQK_BLOCK;
                float sum = 0;
                for (int j = 0; j < CQK_BLOCK; j++) sum += values[j] * v[j];
                y[i * ldy + r] += sum;
            }
        }
    }
}

int cqk_path_supported(cqk_path path) {
    switch (path) {
    case CQK_PATH_BEST:
    case CQK_PATH_PORTABLE:
        return 1;
    case CQK_PATH_AVX2:
        return cqk_x86_has_avx2();
    case CQK_PATH_AVX512_VNNI:
        return cqk_x86_has_avx512_vnni();
    }
    return 0;
}

cqk_path cqk_best_path(void) {
    if (cqk_x86_has_avx512_vnni()) return CQK_PATH_AVX512_VNNI;
    if (cqk_x86_has_avx2()) return CQK_PATH_AVX2;
    return CQK_PATH_PORTABLE;
}

const char *cqk_path_name(cqk_path path) {
    switch (path == CQK_PATH_BEST ? cqk_best_path() : path) {
    case CQK_PATH_AVX2:
        return "avx2";
    case CQK_PATH_AVX512_VNNI:
        return "avx512-vnni";
    default:
        return "portable";
    }
}

// An unsupported explicit path falls back to portable rather than faulting on an illegal instruction.
static cqk_path resolve(cqk_path path) {
    if (path == CQK_PATH_BEST) return cqk_best_path();
    return cqk_path_supported(path) ? path : CQK_PATH_PORTABLE;
}

void cqk_matmul_q8a(cqk_path path, cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                    const cqk_block_q8a *x, ptrdiff_t n, float *y, ptrdiff_t ldy) {
    switch (resolve(path)) {
    case CQK_PATH_AVX512_VNNI:
        cqk_q8a_vnni(type, w, k, d0, d1, x, n, y, ldy);
        return;
    case CQK_PATH_AVX2:
        cqk_q8a_avx2(type, w, k, d0, d1, x, n, y, ldy);
        return;
    default:
        q8a_portable(type, w, k, d0, d1, x, n, y, ldy);
    }
}

void cqk_matmul_f32(cqk_path path, cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
                    const float *x, ptrdiff_t ldx, ptrdiff_t n, float *y, ptrdiff_t ldy) {
    switch (resolve(path)) {
    case CQK_PATH_AVX512_VNNI:
        cqk_f32_avx512(type, w, k, d0, d1, x, ldx, n, y, ldy);
        return;
    case CQK_PATH_AVX2:
        cqk_f32_avx2(type, w, k, d0, d1, x, ldx, n, y, ldy);
        return;
    default:
        f32_portable(type, w, k, d0, d1, x, ldx, n, y, ldy);
    }
}
