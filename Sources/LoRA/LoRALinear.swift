import Foundation
import LinearAlgebra
import NN

/// A frozen linear layer with a trainable LoRA adapter, built on ``LoRAWeights``:
/// `H = X·Wᵀ + b + s·(dropout(X)·Aᵀ)·Bᵀ` for a batch `X: n×k` (rows are tokens), with the
/// frozen base `W: d×k`, optional bias `b: 1×d`, `A: r×k`, `B: d×r` and scaling `s`.
///
/// Backward, with `U = dropout(X)·Aᵀ` from the forward and `G = ∂L/∂H`:
/// `∂L/∂B += s·Gᵀ·U`, `∂L/∂U = s·G·B`, `∂L/∂A += (∂L/∂U)ᵀ·dropout(X)`,
/// `∂L/∂X = G·W + dropout′(∂L/∂U·A)`, `∂L/∂b += Σᵢ Gᵢ` when the bias trains. The base gets no
/// gradient and no optimizer state. Parameters are named as PEFT's: `base_layer.weight`
/// (read-only), `base_layer.bias`, `lora_A.weight`, `lora_B.weight`.
public final class LoRALinear<Scalar: MatrixScalar>: LinearLayer, TrainingModeSwitchable {
    /// Holds the weights, so parameters can read and update them without capturing the layer.
    ///
    /// An optimizer step writes `A` and then `B`, one parameter at a time; the new values wait
    /// here and reach ``LoRAWeights`` together, in one ``LoRAWeights/swapAdapter(a:b:scale:)``
    /// (one pack of the adapter kernel per step) when the weights are next read. Replicas share
    /// the storage and read it from several threads at once, hence the lock.
    private final class Storage {
        private var current: LoRAWeights<Scalar>
        private var pending: (a: Matrix<Scalar>, b: Matrix<Scalar>)?
        private let lock = NSLock()

        init(_ weights: LoRAWeights<Scalar>) { current = weights }

        var weights: LoRAWeights<Scalar> {
            lock.withLock {
                synchronize()
                return current
            }
        }

        var a: Matrix<Scalar> { lock.withLock { pending?.a ?? current.a } }
        var b: Matrix<Scalar> { lock.withLock { pending?.b ?? current.b } }

        func modifyA(_ body: (inout Matrix<Scalar>) -> Void) {
            lock.withLock {
                var factors = pending ?? (current.a, current.b)
                pending = nil  // so `factors` holds the only reference to a pending `A`, changed in place
                body(&factors.a)
                pending = factors
            }
        }

        func modifyB(_ body: (inout Matrix<Scalar>) -> Void) {
            lock.withLock {
                var factors = pending ?? (current.a, current.b)
                pending = nil
                body(&factors.b)
                pending = factors
            }
        }

        func modifyWeights(_ body: (inout LoRAWeights<Scalar>) -> Void) {
            lock.withLock {
                synchronize()
                body(&current)
            }
        }

        private func synchronize() {
            guard let (a, b) = pending else { return }
            pending = nil
            current.swapAdapter(a: a, b: b, scale: current.scale)
        }
    }

    private let storage: Storage
    /// The frozen base `W` (read-only).
    public let baseWeight: Parameter<Scalar>
    /// The base layer's bias `b: 1×d`, if any (frozen unless bias training is on).
    public let bias: Parameter<Scalar>?
    /// `A: r×k`.
    public let loraA: Parameter<Scalar>
    /// `B: d×r`.
    public let loraB: Parameter<Scalar>
    /// The probability that dropout zeroes an input element of the adapter path.
    public let dropoutProbability: Scalar
    /// Whether dropout is applied (training) or not (evaluation).
    public var isTraining = true
    private var dropoutGenerator: SeededGenerator
    private var input = Matrix<Scalar>.zeros(0, 0)
    private var adapterInput = Matrix<Scalar>.zeros(0, 0)
    private var dropoutMask: [Scalar] = []
    /// `Tᵀ = A·Xᵀ` (`r×n`) from the last forward.
    private var projected = Matrix<Scalar>.zeros(0, 0)
    private var projectedGradient = Matrix<Scalar>.zeros(0, 0)

    /// A layer from `weights` and the base layer's `bias`: `A` and `B` trainable, `W` frozen, the
    /// bias trainable only when `trainBias` is set.
    public convenience init(
        weights: LoRAWeights<Scalar>, bias: Parameter<Scalar>?, trainBias: Bool = false,
        dropout: Scalar = 0, dropoutSeed: UInt64 = 0
    ) {
        precondition(dropout >= 0 && dropout < 1, "LoRALinear: dropout \(dropout) outside [0, 1)")
        if let bias {
            precondition(bias.value.rows == 1 && bias.value.columns == weights.outFeatures,
                         "LoRALinear: bias \(bias.value.shapeDescription) does not fit W \(weights.base.shapeDescription)")
        }
        bias?.isTrainable = trainBias
        self.init(storage: Storage(weights), bias: bias, trainA: true, trainB: true, dropout: dropout, dropoutSeed: dropoutSeed)
    }

