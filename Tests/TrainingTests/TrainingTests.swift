import NN
import LinearAlgebra
import LoRA
import Optimizers
import Training
import Testing

@Suite("Training: data, LoRA and full fine-tuning, merge round trip")
struct TrainingTests {
    func checkData<T: MatrixScalar>(_: T.Type) {
        var generator = SeededGenerator(seed: 51)
        let data = SequenceRegressionData<T>(samples: 40, sequenceLength: 5, features: 6, using: &generator)
        #expect(data.inputs.shapeDescription == "200×6" && data.targets.shapeDescription == "200×6")
        // y − 0.9·roll(x, 1) is the noise: N(0, 0.01), so its RMS is close to 0.1.
        var squares = 0.0
        for sample in 0..<40 {
            for t in 0..<5 {
                let source = sample * 5 + (t + 4) % 5
                for j in 0..<6 {
                    let noise = Double(data.targets[sample * 5 + t, j] - 0.9 * data.inputs[source, j])
                    squares += noise * noise
                }
            }
        }
        #expect(abs((squares / 1200).squareRoot() - 0.1) < 0.01)
        #expect(data.batches(of: 16) == [0..<16, 16..<32, 32..<40])
        #expect(data.batch(16..<32).inputs == data.inputs[rows: 80..<160])
    }

    @Test func syntheticData() {
        checkData(Float.self)
        checkData(Double.self)
    }

    func makeTrainer<T: MatrixScalar>(
        _: T.Type = Float.self, full: Bool, epochs: Int = 8, depth: Int = 1, replicas: Int = 1
    ) throws -> SequenceRegressionTrainer<T> {
        var generator = SeededGenerator(seed: 52)
        let data = SequenceRegressionData<T>(samples: 24, sequenceLength: 4, features: 8, using: &generator)
        let model = TransformerStack<T>(depth: depth, features: 8, heads: 2, using: &generator)
        if !full {
            try model.injectLoRA(
                LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["q_proj", "k_proj", "v_proj", "o_proj"])),
                using: &generator)
        }
        return SequenceRegressionTrainer(
            model: model, data: data,
            options: TrainingOptions(epochs: epochs, batchSize: 8, learningRate: 1e-2, replicas: replicas),
            trackedLayer: model.loraLayers().first?.layer)
    }

    @Test func loraTrainingLowersTheLossAndTracksNorms() throws {
        let trainer = try makeTrainer(full: false)
        #expect(trainer.model.trainableParameterCount == 4 * 2 * (8 + 8))
        #expect(trainer.optimizer.stateCount == 2 * trainer.model.trainableParameterCount)
        let frozenBefore = trainer.model.namedParameters().filter { !$0.parameter.isTrainable }.map(\.parameter.value)
        var epochs: [Int] = []
        let history = trainer.train { epochs.append($0.epoch) }
        #expect(epochs == Array(1...8))
        #expect(history.losses.count == 8 && history.steps == 8 * 3)
        #expect(history.finalLoss < history.initialLoss)
        #expect(history.norms.map(\.step) == [0, 3, 6, 9, 12, 15, 18, 21, 24])
        #expect(history.norms.first!.b == 0 && history.norms.last!.b > 0 && history.norms.last!.delta > 0)
        // The frozen weights did not move.
        let frozenAfter = trainer.model.namedParameters().filter { !$0.parameter.isTrainable }.map(\.parameter.value)
        #expect(frozenAfter == frozenBefore)
    }

    @Test func fullFineTuningLowersTheLoss() throws {
        let trainer = try makeTrainer(full: true)
        #expect(trainer.model.trainableParameterCount == trainer.model.parameterCount)
        let history = trainer.train()
        #expect(history.finalLoss < history.initialLoss)
        #expect(history.norms.isEmpty)
    }

    @Test func mergeRoundTripAfterTraining() throws {
        let trainer = try makeTrainer(full: false, epochs: 3)
        _ = trainer.train()
        let probe = trainer.data.batch(0..<8).inputs
        let before = trainer.model.forward(probe, sequenceLength: 4)
        let report = trainer.model.checkMergeRoundTrip(probe: probe, sequenceLength: 4)
        #expect(report.relativeMergedDifference <= 1e-5)
        #expect(report.maxMergedDifference > 0 || report.relativeMergedDifference == 0)
        #expect(report.relativeWeightDrift <= 1e-6)
        #expect(trainer.model.loraLayers().allSatisfy { !$0.layer.isMerged })
        #expect(GradientCheck.relativeError(trainer.model.forward(probe, sequenceLength: 4), before) <= 1e-5)
    }

    /// Data parallelism is the same maths: three replicas on parts of 3, 3 and 2 of a batch's 8
    /// sequences (unequal shares) give the losses, gradients and weights of one model on the
    /// whole batch up to rounding, for LoRA and full fine-tuning, in training and evaluation.
    @Test(arguments: [false, true])
    func dataParallelTrainingMatchesOneModel(full: Bool) throws {
        let single = try makeTrainer(Double.self, full: full, epochs: 2, depth: 2)
        let parallel = try makeTrainer(Double.self, full: full, epochs: 2, depth: 2, replicas: 3)
        let (x, y) = single.data.batch(0..<8)
        for _ in 0..<4 {
            let (loss, parallelLoss) = (single.step(inputs: x, targets: y), parallel.step(inputs: x, targets: y))
            #expect(abs(loss - parallelLoss) <= 1e-12 * loss)
        }
        for (one, other) in zip(single.model.trainableParameters(), parallel.model.trainableParameters()) {
            #expect(GradientCheck.relativeError(one.parameter.gradient!, other.parameter.gradient!) <= 1e-10, "\(one.path)")
            #expect(GradientCheck.relativeError(one.parameter.value, other.parameter.value) <= 1e-10, "\(one.path)")
        }
        #expect(abs(single.evaluate() - parallel.evaluate()) <= 1e-12 * single.evaluate())
        let history = parallel.train()
        #expect(history.finalLoss < history.initialLoss)
    }

    /// Full fine-tuning updates weights, gradients and optimizer state in place: after the first
    /// step (which allocates the gradients), no weight-sized buffer is reallocated, with one
    /// model or with replicas (which read the model's weights and add their gradients into its).
    @Test(arguments: [1, 2])
    func fullFineTuningStepsReuseWeightAndGradientBuffers(replicas: Int) throws {
        let trainer = try makeTrainer(full: true, replicas: replicas)
        let (x, y) = trainer.data.batch(0..<8)
        func addresses() -> [UnsafeRawPointer?] {
            trainer.model.namedParameters().flatMap { _, parameter in
                [parameter.value.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) },
                 parameter.gradient?.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }]
            }
        }
        _ = trainer.step(inputs: x, targets: y)
        let before = addresses()
        // Norms, not values: holding the values would share their buffers and force copies.
        let normsBefore = trainer.model.namedParameters().map(\.parameter.value.frobeniusNorm)
        for _ in 0..<3 { _ = trainer.step(inputs: x, targets: y) }
        #expect(addresses() == before)
        #expect(trainer.model.namedParameters().map(\.parameter.value.frobeniusNorm) != normsBefore)
    }
}
