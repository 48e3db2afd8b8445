import LinearAlgebra
import LoRA
import TensorFormats

/// A LoRA adapter as PEFT stores it: a ``LoRAConfiguration`` and, per adapted module, the
/// factors `A: r×k` (`lora_A`, shape `[r, in]`) and `B: d×r` (`lora_B`, shape `[out, r]`).
///
/// The module at path `p` (e.g. `"model.layers.0.self_attn.q_proj"`, the base weight
/// `"p.weight"` of shape `[out, in]`) changes by `ΔW = s·B·A`, with `s` from
/// ``LoRAConfiguration/scaling(forModule:)`` (α/r or α/√r, per-module by the patterns).
public struct PEFTAdapter<Scalar: MatrixScalar>: Sendable {
    /// The factors of one adapted module.
    public struct Factors: Sendable, Equatable {
        /// `A: r×k`.
        public var a: Matrix<Scalar>
        /// `B: d×r`.
        public var b: Matrix<Scalar>

        /// The factors `A: r×in` and `B: out×r` of one module.
        public init(a: Matrix<Scalar>, b: Matrix<Scalar>) {
            precondition(a.rows == b.columns, "PEFTAdapter.Factors: A \(a.shapeDescription) and B \(b.shapeDescription) need A r×k, B d×r")
            self.a = a
            self.b = b
        }

        /// The rank `r`.
        public var rank: Int { a.rows }
    }

    /// The configuration written as `adapter_config.json`.
    public var configuration: LoRAConfiguration
    /// The factors by module path.
    public var modules: [String: Factors]

    /// An adapter from its configuration and each module's factors, keyed by module path.
    public init(configuration: LoRAConfiguration, modules: [String: Factors]) {
        self.configuration = configuration
        self.modules = modules
    }

    /// An adapter saved from LoRAKit layers: each module's `A` and `B` from its ``LoRAWeights``.
    public init(configuration: LoRAConfiguration, weights: [String: LoRAWeights<Scalar>]) {
        self.init(configuration: configuration, modules: weights.mapValues { Factors(a: $0.a, b: $0.b) })
    }

    /// The adapted module paths, sorted.
    public var modulePaths: [String] { modules.keys.sorted() }

    /// The trainable parameters `Σ r·(d + k)`.
    public var parameterCount: Int { modules.values.reduce(0) { $0 + $1.a.count + $1.b.count } }

    /// The scaling `s` of module `path`.
    public func scaling(forModule path: String) -> Double { configuration.scaling(forModule: path) }

    /// `ΔW = s·B·A` (d×k) of module `path`, times `extraScale`, computed in `Double`.
    public func deltaWeight(forModule path: String, extraScale: Double = 1) -> Matrix<Double> {
        guard let factors = modules[path] else { preconditionFailure("PEFTAdapter: no module \"\(path)\"") }
        var delta = Matrix<Double>.zeros(factors.b.rows, factors.a.columns)
        Matrix.gemm(factors.b.converted(to: Double.self), factors.a.converted(to: Double.self),
                    alpha: extraScale * scaling(forModule: path), beta: 0, into: &delta)
        return delta
    }

    /// LoRAKit weights for module `path` on the base `W: d×k`, with the module's scaling; not merged.
    public func loRAWeights(forModule path: String, base: Matrix<Scalar>) -> LoRAWeights<Scalar> {
        guard let factors = modules[path] else { preconditionFailure("PEFTAdapter: no module \"\(path)\"") }
        return LoRAWeights(base: base, a: factors.a, b: factors.b, scale: Scalar(scaling(forModule: path)))
    }
}

/// PEFT's tensor keys: `base_model.model.<module path>.lora_A.weight` and `….lora_B.weight`
/// (the adapter name, e.g. `default`, is removed on save), and the base weight `<module path>.weight`.
public enum PEFTKeys {
    static let prefix = "base_model.model."
    static let aSuffix = ".lora_A.weight"
    static let bSuffix = ".lora_B.weight"

    /// `base_model.model.<path>.lora_A.weight`.
    public static func loraA(_ modulePath: String) -> String { prefix + modulePath + aSuffix }
    /// `base_model.model.<path>.lora_B.weight`.
    public static func loraB(_ modulePath: String) -> String { prefix + modulePath + bSuffix }
    /// The base model's weight of the module: `<path>.weight`.
    public static func baseWeight(_ modulePath: String) -> String { modulePath + ".weight" }

    /// The module path and factor (`"A"` or `"B"`) of an adapter key, or `nil` for another key.
    public static func parse(_ key: String) -> (modulePath: String, factor: Character)? {
        guard key.hasPrefix(prefix) else { return nil }
        for (suffix, factor) in [(aSuffix, Character("A")), (bSuffix, Character("B"))] where key.hasSuffix(suffix) {
            let path = key.dropFirst(prefix.count).dropLast(suffix.count)
            return path.isEmpty ? nil : (String(path), factor)
        }
        return nil
    }
}
