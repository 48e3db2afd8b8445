import Foundation
import TensorFormats

/// The hyper-parameters of a LLaMA-family decoder (Hugging Face's `LlamaConfig`).
///
/// Shapes they fix, with `d = hiddenSize`, `h = heads`, `g = keyValueHeads`, `e = headSize`,
/// `f = intermediateSize`, `V = vocabularySize`: embeddings `V×d`; per layer `q_proj (h·e)×d`,
/// `k_proj`/`v_proj (g·e)×d`, `o_proj d×(h·e)`, `gate_proj`/`up_proj f×d`, `down_proj d×f`,
/// two RMSNorm gains `1×d`; the final norm `1×d`; the head tied to the embeddings or `V×d`.
public struct LlamaConfiguration: Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var keyValueHeads: Int
    /// Columns per attention head `e` (`hiddenSize / heads` unless the file says otherwise).
    public var headSize: Int
    /// RoPE's base, `θᵢ = base^(−2i/e)`.
    public var ropeBase: Double
    /// RMSNorm's `ε`.
    public var rmsNormEpsilon: Double
    /// The longest sequence (positions `0..<contextLength`) the model was trained for.
    public var contextLength: Int
    /// Whether the LM head is the embedding table (`lm_head.weight` absent).
    public var tiedEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenID: Int?

    public init(
        vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, keyValueHeads: Int,
        headSize: Int? = nil, ropeBase: Double = 10000, rmsNormEpsilon: Double = 1e-5, contextLength: Int,
        tiedEmbeddings: Bool = true, bosTokenID: Int? = nil, eosTokenID: Int? = nil
    ) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layers = layers
        self.heads = heads
        self.keyValueHeads = keyValueHeads
        self.headSize = headSize ?? (heads > 0 ? hiddenSize / heads : 0)
        self.ropeBase = ropeBase
        self.rmsNormEpsilon = rmsNormEpsilon
        self.contextLength = contextLength
        self.tiedEmbeddings = tiedEmbeddings
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    /// Checks the sizes fit together: positive, `g` divides `h`, `e` even; `file` names the source.
    func validate(file: String) throws(ModelError) {
        let positive: [(String, Int)] = [
            ("vocab_size", vocabularySize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_hidden_layers", layers), ("num_attention_heads", heads), ("num_key_value_heads", keyValueHeads),
            ("head_dim", headSize), ("max_position_embeddings", contextLength),
        ]
        for (key, value) in positive where value <= 0 {
            throw .invalidConfiguration(file: file, key: key, reason: "\(value) is not positive")
        }
        guard heads % keyValueHeads == 0 else {
            throw .invalidConfiguration(file: file, key: "num_key_value_heads", reason: "\(keyValueHeads) does not divide \(heads) heads")
        }
        guard headSize.isMultiple(of: 2) else {
            throw .invalidConfiguration(file: file, key: "head_dim", reason: "\(headSize) is odd; RoPE turns pairs")
        }
    }
}

