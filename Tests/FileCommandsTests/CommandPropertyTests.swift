import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
import Models
import PEFT
import TensorFormats
import Testing

/// Generated command lines against the built `lora`: every command with one or two of its options
/// set to an edge of their range (0, −1, huge, NaN, ±∞, empty, a duplicate, a unicode path, a
/// missing directory, an input as the output). A rejection prints exactly one line on standard
/// error (exit 64, a wrong command line, may add ArgumentParser's `Help:` and usage lines after
/// it), exits non-zero and leaves no new file; an acceptance exits 0 and prints JSON without a
/// non-finite number; neither crashes, changes an input or leaves a temporary. A run longer than
/// `timeout` (a count such as `--epochs 100000000` asks for hours) must stop on SIGINT with
/// status 130.
///
/// `LORA_PROPERTY_CASES` (default 160) and `LORA_PROPERTY_SEED` (default 1) choose the sample.
@Suite("lora command lines at the edges (generated)", .serialized)
struct CommandPropertyTests {
    static let timeout = 10.0
    /// A debug build loads SmolLM2 in seconds, and a shared machine may take several times that.
    static let languageModelTimeout = 30.0

    /// One option of a command and the values drawn for it.
    struct Option {
        var flag: String
        var values: [String]
    }

    /// A command: the arguments of a run that succeeds, and its options.
    struct Command {
        var name: String
        var arguments: [String]
        var options: [Option]
        /// Whether `--format json` exists (appended unless a case sets `--format`).
        var json = true
    }

    static let counts = ["0", "-1", "1", "2", "3", "9223372036854775807", "4611686018427387904", "100000000", "", "nan", "1e3", "٣"]
    static let reals = ["0", "-1", "-0", "1", "0.5", "1e-320", "1e300", "1e308", "nan", "inf", "-inf", "", "0x1p-1074"]
    static let countLists = ["0", "-1", "1", "1,1", "2,3", "", ",", "9223372036854775807", "100000", "1,,2"]

    /// Input paths: a missing file, an empty name, a directory, a unicode name, a file of another kind.
    static func inputs(_ good: String) -> [String] {
        [good, "missing.safetensors", "", ".", "dír ü/bäse ✓.safetensors", "m.npy", "adapter", "missing/a/b"]
    }

    /// Output paths: a missing directory, an empty name, a directory, a unicode name, an input.
    static func outputs(_ good: String) -> [String] {
        [good, "missing/a/b", "", ".", "dír ü/out ✓", "base.safetensors", "link.safetensors", "adapter", "adapter/adapter_model.safetensors"]
    }

    static let plots = ["p.svg", "missing/p.svg", "p.png", "", ".", "dír ü/p ✓.svg", "base.safetensors", "m.npy"]

