import CommandTestSupport
import Foundation
import LinearAlgebra
import PEFT
import Testing
@testable import TensorFormats

@Suite("safetensors reading")
struct SafetensorsReadingTests {
    @Test("reads every float dtype written by the safetensors package, as Float and Double")
    func readsFixtureDTypes() throws {
        try checkFixtureDTypes(Float.self)
        try checkFixtureDTypes(Double.self)
    }

    private func checkFixtureDTypes<T: MatrixScalar & TensorScalar>(_: T.Type) throws {
        let file = try SafetensorsFile(contentsOf: fixture("dtypes.safetensors"))
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensorNames == ["bf16", "f16", "f32", "f64", "positions", "scalar", "vector"])
        for (name, dtype) in [("f32", TensorDType.float32), ("f64", .float64), ("f16", .float16), ("bf16", .bfloat16)] {
            let info = try file.info(name)
            #expect(info.dtype == dtype && info.shape == [3, 4] && info.byteCount == 12 * dtype.byteCount)
            #expect(try file.matrix(name, as: T.self) == fixtureGrid(T.self), "\(name)")
        }
        #expect(try file.matrix("vector", as: T.self) == Matrix(rows: 5, columns: 1) { i, _ in T(i) / 2 })
        #expect(try file.elements("vector", as: T.self) == [0, 0.5, 1, 1.5, 2])
        #expect(try file.matrix("scalar", as: T.self) == Matrix([[2.5]]))
        #expect(try file.info("positions").dtype == .int64)
        #expect(throws: TensorFileError.unsupportedDType(file: file.path, tensor: "positions", dtype: "I64")) {
            try file.matrix("positions", as: T.self)
        }
    }

    @Test("raw bytes of a non-float tensor are exposed unchanged")
    func rawBytesOfIntegerTensor() throws {
        let file = try SafetensorsFile(contentsOf: fixture("dtypes.safetensors"))
        let bytes = try file.rawBytes("positions")
        let values = bytes.withUnsafeBytes { raw in (0..<4).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) } }
        #expect(values == [0, 1, 2, 3])
    }

    @Test("a missing tensor is named")
    func missingTensor() throws {
        let file = try SafetensorsFile(contentsOf: fixture("dtypes.safetensors"))
        #expect(throws: TensorFileError.missingTensor(file: file.path, tensor: "nope")) { try file.matrix("nope", as: Float.self) }
        #expect(!file.contains("nope") && file.contains("f32"))
    }

    @Test("a missing file is a file error naming the path")
    func missingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/model.safetensors")
        let error = thrownError(TensorFileError.self) { try SafetensorsFile(contentsOf: url) }
        guard case let .fileError(file, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == url.path)
    }
}
