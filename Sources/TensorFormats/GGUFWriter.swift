import FileSafety
import Foundation

/// Builds a GGUF file (version 3, little-endian; the layout in GGUFHeader.swift) from metadata
/// and tensors, and writes it atomically.
///
/// Metadata keeps the order it is given in; tensors are laid out in the order added, each at an
/// offset that is a multiple of the alignment (`general.alignment`, else 32) and padded with
/// zeros to the next one, as gguf-py writes them.
///
/// ```swift
/// var writer = GGUFWriter(metadata: source.metadataKeys.map { ($0, source.metadata[$0]!) })
/// writer.setMetadata("general.file_type", .uint32(1))
/// writer.add("blk.0.attn_q.weight", elements: wq.elements, shape: [576, 576], as: .f16)
/// try writer.write(to: url)
/// ```
public struct GGUFWriter: Sendable {
    /// The metadata entries in file order.
    public private(set) var metadata: [(key: String, value: GGUFValue)]
    private var tensors: [(name: String, shape: [Int], type: GGMLType, bytes: Data)] = []

    public init(metadata: [(key: String, value: GGUFValue)] = []) {
        precondition(Set(metadata.map(\.key)).count == metadata.count, "GGUFWriter: a metadata key is given twice")
        self.metadata = metadata
    }

    /// Sets `key` to `value`, in place if it is there, else at the end.
    public mutating func setMetadata(_ key: String, _ value: GGUFValue) {
        if let index = metadata.firstIndex(where: { $0.key == key }) {
            metadata[index].value = value
        } else {
            metadata.append((key, value))
        }
    }

    /// The tensor names added so far, in file order.
    public var tensorNames: [String] { tensors.map(\.name) }

    /// Adds row-major `elements` of `shape` (outermost first, as ``GGUFTensorInfo/shape``) as
    /// tensor `name` of type `type`, F32 or F16 (rounded to nearest, ties to even).
    public mutating func add(_ name: String, elements: [Float], shape: [Int], as type: GGMLType) {
        precondition(shape.reduce(1, *) == elements.count, "GGUFWriter.add: shape \(shape) does not hold \(elements.count) elements")
        let dtype: TensorDType = switch type {
        case .f32: .float32
        case .f16: .float16
        default: preconditionFailure("GGUFWriter.add: \(type) elements are not encoded here; add their blocks with addRaw")
        }
        addRaw(name, shape: shape, type: type, bytes: ElementCoding.encode(elements, as: dtype))
    }

    /// Adds `bytes` exactly as stored (blocks for quantized types) as tensor `name`.
    public mutating func addRaw(_ name: String, shape: [Int], type: GGMLType, bytes: Data) {
        precondition(!tensors.contains { $0.name == name }, "GGUFWriter: tensor \"\(name)\" added twice")
        precondition(!shape.isEmpty && shape.count <= GGUFHeader.maximumDimensions && shape.allSatisfy { $0 >= 0 },
                     "GGUFWriter.addRaw: shape \(shape) of \"\(name)\"")
        let rowLength = shape.last!
        precondition(rowLength % type.blockSize == 0, "GGUFWriter.addRaw: rows of \(rowLength) are not whole \(type) blocks")
        precondition(shape.reduce(1, *) / type.blockSize * type.bytesPerBlock == bytes.count,
                     "GGUFWriter.addRaw: \(bytes.count) bytes do not fit shape \(shape) of \(type)")
        tensors.append((name, shape, type, bytes))
    }

    /// The alignment of the data section and of every tensor: `general.alignment` if set.
    private var alignment: Int {
        if case let .uint32(value)? = metadata.first(where: { $0.key == "general.alignment" })?.value, value > 0 {
            precondition(value & (value - 1) == 0, "GGUFWriter: general.alignment \(value) is not a power of two")
            return Int(value)
        }
        return GGUFHeader.defaultAlignment
    }

    /// The complete file image.
    public func encoded() -> Data {
        var file = header()
        for tensor in tensors { file.append(tensor.bytes + padding(after: tensor.bytes)) }
        return file
    }

    /// Writes the file to `url` atomically: streamed into a temporary beside it, renamed over
    /// `url` when complete; on failure or interruption the temporary is removed and `url` untouched.
    public func write(to url: URL) throws(FileSystemError) {
        let files = StagedFiles()
        try stage(url, in: files)
        try files.commit()
    }

