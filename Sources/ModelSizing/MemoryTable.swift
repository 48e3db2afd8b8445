import Foundation

/// A number format for stored weights and training state, named as tensor dtypes are on the
/// command line (`f32`, `f16`, `bf16`) plus the integer formats of quantized weights.
public enum WeightPrecision: String, CaseIterable, Sendable, Codable {
    case float32 = "f32", float16 = "f16", bfloat16 = "bf16", int8, int4

    /// Bytes per value: 4, 2, 2, 1, ½.
    public var bytes: Double {
        switch self {
        case .float32: 4
        case .float16, .bfloat16: 2
        case .int8: 1
        case .int4: 0.5
        }
    }
}

/// What the memory estimate assumes, stated as data so it can be printed next to the numbers.
public struct MemoryAssumptions: Codable, Sendable, Equatable {
    /// WeightPrecision of the model weights (frozen under LoRA), and of every tensor in full fine-tuning.
    public var precision: WeightPrecision
    /// WeightPrecision of LoRA's adapters, their gradients and their Adam states.
    public var trainablePrecision: WeightPrecision
    /// Adam keeps two states per trained parameter (first and second moments `m`, `v`).
    public var optimizerStatesPerParameter: Int
    /// Adapted matrices are square `d×d` with this `d` (`d_model`), so adapting `f·N` weights takes
    /// `f·N/d²` matrices of `2·d·r` LoRA parameters each: `f·N·2r/d` in all.
    public var adaptedMatrixDimension: Int
    /// Bytes in a GB: 10⁹. Activations, buffers and framework overhead are not counted.
    public var bytesPerGB: Double

    enum CodingKeys: String, CodingKey {
        case precision
        case trainablePrecision = "trainable_precision"
        case optimizerStatesPerParameter = "optimizer_states_per_parameter"
        case adaptedMatrixDimension = "adapted_matrix_dimension"
        case bytesPerGB = "bytes_per_gb"
    }

    /// Assumptions: weights (and, for full fine-tuning, every tensor) in `precision`; LoRA's
    /// adapters, their gradients and Adam states in `trainablePrecision` (default: the same);
    /// adapted matrices of size `adaptedMatrixDimension`².
    public init(precision: WeightPrecision = .float32, trainablePrecision: WeightPrecision? = nil, adaptedMatrixDimension: Int = 4096) {
        self.precision = precision
        self.trainablePrecision = trainablePrecision ?? precision
        optimizerStatesPerParameter = 2
        self.adaptedMatrixDimension = adaptedMatrixDimension
        bytesPerGB = 1e9
    }

    /// The assumptions as sentences, for printing under a table.
    public var sentences: [String] {
        [
            "weights in \(precision.rawValue) (\(precision.bytes.compactText) bytes each); full fine-tuning keeps its gradients and Adam states in the same precision",
            "LoRA adapters, their gradients and Adam states in \(trainablePrecision.rawValue) (\(trainablePrecision.bytes.compactText) bytes each)",
            "Adam keeps \(optimizerStatesPerParameter) states (m, v) per trained parameter",
            "adapted matrices are square \(adaptedMatrixDimension)×\(adaptedMatrixDimension): LoRA parameters = fraction × N × 2r / \(adaptedMatrixDimension)",
            "1 GB = 10⁹ bytes; activations, buffers and framework overhead are not counted",
        ]
    }
}

/// GB needed by full fine-tuning and by LoRA for a model of `N` parameters (`lora memory`).
///
/// Full: weights `N·b`, gradients `N·b`, Adam `s·N·b` (`b` bytes per value, `s` states).
/// LoRA: frozen weights `N·b`, adapters `P·b′`, gradients `P·b′`, Adam `s·P·b′`, with
/// `P = f·N·2r/d` LoRA parameters (`f` the adapted fraction, `d` the adapted matrices' width).
public struct MemoryEstimate: Encodable, Sendable, Equatable {
    public var billions: Double
    public var rank: Int
    public var adaptedFraction: Double
    public var precision: WeightPrecision
    public var loraParameters: Double
    public var fullWeights: Double
    public var fullGradients: Double
    public var fullOptimizer: Double
    public var fullTotal: Double
    public var loraWeights: Double
    public var loraAdapters: Double
    public var loraGradients: Double
    public var loraOptimizer: Double
    public var loraTotal: Double
    /// `loraTotal / fullTotal` (as the seed defines it; the saving is `1 −` this).
    public var savingsRatio: Double
    /// What the numbers assume (encoded once per table by the caller, not per row).
    public var assumptions: MemoryAssumptions

    enum CodingKeys: String, CodingKey {
        case billions, rank, precision
        case adaptedFraction = "adapted_fraction"
        case loraParameters = "lora_parameters"
        case fullWeights = "full_ft_weights"
        case fullGradients = "full_ft_gradients"
        case fullOptimizer = "full_ft_optimizer"
        case fullTotal = "full_ft_total"
        case loraWeights = "lora_weights"
        case loraAdapters = "lora_adapters"
        case loraGradients = "lora_gradients"
        case loraOptimizer = "lora_optimizer"
        case loraTotal = "lora_total"
        case savingsRatio = "memory_savings_ratio"
    }

    /// The estimate for `billions`·10⁹ parameters, LoRA rank `r` on a fraction `adaptedFraction ∈ (0, 1]`.
    public init(
        billions: Double, rank r: Int, adaptedFraction f: Double, assumptions: MemoryAssumptions
    ) throws(ParameterTableError) {
        guard billions > 0 && billions.isFinite else { throw .notPositive(name: "billions of parameters", value: billions) }
        guard billions <= 1e9 else { throw .tooLarge(model: String(format: "%g billion parameters", billions)) }
        guard r > 0 else { throw .notPositive(name: "rank", value: Double(r)) }
        guard f > 0 && f <= 1 else { throw .fractionOutOfRange(f) }
        let d = assumptions.adaptedMatrixDimension
        guard d > 0 else { throw .notPositive(name: "adapted matrix dimension", value: Double(d)) }
        let n = billions * 1e9
        let gb = assumptions.bytesPerGB
        let states = Double(assumptions.optimizerStatesPerParameter)
        let b = assumptions.precision.bytes
        let trainableBytes = assumptions.trainablePrecision.bytes
        let adapters = f * n * 2 * Double(r) / Double(d)

        self.billions = billions
        rank = r
        adaptedFraction = f
        precision = assumptions.precision
        loraParameters = adapters
        fullWeights = n * b / gb
        fullGradients = n * b / gb
        fullOptimizer = states * n * b / gb
        fullTotal = fullWeights + fullGradients + fullOptimizer
        loraWeights = n * b / gb
        loraAdapters = adapters * trainableBytes / gb
        loraGradients = adapters * trainableBytes / gb
        loraOptimizer = states * adapters * trainableBytes / gb
        loraTotal = loraWeights + loraAdapters + loraGradients + loraOptimizer
        savingsRatio = loraTotal / fullTotal
        self.assumptions = assumptions
    }
}

private extension Double {
    /// `4` rather than `4.0`, `0.5` as is.
    var compactText: String { String(format: "%g", self) }
}
