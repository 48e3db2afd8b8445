import Foundation
import Reporting

/// `lora merge`'s result: one ``MergedWeightReport`` per merged weight and what was written.
/// Encodes as `{"out", "weights": [...], "merged", "copied", "others_rounded"}`.
public struct MergeSummary: Report, Sendable, Equatable {
    /// The merged model's path.
    public var out: String
    public var weights: [MergedWeightReport]
    /// Weights merged: one per report.
    public var merged: Int
    /// The base's other tensors: copied unchanged, or rounded to the output's dtype.
    public var copied: Int
    /// Whether the other tensors were rounded to the output's dtype rather than copied.
    public var othersRounded: Bool

    public init(out: String, weights: [MergedWeightReport], copied: Int, othersRounded: Bool = false) {
        self.out = out
        self.weights = weights
        merged = weights.count
        self.copied = copied
        self.othersRounded = othersRounded
    }

    enum CodingKeys: String, CodingKey {
        case out, weights, merged, copied, othersRounded = "others_rounded"
    }

    /// A markdown table of the merged weights, then what was written.
    public func text() -> String {
        let table = TextTable(
            header: ["weight", "dtype", "shape", "‖ΔW‖/‖W‖", "rel. rounding error", "swallowed", "worst error (ulp)"],
            rows: weights.map { report in
                [report.key, report.dtype.rawValue, "\(report.shape)", report.relativeChange.map { String(format: "%.3e", $0) } ?? "— (W = 0)",
                 String(format: "%.3e", report.relativeRoundingError), percent(report.swallowedFraction),
                 String(format: "%.3f", report.worstErrorULPs)]
            })
        return table.markdown(rightAligned: [3, 4, 5, 6])
            + "\nwrote \(out): \(merged) weights merged, \(copied) tensors " + (othersRounded ? "rounded to the output's dtype" : "copied unchanged")
    }
}
