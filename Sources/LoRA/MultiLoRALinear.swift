import LinearAlgebra
import NN

/// A frozen linear layer serving several named adapters at once (PEFT's LoRA layer with several
/// adapters loaded): the base `H₀ = X·Wᵀ + b` of a wrapped ``WeightedLinearLayer`` (`W: d×k`,
/// `X: n×k`) and, by name, LoRA adapters `s·(X·Aᵀ)·Bᵀ` (`A: r×k`, `B: d×r`) and DoRA adapters.
///
/// - One active adapter (``activeAdapter``, PEFT's `set_adapter`):
///   `H = H₀ + s·(X·Aᵀ)·Bᵀ`, or DoRA's `H = f⊙(H₀ − b + s·(X·Aᵀ)·Bᵀ) + b` with `f = m/n` per
///   output and `n = ‖W + s·B·A‖` per row of `W` (``DoRA``; held fixed: this layer only infers).
///   With ``adaptersEnabled`` off (PEFT's `disable_adapter`), `H = H₀`. An adapter this layer
///   does not hold (another adapter's module set) leaves `H = H₀`, as in PEFT.
/// - A mixed batch (``rowAssignment``, PEFT's `adapter_names`): `H₀` for all rows in one product
///   of the base, then for each adapter `g` and its rows `R_g` the thin products
///   `T = X[R_g]·A_gᵀ` (`|R_g|×r`, shrink) and `H[R_g] += s_g·T·B_gᵀ` (expand) — the idea of
///   Punica's SGMV — on the rows in place where they are contiguous and gathered into a block and
///   scattered back otherwise; DoRA rows get `f_g` on their rows the same way. Row `i` equals the
///   layer run on row `i` alone with its adapter active (to rounding). Unlike PEFT 0.21, which
///   refuses DoRA in a mixed batch, DoRA adapters are served there, unmerged. Merged adapters
///   cannot be (PEFT refuses them too): the model-level API throws before a forward could see one.
/// - Merging (``mergeActive()``) makes the forward one GEMM on `W' = W + s·B·A` (DoRA:
///   `diag(f)·(W + s·B·A)`), kept beside the base so unmerging restores `W` exactly.
///
/// The base's own forward computes `H₀`, so a base that keeps a faster form of its weight (a
/// quantized projection decoding one token) keeps it. No parameter trains: there is no backward.
/// Parameters are named as PEFT's, with the adapter name: the base under `base_layer`,
/// `lora_A.<name>.weight`, `lora_B.<name>.weight`, `lora_magnitude_vector.<name>`. Set the state
/// through the model-level API (``Module/setActiveAdapter(_:)`` and the rest), which checks names
/// and merge states with typed errors; the methods here trap on misuse.
public final class MultiLoRALinear<Scalar: MatrixScalar>: LinearLayer {
    /// One adapter of the layer.
    public struct NamedAdapter: Sendable {
        /// The adapter's name (PEFT's `adapter_name`).
        public let name: String
        /// `A: r×k`, `B: d×r`, `s`.
        public let adapter: LoRAAdapter<Scalar>
        /// DoRA's magnitude `m: 1×d`, `nil` for LoRA.
        public let magnitude: Matrix<Scalar>?
        /// DoRA's `f = m/n` for this layer's base, `nil` for LoRA.
        public let doraFactors: [Scalar]?
    }

    /// The frozen base layer.
    public let base: any WeightedLinearLayer<Scalar>
    /// The adapters, in the order they were added.
    public private(set) var adapters: [NamedAdapter] = []
    /// The adapter the forward adds (when no ``rowAssignment`` is set); it may be one this layer
    /// does not hold, which then adds nothing.
    public private(set) var activeAdapter: String?
    /// Whether any adapter is added; off, the layer is its base.
    public private(set) var adaptersEnabled = true
    /// The adapter of each row of the next batches, `nil` for the active adapter on every row.
    public private(set) var rowAssignment: AdapterRowAssignment?
    /// The merged adapter's name and `W'`, while one is merged.
    private var merged: (name: String, weight: Matrix<Scalar>)?

    /// A layer serving no adapter yet on `base`, whose parameters it freezes.
    public init(base: any WeightedLinearLayer<Scalar>) {
        base.setTrainable(false)
        self.base = base
    }

