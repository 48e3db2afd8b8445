import Foundation
import LinearAlgebra
import Models
import NN
import TensorFormats
import Testing

/// The tiny random LlamaForCausalLM against transformers' float64/float32 references.
///
/// transformers computes RoPE's angles and their cosines in float32 even in a float64 model
/// (`LlamaRotaryEmbedding.forward` casts to float), while RotaryEmbedding tabulates them in
/// Double: the float64 references are therefore float64 only up to ~1e-7 relative in the
/// rotations, which bounds how closely Double can agree (NLL ~2e-7, gradients ~5e-8 here).
@Suite("Tiny LLaMA against transformers")
struct TinyLlamaTests {
    static let references = ReferenceTensors("tiny_llama/reference.safetensors")
    let reference = TinyReference.shared

    func load<Scalar: MatrixScalar>(_: Scalar.Type) throws -> LlamaForCausalLM<Scalar> {
        try LlamaForCausalLM<Scalar>(huggingFaceDirectory: fixture("tiny_llama/model"))
    }

    @Test("config.json gives the fixture's configuration")
    func configuration() throws {
        let model = try load(Double.self)
        #expect(model.configuration == LlamaConfiguration(
            vocabularySize: 64, hiddenSize: 32, intermediateSize: 64, layers: 2, heads: 4, keyValueHeads: 2, headSize: 8,
            ropeBase: 10000, rmsNormEpsilon: 1e-5, contextLength: 64, tiedEmbeddings: true, bosTokenID: 1, eosTokenID: 2))
    }

    @Test("module paths are Hugging Face's")
    func paths() throws {
        let names = try load(Float.self).namedParameters().map(\.path)
        #expect(names.first == "model.embed_tokens.weight")
        #expect(names.contains("model.layers.1.self_attn.k_proj.weight"))
        #expect(names.contains("model.layers.0.mlp.down_proj.weight"))
        #expect(names.contains("model.layers.0.post_attention_layernorm.weight"))
        #expect(names.last == "model.norm.weight")
        #expect(names.count == 1 + 2 * 9 + 1)
    }

    @Test("logits equal the references: 1e-5 in Double, 1e-4 in Float", arguments: ["len1", "len7", "len16"])
    func logits(sequence: String) throws {
        let ids = reference.sequences[sequence]!
        let double = try load(Double.self).logits(tokens: ids, sequenceLength: ids.count)
        #expect(maxDifference(double, Self.references.matrix("f64.logits.\(sequence)", as: Double.self)) < 1e-5)
        let float = try load(Float.self).logits(tokens: ids, sequenceLength: ids.count)
        #expect(maxDifference(float, Self.references.matrix("f32.logits.\(sequence)", as: Double.self)) < 1e-4)
    }

    @Test("mean NLL equals the references")
    func meanNLL() throws {
        let (double, float) = (try load(Double.self), try load(Float.self))
        for (name, expected64, expected32) in [
            ("len7", reference.f64.len7.mean_nll!, reference.f32.len7.mean_nll!),
            ("len16", reference.f64.len16.mean_nll!, reference.f32.len16.mean_nll!),
        ] {
            let ids = reference.sequences[name]!
            let loss64 = double.loss(tokens: ids, targets: nextTokenTargets(ids), sequenceLength: ids.count, accumulatingGradients: false)
            let loss32 = float.loss(tokens: ids, targets: nextTokenTargets(ids), sequenceLength: ids.count, accumulatingGradients: false)
            #expect(loss64.scored == ids.count - 1)
            #expect(abs(loss64.meanNegativeLogLikelihood - expected64) < 1e-6)
            #expect(abs(loss32.meanNegativeLogLikelihood - expected32) < 1e-5)
        }
    }

    @Test("a batch of two sequences gives each its own logits")
    func batch() throws {
        let model = try load(Double.self)
        let (a, b) = (reference.len16, Array(reference.len16.reversed()))
        let both = model.logits(tokens: a + b, sequenceLength: 16)
        #expect(maxDifference(both[rows: 0..<16], model.logits(tokens: a, sequenceLength: 16)) < 1e-12)
        #expect(maxDifference(both[rows: 16..<32], model.logits(tokens: b, sequenceLength: 16)) < 1e-12)
    }

    @Test("greedy ids equal the references (key/value cache)")
    func greedy() throws {
        for run in [reference.f64, reference.f32] {
            let result = try load(Float.self).generate(prompt: run.greedy_prompt, maximumNewTokens: 12)
            #expect(result.newIDs == run.greedy_ids)
            #expect(result.stopReason == .maximumTokens)
        }
    }

    @Test("asked for any number of tokens, generation stops once the context is full")
    func generationStopsAtTheContext() throws {
        let model = try load(Float.self)
        let prompt = reference.f32.greedy_prompt
        let result = try model.generate(prompt: prompt, maximumNewTokens: .max)
        // The last new token comes from the logits of the context's last position.
        #expect(prompt.count + result.newIDs.count == model.configuration.contextLength + 1)
        #expect(result.stopReason == .contextFull)
    }

    @Test("gradients of every layer's input and of every trainable parameter equal the references")
    func gradients() throws {
        let model = try load(Double.self)
        model.setTrainable(true)
        model.model.embedding.weight.isTrainable = false
        let ids = reference.len16
        var layerInputs: [Int: Matrix<Double>] = [:]
        let loss = model.loss(tokens: ids, targets: nextTokenTargets(ids), sequenceLength: 16, accumulatingGradients: true, rowsPerChunk: 64) {
            layerInputs[$0] = $1
        }
        #expect(abs(loss.meanNegativeLogLikelihood - reference.f64.grad_loss_len16) < 1e-6)
        for layer in 0..<2 {
            let expected: Matrix<Double> = Self.references.matrix("f64.grad.layer_input.\(layer)")
            #expect(maxDifference(try #require(layerInputs[layer]), expected) < 1e-6)
        }
        for (path, parameter) in model.trainableParameters() {
            let expected: Matrix<Double> = Self.references.matrix("f64.grad.param.\(path)")
            let gradient = try #require(parameter.gradient, "\(path) has no gradient")
            #expect(maxDifference(Matrix(rows: expected.rows, columns: expected.columns, elements: gradient.elements), expected) < 1e-6, "\(path)")
        }
    }

    @Test("a trainable tied head is refused rather than given half its gradient")
    func trainableHeadTrap() async throws {
        await #expect(processExitsWith: .failure) {
            let model = try LlamaForCausalLM<Float>(huggingFaceDirectory: fixture("tiny_llama/model"))
            model.setTrainable(true)
            _ = model.loss(tokens: [1, 2, 3], targets: [2, 3, -1], sequenceLength: 3, accumulatingGradients: true)
        }
    }
}
