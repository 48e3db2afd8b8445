import Foundation
import LinearAlgebra
import LoRA
import Models
import NN
import PEFT
import Testing

/// Several named adapters loaded onto the tiny LLaMA, against models with one adapter applied
/// (LoRALinear, PEFTAdapter.apply) and the base model.
@Suite("Named adapters and mixed batches on LLaMA")
struct NamedAdapterTests {
    let reference = TinyReference.shared
    let directory = fixture("tiny_llama/lora_adapter")

    func base() throws -> LlamaForCausalLM<Float> {
        try LlamaForCausalLM<Float>(huggingFaceDirectory: fixture("tiny_llama/model"))
    }

    /// "a": the PEFT fixture (q_proj, v_proj of both layers); "b": its q_proj modules with
    /// `−1.5·B`; "d": the fixture as DoRA with `m = n·(1 + j/10 mod 0.3)` per output `j`.
    func adapters() throws -> [(name: String, adapter: PEFTAdapter<Float>)] {
        let a = try PEFTAdapter<Float>.read(from: directory).adapter
        var b = a
        b.modules = b.modules.filter { $0.key.hasSuffix("q_proj") }.mapValues { .init(a: $0.a, b: $0.b * -1.5) }
        var d = a
        d.configuration.useDoRA = true
        let weights = Dictionary(uniqueKeysWithValues: try base().namedParameters().map { ($0.path, $0.parameter.value) })
        for path in d.modulePaths {
            let norms = DoRA.rowNorms(of: d.loRAWeights(forModule: path, base: weights[path + ".weight"]!))
            d.modules[path]!.magnitude = Matrix(rows: 1, columns: norms.count) { _, j in
                norms[j] * (1 + Float(j % 3) / 10)
            }
        }
        return [("a", a), ("b", b), ("d", d)]
    }

    /// The base with all three adapters loaded, "a" active.
    func served() throws -> LlamaForCausalLM<Float> {
        let model = try base()
        for (name, adapter) in try adapters() { try adapter.load(into: model, name: name, file: name) }
        return model
    }

    /// The base with one adapter applied alone.
    func single(_ name: String) throws -> LlamaForCausalLM<Float> {
        let model = try base()
        try adapters().first { $0.name == name }!.adapter.apply(to: model, file: name)
        model.setTraining(false)
        return model
    }

    @Test("with adapter X active, logits and perplexity equal the model with only X applied; disabled equals the base")
    func active() throws {
        let model = try served()
        let ids = reference.len16
        #expect(model.loadedAdapterNames == ["a", "b", "d"] && model.activeAdapterName == "a")
        #expect(model.multiLoRALayers().count == 4)
        for name in ["a", "b", "d"] {
            try model.setActiveAdapter(name)
            let alone = try single(name)
            #expect(maxDifference(model.logits(tokens: ids, sequenceLength: 16), alone.logits(tokens: ids, sequenceLength: 16)) < 1e-5, "\(name)")
            let served = try model.perplexity(tokens: ids, context: 8).perplexity
            let expected = try alone.perplexity(tokens: ids, context: 8).perplexity
            #expect(abs(served - expected) < 1e-5 * expected, "\(name)")
        }
        try model.setAdaptersEnabled(false)
        #expect(model.logits(tokens: ids, sequenceLength: 16) == (try base()).logits(tokens: ids, sequenceLength: 16))
        try model.setAdaptersEnabled(true)
        #expect(model.logits(tokens: ids, sequenceLength: 16) != (try base()).logits(tokens: ids, sequenceLength: 16))
    }

    @Test("deleting an adapter keeps the others; deleting the active one activates the first remaining name")
    func delete() throws {
        let model = try served()
        let ids = reference.len16
        try model.setActiveAdapter("d")
        let before = model.logits(tokens: ids, sequenceLength: 16)
        try model.deleteAdapter("b")
        #expect(model.loadedAdapterNames == ["a", "d"] && model.activeAdapterName == "d")
        #expect(model.logits(tokens: ids, sequenceLength: 16) == before)
        try model.deleteAdapter("d")
        #expect(model.activeAdapterName == "a")
        #expect(maxDifference(model.logits(tokens: ids, sequenceLength: 16), try single("a").logits(tokens: ids, sequenceLength: 16)) < 1e-5)
        try model.deleteAdapter("a")
        #expect(model.loadedAdapterNames.isEmpty && model.activeAdapterName == nil)
        #expect(model.logits(tokens: ids, sequenceLength: 16) == (try base()).logits(tokens: ids, sequenceLength: 16))
    }

