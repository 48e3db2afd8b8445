import Collectives
import Dispatch
import LinearAlgebra
import NN
import Optimizers

/// One finished epoch.
public struct EpochProgress: Sendable {
    /// The epoch just finished, from 1.
    public var epoch: Int
    /// All epochs of the run.
    public var epochs: Int
    /// Mean training loss over the epoch's batches (weighted by their loss weights).
    public var loss: Double
    /// Wall-clock time of the epoch's steps.
    public var seconds: Double
}

/// The outcome of ``Trainer/train(epochs:batches:evaluation:progress:)``.
public struct TrainingHistory: Encodable, Sendable {
    /// Mean training loss of every epoch.
    public var losses: [Double]
    /// Loss of the untrained model on the evaluation batches (evaluation mode).
    public var initialLoss: Double
    /// Loss of the trained model on the evaluation batches (evaluation mode).
    public var finalLoss: Double
    /// Optimizer steps taken.
    public var steps: Int
    /// Wall-clock time of the training steps (forward, backward, optimizer), evaluation excluded.
    public var trainingSeconds: Double
    /// Tokens processed per second of training.
    public var tokensPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case losses, steps
        case initialLoss = "initial_loss", finalLoss = "final_loss"
        case trainingSeconds = "training_seconds", tokensPerSecond = "tokens_per_second"
    }
}

/// Trains a model on an objective with an optimizer: forward, backward and one optimizer step
/// per batch, optionally on several replicas of the model at once (data parallelism).
///
/// Replicas (``Module/replica()``: shared weights, their own gradients and caches) each take a
/// contiguous part of every batch's examples on their own thread with one BLAS thread; their
/// gradients are combined with the weights `wᵢ/w` of their parts, so a step is the same
/// maths as one model on the whole batch (up to float rounding, and dropout masks, which each
/// replica draws from its own sequence). With one replica the model runs alone on all BLAS
/// threads.
///
/// Over several processes (``step(accumulating:across:)``, ``evaluate(_:across:)``) each rank
/// takes its share of every batch the same way, on its own replicas, and a ``GradientReduction``
/// sums the weighted gradients, so the step is again the maths of one model on the whole batch.
public final class Trainer<Objective: TrainingObjective> {
    public typealias Model = Objective.Model
    public typealias Batch = Objective.Batch
    public typealias Scalar = Model.Scalar

    /// The model; its trainable parameters are what trains.
    public let model: Model
    public let objective: Objective
    /// The optimizer over the model's trainable parameters.
    public let optimizer: any Optimizer<Scalar>
    /// Clip gradients to this global norm before each step, if set.
    public let maxGradientNorm: Double?
    /// The model followed by its replicas.
    private let workers: [Model]
    /// Every trainable parameter of the model with the same parameter in each replica.
    private let replicatedParameters: [(parameter: Parameter<Scalar>, replicas: [Parameter<Scalar>])]

    /// A trainer of `model` with `replicas` workers in all (the model and `replicas − 1` replicas
    /// of it, made now: inject adapters and freeze before).
    public init(
        model: Model, objective: Objective, optimizer: any Optimizer<Scalar>, replicas: Int = 1,
        maxGradientNorm: Double? = nil
    ) {
        precondition(replicas > 0, "Trainer: \(replicas) replicas")
        self.model = model
        self.objective = objective
        self.optimizer = optimizer
        self.maxGradientNorm = maxGradientNorm
        workers = [model] + (1..<replicas).map { _ in model.replica() }
        let replicaParameters = workers.dropFirst().map { $0.trainableParameters().map(\.parameter) }
        replicatedParameters = model.trainableParameters().enumerated().map { index, named in
            (named.parameter, replicaParameters.map { $0[index] })
        }
    }

    /// The model and its replicas, for per-step settings such as dropout seeds.
    public var workerModels: [Model] { workers }

    /// One optimizer step on `batch`; returns its loss (before the step).
    public func step(_ batch: Batch) -> Double { step(accumulating: [batch]) }

    /// One optimizer step on the gradient of several micro-batches (gradient accumulation): the
    /// loss and gradient of their union, `Σᵢ (wᵢ/w)·Lᵢ`, computed one micro-batch at a time so
    /// only one micro-batch's activations are held at once. Returns the loss before the step.
    public func step(accumulating microBatches: [Batch]) -> Double {
        precondition(!microBatches.isEmpty, "Trainer.step: no micro-batches")
        return withWorkerBLASThreads {
            let loss = accumulateGradients(of: microBatches, totalWeight: microBatches.reduce(0) { $0 + $1.lossWeight })
            updateParameters()
            return loss
        }
    }

