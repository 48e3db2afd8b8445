import LinearAlgebra

/// A linear layer `Y = X·Wᵀ + b` whose weight `W: out×in` and bias `b: 1×out` are parameters
/// (``Linear``, or a projection kept in another form besides): what an adapter wraps, reading
/// `W` as its frozen base.
public protocol WeightedLinearLayer<Scalar>: LinearLayer {
    /// `W: out×in`.
    var weight: Parameter<Scalar> { get }
    /// `b: 1×out`, if any.
    var bias: Parameter<Scalar>? { get }
}

extension Linear: WeightedLinearLayer {}
