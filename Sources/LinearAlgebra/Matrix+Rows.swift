/// Row-broadcast operations used by layers with a bias or a gain.
extension Matrix {
    /// `rows` copies of the row `v: 1×n`, as an `rows×n` matrix (a bias to accumulate into).
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public init(rows: Int, repeatingRow v: Matrix) {
        precondition(v.rows == 1, "Matrix(rows:repeatingRow:): \(v.shapeDescription) is not a row")
        self = .unsafeUninitialized(rows, v.columns)
        let n = v.columns
        v.withUnsafeBufferPointer { row in
            withUnsafeMutableBufferPointer { p in
                for i in 0..<rows { (p.baseAddress! + i * n).update(from: row.baseAddress!, count: n) }
            }
        }
    }

    /// `selfᵢⱼ += vⱼ` for every row `i`, with `v: 1×n` and `self: m×n`.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func addToEachRow(_ v: Matrix) {
        precondition(v.rows == 1 && v.columns == columns,
                     "addToEachRow: \(shapeDescription) += row \(v.shapeDescription)")
        let (m, n) = (rows, columns)
        v.withUnsafeBufferPointer { pv in
            withUnsafeMutableBufferPointer { p in
                for i in 0..<m { addRow(pv.baseAddress!, into: p.baseAddress! + i * n, count: n) }
            }
        }
    }

    /// `selfⱼ += Σᵢ xᵢⱼ`, with `self: 1×n` and `x: m×n` (the gradient of a bias).
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func addColumnSums(of x: Matrix) {
        precondition(rows == 1 && columns == x.columns,
                     "addColumnSums: \(shapeDescription) += column sums of \(x.shapeDescription)")
        let (m, n) = (x.rows, x.columns)
        x.withUnsafeBufferPointer { px in
            withUnsafeMutableBufferPointer { p in
                for i in 0..<m { addRow(px.baseAddress! + i * n, into: p.baseAddress!, count: n) }
            }
        }
    }
}

/// `yⱼ += xⱼ` for `j ∈ 0..<count`. (Rows arrive as arguments, so the compiler keeps the pointers
/// in registers and vectorises the loop, which it does not when they are captured by a closure.)
@inline(__always)
func addRow<Scalar: MatrixScalar>(_ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count: Int) {
    for j in 0..<count { y[j] += x[j] }
}

/// Rows picked by index: a mixed batch's rows of one adapter, a permutation of a weight's rows.
extension Matrix {
    /// Row `i` of the result is row `order[i]` of this matrix.
    public func gatheringRows(_ order: [Int]) -> Matrix {
        let c = columns
        var result = Matrix.unsafeUninitialized(order.count, c)
        result.withUnsafeMutableBufferPointer { to in
            withUnsafeBufferPointer { from in
                for (i, source) in order.enumerated() {
                    precondition(source >= 0 && source < rows, "gatheringRows: row \(source) of \(shapeDescription)")
                    (to.baseAddress! + i * c).update(from: from.baseAddress! + source * c, count: c)
                }
            }
        }
        return result
    }

    /// Row `order[i]` of this matrix becomes row `i` of `source` (the inverse of ``gatheringRows(_:)``).
    public mutating func scatterRows(_ source: Matrix, to order: [Int]) {
        precondition(source.rows == order.count && source.columns == columns,
                     "scatterRows: \(source.shapeDescription) into \(order.count) rows of \(shapeDescription)")
        let (c, m) = (columns, rows)
        source.withUnsafeBufferPointer { from in
            withUnsafeMutableBufferPointer { to in
                for (i, target) in order.enumerated() {
                    precondition(target >= 0 && target < m, "scatterRows: row \(target) of \(m)×\(c)")
                    (to.baseAddress! + target * c).update(from: from.baseAddress! + i * c, count: c)
                }
            }
        }
    }
}
