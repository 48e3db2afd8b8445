import ArgumentParser
import Foundation
import LoRAKit

/// `lora analyze-adapter DIR [--model M]`: the LoRA paper's analysis of a trained adapter.
struct AnalyzeAdapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze-adapter",
        abstract: "Per module of a PEFT adapter: the rank-error table of ΔW = s·B·A and, with --model, its subspace similarity to W and its amplification (Hu et al. 2021, §7).",
        discussion: """
            ΔW's singular values come from its factors (QRs of B and Aᵀ, an r×r core), never from a d×k \\
            matrix. With --model (the base the adapter was trained on), φ(r, r) = ‖U_ΔWᵀ·U_W‖²_F / r compares \\
            the top-r left singular directions of ΔW and W (1: the same subspace; random subspaces give \\
            about r/d), and the amplification is ‖ΔW‖_F / ‖UᵀWV‖_F with U, V the top-r singular vectors \\
            of ΔW. JSON gives φ(i, j) for every i, j ≤ r.
            """)

    @Argument(help: "The PEFT adapter directory.")
    var adapter: String
    @Option(help: "The base model: a .gguf file, a Hugging Face directory or a short name (smollm2).")
    var model: String?
    @OptionGroup var output: FormatOption
    @OptionGroup var plot: PlotOption

    func run() throws {
        let directory = URL(fileURLWithPath: adapter)
        try OutputSafety.check(
            outputs: plot.outputs,
            inputs: [PEFTAdapter<Double>.configurationFileName, PEFTAdapter<Double>.weightsFileName].map {
                CommandPath(flag: "DIR", path: directory.appendingPathComponent($0).path)
            } + (model.map { [CommandPath(flag: "--model", path: $0)] } ?? []))
        let (peft, warnings) = try PEFTAdapter<Double>.read(from: directory)
        warnings.forEach(printWarning)
        var weights: [String: Matrix<Double>]?
        if let model {
            let base = try LanguageModel(url: try ModelLocation.resolve(model), keepingQuantizedBlocks: false).model
            let paths = Set(peft.modulePaths.map(PEFTKeys.baseWeight))
            weights = Dictionary(uniqueKeysWithValues: base.huggingFaceWeights.filter { paths.contains($0.name) }.map { ($0.name, $0.value.converted(to: Double.self)) })
        }
        let analysis = try AdapterAnalysis(peft, path: adapter, model: model, weights: weights)
        try plot.write { analysis.figure() }
        print(try output.render(analysis))
    }
}
