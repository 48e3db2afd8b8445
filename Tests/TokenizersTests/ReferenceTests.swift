import Testing
@testable import Tokenizers

/// SmolLM2's real vocabulary against Hugging Face's ids (see make_tokenizer_fixtures.py).
@Suite("SmolLM2 vocabulary against Hugging Face")
struct ReferenceTests {
    static let names = ["smollm", "gpt2", "llama-bpe"]

    @Test("the fixture has the cases the reference needs")
    func fixtureCoverage() {
        #expect(Fixtures.reference.cases.count >= 40)
        #expect(Fixtures.vocabulary.tokens.count == 49_152)
        #expect(Fixtures.vocabulary.merges.count == 48_900)
        #expect(Fixtures.vocabulary.preTokenizer == "smollm")
    }

    @Test("ids equal Hugging Face's", arguments: Fixtures.reference.cases)
    func ids(_ reference: ReferenceFixture.Case) {
        for name in Self.names {
            let ids = Fixtures.tokenizer(name).encode(reference.text)
            #expect(ids == reference.ids(name), "pre-tokenizer \(name)")
        }
    }

    @Test("pre-tokenizer pieces equal Hugging Face's", arguments: Fixtures.reference.cases)
    func pieces(_ reference: ReferenceFixture.Case) throws {
        for name in Self.names {
            let pieces = try PreTokenizer(name: name).pieces(of: reference.text)
            #expect(pieces.map { ByteLevelAlphabet.spell($0.utf8) } == reference.pieces[name], "pre-tokenizer \(name)")
        }
    }

    @Test("decode(encode(s)) == s", arguments: Fixtures.reference.cases)
    func roundTrip(_ reference: ReferenceFixture.Case) {
        #expect(Fixtures.smollm.decode(reference.smollm) == reference.decoded)
        #expect(Fixtures.smollm.decode(Fixtures.smollm.encode(reference.text)) == reference.text)
    }

    @Test("decoding partial UTF-8 and skipping special tokens as Hugging Face does")
    func decodes() {
        for decode in Fixtures.reference.decodes {
            #expect(Fixtures.smollm.decode(decode.ids, skipSpecial: decode.skipSpecial ?? false) == decode.text)
        }
    }

    @Test("ChatML rendering and ids equal apply_chat_template's")
    func chats() throws {
        let template = try ChatMLTemplate(chatTemplate: Fixtures.vocabulary.chatTemplate)
        #expect(template.defaultSystemPrompt == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        for chat in Fixtures.reference.chats {
            #expect(template.render(chat.chatMessages, addGenerationPrompt: chat.addGenerationPrompt) == chat.rendered)
            #expect(try Fixtures.smollm.encodeChat(chat.chatMessages, addGenerationPrompt: chat.addGenerationPrompt) == chat.ids)
        }
    }

    @Test("special tokens of the real vocabulary")
    func specialTokens() {
        let tokenizer = Fixtures.smollm
        #expect(tokenizer.tokenString(1) == "<|im_start|>")
        #expect(tokenizer.tokenID("<|im_end|>") == 2)
        #expect(tokenizer.tokenString(tokenizer.vocabularySize) == nil)
        #expect(tokenizer.encode("<|im_start|>") == [1])
        #expect(tokenizer.encode("<|im_start|>", parseSpecial: false).count > 1)
        #expect(tokenizer.decode(tokenizer.encode("<|im_start|>", parseSpecial: false)) == "<|im_start|>")
        // SmolLM2 does not add BOS (tokenizer.ggml.add_bos_token is false).
        #expect(tokenizer.encode("Hi", addSpecial: true) == tokenizer.encode("Hi", addSpecial: false))
    }
}
