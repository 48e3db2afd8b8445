import ArgumentParser
import Foundation
import LoRAKit

/// `lora extract`: a PEFT adapter from the difference of two checkpoints.
struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract a PEFT LoRA adapter from two checkpoints: ΔW = tuned − base, truncated SVD, α = r.",
        discussion: """
            Every 2-D floating-point <module>.weight that differs is factored as B = U_r·Σ_r^½, \
            A = Σ_r^½·V_rᵀ (randomized SVD when r is small against the weight, exact otherwise). \
            Prints per module the rank, the retained energy and the relative error ‖ΔW − B·A‖/‖ΔW‖ \
            of the stored factors, and the total adapter parameters.
            """)

    @Option(help: "The base checkpoint (.safetensors).")
    var base: String
    @Option(help: "The fine-tuned checkpoint (.safetensors).")
    var tuned: String
    @Option(help: "Keep this many singular triplets per module.")
    var rank: Int?
    @Option(help: "Keep the fewest triplets that retain this fraction of each ΔW's energy, in (0, 1].")
    var energy: Double?
    @Option(help: "The adapter directory to write.")
    var out: String
    @Option(help: "Only these modules, comma-separated (PEFT's rule: a path equal to a name or ending in .name).")
    var targets: String?
    @Option(help: "The dtype of A and B: F32, F64, F16 or BF16.")
    var dtype: String = "F32"

    func validate() throws {
        switch (rank, energy) {
        case (nil, nil), (.some, .some): throw ValidationError("give exactly one of --rank and --energy")
        case let (r?, nil) where r < 1: throw ValidationError("--rank must be at least 1, got \(r)")
        case let (nil, e?) where !(e > 0 && e <= 1): throw ValidationError("--energy must be in (0, 1], got \(e)")
        default: break
        }
        guard let type = TensorDType(rawValue: dtype), type.isConvertible else {
            throw ValidationError("--dtype must be F32, F64, F16 or BF16, got \(dtype)")
        }
        if let targets, targets.split(separator: ",").isEmpty { throw ValidationError("--targets is empty") }
    }

    func run() throws {
        let selection: RankSelection = rank.map { .rank($0) } ?? .energy(energy!)
        let targetModules = targets.map { TargetModules.names($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        let baseFile = try SafetensorsFile(contentsOf: URL(fileURLWithPath: base))
        let tunedFile = try SafetensorsFile(contentsOf: URL(fileURLWithPath: tuned))
        let (adapter, reports) = try AdapterExtraction.extract(
            base: baseFile, tuned: tunedFile, selection: selection, targets: targetModules, dtype: TensorDType(rawValue: dtype)!)
        try adapter.write(to: URL(fileURLWithPath: out), dtype: TensorDType(rawValue: dtype)!)
        let table = TextTable(
            header: ["module", "shape", "rank", "retained energy", "rel. error", "parameters"],
            rows: reports.map { report in
                [report.module, "\(report.shape)", "\(report.rank)", String(format: "%.6f", report.retainedEnergy),
                 String(format: "%.3e", report.relativeError), grouped(report.parameters)]
            })
        print(table.markdown(rightAligned: [2, 3, 4, 5]))
        let full = reports.reduce(0) { $0 + $1.shape[0] * $1.shape[1] }
        print("total adapter parameters: \(adapter.parameterCount) (\(String(format: "%.2f%%", 100 * Double(adapter.parameterCount) / Double(full))) of the \(full) weights adapted)")
        print("wrote \(out)/\(PEFTAdapter<Double>.configurationFileName) and \(PEFTAdapter<Double>.weightsFileName)")
    }
}
