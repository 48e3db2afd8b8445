import ArgumentParser
import Foundation
import LoRAKit

/// `--model M [--adapter [NAME=]DIR …] [--active-adapter NAME]` of the commands that run a language model.
struct LanguageModelOptions: ParsableArguments {
    @Option(help: "A .gguf file, a Hugging Face model directory, or a short name in the LoRAKit cache (smollm2).")
    var model: String

    @Option(help: ArgumentHelp(
        "A PEFT LoRA or DoRA adapter directory saved for this model, applied unmerged; NAME=DIR loads it under NAME.",
        discussion: "Repeat for several adapters on one model; the first is active unless --active-adapter says otherwise. A bare DIR is named \"default\", as in PEFT."))
    var adapter: [String] = []

    @Option(help: "The adapter to run, by its name (default: the first --adapter); \"__base__\" runs the base model with none.")
    var activeAdapter: String?

    func validate() throws {
        if activeAdapter != nil && adapter.isEmpty { throw ValidationError("--active-adapter needs at least one --adapter") }
    }

    /// The model with its tokenizer and, when asked, its adapters; warnings go to standard error.
    func load() throws -> LanguageModel {
        let language = try LanguageModel(url: try ModelLocation.resolve(model))
        for argument in adapter {
            let (name, path) = Self.nameAndDirectory(argument)
            let directory = URL(fileURLWithPath: path)
            let (peft, warnings) = try PEFTAdapter<Float>.read(from: directory)
            warnings.forEach(printWarning)
            do {
                try peft.load(into: language.model, name: name, file: directory.path)
            } catch {
                guard case let .namedAdapter(named) = error else { throw error }
                throw CommandFailure(description: "--adapter \(argument): \(named)")
            }
        }
        if let activeAdapter {
            do {
                if activeAdapter == AdapterRowAssignment.baseName {
                    try language.model.setAdaptersEnabled(false)
                } else {
                    try language.model.setActiveAdapter(activeAdapter)
                }
            } catch {
                throw CommandFailure(description: "--active-adapter \(activeAdapter): \(error)")
            }
        }
        return language
    }

    /// `NAME=DIR` as (NAME, DIR); a bare `DIR`, or one whose text before the first `=` holds a
    /// `/` (a path with `=` in it), as ("default", DIR).
    static func nameAndDirectory(_ argument: String) -> (name: String, directory: String) {
        guard let equals = argument.firstIndex(of: "="), !argument[..<equals].contains("/") else { return ("default", argument) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }
}
