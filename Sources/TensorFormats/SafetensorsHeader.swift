import Foundation

/// The parsed and validated JSON header of a safetensors file.
///
/// Layout: `u64` little-endian header length `N`, `N` bytes of UTF-8 JSON
/// `{"__metadata__": {str: str}, name: {"dtype": D, "shape": [..], "data_offsets": [b, e]}, …}`,
/// then the data section, which the tensors' `[b, e)` ranges must tile exactly: each range in
/// bounds, of size `product(shape) × size(D)`, no overlaps and no unowned bytes.
struct SafetensorsHeader {
    /// The `__metadata__` strings.
    let metadata: [String: String]
    /// The tensors, in name order.
    let tensors: [TensorInfo]

    /// Parses `json` and checks every entry against a data section of `dataSize` bytes.
    static func parse(_ json: Data, dataSize: Int, file: String) throws(TensorFileError) -> SafetensorsHeader {
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: json)
        } catch let error as DecodingError {
            throw .malformedHeader(file: file, reason: describe(error))
        } catch {
            throw .malformedHeader(file: file, reason: "\(error)")
        }
        var tensors: [TensorInfo] = []
        for (name, entry) in raw.entries.sorted(by: { $0.key < $1.key }) {
            tensors.append(try validated(entry, name: name, dataSize: dataSize, file: file))
        }
        try checkTiling(tensors, dataSize: dataSize, file: file)
        return SafetensorsHeader(metadata: raw.metadata, tensors: tensors)
    }

    private static func validated(_ entry: RawEntry, name: String, dataSize: Int, file: String) throws(TensorFileError) -> TensorInfo {
        guard let dtype = TensorDType(rawValue: entry.dtype) else {
            throw .unknownDType(file: file, tensor: name, dtype: entry.dtype)
        }
        let expectedBytes: Int
        switch checkedByteCount(shape: entry.shape, elementSize: dtype.byteCount) {
        case let .success(bytes): expectedBytes = bytes
        case let .failure(problem): throw .invalidShape(file: file, tensor: name, shape: entry.shape, reason: problem.reason)
        }
        let offsets = entry.dataOffsets
        guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
            throw .offsetsOutOfRange(file: file, tensor: name, offsets: offsets, dataSize: dataSize)
        }
        guard offsets[1] - offsets[0] == expectedBytes else {
            throw .sizeMismatch(file: file, tensor: name, expectedBytes: expectedBytes, actualBytes: offsets[1] - offsets[0])
        }
        return TensorInfo(name: name, dtype: dtype, shape: entry.shape, byteRange: offsets[0]..<offsets[1])
    }

    /// The ranges, sorted by start, must follow each other with no overlap and no gap from 0 to `dataSize`.
    private static func checkTiling(_ tensors: [TensorInfo], dataSize: Int, file: String) throws(TensorFileError) {
        var position = 0
        var previous = ""
        for tensor in tensors.sorted(by: { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }) {
            let range = tensor.byteRange
            if range.lowerBound < position {
                throw .overlappingTensors(file: file, tensor: tensor.name, other: previous)
            }
            if range.lowerBound > position {
                throw .unownedBytes(file: file, range: position..<range.lowerBound)
            }
            if !range.isEmpty {
                position = range.upperBound
                previous = tensor.name
            }
        }
        if position < dataSize { throw .unownedBytes(file: file, range: position..<dataSize) }
    }

    private static func describe(_ error: DecodingError) -> String {
        func location(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "" : "at \"\(path)\": "
        }
        switch error {
        case let .keyNotFound(key, context): return "\(location(context))missing key \"\(key.stringValue)\""
        case let .typeMismatch(type, context): return "\(location(context))expected \(type)"
        case let .valueNotFound(type, context): return "\(location(context))expected \(type), found null"
        case let .dataCorrupted(context):
            return "\(location(context))\(context.debugDescription)" + (context.underlyingError.map { " (\($0))" } ?? "")
        @unknown default: return "\(error)"
        }
    }
}

/// The header as JSON: `__metadata__` plus one entry per tensor name.
private struct RawHeader: Decodable {
    var metadata: [String: String] = [:]
    var entries: [String: RawEntry] = [:]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: HeaderKey.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries[key.stringValue] = try container.decode(RawEntry.self, forKey: key)
            }
        }
    }
}

private struct RawEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}

/// A JSON object key that is any string (tensor names).
struct HeaderKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
