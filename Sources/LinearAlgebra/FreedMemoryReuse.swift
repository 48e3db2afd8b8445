internal import CBLASLAPACK
import Foundation

/// Large freed blocks kept by the C allocator for reuse, instead of given back to the kernel.
///
/// glibc serves a block of at least `M_MMAP_THRESHOLD` bytes (128 KiB, raised as such blocks are
/// freed) with its own `mmap` and unmaps it at `free`, and it trims the heap's free top past
/// `M_TRIM_THRESHOLD`. A model's forward allocates and frees `n×d` activations in every layer, so
/// each one comes back as fresh pages: one page fault per 4 KiB, every layer, every window. Under
/// a hypervisor those faults cost more than the arithmetic between them (docs/PERFORMANCE.md,
/// "Freed memory kept for reuse"). Kept in the heap, a freed block is reused by the next
/// allocation of its size with its pages already mapped; the price is that memory freed at the
/// end of a phase stays in the process (its peak is unchanged).
public enum FreedMemoryReuse {
    /// Whether the environment sets either threshold (`MALLOC_MMAP_THRESHOLD_`,
    /// `MALLOC_TRIM_THRESHOLD_`, or `GLIBC_TUNABLES` naming `glibc.malloc.mmap_threshold` or
    /// `glibc.malloc.trim_threshold`): the user's choice, which ``keepFreedBlocks(upTo:heapTop:environment:)`` keeps.
    public static func userSetsThresholds(_ environment: [String: String]) -> Bool {
        environment["MALLOC_MMAP_THRESHOLD_"] != nil || environment["MALLOC_TRIM_THRESHOLD_"] != nil
            || ["malloc.mmap_threshold", "malloc.trim_threshold"].contains { environment["GLIBC_TUNABLES"]?.contains($0) == true }
    }

    /// Serves blocks of up to `largestBlock` bytes from the heap and keeps up to `heapTop` free
    /// bytes at its top (`mallopt(M_MMAP_THRESHOLD)`, `mallopt(M_TRIM_THRESHOLD)`), unless
    /// `environment` sets either threshold (``userSetsThresholds(_:)``). Returns whether it changed
    /// them: false also where the C library has no such thresholds. Call it first thing in `main`.
    @discardableResult
    public static func keepFreedBlocks(
        upTo largestBlock: Int = 256 << 20, heapTop: Int = 1 << 30,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Bool {
        precondition(largestBlock > 0 && heapTop > 0 && largestBlock <= Int(Int32.max) && heapTop <= Int(Int32.max),
                     "FreedMemoryReuse.keepFreedBlocks: thresholds \(largestBlock) and \(heapTop) must be in 1...\(Int32.max)")
        guard !userSetsThresholds(environment) else { return false }
        return lorakit_keep_freed_blocks(Int32(largestBlock), Int32(heapTop)) == 1
    }
}
