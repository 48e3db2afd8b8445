import ArgumentParser
import Foundation
import LoRAKit

/// `lora train`: LoRA (or full) fine-tuning of transformer blocks on the synthetic sequence task,
/// once or as a rank sweep.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train LoRA adapters (or every weight) of transformer blocks on a synthetic sequence task.",
        discussion: """
            Data: x ~ N(0,1) of [samples, T, d], y = roll(x, 1 along T)·0.9 + 0.1·noise; MSE loss, AdamW.
            Prints trainable vs total parameters, the loss, the ‖A‖, ‖B‖, ‖BA‖ history of the first \
            q_proj, then merges, compares outputs, unmerges and reports the drift of W. Progress goes \
            to standard error.
            """)

    @Option(help: "Number of sequences.") var samples = 1000
    @Option(help: "Sequence length T.") var sequenceLength = 32
    @Option(name: .customLong("d-model"), help: "Model width d.") var dModel = 256
    @Option(help: "Attention heads (must divide d).") var heads = 8
    @Option(help: "Transformer blocks.") var depth = 1
    @Option(help: "Sequences per batch.") var batchSize = 64
    @Option(help: "Epochs (default 100, or 50 per rank in a sweep).") var epochs: Int?
    @Option(help: "AdamW learning rate.") var lr = 1e-3
    @Option(help: "AdamW decoupled weight decay.") var weightDecay = 0.01
    @OptionGroup var lora: LoRAOptions
    @Option(help: "LoRA+ learning-rate ratio for B.") var loraPlusRatio = 1.0
    @Option(help: "Clip gradients to this global norm.") var clipNorm: Double?
    @Option(help: "Linear warm-up steps.") var warmupSteps = 0
    @Option(help: "Learning-rate decay after warm-up.") var schedule: LearningRateSchedule.Decay = .constant
    @Option(help: ArgumentList<Int>.help("Rank sweep, α = 2r each"), transform: ArgumentList.parse)
    var ranks: [ArgumentList<Int>] = []
    @Flag(help: "Fine-tune every parameter instead of LoRA adapters.") var full = false
    @Option(help: "Random seed for weights, data and adapters.") var seed: UInt64 = 42
    @OptionGroup var threads: ThreadsOption
    @Option(help: "Data-parallel model replicas, one BLAS thread each (default: one per BLAS thread, at most one per 256 tokens of a batch; 1: one model on all BLAS threads).")
    var replicas: Int?
    @OptionGroup var output: FormatOption
    @OptionGroup var plot: PlotOption

    func validate() throws {
        for (name, value) in [("--samples", samples), ("--sequence-length", sequenceLength), ("--d-model", dModel),
                              ("--heads", heads), ("--depth", depth), ("--batch-size", batchSize)]
        where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        if dModel % heads != 0 { throw ValidationError("--heads \(heads) does not divide --d-model \(dModel)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let replicas, replicas < 1 { throw ValidationError("--replicas must be at least 1, got \(replicas)") }
        if !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive and finite, got \(lr)") }
        if !(weightDecay >= 0) { throw ValidationError("--weight-decay must be ≥ 0, got \(weightDecay)") }
        if !(loraPlusRatio > 0) { throw ValidationError("--lora-plus-ratio must be positive, got \(loraPlusRatio)") }
        if let clipNorm, !(clipNorm > 0) { throw ValidationError("--clip-norm must be positive, got \(clipNorm)") }
        if warmupSteps < 0 { throw ValidationError("--warmup-steps must be ≥ 0, got \(warmupSteps)") }
        if full && !ranks.values().isEmpty { throw ValidationError("--full and --ranks exclude each other") }
        if let bad = ranks.values().first(where: { $0 < 1 }) { throw ValidationError("--ranks: rank \(bad) must be at least 1") }
    }

    func run() throws {
        threads.apply()
        let sweep = ranks.values()
        let options = TrainingOptions(
            epochs: epochs ?? (sweep.isEmpty ? 100 : 50), batchSize: batchSize, learningRate: lr,
            weightDecay: weightDecay, loraPlusRatio: loraPlusRatio, maxGradientNorm: clipNorm,
            warmupSteps: warmupSteps, decay: schedule,
            replicas: replicas ?? TrainingOptions.defaultReplicas(batchSize: batchSize, sequenceLength: sequenceLength))
        let experiment = SequenceRegressionExperiment(
            samples: samples, sequenceLength: sequenceLength, features: dModel, heads: heads, depth: depth, seed: seed,
            options: options)
        do {
            if sweep.isEmpty {
                let report = try experiment.run(lora: full ? nil : lora.configuration(rank: lora.rank, alpha: lora.alpha),
                                                 progress: printProgress)
                try plot.write(report.figure)
                print(try output.render(report))
            } else {
                let configurations = sweep.map { lora.configuration(rank: $0, alpha: 2 * Double($0)) }
                let report = try experiment.sweep(configurations) { printProgress($0.summary) }
                try plot.write(report.figure)
                print(try output.render(report))
            }
        } catch let error as TrainingDivergedError {
            throw CommandFailure(description: "\(error); try a smaller --lr or --clip-norm")
        }
    }
}
