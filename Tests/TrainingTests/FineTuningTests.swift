import CommandTestSupport
import Foundation
import LinearAlgebra
import Testing
import Training
import TrainingTestSupport

@Suite("Fine-tuning a causal language model: windows, accumulation, checkpoints")
struct FineTuningTests {
    static let stream = TinyCausalModel<Float>.stream

    func model<T: MatrixScalar>(_: T.Type, dropout: Double = 0.1) throws -> TinyCausalModel<T> {
        try TinyCausalModel<T>.adapted(dropout: dropout)
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
    /// micro-batches a step, warm-up and cosine decay). A checkpoint written over another leaves
    /// one tensors file and the manifest naming it.
    @Test func aResumedRunEqualsAnUninterruptedOne() throws {
        let uninterrupted = try FineTuning<TinyCausalModel<Float>>.tiny(dropout: 0.1).run(evaluateEvery: 3)

        let directory = try makeTemporaryDirectory(prefix: "lorakit-resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpointURL = directory.appendingPathComponent("checkpoint")
        var saved: [FineTuningCheckpoint<Float>] = []
        _ = try FineTuning<TinyCausalModel<Float>>.tiny(dropout: 0.1).run(evaluateEvery: 3, saveEvery: 3, save: { checkpoint in
            saved.append(checkpoint)
            try checkpoint.write(to: checkpointURL)
        })
        #expect(saved.map(\.step) == [3, 6])
        #expect(try FileManager.default.contentsOfDirectory(atPath: checkpointURL.path).sorted() == ["checkpoint-6.safetensors", "checkpoint.json"])
        #expect(try FineTuningCheckpoint<Float>.read(from: checkpointURL).step == 6)
        try saved[0].write(to: checkpointURL)
        let checkpoint = try FineTuningCheckpoint<Float>.read(from: checkpointURL)
        #expect(checkpoint.step == 3)
        let resumed = try FineTuning<TinyCausalModel<Float>>.tiny(dropout: 0.1)
        try resumed.validate(checkpoint)
        let final = try resumed.run(resumingFrom: checkpoint, evaluateEvery: 3)
        #expect(final.losses == uninterrupted.losses)
        #expect(final.parameters == uninterrupted.parameters)
        #expect(final.optimizer == uninterrupted.optimizer)
        #expect(final.evaluations == uninterrupted.evaluations)
        #expect(uninterrupted.evaluations.keys.sorted() == [0, 3, 6, 7])
        #expect(uninterrupted.evaluations[7]! < uninterrupted.evaluations[0]!, "training lowers the held-out perplexity")
    }

    /// Shares of `n` examples among `R` ranks are contiguous, disjoint, cover the batch and differ
    /// in size by one at most.
    @Test func ranksShareABatch() {
        let batch = TokenWindows.batches(TokenWindows.training(Self.stream, context: 5), batchSize: 7, seed: 0, epoch: 0)[0]
        for ranks in 1...9 {
            let shares = (0..<ranks).map { batch.share($0, of: ranks) }
            #expect(shares.flatMap(\.tokens) == batch.tokens)
            let sizes = shares.map(\.exampleCount)
            #expect(sizes.max()! - sizes.min()! <= 1)
        }
    }

    /// With a reduction of one rank, a run takes the over-processes paths (rank 0's state sent,
    /// shares, sums, split evaluation) and ends exactly as without one.
    @Test func oneRankOverTheReductionEqualsNoReduction() throws {
        let alone = try FineTuning<TinyCausalModel<Float>>.tiny(dropout: 0.1).run(evaluateEvery: 3)
        let run = try FineTuning<TinyCausalModel<Float>>.tiny(dropout: 0.1, reduction: OneRank())
        #expect(run.isPrimaryRank)
        let reduced = try run.run(evaluateEvery: 3)
        #expect(reduced.parameters == alone.parameters)
        #expect(reduced.optimizer == alone.optimizer)
        #expect(reduced.losses == alone.losses)
        #expect(reduced.evaluations == alone.evaluations)
    }

    /// A run whose loss overflows stops with an error naming the step, before saving anything.
    @Test func aDivergingRunStopsAtItsFirstNonFiniteLoss() throws {
        var saved = 0
        #expect {
            _ = try FineTuning<TinyCausalModel<Float>>.tiny(dropout: 0, learningRate: 1e30).run(saveEvery: 1, save: { _ in saved += 1 })
        } throws: { error in
            guard case let .nonFiniteLoss(step, loss)? = error as? FineTuningError else { return false }
            return step == saved + 1 && !loss.isFinite
        }
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

/// A run of one process through the ``GradientReduction`` protocol: every collective returns
/// its input.
private final class OneRank: GradientReduction {
    let rank = 0, size = 1
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) {}
    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, from root: Int) {}
    func broadcast(_ values: UnsafeMutableBufferPointer<Double>, from root: Int) {}
    func broadcast(bytes: [UInt8], from root: Int) -> [UInt8] { bytes }
    func abort(exitCode: Int32) -> Never { fatalError("OneRank.abort(\(exitCode))") }
}

@Suite("Fine-tuning without held-out text")
struct FineTuningWithoutEvaluationTests {
    /// No evaluation windows: no perplexity is reported (not the exp(0) = 1 of an empty mean).
    @Test func noEvaluationTextReportsNoPerplexity() throws {
        let model = try TinyCausalModel<Float>.adapted(dropout: 0)
        let run = FineTuning(
            model: model, trainingWindows: TokenWindows.training(FineTuningTests.stream, context: 5), evaluationWindows: [],
            options: FineTuningOptions(steps: 2))
        #expect(try run.run().evaluations.isEmpty)
    }
}
