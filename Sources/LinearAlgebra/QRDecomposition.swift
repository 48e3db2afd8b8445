extension Matrix {
    /// The thin QR decomposition `A = Q·R` of an `m×n` matrix, `p = min(m, n)`:
    /// `Q: m×p` with orthonormal columns, `R: p×n` upper triangular (`?geqrf` then `?orgqr`).
    ///
    /// `self` is not modified. Throws ``LAPACKError/nonFiniteInput(routine:)`` for NaN or ±∞.
    public func qrDecomposition() throws(LAPACKError) -> (q: Matrix, r: Matrix) {
        let p = Swift.min(rows, columns)
        guard p > 0 else { return (Matrix.zeros(rows, 0), Matrix.zeros(0, columns)) }
        let geqrf = Scalar.precisionLetter + "geqrf"
        let orgqr = Scalar.precisionLetter + "orgqr"
        guard isFinite else { throw .nonFiniteInput(routine: geqrf) }

        var factored = self
        var tau = [Scalar](repeating: 0, count: p)
        let (m, n) = (rows, columns)
        let qrInfo = factored.withUnsafeMutableBufferPointer { a in
            tau.withUnsafeMutableBufferPointer { t in
                Scalar.geqrf(m: m, n: n, a: a.baseAddress!, lda: n, tau: t.baseAddress!)
            }
        }
        if let error = LAPACKError(routine: geqrf, info: qrInfo) { throw error }

        let r = Matrix(rows: p, columns: n) { i, j in j >= i ? factored[i, j] : 0 }
        let qInfo = factored.withUnsafeMutableBufferPointer { a in
            tau.withUnsafeBufferPointer { t in
                Scalar.orgqr(m: m, n: p, k: p, a: a.baseAddress!, lda: n, tau: t.baseAddress!)
            }
        }
        if let error = LAPACKError(routine: orgqr, info: qInfo) { throw error }
        return (factored[columns: 0..<p], r)
    }
}
