import LinearAlgebra

/// A module applied row by row to a batch `X: n×k` (rows are tokens), with its backward pass.
///
/// `forward` caches what `backward` needs; `backward(∂L/∂Y)` returns `∂L/∂X` (`n×k`) for the
/// most recent forward and adds the parameter gradients into the trainable parameters'
/// gradient buffers (it accumulates; call ``Module/zeroGradients()`` between steps).
public protocol Layer<Scalar>: Module {
    /// `Y = f(X)` for `X: n×k`.
    func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar>
    /// `∂L/∂X` from `∂L/∂Y`, accumulating parameter gradients.
    func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar>
}

/// An affine map `Y = X·Wᵀ + b` with `W: out×in` (or an adapted one, such as LoRA's).
public protocol LinearLayer<Scalar>: Layer {
    /// Input features `in`.
    var inFeatures: Int { get }
    /// Output features `out`.
    var outFeatures: Int { get }
    /// The parameter gradients of ``Layer/backward(_:)`` without `∂L/∂X` (which is a GEMM the
    /// first layer of a model does not need).
    func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>)
    /// `Y` as ``Layer/forward(_:)`` computes it, keeping nothing for a backward pass (inference:
    /// what a layer keeps for its backward is memory a long prompt would hold in every layer).
    func apply(_ input: Matrix<Scalar>) -> Matrix<Scalar>
}

extension LinearLayer {
    /// ``Layer/forward(_:)``, for layers whose forward keeps nothing costly.
    public func apply(_ input: Matrix<Scalar>) -> Matrix<Scalar> { forward(input) }
}

/// A module whose linear sub-modules can be replaced, so adapters can wrap them in place.
public protocol LinearLayerContainer<Scalar>: Module {
    /// Replaces the linear child called `name` (a local name from ``Module/children``) by
    /// `layer`, which must have the same input and output features.
    func replaceLinearLayer(named name: String, with layer: any LinearLayer<Scalar>)
}
