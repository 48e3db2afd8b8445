import LinearAlgebra
import NN

/// A frozen projection `Y = X·Wᵀ` that keeps both forms of its weight: the dense Float `W: d×k`
/// and the file's quantized blocks (``QuantizedMatrix``), choosing per call by the rows of `X`.
///
/// Few rows (decoding one token, `n ≤` ``quantizedRowLimit``): the product runs on the blocks,
/// reading 0.6–1.1 bytes a weight instead of 4 — memory traffic is what a decode step costs.
/// Many rows (a prompt, a perplexity window, training): Float GEMM, where arithmetic dominates
/// and OpenBLAS's blocking wins. Both stand for the same weights (the dense one is the blocks
/// dequantized), so the choice changes only rounding. Backward is `∂L/∂X = ∂L/∂Y·W` (dense);
/// the weight never trains.
public final class QuantizedLinear: LinearLayer, WeightedLinearLayer {
    public typealias Scalar = Float
    /// `W: d×k`, dense and frozen (read-only).
    public let weight: Parameter<Float>
    /// The same `W` in the file's blocks.
    public let blocks: QuantizedMatrix
    /// How activations enter the quantized product.
    public var activations: QuantizedMatrix.Activations
    /// The largest `n` that runs on the blocks.
    public var quantizedRowLimit: Int
    private var input = Matrix<Float>.zeros(0, 0)

    /// The projection on `blocks`, with `dense` its dequantized matrix (e.g. shared with an embedding table).
    public init(
        blocks: QuantizedMatrix, dense: Matrix<Float>? = nil, activations: QuantizedMatrix.Activations = .float,
        quantizedRowLimit: Int = 8
    ) {
        let dense = dense ?? blocks.dequantized()
        precondition(dense.rows == blocks.rows && dense.columns == blocks.columns,
                     "QuantizedLinear: dense W \(dense.shapeDescription), blocks \(blocks.rows)×\(blocks.columns)")
        weight = Parameter(get: { dense }, modify: nil, trainable: false)
        self.blocks = blocks
        self.activations = activations
        self.quantizedRowLimit = quantizedRowLimit
    }

    private init(sharing other: QuantizedLinear) {
        weight = other.weight.replica()
        blocks = other.blocks
        activations = other.activations
        quantizedRowLimit = other.quantizedRowLimit
    }

    public var inFeatures: Int { blocks.columns }
    public var outFeatures: Int { blocks.rows }
    public var bias: Parameter<Float>? { nil }
    public var localParameters: [(name: String, parameter: Parameter<Float>)] { [("weight", weight)] }
    public var children: [(name: String, module: any Module<Float>)] { [] }
    public func replica() -> QuantizedLinear { QuantizedLinear(sharing: self) }

    public func forward(_ input: Matrix<Float>) -> Matrix<Float> {
        self.input = input
        return apply(input)
    }

    public func apply(_ input: Matrix<Float>) -> Matrix<Float> {
        precondition(input.columns == inFeatures,
                     "QuantizedLinear.forward: X \(input.shapeDescription) does not fit W \(outFeatures)×\(inFeatures)")
        if input.rows <= quantizedRowLimit { return blocks.multiply(input, activations: activations) }
        var output = Matrix<Float>.unsafeUninitialized(input.rows, outFeatures)
        Matrix.gemm(input, weight.value, transposeB: .transposed, into: &output)
        return output
    }

    public func backward(_ outputGradient: Matrix<Float>) -> Matrix<Float> {
        precondition(outputGradient.rows == input.rows && outputGradient.columns == outFeatures,
                     "QuantizedLinear.backward: ∂L/∂Y \(outputGradient.shapeDescription), forward gave \(input.rows)×\(outFeatures)")
        var inputGradient = Matrix<Float>.unsafeUninitialized(outputGradient.rows, inFeatures)
        Matrix.gemm(outputGradient, weight.value, into: &inputGradient)
        return inputGradient
    }

    /// Nothing: the weight is frozen.
    public func accumulateParameterGradients(_ outputGradient: Matrix<Float>) {}
}
