import Collectives
import Dispatch
import Foundation
import LinearAlgebra
import LoRA
import NN
import Optimizers

/// How ``FineTuning`` trains a language model.
public struct FineTuningOptions: Sendable, Equatable, Codable {
    /// Optimizer steps.
    public var steps: Int
    /// Sequences per micro-batch.
    public var batchSize: Int
    /// Tokens per training sequence.
    public var context: Int
    /// Micro-batches per optimizer step (gradient accumulation).
    public var accumulate: Int
    /// AdamW's peak learning rate.
    public var learningRate: Double
    /// AdamW's decoupled weight decay.
    public var weightDecay: Double
    /// Steps of linear warm-up.
    public var warmupSteps: Int
    /// The decay after warm-up.
    public var decay: LearningRateSchedule.Decay
    /// Clip gradients to this global norm, if set.
    public var maxGradientNorm: Double?
    /// Seeds the shuffles and the dropout masks.
    public var seed: UInt64
    /// Model replicas for data parallelism (see ``Trainer``).
    public var replicas: Int

    public init(
        steps: Int, batchSize: Int = 4, context: Int = 256, accumulate: Int = 1, learningRate: Double = 1e-3,
        weightDecay: Double = 0, warmupSteps: Int = 0, decay: LearningRateSchedule.Decay = .constant,
        maxGradientNorm: Double? = nil, seed: UInt64 = 0, replicas: Int = 1
    ) {
        self.steps = steps
        self.batchSize = batchSize
        self.context = context
        self.accumulate = accumulate
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.warmupSteps = warmupSteps
        self.decay = decay
        self.maxGradientNorm = maxGradientNorm
        self.seed = seed
        self.replicas = replicas
    }
}

/// One finished optimizer step of a fine-tuning run.
public struct FineTuningProgress: Sendable {
    /// Steps done, from 1.
    public var step: Int
    /// All steps of the run.
    public var steps: Int
    /// The step's training loss (mean NLL of its tokens).
    public var loss: Double
    /// Training tokens per second of the steps since the run (or its resumption) started,
    /// evaluation excluded.
    public var tokensPerSecond: Double
    /// Estimated seconds of training steps to the last one at that rate.
    public var remainingSeconds: Double
    /// Held-out perplexity, on the steps that evaluate.
    public var evaluationPerplexity: Double?
}

/// Where a fine-tuning run stands: enough to continue it exactly where it stopped.
public struct FineTuningCheckpoint<Scalar: MatrixScalar>: Sendable {
    /// Optimizer steps done.
    public var step: Int
    /// Every trainable parameter's value, by path.
    public var parameters: [String: Matrix<Scalar>]
    /// The optimizer's moments and step count.
    public var optimizer: AdamState<Scalar>
    /// The loss of every step done.
    public var losses: [Double]
    /// Held-out perplexities so far, by step (step 0: before training).
    public var evaluations: [Int: Double]
    /// The run's options, so a resumption can refuse different ones.
    public var options: FineTuningOptions
}

/// LoRA (or any trainable-parameter) fine-tuning of a ``CausalLanguageModel`` on token windows:
/// AdamW with warm-up and decay, clipping, gradient accumulation, held-out perplexity, and
/// checkpoints from which a run continues bit for bit.
///
/// Reproducibility: the micro-batch of global index `k` is batch `k mod b` of epoch `⌊k/b⌋`
/// (`b` batches an epoch, shuffled by the seed and the epoch), and every LoRA layer's dropout
/// masks are reseeded from the seed and the step before each step, so step `s` depends only on
/// the weights and optimizer state it starts from: a resumed run equals an uninterrupted one.
///
/// Over several processes (a ``GradientReduction``, e.g. from ``ProcessGroup/launchedByMPI()``),
/// every rank builds the same run on the same windows; rank 0's weights and optimizer state
/// (fresh or resumed) are copied to every rank before the first step, each rank computes its
/// share of every micro-batch (``Trainer/step(accumulating:across:)``) and evaluates its share of
/// the evaluation windows, and the sums make every step and perplexity those of one process on
/// the whole batch (up to float rounding; dropout masks differ, being drawn per rank). Only the
/// primary rank (``isPrimaryRank``) reports progress and saves.
public final class FineTuning<Model: CausalLanguageModel> {
    public typealias Scalar = Model.Scalar
    public let options: FineTuningOptions
    public let trainer: Trainer<LanguageModelObjective<Model>>
    public let optimizer: Adam<Scalar>
    /// The processes that share every step, if more than this one.
    public let reduction: (any GradientReduction)?
    /// Training tokens per second of the last ``run(resumingFrom:evaluateEvery:saveEvery:save:progress:)``'s
    /// steps, evaluation excluded.
    public private(set) var trainingTokensPerSecond = 0.0
    private let windows: [TokenBatch]
    private let evaluationBatches: [TokenBatch]
    private let batchesPerEpoch: Int

