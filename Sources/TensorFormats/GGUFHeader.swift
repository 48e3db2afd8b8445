/// The parsed and validated header of a GGUF file, versions 2 and 3, little-endian.
///
/// Layout (every integer little-endian; a string is a `u64` byte length then that many UTF-8
/// bytes):
///
///     "GGUF"  version: u32  tensor_count: u64  metadata_count: u64
///     metadata_count × { key: string  value_type: u32  value }       (see GGUFValue)
///     tensor_count × { name: string  n_dims: u32  ne: u64 × n_dims  ggml_type: u32  offset: u64 }
///     padding to the alignment
///     data section
///
/// The alignment is metadata `general.alignment` (a `uint32` power of two), 32 without it. The
/// data section starts at the first multiple of the alignment after the tensor infos, and each
/// tensor's `offset` is relative to it. Checks, all before any tensor byte is read: every count
/// and length fits in the bytes left (so nothing larger than the file is allocated), keys and
/// tensor names are unique UTF-8, every ggml type is known, `ne[0]` is a whole number of blocks,
/// the byte size `elements / block size × bytes per block` does not overflow, offsets are
/// aligned, every tensor lies within the data section and no two tensors share bytes. Gaps
/// between tensors are allowed (writers pad each tensor to the alignment).
struct GGUFHeader {
    /// ggml's `GGML_MAX_DIMS`.
    static let maximumDimensions = 4
    /// The deepest nesting of arrays of arrays accepted (the format has no limit; parsing
    /// recurses, so a bound keeps a hostile file from exhausting the stack).
    static let maximumArrayDepth = 32
    /// The alignment when the file has no `general.alignment`.
    static let defaultAlignment = 32
    /// `"GGUF"` read as a little-endian `u32`.
    static let magic: UInt32 = 0x4655_4747
    /// The fewest bytes of one metadata entry: key length, value type, a one-byte value.
    static let minimumEntrySize = 8 + 4 + 1
    /// The fewest bytes of one tensor info: name length, n_dims, ggml type, offset.
    static let minimumTensorInfoSize = 8 + 4 + 4 + 8

    let version: UInt32
    let metadata: [String: GGUFValue]
    let metadataKeys: [String]
    let tensors: [GGUFTensorInfo]
    let alignment: Int
    let dataStart: Int

    /// Parses and validates the header at the start of `bytes`, the whole file.
    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws(GGUFError) -> GGUFHeader {
        var cursor = GGUFCursor(bytes: bytes, file: file)
        guard try cursor.load(UInt32.self, "the header") == magic else { throw .notGGUF(file: file) }
        let version = try cursor.load(UInt32.self, "the header")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(file: file, version: version) }
        let tensorCount = try cursor.load(UInt64.self, "the header")
        let entryCount = try cursor.count(minimumSize: minimumEntrySize, "the metadata count")

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for index in 0..<entryCount {
            let key = try cursor.string("metadata entry \(index) key")
            let typeID = try cursor.load(UInt32.self, "metadata \"\(key)\"")
            guard let type = GGUFValueType(rawValue: typeID) else {
                throw .malformed(file: file, section: "metadata \"\(key)\"", reason: "unknown value type \(typeID)")
            }
            let value = try cursor.value(type, key: key)
            guard metadata.updateValue(value, forKey: key) == nil else { throw .duplicateKey(file: file, key: key) }
            keys.append(key)
        }
        let alignment = try alignment(metadata, file: file)

        // Bounded only now, against the bytes after the metadata: a tighter limit.
        let infoCount = try cursor.count(tensorCount, minimumSize: minimumTensorInfoSize, "the tensor count")
        var pending: [(info: GGUFTensorInfo, offset: UInt64)] = []
        var names = Set<String>()
        for index in 0..<infoCount {
            let name = try cursor.string("tensor info \(index) name")
            guard names.insert(name).inserted else { throw .duplicateTensor(file: file, tensor: name) }
            let dimensionCount = try cursor.load(UInt32.self, "tensor \"\(name)\" info")
            guard dimensionCount <= maximumDimensions else {
                throw .malformed(file: file, section: "tensor \"\(name)\" info",
                                 reason: "\(dimensionCount) dimensions; ggml allows at most \(maximumDimensions)")
            }
            var dimensions: [UInt64] = []
            for _ in 0..<dimensionCount { dimensions.append(try cursor.load(UInt64.self, "tensor \"\(name)\" info")) }
            let typeID = try cursor.load(UInt32.self, "tensor \"\(name)\" info")
            let offset = try cursor.load(UInt64.self, "tensor \"\(name)\" info")
            guard let type = GGMLType(rawValue: typeID) else {
                throw .unknownTensorType(file: file, tensor: name, typeID: typeID)
            }
            let size = try checkedSize(dimensions, type: type, tensor: name, file: file)
            guard offset % UInt64(alignment) == 0 else {
                throw .misalignedOffset(file: file, tensor: name, offset: offset, alignment: alignment)
            }
            // The offset is stored once it is known to lie in the data section (below).
            pending.append((GGUFTensorInfo(name: name, dimensions: size.dimensions, type: type, offset: 0,
                                           elementCount: size.elements, byteCount: size.bytes), offset))
        }

