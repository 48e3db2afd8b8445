extension Matrix {
    /// An `m×n` matrix whose elements are unspecified (whatever the allocator returned), for a
    /// result that an operation overwrites completely before anything reads it — a GEMM with
    /// `β = 0`, a row-wise kernel — saving the zero fill of ``zeros(_:_:)``.
    ///
    /// Reading an element before writing it gives an arbitrary value (never undefined
    /// behaviour: `Float` and `Double` have no invalid bit patterns).
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func unsafeUninitialized(_ rows: Int, _ columns: Int) -> Matrix {
        precondition(rows >= 0 && columns >= 0, "Matrix shape \(rows)×\(columns) is negative")
        return Matrix(rows: rows, columns: columns, elements: Array(unsafeUninitializedCapacity: rows * columns) { _, count in
            count = rows * columns
        })
    }
}
