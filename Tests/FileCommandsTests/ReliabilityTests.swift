import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
import PEFT
import TensorFormats
import Testing

/// Each class of failure the `lora` processes guard against, with the cases that once crashed,
/// overwrote an input or reported a non-finite success.
@Suite("lora reliability (processes)")
struct ReliabilityTests {
    /// A base with `layer.proj.weight` (`rows×columns`, `dtype`) and an r = 2 adapter for it.
    private func workspace(rows: Int = 6, columns: Int = 5, dtype: TensorDType = .float32) throws -> URL {
        let directory = try makeTemporaryDirectory(prefix: "ReliabilityTests")
        var generator = SeededGenerator(seed: 3)
        var base = SafetensorsWriter()
        base.add("layer.proj.weight", Matrix<Float>.randomNormal(rows: rows, columns: columns, using: &generator), as: dtype)
        try base.write(to: directory.appendingPathComponent("base.safetensors"))
        let adapter = PEFTAdapter(
            configuration: LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["proj"])),
            modules: ["layer.proj": PEFTAdapter<Float>.Factors(a: .randomNormal(rows: 2, columns: columns, using: &generator),
                                                                 b: .randomNormal(rows: rows, columns: 2, using: &generator))])
        try adapter.write(to: directory.appendingPathComponent("adapter"))
        return directory
    }

    /// One line on standard error, `Error: ` then text containing every one of `parts`.
    private func expectOneLine(_ run: CommandRun, status: Int32 = 1, _ parts: String..., label: String) {
        let lines = run.standardError.split(separator: "\n")
        #expect(run.status == status, "\(label): exit \(run.status): \(run.standardError)")
        #expect(status == 64 || lines.count == 1, "\(label): \(run.standardError)")
        #expect(lines.first?.hasPrefix("Error: ") == true && parts.allSatisfy { lines.first?.contains($0) == true },
                "\(label): \(run.standardError)")
    }

    @Test("--help of the tool and of every subcommand prints the help and exits 0")
    func helpOfEverySubcommand() throws {
        let directory = FileManager.default.temporaryDirectory
        let root = try runLora(["--help"], in: directory, timeout: 60).run
        #expect(root.status == 0 && root.standardError.isEmpty)
        let names = root.standardOutput.components(separatedBy: "SUBCOMMANDS:").last!.split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.allSatisfy { $0.isLetter || $0 == "-" } }
        #expect(names.count >= 9, "\(names)")
        for name in names {
            for arguments in [[name, "--help"], ["help", name]] {
                let run = try runLora(arguments, in: directory, timeout: 60).run
                #expect(run.status == 0 && run.standardOutput.hasPrefix("OVERVIEW:") && run.standardError.isEmpty,
                        "\(arguments): \(run.status) \(run.standardError)")
            }
        }
    }

    @Test("sizes that cannot be allocated are refused before allocating, naming the flag and the estimate")
    func unallocatableSizes() throws {
        for (arguments, flag) in [
            (["bench", "--sizes", "100000", "--tokens", "1"], "--sizes 100000"),
            (["bench", "--tokens", "100000000"], "--tokens 100000000"),
            (["bench", "--rounds", "9223372036854775807", "--sizes", "8", "--tokens", "1", "--ranks", "1"], "--rounds"),
            (["train", "--d-model", "200000", "--heads", "1"], "--d-model 200000"),
            (["train", "--samples", "100000000000"], "--samples 100000000000"),
            (["svd-table", "--gaussian", "16384x16384"], "16384×16384"),
        ] {
            let run = try runLora(arguments, in: FileManager.default.temporaryDirectory, timeout: 60,
                                  environment: arguments.contains("16384x16384") ? ["LORA_MEMORY_LIMIT": "1G"] : [:]).run
            expectOneLine(run, flag, "of memory", label: "\(arguments)")
        }
        // Sizes from a file: the estimate comes from the headers, before any tensor is read.
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let merge = try runLora(["merge", "--base", path("base.safetensors"), "--adapter", path("adapter"), "--out", path("m.safetensors")],
                                in: directory, timeout: 60, environment: ["LORA_MEMORY_LIMIT": "100"]).run
        expectOneLine(merge, "merging", "base.safetensors", "LORA_MEMORY_LIMIT", label: "merge")
        #expect(!FileManager.default.fileExists(atPath: path("m.safetensors")))
    }

    @Test("an output that is an input by a link, a hard link or another spelling is refused before any work")
    func inputsAreNeverOutputs() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let original = try Data(contentsOf: URL(fileURLWithPath: path("base.safetensors")))
        try FileManager.default.createSymbolicLink(atPath: path("link.safetensors"), withDestinationPath: "base.safetensors")
        try FileManager.default.linkItem(atPath: path("base.safetensors"), toPath: path("hard.safetensors"))
        for (base, out) in [("link.safetensors", "base.safetensors"), ("base.safetensors", "link.safetensors"),
                            ("base.safetensors", "hard.safetensors"), ("base.safetensors", "./x/../base.safetensors")] {
            try? FileManager.default.createDirectory(atPath: path("x"), withIntermediateDirectories: false)
            let run = try runLora(["merge", "--base", base, "--adapter", "adapter", "--out", out], in: directory, timeout: 60).run
            expectOneLine(run, "would overwrite --base", "--force", label: "\(base) → \(out)")
        }
        let adapterFile = try runLora(["merge", "--base", "base.safetensors", "--adapter", "adapter", "--out",
                                       "adapter/adapter_model.safetensors", "--force"], in: directory, timeout: 60).run
        expectOneLine(adapterFile, "would overwrite --adapter", label: "adapter file")
        let extract = try runLora(["extract", "--base", "adapter/adapter_model.safetensors", "--tuned", "base.safetensors",
                                   "--rank", "1", "--out", "adapter"], in: directory, timeout: 60).run
        expectOneLine(extract, "would overwrite --base", label: "extract into the input's directory")
        try NPY.write(Matrix<Double>.identity(3), to: directory.appendingPathComponent("m.svg"))
        let plot = try runLora(["svd-table", "--npy", "m.svg", "--plot", "m.svg"], in: directory, timeout: 60).run
        expectOneLine(plot, "--plot m.svg would overwrite --npy m.svg", label: "plot over its input")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path("base.safetensors"))) == original)

        // --force replaces the base through the link, by a complete file renamed over it.
        let forced = try runLora(["merge", "--base", "link.safetensors", "--adapter", "adapter", "--out", "link.safetensors", "--force"],
                                 in: directory, timeout: 60).run
        #expect(forced.status == 0, "\(forced.standardError)")
        let merged = try SafetensorsFile(contentsOf: URL(fileURLWithPath: path("base.safetensors")))
        #expect(try merged.matrix("layer.proj.weight", as: Float.self) != SafetensorsFile(data: original, path: "old").matrix("layer.proj.weight", as: Float.self))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.safetensors")) == "base.safetensors")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path("hard.safetensors"))) == original)
    }

    @Test("a missing output directory is refused alike by merge, extract and --plot; nothing is created")
    func missingOutputDirectories() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        for arguments in [
            ["merge", "--base", "base.safetensors", "--adapter", "adapter", "--out", "no/a/b"],
            ["extract", "--base", "base.safetensors", "--tuned", "base.safetensors", "--rank", "1", "--out", "no/a/b"],
            ["svd-table", "--gaussian", "8x8", "--plot", "no/a/b.svg"],
        ] {
            let run = try runLora(arguments, in: directory, timeout: 60).run
            expectOneLine(run, "no directory", "create it first", label: "\(arguments)")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("no").path))
        }
    }

    @Test("results that overflow are errors naming the tensor or run, never exit 0")
    func noNonFiniteSuccess() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let f16 = try workspace(dtype: .float16), f64 = try workspace(dtype: .float64)
        defer { [f16, f64].forEach { try? FileManager.default.removeItem(at: $0) } }
        for (workspace, scale, dtype) in [(directory, "1e300", "F32"), (f64, "1e308", "F64"), (f16, "1e6", "F16")] {
            let run = try runLora(["merge", "--base", "base.safetensors", "--adapter", "adapter", "--out", "m.safetensors", "--scale", scale],
                                  in: workspace, timeout: 60).run
            expectOneLine(run, "layer.proj.weight", "range of \(dtype)", "--scale", label: "--scale \(scale)")
            #expect(!FileManager.default.fileExists(atPath: workspace.appendingPathComponent("m.safetensors").path))
        }
        let diverged = try runLora(["train", "--lr", "1e30", "--samples", "4", "--sequence-length", "4", "--d-model", "8", "--heads", "2",
                                    "--epochs", "1000", "--quiet"], in: directory, timeout: 60).run
        expectOneLine(diverged, "diverged", "epoch", "--lr", label: "train --lr 1e30")
        let sweep = try runLora(["train", "--lr", "1e30", "--ranks", "2", "--samples", "4", "--sequence-length", "4", "--d-model", "8",
                                 "--heads", "2", "--epochs", "5", "--quiet"], in: directory, timeout: 60).run
        expectOneLine(sweep, "at rank 2", label: "sweep")
    }

    @Test("SVD tables: the default ranks fit a small matrix, and entries from 1e-300 to 1e300 give the same finite table")
    func svdTablesOverTheWholeRange() throws {
        let directory = try makeTemporaryDirectory(prefix: "ReliabilityTests-svd")
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SeededGenerator(seed: 5)
        let m = Matrix<Double>.randomNormal(rows: 40, columns: 24, using: &generator)
        var tables: [[[String: Any]]] = []
        for magnitude in [1e-300, 1e-160, 1, 1e160, 1e300] {
            let url = directory.appendingPathComponent("m-\(magnitude).npy")
            try NPY.write(m * magnitude, to: url)
            let run = try runLora(["svd-table", "--npy", url.path, "--format", "json"], in: directory, timeout: 60).run
            #expect(run.status == 0, "\(magnitude): \(run.standardError)")
            let json = try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
            let rows = try #require((json["table"] as? [String: Any])?["rows"] as? [[String: Any]] ?? json["rows"] as? [[String: Any]],
                                    "\(run.standardOutput.prefix(300))")
            #expect(rows.map { $0["rank"] as? Int } == [4, 8, 16], "\(magnitude)")
            tables.append(rows)
        }
        for rows in tables.dropFirst() {
            for (row, reference) in zip(rows, tables[0]) {
                for key in ["relative_error", "tail_bound", "spectral_error", "retained_energy"] {
                    let (value, expected) = (try #require(row[key] as? Double), try #require(reference[key] as? Double))
                    #expect(abs(value - expected) <= 1e-12, "\(key): \(value) vs \(expected)")
                }
            }
        }
        let tooLarge = try runLora(["svd-table", "--npy", directory.appendingPathComponent("m-1.0.npy").path, "--ranks", "32"],
                                   in: directory, timeout: 60).run
        expectOneLine(tooLarge, "--ranks", "24", label: "rank 32 of 40×24")
        let f32 = try runLora(["svd-table", "--npy", directory.appendingPathComponent("m-1e+300.npy").path, "--precision", "f32"],
                              in: directory, timeout: 60).run
        expectOneLine(f32, "--precision f64", label: "1e300 in f32")
    }

    @Test("ranks above the adapted matrices' smaller side are refused by train, params and memory")
    func ranksAboveTheMatrix() throws {
        let directory = FileManager.default.temporaryDirectory
        expectOneLine(try runLora(["train", "--rank", "100", "--d-model", "8", "--heads", "2"], in: directory, timeout: 60).run,
                      status: 64, "--rank 100", "--d-model 8", label: "train")
        expectOneLine(try runLora(["train", "--ranks", "4,16", "--d-model", "8", "--heads", "2"], in: directory, timeout: 60).run,
                      status: 64, "--ranks 16", label: "train sweep")
        expectOneLine(try runLora(["params", "--rank", "1000"], in: directory, timeout: 60).run, "rank 1000", "768×768", label: "params")
        expectOneLine(try runLora(["params", "--d-model", "64", "--layers", "2", "--ffn", "32", "--targets", "up", "--rank", "40"],
                                  in: directory, timeout: 60).run, "rank 40", "32×64", label: "params ffn")
        expectOneLine(try runLora(["memory", "--rank", "5000"], in: directory, timeout: 60).run, "rank 5000", "4096×4096", label: "memory")
    }

    @Test("messages are plain sentences: no error domains, enum dumps or 'could not be completed'")
    func plainMessages() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("{\"r\": \"eight\", \"target_modules\": [\"proj\"]}".utf8)
            .write(to: directory.appendingPathComponent("adapter/adapter_config.json"))
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("empty"), withIntermediateDirectories: false)
        for (arguments, expected) in [
            (["inspect", "empty"], "not a PEFT adapter directory: it has no adapter_config.json"),
            (["inspect", "adapter"], "\"r\": expected an integer"),
            (["merge", "--base", "base.safetensors", "--adapter", "base.safetensors", "--out", "m.safetensors"], "it is a file"),
            (["train", "--targets", "nosuch", "--samples", "4", "--sequence-length", "4", "--d-model", "8", "--heads", "2"],
             "\"target_modules\" [\"nosuch\"] matches no linear module"),
            (["train", "--dropout", "nan"], "--dropout is nan"),
            (["inspect", ""], "PATH is an empty path"),
        ] {
            let run = try runLora(arguments, in: directory, timeout: 60).run
            expectOneLine(run, status: arguments.contains("--dropout") ? 64 : 1, expected, label: "\(arguments)")
            for leak in ["NSCocoaErrorDomain", "could not be completed", "names([", "Error("] {
                #expect(!run.standardError.contains(leak), "\(arguments): \(run.standardError)")
            }
        }
    }
}
