import CommandTestSupport
import Foundation
import LinearAlgebra
import PEFT
import TensorFormats
import Testing

/// `lora svd-table` (on .npy and safetensors sources), `lora params` and `lora memory` run as processes.
@Suite struct TableCommandTests {
    private struct TableJSON: Decodable {
        struct Row: Decodable {
            let rank: Int
            let relative_error: Double
            let tail_bound: Double
        }
        let rows: [Row]
        let singular_values: [Double]
    }

    /// Done means: `--npy F --format json` agrees with numpy to 1e-6 relative at every rank, and
    /// `relative_error` equals `tail_bound` to 1e-10 (Double), for C and Fortran, float32 and float64 files.
    @Test func npyAgreesWithNumpy() throws {
        for fixture in try SVDFixture.all() {
            let run = try runLora(["svd-table", "--npy", fixture.url.path, "--format", "json",
                                "--ranks", fixture.ranks.map(String.init).joined(separator: ",")])
            #expect(run.status == 0, "\(fixture.name): \(run.standardError)")
            let table = try JSONDecoder().decode(TableJSON.self, from: Data(run.standardOutput.utf8))
            #expect(table.rows.map(\.rank) == fixture.ranks)
            for (ours, numpy) in zip(table.singular_values, fixture.singularValues) {
                #expect(isClose(ours, numpy, relative: 1e-6), "\(fixture.name): σ \(ours) vs \(numpy)")
            }
            for (row, numpy) in zip(table.rows, fixture.relativeErrors) {
                #expect(isClose(row.relative_error, numpy, relative: 1e-6), "\(fixture.name) rank \(row.rank)")
                #expect(abs(row.relative_error - row.tail_bound) <= 1e-10, "\(fixture.name) rank \(row.rank)")
            }
        }
    }

    @Test func safetensorsSource() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SeededGenerator(seed: 5)
        let m = Matrix<Float>.randomNormal(rows: 12, columns: 8, using: &generator)
        var writer = SafetensorsWriter()
        writer.add("layer.weight", m, as: .float32)
        let url = directory.appendingPathComponent("m.safetensors")
        try writer.write(to: url)
        let run = try runLora(["svd-table", "--safetensors", url.path, "--tensor", "layer.weight", "--ranks", "2,8", "--format", "json"])
        #expect(run.status == 0, "\(run.standardError)")
        let table = try JSONDecoder().decode(TableJSON.self, from: Data(run.standardOutput.utf8))
        let expected = try m.converted(to: Double.self).singularValues()
        for (ours, reference) in zip(table.singular_values, expected) { #expect(isClose(ours, reference, relative: 1e-12)) }
    }

    /// A `.npy` v1.0 image with the given header fields and `payload` bytes after it.
    private func npy(descr: String, shape: String, payload: Int) -> Data {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        header += String(repeating: " ", count: 63 - (10 + header.count) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        return data + Data(header.utf8) + Data(count: payload)
    }

    private func workspace() throws -> URL { try makeTemporaryDirectory(prefix: "TableCommandTests") }

    /// Every bad input: exit ≠ 0, one line on stderr naming the problem, nothing on stdout.
    @Test func csvKeepsTheTargetAnswersOffStandardOutput() throws {
        let arguments = ["svd-table", "--gaussian", "40x40", "--ranks", "1,10,20,40", "--energy", "0.5", "--max-error", "0.5"]
        let json = try runLora(arguments + ["--format", "json"])
        let object = try #require(JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let energyRank = try #require(object["energy_rank"] as? Int)
        let errorRank = try #require(object["error_rank"] as? Int)
        let run = try runLora(arguments + ["--format", "csv"])
        #expect(run.status == 0, "\(run.standardError)")
        let lines = run.standardOutput.split(separator: "\n")
        #expect(lines.count == 5 && lines[0].hasPrefix("rank,"))
        #expect(run.standardError.contains("Smallest rank with retained energy ≥ 0.5: \(energyRank)"))
        #expect(run.standardError.contains("Smallest rank with relative error ≤ 0.5: \(errorRank)"))
    }

    @Test func badInputs() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = { (name: String) in directory.appendingPathComponent(name) }
        try npy(descr: "<f8", shape: "(2, 2, 2)", payload: 64).write(to: file("cube.npy"))
        try npy(descr: "<f8", shape: "(6,)", payload: 48).write(to: file("vector.npy"))
        try npy(descr: "<i4", shape: "(2, 2)", payload: 16).write(to: file("int.npy"))
        try npy(descr: "<f8", shape: "(4, 4)", payload: 40).write(to: file("short.npy"))
        var withNaN = Matrix<Double>(rows: 5, columns: 4) { i, j in Double(i * j) }
        withNaN[3, 2] = .nan
        try NPY.write(withNaN, to: file("nan.npy"))
        var withInfinity = withNaN
        withInfinity[3, 2] = .infinity
        try NPY.write(withInfinity.converted(to: Float.self), to: file("inf.npy"), order: .fortran)
        try NPY.write(Matrix<Double>(rows: 5, columns: 4) { i, j in Double(i + j * j) }, to: file("good.npy"))
        var writer = SafetensorsWriter()
        writer.add("w", Matrix<Float>(rows: 3, columns: 2, repeating: 1), as: .float32)
        writer.add("cube", Matrix<Float>(rows: 4, columns: 2, repeating: 1), as: .float32, shape: [2, 2, 2])
        try writer.write(to: file("t.safetensors"))

        let cases: [([String], String)] = [
            (["--npy", file("cube.npy").path], "shape [2, 2, 2] has more than 2 dimensions"),
            (["--npy", file("vector.npy").path], "not 2-D"),
            (["--npy", file("int.npy").path], "i4"),
            (["--npy", file("short.npy").path], "need 128 bytes"),
            (["--npy", file("missing.npy").path], "missing.npy"),
            (["--npy", file("nan.npy").path, "--ranks", "2"], "NaN"),
            (["--npy", file("inf.npy").path, "--ranks", "2"], "NaN or infinity"),
            (["--npy", file("good.npy").path, "--ranks", "2,5"], "--ranks: rank 5 exceeds min(m, n) = 4 of the 5×4 matrix"),
            (["--npy", file("good.npy").path, "--ranks", "0"], "rank 0"),
            (["--npy", file("good.npy").path, "--ranks=-1"], "rank -1"),
            (["--safetensors", file("t.safetensors").path, "--tensor", "missing.weight"], "missing.weight"),
            (["--safetensors", file("t.safetensors").path, "--tensor", "cube"], "not 2-D"),
            (["--safetensors", file("t.safetensors").path], "--tensor"),
            (["--npy", file("good.npy").path, "--gaussian", "4x4"], "one source"),
            (["--gaussian", "8x8", "--ranks", "2", "--plot", file("no-such-dir/x.svg").path], "no-such-dir: create it first"),
        ]
        for (arguments, expected) in cases {
            let run = try runLora(["svd-table"] + arguments)
            let firstLine = run.standardError.split(separator: "\n").first.map(String.init) ?? ""
            #expect(run.status != 0, "\(arguments)")
            #expect(firstLine.contains(expected), "\(arguments): \(run.standardError)")
            #expect(run.standardOutput.isEmpty, "\(arguments): \(run.standardOutput)")
        }
        // Typed errors from files are exactly one line.
        #expect(try runLora(["svd-table", "--npy", file("cube.npy").path]).standardError.split(separator: "\n").count == 1)
        #expect(try runLora(["svd-table", "--npy", file("short.npy").path]).standardError.split(separator: "\n").count == 1)
    }

