import Foundation
import LinearAlgebra
import LoRA
import NN

/// One setting of a ``FineTuningSweep``: a name (``SweepRun/setting``) and the adapters it trains.
public struct FineTuningSweepSetting: Sendable, Equatable {
    public var name: String
    public var lora: LoRAConfiguration

    public init(name: String, lora: LoRAConfiguration) {
        self.name = name
        self.lora = lora
    }
}

/// LoRA fine-tunes of one loaded model, one per setting, on the same windows with the same
/// options: before each, the base's linear layers are put back (``Module/restore(_:)``), so no
/// setting sees another's adapters, and the adapters are injected from a generator seeded by
/// ``FineTuningOptions/seed``, as a single run with that configuration would be.
public struct FineTuningSweep<Model: CausalLanguageModel> {
    public let model: Model
    public let trainingWindows: [TokenBatch]
    public let evaluationWindows: [TokenBatch]
    public let options: FineTuningOptions

    public init(model: Model, trainingWindows: [TokenBatch], evaluationWindows: [TokenBatch], options: FineTuningOptions) {
        self.model = model
        self.trainingWindows = trainingWindows
        self.evaluationWindows = evaluationWindows
        self.options = options
    }

    /// Trains every setting in turn, after checking them all (a setting the model cannot take
    /// throws before any training). `finished` sees each trained model (with its adapters) and
    /// returns where it wrote them, if it did; `progress` sees every step. The model is its base
    /// again afterwards, also when a setting throws.
    public func run(
        _ settings: [FineTuningSweepSetting],
        finished: (FineTuningSweepSetting, Model) throws -> String? = { _, _ in nil },
        progress: (FineTuningSweepSetting, FineTuningProgress) -> Void = { _, _ in }
    ) throws -> SweepReport {
        for setting in settings { _ = try model.loraParameterCount(setting.lora) }
        let base = model.linearLayerSnapshot()
        defer { model.restore(base) }
        var runs: [SweepRun] = []
        for setting in settings {
            model.restore(base)
            var generator = SeededGenerator(seed: options.seed)
            try model.injectLoRA(setting.lora, using: &generator)
            let fineTuning = FineTuning(
                model: model, trainingWindows: trainingWindows, evaluationWindows: evaluationWindows, options: options)
            let final = try fineTuning.run(progress: { progress(setting, $0) })
            let adapter = try finished(setting, model)
            let last = final.evaluations.keys.max().flatMap { $0 > 0 ? final.evaluations[$0] : nil }
            runs.append(SweepRun(
                setting: setting.name, rank: setting.lora.rank, targets: setting.lora.targetModules.flagText,
                finalLoss: final.losses.last ?? .nan, trainableParameters: model.trainableParameterCount,
                tokensPerSecond: fineTuning.trainingTokensPerSecond, initialEvaluationPerplexity: final.evaluations[0],
                finalEvaluationPerplexity: last, adapter: adapter))
        }
        return SweepReport(runs: runs, peakRSSBytes: peakResidentBytes())
    }

    /// The rank at which `configuration`'s adapters on this model have the trainable parameters
    /// `Σ r·(d_in + d_out)` closest to `budget` (at least 1; the smaller rank on a tie).
    public func rank(matchingBudget budget: Int, for configuration: LoRAConfiguration) throws(LoRAInjectionError) -> Int {
        var unit = configuration
        unit.rank = 1
        unit.rankPattern = [:]
        let perRank = try model.loraParameterCount(unit)
        let lower = max(1, budget / perRank)
        return abs(lower * perRank - budget) <= abs((lower + 1) * perRank - budget) ? lower : lower + 1
    }
}
