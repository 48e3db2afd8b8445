import ArgumentParser
import Foundation
import LoRAKit

/// `lora combine`: several PEFT adapters of one base model as one, as PEFT's `add_weighted_adapter`.
struct Combine: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine PEFT LoRA adapters of one base: cat (exact, rank Σ rᵢ), svd (truncated to --rank), linear (PEFT's).",
        discussion: """
            With weights wᵢ and scalings sᵢ the exact update is ΔW = Σ wᵢ·sᵢ·Bᵢ·Aᵢ. cat stacks wᵢ·sᵢ·Aᵢ and Bᵢ \
            (exact); svd keeps its best rank-r approximation, from an SVD of the stacked factors (no d×k \
            matrix); linear adds A and B separately (equal ranks), which brings in cross terms Bᵢ·Aⱼ. \
            Prints per module the ranks, retained energy and the error against ΔW. The result has α = r.
            """)

    @Option(help: "An adapter directory (repeat, one per adapter).")
    var adapter: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "The weight of the adapter in the same position (repeat, one per adapter; may be negative).")
    var weight: [Double] = []
    @Option(help: "How to combine.")
    var method: CombinationMethodChoice
    @Option(help: "The rank of an svd combination (default: the largest input rank).")
    var rank: Int?
    @OptionGroup var destination: AdapterOutputOption
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: FormatOption

    func validate() throws {
        guard !adapter.isEmpty else { throw ValidationError("give at least one --adapter") }
        guard weight.count == adapter.count else {
            throw ValidationError("give one --weight per --adapter: \(adapter.count) adapters, \(weight.count) weights")
        }
        if let rank, method != .svd || rank < 1 {
            throw ValidationError(method == .svd ? "--rank must be at least 1, got \(rank)" : "--rank applies to --method svd only")
        }
    }

    func run() throws {
        threads.apply()
        let inputs = adapter.map { URL(fileURLWithPath: $0) }
        let adapters = try zip(adapter, inputs).map { name, url in
            let (read, warnings) = try PEFTAdapter<Double>.read(from: url)
            for warning in warnings { printWarning(warning) }
            return (name: name, adapter: read)
        }
        let (combined, reports, warnings) = try AdapterCombination.combine(
            adapters, weights: weight, method: method.method, rank: rank)
        for warning in warnings { printWarning(warning) }
        try destination.write(combined, inputs: inputs)
        print(try output.render(CombinationSummary(
            out: destination.out, method: method.rawValue, modules: reports, parameters: combined.parameterCount, warnings: warnings)))
    }
}

/// `--method cat|svd|linear`.
enum CombinationMethodChoice: String, ExpressibleByArgument, CaseIterable {
    case cat, svd, linear

    var method: CombinationMethod { CombinationMethod(rawValue: rawValue)! }
}
