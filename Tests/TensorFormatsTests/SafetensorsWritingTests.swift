import CommandTestSupport
import Foundation
import LinearAlgebra
import PEFT
import Testing
@testable import TensorFormats

@Suite("safetensors writing")
struct SafetensorsWritingTests {
    private let floatDTypes: [TensorDType] = [.float32, .float64, .float16, .bfloat16]

    @Test("values representable in the dtype round-trip exactly, for every dtype, from Float and Double")
    func exactRoundTrips() throws {
        try checkExactRoundTrips(Float.self)
        try checkExactRoundTrips(Double.self)
    }

    private func checkExactRoundTrips<T: MatrixScalar>(_: T.Type) throws {
        var generator = SeededGenerator(seed: 11)
        // Values with 7 significant bits and small exponents are exact in BF16, F16, F32 and F64.
        let matrix = Matrix<T>(rows: 5, columns: 7) { _, _ in
            T(Int.random(in: -127...127, using: &generator)) * T(Double(1 << Int.random(in: 0...6, using: &generator)) / 64)
        }
        for dtype in floatDTypes {
            var writer = SafetensorsWriter()
            writer.add("m", matrix, as: dtype)
            writer.add("v", matrix[columns: 0..<1], as: dtype, shape: [5])
            let file = try SafetensorsFile(data: writer.encoded(), path: "memory")
            #expect(try file.matrix("m", as: T.self) == matrix, "\(dtype)")
            #expect(try file.info("v").shape == [5])
            #expect(try file.matrix("v", as: T.self) == matrix[columns: 0..<1], "\(dtype)")
        }
    }

    @Test("random values round-trip within half an ulp of the dtype, for every dtype")
    func roundedRoundTrips() throws {
        try checkRoundedRoundTrips(Float.self)
        try checkRoundedRoundTrips(Double.self)
    }

    private func checkRoundedRoundTrips<T: MatrixScalar>(_: T.Type) throws {
        var generator = SeededGenerator(seed: 12)
        let matrix = Matrix<T>.randomNormal(rows: 9, columns: 6, using: &generator)
        for dtype in floatDTypes {
            var writer = SafetensorsWriter()
            writer.add("m", matrix, as: dtype)
            let back = try SafetensorsFile(data: writer.encoded(), path: "memory").matrix("m", as: Double.self)
            let unitRoundoff = max(dtype.machineEpsilon!, T.ulpOfOne.doubleValue) / 2
            for (x, y) in zip(matrix.elements, back.elements) {
                #expect(abs(Double(x) - y) <= unitRoundoff * abs(Double(x)), "\(dtype): \(x) → \(y)")
            }
        }
    }

    @Test("narrowing matches numpy's rounding bit for bit (F32, F16 from F64; F16, BF16 from F32; BF16 from F64 in one rounding)")
    func roundingMatchesNumpy() throws {
        let fixtureFile = try SafetensorsFile(contentsOf: fixture("rounding.safetensors"))
        let source = try fixtureFile.matrix("source", as: Double.self)
        let source32 = try fixtureFile.matrix("source32", as: Float.self)
        var writer = SafetensorsWriter()
        writer.add("f32", source, as: .float32)
        writer.add("f16", source, as: .float16)
        writer.add("bf16", source, as: .bfloat16)
        writer.add("f16_from32", source32, as: .float16)
        writer.add("bf16_from32", source32, as: .bfloat16)
        let written = try SafetensorsFile(data: writer.encoded(), path: "memory")
        for name in ["f32", "f16", "bf16", "f16_from32", "bf16_from32"] {
            #expect(try written.rawBytes(name) == fixtureFile.rawBytes(name), "\(name)")
        }
    }