    @Test("a mixed batch of sequences gives each the logits of its adapter alone (LoRA, DoRA, base)")
    func mixedBatch() throws {
        let model = try served()
        let sequences = [reference.len16, Array(reference.len16.reversed()), reference.len16.map { ($0 * 7 + 3) % 64 }, reference.len16]
        let names = ["d", "__base__", "b", "a"]
        try model.setRowAdapters(AdapterRowAssignment(sequenceAdapters: names, sequenceLength: 16))
        let logits = model.logits(tokens: sequences.flatMap { $0 }, sequenceLength: 16)
        for (index, (ids, name)) in zip(sequences, names).enumerated() {
            let alone = name == "__base__" ? try base() : try single(name)
            let rows = (index * 16)..<((index + 1) * 16)
            #expect(maxDifference(logits[rows: rows], alone.logits(tokens: ids, sequenceLength: 16)) < 1e-5, "sequence \(index) (\(name))")
        }
        try model.setRowAdapters(nil)
        #expect(maxDifference(model.logits(tokens: reference.len16, sequenceLength: 16), try single("a").logits(tokens: reference.len16, sequenceLength: 16)) < 1e-5)
    }

    @Test("merging the active adapter gives its unmerged logits; merged adapters refuse mixed batches and switches")
    func merged() throws {
        let model = try served()
        let ids = reference.len16
        try model.setActiveAdapter("d")
        let unmerged = model.logits(tokens: ids, sequenceLength: 16)
        try model.mergeActiveAdapter()
        #expect(model.mergedAdapterName == "d")
        #expect(maxDifference(model.logits(tokens: ids, sequenceLength: 16), unmerged) < 1e-5)
        let assignment = AdapterRowAssignment(sequenceAdapters: ["a"], sequenceLength: 16)
        #expect(throws: NamedAdapterError.merged(adapter: "d", operation: "running a mixed batch; PEFT refuses merged adapters there too")) {
            try model.setRowAdapters(assignment)
        }
        #expect(throws: NamedAdapterError.merged(adapter: "d", operation: "changing the active adapter")) { try model.setActiveAdapter("a") }
        #expect(throws: NamedAdapterError.merged(adapter: "d", operation: "deleting it")) { try model.deleteAdapter("d") }
        try model.unmergeAdapter()
        #expect(model.logits(tokens: ids, sequenceLength: 16) == unmerged)
        #expect(throws: NamedAdapterError.nothingMerged) { try model.unmergeAdapter() }
        try model.setRowAdapters(assignment)
        #expect(throws: NamedAdapterError.rowAdaptersSet(operation: "merging \"d\"")) { try model.mergeActiveAdapter() }
    }

    @Test("a name used twice, an unknown name, a reserved name and another model's adapter are refused, changing nothing")
    func refusals() throws {
        let model = try served()
        let (a, _) = try PEFTAdapter<Float>.read(from: directory)
        #expect(throws: PEFTAdapterError.namedAdapter(.nameInUse("a"))) { try a.load(into: model, name: "a", file: "x") }
        #expect(throws: PEFTAdapterError.namedAdapter(.invalidName("__base__"))) { try a.load(into: model, name: "__base__", file: "x") }
        #expect(throws: NamedAdapterError.unknownAdapter("z", loaded: ["a", "b", "d"])) { try model.setActiveAdapter("z") }
        #expect(throws: NamedAdapterError.unknownAdapter("z", loaded: ["a", "b", "d"])) { try model.deleteAdapter("z") }
        #expect(throws: NamedAdapterError.unknownAdapter("z", loaded: ["a", "b", "d"])) {
            try model.setRowAdapters(AdapterRowAssignment(rowAdapters: ["a", "z"]))
        }
        var other = a
        other.modules["model.layers.7.self_attn.q_proj"] = a.modules["model.layers.0.self_attn.q_proj"]
        #expect(throws: PEFTAdapterError.moduleNotInModel(file: "x", module: "model.layers.7.self_attn.q_proj", example: "model.layers.0.self_attn.q_proj")) {
            try other.load(into: model, name: "other", file: "x")
        }
        var wider = a
        let factors = a.modules["model.layers.1.self_attn.v_proj"]!
        wider.modules["model.layers.1.self_attn.v_proj"] = .init(a: Matrix(rows: 4, columns: 48, repeating: 0), b: factors.b)
        #expect(throws: PEFTAdapterError.self) { try wider.load(into: model, name: "wider", file: "x") }
        #expect(model.loadedAdapterNames == ["a", "b", "d"] && model.activeAdapterName == "a")
        #expect(NamedAdapterError.unknownAdapter("z", loaded: ["a", "b"]).description
                == "no adapter named \"z\" is loaded; loaded: \"a\", \"b\"")
    }
}
