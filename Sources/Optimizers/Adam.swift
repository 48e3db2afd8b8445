import Foundation
import NN
import LinearAlgebra

/// Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019), as PyTorch's `torch.optim.Adam`
/// and `torch.optim.AdamW`.
///
/// Per step `t = 1, 2, …` and trainable parameter `θ` with gradient `g` (parameters no backward
/// pass has reached yet, with no gradient, are skipped as in PyTorch), group learning rate
/// `η` (times the schedule's factor) and weight decay `λ`:
/// - Adam (L2 decay): `g ← g + λθ`; AdamW (decoupled): `θ ← θ·(1 − ηλ)`;
/// - `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`;
/// - with bias correction (the default): `θ ← θ − η·(m/(1 − β₁ᵗ)) / (√(v/(1 − β₂ᵗ)) + ε)`;
///   without: `θ ← θ − η·m/(√v + ε)`.
///
/// Bias correction undoes the pull of `m` and `v` towards their zero start: the first step
/// moves every coordinate by about `η`, whatever the gradient's scale. State (`m`, `v`) exists
/// only for parameters that are trainable when the optimizer is made; frozen ones are skipped.
public final class Adam<Scalar: MatrixScalar> {
    /// How weight decay enters the update.
    public enum WeightDecayMode: Sendable {
        /// Added to the gradient (`torch.optim.Adam`).
        case l2
        /// Applied to the weights directly (`torch.optim.AdamW`).
        case decoupled
    }

    /// The parameter groups, trainable parameters only.
    public private(set) var groups: [ParameterGroup<Scalar>]
    /// `β₁`, the decay of the first moment `m`.
    public let beta1: Double
    /// `β₂`, the decay of the second moment `v`.
    public let beta2: Double
    /// `ε`, added to `√v̂`.
    public let epsilon: Double
    /// The weight decay of groups that do not set their own.
    public let weightDecay: Double
    public let weightDecayMode: WeightDecayMode
    /// Whether `m` and `v` are divided by `1 − β₁ᵗ` and `1 − β₂ᵗ` (on by default, as PyTorch).
    public let biasCorrection: Bool
    /// The learning-rate schedule; `nil` keeps every group's rate constant.
    public var schedule: LearningRateSchedule?
    /// Updates taken so far.
    public private(set) var stepCount = 0
    private var firstMoments: [[Matrix<Scalar>]]
    private var secondMoments: [[Matrix<Scalar>]]

