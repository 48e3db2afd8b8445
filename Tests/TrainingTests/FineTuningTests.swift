import Foundation
import LinearAlgebra
import LoRA
import NN
import Testing
import Training

/// A minimal next-token model for the trainer's tests: a frozen embedding `E`, one linear map
/// (`proj`, where LoRA goes) and the head tied to `E`: `logits = (E[x]·Wᵀ)·Eᵀ`.
final class TinyCausalModel<Scalar: MatrixScalar>: CausalLanguageModel, LinearLayerContainer {
    let embedding: Embedding<Scalar>
    private(set) var projection: any LinearLayer<Scalar>

    init(vocabulary: Int, features: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        embedding = Embedding(weight: Parameter(.randomNormal(rows: vocabulary, columns: features, using: &generator), trainable: false))
        let linear = Linear<Scalar>(inFeatures: features, outFeatures: features, bias: false, using: &generator)
        linear.weight.isTrainable = false
        projection = linear
    }

    private init(embedding: Embedding<Scalar>, projection: any LinearLayer<Scalar>) {
        (self.embedding, self.projection) = (embedding, projection)
    }

    var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }
    var children: [(name: String, module: any Module<Scalar>)] { [("embed_tokens", embedding), ("proj", projection)] }
    func replica() -> TinyCausalModel { TinyCausalModel(embedding: embedding.replica(), projection: projection.replica()) }
    func replaceLinearLayer(named name: String, with layer: any LinearLayer<Scalar>) { projection = layer }

    func loss(tokens: [Int], targets: [Int], sequenceLength: Int, accumulatingGradients: Bool) -> ProjectedCrossEntropy<Scalar> {
        let hidden = projection.forward(embedding.forward(tokens))
        let result = projectedCrossEntropy(
            hidden: hidden, weight: embedding.weight.value, targets: targets, rowsPerChunk: 5, computingGradient: accumulatingGradients)
        if accumulatingGradients, let gradient = result.hiddenGradient { projection.accumulateParameterGradients(gradient) }
        return result
    }
}

@Suite("Fine-tuning a causal language model: windows, accumulation, checkpoints")
struct FineTuningTests {
    static let stream = (0..<203).map { ($0 * 7 + $0 / 5) % 16 }

    func model<T: MatrixScalar>(_: T.Type, dropout: Double = 0.1) throws -> TinyCausalModel<T> {
        let model = TinyCausalModel<T>(vocabulary: 16, features: 8, seed: 3)
        var generator = SeededGenerator(seed: 4)
        try model.injectLoRA(
            LoRAConfiguration(rank: 2, alpha: 4, dropout: dropout, targetModules: .names(["proj"]), initialization: .gaussian),
            using: &generator)
        return model
    }

    @Test func windowsFollowThePerplexityProtocol() {
        let ids = Array(0..<10)
        let evaluation = TokenWindows.evaluation(ids, context: 4)
        #expect(evaluation.map(\.tokens) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        #expect(evaluation.map(\.targets) == [[1, 2, 3, -1], [5, 6, 7, -1], [9, -1]])
        #expect(evaluation.reduce(0) { $0 + $1.lossWeight } == Double(10 - 3))
        let training = TokenWindows.training(ids, context: 4)
        #expect(training.map(\.tokens) == [[0, 1, 2, 3], [4, 5, 6, 7]])
        #expect(training.map(\.targets) == [[1, 2, 3, 4], [5, 6, 7, 8]])
        #expect(TokenWindows.training(Array(0..<4), context: 4).isEmpty)
        let shuffled = TokenWindows.batches(TokenWindows.training(Array(0..<41), context: 4), batchSize: 3, seed: 1, epoch: 0)
        #expect(shuffled.map(\.exampleCount) == [3, 3, 3, 1])
        #expect(Set(shuffled.flatMap(\.tokens)) == Set(0..<40))
        #expect(shuffled == TokenWindows.batches(TokenWindows.training(Array(0..<41), context: 4), batchSize: 3, seed: 1, epoch: 0))
        #expect(shuffled != TokenWindows.batches(TokenWindows.training(Array(0..<41), context: 4), batchSize: 3, seed: 1, epoch: 1))
    }

