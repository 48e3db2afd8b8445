import LinearAlgebra
import LoRA
import NN
import Testing
import Training

@Suite("LoRA+ parameter groups")
struct LoRAPlusTests {
    @Test func loraPlusGroupsPutBAtTheRatio() throws {
        var generator = SeededGenerator(seed: 46)
        let model = TransformerStack<Float>(depth: 1, features: 16, heads: 4, using: &generator)
        try model.injectLoRA(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj", "v_proj"])), using: &generator)
        let groups = model.loraPlusGroups(learningRate: 1e-3, ratio: 16)
        #expect(groups.map(\.name) == ["default", "lora_B"])
        #expect(groups.map(\.parameters.count) == [2, 2])
        #expect(groups[1].learningRate == 16e-3)
    }
}

@Suite("Evaluation and merge checks restore the modes they found")
struct ModeRestorationTests {
    @Test func evaluationAndMergeCheckKeepEvaluationMode() throws {
        var generator = SeededGenerator(seed: 7)
        let model = TransformerStack<Double>(depth: 1, features: 8, heads: 2, using: &generator)
        try model.injectLoRA(
            LoRAConfiguration(rank: 2, dropout: 0.1, targetModules: .names(["q_proj"])), using: &generator)
        let data = SequenceRegressionData<Double>(samples: 4, sequenceLength: 3, features: 8, using: &generator)
        let trainer = SequenceRegressionTrainer(model: model, data: data, options: TrainingOptions(epochs: 1, batchSize: 2))
        let dropoutLayer = try #require(model.loraLayers().first?.layer)
        model.setTraining(false)
        _ = trainer.evaluate()
        #expect(!dropoutLayer.isTraining, "evaluate() switched an evaluating model to training")
        _ = model.checkMergeRoundTrip(probe: data.inputs[rows: 0..<3], sequenceLength: 3)
        #expect(!dropoutLayer.isTraining, "checkMergeRoundTrip switched an evaluating model to training")
        model.setTraining(true)
        _ = trainer.evaluate()
        #expect(dropoutLayer.isTraining)
    }
}
