import LinearAlgebra
import LoRA
import NN

extension PEFTAdapter {
    /// Puts the adapter on `model` unmerged, as PEFT's `PeftModel.from_pretrained` does: each
    /// adapted module (path `p`, e.g. `model.layers.0.self_attn.q_proj` for a Hugging Face
    /// `LlamaForCausalLM`) is replaced by a ``LoRALinear`` on its weight `W: d×k` with the
    /// adapter's `A: r×k`, `B: d×r` and the module's scaling (rank/alpha patterns, rsLoRA):
    /// `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ`, or DoRA's with the stored magnitude (``PEFTAdapter/layer(forModule:base:bias:)``).
    /// `A` and `B` (and DoRA's `m`) train, everything else keeps its flag; dropout is
    /// the configuration's (off in evaluation mode, ``Module/setTraining(_:)``).
    ///
    /// Throws, before changing the model, when a module is not in the model, is not a linear
    /// layer its container can replace, or has a weight the factors do not fit. `file` names
    /// the adapter in errors. Returns the adapted paths, sorted.
    @discardableResult
    public func apply(to model: some Module<Scalar>, file: String) throws(PEFTAdapterError) -> [String] {
        let plan = try targets(in: model, file: file) { $0 as? any WeightedLinearLayer<Scalar> }
        for target in plan {
            target.container.replaceLinearLayer(
                named: target.name, with: layer(forModule: target.path, base: target.base.weight.value, bias: target.base.bias))
        }
        return plan.map(\.path)
    }

    /// Loads the adapter onto `model` under `name`, beside the adapters loaded before (PEFT's
    /// `load_adapter`), for inference: each adapted module becomes (or already is) a
    /// ``MultiLoRALinear`` on its base layer and gains the adapter's `A`, `B`, scaling and DoRA's
    /// `m`. The first adapter loaded becomes active; later ones do not change the active adapter
    /// (``Module/setActiveAdapter(_:)``, ``Module/setRowAdapters(_:)`` and the rest choose).
    ///
    /// Throws, before changing the model, for a name that is empty, `"__base__"` or already
    /// loaded, and as ``apply(to:file:)`` for an adapter that does not fit the model. Returns the
    /// adapted paths, sorted.
    @discardableResult
    public func load(into model: some Module<Scalar>, name: String, file: String) throws(PEFTAdapterError) -> [String] {
        guard !name.isEmpty, name != AdapterRowAssignment.baseName else { throw .namedAdapter(.invalidName(name)) }
        guard !model.loadedAdapterNames.contains(name) else { throw .namedAdapter(.nameInUse(name)) }
        let plan = try targets(in: model, file: file) { module in
            (module as? MultiLoRALinear<Scalar>)?.base ?? module as? any WeightedLinearLayer<Scalar>
        }
        let existing = model.multiLoRALayers().first?.layer
        for target in plan {
            let layer: MultiLoRALinear<Scalar>
            if let served = target.module as? MultiLoRALinear<Scalar> {
                layer = served
            } else {
                layer = MultiLoRALinear(base: target.base)
                layer.selectAdapter(existing == nil ? name : existing!.activeAdapter)
                layer.enableAdapters(existing?.adaptersEnabled ?? true)
                target.container.replaceLinearLayer(named: target.name, with: layer)
            }
            let factors = modules[target.path]!
            layer.addAdapter(
                named: name, LoRAAdapter(a: factors.a, b: factors.b, scale: Scalar(scaling(forModule: target.path))),
                magnitude: factors.magnitude)
        }
        return plan.map(\.path)
    }

    /// Each adapted module's container, local name, module and the base layer `base(module)`
    /// reads its weight from, after checking that the module exists, has such a base and a weight
    /// the factors fit. Sorted by path.
    private func targets(
        in model: some Module<Scalar>, file: String, base: (any Module<Scalar>) -> (any WeightedLinearLayer<Scalar>)?
    ) throws(PEFTAdapterError) -> [(container: any LinearLayerContainer<Scalar>, name: String, module: any Module<Scalar>,
                                     base: any WeightedLinearLayer<Scalar>, path: String)] {
        let modulesByPath = Dictionary(model.namedModules().map { ($0.path, $0.module) }, uniquingKeysWith: { first, _ in first })
        var plan: [(container: any LinearLayerContainer<Scalar>, name: String, module: any Module<Scalar>,
                    base: any WeightedLinearLayer<Scalar>, path: String)] = []
        for path in modulePaths {
            let factors = modules[path]!
            let (parentPath, name) = path.lastIndex(of: ".").map { (String(path[..<$0]), String(path[path.index(after: $0)...])) } ?? ("", path)
            guard let module = modulesByPath[path] else {
                throw .moduleNotInModel(file: file, module: path, example: modulesByPath.keys.filter { $0.hasSuffix("." + name) }.sorted().first)
            }
            guard let container = modulesByPath[parentPath] as? any LinearLayerContainer<Scalar>, let layer = base(module) else {
                throw .notALinearModule(file: file, module: path, type: "\(type(of: module))")
            }
            let w = layer.weight.value
            guard factors.a.columns == w.columns else {
                throw .shapeMismatch(file: file, key: PEFTKeys.loraA(path), shape: "[\(factors.a.rows), \(factors.a.columns)]",
                                     otherKey: path + ".weight", otherShape: "[\(w.rows), \(w.columns)]")
            }
            guard factors.b.rows == w.rows else {
                throw .shapeMismatch(file: file, key: PEFTKeys.loraB(path), shape: "[\(factors.b.rows), \(factors.b.columns)]",
                                     otherKey: path + ".weight", otherShape: "[\(w.rows), \(w.columns)]")
            }
            plan.append((container, name, module, layer, path))
        }
        return plan
    }
}
