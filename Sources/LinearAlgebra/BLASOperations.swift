/// Products and updates on matrices, computed by BLAS.
extension Matrix {
    /// `C = α·op(A)·op(B) + β·C`, written into the existing `c` with no allocation.
    ///
    /// Shapes: `op(A): m×k`, `op(B): k×n`, `C: m×n`. When `β = 0`, `C`'s old values are ignored
    /// (NaN included). `c` must be uniquely referenced for the write to be in place; a shared `c`
    /// is first copied, as for any mutation of a value type.
    public static func gemm(
        _ a: Matrix, _ b: Matrix, transposeA: Transpose = .none, transposeB: Transpose = .none,
        alpha: Scalar = 1, beta: Scalar = 0, into c: inout Matrix
    ) {
        a.withUnsafeView { a in
            b.withUnsafeView { b in
                c.withUnsafeMutableView { c in
                    c.gemm(a, b, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta)
                }
            }
        }
    }

    /// `y = α·op(A)·x + β·y`, with `op(A): m×n`, `x` of length `n`, `y` of length `m`.
    public static func gemv(
        _ a: Matrix, _ x: [Scalar], transpose: Transpose = .none, alpha: Scalar = 1, beta: Scalar = 0, into y: inout [Scalar]
    ) {
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                gemv(a, px, transpose: transpose, alpha: alpha, beta: beta, into: py)
            }
        }
    }

    /// `y = α·op(A)·x + β·y` for vectors held as matrices (`1×n` or `n×1`, any shape of the right
    /// count), with `op(A): m×n`: the one-token path of a layer, with no allocation.
    public static func gemv(
        _ a: Matrix, _ x: Matrix, transpose: Transpose = .none, alpha: Scalar = 1, beta: Scalar = 0, into y: inout Matrix
    ) {
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                gemv(a, px, transpose: transpose, alpha: alpha, beta: beta, into: py)
            }
        }
    }

    private static func gemv(
        _ a: Matrix, _ x: UnsafeBufferPointer<Scalar>, transpose: Transpose, alpha: Scalar, beta: Scalar,
        into y: UnsafeMutableBufferPointer<Scalar>
    ) {
        let (m, n) = transpose == .none ? (a.rows, a.columns) : (a.columns, a.rows)
        precondition(
            x.count == n && y.count == m,
            "gemv: op(A) \(m)×\(n) · x[\(x.count)] does not fit y[\(y.count)]")
        guard m > 0 else { return }
        a.withUnsafeView { a in
            UnsafeMutableMatrixView(y.baseAddress!, rows: 1, columns: m).gemv(
                a, UnsafeMatrixView(x.baseAddress ?? UnsafePointer(y.baseAddress!), rows: 1, columns: n),
                transpose: transpose, alpha: alpha, beta: beta)
        }
    }

    /// `self = self + α·x` (BLAS axpy); shapes must match.
    public mutating func axpy(_ alpha: Scalar, _ x: Matrix) {
        precondition(rows == x.rows && columns == x.columns,
                     "axpy: \(shapeDescription) += α·\(x.shapeDescription)")
        let n = count
        guard n > 0 else { return }
        x.withUnsafeBufferPointer { px in
            withUnsafeMutableBufferPointer { py in
                Scalar.axpy(n: n, alpha: alpha, x: px.baseAddress!, y: py.baseAddress!)
            }
        }
    }

    /// The matrix product `A·B`: `m×k · k×n → m×n`.
    public static func * (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.columns == b.rows, "Matrix product: \(a.shapeDescription) · \(b.shapeDescription)")
        var c = Matrix.zeros(a.rows, b.columns)
        gemm(a, b, into: &c)
        return c
    }

    /// `Σᵢⱼ Aᵢⱼ·Bᵢⱼ`, the Frobenius inner product; shapes must match.
    public func dot(_ other: Matrix) -> Scalar {
        precondition(rows == other.rows && columns == other.columns,
                     "dot: \(shapeDescription) vs \(other.shapeDescription)")
        guard count > 0 else { return 0 }
        return withUnsafeBufferPointer { px in
            other.withUnsafeBufferPointer { py in
                Scalar.dot(n: count, x: px.baseAddress!, y: py.baseAddress!)
            }
        }
    }

    /// Frobenius norm `‖A‖_F = √(Σ Aᵢⱼ²)`, computed without overflow.
    public var frobeniusNorm: Scalar {
        guard count > 0 else { return 0 }
        return withUnsafeBufferPointer { Scalar.nrm2(n: count, x: $0.baseAddress!) }
    }

    /// Spectral norm `‖A‖₂ = σ₁`, the largest singular value.
    public func spectralNorm() throws(LAPACKError) -> Scalar {
        try singularValues().first ?? 0
    }
}

/// Element-wise arithmetic.
extension Matrix {
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func + (lhs: Matrix, rhs: Matrix) -> Matrix {
        var result = lhs
        result += rhs
        return result
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func - (lhs: Matrix, rhs: Matrix) -> Matrix {
        var result = lhs
        result -= rhs
        return result
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func += (lhs: inout Matrix, rhs: Matrix) {
        precondition(lhs.rows == rhs.rows && lhs.columns == rhs.columns,
                     "Matrix +: \(lhs.shapeDescription) vs \(rhs.shapeDescription)")
        lhs.withUnsafeMutableBufferPointer { l in
            rhs.withUnsafeBufferPointer { r in
                for i in 0..<l.count { l[i] += r[i] }
            }
        }
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func -= (lhs: inout Matrix, rhs: Matrix) {
        precondition(lhs.rows == rhs.rows && lhs.columns == rhs.columns,
                     "Matrix −: \(lhs.shapeDescription) vs \(rhs.shapeDescription)")
        lhs.withUnsafeMutableBufferPointer { l in
            rhs.withUnsafeBufferPointer { r in
                for i in 0..<l.count { l[i] -= r[i] }
            }
        }
    }

    public static prefix func - (operand: Matrix) -> Matrix { operand * -1 }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func * (lhs: Matrix, rhs: Scalar) -> Matrix {
        var result = lhs
        result *= rhs
        return result
    }

    public static func * (lhs: Scalar, rhs: Matrix) -> Matrix { rhs * lhs }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func *= (lhs: inout Matrix, rhs: Scalar) {
        lhs.withUnsafeMutableBufferPointer { l in
            for i in 0..<l.count { l[i] *= rhs }
        }
    }

    /// Applies `transform` to every element.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public func map(_ transform: (Scalar) throws -> Scalar) rethrows -> Matrix {
        Matrix(rows: rows, columns: columns, elements: try elements.map(transform))
    }
}