    /// A run on `trainingWindows` (equal-length, e.g. ``TokenWindows/training(_:context:)``),
    /// evaluated on `evaluationWindows` (``TokenWindows/evaluation(_:context:)``). Inject and
    /// freeze before: the model's trainable parameters are what trains. With `reduction`, this
    /// process is one rank of a run over several (every rank passes the same windows and options).
    public init(
        model: Model, trainingWindows: [TokenBatch], evaluationWindows: [TokenBatch], options: FineTuningOptions,
        reduction: (any GradientReduction)? = nil
    ) {
        precondition(!trainingWindows.isEmpty, "FineTuning: no training windows")
        precondition(options.steps > 0 && options.batchSize > 0 && options.accumulate > 0,
                     "FineTuning: \(options.steps) steps of \(options.accumulate)×\(options.batchSize) sequences")
        self.options = options
        self.reduction = reduction
        windows = trainingWindows
        evaluationBatches = evaluationWindows
        batchesPerEpoch = (trainingWindows.count + options.batchSize - 1) / options.batchSize
        optimizer = Adam.adamW(
            groups: [ParameterGroup(name: "default", parameters: model.trainableParameters().map(\.parameter), learningRate: options.learningRate)],
            weightDecay: options.weightDecay,
            schedule: LearningRateSchedule(
                warmupSteps: min(options.warmupSteps, options.steps), totalSteps: options.steps, decay: options.decay))
        trainer = Trainer(
            model: model, objective: LanguageModelObjective(), optimizer: optimizer, replicas: options.replicas,
            maxGradientNorm: options.maxGradientNorm)
    }

    /// Whether this process reports and writes files: rank 0, or the only process.
    public var isPrimaryRank: Bool { (reduction?.rank ?? 0) == 0 }

    /// `exp(mean NLL)` on the evaluation windows, in evaluation mode (split over the ranks).
    public func evaluationPerplexity() throws(CollectiveError) -> Double {
        let loss = if let reduction { try trainer.evaluate(evaluationBatches, across: reduction) } else { trainer.evaluate(evaluationBatches) }
        return Foundation.exp(loss)
    }

    /// The micro-batches of step `step` (from 0).
    func microBatches(step: Int) -> [TokenBatch] {
        (0..<options.accumulate).map { i in
            let k = step * options.accumulate + i
            let epoch = k / batchesPerEpoch
            return TokenWindows.batches(windows, batchSize: options.batchSize, seed: options.seed, epoch: epoch)[k % batchesPerEpoch]
        }
    }

    /// The state to save after `losses.count` steps.
    public func checkpoint(losses: [Double], evaluations: [Int: Double]) -> FineTuningCheckpoint<Scalar> {
        FineTuningCheckpoint(
            step: losses.count,
            parameters: Dictionary(uniqueKeysWithValues: trainer.model.trainableParameters().map { ($0.path, $0.parameter.value) }),
            optimizer: optimizer.state, losses: losses, evaluations: evaluations, options: options)
    }

    /// Runs the remaining steps (all of them, or those after `checkpoint`), evaluating before the
    /// first step and every `evaluateEvery` steps and after the last, calling `save` every
    /// `saveEvery` steps and `progress` after every step. Returns the final checkpoint.
    ///
    /// Over several processes, every rank calls this with the same arguments but `checkpoint`,
    /// which only rank 0 reads (the others may pass nil), and `save` and `progress` are called on
    /// rank 0 only. A rank that throws must end the others (``GradientReduction/abort(exitCode:)``):
    /// they wait for it in the next collective.
    public func run(
        resumingFrom checkpoint: FineTuningCheckpoint<Scalar>? = nil, evaluateEvery: Int? = nil, saveEvery: Int? = nil,
        save: (FineTuningCheckpoint<Scalar>) throws -> Void = { _ in }, progress: (FineTuningProgress) -> Void = { _ in }
    ) throws -> FineTuningCheckpoint<Scalar> {
        var (losses, evaluations) = try startingState(from: checkpoint)
        let evaluates = !evaluationBatches.isEmpty  // no held-out text: no perplexity to report
        if evaluates && evaluations[0] == nil { evaluations[0] = try evaluationPerplexity() }
        var (tokens, seconds) = (0, 0.0)
        for step in losses.count..<options.steps {
            reseedDropout(step: step)
            let batches = microBatches(step: step)
            let start = DispatchTime.now().uptimeNanoseconds
            let loss = if let reduction { try trainer.step(accumulating: batches, across: reduction) } else { trainer.step(accumulating: batches) }
            guard loss.isFinite else { throw FineTuningError.nonFiniteLoss(step: step + 1, loss: loss) }
            losses.append(loss)
            seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            tokens += batches.reduce(0) { $0 + $1.tokenCount }
            let done = step + 1
            if evaluates && (done == options.steps || evaluateEvery.map({ done % $0 == 0 }) == true) {
                evaluations[done] = try evaluationPerplexity()
            }
            guard isPrimaryRank else { continue }
            let rate = Double(tokens) / max(seconds, 1e-9)
            let remaining = Double(options.steps - done) * Double(options.accumulate * options.batchSize * options.context) / rate
            progress(FineTuningProgress(
                step: done, steps: options.steps, loss: losses.last!, tokensPerSecond: rate, remainingSeconds: remaining,
                evaluationPerplexity: evaluations[done]))
            if let saveEvery, done % saveEvery == 0, done < options.steps {
                try save(self.checkpoint(losses: losses, evaluations: evaluations))
            }
        }
        trainingTokensPerSecond = Double(tokens) / max(seconds, 1e-9)
        return self.checkpoint(losses: losses, evaluations: evaluations)
    }