    static let commands: [Command] = [
        Command(name: "params", arguments: ["params"], options: [
            Option(flag: "--model", values: ["gpt2-small", "all", "", "gpt5", "gpt2-small,gpt2-small"]),
            Option(flag: "--d-model", values: counts), Option(flag: "--layers", values: counts),
            Option(flag: "--ffn", values: counts), Option(flag: "--name", values: ["", "ünï ✓", "a,b"]),
            Option(flag: "--rank", values: counts), Option(flag: "--targets", values: ["q", "up", "", "q,q", "zz"]),
            Option(flag: "--format", values: ["text", "csv", "markdown", "xml", ""]),
        ]),
        Command(name: "memory", arguments: ["memory"], options: [
            Option(flag: "--billions", values: reals + ["1,1", "1e9", "1e10"]), Option(flag: "--rank", values: counts),
            Option(flag: "--fraction", values: reals), Option(flag: "--dtype", values: ["f32", "int4", "", "f8", "f16,f16"]),
            Option(flag: "--trainable-dtype", values: ["f32", "bf16", "", "x"]), Option(flag: "--d-model", values: counts),
        ]),
        Command(name: "svd-table", arguments: ["svd-table", "--gaussian", "12x10", "--threads", "1"], options: [
            Option(flag: "--gaussian", values: ["12x10", "0x5", "1x1", "100000x100000", "16384x16384", "axb", "", "3×3"]),
            Option(flag: "--npy", values: inputs("m.npy")), Option(flag: "--scale", values: reals),
            Option(flag: "--seed", values: ["0", "-1", "18446744073709551615", "18446744073709551616", ""]),
            Option(flag: "--ranks", values: countLists), Option(flag: "--energy", values: reals),
            Option(flag: "--max-error", values: reals), Option(flag: "--method", values: ["exact", "randomized", "", "lanczos"]),
            Option(flag: "--oversampling", values: counts), Option(flag: "--power-iterations", values: counts),
            Option(flag: "--precision", values: ["f32", "f64", ""]), Option(flag: "--threads", values: counts),
            Option(flag: "--plot", values: plots),
        ]),
        Command(name: "svd-table", arguments: ["svd-table", "--safetensors", "base.safetensors", "--tensor", "layer.proj.weight"], options: [
            Option(flag: "--safetensors", values: inputs("base.safetensors")),
            Option(flag: "--tensor", values: ["layer.proj.weight", "norm.weight", "", "nosuch", "ü"]),
            Option(flag: "--precision", values: ["f32", "f64"]), Option(flag: "--ranks", values: countLists),
        ]),
        Command(name: "inspect", arguments: ["inspect", "base.safetensors"], options: [
            Option(flag: "", values: inputs("base.safetensors") + ["huge.npy", "tiny.npy"]),
        ]),
        Command(name: "merge", arguments: ["merge", "--base", "base.safetensors", "--adapter", "adapter", "--out", "merged.safetensors"], options: [
            Option(flag: "--base", values: inputs("base.safetensors") + ["link.safetensors", "f16.safetensors"]),
            Option(flag: "--adapter", values: inputs("adapter")), Option(flag: "--out", values: outputs("merged.safetensors")),
            Option(flag: "--scale", values: reals + ["1e30", "-1e300"]), Option(flag: "--force", values: []),
        ]),
        Command(name: "merge", arguments: ["merge", "--base", "f16.safetensors", "--adapter", "adapter", "--out", "merged.safetensors"], options: [
            Option(flag: "--scale", values: ["1e4", "1e6", "65504", "-1e5"]), Option(flag: "--out", values: outputs("merged.safetensors")),
        ]),
        Command(name: "extract", arguments: ["extract", "--base", "base.safetensors", "--tuned", "tuned.safetensors", "--rank", "2", "--out", "extracted", "--threads", "1"], options: [
            Option(flag: "--base", values: inputs("base.safetensors")), Option(flag: "--tuned", values: inputs("tuned.safetensors") + ["big.safetensors"]),
            Option(flag: "--rank", values: counts), Option(flag: "--energy", values: reals),
            Option(flag: "--out", values: outputs("extracted")), Option(flag: "--targets", values: ["proj", "", "nosuch", "proj,proj"]),
            Option(flag: "--dtype", values: ["f16", "bf16", "f64", "F32", ""]),
        ]),
        Command(name: "combine", arguments: ["combine", "--adapter", "adapter", "--adapter", "adapter2", "--method", "cat", "--out", "combined"], options: [
            Option(flag: "--adapter", values: inputs("adapter2")), Option(flag: "--weight", values: reals),
            Option(flag: "--method", values: ["svd", "linear", "", "sum"]), Option(flag: "--rank", values: counts),
            Option(flag: "--out", values: outputs("combined") + ["adapter2"]), Option(flag: "--dtype", values: ["f16", "bf16", ""]),
        ]),
        Command(name: "resize", arguments: ["resize", "--adapter", "adapter", "--rank", "1", "--out", "resized"], options: [
            Option(flag: "--adapter", values: inputs("adapter")), Option(flag: "--rank", values: counts),
            Option(flag: "--sv-ratio", values: reals), Option(flag: "--sv-cumulative", values: reals),
            Option(flag: "--sv-fro", values: reals), Option(flag: "--out", values: outputs("resized")),
        ]),
        Command(name: "train", arguments: ["train", "--samples", "4", "--sequence-length", "4", "--d-model", "8", "--heads", "2", "--epochs", "2", "--batch-size", "2", "--threads", "1", "--quiet"], options: [
            Option(flag: "--samples", values: counts), Option(flag: "--sequence-length", values: counts),
            Option(flag: "--d-model", values: counts), Option(flag: "--heads", values: counts),
            Option(flag: "--depth", values: counts), Option(flag: "--batch-size", values: counts),
            Option(flag: "--epochs", values: counts), Option(flag: "--lr", values: reals + ["1e30"]),
            Option(flag: "--weight-decay", values: reals), Option(flag: "--rank", values: counts),
            Option(flag: "--alpha", values: reals + ["1e30"]), Option(flag: "--dropout", values: reals),
            Option(flag: "--targets", values: ["q_proj", "all-linear", "", "nosuch", "q_proj,q_proj"]),
            Option(flag: "--initialization", values: ["gaussian", "pissa", "", "olora"]),
            Option(flag: "--bias", values: ["all", "lora_only", ""]), Option(flag: "--rslora", values: []),
            Option(flag: "--lora-plus-ratio", values: reals), Option(flag: "--clip-norm", values: reals),
            Option(flag: "--warmup-steps", values: counts), Option(flag: "--schedule", values: ["cosine", "linear", "", "step"]),
            Option(flag: "--ranks", values: countLists), Option(flag: "--full", values: []),
            Option(flag: "--seed", values: ["0", "-1", "18446744073709551615"]), Option(flag: "--replicas", values: counts),
            Option(flag: "--threads", values: counts), Option(flag: "--plot", values: plots),
        ]),
        Command(name: "bench", arguments: ["bench", "--quick", "--sizes", "8", "--tokens", "1", "--ranks", "1", "--rounds", "1", "--threads", "1", "--quiet"], options: [
            Option(flag: "--sizes", values: countLists), Option(flag: "--tokens", values: countLists),
            Option(flag: "--ranks", values: countLists), Option(flag: "--rounds", values: counts),
            Option(flag: "--threads", values: counts), Option(flag: "--plot", values: plots),
        ]),
    ]

