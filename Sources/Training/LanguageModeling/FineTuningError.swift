/// A fine-tuning run that cannot go on.
public enum FineTuningError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The loss of `step` (counted from 1) overflowed: the run diverged, and nothing of it is saved.
    case nonFiniteLoss(step: Int, loss: Double)

    public var description: String {
        switch self {
        case let .nonFiniteLoss(step, loss):
            "step \(step): the training loss is \(loss.isNaN ? "not a number" : "infinite") (the run diverged; a smaller learning rate or adapter scale may help)"
        }
    }
}
