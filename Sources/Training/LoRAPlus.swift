import NN
import LinearAlgebra
import LoRA
import Optimizers

extension Module {
    /// Parameter groups for LoRA+ (Hayou et al. 2024): every `lora_B` matrix at
    /// `ratio × learningRate`, every other trainable parameter at `learningRate`. A ratio of 1
    /// is plain LoRA. Empty groups are left out.
    public func loraPlusGroups(learningRate: Double, ratio: Double) -> [ParameterGroup<Scalar>] {
        let trainable = trainableParameters()
        let isB = { (path: String) in path.hasSuffix("lora_B.weight") }
        return [
            ParameterGroup(name: "default", parameters: trainable.filter { !isB($0.path) }.map(\.parameter), learningRate: learningRate),
            ParameterGroup(name: "lora_B", parameters: trainable.filter { isB($0.path) }.map(\.parameter), learningRate: ratio * learningRate),
        ].filter { !$0.parameters.isEmpty }
    }
}