    public var inFeatures: Int { base.inFeatures }
    public var outFeatures: Int { base.outFeatures }
    /// The adapters' names, in the order they were added.
    public var adapterNames: [String] { adapters.map(\.name) }
    /// The merged adapter's name, if one is merged.
    public var mergedAdapter: String? { merged?.name }

    /// The adapter called `name`, if this layer holds it.
    public func adapter(named name: String) -> NamedAdapter? { adapters.first { $0.name == name } }

    /// Adds an adapter under a new `name`: LoRA, or DoRA when `magnitude: 1×d` is given (its `f`
    /// computed here from the base's `W`).
    public func addAdapter(named name: String, _ adapter: LoRAAdapter<Scalar>, magnitude: Matrix<Scalar>? = nil) {
        precondition(self.adapter(named: name) == nil, "MultiLoRALinear.addAdapter: \"\(name)\" is already loaded")
        let w = base.weight.value
        precondition(
            adapter.inFeatures == w.columns && adapter.outFeatures == w.rows,
            "MultiLoRALinear.addAdapter: A \(adapter.a.shapeDescription), B \(adapter.b.shapeDescription) do not fit W \(w.shapeDescription)")
        let factors = magnitude.map { m in
            precondition(m.shape == (1, w.rows), "MultiLoRALinear.addAdapter: magnitude \(m.shapeDescription), need 1×\(w.rows)")
            return DoRA.factors(magnitude: m.elements, norms: DoRA.rowNorms(of: LoRAWeights(base: w, adapter: adapter)))
        }
        adapters.append(NamedAdapter(name: name, adapter: adapter, magnitude: magnitude, doraFactors: factors))
    }

    /// Removes the adapter `name` (nothing if this layer does not hold it); it must not be merged.
    public func removeAdapter(named name: String) {
        precondition(merged?.name != name, "MultiLoRALinear.removeAdapter: \"\(name)\" is merged; unmerge it first")
        adapters.removeAll { $0.name == name }
    }

    /// Makes `name` (or none) the active adapter; not while an adapter is merged.
    public func selectAdapter(_ name: String?) {
        precondition(merged == nil, "MultiLoRALinear.selectAdapter: \"\(merged!.name)\" is merged; unmerge it first")
        activeAdapter = name
    }

    /// Turns all adapters on or off; not while an adapter is merged.
    public func enableAdapters(_ enabled: Bool) {
        precondition(merged == nil, "MultiLoRALinear.enableAdapters: \"\(merged!.name)\" is merged; unmerge it first")
        adaptersEnabled = enabled
    }

    /// Gives each row of the next batches its adapter (`nil`: the active adapter on every row);
    /// not while an adapter is merged.
    public func assignRows(_ assignment: AdapterRowAssignment?) {
        precondition(merged == nil, "MultiLoRALinear.assignRows: \"\(merged!.name)\" is merged; a mixed batch needs unmerged adapters")
        rowAssignment = assignment
    }

    /// Folds the active adapter into `W'` (nothing when adapters are off or this layer does not
    /// hold the active one); the forward is then one GEMM.
    public func mergeActive() {
        precondition(merged == nil, "MultiLoRALinear.mergeActive: \"\(merged!.name)\" is already merged")
        precondition(rowAssignment == nil, "MultiLoRALinear.mergeActive: a row assignment is set; a mixed batch needs unmerged adapters")
        guard adaptersEnabled, let name = activeAdapter, let served = adapter(named: name) else { return }
        var weights = LoRAWeights(base: base.weight.value, adapter: served.adapter)
        if let f = served.doraFactors { _ = weights.merge(rowFactors: f) } else { weights.merge() }
        merged = (name, weights.base)
    }

