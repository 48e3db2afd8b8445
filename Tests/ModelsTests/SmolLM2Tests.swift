import Foundation
import LinearAlgebra
import Models
import TensorFormats
import Testing
import Tokenizers

/// SmolLM2-135M-Instruct.Q4_1.gguf in the cache, loaded once for the suite, or `nil` when it is
/// not cached. Dense projections only: tests build without optimisation, where the C block
/// kernels (-O0) would make each decode step several times slower; the block path is checked
/// against the dense one on the tiny GGUF. Only the serialized suite below touches it, one test
/// at a time.
nonisolated(unsafe) private let smolLM2: LanguageModel? = ModelLocation.cachedFile("smollm2").map { try! LanguageModel(url: $0, keepingQuantizedBlocks: false) }

/// The real model against transformers on the same GGUF (Fixtures/smollm2/reference.json).
@Suite(
    "SmolLM2-135M-Instruct against transformers",
    .serialized,
    .enabled(if: ModelLocation.cachedFile("smollm2") != nil,
             "SmolLM2-135M-Instruct.Q4_1.gguf is not cached; run scripts/fetch-model smollm2"))
struct SmolLM2Tests {
    let reference = SmolLM2Reference.shared
    var language: LanguageModel { smolLM2! }

    @Test("the GGUF's configuration is SmolLM2-135M's")
    func configuration() {
        let c = language.model.configuration
        #expect(c == LlamaConfiguration(
            vocabularySize: 49152, hiddenSize: 576, intermediateSize: 1536, layers: 30, heads: 9, keyValueHeads: 3,
            headSize: 64, ropeBase: 100000, rmsNormEpsilon: Double(Float(1e-5)), contextLength: 8192, tiedEmbeddings: true,
            bosTokenID: 1, eosTokenID: 2))
        #expect(language.model.parameterCount == 134_515_008)
        #expect(language.stopTokens == [2])
    }

    @Test("perplexity on the Othello ids equals transformers' to 1e-4 relative", arguments: [256, 64])
    func perplexity(context: Int) throws {
        let expected = context == 256 ? reference.ppl_c256 : reference.ppl_c64
        let result = try language.model.perplexity(tokens: reference.text_ids, context: context)
        #expect(result.scored == expected.scored_tokens)
        #expect(abs(result.perplexity / expected.ppl - 1) < 1e-4, "\(result.perplexity) vs \(expected.ppl)")
    }

    @Test("our tokenizer gives transformers' ids on the excerpt (it has no digits, where the two split differently)")
    func tokenizer() throws {
        let text = try String(contentsOf: fixture("smollm2/othello_excerpt.txt"), encoding: .utf8)
        #expect(!text.contains { $0.isNumber })
        let tokenizer = try language.requireTokenizer()
        #expect(tokenizer.encode(text, addSpecial: true) == reference.text_ids)
        #expect(tokenizer.encode(reference.plain_prompt.text) == reference.plain_prompt.ids)
        let chat = try tokenizer.encodeChat([ChatMessage(role: "user", content: "What is the capital of France?")])
        #expect(chat == reference.chat_prompt.ids)
        #expect(tokenizer.decode(chat) == reference.chat_prompt.text)
    }

    @Test("greedy 24 ids equal transformers' for the plain and the chat prompt")
    func greedy() throws {
        for prompt in [reference.plain_prompt, reference.chat_prompt] {
            let result = try language.model.generate(prompt: prompt.ids, maximumNewTokens: 24)
            #expect(result.newIDs == prompt.greedy_ids)
        }
    }

    @Test("logits at positions 0 and 255 of the first window are within 1e-3 of transformers'")
    func logits() throws {
        let window = Array(reference.text_ids.prefix(256))
        var caches = language.model.makeCaches(capacity: 256)
        let hidden = language.model.hiddenStates(appending: window, caches: &caches)
        for position in [0, 255] {
            let expected = try NPY.read(fixture("smollm2/logits_window0_pos\(position).npy"), as: Float.self).elements
            let logits = language.model.projectHead(hidden[rows: position..<(position + 1)])
            #expect(maxDifference(logits, Matrix(rows: 1, columns: expected.count, elements: expected)) < 1e-3)
        }
    }
}
