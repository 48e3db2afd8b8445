import Quantization

/// How a loader stores each decoder projection (`q, k, v, o, gate, up, down` of every layer). The
/// loader reads the file one tensor at a time and builds each projection in its final form
/// before reading the next, so a quantized base never holds the Float weights of all its
/// projections at once: only the one being converted.
public enum ProjectionStorage: Equatable, Sendable {
    /// Dense Float (``NN/Linear``, or ``QuantizedLinear`` when the loader also keeps the file's blocks).
    case float
    /// NF4, optionally with double-quantized scales (`NF4Linear`), from the weight dequantized to Float.
    case nf4(doubleQuantization: Bool)
    /// The GGUF file's own blocks of this type (``BlockQuantizedLinear``), copied out of the file's
    /// mapping. A projection stored in another type is refused: its blocks would be quantized again.
    case fileBlocks(QuantizedMatrix.BlockType)
}
