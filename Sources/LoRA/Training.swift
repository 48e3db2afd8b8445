import Foundation
import Layers
import LinearAlgebra
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

    public init(
        epochs: Int = 100, batchSize: Int = 64, learningRate: Double = 1e-3, weightDecay: Double = 0.01,
        loraPlusRatio: Double = 1, maxGradientNorm: Double? = nil, warmupSteps: Int = 0,
        decay: LearningRateSchedule.Decay = .constant
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.loraPlusRatio = loraPlusRatio
        self.maxGradientNorm = maxGradientNorm
        self.warmupSteps = warmupSteps
        self.decay = decay
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

    public init(
        model: TransformerStack<Scalar>, data: SequenceRegressionData<Scalar>, options: TrainingOptions,
        trackedLayer: LoRALinear<Scalar>? = nil
    ) {
        precondition(options.epochs > 0 && options.batchSize > 0,
                     "SequenceRegressionTrainer: \(options.epochs) epochs of batch \(options.batchSize)")
        self.model = model
        self.data = data
        self.options = options
        self.trackedLayer = trackedLayer
        let steps = options.epochs * data.batches(of: options.batchSize).count
        optimizer = Adam.adamW(
            groups: model.loraPlusGroups(learningRate: options.learningRate, ratio: options.loraPlusRatio),
            weightDecay: options.weightDecay,
            schedule: LearningRateSchedule(warmupSteps: min(options.warmupSteps, steps), totalSteps: steps, decay: options.decay))
    }

    /// Mean MSE over the whole data set in evaluation mode (no dropout), batch by batch.
    public func evaluate() -> Double {
        model.setTraining(false)
        defer { model.setTraining(true) }
        let batches = data.batches(of: options.batchSize)
        let total = batches.reduce(0.0) { sum, range in
            let (x, y) = data.batch(range)
            return sum + Double(meanSquaredError(model.forward(x, sequenceLength: data.sequenceLength), y).loss) * Double(range.count)
        }
        return total / Double(data.samples)
    }

    /// One optimizer step on a batch; returns its loss.
    public func step(inputs: Matrix<Scalar>, targets: Matrix<Scalar>) -> Double {
        model.zeroGradients()
        let (loss, gradient) = meanSquaredError(model.forward(inputs, sequenceLength: data.sequenceLength), targets)
        model.accumulateParameterGradients(gradient)
        if let maxNorm = options.maxGradientNorm { optimizer.clipGradients(maxNorm: maxNorm) }
        optimizer.step()
        return Double(loss)
    }

    /// Runs every epoch, calling `progress` after each.
    public func train(progress: (EpochProgress) -> Void = { _ in }) -> TrainingHistory {
        let initialLoss = evaluate()
        model.setTraining(true)
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
