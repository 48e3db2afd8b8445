import ArgumentParser
import Foundation
import LoRAKit

/// `lora merge`: fold a PEFT adapter into a base model and certify the rounding.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge a PEFT LoRA adapter into a base model: W' = W + x·s·B·A, summed in Double, stored in the base's dtype.",
        discussion: """
            With --base, every other tensor is copied unchanged. With --model (a language model, e.g. \
            a quantized GGUF, loaded as for generation), the merged model is written for deployment: \
            --out DIR a Hugging Face directory (config.json, model.safetensors with Hugging Face names \
            and q/k row order) in --dtype; --out FILE.gguf a GGUF file with the source GGUF's metadata \
            and tokenizer, its tensor names and row order, matrices in --dtype f32 or f16, norms in f32. \
            Per merged weight it prints ‖ΔW‖/‖W‖, the relative rounding error of the stored W' against \
            the exact sum, the fraction of non-zero ΔW entries swallowed by rounding (W' == W) and the \
            worst error in ulps (≤ 0.5 means correctly rounded).
            """)

    @Option(help: "The base model (.safetensors).")
    var base: String?
    @Option(help: "A language model to merge for deployment: a .gguf file, a Hugging Face directory or a short name (smollm2).")
    var model: String?
    @Option(help: "The PEFT adapter directory (adapter_config.json, adapter_model.safetensors).")
    var adapter: String
    @Option(help: "The merged model to write: with --base a .safetensors file; with --model a directory or a .gguf file.")
    var out: String
    @Option(help: "With --model, the merged model's dtype: f32, f16 or bf16 (GGUF: f32 or f16).")
    var dtype: TensorDTypeChoice?
    @Option(help: "Multiplies the adapter's update (x in W + x·s·B·A).")
    var scale: Double = 1
    @Flag(help: "With --base, allow --out to be the base model itself (by any path or link): it is replaced once the merged file is complete. With --model, replace an existing --out.")
    var force = false
    @OptionGroup var output: FormatOption

    func validate() throws {
        guard scale.isFinite else { throw ValidationError("--scale must be finite, got \(scale)") }
        guard (base == nil) != (model == nil) else { throw ValidationError("give one of --base and --model") }
        if let dtype {
            guard model != nil else { throw ValidationError("--dtype is for --model; with --base the merged weights keep the base's dtype") }
            guard dtype != .f64 else { throw ValidationError("--dtype f64: give f32, f16 or bf16") }
            if writesGGUF && dtype == .bf16 { throw ValidationError("--dtype bf16: a GGUF output is f32 or f16") }
        }
        if model != nil && out.hasSuffix(".safetensors") {
            throw ValidationError("--out \(out): with --model give a directory (config.json and model.safetensors go in it) or a .gguf file")
        }
    }

    /// Whether `--out` is a GGUF file (with `--model`).
    var writesGGUF: Bool { out.lowercased().hasSuffix(".gguf") }

    /// The adapter's two files, as inputs.
    var adapterFiles: [CommandPath] {
        [PEFTAdapter<Double>.configurationFileName, PEFTAdapter<Double>.weightsFileName].map {
            CommandPath(flag: "--adapter", path: URL(fileURLWithPath: adapter).appendingPathComponent($0).path)
        }
    }

    func run() throws {
        guard let base else { return try mergeModel() }
        let adapterURL = URL(fileURLWithPath: adapter)
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
