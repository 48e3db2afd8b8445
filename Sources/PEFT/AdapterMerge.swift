import Foundation
import LinearAlgebra
import LoRA
import TensorFormats

/// The certified report of one merged weight `W' = W + ΔW`, `ΔW = x·s·B·A` (for DoRA
/// `ΔW = diag(m/n)·(W + x·s·B·A) − W`).
///
/// The exact sum is formed in `Double` from the stored `W`, `A`, `B` (exact for every supported
/// dtype; the GEMM's own error is ~1e-16 relative, far below any storage rounding, and so are
/// DoRA's norms and quotients), then rounded once to the base's dtype. The figures compare that
/// stored `W'` with the exact sum.
public struct MergedWeightReport: Encodable, Sendable, Equatable {
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

    enum CodingKeys: String, CodingKey {
        case key, shape, dtype
        case relativeChange = "relative_change", roundingError = "rounding_error"
        case relativeRoundingError = "relative_rounding_error", swallowedFraction = "swallowed_fraction"
        case worstErrorULPs = "worst_error_ulps"
    }
}

/// A dtype encodes as its safetensors name, e.g. `"F32"`.
extension TensorDType: Encodable {}

/// Folds a PEFT adapter into a base model's weights: `W' = W + x·s·B·A` for every adapted module,
/// or for DoRA `W' = diag(m/n)·(W + x·s·B·A)` with `n` the row norms of `W + x·s·B·A` (PEFT's
/// `merge_and_unload`; ``PEFTAdapter/mergedWeight(forModule:base:extraScale:)``).
public enum AdapterMerge {
    /// The merged model (every adapted `<module>.weight` replaced by `W'` in the base's dtype,
    /// every other tensor and the metadata copied unchanged) and one report per merged weight.
    ///
    /// Refuses, naming the key, when the base lacks `<module>.weight`, and naming both shapes when
    /// it is not `[d, k]` for `B: d×r`, `A: r×k` (`[k, d]` with `fan_in_fan_out`). Refuses
    /// adapters whose configuration changes `W'` beyond `s·B·A` (``mergeChangingKeys``, or a
    /// trained `bias`) or whose modules' DoRA magnitudes disagree with `use_dora`, rather than
    /// writing a wrong model.
    public static func merge(
        base: SafetensorsFile, adapter: PEFTAdapter<Double>, scale: Double = 1
    ) throws(PEFTAdapterError) -> (merged: SafetensorsWriter, reports: [MergedWeightReport]) {
        let configuration = adapter.configuration
        if configuration.bias != .none {
            throw .unsupportedForMerge(key: "bias", value: configuration.bias.rawValue)
        }
        for key in mergeChangingKeys {
            if let value = configuration.otherKeys[key], !value.isUnset {
                let text = (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
                throw .unsupportedForMerge(key: key, value: text)
            }
        }
        var writer = SafetensorsWriter(metadata: base.metadata)
        var reports: [MergedWeightReport] = []
        for path in adapter.modulePaths {
            let key = PEFTKeys.baseWeight(path)
            let info: TensorInfo
            do { info = try base.info(key) } catch { throw .missingTensor(file: base.path, key: key) }
            let factors = adapter.modules[path]!
            guard (factors.magnitude != nil) == configuration.useDoRA else {
                throw .doraMismatch(file: "adapter", module: path, useDoRA: configuration.useDoRA)
            }
            let fanInFanOut = adapter.configuration.fanInFanOut
            let shape = fanInFanOut ? [factors.a.columns, factors.b.rows] : [factors.b.rows, factors.a.columns]
            guard info.shape == shape else {
                throw .shapeMismatch(file: base.path, key: key, shape: info.shapeDescription,
                                     otherKey: "\(PEFTKeys.loraB(path)) · \(PEFTKeys.loraA(path))",
                                     otherShape: "\(shape)")
            }
            guard info.dtype.isConvertible else {
                throw .unsupportedDType(file: base.path, key: key, dtype: info.dtype.rawValue)
            }
            let stored: Matrix<Double>
            do { stored = try base.matrix(key, as: Double.self) } catch { throw .tensorFile(error) }
            guard stored.isFinite else { throw .nonFinite(file: base.path, key: key) }
            // DoRA's row norms are of the `out×in` weight, so a transposed (Conv1D) base is turned first.
            let weight = fanInFanOut ? stored.transposed : stored
            var delta = adapter.mergedWeight(forModule: path, base: weight, extraScale: scale) - weight
            if fanInFanOut { delta = delta.transposed }
            guard delta.isFinite else { throw .nonFinite(file: "adapter", key: "\(PEFTKeys.loraB(path)) · \(PEFTKeys.loraA(path))") }
            let (merged, report) = merged(stored, delta, dtype: info.dtype, key: key)
            reports.append(report)
            writer.add(key, merged, as: info.dtype)
        }
        let merged = Set(reports.map(\.key))
        for name in base.tensorNames where !merged.contains(name) {
            do { try writer.addCopy(of: name, from: base) } catch { throw .tensorFile(error) }
        }
        return (writer, reports)
    }

    /// `adapter_config.json` keys that, when set, add to `W'` something other than `s·B·A`
    /// (full copies of modules, LoRA biases, replicated layers, trained tokens).
    public static let mergeChangingKeys = [
        "modules_to_save", "lora_bias", "layer_replication", "trainable_token_indices",
    ]

    /// `W' = round(W + ΔW)` to `dtype` and its report, in one pass over the elements. The norms
    /// are square roots of plain sums of squares in `Double` (no overflow below |x| ≈ 1e154).
    private static func merged(
        _ weight: Matrix<Double>, _ delta: Matrix<Double>, dtype: TensorDType, key: String
    ) -> (Matrix<Double>, MergedWeightReport) {
        var stored = Matrix<Double>.zeros(weight.rows, weight.columns)
        var weightSquares = 0.0, deltaSquares = 0.0, exactSquares = 0.0, errorSquares = 0.0
        var worstULPs = 0.0
        var changed = 0, swallowed = 0
        stored.withUnsafeMutableBufferPointer { out in
            weight.withUnsafeBufferPointer { w in
                delta.withUnsafeBufferPointer { d in
                    for i in 0..<out.count {
                        let exact = w[i] + d[i]
                        let rounded = dtype.rounded(exact)
                        out[i] = rounded
                        let error = rounded - exact
                        weightSquares += w[i] * w[i]
                        deltaSquares += d[i] * d[i]
                        exactSquares += exact * exact
                        errorSquares += error * error
                        worstULPs = max(worstULPs, abs(error) / dtype.unitInLastPlace(of: rounded))
                        if d[i] != 0 {
                            changed += 1
                            if rounded == w[i] { swallowed += 1 }
                        }
                    }
                }
            }
        }
        let report = MergedWeightReport(
            key: key, dtype: dtype, shape: [weight.rows, weight.columns],
            relativeChange: (deltaSquares / weightSquares).squareRoot(),
            roundingError: errorSquares.squareRoot(),
            relativeRoundingError: (errorSquares / exactSquares).squareRoot(),
            swallowedFraction: changed == 0 ? 0 : Double(swallowed) / Double(changed),
            worstErrorULPs: worstULPs)
        return (stored, report)
    }
}
