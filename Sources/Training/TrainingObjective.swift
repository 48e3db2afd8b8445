import NN

/// A batch of training examples, splittable into parts for data parallelism.
public protocol TrainingBatch {
    /// Number of examples (e.g. sequences): the unit a batch is split by.
    var exampleCount: Int { get }
    /// Tokens in the batch, for throughput.
    var tokenCount: Int { get }
    /// What the batch's loss is a mean over (examples, or scored tokens): a part's share of the
    /// batch's loss and gradients is its weight over the batch's.
    var lossWeight: Double { get }
    /// Examples `range` as a batch of their own.
    func examples(_ range: Range<Int>) -> Self
}

/// A model's loss on a batch, with its backward pass: what ``Trainer`` minimises.
///
/// The loss is a mean over the batch's ``TrainingBatch/lossWeight``, so the loss of a batch is
/// `Σᵢ (wᵢ/w)·Lᵢ` over any split into parts of weight `wᵢ`, and so are its gradients.
public protocol TrainingObjective<Model> {
    associatedtype Model: Module
    associatedtype Batch: TrainingBatch
    /// The mean loss of `model` on `batch`; with `accumulatingGradients`, back-propagates it into
    /// the gradients of the model's trainable parameters (added to what they hold).
    func loss(of model: Model, on batch: Batch, accumulatingGradients: Bool) -> Double
}

extension TrainingBatch {
    /// Rank `rank`'s examples among `ranks` processes: `⌊r·n/R⌋ ..< ⌊(r+1)·n/R⌋` of the `n`, so
    /// the shares are disjoint, cover the batch and depend on nothing but `n`, `r` and `R`.
    public func share(_ rank: Int, of ranks: Int) -> Self {
        examples(Training.share(of: exampleCount, rank: rank, ranks: ranks))
    }
}
