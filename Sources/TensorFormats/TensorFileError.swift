import FileSafety

/// A tensor file (safetensors or `.npy`) that cannot be read or written, naming the file and,
/// where there is one, the tensor or header key.
public enum TensorFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened, mapped or written.
    case fileError(file: String, reason: String)
    /// The file ends before `needed` bytes (it has `available`).
    case truncated(file: String, needed: Int, available: Int)
    /// The safetensors header length exceeds LoRAKit's cap.
    case headerTooLarge(file: String, length: UInt64, limit: Int)
    /// The header (JSON, or the `.npy` dictionary) cannot be parsed; `reason` names the key.
    case malformedHeader(file: String, reason: String)
    /// A tensor's dtype is not a safetensors (or supported `.npy`) dtype.
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A tensor's dtype is known but cannot be converted to a floating-point matrix.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A dimension is negative, or the element count or byte size overflows `Int`.
    case invalidShape(file: String, tensor: String, shape: [Int], reason: String)
    /// `data_offsets` are not `[begin, end]` with `0 ≤ begin ≤ end ≤ data size`.
    case offsetsOutOfRange(file: String, tensor: String, offsets: [Int], dataSize: Int)
    /// Two tensors share bytes.
    case overlappingTensors(file: String, tensor: String, other: String)
    /// The data section has bytes no tensor owns (the format forbids holes).
    case unownedBytes(file: String, range: Range<Int>)
    /// The byte range does not equal the element count × the dtype size.
    case sizeMismatch(file: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    /// No tensor has this name.
    case missingTensor(file: String, tensor: String)
    /// The tensor has more than two dimensions, so it is not a matrix.
    case notAMatrix(file: String, tensor: String, shape: [Int])
    /// The file does not start with the `.npy` magic string.
    case notNPY(file: String)
    /// The `.npy` format version is not 1.0, 2.0 or 3.0.
    case unsupportedNPYVersion(file: String, major: UInt8, minor: UInt8)

    public var description: String {
        switch self {
        case let .fileError(file, reason):
            "\(file): \(reason)"
        case let .truncated(file, needed, available):
            "\(file): truncated: needs \(needed) bytes, has \(available)"
        case let .headerTooLarge(file, length, limit):
            "\(file): header length \(length) exceeds the limit of \(limit) bytes"
        case let .malformedHeader(file, reason):
            "\(file): malformed header: \(reason)"
        case let .unknownDType(file, tensor, dtype):
            "\(file): tensor \"\(tensor)\": unknown dtype \"\(dtype)\""
        case let .unsupportedDType(file, tensor, dtype):
            "\(file): tensor \"\(tensor)\": dtype \(dtype) is not a floating-point type LoRAKit converts (F16, BF16, F32, F64)"
        case let .invalidShape(file, tensor, shape, reason):
            "\(file): tensor \"\(tensor)\": shape \(shape) \(reason)"
        case let .offsetsOutOfRange(file, tensor, offsets, dataSize):
            "\(file): tensor \"\(tensor)\": data_offsets \(offsets) are not [begin, end] within the \(dataSize)-byte data section"
        case let .overlappingTensors(file, tensor, other):
            "\(file): tensors \"\(other)\" and \"\(tensor)\" overlap"
        case let .unownedBytes(file, range):
            "\(file): data bytes \(range.lowerBound)..<\(range.upperBound) belong to no tensor"
        case let .sizeMismatch(file, tensor, expectedBytes, actualBytes):
            "\(file): tensor \"\(tensor)\": shape and dtype need \(expectedBytes) bytes, data_offsets give \(actualBytes)"
        case let .missingTensor(file, tensor):
            "\(file): no tensor \"\(tensor)\""
        case let .notAMatrix(file, tensor, shape):
            "\(file): tensor \"\(tensor)\": shape \(shape) has more than 2 dimensions"
        case let .notNPY(file):
            "\(file): not a .npy file (no \\x93NUMPY magic)"
        case let .unsupportedNPYVersion(file, major, minor):
            "\(file): .npy format version \(major).\(minor) is not 1.0, 2.0 or 3.0"
        }
    }
}

extension TensorFileError {
    /// A file-system failure as a tensor file error on the same path.
    public init(_ error: FileSystemError) {
        self = .fileError(file: error.path, reason: "cannot \(error.operation): \(error.reason)")
    }
}