extension LlamaConfiguration {
    /// The configuration in a GGUF file's `llama.*` metadata (llama.cpp's names): `block_count`,
    /// `embedding_length`, `feed_forward_length`, `attention.head_count(_kv)`,
    /// `attention.key_length` (else `d/h`), `rope.freq_base` (else 10000),
    /// `attention.layer_norm_rms_epsilon`, `context_length`, `vocab_size` (else the rows of
    /// `token_embd.weight`); the head is tied when there is no `output.weight`.
    public init(gguf file: GGUFFile) throws(ModelError) {
        do {
            let architecture = try file.string("general.architecture")
            guard architecture == "llama" else { throw ModelError.unsupportedArchitecture(file: file.path, architecture: architecture) }
            let key = { (name: String) in "llama." + name }
            let optionalInteger = { (name: String) throws(GGUFError) -> Int? in
                file.metadata[name] == nil ? nil : try file.integer(name)
            }
            let embeddingRows = file.contains("token_embd.weight") ? try file.shape("token_embd.weight").first : nil
            guard let vocabulary = try optionalInteger(key("vocab_size")) ?? embeddingRows else {
                throw ModelError.missingTensor(file: file.path, tensor: "token_embd.weight")
            }
            let hidden = try file.integer(key("embedding_length"))
            let heads = try file.integer(key("attention.head_count"))
            self.init(
                vocabularySize: vocabulary, hiddenSize: hidden,
                intermediateSize: try file.integer(key("feed_forward_length")),
                layers: try file.integer(key("block_count")), heads: heads,
                keyValueHeads: try optionalInteger(key("attention.head_count_kv")) ?? heads,
                headSize: try optionalInteger(key("attention.key_length")),
                ropeBase: file.metadata[key("rope.freq_base")] == nil ? 10000 : try file.float(key("rope.freq_base")),
                rmsNormEpsilon: try file.float(key("attention.layer_norm_rms_epsilon")),
                contextLength: try file.integer(key("context_length")),
                tiedEmbeddings: !file.contains("output.weight"),
                bosTokenID: try optionalInteger("tokenizer.ggml.bos_token_id"),
                eosTokenID: try optionalInteger("tokenizer.ggml.eos_token_id"))
        } catch let error as GGUFError {
            throw .gguf(error)
        } catch let error as ModelError {
            throw error
        } catch {
            preconditionFailure("LlamaConfiguration(gguf:): \(error)")
        }
        try validate(file: file.path)
    }

    /// The configuration in a Hugging Face `config.json` (`LlamaConfig`'s keys; `rope_theta`
    /// at the top or in `rope_parameters`).
    public init(configJSON url: URL) throws(ModelError) {
        let file = url.path
        let object: [String: Any]
        do {
            let data = try Data(contentsOf: url)
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelError.invalidConfiguration(file: file, key: "", reason: "not a JSON object")
            }
            object = parsed
        } catch let error as ModelError {
            throw error
        } catch {
            throw .invalidConfiguration(file: file, key: "", reason: error.localizedDescription)
        }
        let modelType = object["model_type"] as? String ?? ""
        guard modelType == "llama" else { throw .unsupportedArchitecture(file: file, architecture: modelType) }
        func integer(_ key: String, default value: Int? = nil) throws(ModelError) -> Int {
            if let number = object[key] as? NSNumber, let integer = Int(exactly: number.doubleValue) { return integer }
            if object[key] == nil || object[key] is NSNull, let value { return value }
            throw .invalidConfiguration(file: file, key: key, reason: object[key] == nil ? "missing" : "not an integer")
        }
        func optionalInteger(_ key: String) -> Int? { (object[key] as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
        let ropeParameters = object["rope_parameters"] as? [String: Any]
        let ropeTheta = (object["rope_theta"] as? NSNumber ?? ropeParameters?["rope_theta"] as? NSNumber)?.doubleValue ?? 10000
        if let type = ropeParameters?["rope_type"] as? String, type != "default" {
            throw .invalidConfiguration(file: file, key: "rope_parameters.rope_type", reason: "\"\(type)\" scaling is not supported")
        }
        let heads = try integer("num_attention_heads")
        self.init(
            vocabularySize: try integer("vocab_size"), hiddenSize: try integer("hidden_size"),
            intermediateSize: try integer("intermediate_size"), layers: try integer("num_hidden_layers"), heads: heads,
            keyValueHeads: try integer("num_key_value_heads", default: heads), headSize: optionalInteger("head_dim"),
            ropeBase: ropeTheta, rmsNormEpsilon: (object["rms_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-6,
            contextLength: try integer("max_position_embeddings", default: 2048),
            tiedEmbeddings: (object["tie_word_embeddings"] as? Bool) ?? false,
            bosTokenID: optionalInteger("bos_token_id"), eosTokenID: optionalInteger("eos_token_id"))
        try validate(file: file)
    }
}
