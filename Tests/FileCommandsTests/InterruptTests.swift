import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
import PEFT
import TensorFormats
import Testing

/// Real `lora` processes killed by SIGINT and SIGTERM at random moments of a large merge and an
/// extraction: the exit status says which signal, no temporary remains, the inputs are intact,
/// and an output is either absent or the complete file. Progress reaches a log line by line.
@Suite("lora interrupted (processes)", .serialized)
struct InterruptTests {
    /// A base of four 512×512 F32 weights and an r = 8 adapter for them (a merge of a second or so).
    private func largeWorkspace() throws -> URL {
        let directory = try makeTemporaryDirectory(prefix: "InterruptTests")
        var generator = SeededGenerator(seed: 11)
        var base = SafetensorsWriter()
        var tuned = SafetensorsWriter()
        var modules: [String: PEFTAdapter<Float>.Factors] = [:]
        for layer in 0..<4 {
            let w = Matrix<Float>.randomNormal(rows: 512, columns: 512, using: &generator)
            let factors = PEFTAdapter<Float>.Factors(a: .randomNormal(rows: 8, columns: 512, using: &generator),
                                                     b: .randomNormal(rows: 512, columns: 8, using: &generator))
            base.add("layers.\(layer).proj.weight", w, as: .float32)
            tuned.add("layers.\(layer).proj.weight", w + factors.b * factors.a, as: .float32)
            modules["layers.\(layer).proj"] = factors
        }
        try base.write(to: directory.appendingPathComponent("base.safetensors"))
        try tuned.write(to: directory.appendingPathComponent("tuned.safetensors"))
        try PEFTAdapter(configuration: LoRAConfiguration(rank: 8, alpha: 16, targetModules: .names(["proj"])), modules: modules)
            .write(to: directory.appendingPathComponent("adapter"))
        return directory
    }

    /// Every file below `directory` with its contents.
    private func contents(of directory: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for relative in FileManager.default.subpaths(atPath: directory.path) ?? [] {
            var isDirectory: ObjCBool = false
            let url = directory.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = try Data(contentsOf: url)
            }
        }
        return result
    }

    @Test("merge and extract killed at random points: 130 or 143, no temporary, inputs intact, outputs whole or absent")
    func killedAtRandomPoints() throws {
        let directory = try largeWorkspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let commands: [(String) -> [String]] = [
            { ["merge", "--base", "base.safetensors", "--adapter", "adapter", "--out", $0] },
            { ["extract", "--base", "base.safetensors", "--tuned", "tuned.safetensors", "--rank", "8", "--out", $0, "--threads", "1"] },
        ]
        let inputs = try contents(of: directory)
        var generator = SeededGenerator(seed: ProcessInfo.processInfo.environment["LORA_INTERRUPT_SEED"].flatMap(UInt64.init) ?? 3)
        var interrupted = 0
        for (index, command) in commands.enumerated() {
            // A run to the end gives the duration to aim at and the complete output.
            let reference = "reference-\(index)"
            let start = Date()
            let complete = try runLora(command(reference), in: directory, timeout: 120).run
            let duration = Date().timeIntervalSince(start)
            #expect(complete.status == 0, "\(complete.standardError)")
            let expected = try contents(of: directory).filter { $0.key.hasPrefix(reference) }
            for attempt in 0..<8 {
                let out = "out-\(index)-\(attempt)"
                let signal = attempt.isMultiple(of: 2) ? SIGINT : SIGTERM
                let started = try StartedLora(command(out), in: directory)
                usleep(UInt32(Double.random(in: 0...(duration * 1.1), using: &generator) * 1e6))
                started.send(signal)
                let run = started.finish(seconds: 30)
                let after = try contents(of: directory)
                #expect([0, 128 + signal].contains(run.status), "\(command(out)): exit \(run.status) \(run.standardError)")
                #expect(!after.keys.contains { $0.contains(".partial") }, "a temporary remains: \(after.keys.sorted())")
                for (name, data) in inputs { #expect(after[name] == data, "\(name) changed") }
                // A signal after the rename finds the output complete: it stays.
                let written = after.filter { $0.key.hasPrefix(out) }
                #expect(written.isEmpty ? run.status != 0 : written.count == expected.count, "\(out): \(written.keys.sorted())")
                for (name, data) in written where !name.hasSuffix("adapter_config.json") {
                    #expect(expected[name.replacingOccurrences(of: out, with: reference)] == data, "\(name) differs")
                }
                if written.isEmpty {
                    interrupted += 1
                    #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(out).path), "\(out) remains")
                }
            }
        }
        #expect(interrupted > 0, "no run was interrupted before its end")
    }

    @Test("train's progress reaches a log file line by line, so a killed run leaves what it printed; --quiet prints none")
    func progressIsLineBuffered() throws {
        let directory = try makeTemporaryDirectory(prefix: "InterruptTests-train")
        defer { try? FileManager.default.removeItem(at: directory) }
        let small = ["--samples", "8", "--sequence-length", "4", "--d-model", "8", "--heads", "2", "--threads", "1"]
        let started = try StartedLora(["train", "--epochs", "100000000"] + small, in: directory)
        let deadline = Date().addingTimeInterval(60)
        while !started.standardErrorSoFar.contains("Epoch 1/") && Date() < deadline { usleep(10_000) }
        started.send(SIGTERM)
        let run = started.finish(seconds: 30)
        #expect(run.status == 143)
        #expect(run.standardError.hasPrefix("Training on") && run.standardError.contains("Epoch 1/100000000, loss"), "\(run.standardError)")
        for arguments in [["train", "--epochs", "2", "--quiet"] + small,
                          ["bench", "--quick", "--sizes", "8", "--tokens", "1", "--ranks", "1", "--rounds", "1", "--quiet"]] {
            let quiet = try runLora(arguments, in: directory, timeout: 60).run
            #expect(quiet.status == 0 && quiet.standardError.isEmpty && !quiet.standardOutput.isEmpty, "\(arguments): \(quiet.standardError)")
        }
    }
}
