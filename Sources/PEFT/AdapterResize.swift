import LinearAlgebra
import LoRA

/// How many singular triplets of each module's `ΔW = s·B·A` a resized adapter keeps (kohya's
/// `resize_lora` criteria), at least 1 and at most the module's rank.
public enum ResizeSelection: Sendable, Equatable {
    /// Exactly `r` (at most the module's rank).
    case rank(Int)
    /// Every `σᵢ ≥ σ₁/x`, `x ≥ 1`.
    case singularValueRatio(Double)
    /// The fewest with `Σ_{i≤r} σᵢ / Σ σᵢ ≥ p`, `p ∈ (0, 1]`.
    case cumulativeSingularValues(Double)
    /// The fewest with `‖ΔW_r‖_F / ‖ΔW‖_F = √(Σ_{i≤r} σᵢ² / Σ σᵢ²) ≥ p`, `p ∈ (0, 1]`.
    case frobeniusShare(Double)
}

extension AdapterCombination {
    /// The adapter with each module's `ΔW = s·B·A` replaced by its best rank-`r'` approximation,
    /// `r'` chosen per module by `selection`, from a factor-space SVD (no `d×k` matrix): the scale
    /// `s` is kept, so `α' = α·r'/r` (`α·√(r'/r)` with rsLoRA), in `rank_pattern`/`alpha_pattern`
    /// where modules differ. Resizing at each module's own rank is lossless (to rounding).
    /// Refuses DoRA adapters (truncating `B·A` moves the norms `m` divides by) and a fixed rank
    /// above a module's rank.
    public static func resize(
        _ adapter: PEFTAdapter<Double>, selection: ResizeSelection
    ) throws(PEFTAdapterError) -> (adapter: PEFTAdapter<Double>, reports: [CombinedModuleReport]) {
        try validate(selection)
        guard !adapter.configuration.useDoRA else {
            throw .unsupportedForCombination(reason: "resizing a DoRA adapter (use_dora) would change its norms")
        }
        var modules: [String: PEFTAdapter<Double>.Factors] = [:]
        var shapes: [String: (rank: Int, alpha: Double)] = [:]
        var reports: [CombinedModuleReport] = []
        let rsLoRA = adapter.configuration.useRSLoRA
        for path in adapter.modulePaths {
            let factors = adapter.modules[path]!
            let s = adapter.scaling(forModule: path)
            let svd = try decomposition(path, b: factors.b * s, a: factors.a)
            let r = try rank(for: path, svd: svd, selection: selection, available: factors.rank)
            let (b, a) = svd.factors(rank: r, scale: s)
            modules[path] = .init(a: a, b: b)
            shapes[path] = (r, s * (rsLoRA ? Double(r).squareRoot() : Double(r)))
            let error = svd.truncationError(rank: r), norm = svd.energy.squareRoot()
            reports.append(.init(module: path, rank: r, inputRank: factors.rank, absoluteError: error,
                                 relativeError: norm > 0 ? error / norm : 0, retainedEnergy: svd.retainedEnergy(rank: r)))
        }
        return (PEFTAdapter(configuration: adapter.configuration.withModules(shapes), modules: modules), reports)
    }

    private static func validate(_ selection: ResizeSelection) throws(PEFTAdapterError) {
        switch selection {
        case let .rank(r) where r < 1:
            throw .invalidArgument(name: "rank", value: "\(r)", expected: "an integer ≥ 1")
        case let .singularValueRatio(x) where !(x >= 1 && x.isFinite):
            throw .invalidArgument(name: "sv-ratio", value: "\(x)", expected: "a finite number ≥ 1")
        case let .cumulativeSingularValues(p) where !(p > 0 && p <= 1), let .frobeniusShare(p) where !(p > 0 && p <= 1):
            throw .invalidArgument(name: "share", value: "\(p)", expected: "a fraction in (0, 1]")
        default: break
        }
    }

    /// The rank `selection` keeps of `svd`'s spectrum (`σ` descending), in `1...available`.
    private static func rank(
        for path: String, svd: FactorSpaceSVD, selection: ResizeSelection, available: Int
    ) throws(PEFTAdapterError) -> Int {
        let sigma = svd.singularValues
        let upper = min(available, sigma.count)
        /// The fewest leading values whose running sum of `f(σ)` reaches `p` of the total.
        func reaching(_ p: Double, _ f: (Double) -> Double) -> Int {
            let total = sigma.reduce(0) { $0 + f($1) }
            guard total > 0 else { return 1 }
            var sum = 0.0
            for (i, value) in sigma.enumerated() {
                sum += f(value)
                if sum >= p * total * (1 - 1e-12) { return i + 1 }
            }
            return sigma.count
        }
        switch selection {
        case let .rank(r):
            guard r <= upper else { throw .rankAboveAvailable(module: path, rank: r, available: upper) }
            return r
        case let .singularValueRatio(x):
            return min(upper, max(1, sigma.filter { $0 > 0 && $0 >= sigma[0] / x }.count))
        case let .cumulativeSingularValues(p):
            return min(upper, reaching(p) { $0 })
        case let .frobeniusShare(p):
            return min(upper, reaching(p * p) { $0 * $0 })
        }
    }
}
