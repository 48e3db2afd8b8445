import NN
import LinearAlgebra

/// Why a configuration could not be applied to a model.
public enum LoRAInjectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The configuration itself is invalid.
    case invalidConfiguration(LoRAConfigurationError)
    /// No linear module's path matched `target_modules`; `linearModules` lists the candidates.
    case noTargetMatched(targets: String, linearModules: [String])
    /// The adapter of `module` could not be initialised.
    case initialization(module: String, LoRAInitializationError)
    /// `rank` exceeds the smaller side of `module`'s `out×in` weight: it would add parameters
    /// (and memory) and no expressiveness.
    case rankExceedsModule(module: String, rank: Int, outFeatures: Int, inFeatures: Int)

    public var description: String {
        switch self {
        case let .invalidConfiguration(error):
            "\(error)"
        case let .noTargetMatched(targets, modules):
            "LoRA configuration: \"target_modules\" \(targets) matches no linear module; the model has "
                + (modules.isEmpty ? "none" : Self.summary(of: modules))
        case let .initialization(module, error):
            "LoRA adapter for \(module): \(error)"
        case let .rankExceedsModule(module, rank, outFeatures, inFeatures):
            "LoRA rank \(rank) exceeds \(min(outFeatures, inFeatures)), the smaller side of \(module) (\(outFeatures)×\(inFeatures))"
        }
    }

    /// Module paths grouped by their last name, as the names a `target_modules` list can use:
    /// `q_proj (30: model.layers.0.self_attn.q_proj, …), v_proj (30: …)`.
    static func summary(of paths: [String]) -> String {
        var groups: [(name: String, paths: [String])] = []
        for path in paths {
            let name = String(path.split(separator: ".").last ?? Substring(path))
            if let index = groups.firstIndex(where: { $0.name == name }) { groups[index].paths.append(path) } else { groups.append((name, [path])) }
        }
        return groups.map { group in
            group.paths.count == 1 ? group.paths[0] : "\(group.name) (\(group.paths.count): \(group.paths[0]), …)"
        }.joined(separator: ", ")
    }
}

/// What ``Module/injectLoRA(_:using:)`` did.
public struct LoRAInjectionReport: Sendable, Equatable {
    /// Paths of the wrapped modules, in model order, with their ranks and scalings.
    public var wrapped: [(path: String, rank: Int, scale: Double)]
    /// Scalars that now train: the adapters, plus biases when the bias mode says so.
    public var trainableParameters: Int
    /// All scalars of the model (adapters included).
    public var totalParameters: Int

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.wrapped.map(\.path) == rhs.wrapped.map(\.path) && lhs.wrapped.map(\.rank) == rhs.wrapped.map(\.rank)
            && lhs.wrapped.map(\.scale) == rhs.wrapped.map(\.scale)
            && lhs.trainableParameters == rhs.trainableParameters && lhs.totalParameters == rhs.totalParameters
    }
}

extension Module {
    /// Applies `configuration` as PEFT's `get_peft_model` does: every ``WeightedLinearLayer``
    /// (``Linear``, or a projection that keeps other forms of its weight besides) whose path
    /// matches ``LoRAConfiguration/targets(_:)`` is replaced by a ``LoRALinear`` with the rank
    /// and scaling of its path (rank and alpha patterns, rsLoRA), the configured initialisation
    /// and dropout, and DoRA's magnitude when `use_dora` is set; every ``FrozenLinearLayer`` (a
    /// quantized base) by a ``QLoRALinear`` on it the same way (PiSSA, OLoRA and DoRA, which read a
    /// dense `W`, throw there); everything else is frozen. Bias mode `lora_only` makes the
    /// wrapped layers' biases trainable, `all` every parameter whose name ends in `bias`.
    ///
    /// Throws when the configuration is invalid, nothing matches, a rank exceeds a matched
    /// module's smaller side, or an initialisation fails (the model is unchanged then, except
    /// after a failure in a later module).
    @discardableResult
    public func injectLoRA(
        _ configuration: LoRAConfiguration, using generator: inout some RandomNumberGenerator
    ) throws(LoRAInjectionError) -> LoRAInjectionReport {
        let matches = try loraMatches(configuration)
        setTrainable(false)
        var wrapped: [(path: String, rank: Int, scale: Double)] = []
        for (container, name, path, linear) in matches {
            let rank = configuration.rank(forModule: path)
            let scale = configuration.scaling(forModule: path)
            let layer: any LinearLayer<Scalar>
            do {
                layer = try Self.adapted(linear, rank: rank, scale: Scalar(scale), configuration: configuration, using: &generator)
            } catch {
                throw .initialization(module: path, error)
            }
            container.replaceLinearLayer(named: name, with: layer)
            wrapped.append((path, rank, scale))
        }
        if configuration.bias == .all {
            for (path, parameter) in namedParameters() where path.hasSuffix("bias") { parameter.isTrainable = true }
        }
        return LoRAInjectionReport(
            wrapped: wrapped, trainableParameters: trainableParameterCount, totalParameters: parameterCount)
    }