    /// One optimizer step of a run over several processes, the same maths as
    /// ``step(accumulating:)`` on the whole micro-batches: every rank passes the same global
    /// micro-batches; rank `r` of `R` computes only its share of each (``TrainingBatch/share(_:of:)``,
    /// loss weight `wᵢᵣ`) and contributes `Σᵢ (wᵢᵣ/W)·gᵢᵣ`, with `W = Σᵢᵣ wᵢᵣ` summed over the
    /// ranks first; the sum over the ranks is the gradient of the whole. Every rank then takes the
    /// same optimizer step from the same summed gradient (a trainable parameter no backward
    /// reached on a rank counts as zeros there). Returns the whole batch's loss before the step,
    /// the same on every rank.
    public func step(accumulating microBatches: [Batch], across reduction: any GradientReduction) throws(CollectiveError) -> Double {
        precondition(!microBatches.isEmpty, "Trainer.step: no micro-batches")
        let shares = microBatches.map { $0.share(reduction.rank, of: reduction.size) }
        var total = [shares.reduce(0) { $0 + $1.lossWeight }]
        try reduction.allReduceSum(&total)
        var loss = [withWorkerBLASThreads { accumulateGradients(of: shares, totalWeight: total[0]) }]
        try sumGradients(across: reduction)
        try reduction.allReduceSum(&loss)
        withWorkerBLASThreads { updateParameters() }
        return loss[0]
    }

    /// Sets every trainable parameter's gradient to `Σᵢ (wᵢ/total)·gᵢ`, `gᵢ` the gradient of
    /// micro-batch `i`'s mean loss and `wᵢ` its loss weight, and returns `Σᵢ (wᵢ/total)·Lᵢ`.
    /// Micro-batches without examples or weight are skipped (none left: zero gradients, loss 0);
    /// one micro-batch of the whole weight keeps its gradient as computed.
    private func accumulateGradients(of microBatches: [Batch], totalWeight total: Double) -> Double {
        let scored = microBatches.filter { $0.exampleCount > 0 && $0.lossWeight > 0 }
        guard !scored.isEmpty else {
            model.zeroGradients()
            return 0
        }
        guard scored.count > 1 || scored[0].lossWeight != total else { return gradients(of: scored[0]) }
        var sums: [Matrix<Scalar>?] = Array(repeating: nil, count: replicatedParameters.count)
        var loss = 0.0
        for batch in scored {
            let share = batch.lossWeight / total
            loss += share * gradients(of: batch)
            for (index, (parameter, _)) in replicatedParameters.enumerated() {
                guard let gradient = parameter.gradient else { continue }
                if sums[index] == nil { sums[index] = .zeros(gradient.rows, gradient.columns) }
                sums[index]!.axpy(Scalar(share), gradient)
            }
        }
        for (index, (parameter, _)) in replicatedParameters.enumerated() {
            if let sum = sums[index] { parameter.modifyGradient { $0 = sum } }
        }
        return loss
    }

    /// Sums the trainable parameters' gradients over the ranks as one buffer (one collective
    /// rather than one per parameter); a parameter without a gradient here counts as zeros.
    private func sumGradients(across reduction: any GradientReduction) throws(CollectiveError) {
        let parameters = replicatedParameters.map(\.parameter)
        let gradients = parameters.map { $0.gradient ?? .zeros($0.value.rows, $0.value.columns) }
        var flat = gradients.flatMap(\.elements)
        try reduction.allReduceSum(&flat)
        for (parameter, sum) in zip(parameters, Matrix.split(flat, like: gradients)) { parameter.modifyGradient { $0 = sum } }
    }

    /// Clips (if asked) and takes the optimizer step.
    private func updateParameters() {
        if let maxGradientNorm { optimizer.clipGradients(maxNorm: maxGradientNorm) }
        optimizer.step()
    }