        let dataStart = (cursor.position + alignment - 1) / alignment * alignment
        if !pending.isEmpty && dataStart > bytes.count {
            throw .truncated(file: file, section: "the padding before the data section", needed: dataStart, available: bytes.count)
        }
        let dataSize = max(0, bytes.count - dataStart)
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(pending.count)
        for (info, offset) in pending {
            guard offset <= UInt64(dataSize), info.byteCount <= dataSize - Int(offset) else {
                throw .offsetOutOfRange(file: file, tensor: info.name, offset: offset, byteCount: info.byteCount, dataSize: dataSize)
            }
            tensors.append(GGUFTensorInfo(name: info.name, dimensions: info.dimensions, type: info.type, offset: Int(offset),
                                          elementCount: info.elementCount, byteCount: info.byteCount))
        }
        try checkOverlaps(tensors, file: file)
        return GGUFHeader(version: version, metadata: metadata, metadataKeys: keys, tensors: tensors,
                          alignment: alignment, dataStart: dataStart)
    }

    /// `general.alignment`, which must be a `uint32` power of two, or the default.
    private static func alignment(_ metadata: [String: GGUFValue], file: String) throws(GGUFError) -> Int {
        let key = "general.alignment"
        guard let value = metadata[key] else { return defaultAlignment }
        guard case let .uint32(alignment) = value else {
            throw .wrongValueType(file: file, key: key, expected: "uint32", actual: value.typeDescription)
        }
        guard alignment != 0, alignment & (alignment - 1) == 0 else {
            throw .invalidValue(file: file, key: key, reason: "alignment \(alignment) is not a power of two")
        }
        return Int(alignment)
    }

    /// The dimensions as `Int`, the element count and the byte size, or why they are unusable.
    private static func checkedSize(
        _ dimensions: [UInt64], type: GGMLType, tensor: String, file: String
    ) throws(GGUFError) -> (dimensions: [Int], elements: Int, bytes: Int) {
        func invalid(_ reason: String) -> GGUFError {
            .invalidDimensions(file: file, tensor: tensor, dimensions: dimensions, reason: reason)
        }
        var elements = 1
        for dimension in dimensions {
            // ggml holds dimensions as int64_t.
            guard dimension <= UInt64(Int64.max) else { throw invalid("exceed Int64.max") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(dimension))
            guard !overflow else { throw invalid("overflow: the element count exceeds \(Int.max)") }
            elements = product
        }
        let rowLength = dimensions.first.map { Int($0) } ?? 1
        guard rowLength % type.blockSize == 0 else {
            throw invalid("ne[0] = \(rowLength) is not a multiple of \(type)'s block size \(type.blockSize)")
        }
        let (bytes, overflow) = (elements / type.blockSize).multipliedReportingOverflow(by: type.bytesPerBlock)
        guard !overflow else { throw invalid("overflow: the byte size exceeds \(Int.max)") }
        // A zero dimension elsewhere makes the tensor empty, but a row's byte size is still
        // used to locate rows, so it must be representable too.
        guard !(rowLength / type.blockSize).multipliedReportingOverflow(by: type.bytesPerBlock).overflow else {
            throw invalid("overflow: a row's byte size exceeds \(Int.max)")
        }
        return (dimensions.map { Int($0) }, elements, bytes)
    }

    /// No two tensors with bytes may share any (zero-byte tensors own nothing).
    private static func checkOverlaps(_ tensors: [GGUFTensorInfo], file: String) throws(GGUFError) {
        let sorted = tensors.filter { $0.byteCount > 0 }.sorted { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        for (previous, tensor) in zip(sorted, sorted.dropFirst()) where tensor.offset < previous.byteRange.upperBound {
            throw .overlappingTensors(file: file, tensor: tensor.name, other: previous.name)
        }
    }
}

