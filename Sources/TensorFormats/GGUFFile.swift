import Foundation

/// A GGUF file (the llama.cpp / ggml model format, versions 2 and 3, little-endian) opened for
/// reading: the header, metadata and tensor infos are parsed and validated up front (the layout
/// and every check are listed in GGUFHeader.swift); tensor bytes are read from a memory mapping
/// only when asked for.
///
/// ```swift
/// let file = try GGUFFile(contentsOf: url)
/// let layers = try file.integer("llama.block_count")
/// let wq = try file.dequantized("blk.0.attn_q.weight")   // row-major, shape try file.shape(…)
/// ```
///
/// Shapes: GGUF stores dimensions fastest-varying first; ``GGUFTensorInfo/dimensions`` keeps
/// that order and ``GGUFTensorInfo/shape`` is it reversed. Dequantized elements come in storage
/// order, which is row-major for `shape`: a `[rows, rowLength]` matrix for a 2-D weight.
public struct GGUFFile: Sendable {
    /// The file's path (or the label given to ``init(data:path:)``), used in error messages.
    public let path: String
    /// The format version, 2 or 3 (they differ only in that 3 allows big-endian files, which
    /// LoRAKit refuses).
    public let version: UInt32
    /// Every metadata entry by key.
    public let metadata: [String: GGUFValue]
    /// The metadata keys in file order.
    public let metadataKeys: [String]
    /// Every tensor, in file order.
    public let tensors: [GGUFTensorInfo]
    /// The alignment of the data section and of every tensor offset: `general.alignment`, or 32.
    public let alignment: Int
    /// The file offset of the data section, which tensor offsets are relative to.
    public let dataOffset: Int

    private let bytes: Data
    private let indexByName: [String: Int]

    /// Maps the file at `url` and validates its header.
    public init(contentsOf url: URL) throws(GGUFError) {
        let data: Data
        do {
            data = try MappedFile.read(url)
        } catch {
            if case let .fileError(_, reason) = error { throw .fileError(file: url.path, reason: reason) }
            throw .fileError(file: url.path, reason: error.description)
        }
        try self.init(data: data, path: url.path)
    }

    /// Reads a GGUF image held in memory; `path` names it in errors.
    public init(data: Data, path: String) throws(GGUFError) {
        let bytes = data.startIndex == 0 ? data : Data(data)
        let parsed = bytes.withUnsafeBytes { raw in
            Result { () throws(GGUFError) in try GGUFHeader.parse(raw, file: path) }
        }
        let header = try parsed.get()
        self.path = path
        self.version = header.version
        self.metadata = header.metadata
        self.metadataKeys = header.metadataKeys
        self.tensors = header.tensors
        self.alignment = header.alignment
        self.dataOffset = header.dataStart
        self.bytes = bytes
        self.indexByName = Dictionary(uniqueKeysWithValues: header.tensors.enumerated().map { ($1.name, $0) })
    }

    // MARK: Tensors

    /// The tensor names, in file order.
    public var tensorNames: [String] { tensors.map(\.name) }

    /// Whether a tensor called `name` exists.
    public func contains(_ name: String) -> Bool { indexByName[name] != nil }

    /// The tensor info of `name`.
    public func info(_ name: String) throws(GGUFError) -> GGUFTensorInfo {
        guard let index = indexByName[name] else { throw .missingTensor(file: path, tensor: name) }
        return tensors[index]
    }

    /// The row-major shape of `name`, outermost first (its GGUF dimensions reversed).
    public func shape(_ name: String) throws(GGUFError) -> [Int] { try info(name).shape }

    /// The bytes of `name` exactly as stored (blocks for quantized types): a slice sharing the
    /// file's mapping (no copy; its indices start where the tensor lies in the file).
    public func rawBytes(_ name: String) throws(GGUFError) -> Data {
        let info = try info(name)
        return bytes[(dataOffset + info.offset)..<(dataOffset + info.offset + info.byteCount)]
    }

    /// All elements of `name` as `Float`, row-major for ``GGUFTensorInfo/shape``; throws
    /// ``GGUFError/unsupportedTensorType(file:tensor:type:)`` unless the type is one of
    /// ``GGMLType/dequantizable``.
    public func dequantized(_ name: String) throws(GGUFError) -> [Float] {
        let info = try info(name)
        return try dequantizedRows(name, 0..<info.rowCount)
    }

