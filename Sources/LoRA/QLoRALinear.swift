import LinearAlgebra
import NN

/// A trainable LoRA adapter on a frozen base layer that keeps its weight in another form (QLoRA:
/// a 4-bit base such as `Quantization`'s `NF4Linear`):
/// `H = base(X) + s·(dropout(X)·Aᵀ)·Bᵀ` for a batch `X: n×k`, with `base(X) = X·Ŵᵀ (+ b)`,
/// `A: r×k`, `B: d×r` and scaling `s`.
///
/// Backward, with `U = dropout(X)·Aᵀ` and `G = ∂L/∂H`: `∂L/∂B += s·Gᵀ·U`, `∂L/∂U = s·G·B`,
/// `∂L/∂A += (∂L/∂U)ᵀ·dropout(X)`, `∂L/∂X = base.backward(G) + dropout′(∂L/∂U·A)`; the base's
/// parameters are frozen (its `∂X` is `G·Ŵ`, however it computes it). Unlike ``LoRALinear`` there
/// is no dense `W` to merge `s·B·A` into. Parameters are named as PEFT's: the base's under
/// `base_layer` (its child), `lora_A.weight`, `lora_B.weight`.
public final class QLoRALinear<Scalar: MatrixScalar>: LinearLayer, TrainingModeSwitchable {
    private let storage: AdapterStorage<LoRAAdapter<Scalar>>
    /// The frozen base layer.
    public let base: any LinearLayer<Scalar>
    /// `A: r×k`.
    public let loraA: Parameter<Scalar>
    /// `B: d×r`.
    public let loraB: Parameter<Scalar>
    /// Whether dropout is applied (training) or not (evaluation).
    public var isTraining = true
    private var path: AdapterPath<Scalar>

    /// An adapter on `base` (whose parameters are frozen here), `A` and `B` trainable.
    public convenience init(base: any LinearLayer<Scalar>, adapter: LoRAAdapter<Scalar>, dropout: Scalar = 0, dropoutSeed: UInt64 = 0) {
        precondition(
            adapter.inFeatures == base.inFeatures && adapter.outFeatures == base.outFeatures,
            "QLoRALinear: A \(adapter.a.shapeDescription), B \(adapter.b.shapeDescription) do not fit the base \(base.outFeatures)×\(base.inFeatures)")
        base.setTrainable(false)
        self.init(storage: AdapterStorage(adapter), base: base, trainA: true, trainB: true, dropout: dropout, dropoutSeed: dropoutSeed)
    }

    private init(
        storage: AdapterStorage<LoRAAdapter<Scalar>>, base: any LinearLayer<Scalar>, trainA: Bool, trainB: Bool,
        dropout: Scalar, dropoutSeed: UInt64
    ) {
        self.storage = storage
        self.base = base
        loraA = Parameter(get: { storage.a }, modify: { storage.modify(.a, $0) }, trainable: trainA)
        loraB = Parameter(get: { storage.b }, modify: { storage.modify(.b, $0) }, trainable: trainB)
        path = AdapterPath(dropout: dropout, seed: dropoutSeed)
    }

    /// `A`, `B` and `s`.
    public var adapter: LoRAAdapter<Scalar> { storage.weights }
    public var inFeatures: Int { base.inFeatures }
    public var outFeatures: Int { base.outFeatures }
    public var rank: Int { storage.weights.rank }
    public var scale: Scalar { storage.weights.scale }
    /// The probability that dropout zeroes an input element of the adapter path.
    public var dropoutProbability: Scalar { path.dropoutProbability }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [("lora_A.weight", loraA), ("lora_B.weight", loraB)] }
    public var children: [(name: String, module: any Module<Scalar>)] { [("base_layer", base)] }

    /// A layer on the same adapter and a replica of the base, with its own gradients, caches and
    /// dropout masks (seeded from this layer's mask sequence).
    public func replica() -> QLoRALinear {
        let replica = QLoRALinear(
            storage: storage, base: base.replica(), trainA: loraA.isTrainable, trainB: loraB.isTrainable,
            dropout: dropoutProbability, dropoutSeed: path.replicaSeed())
        replica.isTraining = isTraining
        return replica
    }

    /// Restarts the dropout mask sequence from `seed` (for reproducible runs and gradient checks).
    public func reseedDropout(_ seed: UInt64) { path.reseed(seed) }

    private var dropoutIsActive: Bool { isTraining && dropoutProbability > 0 }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        precondition(input.columns == inFeatures,
                     "QLoRALinear.forward: X \(input.shapeDescription) does not fit the base \(outFeatures)×\(inFeatures)")
        let adapterInput = path.begin(input, rank: rank, dropping: dropoutIsActive)
        var output = base.forward(input)
        storage.weights.add(adapterInput, to: &output, workspace: &path.projected)
        return output
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        accumulateAdapterGradients(outputGradient)
        var inputGradient = base.backward(outputGradient)
        path.addInputGradient(into: &inputGradient, a: storage.weights.a, dropping: dropoutIsActive)
        return inputGradient
    }

    /// `∂L/∂A`, `∂L/∂B` (and the base's trainable parameters', if any) without `∂L/∂X`.
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        accumulateAdapterGradients(outputGradient)
        base.accumulateParameterGradients(outputGradient)
    }

    private func accumulateAdapterGradients(_ outputGradient: Matrix<Scalar>) {
        precondition(outputGradient.rows == path.input.rows && outputGradient.columns == outFeatures,
                     "QLoRALinear.backward: ∂L/∂H \(outputGradient.shapeDescription), forward gave \(path.input.rows)×\(outFeatures)")
        let adapter = storage.weights
        path.accumulateGradients(outputGradient, a: adapter.a, b: adapter.b, scale: adapter.scale, loraA: loraA, loraB: loraB)
    }
}
