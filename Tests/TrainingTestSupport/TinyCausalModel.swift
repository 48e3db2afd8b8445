import LinearAlgebra
import LoRA
import NN
import Training

/// A minimal next-token model for the trainer's tests and checks: a frozen embedding `E`, one
/// linear map (`proj`, where LoRA goes) and the head tied to `E`: `logits = (E[x]·Wᵀ)·Eᵀ`.
public final class TinyCausalModel<Scalar: MatrixScalar>: CausalLanguageModel, LinearLayerContainer {
    public let embedding: Embedding<Scalar>
    public private(set) var projection: any LinearLayer<Scalar>

    public init(vocabulary: Int, features: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        embedding = Embedding(weight: Parameter(.randomNormal(rows: vocabulary, columns: features, using: &generator), trainable: false))
        let linear = Linear<Scalar>(inFeatures: features, outFeatures: features, bias: false, using: &generator)
        linear.weight.isTrainable = false
        projection = linear
    }

    private init(embedding: Embedding<Scalar>, projection: any LinearLayer<Scalar>) {
        (self.embedding, self.projection) = (embedding, projection)
    }

    /// The tests' model: 16 tokens, 8 features, and LoRA of rank 2 (`α = 4`, Gaussian `A`) on `proj`,
    /// every number seeded, so two calls give the same model.
    public static func adapted(dropout: Double) throws -> TinyCausalModel {
        let model = TinyCausalModel(vocabulary: 16, features: 8, seed: 3)
        var generator = SeededGenerator(seed: 4)
        try model.injectLoRA(
            LoRAConfiguration(rank: 2, alpha: 4, dropout: dropout, targetModules: .names(["proj"]), initialization: .gaussian),
            using: &generator)
        return model
    }

    /// A 203-token stream over the 16 tokens with enough structure to learn: `(7i + ⌊i/5⌋) mod 16`.
    public static var stream: [Int] { (0..<203).map { ($0 * 7 + $0 / 5) % 16 } }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }
    public var children: [(name: String, module: any Module<Scalar>)] { [("embed_tokens", embedding), ("proj", projection)] }
    public func replica() -> TinyCausalModel { TinyCausalModel(embedding: embedding.replica(), projection: projection.replica()) }
    public func replaceLinearLayer(named name: String, with layer: any LinearLayer<Scalar>) { projection = layer }

    public func loss(tokens: [Int], targets: [Int], sequenceLength: Int, accumulatingGradients: Bool) -> ProjectedCrossEntropy<Scalar> {
        let hidden = projection.forward(embedding.forward(tokens))
        let result = projectedCrossEntropy(
            hidden: hidden, weight: embedding.weight.value, targets: targets, rowsPerChunk: 5, computingGradient: accumulatingGradients)
        if accumulatingGradients, let gradient = result.hiddenGradient { projection.accumulateParameterGradients(gradient) }
        return result
    }
}

extension FineTuning {
    /// The tests' run of ``TinyCausalModel``: training windows of 5 tokens of its stream, evaluation
    /// windows of 8 over the first 40 tokens, and 7 steps of 2 micro-batches of 3 sequences with
    /// warm-up, cosine decay, weight decay and clipping, at `learningRate`.
    public static func tiny<T: MatrixScalar>(
        dropout: Double, learningRate: Double = 5e-2, reduction: (any GradientReduction)? = nil
    ) throws -> FineTuning<TinyCausalModel<T>> where Model == TinyCausalModel<T> {
        let stream = TinyCausalModel<T>.stream
        return FineTuning(
            model: try .adapted(dropout: dropout), trainingWindows: TokenWindows.training(stream, context: 5),
            evaluationWindows: TokenWindows.evaluation(Array(stream.prefix(40)), context: 8),
            options: FineTuningOptions(
                steps: 7, batchSize: 3, context: 5, accumulate: 2, learningRate: learningRate, weightDecay: 0.01, warmupSteps: 2,
                decay: .cosine, maxGradientNorm: 1, seed: 9),
            reduction: reduction)
    }
}
