import LinearAlgebra

/// A part of a model: its own parameters and its sub-modules, each under a local name.
///
/// Paths join local names with dots, as PyTorch's `named_parameters()`: the weight of the
/// query projection of block 0 is `"blocks.0.attn.q_proj.weight"`, the module is
/// `"blocks.0.attn.q_proj"`. LoRA is injected by matching module paths.
public protocol Module<Scalar>: AnyObject {
    associatedtype Scalar: MatrixScalar
    /// This module's own parameters (not those of sub-modules), e.g. `("weight", W)`.
    var localParameters: [(name: String, parameter: Parameter<Scalar>)] { get }
    /// The direct sub-modules, e.g. `("q_proj", …)`.
    var children: [(name: String, module: any Module<Scalar>)] { get }
    /// A module of the same structure whose parameters are replicas of this one's (the same
    /// values, shared, with their own gradients; ``Parameter/replica()``) and whose forward
    /// caches are its own: replicas run forward and backward on other threads on other rows of
    /// a batch (data parallelism), and their gradients are summed. Replicate after injecting
    /// adapters and freezing: the trainable flags are copied.
    func replica() -> Self
}

/// A module whose behaviour differs between training and evaluation (dropout).
public protocol TrainingModeSwitchable: AnyObject {
    var isTraining: Bool { get set }
}

/// The parameter count of one module, its sub-modules included.
public struct ModuleParameterCount: Sendable, Equatable {
    /// The module's path (`""` for the root).
    public var path: String
    /// The module's type, e.g. `"Linear<Float>"`.
    public var typeName: String
    /// All scalars of the module's parameters.
    public var total: Int
    /// Scalars of trainable parameters.
    public var trainable: Int
    /// Scalars of frozen parameters, `total − trainable`.
    public var frozen: Int { total - trainable }
}

extension Module {
    /// This module and every sub-module, depth first, with their paths (`""` for this one).
    public func namedModules() -> [(path: String, module: any Module<Scalar>)] {
        var result: [(path: String, module: any Module<Scalar>)] = [("", self)]
        for (name, child) in children {
            for (path, module) in child.namedModules() {
                result.append((path.isEmpty ? name : name + "." + path, module))
            }
        }
        return result
    }

    /// Every parameter with its full path, e.g. `"blocks.0.attn.q_proj.weight"`.
    public func namedParameters() -> [(path: String, parameter: Parameter<Scalar>)] {
        namedModules().flatMap { modulePath, module in
            module.localParameters.map { name, parameter in
                (modulePath.isEmpty ? name : modulePath + "." + name, parameter)
            }
        }
    }

    /// The parameter at `path`, or `nil`.
    public func parameter(at path: String) -> Parameter<Scalar>? {
        namedParameters().first { $0.path == path }?.parameter
    }

    /// The trainable parameters with their paths, in model order.
    public func trainableParameters() -> [(path: String, parameter: Parameter<Scalar>)] {
        namedParameters().filter { $0.parameter.isTrainable }
    }

    /// Number of scalars in all parameters.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.count } }

    /// Number of scalars in trainable parameters.
    public var trainableParameterCount: Int {
        trainableParameters().reduce(0) { $0 + $1.parameter.count }
    }

    /// Number of scalars in frozen parameters.
    public var frozenParameterCount: Int { parameterCount - trainableParameterCount }

    /// Total and trainable counts for this module and every sub-module, depth first.
    public func parameterCounts() -> [ModuleParameterCount] {
        namedModules().map { path, module in
            let parameters = module.namedParameters().map(\.parameter)
            return ModuleParameterCount(
                path: path, typeName: "\(type(of: module))",
                total: parameters.reduce(0) { $0 + $1.count },
                trainable: parameters.filter(\.isTrainable).reduce(0) { $0 + $1.count })
        }
    }

    /// Makes every writable parameter trainable (`true`) or frozen (`false`).
    public func setTrainable(_ trainable: Bool) {
        for (_, parameter) in namedParameters() where parameter.isWritable {
            parameter.isTrainable = trainable
        }
    }

    /// Sets every gradient to zero.
    public func zeroGradients() {
        for (_, parameter) in namedParameters() { parameter.zeroGradient() }
    }

    /// Switches every sub-module with a training mode (dropout) to training or evaluation.
    public func setTraining(_ training: Bool) {
        for (_, module) in namedModules() {
            (module as? any TrainingModeSwitchable)?.isTraining = training
        }
    }

    /// The training flag of every sub-module that has one, by path, for ``restoreTrainingModes(_:)``.
    public func trainingModes() -> [String: Bool] {
        Dictionary(uniqueKeysWithValues: namedModules().compactMap { path, module in
            (module as? any TrainingModeSwitchable).map { (path, $0.isTraining) }
        })
    }

    /// Sets each sub-module's training flag back to what ``trainingModes()`` recorded.
    public func restoreTrainingModes(_ modes: [String: Bool]) {
        for (path, module) in namedModules() {
            if let mode = modes[path] { (module as? any TrainingModeSwitchable)?.isTraining = mode }
        }
    }
}