    /// Drops the merged `W'`: the base's `W` was never changed, so this is exact.
    public func unmerge() { merged = nil }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        adapters.flatMap { served in
            [("lora_A.\(served.name).weight", Self.frozen(served.adapter.a)), ("lora_B.\(served.name).weight", Self.frozen(served.adapter.b))]
                + (served.magnitude.map { [("lora_magnitude_vector.\(served.name)", Self.frozen($0))] } ?? [])
        }
    }

    private static func frozen(_ value: Matrix<Scalar>) -> Parameter<Scalar> {
        Parameter(get: { value }, modify: nil, trainable: false)
    }

    public var children: [(name: String, module: any Module<Scalar>)] { [("base_layer", base)] }

    /// A layer on a replica of the base with the same adapters and state.
    public func replica() -> MultiLoRALinear {
        let replica = MultiLoRALinear(base: base.replica())
        (replica.adapters, replica.activeAdapter, replica.adaptersEnabled) = (adapters, activeAdapter, adaptersEnabled)
        (replica.rowAssignment, replica.merged) = (rowAssignment, merged)
        return replica
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        precondition(input.columns == inFeatures,
                     "MultiLoRALinear.forward: X \(input.shapeDescription) does not fit W \(outFeatures)×\(inFeatures)")
        if let merged {
            var output = Matrix<Scalar>.unsafeUninitialized(input.rows, outFeatures)
            Matrix.gemm(input, merged.weight, transposeB: .transposed, into: &output)
            if let bias = base.bias { output.addToEachRow(bias.value) }
            return output
        }
        var output = base.forward(input)
        guard adaptersEnabled else { return output }
        if let rowAssignment {
            precondition(rowAssignment.rowCount == input.rows,
                         "MultiLoRALinear.forward: \(rowAssignment.rowCount) row adapters for X \(input.shapeDescription)")
            for (name, rows) in rowAssignment.groups {
                if let served = adapter(named: name) { add(served, rows: rows, of: input, to: &output) }
            }
        } else if let activeAdapter, let served = adapter(named: activeAdapter) {
            add(served, rows: .range(0..<input.rows), of: input, to: &output)
        }
        return output
    }

    /// The adapter's term on `rows` of `H` (holding `H₀` there), from the same rows of `X`.
    private func add(_ served: NamedAdapter, rows: AdapterRowAssignment.Rows, of x: Matrix<Scalar>, to h: inout Matrix<Scalar>) {
        var workspace = Matrix<Scalar>.unsafeUninitialized(served.adapter.rank, rows.count)
        switch rows {
        case let .range(range):
            x.withUnsafeView { x in
                h.withUnsafeMutableView { h in
                    workspace.withUnsafeMutableView { addAdapter(served, x[rows: range], to: h[rows: range], workspace: $0) }
                }
            }
        case let .indices(indices):
            let gathered = x.gatheringRows(indices)
            var block = h.gatheringRows(indices)
            gathered.withUnsafeView { x in
                block.withUnsafeMutableView { h in
                    workspace.withUnsafeMutableView { addAdapter(served, x, to: h, workspace: $0) }
                }
            }
            h.scatterRows(block, to: indices)
        }
    }

    /// `H ← H + s·(X·Aᵀ)·Bᵀ`, or DoRA's `H ← f⊙(H − b + s·(X·Aᵀ)·Bᵀ) + b`, on views of the rows.
    private func addAdapter(
        _ served: NamedAdapter, _ x: UnsafeMatrixView<Scalar>, to h: UnsafeMutableMatrixView<Scalar>,
        workspace: UnsafeMutableMatrixView<Scalar>
    ) {
        guard let f = served.doraFactors else { return served.adapter.add(x, to: h, workspace: workspace) }
        let bias = base.bias?.value.elements
        if let bias { Self.transformRows(h) { j, v in v - bias[j] } }
        served.adapter.add(x, to: h, workspace: workspace)
        Self.transformRows(h) { j, v in f[j] * v + (bias?[j] ?? 0) }
    }

    /// `Hᵢⱼ ← t(j, Hᵢⱼ)` for every element of the view.
    private static func transformRows(_ h: UnsafeMutableMatrixView<Scalar>, _ t: (Int, Scalar) -> Scalar) {
        for i in 0..<h.rows {
            let row = h.base + i * h.rowStride
            for j in 0..<h.columns { row[j] = t(j, row[j]) }
        }
    }

    /// Not available: a serving layer has no trainable parameter and keeps no backward state.
    /// Train one adapter in a ``LoRALinear`` (``Module/injectLoRA(_:using:)``, PEFT's `apply`).
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        preconditionFailure("MultiLoRALinear.backward: a layer serving named adapters only infers; train an adapter in a LoRALinear")
    }

    /// Not available (see ``backward(_:)``).
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        preconditionFailure("MultiLoRALinear.accumulateParameterGradients: a layer serving named adapters only infers; train an adapter in a LoRALinear")
    }
}
