import LinearAlgebra

/// LLaMA's self-attention block (`LlamaAttention`): bias-free projections, rotary position
/// embedding on queries and keys, and causal grouped-query attention.
///
/// For `X: n×d` (sequences of `T` rows): `Q = RoPE(X·W_qᵀ)` (`W_q: (h·e)×d`),
/// `K = RoPE(X·W_kᵀ)`, `V = X·W_vᵀ` (`W_k, W_v: (g·e)×d`), `A = attention(Q, K, V)` with `h`
/// query heads sharing `g` key/value heads (``ScaledDotProductAttention``), `Y = A·W_oᵀ`
/// (`W_o: d×(h·e)`); row `r` sits at position `r mod T`. The projections are children `q_proj`,
/// `k_proj`, `v_proj`, `o_proj` (Hugging Face's names) and can be replaced by adapted layers.
///
/// Backward: `∂A = ∂Y·W_o`, `(∂Q, ∂K, ∂V)` from the attention, the rotations undone on `∂Q` and
/// `∂K` (RoPE is orthogonal), and `∂X = ∂Q·W_q + ∂K·W_k + ∂V·W_v`.
public final class GroupedQueryAttention<Scalar: MatrixScalar>: LinearLayerContainer {
    /// `q_proj`: `W_q: (h·e)×d`.
    public private(set) var queryProjection: any LinearLayer<Scalar>
    /// `k_proj`: `W_k: (g·e)×d`.
    public private(set) var keyProjection: any LinearLayer<Scalar>
    /// `v_proj`: `W_v: (g·e)×d`.
    public private(set) var valueProjection: any LinearLayer<Scalar>
    /// `o_proj`: `W_o: d×(h·e)`.
    public private(set) var outputProjection: any LinearLayer<Scalar>
    /// The position embedding applied to `Q` and `K`.
    public let rotary: RotaryEmbedding<Scalar>
    private var attention: ScaledDotProductAttention<Scalar>
    private var sequenceLength = 0

    /// Attention from its four projections (`q`, `k`, `v`, `o`), `heads` query heads sharing
    /// `keyValueHeads`, and the rotary embedding (whose head size fixes `e`).
    public init(
        query: any LinearLayer<Scalar>, key: any LinearLayer<Scalar>, value: any LinearLayer<Scalar>,
        output: any LinearLayer<Scalar>, heads: Int, keyValueHeads: Int, rotary: RotaryEmbedding<Scalar>
    ) {
        let e = rotary.headSize
        precondition(
            query.outFeatures == heads * e && key.outFeatures == keyValueHeads * e && value.outFeatures == keyValueHeads * e
                && output.inFeatures == heads * e && key.inFeatures == query.inFeatures && value.inFeatures == query.inFeatures
                && output.outFeatures == query.inFeatures,
            "GroupedQueryAttention: projections q \(query.outFeatures)×\(query.inFeatures), k \(key.outFeatures)×\(key.inFeatures), v \(value.outFeatures)×\(value.inFeatures), o \(output.outFeatures)×\(output.inFeatures) do not fit \(heads) heads of \(e) sharing \(keyValueHeads)")
        queryProjection = query
        keyProjection = key
        valueProjection = value
        outputProjection = output
        self.rotary = rotary
        attention = ScaledDotProductAttention(heads: heads, keyValueHeads: keyValueHeads, isCausal: true)
    }

    /// Attention over `features = d` with projections initialised as `nn.Linear(bias=False)`.
    public convenience init(
        features d: Int, heads: Int, keyValueHeads: Int, headSize e: Int, ropeBase: Double, maximumPositions: Int,
        using generator: inout some RandomNumberGenerator
    ) {
        self.init(
            query: Linear(inFeatures: d, outFeatures: heads * e, bias: false, using: &generator),
            key: Linear(inFeatures: d, outFeatures: keyValueHeads * e, bias: false, using: &generator),
            value: Linear(inFeatures: d, outFeatures: keyValueHeads * e, bias: false, using: &generator),
            output: Linear(inFeatures: heads * e, outFeatures: d, bias: false, using: &generator),
            heads: heads, keyValueHeads: keyValueHeads,
            rotary: RotaryEmbedding(headSize: e, base: ropeBase, maximumPositions: maximumPositions))
    }

