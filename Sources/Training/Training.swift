import Foundation
import NN
import LinearAlgebra
import LoRA
import Optimizers

/// How ``SequenceRegressionTrainer`` trains.
public struct TrainingOptions: Sendable {
    /// Passes over the data set.
    public var epochs: Int
    /// Sequences per optimizer step.
    public var batchSize: Int
    /// AdamW's base learning rate `η`.
    public var learningRate: Double
    /// AdamW's decoupled weight decay `λ`.
    public var weightDecay: Double
    /// LoRA+ ratio: `B` matrices learn at `ratio × learningRate` (1 is plain LoRA).
    public var loraPlusRatio: Double
    /// Clip gradients to this global norm, if set.
    public var maxGradientNorm: Double?
    /// Steps of linear learning-rate warm-up.
    public var warmupSteps: Int
    /// The learning-rate decay after warm-up.
    public var decay: LearningRateSchedule.Decay
    /// Data parallelism: model replicas (``Module/replica()``, sharing the weights) that each
    /// take a contiguous part of every batch's sequences on their own thread, with one BLAS
    /// thread each; their gradients are combined into the model's. With 1 the model runs alone on
    /// all BLAS threads. The losses differ between replica counts only by float rounding (and by
    /// dropout masks, which each replica draws from its own sequence).
    public var replicas: Int

    public init(
        epochs: Int = 100, batchSize: Int = 64, learningRate: Double = 1e-3, weightDecay: Double = 0.01,
        loraPlusRatio: Double = 1, maxGradientNorm: Double? = nil, warmupSteps: Int = 0,
        decay: LearningRateSchedule.Decay = .constant, replicas: Int = 1
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.loraPlusRatio = loraPlusRatio
        self.maxGradientNorm = maxGradientNorm
        self.warmupSteps = warmupSteps
        self.decay = decay
        self.replicas = replicas
    }
}

/// Norms of a tracked adapter at one step (seed 003's weight history): `‖A‖_F`, `‖B‖_F` and
/// `‖B·A‖_F` (seed 003's `ΔW = B·A`; the applied update is `s` times it).
public struct AdapterNorms: Sendable, Equatable, Codable {
    /// Updates taken before the norms were read.
    public var step: Int
    /// `‖A‖_F`.
    public var a: Double
    /// `‖B‖_F`.
    public var b: Double
    /// `‖B·A‖_F`.
    public var delta: Double

    public init<Scalar>(step: Int, layer: LoRALinear<Scalar>) {
        self.step = step
        let weights = layer.weights
        a = Double(weights.a.frobeniusNorm)
        b = Double(weights.b.frobeniusNorm)
        delta = Double((weights.b * weights.a).frobeniusNorm)
    }
}

/// One finished epoch.
public struct EpochProgress: Sendable {
    /// The epoch just finished, from 1.
    public var epoch: Int
    /// All epochs of the run.
    public var epochs: Int
    /// Mean training loss over the epoch's batches.
    public var loss: Double
    /// Wall-clock time of the epoch's steps.
    public var seconds: Double
}

/// The outcome of ``SequenceRegressionTrainer/train(progress:)``.
public struct TrainingHistory: Sendable {
    /// Mean training loss of every epoch.
    public var losses: [Double]
    /// MSE of the untrained model on the whole data set (evaluation mode).
    public var initialLoss: Double
    /// MSE of the trained model on the whole data set (evaluation mode).
    public var finalLoss: Double
    /// Norms of the tracked adapter at the start of every epoch and after the last.
    public var norms: [AdapterNorms]
    /// Optimizer steps taken.
    public var steps: Int
    /// Wall-clock time of the training steps (forward, backward, optimizer), evaluation excluded.
    public var trainingSeconds: Double
    /// Tokens (samples × T) processed per second of training.
    public var tokensPerSecond: Double
}

/// Trains a ``TransformerStack`` on ``SequenceRegressionData`` with MSE and AdamW, as seed 003:
/// epochs over consecutive batches, every trainable parameter (LoRA adapters after injection,
/// or all for full fine-tuning), optional LoRA+ groups, clipping and a learning-rate schedule.
public final class SequenceRegressionTrainer<Scalar: MatrixScalar> {
    /// The model; its trainable parameters are what trains.
    public let model: TransformerStack<Scalar>
    public let data: SequenceRegressionData<Scalar>
    public let options: TrainingOptions
    /// The adapter whose norms are recorded (seed 003 tracks the first `q_proj`).
    public let trackedLayer: LoRALinear<Scalar>?
    /// AdamW over the model's trainable parameters (LoRA+ groups), with the options' schedule.
    public let optimizer: Adam<Scalar>
    /// The model followed by its replicas (``TrainingOptions/replicas`` in all).
    private let workers: [TransformerStack<Scalar>]
    /// Every trainable parameter of the model with the same parameter in each replica.
    private let replicatedParameters: [(parameter: Parameter<Scalar>, replicas: [Parameter<Scalar>])]

    public init(
        model: TransformerStack<Scalar>, data: SequenceRegressionData<Scalar>, options: TrainingOptions,
        trackedLayer: LoRALinear<Scalar>? = nil
    ) {
        precondition(options.epochs > 0 && options.batchSize > 0 && options.replicas > 0,
                     "SequenceRegressionTrainer: \(options.epochs) epochs of batch \(options.batchSize) on \(options.replicas) replicas")
        self.model = model
        self.data = data
        self.options = options
        self.trackedLayer = trackedLayer
        let steps = options.epochs * data.batches(of: options.batchSize).count
        optimizer = Adam.adamW(
            groups: model.loraPlusGroups(learningRate: options.learningRate, ratio: options.loraPlusRatio),
            weightDecay: options.weightDecay,
            schedule: LearningRateSchedule(warmupSteps: min(options.warmupSteps, steps), totalSteps: steps, decay: options.decay))
        workers = [model] + (1..<options.replicas).map { _ in model.replica() }
        let replicaParameters = workers.dropFirst().map { $0.trainableParameters().map(\.parameter) }
        replicatedParameters = model.trainableParameters().enumerated().map { index, named in
            (named.parameter, replicaParameters.map { $0[index] })
        }
    }

