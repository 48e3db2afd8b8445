import Foundation
import LinearAlgebra
import NN

/// Which adapter a ``LoRALinear`` trains.
public enum LoRAVariant<Scalar: MatrixScalar>: Sendable {
    /// `ΔW = s·B·A`.
    case standard
    /// DoRA (``DoRA``): a trained magnitude `m: 1×d` on the direction `W + s·B·A`; `nil` starts it
    /// as PEFT does, at the row norms of `W + s·B·A`.
    case dora(magnitude: Matrix<Scalar>? = nil)
}

/// A frozen linear layer with a trainable LoRA adapter, built on ``LoRAWeights``:
/// `H = X·Wᵀ + b + s·(dropout(X)·Aᵀ)·Bᵀ` for a batch `X: n×k` (rows are tokens), with the
/// frozen base `W: d×k`, optional bias `b: 1×d`, `A: r×k`, `B: d×r` and scaling `s`.
///
/// Backward, with `U = dropout(X)·Aᵀ` from the forward and `G = ∂L/∂H`:
/// `∂L/∂B += s·Gᵀ·U`, `∂L/∂U = s·G·B`, `∂L/∂A += (∂L/∂U)ᵀ·dropout(X)`,
/// `∂L/∂X = G·W + dropout′(∂L/∂U·A)`, `∂L/∂b += Σᵢ Gᵢ` when the bias trains. The base gets no
/// gradient and no optimizer state. Parameters are named as PEFT's: `base_layer.weight`
/// (read-only), `base_layer.bias`, `lora_A.weight`, `lora_B.weight`, and for DoRA
/// `lora_magnitude_vector` (`m: 1×d`).
///
/// DoRA (``LoRAVariant/dora(magnitude:)``, maths in ``DoRA``): with `f = m/n`, `n = ‖W + s·B·A‖` per
/// row, `Z = dropout(X)·(W + s·B·A)ᵀ` and `P = dropout(X)·Wᵀ`, the layer computes
/// `H = X·Wᵀ + b + f⊙Z − P` (`f⊙Z + b` without dropout). `n` is a constant of the backward pass
/// (PEFT detaches it), so with `G_f = G⊙f`: `∂L/∂mⱼ += Σₜ GₜⱼZₜⱼ/nⱼ`, the LoRA gradients above with
/// `G_f` in place of `G`, and `∂L/∂X = G·W + dropout′((G_f − G)·W + ∂L/∂U·A)` (`G_f·W + ∂L/∂U·A`
/// without dropout). Merging folds `W ← diag(f)·(W + s·B·A)`, keeping `f` so unmerging inverts it.
public final class LoRALinear<Scalar: MatrixScalar>: LinearLayer, TrainingModeSwitchable {
    /// Holds the weights, so parameters can read and update them without capturing the layer.
    ///
    /// An optimizer step writes `A` and then `B`, one parameter at a time; the new values wait
    /// here and reach ``LoRAWeights`` together, in one ``LoRAWeights/swapAdapter(a:b:scale:)``
    /// (one pack of the adapter kernel per step) when the weights are next read. Replicas share
    /// the storage and read it from several threads at once, hence the lock.
    private final class Storage {
        private var current: LoRAWeights<Scalar>
        private var pending = PendingFactors<Scalar>()
        /// DoRA's magnitude `m: 1×d`; `nil` for plain LoRA.
        private var magnitudeValue: Matrix<Scalar>?
        /// `‖W + s·B·A‖` per row for the current `A`, `B` (computed at first use after a change),
        /// or the pinned values.
        private var norms: [Scalar]?
        private var normsArePinned = false
        /// While a DoRA layer is merged: its factors `f` and the rows of `W + s·B·A` they erased.
        private var doraMerge: (factors: [Scalar], erased: [Int: [Scalar]])?
        private let lock = NSLock()

        init(_ weights: LoRAWeights<Scalar>, magnitude: Matrix<Scalar>?) {
            current = weights
            magnitudeValue = magnitude
        }

        var weights: LoRAWeights<Scalar> {
            lock.withLock {
                synchronize()
                return current
            }
        }

        var a: Matrix<Scalar> { lock.withLock { pending.factors?.a ?? current.a } }
        var b: Matrix<Scalar> { lock.withLock { pending.factors?.b ?? current.b } }
        var magnitude: Matrix<Scalar>? { lock.withLock { magnitudeValue } }

        func modify(_ factor: PendingFactors<Scalar>.Factor, _ body: (inout Matrix<Scalar>) -> Void) {
            lock.withLock { pending.modify(factor, of: (current.a, current.b), body) }
        }

