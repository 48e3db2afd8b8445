import LinearAlgebra

/// A problem with a request for a low-rank analysis: a rank, a target or a matrix from outside.
public enum LowRankError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A rank outside `1…min(m, n)` for an `m×n` matrix.
    case rankOutOfRange(rank: Int, shape: String, maximum: Int)
    /// An empty list of ranks.
    case noRanks
    /// A matrix with no elements.
    case emptyMatrix(shape: String)
    /// A matrix with NaN or ±∞ in it.
    case nonFiniteMatrix(shape: String)
    /// An energy or error target outside its range, named by `name`.
    case targetOutOfRange(name: String, value: Double, range: String)
    /// A negative oversampling or power-iteration count.
    case negativeCount(name: String, value: Int)
    /// LAPACK failed on the matrix.
    case lapack(LAPACKError)

    public var description: String {
        switch self {
        case let .rankOutOfRange(rank, shape, maximum):
            "rank \(rank) is out of range for a \(shape) matrix: ranks must be in 1…\(maximum)"
        case .noRanks:
            "no ranks were given"
        case let .emptyMatrix(shape):
            "the matrix is empty (\(shape))"
        case let .nonFiniteMatrix(shape):
            "the \(shape) matrix contains NaN or infinity"
        case let .targetOutOfRange(name, value, range):
            "\(name) \(value) is out of range: it must be in \(range)"
        case let .negativeCount(name, value):
            "\(name) must be at least 0, got \(value)"
        case let .lapack(error):
            "LAPACK: \(error)"
        }
    }
}

extension Matrix {
    /// Throws unless the matrix is non-empty and finite: the checks every analysis starts with.
    func validateForAnalysis() throws(LowRankError) {
        guard rows > 0 && columns > 0 else { throw .emptyMatrix(shape: shapeDescription) }
        guard isFinite else { throw .nonFiniteMatrix(shape: shapeDescription) }
    }

    /// Throws unless `1 ≤ rank ≤ min(m, n)`.
    func validate(rank: Int) throws(LowRankError) {
        let maximum = Swift.min(rows, columns)
        guard rank >= 1 && rank <= maximum else {
            throw .rankOutOfRange(rank: rank, shape: shapeDescription, maximum: maximum)
        }
    }
}
