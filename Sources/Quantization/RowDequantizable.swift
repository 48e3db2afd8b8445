import LinearAlgebra

/// A frozen `rows×columns` weight `Ŵ` stored in a compressed form (NF4, ggml blocks) that can
/// write any run of whole rows out dequantized: what ``FrozenQuantizedLinear`` multiplies by.
public protocol RowDequantizable: Sendable {
    var rows: Int { get }
    var columns: Int { get }
    /// Bytes of the stored form (codes and scales).
    var storageBytes: Int { get }
    /// Writes rows `range` of `Ŵ`, row-major (`range.count × columns` values), to `output`.
    func dequantize<T: MatrixScalar>(rows range: Range<Int>, into output: UnsafeMutablePointer<T>)
    /// `Y = X·Ŵᵀ` (`X: n×columns` → `n×rows`) on the stored form itself, where that beats
    /// dequantizing panels for this `n` (few rows: the product is bound by reading the weight);
    /// `nil` where it does not.
    func directProduct(_ x: Matrix<Float>) -> Matrix<Float>?
}

extension RowDequantizable {
    /// No direct product: every `n` goes over dequantized panels.
    public func directProduct(_ x: Matrix<Float>) -> Matrix<Float>? { nil }
}

extension NF4Matrix: RowDequantizable {}
