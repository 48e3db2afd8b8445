import Foundation
import Reporting

/// `lora merge`'s result: one ``MergedWeightReport`` per merged weight and what was written.
/// Encodes as `{"out", "weights": [...], "merged", "copied"}`.
public struct MergeSummary: Report, Sendable, Equatable {
    /// The merged model's path.
    public var out: String
    public var weights: [MergedWeightReport]
    /// Weights merged: one per report.
    public var merged: Int
    /// Tensors of the base copied unchanged.
    public var copied: Int

    public init(out: String, weights: [MergedWeightReport], copied: Int) {
        self.out = out
        self.weights = weights
        merged = weights.count
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
}
