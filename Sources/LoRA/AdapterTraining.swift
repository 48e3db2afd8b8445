import Foundation
import LinearAlgebra
import NN

/// What holds a trainable adapter: `A`, `B`, `s` and a way to replace them together.
protocol AdapterSwapping: Sendable {
    associatedtype Scalar: MatrixScalar
    var a: Matrix<Scalar> { get }
    var b: Matrix<Scalar> { get }
    var scale: Scalar { get }
    mutating func swapAdapter(a: Matrix<Scalar>, b: Matrix<Scalar>, scale: Scalar)
}

extension LoRAWeights: AdapterSwapping {}

extension LoRAAdapter: AdapterSwapping {
    mutating func swapAdapter(a newA: Matrix<Scalar>, b newB: Matrix<Scalar>, scale newScale: Scalar) {
        precondition(
            newA.columns == inFeatures && newB.rows == outFeatures,
            "LoRAAdapter.swapAdapter: A \(newA.shapeDescription), B \(newB.shapeDescription) do not fit \(outFeatures)×\(inFeatures)")
        self = LoRAAdapter(a: newA, b: newB, scale: newScale)
    }
}

/// New `A` and `B` written between two reads of an adapter's weights (an optimizer step writes
/// them one at a time), to be swapped in together.
struct PendingFactors<Scalar: MatrixScalar> {
    /// Which factor a write changes.
    enum Factor { case a, b }

    private(set) var factors: (a: Matrix<Scalar>, b: Matrix<Scalar>)?

    /// Changes `factor` in place, starting from the pending pair or else `current`.
    mutating func modify(_ factor: Factor, of current: (a: Matrix<Scalar>, b: Matrix<Scalar>), _ body: (inout Matrix<Scalar>) -> Void) {
        var pair = factors ?? current
        factors = nil  // so `pair` holds the only reference to a pending factor, changed in place
        switch factor {
        case .a: body(&pair.a)
        case .b: body(&pair.b)
        }
        factors = pair
    }

    /// The pending pair, if any, leaving none.
    mutating func take() -> (a: Matrix<Scalar>, b: Matrix<Scalar>)? {
        defer { factors = nil }
        return factors
    }
}

/// Holds an adapted layer's weights, so parameters can read and update them without capturing
/// the layer.
///
/// An optimizer step writes `A` and then `B`, one parameter at a time; the new values wait here
/// and reach the weights together, in one `swapAdapter` (one pack of the adapter kernel per step)
/// when the weights are next read. Replicas share the storage and read it from several threads at
/// once, hence the lock.
final class AdapterStorage<Weights: AdapterSwapping> {
    typealias Scalar = Weights.Scalar
    private var current: Weights
    private var pending = PendingFactors<Scalar>()
    private let lock = NSLock()

    init(_ weights: Weights) { current = weights }

    var weights: Weights {
        lock.withLock {
            synchronize()
            return current
        }
    }

    var a: Matrix<Scalar> { lock.withLock { pending.factors?.a ?? current.a } }
    var b: Matrix<Scalar> { lock.withLock { pending.factors?.b ?? current.b } }

    func modify(_ factor: PendingFactors<Scalar>.Factor, _ body: (inout Matrix<Scalar>) -> Void) {
        lock.withLock { pending.modify(factor, of: (current.a, current.b), body) }
    }

    func modifyWeights(_ body: (inout Weights) -> Void) {
        lock.withLock {
            synchronize()
            body(&current)
        }
    }

    private func synchronize() {
        guard let (a, b) = pending.take() else { return }
        current.swapAdapter(a: a, b: b, scale: current.scale)
    }
}

/// The training side of an adapter path `s·(dropout(X)·Aᵀ)·Bᵀ`, whatever the base: dropout on
/// its input, the caches of the forward, and the gradients.
///
/// With `U = dropout(X)·Aᵀ` from the forward and `G = ∂L/∂H`: `∂L/∂B += s·Gᵀ·U`,
/// `∂L/∂U = s·G·B`, `∂L/∂A += (∂L/∂U)ᵀ·dropout(X)`, and the path's share of `∂L/∂X`,
/// `dropout′(∂L/∂U·A)`.
struct AdapterPath<Scalar: MatrixScalar> {
    /// The probability that dropout zeroes an input element of the adapter path.
    let dropoutProbability: Scalar
    private(set) var dropoutGenerator: SeededGenerator
    private(set) var input = Matrix<Scalar>.zeros(0, 0)
    private(set) var adapterInput = Matrix<Scalar>.zeros(0, 0)
    private var dropoutMask: [Scalar] = []
    /// `Tᵀ = A·Xᵀ` (`r×n`) from the last forward.
    var projected = Matrix<Scalar>.zeros(0, 0)
    private var projectedGradient = Matrix<Scalar>.zeros(0, 0)

