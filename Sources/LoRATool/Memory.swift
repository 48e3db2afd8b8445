import ArgumentParser
import LoRAKit

/// `lora memory`: seed 003 exercise 3, the memory of full fine-tuning versus LoRA.
struct Memory: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GB of weights, adapters, gradients and Adam states: full fine-tuning versus LoRA.")

    @Option(help: "Model sizes in billions of parameters, comma-separated.")
    var billions = ArgumentList([1.0, 7, 13, 70])

    @Option(help: "LoRA rank r.")
    var rank = 16

    @Option(help: "Fraction of the weights that get LoRA adapters, in (0, 1].")
    var fraction = 0.1

    @Option(help: "Weight precisions, comma-separated: float32, float16, bfloat16, int8, int4.")
    var precision = ArgumentList([WeightPrecision.float32])

    @Option(name: .customLong("trainable-precision"),
            help: "WeightPrecision of adapters, their gradients and Adam states (default: the weight precision).")
    var trainablePrecision: WeightPrecision?

    @Option(name: .customLong("d-model"), help: "Width d of the square adapted matrices.")
    var dModel = 4096

    @Option(help: "Output format: markdown, csv or json.")
    var format: OutputFormat = .markdown

    func validate() throws {
        if billions.values.isEmpty || precision.values.isEmpty {
            throw ValidationError("--billions and --precision need at least one value")
        }
    }

    func run() throws {
        var rows: [MemoryEstimate] = []
        for size in billions.values {
            for weights in precision.values {
                let assumptions = MemoryAssumptions(
                    precision: weights, trainablePrecision: trainablePrecision, adaptedMatrixDimension: dModel)
                rows.append(try MemoryEstimate(billions: size, rank: rank, adaptedFraction: fraction, assumptions: assumptions))
            }
        }
        switch format {
        case .json:
            print(try jsonText(MemoryTableOutput(assumptions: rows.map(\.assumptions), rows: rows)))
        case .csv:
            print(Self.textTable(rows, readable: false).csv())
        case .markdown:
            print(Self.textTable(rows, readable: true).markdown(rightAligned: Set(0..<14).subtracting([1])))
            print("\nAssumptions:")
            let sentences = rows.flatMap(\.assumptions.sentences)
            for (i, sentence) in sentences.enumerated() where !sentences[..<i].contains(sentence) { print("- \(sentence)") }
        }
    }

    static func textTable(_ rows: [MemoryEstimate], readable: Bool) -> TextTable {
        let gb: (Double) -> String = readable ? { String(format: "%.3f", $0) } : { "\($0)" }
        return TextTable(
            header: readable
                ? ["Params (B)", "WeightPrecision", "Rank", "LoRA params", "Full weights", "Full grads", "Full Adam",
                   "Full total", "LoRA weights", "Adapters", "LoRA grads", "LoRA Adam", "LoRA total", "LoRA / full"]
                : ["billions", "precision", "rank", "lora_parameters", "full_ft_weights", "full_ft_gradients",
                   "full_ft_optimizer", "full_ft_total", "lora_weights", "lora_adapters", "lora_gradients",
                   "lora_optimizer", "lora_total", "memory_savings_ratio"],
            rows: rows.map { row in
                [readable ? String(format: "%g", row.billions) : "\(row.billions)", row.precision.rawValue, "\(row.rank)",
                 readable ? grouped(Int(row.loraParameters.rounded())) : "\(row.loraParameters)"]
                    + [row.fullWeights, row.fullGradients, row.fullOptimizer, row.fullTotal, row.loraWeights,
                       row.loraAdapters, row.loraGradients, row.loraOptimizer, row.loraTotal].map(gb)
                    + [readable ? percent(row.savingsRatio) : "\(row.savingsRatio)"]
            })
    }
}

/// The JSON of `lora memory`: the distinct assumptions and the rows (GB, ratio as a fraction).
private struct MemoryTableOutput: Encodable {
    var assumptions: [MemoryAssumptions]
    var rows: [MemoryEstimate]

    init(assumptions: [MemoryAssumptions], rows: [MemoryEstimate]) {
        self.assumptions = assumptions.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        self.rows = rows
    }
}

extension WeightPrecision: ExpressibleByArgument {}
