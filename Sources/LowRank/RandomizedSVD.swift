import LinearAlgebra

/// Settings of the randomized range finder (Halko, Martinsson & Tropp 2011, Algorithm 4.4).
public struct RandomizedSVDOptions: Sendable, Equatable {
    /// Extra test vectors `p` beyond the rank `r`: the sketch has `ℓ = r + p` columns.
    public var oversampling: Int
    /// Power (subspace) iterations `q`: each multiplies by `M·Mᵀ`, sharpening a slowly decaying spectrum.
    public var powerIterations: Int
    /// Seed of the Gaussian test matrix.
    public var seed: UInt64

    public init(oversampling: Int = 10, powerIterations: Int = 2, seed: UInt64 = 0) {
        self.oversampling = oversampling
        self.powerIterations = powerIterations
        self.seed = seed
    }
}

extension Matrix {
    /// A randomized rank-`r` truncated SVD `M ≈ U_r·diag(σ₁…σ_r)·V_rᵀ` of this `m×n` matrix
    /// (`U_r: m×r`, `V_rᵀ: r×n`), for `r ≪ min(m, n)`.
    ///
    /// With `ℓ = min(r + p, min(m, n))` and a Gaussian test matrix `Ω: n×ℓ`:
    /// `Q = qr(M·Ω)`, then `q` times `Q = qr(M·qr(Mᵀ·Q))` (re-orthonormalised at every step so
    /// rounding does not collapse the basis), then the small SVD `Qᵀ·M = Ũ·Σ·Vᵀ` (`ℓ×n`) and
    /// `U = Q·Ũ`. Costs `(2q + 2)` GEMMs of `m×n×ℓ` plus QRs of `m×ℓ` and `n×ℓ`.
    public func randomizedSVD(
        rank r: Int, options: RandomizedSVDOptions = RandomizedSVDOptions()
    ) throws(LowRankError) -> SingularValueDecomposition<Scalar> {
        try validateForAnalysis()
        try validate(rank: r)
        guard options.oversampling >= 0 else {
            throw .negativeCount(name: "oversampling", value: options.oversampling)
        }
        guard options.powerIterations >= 0 else {
            throw .negativeCount(name: "power iterations", value: options.powerIterations)
        }
        let sketchWidth = Swift.min(r + options.oversampling, Swift.min(rows, columns))
        var generator = SeededGenerator(seed: options.seed)
        let omega = Matrix.randomNormal(rows: columns, columns: sketchWidth, using: &generator)
        do {
            var y = Matrix.zeros(rows, sketchWidth)           // M·(n×ℓ) → m×ℓ
            var z = Matrix.zeros(columns, sketchWidth)        // Mᵀ·(m×ℓ) → n×ℓ
            Matrix.gemm(self, omega, into: &y)
            var q = try y.qrDecomposition().q
            for _ in 0..<options.powerIterations {
                Matrix.gemm(self, q, transposeA: .transposed, into: &z)
                let qz = try z.qrDecomposition().q
                Matrix.gemm(self, qz, into: &y)
                q = try y.qrDecomposition().q
            }
            var projected = Matrix.zeros(sketchWidth, columns)  // Qᵀ·M: ℓ×n
            Matrix.gemm(q, self, transposeA: .transposed, into: &projected)
            let small = try projected.singularValueDecomposition()
            var u = Matrix.zeros(rows, sketchWidth)
            Matrix.gemm(q, small.u, into: &u)
            return SingularValueDecomposition(u: u, singularValues: small.singularValues, vt: small.vt)
                .truncated(rank: r)
        } catch {
            throw .lapack(error)
        }
    }
}