    /// Streams the file into `files`' temporary for `url`, to be committed with other files.
    public func stage(_ url: URL, in files: StagedFiles) throws(FileSystemError) {
        let header = header()
        try files.stage(url) { output throws(FileSystemError) in
            try output.write(header)
            for tensor in tensors {
                try output.write(tensor.bytes)
                try output.write(padding(after: tensor.bytes))
            }
        }
    }

    /// The zeros after `bytes` that bring it to a multiple of the alignment.
    private func padding(after bytes: Data) -> Data { Data(count: Self.padding(bytes.count, alignment)) }

    private static func padding(_ count: Int, _ alignment: Int) -> Int { (alignment - count % alignment) % alignment }

    /// Magic, version, counts, metadata, tensor infos and the padding before the data section.
    private func header() -> Data {
        var data = Data()
        data.appendLittleEndian(GGUFHeader.magic)
        data.appendLittleEndian(UInt32(3))
        data.appendLittleEndian(UInt64(tensors.count))
        data.appendLittleEndian(UInt64(metadata.count))
        for (key, value) in metadata {
            data.appendGGUFString(key)
            data.appendLittleEndian(value.type.rawValue)
            data.appendGGUFValue(value)
        }
        var offset = 0
        for tensor in tensors {
            data.appendGGUFString(tensor.name)
            data.appendLittleEndian(UInt32(tensor.shape.count))
            for dimension in tensor.shape.reversed() { data.appendLittleEndian(UInt64(dimension)) }
            data.appendLittleEndian(tensor.type.rawValue)
            data.appendLittleEndian(UInt64(offset))
            offset += tensor.bytes.count + Self.padding(tensor.bytes.count, alignment)
        }
        data.append(Data(count: Self.padding(data.count, alignment)))
        return data
    }
}

extension Data {
    fileprivate mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func appendGGUFString(_ string: String) {
        appendLittleEndian(UInt64(string.utf8.count))
        append(contentsOf: string.utf8)
    }

    /// `value` without its type id (an array's element type and count included).
    fileprivate mutating func appendGGUFValue(_ value: GGUFValue) {
        switch value {
        case let .uint8(v): appendLittleEndian(v)
        case let .int8(v): appendLittleEndian(v)
        case let .uint16(v): appendLittleEndian(v)
        case let .int16(v): appendLittleEndian(v)
        case let .uint32(v): appendLittleEndian(v)
        case let .int32(v): appendLittleEndian(v)
        case let .uint64(v): appendLittleEndian(v)
        case let .int64(v): appendLittleEndian(v)
        case let .float32(v): appendLittleEndian(v.bitPattern)
        case let .float64(v): appendLittleEndian(v.bitPattern)
        case let .bool(v): appendLittleEndian(UInt8(v ? 1 : 0))
        case let .string(v): appendGGUFString(v)
        case let .array(array): appendGGUFArray(array)
        }
    }

    fileprivate mutating func appendGGUFArray(_ array: GGUFArray) {
        appendLittleEndian(array.elementType.rawValue)
        appendLittleEndian(UInt64(array.count))
        switch array {
        case let .uint8(v): append(contentsOf: v)
        case let .int8(v): v.forEach { appendLittleEndian($0) }
        case let .uint16(v): v.forEach { appendLittleEndian($0) }
        case let .int16(v): v.forEach { appendLittleEndian($0) }
        case let .uint32(v): v.forEach { appendLittleEndian($0) }
        case let .int32(v): v.forEach { appendLittleEndian($0) }
        case let .uint64(v): v.forEach { appendLittleEndian($0) }
        case let .int64(v): v.forEach { appendLittleEndian($0) }
        case let .float32(v): v.forEach { appendLittleEndian($0.bitPattern) }
        case let .float64(v): v.forEach { appendLittleEndian($0.bitPattern) }
        case let .bool(v): v.forEach { appendLittleEndian(UInt8($0 ? 1 : 0)) }
        case let .string(v): v.forEach { appendGGUFString($0) }
        case let .array(v): v.forEach { appendGGUFArray($0) }
        }
    }
}
