/// The singular values `σ₁ ≥ σ₂ ≥ … ≥ σ_q` of an `m×n` matrix `M` and the rank-error quantities
/// they determine (Eckart–Young–Mirsky), computed in `Double`.
///
/// A *complete* spectrum has all `q = min(m, n)` values; its total energy is `E = Σᵢ σᵢ²`
/// (`= ‖M‖_F²`). A *leading* spectrum (e.g. from a randomized SVD) has only the top `q` values, so
/// the energy beyond them comes from `E = ‖M‖_F²`, measured on the matrix. Every quantity is
/// finite for any finite singular values.
public struct SingularSpectrum: Sendable, Equatable {
    /// `σ₁ ≥ … ≥ σ_q`.
    public let singularValues: [Double]
    /// Whether all `min(m, n)` singular values are known.
    public let isComplete: Bool
    /// The energies below are in units of `σ₁²` (of 1 for a zero matrix): squaring the values
    /// themselves would overflow from about 1e154 and underflow below 1e-154, where every ratio
    /// the table prints is still well defined.
    private let unit: Double
    /// `E / unit²`: `Σᵢ σᵢ²` for a complete spectrum, `‖M‖_F²` for a leading one.
    private let totalEnergy: Double
    /// `leadingEnergy[r] = Σ_{i ≤ r} σᵢ² / unit²` for `r = 0…q`.
    private let leadingEnergy: [Double]
    /// `tailEnergy[r] = Σ_{i > r} σᵢ² / unit²` for `r = 0…q`, summed from the smallest value up.
    private let tailEnergy: [Double]

    /// A complete spectrum: all `min(m, n)` singular values of a matrix, descending.
    public init(completeSingularValues values: [Double]) {
        self.init(values: values, complete: true, frobeniusNorm: nil)
    }

    /// The leading `q` singular values of a matrix with Frobenius norm `frobeniusNorm`.
    public init(leadingSingularValues values: [Double], frobeniusNorm: Double) {
        self.init(values: values, complete: false, frobeniusNorm: frobeniusNorm)
    }

    private init(values: [Double], complete: Bool, frobeniusNorm: Double?) {
        singularValues = values
        isComplete = complete
        let largest = values.first ?? 0
        let unit = largest > 0 ? largest : 1
        self.unit = unit
        let scaled = values.map { $0 / unit }
        var leading = [0.0]
        for sigma in scaled { leading.append(leading.last! + sigma * sigma) }
        var tail = [Double](repeating: 0, count: scaled.count + 1)
        for r in stride(from: scaled.count - 1, through: 0, by: -1) {
            tail[r] = tail[r + 1] + scaled[r] * scaled[r]
        }
        leadingEnergy = leading
        let total = frobeniusNorm.map { ($0 / unit) * ($0 / unit) } ?? leading.last!
        totalEnergy = total
        tailEnergy = complete ? tail : leading.map { Swift.max(0, total - $0) }
    }

    /// The largest rank the quantities are defined for: `q` when complete, else `q − 1`
    /// (the spectral error at rank `r` needs `σ_{r+1}`).
    public var maximumRank: Int { isComplete ? singularValues.count : singularValues.count - 1 }

    /// Retained energy `Σ_{i ≤ r} σᵢ² / E` (1 for a zero matrix).
    public func retainedEnergy(rank r: Int) -> Double {
        checkRank(r)
        return totalEnergy > 0 ? leadingEnergy[r] / totalEnergy : 1
    }

    /// Eckart–Young tail bound `√(Σ_{i > r} σᵢ²) / ‖M‖_F = √(Σ_{i > r} σᵢ² / E)`: the relative
    /// Frobenius error of the best rank-`r` approximation (0 for a zero matrix).
    public func tailBound(rank r: Int) -> Double {
        checkRank(r)
        return totalEnergy > 0 ? (tailEnergy[r] / totalEnergy).squareRoot() : 0
    }

    /// Spectral error `σ_{r+1} / σ₁` (`‖M − M_r‖₂ / ‖M‖₂`); 0 at full rank and for a zero matrix.
    public func spectralError(rank r: Int) -> Double {
        checkRank(r)
        guard r < singularValues.count, let first = singularValues.first, first > 0 else { return 0 }
        return singularValues[r] / first
    }

    /// The smallest rank `r ≥ 1` whose retained energy is at least `target ∈ (0, 1]`, or `nil` if
    /// no rank up to ``maximumRank`` reaches it.
    public func smallestRank(reachingEnergy target: Double) throws(LowRankError) -> Int? {
        guard target > 0 && target <= 1 else {
            throw .targetOutOfRange(name: "energy target", value: target, range: "(0, 1]")
        }
        guard maximumRank >= 1 else { return nil }
        return (1...maximumRank).first { retainedEnergy(rank: $0) >= target }
    }

    /// The smallest rank `r ≥ 1` whose relative error (tail bound) is at most `target ∈ [0, 1)`,
    /// or `nil` if no rank up to ``maximumRank`` reaches it.
    public func smallestRank(withRelativeErrorAtMost target: Double) throws(LowRankError) -> Int? {
        guard target >= 0 && target < 1 else {
            throw .targetOutOfRange(name: "error target", value: target, range: "[0, 1)")
        }
        guard maximumRank >= 1 else { return nil }
        return (1...maximumRank).first { tailBound(rank: $0) <= target }
    }

    private func checkRank(_ r: Int) {
        precondition(r >= 0 && r <= maximumRank,
                     "rank \(r) is beyond this spectrum of \(singularValues.count) values (maximum \(maximumRank))")
    }
}
