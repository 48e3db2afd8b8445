import Foundation
import LinearAlgebra
import LoRA
import Models
import NN
import PEFT
import Testing

/// The PEFT adapter fixture (r = 4, α = 8 on q_proj and v_proj) on the tiny model.
@Suite("PEFT adapters on LLaMA")
struct AdapterTests {
    static let references = ReferenceTensors("tiny_llama/lora_reference.safetensors")
    let reference = TinyReference.shared
    let directory = fixture("tiny_llama/lora_adapter")

    func adapted<Scalar: MatrixScalar>(_: Scalar.Type, gguf: Bool = false) throws -> LlamaForCausalLM<Scalar> {
        let model = gguf
            ? try LlamaForCausalLM<Scalar>(ggufAt: fixture("tiny_llama/tiny_llama.f32.gguf"))
            : try LlamaForCausalLM<Scalar>(huggingFaceDirectory: fixture("tiny_llama/model"))
        let (adapter, _) = try PEFTAdapter<Scalar>.read(from: directory)
        let paths = try adapter.apply(to: model, file: directory.path)
        #expect(paths.count == 4 && paths.first == "model.layers.0.self_attn.q_proj")
        model.setTraining(false)
        return model
    }

    @Test("base + adapter gives the reference loss and logits, from safetensors and from the GGUF base")
    func loss() throws {
        let ids = reference.len16
        for gguf in [false, true] {
            let double = try adapted(Double.self, gguf: gguf)
            let result = double.loss(tokens: ids, targets: nextTokenTargets(ids), sequenceLength: 16, accumulatingGradients: false)
            #expect(abs(result.meanNegativeLogLikelihood - reference.lora["f64.loss_len16"]!) < 1e-6)
            let logits: Matrix<Double> = Self.references.matrix("f64.logits.len16")
            #expect(maxDifference(double.logits(tokens: ids, sequenceLength: 16), logits) < 1e-5)
            let float = try adapted(Float.self, gguf: gguf)
            let result32 = float.loss(tokens: ids, targets: nextTokenTargets(ids), sequenceLength: 16, accumulatingGradients: false)
            #expect(abs(result32.meanNegativeLogLikelihood - reference.lora["f32.loss_len16"]!) < 1e-5)
        }
    }

    @Test("∂L/∂A and ∂L/∂B equal PEFT's, and central differences in Double")
    func gradients() throws {
        let model = try adapted(Double.self)
        let ids = reference.len16
        let targets = nextTokenTargets(ids)
        let trainable = model.trainableParameters()
        #expect(trainable.count == 8 && trainable.allSatisfy { $0.path.contains("lora_") })
        _ = model.loss(tokens: ids, targets: targets, sequenceLength: 16, accumulatingGradients: true)
        for (path, parameter) in trainable {
            let gradient = try #require(parameter.gradient)
            let expected: Matrix<Double> = Self.references.matrix("f64.grad.base_model.model." + path)
            #expect(maxDifference(gradient, expected) < 1e-6, "\(path)")
        }
        // Central differences of the model's own loss: an exact check of the backward in Double.
        let h = 1e-6
        func loss() -> Double { model.loss(tokens: ids, targets: targets, sequenceLength: 16, accumulatingGradients: false).meanNegativeLogLikelihood }
        var worst = 0.0
        for (_, parameter) in trainable {
            let analytic = parameter.gradient!
            for index in stride(from: 0, to: analytic.count, by: 7) {
                let (i, j) = index.quotientAndRemainder(dividingBy: analytic.columns)
                parameter.modifyValue { $0[i, j] += h }
                let up = loss()
                parameter.modifyValue { $0[i, j] -= 2 * h }
                let down = loss()
                parameter.modifyValue { $0[i, j] += h }
                worst = max(worst, abs((up - down) / (2 * h) - analytic[i, j]))
            }
        }
        #expect(worst < 1e-8)
    }

    @Test("an adapter for another model is refused, naming the module")
    func mismatch() throws {
        let model = try LlamaForCausalLM<Float>(huggingFaceDirectory: fixture("tiny_llama/model"))
        let (adapter, _) = try PEFTAdapter<Float>.read(from: directory)
        var deeper = adapter
        deeper.modules["model.layers.7.self_attn.q_proj"] = adapter.modules["model.layers.0.self_attn.q_proj"]
        #expect(throws: PEFTAdapterError.moduleNotInModel(file: "x", module: "model.layers.7.self_attn.q_proj", example: "model.layers.0.self_attn.q_proj")) {
            try deeper.apply(to: model, file: "x")
        }
        var wider = adapter
        let factors = adapter.modules["model.layers.1.self_attn.v_proj"]!
        wider.modules["model.layers.1.self_attn.v_proj"] = .init(a: Matrix(rows: 4, columns: 48, repeating: 0), b: factors.b)
        #expect(throws: PEFTAdapterError.self) { try wider.apply(to: model, file: "x") }
        var notLinear = adapter
        notLinear.modules["model.layers.0.input_layernorm"] = factors
        #expect(throws: PEFTAdapterError.notALinearModule(file: "x", module: "model.layers.0.input_layernorm", type: "RMSNorm<Float>")) {
            try notLinear.apply(to: model, file: "x")
        }
        // Nothing was applied by the refused adapters.
        #expect(model.trainableParameters().isEmpty)
    }

    @Test("rsLoRA and alpha patterns set each module's scaling")
    func scaling() throws {
        let model = try LlamaForCausalLM<Float>(huggingFaceDirectory: fixture("tiny_llama/model"))
        var (adapter, _) = try PEFTAdapter<Float>.read(from: directory)
        adapter.configuration.useRSLoRA = true
        adapter.configuration.alphaPattern = ["v_proj": 2]
        try adapter.apply(to: model, file: "x")
        let scales = Dictionary(uniqueKeysWithValues: model.loraLayers().map { ($0.path, Double($0.layer.scale)) })
        #expect(scales["model.layers.0.self_attn.q_proj"] == 4, "α/√r = 8/2, \(scales)")
        #expect(scales["model.layers.1.self_attn.v_proj"] == 1, "2/√r, \(scales)")
    }
}
