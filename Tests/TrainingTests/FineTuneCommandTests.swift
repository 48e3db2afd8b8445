import CommandTestSupport
import Foundation
import LinearAlgebra
import Models
import PEFT
import Testing

/// `lora finetune` on the real model: a short run, its adapter, its resumption, its refusals.
/// Needs SmolLM2 in the cache (scripts/test fetches it).
@Suite(
    "lora finetune (SmolLM2, processes)",
    .serialized,
    .enabled(if: ModelLocation.cachedFile("smollm2") != nil,
             "SmolLM2-135M-Instruct.Q4_1.gguf is not cached; run scripts/fetch-model smollm2"))
struct FineTuneCommandTests {
    /// Plain English prose, long enough for a few windows of 32 tokens.
    static let prose = String(repeating: """
        The river ran quietly past the mill, where the old miller counted sacks of flour every morning. \
        Children from the village came to watch the great wheel turn, and the miller told them stories \
        about the winters when the river froze and the wheel stood still for weeks.\n
        """, count: 4)

    func workspace() throws -> (directory: URL, data: String, eval: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lorakit-finetune-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let data = directory.appendingPathComponent("train.txt"), eval = directory.appendingPathComponent("eval.txt")
        try Self.prose.write(to: data, atomically: true, encoding: .utf8)
        try String(Self.prose.prefix(400)).write(to: eval, atomically: true, encoding: .utf8)
        return (directory, data.path, eval.path)
    }

