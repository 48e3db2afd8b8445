import Foundation
@testable import TensorFormats

/// A GGUF image built byte by byte, for inputs no writer would produce.
struct GGUFImage {
    private(set) var data = Data()

    /// The header: magic, version, tensor count, metadata count.
    init(version: UInt32 = 3, tensorCount: UInt64, metadataCount: UInt64, magic: String = "GGUF") {
        data.append(contentsOf: Array(magic.utf8))
        u32(version)
        u64(tensorCount)
        u64(metadataCount)
    }

    mutating func u8(_ value: UInt8) { data.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    mutating func bytes(_ bytes: [UInt8]) { data.append(contentsOf: bytes) }

    /// A string: `u64` length, then the UTF-8 bytes.
    mutating func string(_ string: String) {
        u64(UInt64(string.utf8.count))
        data.append(contentsOf: Array(string.utf8))
    }

    /// A metadata entry's key and value type; the caller appends the value.
    mutating func entry(_ key: String, _ type: GGUFValueType) {
        string(key)
        u32(type.rawValue)
    }

    /// A `uint32` metadata entry.
    mutating func uint32Entry(_ key: String, _ value: UInt32) {
        entry(key, .uint32)
        u32(value)
    }

    /// A tensor info.
    mutating func tensor(_ name: String, _ dimensions: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dimensions.count))
        for dimension in dimensions { u64(dimension) }
        u32(type)
        u64(offset)
    }

    /// A tensor info of ggml type `type`.
    mutating func tensor(_ name: String, _ dimensions: [UInt64], _ type: GGMLType, offset: UInt64) {
        tensor(name, dimensions, type: type.rawValue, offset: offset)
    }

    /// Zero padding to the next multiple of `alignment`, then `dataSize` zero bytes of data.
    mutating func data(alignment: Int = 32, dataSize: Int) {
        data.append(Data(count: (alignment - data.count % alignment) % alignment))
        data.append(Data(count: dataSize))
    }
}

/// The committed GGUF fixture `name` (written by scripts/fixtures/make_gguf_fixtures.py).
func ggufFixture(_ name: String) -> URL { fixture("gguf/\(name)") }

/// The float32 bit patterns of `values`.
func bitPatterns(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// The reference JSON `name`, decoded.
func ggufReference<T: Decodable>(_ name: String, as _: T.Type) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: ggufFixture(name)))
}

/// types.reference.json: one entry per tensor of types.gguf.
struct GGUFTypesReference: Decodable {
    struct Tensor: Decodable {
        let name: String
        let type: String
        let typeID: UInt32
        let dimensions: [Int]
        let shape: [Int]
        let dataOffset: Int
        let bits: [UInt32]

        enum CodingKeys: String, CodingKey {
            case name, type, dimensions, shape, bits
            case typeID = "type_id"
            case dataOffset = "data_offset"
        }
    }

    let tensors: [Tensor]
}
