import ArgumentParser
import LoRAKit

/// `--sample-prompt TEXT [--sample-tokens N]`: what the model being fine-tuned writes after a
/// prompt, greedily, so a run shows in words what training changed.
struct SampleOption: ParsableArguments {
    @Option(help: "A prompt whose greedy continuation is shown before and after training.")
    var samplePrompt: String?

    @Option(help: "Tokens of each sample.")
    var sampleTokens = 32

    func validate() throws {
        guard sampleTokens >= 1 else { throw ValidationError("--sample-tokens must be at least 1, got \(sampleTokens)") }
        if samplePrompt?.isEmpty == true { throw ValidationError("--sample-prompt is empty") }
    }

    /// The greedy continuation of the prompt (nil without one), with dropout off while it runs.
    func sample(_ language: LanguageModel) throws -> String? {
        guard let samplePrompt else { return nil }
        let tokenizer = try language.requireTokenizer()
        let modes = language.model.trainingModes()
        language.model.setTraining(false)
        defer { language.model.restoreTrainingModes(modes) }
        let result = try language.model.generate(
            prompt: tokenizer.encode(samplePrompt, addSpecial: true), maximumNewTokens: sampleTokens, stopTokens: language.stopTokens)
        return tokenizer.decode(result.newIDs, skipSpecial: true)
    }
}
