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

    func validate() throws {
        guard scale.isFinite else { throw ValidationError("--scale must be finite, got \(scale)") }
        guard URL(fileURLWithPath: out).standardizedFileURL != URL(fileURLWithPath: base).standardizedFileURL else {
            throw ValidationError("--out must differ from --base (\(base))")
        }
    }

    func run() throws {
        let baseFile = try SafetensorsFile(contentsOf: URL(fileURLWithPath: base))
        let (peft, warnings) = try PEFTAdapter<Double>.read(from: URL(fileURLWithPath: adapter))
        for warning in warnings { printWarning(warning) }
        let (merged, reports) = try AdapterMerge.merge(base: baseFile, adapter: peft, scale: scale)
        try merged.write(to: URL(fileURLWithPath: out))
        let table = TextTable(
            header: ["weight", "dtype", "shape", "‖ΔW‖/‖W‖", "rel. rounding error", "swallowed", "worst error (ulp)"],
            rows: reports.map { report in
                [report.key, report.dtype.rawValue, "\(report.shape)", String(format: "%.3e", report.relativeChange),
                 String(format: "%.3e", report.relativeRoundingError), percent(report.swallowedFraction),
                 String(format: "%.3f", report.worstErrorULPs)]
            })
        print(table.markdown(rightAligned: [3, 4, 5, 6]))
        print("wrote \(out): \(reports.count) weights merged, \(baseFile.tensors.count - reports.count) tensors copied unchanged")
    }
}
