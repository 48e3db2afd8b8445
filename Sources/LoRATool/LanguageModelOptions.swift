import ArgumentParser
import Foundation
import LoRAKit

/// `--model M [--adapter DIR]` of the commands that run a language model.
struct LanguageModelOptions: ParsableArguments {
    @Option(help: "A .gguf file, a Hugging Face model directory, or a short name in the LoRAKit cache (smollm2).")
    var model: String

    @Option(help: "A PEFT LoRA adapter directory saved for this model, applied unmerged.")
    var adapter: String?

    /// The model with its tokenizer and, when asked, the adapter; warnings go to standard error.
    func load() throws -> LanguageModel {
        let language = try LanguageModel(url: try ModelLocation.resolve(model))
        if let adapter {
            let directory = URL(fileURLWithPath: adapter)
            let (peft, warnings) = try PEFTAdapter<Float>.read(from: directory)
            warnings.forEach(printWarning)
            try peft.apply(to: language.model, file: directory.path)
            language.model.setTraining(false)
        }
        return language
    }
}
