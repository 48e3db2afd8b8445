import Foundation
import LoRAKit

/// What every `lora finetune` run starts from: the model (base precision applied, no adapters),
/// the token windows and the run's options.
struct FineTuneInputs {
    let language: LanguageModel
    let trainingWindows: [TokenBatch]
    let evaluationWindows: [TokenBatch]
    /// Bytes of the frozen base's weights as stored (``Module/storedWeightBytes``), before adapters.
    let baseWeightBytes: Int
    let options: FineTuningOptions
    /// `base_model_name_or_path` of the adapters written.
    let baseModelName: String

    init(command: FineTune) throws {
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
        trainingWindows = windows
        evaluationWindows = try command.eval.map { TokenWindows.evaluation(tokenizer.encode(try readText($0), addSpecial: false), context: command.context) } ?? []
        baseModelName = ModelLocation.huggingFaceName(of: command.model) ?? modelURL.path
        command.progress.report(command.basePrecision.apply(to: model))
        baseWeightBytes = model.storedWeightBytes
        let (sequences, overflow) = (command.epochs ?? 1).multipliedReportingOverflow(by: windows.count)
        guard !overflow else {
            throw CommandFailure(description: "--epochs \(command.epochs!) over \(windows.count) sequences is more steps than can be counted")
        }
        options = FineTuningOptions(
            steps: command.steps ?? max(1, sequences / (command.batchSize * command.accumulate)), batchSize: command.batchSize,
            context: command.context, accumulate: command.accumulate, learningRate: command.lr, weightDecay: command.weightDecay,
            warmupSteps: command.warmupSteps, decay: command.schedule, maxGradientNorm: command.clipNorm, seed: command.seed,
            replicas: command.replicas ?? TrainingOptions.defaultReplicas(batchSize: command.batchSize, sequenceLength: command.context))
    }

    /// The adapter configuration of the flags at `rank` on `targets`, as PEFT saves it for this model.
    func adapterConfiguration(_ command: FineTune, rank: Int, targets: TargetModules? = nil) -> LoRAConfiguration {
        var lora = command.lora.configuration(rank: rank, alpha: command.lora.alpha)
        if let targets { lora.targetModules = targets }
        lora.taskType = "CAUSAL_LM"
        lora.baseModelNameOrPath = baseModelName
        return lora
    }

    /// The model's adapters as PEFT saves them (`adapter_config.json`, `adapter_model.safetensors`
    /// with keys `base_model.model.<module>.lora_A.weight`), written into `url` atomically.
    func writeAdapter(_ configuration: LoRAConfiguration, to url: URL) throws {
        let model = language.model
        let modules = model.loraLayers().map { ($0.path, PEFTAdapter<Float>.Factors(a: $0.layer.weights.a, b: $0.layer.weights.b)) }
            + model.qloraLayers().map { ($0.path, PEFTAdapter<Float>.Factors(a: $0.layer.adapter.a, b: $0.layer.adapter.b)) }
        try PEFTAdapter(configuration: configuration, modules: Dictionary(uniqueKeysWithValues: modules)).write(to: url)
    }
}

/// What `lora finetune` sets up before one training run: the inputs with the adapters injected,
/// and the run.
struct FineTuneJob {
    let inputs: FineTuneInputs
    let configuration: LoRAConfiguration
    /// The modules LoRA wrapped.
    let adapted: [String]
    let run: FineTuning<LlamaForCausalLM<Float>>

    var language: LanguageModel { inputs.language }

    /// With `processes`, this is one rank of a run over several (only rank 0 prints).
    init(command: FineTune, outURL: URL, processes: (any GradientReduction)?) throws {
        try Self.checkOutput(outURL, resume: command.resume, force: command.force)
        inputs = try FineTuneInputs(command: command)
        let model = inputs.language.model
        configuration = inputs.adapterConfiguration(command, rank: command.lora.rank)
        var generator = SeededGenerator(seed: command.seed)
        adapted = try model.injectLoRA(configuration, using: &generator).wrapped.map(\.path)
        if (processes?.rank ?? 0) == 0 {
            command.progress.report("LoRA r=\(configuration.rank) α=\(configuration.alpha) on \(adapted.count) modules: \(model.trainableParameterCount.formatted()) trainable parameters; \(inputs.trainingWindows.count) training sequences of \(command.context) tokens")
        }
        run = FineTuning(
            model: model, trainingWindows: inputs.trainingWindows, evaluationWindows: inputs.evaluationWindows,
            options: inputs.options, reduction: processes)
    }

    /// The trained adapter, written into `url` atomically.
    func writeAdapter(to url: URL) throws { try inputs.writeAdapter(configuration, to: url) }

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
