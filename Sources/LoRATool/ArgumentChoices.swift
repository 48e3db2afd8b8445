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

/// `--base-precision` of `lora finetune`: how the frozen base holds its weights while adapters train.
enum BasePrecision: String, ExpressibleByArgument, CaseIterable {
    /// As loaded, in Float.
    case f32
    /// Every weight rounded to bfloat16 (nearest, ties to even), still stored as Float.
    case bf16
    /// The projections quantized to NF4 (QLoRA) as they are read: 4.5 bits a weight.
    case nf4
    /// NF4 with double-quantized scales: 4.127 bits a weight.
    case nf4DQ = "nf4-dq"
    /// The projections kept in the GGUF file's own Q4_1 blocks: 5 bits a weight.
    case q4_1
    /// The projections kept in the GGUF file's own Q8_0 blocks: 8.5 bits a weight.
    case q8_0

    /// `text` as a value; otherwise an error naming the choices in one line (ArgumentParser's own
    /// lists more than four choices over several lines).
    static func parse(_ text: String) throws -> BasePrecision {
        guard let value = BasePrecision(argument: text) else { throw InvalidListItem<BasePrecision>(item: text) }
        return value
    }

    /// The form the loader builds each projection in.
    var projections: ProjectionStorage {
        switch self {
        case .f32, .bf16: .float
        case .nf4: .nf4(doubleQuantization: false)
        case .nf4DQ: .nf4(doubleQuantization: true)
        case .q4_1: .fileBlocks(.q4_1)
        case .q8_0: .fileBlocks(.q8_0)
        }
    }

    /// Finishes the loaded `model`'s base before adapters are injected (bf16 rounds every
    /// weight); returns what the base holds.
    func apply<M: Module<Float>>(to model: M) -> String {
        switch self {
        case .f32:
            return "base in f32"
        case .bf16:
            let parameters = model.namedParameters().filter(\.parameter.isWritable)
            for (_, parameter) in parameters {
                let value = parameter.value
                parameter.value = Matrix(rows: value.rows, columns: value.columns, elements: TensorDType.bfloat16.rounded(value.elements))
            }
            return "base rounded to bf16: \(parameters.count) tensors"
        case .nf4, .nf4DQ, .q4_1, .q8_0:
            let layers = model.namedModules().filter { $0.module is any QuantizedWeightLayer }.count
            return "base projections in \(rawValue): \(layers) layers"
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
