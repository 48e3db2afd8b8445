import ArgumentParser
import LoRAKit

/// `lora params`: seed 000's parameter-efficiency table, for presets or a custom model.
struct Params: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "LoRA parameters versus full fine-tuning for transformer models.",
        discussion: """
            Per layer, each adapted d×k matrix has d·k weights and r(d+k) LoRA parameters. Without \
            --model or --d-model, prints seed 000's table (q, k, v, o at rank 8). Presets: \
            \(TransformerShape.presets.map(\.id).joined(separator: ", ")), or all.
            """)

    @Option(name: .customLong("model"), help: "A preset model (repeatable), or all.")
    var models: [String] = []

    @Option(name: .customLong("d-model"), help: "Custom model width d_model.")
    var dModel: Int?

    @Option(help: "Custom model number of layers.")
    var layers: Int?

    @Option(help: "Custom model MLP width, needed for the up, down and gate targets.")
    var ffn: Int?

    @Option(help: "Name of the custom model in the table.")
    var name = "Custom"

    @Option(help: "LoRA rank r.")
    var rank = 8

    @Option(help: "Adapted matrices per layer, comma-separated: q, k, v, o, up, down, gate.")
    var targets = "q,k,v,o"

    @Option(help: "Output format: markdown, csv or json.")
    var format: OutputFormat = .markdown

    func validate() throws {
        if (dModel == nil) != (layers == nil) {
            throw ValidationError("a custom model needs both --d-model and --layers")
        }
        if dModel == nil && ffn != nil { throw ValidationError("--ffn is for a custom model: give --d-model and --layers too") }
        for model in models where model != "all" && !TransformerShape.presets.contains(where: { $0.id == model }) {
            throw ValidationError("unknown --model '\(model)': use \(TransformerShape.presets.map(\.id).joined(separator: ", ")) or all")
        }
    }

    func run() throws {
        print(try output())
    }

    /// The table, formatted.
    func output() throws -> String {
        var shapes = models.contains("all")
            ? TransformerShape.presets
            : models.compactMap { id in TransformerShape.presets.first { $0.id == id } }
        if let dModel, let layers {
            shapes.append(TransformerShape(id: "custom", name: name, dModel: dModel, layers: layers, ffn: ffn))
        }
        if shapes.isEmpty { shapes = TransformerShape.seedModels }
        let projections = try AdaptedProjection.list(targets)
        let rows: [LoRAParameterRow]
        do {
            rows = try shapes.map { try LoRAParameterRow(model: $0, rank: rank, targets: projections) }
        } catch ParameterTableError.missingFFN(let target) {
            throw ValidationError("target '\(target)' is an MLP matrix: give the MLP width (--ffn)")
        }
        switch format {
        case .json: return try jsonText(["rows": rows])
        case .csv: return Self.textTable(rows, readable: false).csv()
        case .markdown:
            return "LoRA on \(projections.map(\.rawValue).joined(separator: ", ")) in every layer, rank \(rank):\n\n"
                + Self.textTable(rows, readable: true).markdown(rightAligned: Set(1..<7))
        }
    }

    /// The rows as text: grouped digits and a percentage (markdown) or plain numbers (csv).
    static func textTable(_ rows: [LoRAParameterRow], readable: Bool) -> TextTable {
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
}
