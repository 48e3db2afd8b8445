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
    @Option(help: ArgumentList<String>.help("Only these modules (PEFT's rule: a path equal to a name or ending in .name)"),
            transform: ArgumentList.parse)
    var targets: [ArgumentList<String>] = []
    @Option(help: "The dtype of A and B.")
    var dtype: TensorDTypeChoice = .f32
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: FormatOption

    func validate() throws {
        switch (rank, energy) {
        case (nil, nil), (.some, .some): throw ValidationError("give exactly one of --rank and --energy")
        case let (r?, nil) where r < 1: throw ValidationError("--rank must be at least 1, got \(r)")
        case let (nil, e?) where !(e > 0 && e <= 1): throw ValidationError("--energy must be in (0, 1], got \(e)")
        default: break
        }
        if targets.values().contains("") { throw ValidationError("--targets has an empty name") }
    }

    func run() throws {
        threads.apply()
        let selection: RankSelection = rank.map { .rank($0) } ?? .energy(energy!)
        let names = targets.values()
        let baseFile = try SafetensorsFile(contentsOf: URL(fileURLWithPath: base))
        let tunedFile = try SafetensorsFile(contentsOf: URL(fileURLWithPath: tuned))
        let (adapter, reports) = try AdapterExtraction.extract(
            base: baseFile, tuned: tunedFile, selection: selection, targets: names.isEmpty ? nil : .names(names),
            dtype: dtype.tensorDType)
        try adapter.write(to: URL(fileURLWithPath: out), dtype: dtype.tensorDType)
        print(try output.render(ExtractionSummary(out: out, modules: reports, parameters: adapter.parameterCount)))
    }
}
