import FileSafety
import Foundation
import Testing
@testable import TensorFormats

@Suite("GGUF writing: gguf-py's layout, every value type, F32 and F16 tensors, atomic files")
struct GGUFWritingTests {
    /// `source` rebuilt: its metadata in order and every tensor's bytes as stored.
    func rebuilt(_ source: GGUFFile) throws -> GGUFWriter {
        var writer = GGUFWriter(metadata: source.metadataKeys.map { ($0, source.metadata[$0]!) })
        for info in source.tensors { writer.addRaw(info.name, shape: info.shape, type: info.type, bytes: try source.rawBytes(info.name)) }
        return writer
    }

    /// gguf-py's file of every tensor type (alignment 64, metadata arrays) comes out byte for byte
    /// as gguf-py wrote it.
    @Test func rebuildingAGGUFPyFileGivesItsBytes() throws {
        let url = ggufFixture("types.gguf")
        let source = try GGUFFile(contentsOf: url)
        #expect(try rebuilt(source).encoded() == Data(contentsOf: url))
    }

    @Test func everyValueTypeAndBothFloatTypesReadBack() throws {
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(60000)), ("i16", .int16(-300)), ("u32", .uint32(4_000_000_000)),
            ("i32", .int32(-7)), ("u64", .uint64(.max)), ("i64", .int64(.min)), ("f32", .float32(-0.25)), ("f64", .float64(.pi)),
            ("yes", .bool(true)), ("no", .bool(false)), ("text", .string("héllo")),
            ("ids", .array(.int32([1, -2, 3]))), ("words", .array(.string(["a", "", "ç"]))),
            ("nested", .array(.array([.float32([1.5]), .bool([true, false]), .uint8([])]))),
        ]
        var writer = GGUFWriter(metadata: values.map { ($0.0, $0.1) })
        writer.setMetadata("general.alignment", .uint32(64))
        writer.setMetadata("u8", .uint8(7))  // replaced in place
        let f32: [Float] = [1, -2.5, 3e-40, .greatestFiniteMagnitude, 0, -0.0]
        let f16: [Float] = [1, 1 + 1 / 2048, 65504, 1e-8, -3]
        writer.add("a.weight", elements: f32, shape: [2, 3], as: .f32)
        writer.add("b", elements: f16, shape: [5], as: .f16)
        let file = try GGUFFile(data: writer.encoded(), path: "written")
        #expect(file.metadataKeys == values.map(\.0) + ["general.alignment"])
        #expect(file.metadata["u8"] == .uint8(7))
        for (key, value) in values.dropFirst() { #expect(file.metadata[key] == value, "\(key)") }
        #expect(file.alignment == 64 && file.dataOffset % 64 == 0)
        #expect(try file.info("a.weight").shape == [2, 3] && file.info("a.weight").type == .f32)
        #expect(try file.dequantized("a.weight").map(\.bitPattern) == f32.map(\.bitPattern))
        // F16 rounds to nearest, ties to even: 1 + 2⁻¹¹ is halfway and goes to 1; 1e-8 underflows to 0.
        #expect(try file.dequantized("b") == [1, 1, 65504, 0, -3])
        #expect(try file.info("b").offset % 64 == 0)
    }

    /// A write into a directory that is not there fails and leaves nothing; a write over a file
    /// replaces it whole.
    @Test func writesAreAtomic() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var writer = GGUFWriter(metadata: [("general.architecture", .string("llama"))])
        writer.add("x", elements: [1, 2], shape: [2], as: .f32)
        #expect(throws: FileSystemError.self) { try writer.write(to: directory.appendingPathComponent("missing/x.gguf")) }
        let url = directory.appendingPathComponent("x.gguf")
        try Data("old".utf8).write(to: url)
        try writer.write(to: url)
        #expect(try Data(contentsOf: url) == writer.encoded())
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["x.gguf"])
    }
}
