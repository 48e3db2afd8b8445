/// A read-only row-major view of `rows×columns` elements in memory someone else owns: row `i`
/// starts at `base + i·rowStride` (`rowStride ≥ columns`), so a block of columns of a wider
/// matrix — one attention head of `Q: n×d`, say — is a view with no copy.
///
/// Like `UnsafePointer`, a view is valid only while its memory is: make views inside
/// `Matrix.withUnsafeView` / `withUnsafeMutableView` (or over buffers you keep alive) and do not
/// let them escape.
public struct UnsafeMatrixView<Scalar: MatrixScalar> {
    /// The first element, `(0, 0)`.
    public let base: UnsafePointer<Scalar>
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// Elements from the start of one row to the start of the next (BLAS's leading dimension).
    public let rowStride: Int

    /// A view of `rows×columns` elements at `base`, rows `rowStride` apart (default: packed).
    public init(_ base: UnsafePointer<Scalar>, rows: Int, columns: Int, rowStride: Int? = nil) {
        let stride = rowStride ?? Swift.max(1, columns)
        precondition(rows >= 0 && columns >= 0 && stride >= Swift.max(1, columns),
                     "UnsafeMatrixView: \(rows)×\(columns) with row stride \(stride)")
        (self.base, self.rows, self.columns, self.rowStride) = (base, rows, columns, stride)
    }

    /// Columns `range` of every row: a view of `rows×range.count` with the same stride.
    public subscript(columns range: Range<Int>) -> UnsafeMatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns,
                     "UnsafeMatrixView: columns \(range) of \(rows)×\(columns)")
        return UnsafeMatrixView(base + range.lowerBound, rows: rows, columns: range.count, rowStride: rowStride)
    }

    /// Rows `range`: a view of `range.count×columns` with the same stride.
    public subscript(rows range: Range<Int>) -> UnsafeMatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows,
                     "UnsafeMatrixView: rows \(range) of \(rows)×\(columns)")
        return UnsafeMatrixView(base + range.lowerBound * rowStride, rows: range.count, columns: columns, rowStride: rowStride)
    }

    /// Element `(i, j)`.
    public subscript(row: Int, column: Int) -> Scalar {
        precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                     "UnsafeMatrixView: index (\(row), \(column)) of \(rows)×\(columns)")
        return base[row * rowStride + column]
    }
}

/// A writable row-major view (see ``UnsafeMatrixView``); the target of ``gemm(_:_:transposeA:transposeB:alpha:beta:)``.
public struct UnsafeMutableMatrixView<Scalar: MatrixScalar> {
    /// The first element, `(0, 0)`.
    public let base: UnsafeMutablePointer<Scalar>
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// Elements from the start of one row to the start of the next.
    public let rowStride: Int

    /// A view of `rows×columns` elements at `base`, rows `rowStride` apart (default: packed).
    public init(_ base: UnsafeMutablePointer<Scalar>, rows: Int, columns: Int, rowStride: Int? = nil) {
        let stride = rowStride ?? Swift.max(1, columns)
        precondition(rows >= 0 && columns >= 0 && stride >= Swift.max(1, columns),
                     "UnsafeMutableMatrixView: \(rows)×\(columns) with row stride \(stride)")
        (self.base, self.rows, self.columns, self.rowStride) = (base, rows, columns, stride)
    }

    /// The same elements, read-only.
    public var readOnly: UnsafeMatrixView<Scalar> {
        UnsafeMatrixView(UnsafePointer(base), rows: rows, columns: columns, rowStride: rowStride)
    }

