import Foundation
import Reporting

/// `lora extract`'s result: one ``ExtractedModuleReport`` per module and what was written.
/// Encodes as `{"out", "files", "modules": [...], "parameters", "adapted_weights", "parameter_fraction"}`.
public struct ExtractionSummary: Report, Sendable, Equatable {
    /// The adapter directory.
    public var out: String
    public var modules: [ExtractedModuleReport]
    /// The files written into ``out``.
    public var files: [String]
    /// `A` and `B` entries of every module.
    public var parameters: Int
    /// `d·k` summed over the adapted weights.
    public var adaptedWeights: Int
    /// ``parameters`` over ``adaptedWeights``.
    public var parameterFraction: Double

    public init(out: String, modules: [ExtractedModuleReport], parameters: Int) {
        self.out = out
        self.modules = modules
        files = [PEFTAdapter<Double>.configurationFileName, PEFTAdapter<Double>.weightsFileName]
        self.parameters = parameters
        adaptedWeights = modules.reduce(0) { $0 + $1.shape.reduce(1, *) }
        parameterFraction = Double(parameters) / Double(adaptedWeights)
    }

    /// A markdown table of the modules, the total and the files written.
    public func text() -> String {
        let table = TextTable(
            header: ["module", "shape", "rank", "retained energy", "rel. error", "parameters"],
            rows: modules.map { report in
                [report.module, "\(report.shape)", "\(report.rank)", String(format: "%.6f", report.retainedEnergy),
                 String(format: "%.3e", report.relativeError), grouped(report.parameters)]
            })
        return [
            table.markdown(rightAligned: [2, 3, 4, 5]),
            "total adapter parameters: \(parameters) (\(percent(parameterFraction)) of the \(adaptedWeights) weights adapted)",
            "wrote \(out)/\(files.joined(separator: " and "))",
        ].joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case out, files, modules, parameters, adaptedWeights = "adapted_weights", parameterFraction = "parameter_fraction"
    }
}
