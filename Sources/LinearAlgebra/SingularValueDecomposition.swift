/// The thin singular value decomposition `A = U·diag(S)·Vᵀ` of an `m×n` matrix, `p = min(m, n)`.
public struct SingularValueDecomposition<Scalar: MatrixScalar>: Sendable {
    /// Left singular vectors, `m×p`, orthonormal columns.
    public var u: Matrix<Scalar>
    /// Singular values `σ₁ ≥ σ₂ ≥ … ≥ σ_p ≥ 0`.
    public var singularValues: [Scalar]
    /// Right singular vectors transposed, `p×n`, orthonormal rows.
    public var vt: Matrix<Scalar>

    /// A decomposition from its parts: `u: m×q`, `singularValues: q` (descending), `vt: q×n`;
    /// `q ≤ min(m, n)`, so a truncated SVD (e.g. a randomized one) is representable too.
    public init(u: Matrix<Scalar>, singularValues: [Scalar], vt: Matrix<Scalar>) {
        precondition(
            u.columns == singularValues.count && vt.rows == singularValues.count,
            "SingularValueDecomposition: U \(u.shapeDescription), \(singularValues.count) singular values, Vᵀ \(vt.shapeDescription)")
        self.u = u
        self.singularValues = singularValues
        self.vt = vt
    }

    /// `U_r·diag(σ₁…σ_r)·V_rᵀ`, the best rank-`r` approximation (Eckart–Young); all of `A` by default.
    public func reconstructed(rank: Int? = nil) -> Matrix<Scalar> {
        let r = rank ?? singularValues.count
        precondition(r >= 0 && r <= singularValues.count,
                     "reconstructed(rank: \(r)) of an SVD with \(singularValues.count) singular values")
        var scaledU = u[columns: 0..<r]
        scaledU.withUnsafeMutableBufferPointer { p in
            for i in 0..<u.rows {
                for j in 0..<r { p[i * r + j] *= singularValues[j] }
            }
        }
        return scaledU * vt[rows: 0..<r]
    }
}

/// Which LAPACK driver computes an SVD.
public enum SVDAlgorithm: Sendable {
    /// `?gesdd`, falling back to `?gesvd` if it does not converge. The fast default.
    case divideAndConquer
    /// `?gesvd` only (QR iteration): slower, kept as the fallback and for comparison.
    case qrIteration
}

extension Matrix {
    /// The thin SVD `A = U·diag(S)·Vᵀ` (`U: m×p`, `S: p`, `Vᵀ: p×n`, `p = min(m, n)`).
    ///
    /// `self` is not modified. Throws ``LAPACKError/nonFiniteInput(routine:)`` for NaN or ±∞
    /// input, and a LAPACK error if both drivers fail.
    public func singularValueDecomposition(
        algorithm: SVDAlgorithm = .divideAndConquer
    ) throws(LAPACKError) -> SingularValueDecomposition<Scalar> {
        let p = Swift.min(rows, columns)
        var u = Matrix.zeros(rows, p)
        var vt = Matrix.zeros(p, columns)
        let s = try computeSVD(algorithm: algorithm, u: &u, vt: &vt, wantVectors: true)
        return SingularValueDecomposition(u: u, singularValues: s, vt: vt)
    }

    /// The singular values `σ₁ ≥ … ≥ σ_p`, `p = min(m, n)`, without vectors (cheaper).
    public func singularValues(algorithm: SVDAlgorithm = .divideAndConquer) throws(LAPACKError) -> [Scalar] {
        var none = Matrix.zeros(1, 1)
        var noneT = Matrix.zeros(1, 1)
        return try computeSVD(algorithm: algorithm, u: &none, vt: &noneT, wantVectors: false)
    }

    /// Runs the column-major driver on a copy of the elements.
    ///
    /// A row-major `m×n` A is, in memory, the column-major `n×m` Aᵀ. LAPACK factors
    /// `Aᵀ = U′ΣV′ᵀ`, so `A = V′ΣU′ᵀ`: the column-major `V′ᵀ` (p×m) is the row-major `U` (m×p),
    /// and the column-major `U′` (n×p) is the row-major `Vᵀ` (p×n). No transposition is needed,
    /// which saves the ≈ 12% that LAPACKE's row-major path costs.
    private func computeSVD(
        algorithm: SVDAlgorithm, u: inout Matrix, vt: inout Matrix, wantVectors: Bool
    ) throws(LAPACKError) -> [Scalar] {
        let p = Swift.min(rows, columns)
        guard p > 0 else { return [] }
        let gesdd = Scalar.precisionLetter + "gesdd"
        let gesvd = Scalar.precisionLetter + "gesvd"
        guard isFinite else {
            throw .nonFiniteInput(routine: algorithm == .divideAndConquer ? gesdd : gesvd)
        }
        let (lapackRows, lapackColumns) = (columns, rows)
        var s = [Scalar](repeating: 0, count: p)

        if algorithm == .divideAndConquer {
            var work = elements
            let info = work.withUnsafeMutableBufferPointer { a in
                s.withUnsafeMutableBufferPointer { ps in
                    vt.withUnsafeMutableBufferPointer { pu in
                        u.withUnsafeMutableBufferPointer { pvt in
                            Scalar.gesdd(
                                wantVectors: wantVectors, m: lapackRows, n: lapackColumns,
                                a: a.baseAddress!, lda: lapackRows, s: ps.baseAddress!,
                                u: pu.baseAddress!, ldu: wantVectors ? lapackRows : 1,
                                vt: pvt.baseAddress!, ldvt: wantVectors ? p : 1)
                        }
                    }
                }
            }
            switch LAPACKError(routine: gesdd, info: info) {
            case nil: return s
            case .noConvergence?: break  // fall through to gesvd
            case let error?: throw error
            }
        }

        var work = elements
        var superb = [Scalar](repeating: 0, count: Swift.max(1, p - 1))
        let info = work.withUnsafeMutableBufferPointer { a in
            s.withUnsafeMutableBufferPointer { ps in
                vt.withUnsafeMutableBufferPointer { pu in
                    u.withUnsafeMutableBufferPointer { pvt in
                        superb.withUnsafeMutableBufferPointer { pw in
                            Scalar.gesvd(
                                wantVectors: wantVectors, m: lapackRows, n: lapackColumns,
                                a: a.baseAddress!, lda: lapackRows, s: ps.baseAddress!,
                                u: pu.baseAddress!, ldu: wantVectors ? lapackRows : 1,
                                vt: pvt.baseAddress!, ldvt: wantVectors ? p : 1,
                                superb: pw.baseAddress!)
                        }
                    }
                }
            }
        }
        if let error = LAPACKError(routine: gesvd, info: info) { throw error }
        return s
    }
}