        func modifyMagnitude(_ body: (inout Matrix<Scalar>) -> Void) {
            lock.withLock {
                synchronize()
                whileUnmerged {
                    body(&magnitudeValue!)
                    precondition(magnitudeValue!.shape == (1, current.outFeatures),
                                 "LoRALinear: magnitude \(magnitudeValue!.shapeDescription), need 1×\(current.outFeatures)")
                }
            }
        }

        /// DoRA's `f = m/n` and `n` for the current weights (unmerged).
        var doraFactorsAndNorms: (factors: [Scalar], norms: [Scalar]) {
            lock.withLock {
                synchronize()
                let n = currentNorms()
                return (DoRA.factors(magnitude: magnitudeValue!.elements, norms: n), n)
            }
        }

        /// Keeps `n` at its current value while pinned, whatever `A` and `B` become.
        var pinsNorms: Bool {
            get { lock.withLock { normsArePinned } }
            set {
                lock.withLock {
                    synchronize()
                    precondition(!current.isMerged, "LoRALinear: pin the weight norm while unmerged")
                    norms = newValue ? currentNorms() : nil
                    normsArePinned = newValue
                }
            }
        }

        func merge() {
            lock.withLock {
                synchronize()
                mergeUnlocked()
            }
        }

        func unmerge() {
            lock.withLock {
                synchronize()
                unmergeUnlocked()
            }
        }

        private func mergeUnlocked() {
            guard let magnitudeValue else { return current.merge() }
            let factors = DoRA.factors(magnitude: magnitudeValue.elements, norms: currentNorms())
            doraMerge = (factors, current.merge(rowFactors: factors))
        }

        private func unmergeUnlocked() {
            guard let (factors, erased) = doraMerge else { return current.unmerge() }
            current.unmerge(rowFactors: factors, restoring: erased)
            doraMerge = nil
        }

        /// Runs `body` on unmerged DoRA weights, merging again afterwards if they were merged.
        /// (Plain LoRA's ``LoRAWeights/swapAdapter(a:b:scale:)`` handles its own merge state.)
        private func whileUnmerged(_ body: () -> Void) {
            let wasMerged = doraMerge != nil
            if wasMerged { unmergeUnlocked() }
            body()
            if wasMerged { mergeUnlocked() }
        }

        private func currentNorms() -> [Scalar] {
            if let norms { return norms }
            let computed = DoRA.rowNorms(of: current)
            norms = computed
            return computed
        }

