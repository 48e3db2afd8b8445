#ifndef CNNKERNELS_H
#define CNNKERNELS_H

#include <stddef.h>

/// The builds of each kernel: the same loop compiled for the x86-64 baseline, for AVX2+FMA and
/// for AVX-512 (F, BW, DQ, VL). Every function below runs the one it is given and traps on one
/// the CPU lacks.
typedef enum {
    NN_BUILD_PORTABLE = 0,
    NN_BUILD_AVX2_FMA = 1,
    NN_BUILD_AVX512 = 2,
} nn_build;

/// Whether `build` runs here, by `__builtin_cpu_supports` (which counts a feature only when the
/// OS saves its registers, XCR0); the portable build runs everywhere.
int nn_build_supported(nn_build build);

/// `y[i] = GELU(x[i])` and `slope[i] = GELU′(x[i])` for `i < count` in `float`: the exact-erf
/// GELU, `Φ = ½(1 + erf(v/√2))`, `GELU = v·Φ`, `GELU′ = Φ + v·e^{−v²/2}/√(2π)`, with `erf` and
/// `exp` evaluated by polynomials (see Kernels.c).
void nn_gelu_f32(nn_build build, const float *x, float *y, float *slope, ptrdiff_t count);

/// `x[i] = e^{x[i] − shift}` for `i < count`, where every `x[i] ≤ shift` (softmax's shifted
/// exponentials; the shift is the row's maximum), by the polynomial `exp` of the GELU (1–2 ulp).
void nn_shifted_exp_f32(nn_build build, float *x, ptrdiff_t count, float shift);

/// `y[i] = SiLU(x[i]) = x[i]·σ(x[i])` and `slope[i] = SiLU′(x[i]) = σ·(1 + x[i]·(1 − σ))` for
/// `i < count`, `σ = 1/(1 + e^{−x})` by the polynomial `exp` of the GELU.
void nn_silu_f32(nn_build build, const float *x, float *y, float *slope, ptrdiff_t count);

/// `max_i x[i]` for `0 < count` (a softmax row's shift), in 16 lanes.
float nn_max_f32(nn_build build, const float *x, ptrdiff_t count);

/// `nn_shifted_exp_f32` returning `Σ_i x[i]` summed in 16 lanes (the row's normaliser, in the
/// same pass).
float nn_shifted_exp_sum_f32(nn_build build, float *x, ptrdiff_t count, float shift);

/// `Σ_i a[i]·b[i]` for `i < count`, in 16 lanes.
float nn_dot_f32(nn_build build, const float *a, const float *b, ptrdiff_t count);

/// Attention of one query row over `count ≥ 1` cached positions (a decode step): for head
/// `j < heads` of group `g = j / (heads/groups)`, with `q_j = q[j·e ..< (j+1)·e]` and
/// `K_g[t] = keys[t·ld + g·e ..< +e]`, `V_g[t]` alike,
///
///     s_j[t] = scale · q_j·K_g[t],   out[j·e + i] = Σ_t e^{s_j[t] − max s_j} · V_g[t][i] / Σ_t e^{s_j[t] − max s_j}
///
/// (softmax(s_j)·V_g; the exponentials are `nn_shifted_exp_f32`'s). `scores` is scratch of
/// `heads·count` floats. `heads` must be a multiple of `groups`. The AVX-512 build runs head
/// sizes `e` that are multiples of 16 up to 128 in registers, other sizes as the portable build.
void nn_attention_row_f32(nn_build build, const float *q, ptrdiff_t heads, ptrdiff_t groups, ptrdiff_t e,
                          const float *keys, const float *values, ptrdiff_t ld, ptrdiff_t count, float scale,
                          float *scores, float *out);

#endif
