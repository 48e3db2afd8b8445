import Foundation
import Reporting

/// `lora combine`'s and `lora resize`'s result: one ``CombinedModuleReport`` per module, the
/// warnings, and what was written. Encodes as `{"out", "files", "method", "modules": [...],
/// "parameters", "warnings"}`.
public struct CombinationSummary: Report, Sendable, Equatable {
    /// The adapter directory.
    public var out: String
    /// The files written into ``out``.
    public var files: [String]
    /// `cat`, `svd`, `linear` or `resize`.
    public var method: String
    public var modules: [CombinedModuleReport]
    /// The result's adapter parameters.
    public var parameters: Int
    public var warnings: [String]

    public init(out: String, method: String, modules: [CombinedModuleReport], parameters: Int, warnings: [String] = []) {
        self.out = out
        files = [PEFTAdapter<Double>.configurationFileName, PEFTAdapter<Double>.weightsFileName]
        self.method = method
        self.modules = modules
        self.parameters = parameters
        self.warnings = warnings
    }

    /// A markdown table of the modules (rank in and out, retained energy, errors against the exact
    /// update), the total and the files written.
    public func text() -> String {
        let table = TextTable(
            header: ["module", "input rank", "rank", "retained energy", "abs. error", "rel. error"],
            rows: modules.map { report in
                [report.module, "\(report.inputRank)", "\(report.rank)",
                 report.retainedEnergy.map { String(format: "%.6f", $0) } ?? "—",
                 String(format: "%.3e", report.absoluteError), String(format: "%.3e", report.relativeError)]
            })
        return [
            method == "resize" ? "resize: errors against the adapter's s·B·A" : "\(method): errors against the exact weighted update Σ wᵢ·sᵢ·Bᵢ·Aᵢ",
            table.markdown(rightAligned: [1, 2, 3, 4, 5]),
            "total adapter parameters: \(parameters)",
            "wrote \(out)/\(files.joined(separator: " and "))",
        ].joined(separator: "\n")
    }
}
