/// One tensor of a GGUF file: name, dimensions, ggml type and where its bytes lie.
///
/// GGUF lists dimensions fastest-varying first, as ggml's `ne`: `ne[0]` is the row length (the
/// elements stored next to each other), `ne[1]` the number of rows, and so on. ``dimensions``
/// keeps that order; ``shape`` is the same reversed, outermost first, the row-major shape numpy
/// and safetensors use. A ggml weight `ne = [576, 1536]` is a 1536×576 matrix: 1536 rows of 576.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. `"blk.0.attn_q.weight"`.
    public let name: String
    /// The dimensions as stored, fastest-varying first (`ne[0]` = row length); empty for a scalar.
    public let dimensions: [Int]
    /// The element type.
    public let type: GGMLType
    /// The start of the tensor's bytes, relative to the data section (a multiple of the alignment).
    public let offset: Int
    /// The number of elements, the product of ``dimensions`` (1 for a scalar).
    public let elementCount: Int
    /// The size in bytes: ``elementCount`` / block size × bytes per block.
    public let byteCount: Int

    /// The dimensions outermost first (``dimensions`` reversed): the row-major shape of
    /// ``GGUFFile/dequantized(_:)``'s result.
    public var shape: [Int] { dimensions.reversed() }
    /// The elements of one row, `ne[0]` (1 for a scalar).
    public var rowLength: Int { dimensions.first ?? 1 }
    /// The number of rows, the product of the dimensions after `ne[0]` (0 when a row is empty).
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }
    /// The bytes of one row.
    public var bytesPerRow: Int { rowLength / type.blockSize * type.bytesPerBlock }
    /// The bytes within the data section.
    public var byteRange: Range<Int> { offset..<(offset + byteCount) }
}
