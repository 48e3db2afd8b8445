import Foundation
import LinearAlgebra
import LoRA
import LowRank
import TensorFormats

/// How many singular triplets of `ΔW` an extracted adapter keeps.
public enum RankSelection: Sendable, Equatable {
    /// Exactly `r` (at most `min(d, k)`).
    case rank(Int)
    /// The fewest that keep a fraction `e ∈ (0, 1]` of the energy: `Σ_{i≤r} σᵢ² ≥ e·Σ σᵢ²`.
    case energy(Double)
}

/// One module of an extracted adapter.
public struct ExtractedModuleReport: Sendable, Equatable {
    /// The module path (the tensor key without `.weight`).
    public let module: String
    /// The weight's shape `[d, k]`.
    public let shape: [Int]
    /// The rank kept.
    public let rank: Int
    /// `Σ_{i≤r} σᵢ² / Σ σᵢ²`.
    public let retainedEnergy: Double
    /// `‖ΔW − B·A‖_F` with `A`, `B` as stored (after rounding to the adapter's dtype).
    public let absoluteError: Double
    /// `‖ΔW − B·A‖_F / ‖ΔW‖_F`.
    public let relativeError: Double
    /// `r·(d + k)`.
    public let parameters: Int
}

/// Builds a PEFT adapter from two checkpoints of one model: `ΔW = W_tuned − W_base` per 2-D
/// `<module>.weight`, truncated SVD `ΔW ≈ U_r Σ_r V_rᵀ`, stored as `B = U_r Σ_r^{1/2}` (d×r) and
/// `A = Σ_r^{1/2} V_rᵀ` (r×k) with `α = r`, so the scaling `α/r` is 1 and `ΔW ≈ B·A`.
/// The SVD is LowRank's: randomized for a small fixed rank, exact otherwise.
public enum AdapterExtraction {
    /// The adapter (factors already rounded to `dtype`, the dtype to write them in) and one report
    /// per module whose weight differs. `targets` restricts the modules by PEFT's rule.
    public static func extract(
        base: SafetensorsFile, tuned: SafetensorsFile, selection: RankSelection,
        targets: TargetModules? = nil, dtype: TensorDType = .float32
    ) throws(PEFTAdapterError) -> (adapter: PEFTAdapter<Double>, reports: [ExtractedModuleReport]) {
        switch selection {
        case let .rank(r): precondition(r >= 1, "AdapterExtraction: rank \(r) < 1")
        case let .energy(e): precondition(e > 0 && e <= 1, "AdapterExtraction: energy \(e) is not in (0, 1]")
        }
        let filter = targets.map { LoRAConfiguration(targetModules: $0) }
        var modules: [String: PEFTAdapter<Double>.Factors] = [:]
        var reports: [ExtractedModuleReport] = []
        for info in tuned.tensors where info.name.hasSuffix(".weight") && info.shape.count == 2 && info.dtype.isConvertible {
            let path = String(info.name.dropLast(".weight".count))
            if let filter, !filter.targets(path) { continue }
            let delta = try difference(info, base: base, tuned: tuned)
            guard delta.elements.contains(where: { $0 != 0 }) else { continue }
            let (factors, report) = try factorize(delta, module: path, selection: selection, dtype: dtype)
            modules[path] = factors
            reports.append(report)
        }
        guard !reports.isEmpty else { throw .nothingToExtract(base: base.path, tuned: tuned.path) }
        return (PEFTAdapter(configuration: configuration(for: reports), modules: modules), reports)
    }

    private static func difference(_ info: TensorInfo, base: SafetensorsFile, tuned: SafetensorsFile) throws(PEFTAdapterError) -> Matrix<Double> {
        let baseInfo: TensorInfo
        do { baseInfo = try base.info(info.name) } catch { throw .missingTensor(file: base.path, key: info.name) }
        guard baseInfo.shape == info.shape else {
            throw .shapeMismatch(file: tuned.path, key: info.name, shape: info.shapeDescription,
                                 otherKey: "\(base.path): \(info.name)", otherShape: baseInfo.shapeDescription)
        }
        do {
            return try tuned.matrix(info.name, as: Double.self) - base.matrix(info.name, as: Double.self)
        } catch {
            throw .tensorFile(error)
        }
    }

    private static func factorize(
        _ delta: Matrix<Double>, module: String, selection: RankSelection, dtype: TensorDType
    ) throws(PEFTAdapterError) -> (PEFTAdapter<Double>.Factors, ExtractedModuleReport) {
        if case let .rank(r) = selection, r > min(delta.rows, delta.columns) {
            throw .rankTooLarge(module: module, rank: r, shape: delta.shapeDescription)
        }
        let svd: SingularValueDecomposition<Double>
        do {
            svd = try truncatedSVD(delta, selection: selection)
        } catch {
            throw .decompositionFailed(module: module, reason: error.description)
        }
        let rank = svd.singularValues.count
        let (b, a) = svd.loraFactors()
        let storedB = dtype.rounded(b), storedA = dtype.rounded(a)
        let norm = delta.frobeniusNorm
        let error = (delta - storedB * storedA).frobeniusNorm
        let report = ExtractedModuleReport(
            module: module, shape: [delta.rows, delta.columns], rank: rank,
            retainedEnergy: svd.singularValues.map { $0 * $0 }.reduce(0, +) / (norm * norm),
            absoluteError: error, relativeError: error / norm,
            parameters: rank * (delta.rows + delta.columns))
        return (PEFTAdapter.Factors(a: storedA, b: storedB), report)
    }

    /// The truncated SVD of `ΔW` for `selection`: for a fixed rank, randomized when
    /// `4·(r + 10) ≤ min(d, k)` and exact otherwise; for an energy target, exact (it needs every σ).
    private static func truncatedSVD(_ delta: Matrix<Double>, selection: RankSelection) throws(LowRankError) -> SingularValueDecomposition<Double> {
        let size = min(delta.rows, delta.columns)
        switch selection {
        case let .rank(r):
            let method: TruncatedSVDMethod = 4 * (r + 10) <= size ? .randomized(RandomizedSVDOptions()) : .exact
            return try delta.truncatedSVD(rank: r, method: method)
        case let .energy(target):
            let svd = try delta.truncatedSVD(rank: size, method: .exact)
            let spectrum = SingularSpectrum(completeSingularValues: svd.singularValues)
            return svd.truncated(rank: try spectrum.smallestRank(reachingEnergy: target) ?? size)
        }
    }

    /// `α = r` for every module (so `s = 1`), targets the module paths, saved for inference.
    private static func configuration(for reports: [ExtractedModuleReport]) -> LoRAConfiguration {
        let modules = reports.map(\.module).sorted()
        return LoRAConfiguration(targetModules: .names(modules), inferenceMode: true)
            .withModules(Dictionary(uniqueKeysWithValues: reports.map { ($0.module, (rank: $0.rank, alpha: Double($0.rank))) }))
    }
}

/// Encodes with snake_case keys, as `lora extract --format json` prints each module.
extension ExtractedModuleReport: Encodable {
    enum CodingKeys: String, CodingKey {
        case module, shape, rank, parameters
        case retainedEnergy = "retained_energy", absoluteError = "absolute_error", relativeError = "relative_error"
    }
}
