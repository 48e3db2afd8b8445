import Foundation
import LinearAlgebra

/// The memory order of a `.npy` array: C (row-major) or Fortran (column-major).
public enum NPYOrder: Sendable {
    case c
    case fortran
}

/// numpy's `.npy` format (versions 1.0, 2.0, 3.0) for 1-D and 2-D `<f4`/`<f8` arrays.
///
/// Layout: `\x93NUMPY`, major and minor version bytes, the header length (`u16` LE in 1.0,
/// `u32` LE in 2.0/3.0), a Python dict literal `{'descr': '<f8', 'fortran_order': False,
/// 'shape': (m, n), }` padded with spaces and a newline so the data starts at a multiple of 64,
/// then the elements. A 1-D array `(n,)` reads as an n×1 matrix, a 0-D one as 1×1.
public enum NPY {
    /// The `.npy` file at `url` (memory-mapped) as a matrix of `T`.
    public static func read<T: MatrixScalar>(_ url: URL, as _: T.Type = T.self) throws(TensorFileError) -> Matrix<T> {
        try decode(MappedFile.read(url), path: url.path, as: T.self)
    }

    /// Decodes a `.npy` image; `path` names it in errors.
    public static func decode<T: MatrixScalar>(_ data: Data, path: String, as _: T.Type = T.self) throws(TensorFileError) -> Matrix<T> {
        let bytes = data.startIndex == 0 ? data : Data(data)
        let header = try NPYHeader.parse(bytes, path: path)
        let available = bytes.count - header.dataStart
        guard available == header.byteCount else {
            throw .sizeMismatch(file: path, tensor: "array", expectedBytes: header.byteCount, actualBytes: available)
        }
        let (rows, columns) = header.matrixShape
        let elements: [T] = bytes.withUnsafeBytes { raw in
            ElementCoding.decode(UnsafeRawBufferPointer(rebasing: raw[header.dataStart...]),
                                 dtype: header.dtype, count: rows * columns)
        }
        switch header.order {
        case .c: return Matrix(rows: rows, columns: columns, elements: elements)
        case .fortran: return Matrix(rows: columns, columns: rows, elements: elements).transposed
        }
    }

    /// Writes `matrix` (m×n) to `url` atomically, as `<f4` for `Float` or `<f8` for `Double`.
    /// `oneDimensional` writes an n×1 or 1×n matrix with shape `(n,)`.
    public static func write<T: MatrixScalar>(
        _ matrix: Matrix<T>, to url: URL, order: NPYOrder = .c, oneDimensional: Bool = false
    ) throws(TensorFileError) {
        try writeAtomically(encode(matrix, order: order, oneDimensional: oneDimensional), to: url)
    }

    /// The `.npy` image of `matrix`: version 1.0, or 2.0 when the header needs more than 65535 bytes.
    public static func encode<T: MatrixScalar>(_ matrix: Matrix<T>, order: NPYOrder = .c, oneDimensional: Bool = false) -> Data {
        precondition(!oneDimensional || matrix.rows == 1 || matrix.columns == 1,
                     "NPY.encode: a \(matrix.shapeDescription) matrix is not one-dimensional")
        let dtype: TensorDType = T.self == Double.self ? .float64 : .float32
        let shape = oneDimensional ? "(\(matrix.count),)" : "(\(matrix.rows), \(matrix.columns))"
        let fortran = order == .fortran && !oneDimensional
        var dictionary = Array("{'descr': '<\(dtype == .float64 ? "f8" : "f4")', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }".utf8)
        let version: UInt8 = dictionary.count + 1 + 10 <= 65535 ? 1 : 2
        let prefixLength = version == 1 ? 10 : 12
        dictionary += [UInt8](repeating: UInt8(ascii: " "), count: (64 - (prefixLength + dictionary.count + 1) % 64) % 64)
        dictionary.append(UInt8(ascii: "\n"))
        var data = Data([0x93] + Array("NUMPY".utf8) + [version, 0])
        if version == 1 {
            withUnsafeBytes(of: UInt16(dictionary.count).littleEndian) { data.append(contentsOf: $0) }
        } else {
            withUnsafeBytes(of: UInt32(dictionary.count).littleEndian) { data.append(contentsOf: $0) }
        }
        data.append(contentsOf: dictionary)
        data.append(ElementCoding.encode(fortran ? matrix.transposed.elements : matrix.elements, as: dtype))
        return data
    }
}
