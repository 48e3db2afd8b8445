import NN

extension Module where Scalar == Float {
    /// Replaces every ``Linear`` that a ``LinearLayerContainer`` holds (the projections of
    /// attention and MLP blocks) by an ``NF4Linear`` on its quantized weight, its bias kept and
    /// frozen: the QLoRA base, before injecting adapters. Returns the paths replaced, in model order.
    /// Throws for a weight with a NaN or infinite element (the model is then partly replaced).
    @discardableResult
    public func quantizeLinearLayersToNF4(doubleQuantization: Bool) throws(QuantizationError) -> [String] {
        var replaced: [String] = []
        for (path, module) in namedModules() {
            guard let container = module as? any LinearLayerContainer<Float> else { continue }
            for (name, child) in container.children {
                guard let linear = child as? Linear<Float> else { continue }
                container.replaceLinearLayer(named: name, with: try NF4Linear<Float>(quantizing: linear, doubleQuantization: doubleQuantization))
                replaced.append(path.isEmpty ? name : path + "." + name)
            }
        }
        return replaced
    }
}
