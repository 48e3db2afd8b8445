import Foundation
import LinearAlgebra
import Models
import NN
import Testing

@Suite("Key/value cache, sampling and perplexity on the tiny model")
struct InferenceTests {
    let reference = TinyReference.shared

    func model(_ blocks: Bool = false) throws -> LlamaForCausalLM<Float> {
        try LlamaForCausalLM<Float>(ggufAt: fixture("tiny_llama/tiny_llama.q4_1.gguf"), keepingQuantizedBlocks: blocks)
    }

    @Test("incremental logits (prompt, then one token at a time, in chunks) equal the batched forward's")
    func cacheEqualsBatched() throws {
        let ids = reference.len16
        for blocks in [false, true] {
            let model = try model(blocks)
            let batched = model.logits(tokens: ids, sequenceLength: ids.count)
            var caches = model.makeCaches(capacity: 4)  // grows past its capacity
            var rows = [model.projectHead(model.hiddenStates(appending: Array(ids[0..<5]), caches: &caches, chunkSize: 2))]
            for id in ids[5...] { rows.append(model.projectHead(model.hiddenStates(appending: [id], caches: &caches))) }
            let incremental = Matrix(rows: ids.count, columns: 64, elements: rows.flatMap(\.elements))
            #expect(maxDifference(incremental, batched) < 1e-4)
            #expect(caches.allSatisfy { $0.count == ids.count })
        }
    }

    @Test("sampling is reproducible by seed, and top-k/top-p keep only their tokens")
    func sampling() throws {
        let model = try model()
        let options = SamplingOptions(temperature: 0.8, topK: 10, topP: 0.9, seed: 42)
        let a = try model.generate(prompt: reference.len16, maximumNewTokens: 20, sampling: options)
        let b = try model.generate(prompt: reference.len16, maximumNewTokens: 20, sampling: options)
        #expect(a.newIDs == b.newIDs)
        var other = options
        other.seed = 43
        #expect(try model.generate(prompt: reference.len16, maximumNewTokens: 20, sampling: other).newIDs != a.newIDs)

        let logits: [Float] = [0, 3, 1, 2.5, -1, 3, 0.5, 2]
        let topK = TokenSampler.candidates(logits, options: SamplingOptions(temperature: 1, topK: 3))
        #expect(Set(topK.map(\.id)) == [1, 3, 5])
        let tied = TokenSampler.candidates(logits, options: SamplingOptions(temperature: 1, topK: 2))
        #expect(Set(tied.map(\.id)) == [1, 5])  // the two 3s
        // Probabilities ∝ e^z: 1 and 5 hold 2·e³ of Σ ≈ 2·e³ + e^2.5 + e² + …; p = 0.5 keeps them alone.
        let nucleus = TokenSampler.candidates(logits, options: SamplingOptions(temperature: 1, topP: 0.5))
        #expect(nucleus.map(\.id) == [1, 5])
        let tiny = TokenSampler.candidates(logits, options: SamplingOptions(temperature: 1, topP: 1e-9))
        #expect(tiny.map(\.id) == [1])
        var sampler = TokenSampler(SamplingOptions(temperature: 1, topK: 3, seed: 7))
        let drawn = Set((0..<200).map { _ in sampler.next(logits) })
        #expect(drawn.isSubset(of: [1, 3, 5]) && drawn.count == 3)
        var greedy = TokenSampler(.greedy)
        #expect(greedy.next(logits) == 1)
    }

    @Test("generation stops at a stop token, which it keeps, and honours the maximum")
    func stopping() throws {
        let model = try model()
        let greedy = try #require(reference.q4_1["greedy_ids"]?.ids)
        let stop = greedy[2]
        let result = try model.generate(prompt: reference.f32.greedy_prompt, maximumNewTokens: 12, stopTokens: [stop])
        #expect(result.newIDs == Array(greedy[...greedy.firstIndex(of: stop)!]))
        #expect(result.stopReason == .stopToken(stop))
        var seen: [Int] = []
        let stopped = try model.generate(prompt: reference.f32.greedy_prompt, maximumNewTokens: 12) { seen.append($0); return seen.count < 2 }
        #expect(stopped.newIDs == seen && seen.count == 2 && stopped.stopReason == .stoppedByCaller)
        #expect(throws: ModelError.self) { try model.generate(prompt: [], maximumNewTokens: 3) }
        #expect(throws: ModelError.self) { try model.generate(prompt: [1], maximumNewTokens: 3, sampling: SamplingOptions(topP: 0)) }
    }

    @Test("perplexity: non-overlapping windows, each scored but its first token; the last may be shorter")
    func windows() throws {
        let model = try model()
        let ids = reference.len16 + reference.sequences["len7"]! + reference.len16  // 39 tokens
        var progress: [Int] = []
        let result = try model.perplexity(tokens: ids, context: 16) { progress.append($0.windowsDone) }
        #expect(progress == [1, 2, 3])
        #expect(result.scored == 15 + 15 + 6)
        var expected = 0.0
        for start in stride(from: 0, to: ids.count, by: 16) {
            let window = Array(ids[start..<min(start + 16, ids.count)])
            expected += model.loss(tokens: window, targets: nextTokenTargets(window), sequenceLength: window.count, accumulatingGradients: false).totalNegativeLogLikelihood
        }
        #expect(abs(result.totalNegativeLogLikelihood - expected) < 1e-3)
        #expect(abs(result.perplexity - exp(expected / 36)) < 1e-3 * result.perplexity)
        // A last window of one token scores nothing.
        #expect(try model.perplexity(tokens: Array(ids.prefix(33)), context: 16).scored == 30)
        #expect(throws: ModelError.self) { try model.perplexity(tokens: ids, context: 0) }
        #expect(throws: ModelError.self) { try model.perplexity(tokens: ids, context: 65) }
        #expect(throws: ModelError.self) { try model.perplexity(tokens: [3], context: 16) }
    }
}