    /// Two micro-batches of two sequences make the same step as one batch of the four.
    @Test func accumulationEqualsTheWholeBatch() throws {
        let windows = TokenWindows.training(Self.stream, context: 5)
        let whole = TokenWindows.batches(Array(windows.prefix(4)), batchSize: 4, seed: 0, epoch: 0)[0]
        let halves = [whole.examples(0..<2), whole.examples(2..<4)]
        func trained(_ batches: [TokenBatch]) throws -> [Matrix<Double>] {
            let model = try model(Double.self, dropout: 0)
            let run = FineTuning(model: model, trainingWindows: windows, evaluationWindows: [], options: FineTuningOptions(steps: 1))
            _ = run.trainer.step(accumulating: batches)
            return model.trainableParameters().map(\.parameter.value)
        }
        let (a, b) = (try trained([whole]), try trained(halves))
        for (x, y) in zip(a, b) { #expect(x.maxAbsoluteDifference(y) < 1e-12) }
    }

    /// A run stopped after 3 of 7 steps and resumed from its checkpoint on disk, in a new model,
    /// ends with the same weights, optimizer state and losses, bit for bit (dropout on, two
    /// micro-batches a step, warm-up and cosine decay).
    @Test func aResumedRunEqualsAnUninterruptedOne() throws {
        let windows = TokenWindows.training(Self.stream, context: 5)
        let evaluation = TokenWindows.evaluation(Array(Self.stream.prefix(40)), context: 8)
        let options = FineTuningOptions(
            steps: 7, batchSize: 3, context: 5, accumulate: 2, learningRate: 5e-2, weightDecay: 0.01, warmupSteps: 2,
            decay: .cosine, maxGradientNorm: 1, seed: 9)
        let whole = FineTuning(model: try model(Float.self), trainingWindows: windows, evaluationWindows: evaluation, options: options)
        let uninterrupted = try whole.run(evaluateEvery: 3)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpointURL = directory.appendingPathComponent("checkpoint")
        let first = FineTuning(model: try model(Float.self), trainingWindows: windows, evaluationWindows: evaluation, options: options)
        var saved = 0
        _ = try first.run(evaluateEvery: 3, saveEvery: 3, save: { checkpoint in
            saved += 1
            if saved == 1 { try checkpoint.write(to: checkpointURL) }
        })
        let checkpoint = try FineTuningCheckpoint<Float>.read(from: checkpointURL)
        #expect(checkpoint.step == 3)
        let resumed = FineTuning(model: try model(Float.self), trainingWindows: windows, evaluationWindows: evaluation, options: options)
        try resumed.validate(checkpoint)
        let final = try resumed.run(resumingFrom: checkpoint, evaluateEvery: 3)
        #expect(final.losses == uninterrupted.losses)
        #expect(final.parameters == uninterrupted.parameters)
        #expect(final.optimizer == uninterrupted.optimizer)
        #expect(final.evaluations == uninterrupted.evaluations)
        #expect(uninterrupted.evaluations.keys.sorted() == [0, 3, 6, 7])
        #expect(uninterrupted.evaluations[7]! < uninterrupted.evaluations[0]!, "training lowers the held-out perplexity")
    }

    @Test func checkpointsRefuseOtherRunsAndBadFiles() throws {
        let windows = TokenWindows.training(Self.stream, context: 5)
        let run = FineTuning(model: try model(Float.self), trainingWindows: windows, evaluationWindows: [], options: FineTuningOptions(steps: 2))
        let other = FineTuning(model: try model(Float.self), trainingWindows: windows, evaluationWindows: [], options: FineTuningOptions(steps: 3))
        #expect(throws: CheckpointError.self) { try other.validate(run.checkpoint(losses: [], evaluations: [:])) }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-no-checkpoint-\(UUID().uuidString)")
        #expect(throws: CheckpointError.self) { try FineTuningCheckpoint<Float>.read(from: missing) }
    }
}
