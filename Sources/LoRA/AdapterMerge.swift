import LinearAlgebra
import TensorFormats

/// The certified report of one merged weight `W' = W + ΔW`, `ΔW = x·s·B·A`.
///
/// The exact sum is formed in `Double` from the stored `W`, `A`, `B` (exact for every supported
/// dtype; the GEMM's own error is ~1e-16 relative, far below any storage rounding), then rounded
/// once to the base's dtype. The figures compare that stored `W'` with the exact sum.
public struct MergedWeightReport: Sendable, Equatable {
    /// The base tensor's key, `<module>.weight`.
    public let key: String
    /// The dtype `W` and `W'` are stored in.
    public let dtype: TensorDType
    /// The shape `[d, k]`.
    public let shape: [Int]
    /// `‖ΔW‖_F / ‖W‖_F`.
    public let relativeChange: Double
    /// `‖W'_stored − (W + ΔW)‖_F`.
    public let roundingError: Double
    /// `‖W'_stored − (W + ΔW)‖_F / ‖W + ΔW‖_F`.
    public let relativeRoundingError: Double
    /// The fraction of entries with `ΔWᵢⱼ ≠ 0` whose stored `W'ᵢⱼ` equals `Wᵢⱼ`: updates lost to rounding.
    public let swallowedFraction: Double
    /// `max |W'ᵢⱼ − (W + ΔW)ᵢⱼ| / ulp(W'ᵢⱼ)`: 0.5 at most when every entry is correctly rounded.
    public let worstErrorULPs: Double
}

/// Folds a PEFT adapter into a base model's weights: `W' = W + x·s·B·A` for every adapted module.
public enum AdapterMerge {
    /// The merged model (every adapted `<module>.weight` replaced by `W'` in the base's dtype,
    /// every other tensor and the metadata copied unchanged) and one report per merged weight.
    ///
    /// Refuses, naming the key, when the base lacks `<module>.weight`, and naming both shapes when
    /// it is not `[d, k]` for `B: d×r`, `A: r×k` (`[k, d]` with `fan_in_fan_out`).
    public static func merge(
        base: SafetensorsFile, adapter: PEFTAdapter<Double>, scale: Double = 1
    ) throws(PEFTAdapterError) -> (merged: SafetensorsWriter, reports: [MergedWeightReport]) {
        var writer = SafetensorsWriter(metadata: base.metadata)
        var reports: [MergedWeightReport] = []
        for path in adapter.modulePaths {
            let key = PEFTKeys.baseWeight(path)
            let info: TensorInfo
            do { info = try base.info(key) } catch { throw .missingTensor(file: base.path, key: key) }
            var delta = adapter.deltaWeight(forModule: path, extraScale: scale)
            if adapter.configuration.fanInFanOut { delta = delta.transposed }
            guard info.shape == [delta.rows, delta.columns] else {
                let factors = adapter.modules[path]!
                throw .shapeMismatch(file: base.path, key: key, shape: info.shapeDescription,
                                     otherKey: "\(PEFTKeys.loraB(path)) · \(PEFTKeys.loraA(path))",
                                     otherShape: "[\(factors.b.rows), \(factors.a.columns)]")
            }
            guard info.dtype.isConvertible else {
                throw .unsupportedDType(file: base.path, key: key, dtype: info.dtype.rawValue)
            }
            let weight: Matrix<Double>
            do { weight = try base.matrix(key, as: Double.self) } catch { throw .tensorFile(error) }
            let exact = weight + delta
            let stored = info.dtype.rounded(exact)
            reports.append(report(key: key, dtype: info.dtype, weight: weight, delta: delta, exact: exact, stored: stored))
            writer.add(key, stored, as: info.dtype)
        }
        let merged = Set(reports.map(\.key))
        for name in base.tensorNames where !merged.contains(name) {
            do { try writer.addCopy(of: name, from: base) } catch { throw .tensorFile(error) }
        }
        return (writer, reports)
    }

    private static func report(
        key: String, dtype: TensorDType, weight: Matrix<Double>, delta: Matrix<Double>,
        exact: Matrix<Double>, stored: Matrix<Double>
    ) -> MergedWeightReport {
        var changed = 0, swallowed = 0
        var worstULPs = 0.0
        for i in 0..<exact.count {
            let error = abs(stored.elements[i] - exact.elements[i])
            worstULPs = max(worstULPs, error / dtype.unitInLastPlace(of: stored.elements[i]))
            if delta.elements[i] != 0 {
                changed += 1
                if stored.elements[i] == weight.elements[i] { swallowed += 1 }
            }
        }
        let roundingError = (stored - exact).frobeniusNorm
        return MergedWeightReport(
            key: key, dtype: dtype, shape: [weight.rows, weight.columns],
            relativeChange: delta.frobeniusNorm / weight.frobeniusNorm,
            roundingError: roundingError,
            relativeRoundingError: roundingError / exact.frobeniusNorm,
            swallowedFraction: changed == 0 ? 0 : Double(swallowed) / Double(changed),
            worstErrorULPs: worstULPs)
    }
}
