import Foundation
import LinearAlgebra
import Models
import Testing

@Suite("Products on quantized blocks")
struct QuantizedMatrixTests {
    /// A `rows×64` Q8_0 matrix of random blocks: scale 2⁻⁶ (fp16 0x2400), int8 values.
    func randomQ8(rows: Int) -> QuantizedMatrix {
        var generator = SeededGenerator(seed: 5)
        var bytes = Data()
        for _ in 0..<(rows * 2) {
            bytes.append(contentsOf: [0x00, 0x24])
            bytes.append(contentsOf: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        return QuantizedMatrix(type: .q8_0, rows: rows, columns: 64, blocks: bytes)
    }

    @Test("split over the helper thread, repeatedly and from concurrent callers, the product equals the dense GEMM")
    func helperSplit() async throws {
        let w = randomQ8(rows: 300)
        let dense = w.dequantized()
        #expect(dense[0, 0] == Float(Int8(bitPattern: w.blocks[w.blocks.startIndex + 2])) / 64)
        var generator = SeededGenerator(seed: 9)
        let x = Matrix<Float>.randomNormal(rows: 2, columns: 64, using: &generator)
        var expected = Matrix<Float>.zeros(2, 300)
        Matrix.gemm(x, dense, transposeB: .transposed, into: &expected)
        try BLAS.withThreadCount(2) {
            for _ in 0..<200 { #expect(w.multiply(x, activations: .float).maxAbsoluteDifference(expected) < 1e-4) }
        }
        // One activation row (the decode kernels) over many pieces, the last one short.
        let tall = randomQ8(rows: 2_049)
        let row = x[rows: 0..<1]
        var tallExpected = Matrix<Float>.zeros(1, 2_049)
        Matrix.gemm(row, tall.dequantized(), transposeB: .transposed, into: &tallExpected)
        try BLAS.withThreadCount(2) {
            for _ in 0..<50 { #expect(tall.multiply(row, activations: .float).maxAbsoluteDifference(tallExpected) < 1e-4) }
        }
        // Callers that find the helper busy run the whole product themselves.
        let reference = expected
        try await withThrowingTaskGroup(of: Float.self) { group in
            for _ in 0..<4 {
                group.addTask { BLAS.withThreadCount(2) { (0..<50).map { _ in w.multiply(x, activations: .float).maxAbsoluteDifference(reference) }.max()! } }
            }
            for try await worst in group { #expect(worst < 1e-4) }
        }
        let reordered = w.reorderingRows(Array((0..<300).reversed()))
        #expect(reordered.dequantized()[rows: 0..<1] == dense[rows: 299..<300])
    }
}
