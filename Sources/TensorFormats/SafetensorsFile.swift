import Foundation

/// A safetensors file opened for reading: its header is parsed and validated up front, tensor
/// bytes are read from a memory mapping only when asked for.
///
/// ```swift
/// let file = try SafetensorsFile(contentsOf: url)
/// let a = try file.elements("base_model.model.q_proj.lora_A.weight", as: Float.self)  // r·k, row-major
/// ```
public struct SafetensorsFile: Sendable {
    /// The largest header accepted, in bytes (the reference implementation's limit, 100 MB).
    public static let maximumHeaderLength = 100_000_000

    /// The file's path (or the label given to ``init(data:path:)``), used in error messages.
    public let path: String
    /// The `__metadata__` strings, e.g. `["format": "pt"]`.
    public let metadata: [String: String]
    /// Every tensor, in name order.
    public let tensors: [TensorInfo]

    private let bytes: Data
    private let dataStart: Int
    private let indexByName: [String: Int]

    /// Maps the file at `url` and validates its header.
    public init(contentsOf url: URL) throws(TensorFileError) {
        try self.init(data: MappedFile.read(url), path: url.path)
    }

    /// Reads a safetensors image held in memory; `path` names it in errors.
    public init(data: Data, path: String) throws(TensorFileError) {
        let bytes = data.startIndex == 0 ? data : Data(data)
        guard bytes.count >= 8 else { throw .truncated(file: path, needed: 8, available: bytes.count) }
        let headerLength = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw .headerTooLarge(file: path, length: headerLength, limit: Self.maximumHeaderLength)
        }
        let dataStart = 8 + Int(headerLength)
        guard dataStart <= bytes.count else { throw .truncated(file: path, needed: dataStart, available: bytes.count) }
        let header = try SafetensorsHeader.parse(
            bytes.subdata(in: 8..<dataStart), dataSize: bytes.count - dataStart, file: path)
        self.path = path
        self.metadata = header.metadata
        self.tensors = header.tensors
        self.bytes = bytes
        self.dataStart = dataStart
        self.indexByName = Dictionary(uniqueKeysWithValues: header.tensors.enumerated().map { ($1.name, $0) })
    }

    /// The tensor names, sorted.
    public var tensorNames: [String] { tensors.map(\.name) }

    /// Whether a tensor called `name` exists.
    public func contains(_ name: String) -> Bool { indexByName[name] != nil }

    /// The header entry of `name`.
    public func info(_ name: String) throws(TensorFileError) -> TensorInfo {
        guard let index = indexByName[name] else { throw .missingTensor(file: path, tensor: name) }
        return tensors[index]
    }

    /// The raw little-endian bytes of `name`, exactly as stored: a slice sharing the file's
    /// mapping (no copy; its indices start where the tensor lies in the file).
    public func rawBytes(_ name: String) throws(TensorFileError) -> Data {
        let info = try info(name)
        return bytes[(dataStart + info.byteRange.lowerBound)..<(dataStart + info.byteRange.upperBound)]
    }

    /// All elements of `name`, row-major, converted to `T` (F16/BF16/F32 exactly; F64 → Float rounds).
    public func elements<T: TensorScalar>(_ name: String, as _: T.Type = T.self) throws(TensorFileError) -> [T] {
        let info = try info(name)
        guard info.dtype.isConvertible else {
            throw .unsupportedDType(file: path, tensor: name, dtype: info.dtype.rawValue)
        }
        let start = dataStart + info.byteRange.lowerBound
        return bytes.withUnsafeBytes { raw in
            ElementCoding.decode(
                UnsafeRawBufferPointer(rebasing: raw[start..<(start + info.byteCount)]),
                dtype: info.dtype, count: info.elementCount)
        }
    }

    /// The matrix shape of `name` (`[m, n]` → m×n, `[n]` → n×1, `[]` → 1×1); throws for more
    /// than two dimensions.
    public func matrixShape(_ name: String) throws(TensorFileError) -> (rows: Int, columns: Int) {
        let info = try info(name)
        guard let shape = info.matrixShape else { throw .notAMatrix(file: path, tensor: name, shape: info.shape) }
        return shape
    }
}
