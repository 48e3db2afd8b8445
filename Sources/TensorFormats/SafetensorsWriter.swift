import FileSafety
import Foundation

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

    /// Adds row-major `elements` of `shape` as tensor `name` stored as `dtype` (rounded to
    /// nearest, ties to even); the product of `shape` must equal the element count.
    public mutating func add<T: TensorScalar>(_ name: String, elements: [T], shape: [Int], as dtype: TensorDType) {
        precondition(shape.reduce(1, *) == elements.count,
                     "SafetensorsWriter.add: shape \(shape) does not hold \(elements.count) elements")
        precondition(dtype.isConvertible, "SafetensorsWriter.add: \(dtype.rawValue) is not a floating-point dtype")
        addRaw(name, dtype: dtype, shape: shape, bytes: ElementCoding.encode(elements, as: dtype))
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
        let (header, order) = layout()
        var file = header
        for entry in order { file.append(entry.bytes) }
        return file
    }

    /// Writes the file to `url` atomically: the header and the tensors are streamed into a
    /// temporary file in the same directory (no second copy of the model in memory), which is
    /// then renamed over `url`. On failure or interruption the temporary file is removed and `url`
    /// is untouched.
    public func write(to url: URL) throws(TensorFileError) {
        let files = StagedFiles()
        do {
            try stage(url, in: files)
            try files.commit()
        } catch {
            throw TensorFileError(error)
        }
    }

    /// Streams the file into `files`' temporary for `url`, to be committed with other files.
    public func stage(_ url: URL, in files: StagedFiles) throws(FileSystemError) {
        let (header, order) = layout()
        try files.stage(url) { output throws(FileSystemError) in
            try output.write(header)
            for entry in order { try output.write(entry.bytes) }
        }
    }

    /// The header (length field, JSON padded with spaces to a multiple of 8) and the entries in data order.
    private func layout() -> (header: Data, order: [Entry]) {
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
        var data = Data(capacity: 8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        return (data, order.map(\.value))
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