        private func synchronize() {
            guard let (a, b) = pending.take() else { return }
            whileUnmerged {
                current.swapAdapter(a: a, b: b, scale: current.scale)
                if !normsArePinned { norms = nil }
            }
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
    /// DoRA's magnitude `m: 1×d` (`nil` for plain LoRA).
    public let magnitude: Parameter<Scalar>?
    /// The probability that dropout zeroes an input element of the adapter path.
    public var dropoutProbability: Scalar { path.dropoutProbability }
    /// Whether dropout is applied (training) or not (evaluation).
    public var isTraining = true
    /// Dropout, the forward's caches and the adapter's gradients.
    private var path: AdapterPath<Scalar>
    /// DoRA's `Z = dropout(X)·(W + s·B·A)ᵀ`, `f` and `n` from the last forward, and `G_f = G⊙f`
    /// from the last backward.
    private var direction = Matrix<Scalar>.zeros(0, 0)
    private var doraFactors: [Scalar] = []
    private var doraNorms: [Scalar] = []
    private var scaledOutputGradient = Matrix<Scalar>.zeros(0, 0)

    /// A layer from `weights` and the base layer's `bias`: `A` and `B` (and DoRA's `m`) trainable,
    /// `W` frozen, the bias trainable only when `trainBias` is set.
    public convenience init(
        weights: LoRAWeights<Scalar>, bias: Parameter<Scalar>?, trainBias: Bool = false,
        dropout: Scalar = 0, dropoutSeed: UInt64 = 0, variant: LoRAVariant<Scalar> = .standard
    ) {
        precondition(!weights.isMerged, "LoRALinear: the weights are merged; a layer starts unmerged")
        if let bias {
            precondition(bias.value.rows == 1 && bias.value.columns == weights.outFeatures,
                         "LoRALinear: bias \(bias.value.shapeDescription) does not fit W \(weights.base.shapeDescription)")
        }
        bias?.isTrainable = trainBias
        let magnitude: Matrix<Scalar>?
        switch variant {
        case .standard: magnitude = nil
        case let .dora(given):
            magnitude = given ?? Matrix(rows: 1, columns: weights.outFeatures, elements: DoRA.rowNorms(of: weights))
            precondition(magnitude!.shape == (1, weights.outFeatures),
                         "LoRALinear: DoRA magnitude \(magnitude!.shapeDescription) does not fit W \(weights.base.shapeDescription) (need 1×\(weights.outFeatures))")
        }
        self.init(storage: Storage(weights, magnitude: magnitude), bias: bias, trainable: (true, true, true),
                  dropout: dropout, dropoutSeed: dropoutSeed)
    }

    private init(
        storage: Storage, bias: Parameter<Scalar>?, trainable: (a: Bool, b: Bool, magnitude: Bool),
        dropout: Scalar, dropoutSeed: UInt64
    ) {
        self.storage = storage
        baseWeight = Parameter(get: { storage.weights.base }, modify: nil, trainable: false)
        loraA = Parameter(get: { storage.a }, modify: { storage.modify(.a, $0) }, trainable: trainable.a)
        loraB = Parameter(get: { storage.b }, modify: { storage.modify(.b, $0) }, trainable: trainable.b)
        magnitude = storage.magnitude.map { _ in
            Parameter(get: { storage.magnitude! }, modify: { storage.modifyMagnitude($0) }, trainable: trainable.magnitude)
        }
        self.bias = bias
        path = AdapterPath(dropout: dropout, seed: dropoutSeed)
    }

    /// The weights `W`, `A`, `B`, `s` and the merged flag (`W` holds `diag(f)·(W + s·B·A)` while a
    /// DoRA layer is merged).
    public var weights: LoRAWeights<Scalar> { storage.weights }
    public var inFeatures: Int { storage.weights.inFeatures }
    public var outFeatures: Int { storage.weights.outFeatures }
    public var rank: Int { storage.weights.rank }
    public var scale: Scalar { storage.weights.scale }
    public var isMerged: Bool { storage.weights.isMerged }
    /// Whether this is a DoRA layer.
    public var isDoRA: Bool { magnitude != nil }

    /// DoRA's `n = ‖W + s·B·A‖` per row held at its current value, whatever `A` and `B` become,
    /// until unset: the constant the backward pass differentiates with (finite differences of
    /// the layer see the same map), and a cache for inference. Set it while unmerged.
    public var pinsWeightNorm: Bool {
        get { storage.pinsNorms }
        set {
            precondition(isDoRA, "LoRALinear.pinsWeightNorm: a plain LoRA layer has no weight norm")
            storage.pinsNorms = newValue
        }
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("base_layer.weight", baseWeight)] + (bias.map { [("base_layer.bias", $0)] } ?? [])
            + [("lora_A.weight", loraA), ("lora_B.weight", loraB)]
            + (magnitude.map { [("lora_magnitude_vector", $0)] } ?? [])
    }

    public var children: [(name: String, module: any Module<Scalar>)] { [] }

    /// A layer on the same weights (merging either merges both) with its own gradients, caches
    /// and dropout masks (seeded from this layer's mask sequence).
    public func replica() -> LoRALinear {
        let replica = LoRALinear(
            storage: storage, bias: bias?.replica(),
            trainable: (loraA.isTrainable, loraB.isTrainable, magnitude?.isTrainable ?? false),
            dropout: dropoutProbability, dropoutSeed: path.replicaSeed())
        replica.isTraining = isTraining
        return replica
    }

    /// `W ← W + s·B·A` in place (one GEMM), or DoRA's `W ← diag(f)·(W + s·B·A)`; the forward is then
    /// a single GEMM.
    public func merge() {
        precondition(!isMerged, "LoRALinear.merge: already merged")
        storage.merge()
    }

    /// `W ← W − s·B·A` in place (one GEMM), or DoRA's `W ← W'/f − s·B·A` with the merge's `f`.
    public func unmerge() {
        precondition(isMerged, "LoRALinear.unmerge: not merged")
        storage.unmerge()
    }

    /// Restarts the dropout mask sequence from `seed` (for reproducible runs and gradient checks).
    public func reseedDropout(_ seed: UInt64) { path.reseed(seed) }

    private var dropoutIsActive: Bool { isTraining && dropoutProbability > 0 && !isMerged }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        let weights = storage.weights
        precondition(input.columns == weights.inFeatures,
                     "LoRALinear.forward: X \(input.shapeDescription) does not fit W \(weights.base.shapeDescription)")
        let adapterInput = path.begin(input, rank: weights.rank, dropping: dropoutIsActive)
        var output = Matrix<Scalar>.unsafeUninitialized(input.rows, weights.outFeatures)
        let dora = isDoRA && !weights.isMerged
        if dora { (doraFactors, doraNorms) = storage.doraFactorsAndNorms }
        if dropoutIsActive {
            Matrix.gemm(input, weights.base, transposeB: .transposed, into: &output)
            if dora {
                addDoRADirection(weights, adapterInput, to: &output)
            } else {
                weights.addAdapter(adapterInput, to: &output, workspace: &path.projected)
            }
        } else {
            weights.forward(input, into: &output, workspace: &path.projected)
            if dora {
                direction = output
                DoRA.scaleColumns(&output, by: doraFactors)
            }
        }
        if let bias { output.addToEachRow(bias.value) }
        return output
    }

