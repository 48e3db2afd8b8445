import LinearAlgebra

/// Allocation, scaling and slicing compiled for `Float` and `Double`.
///
/// Generic code that runs unspecialised (called from another module, or through `any Layer`)
/// pays a witness-table call per element for `Matrix.zeros`, `*=` or a row slice. These
/// versions carry `@_specialize`, so even unspecialised callers reach a concrete loop (or a
/// `memset`/`memcpy`); the layers use them on their hot paths, as they use `@_specialize`.
extension Matrix {
    /// The `m×n` zero matrix (as ``Matrix/zeros(_:_:)``).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func zeroed(_ rows: Int, _ columns: Int) -> Matrix {
        Matrix(rows: rows, columns: columns, elements: Array(repeating: 0, count: rows * columns))
    }

    /// An `m×n` matrix whose elements are unspecified, for a result an operation overwrites
    /// completely (a GEMM with `β = 0`), saving the zero fill.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func uninitialized(_ rows: Int, _ columns: Int) -> Matrix {
        Matrix(rows: rows, columns: columns, elements: Array(unsafeUninitializedCapacity: rows * columns) { _, count in
            count = rows * columns
        })
    }

    /// `self ← c·self` in place.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func scale(by c: Scalar) {
        withUnsafeMutableBufferPointer { values in
            for i in 0..<values.count { values[i] *= c }
        }
    }

    /// Rows `range` as a new `range.count×n` matrix (as `self[rows: range]`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func copyingRows(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows,
                     "Rows \(range) out of range for \(shapeDescription)")
        return withUnsafeBufferPointer { values in
            Matrix(rows: range.count, columns: columns,
                   elements: Array(values[(range.lowerBound * columns)..<(range.upperBound * columns)]))
        }
    }
}
