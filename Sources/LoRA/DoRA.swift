import LinearAlgebra

/// DoRA's weight decomposition (weight-decomposed low-rank adaptation), as PEFT computes it.
///
/// The adapted weight is `W' = diag(m/n)·V` with the direction `V = W + s·B·A` (`d×k`), its row
/// norms `nᵢ = ‖Vᵢ‖₂` (`[d]`, treated as a constant in the backward pass: PEFT detaches it) and the
/// trained magnitude `m` (`[d]`, PEFT's `lora_magnitude_vector`, initialised to `n` so `W' = V`).
/// For a batch `X: n×k` the output is `Y = X·Wᵀ + (f − 1)⊙(X·Wᵀ) + f⊙(s·(X·Aᵀ)·Bᵀ)`, `f = m/n`
/// scaling each output column, which is `X·W'ᵀ` when no dropout sits on the adapter's input.
///
/// A row with `nᵢ = 0` has no direction: its row of `V`, hence of `X·Vᵀ`, is zero whatever the
/// factor, so ``factors(magnitude:norms:)`` gives it `fᵢ = 0`, the exact output, where `mᵢ/0`
/// would give NaN (PEFT 0.21 divides unguarded; every other row equals PEFT's).
public enum DoRA {
    /// `nᵢ = ‖Wᵢ + s·(B·A)ᵢ‖₂` for every row `i` of the weights' base (read as unmerged), the squares
    /// summed in `Double` so a Float layer's norms are correctly rounded sums.
    public static func rowNorms<Scalar: MatrixScalar>(of weights: LoRAWeights<Scalar>) -> [Scalar] {
        precondition(!weights.isMerged, "DoRA.rowNorms: the base holds a merged W'; the norms are of W + s·B·A")
        var direction = weights.base
        Matrix.gemm(weights.b, weights.a, alpha: weights.scale, beta: 1, into: &direction)
        return rowNorms(of: direction)
    }

    /// `‖Mᵢ‖₂` for every row `i` of `m: d×k`, the squares summed in `Double`.
    public static func rowNorms<Scalar: MatrixScalar>(of m: Matrix<Scalar>) -> [Scalar] {
        let k = m.columns
        return m.withUnsafeBufferPointer { p in
            (0..<m.rows).map { i in
                var sum = 0.0
                for j in 0..<k { let v = Double(p[i * k + j]); sum += v * v }
                return Scalar(sum.squareRoot())
            }
        }
    }

    /// `fᵢ = mᵢ/nᵢ`, and `fᵢ = 0` where `nᵢ = 0` (a zero direction row, whose output is zero).
    public static func factors<Scalar: MatrixScalar>(magnitude m: [Scalar], norms n: [Scalar]) -> [Scalar] {
        precondition(m.count == n.count, "DoRA.factors: magnitude [\(m.count)] does not fit norms [\(n.count)]")
        return zip(m, n).map { $1 > 0 ? $0 / $1 : 0 }
    }

    /// `Yₜⱼ ← fⱼ·Yₜⱼ` for `Y: n×d`, `f: [d]` (a factor per output column).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func scaleColumns<Scalar: MatrixScalar>(_ y: inout Matrix<Scalar>, by f: [Scalar]) {
        precondition(f.count == y.columns, "DoRA.scaleColumns: factors [\(f.count)] do not fit Y \(y.shapeDescription)")
        let d = y.columns
        f.withUnsafeBufferPointer { f in
            y.withUnsafeMutableBufferPointer { p in
                for start in stride(from: 0, to: p.count, by: d) {
                    for j in 0..<d { p[start + j] *= f[j] }
                }
            }
        }
    }

    /// `Mᵢⱼ ← fᵢ·Mᵢⱼ` for `M: d×k`, `f: [d]` (a factor per row).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func scaleRows<Scalar: MatrixScalar>(_ m: inout Matrix<Scalar>, by f: [Scalar]) {
        precondition(f.count == m.rows, "DoRA.scaleRows: factors [\(f.count)] do not fit M \(m.shapeDescription)")
        let k = m.columns
        m.withUnsafeMutableBufferPointer { p in
            for i in 0..<f.count {
                for j in 0..<k { p[i * k + j] *= f[i] }
            }
        }
    }
}