    /// An optimizer over `groups` (frozen parameters are dropped).
    public init(
        groups: [ParameterGroup<Scalar>], beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        weightDecay: Double = 0, weightDecayMode: WeightDecayMode = .l2, biasCorrection: Bool = true,
        schedule: LearningRateSchedule? = nil
    ) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: β₁ = \(beta1), β₂ = \(beta2) must be in [0, 1)")
        self.groups = groups.map { group in
            var trainable = group
            trainable.parameters = group.parameters.filter(\.isTrainable)
            return trainable
        }
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.weightDecayMode = weightDecayMode
        self.biasCorrection = biasCorrection
        self.schedule = schedule
        firstMoments = self.groups.map { $0.parameters.map { .zeros($0.value.rows, $0.value.columns) } }
        secondMoments = firstMoments
    }

    /// AdamW with PyTorch's defaults (`λ = 0.01`, decoupled).
    public static func adamW(
        groups: [ParameterGroup<Scalar>], beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        weightDecay: Double = 0.01, biasCorrection: Bool = true, schedule: LearningRateSchedule? = nil
    ) -> Adam {
        Adam(groups: groups, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
             weightDecayMode: .decoupled, biasCorrection: biasCorrection, schedule: schedule)
    }

    /// The moments and the step count, for a checkpoint: `m` and `v` of every parameter, group by
    /// group in order.
    public var state: AdamState<Scalar> {
        AdamState(stepCount: stepCount, firstMoments: firstMoments.flatMap { $0 }, secondMoments: secondMoments.flatMap { $0 })
    }

    /// Continues from a checkpoint's ``state``: the same groups and shapes are a programmer's
    /// promise (checked, with both shapes in the message).
    public func restore(_ state: AdamState<Scalar>) {
        let shapes = firstMoments.flatMap { $0.map(\.shapeDescription) }
        precondition(
            state.firstMoments.map(\.shapeDescription) == shapes && state.secondMoments.map(\.shapeDescription) == shapes,
            "Adam.restore: moments \(state.firstMoments.map(\.shapeDescription)) for parameters \(shapes)")
        var index = 0
        for g in firstMoments.indices {
            for p in firstMoments[g].indices {
                firstMoments[g][p] = state.firstMoments[index]
                secondMoments[g][p] = state.secondMoments[index]
                index += 1
            }
        }
        stepCount = state.stepCount
    }

    /// Scalars of optimizer state (`m` and `v`).
    public var stateCount: Int { firstMoments.joined().reduce(0) { $0 + 2 * $1.count } }

    /// The learning rate group `index` uses for the next step.
    public func learningRate(ofGroup index: Int) -> Double {
        groups[index].learningRate * (schedule?.factor(atStep: stepCount) ?? 1)
    }

    /// Takes one step with the current gradients.
    public func step() {
        let t = Double(stepCount + 1)
        let correction1 = biasCorrection ? 1 - pow(beta1, t) : 1
        let correction2 = biasCorrection ? 1 - pow(beta2, t) : 1
        for (g, group) in groups.enumerated() {
            let rate = learningRate(ofGroup: g)
            let decay = group.weightDecay ?? weightDecay
            for (p, parameter) in group.parameters.enumerated() {
                precondition(parameter.isTrainable,
                             "Adam.step: parameter \(p) of group \(group.name) was frozen after the optimizer was made")
                guard let gradient = parameter.gradient else { continue }  // no backward reached it yet
                parameter.modifyValue { value in
                    update(
                        &value, gradient: gradient, m: &firstMoments[g][p], v: &secondMoments[g][p],
                        rate: rate, decay: decay, correction1: correction1, correction2: correction2)
                }
            }
        }
        stepCount += 1
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func update(
        _ value: inout Matrix<Scalar>, gradient: Matrix<Scalar>, m: inout Matrix<Scalar>, v: inout Matrix<Scalar>,
        rate: Double, decay: Double, correction1: Double, correction2: Double
    ) {
        let (b1, b2, eps) = (Scalar(beta1), Scalar(beta2), Scalar(epsilon))
        let l2 = weightDecayMode == .l2 ? Scalar(decay) : 0
        let shrink = weightDecayMode == .decoupled ? Scalar(1 - rate * decay) : 1
        let stepSize = Scalar(rate / correction1)
        let inverseRootCorrection2 = Scalar(1 / correction2.squareRoot())
        value.withUnsafeMutableBufferPointer { theta in
            gradient.withUnsafeBufferPointer { grad in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        for i in 0..<theta.count {
                            let g = grad[i] + l2 * theta[i]
                            m[i] = b1 * m[i] + (1 - b1) * g
                            v[i] = b2 * v[i] + (1 - b2) * g * g
                            theta[i] = theta[i] * shrink - stepSize * m[i] / (v[i].squareRoot() * inverseRootCorrection2 + eps)
                        }
                    }
                }
            }
        }
    }

    /// Scales all gradients so their global norm `√(Σ‖g‖²)` is at most `maxNorm` (PyTorch's
    /// `clip_grad_norm_`: factor `maxNorm/(norm + 10⁻⁶)` when below 1). Returns the norm before
    /// clipping.
    @discardableResult
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func clipGradients(maxNorm: Double) -> Double {
        let parameters = groups.flatMap(\.parameters).filter { $0.gradient != nil }
        let norm = parameters.reduce(0.0) { total, parameter in
            let n = Double(parameter.gradient!.frobeniusNorm)
            return total + n * n
        }.squareRoot()
        let factor = maxNorm / (norm + 1e-6)
        if factor < 1 {
            for parameter in parameters { parameter.modifyGradient { $0 *= Scalar(factor) } }
        }
        return norm
    }
}

/// What ``Adam`` needs to continue where it stopped.
public struct AdamState<Scalar: MatrixScalar>: Sendable, Equatable {
    /// Steps taken.
    public var stepCount: Int
    /// `m` of every parameter, in the optimizer's group order.
    public var firstMoments: [Matrix<Scalar>]
    /// `v`, in the same order.
    public var secondMoments: [Matrix<Scalar>]

    public init(stepCount: Int, firstMoments: [Matrix<Scalar>], secondMoments: [Matrix<Scalar>]) {
        self.stepCount = stepCount
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}
