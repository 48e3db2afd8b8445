/// A linear layer `Y = X·Ŵᵀ + b` whose weight is frozen and kept in a form an adapter cannot read
/// as a dense `W` (a quantized base, as in QLoRA): an adapter wraps the whole layer and adds its
/// path to the layer's output, and `∂L/∂X` comes from the layer's own backward.
public protocol FrozenLinearLayer<Scalar>: LinearLayer {}