    init(dropout: Scalar, seed: UInt64) {
        precondition(dropout >= 0 && dropout < 1, "LoRA dropout \(dropout) outside [0, 1)")
        dropoutProbability = dropout
        dropoutGenerator = SeededGenerator(seed: seed)
    }

    /// Restarts the dropout mask sequence from `seed`.
    mutating func reseed(_ seed: UInt64) { dropoutGenerator = SeededGenerator(seed: seed) }

    /// A seed for a replica's masks, drawn from this path's sequence.
    mutating func replicaSeed() -> UInt64 { dropoutGenerator.next() }

    /// Caches `X` and returns the adapter's input, `dropout(X)` when `dropping` (a fresh mask) or
    /// `X`; sizes the `r×n` projection workspace.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func begin(_ x: Matrix<Scalar>, rank r: Int, dropping: Bool) -> Matrix<Scalar> {
        input = x
        if projected.rows != r || projected.columns != x.rows { projected = .zeros(r, x.rows) }
        adapterInput = dropping ? drop(x) : x
        return adapterInput
    }

    /// `∂L/∂A` and `∂L/∂B` for the trainable ones, leaving `∂L/∂U = s·G·B` for ``addInputGradient(into:a:dropping:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func accumulateGradients(
        _ outputGradient: Matrix<Scalar>, a: Matrix<Scalar>, b: Matrix<Scalar>, scale: Scalar,
        loraA: Parameter<Scalar>, loraB: Parameter<Scalar>
    ) {
        let (n, r) = (input.rows, a.rows)
        if loraB.isTrainable {
            let projected = projected
            loraB.modifyGradient {
                Matrix.gemm(
                    outputGradient, projected, transposeA: .transposed, transposeB: .transposed, alpha: scale, beta: 1,
                    into: &$0)
            }
        }
        if projectedGradient.rows != n || projectedGradient.columns != r { projectedGradient = .zeros(n, r) }
        Matrix.gemm(outputGradient, b, alpha: scale, into: &projectedGradient)
        if loraA.isTrainable {
            let (projectedGradient, adapterInput) = (projectedGradient, adapterInput)
            loraA.modifyGradient { Matrix.gemm(projectedGradient, adapterInput, transposeA: .transposed, beta: 1, into: &$0) }
        }
    }

    /// `∂L/∂X += dropout′(∂L/∂U·A)`, after ``accumulateGradients(_:a:b:scale:loraA:loraB:)``;
    /// `addingInsideDropout` adds further terms of the adapter path's input gradient before the mask.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func addInputGradient(
        into inputGradient: inout Matrix<Scalar>, a: Matrix<Scalar>, dropping: Bool,
        addingInsideDropout extra: ((inout Matrix<Scalar>) -> Void)? = nil
    ) {
        if dropping {
            var adapterGradient = Matrix<Scalar>.unsafeUninitialized(input.rows, a.columns)
            Matrix.gemm(projectedGradient, a, into: &adapterGradient)
            extra?(&adapterGradient)
            applyDropoutMask(to: &adapterGradient)
            inputGradient.axpy(1, adapterGradient)
        } else {
            Matrix.gemm(projectedGradient, a, beta: 1, into: &inputGradient)
        }
    }

    /// `X ⊙ M/(1 − p)` with a fresh mask `M` of Bernoulli(1 − p) entries, kept for backward.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private mutating func drop(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
        let keep = 1 / (1 - dropoutProbability)
        let p = Double(dropoutProbability)
        dropoutMask = (0..<x.count).map { _ in Double.random(in: 0..<1, using: &dropoutGenerator) < p ? 0 : keep }
        var dropped = x
        applyDropoutMask(to: &dropped)
        return dropped
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func applyDropoutMask(to x: inout Matrix<Scalar>) {
        dropoutMask.withUnsafeBufferPointer { mask in
            x.withUnsafeMutableBufferPointer { values in
                for i in 0..<values.count { values[i] *= mask[i] }
            }
        }
    }
}
