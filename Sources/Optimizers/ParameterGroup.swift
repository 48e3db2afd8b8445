import NN
import LinearAlgebra

/// Parameters that share a learning rate and weight decay (PyTorch's parameter groups), e.g.
/// LoRA+'s `B` matrices at `ratio × lr`.
public struct ParameterGroup<Scalar: MatrixScalar> {
    /// A label for reports, e.g. `"lora_B"`.
    public var name: String
    /// The parameters, in order.
    public var parameters: [Parameter<Scalar>]
    /// The base learning rate `η` of the group (before any schedule factor).
    public var learningRate: Double
    /// The weight decay `λ`; `nil` takes the optimizer's.
    public var weightDecay: Double?

    /// A group called `name` training `parameters` at `learningRate`, with its own weight decay if given.
    public init(name: String, parameters: [Parameter<Scalar>], learningRate: Double, weightDecay: Double? = nil) {
        self.name = name
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }
}
