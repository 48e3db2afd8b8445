import LinearAlgebra
import LoRA
import NN
import Training

/// Training in seconds: a d=256 block with LoRA r=4, α=4 on every linear layer, 100 AdamW steps on
/// 4 sequences of 8 tokens, then a merge round trip.
public struct TrainingCheck: Codable, Sendable, Equatable {
    public var adaptedLayers: Int
    public var trainableParameters: Int
    public var totalParameters: Int
    public var steps: Int
    public var initialLoss: Double
    public var finalLoss: Double
    /// `max |Y_merged − Y_unmerged|`.
    public var maxMergedDifference: Double

    public static func run() throws -> TrainingCheck {
        var generator = SeededGenerator(seed: 3)
        let data = SequenceRegressionData<Float>(samples: 4, sequenceLength: 8, features: 256, using: &generator)
        let model = TransformerStack<Float>(depth: 1, features: 256, heads: 8, using: &generator)
        try model.injectLoRA(LoRAConfiguration(rank: 4, alpha: 4, targetModules: .allLinear), using: &generator)
        let trainer = SequenceRegressionTrainer(model: model, data: data, options: TrainingOptions(epochs: 100, batchSize: 4))
        let history = trainer.train()
        let merge = model.checkMergeRoundTrip(probe: data.inputs, sequenceLength: 8)
        return TrainingCheck(
            adaptedLayers: model.loraLayers().count, trainableParameters: model.trainableParameterCount,
            totalParameters: model.parameterCount, steps: history.steps, initialLoss: history.initialLoss,
            finalLoss: history.finalLoss, maxMergedDifference: merge.maxMergedDifference)
    }

    public var summary: String {
        String(format: "Training: LoRA r=4 on %d linear layers, %d of %d parameters trainable, %d AdamW steps: loss %.4f → %.4f; merged vs unmerged max |Δ| = %.1e",
               adaptedLayers, trainableParameters, totalParameters, steps, initialLoss, finalLoss, maxMergedDifference)
    }

    enum CodingKeys: String, CodingKey {
        case steps
        case adaptedLayers = "adapted_layers", trainableParameters = "trainable_parameters"
        case totalParameters = "total_parameters", initialLoss = "initial_loss", finalLoss = "final_loss"
        case maxMergedDifference = "max_merged_difference"
    }
}
