import Foundation
import LinearAlgebra
import Quantization
import TensorFormats
import Testing

/// One case of nf4.safetensors (scripts/fixtures/make_nf4_fixtures.py, bitsandbytes 0.50.2 on the CPU).
struct NF4Fixture {
    static let file: SafetensorsFile = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("nf4.safetensors")
        return try! SafetensorsFile(contentsOf: url)
    }()
    static let cases = ["aligned", "ragged", "large", "edges"]

    let name: String
    func floats(_ tensor: String) throws -> [Float] { try Self.file.elements("\(name).\(tensor)") }
    func bytes(_ tensor: String) throws -> [UInt8] { [UInt8](try Self.file.rawBytes("\(name).\(tensor)")) }
    func matrix(_ tensor: String) throws -> Matrix<Float> {
        let shape = try Self.file.matrixShape("\(name).\(tensor)")
        return Matrix(rows: shape.rows, columns: shape.columns, elements: try floats(tensor))
    }
}

@Suite("NF4 against bitsandbytes: packed codes, absmax, double quantization, dequantized values")
struct NF4FixtureTests {
    @Test(arguments: NF4Fixture.cases)
    func packedBytesAndAbsmaxEqualBitsandbytes(_ name: String) throws {
        let fixture = NF4Fixture(name: name)
        let quantized = try NF4Matrix(quantizing: try fixture.matrix("input"))
        #expect(quantized.packed == (try fixture.bytes("packed")))
        #expect(quantized.scales == .absmax(try fixture.floats("absmax")))
        #expect(quantized.dequantized() == (try fixture.matrix("dequantized")))
    }

    @Test(arguments: NF4Fixture.cases)
    func doubleQuantizationEqualsBitsandbytes(_ name: String) throws {
        let fixture = NF4Fixture(name: name)
        let quantized = try NF4Matrix(quantizing: try fixture.matrix("input"), doubleQuantization: true)
        #expect(quantized.packed == (try fixture.bytes("dq.packed")))
        guard case let .doubleQuantized(absmax, offset) = quantized.scales else {
            Issue.record("double quantization gave \(quantized.scales)")
            return
        }
        #expect(offset.bitPattern == (try fixture.floats("dq.offset"))[0].bitPattern)
        #expect(absmax.codes == (try fixture.bytes("dq.absmax8")))
        #expect(absmax.absmax == (try fixture.floats("dq.absmax2")))
        #expect(quantized.dequantized() == (try fixture.matrix("dq.dequantized")))
    }

    /// bitsandbytes' stored state (packed tensor, absmax or its 8-bit codes, absmax2, offset)
    /// decodes to its own dequantization.
    @Test(arguments: NF4Fixture.cases)
    func storedStateDecodesToBitsandbytesValues(_ name: String) throws {
        let fixture = NF4Fixture(name: name)
        let shape = try NF4Fixture.file.matrixShape("\(name).input")
        let plain = try NF4Matrix(
            rows: shape.rows, columns: shape.columns, packed: try fixture.bytes("packed"),
            scales: .absmax(try fixture.floats("absmax")))
        #expect(plain.dequantized() == (try fixture.matrix("dequantized")))
        let nested = try DynamicQuantizedValues(codes: try fixture.bytes("dq.absmax8"), absmax: try fixture.floats("dq.absmax2"))
        let double = try NF4Matrix(
            rows: shape.rows, columns: shape.columns, packed: try fixture.bytes("dq.packed"),
            scales: .doubleQuantized(nested, offset: try fixture.floats("dq.offset")[0]))
        #expect(double.dequantized() == (try fixture.matrix("dq.dequantized")))
    }

    /// The table built as `create_dynamic_map` builds it, and as the quant state carries it.
    @Test func dynamicCodeEqualsCreateDynamicMap() throws {
        let map: [Float] = try NF4Fixture.file.elements("dynamic_map")
        let code: [Float] = try NF4Fixture.file.elements("dynamic_code")
        let differing = { (other: [Float]) in (0..<256).filter { DynamicCode.values[$0].bitPattern != other[$0].bitPattern } }
        #expect(map.count == 256 && differing(map).isEmpty)
        #expect(code.count == 256 && differing(code).isEmpty)
        #expect(DynamicCode.values.count == 256 && DynamicCode.values.first! < -0.99 && DynamicCode.values.last == 1)
    }
}
