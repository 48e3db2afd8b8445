import LinearAlgebra
import LoRA
import NN
import TensorFormats

/// A LoRA adapter as PEFT stores it: a ``LoRAConfiguration`` and, per adapted module, the
/// factors `A: r×k` (`lora_A`, shape `[r, in]`) and `B: d×r` (`lora_B`, shape `[out, r]`).
///
/// The module at path `p` (e.g. `"model.layers.0.self_attn.q_proj"`, the base weight
/// `"p.weight"` of shape `[out, in]`) changes by `ΔW = s·B·A`, with `s` from
/// ``LoRAConfiguration/scaling(forModule:)`` (α/r or α/√r, per-module by the patterns). A DoRA
/// adapter (`use_dora`) also holds each module's magnitude `m` (`lora_magnitude_vector`, shape
/// `[out]`) and changes `W` to `diag(m/n)·(W + s·B·A)`, `n` the row norms (``DoRA``).
public struct PEFTAdapter<Scalar: MatrixScalar>: Sendable {
    /// The factors of one adapted module.
    public struct Factors: Sendable, Equatable {
        /// `A: r×k`.
        public var a: Matrix<Scalar>
        /// `B: d×r`.
        public var b: Matrix<Scalar>

        /// DoRA's magnitude `m: 1×d`, `nil` for plain LoRA.
        public var magnitude: Matrix<Scalar>?

        /// The factors `A: r×in` and `B: out×r` of one module, and DoRA's `m: 1×out`.
        public init(a: Matrix<Scalar>, b: Matrix<Scalar>, magnitude: Matrix<Scalar>? = nil) {
            precondition(a.rows == b.columns, "PEFTAdapter.Factors: A \(a.shapeDescription) and B \(b.shapeDescription) need A r×k, B d×r")
            if let magnitude {
                precondition(magnitude.shape == (1, b.rows),
                             "PEFTAdapter.Factors: magnitude \(magnitude.shapeDescription) does not fit B \(b.shapeDescription) (need 1×\(b.rows))")
            }
            self.a = a
            self.b = b
            self.magnitude = magnitude
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

    /// An adapter saved from LoRAKit weights: each module's `A` and `B` from its ``LoRAWeights``.
    public init(configuration: LoRAConfiguration, weights: [String: LoRAWeights<Scalar>]) {
        self.init(configuration: configuration, modules: weights.mapValues { Factors(a: $0.a, b: $0.b) })
    }

    /// An adapter saved from LoRAKit layers (unmerged): `A`, `B` and DoRA's `m` of each.
    public init(configuration: LoRAConfiguration, layers: [String: LoRALinear<Scalar>]) {
        self.init(configuration: configuration, modules: layers.mapValues { layer in
            precondition(!layer.isMerged, "PEFTAdapter: unmerge the layers before saving them")
            return Factors(a: layer.loraA.value, b: layer.loraB.value, magnitude: layer.magnitude?.value)
        })
    }

    /// The adapted module paths, sorted.
    public var modulePaths: [String] { modules.keys.sorted() }

    /// The trainable parameters `Σ r·(d + k)` (`+ d` for DoRA).
    public var parameterCount: Int { modules.values.reduce(0) { $0 + $1.a.count + $1.b.count + ($1.magnitude?.count ?? 0) } }

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

    /// The merged weight `W'` of module `path` for the base `W: d×k` (as `out×in`), in `Double`:
    /// `W + x·s·B·A`, or DoRA's `diag(f)·(W + x·s·B·A)` with `f = m/n`, `n` the row norms of
    /// `W + x·s·B·A` (`x = extraScale` scales `s`, as PEFT's `scale_layer` does).
    public func mergedWeight(forModule path: String, base: Matrix<Double>, extraScale: Double = 1) -> Matrix<Double> {
        let delta = deltaWeight(forModule: path, extraScale: extraScale)
        precondition(base.shape == delta.shape,
                     "PEFTAdapter.mergedWeight: W \(base.shapeDescription) does not fit B·A \(delta.shapeDescription) of \(path)")
        var merged = base + delta
        if let magnitude = modules[path]!.magnitude {
            let m = magnitude.converted(to: Double.self).elements
            DoRA.scaleRows(&merged, by: DoRA.factors(magnitude: m, norms: DoRA.rowNorms(of: merged)))
        }
        return merged
    }

    /// A LoRAKit layer for module `path` on the base `W: d×k` and its `bias` (frozen): plain LoRA,
    /// or DoRA with the stored magnitude, with the configuration's dropout; not merged.
    public func layer(forModule path: String, base: Matrix<Scalar>, bias: Parameter<Scalar>? = nil) -> LoRALinear<Scalar> {
        LoRALinear(weights: loRAWeights(forModule: path, base: base), bias: bias, trainBias: false,
                   dropout: Scalar(configuration.dropout), variant: modules[path]!.magnitude.map { .dora(magnitude: $0) } ?? .standard)
    }

    /// LoRAKit weights for module `path` on the base `W: d×k`, with the module's scaling; not merged.
    public func loRAWeights(forModule path: String, base: Matrix<Scalar>) -> LoRAWeights<Scalar> {
        guard let factors = modules[path] else { preconditionFailure("PEFTAdapter: no module \"\(path)\"") }
        return LoRAWeights(base: base, a: factors.a, b: factors.b, scale: Scalar(scaling(forModule: path)))
    }
}

/// PEFT's tensor keys: `base_model.model.<module path>.lora_A.weight`, `….lora_B.weight` and DoRA's
/// `….lora_magnitude_vector` (the adapter name, e.g. `default`, is removed on save), and the base
/// weight `<module path>.weight`.
public enum PEFTKeys {
    static let prefix = "base_model.model."
    static let aSuffix = ".lora_A.weight"
    static let bSuffix = ".lora_B.weight"
    static let magnitudeSuffix = ".lora_magnitude_vector"

    /// `base_model.model.<path>.lora_A.weight`.
    public static func loraA(_ modulePath: String) -> String { prefix + modulePath + aSuffix }
    /// `base_model.model.<path>.lora_B.weight`.
    public static func loraB(_ modulePath: String) -> String { prefix + modulePath + bSuffix }
    /// `base_model.model.<path>.lora_magnitude_vector` (DoRA's `m`, shape `[out]`).
    public static func magnitude(_ modulePath: String) -> String { prefix + modulePath + magnitudeSuffix }
    /// The base model's weight of the module: `<path>.weight`.
    public static func baseWeight(_ modulePath: String) -> String { modulePath + ".weight" }

    /// The module path and factor (`"A"`, `"B"`, or `"m"` for DoRA's magnitude) of an adapter key,
    /// or `nil` for another key.
    public static func parse(_ key: String) -> (modulePath: String, factor: Character)? {
        guard key.hasPrefix(prefix) else { return nil }
        for (suffix, factor) in [(aSuffix, Character("A")), (bSuffix, Character("B")), (magnitudeSuffix, Character("m"))]
        where key.hasSuffix(suffix) {
            let path = key.dropFirst(prefix.count).dropLast(suffix.count)
            return path.isEmpty ? nil : (String(path), factor)
        }
        return nil
    }
}
