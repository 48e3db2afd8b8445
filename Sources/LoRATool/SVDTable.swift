import ArgumentParser
import Foundation
import LoRAKit

/// `lora svd-table`: seed 003 Part 4's rank-error table (with seed 002 §8.1's bound) for a matrix.
struct SVDTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svd-table",
        abstract: "Best rank-r approximation errors of a matrix, by truncated SVD.",
        discussion: """
            Per rank r of an m×n matrix M: LoRA parameters r(m+n), their fraction of mn, the relative \
            Frobenius error ‖M − M_r‖/‖M‖ measured on the reconstruction, the Eckart–Young tail bound \
            √(Σ_{i>r} σᵢ²)/‖M‖, the spectral error σ_{r+1}/σ₁ and the retained energy. Gaussian n×n \
            sources add the quarter-circle-law error expected in theory.
            """)

    @Option(help: "A Gaussian source matrix ROWSxCOLUMNS (the default source: seed 003's 512x512).")
    var gaussian: MatrixShape?

    @Option(help: "A 2-D float32/float64 .npy source matrix (numpy.save, C or Fortran order).")
    var npy: String?

    @Option(help: "A safetensors source file; name the 2-D tensor with --tensor.")
    var safetensors: String?

    @Option(help: "The tensor of the --safetensors file.")
    var tensor: String?

    @Option(help: "Standard deviation of the Gaussian entries.")
    var scale: Double = 0.01

    @Option(help: "Seed of the Gaussian matrix and of the randomized SVD.")
    var seed: UInt64 = 42

    @Option(help: "Ranks to tabulate, comma-separated.")
    var ranks = ArgumentList([4, 8, 16, 32, 64, 128, 256, 512])

    @Option(help: "Also print the smallest rank keeping at least this fraction of the energy, in (0, 1].")
    var energy: Double?

    @Option(name: .customLong("max-error"), help: "Also print the smallest rank whose relative error is at most this, in [0, 1).")
    var maxError: Double?

    @Option(help: "exact (LAPACK ?gesdd) or randomized (range finder, for r ≪ min(m, n)).")
    var method: Method = .exact

    @Option(help: "Randomized SVD: extra sketch columns beyond the largest rank.")
    var oversampling = 10

    @Option(name: .customLong("power-iterations"), help: "Randomized SVD: power iterations.")
    var powerIterations = 2

    @Option(help: "WeightPrecision of the computation: double or float.")
    var dtype: DType = .double

    @Option(help: "Output format: markdown, csv or json (errors as fractions in csv and json).")
    var format: OutputFormat = .markdown

    @Option(help: "Also write seed 003's two panels (singular values; error vs rank) to this SVG file.")
    var plot: String?

    enum Method: String, ExpressibleByArgument, CaseIterable { case exact, randomized }
    enum DType: String, ExpressibleByArgument, CaseIterable { case double, float }

    func validate() throws {
        if [gaussian != nil, npy != nil, safetensors != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give one source: --gaussian, --npy or --safetensors")
        }
        if (safetensors == nil) != (tensor == nil) {
            throw ValidationError("--safetensors and --tensor go together")
        }
        if ranks.values.isEmpty { throw ValidationError("--ranks is empty") }
        if Set(ranks.values).count != ranks.values.count { throw ValidationError("--ranks lists a rank twice") }
        if let bad = ranks.values.first(where: { $0 <= 0 }) {
            throw ValidationError("--ranks: rank \(bad) must be at least 1")
        }
        if let gaussian, gaussian.rows > 16384 || gaussian.columns > 16384 {
            throw ValidationError("--gaussian \(gaussian.rows)x\(gaussian.columns) is too large: at most 16384 per side")
        }
        if !(scale > 0 && scale.isFinite) { throw ValidationError("--scale must be positive and finite, got \(scale)") }
        if let energy, !(energy > 0 && energy <= 1) { throw ValidationError("--energy must be in (0, 1], got \(energy)") }
        if let maxError, !(maxError >= 0 && maxError < 1) {
            throw ValidationError("--max-error must be in [0, 1), got \(maxError)")
        }
        if let plot, !plot.lowercased().hasSuffix(".svg") { throw ValidationError("--plot needs a .svg file name, got '\(plot)'") }
        if oversampling < 0 { throw ValidationError("--oversampling must be at least 0, got \(oversampling)") }
        if powerIterations < 0 { throw ValidationError("--power-iterations must be at least 0, got \(powerIterations)") }
    }

    func run() throws {
        print(try output())
    }

    /// The table of the chosen source, formatted.
    func output() throws -> String {
        let source: MatrixSource = if let npy {
            .npy(path: npy)
        } else if let safetensors, let tensor {
            .safetensors(path: safetensors, tensor: tensor)
        } else {
            .gaussian(gaussian ?? MatrixShape(rows: 512, columns: 512), scale: scale, seed: seed)
        }
        let matrix = try source.load()
        return try report(matrix, source: source.describe(matrix), addTheory: source.isSquareGaussian)
    }

    /// The table of `matrix` computed in the chosen precision, in the chosen format.
    func report(_ matrix: Matrix<Double>, source: String, addTheory: Bool) throws -> String {
        var table = switch dtype {
        case .double: try RankErrorTable(matrix: matrix, ranks: ranks.values, method: svdMethod)
        case .float: try RankErrorTable(matrix: matrix.converted(to: Float.self), ranks: ranks.values, method: svdMethod)
        }
        if addTheory { table.addQuarterCircleTheory() }
        if let plot {
            try writeSVG(Self.figure(table, source: source).svg(), to: URL(fileURLWithPath: plot))
        }
        let energyRank = try energy.flatMap { try table.spectrum.smallestRank(reachingEnergy: $0) }
        let errorRank = try maxError.flatMap { try table.spectrum.smallestRank(withRelativeErrorAtMost: $0) }
        switch format {
        case .json:
            return try jsonText(SVDTableOutput(
                table: table, energyTarget: energy, energyRank: energyRank,
                errorTarget: maxError, errorRank: errorRank))
        case .csv:
            // The answers go to standard error, so standard output stays one CSV table.
            for answer in answers(energyRank: energyRank, errorRank: errorRank) {
                FileHandle.standardError.write(Data((answer + "\n").utf8))
            }
            return Self.textTable(table, percentages: false).csv()
        case .markdown:
            var lines = ["\(source), \(dtype.rawValue), \(methodDescription):", ""]
            lines.append(Self.textTable(table, percentages: true).markdown(rightAligned: Set(0..<8)))
            lines += answers(energyRank: energyRank, errorRank: errorRank).map { "\n" + $0 }
            return lines.joined(separator: "\n")
        }
    }

    /// One sentence for each of `--energy` and `--max-error` that was given.
    private func answers(energyRank: Int?, errorRank: Int?) -> [String] {
        (energy.map { ["Smallest rank with retained energy ≥ \($0): \(Self.rankText(energyRank))"] } ?? [])
            + (maxError.map { ["Smallest rank with relative error ≤ \($0): \(Self.rankText(errorRank))"] } ?? [])
    }

    private var svdMethod: TruncatedSVDMethod {
        switch method {
        case .exact: .exact
        case .randomized:
            .randomized(RandomizedSVDOptions(oversampling: oversampling, powerIterations: powerIterations, seed: seed))
        }
    }

    private var methodDescription: String {
        switch method {
        case .exact: "exact SVD (?gesdd)"
        case .randomized: "randomized SVD (oversampling \(oversampling), \(powerIterations) power iterations)"
        }
    }

    private static func rankText(_ rank: Int?) -> String {
        rank.map(String.init) ?? "none of the computed ranks"
    }

    /// The rows as text: percentages (markdown) or plain fractions (csv).
    static func textTable(_ table: RankErrorTable, percentages: Bool) -> TextTable {
        let hasTheory = table.rows.contains { $0.theoryError != nil }
        let fraction: (Double) -> String = percentages ? { percent($0) } : { "\($0)" }
        var header = percentages
            ? ["Rank", "Parameters", "% of full", "Relative error", "Tail bound", "Spectral error", "Retained energy"]
            : ["rank", "parameters", "parameter_fraction", "relative_error", "tail_bound", "spectral_error", "retained_energy"]
        if hasTheory { header.append(percentages ? "Theory (quarter circle)" : "theory_error") }
        let rows = table.rows.map { row in
            [percentages ? grouped(row.rank) : "\(row.rank)", percentages ? grouped(row.parameters) : "\(row.parameters)",
             fraction(row.parameterFraction), fraction(row.relativeError), fraction(row.tailBound),
             percentages ? String(format: "%.4f", row.spectralError) : "\(row.spectralError)",
             fraction(row.retainedEnergy)]
                + (hasTheory ? [row.theoryError.map(fraction) ?? ""] : [])
        }
        return TextTable(header: header, rows: rows)
    }
}

