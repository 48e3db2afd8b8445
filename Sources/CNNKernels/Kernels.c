// Element-wise Float kernels of NN: the GELU, the SiLU and softmax's row passes. Swift compiles for
// the x86-64 baseline (SSE2, no FMA); each loop here is built again for AVX2+FMA and for AVX-512,
// and the caller names the build to run (NN picks the widest the CPU and OS support), so it gets
// 256- or 512-bit vectors and fused multiply-adds where the CPU has them (the gains:
// docs/PERFORMANCE.md).

#include "CNNKernels.h"

#include <stdint.h>
#include <string.h>

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

/// `e^z` for `z ≤ 0`: `z = n·ln 2 + r` with `|r| ≤ ln 2/2` (Cody–Waite split of `ln 2`), `e^r` by
/// its degree-7 Taylor polynomial (remainder below 6·10⁻⁹), `2ⁿ` from the exponent bits.
/// `z < −87` is treated as −87 (`e^{−87} ≈ 1.6·10⁻³⁸`).
static inline __attribute__((always_inline)) float exp_non_positive(float z) {
    const float clamped = z < -87.0f ? -87.0f : z;
    const float rounding_shift = 12582912.0f;  // 1.5·2²³: adding it rounds to an integer in the low bits
    const float shifted = clamped * 1.44269504088896341f + rounding_shift;
    const float n = shifted - rounding_shift;
    const float r = (clamped - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1;
    p = p * r + 1;
    return p * from_bits((to_bits(shifted) - to_bits(rounding_shift) + 127) << 23);
}

/// One element, branch-free (selects, no calls) so the loop vectorises. With `a = |v|/√2`:
/// `erf(a) = a·P(a²)` on `[0, 1)` (degree 6, relative error 5·10⁻⁹), `1 − e^{−a²}·Q(s)` on
/// `[1, 4)` with `s = (1/a − 0.625)/0.375` (degree 10 fit of `erfc(a)·e^{a²}`, relative error
/// 7·10⁻⁹), and 1 beyond (`erfc(4) < 2·10⁻⁸`). Chebyshev least-squares fits in double
/// (`scripts/fixtures/gelu_float_erf_fit.py`); one `e^{−a²}` serves `erf` and `GELU′`.
static inline __attribute__((always_inline)) void gelu_element(float v, float *y, float *slope) {
    const float a = (v < 0 ? -v : v) * 0.70710678118654752f;
    const int below_one = a < 1;
    const float t = a * a;
    const float gaussian = exp_non_positive(-t);
    float inner = 8.006266903e-05f;
    inner = inner * t + -0.0008053592345f;
    inner = inner * t + 0.005192942553f;
    inner = inner * t + -0.02685606292f;
    inner = inner * t + 0.1128363451f;
    inner = inner * t + -0.3761262976f;
    inner = inner * t + 1.128379166f;
    const float s = (1 / (below_one ? 1 : a) - 0.625f) * 2.6666666666666667f;
    float tail = -2.023291917e-06f;
    tail = tail * s + 3.724871795e-06f;
    tail = tail * s + 2.255808122e-06f;
    tail = tail * s + -2.788846809e-05f;
    tail = tail * s + 0.000119825555f;
    tail = tail * s + -0.0003482445686f;
    tail = tail * s + 0.0004614937402f;
    tail = tail * s + 0.002308053257f;
    tail = tail * s + -0.02424302844f;
    tail = tail * s + 0.1433564124f;
    tail = tail * s + 0.3059529926f;
    const float below_four = below_one ? a * inner : 1 - gaussian * tail;
    const float magnitude = a >= 4 ? 1 : below_four;
    const float cdf = (1 + from_bits(to_bits(magnitude) | (to_bits(v) & 0x80000000u))) * 0.5f;
    *y = v * cdf;
    *slope = cdf + v * gaussian * 0.39894228040143268f;
}

static inline __attribute__((always_inline)) void gelu_loop(const float *x, float *y, float *slope, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) gelu_element(x[i], y + i, slope + i);
}

/// One element of the SiLU: with `σ = 1/(1 + e^{−v})` from `e^{−|v|}` (never overflows),
/// `y = v·σ` and `y′ = σ·(1 + v·(1 − σ))`.
static inline __attribute__((always_inline)) void silu_element(float v, float *y, float *slope) {
    const float e = exp_non_positive(v < 0 ? v : -v);
    const float sigma = (v < 0 ? e : 1) / (1 + e);
    *y = v * sigma;
    *slope = sigma * (1 + v * (1 - sigma));
}

static inline __attribute__((always_inline)) void silu_loop(const float *x, float *y, float *slope, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) silu_element(x[i], y + i, slope + i);
}

static inline __attribute__((always_inline)) void shifted_exp_loop(float *x, ptrdiff_t count, float shift) {
    for (ptrdiff_t i = 0; i < count; i++) x[i] = exp_non_positive(x[i] - shift);
}

/// Row reductions in `LANES` independent partial results: the lanes map onto vector registers
/// without reassociating anyone's sums (which the compiler may not do for floats), so a 256- or
/// 512-bit build runs them at full width instead of one element per adder latency.
#define LANES 16

static inline __attribute__((always_inline)) float combine_sums(const float *lanes) {
    float total = 0;
    for (int l = 0; l < LANES; l++) total += lanes[l];
    return total;
}

