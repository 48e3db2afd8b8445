/// The tokenizer a GGUF file describes, as the typed values of its `tokenizer.*` metadata.
///
/// This is the one input `BPETokenizer` needs. A GGUF reader fills it from the keys named in
/// `Key`; tests and other sources can fill it directly.
public struct TokenizerVocabulary: Sendable, Equatable {
    /// The GGUF metadata key of each field, for a reader that fills this struct.
    public enum Key {
        public static let tokens = "tokenizer.ggml.tokens"
        public static let merges = "tokenizer.ggml.merges"
        public static let tokenTypes = "tokenizer.ggml.token_type"
        public static let preTokenizer = "tokenizer.ggml.pre"
        public static let bosTokenID = "tokenizer.ggml.bos_token_id"
        public static let eosTokenID = "tokenizer.ggml.eos_token_id"
        public static let paddingTokenID = "tokenizer.ggml.padding_token_id"
        public static let unknownTokenID = "tokenizer.ggml.unknown_token_id"
        public static let addBOSToken = "tokenizer.ggml.add_bos_token"
        public static let addEOSToken = "tokenizer.ggml.add_eos_token"
        public static let chatTemplate = "tokenizer.chat_template"
    }

    /// Token texts; a token's id is its index. Byte-level tokens are spelled in the GPT-2 byte alphabet.
    public var tokens: [String]
    /// Merges as `"left right"`; a merge's rank is its index, lower ranks apply first.
    public var merges: [String]
    /// One `TokenType` raw value per token, or empty when the file has none (all tokens normal).
    public var tokenTypes: [Int32]
    /// The pre-tokenizer name (`tokenizer.ggml.pre`), such as `"smollm"`, `"gpt2"` or `"llama-bpe"`.
    public var preTokenizer: String
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var paddingTokenID: Int?
    public var unknownTokenID: Int?
    /// Whether `encode(_:addSpecial: true)` starts with the BOS token.
    public var addBOSToken: Bool
    /// Whether `encode(_:addSpecial: true)` ends with the EOS token.
    public var addEOSToken: Bool
    /// The Jinja chat template (`tokenizer.chat_template`), if the file has one.
    public var chatTemplate: String?

    public init(
        tokens: [String],
        merges: [String],
        tokenTypes: [Int32] = [],
        preTokenizer: String,
        bosTokenID: Int? = nil,
        eosTokenID: Int? = nil,
        paddingTokenID: Int? = nil,
        unknownTokenID: Int? = nil,
        addBOSToken: Bool = false,
        addEOSToken: Bool = false,
        chatTemplate: String? = nil
    ) {
        self.tokens = tokens
        self.merges = merges
        self.tokenTypes = tokenTypes
        self.preTokenizer = preTokenizer
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.paddingTokenID = paddingTokenID
        self.unknownTokenID = unknownTokenID
        self.addBOSToken = addBOSToken
        self.addEOSToken = addEOSToken
        self.chatTemplate = chatTemplate
    }
}

/// A token's kind, as llama.cpp stores it in `tokenizer.ggml.token_type`.
public enum TokenType: Int32, Sendable {
    case normal = 1
    case unknown = 2
    /// Markup such as `<|im_start|>`: matched whole in the text, never produced by merges.
    case control = 3
    /// An added token such as `<think>`: matched whole in the text like a control token.
    case userDefined = 4
    case unused = 5
    /// A raw byte token such as `<0x0A>` (sentencepiece vocabularies).
    case byte = 6
}
