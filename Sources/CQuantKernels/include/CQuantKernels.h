#ifndef CQUANTKERNELS_H
#define CQUANTKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Products straight on ggml's quantized blocks, without materialising the Float matrix:
///
///     y[i, r] = Σ_j x[i, j] · W[r, j]      i < n, d0 ≤ r < d1, j < k      (y = x · Wᵀ)
///
/// `W` is `d×k` stored as `d` rows of `k/32` blocks (a row is `cqk_row_bytes(type, k)` bytes, rows
/// back to back, as in a GGUF tensor of shape `[k, d]`); `x` is `n×k`, `y` is `n×d` with row stride
/// `ldy` (only columns `d0..<d1` are written, so threads can split the rows of `W`). `k` must be a
/// multiple of 32.
///
/// Two activation forms:
///   - `cqk_matmul_q8a`: `x` quantized first by `cqk_quantize_rows_q8a` to 32-value blocks of int8
///     with a float scale, then int8 dot products (AVX-512 VNNI `vpdpbusd`, AVX2 `vpmaddubsw`, or
///     portable C). Error bounded by the activation's rounding, see `cqk_quantize_rows_q8a`.
///   - `cqk_matmul_f32`: `x` in float; each weight block is dequantized to 32 floats in registers
///     and multiplied with FMA (float accumulation). For one activation row (`n = 1`) the AVX-512
///     build factors the block's scale and offset out, `Σ (d·q + m)·x = d·Σ q·x + m·Σ x`: the
///     same sum up to rounding order.

/// ggml's type numbers.
typedef enum {
    CQK_Q4_1 = 3,  ///< 20-byte block: fp16 d, fp16 m, 16 bytes of nibbles; value = d·q + m, q ∈ 0…15
    CQK_Q8_0 = 8,  ///< 34-byte block: fp16 d, 32 int8; value = d·q
} cqk_weight_type;

/// Which build of a kernel runs. `CQK_PATH_BEST` is the fastest this CPU supports.
typedef enum {
    CQK_PATH_BEST = 0,
    CQK_PATH_PORTABLE = 1,     ///< plain C
    CQK_PATH_AVX2 = 2,         ///< AVX2 + FMA + F16C
    CQK_PATH_AVX512_VNNI = 3,  ///< AVX-512 F/BW/VL + VNNI (int8 path on 256-bit `vpdpbusd`, F32 on 512-bit)
} cqk_path;

enum { CQK_BLOCK = 32 };

/// Q4_1: element `j < 16` in the low nibble of `qs[j]`, element `j ≥ 16` in the high nibble of `qs[j − 16]`.
typedef struct {
    uint16_t d, m;  // IEEE binary16
    uint8_t qs[16];
} cqk_block_q4_1;

typedef struct {
    uint16_t d;  // IEEE binary16
    int8_t qs[32];
} cqk_block_q8_0;

/// One quantized activation block: `x[j] ≈ d·qs[j]`, `d = max|x|/127`, and `s = d·Σ qs[j]` (what
/// Q4_1's offset `m` multiplies: `Σ_j (d_w q_j + m)(d qs_j) = d_w·d·Σ q_j qs_j + m·s`).
typedef struct {
    float d, s;
    int8_t qs[32];
} cqk_block_q8a;

/// Whether this CPU can run `path` (`CQK_PATH_BEST` and `CQK_PATH_PORTABLE` always can).
int cqk_path_supported(cqk_path path);

/// The path `CQK_PATH_BEST` stands for on this CPU.
cqk_path cqk_best_path(void);

/// "portable", "avx2" or "avx512-vnni".
const char *cqk_path_name(cqk_path path);

/// Bytes in one row of `k` values (`k/32` blocks of 20 or 34 bytes).
ptrdiff_t cqk_row_bytes(cqk_weight_type type, ptrdiff_t k);

/// IEEE binary16 ↔ binary32 (round to nearest even), as the blocks store their scales.
float cqk_fp16_to_f32(uint16_t h);
uint16_t cqk_f32_to_fp16(float f);

/// The `k` float values of one quantized row (portable C; for loaders and checks).
void cqk_dequantize_row(cqk_weight_type type, const void *row, ptrdiff_t k, float *out);

/// Quantizes rows `i < n` of `x` (`n×k`, row stride `ldx`) to `n·k/32` blocks, row `i` at
/// `out + i·k/32`: per block `d = max_j |x_j| / 127`, `qs_j = round(x_j / d)` (0 when the block is
/// all zeros), so `|x_j − d·qs_j| ≤ d/2`. Hence for any weight row `w` the int8 product errs by
///
///     |Σ_j w_j x_j − Σ_j w_j d qs_j| ≤ Σ_blocks (max|x| / 254) · Σ_{j ∈ block} |w_j|
///
/// plus float rounding of the sums (a few ulp of `Σ_j |w_j x_j|`).
void cqk_quantize_rows_q8a(const float *x, ptrdiff_t ldx, ptrdiff_t n, ptrdiff_t k, cqk_block_q8a *out);

/// `y[i·ldy + r] = Σ_blocks (int8 dot of the block) · scales (+ m·s for Q4_1)` for `i < n`,
/// `d0 ≤ r < d1`: `x · Wᵀ` with `x` as quantized by `cqk_quantize_rows_q8a` (`n` rows of `k/32`
/// blocks). `w` points at row 0 of `W`. Activation rows go four at a time, so each weight block is
/// unpacked once per four rows.
void cqk_matmul_q8a(
    cqk_path path, cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
    const cqk_block_q8a *x, ptrdiff_t n, float *y, ptrdiff_t ldy);

/// `y[i·ldy + r] = Σ_j x[i·ldx + j] · W[r, j]` for `i < n`, `d0 ≤ r < d1`, in float with the
/// weights dequantized block by block in registers.
void cqk_matmul_f32(
    cqk_path path, cqk_weight_type type, const void *w, ptrdiff_t k, ptrdiff_t d0, ptrdiff_t d1,
    const float *x, ptrdiff_t ldx, ptrdiff_t n, float *y, ptrdiff_t ldy);

/// A spin-wait hint (x86 `pause`; nothing elsewhere), for threads that wait on a flag between products.
static inline void cqk_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