static inline __attribute__((always_inline)) float max_loop(const float *x, ptrdiff_t count) {
    float lanes[LANES];
    for (int l = 0; l < LANES; l++) lanes[l] = x[0];
    ptrdiff_t j = 0;
    for (; j + LANES <= count; j += LANES)
        for (int l = 0; l < LANES; l++) lanes[l] = x[j + l] > lanes[l] ? x[j + l] : lanes[l];
    float maximum = lanes[0];
    for (int l = 1; l < LANES; l++) maximum = lanes[l] > maximum ? lanes[l] : maximum;
    for (; j < count; j++) maximum = x[j] > maximum ? x[j] : maximum;
    return maximum;
}

static inline __attribute__((always_inline)) float shifted_exp_sum_loop(float *x, ptrdiff_t count, float shift) {
    float lanes[LANES] = {0};
    ptrdiff_t j = 0;
    for (; j + LANES <= count; j += LANES)
        for (int l = 0; l < LANES; l++) {
            x[j + l] = exp_non_positive(x[j + l] - shift);
            lanes[l] += x[j + l];
        }
    for (; j < count; j++) {
        x[j] = exp_non_positive(x[j] - shift);
        lanes[0] += x[j];
    }
    return combine_sums(lanes);
}

static inline __attribute__((always_inline)) float dot_loop(const float *a, const float *b, ptrdiff_t count) {
    float lanes[LANES] = {0};
    ptrdiff_t j = 0;
    for (; j + LANES <= count; j += LANES)
        for (int l = 0; l < LANES; l++) lanes[l] += a[j + l] * b[j + l];
    for (; j < count; j++) lanes[0] += a[j] * b[j];
    return combine_sums(lanes);
}

int nn_build_supported(nn_build build) {
#if defined(__x86_64__)
    // The compiler runtime sets a feature only when XCR0 says the OS saves its registers.
    const int avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    switch (build) {
    case NN_BUILD_PORTABLE: return 1;
    case NN_BUILD_AVX2_FMA: return avx2_fma;
    case NN_BUILD_AVX512:
        return avx2_fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    default: return 0;
    }
#else
    return build == NN_BUILD_PORTABLE;
#endif
}

#if defined(__x86_64__)
/// `name_loop` inlined into a function compiled for AVX2+FMA and one for AVX-512.
#define DEFINE_BUILDS(name, parameters, arguments)                                                   \
    static __attribute__((target("avx2,fma"))) void name##_avx2_fma parameters { name##_loop arguments; } \
    static __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))) void name##_avx512     \
        parameters {                                                                                  \
        name##_loop arguments;                                                                        \
    }

DEFINE_BUILDS(gelu, (const float *x, float *y, float *slope, ptrdiff_t count), (x, y, slope, count))
DEFINE_BUILDS(silu, (const float *x, float *y, float *slope, ptrdiff_t count), (x, y, slope, count))
DEFINE_BUILDS(shifted_exp, (float *x, ptrdiff_t count, float shift), (x, count, shift))
#undef DEFINE_BUILDS

/// As `DEFINE_BUILDS`, for a loop that returns a float.
#define DEFINE_FLOAT_BUILDS(name, parameters, arguments)                                                     \
    static __attribute__((target("avx2,fma"))) float name##_avx2_fma parameters { return name##_loop arguments; } \
    static __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))) float name##_avx512          \
        parameters {                                                                                          \
        return name##_loop arguments;                                                                         \
    }

DEFINE_FLOAT_BUILDS(max, (const float *x, ptrdiff_t count), (x, count))
DEFINE_FLOAT_BUILDS(shifted_exp_sum, (float *x, ptrdiff_t count, float shift), (x, count, shift))
DEFINE_FLOAT_BUILDS(dot, (const float *a, const float *b, ptrdiff_t count), (a, b, count))
#undef DEFINE_FLOAT_BUILDS

/// Runs `name` in the build `build` names; traps on one the CPU lacks (callers check
/// `nn_build_supported` first).
#define DISPATCH(build, name, arguments)                                        \
    if (nn_build_supported(build)) switch (build) {                             \
        case NN_BUILD_PORTABLE: return name##_loop arguments;                   \
        case NN_BUILD_AVX2_FMA: return name##_avx2_fma arguments;               \
        case NN_BUILD_AVX512: return name##_avx512 arguments;                   \
        }                                                                       \
    __builtin_trap()
#else
#define DISPATCH(build, name, arguments)                    \
    if (build == NN_BUILD_PORTABLE) return name##_loop arguments; \
    __builtin_trap()
#endif

void nn_gelu_f32(nn_build build, const float *x, float *y, float *slope, ptrdiff_t count) {
    DISPATCH(build, gelu, (x, y, slope, count));
}

void nn_shifted_exp_f32(nn_build build, float *x, ptrdiff_t count, float shift) {
    DISPATCH(build, shifted_exp, (x, count, shift));
}

void nn_silu_f32(nn_build build, const float *x, float *y, float *slope, ptrdiff_t count) {
    DISPATCH(build, silu, (x, y, slope, count));
}

float nn_max_f32(nn_build build, const float *x, ptrdiff_t count) {
    DISPATCH(build, max, (x, count));
}

float nn_shifted_exp_sum_f32(nn_build build, float *x, ptrdiff_t count, float shift) {
    DISPATCH(build, shifted_exp_sum, (x, count, shift));
}

float nn_dot_f32(nn_build build, const float *a, const float *b, ptrdiff_t count) {
    DISPATCH(build, dot, (a, b, count));
}