    /// `H ← H + f⊙Z − P` with `P = dropout(X)·Wᵀ`, `Z = P + s·(dropout(X)·Aᵀ)·Bᵀ` (kept for backward).
    private func addDoRADirection(_ weights: LoRAWeights<Scalar>, _ adapterInput: Matrix<Scalar>, to output: inout Matrix<Scalar>) {
        var base = Matrix<Scalar>.unsafeUninitialized(adapterInput.rows, weights.outFeatures)
        Matrix.gemm(adapterInput, weights.base, transposeB: .transposed, into: &base)
        direction = base
        weights.addAdapter(adapterInput, to: &direction, workspace: &path.projected)
        var scaled = direction
        DoRA.scaleColumns(&scaled, by: doraFactors)
        output.axpy(1, scaled)
        output.axpy(-1, base)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        accumulateParameterGradients(outputGradient)
        let weights = storage.weights
        let adapterOutputGradient = isDoRA ? scaledOutputGradient : outputGradient
        var inputGradient = Matrix<Scalar>.unsafeUninitialized(path.input.rows, inFeatures)
        if dropoutIsActive {
            Matrix.gemm(outputGradient, weights.base, into: &inputGradient)
            // DoRA's direction passes `G_f − G` through W inside the dropout.
            let doraTerm: ((inout Matrix<Scalar>) -> Void)? = isDoRA
                ? { Matrix.gemm(adapterOutputGradient - outputGradient, weights.base, beta: 1, into: &$0) } : nil
            path.addInputGradient(into: &inputGradient, a: weights.a, dropping: true, addingInsideDropout: doraTerm)
        } else {
            Matrix.gemm(adapterOutputGradient, weights.base, into: &inputGradient)
            path.addInputGradient(into: &inputGradient, a: weights.a, dropping: false)
        }
        return inputGradient
    }

    /// `∂L/∂A`, `∂L/∂B` (and `∂L/∂b`, DoRA's `∂L/∂m`) as ``backward(_:)``, without `∂L/∂X`; leaves
    /// `∂L/∂U = s·G·B` (`s·G_f·B` for DoRA) for the input gradient.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        precondition(!isMerged, "LoRALinear.backward: unmerge before training")
        precondition(outputGradient.rows == path.input.rows && outputGradient.columns == outFeatures,
                     "LoRALinear.backward: ∂L/∂H \(outputGradient.shapeDescription), forward gave \(path.input.rows)×\(outFeatures)")
        let weights = storage.weights
        if let bias, bias.isTrainable { bias.modifyGradient { $0.addColumnSums(of: outputGradient) } }
        let adapterOutputGradient: Matrix<Scalar>
        if let magnitude {
            if magnitude.isTrainable { magnitude.modifyGradient { addMagnitudeGradient(outputGradient, into: &$0) } }
            scaledOutputGradient = outputGradient
            DoRA.scaleColumns(&scaledOutputGradient, by: doraFactors)
            adapterOutputGradient = scaledOutputGradient
        } else {
            adapterOutputGradient = outputGradient
        }
        path.accumulateGradients(
            adapterOutputGradient, a: weights.a, b: weights.b, scale: weights.scale, loraA: loraA, loraB: loraB)
    }

    /// `∂L/∂mⱼ += Σₜ GₜⱼZₜⱼ/nⱼ` (zero where `nⱼ = 0`: there `f` is the constant 0).
    private func addMagnitudeGradient(_ outputGradient: Matrix<Scalar>, into gradient: inout Matrix<Scalar>) {
        let d = outFeatures
        var sums = [Double](repeating: 0, count: d)
        outputGradient.withUnsafeBufferPointer { g in
            direction.withUnsafeBufferPointer { z in
                for start in stride(from: 0, to: g.count, by: d) {
                    for j in 0..<d { sums[j] += Double(g[start + j]) * Double(z[start + j]) }
                }
            }
        }
        gradient.withUnsafeMutableBufferPointer { p in
            for j in 0..<d where doraNorms[j] > 0 { p[j] += Scalar(sums[j] / Double(doraNorms[j])) }
        }
    }
}
