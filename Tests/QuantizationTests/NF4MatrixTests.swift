import LinearAlgebra
import Quantization
import Testing

@Suite("NF4 round trip: the error bound per block, storage, stored-part and input errors")
struct NF4MatrixTests {
    /// Gaussian rows with a heavy tail in some columns, an odd width (blocks cross rows).
    static func weights(rows: Int = 45, columns: Int = 77, seed: UInt64 = 3) -> Matrix<Float> {
        var generator = SeededGenerator(seed: seed)
        var w = Matrix<Float>.randomNormal(rows: rows, columns: columns, using: &generator)
        for i in stride(from: 0, to: w.count, by: 97) { w.withUnsafeMutableBufferPointer { $0[i] *= 40 } }
        return w
    }

    /// `|w − ŵ| ≤ a_b·(h + 2⁻²²)` in every block, `h` = ``NF4Matrix/maximumScaledError``; and the
    /// bound is nearly reached (it is the gap between −1 and the next code).
    @Test func roundTripErrorIsBoundedPerBlock() throws {
        let w = Self.weights()
        let quantized = try NF4Matrix(quantizing: w)
        let restored = quantized.dequantized()
        var worstRatio: Float = 0
        for e in 0..<w.count {
            let a = quantized.absmax(ofBlock: e / NF4Matrix.blockSize)
            let error = abs(w.elements[e] - restored.elements[e])
            #expect(error <= a * (NF4Matrix.maximumScaledError + 0x1p-22), "element \(e)")
            worstRatio = max(worstRatio, error / a)
        }
        #expect(NF4Matrix.maximumScaledError == Float(0.15190359950065613))
        #expect(worstRatio > 0.12)
    }

    /// Double quantization adds at most `0.0070·max_B |a − ā|` (plus rounding) to each scale, times `|c| ≤ 1`.
    @Test func doubleQuantizedErrorAddsTheScaleError() throws {
        let w = Self.weights(rows: 300, columns: 128)
        let plain = try NF4Matrix(quantizing: w)
        let double = try NF4Matrix(quantizing: w, doubleQuantization: true)
        #expect(double.packed == plain.packed)
        guard case let .doubleQuantized(_, offset) = double.scales else { preconditionFailure() }
        let blocks = plain.blockCount
        for group in stride(from: 0, to: blocks, by: 256) {
            let range = group..<min(group + 256, blocks)
            let spread = range.map { abs(plain.absmax(ofBlock: $0) - offset) }.max()!
            for b in range {
                #expect(abs(plain.absmax(ofBlock: b) - double.absmax(ofBlock: b)) <= spread * (0.9 / 128 + 0x1p-21), "block \(b)")
            }
        }
        let (a, b) = (plain.dequantized(), double.dequantized())
        for e in 0..<w.count {
            let block = e / NF4Matrix.blockSize
            let scaleError = abs(plain.absmax(ofBlock: block) - double.absmax(ofBlock: block))
            #expect(abs(a.elements[e] - b.elements[e]) <= scaleError * (1 + 0x1p-22) + abs(a.elements[e]) * 0x1p-23)
        }
    }

    @Test func bitsPerParameter() throws {
        #expect(NF4Matrix.bitsPerParameter(doubleQuantization: false) == 4.5)
        #expect(NF4Matrix.bitsPerParameter(doubleQuantization: true) == 4.126953125)
        let w = Matrix<Float>.zeros(576, 1536)  // 13824 blocks, 54 groups of 256
        let plain = try NF4Matrix(quantizing: w)
        let double = try NF4Matrix(quantizing: w, doubleQuantization: true)
        #expect(plain.storageBytes == 576 * 1536 / 2 + 4 * 13824)
        #expect(double.storageBytes == 576 * 1536 / 2 + 13824 + 4 * 54 + 4)
        #expect(plain.bitsPerParameter == 4.5)
        #expect(abs(double.bitsPerParameter - 4.126953125) < 1e-4)
    }

    /// An all-zero matrix round-trips to zeros, with and without double quantization.
    @Test func zerosStayZero() throws {
        let zero = Matrix<Float>.zeros(3, 70)
        #expect(try NF4Matrix(quantizing: zero).dequantized() == zero)
        #expect(try NF4Matrix(quantizing: zero, doubleQuantization: true).dequantized() == zero)
    }

    @Test func typedErrors() throws {
        var w = Matrix<Float>.zeros(2, 5)
        w[1, 3] = .nan
        #expect(throws: QuantizationError.nonFiniteValue(row: 1, column: 3)) { try NF4Matrix(quantizing: w) }
        #expect(throws: QuantizationError.countMismatch(what: "packed bytes for 2×5", expected: 5, actual: 4)) {
            try NF4Matrix(rows: 2, columns: 5, packed: [0, 0, 0, 0], scales: .absmax([1]))
        }
        #expect(throws: QuantizationError.countMismatch(what: "block scales for 2×64", expected: 2, actual: 1)) {
            try NF4Matrix(rows: 2, columns: 64, packed: [UInt8](repeating: 0, count: 64), scales: .absmax([1]))
        }
        #expect(throws: QuantizationError.countMismatch(what: "absmax values of the 8-bit absmax codes", expected: 2, actual: 1)) {
            try DynamicQuantizedValues(codes: [UInt8](repeating: 0, count: 300), absmax: [1])
        }
        #expect("\(QuantizationError.nonFiniteValue(row: 1, column: 3))" == "cannot quantize: element [1, 3] is not finite")
    }

    /// Rows dequantized in panels (any start, odd widths) equal the whole matrix's rows, in Float and Double.
    @Test func panelsEqualTheWholeDequantization() throws {
        let w = Self.weights(rows: 13, columns: 37)
        let quantized = try NF4Matrix(quantizing: w, doubleQuantization: true)
        let whole = quantized.dequantized()
        for rows in [0..<13, 1..<4, 5..<6, 12..<13, 3..<3] {
            var float = [Float](repeating: 0, count: rows.count * 37)
            var double = [Double](repeating: 0, count: rows.count * 37)
            float.withUnsafeMutableBufferPointer { quantized.dequantize(rows: rows, into: $0.baseAddress!) }
            double.withUnsafeMutableBufferPointer { quantized.dequantize(rows: rows, into: $0.baseAddress!) }
            #expect(float == whole[rows: rows].elements)
            #expect(double == whole[rows: rows].elements.map(Double.init))
        }
    }
}
