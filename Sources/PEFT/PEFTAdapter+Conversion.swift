import LinearAlgebra
import LoRA

extension PEFTAdapter {
    /// PEFT's `path_initial_model_for_weight_conversion`: a PiSSA or OLoRA adapter trained on the
    /// residual base `W_res = W − s·B₀·A₀` (`self`) and its initial factors (`initial`) become a plain
    /// LoRA adapter on the original `W`, since `W_res + s·B·A = W + s·(B·A − B₀·A₀)`:
    /// `A' = [A; A₀]` (`2r×k`), `B' = [B | −B₀]` (`d×2r`), ranks doubled and α doubled (×√2 with
    /// rsLoRA) so `s` is unchanged, `init_lora_weights` true. Both adapters need the same modules
    /// and ranks; rsLoRA with rank or alpha patterns is refused, as PEFT refuses it (doubling a
    /// pattern's α would not keep its `α/√r`).
    public func convertedFromMutatedInitialization(initial: PEFTAdapter) throws(PEFTAdapterError) -> PEFTAdapter {
        guard !(configuration.useRSLoRA && !(configuration.rankPattern.isEmpty && configuration.alphaPattern.isEmpty)) else {
            throw .unsupportedForConversion(reason: "use_rslora with rank_pattern or alpha_pattern")
        }
        guard !configuration.useDoRA else { throw .unsupportedForConversion(reason: "use_dora") }
        try requireSameModules(as: initial, names: ("trained", "initial"))
        var modules: [String: Factors] = [:]
        for (path, trained) in self.modules {
            let start = initial.modules[path]!
            guard start.a.shape == trained.a.shape && start.b.shape == trained.b.shape else {
                throw .shapeMismatch(file: "initial", key: PEFTKeys.loraA(path), shape: start.a.shapeDescription,
                                     otherKey: "trained \(PEFTKeys.loraA(path))", otherShape: trained.a.shapeDescription)
            }
            modules[path] = Factors(a: .stackingRows([trained.a, start.a]), b: .stackingColumns([trained.b, -start.b]))
        }
        var converted = configuration
        converted.initialization = .kaimingUniform
        converted.rank *= 2
        converted.alpha *= configuration.useRSLoRA ? 2.squareRoot() : 2
        converted.rankPattern = converted.rankPattern.mapValues { 2 * $0 }
        converted.alphaPattern = converted.alphaPattern.mapValues { 2 * $0 }
        return PEFTAdapter(configuration: converted, modules: modules)
    }

    /// Throws unless `other` adapts exactly the modules this adapter adapts.
    func requireSameModules(as other: PEFTAdapter, names: (String, String)) throws(PEFTAdapterError) {
        if let path = modulePaths.first(where: { other.modules[$0] == nil }) {
            throw .moduleSetMismatch(module: path, presentIn: names.0, missingFrom: names.1)
        }
        if let path = other.modulePaths.first(where: { modules[$0] == nil }) {
            throw .moduleSetMismatch(module: path, presentIn: names.1, missingFrom: names.0)
        }
    }
}
