import LinearAlgebra

/// One row of a rank-error table for an `m×n` matrix `M` (`d = m`, `k = n`) at rank `r`.
public struct RankErrorRow: Codable, Sendable, Equatable {
    /// `r`.
    public var rank: Int
    /// LoRA parameters `r·(d + k)`.
    public var parameters: Int
    /// `r·(d + k) / (d·k)`, a fraction of the full matrix.
    public var parameterFraction: Double
    /// `‖M − M_r‖_F / ‖M‖_F`, measured on the reconstruction `M_r = U_r·Σ_r·V_rᵀ`.
    public var relativeError: Double
    /// Eckart–Young tail bound `√(Σ_{i>r} σᵢ²) / ‖M‖_F` (equal to the optimal relative error).
    public var tailBound: Double
    /// `σ_{r+1} / σ₁`.
    public var spectralError: Double
    /// `Σ_{i≤r} σᵢ² / Σᵢ σᵢ²`.
    public var retainedEnergy: Double
    /// The quarter-circle-law error of an `n×n` Gaussian matrix at `ρ = r/n`, when asked for.
    public var theoryError: Double?

    enum CodingKeys: String, CodingKey {
        case rank, parameters
        case parameterFraction = "parameter_fraction"
        case relativeError = "relative_error"
        case tailBound = "tail_bound"
        case spectralError = "spectral_error"
        case retainedEnergy = "retained_energy"
        case theoryError = "theory_error"
    }
}

/// The rank-error table, with the Eckart–Young tail bound: how well the best rank-`r`
/// approximation of a matrix does, for a list of ranks. Encodes to JSON as
/// `{"rows": [...], "singular_values": [...], "matrix_rows": m, "matrix_columns": n}`.
public struct RankErrorTable: Encodable, Sendable, Equatable {
    /// One row per requested rank, in the order given.
    public var rows: [RankErrorRow]
    /// The singular values used: all of them for the exact method, the leading ones for randomized.
    public var singularValues: [Double]
    /// `m`.
    public var matrixRows: Int
    /// `n`.
    public var matrixColumns: Int
    /// The spectrum behind the table, for choosing a rank by energy or error (not encoded).
    public let spectrum: SingularSpectrum

    enum CodingKeys: String, CodingKey {
        case rows
        case singularValues = "singular_values"
        case matrixRows = "matrix_rows"
        case matrixColumns = "matrix_columns"
    }

    /// The table of `matrix` (`m×n`) at each of `ranks` (each in `1…min(m, n)`).
    ///
    /// The exact method takes one full SVD; the randomized one a truncated SVD of rank
    /// `min(max(ranks) + 1, min(m, n))` (one more than needed, for `σ_{r+1}`), and takes the energy
    /// beyond it from `‖M‖_F`. Throws ``LowRankError`` for bad ranks, an empty or non-finite matrix,
    /// or a LAPACK failure.
    public init<Scalar: MatrixScalar>(
        matrix: Matrix<Scalar>, ranks: [Int], method: TruncatedSVDMethod = .exact
    ) throws(LowRankError) {
        guard let largest = ranks.max() else { throw .noRanks }
        try matrix.validateForAnalysis()
        for r in ranks { try matrix.validate(rank: r) }
        let p = Swift.min(matrix.rows, matrix.columns)
        // Every row is a ratio, the same for M and 2⁻ᵉ·M: decomposing M scaled so its largest entry
        // is near 1 keeps the products of a randomized SVD's power iterations and the squares of
        // its values finite for entries anywhere in the type's range.
        let (scaled, exponent) = matrix.scaledToUnitMagnitude()
        let decomposition = try scaled.truncatedSVD(
            rank: method == .exact ? p : Swift.min(largest + 1, p), method: method)
        let values = decomposition.singularValues.map { Double($0) * Double(sign: .plus, exponent: exponent, significand: 1) }
        guard values.allSatisfy(\.isFinite) else { throw .nonFiniteMatrix(shape: matrix.shapeDescription) }
        let norm = Double(scaled.frobeniusNorm)
        let spectrum = decomposition.singularValues.count == p
            ? SingularSpectrum(completeSingularValues: values)
            : SingularSpectrum(leadingSingularValues: values, frobeniusNorm: norm * Double(sign: .plus, exponent: exponent, significand: 1))
        let (d, k) = (matrix.rows, matrix.columns)
        rows = ranks.map { r in
            let error = Double((scaled - decomposition.reconstructed(rank: r)).frobeniusNorm)
            return Self.row(rank: r, d: d, k: k, relativeError: norm > 0 ? error / norm : 0, spectrum: spectrum)
        }
        singularValues = values
        matrixRows = d
        matrixColumns = k
        self.spectrum = spectrum
    }

