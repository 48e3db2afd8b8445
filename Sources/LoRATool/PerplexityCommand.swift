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
    @OptionGroup var progress: ProgressOption

    func validate() throws {
        guard context >= 2 else { throw ValidationError("--context must be at least 2 (a window scores all but its first token), got \(context)") }
    }

    func run() throws {
        threads.apply()
        let contents = try readText(text)
        let language = try modelOptions.load()
        let ids = try language.requireTokenizer().encode(contents, addSpecial: false)
        let start = ContinuousClock.now
        let result = try language.model.perplexity(tokens: ids, context: context) { window in
            progress.report(String(format: "window %ld/%ld: %ld tokens scored, perplexity %.4f",
                                 window.windowsDone, window.windows, window.partial.scored, window.partial.perplexity))
        }
        print(try output.render(PerplexityReport(result, seconds: (ContinuousClock.now - start) / .seconds(1))))
    }
}
