/// One tensor of a safetensors file: name, dtype, shape and where its bytes lie.
public struct TensorInfo: Sendable, Equatable {
    /// The tensor's key, e.g. `"base_model.model.layers.0.q_proj.lora_A.weight"`.
    public let name: String
    /// The element type.
    public let dtype: TensorDType
    /// The dimensions, outermost first (row-major).
    public let shape: [Int]
    /// The bytes within the data section (`data_offsets` `[begin, end)`, after the header).
    public let byteRange: Range<Int>

    /// The number of elements, the product of ``shape`` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
    /// The size in bytes: ``elementCount`` × the dtype's size.
    public var byteCount: Int { byteRange.count }
    /// The shape as the matrix LoRAKit reads it: `[]` → 1×1, `[n]` → n×1, `[m, n]` → m×n,
    /// `nil` for more than two dimensions.
    public var matrixShape: (rows: Int, columns: Int)? {
        switch shape.count {
        case 0: (1, 1)
        case 1: (shape[0], 1)
        case 2: (shape[0], shape[1])
        default: nil
        }
    }
    /// The shape as text, e.g. `"[4096, 16]"`.
    public var shapeDescription: String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}

/// The element count and byte size of `shape` with elements of `elementSize` bytes, or a
/// reason when a dimension is negative or the product overflows `Int`.
func checkedByteCount(shape: [Int], elementSize: Int) -> Result<Int, ShapeProblem> {
    var product = elementSize
    for dimension in shape {
        guard dimension >= 0 else { return .failure(ShapeProblem("has a negative dimension")) }
        let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
        guard !overflow else { return .failure(ShapeProblem("overflows: its byte size exceeds \(Int.max)")) }
        product = next
    }
    return .success(product)
}

/// Why a shape is not usable.
struct ShapeProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
