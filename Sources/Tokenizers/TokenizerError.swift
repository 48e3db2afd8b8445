/// Why a `TokenizerVocabulary` or chat template cannot be used.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The vocabulary has no tokens.
    case emptyVocabulary
    /// `tokenizer.ggml.pre` names a split this module does not implement.
    case unknownPreTokenizer(String)
    /// The number of token types is neither zero nor the number of tokens.
    case tokenTypeCountMismatch(tokens: Int, tokenTypes: Int)
    /// A token type is not one of llama.cpp's values 1–6.
    case unknownTokenType(index: Int, value: Int32)
    /// A merge is not two texts separated by a space.
    case malformedMerge(index: Int, merge: String)
    /// A merge's left part, right part or result is not a token.
    case mergeNotInVocabulary(index: Int, merge: String, missing: String)
    /// A special token id (`name` is its key, such as `bos`) is outside the vocabulary.
    case tokenIDOutOfRange(name: String, id: Int, vocabularySize: Int)
    /// The chat template is not one `ChatMLTemplate` renders.
    case unsupportedChatTemplate(reason: String)

    public var description: String {
        switch self {
        case .emptyVocabulary:
            "tokenizer vocabulary has no tokens"
        case .unknownPreTokenizer(let name):
            "unknown pre-tokenizer '\(name)' (supported: \(PreTokenizer.supportedNames.joined(separator: ", ")))"
        case .tokenTypeCountMismatch(let tokens, let tokenTypes):
            "\(tokenTypes) token types for \(tokens) tokens"
        case .unknownTokenType(let index, let value):
            "token \(index) has unknown token type \(value)"
        case .malformedMerge(let index, let merge):
            "merge \(index) '\(merge)' is not two tokens separated by a space"
        case .mergeNotInVocabulary(let index, let merge, let missing):
            "merge \(index) '\(merge)': '\(missing)' is not a token"
        case .tokenIDOutOfRange(let name, let id, let vocabularySize):
            "\(name) token id \(id) is outside the vocabulary of \(vocabularySize) tokens"
        case .unsupportedChatTemplate(let reason):
            "unsupported chat template: \(reason)"
        }
    }
}