    static let models = ["smollm2", "", "missing.gguf", "base.safetensors", "m.npy", ".", "smollm3", "dír ü/bäse ✓.safetensors"]
    static let texts = ["text.txt", "empty.txt", "latin1.txt", "missing.txt", ".", "", "dír ü"]

    /// `generate`, `perplexity`, `tokenize` and `finetune` on SmolLM2 (`--adapter adapter` is for
    /// another model; `--out adapter` an existing adapter).
    static let languageModelCommands: [Command] = [
        Command(name: "tokenize", arguments: ["tokenize", "--model", "smollm2", "--text", "To be, or not"], options: [
            Option(flag: "--model", values: models), Option(flag: "--text", values: ["", "ü✓ 日本 🙂", "<|im_start|>user", "\u{7}"]),
            Option(flag: "--file", values: texts),
        ]),
        Command(name: "generate", arguments: ["generate", "--model", "smollm2", "--prompt", "To be", "--max-tokens", "2", "--threads", "1"], options: [
            Option(flag: "--model", values: models), Option(flag: "--prompt", values: ["", "ü✓", "<|im_end|>"]),
            Option(flag: "--max-tokens", values: counts), Option(flag: "--temperature", values: reals),
            Option(flag: "--top-k", values: counts), Option(flag: "--top-p", values: reals),
            Option(flag: "--seed", values: ["0", "-1", "18446744073709551615", ""]), Option(flag: "--chat", values: []),
            Option(flag: "--adapter", values: inputs("adapter")), Option(flag: "--threads", values: counts),
        ]),
        Command(name: "perplexity", arguments: ["perplexity", "--model", "smollm2", "--text", "text.txt", "--context", "16", "--threads", "1"], options: [
            Option(flag: "--model", values: models), Option(flag: "--text", values: texts),
            Option(flag: "--context", values: counts), Option(flag: "--adapter", values: inputs("adapter")),
            Option(flag: "--threads", values: counts),
        ]),
        Command(name: "finetune", arguments: ["finetune", "--model", "smollm2", "--data", "text.txt", "--out", "ft", "--steps", "1",
                                              "--context", "16", "--batch-size", "1", "--rank", "2", "--targets", "q_proj", "--quiet"], options: [
            Option(flag: "--model", values: models), Option(flag: "--data", values: texts), Option(flag: "--eval", values: texts),
            Option(flag: "--out", values: outputs("ft")), Option(flag: "--steps", values: counts),
            Option(flag: "--epochs", values: counts), Option(flag: "--rank", values: counts),
            Option(flag: "--alpha", values: reals), Option(flag: "--lr", values: reals + ["1e30"]),
            Option(flag: "--weight-decay", values: reals), Option(flag: "--dropout", values: reals),
            Option(flag: "--context", values: counts), Option(flag: "--batch-size", values: counts),
            Option(flag: "--accumulate", values: counts), Option(flag: "--targets", values: ["all-linear", "", "nosuch", "q_proj,q_proj", "lm_head"]),
            Option(flag: "--warmup-steps", values: counts), Option(flag: "--schedule", values: ["cosine", "linear", "", "step"]),
            Option(flag: "--save-every", values: counts), Option(flag: "--eval-every", values: counts),
            Option(flag: "--base-precision", values: ["bf16", "nf4", "nf4-dq", "q9", ""]),
            Option(flag: "--resume", values: []), Option(flag: "--force", values: []),
            Option(flag: "--sample-prompt", values: ["", "ü✓"]), Option(flag: "--plot", values: plots),
            Option(flag: "--seed", values: ["0", "-1", "18446744073709551615"]),
        ]),
    ]

