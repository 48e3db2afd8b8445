import CommandTestSupport
import Foundation
import Testing
@testable import TensorFormats

@Suite("GGUF reading")
struct GGUFReadingTests {
    private let file: GGUFFile

    init() throws {
        file = try GGUFFile(contentsOf: ggufFixture("types.gguf"))
    }

    @Test("header: version, alignment, the data section after the padding")
    func header() {
        #expect(file.version == 3)
        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
        #expect(file.metadataKeys.first == "general.architecture")
        #expect(file.metadataKeys.count == file.metadata.count)
    }

    @Test("every scalar metadata type, read as written by the gguf package")
    func scalarMetadata() throws {
        #expect(file.metadata["general.architecture"] == .string("test"))
        #expect(file.metadata["general.alignment"] == .uint32(64))
        #expect(file.metadata["test.uint8"] == .uint8(200))
        #expect(file.metadata["test.int8"] == .int8(-100))
        #expect(file.metadata["test.uint16"] == .uint16(60000))
        #expect(file.metadata["test.int16"] == .int16(-30000))
        #expect(file.metadata["test.uint32"] == .uint32(4_000_000_000))
        #expect(file.metadata["test.int32"] == .int32(-2_000_000_000))
        #expect(file.metadata["test.uint64"] == .uint64(1 << 63 + 5))
        #expect(file.metadata["test.int64"] == .int64(-(1 << 62) - 7))
        #expect(file.metadata["test.float32"] == .float32(0.1))
        #expect(file.metadata["test.float64"] == .float64(0.1))
        #expect(file.metadata["test.true"] == .bool(true))
        #expect(file.metadata["test.false"] == .bool(false))
        #expect(file.metadata["test.string"] == .string("héllo, GGUF ✓"))
        #expect(file.metadata["test.empty_string"] == .string(""))

        #expect(try file.string("general.architecture") == "test")
        #expect(try file.integer("test.uint8") == 200)
        #expect(try file.integer("test.int16") == -30000)
        #expect(try file.integer("test.uint32") == 4_000_000_000)
        #expect(try file.integer("test.uint64_small") == 12_345_678_901)
        #expect(try file.integer("test.int64") == -(1 << 62) - 7)
        #expect(try file.float("test.float32") == Double(Float(0.1)))
        #expect(try file.float("test.float64") == 0.1)
        #expect(try file.bool("test.true") && !(try file.bool("test.false")))
    }

