import Foundation
import LinearAlgebra
import Quantization
import TensorFormats
import Tokenizers

/// A loaded model with its tokenizer: what `lora generate`, `perplexity` and `tokenize` run on.
///
/// From a GGUF file the tokenizer comes from its `tokenizer.*` metadata and the projections keep
/// their quantized blocks for decoding (``QuantizedLinear``); a Hugging Face directory gives the
/// model alone (no tokenizer).
public final class LanguageModel {
    public let url: URL
    public let model: LlamaForCausalLM<Float>
    public let tokenizer: BPETokenizer?

    /// Loads the GGUF file or Hugging Face directory at `url`, its projections in `projections`
    /// (built as each is read from a GGUF file; quantized after loading from a directory, which
    /// has no blocks to keep).
    public init(url: URL, keepingQuantizedBlocks: Bool = true, projections: ProjectionStorage = .float) throws(ModelError) {
        self.url = url
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw .invalidInput("\(url.path): no such file or directory")
        }
        if isDirectory.boolValue {
            model = try LlamaForCausalLM(huggingFaceDirectory: url)
            tokenizer = nil
            switch projections {
            case .float: break
            case let .nf4(doubleQuantization):
                do { try model.quantizeLinearLayersToNF4(doubleQuantization: doubleQuantization) } catch {
                    throw .quantization(file: url.path, tensor: "a projection", reason: error.description)
                }
            case let .fileBlocks(type):
                throw .invalidInput("\(url.path): a Hugging Face directory has no \(type) blocks to keep (a GGUF file has)")
            }
            return
        }
        let file: GGUFFile
        do { file = try GGUFFile(contentsOf: url) } catch { throw .gguf(error) }
        model = try LlamaForCausalLM(gguf: file, keepingQuantizedBlocks: keepingQuantizedBlocks, projections: projections)
        tokenizer = file.metadata[TokenizerVocabulary.Key.tokens] == nil ? nil : try Self.tokenizer(in: file)
    }

    /// The tokenizer of a GGUF file alone (no weights are read).
    public static func tokenizer(in file: GGUFFile) throws(ModelError) -> BPETokenizer {
        let vocabulary = try TokenizerVocabulary(gguf: file)
        do { return try BPETokenizer(vocabulary: vocabulary) } catch { throw .tokenizer(file: file.path, reason: error.description) }
    }

    /// The tokenizer, or a typed error naming the file when it has none.
    public func requireTokenizer() throws(ModelError) -> BPETokenizer {
        guard let tokenizer else { throw .tokenizer(file: url.path, reason: "the model file has no tokenizer metadata") }
        return tokenizer
    }

    /// The ids generation stops at: EOS and, where the vocabulary has it, ChatML's `<|im_end|>`.
    public var stopTokens: Set<Int> {
        var stops = Set([model.configuration.eosTokenID].compactMap { $0 })
        if let end = tokenizer?.tokenID("<|im_end|>") { stops.insert(end) }
        return stops
    }
}