    /// `lora params --format json`: the table's formulas exactly, with its snake_case field names.
    @Test func paramsJSON() throws {
        let run = try runLora(["params", "--model", "gpt3-175b", "--d-model", "12288", "--layers", "1", "--targets", "q",
                            "--name", "one matrix", "--format", "json"])
        #expect(run.status == 0, "\(run.standardError)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: [[String: Any]]])
        let rows = try #require(object["rows"])
        #expect(Set(rows[0].keys) == ["model", "d_model", "layers", "rank", "full_parameters", "lora_parameters", "ratio"])
        #expect(rows[0]["lora_parameters"] as? Int == 196_608 * 96)  // --targets q applies to every row
        #expect(rows[1]["model"] as? String == "one matrix" && rows[1]["lora_parameters"] as? Int == 196_608)
        let seed = try runLora(["params", "--format", "csv"])
        #expect(seed.standardOutput.contains("GPT-2 Small,768,12,8,28311552,589824,"))
    }

    /// `lora memory --format json`: its keys, GB values and the assumptions.
    @Test func memoryJSON() throws {
        let run = try runLora(["memory", "--billions", "7", "--format", "json"])
        #expect(run.status == 0, "\(run.standardError)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let row = try #require((object["rows"] as? [[String: Any]])?.first)
        for key in ["full_ft_weights", "full_ft_gradients", "full_ft_optimizer", "full_ft_total", "lora_weights",
                    "lora_adapters", "lora_gradients", "lora_optimizer", "lora_total", "memory_savings_ratio"] {
            #expect(row[key] is Double, "\(key)")
        }
        #expect(row["full_ft_total"] as? Double == 112)
        #expect((object["assumptions"] as? [[String: Any]])?.first?["optimizer_states_per_parameter"] as? Int == 2)
        let markdown = try runLora(["memory", "--billions", "7"])
        #expect(markdown.standardOutput.contains("Assumptions:"))
    }

    @Test func paramsAndMemoryBadInputs() throws {
        let cases: [([String], String)] = [
            (["params", "--rank", "0"], "rank must be positive"),
            (["params", "--targets", "q,zz"], "'zz' is not one of q, k, v, o, up, down, gate"),
            (["params", "--d-model", "64", "--layers", "2", "--targets", "up"], "--ffn"),
            (["params", "--model", "gpt5"], "'gpt5' is not one of gpt2-small"),
            (["memory", "--fraction", "2"], "adapted fraction"),
            (["memory", "--dtype", "fp8"], "'fp8' is not one of f32, f16, bf16, int8, int4"),
            (["memory", "--billions=-1"], "billions of parameters must be positive"),
        ]
        for (arguments, expected) in cases {
            let run = try runLora(arguments)
            #expect(run.status != 0, "\(arguments)")
            #expect(run.standardError.split(separator: "\n").first?.contains(expected) == true, "\(arguments): \(run.standardError)")
            #expect(run.standardOutput.isEmpty, "\(arguments)")
        }
    }
}