    /// Mean MSE over the whole data set in evaluation mode (no dropout), batch by batch.
    public func evaluate() -> Double {
        setTraining(false)
        defer { setTraining(true) }
        let total = withWorkerBLASThreads {
            data.batches(of: options.batchSize).reduce(0.0) { sum, range in
                let (x, y) = data.batch(range)
                let loss = onWorkers(x, y) { worker, x, y in
                    Double(meanSquaredError(worker.forward(x, sequenceLength: data.sequenceLength), y).loss)
                }
                return sum + loss * Double(range.count)
            }
        }
        return total / Double(data.samples)
    }

    /// One optimizer step on a batch of whole sequences; returns its loss.
    public func step(inputs: Matrix<Scalar>, targets: Matrix<Scalar>) -> Double {
        withWorkerBLASThreads {
            let loss = onWorkers(inputs, targets) { worker, x, y in
                worker.zeroGradients()
                let (loss, gradient) = meanSquaredError(worker.forward(x, sequenceLength: data.sequenceLength), y)
                worker.accumulateParameterGradients(gradient)
                return Double(loss)
            } combiningGradients: { shares in
                for (parameter, replicas) in replicatedParameters {
                    parameter.modifyGradient { gradient in
                        gradient *= Scalar(shares[0])
                        for (replica, share) in zip(replicas, shares.dropFirst()) {
                            if let replicaGradient = replica.gradient { gradient.axpy(Scalar(share), replicaGradient) }
                        }
                    }
                }
            }
            if let maxNorm = options.maxGradientNorm { optimizer.clipGradients(maxNorm: maxNorm) }
            optimizer.step()
            return loss
        }
    }

    /// Runs `body` on one BLAS thread when there are replicas, or as it is. The replicas take the
    /// cores, and so does the code between their parts: a multi-threaded BLAS call there (the
    /// gradient sums, the optimizer) would leave OpenBLAS's worker spinning on `sched_yield` for
    /// ≈ 0.1 s, into the next step's replicas (measured: full fine-tuning lost 20%).
    private func withWorkerBLASThreads<R>(_ body: () -> R) -> R {
        workers.count > 1 ? BLAS.withThreadCount(1, body) : body()
    }

    /// `Σᵢ (nᵢ/n)·body(workerᵢ, Xᵢ, Yᵢ)`: the batch's `n` sequences split into contiguous parts of
    /// `nᵢ` sequences, one per worker (the model, then its replicas), run concurrently, inside
    /// ``withWorkerBLASThreads(_:)`` (with one worker or one sequence, the model takes the whole
    /// batch). For a mean over the batch (the MSE, and so its gradients), this weighted sum is
    /// the batch's; `combiningGradients` receives the shares `nᵢ/n` when there were several parts.
    private func onWorkers(
        _ inputs: Matrix<Scalar>, _ targets: Matrix<Scalar>,
        _ body: (TransformerStack<Scalar>, Matrix<Scalar>, Matrix<Scalar>) -> Double,
        combiningGradients: ([Double]) -> Void = { _ in }
    ) -> Double {
        let t = data.sequenceLength
        let n = inputs.rows / t
        let count = min(workers.count, n)
        guard count > 1 else { return body(model, inputs, targets) }
        let parts = (0..<count).map { i in ((i * n / count) * t)..<(((i + 1) * n / count) * t) }
        var values = [Double](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { values in
            forEachChunk(of: count, minimumChunk: 1, threads: count) { chunk in
                for i in chunk { values[i] = body(workers[i], inputs[rows: parts[i]], targets[rows: parts[i]]) }
            }
        }
        let shares = parts.map { Double($0.count) / Double(inputs.rows) }
        combiningGradients(shares)
        return zip(shares, values).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Switches the model and its replicas to training (dropout on) or evaluation.
    private func setTraining(_ training: Bool) {
        for worker in workers { worker.setTraining(training) }
    }

    /// Runs every epoch, calling `progress` after each.
    public func train(progress: (EpochProgress) -> Void = { _ in }) -> TrainingHistory {
        let initialLoss = evaluate()
        setTraining(true)
        let batches = data.batches(of: options.batchSize)
        var losses: [Double] = []
        var norms: [AdapterNorms] = []
        var trainingSeconds = 0.0
        for epoch in 0..<options.epochs {
            if let trackedLayer { norms.append(AdapterNorms(step: optimizer.stepCount, layer: trackedLayer)) }
            let start = DispatchTime.now().uptimeNanoseconds
            var total = 0.0
            for range in batches {
                let (x, y) = data.batch(range)
                total += step(inputs: x, targets: y) * Double(range.count)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            trainingSeconds += seconds
            losses.append(total / Double(data.samples))
            progress(EpochProgress(epoch: epoch + 1, epochs: options.epochs, loss: losses.last!, seconds: seconds))
        }
        if let trackedLayer { norms.append(AdapterNorms(step: optimizer.stepCount, layer: trackedLayer)) }
        return TrainingHistory(
            losses: losses, initialLoss: initialLoss, finalLoss: evaluate(), norms: norms, steps: optimizer.stepCount,
            trainingSeconds: trainingSeconds,
            tokensPerSecond: Double(options.epochs * data.samples * data.sequenceLength) / trainingSeconds)
    }
}
