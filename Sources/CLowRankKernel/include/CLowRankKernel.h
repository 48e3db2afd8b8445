#ifndef CLOWRANKKERNEL_H
#define CLOWRANKKERNEL_H

#include <stddef.h>

/// The builds of `lowrank_update_f32`, by instruction set. Both read the same packed factors.
typedef enum {
    LOWRANK_ISA_NONE = 0,
    /// 256-bit vectors with FMA.
    LOWRANK_ISA_AVX2_FMA = 1,
    /// 512-bit vectors (AVX-512 F, BW, DQ, VL) with FMA.
    LOWRANK_ISA_AVX512 = 2,
} lowrank_isa;

/// The adapter path of a LoRA layer for rows `0..<n`, in `float`:
/// `Tᵀ = A·Xᵀ` into `t` (`r×n`, row stride `ldt`), then `Y += T·(s·B)ᵀ`, for `X: n×k` (row stride
/// `ldx`), `A: r×k`, `B: d×r`, `Y: n×d` (row stride `ldy`). `A` and `s·B` come packed by the two
/// functions below. Rows are split over up to `threads` threads (the caller and pinned helper
/// threads), parts of at least 2²² multiply-adds; results do not depend on the split. Runs the
/// build for `isa`: call it when `lowrank_isa_supported(isa)` (it traps otherwise). The builds sum
/// in different orders, so their results differ by float rounding.
void lowrank_update_f32(
    const float *x, ptrdiff_t ldx, const float *packed_a, const float *packed_b, float *t, ptrdiff_t ldt, float *y,
    ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d, int threads, lowrank_isa isa);

/// The adapter path's memory traffic with none of its arithmetic: reads `X: n×k` (returning the
/// sum of its elements) and reads and writes `Y: n×d` (`Y += addend`), split over the same row
/// parts and threads as `lowrank_update_f32` for rank `r`, in the vectors of the build for `isa`
/// (supported, as for `lowrank_update_f32`). Its time is the floor of the kernel's where memory
/// bandwidth, not arithmetic, sets the pace (`lora bench`). x86-64 only, like the kernel.
float lowrank_memory_floor_f32(
    const float *x, ptrdiff_t ldx, float *y, ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t k, ptrdiff_t r, ptrdiff_t d,
    float addend, int threads, lowrank_isa isa);

/// Whether the CPU has what the build for `isa` needs, by `__builtin_cpu_supports` (which counts
/// a feature only when the OS saves its registers, XCR0): AVX2 and FMA; for AVX-512 also F, BW, DQ
/// and VL.
int lowrank_isa_supported(lowrank_isa isa);

/// Floats in packed `A` (`r×k`): `⌈r/w⌉` panels of `k×w`, `w` = 8 for `r ≤ 8`, 16 otherwise.
ptrdiff_t lowrank_packed_a_count(ptrdiff_t r, ptrdiff_t k);

/// Floats in packed `s·B` (`d×r`): `⌈d/16⌉` panels of `r×16`.
ptrdiff_t lowrank_packed_b_count(ptrdiff_t d, ptrdiff_t r);

/// `A: r×k` into panels of `w` ranks (as above): panel `p`, element `[l][q]` = `A[w·p+q][l]` (0 past
/// `r`).
void lowrank_pack_a_f32(const float *a, ptrdiff_t r, ptrdiff_t k, float *packed);

/// `s·B` for `B: d×r` into panels of 16 outputs: panel `p`, element `[q][j]` = `s·B[16p+j][q]`
/// (0 past `d`).
void lowrank_pack_b_f32(const float *b, ptrdiff_t d, ptrdiff_t r, float scale, float *packed);

/// Runs `work(context, part)` for every `part < parts`: part 0 on the calling thread, the others on
/// helper threads kept for the process, each pinned (Linux) to another CPU than the caller's
/// (going round the allowed CPUs, the caller's last, when there are more parts than CPUs). Returns
/// when all parts are done. Runs every part on the caller when `parts < 2`, when helpers cannot be
/// started, or when another call holds them (a part that itself runs parts runs them inline).
///
/// Why pinned: a helper woken by the caller is placed on the caller's CPU (the scheduler's wake
/// affinity) whenever the other CPUs are busy — for instance with OpenBLAS workers that spin for a
/// while after each call — and then waits for the caller's time slice, which can last longer than
/// the work. Pinned to another CPU it starts promptly (start-up times: docs/PERFORMANCE.md).
void lowrank_run_parts(void (*work)(void *context, int part), void *context, int parts);

/// How many parts `lowrank_run_parts` can run at once: the CPUs this thread may use (at least 1).
int lowrank_available_cpus(void);

#endif
