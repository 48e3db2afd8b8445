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
    private let storage: AdapterStorage<LoRAWeights<Scalar>>
    /// The frozen base `W` (read-only).
    public let baseWeight: Parameter<Scalar>
    /// The base layer's bias `b: 1×d`, if any (frozen unless bias training is on).
    public let bias: Parameter<Scalar>?
    /// `A: r×k`.
    public let loraA: Parameter<Scalar>
    /// `B: d×r`.
    public let loraB: Parameter<Scalar>
    /// The probability that dropout zeroes an input element of the adapter path.
    public var dropoutProbability: Scalar { path.dropoutProbability }
    /// Whether dropout is applied (training) or not (evaluation).
    public var isTraining = true
    private var path: AdapterPath<Scalar>

    /// A layer from `weights` and the base layer's `bias`: `A` and `B` trainable, `W` frozen, the
    /// bias trainable only when `trainBias` is set.
    public convenience init(
        weights: LoRAWeights<Scalar>, bias: Parameter<Scalar>?, trainBias: Bool = false,
        dropout: Scalar = 0, dropoutSeed: UInt64 = 0
    ) {
        if let bias {
            precondition(bias.value.rows == 1 && bias.value.columns == weights.outFeatures,
                         "LoRALinear: bias \(bias.value.shapeDescription) does not fit W \(weights.base.shapeDescription)")
        }
        bias?.isTrainable = trainBias
        self.init(storage: AdapterStorage(weights), bias: bias, trainA: true, trainB: true, dropout: dropout, dropoutSeed: dropoutSeed)
    }

    private init(storage: AdapterStorage<LoRAWeights<Scalar>>, bias: Parameter<Scalar>?, trainA: Bool, trainB: Bool, dropout: Scalar, dropoutSeed: UInt64) {
        self.storage = storage
        baseWeight = Parameter(get: { storage.weights.base }, modify: nil, trainable: false)
        loraA = Parameter(get: { storage.a }, modify: { storage.modifyA($0) }, trainable: trainA)
        loraB = Parameter(get: { storage.b }, modify: { storage.modifyB($0) }, trainable: trainB)
        self.bias = bias
        path = AdapterPath(dropout: dropout, seed: dropoutSeed)
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
            dropout: dropoutProbability, dropoutSeed: path.replicaSeed())
        replica.isTraining = isTraining
        return replica
    }

    /// `W ← W + s·B·A` in place (one GEMM); the forward is then a single GEMM.
    public func merge() { storage.modifyWeights { $0.merge() } }

    /// `W ← W − s·B·A` in place (one GEMM).
    public func unmerge() { storage.modifyWeights { $0.unmerge() } }

    /// Restarts the dropout mask sequence from `seed` (for reproducible runs and gradient checks).
    public func reseedDropout(_ seed: UInt64) { path.reseed(seed) }

    private var dropoutIsActive: Bool { isTraining && dropoutProbability > 0 && !isMerged }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        precondition(input.columns == inFeatures,
                     "LoRALinear.forward: X \(input.shapeDescription) does not fit W \(weights.base.shapeDescription)")
        let weights = storage.weights
        let adapterInput = path.begin(input, rank: rank, dropping: dropoutIsActive)
        var output = Matrix<Scalar>.unsafeUninitialized(input.rows, outFeatures)
        if dropoutIsActive {
            Matrix.gemm(input, weights.base, transposeB: .transposed, into: &output)
            weights.addAdapter(adapterInput, to: &output, workspace: &path.projected)
        } else {
            weights.forward(input, into: &output, workspace: &path.projected)
        }
        if let bias { output.addToEachRow(bias.value) }
        return output
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        accumulateParameterGradients(outputGradient)
        let weights = storage.weights
        var inputGradient = Matrix<Scalar>.unsafeUninitialized(path.input.rows, inFeatures)
        Matrix.gemm(outputGradient, weights.base, into: &inputGradient)
        path.addInputGradient(into: &inputGradient, a: weights.a, dropping: dropoutIsActive)
        return inputGradient
    }

    /// `∂L/∂A`, `∂L/∂B` (and `∂L/∂b`) as ``backward(_:)``, without `∂L/∂X`; leaves
    /// `∂L/∂U = s·G·B` for the input gradient.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        precondition(!isMerged, "LoRALinear.backward: unmerge before training")
        precondition(outputGradient.rows == path.input.rows && outputGradient.columns == outFeatures,
                     "LoRALinear.backward: ∂L/∂H \(outputGradient.shapeDescription), forward gave \(path.input.rows)×\(outFeatures)")
        let weights = storage.weights
        if let bias, bias.isTrainable { bias.modifyGradient { $0.addColumnSums(of: outputGradient) } }
        path.accumulateGradients(outputGradient, a: weights.a, b: weights.b, scale: weights.scale, loraA: loraA, loraB: loraB)
    }
}
