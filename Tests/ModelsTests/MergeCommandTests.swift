import CommandTestSupport
import Foundation
import LoRA
import Models
import PEFT
import TensorFormats
import Testing

/// `lora merge --model`: the certificate per weight, the two outputs, the refusals.
@Suite("lora merge --model (processes)")
struct MergeCommandTests {
    static let model = ModelMergeTests.tinyGGUF.path, adapter = ModelMergeTests.tinyAdapter.path

    @Test func writesAGGUFAndAHuggingFaceDirectoryWithTheCertificate() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-merge-command")
        defer { try? FileManager.default.removeItem(at: directory) }
        let gguf = directory.appendingPathComponent("merged.gguf").path, hf = directory.appendingPathComponent("hf").path
        let run = try runLora(["merge", "--model", Self.model, "--adapter", Self.adapter, "--out", gguf, "--dtype", "f16", "--format", "json"])
        #expect(run.status == 0, "\(run.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let weights = try #require(json["weights"] as? [[String: Any]])
        #expect(weights.count == 4 && json["copied"] as? Int == 16 && json["others_rounded"] as? Bool == true)
        #expect(weights.allSatisfy { $0["dtype"] as? String == "F16" && ($0["worst_error_ulps"] as? Double ?? 1) <= 0.5 })
        #expect(try GGUFFile(contentsOf: URL(fileURLWithPath: gguf)).metadata["general.file_type"] == .uint32(1))

        let text = try runLora(["merge", "--model", Self.model, "--adapter", Self.adapter, "--out", hf, "--dtype", "bf16"])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains("| model.layers.1.self_attn.v_proj.weight | BF16 | [16, 32] |"))
        #expect(text.standardOutput.contains("4 weights merged, 16 tensors rounded to the output's dtype"))
        _ = try LlamaForCausalLM<Float>(huggingFaceDirectory: URL(fileURLWithPath: hf))

        let again = try runLora(["merge", "--model", Self.model, "--adapter", Self.adapter, "--out", hf])
        #expect(again.status == 1 && again.standardError.contains("--force replaces it"), "\(again.standardError)")
        let forced = try runLora(["merge", "--model", Self.model, "--adapter", Self.adapter, "--out", hf, "--force"])
        #expect(forced.status == 0, "\(forced.standardError)")
        let fromDirectory = try runLora(["merge", "--model", hf, "--adapter", Self.adapter, "--out", gguf + "2.gguf"])
        #expect(fromDirectory.status == 1 && fromDirectory.standardError.contains("Hugging Face directory"), "\(fromDirectory.standardError)")
        let overDirectory = try runLora(["merge", "--model", hf, "--adapter", Self.adapter, "--out", hf, "--force"])
        #expect(overDirectory.status == 1 && overDirectory.standardError.contains("would overwrite --model"), "\(overDirectory.standardError)")
    }

    @Test func badInputsGiveOneLineErrors() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-merge-command-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("model.gguf").path
        try FileManager.default.copyItem(atPath: Self.model, toPath: copy)
        let out = directory.appendingPathComponent("out.gguf").path
        let cases: [([String], Int32, String)] = [
            (["--out", copy, "--force"], 1, "would overwrite --model"),
            (["--out", out, "--dtype", "bf16"], 64, "a GGUF output is f32 or f16"),
            (["--out", directory.appendingPathComponent("m.safetensors").path], 64, "give a directory"),
            (["--out", out, "--base", copy], 64, "give one of --base and --model"),
        ]
        for (arguments, status, expected) in cases {
            let run = try runLora(["merge", "--model", copy, "--adapter", Self.adapter] + arguments)
            #expect(run.status == status, "\(arguments): \(run.standardError)")
            #expect(run.standardError.contains(expected), "\(expected): \(run.standardError)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.gguf"], "nothing written")
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == Data(contentsOf: URL(fileURLWithPath: Self.model)))

        // An adapter for another model: a module the tiny model lacks.
        let adapterURL = directory.appendingPathComponent("other")
        var configuration = LoRAConfiguration(rank: 1, alpha: 1, targetModules: .names(["q_proj"]))
        configuration.taskType = "CAUSAL_LM"
        try PEFTAdapter<Float>(configuration: configuration, modules: [
            "model.layers.9.self_attn.q_proj": .init(a: .zeros(1, 32), b: .zeros(32, 1)),
        ]).write(to: adapterURL)
        let foreign = try runLora(["merge", "--model", copy, "--adapter", adapterURL.path, "--out", out])
        #expect(foreign.status == 1 && foreign.standardError.contains("model.layers.9.self_attn.q_proj"), "\(foreign.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
