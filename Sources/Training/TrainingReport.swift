import Foundation
import LinearAlgebra
import LoRA
import Reporting

/// One training run of ``SequenceRegressionExperiment``: losses, parameter counts, the tracked
/// adapter's norms, throughput, peak memory and (LoRA) the merge round trip. Encodes with the
/// keys `mode` (`lora` or `full`), `losses`, `initial_loss`, `final_loss`, `trainable_parameters`,
/// `total_parameters`, `adapted_modules`, `norms`, `tokens_per_second`, `steps`,
/// `training_seconds`, `replicas`, `peak_rss_bytes` and `merge`.
public struct TrainingReport: Report, Sendable {
    /// The LoRA configuration trained, nil for full fine-tuning.
    public var lora: LoRAConfiguration?
    /// Paths of the modules LoRA wrapped (empty for full fine-tuning).
    public var adaptedModules: [String]
    public var history: AdapterTrainingHistory
    public var trainableParameters: Int
    public var totalParameters: Int
    /// The model's parameters before adapters were added.
    public var baseParameters: Int
    /// Data-parallel replicas the steps ran on.
    public var replicas: Int
    /// The process's peak resident memory after training, before the merge check copies weights.
    public var peakRSSBytes: Int?
    public var merge: MergeReport?
    /// `s·B·A` of the tracked adapter after training, for the figure (not encoded).
    public var appliedUpdate: (matrix: Matrix<Float>, scale: Float)?

    public var mode: String { lora == nil ? "full" : "lora" }

    /// The set-up, the loss and speed, the tracked norms, the merge check and the peak memory.
    public func text() -> String {
        var lines: [String] = []
        if let lora {
            lines.append("LoRA r=\(lora.rank) α=\(lora.alpha) on \(adaptedModules.count) modules: " + adaptedModules.joined(separator: ", "))
        }
        lines.append("Parameters: \(trainableParameters.formatted()) trainable / \(totalParameters.formatted()) total "
            + (lora == nil ? "" : String(format: "(%.2f%%; %@ before LoRA)", 100 * Double(trainableParameters) / Double(totalParameters),
                                         baseParameters.formatted())))
        lines.append(String(format: "Loss %.4f → %.4f, %.0f tokens/s, %.1f ms per step over %d steps", history.initialLoss,
                            history.finalLoss, history.tokensPerSecond, 1000 * history.trainingSeconds / Double(history.steps),
                            history.steps))
        let norms = history.norms
        for entry in norms where entry.step == 0 || entry == norms.last || norms.count <= 12 {
            lines.append(String(format: "  step %5d: ‖A‖ = %.4f, ‖B‖ = %.4f, ‖BA‖ = %.4f", entry.step, entry.a, entry.b, entry.delta))
        }
        if let merge {
            lines.append(String(format: "Merge: max |merged − unmerged| = %.3e (relative %.3e); unmerge: max |W drift| = %.3e (relative %.3e)",
                                merge.maxMergedDifference, merge.relativeMergedDifference, merge.maxWeightDrift, merge.relativeWeightDrift))
        }
        lines.append("Peak memory of training (VmHWM): "
            + (peakRSSBytes.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "unavailable"))
        return lines.joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case mode, losses, norms, steps, merge, replicas
        case initialLoss = "initial_loss", finalLoss = "final_loss", adaptedModules = "adapted_modules"
        case trainableParameters = "trainable_parameters", totalParameters = "total_parameters"
        case tokensPerSecond = "tokens_per_second", trainingSeconds = "training_seconds"
        case peakRSSBytes = "peak_rss_bytes"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mode, forKey: .mode)
        try container.encode(history.losses, forKey: .losses)
        try container.encode(history.initialLoss, forKey: .initialLoss)
        try container.encode(history.finalLoss, forKey: .finalLoss)
        try container.encode(trainableParameters, forKey: .trainableParameters)
        try container.encode(totalParameters, forKey: .totalParameters)
        try container.encode(adaptedModules, forKey: .adaptedModules)
        try container.encode(history.norms, forKey: .norms)
        try container.encode(history.tokensPerSecond, forKey: .tokensPerSecond)
        try container.encode(history.steps, forKey: .steps)
        try container.encode(history.trainingSeconds, forKey: .trainingSeconds)
        try container.encode(replicas, forKey: .replicas)
        try container.encodeIfPresent(peakRSSBytes, forKey: .peakRSSBytes)
        try container.encodeIfPresent(merge, forKey: .merge)
    }
}