extension SVDTable {
    /// Seed 003's figure: the singular-value spectrum, and the relative error (%) at each rank
    /// (with the quarter-circle theory beside it when the table has it).
    static func figure(_ table: RankErrorTable, source: String) -> Figure {
        let spectrum = LineChart(
            title: "Singular values: \(source)", xLabel: "Index i", yLabel: "σᵢ",
            series: [Series(name: "σᵢ", x: table.singularValues.indices.map { Double($0 + 1) }, y: table.singularValues,
                            showsMarkers: false)])
        var bars: [(name: String, values: [Double])] = [("Measured", table.rows.map { 100 * $0.relativeError })]
        if table.rows.allSatisfy({ $0.theoryError != nil }) {
            bars.append(("Quarter-circle theory", table.rows.map { 100 * ($0.theoryError ?? 0) }))
        }
        let errors = BarChart(
            title: "Error vs rank (lower = better)", xLabel: "Rank", yLabel: "Reconstruction error (%)",
            categories: table.rows.map { "\($0.rank)" }, series: bars)
        return Figure(panels: [spectrum, errors])
    }
}

/// The JSON of `lora svd-table`: the table's keys plus the rank-selection results when asked for.
private struct SVDTableOutput: Encodable {
    var table: RankErrorTable
    var energyTarget: Double?
    var energyRank: Int?
    var errorTarget: Double?
    var errorRank: Int?

    enum CodingKeys: String, CodingKey {
        case energyTarget = "energy_target", energyRank = "energy_rank"
        case errorTarget = "error_target", errorRank = "error_rank"
    }

    func encode(to encoder: any Encoder) throws {
        try table.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(energyTarget, forKey: .energyTarget)
        try container.encodeIfPresent(errorTarget, forKey: .errorTarget)
        if energyTarget != nil { try container.encode(energyRank, forKey: .energyRank) }
        if errorTarget != nil { try container.encode(errorRank, forKey: .errorRank) }
    }
}

/// A matrix shape on the command line: `512x512` (or `512×512`).
struct MatrixShape: ExpressibleByArgument {
    var rows: Int
    var columns: Int

    init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    init?(argument: String) {
        let parts = argument.lowercased().split(whereSeparator: { $0 == "x" || $0 == "×" })
        guard parts.count == 2, let rows = Int(parts[0]), let columns = Int(parts[1]), rows > 0, columns > 0
        else { return nil }
        self.init(rows: rows, columns: columns)
    }
}
