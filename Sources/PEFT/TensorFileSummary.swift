import Foundation
import Reporting
import TensorFormats

/// One tensor as `lora inspect` lists it.
public struct TensorSummary: Encodable, Sendable, Equatable {
    public var name: String
    /// The safetensors dtype, e.g. `F32`.
    public var dtype: String
    public var shape: [Int]
    public var bytes: Int

    public init(_ info: TensorInfo) {
        name = info.name
        dtype = info.dtype.rawValue
        shape = info.shape
        bytes = info.byteCount
    }
}

/// What a safetensors file holds: its tensors, their totals and the metadata. Encodes as
/// `{"path", "tensors": [{"name", "dtype", "shape", "bytes"}], "elements", "bytes", "metadata"}`.
public struct SafetensorsSummary: Report, Sendable, Equatable {
    public var path: String
    public var tensors: [TensorSummary]
    public var elements: Int
    public var bytes: Int
    public var metadata: [String: String]

    public init(_ file: SafetensorsFile) {
        path = file.path
        tensors = file.tensors.map(TensorSummary.init)
        elements = file.tensors.reduce(0) { $0 + $1.elementCount }
        bytes = file.tensors.reduce(0) { $0 + $1.byteCount }
        metadata = file.metadata
    }

    /// A line of totals and metadata, then a markdown table of the tensors.
    public func text() -> String {
        let metadataText = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        let table = TextTable(
            header: ["tensor", "dtype", "shape", "bytes"],
            rows: tensors.map { [$0.name, $0.dtype, "[" + $0.shape.map(String.init).joined(separator: ", ") + "]", grouped($0.bytes)] })
        return "\(path): \(tensors.count) tensors, \(elements) elements, \(bytes) bytes; metadata: "
            + (metadataText.isEmpty ? "none" : metadataText) + "\n" + table.markdown(rightAligned: [3])
    }
}

/// What a `.npy` file's header says. Encodes as `{"path", "version", "dtype", "order", "shape", "data_offset"}`.
public struct NPYSummary: Report, Sendable, Equatable {
    public var path: String
    /// The format's major version (1, 2 or 3).
    public var version: Int
    public var dtype: String
    /// `C` or `Fortran`.
    public var order: String
    public var shape: [Int]
    /// Where the array's bytes start.
    public var dataOffset: Int

    public init(path: String, info: NPYInfo) {
        self.path = path
        version = Int(info.version)
        dtype = info.dtype.rawValue
        order = info.order == .c ? "C" : "Fortran"
        shape = info.shape
        dataOffset = info.dataOffset
    }

    public func text() -> String {
        "\(path): .npy version \(version).0, \(dtype), \(order) order, shape \(shape), data at byte \(dataOffset)"
    }

    enum CodingKeys: String, CodingKey {
        case path, version, dtype, order, shape, dataOffset = "data_offset"
    }
}
