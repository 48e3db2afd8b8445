internal import CQuantKernels
import LinearAlgebra
import Quantization

/// A frozen projection on a GGUF file's Q4_1 or Q8_0 blocks alone: `Y = X·Ŵᵀ` on the blocks for
/// few rows of `X` (``QuantizedMatrix/directProductRowLimit``, decoding), over dequantized panels
/// and BLAS for more (a training batch), and `∂L/∂X = ∂L/∂Y·Ŵ` over panels.
public typealias BlockQuantizedLinear = FrozenQuantizedLinear<QuantizedMatrix, Float>

extension QuantizedMatrix: RowDequantizable {
    /// The most rows of `X` whose product runs on the blocks: up to about 32 rows the blocks
    /// kernels beat dequantized panels and BLAS (docs/PERFORMANCE.md, QLoRA).
    public static let directProductRowLimit = 32

    public var storageBytes: Int { blocks.count }

    /// Rows `range` dequantized (the kernels' Float values, widened exactly for Double).
    public func dequantize<T: MatrixScalar>(rows range: Range<Int>, into output: UnsafeMutablePointer<T>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "QuantizedMatrix.dequantize: rows \(range) of \(rows)×\(columns)")
        let (stride, k, kernelType) = (bytesPerRow, columns, type.kernelType)
        blocks.withUnsafeBytes { raw in
            if T.self == Float.self {
                let out = UnsafeMutableRawPointer(output).assumingMemoryBound(to: Float.self)
                for (i, r) in range.enumerated() { cqk_dequantize_row(kernelType, raw.baseAddress! + r * stride, k, out + i * k) }
                return
            }
            var row = [Float](repeating: 0, count: k)
            for (i, r) in range.enumerated() {
                row.withUnsafeMutableBufferPointer { cqk_dequantize_row(kernelType, raw.baseAddress! + r * stride, k, $0.baseAddress!) }
                for j in 0..<k { output[i * k + j] = T(row[j]) }
            }
        }
    }

    public func directProduct(_ x: Matrix<Float>) -> Matrix<Float>? {
        x.rows <= Self.directProductRowLimit ? multiply(x, activations: .float) : nil
    }
}