    /// Every linear layer LoRA can wrap (a ``WeightedLinearLayer`` or a ``FrozenLinearLayer``),
    /// with the container that holds it, its local name and its path, in model order.
    func adaptableLinearLayers() -> [(container: any LinearLayerContainer<Scalar>, name: String, path: String, linear: any LinearLayer<Scalar>)] {
        var layers: [(container: any LinearLayerContainer<Scalar>, name: String, path: String, linear: any LinearLayer<Scalar>)] = []
        for (path, module) in namedModules() {
            guard let container = module as? any LinearLayerContainer<Scalar> else { continue }
            for (name, child) in container.children {
                guard let linear = child as? any LinearLayer<Scalar>,
                      linear is any WeightedLinearLayer<Scalar> || linear is any FrozenLinearLayer<Scalar> else { continue }
                layers.append((container, name, path.isEmpty ? name : path + "." + name, linear))
            }
        }
        return layers
    }

    /// The layers `configuration` wraps, after checking it, that something matches and that no
    /// rank exceeds its module's smaller side.
    private func loraMatches(
        _ configuration: LoRAConfiguration
    ) throws(LoRAInjectionError) -> [(container: any LinearLayerContainer<Scalar>, name: String, path: String, linear: any LinearLayer<Scalar>)] {
        do { try configuration.validate() } catch { throw .invalidConfiguration(error) }
        let candidates = adaptableLinearLayers()
        let matches = candidates.filter { configuration.targets($0.path) }
        guard !matches.isEmpty else {
            throw .noTargetMatched(targets: "\(configuration.targetModules)", linearModules: candidates.map(\.path))
        }
        for (_, _, path, linear) in matches where configuration.rank(forModule: path) > min(linear.outFeatures, linear.inFeatures) {
            throw .rankExceedsModule(module: path, rank: configuration.rank(forModule: path),
                                     outFeatures: linear.outFeatures, inFeatures: linear.inFeatures)
        }
        return matches
    }

    /// The trainable scalars `configuration`'s adapters would add, `Σ r·(d_in + d_out)` over the
    /// modules it matches (biases and DoRA magnitudes aside), without changing the model. Throws
    /// as ``injectLoRA(_:using:)`` does when the configuration is invalid, nothing matches or a
    /// rank exceeds a matched module's smaller side.
    public func loraParameterCount(_ configuration: LoRAConfiguration) throws(LoRAInjectionError) -> Int {
        let matches = try loraMatches(configuration)
        return matches.reduce(0) { $0 + configuration.rank(forModule: $1.path) * ($1.linear.inFeatures + $1.linear.outFeatures) }
    }

    /// `linear` with an adapter: a ``LoRALinear`` on a ``WeightedLinearLayer``'s `W`, a
    /// ``QLoRALinear`` around a ``FrozenLinearLayer``.
    private static func adapted(
        _ linear: any LinearLayer<Scalar>, rank: Int, scale: Scalar, configuration: LoRAConfiguration,
        using generator: inout some RandomNumberGenerator
    ) throws(LoRAInitializationError) -> any LinearLayer<Scalar> {
        let dropout = Scalar(configuration.dropout)
        if let weighted = linear as? any WeightedLinearLayer<Scalar> {
            let weights = try configuration.initialization.makeWeights(
                base: weighted.weight.value, rank: rank, scale: scale, using: &generator)
            return LoRALinear(
                weights: weights, bias: weighted.bias, trainBias: configuration.bias != .none, dropout: dropout,
                dropoutSeed: generator.next(), variant: configuration.useDoRA ? .dora() : .standard)
        }
        guard !configuration.useDoRA else { throw .needsDenseBase(scheme: "DoRA") }
        let adapter = try configuration.initialization.makeAdapter(
            outFeatures: linear.outFeatures, inFeatures: linear.inFeatures, rank: rank, scale: scale, using: &generator)
        let layer = QLoRALinear(base: linear, adapter: adapter, dropout: dropout, dropoutSeed: generator.next())
        if configuration.bias != .none {
            for (name, parameter) in linear.localParameters where name == "bias" && parameter.isWritable { parameter.isTrainable = true }
        }
        return layer
    }

    /// Every ``QLoRALinear`` in the model with its path, in model order.
    public func qloraLayers() -> [(path: String, layer: QLoRALinear<Scalar>)] {
        namedModules().compactMap { path, module in (module as? QLoRALinear<Scalar>).map { (path, $0) } }
    }

    /// Restarts the dropout masks of every ``LoRALinear`` and ``QLoRALinear``, in model order, the
    /// `i`-th from `seed(i)`.
    public func reseedAdapterDropout(_ seed: (Int) -> UInt64) {
        var index = 0
        for (_, module) in namedModules() {
            if let layer = module as? LoRALinear<Scalar> {
                layer.reseedDropout(seed(index))
            } else if let layer = module as? QLoRALinear<Scalar> {
                layer.reseedDropout(seed(index))
            } else {
                continue
            }
            index += 1
        }
    }

    /// Every ``LoRALinear`` in the model with its path, in model order.
    public func loraLayers() -> [(path: String, layer: LoRALinear<Scalar>)] {
        namedModules().compactMap { path, module in (module as? LoRALinear<Scalar>).map { (path, $0) } }
    }
}
