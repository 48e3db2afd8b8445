import Foundation
import Reporting

/// `lora generate`'s result. Encodes as `{"prompt_ids", "new_ids", "text", "stop_reason",
/// "prompt_tokens_per_second", "generation_tokens_per_second"}`; the text form is the timing line
/// (the generated text itself streams to standard output as it comes).
public struct GenerationReport: Report, Sendable, Equatable {
    public var promptIDs: [Int]
    public var newIDs: [Int]
    /// The generated text, without a final stop token.
    public var generatedText: String
    /// `stop_token`, `maximum_tokens`, `context_full` or `stopped`.
    public var stopReason: String
    public var promptTokensPerSecond: Double
    public var generationTokensPerSecond: Double

    public init(_ result: GenerationResult, text: String) {
        promptIDs = result.promptIDs
        newIDs = result.newIDs
        generatedText = text
        stopReason = switch result.stopReason {
        case .stopToken: "stop_token"
        case .maximumTokens: "maximum_tokens"
        case .contextFull: "context_full"
        case .stoppedByCaller: "stopped"
        }
        promptTokensPerSecond = result.promptTokensPerSecond
        generationTokensPerSecond = result.generationTokensPerSecond
    }

    public func text() -> String {
        String(format: "prompt: %d tokens, %.1f tokens/s; generation: %d tokens, %.1f tokens/s (%@)",
               promptIDs.count, promptTokensPerSecond, newIDs.count, generationTokensPerSecond, stopReason)
    }

    enum CodingKeys: String, CodingKey {
        case promptIDs = "prompt_ids", newIDs = "new_ids", generatedText = "text", stopReason = "stop_reason"
        case promptTokensPerSecond = "prompt_tokens_per_second", generationTokensPerSecond = "generation_tokens_per_second"
    }
}

/// `lora perplexity`'s result. Encodes as `{"tokens", "scored", "context", "mean_nll",
/// "perplexity", "tokens_per_second"}`.
public struct PerplexityReport: Report, Sendable, Equatable {
    public var tokens: Int
    public var scored: Int
    public var context: Int
    public var meanNLL: Double
    public var perplexity: Double
    /// Tokens read per second of the windows' forwards.
    public var tokensPerSecond: Double

    public init(_ result: PerplexityResult, seconds: Double) {
        tokens = result.tokens
        scored = result.scored
        context = result.context
        meanNLL = result.meanNegativeLogLikelihood
        perplexity = result.perplexity
        tokensPerSecond = seconds > 0 ? Double(result.tokens) / seconds : 0
    }

    public func text() -> String {
        String(format: "perplexity %.4f (mean NLL %.6f) over %d scored of %d tokens, windows of %d; %.1f tokens/s",
               perplexity, meanNLL, scored, tokens, context, tokensPerSecond)
    }

    enum CodingKeys: String, CodingKey {
        case tokens, scored, context, meanNLL = "mean_nll", perplexity, tokensPerSecond = "tokens_per_second"
    }
}

/// `lora tokenize`'s result: the ids and, for reading, each token's text. Encodes as `{"ids", "tokens"}`.
public struct TokenizationReport: Report, Sendable, Equatable {
    public var ids: [Int]
    /// Each id's token as the vocabulary spells it (GPT-2's byte alphabet: `Ġ` is a space).
    public var tokens: [String]

    public init(ids: [Int], tokens: [String]) {
        self.ids = ids
        self.tokens = tokens
    }

    public func text() -> String {
        "\(ids.count) tokens\n" + ids.map(String.init).joined(separator: " ") + "\n"
            + TextTable(header: ["id", "token"], rows: zip(ids, tokens).map { ["\($0)", $1] }).markdown(rightAligned: [0])
    }
}
