import Foundation
import LoRA
import Reporting

/// One module of a PEFT adapter as `lora inspect` lists it.
public struct AdapterModuleSummary: Encodable, Sendable, Equatable {
    public var module: String
    public var rank: Int
    public var alpha: Double
    /// The scaling `s` its update is applied with (`α/r`, or `α/√r` with rsLoRA).
    public var scaling: Double
    /// `[r, k]` of `A` and `[d, r]` of `B`.
    public var aShape: [Int]
    public var bShape: [Int]
    public var parameters: Int

    enum CodingKeys: String, CodingKey {
        case module, rank, alpha, scaling, parameters, aShape = "a_shape", bShape = "b_shape"
    }
}

/// What a PEFT adapter directory holds: its configuration, its weights file and each module's
/// rank and scaling. Encodes as `{"path", "rank", "lora_alpha", "use_rslora", "dropout", "targets",
/// "base_model", "weights": {…}, "modules": [...], "parameters"}`.
public struct AdapterSummary: Report, Sendable, Equatable {
    public var path: String
    public var rank: Int
    public var alpha: Double
    public var useRSLoRA: Bool
    public var dropout: Double
    /// `target_modules` as text: the names, `regex <pattern>` or `all-linear`.
    public var targets: String
    public var baseModel: String?
    /// The adapter's safetensors file.
    public var weights: SafetensorsSummary
    public var modules: [AdapterModuleSummary]
    /// `A` and `B` entries of every module.
    public var parameters: Int

    /// The summary of `adapter`, read from `directory` with its weights file `weights`.
    public init<Scalar>(directory: URL, adapter: PEFTAdapter<Scalar>, weights: SafetensorsSummary) {
        let configuration = adapter.configuration
        path = directory.path
        rank = configuration.rank
        alpha = configuration.alpha
        useRSLoRA = configuration.useRSLoRA
        dropout = configuration.dropout
        targets = switch configuration.targetModules {
        case let .names(names): names.joined(separator: ", ")
        case let .regex(pattern): "regex \(pattern)"
        case .allLinear: "all-linear"
        }
        baseModel = configuration.baseModelNameOrPath
        self.weights = weights
        modules = adapter.modulePaths.map { module in
            let factors = adapter.modules[module]!
            return AdapterModuleSummary(
                module: module, rank: factors.rank, alpha: configuration.alpha(forModule: module),
                scaling: adapter.scaling(forModule: module), aShape: [factors.a.rows, factors.a.columns],
                bShape: [factors.b.rows, factors.b.columns], parameters: factors.a.count + factors.b.count)
        }
        parameters = adapter.parameterCount
    }

    /// The configuration line, the weights file's summary, a markdown table of the modules and the total.
    public func text() -> String {
        let table = TextTable(
            header: ["module", "rank", "alpha", "scaling", "A", "B", "parameters"],
            rows: modules.map { module in
                [module.module, "\(module.rank)", String(format: "%g", module.alpha), String(format: "%.4g", module.scaling),
                 module.aShape.map(String.init).joined(separator: "×"), module.bShape.map(String.init).joined(separator: "×"),
                 grouped(module.parameters)]
            })
        let lines = ["\(path): LoRA adapter, r = \(rank), lora_alpha = \(String(format: "%g", alpha)), rsLoRA \(useRSLoRA ? "on" : "off"), dropout \(dropout), targets: \(targets)"]
            + (baseModel.map { ["base model: \($0)"] } ?? [])
            + [weights.text(), "", table.markdown(rightAligned: [1, 2, 3, 6]), "total adapter parameters: \(parameters)"]
        return lines.joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case path, rank, dropout, targets, weights, modules, parameters
        case alpha = "lora_alpha", useRSLoRA = "use_rslora", baseModel = "base_model"
    }
}
