import LinearAlgebra

/// The pre-norm residual block of a PyTorch `SimpleTransformerBlock`:
/// `X₁ = X + Attention(LayerNorm₁(X))`, `Y = X₁ + MLP(LayerNorm₂(X₁))`.
///
/// `X, Y: n×d` with `n = batch·T`. Children: `norm1`, `attn` (`q_proj`, `k_proj`, `v_proj`,
/// `o_proj`, bias-free), `norm2`, `mlp` (`0`: `d→4d`, `1`: GELU, `2`: `4d→d`).
public final class TransformerBlock<Scalar: MatrixScalar>: Module {
    /// `norm1`, before attention.
    public let norm1: LayerNorm<Scalar>
    /// `attn`.
    public let attention: MultiHeadSelfAttention<Scalar>
    /// `norm2`, before the MLP.
    public let norm2: LayerNorm<Scalar>
    /// `mlp`.
    public let mlp: MLP<Scalar>

    /// A block of width `d` with `heads` heads, initialised as the PyTorch modules are.
    public convenience init(features d: Int, heads: Int, isCausal: Bool = false, using generator: inout some RandomNumberGenerator) {
        self.init(
            norm1: LayerNorm(features: d),
            attention: MultiHeadSelfAttention(features: d, heads: heads, isCausal: isCausal, using: &generator),
            norm2: LayerNorm(features: d), mlp: MLP(features: d, using: &generator))
    }

    private init(norm1: LayerNorm<Scalar>, attention: MultiHeadSelfAttention<Scalar>, norm2: LayerNorm<Scalar>, mlp: MLP<Scalar>) {
        self.norm1 = norm1
        self.attention = attention
        self.norm2 = norm2
        self.mlp = mlp
    }

    /// The width `d`.
    public var features: Int { norm1.features }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }

    public var children: [(name: String, module: any Module<Scalar>)] {
        [("norm1", norm1), ("attn", attention), ("norm2", norm2), ("mlp", mlp)]
    }

    public func replica() -> TransformerBlock {
        TransformerBlock(norm1: norm1.replica(), attention: attention.replica(), norm2: norm2.replica(), mlp: mlp.replica())
    }

    /// `Y: n×d` for `X: n×d` holding sequences of `sequenceLength` rows.
    /// (Each residual is added into the branch's fresh output, so no activation is copied.)
    public func forward(_ input: Matrix<Scalar>, sequenceLength: Int) -> Matrix<Scalar> {
        var hidden = attention.forward(norm1.forward(input), sequenceLength: sequenceLength)
        hidden.axpy(1, input)
        var output = mlp.forward(norm2.forward(hidden))
        output.axpy(1, hidden)
        return output
    }

    /// `∂L/∂X` from `∂L/∂Y`, accumulating parameter gradients.
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        var hiddenGradient = norm2.backward(mlp.backward(outputGradient))
        hiddenGradient.axpy(1, outputGradient)
        var inputGradient = norm1.backward(attention.backward(hiddenGradient))
        inputGradient.axpy(1, hiddenGradient)
        return inputGradient
    }

    /// The parameter gradients of ``backward(_:)`` without `∂L/∂X`: when `norm1` is frozen, the
    /// attention's input gradient is not needed either, which saves three `n×d·d×d` GEMMs.
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        guard norm1.trainableParameterCount == 0 else {
            _ = backward(outputGradient)
            return
        }
        var hiddenGradient = norm2.backward(mlp.backward(outputGradient))
        hiddenGradient.axpy(1, outputGradient)
        attention.accumulateParameterGradients(hiddenGradient)
    }
}
