import LinearAlgebra
import LoRA
import NN
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

/// Norms of a tracked adapter at one step, for its weight history: `‖A‖_F`, `‖B‖_F` and
/// `‖B·A‖_F` (`ΔW = B·A` before scaling; the applied update is `s` times it).
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

/// A batch of ``SequenceRegressionData``: inputs and targets of whole sequences.
public struct SequenceBatch<Scalar: MatrixScalar>: TrainingBatch {
    /// `x`: `sequences·T × d`.
    public var inputs: Matrix<Scalar>
    /// `y`: `sequences·T × d`.
    public var targets: Matrix<Scalar>
    /// `T`, the rows per sequence.
    public var sequenceLength: Int

    public var exampleCount: Int { inputs.rows / sequenceLength }
    public var tokenCount: Int { inputs.rows }
    public var lossWeight: Double { Double(exampleCount) }

    public func examples(_ range: Range<Int>) -> SequenceBatch {
        let rows = (range.lowerBound * sequenceLength)..<(range.upperBound * sequenceLength)
        return SequenceBatch(inputs: inputs[rows: rows], targets: targets[rows: rows], sequenceLength: sequenceLength)
    }
}

/// The MSE of a ``TransformerStack``'s outputs against the targets of a ``SequenceBatch``.
public struct SequenceRegressionObjective<Scalar: MatrixScalar>: TrainingObjective {
    public init() {}

    public func loss(of model: TransformerStack<Scalar>, on batch: SequenceBatch<Scalar>, accumulatingGradients: Bool) -> Double {
        let (loss, gradient) = meanSquaredError(model.forward(batch.inputs, sequenceLength: batch.sequenceLength), batch.targets)
        if accumulatingGradients { model.accumulateParameterGradients(gradient) }
        return Double(loss)
    }
}

extension SequenceRegressionData {
    /// The batches of `batchSize` consecutive sequences (the last may be short).
    public func sequenceBatches(of batchSize: Int) -> [SequenceBatch<Scalar>] {
        batches(of: batchSize).map { range in
            let (x, y) = batch(range)
            return SequenceBatch(inputs: x, targets: y, sequenceLength: sequenceLength)
        }
    }
}

/// A ``Trainer`` of a ``TransformerStack`` on ``SequenceRegressionData`` with MSE and AdamW:
/// epochs over consecutive batches, every trainable parameter (LoRA adapters after injection,
/// or all for full fine-tuning), optional LoRA+ groups, clipping and a learning-rate schedule;
/// the norms of one adapter are recorded at every epoch.
public final class SequenceRegressionTrainer<Scalar: MatrixScalar> {
    public let data: SequenceRegressionData<Scalar>
    public let options: TrainingOptions
    /// The adapter whose norms are recorded.
    public let trackedLayer: LoRALinear<Scalar>?
    /// AdamW over the model's trainable parameters (LoRA+ groups), with the options' schedule.
    public let optimizer: Adam<Scalar>
    /// The generic trainer underneath.
    public let trainer: Trainer<SequenceRegressionObjective<Scalar>>
    private let batches: [SequenceBatch<Scalar>]

    /// The model; its trainable parameters are what trains.
    public var model: TransformerStack<Scalar> { trainer.model }

    public init(
        model: TransformerStack<Scalar>, data: SequenceRegressionData<Scalar>, options: TrainingOptions,
        trackedLayer: LoRALinear<Scalar>? = nil
    ) {
        precondition(options.epochs > 0 && options.batchSize > 0 && options.replicas > 0,
                     "SequenceRegressionTrainer: \(options.epochs) epochs of batch \(options.batchSize) on \(options.replicas) replicas")
        self.data = data
        self.options = options
        self.trackedLayer = trackedLayer
        batches = data.sequenceBatches(of: options.batchSize)
        let steps = options.epochs * batches.count
        optimizer = Adam.adamW(
            groups: model.loraPlusGroups(learningRate: options.learningRate, ratio: options.loraPlusRatio),
            weightDecay: options.weightDecay,
            schedule: LearningRateSchedule(warmupSteps: min(options.warmupSteps, steps), totalSteps: steps, decay: options.decay))
        trainer = Trainer(
            model: model, objective: SequenceRegressionObjective(), optimizer: optimizer, replicas: options.replicas,
            maxGradientNorm: options.maxGradientNorm)
    }

    /// Mean MSE over the whole data set in evaluation mode (no dropout).
    public func evaluate() -> Double { trainer.evaluate(batches) }

    /// One optimizer step on a batch of whole sequences; returns its loss.
    public func step(inputs: Matrix<Scalar>, targets: Matrix<Scalar>) -> Double {
        trainer.step(SequenceBatch(inputs: inputs, targets: targets, sequenceLength: data.sequenceLength))
    }

    /// Runs every epoch, calling `progress` after each, recording the tracked adapter's norms.
    public func train(progress: (EpochProgress) -> Void = { _ in }) -> AdapterTrainingHistory {
        var norms = trackedLayer.map { [AdapterNorms(step: 0, layer: $0)] } ?? []
        let history = trainer.train(epochs: options.epochs, batches: { _ in batches }, evaluation: batches) { epoch in
            if let trackedLayer { norms.append(AdapterNorms(step: optimizer.stepCount, layer: trackedLayer)) }
            progress(epoch)
        }
        return AdapterTrainingHistory(history: history, norms: norms)
    }
}

/// A ``TrainingHistory`` with the norms of one adapter over the run; reads the history's fields
/// directly (`run.losses`) and encodes them beside `norms`.
@dynamicMemberLookup
public struct AdapterTrainingHistory: Encodable, Sendable {
    public var history: TrainingHistory
    /// The adapter's norms at the start of every epoch and after the last.
    public var norms: [AdapterNorms]

    public subscript<T>(dynamicMember keyPath: KeyPath<TrainingHistory, T>) -> T { history[keyPath: keyPath] }

    enum CodingKeys: String, CodingKey { case norms }

    public func encode(to encoder: any Encoder) throws {
        try history.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(norms, forKey: .norms)
    }
}

extension TrainingOptions {
    /// One replica per BLAS thread, but none with fewer than 256 tokens of a batch: smaller parts
    /// make GEMMs too thin to pay, and each replica of a full fine-tuning holds its own gradients.
    public static func defaultReplicas(batchSize: Int, sequenceLength: Int) -> Int {
        max(1, min(BLAS.threadCount, batchSize * sequenceLength / 256))
    }

    /// How the training steps use the cores, e.g. `2 data-parallel replicas of 32+ sequences, one BLAS thread each`.
    public var parallelismDescription: String {
        replicas == 1
            ? "one model on \(BLAS.threadCount) BLAS thread(s)"
            : "\(replicas) data-parallel replicas of \(batchSize / replicas)+ sequences, one BLAS thread each"
    }
}
