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
