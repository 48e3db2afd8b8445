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
    /// `‖ΔW‖_F / ‖W‖_F`; nil when `W` is zero (the ratio is infinite).
    public let relativeChange: Double?
    /// `‖W'_stored − (W + ΔW)‖_F`.
    public let roundingError: Double
    /// `‖W'_stored − (W + ΔW)‖_F / ‖W + ΔW‖_F` (0 when `W + ΔW` is zero, which rounds exactly).
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
        try requireMergeable(adapter)
        var writer = SafetensorsWriter(metadata: base.metadata)
        var reports: [MergedWeightReport] = []
        for path in adapter.modulePaths {
            let key = PEFTKeys.baseWeight(path)
            let info: TensorInfo
            do { info = try base.info(key) } catch { throw .missingTensor(file: base.path, key: key) }
            let factors = adapter.modules[path]!
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
            var delta = try delta(forModule: path, of: adapter, base: weight, scale: scale, key: key)
            if fanInFanOut { delta = delta.transposed }
            let (merged, report) = try merged(stored, delta, dtype: info.dtype, key: key)
            reports.append(report)
            writer.add(key, merged, as: info.dtype)
        }
        let merged = Set(reports.map(\.key))
        for name in base.tensorNames where !merged.contains(name) {
            do { try writer.addCopy(of: name, from: base) } catch { throw .tensorFile(error) }
        }
        return (writer, reports)
    }

    /// Throws unless the adapter's configuration changes `W'` by `s·B·A` alone (or DoRA's
    /// rescaling): no trained `bias`, none of ``mergeChangingKeys``.
    static func requireMergeable(_ adapter: PEFTAdapter<Double>) throws(PEFTAdapterError) {
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
    }

    /// `ΔW = W' − W` of module `path` on `base: out×in` (`key` names it), checked finite, after
    /// checking that the module's DoRA magnitude agrees with `use_dora`.
    static func delta(
        forModule path: String, of adapter: PEFTAdapter<Double>, base: Matrix<Double>, scale: Double, key: String
    ) throws(PEFTAdapterError) -> Matrix<Double> {
        guard (adapter.modules[path]!.magnitude != nil) == adapter.configuration.useDoRA else {
            throw .doraMismatch(file: "adapter", module: path, useDoRA: adapter.configuration.useDoRA)
        }
        let delta = adapter.mergedWeight(forModule: path, base: base, extraScale: scale) - base
        guard delta.isFinite else { throw .mergeOverflow(key: key, dtype: "F64") }
        return delta
    }

    /// `adapter_config.json` keys that, when set, add to `W'` something other than `s·B·A`
    /// (full copies of modules, LoRA biases, replicated layers, trained tokens).
    public static let mergeChangingKeys = [
        "modules_to_save", "lora_bias", "layer_replication", "trainable_token_indices",
    ]

    /// `W' = round(W + ΔW)` to `dtype` and its report, in one pass over the elements after one
    /// that finds the largest magnitude: the sums of squares are of values scaled by a power of
    /// two near its inverse, so the norms neither overflow nor underflow anywhere in `Double`'s
    /// range. Throws when a merged entry is beyond `dtype`'s range.
    static func merged(
        _ weight: Matrix<Double>, _ delta: Matrix<Double>, dtype: TensorDType, key: String
    ) throws(PEFTAdapterError) -> (Matrix<Double>, MergedWeightReport) {
        let largest = max(weight.elements.lazy.map(abs).max() ?? 0, delta.elements.lazy.map(abs).max() ?? 0)
        let scale = largest > 0 && largest.isFinite ? Double(sign: .plus, exponent: min(-largest.exponent, 1023), significand: 1) : 1
        var stored = Matrix<Double>.zeros(weight.rows, weight.columns)
        var weightSquares = 0.0, deltaSquares = 0.0, exactSquares = 0.0, errorSquares = 0.0
        var worstULPs = 0.0
        var changed = 0, swallowed = 0, overflowed = false
        stored.withUnsafeMutableBufferPointer { out in
            weight.withUnsafeBufferPointer { w in
                delta.withUnsafeBufferPointer { d in
                    for i in 0..<out.count {
                        let exact = w[i] + d[i]
                        let rounded = dtype.rounded(exact)
                        guard rounded.isFinite else {
                            overflowed = true
                            return
                        }
                        out[i] = rounded
                        // The error is formed unscaled: scaling first could round it away.
                        let (ws, ds, es, rs) = (w[i] * scale, d[i] * scale, exact * scale, (rounded - exact) * scale)
                        weightSquares += ws * ws
                        deltaSquares += ds * ds
                        exactSquares += es * es
                        errorSquares += rs * rs
                        worstULPs = max(worstULPs, abs(rounded - exact) / dtype.unitInLastPlace(of: rounded))
                        if d[i] != 0 {
                            changed += 1
                            if rounded == w[i] { swallowed += 1 }
                        }
                    }
                }
            }
        }
        if overflowed { throw .mergeOverflow(key: key, dtype: dtype.rawValue) }
        let report = MergedWeightReport(
            key: key, dtype: dtype, shape: [weight.rows, weight.columns],
            relativeChange: weightSquares > 0 ? (deltaSquares / weightSquares).squareRoot() : nil,
            roundingError: errorSquares.squareRoot() / scale,
            relativeRoundingError: exactSquares > 0 ? (errorSquares / exactSquares).squareRoot() : 0,
            swallowedFraction: changed == 0 ? 0 : Double(swallowed) / Double(changed),
            worstErrorULPs: worstULPs)
        return (stored, report)
    }
}
