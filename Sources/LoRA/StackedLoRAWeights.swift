import LinearAlgebra

/// LoRA weights in the serving layout: `W` and `A` stacked in one `(d+r)×k` matrix, so the
/// unmerged forward is a single GEMM over both plus one rank-`r` update in place.
///
/// For `X: n×k` the forward fills an `n×(d+r)` output `[Y | T]`: one GEMM
/// `[Y | T] = X·[W; A]ᵀ` gives `X·Wᵀ` in columns `0..<d` and `T = X·Aᵀ` in columns `d..<d+r`, then
/// `Y += s·T·Bᵀ` (β = 1) completes `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ` — the maths of ``LoRAWeights``, equal up
/// to float rounding. `X` is read once (by the big GEMM) instead of twice, which is what makes
/// the unmerged forward cost little more than its FLOPs; above r = 16, where ``LoRAWeights``
/// runs two BLAS products, less than it (docs/PERFORMANCE.md compares the two). The price is the
/// layout: `Y` is the first `d` columns of the output (row stride `d+r`), as a view would be.
/// While merged (`W ← W + s·B·A` in the stacked rows), the forward writes only `Y`.
public struct StackedLoRAWeights<Scalar: MatrixScalar>: Sendable {
    /// `[W; A]`: `(d+r)×k`, rows `0..<d` the base (`W + s·B·A` while merged), rows `d..<d+r` `A`.
    public private(set) var stacked: Matrix<Scalar>
    /// The up-projection `B: d×r`.
    public private(set) var b: Matrix<Scalar>
    /// The scaling `s`.
    public private(set) var scale: Scalar
    /// Whether `s·B·A` is folded into the base rows.
    public private(set) var isMerged: Bool

    /// The serving layout of `weights` (copies `W` and `A` once), in the same merge state.
    public init(_ weights: LoRAWeights<Scalar>) {
        stacked = Matrix(
            rows: weights.outFeatures + weights.rank, columns: weights.inFeatures,
            elements: weights.base.elements + weights.a.elements)
        b = weights.b
        scale = weights.scale
        isMerged = weights.isMerged
    }

    /// Output features `d`.
    public var outFeatures: Int { b.rows }
    /// Input features `k`.
    public var inFeatures: Int { stacked.columns }
    /// The rank `r`.
    public var rank: Int { b.columns }

    /// Back to the plain layout, in the same merge state.
    public var weights: LoRAWeights<Scalar> {
        let d = outFeatures
        return LoRAWeights(
            base: stacked[rows: 0..<d], a: stacked[rows: d..<(d + rank)], b: b, scale: scale, isMerged: isMerged)
    }

    /// `[Y | T]` into `output: n×(d+r)` for `X: n×k`: `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ` in columns
    /// `0..<d` and `T = X·Aᵀ` in columns `d..<d+r`; while merged, `Y = X·(W + s·B·A)ᵀ` only.
    /// One token takes two GEMVs (its output row is contiguous). Allocates nothing when `output`
    /// is uniquely referenced.
    public func forward(_ x: Matrix<Scalar>, into output: inout Matrix<Scalar>) {
        let (n, d, k, r) = (x.rows, outFeatures, inFeatures, rank)
        precondition(
            x.columns == k && output.rows == n && output.columns == d + r,
            "StackedLoRAWeights.forward: X \(x.shapeDescription) with [W; A] \(stacked.shapeDescription) does not fit output \(output.shapeDescription) (need n×(d+r))")
        guard n > 0 && d > 0 else { return }
        let width = d + r
        let rows = isMerged ? d : width  // merged: the base rows alone
        // Nested scopes rather than `Matrix.withUnsafeViews(of:)`, whose array would be this
        // forward's only allocation.
        x.withUnsafeView { x in
            stacked.withUnsafeView { stacked in
                b.withUnsafeView { b in
                    output.withUnsafeMutableView { out in
                        // T (columns d..<d+r) and Y (columns 0..<d) share rows but no element.
                        let (w, y, t) = (stacked[rows: 0..<rows], out[columns: 0..<d], out[columns: d..<width])
                        if n == 1 {
                            out[columns: 0..<rows].gemv(w, x)
                            if !isMerged && r > 0 { y.gemv(b, t.readOnly, alpha: scale, beta: 1) }
                        } else {
                            out[columns: 0..<rows].gemm(x, w, transposeB: .transposed)
                            if !isMerged && r > 0 { y.gemm(t.readOnly, b, transposeB: .transposed, alpha: scale, beta: 1) }
                        }
                    }
                }
            }
        }
    }

    /// `W ← W + s·B·A` in the base rows, with one rank-`r` GEMM. Merging twice is a programmer error.
    public mutating func merge() {
        precondition(!isMerged, "StackedLoRAWeights.merge: already merged")
        updateBase(alpha: scale)
        isMerged = true
    }

    /// `W ← W − s·B·A`, restoring the base up to rounding.
    public mutating func unmerge() {
        precondition(isMerged, "StackedLoRAWeights.unmerge: not merged")
        updateBase(alpha: -scale)
        isMerged = false
    }

    /// `W ← W + α·B·A`: `B: d×r` times the `A` rows into the base rows of the same buffer.
    private mutating func updateBase(alpha: Scalar) {
        let (d, k, r) = (outFeatures, inFeatures, rank)
        guard r > 0 && d > 0 && k > 0 else { return }
        b.withUnsafeView { b in
            stacked.withUnsafeMutableView { stacked in
                let (w, a) = (stacked[rows: 0..<d], stacked[rows: d..<(d + r)].readOnly)  // disjoint rows
                w.gemm(b, a, alpha: alpha, beta: 1)
            }
        }
    }
}
