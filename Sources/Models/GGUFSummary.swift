import Foundation
import Reporting
import TensorFormats

/// What a GGUF file holds, as `lora inspect` shows it: version, metadata and tensors. Encodes as
/// `{"path", "version", "metadata": {key: value}, "tensors": [{"name", "type", "shape", "bytes"}],
/// "elements", "bytes"}`; arrays longer than 16 elements are summarised as
/// `"[array of string, 49152 elements]"` (their values are vocabularies, not for reading).
public struct GGUFSummary: Report, Sendable, Equatable {
    public struct Tensor: Encodable, Sendable, Equatable {
        public var name: String
        /// ggml's name of the type, e.g. `Q4_1`.
        public var type: String
        /// Row-major, outermost first.
        public var shape: [Int]
        public var bytes: Int
    }

    public var path: String
    public var version: Int
    /// Each value as text, in file order in ``metadataKeys``.
    public var metadata: [String: String]
    public var metadataKeys: [String]
    public var tensors: [Tensor]
    public var elements: Int
    public var bytes: Int

    public init(_ file: GGUFFile) {
        path = file.path
        version = Int(file.version)
        metadataKeys = file.metadataKeys
        metadata = file.metadata.mapValues(Self.text)
        tensors = file.tensors.map { Tensor(name: $0.name, type: $0.type.description, shape: $0.shape, bytes: $0.byteCount) }
        elements = file.tensors.reduce(0) { $0 + $1.elementCount }
        bytes = file.tensors.reduce(0) { $0 + $1.byteCount }
    }

    /// A metadata value as one line (a long string is cut at 200 characters).
    static func text(_ value: GGUFValue) -> String {
        if let array = value.arrayValue {
            guard array.count <= 16 else { return "[\(array.typeDescription), \(array.count) elements]" }
            if let integers = array.integers { return "\(integers)" }
            if let floats = array.floats { return "\(floats)" }
            if case let .string(strings) = array { return "\(strings)" }
            return "[\(array.typeDescription), \(array.count) elements]"
        }
        if let string = value.stringValue {
            let line = string.replacingOccurrences(of: "\n", with: "\\n")
            return line.count > 200 ? String(line.prefix(200)) + "… (\(string.count) characters)" : line
        }
        if let integer = value.integerValue { return "\(integer)" }
        if let float = value.floatValue { return "\(float)" }
        if let bool = value.boolValue { return "\(bool)" }
        return value.typeDescription
    }

    /// A heading line, the metadata table and the tensor table.
    public func text() -> String {
        let types = Dictionary(grouping: tensors, by: \.type).map { "\($0.key) ×\($0.value.count)" }.sorted().joined(separator: ", ")
        let metadataTable = TextTable(header: ["key", "value"], rows: metadataKeys.map { [$0, metadata[$0] ?? ""] })
        let tensorTable = TextTable(
            header: ["tensor", "type", "shape", "bytes"],
            rows: tensors.map { [$0.name, $0.type, "[" + $0.shape.map(String.init).joined(separator: ", ") + "]", grouped($0.bytes)] })
        return "\(path): GGUF version \(version), \(metadataKeys.count) metadata entries, \(tensors.count) tensors (\(types)), \(grouped(elements)) elements, \(grouped(bytes)) bytes\n\n"
            + metadataTable.markdown() + "\n\n" + tensorTable.markdown(rightAligned: [3])
    }

    enum CodingKeys: String, CodingKey {
        case path, version, metadata, tensors, elements, bytes
    }
}