/// Reads the header front to back, every read bounds-checked against the file's bytes.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var position = 0

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    private var remaining: Int { bytes.count - position }

    /// The next `T`; `section` (built only on failure) names what was being read.
    mutating func load<T: FixedWidthInteger>(_: T.Type, _ section: @autoclosure () -> String) throws(GGUFError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else {
            throw .truncated(file: file, section: section(), needed: position + size, available: bytes.count)
        }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += size
        return value
    }

    /// A `u64` count (or the already read `count`) of items of at least `minimumSize` bytes
    /// each, checked against the bytes left so that no allocation exceeds the file.
    mutating func count(
        _ given: UInt64? = nil, minimumSize: Int, _ section: @autoclosure () -> String
    ) throws(GGUFError) -> Int {
        let count: UInt64
        if let given { count = given } else { count = try load(UInt64.self, section()) }
        guard count <= UInt64(remaining / minimumSize) else {
            let (bytes, overflow) = count.multipliedReportingOverflow(by: UInt64(minimumSize))
            throw .countTooLarge(file: file, section: section(), count: count, minimumBytes: overflow ? .max : bytes,
                                 available: remaining)
        }
        return Int(count)
    }

    /// A string: `u64` length, then that many bytes, which must be UTF-8.
    mutating func string(_ section: @autoclosure () -> String) throws(GGUFError) -> String {
        let length = try load(UInt64.self, section())
        guard length <= UInt64(remaining) else {
            let (end, overflow) = UInt64(position).addingReportingOverflow(length)
            throw .truncated(file: file, section: section(), needed: overflow ? .max : Int(clamping: end), available: bytes.count)
        }
        let utf8 = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + Int(length))])
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw .malformed(file: file, section: section(), reason: "a string of \(length) bytes is not UTF-8")
        }
        position += Int(length)
        return string
    }

    /// A value of `type`, the value of metadata `key`.
    mutating func value(_ type: GGUFValueType, key: String) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: .uint8(try load(UInt8.self, "metadata \"\(key)\""))
        case .int8: .int8(try load(Int8.self, "metadata \"\(key)\""))
        case .uint16: .uint16(try load(UInt16.self, "metadata \"\(key)\""))
        case .int16: .int16(try load(Int16.self, "metadata \"\(key)\""))
        case .uint32: .uint32(try load(UInt32.self, "metadata \"\(key)\""))
        case .int32: .int32(try load(Int32.self, "metadata \"\(key)\""))
        case .uint64: .uint64(try load(UInt64.self, "metadata \"\(key)\""))
        case .int64: .int64(try load(Int64.self, "metadata \"\(key)\""))
        case .float32: .float32(Float(bitPattern: try load(UInt32.self, "metadata \"\(key)\"")))
        case .float64: .float64(Double(bitPattern: try load(UInt64.self, "metadata \"\(key)\"")))
        case .bool: .bool(try bool(key: key))
        case .string: .string(try string("metadata \"\(key)\""))
        case .array: .array(try array(key: key, depth: 1))
        }
    }

    private mutating func bool(key: String) throws(GGUFError) -> Bool {
        let byte = try load(UInt8.self, "metadata \"\(key)\"")
        guard byte <= 1 else {
            throw .malformed(file: file, section: "metadata \"\(key)\"", reason: "bool byte \(byte) is neither 0 nor 1")
        }
        return byte == 1
    }

    /// An array: `u32` element type, `u64` count, the elements; `depth` counts the enclosing arrays.
    private mutating func array(key: String, depth: Int) throws(GGUFError) -> GGUFArray {
        let typeID = try load(UInt32.self, "metadata \"\(key)\"")
        guard let elementType = GGUFValueType(rawValue: typeID) else {
            throw .malformed(file: file, section: "metadata \"\(key)\"", reason: "unknown array element type \(typeID)")
        }
        let count = try count(minimumSize: elementType.minimumEncodedSize, "metadata \"\(key)\"")
        switch elementType {
        case .uint8: return .uint8(scalars(count, UInt8.self) { $0 })
        case .int8: return .int8(scalars(count, Int8.self) { $0 })
        case .uint16: return .uint16(scalars(count, UInt16.self) { $0 })
        case .int16: return .int16(scalars(count, Int16.self) { $0 })
        case .uint32: return .uint32(scalars(count, UInt32.self) { $0 })
        case .int32: return .int32(scalars(count, Int32.self) { $0 })
        case .uint64: return .uint64(scalars(count, UInt64.self) { $0 })
        case .int64: return .int64(scalars(count, Int64.self) { $0 })
        case .float32: return .float32(scalars(count, UInt32.self, Float.init(bitPattern:)))
        case .float64: return .float64(scalars(count, UInt64.self, Double.init(bitPattern:)))
        case .bool:
            var values: [Bool] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try bool(key: key)) }
            return .bool(values)
        case .string:
            // No reservation: a count can claim a string per 8 bytes left, 16 bytes of `String` each.
            var values: [String] = []
            for _ in 0..<count { values.append(try string("metadata \"\(key)\"")) }
            return .string(values)
        case .array:
            guard depth < GGUFHeader.maximumArrayDepth else {
                throw .malformed(file: file, section: "metadata \"\(key)\"",
                                 reason: "arrays nested deeper than \(GGUFHeader.maximumArrayDepth) levels")
            }
            var values: [GGUFArray] = []
            for _ in 0..<count { values.append(try array(key: key, depth: depth + 1)) }
            return .array(values)
        }
    }

    /// `count` little-endian words, each converted by `convert`; `count(minimumSize:)` has
    /// already checked that they lie within the file.
    private mutating func scalars<Word: FixedWidthInteger, Element>(
        _ count: Int, _: Word.Type, _ convert: (Word) -> Element
    ) -> [Element] {
        let start = position
        let size = MemoryLayout<Word>.size
        position += count * size
        return [Element](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count {
                out[i] = convert(Word(littleEndian: bytes.loadUnaligned(fromByteOffset: start + i * size, as: Word.self)))
            }
            initialized = count
        }
    }
}