    private init(storage: Storage, bias: Parameter<Scalar>?, trainA: Bool, trainB: Bool, dropout: Scalar, dropoutSeed: UInt64) {
        self.storage = storage
        baseWeight = Parameter(get: { storage.weights.base }, modify: nil, trainable: false)
        loraA = Parameter(get: { storage.a }, modify: { storage.modifyA($0) }, trainable: trainA)
        loraB = Parameter(get: { storage.b }, modify: { storage.modifyB($0) }, trainable: trainB)
        self.bias = bias
        dropoutProbability = dropout
        dropoutGenerator = SeededGenerator(seed: dropoutSeed)
    }

    /// The weights `W`, `A`, `B`, `s` and the merged flag.
    public var weights: LoRAWeights<Scalar> { storage.weights }
    public var inFeatures: Int { storage.weights.inFeatures }
    public var outFeatures: Int { storage.weights.outFeatures }
    public var rank: Int { storage.weights.rank }
    public var scale: Scalar { storage.weights.scale }
    public var isMerged: Bool { storage.weights.isMerged }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("base_layer.weight", baseWeight)] + (bias.map { [("base_layer.bias", $0)] } ?? [])
            + [("lora_A.weight", loraA), ("lora_B.weight", loraB)]
    }

    public var children: [(name: String, module: any Module<Scalar>)] { [] }

    /// A layer on the same weights (merging either merges both) with its own gradients, caches
    /// and dropout masks (seeded from this layer's mask sequence).
    public func replica() -> LoRALinear {
        let replica = LoRALinear(
            storage: storage, bias: bias?.replica(), trainA: loraA.isTrainable, trainB: loraB.isTrainable,
            dropout: dropoutProbability, dropoutSeed: dropoutGenerator.next())
        replica.isTraining = isTraining
        return replica
    }

    /// `W ← W + s·B·A` in place (one GEMM); the forward is then a single GEMM.
    public func merge() { storage.modifyWeights { $0.merge() } }

    /// `W ← W − s·B·A` in place (one GEMM).
    public func unmerge() { storage.modifyWeights { $0.unmerge() } }

    /// Restarts the dropout mask sequence from `seed` (for reproducible runs and gradient checks).
    public func reseedDropout(_ seed: UInt64) { dropoutGenerator = SeededGenerator(seed: seed) }

    private var dropoutIsActive: Bool { isTraining && dropoutProbability > 0 && !isMerged }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        let (n, r) = (input.rows, rank)
        precondition(input.columns == inFeatures,
                     "LoRALinear.forward: X \(input.shapeDescription) does not fit W \(weights.base.shapeDescription)")
        self.input = input
        if projected.rows != r || projected.columns != n { projected = .zeros(r, n) }
        var output = Matrix<Scalar>.unsafeUninitialized(n, outFeatures)
        if dropoutIsActive {
            adapterInput = drop(input)
            Matrix.gemm(input, storage.weights.base, transposeB: .transposed, into: &output)
            storage.weights.addAdapter(adapterInput, to: &output, workspace: &projected)
        } else {
            adapterInput = input
            storage.weights.forward(input, into: &output, workspace: &projected)
        }
        if let bias { output.addToEachRow(bias.value) }
        return output
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        accumulateParameterGradients(outputGradient)
        let weights = storage.weights
        var inputGradient = Matrix<Scalar>.unsafeUninitialized(input.rows, inFeatures)
        Matrix.gemm(outputGradient, weights.base, into: &inputGradient)
        if dropoutIsActive {
            var adapterGradient = Matrix<Scalar>.unsafeUninitialized(input.rows, inFeatures)
            Matrix.gemm(projectedGradient, weights.a, into: &adapterGradient)
            applyDropoutMask(to: &adapterGradient)
            inputGradient.axpy(1, adapterGradient)
        } else {
            Matrix.gemm(projectedGradient, weights.a, beta: 1, into: &inputGradient)
        }
        return inputGradient
    }

    /// `∂L/∂A`, `∂L/∂B` (and `∂L/∂b`) as ``backward(_:)``, without `∂L/∂X`; leaves
    /// `∂L/∂U = s·G·B` for the input gradient.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        precondition(!isMerged, "LoRALinear.backward: unmerge before training")
        let (n, r) = (input.rows, rank)
        precondition(outputGradient.rows == n && outputGradient.columns == outFeatures,
                     "LoRALinear.backward: ∂L/∂H \(outputGradient.shapeDescription), forward gave \(n)×\(outFeatures)")
        let weights = storage.weights
        if let bias, bias.isTrainable { bias.modifyGradient { $0.addColumnSums(of: outputGradient) } }
        if loraB.isTrainable {
            loraB.modifyGradient {
                Matrix.gemm(
                    outputGradient, projected, transposeA: .transposed, transposeB: .transposed,
                    alpha: weights.scale, beta: 1, into: &$0)
            }
        }
        if projectedGradient.rows != n || projectedGradient.columns != r { projectedGradient = .zeros(n, r) }
        Matrix.gemm(outputGradient, weights.b, alpha: weights.scale, into: &projectedGradient)
        if loraA.isTrainable {
            loraA.modifyGradient {
                Matrix.gemm(projectedGradient, adapterInput, transposeA: .transposed, beta: 1, into: &$0)
            }
        }
    }

    /// `X ⊙ M/(1 − p)` with a fresh mask `M` of Bernoulli(1 − p) entries, kept for backward.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func drop(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
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
