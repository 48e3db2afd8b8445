import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
import Models
import PEFT
import TensorFormats
import Testing

/// `ModelMerge` and `lora merge --model`: the merged model, written as GGUF or as a Hugging Face
/// directory and loaded back by our own loaders, scores a text as the base with the unmerged
/// adapter does.
@Suite("Merging an adapter into a model for deployment (GGUF, Hugging Face directory)")
struct ModelMergeTests {
    static let tinyGGUF = fixture("tiny_llama/tiny_llama.f32.gguf"), tinyAdapter = fixture("tiny_llama/lora_adapter")

    /// 300 seeded ids of the tiny vocabulary, scored in windows of 32.
    static let tinyText: [Int] = {
        var generator = SeededGenerator(seed: 11)
        return (0..<300).map { _ in Int(generator.next() % 64) }
    }()

    /// The perplexity of `tokens` under the model at `url` (a GGUF file or a Hugging Face
    /// directory), with `adapter` applied unmerged when given.
    static func perplexity(_ url: URL, adapter: URL? = nil, tokens: [Int], context: Int) throws -> Double {
        let language = try LanguageModel(url: url, keepingQuantizedBlocks: false)
        if let adapter { try PEFTAdapter<Float>.read(from: adapter).adapter.apply(to: language.model, file: adapter.path) }
        language.model.setTraining(false)
        return try language.model.perplexity(tokens: tokens, context: context).perplexity
    }

    /// Merges `adapter` into the model at `url` in `format` and writes it to `out`.
    static func merge(_ url: URL, adapter: URL, format: MergedModelFormat, out: URL) throws -> [MergedWeightReport] {
        let source = try GGUFFile(contentsOf: url)
        let peft = try PEFTAdapter<Double>.read(from: adapter).adapter
        let (files, reports) = try ModelMerge.merge(model: try LlamaForCausalLM<Float>(gguf: source), adapter: peft, format: format, source: source)
        try files.write(to: out)
        return reports
    }

    /// f32 outputs score the text as the unmerged adapter does to 1e-4 relative (the merge itself
    /// is correctly rounded); f16 and bf16 outputs within their rounding. A GGUF output keeps the
    /// source's metadata (but `general.file_type`), tensor order and row order: the tensors the
    /// adapter leaves alone, `W_k` among them, are the source's bytes.
    @Test func theTinyMergedModelScoresAsTheUnmergedAdapter() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-model-merge")
        defer { try? FileManager.default.removeItem(at: directory) }
        let unmerged = try Self.perplexity(Self.tinyGGUF, adapter: Self.tinyAdapter, tokens: Self.tinyText, context: 32)
        let base = try Self.perplexity(Self.tinyGGUF, tokens: Self.tinyText, context: 32)
        #expect(abs(unmerged - base) > 1e-2 * base, "the adapter must matter: \(base) → \(unmerged)")

