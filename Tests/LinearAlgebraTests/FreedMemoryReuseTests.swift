import Foundation
import LinearAlgebra
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ``FreedMemoryReuse``: the user's own thresholds win, and after the call a large freed block
/// comes back with its pages still mapped.
@Suite("Freed memory kept for reuse")
struct FreedMemoryReuseTests {
    @Test("A threshold set in the environment is the user's: the allocator is left alone")
    func userSettingsWin() {
        #expect(!FreedMemoryReuse.userSetsThresholds([:]))
        #expect(!FreedMemoryReuse.userSetsThresholds(["GLIBC_TUNABLES": "glibc.pthread.rseq=0"]))
        #expect(FreedMemoryReuse.userSetsThresholds(["MALLOC_MMAP_THRESHOLD_": "131072"]))
        #expect(FreedMemoryReuse.userSetsThresholds(["MALLOC_TRIM_THRESHOLD_": "0"]))
        #expect(FreedMemoryReuse.userSetsThresholds(["GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"]))
        #expect(!FreedMemoryReuse.keepFreedBlocks(environment: ["MALLOC_MMAP_THRESHOLD_": "131072"]))
    }

    #if canImport(Glibc)
    /// Minor page faults of the calling thread while it writes every page of a 48 MiB block,
    /// allocated after an equal block was freed. glibc's own threshold never goes past 32 MiB, so
    /// without the call that block is a new mapping: 12,288 faults. (Not 64 MiB or more: a thread
    /// other than the main one allocates from heaps of at most 64 MiB, and maps anything larger.)
    @Test("After keepFreedBlocks, a freed 48 MiB block comes back without page faults")
    func freedBlockComesBackMapped() throws {
        #expect(FreedMemoryReuse.keepFreedBlocks(environment: [:]))
        let size = 48 << 20
        let first = try #require(malloc(size))
        memset(first, 1, size)
        free(first)
        let before = threadMinorFaults()
        let second = try #require(malloc(size))
        memset(second, 2, size)
        let faults = threadMinorFaults() - before
        free(second)
        #expect(faults < 1_000, "\(faults) page faults writing a reused 48 MiB block (a new mapping takes 12,288)")
    }

    private func threadMinorFaults() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD, which Swift's Glibc leaves out
        return usage.ru_minflt
    }
    #endif
}
