import ArgumentParser
import Foundation
import LoRAKit

/// `lora resize`: a PEFT adapter at a lower rank, per module, keeping its scaling.
struct Resize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resize a PEFT LoRA adapter: the best rank-r' approximation of each s·B·A, α rescaled so s is kept.",
        discussion: """
            The new rank per module is fixed (--rank) or chosen from ΔW's singular values: every σᵢ ≥ σ₁/x \
            (--sv-ratio x), the fewest whose Σσᵢ reaches a share p of the total (--sv-cumulative p), or whose \
            ‖ΔW_r‖_F reaches p·‖ΔW‖_F (--sv-fro p); at least 1, at most the module's rank. The SVD is taken \
            in factor space (no d×k matrix). Prints per module the ranks, the retained energy and the error.
            """)

    @Option(help: "The adapter directory.")
    var adapter: String
    @Option(help: "Keep this many singular triplets per module (at most its rank).")
    var rank: Int?
    @Option(name: .customLong("sv-ratio"), help: "Keep every σᵢ ≥ σ₁/x, x ≥ 1.")
    var svRatio: Double?
    @Option(name: .customLong("sv-cumulative"), help: "Keep the fewest whose Σσᵢ reaches this share, in (0, 1].")
    var svCumulative: Double?
    @Option(name: .customLong("sv-fro"), help: "Keep the fewest whose Frobenius norm reaches this share of ‖ΔW‖_F, in (0, 1].")
    var svFro: Double?
    @OptionGroup var destination: AdapterOutputOption
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: FormatOption

    func validate() throws {
        let given = [rank.map { _ in "--rank" }, svRatio.map { _ in "--sv-ratio" }, svCumulative.map { _ in "--sv-cumulative" },
                     svFro.map { _ in "--sv-fro" }].compactMap { $0 }
        guard given.count == 1 else {
            throw ValidationError("give exactly one of --rank, --sv-ratio, --sv-cumulative and --sv-fro" + (given.isEmpty ? "" : "; got \(given.joined(separator: ", "))"))
        }
    }

    var selection: ResizeSelection {
        if let rank { return .rank(rank) }
        if let svRatio { return .singularValueRatio(svRatio) }
        if let svCumulative { return .cumulativeSingularValues(svCumulative) }
        return .frobeniusShare(svFro!)
    }

    func run() throws {
        threads.apply()
        let input = URL(fileURLWithPath: adapter)
        let (read, warnings) = try PEFTAdapter<Double>.read(from: input)
        for warning in warnings { printWarning(warning) }
        let (resized, reports) = try AdapterCombination.resize(read, selection: selection)
        try destination.write(resized, inputs: [input])
        print(try output.render(CombinationSummary(out: destination.out, method: "resize", modules: reports, parameters: resized.parameterCount)))
    }
}
