#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>

/// `y[i] = GELU(x[i])` and `slope[i] = GELU′(x[i])` for `i < count` in `float`: the exact-erf
/// GELU, `Φ = ½(1 + erf(v/√2))`, `GELU = v·Φ`, `GELU′ = Φ + v·e^{−v²/2}/√(2π)`, with `erf` and
/// `exp` evaluated by polynomials (see Kernels.c). Runs the AVX2+FMA build of the loop when the CPU
/// has both, the portable one otherwise.
void ckernels_gelu_f32(const float *x, float *y, float *slope, ptrdiff_t count);

/// The portable build of the same loop (what CPUs without AVX2 and FMA run), for tests.
void ckernels_gelu_f32_portable(const float *x, float *y, float *slope, ptrdiff_t count);

/// `x[i] = e^{x[i] − shift}` for `i < count`, where every `x[i] ≤ shift` (softmax's shifted
/// exponentials; the shift is the row's maximum), by the polynomial `exp` of the GELU (1–2 ulp).
/// AVX2+FMA when the CPU has both, portable otherwise.
void ckernels_shifted_exp_f32(float *x, ptrdiff_t count, float shift);

/// The portable build of the same loop, for tests.
void ckernels_shifted_exp_f32_portable(float *x, ptrdiff_t count, float shift);

/// The adapter path of a LoRA layer for rows `0..<n`, in `float`:
/// `Tᵀ = A·Xᵀ` into `t` (`r×n`, row stride `ldt`), then `Y += T·(s·B)ᵀ`, for `X: n×k` (row stride
/// `ldx`), `A: r×k`, `B: d×r`, `Y: n×d` (row stride `ldy`). `A` and `s·B` come packed by the two
/// functions below. Rows are split over up to `threads` threads (the caller and pinned helper
/// threads), parts of at least 2²² multiply-adds; results do not depend on the split.
/// AVX2+FMA only: call it when `ckernels_cpu_has_avx2_fma()` says so (it traps otherwise).
void ckernels_low_rank_update_f32(
    const float *x, ptrdiff_t ldx, const float *packed_a, const float *packed_b, float *t, ptrdiff_t ldt, float *y,
    ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d, int threads);

/// Whether this CPU has AVX2 and FMA (what the fast builds of these kernels need).
int ckernels_cpu_has_avx2_fma(void);

/// Floats in packed `A` (`r×k`): `⌈r/w⌉` panels of `k×w`, `w` = 8 for `r ≤ 8`, 16 otherwise.
ptrdiff_t ckernels_low_rank_packed_a_count(ptrdiff_t r, ptrdiff_t k);

/// Floats in packed `s·B` (`d×r`): `⌈d/16⌉` panels of `r×16`.
ptrdiff_t ckernels_low_rank_packed_b_count(ptrdiff_t d, ptrdiff_t r);

/// `A: r×k` into panels of `w` ranks (as above): panel `p`, element `[l][q]` = `A[w·p+q][l]` (0 past
/// `r`).
void ckernels_low_rank_pack_a_f32(const float *a, ptrdiff_t r, ptrdiff_t k, float *packed);

/// `s·B` for `B: d×r` into panels of 16 outputs: panel `p`, element `[q][j]` = `s·B[16p+j][q]`
/// (0 past `d`).
void ckernels_low_rank_pack_b_f32(const float *b, ptrdiff_t d, ptrdiff_t r, float scale, float *packed);

/// Runs `work(context, part)` for every `part < parts`: part 0 on the calling thread, the others on
/// helper threads kept for the process, each pinned (Linux) to another CPU than the caller's
/// (going round the allowed CPUs, the caller's last, when there are more parts than CPUs). Returns
/// when all parts are done. Runs every part on the caller when `parts < 2`, when helpers cannot be
/// started, or when another call holds them (a part that itself runs parts runs them inline).
///
/// Why pinned: a helper woken by the caller is placed on the caller's CPU (the scheduler's wake
/// affinity) whenever the other CPUs are busy — for instance with OpenBLAS workers that spin for a
/// while after each call — and then waits for the caller's time slice: 1–2 ms, measured, longer
/// than the work. Pinned to another CPU it starts within 30–50 µs.
void ckernels_run_parts(void (*work)(void *context, int part), void *context, int parts);

/// How many parts `ckernels_run_parts` can run at once: the CPUs this thread may use (at least 1).
int ckernels_available_cpus(void);

#endif
