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
        let modulesByPath = Dictionary(model.namedModules().map { ($0.path, $0.module) }, uniquingKeysWith: { first, _ in first })
        var plan: [(container: any LinearLayerContainer<Scalar>, name: String, layer: any WeightedLinearLayer<Scalar>, path: String)] = []
        for path in modulePaths {
            let factors = modules[path]!
            let (parentPath, name) = path.lastIndex(of: ".").map { (String(path[..<$0]), String(path[path.index(after: $0)...])) } ?? ("", path)
            guard let module = modulesByPath[path] else {
                throw .moduleNotInModel(file: file, module: path, example: modulesByPath.keys.filter { $0.hasSuffix("." + name) }.sorted().first)
            }
            guard let container = modulesByPath[parentPath] as? any LinearLayerContainer<Scalar>,
                  let layer = module as? any WeightedLinearLayer<Scalar> else {
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
            plan.append((container, name, layer, path))
        }
        for (container, name, layer, path) in plan {
            container.replaceLinearLayer(named: name, with: self.layer(forModule: path, base: layer.weight.value, bias: layer.bias))
        }
        return plan.map(\.path)
    }
}
