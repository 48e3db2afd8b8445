import LinearAlgebra

/// The SVD of a low-rank product `M = B·A` (`B: d×R`, `A: R×k`) without forming the `d×k` matrix:
/// thin QRs `B = Q_B·R_B`, `Aᵀ = Q_A·R_A`, the SVD of the small core `R_B·R_Aᵀ = U·Σ·Vᵀ`
/// (at most `R×R`), then `M = (Q_B·U)·Σ·(Q_A·V)ᵀ` exactly. Costs `O((d + k)·R²)`, not `O(d·k·R)`.
struct FactorSpaceSVD {
    /// `Q_B·U`: `d×p` with orthonormal columns, `p = min(d, k, R)`.
    let left: Matrix<Double>
    /// `σ₁ ≥ … ≥ σ_p ≥ 0`, the singular values of `B·A`.
    let singularValues: [Double]
    /// `Vᵀ·Q_Aᵀ`: `p×k` with orthonormal rows.
    let right: Matrix<Double>

    init(b: Matrix<Double>, a: Matrix<Double>) throws(LAPACKError) {
        precondition(b.columns == a.rows, "FactorSpaceSVD: B \(b.shapeDescription) and A \(a.shapeDescription) need B d×R, A R×k")
        let (qb, rb) = try b.qrDecomposition()
        let (qa, ra) = try a.transposed.qrDecomposition()
        let core = try (rb * ra.transposed).singularValueDecomposition()
        left = qb * core.u
        singularValues = core.singularValues
        right = core.vt * qa.transposed
    }

    /// `Σᵢ σᵢ² = ‖B·A‖²_F`.
    var energy: Double { singularValues.reduce(0) { $0 + $1 * $1 } }

    /// `Σ_{i≤r} σᵢ² / Σ σᵢ²` (1 for `B·A = 0`).
    func retainedEnergy(rank r: Int) -> Double {
        let total = energy
        return total > 0 ? singularValues.prefix(r).reduce(0) { $0 + $1 * $1 } / total : 1
    }

    /// `‖B·A − M_r‖_F = √(Σ_{i>r} σᵢ²)` for the best rank-`r` approximation `M_r`.
    func truncationError(rank r: Int) -> Double {
        singularValues.dropFirst(r).reduce(0) { $0 + $1 * $1 }.squareRoot()
    }

    /// Factors of `M_r / s`: `B' = Q_B·U_r·(Σ_r/s)^{1/2}` (`d×r`), `A' = (Σ_r/s)^{1/2}·V_rᵀ·Q_Aᵀ` (`r×k`),
    /// so that `s·B'·A' = M_r` (LoRAKit's even split of `Σ`, as ``AdapterExtraction``).
    func factors(rank r: Int, scale s: Double = 1) -> (b: Matrix<Double>, a: Matrix<Double>) {
        precondition(r >= 1 && r <= singularValues.count, "FactorSpaceSVD: rank \(r) outside 1...\(singularValues.count)")
        let roots = singularValues.prefix(r).map { ($0 / s).squareRoot() }
        let b = Matrix(rows: left.rows, columns: r) { i, j in left[i, j] * roots[j] }
        let a = Matrix(rows: r, columns: right.columns) { i, j in roots[i] * right[i, j] }
        return (b, a)
    }
}
