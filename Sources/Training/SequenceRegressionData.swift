import LinearAlgebra
import LoRA

/// The synthetic sequence task of `lora train`: inputs `x ~ N(0, 1)` of shape `[samples, T, d]` and targets
/// `y = roll(x, 1 along the sequence)·0.9 + 0.1·noise` (`noise ~ N(0, 1)`), so token `t` of a
/// target is `0.9·x[t − 1]` (token 0 takes the last token) plus noise.
///
/// Both are stored as `samples·T × d` matrices, sequence `i` in rows `i·T ..< (i+1)·T`.
public struct SequenceRegressionData<Scalar: MatrixScalar>: Sendable {
    /// `x`: `samples·T × d`.
    public let inputs: Matrix<Scalar>
    /// `y`: `samples·T × d`.
    public let targets: Matrix<Scalar>
    /// Number of sequences.
    public let samples: Int
    /// `T`, the rows per sequence.
    public let sequenceLength: Int

    /// Draws the data set from `generator` (inputs first, then the noise).
    @_specialize(where Scalar == Float, G == SeededGenerator)
    @_specialize(where Scalar == Double, G == SeededGenerator)
    public init<G: RandomNumberGenerator>(samples: Int, sequenceLength t: Int, features d: Int, using generator: inout G) {
        precondition(samples > 0 && t > 0 && d > 0, "SequenceRegressionData: \(samples) samples of \(t)×\(d)")
        let x = Matrix<Scalar>.randomNormal(rows: samples * t, columns: d, using: &generator)
        let noise = Matrix<Scalar>.randomNormal(rows: samples * t, columns: d, using: &generator)
        var y = noise * 0.1
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                for sample in 0..<samples {
                    for position in 0..<t {
                        let source = (sample * t + (position + t - 1) % t) * d
                        let target = (sample * t + position) * d
                        for j in 0..<d { ys[target + j] += 0.9 * xs[source + j] }
                    }
                }
            }
        }
        inputs = x
        targets = y
        self.samples = samples
        sequenceLength = t
    }

    /// The sample ranges of consecutive batches of `batchSize` samples (the last may be short).
    public func batches(of batchSize: Int) -> [Range<Int>] {
        stride(from: 0, to: samples, by: batchSize).map { $0..<min($0 + batchSize, samples) }
    }

    /// Inputs and targets of the samples in `range`, as `range.count·T × d` matrices.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func batch(_ range: Range<Int>) -> (inputs: Matrix<Scalar>, targets: Matrix<Scalar>) {
        let rows = (range.lowerBound * sequenceLength)..<(range.upperBound * sequenceLength)
        return (inputs[rows: rows], targets[rows: rows])
    }
}