    /// The files every case starts from (copied into its own directory).
    static let workspace: URL = {
        let directory = try! makeTemporaryDirectory(prefix: "CommandPropertyTests-workspace")
        let path = { (name: String) in directory.appendingPathComponent(name) }
        var generator = SeededGenerator(seed: 7)
        let w = Matrix<Float>.randomNormal(rows: 6, columns: 5, using: &generator)
        var base = SafetensorsWriter()
        base.add("layer.proj.weight", w, as: .float32)
        base.add("norm.weight", Matrix<Float>(rows: 5, columns: 1, repeating: 1), as: .float32, shape: [5])
        try! base.write(to: path("base.safetensors"))
        var f16 = SafetensorsWriter()
        f16.add("layer.proj.weight", w, as: .float16)
        try! f16.write(to: path("f16.safetensors"))
        let a = Matrix<Float>.randomNormal(rows: 2, columns: 5, using: &generator)
        let b = Matrix<Float>.randomNormal(rows: 6, columns: 2, using: &generator)
        let adapter = PEFTAdapter(configuration: LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["proj"])),
                                  modules: ["layer.proj": PEFTAdapter<Float>.Factors(a: a, b: b)])
        try! adapter.write(to: path("adapter"))
        try! adapter.write(to: path("adapter2"))
        var tuned = SafetensorsWriter()
        tuned.add("layer.proj.weight", w + b * a, as: .float32)
        tuned.add("norm.weight", Matrix<Float>(rows: 5, columns: 1, repeating: 1), as: .float32, shape: [5])
        try! tuned.write(to: path("tuned.safetensors"))
        var big = SafetensorsWriter()
        big.add("layer.proj.weight", Matrix<Double>(rows: 6, columns: 5, repeating: 1e300), as: .float64)
        try! big.write(to: path("big.safetensors"))
        try! NPY.write(Matrix<Double>.randomNormal(rows: 40, columns: 24, using: &generator), to: path("m.npy"))
        try! NPY.write(Matrix<Double>.randomNormal(rows: 30, columns: 20, using: &generator) * 1e300, to: path("huge.npy"))
        try! NPY.write(Matrix<Double>.randomNormal(rows: 30, columns: 20, using: &generator) * 1e-300, to: path("tiny.npy"))
        try! FileManager.default.createDirectory(at: path("dír ü"), withIntermediateDirectories: false)
        try! FileManager.default.copyItem(at: path("base.safetensors"), to: path("dír ü/bäse ✓.safetensors"))
        try! FileManager.default.createSymbolicLink(at: path("link.safetensors"), withDestinationURL: path("base.safetensors"))
        let prose = "The river ran quietly past the mill, where the old miller counted sacks of flour every morning; "
            + "children came from the village to watch the great wheel turn.\n"
        try! Data(String(repeating: prose, count: 6).utf8).write(to: path("text.txt"))
        try! Data().write(to: path("empty.txt"))
        try! Data("caf\u{e9} na\u{ef}ve".data(using: .isoLatin1)!).write(to: path("latin1.txt"))
        return directory
    }()

    /// Every file under `directory` (links not followed) with its bytes' hash, or -1 for a directory.
    static func snapshot(_ directory: URL) -> [String: Int] {
        var result: [String: Int] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory.path)
        while let relative = enumerator?.nextObject() as? String {
            let url = directory.appendingPathComponent(relative)
            let isLink = (try? url.resourceValues(forKeys: [.isSymbolicLinkKey]).isSymbolicLink) == true
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            result[relative] = isLink || isDirectory.boolValue ? -1 : ((try? Data(contentsOf: url))?.hashValue ?? 0)
        }
        return result
    }

    /// The files (relative to `directory`, links resolved) a successful run of `arguments` may
    /// replace: what `--out` and `--plot` name, what an `--out` directory holds, and with
    /// `--force` the `--base`; every other file is an input or a bystander and must not change.
    static func outputs(of arguments: [String], in directory: URL) -> Set<String> {
        let root = directory.resolvingSymlinksInPath().path + "/"
        var result: Set<String> = []
        for (index, flag) in arguments.enumerated() where index + 1 < arguments.count {
            guard flag == "--out" || flag == "--plot" || (flag == "--base" && arguments.contains("--force")) else { continue }
            // An --out naming an input directory is refused: the input's files must stay.
            if flag == "--out" && arguments.enumerated().contains(where: { $0.offset != index && $0.offset > 0
                && arguments[$0.offset - 1] != "--out" && $0.element == arguments[index + 1] }) { continue }
            let url = directory.appendingPathComponent(arguments[index + 1]).resolvingSymlinksInPath()
            for path in [url.path] + ["adapter_model.safetensors", "adapter_config.json"].map({ url.appendingPathComponent($0).path })
            where path.hasPrefix(root) {
                result.insert(String(path.dropFirst(root.count)))
            }
        }
        return result
    }

    /// Replaces or adds `option` with `value` (an empty flag is the positional argument).
    static func setting(_ arguments: [String], _ option: Option, to value: String?) -> [String] {
        if option.flag.isEmpty { return [arguments[0], value ?? ""] + arguments.dropFirst(2) }
        if let value, let index = arguments.firstIndex(of: option.flag), index + 1 < arguments.count {
            var result = arguments
            result[index + 1] = value
            return result
        }
        return arguments + [option.flag] + (value.map { [$0] } ?? [])
    }

    /// The seeded sample of `count` cases: every command's own run, then a command with one or two
    /// options set to drawn values, sometimes one given twice.
    static func cases(of commands: [Command], count: Int) -> [[String]] {
        let environment = ProcessInfo.processInfo.environment
        var generator = SeededGenerator(seed: environment["LORA_PROPERTY_SEED"].flatMap(UInt64.init) ?? 1)
        var result = commands.map { $0.arguments }
        while result.count < count {
            let command = commands.randomElement(using: &generator)!
            var arguments = command.arguments
            for _ in 0..<Int.random(in: 1...2, using: &generator) {
                let option = command.options.randomElement(using: &generator)!
                let value = option.values.randomElement(using: &generator)
                arguments = setting(arguments, option, to: value)
                if !option.flag.isEmpty && Int.random(in: 0..<8, using: &generator) == 0 {
                    arguments += [option.flag] + (value.map { [$0] } ?? [])  // the flag given twice
                }
            }
            if command.json && !arguments.contains("--format") { arguments += ["--format", "json"] }
            result.append(arguments)
        }
        return result
    }

    /// Text no message may contain: Foundation's domains, Swift's renderings of values.
    static let leaks = ["NSCocoaErrorDomain", "could not be completed", "Error(", "names([", "Optional(", "Swift.", "LoRATool."]

    @Test func generatedCommandLines() throws {
        let count = ProcessInfo.processInfo.environment["LORA_PROPERTY_CASES"].flatMap(Int.init) ?? 160
        try Self.check(Self.cases(of: Self.commands, count: count), label: "CommandPropertyTests", timeout: Self.timeout)
    }

    /// The commands that run the language model, on the cached SmolLM2 (loading it takes seconds,
    /// hence a smaller sample: `LORA_PROPERTY_MODEL_CASES`, default 24).
    @Test(.enabled(if: ModelLocation.cachedFile("smollm2") != nil,
                   "SmolLM2-135M-Instruct.Q4_1.gguf is not cached; run scripts/fetch-model smollm2"))
    func generatedLanguageModelCommandLines() throws {
        let count = ProcessInfo.processInfo.environment["LORA_PROPERTY_MODEL_CASES"].flatMap(Int.init) ?? 24
        try Self.check(Self.cases(of: Self.languageModelCommands, count: count), label: "CommandPropertyTests (language model)",
                       timeout: Self.languageModelTimeout)
    }

    /// Runs each case in a fresh copy of the workspace and checks the contract of the type's doc comment.
    static func check(_ cases: [[String]], label suiteLabel: String, timeout: Double) throws {
        var accepted = 0, rejected = 0, interrupted = 0
        for arguments in cases {
            let directory = try makeTemporaryDirectory(prefix: "CommandPropertyTests-case")
            defer { try? FileManager.default.removeItem(at: directory) }
            for name in try FileManager.default.contentsOfDirectory(atPath: workspace.path) {
                try FileManager.default.copyItem(at: workspace.appendingPathComponent(name), to: directory.appendingPathComponent(name))
            }
            let before = snapshot(directory)
            let (run, wasInterrupted) = try runLora(arguments, in: directory, timeout: timeout)
            let after = snapshot(directory)
            let label = arguments.map { $0.isEmpty ? "''" : $0 }.joined(separator: " ")
            let lines = run.standardError.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            let written = outputs(of: arguments, in: directory)
            for (path, hash) in before where hash != -1 && !written.contains(path) {
                #expect(after[path] == hash, "\(label): \(path) changed or vanished")
            }
            #expect(!after.keys.contains { $0.hasSuffix(".partial") }, "\(label): a temporary remains")
            #expect(!leaks.contains { run.standardError.contains($0) }, "\(label): \(run.standardError)")
            if wasInterrupted {
                interrupted += 1
                #expect(run.status == 130, "\(label): interrupted after \(timeout) s, exit \(run.status)")
            } else if run.status == 0 {
                accepted += 1
                if arguments.suffix(2) == ["--format", "json"] {
                    let json = try? JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8))
                    #expect(json != nil, "\(label): not JSON: \(run.standardOutput.prefix(200))")
                }
                for token in ["nan", "inf", "NaN"] {
                    #expect(!run.standardOutput.split(whereSeparator: { !$0.isLetter }).contains { $0 == token },
                            "\(label): \(token) in \(run.standardOutput.prefix(300))")
                }
            } else {
                rejected += 1
                #expect(lines.first?.hasPrefix("Error: ") == true, "\(label): \(run.standardError)")
                if run.status == 64 {
                    let extra = lines.dropFirst().filter { !($0.hasPrefix("Help:") || $0.hasPrefix("Usage:") || $0.hasPrefix("  ") || $0.isEmpty) }
                    #expect(extra.isEmpty, "\(label): \(run.standardError)")
                } else {
                    #expect(run.status == 1 && lines.count == 1, "\(label): exit \(run.status): \(run.standardError)")
                }
                #expect(Set(after.keys) == Set(before.keys), "\(label): rejected but left \(Set(after.keys).subtracting(before.keys).sorted())")
            }
        }
        print("\(suiteLabel): \(cases.count) command lines, \(accepted) accepted, \(rejected) rejected, \(interrupted) interrupted")
        #expect(accepted + rejected + interrupted == cases.count)
    }
}
