import ArgumentParser
import Foundation
import LoRAKit

/// `lora train`: seed 003's LoRA training experiment (Parts 3 and 5) and seed 000's training demo.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train LoRA adapters (or every weight) of transformer blocks on seed 003's synthetic task.",
        discussion: """
            Data: x ~ N(0,1) of [samples, T, d], y = roll(x, 1 along T)·0.9 + 0.1·noise; MSE loss, AdamW.
            Prints per-epoch progress, trainable vs total parameters, the ‖A‖, ‖B‖, ‖BA‖ history of the \
            first q_proj, then merges, compares outputs, unmerges and reports the drift of W.
            """)

    @Option(help: "Number of sequences.") var samples = 1000
    @Option(help: "Sequence length T.") var sequenceLength = 32
    @Option(help: "Model width d.") var dim = 256
    @Option(help: "Attention heads (must divide d).") var heads = 8
    @Option(help: "Transformer blocks.") var depth = 1
    @Option(help: "Sequences per batch.") var batchSize = 64
    @Option(help: "Epochs (default 100, or 50 per rank in a sweep as seed 003).") var epochs: Int?
    @Option(help: "AdamW learning rate.") var lr = 1e-3
    @Option(help: "AdamW decoupled weight decay.") var weightDecay = 0.01
    @Option(help: "LoRA rank r.") var rank = 8
    @Option(help: "LoRA alpha α (scaling α/r).") var alpha = 16.0
    @Option(help: "Dropout on the adapter input.") var dropout = 0.0
    @Option(help: "Comma-separated target module names (PEFT rule), or 'all-linear'.")
    var targets = "q_proj,k_proj,v_proj,o_proj"
    @Option(help: "Adapter initialisation: kaiming, gaussian, pissa.") var initialization = "kaiming"
    @Option(help: "Bias training: none, lora_only, all.") var bias = "none"
    @Flag(help: "Scale by α/√r (rsLoRA).") var rslora = false
    @Option(help: "LoRA+ learning-rate ratio for B.") var loraPlusRatio = 1.0
    @Option(help: "Clip gradients to this global norm.") var clipNorm: Double?
    @Option(help: "Linear warm-up steps.") var warmupSteps = 0
    @Option(help: "Learning-rate decay after warm-up: constant, linear, cosine.") var schedule = "constant"
    @Option(parsing: .upToNextOption, help: "Rank sweep, e.g. 4,8,16,32,64,128 or 4 8 16 (α = 2r each, as seed 003).")
    var ranks: [ArgumentList<Int>] = []
    @Flag(help: "Fine-tune every parameter instead of LoRA adapters.") var full = false
    @Option(help: "Output: text or json.") var format = "text"
    @Option(help: "Write SVG plots into this directory.") var plot: String?
    @Option(help: "Random seed for weights, data and adapters.") var seed: UInt64 = 42
    @Option(help: "BLAS threads (default: OpenBLAS's own choice).") var threads: Int?
    @Option(help: "Data-parallel model replicas, one BLAS thread each (default: one per BLAS thread, at most one per 256 tokens of a batch; 1: one model on all BLAS threads).")
    var replicas: Int?

    func validate() throws {
        for (name, value) in [("--samples", samples), ("--sequence-length", sequenceLength), ("--dim", dim),
                              ("--heads", heads), ("--depth", depth), ("--batch-size", batchSize), ("--rank", rank)]
        where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        if dim % heads != 0 { throw ValidationError("--heads \(heads) does not divide --dim \(dim)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let replicas, replicas < 1 { throw ValidationError("--replicas must be at least 1, got \(replicas)") }
        if !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive and finite, got \(lr)") }
        if !(weightDecay >= 0) { throw ValidationError("--weight-decay must be ≥ 0, got \(weightDecay)") }
        if !(loraPlusRatio > 0) { throw ValidationError("--lora-plus-ratio must be positive, got \(loraPlusRatio)") }
        if let clipNorm, !(clipNorm > 0) { throw ValidationError("--clip-norm must be positive, got \(clipNorm)") }
        if warmupSteps < 0 { throw ValidationError("--warmup-steps must be ≥ 0, got \(warmupSteps)") }
        if LearningRateSchedule.Decay(rawValue: schedule) == nil {
            throw ValidationError("--schedule must be constant, linear or cosine, got '\(schedule)'")
        }
        if !["text", "json"].contains(format) { throw ValidationError("--format must be text or json, got '\(format)'") }
        if full && sweepRanks != nil { throw ValidationError("--full and --ranks exclude each other") }
        if let bad = sweepRanks?.first(where: { $0 < 1 }) { throw ValidationError("--ranks: rank \(bad) must be at least 1") }
        try loraConfiguration(rank: rank, alpha: alpha).validate()
    }

    /// The ranks of `--ranks`, or `nil` for a single run.
    private var sweepRanks: [Int]? {
        let values = ranks.flatMap(\.values)
        return values.isEmpty ? nil : values
    }

    /// The LoRA configuration the flags describe.
    private func loraConfiguration(rank: Int, alpha: Double) throws -> LoRAConfiguration {
        let initializations: [String: LoRAInitialization] = ["kaiming": .kaimingUniform, "gaussian": .gaussian, "pissa": .pissa]
        guard let scheme = initializations[initialization] else {
            throw ValidationError("--initialization must be kaiming, gaussian or pissa, got '\(initialization)'")
        }
        guard let biasMode = LoRABias(rawValue: bias) else {
            throw ValidationError("--bias must be none, lora_only or all, got '\(bias)'")
        }
        let names = targets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return LoRAConfiguration(
            rank: rank, alpha: alpha, dropout: dropout,
            targetModules: targets == "all-linear" ? .allLinear : .names(names),
            useRSLoRA: rslora, bias: biasMode, initialization: scheme)
    }

    private var trainingOptions: TrainingOptions {
        TrainingOptions(
            epochs: epochs ?? (sweepRanks == nil ? 100 : 50), batchSize: batchSize, learningRate: lr,
            weightDecay: weightDecay, loraPlusRatio: loraPlusRatio, maxGradientNorm: clipNorm,
            warmupSteps: warmupSteps, decay: LearningRateSchedule.Decay(rawValue: schedule)!,
            replicas: replicas ?? defaultReplicas)
    }

    /// One replica per BLAS thread, but none with fewer than 256 tokens of a batch: smaller parts
    /// make GEMMs too thin to pay, and each replica of a full fine-tuning holds its own gradients.
    private var defaultReplicas: Int {
        max(1, min(BLAS.threadCount, batchSize * sequenceLength / 256))
    }

    /// How the training steps use the cores.
    private var parallelismDescription: String {
        let options = trainingOptions
        return options.replicas == 1
            ? "one model on \(BLAS.threadCount) BLAS thread(s)"
            : "\(options.replicas) data-parallel replicas of \(options.batchSize / options.replicas)+ sequences, one BLAS thread each"
    }

    func run() throws {
        if let plot { try createDirectory(URL(fileURLWithPath: plot)) }  // fail before training, not after
        if let threads { BLAS.threadCount = threads }
        var generator = SeededGenerator(seed: seed)
        let data = SequenceRegressionData<Float>(
            samples: samples, sequenceLength: sequenceLength, features: dim, using: &generator)
        if let sweep = sweepRanks {
            try runSweep(sweep, data: data)
        } else {
            try runSingle(data: data)
        }
    }

    private func log(_ line: String) {
        if format == "text" { print(line) } else { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    /// A fresh model drawn from the seed, so every run of a sweep starts from the same weights.
    private func makeModel() -> TransformerStack<Float> {
        var generator = SeededGenerator(seed: seed &+ 1)
        return TransformerStack<Float>(depth: depth, features: dim, heads: heads, using: &generator)
    }

    private func runSingle(data: SequenceRegressionData<Float>) throws {
        let model = makeModel()
        let totalBefore = model.parameterCount
        var adapterGenerator = SeededGenerator(seed: seed &+ 2)
        if !full {
            let report = try model.injectLoRA(loraConfiguration(rank: rank, alpha: alpha), using: &adapterGenerator)
            log("LoRA r=\(rank) α=\(alpha) on \(report.wrapped.count) modules: " + report.wrapped.map(\.path).joined(separator: ", "))
        }
        let trainable = model.trainableParameterCount
        let total = model.parameterCount
        log("Parameters: \(trainable.formatted()) trainable / \(total.formatted()) total "
            + (full ? "" : String(format: "(%.2f%%; %@ before LoRA)", 100 * Double(trainable) / Double(total), totalBefore.formatted())))
        let tracked = model.loraLayers().first { $0.path.hasSuffix("q_proj") }?.layer ?? model.loraLayers().first?.layer
        let trainer = SequenceRegressionTrainer(model: model, data: data, options: trainingOptions, trackedLayer: tracked)
        log("Training on " + parallelismDescription)
        let reportEvery = max(1, trainer.options.epochs / 10)
        let history = trainer.train { progress in
            if progress.epoch % reportEvery == 0 || progress.epoch == 1 || progress.epoch == progress.epochs {
                log(String(format: "Epoch %d/%d, loss %.4f (%.2f s)", progress.epoch, progress.epochs, progress.loss, progress.seconds))
            }
        }
        try requireFiniteLoss(history)
        // The training peak, read before the merge check keeps copies of the adapted weights.
        let peak = peakResidentBytes()
        log(String(format: "Loss %.4f → %.4f, %.0f tokens/s, %.1f ms per step over %d steps", history.initialLoss,
                   history.finalLoss, history.tokensPerSecond, 1000 * history.trainingSeconds / Double(history.steps),
                   history.steps))
        for norms in history.norms where norms.step == 0 || norms == history.norms.last || history.norms.count <= 12 {
            log(String(format: "  step %5d: ‖A‖ = %.4f, ‖B‖ = %.4f, ‖BA‖ = %.4f", norms.step, norms.a, norms.b, norms.delta))
        }
        var merge: MergeReport?
        if !full {
            let probe = data.batch(0..<min(batchSize, samples)).inputs
            let report = model.checkMergeRoundTrip(probe: probe, sequenceLength: sequenceLength)
            merge = report
            log(String(format: "Merge: max |merged − unmerged| = %.3e (relative %.3e); unmerge: max |W drift| = %.3e (relative %.3e)",
                       report.maxMergedDifference, report.relativeMergedDifference, report.maxWeightDrift, report.relativeWeightDrift))
        }
        log("Peak memory of training (VmHWM): " + (peak.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "unavailable"))
        if let plot {
            try writeTrainingPlots(history: history, tracked: tracked, to: URL(fileURLWithPath: plot))
        }
        if format == "json" {
            print(try jsonText(TrainingReport(
                mode: full ? "full" : "lora", losses: history.losses, initialLoss: history.initialLoss,
                finalLoss: history.finalLoss, trainableParameters: trainable, totalParameters: total,
                norms: history.norms, tokensPerSecond: history.tokensPerSecond, steps: history.steps,
                trainingSeconds: history.trainingSeconds, replicas: trainer.options.replicas, peakRSSBytes: peak,
                merge: merge)))
        }
    }

    private func runSweep(_ sweepRanks: [Int], data: SequenceRegressionData<Float>) throws {
        var runs: [SweepRun] = []
        for r in sweepRanks {
            let model = makeModel()
            var adapterGenerator = SeededGenerator(seed: seed &+ 2)
            try model.injectLoRA(loraConfiguration(rank: r, alpha: 2 * Double(r)), using: &adapterGenerator)
            let history = SequenceRegressionTrainer(model: model, data: data, options: trainingOptions).train()
            try requireFiniteLoss(history)
            let run = SweepRun(rank: r, finalLoss: history.finalLoss, trainableParameters: model.trainableParameterCount,
                               tokensPerSecond: history.tokensPerSecond)
            runs.append(run)
            log(String(format: "rank %4d: final loss %.4f, %@ parameters, %.4f loss per 1K parameters",
                       r, run.finalLoss, run.trainableParameters.formatted(), run.lossPerThousandParameters))
        }
        let best = runs.min { $0.lossPerThousandParameters < $1.lossPerThousandParameters }!
        let lowest = runs.min { $0.finalLoss < $1.finalLoss }!
        log("Best efficiency at rank \(best.rank); lowest loss at rank \(lowest.rank)")
        if let plot { try writeSweepPlots(runs, to: URL(fileURLWithPath: plot)) }
        if format == "json" { print(try jsonText(SweepReport(runs: runs, peakRSSBytes: peakResidentBytes()))) }
    }

    /// Loss curve, norm curves and a heatmap of the applied update ΔW = s·B·A (seed 003 Part 3's four panels).
    private func writeTrainingPlots(history: AdapterTrainingHistory, tracked: LoRALinear<Float>?, to directory: URL) throws {
        let epochs = (1...history.losses.count).map(Double.init)
        try writeSVG(LineChart(title: full ? "Training loss (full fine-tuning)" : "Training loss (LoRA only)",
                               xLabel: "Epoch", yLabel: "Loss", series: [Series(name: "loss", x: epochs, y: history.losses)]).svg(),
                     to: directory.appendingPathComponent("loss.svg"))
        guard let tracked else { return }
        let steps = history.norms.map { Double($0.step) }
        try writeSVG(LineChart(title: "LoRA matrix norms (first q_proj)", xLabel: "Step", yLabel: "Frobenius norm", series: [
            Series(name: "‖A‖", x: steps, y: history.norms.map(\.a)),
            Series(name: "‖B‖", x: steps, y: history.norms.map(\.b)),
        ]).svg(), to: directory.appendingPathComponent("norms.svg"))
        try writeSVG(LineChart(title: "Update norm ‖B·A‖ (seed 003's ΔW; applied: s·‖B·A‖)", xLabel: "Step", yLabel: "‖BA‖",
                               series: [Series(name: "‖BA‖", x: steps, y: history.norms.map(\.delta))]).svg(),
                     to: directory.appendingPathComponent("delta-norm.svg"))
        let scale = tracked.weights.scale
        let delta = tracked.weights.b * tracked.weights.a * scale
        let shown = min(128, delta.rows, delta.columns)
        let values = (0..<shown).map { i in (0..<shown).map { Double(delta[i, $0]) } }
        let title = "Applied update ΔW = s·B·A, s = \(scale)"
        try writeSVG(Heatmap(title: shown < delta.rows || shown < delta.columns
                                ? "\(title) (first \(shown)×\(shown) of \(delta.shapeDescription))"
                                : title, values: values).svg(),
                     to: directory.appendingPathComponent("delta-heatmap.svg"))
    }

    /// Parameters, final loss and loss per 1K parameters by rank (seed 003 Part 5's three bars).
    private func writeSweepPlots(_ runs: [SweepRun], to directory: URL) throws {
        let categories = runs.map { String($0.rank) }
        let figure = Figure(panels: [
            BarChart(title: "Parameters vs rank", xLabel: "LoRA rank", yLabel: "Trainable parameters",
                     categories: categories, series: [("parameters", runs.map { Double($0.trainableParameters) })]),
            BarChart(title: "Performance vs rank", xLabel: "LoRA rank", yLabel: "Final loss",
                     categories: categories, series: [("final loss", runs.map(\.finalLoss))]),
            BarChart(title: "Efficiency (lower = better)", xLabel: "LoRA rank", yLabel: "Loss per 1K params",
                     categories: categories, series: [("loss per 1K", runs.map(\.lossPerThousandParameters))]),
        ], columns: 3)
        try writeSVG(figure.svg(), to: directory.appendingPathComponent("rank-tradeoff.svg"))
    }

    /// Stops with an error when the loss became NaN or infinite (usually a learning rate too high).
    private func requireFiniteLoss(_ history: AdapterTrainingHistory) throws {
        guard let epoch = (history.losses + [history.finalLoss]).firstIndex(where: { !$0.isFinite }) else { return }
        throw TrainingDivergedError(epoch: epoch + 1, learningRate: lr)
    }

    private func createDirectory(_ directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw PlotWriteError(path: directory.path, reason: "cannot create the directory: \(error.localizedDescription)")
        }
    }
}

/// The training loss stopped being finite.
struct TrainingDivergedError: Error, CustomStringConvertible {
    var epoch: Int
    var learningRate: Double
    var description: String {
        "training diverged: the loss is not finite after epoch \(epoch) (--lr \(learningRate)); try a smaller --lr or --clip-norm"
    }
}

/// `lora train --format json` for one run.
struct TrainingReport: Encodable {
    var mode: String
    var losses: [Double]
    var initialLoss: Double
    var finalLoss: Double
    var trainableParameters: Int
    var totalParameters: Int
    var norms: [AdapterNorms]
    var tokensPerSecond: Double
    var steps: Int
    var trainingSeconds: Double
    /// Data-parallel replicas the steps ran on.
    var replicas: Int
    var peakRSSBytes: Int?
    var merge: MergeReport?

    enum CodingKeys: String, CodingKey {
        case mode, losses, norms, steps, merge, replicas
        case initialLoss = "initial_loss", finalLoss = "final_loss"
        case trainableParameters = "trainable_parameters", totalParameters = "total_parameters"
        case tokensPerSecond = "tokens_per_second", trainingSeconds = "training_seconds"
        case peakRSSBytes = "peak_rss_bytes"
    }
}

/// One rank of `lora train --ranks`.
struct SweepRun: Encodable {
    var rank: Int
    var finalLoss: Double
    var trainableParameters: Int
    var tokensPerSecond: Double
    var lossPerThousandParameters: Double { finalLoss / (Double(trainableParameters) / 1000) }

    enum CodingKeys: String, CodingKey {
        case rank, finalLoss = "final_loss", trainableParameters = "trainable_parameters"
        case tokensPerSecond = "tokens_per_second", lossPerThousandParameters = "loss_per_1k_parameters"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rank, forKey: .rank)
        try container.encode(finalLoss, forKey: .finalLoss)
        try container.encode(trainableParameters, forKey: .trainableParameters)
        try container.encode(tokensPerSecond, forKey: .tokensPerSecond)
        try container.encode(lossPerThousandParameters, forKey: .lossPerThousandParameters)
    }
}

/// `lora train --ranks … --format json`.
struct SweepReport: Encodable {
    var runs: [SweepRun]
    var peakRSSBytes: Int?

    enum CodingKeys: String, CodingKey {
        case runs, peakRSSBytes = "peak_rss_bytes"
    }
}

/// The process's peak resident set size (`VmHWM` in `/proc/self/status`), in bytes, if known.
func peakResidentBytes() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { return nil }
    return kilobytes * 1024
}
