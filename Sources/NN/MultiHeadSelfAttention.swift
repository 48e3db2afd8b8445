import LinearAlgebra

/// Multi-head self-attention with bias-free projections, as in a PyTorch
/// `SimpleTransformerBlock`: `Q = X·W_qᵀ`, `K = X·W_kᵀ`, `V = X·W_vᵀ` (`W: d×d`),
/// `A = attention(Q, K, V)` per head (``ScaledDotProductAttention``), `Y = A·W_oᵀ`.
///
/// `X, Y: n×d` with `n = batch·T` rows. The projections are children `q_proj`, `k_proj`,
/// `v_proj`, `o_proj` and can be replaced by adapted linear layers.
public final class MultiHeadSelfAttention<Scalar: MatrixScalar>: LinearLayerContainer {
    /// `q_proj`: `W_q: d×d`.
    public private(set) var queryProjection: any LinearLayer<Scalar>
    /// `k_proj`: `W_k: d×d`.
    public private(set) var keyProjection: any LinearLayer<Scalar>
    /// `v_proj`: `W_v: d×d`.
    public private(set) var valueProjection: any LinearLayer<Scalar>
    /// `o_proj`: `W_o: d×d`.
    public private(set) var outputProjection: any LinearLayer<Scalar>
    private var attention: ScaledDotProductAttention<Scalar>

    /// Attention over `features = d` with `heads` heads (`d` divisible by `heads`), projections
    /// initialised as PyTorch's `nn.Linear(d, d, bias=False)`.
    public convenience init(features d: Int, heads: Int, isCausal: Bool = false, using generator: inout some RandomNumberGenerator) {
        precondition(heads > 0 && d % heads == 0, "MultiHeadSelfAttention: \(d) features do not split into \(heads) heads")
        self.init(
            projections: (0..<4).map { _ in Linear(inFeatures: d, outFeatures: d, bias: false, using: &generator) },
            attention: ScaledDotProductAttention(heads: heads, isCausal: isCausal))
    }

    /// From the `q`, `k`, `v`, `o` projections, in that order.
    private init(projections: [any LinearLayer<Scalar>], attention: ScaledDotProductAttention<Scalar>) {
        queryProjection = projections[0]
        keyProjection = projections[1]
        valueProjection = projections[2]
        outputProjection = projections[3]
        self.attention = attention
    }

    /// Number of heads `h`.
    public var heads: Int { attention.heads }
    /// Whether each position attends only to itself and earlier positions.
    public var isCausal: Bool { attention.isCausal }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }

    public var children: [(name: String, module: any Module<Scalar>)] {
        [("q_proj", queryProjection), ("k_proj", keyProjection), ("v_proj", valueProjection), ("o_proj", outputProjection)]
    }

    public func replica() -> MultiHeadSelfAttention {
        MultiHeadSelfAttention(
            projections: [queryProjection, keyProjection, valueProjection, outputProjection].map { $0.replica() },
            attention: ScaledDotProductAttention(heads: heads, isCausal: isCausal))
    }

    public func replaceLinearLayer(named name: String, with layer: any LinearLayer<Scalar>) {
        let d = queryProjection.inFeatures
        precondition(layer.inFeatures == d && layer.outFeatures == d,
                     "MultiHeadSelfAttention: replacement \(name) is \(layer.outFeatures)×\(layer.inFeatures), need \(d)×\(d)")
        switch name {
        case "q_proj": queryProjection = layer
        case "k_proj": keyProjection = layer
        case "v_proj": valueProjection = layer
        case "o_proj": outputProjection = layer
        default: preconditionFailure("MultiHeadSelfAttention has no linear child \(name)")
        }
    }

    /// `Y: n×d` for `X: n×d` holding sequences of `sequenceLength` rows.
    public func forward(_ input: Matrix<Scalar>, sequenceLength: Int) -> Matrix<Scalar> {
        let attended = attention.forward(
            queries: queryProjection.forward(input), keys: keyProjection.forward(input),
            values: valueProjection.forward(input), sequenceLength: sequenceLength)
        return outputProjection.forward(attended)
    }

    /// `∂L/∂X` from `∂L/∂Y`, accumulating the projections' gradients.
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        let gradients = attention.backward(outputProjection.backward(outputGradient))
        var inputGradient = queryProjection.backward(gradients.queries)
        inputGradient.axpy(1, keyProjection.backward(gradients.keys))
        inputGradient.axpy(1, valueProjection.backward(gradients.values))
        return inputGradient
    }

    /// The parameter gradients of ``backward(_:)`` without `∂L/∂X` (the three input-projection
    /// GEMMs of `∂L/∂X` are skipped).
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        let gradients = attention.backward(outputProjection.backward(outputGradient))
        queryProjection.accumulateParameterGradients(gradients.queries)
        keyProjection.accumulateParameterGradients(gradients.keys)
        valueProjection.accumulateParameterGradients(gradients.values)
    }
}