    @Test("arrays of every element type, and arrays of arrays")
    func arrayMetadata() throws {
        #expect(try file.array("test.array.uint8") == .uint8([0, 1, 255]))
        #expect(try file.array("test.array.int8") == .int8([-128, 0, 127]))
        #expect(try file.array("test.array.uint16") == .uint16([0, 65535]))
        #expect(try file.array("test.array.int16") == .int16([-32768, 32767]))
        #expect(try file.array("test.array.uint32") == .uint32([0, .max]))
        #expect(try file.array("test.array.int32") == .int32([.min, .max]))
        #expect(try file.array("test.array.uint64") == .uint64([0, .max]))
        #expect(try file.array("test.array.int64") == .int64([.min, .max]))
        #expect(try file.array("test.array.float32") == .float32([0.5, -2.25, 1e-3]))
        #expect(try file.array("test.array.float64") == .float64([0.5, -2.25, 1e-3]))
        #expect(try file.array("test.array.bool") == .bool([true, false, true]))
        #expect(try file.stringArray("test.array.string") == ["a", "", "ünïcödé", "tab\tnewline\n"])
        #expect(try file.integerArray("test.array.int8") == [-128, 0, 127])
        #expect(try file.integerArray("test.array.uint32") == [0, 4_294_967_295])
        #expect(try file.floatArray("test.array.float32") == [0.5, -2.25, Double(Float(1e-3))])
        #expect(try file.floatArray("test.array.float64") == [0.5, -2.25, 1e-3])

        #expect(try file.array("test.nested.int32") == .array([.int32([1, 2]), .int32([3]), .int32([4, 5, 6])]))
        #expect(try file.array("test.nested.string") == .array([.string(["x"]), .string(["y", "z"])]))
        #expect(try file.array("test.nested.deep")
                == .array([.array([.int32([1]), .int32([2, 3])]), .array([.int32([4])])]))
        #expect(try file.array("test.nested.deep").count == 2)
    }

    @Test("typed accessors name the key when it is missing or of another type")
    func accessorErrors() {
        let path = file.path
        #expect(throws: GGUFError.missingKey(file: path, key: "no.such.key")) { try file.string("no.such.key") }
        #expect(throws: GGUFError.wrongValueType(file: path, key: "test.uint32", expected: "a string", actual: "uint32")) {
            try file.string("test.uint32")
        }
        #expect(throws: GGUFError.wrongValueType(file: path, key: "test.string", expected: "an integer", actual: "string")) {
            try file.integer("test.string")
        }
        #expect(throws: GGUFError.wrongValueType(file: path, key: "test.true", expected: "an integer", actual: "bool")) {
            try file.integer("test.true")
        }
        #expect(throws: GGUFError.invalidValue(file: path, key: "test.uint64", reason: "uint64 9223372036854775813 exceeds Int.max")) {
            try file.integer("test.uint64")
        }
        #expect(throws: GGUFError.wrongValueType(file: path, key: "test.int32", expected: "a float32 or float64", actual: "int32")) {
            try file.float("test.int32")
        }
        #expect(throws: GGUFError.wrongValueType(file: path, key: "test.string", expected: "a bool", actual: "string")) {
            try file.bool("test.string")
        }
        #expect(throws: GGUFError.wrongValueType(file: path, key: "test.nested.string", expected: "an array of string", actual: "array of array")) {
            try file.stringArray("test.nested.string")
        }
        #expect(throws: GGUFError.wrongValueType(file: path, key: "test.string", expected: "an array", actual: "string")) {
            try file.stringArray("test.string")
        }
        #expect(throws: GGUFError.wrongValueType(file: path, key: "test.array.float32", expected: "an array of integers", actual: "array of float32")) {
            try file.integerArray("test.array.float32")
        }
        #expect(throws: GGUFError.invalidValue(file: path, key: "test.array.uint64", reason: "a uint64 element exceeds Int.max")) {
            try file.integerArray("test.array.uint64")
        }
        #expect(throws: GGUFError.wrongValueType(file: path, key: "test.array.int32", expected: "an array of float32 or float64", actual: "array of int32")) {
            try file.floatArray("test.array.int32")
        }
        let error = thrownError(GGUFError.self) { try file.string("test.uint32") }
        #expect(error?.description == "\(path): metadata \"test.uint32\" is uint32, not a string")
    }

    @Test("tensor infos: names in file order, ggml types, dimensions fastest first, shapes reversed, offsets")
    func tensorInfos() throws {
        let reference = try ggufReference("types.reference.json", as: GGUFTypesReference.self)
        #expect(file.tensorNames == reference.tensors.map(\.name))
        for expected in reference.tensors {
            let info = try file.info(expected.name)
            #expect(info.type.rawValue == expected.typeID && info.type.description == expected.type, "\(expected.name)")
            #expect(info.dimensions == expected.dimensions && info.shape == expected.shape, "\(expected.name)")
            #expect(try file.shape(expected.name) == expected.shape)
            #expect(file.dataOffset + info.offset == expected.dataOffset, "\(expected.name)")
            #expect(info.offset % file.alignment == 0)
            #expect(info.elementCount == expected.bits.count)
            #expect(info.byteCount == info.elementCount / info.type.blockSize * info.type.bytesPerBlock)
            #expect(info.rowLength == expected.dimensions[0] && info.rowCount * info.rowLength == info.elementCount)
            let raw = try file.rawBytes(expected.name)
            #expect(raw.count == info.byteCount && raw.startIndex == expected.dataOffset)
        }
        #expect(try file.info("f32").shape == [2, 3, 4] && file.info("f32").dimensions == [4, 3, 2])
        #expect(throws: GGUFError.missingTensor(file: file.path, tensor: "nope")) { try file.info("nope") }
    }

    @Test("dequantizes all ten types bit for bit as gguf.quants.dequantize", arguments: GGMLType.dequantizable)
    func dequantizesLikeTheReference(type: GGMLType) throws {
        let reference = try ggufReference("types.reference.json", as: GGUFTypesReference.self)
        let expected = try #require(reference.tensors.first { $0.type == type.description })
        #expect(bitPatterns(try file.dequantized(expected.name)) == expected.bits)

        // Row by row, through the public row dequantizer, over the raw bytes.
        let info = try file.info(expected.name)
        let raw = try file.rawBytes(expected.name)
        var rows: [Float] = []
        raw.withUnsafeBytes { bytes in
            for row in 0..<info.rowCount {
                var out = [Float](repeating: .nan, count: info.rowLength)
                out.withUnsafeMutableBufferPointer { output in
                    GGUFDequantization.dequantizeRow(
                        type: type, bytes: UnsafeRawBufferPointer(rebasing: bytes[(row * info.bytesPerRow)...]),
                        count: info.rowLength, into: output)
                }
                rows += out
            }
        }
        #expect(bitPatterns(rows) == expected.bits)

        // A range of rows.
        if info.rowCount > 1 {
            let tail = try file.dequantizedRows(expected.name, 1..<info.rowCount)
            #expect(bitPatterns(tail) == Array(expected.bits[info.rowLength...]))
        }
        #expect(try file.dequantizedRows(expected.name, 0..<0) == [])
    }

    @Test("rows outside the tensor are refused")
    func rowsOutOfRange() {
        #expect(throws: GGUFError.rowsOutOfRange(file: file.path, tensor: "q4_0", rows: 1..<3, rowCount: 2)) {
            try file.dequantizedRows("q4_0", 1..<3)
        }
    }

    @Test("the float16 widening agrees with Float(Float16) on all 65 536 bit patterns")
    func halfConversion() {
        for bits in 0...UInt16.max {
            let ours = GGUFDequantization.float(fromHalf: bits)
            let library = Float(Float16(bitPattern: bits))
            if library.isNaN {
                // Signalling NaNs may come back quiet from the library; the payload is kept either way.
                #expect(ours.isNaN && ours.bitPattern | 0x0040_0000 == library.bitPattern | 0x0040_0000, "\(bits)")
            } else {
                #expect(ours.bitPattern == library.bitPattern, "\(bits)")
            }
        }
    }

    @Test("a known type LoRAKit does not dequantize: raw bytes readable, dequantization a typed error")
    func unsupportedType() throws {
        var image = GGUFImage(tensorCount: 1, metadataCount: 0)
        image.tensor("q2", [256, 2], .q2_K, offset: 0)
        image.data(dataSize: 2 * GGMLType.q2_K.bytesPerBlock)
        let file = try GGUFFile(data: image.data, path: "q2.gguf")
        #expect(try file.rawBytes("q2").count == 168)
        let error = thrownError(GGUFError.self) { try file.dequantized("q2") }
        #expect(error == .unsupportedTensorType(file: "q2.gguf", tensor: "q2", type: .q2_K))
        #expect(error?.description.hasPrefix("q2.gguf: tensor \"q2\": ggml type Q2_K is not one LoRAKit dequantizes") == true)
    }

    @Test("no alignment key: 32; a version 2 file; a file without tensors")
    func defaults() throws {
        var image = GGUFImage(version: 2, tensorCount: 2, metadataCount: 1)
        image.entry("general.name", .string)
        image.string("tiny")
        image.tensor("a", [8], .f32, offset: 0)
        image.tensor("b", [], .f32, offset: 32)
        image.data(dataSize: 36)
        let file = try GGUFFile(data: image.data, path: "v2.gguf")
        #expect(file.version == 2 && file.alignment == 32 && file.dataOffset % 32 == 0)
        #expect(try file.dequantized("a") == [Float](repeating: 0, count: 8))
        #expect(try file.info("b").shape == [] && file.info("b").elementCount == 1 && file.dequantized("b") == [0])

        let empty = try GGUFFile(data: GGUFImage(tensorCount: 0, metadataCount: 0).data, path: "empty.gguf")
        #expect(empty.tensors.isEmpty && empty.metadata.isEmpty)
    }

    @Test("a missing file is a typed error naming it")
    func missingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/model.gguf")
        guard case let .fileError(path, reason)? = thrownError(GGUFError.self, { try GGUFFile(contentsOf: url) })
        else { Issue.record("expected fileError"); return }
        #expect(path == url.path && reason.contains("cannot open"))
    }
}
