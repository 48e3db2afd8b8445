import Foundation
import LinearAlgebra
import NN

/// The result of ``LlamaForCausalLM/perplexity(tokens:context:progress:)``.
public struct PerplexityResult: Sendable, Equatable {
    /// Token ids read.
    public var tokens: Int
    /// Tokens scored (each window's all but first).
    public var scored: Int
    /// The window length `C`.
    public var context: Int
    /// `Σ NLL` over the scored tokens.
    public var totalNegativeLogLikelihood: Double
    /// `Σ NLL / scored`.
    public var meanNegativeLogLikelihood: Double { scored > 0 ? totalNegativeLogLikelihood / Double(scored) : 0 }
    /// `exp(mean NLL)`.
    public var perplexity: Double { exp(meanNegativeLogLikelihood) }
}

/// Where ``LlamaForCausalLM/perplexity(tokens:context:progress:)`` is, after each window.
public struct PerplexityProgress: Sendable, Equatable {
    public var windowsDone: Int
    public var windows: Int
    /// The result so far.
    public var partial: PerplexityResult
}

extension LlamaForCausalLM {
    /// Perplexity by the usual protocol: `tokens` (no BOS added) cut into consecutive,
    /// non-overlapping windows of `context` tokens (the last may be shorter; a last window of
    /// one token scores nothing), each run on its own from position 0 and scored on every
    /// position but its first: `NLL_t = −log p(w_{t+1} | w_{≤t})`, `ppl = exp(Σ NLL / scored)`.
    /// Runs the inference path (a fresh key/value cache per window), so memory grows with the
    /// window only by its key/value cache. Throws for a context of 0 or past the model's, or
    /// fewer than 2 tokens.
    public func perplexity(
        tokens: [Int], context: Int = 256, progress: ((PerplexityProgress) -> Void)? = nil
    ) throws(ModelError) -> PerplexityResult {
        guard context >= 2 && context <= configuration.contextLength else {
            throw .invalidInput("context \(context) is outside 2...\(configuration.contextLength), the model's context")
        }
        guard tokens.count >= 2 else { throw .invalidInput("\(tokens.count) tokens: perplexity needs at least 2") }
        if let bad = tokens.first(where: { !(0..<configuration.vocabularySize).contains($0) }) {
            throw .invalidInput("token id \(bad) is outside the vocabulary of \(configuration.vocabularySize)")
        }
        let starts = Array(stride(from: 0, to: tokens.count, by: context))
        var result = PerplexityResult(tokens: tokens.count, scored: 0, context: context, totalNegativeLogLikelihood: 0)
        var caches = makeCaches(capacity: context)
        for (index, start) in starts.enumerated() {
            let window = Array(tokens[start..<min(start + context, tokens.count)])
            if window.count >= 2 {
                for layer in caches.indices { caches[layer].removeAll() }
                let hidden = hiddenStates(appending: window, caches: &caches)
                let targets = Array(window.dropFirst()) + [-1]
                let scores = projectedCrossEntropy(hidden: hidden, weight: headWeight, targets: targets, rowsPerChunk: Self.headRowsPerChunk,
                    computingGradient: false)
                result.totalNegativeLogLikelihood += scores.totalNegativeLogLikelihood
                result.scored += scores.scored
            }
            progress?(PerplexityProgress(windowsDone: index + 1, windows: starts.count, partial: result))
        }
        return result
    }
}
