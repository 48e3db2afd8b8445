import LinearAlgebra

/// How a truncated SVD is computed.
public enum TruncatedSVDMethod: Sendable, Equatable {
    /// The full SVD by LAPACK `?gesdd`, truncated: optimal, `O(m·n·min(m, n))`.
    case exact
    /// The randomized range finder: near-optimal for a decaying spectrum, `O(m·n·r)`.
    case randomized(RandomizedSVDOptions)
}

extension Matrix {
    /// The rank-`r` truncated SVD `M_r = U_r·diag(σ₁…σ_r)·V_rᵀ` of this `m×n` matrix
    /// (`U_r: m×r`, `V_rᵀ: r×n`), `1 ≤ r ≤ min(m, n)`.
    ///
    /// Throws ``LowRankError`` for an empty or non-finite matrix, a rank out of range, or a LAPACK failure.
    public func truncatedSVD(
        rank r: Int, method: TruncatedSVDMethod = .exact
    ) throws(LowRankError) -> SingularValueDecomposition<Scalar> {
        switch method {
        case .exact:
            try validateForAnalysis()
            try validate(rank: r)
            do { return try singularValueDecomposition().truncated(rank: r) } catch { throw .lapack(error) }
        case let .randomized(options):
            return try randomizedSVD(rank: r, options: options)
        }
    }

    /// The best rank-`r` approximation `M_r = U_r·Σ_r·V_rᵀ` (`m×n`, Eckart–Young–Mirsky: it minimises
    /// `‖M − X‖_F` over rank-`r` `X`, with `‖M − M_r‖_F = √(Σ_{i>r} σᵢ²)`).
    public func bestRankApproximation(
        rank r: Int, method: TruncatedSVDMethod = .exact
    ) throws(LowRankError) -> Matrix {
        try truncatedSVD(rank: r, method: method).reconstructed()
    }

    /// LoRA factors of the best rank-`r` approximation: `B = U_r·Σ_r^{1/2}` (`m×r`) and
    /// `A = Σ_r^{1/2}·V_rᵀ` (`r×n`), so `B·A = M_r`.
    public func loraFactors(
        rank r: Int, method: TruncatedSVDMethod = .exact
    ) throws(LowRankError) -> (b: Matrix, a: Matrix) {
        try truncatedSVD(rank: r, method: method).loraFactors()
    }
}

extension SingularValueDecomposition {
    /// The leading `r` components: `U[:, 0..<r]`, `σ₁…σ_r`, `Vᵀ[0..<r, :]`.
    public func truncated(rank r: Int) -> SingularValueDecomposition {
        precondition(r >= 0 && r <= singularValues.count,
                     "truncated(rank: \(r)) of an SVD with \(singularValues.count) singular values")
        return SingularValueDecomposition(
            u: u[columns: 0..<r], singularValues: Array(singularValues[0..<r]), vt: vt[rows: 0..<r])
    }

    /// `B = U·Σ^{1/2}` (`m×q`) and `A = Σ^{1/2}·Vᵀ` (`q×n`) of this (truncated) decomposition, `B·A = U·Σ·Vᵀ`.
    public func loraFactors() -> (b: Matrix<Scalar>, a: Matrix<Scalar>) {
        let roots = singularValues.map { $0.squareRoot() }
        let q = roots.count
        var b = u
        b.withUnsafeMutableBufferPointer { p in
            for i in 0..<u.rows {
                for j in 0..<q { p[i * q + j] *= roots[j] }
            }
        }
        var a = vt
        let n = vt.columns
        a.withUnsafeMutableBufferPointer { p in
            for i in 0..<q {
                for j in 0..<n { p[i * n + j] *= roots[i] }
            }
        }
        return (b, a)
    }
}
