internal import CLowRankKernel
import LinearAlgebra

/// The rank-`r` product `Y += s·(X·Aᵀ)·Bᵀ` for `A: r×k` and `B: d×r`, with `A` and `s·B` packed
/// once into the 16-wide panels (8-wide for r ≤ 8) of a Float kernel built for AVX-512 and for
/// AVX2+FMA, the widest the CPU and OS support chosen once per process (`lowrank_update_f32`).
///
/// For `X: n×k` and `Y: n×d` it computes `Tᵀ = A·Xᵀ` (`r×n`) and then `Y += T·(s·B)ᵀ`: a LoRA
/// adapter's path. Done as two BLAS calls, each product is thin (16 columns at r = 16) and
/// OpenBLAS packs all of `X` for it; the kernel instead reads the rows of `X` in place, six at a
/// time against one panel of `A` in twelve vector accumulators, and loads and stores each tile of
/// `Y` once, which brings one core close to its FMA peak (docs/PERFORMANCE.md). Rows are
/// split between the calling thread and helper threads that are started once and pinned, per
/// call, to CPUs the caller is not on: woken unpinned, a helper can be placed on the caller's CPU
/// while OpenBLAS's workers spin on the other (they do for a while after each call) and start
/// later than the whole product takes; pinned, it starts promptly. Results equal
/// the BLAS form up to float rounding (the sums run in another order) and do not depend on the
/// number of threads.
///
/// `init` returns `nil` on CPUs without AVX2 and FMA and for empty factors: use BLAS there.
/// ``LoRAAdapter`` decides where it pays (Float, r ≤ ``maximumRank``, more than one row).
struct PackedLowRankProduct: Sendable {
    /// The kernel's builds. Both read the same packed factors; they sum in different orders, so
    /// their results differ by float rounding.
    enum InstructionSet: CaseIterable, Sendable, CustomStringConvertible {
        /// 256-bit vectors with FMA: twelve accumulators per block.
        case avx2FMA
        /// 512-bit vectors (AVX-512 F, BW, DQ, VL; the OS saves the zmm state): twenty-four.
        case avx512

        var c: lowrank_isa {
            switch self {
            case .avx2FMA: LOWRANK_ISA_AVX2_FMA
            case .avx512: LOWRANK_ISA_AVX512
            }
        }

        /// Whether this build runs here: the kernel's own check (`__builtin_cpu_supports`) and, for
        /// AVX-512, the one that picks OpenBLAS's core (cpuid and XCR0: the OS saves the zmm and
        /// opmask registers).
        var isSupported: Bool {
            lowrank_isa_supported(c) != 0 && (self != .avx512 || CPUDescription.current.features.usableAVX512)
        }

        /// The widest build that runs here, nil on CPUs without AVX2 and FMA.
        static let best: InstructionSet? = allCases.last { $0.isSupported }

        var description: String {
            switch self {
            case .avx2FMA: "AVX2+FMA"
            case .avx512: "AVX-512"
            }
        }
    }

    /// The rank `r`.
    let rank: Int
    /// Input features `k` (columns of `X` and `A`).
    let inFeatures: Int
    /// Output features `d` (columns of `Y`, rows of `B`).
    let outFeatures: Int
    /// `A` in panels of 16 ranks (8 for r ≤ 8).
    private let packedA: [Float]
    /// `s·B` in panels of 16 outputs, `⌈d/16⌉·16·r` floats.
    private let packedScaledB: [Float]

    /// Whether the kernel runs here: the CPU has AVX2 and FMA.
    static let isSupported = InstructionSet.best != nil

    /// The largest rank at which the kernel beats two BLAS products on this CPU: 64 with
    /// AVX-512, whose twenty-four accumulators share each broadcast of `X` between two panels of
    /// `A`; 16 with AVX2, where OpenBLAS is as fast above it (docs/PERFORMANCE.md).
    static let maximumRank = InstructionSet.best == .avx512 ? 64 : 16

    /// Packs `A: r×k` and `s·B` for `B: d×r`; `nil` unless ``isSupported`` and neither factor is
    /// empty.
    init?(a: Matrix<Float>, b: Matrix<Float>, scale: Float) {
        guard Self.isSupported, a.count > 0, b.count > 0 else { return nil }
        precondition(
            b.columns == a.rows,
            "PackedLowRankProduct: A \(a.shapeDescription) and B \(b.shapeDescription) do not fit (need A r×k, B d×r)")
        let (r, k, d, s) = (a.rows, a.columns, b.rows, scale)
        (rank, inFeatures, outFeatures) = (r, k, d)
        packedA = a.withUnsafeBufferPointer { a in
            Self.packed(count: lowrank_packed_a_count(r, k)) { lowrank_pack_a_f32(a.baseAddress!, r, k, $0) }
        }
        packedScaledB = b.withUnsafeBufferPointer { b in
            Self.packed(count: lowrank_packed_b_count(d, r)) { lowrank_pack_b_f32(b.baseAddress!, d, r, s, $0) }
        }
    }

    /// `count` floats written by `pack`.
    private static func packed(count: Int, _ pack: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            pack(buffer.baseAddress!)
            initialized = count
        }
    }

    /// `Y += s·(X·Aᵀ)·Bᵀ` for `X: n×k`, `Y: n×d`, leaving `Tᵀ = A·Xᵀ` in `projection: r×n`. Rows
    /// are split over up to `threads` threads (the caller and helper threads pinned off its CPU),
    /// in parts of at least 2²² multiply-adds; the results do not depend on the split. `isa`
    /// picks a build (tests reach each one); it must be supported.
    func accumulate(
        _ x: UnsafeMatrixView<Float>, into y: UnsafeMutableMatrixView<Float>, projection: UnsafeMutableMatrixView<Float>,
        threads: Int = BLAS.threadCount, isa: InstructionSet = InstructionSet.best!
    ) {
        let (n, k, r, d) = (x.rows, inFeatures, rank, outFeatures)
        precondition(
            x.columns == k && y.rows == n && y.columns == d,
            "PackedLowRankProduct.accumulate: X \(x.rows)×\(x.columns) with A \(r)×\(k) does not fit Y \(y.rows)×\(y.columns)")
        precondition(
            projection.rows == r && projection.columns == n,
            "PackedLowRankProduct.accumulate: projection \(projection.rows)×\(projection.columns), need \(r)×\(n) for Tᵀ = A·Xᵀ")
        precondition(isa.isSupported, "PackedLowRankProduct.accumulate: the \(isa) build does not run on this CPU")
        guard n > 0 else { return }
        lowrank_update_f32(
            x.base, x.rowStride, packedA, packedScaledB, projection.base, projection.rowStride, y.base, y.rowStride,
            n, k, r, d, Int32(clamping: threads), isa.c)
    }
}
