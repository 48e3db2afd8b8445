import TensorFormats
import Tokenizers

extension TokenizerVocabulary {
    /// The vocabulary in a GGUF file's `tokenizer.*` metadata (keys in ``TokenizerVocabulary/Key``).
    ///
    /// Lives here, not in Tokenizers, so Tokenizers needs no file format: Models imports both.
    public init(gguf file: GGUFFile) throws(ModelError) {
        do {
            func optionalInteger(_ key: String) throws(GGUFError) -> Int? { file.metadata[key] == nil ? nil : try file.integer(key) }
            func optionalBool(_ key: String) throws(GGUFError) -> Bool? { file.metadata[key] == nil ? nil : try file.bool(key) }
            let model = file.metadata["tokenizer.ggml.model"] == nil ? "gpt2" : try file.string("tokenizer.ggml.model")
            guard model == "gpt2" else { throw ModelError.tokenizer(file: file.path, reason: "tokenizer.ggml.model \"\(model)\" is not byte-level BPE (gpt2)") }
            self.init(
                tokens: try file.stringArray(Key.tokens),
                merges: file.metadata[Key.merges] == nil ? [] : try file.stringArray(Key.merges),
                tokenTypes: file.metadata[Key.tokenTypes] == nil ? [] : try file.integerArray(Key.tokenTypes).map { Int32(truncatingIfNeeded: $0) },
                preTokenizer: file.metadata[Key.preTokenizer] == nil ? "gpt2" : try file.string(Key.preTokenizer),
                bosTokenID: try optionalInteger(Key.bosTokenID), eosTokenID: try optionalInteger(Key.eosTokenID),
                paddingTokenID: try optionalInteger(Key.paddingTokenID), unknownTokenID: try optionalInteger(Key.unknownTokenID),
                addBOSToken: try optionalBool(Key.addBOSToken) ?? false, addEOSToken: try optionalBool(Key.addEOSToken) ?? false,
                chatTemplate: file.metadata[Key.chatTemplate] == nil ? nil : try file.string(Key.chatTemplate))
        } catch let error as GGUFError {
            throw .gguf(error)
        } catch let error as ModelError {
            throw error
        } catch {
            preconditionFailure("TokenizerVocabulary(gguf:): \(error)")
        }
    }
}
