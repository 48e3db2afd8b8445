import LinearAlgebra
import NN

/// One pre-norm decoder layer of LLaMA (`LlamaDecoderLayer`), children named as Hugging Face's:
/// `input_layernorm`, `self_attn` (``GroupedQueryAttention``), `post_attention_layernorm`,
/// `mlp` (``SwiGLU``).
///
/// For `X: n×d` (sequences of `T` rows): `H = X + attn(norm₁(X))`, `Y = H + mlp(norm₂(H))`.
/// Backward: `∂H = ∂Y + norm₂′(mlp′(∂Y))`, `∂X = ∂H + norm₁′(attn′(∂H))`.
public final class LlamaDecoderLayer<Scalar: MatrixScalar>: Module {
    public let inputNorm: RMSNorm<Scalar>
    public let attention: GroupedQueryAttention<Scalar>
    public let postAttentionNorm: RMSNorm<Scalar>
    public let mlp: SwiGLU<Scalar>

    public init(
        inputNorm: RMSNorm<Scalar>, attention: GroupedQueryAttention<Scalar>, postAttentionNorm: RMSNorm<Scalar>,
        mlp: SwiGLU<Scalar>
    ) {
        self.inputNorm = inputNorm
        self.attention = attention
        self.postAttentionNorm = postAttentionNorm
        self.mlp = mlp
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }

    public var children: [(name: String, module: any Module<Scalar>)] {
        [("self_attn", attention), ("mlp", mlp), ("input_layernorm", inputNorm), ("post_attention_layernorm", postAttentionNorm)]
    }

    public func replica() -> LlamaDecoderLayer {
        LlamaDecoderLayer(
            inputNorm: inputNorm.replica(), attention: attention.replica(), postAttentionNorm: postAttentionNorm.replica(),
            mlp: mlp.replica())
    }

    /// `Y: n×d` for `X: n×d` holding sequences of `sequenceLength` rows (positions `0..<T`).
    public func forward(_ input: Matrix<Scalar>, sequenceLength: Int) -> Matrix<Scalar> {
        var hidden = attention.forward(inputNorm.forward(input), sequenceLength: sequenceLength)
        hidden.axpy(1, input)
        var output = mlp.forward(postAttentionNorm.forward(hidden))
        output.axpy(1, hidden)
        return output
    }

    /// `Y: m×d` for `m` new rows of one sequence at positions `cache.count ..< cache.count + m`,
    /// attending to the cached keys and values, which it extends (inference only: nothing is
    /// kept for a backward pass, so a long prompt runs in one piece).
    public func forward(_ input: Matrix<Scalar>, cache: inout KeyValueCache<Scalar>) -> Matrix<Scalar> {
        var hidden = attention.forward(inputNorm.apply(input), cache: &cache)
        hidden.axpy(1, input)
        var output = mlp.apply(postAttentionNorm.apply(hidden))
        output.axpy(1, hidden)
        return output
    }

    /// `∂L/∂X` from `∂L/∂Y` for the most recent batched forward, accumulating the gradients of
    /// trainable parameters.
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        var hiddenGradient = postAttentionNorm.backward(mlp.backward(outputGradient))
        hiddenGradient.axpy(1, outputGradient)
        var inputGradient = inputNorm.backward(attention.backward(hiddenGradient))
        inputGradient.axpy(1, hiddenGradient)
        return inputGradient
    }
}

/// Modules under the local names `"0"`, `"1"`, … (PyTorch's `nn.ModuleList`), so paths read
/// `model.layers.3.self_attn.q_proj`.
public final class ModuleList<Scalar: MatrixScalar, Element: Module<Scalar>>: Module {
    public let elements: [Element]

    public init(_ elements: [Element]) { self.elements = elements }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }
    public var children: [(name: String, module: any Module<Scalar>)] { elements.enumerated().map { ("\($0)", $1) } }
    public func replica() -> ModuleList { ModuleList(elements.map { $0.replica() }) }
}
