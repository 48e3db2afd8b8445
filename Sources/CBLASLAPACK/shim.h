// The C interface LoRAKit uses: OpenBLAS's CBLAS (plus its thread controls) and LAPACKE.
// Only the LinearAlgebra module imports this, as an internal import.
#include <cblas.h>
#include <lapacke.h>

// CPU identification for BLAS.configuration (LinearAlgebra's BLASCPU.swift decodes the registers).
// x86-64 only; elsewhere both report "nothing known" so no core is recommended.
#if defined(__x86_64__)
#include <cpuid.h>

/// cpuid leaf `leaf`, subleaf `subleaf` into regs[0...3] = eax, ebx, ecx, edx.
/// Returns 0 (and zeros) when the leaf is above the CPU's highest basic/extended leaf.
static inline int lorakit_cpuid(unsigned int leaf, unsigned int subleaf, unsigned int regs[4]) {
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    return __get_cpuid_count(leaf, subleaf, &regs[0], &regs[1], &regs[2], &regs[3]);
}

/// XCR0, the register state the OS saves (bits 1|2: SSE+AVX, bits 5|6|7: AVX-512), or 0 when
/// the OS has not enabled XSAVE (CPUID.1:ECX.OSXSAVE[bit 27] clear: xgetbv would fault).
static inline unsigned long long lorakit_xgetbv0(void) {
    unsigned int regs[4];
    if (!lorakit_cpuid(1, 0, regs) || !(regs[2] & (1u << 27))) return 0;
    unsigned int lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#else
static inline int lorakit_cpuid(unsigned int leaf, unsigned int subleaf, unsigned int regs[4]) {
    (void)leaf; (void)subleaf;
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    return 0;
}
static inline unsigned long long lorakit_xgetbv0(void) { return 0; }
#endif

// The allocator's thresholds, for FreedMemoryReuse (LinearAlgebra): glibc's `mallopt`. Where the C
// library has no such thresholds, nothing is changed and 0 is returned.
#if defined(__has_include) && __has_include(<malloc.h>)
#include <malloc.h>
#endif
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
/// `mallopt(M_MMAP_THRESHOLD, largest_block)` and `mallopt(M_TRIM_THRESHOLD, heap_top)`: 1 when both took.
static inline int lorakit_keep_freed_blocks(int largest_block, int heap_top) {
    return mallopt(M_MMAP_THRESHOLD, largest_block) == 1 && mallopt(M_TRIM_THRESHOLD, heap_top) == 1;
}
#else
static inline int lorakit_keep_freed_blocks(int largest_block, int heap_top) {
    (void)largest_block; (void)heap_top;
    return 0;
}
#endif
