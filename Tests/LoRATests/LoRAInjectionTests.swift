import NN
import LinearAlgebra
import LoRA
import Optimizers
import Testing

@Suite("Injecting LoRA into a transformer by target names")
struct LoRAInjectionTests {
    func makeModel<T: MatrixScalar>(_: T.Type, depth: Int = 2) -> TransformerStack<T> {
        var generator = SeededGenerator(seed: 41)
        return TransformerStack<T>(depth: depth, features: 16, heads: 4, using: &generator)
    }

    func checkAttentionTargets<T: MatrixScalar>(_: T.Type) throws {
        let model = makeModel(T.self)
        let total = model.parameterCount
        var generator = SeededGenerator(seed: 42)
        let configuration = LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "k_proj", "v_proj", "o_proj"]))
        let report = try model.injectLoRA(configuration, using: &generator)
        #expect(report.wrapped.map(\.path) == [
            "blocks.0.attn.q_proj", "blocks.0.attn.k_proj", "blocks.0.attn.v_proj", "blocks.0.attn.o_proj",
            "blocks.1.attn.q_proj", "blocks.1.attn.k_proj", "blocks.1.attn.v_proj", "blocks.1.attn.o_proj",
        ])
        #expect(report.wrapped.allSatisfy { $0.rank == 4 && $0.scale == 2 })
        // Σ r·(d_in + d_out) over the wrapped layers.
        #expect(report.trainableParameters == 8 * 4 * (16 + 16))
        #expect(model.trainableParameterCount == report.trainableParameters)
        #expect(report.totalParameters == total + report.trainableParameters)
        #expect(model.trainableParameters().allSatisfy { $0.path.contains(".lora_") })
        #expect(model.parameter(at: "blocks.1.attn.v_proj.lora_B.weight")?.value.shapeDescription == "16×4")
        #expect(model.loraLayers().count == 8)
    }

    @Test func attentionTargets() throws {
        try checkAttentionTargets(Float.self)
        try checkAttentionTargets(Double.self)
    }

    @Test func injectedModelKeepsItsOutputAndGradientChecks() throws {
        let model = makeModel(Double.self, depth: 1)
        var generator = SeededGenerator(seed: 43)
        let x = Matrix<Double>.randomNormal(rows: 6, columns: 16, using: &generator)
        let before = model.forward(x, sequenceLength: 3)
        try model.injectLoRA(LoRAConfiguration(rank: 2, alpha: 4, targetModules: .regex(#".*\.(q_proj|mlp\.2)"#)), using: &generator)
        #expect(model.forward(x, sequenceLength: 3) == before)  // B = 0
        #expect(model.loraLayers().map(\.path) == ["blocks.0.attn.q_proj", "blocks.0.mlp.2"])
        // Random B so every gradient is non-trivial.
        for (_, layer) in model.loraLayers() {
            layer.loraB.value = .randomNormal(rows: layer.outFeatures, columns: layer.rank, using: &generator)
        }
        let check = GradientCheck.worstError(
            of: model, input: x, forward: { model.forward($0, sequenceLength: 3) }, backward: model.backward)
        #expect(check.error <= 1e-6, "worst: \(check.key)")
    }

    /// `accumulateParameterGradients` (no input gradient) gives the gradients of `backward`, for
    /// LoRA (frozen norms: the first block skips its input projections' input gradient) and for
    /// full fine-tuning.
    @Test func parameterGradientsWithoutInputGradient() throws {
        for lora in [true, false] {
            let model = makeModel(Double.self, depth: 2)
            var generator = SeededGenerator(seed: 47)
            if lora {
                try model.injectLoRA(LoRAConfiguration(rank: 2, targetModules: .allLinear, initialization: .random), using: &generator)
            }
            let x = Matrix<Double>.randomNormal(rows: 6, columns: 16, using: &generator)
            let dy = Matrix<Double>.randomNormal(rows: 6, columns: 16, using: &generator)
            _ = model.forward(x, sequenceLength: 3)
            model.zeroGradients()
            _ = model.backward(dy)
            let full = model.trainableParameters().map { $0.parameter.gradient! }
            _ = model.forward(x, sequenceLength: 3)
            model.zeroGradients()
            model.accumulateParameterGradients(dy)
            let skipped = model.trainableParameters().map { $0.parameter.gradient! }
            #expect(zip(full, skipped).allSatisfy { GradientCheck.relativeError($1, $0) < 1e-14 })
        }
    }

    @Test func patternsBiasModesAndAllLinear() throws {
        let model = makeModel(Float.self, depth: 1)
        var generator = SeededGenerator(seed: 44)
        let configuration = LoRAConfiguration(
            rank: 4, alpha: 4, targetModules: .allLinear, useRSLoRA: true, bias: .loraOnly,
            rankPattern: ["mlp.0": 2], alphaPattern: ["o_proj": 8])
        let report = try model.injectLoRA(configuration, using: &generator)
        #expect(report.wrapped.count == 6)
        let mlp0 = report.wrapped.first { $0.path == "blocks.0.mlp.0" }!
        #expect(mlp0.rank == 2 && abs(mlp0.scale - 4 / 2.0.squareRoot()) < 1e-12)
        #expect(report.wrapped.first { $0.path == "blocks.0.attn.o_proj" }!.scale == 4)
        // Adapters: 4 attention (4·32) + mlp.0 (2·(16 + 64)) + mlp.2 (4·(64 + 16)); biases of the MLP.
        #expect(report.trainableParameters == 4 * 4 * 32 + 2 * 80 + 4 * 80 + 64 + 16)
        let everyBias = makeModel(Float.self, depth: 1)
        let all = try everyBias.injectLoRA(
            LoRAConfiguration(rank: 4, alpha: 4, targetModules: .names(["q_proj"]), bias: .all), using: &generator)
        #expect(all.trainableParameters == 4 * 32 + 64 + 16 + 2 * 16)  // mlp biases and both norm biases
    }

    @Test func nothingMatchedOrInvalidThrows() {
        let model = makeModel(Float.self, depth: 1)
        var generator = SeededGenerator(seed: 45)
        #expect(throws: LoRAInjectionError.self) {
            try model.injectLoRA(LoRAConfiguration(targetModules: .names(["query"])), using: &generator)
        }
        do {
            try model.injectLoRA(LoRAConfiguration(targetModules: .names(["query"])), using: &generator)
        } catch {
            #expect(error.description.contains("blocks.0.attn.q_proj"))
        }
        #expect(throws: LoRAInjectionError.self) {
            try model.injectLoRA(LoRAConfiguration(rank: 0, targetModules: .names(["q_proj"])), using: &generator)
        }
        let q = model.namedModules().first { $0.path == "blocks.0.attn.q_proj" }!.module as! any LinearLayer<Float>
        let side = min(q.outFeatures, q.inFeatures)
        #expect(throws: LoRAInjectionError.rankExceedsModule(module: "blocks.0.attn.q_proj", rank: side + 1, outFeatures: q.outFeatures, inFeatures: q.inFeatures)) {
            try model.injectLoRA(LoRAConfiguration(rank: side + 1, targetModules: .names(["q_proj"])), using: &generator)
        }
        #expect(model.loraLayers().isEmpty && model.frozenParameterCount == 0)
    }
}
