import Reporting

/// `lora params`'s result: one ``LoRAParameterRow`` per model, for `targets` at one rank.
/// Encodes as `{"rows": [...]}`.
public struct ParameterTableReport: TableReport, Sendable, Equatable {
    public var rows: [LoRAParameterRow]
    /// The matrices adapted in every layer.
    public var targets: [AdaptedProjection]
    public var rank: Int

    /// The rows of `models` adapting `targets` at rank `r`; throws what ``LoRAParameterRow`` throws.
    public init(models: [TransformerShape], rank r: Int, targets: [AdaptedProjection]) throws(ParameterTableError) {
        rows = try models.map { model throws(ParameterTableError) in try LoRAParameterRow(model: model, rank: r, targets: targets) }
        self.targets = targets
        rank = r
    }

    private var heading: String {
        "LoRA on \(targets.map(\.rawValue).joined(separator: ", ")) in every layer, rank \(rank):\n\n"
    }

    public func text() -> String { heading + textTable(readable: true).aligned(rightAligned: Set(1..<7)) }
    public func markdown() -> String { heading + textTable(readable: true).markdown(rightAligned: Set(1..<7)) }
    public func csv() -> String { textTable(readable: false).csv() }

    /// The rows as text: grouped digits and a percentage (`readable`) or plain numbers.
    public func textTable(readable: Bool) -> TextTable {
        TextTable(
            header: readable
                ? ["Model", "d_model", "Layers", "Rank", "Full params", "LoRA params", "Ratio"]
                : ["model", "d_model", "layers", "rank", "full_parameters", "lora_parameters", "ratio"],
            rows: rows.map { row in
                [row.model, "\(row.dModel)", "\(row.layers)", "\(row.rank)",
                 readable ? grouped(row.fullParameters) : "\(row.fullParameters)",
                 readable ? grouped(row.loraParameters) : "\(row.loraParameters)",
                 readable ? percent(row.ratio) : "\(row.ratio)"]
            })
    }

    enum CodingKeys: String, CodingKey { case rows }
}
