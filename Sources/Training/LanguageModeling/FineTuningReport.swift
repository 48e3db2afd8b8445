import Foundation
import Reporting

/// The outcome of a fine-tuning run of a language model: what trained, how fast, and the
/// held-out perplexity before, during and after.
public struct FineTuningReport: Report, Sendable {
    public var model: String
    public var trainableParameters: Int
    public var totalParameters: Int
    /// Paths of the modules LoRA wrapped.
    public var adaptedModules: [String]
    public var steps: Int
    /// Training tokens processed (all steps, resumed ones included).
    public var tokens: Int
    /// Training tokens per second of this process's steps.
    public var tokensPerSecond: Double
    /// Held-out perplexity by step (0: before training); empty without evaluation text.
    public var evaluations: [Int: Double]
    /// The loss of every step.
    public var losses: [Double]
    /// The process's peak resident memory (VmHWM), loading included.
    public var peakRSSBytes: Int?
    /// How the frozen base stores its weights (`f32`, `nf4`, …) and their bytes in that form.
    public var base: (precision: String, weightBytes: Int)?
    /// The adapter directory written.
    public var adapter: String
    /// A prompt's greedy continuation before and after training, when one was asked for.
    public var sample: Sample?

    /// What the model wrote after `prompt` before and after training.
    public struct Sample: Sendable, Equatable {
        public var prompt: String
        public var before: String
        public var after: String

        public init(prompt: String, before: String, after: String) {
            self.prompt = prompt
            self.before = before
            self.after = after
        }
    }

    public init(
        model: String, trainableParameters: Int, totalParameters: Int, adaptedModules: [String], steps: Int, tokens: Int,
        tokensPerSecond: Double, evaluations: [Int: Double], losses: [Double], peakRSSBytes: Int?,
        base: (precision: String, weightBytes: Int)? = nil, adapter: String, sample: Sample? = nil
    ) {
        self.model = model
        self.trainableParameters = trainableParameters
        self.totalParameters = totalParameters
        self.adaptedModules = adaptedModules
        self.steps = steps
        self.tokens = tokens
        self.tokensPerSecond = tokensPerSecond
        self.evaluations = evaluations
        self.losses = losses
        self.peakRSSBytes = peakRSSBytes
        self.base = base
        self.adapter = adapter
        self.sample = sample
    }

    /// Held-out perplexity before the first step.
    public var initialEvaluationPerplexity: Double? { evaluations[0] }
    /// Held-out perplexity after the last step.
    public var finalEvaluationPerplexity: Double? { evaluations.keys.max().flatMap { $0 > 0 ? evaluations[$0] : nil } }

    public func text() -> String {
        var lines = [
            "Model \(model): LoRA on \(adaptedModules.count) modules, \(trainableParameters.formatted()) trainable of "
                + "\(totalParameters.formatted()) parameters (\(String(format: "%.3f", 100 * Double(trainableParameters) / Double(max(totalParameters, 1))))%)",
            String(format: "%ld steps, %@ tokens, %.0f tokens/s; loss %.4f → %.4f", steps, tokens.formatted(), tokensPerSecond,
                   losses.first ?? .nan, losses.last ?? .nan),
        ]
        if let before = initialEvaluationPerplexity, let after = finalEvaluationPerplexity {
            lines.append(String(format: "Held-out perplexity %.3f → %.3f", before, after))
        }
        if let base {
            lines.append(String(format: "Base weights in %@: %@ bytes (%.1f MiB)", base.precision, base.weightBytes.formatted(),
                                Double(base.weightBytes) / 1_048_576))
        }
        if let peakRSSBytes {
            lines.append(String(format: "Peak resident memory %@ bytes (%.2f GiB)", peakRSSBytes.formatted(), Double(peakRSSBytes) / 1_073_741_824))
        }
        if let sample {
            lines += ["Sample after \(sample.prompt.debugDescription):", "  before: \(sample.before.debugDescription)",
                      "  after:  \(sample.after.debugDescription)"]
        }
        lines.append("Adapter: \(adapter)")
        return lines.joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case model, steps, tokens, losses, adapter, evaluations
        case trainableParameters = "trainable_parameters", totalParameters = "total_parameters"
        case adaptedModules = "adapted_modules", tokensPerSecond = "tokens_per_second"
        case initialEvaluationPerplexity = "initial_eval_perplexity", finalEvaluationPerplexity = "final_eval_perplexity"
        case peakRSSBytes = "peak_rss_bytes"
        case basePrecision = "base_precision", baseWeightBytes = "base_weight_bytes"
        case samplePrompt = "sample_prompt", sampleBefore = "sample_before", sampleAfter = "sample_after"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(steps, forKey: .steps)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(losses, forKey: .losses)
        try container.encode(adapter, forKey: .adapter)
        try container.encode(Dictionary(uniqueKeysWithValues: evaluations.map { ("\($0)", $1) }), forKey: .evaluations)
        try container.encode(trainableParameters, forKey: .trainableParameters)
        try container.encode(totalParameters, forKey: .totalParameters)
        try container.encode(adaptedModules, forKey: .adaptedModules)
        try container.encode(tokensPerSecond, forKey: .tokensPerSecond)
        try container.encodeIfPresent(initialEvaluationPerplexity, forKey: .initialEvaluationPerplexity)
        try container.encodeIfPresent(finalEvaluationPerplexity, forKey: .finalEvaluationPerplexity)
        try container.encodeIfPresent(peakRSSBytes, forKey: .peakRSSBytes)
        try container.encodeIfPresent(base?.precision, forKey: .basePrecision)
        try container.encodeIfPresent(base?.weightBytes, forKey: .baseWeightBytes)
        try container.encodeIfPresent(sample?.prompt, forKey: .samplePrompt)
        try container.encodeIfPresent(sample?.before, forKey: .sampleBefore)
        try container.encodeIfPresent(sample?.after, forKey: .sampleAfter)
    }
}
