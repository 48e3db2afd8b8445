import Foundation
import LinearAlgebra
import NN

/// What ``LlamaForCausalLM/generate(prompt:maximumNewTokens:sampling:stopTokens:onToken:)`` produced.
public struct GenerationResult: Sendable, Equatable {
    /// Why generation ended.
    public enum StopReason: Sendable, Equatable {
        /// A stop token was drawn (it is the last of ``GenerationResult/newIDs``).
        case stopToken(Int)
        /// ``GenerationResult/newIDs`` reached the maximum.
        case maximumTokens
        /// The model's context is full.
        case contextFull
        /// The `onToken` callback asked to stop.
        case stoppedByCaller
    }

    public var promptIDs: [Int]
    /// The generated ids, a stop token included.
    public var newIDs: [Int]
    public var stopReason: StopReason
    /// Seconds of the prompt's forward (to the first logits).
    public var promptSeconds: Double
    /// Seconds from the first logits to the end: every draw and one-token step.
    public var generationSeconds: Double

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptIDs.count) / promptSeconds : 0 }
    public var generationTokensPerSecond: Double { generationSeconds > 0 ? Double(newIDs.count) / generationSeconds : 0 }
}

extension LlamaForCausalLM {
    /// Continues `prompt` token by token with a key/value cache: one forward of the whole
    /// prompt, then one forward of each drawn token at its position, drawing by `sampling`
    /// until a token of `stopTokens` (kept as the last id), `maximumNewTokens`, or the end of the
    /// context. `onToken` sees each new id as it is drawn and may return `false` to stop.
    @_specialize(where Scalar == Float)
    public func generate(
        prompt: [Int], maximumNewTokens: Int, sampling: SamplingOptions = .greedy, stopTokens: Set<Int> = [],
        onToken: ((Int) -> Bool)? = nil
    ) throws(ModelError) -> GenerationResult {
        try sampling.validate()
        guard !prompt.isEmpty else { throw .invalidInput("the prompt has no tokens") }
        guard prompt.count < configuration.contextLength else {
            throw .invalidInput("the prompt's \(prompt.count) tokens fill the model's context of \(configuration.contextLength)")
        }
        if let bad = prompt.first(where: { !(0..<configuration.vocabularySize).contains($0) }) {
            throw .invalidInput("token id \(bad) is outside the vocabulary of \(configuration.vocabularySize)")
        }
        guard maximumNewTokens >= 0 else { throw .invalidInput("maximum new tokens \(maximumNewTokens) is negative") }
        var sampler = TokenSampler(sampling)
        let capacity = prompt.count + min(maximumNewTokens, configuration.contextLength - prompt.count)
        var caches = makeCaches(capacity: capacity)
        let clock = ContinuousClock()
        let start = clock.now
        var logits = maximumNewTokens > 0 ? nextTokenLogits(appending: prompt, caches: &caches) : []
        let promptEnd = clock.now
        var newIDs: [Int] = []
        var reason = GenerationResult.StopReason.maximumTokens
        while newIDs.count < maximumNewTokens {
            let id = sampler.next(logits.map { Float($0) })
            newIDs.append(id)
            if onToken?(id) == false {
                reason = .stoppedByCaller
                break
            }
            if stopTokens.contains(id) {
                reason = .stopToken(id)
                break
            }
            guard newIDs.count < maximumNewTokens else { break }
            guard caches[0].count < configuration.contextLength else {
                reason = .contextFull
                break
            }
            logits = nextTokenLogits(appending: [id], caches: &caches)
        }
        let end = clock.now
        return GenerationResult(
            promptIDs: prompt, newIDs: newIDs, stopReason: reason, promptSeconds: (promptEnd - start) / .seconds(1),
            generationSeconds: (end - promptEnd) / .seconds(1))
    }
}
