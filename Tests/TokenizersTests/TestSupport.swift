import Foundation
import Testing
@testable import Tokenizers

/// The committed fixture `name` (written by scripts/fixtures/make_tokenizer_fixtures.py).
func fixture(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
}

/// smollm2-vocabulary.json: SmolLM2-135M-Instruct's tokenizer metadata, as the GGUF stores it.
struct VocabularyFixture: Decodable {
    var tokens: [String]
    var merges: [String]
    var tokenTypes: [Int32]
    var preTokenizer: String
    var bosTokenID: Int?
    var eosTokenID: Int?
    var paddingTokenID: Int?
    var unknownTokenID: Int?
    var addBOSToken: Bool
    var addEOSToken: Bool
    var chatTemplate: String?

    var vocabulary: TokenizerVocabulary {
        TokenizerVocabulary(
            tokens: tokens, merges: merges, tokenTypes: tokenTypes, preTokenizer: preTokenizer,
            bosTokenID: bosTokenID, eosTokenID: eosTokenID, paddingTokenID: paddingTokenID,
            unknownTokenID: unknownTokenID, addBOSToken: addBOSToken, addEOSToken: addEOSToken,
            chatTemplate: chatTemplate)
    }
}

/// smollm2-reference.json: Hugging Face's ids, pieces, decodes and chat renderings.
struct ReferenceFixture: Decodable {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var text: String
        var smollm: [Int]
        var gpt2: [Int]
        var llamaBPE: [Int]
        /// Pre-tokenizer pieces in the byte alphabet, by pre-tokenizer name.
        var pieces: [String: [String]]
        var decoded: String

        enum CodingKeys: String, CodingKey {
            case text, smollm, gpt2, llamaBPE = "llama-bpe", pieces, decoded
        }

        func ids(_ preTokenizer: String) -> [Int] {
            switch preTokenizer {
            case "gpt2": gpt2
            case "llama-bpe": llamaBPE
            default: smollm
            }
        }

        var testDescription: String { String(reflecting: text) }
    }

    struct Decode: Decodable, Sendable {
        var ids: [Int]
        var text: String
        var skipSpecial: Bool?
    }

    struct Message: Decodable, Sendable {
        var role: String
        var content: String
    }

    struct Chat: Decodable, Sendable {
        var messages: [Message]
        var addGenerationPrompt: Bool
        var rendered: String
        var ids: [Int]

        var chatMessages: [ChatMessage] { messages.map { ChatMessage(role: $0.role, content: $0.content) } }
    }

    /// A long text on this machine, checked by token count and FNV-1a hash of its ids.
    struct LongText: Decodable, Sendable {
        var path: String
        var bytes: Int
        var tokenCount: Int
        var fnv1a64: String
    }

    var cases: [Case]
    var decodes: [Decode]
    var chats: [Chat]
    var longTexts: [LongText]
}

enum Fixtures {
    static let vocabulary: TokenizerVocabulary = {
        let data = try! Data(contentsOf: fixture("smollm2-vocabulary.json"))
        return try! JSONDecoder().decode(VocabularyFixture.self, from: data).vocabulary
    }()

    static let reference: ReferenceFixture = {
        let data = try! Data(contentsOf: fixture("smollm2-reference.json"))
        return try! JSONDecoder().decode(ReferenceFixture.self, from: data)
    }()

    /// SmolLM2's tokenizer with the pre-tokenizer `name` in place of its own.
    static func tokenizer(_ name: String) -> BPETokenizer {
        switch name {
        case "gpt2": gpt2
        case "llama-bpe": llamaBPE
        default: smollm
        }
    }

    static let smollm = try! BPETokenizer(vocabulary: vocabulary)
    static let gpt2 = try! BPETokenizer(vocabulary: with(preTokenizer: "gpt2"))
    static let llamaBPE = try! BPETokenizer(vocabulary: with(preTokenizer: "llama-bpe"))

    private static func with(preTokenizer: String) -> TokenizerVocabulary {
        var vocabulary = vocabulary
        vocabulary.preTokenizer = preTokenizer
        return vocabulary
    }
}
