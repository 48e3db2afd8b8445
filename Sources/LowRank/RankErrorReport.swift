import Foundation
import Reporting

/// `lora svd-table`'s result: a ``RankErrorTable``, what it was computed from, and the smallest
/// ranks meeting an energy or an error target when asked. Encodes as the table's JSON plus
/// `energy_target`/`energy_rank` and `error_target`/`error_rank`.
public struct RankErrorReport: TableReport, Sendable {
    public var table: RankErrorTable
    /// The source matrix, for the heading, e.g. `Gaussian 512×512, scale 0.01, seed 42`.
    public var source: String
    /// How the table was computed, e.g. `f64, exact SVD (?gesdd)`.
    public var computation: String
    public var energyTarget: Double?
    /// The smallest rank keeping at least ``energyTarget`` of the energy (nil: none computed).
    public var energyRank: Int?
    public var errorTarget: Double?
    /// The smallest rank whose relative error is at most ``errorTarget`` (nil: none computed).
    public var errorRank: Int?

    /// The report of `table`, answering `energyTarget ∈ (0, 1]` and `errorTarget ∈ [0, 1)` when given.
    public init(
        table: RankErrorTable, source: String, computation: String, energyTarget: Double? = nil,
        errorTarget: Double? = nil
    ) throws(LowRankError) {
        self.table = table
        self.source = source
        self.computation = computation
        self.energyTarget = energyTarget
        self.errorTarget = errorTarget
        energyRank = try energyTarget.flatMap { target throws(LowRankError) in try table.spectrum.smallestRank(reachingEnergy: target) }
        errorRank = try errorTarget.flatMap { target throws(LowRankError) in
            try table.spectrum.smallestRank(withRelativeErrorAtMost: target)
        }
    }

    /// One sentence for each target that was given.
    public var answers: [String] {
        (energyTarget.map { ["Smallest rank with retained energy ≥ \($0): \(Self.rankText(energyRank))"] } ?? [])
            + (errorTarget.map { ["Smallest rank with relative error ≤ \($0): \(Self.rankText(errorRank))"] } ?? [])
    }

    public func text() -> String {
        page(cellsOf: textTable(readable: true).aligned(rightAligned: Set(0..<8)))
    }

    public func markdown() -> String {
        page(cellsOf: textTable(readable: true).markdown(rightAligned: Set(0..<8)))
    }

    /// The table alone: the answers belong on another stream, so a CSV reader sees one table.
    public func csv() -> String { textTable(readable: false).csv() }

    /// The heading, the table and the answers, a blank line apart.
    private func page(cellsOf table: String) -> String {
        (["\(source), \(computation):", "", table] + answers.map { "\n" + $0 }).joined(separator: "\n")
    }

    private static func rankText(_ rank: Int?) -> String {
        rank.map(String.init) ?? "none of the computed ranks"
    }

    /// The rows: percentages and grouped digits (`readable`) or plain fractions and integers.
    public func textTable(readable: Bool) -> TextTable {
        let hasTheory = table.rows.contains { $0.theoryError != nil }
        let fraction: (Double) -> String = readable ? { percent($0) } : { "\($0)" }
        let integer: (Int) -> String = readable ? { grouped($0) } : { "\($0)" }
        var header = readable
            ? ["Rank", "Parameters", "% of full", "Relative error", "Tail bound", "Spectral error", "Retained energy"]
            : ["rank", "parameters", "parameter_fraction", "relative_error", "tail_bound", "spectral_error", "retained_energy"]
        if hasTheory { header.append(readable ? "Theory (quarter circle)" : "theory_error") }
        let rows = table.rows.map { row in
            [integer(row.rank), integer(row.parameters), fraction(row.parameterFraction), fraction(row.relativeError),
             fraction(row.tailBound), readable ? String(format: "%.4f", row.spectralError) : "\(row.spectralError)",
             fraction(row.retainedEnergy)]
                + (hasTheory ? [row.theoryError.map(fraction) ?? ""] : [])
        }
        return TextTable(header: header, rows: rows)
    }

    enum CodingKeys: String, CodingKey {
        case energyTarget = "energy_target", energyRank = "energy_rank"
        case errorTarget = "error_target", errorRank = "error_rank"
    }

    public func encode(to encoder: any Encoder) throws {
        try table.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(energyTarget, forKey: .energyTarget)
        try container.encodeIfPresent(errorTarget, forKey: .errorTarget)
        // A target that was given always has its rank key, null when no computed rank meets it.
        if energyTarget != nil { try container.encode(energyRank, forKey: .energyRank) }
        if errorTarget != nil { try container.encode(errorRank, forKey: .errorRank) }
    }
}

extension TruncatedSVDMethod: CustomStringConvertible {
    /// `exact SVD (?gesdd)` or `randomized SVD (oversampling p, q power iterations)`.
    public var description: String {
        switch self {
        case .exact: "exact SVD (?gesdd)"
        case let .randomized(options):
            "randomized SVD (oversampling \(options.oversampling), \(options.powerIterations) power iterations)"
        }
    }
}
