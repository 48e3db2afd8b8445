import CommandTestSupport
import Foundation
import Models
import PEFT
import Testing

/// The arguments of a sweep on the real model: 2 steps of 2×32 tokens per setting.
private func sweepArguments(data: String, eval: String, out: String) -> [String] {
    ["finetune", "--model", "smollm2", "--data", data, "--eval", eval, "--out", out, "--steps", "2",
     "--context", "32", "--batch-size", "2", "--targets", "q_proj,v_proj", "--lr", "5e-3"]
}

/// Refusals of sweep flags that need no model: exit 64, one error line naming the flag, no file written.
@Suite("lora finetune sweep flags (processes)")
struct FineTuneSweepFlagTests {
    @Test(arguments: [
        (["--sweep-ranks", "1,2", "--sweep-targets", "q_proj"], "--sweep-ranks and --sweep-targets exclude each other"),
        (["--sweep-ranks", "0,4"], "--sweep-ranks: a rank must be at least 1, got 0"),
        (["--sweep-ranks", ""], "an item is empty"),
        (["--sweep-ranks", "4,"], "an item is empty"),
        (["--sweep-targets", ""], "--sweep-targets has an empty name"),
        (["--sweep-targets", "q_proj,", "--sweep-targets", "v_proj"], "--sweep-targets has an empty name"),
        (["--sweep-ranks", "4,8,4"], "the sweep lists r4 twice"),
        (["--sweep-ranks", "4", "--resume"], "--resume does not apply to a sweep"),
        (["--sweep-ranks", "4", "--save-every", "1"], "--save-every does not apply to a sweep"),
        (["--equal-budget"], "--equal-budget needs --sweep-targets"),
    ])
    func refused(flags: [String], expected: String) throws {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-sweep-flags")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("train.txt")
        try "Some text.".write(to: data, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("sweep").path
        let run = try runLora(sweepArguments(data: data.path, eval: data.path, out: out) + flags)
        #expect(run.status == 64, "\(run.standardError)")
        // ArgumentParser's usage lines follow the error's one line.
        let errors = run.standardError.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
        #expect(errors.count == 1 && errors[0].contains(expected), "\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

/// A rank sweep on the real model, and the refusals that need it. Needs SmolLM2 in the cache.
@Suite(
    "lora finetune sweeps (SmolLM2, processes)",
    .serialized,
    .enabled(if: ModelLocation.cachedFile("smollm2") != nil,
             "SmolLM2-135M-Instruct.Q4_1.gguf is not cached; run scripts/fetch-model smollm2"))
struct FineTuneSweepCommandTests {
    func workspace() throws -> (directory: URL, data: String, eval: String) {
        let directory = try makeTemporaryDirectory(prefix: "lorakit-sweep")
        let data = directory.appendingPathComponent("train.txt"), eval = directory.appendingPathComponent("eval.txt")
        try FineTuneCommandTests.prose.write(to: data, atomically: true, encoding: .utf8)
        try String(FineTuneCommandTests.prose.prefix(400)).write(to: eval, atomically: true, encoding: .utf8)
        return (directory, data.path, eval.path)
    }

    /// `--sweep-ranks 1,2`: a JSON report of both settings with Σ r·(d_in + d_out) trainable
    /// parameters (30 layers of q_proj 576→576 and v_proj 576→192: 57,600 per rank), finite
    /// perplexities, each adapter in OUT/r<rank> at its rank, and the figure.
    @Test func aRankSweepWritesAnAdapterPerSetting() throws {
        let w = try workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let out = w.directory.appendingPathComponent("sweep").path, plot = w.directory.appendingPathComponent("sweep.svg").path
        let run = try runLora(sweepArguments(data: w.data, eval: w.eval, out: out) + ["--sweep-ranks", "1,2", "--format", "json", "--plot", plot])
        #expect(run.status == 0, "\(run.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let settings = try #require(json["settings"] as? [[String: Any]])
        #expect(settings.map { $0["setting"] as? String } == ["r1", "r2"])
        #expect(settings.map { $0["trainable_parameters"] as? Int } == [57_600, 115_200])
        for setting in settings {
            for key in ["initial_eval_perplexity", "final_eval_perplexity", "tokens_per_second"] {
                #expect((setting[key] as? Double)?.isFinite == true, "\(key): \(setting)")
            }
        }
        for rank in [1, 2] {
            let (adapter, _) = try PEFTAdapter<Float>.read(from: URL(fileURLWithPath: out + "/r\(rank)"))
            #expect(adapter.configuration.rank == rank && adapter.modulePaths.count == 60)
        }
        #expect(try String(contentsOfFile: plot, encoding: .utf8).contains("Held-out perplexity vs lora rank"))
    }

    /// A rank above a module's smaller side and a target the model lacks fail after loading, before
    /// any training: one line, no adapter.
    @Test(arguments: [
        (["--sweep-ranks", "4,193"], "LoRA rank 193 exceeds 192, the smaller side of model.layers.0.self_attn.v_proj"),
        (["--sweep-targets", "q_proj", "--sweep-targets", "nosuch_proj"], "matches no linear module; the model has"),
    ])
    func refusedAfterLoading(flags: [String], expected: String) throws {
        let w = try workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let out = w.directory.appendingPathComponent("sweep").path
        let run = try runLora(sweepArguments(data: w.data, eval: w.eval, out: out) + flags)
        #expect(run.status == 1, "\(run.standardError)")
        #expect(run.standardError.split(separator: "\n").last?.contains(expected) == true, "\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