    /// Columns `range` of every row.
    public subscript(columns range: Range<Int>) -> UnsafeMutableMatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns,
                     "UnsafeMutableMatrixView: columns \(range) of \(rows)×\(columns)")
        return UnsafeMutableMatrixView(base + range.lowerBound, rows: rows, columns: range.count, rowStride: rowStride)
    }

    /// Rows `range`.
    public subscript(rows range: Range<Int>) -> UnsafeMutableMatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows,
                     "UnsafeMutableMatrixView: rows \(range) of \(rows)×\(columns)")
        return UnsafeMutableMatrixView(
            base + range.lowerBound * rowStride, rows: range.count, columns: columns, rowStride: rowStride)
    }

    /// `self = α·op(A)·op(B) + β·self` by BLAS, with `op(A): m×k`, `op(B): k×n`, `self: m×n`.
    /// When `β = 0` the old elements are ignored (NaN included).
    public func gemm(
        _ a: UnsafeMatrixView<Scalar>, _ b: UnsafeMatrixView<Scalar>, transposeA: Transpose = .none,
        transposeB: Transpose = .none, alpha: Scalar = 1, beta: Scalar = 0
    ) {
        let (m, k) = transposeA == .none ? (a.rows, a.columns) : (a.columns, a.rows)
        let (kB, n) = transposeB == .none ? (b.rows, b.columns) : (b.columns, b.rows)
        precondition(
            k == kB && rows == m && columns == n,
            "gemm: op(A) \(m)×\(k) · op(B) \(kB)×\(n) does not fit C \(rows)×\(columns)")
        guard m > 0 && n > 0 else { return }
        guard k > 0 else { return scale(by: beta) }
        Scalar.gemm(
            transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a.base, lda: a.rowStride,
            b: b.base, ldb: b.rowStride, beta: beta, c: base, ldc: rowStride)
    }

    /// `self = α·op(A)·x + β·self` by BLAS for a one-row or one-column `self` and `x` (vectors of
    /// `m` and `n` elements, unit stride: packed rows or a single row), with `op(A): m×n`.
    public func gemv(
        _ a: UnsafeMatrixView<Scalar>, _ x: UnsafeMatrixView<Scalar>, transpose: Transpose = .none,
        alpha: Scalar = 1, beta: Scalar = 0
    ) {
        let (m, n) = transpose == .none ? (a.rows, a.columns) : (a.columns, a.rows)
        precondition(
            x.rows * x.columns == n && rows * columns == m && x.isContiguous && isContiguous,
            "gemv: op(A) \(m)×\(n) · x \(x.rows)×\(x.columns) does not fit y \(rows)×\(columns)")
        guard m > 0 else { return }
        guard n > 0 else { return scale(by: beta) }
        Scalar.gemv(
            transpose, m: a.rows, n: a.columns, alpha: alpha, a: a.base, lda: a.rowStride, x: x.base,
            beta: beta, y: base)
    }

    /// Whether the elements are one contiguous run (packed rows, or a single row).
    var isContiguous: Bool { rows <= 1 || rowStride == columns }

    /// `self ← β·self` (`β = 0` writes zeros, whatever was there).
    private func scale(by beta: Scalar) {
        for i in 0..<rows {
            let row = base + i * rowStride
            for j in 0..<columns { row[j] = beta == 0 ? 0 : beta * row[j] }
        }
    }
}

extension UnsafeMatrixView {
    /// Whether the elements are one contiguous run (packed rows, or a single row).
    var isContiguous: Bool { rows <= 1 || rowStride == columns }
}

extension Matrix {
    /// Calls `body` with a view of all elements (`rows×columns`, packed).
    public func withUnsafeView<R>(_ body: (UnsafeMatrixView<Scalar>) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { buffer in
            try withNonNullBase(buffer.baseAddress) { try body(UnsafeMatrixView($0, rows: rows, columns: columns)) }
        }
    }

    /// Calls `body` with a writable view of all elements; the shape cannot change.
    public mutating func withUnsafeMutableView<R>(_ body: (UnsafeMutableMatrixView<Scalar>) throws -> R) rethrows -> R {
        let (rows, columns) = (self.rows, self.columns)
        return try withUnsafeMutableBufferPointer { buffer in
            try withNonNullBase(buffer.baseAddress) {
                try body(UnsafeMutableMatrixView(UnsafeMutablePointer(mutating: $0), rows: rows, columns: columns))
            }
        }
    }
}

/// `body(p)` with `p` the buffer's base, or a dummy pointer for an empty buffer (whose base may be
/// nil), so a view of an empty matrix is valid and never read.
private func withNonNullBase<Scalar, R>(_ base: UnsafePointer<Scalar>?, _ body: (UnsafePointer<Scalar>) throws -> R) rethrows -> R {
    if let base { return try body(base) }
    var placeholder = Scalar?.none
    return try withUnsafePointer(to: &placeholder) {
        try body(UnsafeRawPointer($0).assumingMemoryBound(to: Scalar.self))
    }
}

extension Matrix {
    /// Calls `body` with read-only views of every matrix in `matrices`, in order: one scope for
    /// several operands instead of one closure each.
    public static func withUnsafeViews<R>(of matrices: [Matrix], _ body: ([UnsafeMatrixView<Scalar>]) throws -> R) rethrows -> R {
        try collectViews(matrices[...], [], body)
    }

    private static func collectViews<R>(
        _ rest: ArraySlice<Matrix>, _ views: [UnsafeMatrixView<Scalar>], _ body: ([UnsafeMatrixView<Scalar>]) throws -> R
    ) rethrows -> R {
        guard let first = rest.first else { return try body(views) }
        return try first.withUnsafeView { try collectViews(rest.dropFirst(), views + [$0], body) }
    }

    /// Calls `body` with writable views of every matrix in `matrices`, in order (each written in
    /// place when uniquely referenced by the array); the shapes cannot change.
    public static func withUnsafeMutableViews<R>(
        of matrices: inout [Matrix], _ body: ([UnsafeMutableMatrixView<Scalar>]) throws -> R
    ) rethrows -> R {
        try matrices.withUnsafeMutableBufferPointer { try collectMutableViews($0, 0, [], body) }
    }

    private static func collectMutableViews<R>(
        _ matrices: UnsafeMutableBufferPointer<Matrix>, _ index: Int, _ views: [UnsafeMutableMatrixView<Scalar>],
        _ body: ([UnsafeMutableMatrixView<Scalar>]) throws -> R
    ) rethrows -> R {
        guard index < matrices.count else { return try body(views) }
        return try matrices[index].withUnsafeMutableView { try collectMutableViews(matrices, index + 1, views + [$0], body) }
    }
}
