/// Which modules an adapter wraps, as PEFT's `target_modules`.
public enum TargetModules: Sendable, Equatable {
    /// A module matches when its path equals a name or ends with `"." + name`.
    case names([String])
    /// A module matches when the regular expression matches its whole path.
    case regex(String)
    /// Every linear layer (PEFT's `"all-linear"`; LoRAKit does not exclude an output head).
    case allLinear
}

extension TargetModules: CustomStringConvertible {
    /// As `adapter_config.json` spells it: `["q_proj", "v_proj"]`, a regex string, or `"all-linear"`.
    public var description: String {
        switch self {
        case let .names(names): "[" + names.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        case let .regex(pattern): "\"\(pattern)\""
        case .allLinear: "\"all-linear\""
        }
    }
}

extension TargetModules {
    /// As a `--targets` flag spells it: `q_proj,v_proj`, the regex, or `all-linear`.
    public var flagText: String {
        switch self {
        case let .names(names): names.joined(separator: ",")
        case let .regex(pattern): pattern
        case .allLinear: "all-linear"
        }
    }
}

/// Which biases train, as PEFT's `bias`.
public enum LoRABias: String, CaseIterable, Sendable, Equatable, Codable {
    /// No bias trains.
    case none
    /// Only the biases of adapted layers train.
    case loraOnly = "lora_only"
    /// Every bias in the model trains.
    case all
}

/// How `A` and `B` start, as PEFT's `init_lora_weights`.
public enum LoRAInitialization: Sendable, Equatable {
    /// `true`: `A` kaiming-uniform (`a = √5`, bound `1/√k`), `B = 0`, so `ΔW = 0` at init.
    case kaimingUniform
    /// `"gaussian"`: `A ~ N(0, σ²)` with `σ = 1/r`, `B = 0`.
    case gaussian
    /// `"pissa"`: `B = U_r·Σ_r^{1/2}`, `A = Σ_r^{1/2}·V_rᵀ` from the top-`r` singular triplets of `W`,
    /// and `W` replaced by the residual `W − s·B·A` (divided by `s`), so the output is unchanged.
    case pissa
    /// `"olora"`: `B = Q_r`, `A = R_r` from the thin QR `W = QR` (first `r` columns of `Q`, rows
    /// of `R`), and `W` replaced by `W − s·B·A`, so the output is unchanged.
    case olora
    /// `false`: `A` kaiming-uniform and `B` random too (a non-zero update, for tests).
    case random
    /// Another PEFT scheme LoRAKit reads and writes back but cannot apply (e.g. `"loftq"`, `"corda"`).
    case other(String)
}

/// A LoRA configuration: the content of PEFT's `adapter_config.json` and the settings of training.
///
/// The scaling of an adapted layer is `s = α/r`, or `s = α/√r` with rsLoRA; per-module rank and
/// alpha come from ``rankPattern`` and ``alphaPattern`` by PEFT's rule (``rank(forModule:)``).
public struct LoRAConfiguration: Sendable, Equatable {
    /// The rank `r` (`"r"`).
    public var rank: Int
    /// The scaling numerator `α` (`"lora_alpha"`).
    public var alpha: Double
    /// Dropout probability on the adapter's input (`"lora_dropout"`), in `[0, 1)`.
    public var dropout: Double
    /// The modules to wrap (`"target_modules"`).
    public var targetModules: TargetModules
    /// Scale by `α/√r` instead of `α/r` (`"use_rslora"`).
    public var useRSLoRA: Bool
    /// Which biases train (`"bias"`).
    public var bias: LoRABias
    /// How `A` and `B` start (`"init_lora_weights"`).
    public var initialization: LoRAInitialization
    /// Ranks for modules that differ from ``rank`` (`"rank_pattern"`).
    public var rankPattern: [String: Int]
    /// Alphas for modules that differ from ``alpha`` (`"alpha_pattern"`).
    public var alphaPattern: [String: Double]
    /// The base stores weights as `in×out` (GPT-2's Conv1D) (`"fan_in_fan_out"`).
    public var fanInFanOut: Bool
    /// The base model's name or path (`"base_model_name_or_path"`).
    public var baseModelNameOrPath: String?
    /// PEFT's task type, e.g. `"CAUSAL_LM"` (`"task_type"`).
    public var taskType: String?
    /// Saved for inference only (`"inference_mode"`).
    public var inferenceMode: Bool
    /// Keys LoRAKit does not interpret, kept and written back unchanged.
    public var otherKeys: [String: JSONValue]

