import Foundation
import LinearAlgebra

/// The memory order of a `.npy` array: C (row-major) or Fortran (column-major).
public enum NPYOrder: Sendable {
    case c
    case fortran
}

/// The header of a `.npy` file.
public struct NPYInfo: Sendable, Equatable {
    /// The format's major version (1, 2 or 3).
    public let version: UInt8
    /// `.float32` for `<f4`, `.float64` for `<f8`.
    public let dtype: TensorDType
    /// C or Fortran order.
    public let order: NPYOrder
    /// The shape, 0 to 2 dimensions.
    public let shape: [Int]
    /// Where the elements start, a multiple of 64 for files numpy writes.
    public let dataOffset: Int
}

/// numpy's `.npy` format for 1-D and 2-D `<f4`/`<f8` arrays: reads versions 1.0, 2.0 and 3.0, writes 1.0.
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

    /// The header of the `.npy` file at `url`.
    public static func info(_ url: URL) throws(TensorFileError) -> NPYInfo {
        let header = try NPYHeader.parse(MappedFile.read(url), path: url.path)
        return NPYInfo(version: header.version, dtype: header.dtype, order: header.order, shape: header.shape, dataOffset: header.dataStart)
    }

    /// Decodes a `.npy` image; `path` names it in errors.
    public static func decode<T: MatrixScalar>(_ data: Data, path: String, as _: T.Type = T.self) throws(TensorFileError) -> Matrix<T> {
        let bytes = data.startIndex == 0 ? data : Data(data)
        let header = try NPYHeader.parse(bytes, path: path)
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
        do {
            try encode(matrix, order: order, oneDimensional: oneDimensional).write(to: url, options: .atomic)
        } catch {
            throw .fileError(file: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// The `.npy` image of `matrix`, format version 1.0 (a header for at most two dimensions is
    /// far below version 1's 65535-byte limit).
    public static func encode<T: MatrixScalar>(_ matrix: Matrix<T>, order: NPYOrder = .c, oneDimensional: Bool = false) -> Data {
        precondition(!oneDimensional || matrix.rows == 1 || matrix.columns == 1,
                     "NPY.encode: a \(matrix.shapeDescription) matrix is not one-dimensional")
        let dtype: TensorDType = T.self == Double.self ? .float64 : .float32
        let shape = oneDimensional ? "(\(matrix.count),)" : "(\(matrix.rows), \(matrix.columns))"
        let fortran = order == .fortran && !oneDimensional
        var dictionary = Array("{'descr': '<\(dtype == .float64 ? "f8" : "f4")', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }".utf8)
        let prefixLength = 10  // magic, version, u16 header length
        dictionary += [UInt8](repeating: UInt8(ascii: " "), count: (64 - (prefixLength + dictionary.count + 1) % 64) % 64)
        dictionary.append(UInt8(ascii: "\n"))
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(dictionary.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: dictionary)
        data.append(ElementCoding.encode(fortran ? matrix.transposed.elements : matrix.elements, as: dtype))
        return data
    }
}