    /// Zeroes the gradients and fills them with those of `batch`'s mean loss, on the workers;
    /// returns the loss.
    private func gradients(of batch: Batch) -> Double {
        onWorkers(batch) { worker, part in
            worker.zeroGradients()
            return objective.loss(of: worker, on: part, accumulatingGradients: true)
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
    }

    /// The mean loss over `batches` (weighted by their loss weights) in evaluation mode (no
    /// dropout); every module's mode is restored afterwards.
    public func evaluate(_ batches: [Batch]) -> Double {
        let (sum, weight) = weightedLoss(batches)
        return weight > 0 ? sum / weight : 0
    }

    /// ``evaluate(_:)`` split over several processes: rank `r` of `R` evaluates the batches of
    /// its share (``share(of:rank:ranks:)`` of their indices) and the ranks sum `Σ wᵢ·Lᵢ` and
    /// `Σ wᵢ`. Every rank passes the same batches and gets the same mean.
    public func evaluate(_ batches: [Batch], across reduction: any GradientReduction) throws(CollectiveError) -> Double {
        let mine = Array(batches[share(of: batches.count, rank: reduction.rank, ranks: reduction.size)])
        let (sum, weight) = weightedLoss(mine)
        var sums = [sum, weight]
        try reduction.allReduceSum(&sums)
        return sums[1] > 0 ? sums[0] / sums[1] : 0
    }

    /// `(Σᵢ wᵢ·Lᵢ, Σᵢ wᵢ)` over `batches` of weight `wᵢ > 0` in evaluation mode.
    private func weightedLoss(_ batches: [Batch]) -> (sum: Double, weight: Double) {
        let scored = batches.filter { $0.lossWeight > 0 }
        let sum = withEvaluationMode {
            withWorkerBLASThreads {
                scored.reduce(0.0) { sum, batch in
                    let loss = onWorkers(batch) { worker, part in
                        objective.loss(of: worker, on: part, accumulatingGradients: false)
                    }
                    return sum + loss * batch.lossWeight
                }
            }
        }
        return (sum, scored.reduce(0) { $0 + $1.lossWeight })
    }

    /// Runs `epochs` passes, each over `batches(epoch)` (epochs from 0), evaluating on
    /// `evaluation` before and after, and calling `progress` after each epoch. The model is left
    /// in training mode.
    public func train(
        epochs: Int, batches: (_ epoch: Int) -> [Batch], evaluation: [Batch],
        progress: (EpochProgress) -> Void = { _ in }
    ) -> TrainingHistory {
        precondition(epochs > 0, "Trainer.train: \(epochs) epochs")
        let initialLoss = evaluate(evaluation)
        setTraining(true)
        var losses: [Double] = []
        var (trainingSeconds, tokens) = (0.0, 0)
        for epoch in 0..<epochs {
            let epochBatches = batches(epoch)
            let start = DispatchTime.now().uptimeNanoseconds
            var (total, weight) = (0.0, 0.0)
            for batch in epochBatches {
                total += step(batch) * batch.lossWeight
                weight += batch.lossWeight
                tokens += batch.tokenCount
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            trainingSeconds += seconds
            losses.append(weight > 0 ? total / weight : 0)
            progress(EpochProgress(epoch: epoch + 1, epochs: epochs, loss: losses.last!, seconds: seconds))
        }
        return TrainingHistory(
            losses: losses, initialLoss: initialLoss, finalLoss: evaluate(evaluation), steps: optimizer.stepCount,
            trainingSeconds: trainingSeconds, tokensPerSecond: Double(tokens) / trainingSeconds)
    }

    /// Runs `body` on one BLAS thread when there are replicas, or as it is. The replicas take the
    /// cores, and so does the code between their parts: a multi-threaded BLAS call there (the
    /// gradient sums, the optimizer) would leave OpenBLAS's workers spinning on `sched_yield`
    /// into the next step's replicas (docs/PERFORMANCE.md).
    private func withWorkerBLASThreads<R>(_ body: () -> R) -> R {
        workers.count > 1 ? BLAS.withThreadCount(1, body) : body()
    }

    /// `Σᵢ (wᵢ/w)·body(workerᵢ, partᵢ)`: the batch's examples split into contiguous parts, one
    /// per worker (the model, then its replicas), run concurrently (with one worker or one
    /// example, the model takes the whole batch). `combiningGradients` receives the shares
    /// `wᵢ/w` when there were several parts.
    private func onWorkers(
        _ batch: Batch, _ body: (Model, Batch) -> Double, combiningGradients: ([Double]) -> Void = { _ in }
    ) -> Double {
        let n = batch.exampleCount
        let count = min(workers.count, n)
        guard count > 1 else { return body(model, batch) }
        let parts = (0..<count).map { batch.share($0, of: count) }
        var values = [Double](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { values in
            forEachChunk(of: count, minimumChunk: 1, threads: count) { chunk in
                for i in chunk { values[i] = body(workers[i], parts[i]) }
            }
        }
        let shares = parts.map { $0.lossWeight / batch.lossWeight }
        combiningGradients(shares)
        return zip(shares, values).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Switches the model and its replicas to training (dropout on) or evaluation.
    private func setTraining(_ training: Bool) {
        for worker in workers { worker.setTraining(training) }
    }

    /// `body()` with every worker in evaluation mode, each module's mode restored afterwards.
    private func withEvaluationMode<R>(_ body: () -> R) -> R {
        let modes = workers.map { $0.trainingModes() }
        setTraining(false)
        defer { for (worker, modes) in zip(workers, modes) { worker.restoreTrainingModes(modes) } }
        return body()
    }
}