    public init(
        rank: Int = 8, alpha: Double = 8, dropout: Double = 0,
        targetModules: TargetModules, useRSLoRA: Bool = false, bias: LoRABias = .none,
        initialization: LoRAInitialization = .kaimingUniform,
        rankPattern: [String: Int] = [:], alphaPattern: [String: Double] = [:],
        fanInFanOut: Bool = false, baseModelNameOrPath: String? = nil, taskType: String? = nil,
        inferenceMode: Bool = false, otherKeys: [String: JSONValue] = [:]
    ) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targetModules = targetModules
        self.useRSLoRA = useRSLoRA
        self.bias = bias
        self.initialization = initialization
        self.rankPattern = rankPattern
        self.alphaPattern = alphaPattern
        self.fanInFanOut = fanInFanOut
        self.baseModelNameOrPath = baseModelNameOrPath
        self.taskType = taskType
        self.inferenceMode = inferenceMode
        self.otherKeys = otherKeys
    }

    /// DoRA (`"use_dora"`): a trained magnitude per output row on the direction `W + s·B·A`
    /// (``DoRA``). Kept among ``otherKeys`` so the file's own spelling of the key round-trips.
    public var useDoRA: Bool {
        get { otherKeys["use_dora"] == .bool(true) }
        set { otherKeys["use_dora"] = .bool(newValue) }
    }

    /// Throws the first invalid value: `r ≤ 0`, dropout outside `[0, 1)`, non-finite alpha, empty
    /// targets, an invalid regular expression, or a pattern rank ≤ 0.
    public func validate() throws(LoRAConfigurationError) {
        guard rank > 0 else { throw .invalidValue(key: "r", value: "\(rank)", expected: "an integer ≥ 1") }
        guard alpha.isFinite else { throw .invalidValue(key: "lora_alpha", value: "\(alpha)", expected: "a finite number") }
        guard dropout >= 0 && dropout < 1 else {
            throw .invalidValue(key: "lora_dropout", value: "\(dropout)", expected: "a probability in [0, 1)")
        }
        switch targetModules {
        case let .names(names):
            guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
                throw .invalidValue(key: "target_modules", value: "\(names)", expected: "at least one non-empty module name")
            }
        case let .regex(pattern):
            _ = try compiledRegex("(?:\(pattern))", key: "target_modules", pattern: pattern)
        case .allLinear: break
        }
        for (key, value) in rankPattern {
            guard value > 0 else { throw .invalidValue(key: "rank_pattern.\(key)", value: "\(value)", expected: "an integer ≥ 1") }
            _ = try patternRegex(key, in: "rank_pattern")
        }
        for (key, value) in alphaPattern {
            guard value.isFinite else { throw .invalidValue(key: "alpha_pattern.\(key)", value: "\(value)", expected: "a finite number") }
            _ = try patternRegex(key, in: "alpha_pattern")
        }
    }

    /// Whether the module at `modulePath` (e.g. `"blocks.0.attn.q_proj"`) is wrapped, by PEFT's
    /// rule: a list matches a path equal to an entry or ending with `"." + entry`; a string is a
    /// regular expression that must match the whole path. An invalid regex matches nothing
    /// (``validate()`` reports it).
    public func targets(_ modulePath: String) -> Bool {
        switch targetModules {
        case let .names(names):
            names.contains { modulePath == $0 || modulePath.hasSuffix("." + $0) }
        case let .regex(pattern):
            (try? compiledRegex("(?:\(pattern))", key: "target_modules", pattern: pattern))
                .map { (try? $0.wholeMatch(in: modulePath)) != nil } ?? false
        case .allLinear:
            true
        }
    }

    /// The rank of the module at `path`: ``rankPattern``'s value for the matching key, else ``rank``.
    public func rank(forModule path: String) -> Int {
        matchingPatternKey(in: Array(rankPattern.keys), for: path).map { rankPattern[$0]! } ?? rank
    }

    /// The alpha of the module at `path`: ``alphaPattern``'s value for the matching key, else ``alpha``.
    public func alpha(forModule path: String) -> Double {
        matchingPatternKey(in: Array(alphaPattern.keys), for: path).map { alphaPattern[$0]! } ?? alpha
    }

    /// The scaling of the module at `path`: `s = α/r`, or `α/√r` with rsLoRA.
    public func scaling(forModule path: String) -> Double {
        let r = Double(rank(forModule: path))
        return alpha(forModule: path) / (useRSLoRA ? r.squareRoot() : r)
    }

    /// PEFT's pattern rule: key `p` matches a path that fully matches the regex `(.*\.)?(p)`, i.e.
    /// the path equals `p` or ends with `"." + p`, with `p` read as a regular expression.
    /// PEFT takes the first matching key in file order; JSON objects have no order once decoded,
    /// so LoRAKit takes the longest matching key (ties: the smallest), which agrees with PEFT
    /// whenever one key matches.
    private func matchingPatternKey(in keys: [String], for path: String) -> String? {
        keys.filter { key in
            (try? patternRegex(key, in: "pattern")).map { (try? $0.wholeMatch(in: path)) != nil } ?? false
        }.max { ($0.count, $1) < ($1.count, $0) }
    }

    private func patternRegex(_ key: String, in field: String) throws(LoRAConfigurationError) -> Regex<AnyRegexOutput> {
        try compiledRegex("(?:.*\\.)?(?:\(key))", key: "\(field).\(key)", pattern: key)
    }

    private func compiledRegex(_ source: String, key: String, pattern: String) throws(LoRAConfigurationError) -> Regex<AnyRegexOutput> {
        do {
            return try Regex(source)
        } catch {
            throw .invalidValue(key: key, value: pattern, expected: "a valid regular expression")
        }
    }
}

/// A LoRA configuration that cannot be used, naming the key (and the file when read from one).
public enum LoRAConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `key` holds `value`, which is not `expected`.
    case invalidValue(key: String, value: String, expected: String)
    /// The file is not a LoRA `adapter_config.json`: `reason` says why.
    case malformedFile(path: String, reason: String)
    /// The file could not be read or written.
    case fileError(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidValue(key, value, expected):
            "LoRA configuration: \"\(key)\" is \(value), expected \(expected)"
        case let .malformedFile(path, reason):
            "\(path): not a usable LoRA adapter configuration: \(reason)"
        case let .fileError(path, reason):
            "\(path): \(reason)"
        }
    }
}
