import Foundation
import LinearAlgebra

/// How the next token is drawn from the logits `z` (`V` of them), in Hugging Face's order:
/// temperature `τ` (`p ∝ e^{z/τ}`; `τ = 0` is greedy, the first largest logit), then top-k (the
/// `k` largest logits survive, ties at the boundary included), then top-p (the smallest set of
/// the most probable tokens whose probabilities sum to at least `p` survive, at least one), then
/// one draw from the renormalised survivors with a seeded generator, so a seed fixes the output.
public struct SamplingOptions: Sendable, Equatable {
    /// `τ ≥ 0`; 0 is greedy.
    public var temperature: Double
    /// Keep the `k` largest logits (`nil` or 0: all).
    public var topK: Int?
    /// Keep the nucleus of probability `p ∈ (0, 1]` (1: all).
    public var topP: Double
    /// The generator's seed.
    public var seed: UInt64

    public init(temperature: Double = 0, topK: Int? = nil, topP: Double = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingOptions()

    /// Throws for a negative or non-finite temperature, `k < 0`, or `p` outside `(0, 1]`.
    public func validate() throws(ModelError) {
        guard temperature >= 0 && temperature.isFinite else { throw .invalidInput("temperature \(temperature) is not a finite number ≥ 0") }
        if let topK, topK < 0 { throw .invalidInput("top-k \(topK) is negative") }
        guard topP > 0 && topP <= 1 else { throw .invalidInput("top-p \(topP) is not in (0, 1]") }
    }
}

/// Draws token ids from logits by ``SamplingOptions``.
public struct TokenSampler: Sendable {
    public let options: SamplingOptions
    private var generator: SeededGenerator

    public init(_ options: SamplingOptions) {
        self.options = options
        generator = SeededGenerator(seed: options.seed)
    }

    /// The next token for `logits`.
    public mutating func next(_ logits: [Float]) -> Int {
        precondition(!logits.isEmpty, "TokenSampler: no logits")
        guard options.temperature > 0 else { return Self.argmax(logits) }
        let candidates = Self.candidates(logits, options: options)
        var u = Double.random(in: 0..<1, using: &generator) * candidates.reduce(0) { $0 + $1.probability }
        for candidate in candidates {
            u -= candidate.probability
            if u < 0 { return candidate.id }
        }
        return candidates.last!.id
    }

    /// The first index of the largest logit.
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return best
    }

    /// The tokens that survive temperature, top-k and top-p with their unnormalised
    /// probabilities `e^{(zᵢ − max z)/τ}`: by id, or most probable first when top-p applied.
    public static func candidates(_ logits: [Float], options: SamplingOptions) -> [(id: Int, probability: Double)] {
        let maximum = Double(logits.max()!)
        let scale = 1 / max(options.temperature, .leastNormalMagnitude)
        var survivors = Array(logits.indices)
        if let k = options.topK, k > 0, k < logits.count {
            let boundary = kthLargest(logits, k)
            survivors = survivors.filter { logits[$0] >= boundary }
        }
        var result = survivors.map { (id: $0, probability: exp((Double(logits[$0]) - maximum) * scale)) }
        guard options.topP < 1 else { return result }
        let total = result.reduce(0) { $0 + $1.probability }
        // A token survives only if the tokens at or below its probability hold ≥ (1 − p) of the
        // mass, which they cannot when count·pᵢ < (1 − p)·total: dropping those first leaves
        // few to sort.
        let floor = (1 - options.topP) * total / Double(result.count)
        result = result.filter { $0.probability >= floor }
        result.sort { $0.probability > $1.probability || ($0.probability == $1.probability && $0.id < $1.id) }
        var cumulative = 0.0
        var keep = 0
        while keep < result.count && cumulative < options.topP * total {
            cumulative += result[keep].probability
            keep += 1
        }
        return Array(result.prefix(max(keep, 1)))
    }

    /// The `k`-th largest value (`1 ≤ k < count`), in one pass keeping the `k` largest sorted.
    private static func kthLargest(_ values: [Float], _ k: Int) -> Float {
        var top = values.prefix(k).sorted(by: >)
        for value in values.dropFirst(k) where value > top[k - 1] {
            let index = top.firstIndex { value > $0 }!
            top.insert(value, at: index)
            top.removeLast()
        }
        return top[k - 1]
    }
}
