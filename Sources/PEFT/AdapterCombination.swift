import LinearAlgebra
import LoRA

/// How ``AdapterCombination/combine(_:weights:method:rank:)`` joins adapters, as PEFT's
/// `add_weighted_adapter` `combination_type`. Per module, with weights `wᵢ`, scalings `sᵢ` and the
/// exact sum `ΔW = Σ wᵢ·sᵢ·Bᵢ·Aᵢ`:
public enum CombinationMethod: String, Sendable, CaseIterable {
    /// `A' = [w₁s₁A₁; w₂s₂A₂; …]`, `B' = [B₁ | B₂ | …]`: `B'·A' = ΔW` exactly, at rank `Σ rᵢ`.
    case cat
    /// The best rank-`r` approximation of `ΔW` (Eckart–Young), from the SVD of the stacked factors
    /// in factor space (``FactorSpaceSVD``; no `d×k` matrix is formed); at `r = Σ rᵢ` it is `cat`.
    case svd
    /// PEFT's `linear`: `A' = Σ sign(wᵢsᵢ)·√|wᵢsᵢ|·Aᵢ`, `B' = Σ √|wᵢsᵢ|·Bᵢ` (equal ranks), whose
    /// product adds the cross terms `√|wᵢsᵢ|·√|wⱼsⱼ|·Bᵢ·Aⱼ` (`i ≠ j`) to `ΔW`.
    case linear
}

/// One module of a combined or resized adapter.
public struct CombinedModuleReport: Encodable, Sendable, Equatable {
    /// The module path.
    public let module: String
    /// The rank of the result.
    public let rank: Int
    /// The rank of the inputs: `Σ rᵢ` for a combination, `r` for a resize.
    public let inputRank: Int
    /// `‖s'·B'·A' − ΔW‖_F` against the exact `ΔW` (0 for `cat`, the truncation error for `svd` and a
    /// resize, the cross terms for `linear`).
    public let absoluteError: Double
    /// `absoluteError / ‖ΔW‖_F` (0 when `ΔW = 0`).
    public let relativeError: Double
    /// `Σ_{i≤r} σᵢ² / Σ σᵢ²` of `ΔW`'s spectrum (`nil` for `linear`, which is no truncation).
    public let retainedEnergy: Double?

    enum CodingKeys: String, CodingKey {
        case module, rank, inputRank = "input_rank", absoluteError = "absolute_error"
        case relativeError = "relative_error", retainedEnergy = "retained_energy"
    }
}

/// Joins PEFT adapters of one base model into one adapter (``combine(_:weights:method:rank:)``).
/// The result has `α = r` (`s = 1`, rsLoRA off) per module, as PEFT's `add_weighted_adapter`.
public enum AdapterCombination {
    /// The combined adapter, a report per module and warnings (for `linear`, naming its cross terms).
    ///
    /// Refuses, with a typed one-line error: a weight list of another length than the adapters',
    /// adapters of different base models or module sets, DoRA adapters, mixed `fan_in_fan_out`,
    /// modules whose shapes differ, `linear` on unequal ranks, and for `svd` a rank above `Σ rᵢ`
    /// or `min(d, k)` (default: the largest `rᵢ`, as PEFT).
    public static func combine(
        _ adapters: [(name: String, adapter: PEFTAdapter<Double>)], weights: [Double], method: CombinationMethod,
        rank: Int? = nil
    ) throws(PEFTAdapterError) -> (adapter: PEFTAdapter<Double>, reports: [CombinedModuleReport], warnings: [String]) {
        guard weights.count == adapters.count else { throw .weightCountMismatch(adapters: adapters.count, weights: weights.count) }
        guard let first = adapters.first else { throw .weightCountMismatch(adapters: 0, weights: 0) }
        if let bad = weights.first(where: { !$0.isFinite }) {
            throw .invalidArgument(name: "weight", value: "\(bad)", expected: "a finite number")
        }
        if let rank, method != .svd || rank < 1 {
            throw .invalidArgument(name: "rank", value: "\(rank)", expected: method == .svd ? "an integer ≥ 1" : "no rank: only svd truncates")
        }
        try requireCompatible(adapters)
        var modules: [String: PEFTAdapter<Double>.Factors] = [:]
        var reports: [CombinedModuleReport] = []
        for path in first.adapter.modulePaths {
            let parts = try adapters.map { named throws(PEFTAdapterError) in
                let factors = named.adapter.modules[path]!
                let reference = first.adapter.modules[path]!
                guard factors.a.columns == reference.a.columns && factors.b.rows == reference.b.rows else {
                    throw .shapeMismatch(file: named.name, key: "\(PEFTKeys.loraB(path)) · \(PEFTKeys.loraA(path))",
                                         shape: "[\(factors.b.rows), \(factors.a.columns)]", otherKey: "\(first.name): \(path)",
                                         otherShape: "[\(reference.b.rows), \(reference.a.columns)]")
                }
                return (factors: factors, scale: named.adapter.scaling(forModule: path))
            }
            let stackedB = Matrix.stackingColumns(parts.map(\.factors.b))
            let stackedA = Matrix.stackingRows(zip(parts, weights).map { part, w in part.factors.a * (w * part.scale) })
            let (factors, report) = try combineModule(
                path, parts: parts, weights: weights, exact: (stackedB, stackedA), method: method, rank: rank)
            modules[path] = factors
            reports.append(report)
        }
        var configuration = first.adapter.configuration
        configuration.useRSLoRA = false
        configuration.initialization = .kaimingUniform
        configuration = configuration.withModules(modules.mapValues { (rank: $0.rank, alpha: Double($0.rank)) })
        let warnings = method == .linear
            ? ["linear combines A and B separately: B'·A' = Σᵢⱼ √|wᵢsᵢ|·√|wⱼsⱼ|·Bᵢ·Aⱼ holds the cross terms Bᵢ·Aⱼ (i ≠ j) besides Σ wᵢsᵢ·Bᵢ·Aᵢ (the relative error per module says how much); cat or svd give the weighted sum"]
            : []
        return (PEFTAdapter(configuration: configuration, modules: modules), reports, warnings)
    }

