/// A dense row-major matrix of `Float` or `Double` with value semantics.
///
/// Element `(i, j)` of an `m×n` matrix is `elements[i·n + j]`. Storage is a Swift array, so copies
/// are cheap and copy-on-write: a copy is made only when a shared matrix is mutated.
/// Shape mismatches are programmer errors and trap with both shapes in the message.
public struct Matrix<Scalar: MatrixScalar>: Sendable, Equatable {
    /// Number of rows, `m`.
    public let rows: Int
    /// Number of columns, `n`.
    public let columns: Int
    /// The `m·n` elements in row-major order.
    public private(set) var elements: [Scalar]

    /// An `m×n` matrix from row-major `elements` (`elements.count == rows·columns`).
    public init(rows: Int, columns: Int, elements: [Scalar]) {
        precondition(rows >= 0 && columns >= 0, "Matrix shape \(rows)×\(columns) is negative")
        precondition(
            elements.count == rows * columns,
            "Matrix \(rows)×\(columns) needs \(rows * columns) elements, got \(elements.count)")
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    /// An `m×n` matrix with every element equal to `value`.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public init(rows: Int, columns: Int, repeating value: Scalar) {
        self.init(rows: rows, columns: columns, elements: Array(repeating: value, count: rows * columns))
    }

    /// A matrix from an array of equally long rows.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public init(_ rowArrays: [[Scalar]]) {
        let columns = rowArrays.first?.count ?? 0
        for (i, row) in rowArrays.enumerated() {
            precondition(row.count == columns, "Row \(i) has \(row.count) elements, row 0 has \(columns)")
        }
        self.init(rows: rowArrays.count, columns: columns, elements: rowArrays.flatMap { $0 })
    }

    /// An `m×n` matrix whose element `(i, j)` is `value(i, j)`.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public init(rows: Int, columns: Int, _ value: (_ row: Int, _ column: Int) -> Scalar) {
        var elements = [Scalar]()
        elements.reserveCapacity(rows * columns)
        for i in 0..<rows {
            for j in 0..<columns { elements.append(value(i, j)) }
        }
        self.init(rows: rows, columns: columns, elements: elements)
    }

    /// The `m×n` zero matrix.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func zeros(_ rows: Int, _ columns: Int) -> Matrix {
        Matrix(rows: rows, columns: columns, repeating: 0)
    }

    /// The `n×n` identity matrix.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public static func identity(_ n: Int) -> Matrix {
        var m = zeros(n, n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    /// The shape as `(rows, columns)`.
    public var shape: (rows: Int, columns: Int) { (rows, columns) }

    /// The shape as text, `"m×n"`, for messages.
    public var shapeDescription: String { "\(rows)×\(columns)" }

    /// Number of elements, `m·n`.
    public var count: Int { elements.count }

    /// Element `(i, j)`.
    public subscript(row: Int, column: Int) -> Scalar {
        get {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Index (\(row), \(column)) out of range for \(shapeDescription)")
            return elements[row * columns + column]
        }
        set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Index (\(row), \(column)) out of range for \(shapeDescription)")
            elements[row * columns + column] = newValue
        }
    }

    /// Rows `range` as a new `range.count×n` matrix.
    public subscript(rows range: Range<Int>) -> Matrix { copyingRows(range) }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    private func copyingRows(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows,
                     "Rows \(range) out of range for \(shapeDescription)")
        return Matrix(rows: range.count, columns: columns,
                      elements: Array(elements[(range.lowerBound * columns)..<(range.upperBound * columns)]))
    }

    /// Columns `range` as a new `m×range.count` matrix.
    public subscript(columns range: Range<Int>) -> Matrix { copyingColumns(range) }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    private func copyingColumns(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns,
                     "Columns \(range) out of range for \(shapeDescription)")
        var result = [Scalar]()
        result.reserveCapacity(rows * range.count)
        for i in 0..<rows {
            result.append(contentsOf: elements[(i * columns + range.lowerBound)..<(i * columns + range.upperBound)])
        }
        return Matrix(rows: rows, columns: range.count, elements: result)
    }

    /// Row `i` as an array of `n` elements.
    public func row(_ i: Int) -> [Scalar] { self[rows: i..<(i + 1)].elements }

    /// Column `j` as an array of `m` elements.
    public func column(_ j: Int) -> [Scalar] { self[columns: j..<(j + 1)].elements }

    /// The transpose, `n×m`.
    public var transposed: Matrix { transposedCopy() }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    private func transposedCopy() -> Matrix {
        var result = [Scalar](repeating: 0, count: count)
        elements.withUnsafeBufferPointer { source in
            // Blocked so both reads and writes stay in cache for large matrices.
            let block = 32
            for i0 in stride(from: 0, to: rows, by: block) {
                for j0 in stride(from: 0, to: columns, by: block) {
                    for i in i0..<min(i0 + block, rows) {
                        for j in j0..<min(j0 + block, columns) {
                            result[j * rows + i] = source[i * columns + j]
                        }
                    }
                }
            }
        }
        return Matrix(rows: columns, columns: rows, elements: result)
    }

    /// Calls `body` with the row-major elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try elements.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the row-major elements, mutable. The shape cannot change.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        let expectedCount = count
        return try elements.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress
            defer { precondition(buffer.baseAddress == base && buffer.count == expectedCount, "The buffer was replaced") }
            return try body(&buffer)
        }
    }

    /// Whether every element is finite (no NaN, no ±∞).
    ///
    /// One BLAS pass first (`‖A‖_F` by `?nrm2` is finite unless an element is NaN or ±∞, or the norm
    /// overflows); the element loop, slow in unspecialised generic code, runs only when it is not.
    public var isFinite: Bool { frobeniusNorm.isFinite || elements.allSatisfy { $0.isFinite } }

    /// Largest `|selfᵢⱼ − otherᵢⱼ|`; shapes must match.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public func maxAbsoluteDifference(_ other: Matrix) -> Scalar {
        precondition(rows == other.rows && columns == other.columns,
                     "maxAbsoluteDifference: \(shapeDescription) vs \(other.shapeDescription)")
        var worst: Scalar = 0
        for (a, b) in zip(elements, other.elements) { worst = Swift.max(worst, abs(a - b)) }
        return worst
    }

    /// The same values converted to another precision.
    public func converted<Other: MatrixScalar>(to _: Other.Type = Other.self) -> Matrix<Other> {
        Matrix<Other>(rows: rows, columns: columns, elements: elements.map { Other($0) })
    }
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        let shown = (0..<Swift.min(rows, 8)).map { i in
            "[" + row(i).prefix(8).map { "\($0)" }.joined(separator: ", ") + (columns > 8 ? ", …" : "") + "]"
        }
        return "Matrix<\(Scalar.self)> \(shapeDescription)\n" + shown.joined(separator: "\n") + (rows > 8 ? "\n…" : "")
    }
}
