import LinearAlgebra

extension Matrix {
    /// `[M₁; M₂; …]`: the rows of every matrix in turn (all with the same column count).
    static func stackingRows(_ parts: [Matrix]) -> Matrix {
        let columns = parts.first?.columns ?? 0
        precondition(parts.allSatisfy { $0.columns == columns },
                     "Matrix.stackingRows: \(parts.map(\.shapeDescription)) do not have equal column counts")
        return Matrix(rows: parts.reduce(0) { $0 + $1.rows }, columns: columns, elements: parts.flatMap(\.elements))
    }

    /// `[M₁ | M₂ | …]`: the columns of every matrix in turn (all with the same row count).
    static func stackingColumns(_ parts: [Matrix]) -> Matrix {
        let rows = parts.first?.rows ?? 0
        precondition(parts.allSatisfy { $0.rows == rows },
                     "Matrix.stackingColumns: \(parts.map(\.shapeDescription)) do not have equal row counts")
        return stackingRows(parts.map(\.transposed)).transposed
    }
}
