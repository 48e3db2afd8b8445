import Foundation
import LinearAlgebra
import LoRA
import Reporting

/// What a training run trained and what it cost, beside its history.
public struct TrainingRunSummary: Encodable, Sendable {
    /// `lora` or `full`.
    public var mode: String
    public var trainableParameters: Int
    public var totalParameters: Int
    /// The model's parameters before adapters were added.
    public var baseParameters: Int
    /// Paths of the modules LoRA wrapped (empty for full fine-tuning).
    public var adaptedModules: [String]
    /// Data-parallel replicas the steps ran on.
    public var replicas: Int
    /// The process's peak resident memory after training, before the merge check copies weights.
    public var peakRSSBytes: Int?
    /// The merge round trip after LoRA training.
    public var merge: MergeReport?

    enum CodingKeys: String, CodingKey {
        case mode, replicas, merge
        case trainableParameters = "trainable_parameters", totalParameters = "total_parameters"
        case baseParameters = "base_parameters", adaptedModules = "adapted_modules", peakRSSBytes = "peak_rss_bytes"
    }
}

/// One training run of ``SequenceRegressionExperiment``. Encodes the history's keys (`losses`,
/// `initial_loss`, `final_loss`, `norms`, `steps`, `training_seconds`, `tokens_per_second`) beside
/// the summary's (`mode`, `trainable_parameters`, `total_parameters`, `base_parameters`,
/// `adapted_modules`, `replicas`, `peak_rss_bytes`, `merge`).
public struct TrainingReport: Report, Sendable {
    /// The LoRA configuration trained, nil for full fine-tuning.
    public var lora: LoRAConfiguration?
    public var history: AdapterTrainingHistory
    public var summary: TrainingRunSummary
    /// `s·B·A` of the tracked adapter after training and its `s`, for the figure (not encoded).
    public var appliedUpdate: (matrix: Matrix<Float>, scale: Float)?

    /// The set-up, the loss and speed, the tracked norms, the merge check and the peak memory.
    public func text() -> String {
        let (trainable, total) = (summary.trainableParameters, summary.totalParameters)
        var lines: [String] = []
        if let lora {
            lines.append("LoRA r=\(lora.rank) α=\(lora.alpha) on \(summary.adaptedModules.count) modules: "
                + summary.adaptedModules.joined(separator: ", "))
        }
        lines.append("Parameters: \(trainable.formatted()) trainable / \(total.formatted()) total "
            + (lora == nil ? "" : String(format: "(%.2f%%; %@ before LoRA)", 100 * Double(trainable) / Double(total),
                                         summary.baseParameters.formatted())))
        lines.append(String(format: "Loss %.4f → %.4f, %.0f tokens/s, %.1f ms per step over %d steps", history.initialLoss,
                            history.finalLoss, history.tokensPerSecond, 1000 * history.trainingSeconds / Double(history.steps),
                            history.steps))
        let norms = history.norms
        for entry in norms where entry.step == 0 || entry == norms.last || norms.count <= 12 {
            lines.append(String(format: "  step %5d: ‖A‖ = %.4f, ‖B‖ = %.4f, ‖BA‖ = %.4f", entry.step, entry.a, entry.b, entry.delta))
        }
        if let merge = summary.merge {
            lines.append(String(format: "Merge: max |merged − unmerged| = %.3e (relative %.3e); unmerge: max |W drift| = %.3e (relative %.3e)",
                                merge.maxMergedDifference, merge.relativeMergedDifference, merge.maxWeightDrift, merge.relativeWeightDrift))
        }
        lines.append("Peak memory of training (VmHWM): "
            + (summary.peakRSSBytes.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "unavailable"))
        return lines.joined(separator: "\n")
    }

    public func encode(to encoder: any Encoder) throws {
        try history.encode(to: encoder)
        try summary.encode(to: encoder)
    }
}