    private static func combineModule(
        _ path: String, parts: [(factors: PEFTAdapter<Double>.Factors, scale: Double)], weights: [Double],
        exact: (b: Matrix<Double>, a: Matrix<Double>), method: CombinationMethod, rank: Int?
    ) throws(PEFTAdapterError) -> (PEFTAdapter<Double>.Factors, CombinedModuleReport) {
        let combinedRank = exact.a.rows
        switch method {
        case .cat:
            return (.init(a: exact.a, b: exact.b), .init(module: path, rank: combinedRank, inputRank: combinedRank,
                                                        absoluteError: 0, relativeError: 0, retainedEnergy: 1))
        case .svd:
            let r = rank ?? parts.map(\.factors.rank).max()!
            guard r <= combinedRank else { throw .rankAboveAvailable(module: path, rank: r, available: combinedRank) }
            let svd = try decomposition(path, b: exact.b, a: exact.a)
            guard r <= svd.singularValues.count else {
                throw .rankTooLarge(module: path, rank: r, shape: "\(exact.b.rows)×\(exact.a.columns)")
            }
            let (b, a) = svd.factors(rank: r)
            let error = svd.truncationError(rank: r), norm = svd.energy.squareRoot()
            return (.init(a: a, b: b), .init(module: path, rank: r, inputRank: combinedRank, absoluteError: error,
                                             relativeError: norm > 0 ? error / norm : 0, retainedEnergy: svd.retainedEnergy(rank: r)))
        case .linear:
            let ranks = parts.map(\.factors.rank)
            guard Set(ranks).count == 1 else {
                throw .unsupportedForCombination(reason: "linear needs equal ranks; module \"\(path)\" has ranks \(ranks)")
            }
            var a = Matrix<Double>.zeros(ranks[0], exact.a.columns), b = Matrix<Double>.zeros(exact.b.rows, ranks[0])
            for (part, w) in zip(parts, weights) {
                let root = abs(w * part.scale).squareRoot()
                a.axpy(w * part.scale < 0 ? -root : root, part.factors.a)
                b.axpy(root, part.factors.b)
            }
            // ‖B'·A' − ΔW‖ as the norm of one low-rank product, [B' | −B_cat]·[A'; A_cat].
            let error = lowRankNorm(b: .stackingColumns([b, -exact.b]), a: .stackingRows([a, exact.a]))
            let norm = lowRankNorm(b: exact.b, a: exact.a)
            return (.init(a: a, b: b), .init(module: path, rank: ranks[0], inputRank: combinedRank, absoluteError: error,
                                             relativeError: norm > 0 ? error / norm : 0, retainedEnergy: nil))
        }
    }

    /// Same base model (where named), same modules, no DoRA, one `fan_in_fan_out`.
    private static func requireCompatible(_ adapters: [(name: String, adapter: PEFTAdapter<Double>)]) throws(PEFTAdapterError) {
        let first = adapters[0]
        for other in adapters {
            if let base = first.adapter.configuration.baseModelNameOrPath, let otherBase = other.adapter.configuration.baseModelNameOrPath,
               base != otherBase {
                throw .differentBases(first: "\(first.name): \(base)", other: "\(other.name): \(otherBase)")
            }
            try first.adapter.requireSameModules(as: other.adapter, names: (first.name, other.name))
            if other.adapter.configuration.useDoRA {
                throw .unsupportedForCombination(reason: "\(other.name) is a DoRA adapter (use_dora); its magnitudes do not combine")
            }
            if other.adapter.configuration.fanInFanOut != first.adapter.configuration.fanInFanOut {
                throw .unsupportedForCombination(reason: "\(first.name) and \(other.name) differ in fan_in_fan_out")
            }
        }
    }

    /// ``FactorSpaceSVD`` of `B·A`, its LAPACK failure named by module.
    static func decomposition(_ path: String, b: Matrix<Double>, a: Matrix<Double>) throws(PEFTAdapterError) -> FactorSpaceSVD {
        do { return try FactorSpaceSVD(b: b, a: a) } catch { throw .decompositionFailed(module: path, reason: error.description) }
    }

    /// `‖B·A‖_F = √⟨BᵀB, A·Aᵀ⟩` from two `R×R` Gram matrices, without forming `B·A`.
    static func lowRankNorm(b: Matrix<Double>, a: Matrix<Double>) -> Double {
        max(0, (b.transposed * b).dot(a * a.transposed)).squareRoot()
    }
}
