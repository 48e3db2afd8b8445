import NN
import LinearAlgebra

/// What merging and unmerging every adapter of a model did, model-wide.
public struct MergeReport: Sendable, Equatable, Codable {
    /// `max |Y_merged − Y_unmerged|` over the probe batch.
    public var maxMergedDifference: Double
    /// `‖Y_merged − Y_unmerged‖_F / ‖Y_unmerged‖_F`.
    public var relativeMergedDifference: Double
    /// `max |W_after − W_before|` over every adapted base weight after merge and unmerge.
    public var maxWeightDrift: Double
    /// `‖W_after − W_before‖_F / ‖W_before‖_F`, the worst over the adapted layers.
    public var relativeWeightDrift: Double

    enum CodingKeys: String, CodingKey {
        case maxMergedDifference = "max_merged_difference", relativeMergedDifference = "relative_merged_difference"
        case maxWeightDrift = "max_weight_drift", relativeWeightDrift = "relative_weight_drift"
    }
}

extension TransformerStack {
    /// Merges every LoRA adapter, compares the output on `probe` (`n×d`, evaluation mode) with
    /// the unmerged one, unmerges, and measures how far each base `W` drifted from its value
    /// before the merge. The model ends unmerged, as it started, each module in the mode it had.
    public func checkMergeRoundTrip(probe: Matrix<Scalar>, sequenceLength: Int) -> MergeReport {
        let modes = trainingModes()
        setTraining(false)
        defer { restoreTrainingModes(modes) }
        let layers = loraLayers().map(\.layer)
        precondition(!layers.isEmpty && layers.allSatisfy { !$0.isMerged }, "checkMergeRoundTrip: needs unmerged LoRA layers")
        let before = layers.map(\.weights.base)
        let unmerged = forward(probe, sequenceLength: sequenceLength)
        for layer in layers { layer.merge() }
        let merged = forward(probe, sequenceLength: sequenceLength)
        for layer in layers { layer.unmerge() }
        let drifts = zip(layers, before).map { layer, original in
            (Double(layer.weights.base.maxAbsoluteDifference(original)),
             Double((layer.weights.base - original).frobeniusNorm / original.frobeniusNorm))
        }
        return MergeReport(
            maxMergedDifference: Double(merged.maxAbsoluteDifference(unmerged)),
            relativeMergedDifference: Double((merged - unmerged).frobeniusNorm / unmerged.frobeniusNorm),
            maxWeightDrift: drifts.map(\.0).max()!, relativeWeightDrift: drifts.map(\.1).max()!)
    }
}
