import LinearAlgebra

/// An optimizer over a model's trainable parameters: it reads their gradients and changes their
/// values, one ``step()`` at a time.
public protocol Optimizer<Scalar>: AnyObject {
    associatedtype Scalar: MatrixScalar
    /// Steps taken so far.
    var stepCount: Int { get }
    /// Updates every parameter with a gradient from its current gradient.
    func step()
    /// Scales all gradients so their global norm `√(Σ‖g‖²)` is at most `maxNorm`; returns the
    /// norm before clipping.
    @discardableResult
    func clipGradients(maxNorm: Double) -> Double
}

extension Adam: Optimizer {}
