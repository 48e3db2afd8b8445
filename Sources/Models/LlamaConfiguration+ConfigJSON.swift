import Foundation

extension LlamaConfiguration {
    /// Hugging Face's `config.json` for this configuration (`LlamaConfig`'s keys, sorted), what
    /// ``init(configJSON:)`` and transformers' `from_pretrained` read back: default RoPE, SiLU,
    /// no biases; `dtype` names the weights' storage (`"float32"`, `"float16"`, `"bfloat16"`).
    public func configJSON(dtype: String) -> Data {
        var object: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            "attention_bias": false, "mlp_bias": false, "attention_dropout": 0.0, "pretraining_tp": 1, "use_cache": true,
            "vocab_size": vocabularySize, "hidden_size": hiddenSize, "intermediate_size": intermediateSize,
            "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": keyValueHeads,
            "head_dim": headSize, "rms_norm_eps": rmsNormEpsilon, "max_position_embeddings": contextLength,
            "rope_theta": ropeBase, "rope_parameters": ["rope_theta": ropeBase, "rope_type": "default"],
            "tie_word_embeddings": tiedEmbeddings, "dtype": dtype, "torch_dtype": dtype,
        ]
        if let bosTokenID { object["bos_token_id"] = bosTokenID }
        if let eosTokenID { object["eos_token_id"] = eosTokenID }
        // Strings, numbers, bools, arrays and objects of them always serialize.
        return try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
