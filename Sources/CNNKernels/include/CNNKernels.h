#ifndef CNNKERNELS_H
#define CNNKERNELS_H

#include <stddef.h>

/// `y[i] = GELU(x[i])` and `slope[i] = GELU′(x[i])` for `i < count` in `float`: the exact-erf
/// GELU, `Φ = ½(1 + erf(v/√2))`, `GELU = v·Φ`, `GELU′ = Φ + v·e^{−v²/2}/√(2π)`, with `erf` and
/// `exp` evaluated by polynomials (see Kernels.c). Runs the AVX2+FMA build of the loop when the CPU
/// has both, the portable one otherwise.
void nn_gelu_f32(const float *x, float *y, float *slope, ptrdiff_t count);

/// The portable build of the same loop (what CPUs without AVX2 and FMA run), for tests.
void nn_gelu_f32_portable(const float *x, float *y, float *slope, ptrdiff_t count);

/// `x[i] = e^{x[i] − shift}` for `i < count`, where every `x[i] ≤ shift` (softmax's shifted
/// exponentials; the shift is the row's maximum), by the polynomial `exp` of the GELU (1–2 ulp).
/// AVX2+FMA when the CPU has both, portable otherwise.
void nn_shifted_exp_f32(float *x, ptrdiff_t count, float shift);

/// The portable build of the same loop, for tests.
void nn_shifted_exp_f32_portable(float *x, ptrdiff_t count, float shift);

/// `y[i] = SiLU(x[i]) = x[i]·σ(x[i])` and `slope[i] = SiLU′(x[i]) = σ·(1 + x[i]·(1 − σ))` for
/// `i < count`, `σ = 1/(1 + e^{−x})` by the polynomial `exp` of the GELU. AVX2+FMA when the CPU has
/// both, portable otherwise.
void nn_silu_f32(const float *x, float *y, float *slope, ptrdiff_t count);

/// The portable build of the same loop, for tests.
void nn_silu_f32_portable(const float *x, float *y, float *slope, ptrdiff_t count);

/// Whether this CPU has AVX2 and FMA (what the fast builds of these kernels need).
int nn_cpu_has_avx2_fma(void);

#endif
