/// A GGUF file that cannot be read, naming the file and, where there is one, the header section,
/// metadata key or tensor. Every message is one line.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case fileError(file: String, reason: String)
    /// The file does not start with the magic `GGUF`.
    case notGGUF(file: String)
    /// The format version is not 2 or 3 (version 1 used 32-bit counts; a byte-swapped version
    /// means a big-endian file).
    case unsupportedVersion(file: String, version: UInt32)
    /// The file ends inside `section`: reading it needs `needed` bytes, the file has `available`.
    case truncated(file: String, section: String, needed: Int, available: Int)
    /// A count in `section` (metadata entries, tensors, array elements) needs at least
    /// `minimumBytes` more bytes than the `available` bytes left in the file.
    case countTooLarge(file: String, section: String, count: UInt64, minimumBytes: UInt64, available: Int)
    /// `section` holds something that is not GGUF: an unknown value type, a bool that is not 0
    /// or 1, a string that is not UTF-8, arrays nested too deep.
    case malformed(file: String, section: String, reason: String)
    /// Two metadata entries have the same key.
    case duplicateKey(file: String, key: String)
    /// Two tensor infos have the same name.
    case duplicateTensor(file: String, tensor: String)
    /// The tensor's ggml type id is not one LoRAKit knows the block layout of.
    case unknownTensorType(file: String, tensor: String, typeID: UInt32)
    /// The tensor's ggml type is known (its bytes can be read) but not dequantized by LoRAKit.
    case unsupportedTensorType(file: String, tensor: String, type: GGMLType)
    /// The dimensions are too many, too large, overflow, or do not fill whole blocks along `ne[0]`.
    case invalidDimensions(file: String, tensor: String, dimensions: [UInt64], reason: String)
    /// The tensor's data offset is not a multiple of the file's alignment.
    case misalignedOffset(file: String, tensor: String, offset: UInt64, alignment: Int)
    /// `offset ..< offset + byteCount` does not lie within the `dataSize`-byte data section.
    case offsetOutOfRange(file: String, tensor: String, offset: UInt64, byteCount: Int, dataSize: Int)
    /// Two tensors share bytes.
    case overlappingTensors(file: String, tensor: String, other: String)
    /// No metadata entry has this key.
    case missingKey(file: String, key: String)
    /// The metadata value has another type than the one asked for (`actual` as GGUF names it,
    /// e.g. `"uint32"`, `"array of string"`).
    case wrongValueType(file: String, key: String, expected: String, actual: String)
    /// The metadata value has the right type but an unusable value (an alignment that is not a
    /// power of two, a `uint64` past `Int.max`).
    case invalidValue(file: String, key: String, reason: String)
    /// No tensor has this name.
    case missingTensor(file: String, tensor: String)
    /// Rows `rows` were asked of a tensor with `rowCount` rows.
    case rowsOutOfRange(file: String, tensor: String, rows: Range<Int>, rowCount: Int)

    public var description: String {
        switch self {
        case let .fileError(file, reason):
            "\(file): \(reason)"
        case let .notGGUF(file):
            "\(file): not a GGUF file (no GGUF magic)"
        case let .unsupportedVersion(file, version):
            if (1...3).contains(version.byteSwapped) {
                "\(file): big-endian GGUF (version \(version.byteSwapped)); LoRAKit reads little-endian GGUF only"
            } else {
                "\(file): GGUF version \(version) is not supported (LoRAKit reads versions 2 and 3)"
            }
        case let .truncated(file, section, needed, available):
            "\(file): truncated in \(section): needs \(needed) bytes, has \(available)"
        case let .countTooLarge(file, section, count, minimumBytes, available):
            "\(file): \(section): count \(count) needs at least \(minimumBytes) bytes, \(available) remain"
        case let .malformed(file, section, reason):
            "\(file): \(section): \(reason)"
        case let .duplicateKey(file, key):
            "\(file): metadata key \"\(key)\" appears twice"
        case let .duplicateTensor(file, tensor):
            "\(file): tensor \"\(tensor)\" appears twice"
        case let .unknownTensorType(file, tensor, typeID):
            "\(file): tensor \"\(tensor)\": unknown ggml type id \(typeID)"
        case let .unsupportedTensorType(file, tensor, type):
            "\(file): tensor \"\(tensor)\": ggml type \(type) is not one LoRAKit dequantizes (\(GGMLType.dequantizable.map(\.description).joined(separator: ", ")))"
        case let .invalidDimensions(file, tensor, dimensions, reason):
            "\(file): tensor \"\(tensor)\": dimensions \(dimensions) \(reason)"
        case let .misalignedOffset(file, tensor, offset, alignment):
            "\(file): tensor \"\(tensor)\": data offset \(offset) is not a multiple of the alignment \(alignment)"
        case let .offsetOutOfRange(file, tensor, offset, byteCount, dataSize):
            "\(file): tensor \"\(tensor)\": \(byteCount) bytes at data offset \(offset) do not fit the \(dataSize)-byte data section"
        case let .overlappingTensors(file, tensor, other):
            "\(file): tensors \"\(other)\" and \"\(tensor)\" overlap"
        case let .missingKey(file, key):
            "\(file): no metadata key \"\(key)\""
        case let .wrongValueType(file, key, expected, actual):
            "\(file): metadata \"\(key)\" is \(actual), not \(expected)"
        case let .invalidValue(file, key, reason):
            "\(file): metadata \"\(key)\": \(reason)"
        case let .missingTensor(file, tensor):
            "\(file): no tensor \"\(tensor)\""
        case let .rowsOutOfRange(file, tensor, rows, rowCount):
            "\(file): tensor \"\(tensor)\": rows \(rows.lowerBound)..<\(rows.upperBound) are not within its \(rowCount) rows"
        }
    }
}
