import LinearAlgebra

/// The feed-forward part of a transformer block, `Y = GELU(X·W₀ᵀ + b₀)·W₂ᵀ + b₂` with
/// `W₀: 4d×d` and `W₂: d×4d`, named as PyTorch's `nn.Sequential(Linear, GELU, Linear)`:
/// children `0`, `1`, `2`.
public final class MLP<Scalar: MatrixScalar>: LinearLayerContainer, Layer {
    /// Child `0`: `W₀: 4d×d`, `b₀`.
    public private(set) var expansion: any LinearLayer<Scalar>
    /// Child `1`: the GELU.
    public let activation = GELU<Scalar>()
    /// Child `2`: `W₂: d×4d`, `b₂`.
    public private(set) var contraction: any LinearLayer<Scalar>

    /// An MLP `d → hidden → d` (`hidden` defaults to `4d`), initialised as `nn.Linear`.
    public convenience init(features d: Int, hiddenFeatures: Int? = nil, using generator: inout some RandomNumberGenerator) {
        let hidden = hiddenFeatures ?? 4 * d
        self.init(expansion: Linear(inFeatures: d, outFeatures: hidden, using: &generator),
                  contraction: Linear(inFeatures: hidden, outFeatures: d, using: &generator))
    }

    private init(expansion: any LinearLayer<Scalar>, contraction: any LinearLayer<Scalar>) {
        self.expansion = expansion
        self.contraction = contraction
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }

    public var children: [(name: String, module: any Module<Scalar>)] {
        [("0", expansion), ("1", activation), ("2", contraction)]
    }

    public func replica() -> MLP {
        MLP(expansion: expansion.replica(), contraction: contraction.replica())
    }

    public func replaceLinearLayer(named name: String, with layer: any LinearLayer<Scalar>) {
        let current: any LinearLayer<Scalar> = name == "0" ? expansion : contraction
        precondition(name == "0" || name == "2", "MLP has no linear child \(name)")
        precondition(layer.inFeatures == current.inFeatures && layer.outFeatures == current.outFeatures,
                     "MLP: replacement \(name) is \(layer.outFeatures)×\(layer.inFeatures), need \(current.outFeatures)×\(current.inFeatures)")
        if name == "0" { expansion = layer } else { contraction = layer }
    }

    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        contraction.forward(activation.forward(expansion.forward(input)))
    }

    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        expansion.backward(activation.backward(contraction.backward(outputGradient)))
    }
}
