import Foundation
import Reporting

/// `lora merge`'s result: one ``MergedWeightReport`` per merged weight and what was written.
/// Encodes as `{"out", "weights": [...], "merged", "copied"}`.
public struct MergeSummary: Report, Sendable, Equatable {
    /// The merged model's path.
    public var out: String
    public var weights: [MergedWeightReport]
    /// Tensors of the base copied unchanged.
    public var copied: Int
    public var merged: Int { weights.count }

    public init(out: String, weights: [MergedWeightReport], copied: Int) {
        self.out = out
        self.weights = weights
        self.copied = copied
    }

    /// A markdown table of the merged weights, then what was written.
    public func text() -> String {
        let table = TextTable(
            header: ["weight", "dtype", "shape", "‖ΔW‖/‖W‖", "rel. rounding error", "swallowed", "worst error (ulp)"],
            rows: weights.map { report in
                [report.key, report.dtype.rawValue, "\(report.shape)", String(format: "%.3e", report.relativeChange),
                 String(format: "%.3e", report.relativeRoundingError), percent(report.swallowedFraction),
                 String(format: "%.3f", report.worstErrorULPs)]
            })
        return table.markdown(rightAligned: [3, 4, 5, 6])
            + "\nwrote \(out): \(merged) weights merged, \(copied) tensors copied unchanged"
    }

    enum CodingKeys: String, CodingKey { case out, weights, merged, copied }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(out, forKey: .out)
        try container.encode(weights, forKey: .weights)
        try container.encode(merged, forKey: .merged)
        try container.encode(copied, forKey: .copied)
    }
}

extension MergedWeightReport: Encodable {
    enum CodingKeys: String, CodingKey {
        case key, shape, dtype
        case relativeChange = "relative_change", roundingError = "rounding_error"
        case relativeRoundingError = "relative_rounding_error", swallowedFraction = "swallowed_fraction"
        case worstErrorULPs = "worst_error_ulps"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encode(dtype.rawValue, forKey: .dtype)
        try container.encode(shape, forKey: .shape)
        try container.encode(relativeChange, forKey: .relativeChange)
        try container.encode(roundingError, forKey: .roundingError)
        try container.encode(relativeRoundingError, forKey: .relativeRoundingError)
        try container.encode(swallowedFraction, forKey: .swallowedFraction)
        try container.encode(worstErrorULPs, forKey: .worstErrorULPs)
    }
}
