import Testing
@testable import Tokenizers

/// A small hand-made vocabulary: the 256 byte tokens, then `extra` tokens; merges as given.
private func vocabulary(
    extra: [(String, TokenType)] = [],
    merges: [String] = [],
    preTokenizer: String = "gpt2"
) -> TokenizerVocabulary {
    var tokens = (0...255).map { ByteLevelAlphabet.spell([UInt8($0)]) }
    var types = [Int32](repeating: TokenType.normal.rawValue, count: 256)
    for (token, type) in extra {
        tokens.append(token)
        types.append(type.rawValue)
    }
    return TokenizerVocabulary(tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: preTokenizer)
}

/// The id of byte-alphabet token `text` in a vocabulary from `vocabulary(extra:)`.
private func id(_ text: String, in tokenizer: BPETokenizer) -> Int { tokenizer.tokenID(text)! }

@Suite("Byte-level BPE on a synthetic vocabulary")
struct SyntheticVocabularyTests {
    @Test("merges apply by rank, not by position")
    func mergeRank() throws {
        let extra: [(String, TokenType)] = [("ab", .normal), ("bc", .normal)]
        let bcFirst = try BPETokenizer(vocabulary: vocabulary(extra: extra, merges: ["b c", "a b"]))
        #expect(bcFirst.encode("abc") == [id("a", in: bcFirst), id("bc", in: bcFirst)])
        let abFirst = try BPETokenizer(vocabulary: vocabulary(extra: extra, merges: ["a b", "b c"]))
        #expect(abFirst.encode("abc") == [id("ab", in: abFirst), id("c", in: abFirst)])
    }

    @Test("equal pairs merge leftmost first, and long pieces merge fully")
    func leftmostAndLong() throws {
        let tokenizer = try BPETokenizer(vocabulary: vocabulary(extra: [("aa", .normal), ("aaaa", .normal)],
                                                                merges: ["a a", "aa aa"]))
        let (a, aa, aaaa) = (id("a", in: tokenizer), id("aa", in: tokenizer), id("aaaa", in: tokenizer))
        #expect(tokenizer.encode("aaa") == [aa, a])
        #expect(tokenizer.encode("aaaaaaa") == [aaaa, aa, a])
        let long = tokenizer.encode(String(repeating: "a", count: 10_003))
        #expect(long == [Int](repeating: aaaa, count: 2_500) + [aa, a])
    }

    @Test("special tokens match leftmost, then longest, and are never split")
    func specialTokens() throws {
        let tokenizer = try BPETokenizer(vocabulary: vocabulary(extra: [
            ("<|im", .control), ("<|im_start|>", .control), ("ab", .userDefined), ("bcd", .userDefined),
        ]))
        let (im, imStart, ab, bcd) = (256, 257, 258, 259)
        let (x, c, d) = (id("x", in: tokenizer), id("c", in: tokenizer), id("d", in: tokenizer))
        #expect(tokenizer.encode("<|im_start|>x<|imx") == [imStart, x, im, x])
        // "ab" starts first, so it wins over the longer "bcd".
        #expect(tokenizer.encode("abcd") == [ab, c, d])
        #expect(tokenizer.encode("xbcd") == [x, bcd])
        // Without parseSpecial, control tokens are text; user-defined ones still match.
        let plain = tokenizer.encode("<|im_start|>ab", parseSpecial: false)
        #expect(!plain.contains(imStart) && !plain.contains(im) && plain.last == ab)
        #expect(tokenizer.decode(plain) == "<|im_start|>ab")
        #expect(tokenizer.decode([imStart, x], skipSpecial: true) == "x")
    }

    @Test("BOS and EOS are added only when the vocabulary asks and addSpecial is true")
    func addSpecial() throws {
        var vocabulary = vocabulary(extra: [("<s>", .control), ("</s>", .control)])
        vocabulary.bosTokenID = 256
        vocabulary.eosTokenID = 257
        let x = 0x78  // "x" is its own byte token
        #expect(try BPETokenizer(vocabulary: vocabulary).encode("x") == [x])
        vocabulary.addBOSToken = true
        vocabulary.addEOSToken = true
        let tokenizer = try BPETokenizer(vocabulary: vocabulary)
        #expect(tokenizer.encode("x") == [256, x, 257])
        #expect(tokenizer.encode("x", addSpecial: false) == [x])
        #expect(tokenizer.encode("") == [256, 257])
    }

    @Test("decode replaces invalid UTF-8 and skips ids outside the vocabulary")
    func decodeInvalid() throws {
        let tokenizer = try BPETokenizer(vocabulary: vocabulary())
        let emoji = tokenizer.encode("😀")
        #expect(emoji.count == 4)
        #expect(tokenizer.decode(Array(emoji.prefix(2))) == "\u{FFFD}")
        #expect(tokenizer.decode([0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
        #expect(tokenizer.decode([0x61, -1, 1_000_000, 0x62]) == "ab")
        #expect(tokenizer.tokenString(0x20) == "Ġ")
        #expect(tokenizer.tokenString(-1) == nil)
    }

