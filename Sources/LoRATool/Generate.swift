import ArgumentParser
import Foundation
import LoRAKit

/// `lora generate`: continues a prompt (or answers it as a chat) with a language model.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a prompt with a language model (greedy, or sampled with temperature, top-k and top-p).",
        discussion: "Text streams to standard output as it is generated; prompt and generation speed go to standard error (or into the JSON with --format json).")

    @OptionGroup var modelOptions: LanguageModelOptions

    @Option(help: "The prompt text.")
    var prompt: String

    @Flag(help: "Wrap the prompt as a user message in the model's chat template and answer it.")
    var chat = false

    @Option(help: "The most tokens to generate.")
    var maxTokens = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature = 0.0

    @Option(help: "Sample only among the K most likely tokens (0: all).")
    var topK = 0

    @Option(help: "Sample only among the most likely tokens holding probability P.")
    var topP = 1.0

    @Option(help: "The sampling seed.")
    var seed: UInt64 = 0

    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: FormatOption
    @OptionGroup var progress: ProgressOption

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        guard temperature >= 0 && temperature.isFinite else { throw ValidationError("--temperature must be finite and ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0, got \(topK)") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
    }

    func run() throws {
        threads.apply()
        let language = try modelOptions.load()
        let tokenizer = try language.requireTokenizer()
        let promptIDs = chat
            ? try tokenizer.encodeChat([ChatMessage(role: "user", content: prompt)])
            : tokenizer.encode(prompt, addSpecial: true)
        let stops = language.stopTokens
        var stream = TextStream(tokenizer: tokenizer, stops: stops, echoing: output.format == .text)
        let result = try language.model.generate(
            prompt: promptIDs, maximumNewTokens: maxTokens,
            sampling: SamplingOptions(temperature: temperature, topK: topK, topP: topP, seed: seed), stopTokens: stops
        ) { id in
            stream.append(id)
            return true
        }
        stream.finish()
        let report = GenerationReport(result, text: stream.text)
        if output.format == .json {
            print(try output.render(report))
        } else {
            progress.report(report.text())
        }
    }
}

/// The generated text as it grows: decodes all ids so far and writes what is new, holding back
/// a trailing incomplete UTF-8 sequence (decoded as U+FFFD) until its bytes arrive.
struct TextStream {
    let tokenizer: BPETokenizer
    let stops: Set<Int>
    let echoing: Bool
    private var ids: [Int] = []
    private var written = 0
    private(set) var text = ""

    init(tokenizer: BPETokenizer, stops: Set<Int>, echoing: Bool) {
        self.tokenizer = tokenizer
        self.stops = stops
        self.echoing = echoing
    }

    mutating func append(_ id: Int) {
        guard !stops.contains(id) else { return }
        ids.append(id)
        text = tokenizer.decode(ids)
        let complete = text.hasSuffix("\u{FFFD}") ? String(text.dropLast()) : text
        flush(upTo: complete)
    }

    /// Writes whatever is left, and a final newline.
    mutating func finish() {
        flush(upTo: text)
        if echoing { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }

    private mutating func flush(upTo complete: String) {
        let scalars = Array(complete.unicodeScalars)
        guard echoing, scalars.count > written else { return }
        var piece = String.UnicodeScalarView()
        piece.append(contentsOf: scalars[written...])
        FileHandle.standardOutput.write(Data(String(piece).utf8))
        written = scalars.count
    }
}
