import Foundation
import LinearAlgebra
import Models
import NN
import TensorFormats
import Testing

@Suite("Loading from GGUF")
struct GGUFLoadingTests {
    let reference = TinyReference.shared

    @Test("the F32 GGUF (llama.cpp's q/k permutation) loads to exactly the safetensors weights")
    func f32EqualsSafetensors() throws {
        let gguf = try LlamaForCausalLM<Float>(ggufAt: fixture("tiny_llama/tiny_llama.f32.gguf"))
        let hf = try LlamaForCausalLM<Float>(huggingFaceDirectory: fixture("tiny_llama/model"))
        var expected = hf.configuration
        expected.bosTokenID = 1
        expected.eosTokenID = 2
        expected.rmsNormEpsilon = Double(Float(1e-5))  // GGUF stores it as float32
        #expect(gguf.configuration == expected)
        let (a, b) = (gguf.namedParameters(), hf.namedParameters())
        #expect(a.map(\.path) == b.map(\.path))
        for ((path, p), (_, q)) in zip(a, b) { #expect(p.value == q.value, "\(path)") }
    }

    @Test("the Q8_0/Q4_1 GGUF gives its references' logits (1e-5 in Double) and greedy ids", arguments: ["len1", "len7", "len16"])
    func quantized(sequence: String) throws {
        let ids = reference.sequences[sequence]!
        let model = try LlamaForCausalLM<Double>(ggufAt: fixture("tiny_llama/tiny_llama.q4_1.gguf"))
        let expected: Matrix<Double> = ReferenceTensors("tiny_llama/q4_1_reference.safetensors").matrix("f64.logits.\(sequence)")
        #expect(maxDifference(model.logits(tokens: ids, sequenceLength: ids.count), expected) < 1e-5)
    }

    @Test("quantized greedy ids equal the reference, on the blocks (Float activations) and on dense GEMM")
    func quantizedGreedy() throws {
        let expected = try #require(reference.q4_1["greedy_ids"]?.ids)
        for keepBlocks in [false, true] {
            let model = try LlamaForCausalLM<Float>(ggufAt: fixture("tiny_llama/tiny_llama.q4_1.gguf"), keepingQuantizedBlocks: keepBlocks)
            #expect(model.layers[0].attention.queryProjection is QuantizedLinear == keepBlocks)
            #expect(try model.generate(prompt: reference.f32.greedy_prompt, maximumNewTokens: 12).newIDs == expected)
        }
    }

    @Test("a projection on the blocks equals its dense product: Float activations to 1e-5, int8 within the rounding bound")
    func quantizedLinear() throws {
        let model = try LlamaForCausalLM<Float>(ggufAt: fixture("tiny_llama/tiny_llama.q4_1.gguf"), keepingQuantizedBlocks: true)
        var generator = SeededGenerator(seed: 3)
        let x = Matrix<Float>.randomNormal(rows: 3, columns: 32, using: &generator)
        for layer in [model.layers[1].attention.keyProjection, model.layers[0].mlp.downProjection, model.decodingHead!] {
            let quantized = try #require(layer as? QuantizedLinear)
            let input = layer === model.layers[0].mlp.downProjection ? Matrix<Float>.randomNormal(rows: 3, columns: 64, using: &generator) : x
            var dense = Matrix<Float>.zeros(3, quantized.outFeatures)
            Matrix.gemm(input, quantized.weight.value, transposeB: .transposed, into: &dense)
            #expect(maxDifference(quantized.forward(input), dense) < 1e-5)
            quantized.activations = .int8
            #expect(maxDifference(quantized.forward(input), dense) < 0.05)
            quantized.activations = .float
        }
    }

    /// The tiny F32 GGUF with `edit` applied to its bytes, loaded from a temporary file.
    func loadEdited(_ name: String, _ edit: (inout Data) throws -> Void) throws -> ModelError? {
        var data = try Data(contentsOf: fixture("tiny_llama/tiny_llama.f32.gguf"))
        try edit(&data)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-\(UUID().uuidString)-\(name)")
        try data.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try LlamaForCausalLM<Float>(ggufAt: url)
            return nil
        } catch {
            #expect(error.description.hasPrefix(url.path + ": "), "\(error)")
            #expect(!error.description.contains("\n"))
            return error
        }
    }

    /// The byte offset just past the first occurrence of `text`.
    func end(of text: String, in data: Data) throws -> Int { try #require(data.range(of: Data(text.utf8))).upperBound }

    @Test("truncated, unknown types, another architecture, missing and misshapen tensors: typed one-line errors")
    func errors() throws {
        let truncated = try loadEdited("cut.gguf") { $0 = $0.prefix($0.count - 100) }
        #expect(truncated.map { if case .gguf = $0 { true } else { false } } == true)

        // The type id after a 1-D tensor's name: u32 dimension count, one u64 dimension, u32 type.
        let unknownType = try loadEdited("type.gguf") { data in
            let at = try end(of: "blk.0.attn_norm.weight", in: data) + 4 + 8
            data.replaceSubrange(at..<(at + 4), with: [4, 0, 0, 0])
        }
        #expect(unknownType.map { if case .gguf(.unknownTensorType(_, "blk.0.attn_norm.weight", 4)) = $0 { true } else { false } } == true)

        // general.architecture's value: u32 type, u64 length, then the text.
        let architecture = try loadEdited("arch.gguf") { data in
            let at = try end(of: "general.architecture", in: data) + 4 + 8
            data.replaceSubrange(at..<(at + 5), with: Data("gpt2x".utf8))
        }
        #expect(architecture.map { if case .unsupportedArchitecture(_, "gpt2x") = $0 { true } else { false } } == true)

        let missing = try loadEdited("missing.gguf") { data in
            let name = try #require(data.range(of: Data("blk.1.ffn_up.weight".utf8)))
            data.replaceSubrange(name, with: Data("blk.1.ffn_XX.weight".utf8))
        }
        #expect(missing.map { if case .missingTensor(_, "blk.1.ffn_up.weight") = $0 { true } else { false } } == true)

        // attn_q (32×32) and attn_k (16×32) swap names.
        let misshapen = try loadEdited("shape.gguf") { data in
            let q = try #require(data.range(of: Data("blk.0.attn_q.weight".utf8)))
            let k = try #require(data.range(of: Data("blk.0.attn_k.weight".utf8)))
            data.replaceSubrange(q, with: Data("blk.0.attn_k.weight".utf8))
            data.replaceSubrange(k, with: Data("blk.0.attn_q.weight".utf8))
        }
        #expect(misshapen.map { if case .wrongShape(_, "blk.0.attn_q.weight", [32, 32], [16, 32]) = $0 { true } else { false } } == true)
    }
}
