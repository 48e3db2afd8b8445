import Foundation
internal import CQuantKernels
import LinearAlgebra

/// A `d×k` weight kept in ggml's Q4_1 or Q8_0 blocks (as a GGUF file stores it: `d` rows of
/// `k/32` blocks), multiplied without materialising the Float matrix (CQuantKernels):
/// `Y = X·Wᵀ` for `X: n×k`, `Y: n×d`, the rows of `W` shared in pieces with a helper thread
/// (``HelperThread``) when BLAS has more than one thread.
///
/// A decode step reads each weight once per token, so the product is bound by memory traffic:
/// Q4_1 is 0.625 bytes a weight, Q8_0 1.0625, Float 4.
public struct QuantizedMatrix: @unchecked Sendable {
    /// The ggml block types the kernels multiply.
    public enum BlockType: String, Sendable, CustomStringConvertible {
        case q4_1, q8_0

        public var description: String { rawValue }
    }

    /// How the activations enter the product.
    public enum Activations: Sendable {
        /// Float activations, each weight block dequantized in registers (the Float product of
        /// the dequantized matrix up to summation order).
        case float
        /// Activations rounded to int8 blocks first (`|x − x̂| ≤ max|x|/254` per block of 32),
        /// then int8 dot products, as llama.cpp computes; not the default, because on SmolLM2 it
        /// was slower than `float` and its greedy ids drift (docs/PERFORMANCE.md, SmolLM2).
        case int8
    }

    public let type: BlockType
    /// Rows `d`.
    public let rows: Int
    /// Columns `k` (a multiple of 32).
    public let columns: Int
    /// `d·k/32` blocks, row after row (may be a slice of a mapped file; kept alive here).
    public let blocks: Data

    /// The matrix in `blocks` (`rows` rows of `columns/32` blocks of `type`).
    public init(type: BlockType, rows: Int, columns: Int, blocks: Data) {
        precondition(columns.isMultiple(of: 32) && rows > 0, "QuantizedMatrix: \(rows)×\(columns) is not rows of 32-value blocks")
        let bytes = cqk_row_bytes(type.kernelType, columns) * rows
        precondition(blocks.count == bytes, "QuantizedMatrix: \(blocks.count) bytes for \(rows)×\(columns) \(type) need \(bytes)")
        self.type = type
        self.rows = rows
        self.columns = columns
        self.blocks = blocks
    }

    /// Bytes of one row.
    public var bytesPerRow: Int { cqk_row_bytes(type.kernelType, columns) }

    /// The same matrix with its rows reordered: row `i` of the result is row `order[i]` of this one.
    public func reorderingRows(_ order: [Int]) -> QuantizedMatrix {
        precondition(order.count == rows, "QuantizedMatrix.reorderingRows: \(order.count) indices for \(rows) rows")
        let stride = bytesPerRow
        var reordered = Data(count: blocks.count)
        reordered.withUnsafeMutableBytes { to in
            blocks.withUnsafeBytes { from in
                for (i, source) in order.enumerated() {
                    (to.baseAddress! + i * stride).copyMemory(from: from.baseAddress! + source * stride, byteCount: stride)
                }
            }
        }
        return QuantizedMatrix(type: type, rows: rows, columns: columns, blocks: reordered)
    }

    /// The Float matrix `d×k` the blocks stand for.
    public func dequantized() -> Matrix<Float> {
        var result = Matrix<Float>.unsafeUninitialized(rows, columns)
        result.withUnsafeMutableBufferPointer { dequantize(rows: 0..<rows, into: $0.baseAddress!) }
        return result
    }

    /// `Y = X·Wᵀ` (`X: n×k` → `n×d`).
    public func multiply(_ x: Matrix<Float>, activations: Activations) -> Matrix<Float> {
        precondition(x.columns == columns, "QuantizedMatrix.multiply: X \(x.shapeDescription) does not fit W \(rows)×\(columns)")
        let (n, d, k, kernelType) = (x.rows, rows, columns, type.kernelType)
        var y = Matrix<Float>.unsafeUninitialized(n, d)
        guard n > 0 else { return y }
        let path = CQK_PATH_BEST
        var quantized: [cqk_block_q8a] = []
        if activations == .int8 {
            quantized = [cqk_block_q8a](unsafeUninitializedCapacity: n * k / 32) { buffer, count in
                x.withUnsafeBufferPointer { cqk_quantize_rows_q8a($0.baseAddress!, k, n, k, buffer.baseAddress!) }
                count = n * k / 32
            }
        }
        blocks.withUnsafeBytes { w in
            x.withUnsafeBufferPointer { xs in
                quantized.withUnsafeBufferPointer { xq in
                    y.withUnsafeMutableBufferPointer { ys in
                        let (w, xs, xq, ys) = (w.baseAddress!, xs.baseAddress!, xq.baseAddress, ys.baseAddress!)
                        let product = { (range: Range<Int>) in
                            let (d0, d1) = (range.lowerBound, range.upperBound)
                            if activations == .int8 {
                                cqk_matmul_q8a(path, kernelType, w, k, d0, d1, xq!, n, ys, d)
                            } else {
                                cqk_matmul_f32(path, kernelType, w, k, d0, d1, xs, k, n, ys, d)
                            }
                        }
                        // A spinning helper, not a thread pool: a product takes 5–300 µs, about what waking a parked thread does.
                        if BLAS.threadCount > 1 && d >= 128 { HelperThread.shared.split(d, product) } else { product(0..<d) }
                    }
                }
            }
        }
        return y
    }
}

extension QuantizedMatrix.BlockType {
    var kernelType: cqk_weight_type {
        switch self {
        case .q4_1: CQK_Q4_1
        case .q8_0: CQK_Q8_0
        }
    }
}

/// The ISA path `QuantizedMatrix` runs on this CPU: `"portable"`, `"avx2"` or `"avx512-vnni"`.
public var quantizedKernelPath: String { String(cString: cqk_path_name(cqk_best_path())) }
