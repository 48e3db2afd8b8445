import ArgumentParser
import LoRAKit

/// `lora params`: the parameter-efficiency table, for presets or a custom model.
struct Params: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "LoRA parameters versus full fine-tuning for transformer models.",
        discussion: """
            Per layer, each adapted d×k matrix has d·k weights and r(d+k) LoRA parameters. Without \
            --model or --d-model, prints the GPT-2 and LLaMA table (q, k, v, o at rank 8).
            """)

    @Option(name: .customLong("model"), help: ArgumentList<ModelChoice>.help("Preset models, or all"),
            transform: ArgumentList.parse)
    var models: [ArgumentList<ModelChoice>] = []

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

    @Option(help: ArgumentList.help("Adapted matrices per layer", default: Params.defaultTargets), transform: ArgumentList.parse)
    var targets = [ArgumentList(Params.defaultTargets)]
    static let defaultTargets: [AdaptedProjection] = [.q, .k, .v, .o]

    @OptionGroup var output: TableFormatOption<MarkdownByDefault>

    func validate() throws {
        if (dModel == nil) != (layers == nil) {
            throw ValidationError("a custom model needs both --d-model and --layers")
        }
        if dModel == nil && ffn != nil { throw ValidationError("--ffn is for a custom model: give --d-model and --layers too") }
    }

    func run() throws {
        print(try output.render(report()))
    }

    /// The table of the chosen models; a missing MLP width is reported as the flag that gives it.
    func report() throws -> ParameterTableReport {
        var shapes: [TransformerShape] = []
        for shape in models.values().flatMap(\.shapes) where !shapes.contains(shape) { shapes.append(shape) }
        if let dModel, let layers {
            shapes.append(TransformerShape(id: "custom", name: name, dModel: dModel, layers: layers, ffn: ffn))
        }
        do {
            return try ParameterTableReport(
                models: shapes.isEmpty ? TransformerShape.seedModels : shapes, rank: rank, targets: targets.values())
        } catch {
            guard case .missingFFN(let target) = error else { throw error }
            throw ValidationError("target '\(target)' is an MLP matrix: give the MLP width (--ffn)")
        }
    }
}
