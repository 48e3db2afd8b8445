import Collectives
import LinearAlgebra

/// The collectives that let several processes take one training step together (data
/// parallelism over processes): each rank computes the gradient of its share of the batch and the
/// ranks sum them, so every rank takes the same optimizer step.
///
/// MPI's `Communicator` (from `mpirun`) is one. A single-process run passes none: then
/// ``Trainer`` and ``FineTuning`` make no collective call at all. Every rank calls these in the
/// same order with the same counts, from one thread at a time.
public protocol GradientReduction: AnyObject, Sendable {
    /// This process's index, `0 ..< size`; rank 0 is the primary (it reads and writes files).
    var rank: Int { get }
    /// Processes in the run.
    var size: Int { get }
    /// `values ← Σ_ranks values` on every rank.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CollectiveError)
    /// `values ← Σ_ranks values` on every rank.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError)
    /// `values ← values of rank root` on every rank.
    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, from root: Int) throws(CollectiveError)
    /// `values ← values of rank root` on every rank.
    func broadcast(_ values: UnsafeMutableBufferPointer<Double>, from root: Int) throws(CollectiveError)
    /// Rank `root`'s `bytes` on every rank.
    func broadcast(bytes: [UInt8], from root: Int) throws(CollectiveError) -> [UInt8]
    /// Ends every rank with `exitCode`: a rank that fails cannot leave the others waiting in a
    /// collective.
    func abort(exitCode: Int32) -> Never
}

extension Communicator: GradientReduction {}

/// The processes `mpirun` started this one among, or nil when it was started alone (then MPI is
/// never initialised).
public enum ProcessGroup {
    /// MPI's world communicator under `mpirun` (even with one rank), nil otherwise.
    public static func launchedByMPI() throws(CollectiveError) -> (any GradientReduction)? {
        let world = try Communicator.world()
        return world.isLaunchedByMPI ? world : nil
    }
}

/// Rank `rank`'s share of `count` items among `ranks`: `⌊r·n/R⌋ ..< ⌊(r+1)·n/R⌋`. The shares
/// are contiguous, disjoint and cover `0 ..< n`; their sizes differ by one at most, and some
/// are empty when `n < R`.
func share(of count: Int, rank: Int, ranks: Int) -> Range<Int> {
    (rank * count / ranks)..<((rank + 1) * count / ranks)
}

extension GradientReduction {
    /// `values ← Σ_ranks values` on every rank.
    func allReduceSum<S: MatrixScalar>(_ values: inout [S]) throws(CollectiveError) {
        try withElements(&values, allReduceSum, allReduceSum)
    }

    /// `values ← values of rank root` on every rank.
    func broadcast<S: MatrixScalar>(_ values: inout [S], from root: Int) throws(CollectiveError) {
        try withElements(&values, { buffer throws(CollectiveError) in try broadcast(buffer, from: root) },
                         { buffer throws(CollectiveError) in try broadcast(buffer, from: root) })
    }

    /// Calls `float` or `double` with `values`' storage, whichever `S` is.
    private func withElements<S: MatrixScalar>(
        _ values: inout [S], _ float: (UnsafeMutableBufferPointer<Float>) throws(CollectiveError) -> Void,
        _ double: (UnsafeMutableBufferPointer<Double>) throws(CollectiveError) -> Void
    ) throws(CollectiveError) {
        try values.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in
            if let floats = buffer as? UnsafeMutableBufferPointer<Float> {
                try float(floats)
            } else if let doubles = buffer as? UnsafeMutableBufferPointer<Double> {
                try double(doubles)
            } else {
                preconditionFailure("GradientReduction: \(S.self) is neither Float nor Double")
            }
        }
    }
}

extension Matrix {
    /// `flat` (the elements of matrices shaped like `shapes`, one after another) cut back into
    /// those matrices: the inverse of `shapes.flatMap(\.elements)`, the one buffer a collective
    /// sends in place of one call per matrix.
    static func split(_ flat: [Scalar], like shapes: [Matrix]) -> [Matrix] {
        precondition(flat.count == shapes.reduce(0) { $0 + $1.count }, "Matrix.split: \(flat.count) elements for other shapes")
        var offset = 0
        return shapes.map { shape in
            defer { offset += shape.count }
            return Matrix(rows: shape.rows, columns: shape.columns, elements: Array(flat[offset..<(offset + shape.count)]))
        }
    }
}