    /// The table of an `m×n` matrix whose nonzero singular values are `singularValues` (every
    /// other one zero), e.g. a low-rank product `B·A` decomposed in factor space: the best
    /// rank-`r` error is then Eckart–Young's tail itself, which ``RankErrorRow/relativeError``
    /// reports. Ranks must lie in `1…min(m, n)`.
    public init(singularValues values: [Double], rows m: Int, columns n: Int, ranks: [Int]) throws(LowRankError) {
        guard !ranks.isEmpty else { throw .noRanks }
        guard values.allSatisfy(\.isFinite) else { throw .nonFiniteMatrix(shape: "\(m)×\(n)") }
        precondition(m > 0 && n > 0 && values.count <= min(m, n), "RankErrorTable: \(values.count) singular values of a \(m)×\(n) matrix")
        for r in ranks where !(1...min(m, n)).contains(r) { throw .rankOutOfRange(rank: r, shape: "\(m)×\(n)", maximum: min(m, n)) }
        let spectrum = SingularSpectrum(completeSingularValues: values.sorted(by: >) + Array(repeating: 0, count: min(m, n) - values.count))
        rows = ranks.map { r in Self.row(rank: r, d: m, k: n, relativeError: spectrum.tailBound(rank: r), spectrum: spectrum) }
        singularValues = values
        matrixRows = m
        matrixColumns = n
        self.spectrum = spectrum
    }

    /// The row of rank `r` of a `d×k` matrix with the measured `relativeError`.
    private static func row(rank r: Int, d: Int, k: Int, relativeError: Double, spectrum: SingularSpectrum) -> RankErrorRow {
        let parameters = r * (d + k)  // B: d×r and A: r×k
        return RankErrorRow(
            rank: r, parameters: parameters, parameterFraction: Double(parameters) / Double(d * k),
            relativeError: relativeError, tailBound: spectrum.tailBound(rank: r),
            spectralError: spectrum.spectralError(rank: r), retainedEnergy: spectrum.retainedEnergy(rank: r))
    }

    /// Fills ``RankErrorRow/theoryError`` with ``QuarterCircleLaw/relativeError(rankFraction:)`` at
    /// `ρ = r/n`; meaningful for a square `n×n` matrix of i.i.d. Gaussian entries.
    public mutating func addQuarterCircleTheory() {
        precondition(matrixRows == matrixColumns,
                     "the quarter-circle law is for square matrices, not \(matrixRows)×\(matrixColumns)")
        for i in rows.indices {
            rows[i].theoryError = QuarterCircleLaw.relativeError(
                rankFraction: Double(rows[i].rank) / Double(matrixColumns))
        }
    }
}

extension Matrix {
    /// `2⁻ᵉ·self` and `e`, with `e` the binary exponent of the largest magnitude (0 for a zero
    /// matrix), clamped so that `2⁻ᵉ` is a normal number of the type; scaling by a power of two
    /// is exact.
    func scaledToUnitMagnitude() -> (matrix: Matrix, exponent: Int) {
        let largest = elements.lazy.map { Swift.abs($0) }.max() ?? 0
        guard largest > 0 else { return (self, 0) }
        let limit = Int(Scalar.greatestFiniteMagnitude.exponent)
        let exponent = Swift.max(-limit, Swift.min(limit, Int(largest.exponent)))
        return exponent == 0 ? (self, 0) : (self * Scalar(sign: .plus, exponent: Scalar.Exponent(-exponent), significand: 1), exponent)
    }
}