    @Test("a byte without a token becomes the unknown token, once per run")
    func missingBytes() throws {
        var vocabulary = vocabulary(extra: [("<unk>", .unknown)])
        let e9 = ByteLevelAlphabet.spell([0xC3])
        vocabulary.tokens[0xC3] = "<unused-c3>"
        vocabulary.tokenTypes[0xC3] = TokenType.unused.rawValue
        vocabulary.unknownTokenID = 256
        let tokenizer = try BPETokenizer(vocabulary: vocabulary)
        #expect(tokenizer.tokenID(e9) == nil)
        // "é" is C3 A9: C3 has no token.
        #expect(tokenizer.encode("é") == [256, 0xA9])
    }

    @Test("token types, special ids and an empty vocabulary are checked")
    func badVocabularies() {
        var mismatched = vocabulary()
        mismatched.tokenTypes.removeLast()
        #expect(throws: TokenizerError.tokenTypeCountMismatch(tokens: 256, tokenTypes: 255)) {
            try BPETokenizer(vocabulary: mismatched)
        }
        var unknownType = vocabulary()
        unknownType.tokenTypes[7] = 9
        #expect(throws: TokenizerError.unknownTokenType(index: 7, value: 9)) { try BPETokenizer(vocabulary: unknownType) }
        var badID = vocabulary()
        badID.eosTokenID = 256
        #expect(throws: TokenizerError.tokenIDOutOfRange(name: "eos", id: 256, vocabularySize: 256)) {
            try BPETokenizer(vocabulary: badID)
        }
        #expect(throws: TokenizerError.emptyVocabulary) {
            try BPETokenizer(vocabulary: TokenizerVocabulary(tokens: [], merges: [], preTokenizer: "gpt2"))
        }
    }

    @Test("an unknown pre-tokenizer is an error naming it")
    func unknownPreTokenizer() {
        let error = #expect(throws: TokenizerError.self) {
            try BPETokenizer(vocabulary: vocabulary(preTokenizer: "qwen9"))
        }
        #expect(error == .unknownPreTokenizer("qwen9"))
        #expect(error?.description.contains("'qwen9'") == true)
    }

    @Test("a merge that is malformed or names a missing token is an error naming its index")
    func badMerges() {
        let extra: [(String, TokenType)] = [("ab", .normal)]
        let missingPart = #expect(throws: TokenizerError.self) {
            try BPETokenizer(vocabulary: vocabulary(extra: extra, merges: ["a b", "ab zz"]))
        }
        #expect(missingPart == .mergeNotInVocabulary(index: 1, merge: "ab zz", missing: "zz"))
        #expect(missingPart?.description.hasPrefix("merge 1 ") == true)
        #expect(throws: TokenizerError.mergeNotInVocabulary(index: 0, merge: "b c", missing: "bc")) {
            try BPETokenizer(vocabulary: vocabulary(extra: extra, merges: ["b c"]))
        }
        for malformed in ["ab", "a ", "", " "] {
            #expect(throws: TokenizerError.malformedMerge(index: 1, merge: malformed)) {
                try BPETokenizer(vocabulary: vocabulary(extra: extra, merges: ["a b", malformed]))
            }
        }
    }
}

@Suite("Pre-tokenizer splits")
struct PreTokenizerTests {
    @Test("the names llama.cpp writes select the splits", arguments: [
        ("gpt2", PreTokenizer.gpt2), ("llama-bpe", .llama3), ("llama3", .llama3), ("smollm", .digitsThenGPT2),
    ])
    func names(_ name: String, _ expected: PreTokenizer) throws {
        #expect(try PreTokenizer(name: name) == expected)
    }

    @Test("GPT-2: whitespace before a word keeps one space for the word")
    func gpt2() {
        #expect(PreTokenizer.gpt2.pieces(of: "a  b\t c\n") == ["a", " ", " b", "\t", " c", "\n"])
        #expect(PreTokenizer.gpt2.pieces(of: "I'm 'S ?!x") == ["I", "'m", " '", "S", " ?!", "x"])
        #expect(PreTokenizer.gpt2.pieces(of: " 12ab") == [" 12", "ab"])
    }

    @Test("SmolLM: each digit alone, then GPT-2 between them")
    func smollm() {
        #expect(PreTokenizer.digitsThenGPT2.pieces(of: "a  12") == ["a", "  ", "1", "2"])
        #expect(PreTokenizer.digitsThenGPT2.pieces(of: "x²y") == ["x", "²", "y"])
    }

    @Test("Llama 3: led letters, digit triples, line breaks")
    func llama3() {
        #expect(PreTokenizer.llama3.pieces(of: "\tword(x 12345") == ["\tword", "(x", " ", "123", "45"])
        #expect(PreTokenizer.llama3.pieces(of: "I'M  \n\n b!\n") == ["I", "'M", "  \n\n", " b", "!\n"])
    }
}
