import ArgumentParser
import Foundation
import LoRAKit

/// `lora merge`: fold a PEFT adapter into a base model and certify the rounding.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge a PEFT LoRA adapter into a base model: W' = W + x·s·B·A, summed in Double, stored in the base's dtype.",
        discussion: """
            Every other tensor is copied unchanged. Per merged weight it prints ‖ΔW‖/‖W‖, the relative \
            rounding error of the stored W' against the exact sum, the fraction of non-zero ΔW entries \
            swallowed by rounding (W' == W) and the worst error in ulps (≤ 0.5 means correctly rounded).
            """)

    @Option(help: "The base model (.safetensors).")
    var base: String
    @Option(help: "The PEFT adapter directory (adapter_config.json, adapter_model.safetensors).")
    var adapter: String
    @Option(help: "The merged model to write (.safetensors).")
    var out: String
    @Option(help: "Multiplies the adapter's update (x in W + x·s·B·A).")
    var scale: Double = 1
    @Flag(help: "Allow --out to be the base model itself (by any path or link): it is replaced once the merged file is complete.")
    var force = false
    @OptionGroup var output: FormatOption

    func validate() throws {
        guard scale.isFinite else { throw ValidationError("--scale must be finite, got \(scale)") }
    }

    func run() throws {
        let adapterURL = URL(fileURLWithPath: adapter)
        let adapterFiles = [PEFTAdapter<Double>.configurationFileName, PEFTAdapter<Double>.weightsFileName].map {
            CommandPath(flag: "--adapter", path: adapterURL.appendingPathComponent($0).path)
        }
        try OutputSafety.check(
            outputs: [CommandPath(flag: "--out", path: out)],
            inputs: [CommandPath(flag: "--base", path: base)] + adapterFiles, force: ("--base", "--force", force))
        let baseFile = try SafetensorsFile(contentsOf: URL(fileURLWithPath: base))
        if let weights = try? SafetensorsFile(contentsOf: adapterURL.appendingPathComponent(PEFTAdapter<Double>.weightsFileName)) {
            try MemoryBudget.require(
                AllocationEstimate.merge(base: baseFile, adapterWeights: weights), for: "merging \(base)",
                advice: "merge on a machine with more memory")
        }
        let (peft, warnings) = try PEFTAdapter<Double>.read(from: adapterURL)
        let (merged, reports): (SafetensorsWriter, [MergedWeightReport])
        do {
            (merged, reports) = try AdapterMerge.merge(base: baseFile, adapter: peft, scale: scale)
        } catch {
            guard case .mergeOverflow(_, let dtype) = error else { throw error }
            throw CommandFailure(description: "\(error): use a smaller --scale" + (dtype == "F64" ? "" : " or a base with a wider dtype"))
        }
        try merged.write(to: OutputSafety.destination(out))
        warnings.forEach(printWarning)
        print(try output.render(MergeSummary(out: out, weights: reports, copied: baseFile.tensors.count - reports.count)))
    }
}
