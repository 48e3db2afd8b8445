import ArgumentParser
import Foundation
import LoRAKit

/// `lora perplexity`: a language model's perplexity on a text file.
struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity of a language model on a text: consecutive windows of --context tokens, each scored on all but its first.",
        discussion: "The text is tokenized without BOS; ppl = exp(mean NLL over the scored tokens). Progress goes to standard error, one line per window.")

    @OptionGroup var modelOptions: LanguageModelOptions

    @Option(help: "A UTF-8 text file.")
    var text: String

    @Option(help: "Tokens per window (at least 2, at most the model's context).")
    var context = 256

    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: FormatOption

    func run() throws {
        threads.apply()
        let contents: String
        do {
            contents = try String(contentsOfFile: text, encoding: .utf8)
        } catch {
            throw CommandFailure(description: "\(text): cannot read it as UTF-8 text: \(error.localizedDescription)")
        }
        guard !contents.isEmpty else { throw CommandFailure(description: "\(text): the file is empty") }
        let language = try modelOptions.load()
        let ids = try language.requireTokenizer().encode(contents, addSpecial: false)
        let start = ContinuousClock.now
        let result = try language.model.perplexity(tokens: ids, context: context) { progress in
            printProgress(String(format: "window %d/%d: %d tokens scored, perplexity %.4f",
                                 progress.windowsDone, progress.windows, progress.partial.scored, progress.partial.perplexity))
        }
        print(try output.render(PerplexityReport(result, seconds: (ContinuousClock.now - start) / .seconds(1))))
    }
}
