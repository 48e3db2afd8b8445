import Foundation
import LinearAlgebra
import LoRA
import NN

/// The synthetic training experiment: transformer blocks drawn from a seed learn
/// ``SequenceRegressionData``, with LoRA adapters or every weight, once or once per rank.
///
/// Every run starts from the same weights and adapters (seeds `seed + 1` and `seed + 2`), so the
/// runs of a sweep differ only by their configuration.
public struct SequenceRegressionExperiment: Sendable {
    public let data: SequenceRegressionData<Float>
    /// Width `d`.
    public let features: Int
    /// Attention heads (dividing `d`).
    public let heads: Int
    /// Transformer blocks.
    public let depth: Int
    public let seed: UInt64
    public let options: TrainingOptions

    /// Draws `samples` sequences of `sequenceLength` tokens of width `features` from `seed`.
    public init(samples: Int, sequenceLength: Int, features: Int, heads: Int, depth: Int, seed: UInt64, options: TrainingOptions) {
        var generator = SeededGenerator(seed: seed)
        data = SequenceRegressionData(samples: samples, sequenceLength: sequenceLength, features: features, using: &generator)
        self.features = features
        self.heads = heads
        self.depth = depth
        self.seed = seed
        self.options = options
    }

    /// Trains with `lora` adapters (nil: full fine-tuning), telling `progress` the set-up and each
    /// tenth of the epochs; checks the merge round trip after LoRA training.
    public func run(lora: LoRAConfiguration?, progress: (String) -> Void = { _ in }) throws -> TrainingReport {
        let model = makeModel()
        let baseParameters = model.parameterCount
        var adaptedModules: [String] = []
        if let lora {
            var generator = SeededGenerator(seed: seed &+ 2)
            adaptedModules = try model.injectLoRA(lora, using: &generator).wrapped.map(\.path)
        }
        let tracked = model.loraLayers().first { $0.path.hasSuffix("q_proj") }?.layer ?? model.loraLayers().first?.layer
        let trainer = SequenceRegressionTrainer(model: model, data: data, options: options, trackedLayer: tracked)
        progress("Training on " + options.parallelismDescription)
        let every = max(1, options.epochs / 10)
        let history = trainer.train { epoch in
            if epoch.epoch % every == 0 || epoch.epoch == 1 || epoch.epoch == epoch.epochs {
                progress(String(format: "Epoch %ld/%ld, loss %.4f (%.2f s)", epoch.epoch, epoch.epochs, epoch.loss, epoch.seconds))
            }
        }
        try Self.requireFiniteLoss(history, learningRate: options.learningRate)
        // The training peak, read before the merge check keeps copies of the adapted weights.
        let peak = peakResidentBytes()
        let probe = data.batch(0..<min(options.batchSize, data.samples)).inputs
        let summary = TrainingRunSummary(
            mode: lora == nil ? "full" : "lora", trainableParameters: model.trainableParameterCount,
            totalParameters: model.parameterCount, baseParameters: baseParameters, adaptedModules: adaptedModules,
            replicas: options.replicas, peakRSSBytes: peak,
            merge: lora == nil ? nil : model.checkMergeRoundTrip(probe: probe, sequenceLength: data.sequenceLength))
        return TrainingReport(
            lora: lora, history: history, summary: summary,
            appliedUpdate: tracked.map { ($0.weights.b * $0.weights.a * $0.weights.scale, $0.weights.scale) })
    }

    /// Trains once per configuration (each from the same start), telling `progress` each result.
    public func sweep(_ configurations: [LoRAConfiguration], progress: (SweepRun) -> Void = { _ in }) throws -> SweepReport {
        var runs: [SweepRun] = []
        for configuration in configurations {
            let model = makeModel()
            var generator = SeededGenerator(seed: seed &+ 2)
            try model.injectLoRA(configuration, using: &generator)
            let history = SequenceRegressionTrainer(model: model, data: data, options: options).train()
            try Self.requireFiniteLoss(history, learningRate: options.learningRate, rank: configuration.rank)
            let run = SweepRun(setting: "r\(configuration.rank)", rank: configuration.rank,
                               targets: configuration.targetModules.flagText, finalLoss: history.finalLoss,
                               trainableParameters: model.trainableParameterCount, tokensPerSecond: history.tokensPerSecond)
            runs.append(run)
            progress(run)
        }
        return SweepReport(runs: runs, peakRSSBytes: peakResidentBytes())
    }

    private func makeModel() -> TransformerStack<Float> {
        var generator = SeededGenerator(seed: seed &+ 1)
        return TransformerStack<Float>(depth: depth, features: features, heads: heads, using: &generator)
    }

    /// Throws when the loss became NaN or infinite (usually a learning rate too high).
    private static func requireFiniteLoss(
        _ history: AdapterTrainingHistory, learningRate: Double, rank: Int? = nil
    ) throws(TrainingDivergedError) {
        guard let epoch = (history.losses + [history.finalLoss]).firstIndex(where: { !$0.isFinite }) else { return }
        throw TrainingDivergedError(epoch: min(epoch + 1, history.losses.count), learningRate: learningRate, rank: rank)
    }
}

/// The training loss stopped being finite.
public struct TrainingDivergedError: Error, Equatable, CustomStringConvertible {
    /// The first epoch after which the loss was not finite, from 1.
    public var epoch: Int
    public var learningRate: Double
    /// The adapter rank of the run that diverged, in a sweep.
    public var rank: Int?

    public init(epoch: Int, learningRate: Double, rank: Int? = nil) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.rank = rank
    }

    public var description: String {
        "training diverged\(rank.map { " at rank \($0)" } ?? ""): the loss is not finite after epoch \(epoch) (learning rate \(learningRate))"
    }
}
