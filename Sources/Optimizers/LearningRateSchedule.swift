import Foundation

/// A learning-rate factor per step: linear warm-up, then constant, linear or cosine decay
/// (the schedules of Hugging Face's `get_{constant,linear,cosine}_schedule_with_warmup`).
///
/// For step `s` (the number of updates already taken), warm-up steps `w` and total steps `T`:
/// `f(s) = s/w` while `s < w`; afterwards, with progress `p = min(1, (s − w)/(T − w))`
/// (so the rate stays at its end value past `T`),
/// constant: `1`; linear: `max(0, 1 − p)`; cosine: `max(0, ½(1 + cos πp))`.
public struct LearningRateSchedule: Sendable, Equatable {
    /// The shape after warm-up.
    public enum Decay: String, Sendable, CaseIterable, Codable {
        case constant, linear, cosine
    }

    /// `w`, the steps of linear warm-up from 0.
    public var warmupSteps: Int
    /// `T`, the steps of the whole run.
    public var totalSteps: Int
    public var decay: Decay

    /// A schedule of `totalSteps` steps: a linear warm-up over the first `warmupSteps`, then `decay`.
    public init(warmupSteps: Int = 0, totalSteps: Int, decay: Decay) {
        precondition(warmupSteps >= 0 && totalSteps >= warmupSteps,
                     "LearningRateSchedule: warm-up \(warmupSteps) steps, total \(totalSteps)")
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
    }

    /// The factor `f(s)` multiplying every group's learning rate at step `s`.
    public func factor(atStep step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(warmupSteps) }
        let progress = min(1, Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps)))
        switch decay {
        case .constant: return 1
        case .linear: return max(0, 1 - progress)
        case .cosine: return max(0, (1 + cos(Double.pi * progress)) / 2)
        }
    }
}