    /// Query heads `h`.
    public var heads: Int { attention.heads }
    /// Key/value heads `g`.
    public var keyValueHeads: Int { attention.keyValueHeads }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }

    public var children: [(name: String, module: any Module<Scalar>)] {
        [("q_proj", queryProjection), ("k_proj", keyProjection), ("v_proj", valueProjection), ("o_proj", outputProjection)]
    }

    public func replica() -> GroupedQueryAttention {
        GroupedQueryAttention(
            query: queryProjection.replica(), key: keyProjection.replica(), value: valueProjection.replica(),
            output: outputProjection.replica(), heads: heads, keyValueHeads: keyValueHeads, rotary: rotary)
    }

    public func replaceLinearLayer(named name: String, with layer: any LinearLayer<Scalar>) {
        let current: any LinearLayer<Scalar>
        switch name {
        case "q_proj": current = queryProjection
        case "k_proj": current = keyProjection
        case "v_proj": current = valueProjection
        case "o_proj": current = outputProjection
        default: preconditionFailure("GroupedQueryAttention has no linear child \(name)")
        }
        precondition(layer.inFeatures == current.inFeatures && layer.outFeatures == current.outFeatures,
                     "GroupedQueryAttention: replacement \(name) is \(layer.outFeatures)×\(layer.inFeatures), need \(current.outFeatures)×\(current.inFeatures)")
        switch name {
        case "q_proj": queryProjection = layer
        case "k_proj": keyProjection = layer
        case "v_proj": valueProjection = layer
        default: outputProjection = layer
        }
    }

    /// `Y: n×d` for `X: n×d` holding sequences of `sequenceLength` rows.
    public func forward(_ input: Matrix<Scalar>, sequenceLength t: Int) -> Matrix<Scalar> {
        sequenceLength = t
        var queries = queryProjection.forward(input)
        var keys = keyProjection.forward(input)
        rotary.apply(to: &queries, heads: heads, positions: { $0 % t })
        rotary.apply(to: &keys, heads: keyValueHeads, positions: { $0 % t })
        let attended = attention.forward(
            queries: queries, keys: keys, values: valueProjection.forward(input), sequenceLength: t)
        return outputProjection.forward(attended)
    }

    /// `∂L/∂X` from `∂L/∂Y`, accumulating the projections' gradients.
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        let (queries, keys, values) = inputGradients(outputGradient)
        var inputGradient = queryProjection.backward(queries)
        inputGradient.axpy(1, keyProjection.backward(keys))
        inputGradient.axpy(1, valueProjection.backward(values))
        return inputGradient
    }

    /// The parameter gradients of ``backward(_:)`` without `∂L/∂X`.
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        let (queries, keys, values) = inputGradients(outputGradient)
        queryProjection.accumulateParameterGradients(queries)
        keyProjection.accumulateParameterGradients(keys)
        valueProjection.accumulateParameterGradients(values)
    }

    /// `∂L/∂(X·W_qᵀ)`, `∂L/∂(X·W_kᵀ)`, `∂L/∂(X·W_vᵀ)`: through `o_proj`, the attention and the
    /// inverse rotations.
    private func inputGradients(_ outputGradient: Matrix<Scalar>) -> (Matrix<Scalar>, Matrix<Scalar>, Matrix<Scalar>) {
        let t = sequenceLength
        var (queries, keys, values) = attention.backward(outputProjection.backward(outputGradient))
        rotary.apply(to: &queries, heads: heads, positions: { $0 % t }, inverse: true)
        rotary.apply(to: &keys, heads: keyValueHeads, positions: { $0 % t }, inverse: true)
        return (queries, keys, values)
    }
}
