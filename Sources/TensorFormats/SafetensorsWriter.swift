import Foundation
import LinearAlgebra

/// Builds a safetensors file from named tensors and writes it atomically.
///
/// The header lists `__metadata__` and the tensors with sorted keys, padded with spaces to a
/// multiple of 8 bytes; the data section holds the tensors by decreasing element size, then by
/// name, so every tensor is aligned to its element size. The same tensors give the same bytes.
public struct SafetensorsWriter: Sendable {
    /// The `__metadata__` strings; PEFT writes `["format": "pt"]`.
    public var metadata: [String: String]
    private var entries: [String: Entry] = [:]

    private struct Entry: Sendable {
        let dtype: TensorDType
        let shape: [Int]
        let bytes: Data
    }

    public init(metadata: [String: String] = ["format": "pt"]) {
        self.metadata = metadata
    }

    /// The names added so far, sorted.
    public var tensorNames: [String] { entries.keys.sorted() }

    /// Adds `matrix` (m×n) as tensor `name` stored as `dtype` (rounded to nearest, ties to even),
    /// with shape `[m, n]`, or `shape` when given (its product must equal m·n, e.g. `[n]` for n×1).
    public mutating func add<T: MatrixScalar>(_ name: String, _ matrix: Matrix<T>, as dtype: TensorDType, shape: [Int]? = nil) {
        let shape = shape ?? [matrix.rows, matrix.columns]
        precondition(shape.reduce(1, *) == matrix.count,
                     "SafetensorsWriter.add: shape \(shape) does not hold a \(matrix.shapeDescription) matrix")
        precondition(dtype.isConvertible, "SafetensorsWriter.add: \(dtype.rawValue) is not a floating-point dtype")
        addRaw(name, dtype: dtype, shape: shape, bytes: ElementCoding.encode(matrix.elements, as: dtype))
    }

    /// Adds tensor `name` of `file` with its dtype, shape and bytes unchanged.
    public mutating func addCopy(of name: String, from file: SafetensorsFile) throws(TensorFileError) {
        let info = try file.info(name)
        addRaw(name, dtype: info.dtype, shape: info.shape, bytes: try file.rawBytes(name))
    }

    /// Adds raw little-endian `bytes` (product(shape) × dtype size of them) as tensor `name`.
    public mutating func addRaw(_ name: String, dtype: TensorDType, shape: [Int], bytes: Data) {
        precondition(name != "__metadata__", "SafetensorsWriter: \"__metadata__\" is not a tensor name")
        precondition(entries[name] == nil, "SafetensorsWriter: tensor \"\(name)\" added twice")
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(dtype.byteCount, *) == bytes.count,
                     "SafetensorsWriter.addRaw: \(bytes.count) bytes do not fit shape \(shape) of \(dtype.rawValue)")
        entries[name] = Entry(dtype: dtype, shape: shape, bytes: bytes)
    }

    /// The complete file image.
    public func encoded() -> Data {
        let order = entries.sorted { ($1.value.dtype.byteCount, $0.key) < ($0.value.dtype.byteCount, $1.key) }
        var header: [String: HeaderValue] = [:]
        if !metadata.isEmpty { header["__metadata__"] = .metadata(metadata) }
        var offset = 0
        for (name, entry) in order {
            header[name] = .tensor(dtype: entry.dtype.rawValue, shape: entry.shape, offsets: [offset, offset + entry.bytes.count])
            offset += entry.bytes.count
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var json = try! encoder.encode(header)  // strings and integers always encode
        json.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for (_, entry) in order { file.append(entry.bytes) }
        return file
    }

    /// Writes ``encoded()`` to `url` atomically (temporary file, then rename).
    public func write(to url: URL) throws(TensorFileError) {
        try writeAtomically(encoded(), to: url)
    }
}

/// One value of the header object: the metadata map or a tensor entry.
private enum HeaderValue: Encodable {
    case metadata([String: String])
    case tensor(dtype: String, shape: [Int], offsets: [Int])

    private enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case let .metadata(strings):
            var container = encoder.singleValueContainer()
            try container.encode(strings)
        case let .tensor(dtype, shape, offsets):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(dtype, forKey: .dtype)
            try container.encode(shape, forKey: .shape)
            try container.encode(offsets, forKey: .dataOffsets)
        }
    }
}

/// Writes `data` to `url` through a temporary file and a rename, so a failure leaves no file.
func writeAtomically(_ data: Data, to url: URL) throws(TensorFileError) {
    do {
        try data.write(to: url, options: .atomic)
    } catch {
        throw .fileError(file: url.path, reason: "cannot write: \(error.localizedDescription)")
    }
}
