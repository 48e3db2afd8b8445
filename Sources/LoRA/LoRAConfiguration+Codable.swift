import Foundation

/// PEFT's `adapter_config.json` encoding of ``LoRAConfiguration``.
extension LoRAConfiguration: Codable {
    /// A JSON key by name: the PEFT keys LoRAKit reads, and any other.
    private struct Key: CodingKey, Hashable {
        let stringValue: String
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }

        static let peftType = Key("peft_type")
        static let rank = Key("r")
        static let alpha = Key("lora_alpha")
        static let dropout = Key("lora_dropout")
        static let targetModules = Key("target_modules")
        static let useRSLoRA = Key("use_rslora")
        static let bias = Key("bias")
        static let initialization = Key("init_lora_weights")
        static let rankPattern = Key("rank_pattern")
        static let alphaPattern = Key("alpha_pattern")
        static let fanInFanOut = Key("fan_in_fan_out")
        static let baseModel = Key("base_model_name_or_path")
        static let taskType = Key("task_type")
        static let inferenceMode = Key("inference_mode")
        static let interpreted: Set<Key> = [
            peftType, rank, alpha, dropout, targetModules, useRSLoRA, bias, initialization,
            rankPattern, alphaPattern, fanInFanOut, baseModel, taskType, inferenceMode,
        ]
    }

    /// PEFT keys that change what an adapter computes but that LoRAKit does not apply:
    /// reading a file that sets one gives a warning.
    static let unappliedKeys = [
        "layers_to_transform", "layers_pattern", "exclude_modules", "modules_to_save",
        "lora_bias", "layer_replication", "trainable_token_indices",
    ]

    /// Other keys PEFT's `LoraConfig` writes (kept unchanged, no warning). A key in neither list
    /// is probably misspelled: reading it gives a warning (it is still kept).
    static let knownPEFTKeys: Set<String> = [
        "auto_mapping", "revision", "megatron_config", "megatron_core", "loftq_config", "eva_config",
        "corda_config", "use_qalora", "qalora_group_size", "runtime_config", "target_parameters",
        "peft_version", "ensure_weight_tying", "alora_invocation_tokens", "arrow_config", "use_dora",
        "kasa_config", "lora_ga_config", "monteclora_config", "use_bdlora", "velora_config",
    ]

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        if let type = try c.decodeIfPresent(String.self, forKey: .peftType), type != "LORA" {
            throw LoRAConfigurationError.invalidValue(key: "peft_type", value: "\"\(type)\"", expected: "\"LORA\"")
        }
        let targets: TargetModules
        if let list = try? c.decode([String].self, forKey: .targetModules) {
            targets = .names(list)
        } else if let pattern = try c.decodeIfPresent(String.self, forKey: .targetModules) {
            targets = pattern == "all-linear" ? .allLinear : .regex(pattern)
        } else {
            throw LoRAConfigurationError.invalidValue(key: "target_modules", value: "missing", expected: "a list of names or a regular expression")
        }
        let initialization: LoRAInitialization
        if let flag = try? c.decode(Bool.self, forKey: .initialization) {
            initialization = flag ? .kaimingUniform : .random
        } else {
            switch try c.decodeIfPresent(String.self, forKey: .initialization) {
            case nil: initialization = .kaimingUniform
            case "gaussian": initialization = .gaussian
            case "pissa": initialization = .pissa
            case "olora": initialization = .olora
            case let name?: initialization = .other(name)
            }
        }
        var others = [String: JSONValue]()
        for key in c.allKeys where !Key.interpreted.contains(key) {
            others[key.stringValue] = try c.decode(JSONValue.self, forKey: key)
        }
        self.init(
            rank: try c.decodeIfPresent(Int.self, forKey: .rank) ?? 8,
            alpha: try c.decodeIfPresent(Double.self, forKey: .alpha) ?? 8,
            dropout: try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0,
            targetModules: targets,
            useRSLoRA: try c.decodeIfPresent(Bool.self, forKey: .useRSLoRA) ?? false,
            bias: try c.decodeIfPresent(LoRABias.self, forKey: .bias) ?? .none,
            initialization: initialization,
            rankPattern: try c.decodeIfPresent([String: Int].self, forKey: .rankPattern) ?? [:],
            alphaPattern: try c.decodeIfPresent([String: Double].self, forKey: .alphaPattern) ?? [:],
            fanInFanOut: try c.decodeIfPresent(Bool.self, forKey: .fanInFanOut) ?? false,
            baseModelNameOrPath: try c.decodeIfPresent(String.self, forKey: .baseModel),
            taskType: try c.decodeIfPresent(String.self, forKey: .taskType),
            inferenceMode: try c.decodeIfPresent(Bool.self, forKey: .inferenceMode) ?? false,
            otherKeys: others)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (key, value) in otherKeys { try c.encode(value, forKey: Key(key)) }
        try c.encode("LORA", forKey: .peftType)
        try c.encode(rank, forKey: .rank)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(dropout, forKey: .dropout)
        switch targetModules {
        case let .names(names): try c.encode(names, forKey: .targetModules)
        case let .regex(pattern): try c.encode(pattern, forKey: .targetModules)
        case .allLinear: try c.encode("all-linear", forKey: .targetModules)
        }
        try c.encode(useRSLoRA, forKey: .useRSLoRA)
        try c.encode(bias, forKey: .bias)
        switch initialization {
        case .kaimingUniform: try c.encode(true, forKey: .initialization)
        case .random: try c.encode(false, forKey: .initialization)
        case .gaussian: try c.encode("gaussian", forKey: .initialization)
        case .pissa: try c.encode("pissa", forKey: .initialization)
        case .olora: try c.encode("olora", forKey: .initialization)
        case let .other(name): try c.encode(name, forKey: .initialization)
        }
        try c.encode(rankPattern, forKey: .rankPattern)
        try c.encode(alphaPattern, forKey: .alphaPattern)
        try c.encode(fanInFanOut, forKey: .fanInFanOut)
        try c.encode(baseModelNameOrPath, forKey: .baseModel)
        try c.encode(taskType, forKey: .taskType)
        try c.encode(inferenceMode, forKey: .inferenceMode)
    }

    /// Reads and validates an `adapter_config.json`. The warnings name keys that change what the
    /// adapter computes but that LoRAKit does not apply (e.g. `layers_to_transform`).
    public static func read(from url: URL) throws(LoRAConfigurationError) -> (configuration: LoRAConfiguration, warnings: [String]) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .fileError(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let configuration: LoRAConfiguration
        do {
            configuration = try JSONDecoder().decode(LoRAConfiguration.self, from: data)
        } catch let error as LoRAConfigurationError {
            throw .malformedFile(path: url.path, reason: error.description)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw .malformedFile(path: url.path, reason: "\"\(key)\": \(context.debugDescription)")
        } catch DecodingError.dataCorrupted(let context) {
            throw .malformedFile(path: url.path, reason: "invalid JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)")
        } catch {
            throw .malformedFile(path: url.path, reason: "\(error)")
        }
        do {
            try configuration.validate()
        } catch {
            throw .malformedFile(path: url.path, reason: error.description)
        }
        let warnings = unappliedKeys.compactMap { key in
            configuration.otherKeys[key].flatMap { $0.isUnset ? nil : "\(url.path): \"\(key)\" is set, but LoRAKit does not apply it" }
        }
        let unknown = configuration.otherKeys.keys.sorted().filter {
            !knownPEFTKeys.contains($0) && !unappliedKeys.contains($0)
        }.map { "\(url.path): unknown key \"\($0)\" (misspelled?) is kept but not used" }
        return (configuration, warnings + unknown)
    }

    /// Writes the configuration as PEFT's `adapter_config.json` (sorted keys, pretty-printed),
    /// atomically: a failure leaves no partial file.
    public func write(to url: URL) throws(LoRAConfigurationError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try encoder.encode(self).write(to: url, options: .atomic)
        } catch {
            throw .fileError(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