    /// Rows `rows` of `name` (a row is `ne[0]` = ``GGUFTensorInfo/rowLength`` elements), as
    /// `Float`, one row after the other; for a 2-D weight, the rows of the `[rows, rowLength]`
    /// matrix, e.g. the embeddings of some tokens without converting the whole table.
    public func dequantizedRows(_ name: String, _ rows: Range<Int>) throws(GGUFError) -> [Float] {
        let info = try info(name)
        guard info.type.isDequantizable else { throw .unsupportedTensorType(file: path, tensor: name, type: info.type) }
        guard rows.lowerBound >= 0, rows.upperBound <= info.rowCount else {
            throw .rowsOutOfRange(file: path, tensor: name, rows: rows, rowCount: info.rowCount)
        }
        let count = rows.count * info.rowLength
        let start = dataOffset + info.offset + rows.lowerBound * info.bytesPerRow
        let byteCount = rows.count * info.bytesPerRow
        return bytes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { output, initialized in
                GGUFDequantization.dequantizeRow(
                    type: info.type, bytes: UnsafeRawBufferPointer(rebasing: raw[start..<(start + byteCount)]),
                    count: count, into: output)
                initialized = count
            }
        }
    }

    // MARK: Metadata

    /// The value of metadata `key`; throws ``GGUFError/missingKey(file:key:)`` when absent.
    public func value(_ key: String) throws(GGUFError) -> GGUFValue {
        guard let value = metadata[key] else { throw .missingKey(file: path, key: key) }
        return value
    }

    /// The string value of `key`.
    public func string(_ key: String) throws(GGUFError) -> String {
        let value = try value(key)
        guard let string = value.stringValue else { throw mistyped(key, value, expected: "a string") }
        return string
    }

    /// The value of `key`, of any of the eight integer types, as `Int` (a `uint64` past
    /// `Int.max` throws ``GGUFError/invalidValue(file:key:reason:)``).
    public func integer(_ key: String) throws(GGUFError) -> Int {
        let value = try value(key)
        if let integer = value.integerValue { return integer }
        if case let .uint64(big) = value { throw .invalidValue(file: path, key: key, reason: "uint64 \(big) exceeds Int.max") }
        throw mistyped(key, value, expected: "an integer")
    }

    /// The value of `key`, a `float32` (widened exactly) or `float64`.
    public func float(_ key: String) throws(GGUFError) -> Double {
        let value = try value(key)
        guard let float = value.floatValue else { throw mistyped(key, value, expected: "a float32 or float64") }
        return float
    }

    /// The bool value of `key`.
    public func bool(_ key: String) throws(GGUFError) -> Bool {
        let value = try value(key)
        guard let bool = value.boolValue else { throw mistyped(key, value, expected: "a bool") }
        return bool
    }

    /// The array value of `key`, of any element type.
    public func array(_ key: String) throws(GGUFError) -> GGUFArray {
        let value = try value(key)
        guard let array = value.arrayValue else { throw mistyped(key, value, expected: "an array") }
        return array
    }

    /// The elements of `key`, an array of strings (e.g. `tokenizer.ggml.tokens`).
    public func stringArray(_ key: String) throws(GGUFError) -> [String] {
        let array = try array(key)
        guard case let .string(strings) = array else { throw mistyped(key, .array(array), expected: "an array of string") }
        return strings
    }

    /// The elements of `key`, an array of any integer type, as `Int`.
    public func integerArray(_ key: String) throws(GGUFError) -> [Int] {
        let array = try array(key)
        if let integers = array.integers { return integers }
        if case .uint64 = array { throw .invalidValue(file: path, key: key, reason: "a uint64 element exceeds Int.max") }
        throw mistyped(key, .array(array), expected: "an array of integers")
    }

    /// The elements of `key`, an array of `float32` (widened exactly) or `float64`.
    public func floatArray(_ key: String) throws(GGUFError) -> [Double] {
        let array = try array(key)
        guard let floats = array.floats else { throw mistyped(key, .array(array), expected: "an array of float32 or float64") }
        return floats
    }

    private func mistyped(_ key: String, _ value: GGUFValue, expected: String) -> GGUFError {
        .wrongValueType(file: path, key: key, expected: expected, actual: value.typeDescription)
    }
}
