public import LinearAlgebra
public import TensorFormats
import Foundation

/// Tensor files as ``Matrix`` values: TensorFormats reads and writes row-major element arrays
/// (it needs no BLAS, so it builds and fuzzes alone); these put the shapes and elements together.
extension SafetensorsFile {
    /// Tensor `name` as a matrix of `T`: shape `[m, n]` → m×n, `[n]` → n×1, `[]` → 1×1.
    public func matrix<T: MatrixScalar>(_ name: String, as _: T.Type = T.self) throws(TensorFileError) -> Matrix<T> {
        let shape = try matrixShape(name)
        let elements: [T] = T.self == Float.self
            ? unsafeBitCast(try elements(name, as: Float.self), to: [T].self)
            : unsafeBitCast(try elements(name, as: Double.self), to: [T].self)
        return Matrix(rows: shape.rows, columns: shape.columns, elements: elements)
    }
}

extension SafetensorsWriter {
    /// Adds `matrix` (m×n) as tensor `name` stored as `dtype` (rounded to nearest, ties to even),
    /// with shape `[m, n]`, or `shape` when given (its product must equal m·n, e.g. `[n]` for n×1).
    public mutating func add<T: MatrixScalar>(
        _ name: String, _ matrix: Matrix<T>, as dtype: TensorDType, shape: [Int]? = nil
    ) {
        let shape = shape ?? [matrix.rows, matrix.columns]
        if T.self == Float.self {
            add(name, elements: unsafeBitCast(matrix.elements, to: [Float].self), shape: shape, as: dtype)
        } else {
            add(name, elements: unsafeBitCast(matrix.elements, to: [Double].self), shape: shape, as: dtype)
        }
    }
}

extension TensorDType {
    /// `matrix` with every element rounded to this dtype, as the safetensors writer stores it.
    public func rounded<T: MatrixScalar>(_ matrix: Matrix<T>) -> Matrix<T> {
        let elements: [T] = T.self == Float.self
            ? unsafeBitCast(rounded(unsafeBitCast(matrix.elements, to: [Float].self)), to: [T].self)
            : unsafeBitCast(rounded(unsafeBitCast(matrix.elements, to: [Double].self)), to: [T].self)
        return Matrix(rows: matrix.rows, columns: matrix.columns, elements: elements)
    }
}

extension NPY {
    /// The `.npy` file at `url` as a matrix of `T` (a 1-D array is a column).
    public static func readMatrix<T: MatrixScalar>(_ url: URL, as _: T.Type = T.self) throws(TensorFileError) -> Matrix<T> {
        T.self == Float.self
            ? unsafeBitCast(Matrix(try read(url, as: Float.self)), to: Matrix<T>.self)
            : unsafeBitCast(Matrix(try read(url, as: Double.self)), to: Matrix<T>.self)
    }

    /// Writes `matrix` to `url` atomically (see ``NPY/write(_:to:order:oneDimensional:)``).
    public static func write<T: MatrixScalar>(
        _ matrix: Matrix<T>, to url: URL, order: NPYOrder = .c, oneDimensional: Bool = false
    ) throws(TensorFileError) {
        let (m, n) = (matrix.rows, matrix.columns)
        if T.self == Float.self {
            let array = NPYArray(rows: m, columns: n, elements: unsafeBitCast(matrix.elements, to: [Float].self))
            try write(array, to: url, order: order, oneDimensional: oneDimensional)
        } else {
            let array = NPYArray(rows: m, columns: n, elements: unsafeBitCast(matrix.elements, to: [Double].self))
            try write(array, to: url, order: order, oneDimensional: oneDimensional)
        }
    }

    /// The `.npy` image of `matrix`.
    public static func encode<T: MatrixScalar>(_ matrix: Matrix<T>, order: NPYOrder = .c, oneDimensional: Bool = false) -> Data {
        Data(npy: matrix, order: order, oneDimensional: oneDimensional)
    }
}

extension Data {
    fileprivate init<T: MatrixScalar>(npy matrix: Matrix<T>, order: NPYOrder, oneDimensional: Bool) {
        let (m, n) = (matrix.rows, matrix.columns)
        self = T.self == Float.self
            ? NPY.encode(NPYArray(rows: m, columns: n, elements: unsafeBitCast(matrix.elements, to: [Float].self)), order: order, oneDimensional: oneDimensional)
            : NPY.encode(NPYArray(rows: m, columns: n, elements: unsafeBitCast(matrix.elements, to: [Double].self)), order: order, oneDimensional: oneDimensional)
    }
}

extension Matrix where Scalar: TensorScalar {
    /// The matrix of a `.npy` array.
    public init(_ array: NPYArray<Scalar>) {
        self.init(rows: array.rows, columns: array.columns, elements: array.elements)
    }
}