        let cases: [(MergedModelFormat, String, Double)] = [
            (.gguf(.f32), "m32.gguf", 1e-4), (.huggingFace(.float32), "hf32", 1e-4),
            (.gguf(.f16), "m16.gguf", 3e-3), (.huggingFace(.float16), "hf16", 3e-3), (.huggingFace(.bfloat16), "hfbf16", 3e-2),
        ]
        for (format, name, tolerance) in cases {
            let out = directory.appendingPathComponent(name)
            let reports = try Self.merge(Self.tinyGGUF, adapter: Self.tinyAdapter, format: format, out: out)
            #expect(reports.map(\.key) == ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.v_proj.weight",
                                          "model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.v_proj.weight"])
            #expect(reports.allSatisfy { $0.worstErrorULPs <= 0.5 }, "\(name): correctly rounded")
            let merged = try Self.perplexity(out, tokens: Self.tinyText, context: 32)
            #expect(abs(merged - unmerged) <= tolerance * unmerged, "\(name): merged \(merged), unmerged \(unmerged)")
        }

        let source = try GGUFFile(contentsOf: Self.tinyGGUF)
        let written = try GGUFFile(contentsOf: directory.appendingPathComponent("m32.gguf"))
        #expect(written.metadataKeys == source.metadataKeys + (source.metadata["general.file_type"] == nil ? ["general.file_type"] : []))
        for key in source.metadataKeys where key != "general.file_type" { #expect(written.metadata[key] == source.metadata[key], "\(key)") }
        #expect(written.metadata["general.file_type"] == .uint32(0))
        #expect(written.tensorNames == source.tensorNames)
        for name in source.tensorNames where !name.hasSuffix("attn_q.weight") && !name.hasSuffix("attn_v.weight") {
            #expect(try written.rawBytes(name) == source.rawBytes(name), "\(name) is the source's")
        }
        let half = try GGUFFile(contentsOf: directory.appendingPathComponent("m16.gguf"))
        #expect(half.metadata["general.file_type"] == .uint32(1))
        #expect(half.tensors.allSatisfy { $0.type == ($0.dimensions.count == 2 ? .f16 : .f32) }, "matrices F16, norms F32")
        let hf = try SafetensorsFile(contentsOf: directory.appendingPathComponent("hf32/model.safetensors"))
        let names = try LlamaForCausalLM<Float>(ggufAt: Self.tinyGGUF).huggingFaceWeights.map(\.name)
        #expect(Set(hf.tensorNames) == Set(names))
        #expect(try hf.info("model.norm.weight").shape == [32] && !hf.contains("lm_head.weight"))
        #expect(try hf.info("model.layers.0.self_attn.k_proj.weight").dtype == .float32)
    }

    /// The same on SmolLM2 (its Q4_1 weights dequantized) as GGUF and as a Hugging Face
    /// directory, with a seeded adapter on `q_proj`, `k_proj` and `v_proj` (the rows GGUF
    /// reorders), on the committed Othello excerpt (620 tokens, windows of 256). One model is
    /// loaded, merged from, then given the adapter unmerged.
    @Test(.enabled(if: ModelLocation.cachedFile("smollm2") != nil,
                   "SmolLM2-135M-Instruct.Q4_1.gguf is not cached; run scripts/fetch-model smollm2"))
    func smolLM2MergedScoresAsTheUnmergedAdapter() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-model-merge-smollm2")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try GGUFFile(contentsOf: ModelLocation.cachedFile("smollm2")!)
        let model = try LlamaForCausalLM<Float>(gguf: source)
        let adapter = Self.seededAdapter(for: model, rank: 4, modules: ["q_proj", "k_proj", "v_proj"])
        let tokenizer = try LanguageModel.tokenizer(in: source)
        let tokens = tokenizer.encode(try String(contentsOf: fixture("smollm2/othello_excerpt.txt"), encoding: .utf8), addSpecial: false)
        let inDouble = PEFTAdapter<Double>(configuration: adapter.configuration, modules: adapter.modules.mapValues {
            .init(a: $0.a.converted(to: Double.self), b: $0.b.converted(to: Double.self))
        })
        let base = try model.perplexity(tokens: tokens, context: 256).perplexity
        var merged: [String: Double] = [:]
        for (format, name) in [(MergedModelFormat.gguf(.f32), "merged.gguf"), (.huggingFace(.float32), "merged")] {
            let out = directory.appendingPathComponent(name)
            let (files, reports) = try ModelMerge.merge(model: model, adapter: inDouble, format: format, source: source)
            try files.write(to: out)
            #expect(reports.count == 3 * 30 && reports.allSatisfy { $0.worstErrorULPs <= 0.5 })
            merged[name] = try LanguageModel(url: out, keepingQuantizedBlocks: false).model.perplexity(tokens: tokens, context: 256).perplexity
            try FileManager.default.removeItem(at: out)
        }
        try adapter.apply(to: model, file: "seeded adapter")
        model.setTraining(false)
        let unmerged = try model.perplexity(tokens: tokens, context: 256).perplexity
        #expect(abs(unmerged - base) > 1e-2 * base, "the adapter must matter: \(base) → \(unmerged)")
        for (name, perplexity) in merged {
            #expect(abs(perplexity - unmerged) <= 1e-4 * unmerged, "\(name): merged \(perplexity), unmerged \(unmerged)")
        }
    }

    /// A rank-`rank` adapter on `modules` of `model`, A and B seeded so that ‖ΔW‖ is several
    /// percent of ‖W‖.
    static func seededAdapter(for model: LlamaForCausalLM<Float>, rank: Int, modules names: [String]) -> PEFTAdapter<Float> {
        var generator = SeededGenerator(seed: 3)
        var modules: [String: PEFTAdapter<Float>.Factors] = [:]
        for (name, w) in model.huggingFaceWeights where names.contains(where: { name.hasSuffix(".\($0).weight") }) {
            let a = Matrix<Float>.randomNormal(rows: rank, columns: w.columns, standardDeviation: 1 / Float(w.columns).squareRoot(), using: &generator)
            let b = Matrix<Float>.randomNormal(rows: w.rows, columns: rank, standardDeviation: 0.05, using: &generator)
            modules[String(name.dropLast(".weight".count))] = .init(a: a, b: b)
        }
        var configuration = LoRAConfiguration(rank: rank, alpha: Double(2 * rank), targetModules: .names(names))
        configuration.taskType = "CAUSAL_LM"
        return PEFTAdapter(configuration: configuration, modules: modules)
    }
}
