import Foundation
import Reporting

/// `lora memory`'s result: one ``MemoryEstimate`` per model size and weight precision. Encodes
/// as `{"assumptions": [...], "rows": [...]}` with each distinct assumption once (GB values, the
/// savings ratio as a fraction).
public struct MemoryTableReport: TableReport, Sendable, Equatable {
    public var rows: [MemoryEstimate]

    public init(rows: [MemoryEstimate]) { self.rows = rows }

    /// The assumptions of the rows, each once, in the order the rows first use them.
    public var assumptions: [MemoryAssumptions] {
        rows.map(\.assumptions).reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
    }

    /// The table, then the assumptions as a list of sentences.
    public func text() -> String { page(textTable(readable: true).aligned(rightAligned: numericColumns)) }
    public func markdown() -> String { page(textTable(readable: true).markdown(rightAligned: numericColumns)) }
    public func csv() -> String { textTable(readable: false).csv() }

    private var numericColumns: Set<Int> { Set(0..<14).subtracting([1]) }

    private func page(_ table: String) -> String {
        var sentences: [String] = []
        for sentence in assumptions.flatMap(\.sentences) where !sentences.contains(sentence) { sentences.append(sentence) }
        return ([table, "\nAssumptions:"] + sentences.map { "- \($0)" }).joined(separator: "\n")
    }

    /// The rows as text: GB to three decimals and a percentage (`readable`) or plain numbers.
    public func textTable(readable: Bool) -> TextTable {
        let gb: (Double) -> String = readable ? { String(format: "%.3f", $0) } : { "\($0)" }
        return TextTable(
            header: readable
                ? ["Params (B)", "Dtype", "Rank", "LoRA params", "Full weights", "Full grads", "Full Adam",
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

    enum CodingKeys: String, CodingKey { case assumptions, rows }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(assumptions, forKey: .assumptions)
        try container.encode(rows, forKey: .rows)
    }
}
