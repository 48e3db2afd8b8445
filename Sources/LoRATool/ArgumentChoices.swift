import ArgumentParser
import LoRAKit

// Library enums that flags take by their raw values; help lists the values and a wrong one is
// refused naming the flag and the choices.
extension AdaptedProjection: ExpressibleByArgument {}
extension WeightPrecision: ExpressibleByArgument {}
extension LoRABias: ExpressibleByArgument {}
extension LearningRateSchedule.Decay: ExpressibleByArgument {}

/// `--dtype` of stored tensors: the safetensors dtypes LoRAKit converts to and from.
enum TensorDTypeChoice: String, ExpressibleByArgument, CaseIterable {
    case f32, f64, f16, bf16

    var tensorDType: TensorDType {
        switch self {
        case .f32: .float32
        case .f64: .float64
        case .f16: .float16
        case .bf16: .bfloat16
        }
    }
}

/// `--precision` of a computation: the floating-point type its arithmetic runs in.
enum ArithmeticPrecision: String, ExpressibleByArgument, CaseIterable {
    case f32, f64
}

/// `--model`: a preset transformer shape by its id, or `all` of them.
struct ModelChoice: ExpressibleByArgument {
    /// The presets chosen: one, or every one for `all`.
    var shapes: [TransformerShape]

    init?(argument: String) {
        if argument == "all" {
            shapes = TransformerShape.presets
        } else if let preset = TransformerShape.presets.first(where: { $0.id == argument }) {
            shapes = [preset]
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { TransformerShape.presets.map(\.id) + ["all"] }
}
