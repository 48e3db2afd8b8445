import Foundation
import LoRAKit

/// What `lora finetune` sets up before training: the model with its adapters, the token windows
/// and the run; and how it writes the adapter at the end.
struct FineTuneJob {
    let language: LanguageModel
    let configuration: LoRAConfiguration
    /// The modules LoRA wrapped.
    let adapted: [String]
    /// Bytes of the frozen base's weights as stored (``Module/storedWeightBytes``), before adapters.
    let baseWeightBytes: Int
    let run: FineTuning<LlamaForCausalLM<Float>>

    /// With `processes`, this is one rank of a run over several (only rank 0 prints).
    init(command: FineTune, outURL: URL, processes: (any GradientReduction)?) throws {
        try Self.checkOutput(outURL, resume: command.resume, force: command.force)
        let modelURL = try ModelLocation.resolve(command.model)
        language = try LanguageModel(url: modelURL, keepingQuantizedBlocks: false, projections: command.basePrecision.projections)
        let model = language.model
        let limit = model.configuration.contextLength
        guard command.context <= limit else {
            throw CommandFailure(description: "--context \(command.context) is beyond the model's context of \(limit) tokens")
        }
        let tokenizer = try language.requireTokenizer()
        let windows = try command.data.values().flatMap { file in
            let ids = tokenizer.encode(try readText(file), addSpecial: false)
            let windows = TokenWindows.training(ids, context: command.context)
            guard !windows.isEmpty else {
                throw CommandFailure(description: "\(file): \(ids.count) tokens, fewer than one sequence of --context \(command.context) + 1")
            }
            return windows
        }
        let evaluation = try command.eval.map { TokenWindows.evaluation(tokenizer.encode(try readText($0), addSpecial: false), context: command.context) } ?? []
        var lora = command.lora.configuration(rank: command.lora.rank, alpha: command.lora.alpha)
        lora.taskType = "CAUSAL_LM"
        lora.baseModelNameOrPath = ModelLocation.huggingFaceName(of: command.model) ?? modelURL.path
        command.progress.report(command.basePrecision.apply(to: model))
        baseWeightBytes = model.storedWeightBytes
        var generator = SeededGenerator(seed: command.seed)
        adapted = try model.injectLoRA(lora, using: &generator).wrapped.map(\.path)
        configuration = lora
        if (processes?.rank ?? 0) == 0 {
            command.progress.report("LoRA r=\(lora.rank) α=\(lora.alpha) on \(adapted.count) modules: \(model.trainableParameterCount.formatted()) trainable parameters; \(windows.count) training sequences of \(command.context) tokens")
        }
        let (sequences, overflow) = (command.epochs ?? 1).multipliedReportingOverflow(by: windows.count)
        guard !overflow else {
            throw CommandFailure(description: "--epochs \(command.epochs!) over \(windows.count) sequences is more steps than can be counted")
        }
        let steps = command.steps ?? max(1, sequences / (command.batchSize * command.accumulate))
        run = FineTuning(
            model: model, trainingWindows: windows, evaluationWindows: evaluation,
            options: FineTuningOptions(
                steps: steps, batchSize: command.batchSize, context: command.context, accumulate: command.accumulate,
                learningRate: command.lr, weightDecay: command.weightDecay, warmupSteps: command.warmupSteps,
                decay: command.schedule, maxGradientNorm: command.clipNorm, seed: command.seed, replicas: command.replicas),
            reduction: processes)
    }

    /// The adapter as PEFT saves it for this model (`adapter_config.json`, `adapter_model.safetensors`
    /// with keys `base_model.model.<module>.lora_A.weight`), written into `url` atomically.
    func writeAdapter(to url: URL) throws {
        let model = language.model
        let modules = model.loraLayers().map { ($0.path, PEFTAdapter<Float>.Factors(a: $0.layer.weights.a, b: $0.layer.weights.b)) }
            + model.qloraLayers().map { ($0.path, PEFTAdapter<Float>.Factors(a: $0.layer.adapter.a, b: $0.layer.adapter.b)) }
        try PEFTAdapter(configuration: configuration, modules: Dictionary(uniqueKeysWithValues: modules)).write(to: url)
    }

    /// Refuses to overwrite an adapter unless asked; `--resume` needs the checkpoint.
    static func checkOutput(_ url: URL, resume: Bool, force: Bool) throws {
        let manager = FileManager.default
        let adapterExists = manager.fileExists(atPath: url.appendingPathComponent(PEFTAdapter<Float>.configurationFileName).path)
        if resume {
            guard manager.fileExists(atPath: url.appendingPathComponent("checkpoint").path) else {
                throw CommandFailure(description: "--resume: \(url.path) holds no checkpoint to continue")
            }
        } else if adapterExists && !force {
            throw CommandFailure(description: "\(url.path) already holds an adapter: --force replaces it")
        }
    }
}