    /// Throws unless `checkpoint` belongs to this run: the same options, and a value of the right
    /// shape for every trainable parameter.
    public func validate(_ checkpoint: FineTuningCheckpoint<Scalar>) throws(CheckpointError) {
        guard checkpoint.options == options else {
            throw .malformed(file: "checkpoint", reason: "it was made with other options (steps, batch, context, rates or seed)")
        }
        for (path, parameter) in trainer.model.trainableParameters() {
            guard let value = checkpoint.parameters[path], value.shape == parameter.value.shape else {
                throw .malformed(file: "checkpoint", reason: "no \(parameter.value.shapeDescription) value for \(path)")
            }
        }
    }

    /// The losses and evaluations to continue from, with the weights and the optimizer set to
    /// `checkpoint`'s if there is one (``validate(_:)`` first). Over several processes, rank 0
    /// restores its checkpoint and sends its state (weights, moments, step count, losses and
    /// evaluations, fresh or restored) to every rank: a header, then one buffer of every matrix.
    private func startingState(from checkpoint: FineTuningCheckpoint<Scalar>?) throws(CollectiveError) -> (losses: [Double], evaluations: [Int: Double]) {
        if isPrimaryRank, let checkpoint { restore(checkpoint) }
        let (losses, evaluations) = (checkpoint?.losses ?? [], checkpoint?.evaluations ?? [:])
        guard let reduction else { return (losses, evaluations) }
        let sent = isPrimaryRank ? StartHeader(losses: losses, evaluations: evaluations, optimizerSteps: optimizer.stepCount).encoded : []
        let header = StartHeader(decoding: try reduction.broadcast(bytes: sent, from: 0))
        var state = self.checkpoint(losses: header.losses, evaluations: header.evaluations)
        let paths = trainer.model.trainableParameters().map(\.path)
        let matrices = paths.map { state.parameters[$0]! } + state.optimizer.firstMoments + state.optimizer.secondMoments
        var flat = matrices.flatMap(\.elements)
        try reduction.broadcast(&flat, from: 0)
        let received = Matrix.split(flat, like: matrices)
        for (path, value) in zip(paths, received) { state.parameters[path] = value }
        let moments = received.dropFirst(paths.count)
        state.optimizer = AdamState(
            stepCount: header.optimizerSteps, firstMoments: Array(moments.prefix(moments.count / 2)),
            secondMoments: Array(moments.suffix(moments.count / 2)))
        restore(state)
        return (header.losses, header.evaluations)
    }

    /// Sets the trainable parameters and the optimizer to a checkpoint's (``validate(_:)`` first).
    private func restore(_ checkpoint: FineTuningCheckpoint<Scalar>) {
        precondition(checkpoint.options == options, "FineTuning: the checkpoint's options differ from this run's")
        for (path, parameter) in trainer.model.trainableParameters() {
            guard let value = checkpoint.parameters[path] else { preconditionFailure("FineTuning: checkpoint lacks \(path)") }
            parameter.value = value
        }
        optimizer.restore(checkpoint.optimizer)
    }

    /// Restarts every LoRA layer's dropout masks (in the model and its replicas, on a dense or a
    /// quantized base) from the seed, the step, the rank and the layer's place, so a step's masks do
    /// not depend on the steps before it and ranks do not repeat each other's masks.
    private func reseedDropout(step: Int) {
        let rank = reduction?.rank ?? 0
        for (w, worker) in trainer.workerModels.enumerated() {
            worker.reseedAdapterDropout { index in
                var generator = SeededGenerator(
                    seed: options.seed ^ UInt64(step) &* 0x100_0000_01B3 ^ UInt64(rank << 40 | w << 20 | index))
                return generator.next()
            }
        }
    }
}

/// What rank 0 sends before the matrices when a run over several processes starts: the part of
/// its state that is not a matrix, as JSON.
private struct StartHeader: Codable {
    var losses: [Double]
    var evaluations: [Int: Double]
    var optimizerSteps: Int

    init(losses: [Double], evaluations: [Int: Double], optimizerSteps: Int) {
        (self.losses, self.evaluations, self.optimizerSteps) = (losses, evaluations, optimizerSteps)
    }

    /// Decodes what ``encoded`` gave on rank 0 (the same program wrote it: anything else is a bug).
    init(decoding bytes: [UInt8]) {
        do {
            self = try JSONDecoder().decode(StartHeader.self, from: Data(bytes))
        } catch {
            preconditionFailure("FineTuning: rank 0's start header does not decode: \(error)")
        }
    }

    var encoded: [UInt8] {
        do {
            return Array(try JSONEncoder().encode(self))
        } catch {
            preconditionFailure("FineTuning: the start header does not encode: \(error)")
        }
    }
}
