import CommandTestSupport
import Foundation
import Testing
@testable import TensorFormats

/// Every malformed GGUF input gives a typed, one-line error naming the file and the section,
/// key or tensor; none crashes or allocates past the file's size.
@Suite("GGUF malformed input")
struct GGUFMalformedTests {
    private let file = "bad.gguf"

    private func open(_ data: Data) -> GGUFError? {
        let error = thrownError(GGUFError.self) { try GGUFFile(data: data, path: file) }
        if let error { #expect(!error.description.contains("\n") && error.description.hasPrefix("\(file): ")) }
        return error
    }

    private func open(_ image: GGUFImage) -> GGUFError? { open(image.data) }

    /// An image with one tensor info and `dataSize` bytes of data.
    private func oneTensor(_ dimensions: [UInt64], type: UInt32, offset: UInt64 = 0, dataSize: Int = 128) -> GGUFError? {
        var image = GGUFImage(tensorCount: 1, metadataCount: 0)
        image.tensor("w", dimensions, type: type, offset: offset)
        image.data(dataSize: dataSize)
        return open(image)
    }

    @Test func shorterThanTheHeader() {
        #expect(open(Data()) == .truncated(file: file, section: "the header", needed: 4, available: 0))
        #expect(open(Data("GGU".utf8)) == .truncated(file: file, section: "the header", needed: 4, available: 3))
        let header = GGUFImage(tensorCount: 0, metadataCount: 0).data
        #expect(open(header.prefix(10)) == .truncated(file: file, section: "the header", needed: 16, available: 10))
        #expect(open(header.prefix(20)) == .truncated(file: file, section: "the metadata count", needed: 24, available: 20))
        #expect(GGUFError.truncated(file: file, section: "the header", needed: 16, available: 10).description
                == "bad.gguf: truncated in the header: needs 16 bytes, has 10")
        #expect(GGUFError.countTooLarge(file: file, section: "the tensor count", count: 2, minimumBytes: 48, available: 40).description
                == "bad.gguf: the tensor count: count 2 needs at least 48 bytes, 40 remain")
    }

    @Test func badMagic() {
        #expect(open(GGUFImage(tensorCount: 0, metadataCount: 0, magic: "GGUG")) == .notGGUF(file: file))
        #expect(open(Data("{\"__metadata__\": {}}".utf8)) == .notGGUF(file: file))
    }

    @Test func unsupportedVersions() {
        for version: UInt32 in [0, 1, 4, 0x0300_0000] {
            #expect(open(GGUFImage(version: version, tensorCount: 0, metadataCount: 0)) == .unsupportedVersion(file: file, version: version))
        }
        #expect(GGUFError.unsupportedVersion(file: file, version: 1).description
                == "bad.gguf: GGUF version 1 is not supported (LoRAKit reads versions 2 and 3)")
        #expect(GGUFError.unsupportedVersion(file: file, version: 0x0300_0000).description.contains("big-endian"))
    }

    @Test func hugeCounts() {
        #expect(open(GGUFImage(tensorCount: 0, metadataCount: .max))
                == .countTooLarge(file: file, section: "the metadata count", count: .max, minimumBytes: .max, available: 0))
        #expect(open(GGUFImage(tensorCount: 1 << 40, metadataCount: 0))
                == .countTooLarge(file: file, section: "the tensor count", count: 1 << 40, minimumBytes: 24 << 40, available: 0))
        // Two tensor infos need at least 48 bytes; 40 remain.
        var image = GGUFImage(tensorCount: 2, metadataCount: 0)
        image.bytes([UInt8](repeating: 0, count: 40))
        #expect(open(image) == .countTooLarge(file: file, section: "the tensor count", count: 2, minimumBytes: 48, available: 40))

        var array = GGUFImage(tensorCount: 0, metadataCount: 1)
        array.entry("a", .array)
        array.u32(GGUFValueType.uint64.rawValue)
        array.u64(1 << 61)
        array.bytes([UInt8](repeating: 0, count: 16))
        #expect(open(array) == .countTooLarge(file: file, section: "metadata \"a\"", count: 1 << 61, minimumBytes: .max, available: 16))
        var strings = GGUFImage(tensorCount: 0, metadataCount: 1)
        strings.entry("s", .array)
        strings.u32(GGUFValueType.string.rawValue)
        strings.u64(3)
        strings.string("ab")
        #expect(open(strings) == .countTooLarge(file: file, section: "metadata \"s\"", count: 3, minimumBytes: 24, available: 10))
    }

    @Test func hugeStringLengths() {
        var key = GGUFImage(tensorCount: 0, metadataCount: 1)
        key.u64(.max)
        key.bytes(Array("general".utf8))
        #expect(open(key) == .truncated(file: file, section: "metadata entry 0 key", needed: .max, available: 39))

        var value = GGUFImage(tensorCount: 0, metadataCount: 1)
        value.entry("general.name", .string)
        value.u64(1000)
        value.bytes(Array("short".utf8))
        #expect(open(value) == .truncated(file: file, section: "metadata \"general.name\"", needed: 1000 + 56, available: 61))

        var name = GGUFImage(tensorCount: 1, metadataCount: 0)
        name.u64(1 << 62)
        name.bytes([UInt8](repeating: 0, count: 16))
        #expect(open(name) == .truncated(file: file, section: "tensor info 0 name", needed: (1 << 62) + 32, available: 48))
    }

    @Test func malformedValues() {
        var type = GGUFImage(tensorCount: 0, metadataCount: 1)
        type.string("k")
        type.u32(13)
        type.u32(0)
        #expect(open(type) == .malformed(file: file, section: "metadata \"k\"", reason: "unknown value type 13"))

        var element = GGUFImage(tensorCount: 0, metadataCount: 1)
        element.entry("k", .array)
        element.u32(99)
        element.u64(0)
        #expect(open(element) == .malformed(file: file, section: "metadata \"k\"", reason: "unknown array element type 99"))

        var bool = GGUFImage(tensorCount: 0, metadataCount: 1)
        bool.entry("flag", .bool)
        bool.u8(2)
        #expect(open(bool) == .malformed(file: file, section: "metadata \"flag\"", reason: "bool byte 2 is neither 0 nor 1"))

        var utf8 = GGUFImage(tensorCount: 0, metadataCount: 1)
        utf8.u64(2)
        utf8.bytes([0xC3, 0x28])
        utf8.u32(GGUFValueType.uint8.rawValue)
        utf8.u8(0)
        #expect(open(utf8) == .malformed(file: file, section: "metadata entry 0 key", reason: "a string of 2 bytes is not UTF-8"))
    }

    /// `depth` arrays, each holding the next, the innermost empty.
    private func nestedArrays(depth: Int) -> GGUFImage {
        var image = GGUFImage(tensorCount: 0, metadataCount: 1)
        image.entry("deep", .array)
        for _ in 1..<depth {
            image.u32(GGUFValueType.array.rawValue)
            image.u64(1)
        }
        image.u32(GGUFValueType.uint8.rawValue)
        image.u64(0)
        return image
    }

    @Test func nestingDepth() throws {
        let deepest = try GGUFFile(data: nestedArrays(depth: GGUFHeader.maximumArrayDepth).data, path: file)
        var array = try #require(deepest.metadata["deep"]?.arrayValue)
        var depth = 1
        while case let .array(inner) = array, let first = inner.first {
            array = first
            depth += 1
        }
        #expect(depth == GGUFHeader.maximumArrayDepth && array == .uint8([]))
        #expect(open(nestedArrays(depth: GGUFHeader.maximumArrayDepth + 1))
                == .malformed(file: file, section: "metadata \"deep\"", reason: "arrays nested deeper than 32 levels"))
        // A million levels would overflow the stack if the depth were not bounded.
        #expect(open(nestedArrays(depth: 1_000_000)) != nil)
    }

    @Test func duplicates() {
        var keys = GGUFImage(tensorCount: 0, metadataCount: 2)
        keys.uint32Entry("k", 1)
        keys.uint32Entry("k", 2)
        #expect(open(keys) == .duplicateKey(file: file, key: "k"))

        var tensors = GGUFImage(tensorCount: 2, metadataCount: 0)
        tensors.tensor("w", [8], .f32, offset: 0)
        tensors.tensor("w", [8], .f32, offset: 32)
        tensors.data(dataSize: 64)
        #expect(open(tensors) == .duplicateTensor(file: file, tensor: "w"))
    }

    @Test func alignmentKey() {
        func image(_ write: (inout GGUFImage) -> Void) -> GGUFImage {
            var image = GGUFImage(tensorCount: 0, metadataCount: 1)
            write(&image)
            return image
        }
        #expect(open(image { $0.uint32Entry("general.alignment", 48) })
                == .invalidValue(file: file, key: "general.alignment", reason: "alignment 48 is not a power of two"))
        #expect(open(image { $0.uint32Entry("general.alignment", 0) })
                == .invalidValue(file: file, key: "general.alignment", reason: "alignment 0 is not a power of two"))
        #expect(open(image { $0.entry("general.alignment", .uint64); $0.u64(32) })
                == .wrongValueType(file: file, key: "general.alignment", expected: "uint32", actual: "uint64"))
    }

    @Test func unknownTensorTypes() {
        for id: UInt32 in [4, 5, 31, 99, .max] {
            #expect(oneTensor([32], type: id) == .unknownTensorType(file: file, tensor: "w", typeID: id))
        }
        #expect(GGUFError.unknownTensorType(file: file, tensor: "w", typeID: 99).description
                == "bad.gguf: tensor \"w\": unknown ggml type id 99")
    }

    @Test func invalidDimensions() {
        let f32 = GGMLType.f32.rawValue, q4_0 = GGMLType.q4_0.rawValue
        #expect(oneTensor([1, 1, 1, 1, 1], type: f32)
                == .malformed(file: file, section: "tensor \"w\" info", reason: "5 dimensions; ggml allows at most 4"))
        #expect(oneTensor([1 << 63], type: f32)
                == .invalidDimensions(file: file, tensor: "w", dimensions: [1 << 63], reason: "exceed Int64.max"))
        guard case let .invalidDimensions(_, _, _, reason)? = oneTensor([1 << 32, 1 << 32], type: f32) else {
            Issue.record("expected invalidDimensions for an element count overflow"); return
        }
        #expect(reason.contains("element count"))
        guard case let .invalidDimensions(_, _, _, bytes)? = oneTensor([1 << 62], type: f32) else {
            Issue.record("expected invalidDimensions for a byte size overflow"); return
        }
        #expect(bytes.contains("byte size"))
        // Empty (a zero dimension), yet its rows would be 2⁶⁴ bytes long.
        #expect(oneTensor([1 << 62, 0], type: f32)
                == .invalidDimensions(file: file, tensor: "w", dimensions: [1 << 62, 0],
                                      reason: "overflow: a row's byte size exceeds \(Int.max)"))
        #expect(oneTensor([33, 2], type: q4_0)
                == .invalidDimensions(file: file, tensor: "w", dimensions: [33, 2], reason: "ne[0] = 33 is not a multiple of Q4_0's block size 32"))
        // Whole blocks overall (2 × 48 = 96 elements) but not along a row.
        #expect(oneTensor([48, 2], type: q4_0) != nil)
    }

    @Test func offsets() {
        let f32 = GGMLType.f32.rawValue
        #expect(oneTensor([4], type: f32, offset: 16) == .misalignedOffset(file: file, tensor: "w", offset: 16, alignment: 32))
        #expect(oneTensor([4], type: f32, offset: 160, dataSize: 128)
                == .offsetOutOfRange(file: file, tensor: "w", offset: 160, byteCount: 16, dataSize: 128))
        #expect(oneTensor([4], type: f32, offset: 1 << 63, dataSize: 128)
                == .offsetOutOfRange(file: file, tensor: "w", offset: 1 << 63, byteCount: 16, dataSize: 128))
        // Wrong size: the shape needs more bytes than the data section has after the offset.
        #expect(oneTensor([32], type: f32, offset: 32, dataSize: 100)
                == .offsetOutOfRange(file: file, tensor: "w", offset: 32, byteCount: 128, dataSize: 100))
        #expect(oneTensor([64], type: GGMLType.q8_0.rawValue, dataSize: 67)
                == .offsetOutOfRange(file: file, tensor: "w", offset: 0, byteCount: 68, dataSize: 67))
    }

    @Test func overlappingTensors() {
        var image = GGUFImage(tensorCount: 3, metadataCount: 0)
        image.tensor("a", [16], .f32, offset: 0)
        image.tensor("empty", [0, 4], .f32, offset: 32)
        image.tensor("b", [8], .f32, offset: 32)
        image.data(dataSize: 64)
        #expect(open(image) == .overlappingTensors(file: file, tensor: "b", other: "a"))
    }

    @Test func missingPaddingBeforeTheData() {
        var image = GGUFImage(tensorCount: 1, metadataCount: 0)
        image.tensor("empty", [0], .f32, offset: 0)
        let end = image.data.count
        guard case let .truncated(_, section, needed, available)? = open(image) else {
            Issue.record("expected truncated"); return
        }
        #expect(section == "the padding before the data section" && needed == (end + 31) / 32 * 32 && available == end)
    }

    @Test("every prefix of the fixture short of its last tensor's end is a typed error")
    func everyTruncation() throws {
        let data = try Data(contentsOf: ggufFixture("types.gguf"))
        let whole = try GGUFFile(data: data, path: file)
        let end = whole.dataOffset + whole.tensors.map(\.byteRange.upperBound).max()!
        var sections = Set<String>()
        for length in 0..<end {
            let error = thrownError(GGUFError.self) { try GGUFFile(data: data.prefix(length), path: file) }
            switch error {
            case let .truncated(_, section, _, available)?:
                #expect(available == length)
                sections.insert(section)
            case let .countTooLarge(_, section, _, _, _)?:
                sections.insert(section)
            case .offsetOutOfRange?:
                #expect(length >= whole.dataOffset)
            default:
                Issue.record("prefix \(length): \(String(describing: error))")
            }
        }
        // Counts are checked against the bytes left before their items are read, so a cut early in
        // the metadata or tensor infos is reported by the count, a later one by the item it cuts.
        for section in ["the header", "the metadata count", "metadata entry 30 key", "metadata \"test.array.string\"",
                        "metadata \"test.nested.deep\"", "the tensor count", "tensor info 9 name", "tensor \"q6_k\" info",
                        "the padding before the data section"] {
            #expect(sections.contains(section), "\(section)")
        }
        for length in end...data.count { _ = try GGUFFile(data: data.prefix(length), path: file) }
    }

    @Test("random corruption of the fixture never crashes")
    func randomCorruption() throws {
        let data = try Data(contentsOf: ggufFixture("types.gguf"))
        let header = try GGUFFile(data: data, path: file).dataOffset
        var generator = CorruptionGenerator(seed: 7)
        for _ in 0..<3000 {
            var corrupt = data
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<header, using: &generator)
                corrupt[index] = UInt8.random(in: 0...255, using: &generator)
            }
            if let parsed = try? GGUFFile(data: corrupt, path: file) {
                for tensor in parsed.tensors where tensor.type.isDequantizable {
                    _ = try parsed.dequantized(tensor.name)
                }
            }
        }
    }
}

/// A small seeded generator (SplitMix64), so the corruption test is reproducible.
private struct CorruptionGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
