import NN

/// A next-token language model the trainer can fine-tune: a module whose loss on token
/// sequences it can compute and back-propagate.
public protocol CausalLanguageModel: Module {
    /// The next-token cross-entropy of `tokens`, laid out as consecutive sequences of
    /// `sequenceLength` (causal within each), against `targets` (one per token; `< 0` is not
    /// scored); with `accumulatingGradients`, back-propagates the mean into the trainable
    /// parameters' gradients.
    func loss(tokens: [Int], targets: [Int], sequenceLength: Int, accumulatingGradients: Bool) -> ProjectedCrossEntropy<Scalar>
}

/// Token sequences with their next-token targets: `n` sequences of `T` tokens, row-major.
public struct TokenBatch: TrainingBatch, Sendable, Equatable {
    /// `n·T` input ids.
    public var tokens: [Int]
    /// `n·T` target ids (`< 0`: not scored).
    public var targets: [Int]
    /// `T`.
    public var sequenceLength: Int

    public init(tokens: [Int], targets: [Int], sequenceLength: Int) {
        precondition(tokens.count == targets.count && sequenceLength > 0 && tokens.count % sequenceLength == 0,
                     "TokenBatch: \(tokens.count) tokens, \(targets.count) targets, sequences of \(sequenceLength)")
        self.tokens = tokens
        self.targets = targets
        self.sequenceLength = sequenceLength
    }

    public var exampleCount: Int { tokens.count / sequenceLength }
    public var tokenCount: Int { tokens.count }
    /// The scored targets: the loss is their mean.
    public var lossWeight: Double { Double(targets.count { $0 >= 0 }) }

    public func examples(_ range: Range<Int>) -> TokenBatch {
        let slice = (range.lowerBound * sequenceLength)..<(range.upperBound * sequenceLength)
        return TokenBatch(tokens: Array(tokens[slice]), targets: Array(targets[slice]), sequenceLength: sequenceLength)
    }
}

/// The mean next-token cross-entropy of a ``CausalLanguageModel`` on ``TokenBatch``es.
public struct LanguageModelObjective<Model: CausalLanguageModel>: TrainingObjective {
    public init() {}

    public func loss(of model: Model, on batch: TokenBatch, accumulatingGradients: Bool) -> Double {
        model.loss(
            tokens: batch.tokens, targets: batch.targets, sequenceLength: batch.sequenceLength,
            accumulatingGradients: accumulatingGradients
        ).meanNegativeLogLikelihood
    }
}
