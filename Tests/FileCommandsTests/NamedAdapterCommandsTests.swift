import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
import Models
import PEFT
import Testing

/// The tiny LLaMA's GGUF and PEFT adapter among ModelsTests' fixtures (the GGUF has no tokenizer,
/// so commands on it stop after loading the model and its adapters).
private let tinyFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../ModelsTests/Fixtures/tiny_llama").standardized
private let tinyGGUF = tinyFixtures.appendingPathComponent("tiny_llama.f32.gguf").path
private let tinyAdapter = tinyFixtures.appendingPathComponent("lora_adapter").path

@Suite("lora generate and perplexity with named adapters")
struct NamedAdapterCommandsTests {
    @Test("a name used twice, an unknown --active-adapter and another model's adapter: one line, exit 1")
    func refusals() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-named")
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = directory.appendingPathComponent("text.txt")
        try Data("To be, or not to be".utf8).write(to: text)
        var other = try PEFTAdapter<Float>.read(from: URL(fileURLWithPath: tinyAdapter)).adapter
        other.modules["model.layers.7.self_attn.q_proj"] = other.modules["model.layers.0.self_attn.q_proj"]
        let otherDirectory = directory.appendingPathComponent("other")
        try other.write(to: otherDirectory)
        let perplexity = ["perplexity", "--model", tinyGGUF, "--text", text.path]
        let cases: [([String], String)] = [
            (perplexity + ["--adapter", "a=" + tinyAdapter, "--adapter", "a=" + tinyAdapter],
             "--adapter a=\(tinyAdapter): an adapter named \"a\" is already loaded"),
            (perplexity + ["--adapter", tinyAdapter, "--adapter", tinyAdapter], "an adapter named \"default\" is already loaded"),
            (perplexity + ["--adapter", "a=" + tinyAdapter, "--active-adapter", "b"],
             "--active-adapter b: no adapter named \"b\" is loaded; loaded: \"a\""),
            (["generate", "--model", tinyGGUF, "--prompt", "hi", "--adapter", "a=" + tinyAdapter, "--adapter", "b=" + otherDirectory.path],
             "module \"model.layers.7.self_attn.q_proj\" is not in the model"),
            (perplexity + ["--adapter", "=" + tinyAdapter], "adapter name \"\" is not allowed"),
        ]
        for (arguments, message) in cases {
            let run = try runLora(arguments)
            #expect(run.status == 1, "\(arguments): \(run.standardError)")
            #expect(run.standardError.contains(message), "\(arguments): \(run.standardError)")
            #expect(run.standardError.split(separator: "\n").count == 1, "\(arguments): \(run.standardError)")
        }
        let usage = try runLora(perplexity + ["--active-adapter", "a"])
        #expect(usage.status == 64 && usage.standardError.contains("--active-adapter needs at least one --adapter"))
    }

    @Test("NAME=DIR and bare directories load (up to the tiny model's missing tokenizer), a = in a path included")
    func loads() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-named")
        defer { try? FileManager.default.removeItem(at: directory) }
        let withSign = directory.appendingPathComponent("with=sign")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: tinyAdapter), to: withSign)
        for adapters in [["--adapter", "a=" + tinyAdapter, "--adapter", "b=" + withSign.path, "--active-adapter", "b"],
                         ["--adapter", withSign.path, "--active-adapter", "default"],
                         ["--adapter", "a=" + tinyAdapter, "--active-adapter", "__base__"]] {
            let run = try runLora(["generate", "--model", tinyGGUF, "--prompt", "hi"] + adapters)
            #expect(run.status == 1 && run.standardError.contains("has no tokenizer"), "\(adapters): \(run.standardError)")
        }
    }
}

/// `lora perplexity` and `generate` on SmolLM2 with two random adapters written here.
@Suite(
    "named adapters on SmolLM2 (processes)",
    .serialized,
    .enabled(if: ModelLocation.cachedFile("smollm2") != nil,
             "SmolLM2-135M-Instruct.Q4_1.gguf is not cached; run scripts/fetch-model smollm2"))
struct NamedAdapterSmolLM2Tests {
    /// A random rank-4 adapter on every q_proj and v_proj (DoRA when `dora`).
    func writeAdapter(to directory: URL, seed: UInt64, dora: Bool) throws {
        var generator = SeededGenerator(seed: seed)
        var configuration = LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj"]))
        configuration.useDoRA = dora
        var modules: [String: PEFTAdapter<Float>.Factors] = [:]
        for layer in 0..<30 {
            for (name, out) in [("q_proj", 576), ("v_proj", 192)] {
                modules["model.layers.\(layer).self_attn.\(name)"] = .init(
                    a: .randomNormal(rows: 4, columns: 576, standardDeviation: 0.05, using: &generator),
                    b: .randomNormal(rows: out, columns: 4, standardDeviation: 0.05, using: &generator),
                    magnitude: dora ? Matrix(rows: 1, columns: out) { _, j in 1 + Float(j % 5) / 10 } : nil)
            }
        }
        try PEFTAdapter(configuration: configuration, modules: modules).write(to: directory)
    }

    @Test("the active adapter among several gives the perplexity and text of that adapter alone; __base__ gives the base's")
    func activeAmongSeveral() throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-named-smollm2")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (x, y) = (directory.appendingPathComponent("x").path, directory.appendingPathComponent("y").path)
        try writeAdapter(to: URL(fileURLWithPath: x), seed: 1, dora: false)
        try writeAdapter(to: URL(fileURLWithPath: y), seed: 2, dora: true)
        let text = directory.appendingPathComponent("text.txt")
        try Data(String(repeating: "The river ran quietly past the mill, where the old miller counted sacks of flour. ", count: 4).utf8)
            .write(to: text)
        func perplexity(_ adapters: [String]) throws -> Double {
            let run = try runLora(["perplexity", "--model", "smollm2", "--text", text.path, "--context", "32", "--quiet", "--format", "json"] + adapters)
            #expect(run.status == 0, "\(adapters): \(run.standardError)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
            return try #require(json["perplexity"] as? Double)
        }
        let both = ["--adapter", "x=" + x, "--adapter", "y=" + y]
        let (base, dora, first) = (try perplexity([]), try perplexity(["--adapter", y]), try perplexity(both))
        #expect(abs(dora - base) > 1e-3 * base && abs(first - base) > 1e-3 * base && abs(first - dora) > 1e-3 * dora,
                "x, the first, is active, and each adapter changes the model")
        #expect(try perplexity(both + ["--active-adapter", "y"]) == dora)
        #expect(try perplexity(both + ["--active-adapter", "__base__"]) == base)
        func generated(_ adapters: [String]) throws -> [Int] {
            let run = try runLora(["generate", "--model", "smollm2", "--prompt", "The river", "--max-tokens", "8", "--quiet", "--format", "json"] + adapters)
            #expect(run.status == 0, "\(adapters): \(run.standardError)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
            return try #require(json["new_ids"] as? [Int])
        }
        #expect(try generated(both + ["--active-adapter", "y"]) == (try generated(["--adapter", y])))
    }
}
