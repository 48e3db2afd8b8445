internal import CLowRankKernel
import LinearAlgebra

/// The adapter path's memory traffic with none of its arithmetic: the time `Y += s·(X·Aᵀ)·Bᵀ`
/// cannot go below where memory bandwidth, not the FMA units, sets the pace.
///
/// The adapter path does `2·n·r·(k + d)` FLOPs on `4·n·(k + 2d)` bytes (reading `X: n×k`, reading
/// and writing `Y: n×d`): at r = 16 about 5 FLOPs a byte, below what a CPU's GEMM needs to run at
/// its FLOP rate. `pass` moves the same bytes over the same rows and threads as the packed kernel
/// and does nothing else, so `lora bench` can set the kernel's time against both its FLOP share
/// and this floor, measured in the same rounds.
public enum AdapterMemoryFloor {
    /// Whether the pass runs here: where the packed kernel does (x86-64 with AVX2 and FMA).
    public static var isSupported: Bool { PackedLowRankProduct.isSupported }

    /// Reads every element of `x: n×k` and adds `addend` to every element of `y: n×d`, split over
    /// the row parts and threads the adapter kernel uses at rank `rank`; returns the sum of `x`'s
    /// elements (so no read can be left out). Needs ``isSupported``.
    @discardableResult
    public static func pass(
        _ x: Matrix<Float>, through y: inout Matrix<Float>, rank: Int, addend: Float = 0,
        threads: Int = BLAS.threadCount
    ) -> Float {
        precondition(isSupported, "AdapterMemoryFloor.pass: needs AVX2 and FMA (check isSupported)")
        return pass(x, through: &y, rank: rank, addend: addend, threads: threads, isa: PackedLowRankProduct.InstructionSet.best!)
    }

    /// ``pass(_:through:rank:addend:threads:)`` in the vectors of the kernel's build `isa` (tests
    /// reach each one); it must be supported.
    static func pass(
        _ x: Matrix<Float>, through y: inout Matrix<Float>, rank: Int, addend: Float, threads: Int,
        isa: PackedLowRankProduct.InstructionSet
    ) -> Float {
        precondition(x.rows == y.rows, "AdapterMemoryFloor.pass: X \(x.shapeDescription) and Y \(y.shapeDescription) differ in rows")
        precondition(rank > 0, "AdapterMemoryFloor.pass: rank \(rank) must be positive")
        precondition(isa.isSupported, "AdapterMemoryFloor.pass: the \(isa) build does not run on this CPU")
        let (n, k, d) = (x.rows, x.columns, y.columns)
        guard n > 0 else { return 0 }
        return x.withUnsafeView { x in
            y.withUnsafeMutableView { y in
                lowrank_memory_floor_f32(
                    x.base, x.rowStride, y.base, y.rowStride, n, k, rank, d, addend, Int32(clamping: threads), isa.c)
            }
        }
    }
}
