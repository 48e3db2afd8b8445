import Foundation
import LoRA
import Testing

@Suite("LoRAConfiguration: PEFT's adapter_config.json, validation, matching, scaling")
struct LoRAConfigurationTests {
    /// The shape of the file PEFT 0.x writes for `LoraConfig(r=16, lora_alpha=32, target_modules=[...])`.
    static let peftJSON = """
        {
          "alpha_pattern": {"v_proj": 64},
          "auto_mapping": null,
          "base_model_name_or_path": "gpt2",
          "bias": "lora_only",
          "fan_in_fan_out": false,
          "inference_mode": true,
          "init_lora_weights": "gaussian",
          "layers_to_transform": null,
          "lora_alpha": 32,
          "lora_dropout": 0.05,
          "megatron_config": null,
          "modules_to_save": null,
          "peft_type": "LORA",
          "r": 16,
          "rank_pattern": {"layers.0.self_attn.q_proj": 4, "q_proj": 8},
          "revision": null,
          "target_modules": ["q_proj", "v_proj"],
          "task_type": "CAUSAL_LM",
          "use_dora": false,
          "use_rslora": false
        }
        """

    func temporaryFile(_ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-\(UUID().uuidString).json")
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func readsPEFTKeys() throws {
        let url = try temporaryFile(Self.peftJSON)
        let (config, warnings) = try LoRAConfiguration.read(from: url)
        #expect(warnings.isEmpty)
        #expect(config.rank == 16 && config.alpha == 32 && config.dropout == 0.05)
        #expect(config.targetModules == .names(["q_proj", "v_proj"]))
        #expect(config.bias == .loraOnly && config.initialization == .gaussian)
        #expect(config.baseModelNameOrPath == "gpt2" && config.taskType == "CAUSAL_LM" && config.inferenceMode)
        #expect(config.otherKeys["revision"] == .null && config.otherKeys["use_dora"] == .bool(false))
    }

    @Test func roundTripKeepsEveryKey() throws {
        let url = try temporaryFile(Self.peftJSON)
        let (config, _) = try LoRAConfiguration.read(from: url)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-\(UUID().uuidString).json")
        try config.write(to: out)
        let (again, _) = try LoRAConfiguration.read(from: out)
        #expect(again == config)
        let original = try JSONSerialization.jsonObject(with: Data(Self.peftJSON.utf8)) as! [String: Any]
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as! [String: Any]
        #expect(Set(original.keys) == Set(written.keys))
    }

    @Test func targetMatchingFollowsPEFT() {
        let list = LoRAConfiguration(targetModules: .names(["q_proj", "attn.v_proj"]))
        #expect(list.targets("blocks.0.attn.q_proj"))
        #expect(list.targets("q_proj"))
        #expect(list.targets("blocks.3.attn.v_proj"))
        #expect(!list.targets("blocks.0.attn.xq_proj"))
        #expect(!list.targets("blocks.0.mlp.v_proj"))
        let regex = LoRAConfiguration(targetModules: .regex(#"blocks\.[01]\.attn\.(q|v)_proj"#))
        #expect(regex.targets("blocks.1.attn.v_proj"))
        #expect(!regex.targets("blocks.2.attn.v_proj"))
        #expect(!regex.targets("x.blocks.1.attn.v_proj"), "a regex must match the whole path")
    }

    @Test func patternsGiveRankAlphaAndScaling() throws {
        let (config, _) = try LoRAConfiguration.read(from: try temporaryFile(Self.peftJSON))
        #expect(config.rank(forModule: "model.layers.0.self_attn.q_proj") == 4, "the longer, more specific key wins")
        #expect(config.rank(forModule: "model.layers.1.self_attn.q_proj") == 8)
        #expect(config.rank(forModule: "model.layers.1.self_attn.v_proj") == 16)
        #expect(config.rank(forModule: "model.layers.1.self_attn.xq_proj") == 16, "keys match whole path components")
        #expect(config.alpha(forModule: "model.layers.1.self_attn.v_proj") == 64)
        #expect(config.scaling(forModule: "model.layers.1.self_attn.v_proj") == 4)
        #expect(config.scaling(forModule: "model.layers.1.self_attn.k_proj") == 2)
        var rs = config
        rs.useRSLoRA = true
        #expect(rs.scaling(forModule: "model.layers.1.self_attn.q_proj") == 32 / 8.0.squareRoot())
    }

    @Test func invalidValuesAreNamed() {
        func expectInvalid(_ key: String, _ config: LoRAConfiguration) {
            #expect {
                try config.validate()
            } throws: { error in
                guard case let .invalidValue(name, _, _) = error as? LoRAConfigurationError else { return false }
                return name == key
            }
        }
        expectInvalid("r", LoRAConfiguration(rank: 0, targetModules: .names(["q"])))
        expectInvalid("lora_dropout", LoRAConfiguration(dropout: 1, targetModules: .names(["q"])))
        expectInvalid("lora_dropout", LoRAConfiguration(dropout: -0.1, targetModules: .names(["q"])))
        expectInvalid("target_modules", LoRAConfiguration(targetModules: .names([])))
        expectInvalid("target_modules", LoRAConfiguration(targetModules: .regex("q_proj(")))
        expectInvalid("rank_pattern.q", LoRAConfiguration(targetModules: .names(["q"]), rankPattern: ["q": 0]))
        #expect(throws: Never.self) { try LoRAConfiguration(targetModules: .allLinear).validate() }
    }

    @Test func badFilesGiveOneLineErrorsNamingTheFile() throws {
        let cases = [
            "{ not json",
            #"{"peft_type": "IA3", "target_modules": ["q"]}"#,
            #"{"r": "eight", "target_modules": ["q"]}"#,
            #"{"r": 8}"#,
            #"{"r": -2, "target_modules": ["q"]}"#,
        ]
        for text in cases {
            let url = try temporaryFile(text)
            #expect {
                _ = try LoRAConfiguration.read(from: url)
            } throws: { error in
                let message = "\(error)"
                return message.contains(url.path) && !message.contains("\n")
            }
        }
        let missing = URL(fileURLWithPath: "/nonexistent/adapter_config.json")
        #expect(throws: LoRAConfigurationError.self) { _ = try LoRAConfiguration.read(from: missing) }
    }

    @Test func unappliedKeysWarn() throws {
        let url = try temporaryFile(#"{"r": 4, "target_modules": "all-linear", "layers_to_transform": [0], "init_lora_weights": "loftq", "lora_alhpa": 32}"#)
        let (config, warnings) = try LoRAConfiguration.read(from: url)
        #expect(config.targetModules == .allLinear && config.initialization == .other("loftq"))
        #expect(warnings.count == 2 && warnings[0].contains("layers_to_transform") && warnings[1].contains("\"lora_alhpa\""))
        #expect(config.otherKeys["lora_alhpa"] == .number(32))
    }

    @Test func doraAndOLoRAAreApplied() throws {
        let url = try temporaryFile(#"{"r": 4, "target_modules": ["q"], "use_dora": true, "init_lora_weights": "olora"}"#)
        let (config, warnings) = try LoRAConfiguration.read(from: url)
        #expect(config.useDoRA && config.initialization == .olora && warnings.isEmpty)
        let plain = LoRAConfiguration(targetModules: .names(["q"]))
        #expect(!plain.useDoRA)
    }
}
