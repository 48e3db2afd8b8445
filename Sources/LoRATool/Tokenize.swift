import ArgumentParser
import LoRAKit

/// `lora tokenize`: a text's token ids under a model's tokenizer.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The token ids of a text under a model's tokenizer (special tokens as the model adds them).")

    @Option(help: "A .gguf file or a short name in the LoRAKit cache (smollm2).")
    var model: String

    @Option(help: "The text to tokenize.")
    var text: String?

    @Option(help: "A UTF-8 text file to tokenize instead of --text.")
    var file: String?

    @OptionGroup var output: FormatOption

    func validate() throws {
        if (text == nil) == (file == nil) { throw ValidationError("give one of --text and --file") }
    }

    func run() throws {
        let tokenizer = try LanguageModel.tokenizer(in: try GGUFFile(contentsOf: try ModelLocation.resolve(model)))
        let ids = tokenizer.encode(try text ?? FineTuneJob.readText(file!))
        print(try output.render(TokenizationReport(ids: ids, tokens: ids.map { tokenizer.tokenString($0) ?? "" })))
    }
}