    /// The JSON report, progress lines and adapter directory of a 4-step run.
    func checkShortRun(_ run: CommandRun, out: String) throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        #expect(json["trainable_parameters"] as? Int == 30 * 4 * ((576 + 576) + (576 + 192)))
        #expect(json["steps"] as? Int == 4)
        let losses = try #require(json["losses"] as? [Double])
        #expect(losses.count == 4 && losses.allSatisfy(\.isFinite))
        let before = try #require(json["initial_eval_perplexity"] as? Double)
        let after = try #require(json["final_eval_perplexity"] as? Double)
        #expect(after < before, "held-out perplexity \(before) → \(after)")
        #expect(run.standardError.split(separator: "\n").filter { $0.hasPrefix("step ") }.count == 4)
        let (adapter, _) = try PEFTAdapter<Float>.read(from: URL(fileURLWithPath: out))
        #expect(adapter.configuration.taskType == "CAUSAL_LM")
        #expect(adapter.configuration.baseModelNameOrPath == "HuggingFaceTB/SmolLM2-135M-Instruct")
        #expect(adapter.modulePaths.count == 60 && adapter.modulePaths.first == "model.layers.0.self_attn.q_proj")
        #expect(!FileManager.default.fileExists(atPath: out + "/checkpoint"), "the checkpoint goes once the adapter is written")
    }

    func arguments(_ w: (directory: URL, data: String, eval: String), out: String, steps: Int = 4) -> [String] {
        ["finetune", "--model", "smollm2", "--data", w.data, "--eval", w.eval, "--out", out, "--steps", "\(steps)",
         "--batch-size", "2", "--context", "32", "--rank", "4", "--alpha", "8", "--lr", "5e-3",
         "--targets", "q_proj,v_proj", "--format", "json"]
    }

    /// A short run writes a PEFT adapter and lowers the held-out perplexity; a run killed after its
    /// checkpoint at step 2 and continued with --resume ends with the same losses and perplexity.
    @Test func aShortRunWritesAnAdapterAndAResumedRunEndsAsAnUninterruptedOne() throws {
        let w = try workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let whole = w.directory.appendingPathComponent("whole").path, parts = w.directory.appendingPathComponent("parts").path
        let uninterrupted = try runLora(arguments(w, out: whole))
        #expect(uninterrupted.status == 0, "\(uninterrupted.standardError)")
        try checkShortRun(uninterrupted, out: whole)
        let again = try runLora(arguments(w, out: whole))
        #expect(again.status != 0 && again.standardError.contains("--force"), "an existing adapter is not replaced silently")

        // A process killed right after its first checkpoint: SIGKILL once stderr shows step 2.
        let process = Process()
        process.executableURL = loraExecutableURL
        process.arguments = arguments(w, out: parts) + ["--save-every", "2"]
        process.environment = loraEnvironment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        var seen = ""
        while !seen.contains("step 3/4") {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: parts + "/checkpoint/checkpoint.json"))
        #expect(!FileManager.default.fileExists(atPath: parts + "/adapter_config.json"), "no adapter from a killed run")
        let resumed = try runLora(arguments(w, out: parts) + ["--save-every", "2", "--resume"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        let a = try JSONSerialization.jsonObject(with: Data(uninterrupted.standardOutput.utf8)) as? [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(resumed.standardOutput.utf8)) as? [String: Any]
        #expect(a?["losses"] as? [Double] == b?["losses"] as? [Double])
        #expect(a?["final_eval_perplexity"] as? Double == b?["final_eval_perplexity"] as? Double)
    }

    /// Runs interrupted by SIGINT or SIGTERM at random points (while training, evaluating or
    /// writing a checkpoint every step) exit 130 or 143, leave no temporary and no adapter, and
    /// whatever checkpoint they leave is whole: `--resume` from the last one finishes the run.
    @Test func runsInterruptedAtRandomPointsLeaveWholeCheckpoints() throws {
        let w = try workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        var generator = SeededGenerator(seed: ProcessInfo.processInfo.environment["LORA_INTERRUPT_SEED"].flatMap(UInt64.init) ?? 5)
        let out = w.directory.appendingPathComponent("interrupted").path
        let run = arguments(w, out: out, steps: 6) + ["--save-every", "1"]
        let checkpointed = { FileManager.default.fileExists(atPath: out + "/checkpoint/checkpoint.json") }
        for round in 0..<3 {
            let started = try StartedLora(run + (checkpointed() ? ["--resume"] : []))
            let step = Int.random(in: 1...4, using: &generator)
            while started.isRunning && !started.standardErrorSoFar.contains("step \(step)/6") { usleep(2_000) }
            usleep(UInt32.random(in: 0..<200_000, using: &generator))
            let signal = Bool.random(using: &generator) ? SIGINT : SIGTERM
            started.send(signal)
            let ended = started.finish()
            #expect(ended.status == 128 + signal || ended.status == 0, "round \(round): exit \(ended.status): \(ended.standardError)")
            let files = FileManager.default.subpaths(atPath: out) ?? []
            #expect(!files.contains { $0.contains(".partial") }, "round \(round): a temporary remains: \(files)")
            guard ended.status != 0 else { return }  // it finished before the signal came
            #expect(!files.contains("adapter_config.json"), "round \(round): an adapter from an interrupted run")
            #expect(files.filter { $0.hasSuffix(".safetensors") }.count == (checkpointed() ? 1 : 0), "round \(round): \(files)")
        }
        let resumed = try runLora(run + (checkpointed() ? ["--resume"] : []))
        #expect(resumed.status == 0, "\(resumed.standardError)")
        let losses = try JSONSerialization.jsonObject(with: Data(resumed.standardOutput.utf8)) as? [String: Any]
        #expect((losses?["losses"] as? [Double])?.count == 6)
    }

    /// QLoRA: the projections in NF4 with double quantization, or in the file's Q4_1 blocks, the
    /// adapters trained on that base and saved with the same module names; the report gives the
    /// base's stored bytes (Float embedding and norms, 106 168 320 projection weights) and the peak RSS;
    /// with a sample of the model's writing before and after.
    @Test(arguments: ["nf4-dq", "q4_1"])
    func aRunOnAQuantizedBaseWritesTheSameAdapter(precision: String) throws {
        let w = try workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let out = w.directory.appendingPathComponent("qlora").path
        let run = try runLora(arguments(w, out: out) + ["--base-precision", precision, "--dropout", "0.1",
                                                        "--sample-prompt", "The river", "--sample-tokens", "6"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardError.contains("base projections in \(precision): 210 layers"))
        try checkShortRun(run, out: out)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let (projections, dense) = (106_168_320, 4 * 28_346_688)
        let bytes = try #require(json["base_weight_bytes"] as? Int)
        #expect(json["base_precision"] as? String == precision)
        #expect(precision == "q4_1" ? bytes == dense + projections / 32 * 20 : (dense + projections / 2 ..< dense + projections * 9 / 16).contains(bytes))
        #expect((json["peak_rss_bytes"] as? Int ?? 0) > bytes)
        // The greedy samples before and after, on standard error and in the JSON.
        #expect(json["sample_prompt"] as? String == "The river")
        let before = try #require(json["sample_before"] as? String), after = try #require(json["sample_after"] as? String)
        #expect(!before.isEmpty && !after.isEmpty)
        #expect(run.standardError.contains("sample before: \(before.debugDescription)"))
        #expect(run.standardError.contains("sample after: \(after.debugDescription)"))
    }

    /// The same run as two ranks of `mpirun`: the losses, perplexities and adapter of one process
    /// within Float rounding (the gradients are summed in another order, which Adam's first steps
    /// amplify in elements whose gradient is near zero, hence the Frobenius norm), reported once.
    @Test(.enabled(if: mpirun != nil, "mpirun is not installed: scripts/setup installs openmpi-bin"))
    func twoRanksOfMPIFineTuneAsOneProcess() throws {
        let w = try workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let alone = w.directory.appendingPathComponent("alone").path, spread = w.directory.appendingPathComponent("spread").path
        let one = try runLora(arguments(w, out: alone, steps: 2) + ["--threads", "1"])
        #expect(one.status == 0, "\(one.standardError)")
        let two = try runUnderMPI(
            ranks: 2, loraExecutableURL, arguments(w, out: spread, steps: 2) + ["--threads", "1"], environment: loraEnvironment)
        #expect(two.status == 0, "\(two.standardError)")
        let lines = two.standardError.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("LoRA r=") }.count == 1 && lines.filter { $0.hasPrefix("step ") }.count == 2,
                "rank 0 alone prints: \(two.standardError)")
        let a = try #require(try JSONSerialization.jsonObject(with: Data(one.standardOutput.utf8)) as? [String: Any])
        let b = try #require(try JSONSerialization.jsonObject(with: Data(two.standardOutput.utf8)) as? [String: Any])
        for (x, y) in zip(try #require(a["losses"] as? [Double]), try #require(b["losses"] as? [Double])) {
            #expect(abs(x - y) <= 1e-4 * abs(x))
        }
        for key in ["initial_eval_perplexity", "final_eval_perplexity"] {
            let (x, y) = (try #require(a[key] as? Double), try #require(b[key] as? Double))
            #expect(abs(x - y) <= 1e-4 * x, "\(key): \(x) alone, \(y) over 2 ranks")
        }
        let (first, _) = try PEFTAdapter<Float>.read(from: URL(fileURLWithPath: alone))
        let (second, _) = try PEFTAdapter<Float>.read(from: URL(fileURLWithPath: spread))
        for path in first.modulePaths {
            let (x, y) = (first.modules[path]!, second.modules[path]!)
            for (p, q) in [(x.a, y.a), (x.b, y.b)] {
                let difference = (p - q).frobeniusNorm / max(p.frobeniusNorm, .leastNormalMagnitude)
                #expect(difference <= 1e-4, "\(path): \(difference)")
            }
        }
    }

    @Test func badInputsGiveOneLineErrors() throws {
        let w = try workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let out = w.directory.appendingPathComponent("adapter").path
        let latin1 = w.directory.appendingPathComponent("latin1.txt")
        try Data([0x63, 0x61, 0x66, 0xE9, 0x0A]).write(to: latin1)
        let short = w.directory.appendingPathComponent("short.txt")
        try "Too short.".write(to: short, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (arguments(w, out: out).map { $0 == "q_proj,v_proj" ? "nosuch_proj" : $0 }, "self_attn.q_proj"),
            (arguments(w, out: out).map { $0 == "32" ? "9000" : $0 }, "beyond the model's context of 8192"),
            (arguments(w, out: out).map { $0 == w.data ? short.path : $0 }, "fewer than one sequence"),
            (arguments(w, out: out).map { $0 == w.data ? latin1.path : $0 }, "not UTF-8"),
            (arguments(w, out: out) + ["--resume"], "holds no checkpoint"),
            (arguments(w, out: out).map { $0 == "q_proj,v_proj" ? "k_proj" : $0 } + ["--rank", "193"],
             "LoRA rank 193 exceeds 192, the smaller side of model.layers.0.self_attn.k_proj"),
            (arguments(w, out: out, steps: .max), "more tokens than can be counted"),
        ]
        for (arguments, expected) in cases {
            let run = try runLora(arguments)
            #expect(run.status != 0, "\(arguments)")
            #expect(run.standardError.contains(expected), "\(expected): \(run.standardError)")
            #expect(!FileManager.default.fileExists(atPath: out + "/adapter_config.json"))
        }
    }
}
