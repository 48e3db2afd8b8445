import FileSafety
import Foundation

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
    /// The `.npy` file at `url` (memory-mapped), elements converted to `T`.
    public static func read<T: TensorScalar>(_ url: URL, as _: T.Type = T.self) throws(TensorFileError) -> NPYArray<T> {
        try decode(MappedFile.read(url), path: url.path, as: T.self)
    }

    /// The header of the `.npy` file at `url`.
    public static func info(_ url: URL) throws(TensorFileError) -> NPYInfo {
        let header = try NPYHeader.parse(MappedFile.read(url), path: url.path)
        return NPYInfo(version: header.version, dtype: header.dtype, order: header.order, shape: header.shape, dataOffset: header.dataStart)
    }

    /// Decodes a `.npy` image; `path` names it in errors. Fortran order is transposed into rows.
    public static func decode<T: TensorScalar>(_ data: Data, path: String, as _: T.Type = T.self) throws(TensorFileError) -> NPYArray<T> {
        let bytes = data.startIndex == 0 ? data : Data(data)
        let header = try NPYHeader.parse(bytes, path: path)
        let (rows, columns) = header.matrixShape
        let elements: [T] = bytes.withUnsafeBytes { raw in
            ElementCoding.decode(UnsafeRawBufferPointer(rebasing: raw[header.dataStart...]),
                                 dtype: header.dtype, count: rows * columns)
        }
        switch header.order {
        case .c: return NPYArray(rows: rows, columns: columns, elements: elements)
        case .fortran: return NPYArray(rows: columns, columns: rows, elements: elements).transposed
        }
    }

    /// Writes `array` (m×n) to `url` atomically, as `<f4` for `Float` or `<f8` for `Double`.
    /// `oneDimensional` writes an n×1 or 1×n array with shape `(n,)`.
    public static func write<T: TensorScalar>(
        _ array: NPYArray<T>, to url: URL, order: NPYOrder = .c, oneDimensional: Bool = false
    ) throws(TensorFileError) {
        do {
            try StagedFiles.write(encode(array, order: order, oneDimensional: oneDimensional), to: url)
        } catch {
            throw TensorFileError(error)
        }
    }

    /// The `.npy` image of `array`, format version 1.0 (a header for at most two dimensions is
    /// far below version 1's 65535-byte limit).
    public static func encode<T: TensorScalar>(_ array: NPYArray<T>, order: NPYOrder = .c, oneDimensional: Bool = false) -> Data {
        precondition(!oneDimensional || array.rows == 1 || array.columns == 1,
                     "NPY.encode: a \(array.rows)×\(array.columns) array is not one-dimensional")
        let dtype: TensorDType = T.self == Double.self ? .float64 : .float32
        let shape = oneDimensional ? "(\(array.elements.count),)" : "(\(array.rows), \(array.columns))"
        let fortran = order == .fortran && !oneDimensional
        var dictionary = Array("{'descr': '<\(dtype == .float64 ? "f8" : "f4")', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }".utf8)
        let prefixLength = 10  // magic, version, u16 header length
        dictionary += [UInt8](repeating: UInt8(ascii: " "), count: (64 - (prefixLength + dictionary.count + 1) % 64) % 64)
        dictionary.append(UInt8(ascii: "\n"))
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(dictionary.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: dictionary)
        data.append(ElementCoding.encode(fortran ? array.transposed.elements : array.elements, as: dtype))
        return data
    }
}

/// A `.npy` array as an `m×n` row-major block of elements (a 1-D `(n,)` array is `n×1`).
public struct NPYArray<Scalar: TensorScalar>: Sendable, Equatable {
    /// Number of rows `m`.
    public let rows: Int
    /// Number of columns `n`.
    public let columns: Int
    /// The `m·n` elements, row-major.
    public let elements: [Scalar]

    /// An `m×n` array from row-major `elements` (`elements.count == rows·columns`).
    public init(rows: Int, columns: Int, elements: [Scalar]) {
        precondition(rows >= 0 && columns >= 0 && elements.count == rows * columns,
                     "NPYArray: \(rows)×\(columns) needs \(rows * columns) elements, got \(elements.count)")
        (self.rows, self.columns, self.elements) = (rows, columns, elements)
    }

    /// The `n×m` transpose.
    var transposed: NPYArray {
        var result = [Scalar](repeating: 0, count: elements.count)
        for i in 0..<rows {
            for j in 0..<columns { result[j * rows + i] = elements[i * columns + j] }
        }
        return NPYArray(rows: columns, columns: rows, elements: result)
    }
}
