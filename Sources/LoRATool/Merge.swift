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
    @OptionGroup var output: FormatOption

    func validate() throws {
        guard scale.isFinite else { throw ValidationError("--scale must be finite, got \(scale)") }
        guard URL(fileURLWithPath: out).standardizedFileURL != URL(fileURLWithPath: base).standardizedFileURL else {
            throw ValidationError("--out must differ from --base (\(base))")
        }
    }

    func run() throws {
        let baseFile = try SafetensorsFile(contentsOf: URL(fileURLWithPath: base))
        let (peft, warnings) = try PEFTAdapter<Double>.read(from: URL(fileURLWithPath: adapter))
        warnings.forEach(printWarning)
        let (merged, reports) = try AdapterMerge.merge(base: baseFile, adapter: peft, scale: scale)
        try merged.write(to: URL(fileURLWithPath: out))
        print(try output.render(MergeSummary(out: out, weights: reports, copied: baseFile.tensors.count - reports.count)))
    }
}
