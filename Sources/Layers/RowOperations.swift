import LinearAlgebra

/// Row-broadcast operations used by layers with a bias or a gain.
extension Matrix {
    /// `selfᵢⱼ += vⱼ` for every row `i`, with `v: 1×n` and `self: m×n`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func addToEachRow(_ v: Matrix) {
        precondition(v.rows == 1 && v.columns == columns,
                     "addToEachRow: \(shapeDescription) += row \(v.shapeDescription)")
        let (m, n) = (rows, columns)
        v.withUnsafeBufferPointer { pv in
            withUnsafeMutableBufferPointer { p in
                for i in 0..<m {
                    for j in 0..<n { p[i * n + j] += pv[j] }
                }
            }
        }
    }

    /// `selfⱼ += Σᵢ xᵢⱼ`, with `self: 1×n` and `x: m×n` (the gradient of a bias).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func addColumnSums(of x: Matrix) {
        precondition(rows == 1 && columns == x.columns,
                     "addColumnSums: \(shapeDescription) += column sums of \(x.shapeDescription)")
        let (m, n) = (x.rows, x.columns)
        x.withUnsafeBufferPointer { px in
            withUnsafeMutableBufferPointer { p in
                for i in 0..<m {
                    for j in 0..<n { p[j] += px[i * n + j] }
                }
            }
        }
    }
}