    @Test("output is deterministic, header padded with spaces to 8 bytes, tensors aligned, metadata kept")
    func layout() throws {
        var generator = SeededGenerator(seed: 13)
        let a = Matrix<Float>.randomNormal(rows: 3, columns: 3, using: &generator)
        let b = Matrix<Double>.randomNormal(rows: 1, columns: 5, using: &generator)
        var first = SafetensorsWriter()
        first.add("z.half", a, as: .float16)
        first.add("a.double", b, as: .float64)
        first.add("m.single", a, as: .float32)
        var second = SafetensorsWriter()
        second.add("m.single", a, as: .float32)
        second.add("a.double", b, as: .float64)
        second.add("z.half", a, as: .float16)
        let data = first.encoded()
        #expect(data == second.encoded())
        let headerLength = Int(data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        #expect(headerLength % 8 == 0)
        let header = String(decoding: data[8..<(8 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{\"__metadata__\":{\"format\":\"pt\"}"))
        #expect(header.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
        let file = try SafetensorsFile(data: data, path: "memory")
        #expect(file.metadata == ["format": "pt"])
        for tensor in file.tensors {
            #expect((8 + headerLength + tensor.byteRange.lowerBound) % tensor.dtype.byteCount == 0, "\(tensor.name)")
        }
    }

    @Test("raw copies keep dtype, shape and bytes; writing is atomic and re-readable")
    func copyAndWrite() throws {
        let source = try SafetensorsFile(contentsOf: fixture("dtypes.safetensors"))
        var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "copy"])
        for name in source.tensorNames { try writer.addCopy(of: name, from: source) }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("copy.safetensors")
        try writer.write(to: url)
        let copy = try SafetensorsFile(contentsOf: url)
        #expect(copy.metadata == ["format": "pt", "note": "copy"])
        for name in source.tensorNames {
            #expect(try copy.info(name).shape == source.info(name).shape)
            #expect(try copy.rawBytes(name) == source.rawBytes(name))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["copy.safetensors"])
    }

    @Test("a write into a missing directory fails with a typed error and leaves no file")
    func failedWrite() {
        let url = URL(fileURLWithPath: "/nonexistent-dir/out.safetensors")
        var writer = SafetensorsWriter()
        writer.add("x", Matrix<Float>.identity(2), as: .float32)
        guard case let .fileError(file, _)? = thrownError(TensorFileError.self, { try writer.write(to: url) }) else { return }
        #expect(file == url.path)
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }
}

private extension BinaryFloatingPoint {
    var doubleValue: Double { Double(self) }
}

@Suite("dtype rounding helpers")
struct DTypeRoundingTests {
    @Test("rounded() equals what the file stores; ulp is the gap to the next value")
    func roundedAndULP() throws {
        var generator = SeededGenerator(seed: 14)
        let matrix = Matrix<Double>.randomNormal(rows: 4, columns: 5, using: &generator)
        for dtype in [TensorDType.float16, .bfloat16, .float32, .float64] {
            var writer = SafetensorsWriter()
            writer.add("m", matrix, as: dtype)
            #expect(try SafetensorsFile(data: writer.encoded(), path: "m").matrix("m", as: Double.self) == dtype.rounded(matrix))
            #expect(matrix.elements.map(dtype.rounded) == dtype.rounded(matrix).elements, "\(dtype): scalar and matrix rounding agree")
        }
        #expect(TensorDType.float16.unitInLastPlace(of: 1) == 0x1p-10)
        #expect(TensorDType.bfloat16.unitInLastPlace(of: 1) == 0x1p-7)
        #expect(TensorDType.bfloat16.unitInLastPlace(of: -3) == 0x1p-6)
        #expect(TensorDType.float32.unitInLastPlace(of: 1) == 0x1p-23)
        #expect(TensorDType.float64.unitInLastPlace(of: 1) == 0x1p-52)
        #expect(TensorDType.bfloat16.unitInLastPlace(of: 0) == 0x1p-133)
    }
}

@Suite("atomic safetensors writes")
struct AtomicWriteTests {
    @Test("a write replaces an existing file whole; a failed rename leaves no temporary file")
    func replaceAndFailure() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.safetensors")
        var small = SafetensorsWriter()
        small.add("x", Matrix<Float>.identity(2), as: .float32)
        try small.write(to: url)
        var large = SafetensorsWriter()
        large.add("y", Matrix<Double>.identity(5), as: .float64)
        try large.write(to: url)
        #expect(try SafetensorsFile(contentsOf: url).tensorNames == ["y"])
        let blocker = directory.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: blocker.appendingPathComponent("child"), withIntermediateDirectories: true)
        guard case .fileError? = thrownError(TensorFileError.self, { try large.write(to: blocker) }) else { return }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["m.safetensors", "occupied"])
    }
}
