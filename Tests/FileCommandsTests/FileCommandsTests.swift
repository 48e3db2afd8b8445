import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
import PEFT
import TensorFormats
import Testing

/// `lora inspect`, `merge` and `extract` run as processes: one-line errors, exit status, no output left behind.
@Suite("lora inspect, merge, extract (processes)")
struct FileCommandsTests {
    /// A base model with `layer.proj.weight` (6×5, F32) and `norm.weight`, and an r = 2 adapter for it.
    private func workspace() throws -> URL {
        let directory = try makeTemporaryDirectory(prefix: "FileCommandsTests")
        var generator = SeededGenerator(seed: 61)
        var base = SafetensorsWriter()
        base.add("layer.proj.weight", Matrix<Float>.randomNormal(rows: 6, columns: 5, using: &generator), as: .float32)
        base.add("norm.weight", Matrix<Float>(rows: 5, columns: 1, repeating: 1), as: .float32, shape: [5])
        try base.write(to: directory.appendingPathComponent("base.safetensors"))
        let adapter = PEFTAdapter(
            configuration: LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["proj"])),
            modules: ["layer.proj": PEFTAdapter<Float>.Factors(a: .randomNormal(rows: 2, columns: 5, using: &generator), b: .randomNormal(rows: 6, columns: 2, using: &generator))])
        try adapter.write(to: directory.appendingPathComponent("adapter"))
        return directory
    }

    private func writeSafetensors(header: String, dataSize: Int, to url: URL) throws {
        var json = Data(header.utf8)
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        try (data + json + Data(count: dataSize)).write(to: url)
    }

    @Test("merge, extract and inspect succeed and print their tables")
    func successfulRuns() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let merge = try runLora(["merge", "--base", path("base.safetensors"), "--adapter", path("adapter"), "--out", path("merged.safetensors")])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(merge.standardOutput.contains("| layer.proj.weight | F32 | [6, 5] |"))
        let extract = try runLora(["extract", "--base", path("base.safetensors"), "--tuned", path("merged.safetensors"), "--rank", "2", "--out", path("extracted")])
        #expect(extract.status == 0, "\(extract.standardError)")
        #expect(extract.standardOutput.contains("total adapter parameters: 22"))
        let inspect = try runLora(["inspect", path("extracted")])
        #expect(inspect.status == 0 && inspect.standardOutput.contains("| layer.proj | 2 | 2 | 1 | 2×5 | 6×2 | 22 |"), "\(inspect.standardOutput)")
    }

    /// Runs `arguments + ["--format", "json"]` and parses its standard output as one JSON object.
    private func jsonObject(_ arguments: [String]) throws -> [String: Any] {
        let run = try runLora(arguments + ["--format", "json"])
        #expect(run.status == 0, "\(arguments): \(run.standardError)")
        return try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
    }

    @Test("--format json: merge, extract and inspect print their results as one object")
    func jsonResults() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let merge = try jsonObject(["merge", "--base", path("base.safetensors"), "--adapter", path("adapter"), "--out", path("merged.safetensors")])
        #expect(merge["merged"] as? Int == 1 && merge["copied"] as? Int == 1 && merge["out"] as? String == path("merged.safetensors"))
        let weight = try #require((merge["weights"] as? [[String: Any]])?.first)
        #expect(weight["key"] as? String == "layer.proj.weight" && weight["dtype"] as? String == "F32")
        #expect(weight["shape"] as? [Int] == [6, 5] && weight["worst_error_ulps"] is Double && weight["swallowed_fraction"] is Double)

        let extract = try jsonObject(["extract", "--base", path("base.safetensors"), "--tuned", path("merged.safetensors"),
                                      "--rank", "2", "--dtype", "f64", "--out", path("extracted")])
        #expect(extract["parameters"] as? Int == 22 && extract["adapted_weights"] as? Int == 30)
        #expect(extract["files"] as? [String] == ["adapter_config.json", "adapter_model.safetensors"])
        let module = try #require((extract["modules"] as? [[String: Any]])?.first)
        #expect(module["module"] as? String == "layer.proj" && module["rank"] as? Int == 2)
        #expect(try #require(module["relative_error"] as? Double) < 0.1)  // ΔW is rank 2 up to the F32 rounding of the merge

        let adapter = try jsonObject(["inspect", path("extracted")])
        #expect(adapter["rank"] as? Int == 2 && adapter["lora_alpha"] as? Double == 2 && adapter["parameters"] as? Int == 22)
        let entry = try #require((adapter["modules"] as? [[String: Any]])?.first)
        #expect(entry["a_shape"] as? [Int] == [2, 5] && entry["b_shape"] as? [Int] == [6, 2] && entry["scaling"] as? Double == 1)
        let tensors = try #require((adapter["weights"] as? [String: Any])?["tensors"] as? [[String: Any]])
        #expect(tensors.allSatisfy { $0["dtype"] as? String == "F64" } && tensors.count == 2)

        let file = try jsonObject(["inspect", path("base.safetensors")])
        #expect(file["path"] as? String == path("base.safetensors") && file["elements"] as? Int == 35)
        #expect((file["tensors"] as? [[String: Any]])?.map { $0["name"] as? String } == ["layer.proj.weight", "norm.weight"])
        let npy = directory.appendingPathComponent("m.npy")
        try NPY.write(Matrix<Double>(rows: 3, columns: 2, repeating: 1), to: npy)
        let array = try jsonObject(["inspect", npy.path])
        #expect(array["shape"] as? [Int] == [3, 2] && array["order"] as? String == "C" && array["data_offset"] is Int)
    }

    @Test("every malformed input: exit ≠ 0, one line on stderr naming the file, no output file")
    func malformedInputs() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = try Data(contentsOf: directory.appendingPathComponent("base.safetensors"))
        let cases: [(String, (URL) throws -> Void)] = [
            ("truncated", { try base.prefix(40).write(to: $0) }),
            ("length-past-end", { try (Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0]) + Data("{}".utf8)).write(to: $0) }),
            ("malformed-json", { try writeSafetensors(header: "{\"a\": [", dataSize: 0, to: $0) }),
            ("overlapping", { try writeSafetensors(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#, dataSize: 12, to: $0) }),
            ("out-of-range", { try writeSafetensors(header: #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, dataSize: 8, to: $0) }),
            ("unknown-dtype", { try writeSafetensors(header: #"{"a": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}}"#, dataSize: 8, to: $0) }),
            ("shape-overflow", { try writeSafetensors(header: #"{"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}}"#, dataSize: 8, to: $0) }),
            ("shape-mismatch", { try writeSafetensors(header: #"{"layer.proj.weight": {"dtype": "F32", "shape": [5, 6], "data_offsets": [0, 120]}}"#, dataSize: 120, to: $0) }),
            ("missing-key", { try writeSafetensors(header: #"{"other.weight": {"dtype": "F32", "shape": [6, 5], "data_offsets": [0, 120]}}"#, dataSize: 120, to: $0) }),
        ]
        for (name, make) in cases {
            let input = directory.appendingPathComponent("\(name).safetensors")
            try make(input)
            let output = directory.appendingPathComponent("out-\(name).safetensors")
            let result = try runLora(["merge", "--base", input.path, "--adapter", directory.appendingPathComponent("adapter").path, "--out", output.path])
            #expect(result.status != 0, "\(name)")
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("Error: \(input.path)"), "\(name): \(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: output.path), "\(name)")
        }
        let extracted = directory.appendingPathComponent("nothing")
        let same = directory.appendingPathComponent("base.safetensors").path
        let extract = try runLora(["extract", "--base", same, "--tuned", same, "--energy", "0.9", "--out", extracted.path])
        #expect(extract.status != 0 && extract.standardError.contains("no 2-D weight differs"))
        #expect(!FileManager.default.fileExists(atPath: extracted.path))
        let flags = try runLora(["extract", "--base", same, "--tuned", same, "--rank", "0", "--out", extracted.path])
        #expect(flags.status != 0 && flags.standardError.hasPrefix("Error: --rank must be at least 1"))
    }

    @Test("combine and resize run, print their tables and JSON, and refuse bad input in one line, leaving the input intact")
    func combineAndResize() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let cat = try runLora(["combine", "--adapter", path("adapter"), "--weight", "0.5", "--adapter", path("adapter"),
                               "--weight", "-0.25", "--method", "cat", "--out", path("cat")])
        #expect(cat.status == 0 && cat.standardOutput.contains("| layer.proj | 4 | 4 | 1.000000 | 0.000e+00 | 0.000e+00 |"), "\(cat.standardOutput) \(cat.standardError)")
        let linear = try runLora(["combine", "--adapter", path("adapter"), "--weight", "1", "--adapter", path("adapter"),
                                  "--weight", "1", "--method", "linear", "--out", path("linear"), "--format", "json"])
        #expect(linear.status == 0 && linear.standardError.contains("cross terms"), "\(linear.standardError)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(linear.standardOutput.utf8)) as? [String: Any])
        #expect(object["method"] as? String == "linear" && (object["modules"] as? [[String: Any]])?.first?["input_rank"] as? Int == 4)
        let resize = try runLora(["resize", "--adapter", path("cat"), "--rank", "2", "--out", path("small")])
        #expect(resize.status == 0 && resize.standardOutput.contains("| layer.proj | 4 | 2 |"), "\(resize.standardOutput) \(resize.standardError)")
        let small = try PEFTAdapter<Double>.read(from: directory.appendingPathComponent("small")).adapter
        #expect(small.configuration.rank == 2 && small.configuration.alpha == 2)

        let before = try Data(contentsOf: directory.appendingPathComponent("adapter/adapter_model.safetensors"))
        let failures: [([String], String)] = [
            (["combine", "--adapter", path("adapter"), "--weight", "1", "--weight", "2", "--method", "cat", "--out", path("x")],
             "Error: give one --weight per --adapter"),
            (["combine", "--adapter", path("adapter"), "--weight", "1", "--method", "cat", "--out", path("adapter") + "/."],
             "is the input"),
            (["combine", "--adapter", path("adapter"), "--weight", "1", "--adapter", path("cat"), "--weight", "1",
              "--method", "svd", "--rank", "9", "--out", path("x")], "rank 9 exceeds the rank 6"),
            (["resize", "--adapter", path("adapter"), "--rank", "3", "--out", path("x")], "rank 3 exceeds the rank 2"),
            (["resize", "--adapter", path("adapter"), "--rank", "1", "--sv-fro", "0.9", "--out", path("x")], "give exactly one of"),
        ]
        for (arguments, message) in failures {
            // Flag errors are one line followed by ArgumentParser's usage; the others are one line alone.
            let run = try runLora(arguments)
            let lines = run.standardError.split(separator: "\n")
            let flagError = message.hasPrefix("Error:") || message.hasPrefix("give")
            #expect(run.status != 0 && lines.first?.contains(message) == true && (flagError || lines.count == 1), "\(arguments): \(run.standardError)")
        }
        #expect(try Data(contentsOf: directory.appendingPathComponent("adapter/adapter_model.safetensors")) == before)
        #expect(!FileManager.default.fileExists(atPath: path("x")))
    }
}
