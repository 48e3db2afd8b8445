import ArgumentParser
import Foundation
import LoRAKit

/// `lora svd-table`: the rank-error table (with the Eckart–Young bound) of a matrix.
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

    @OptionGroup var source: MatrixSourceOptions

    @Option(help: ArgumentList.help("Ranks to tabulate", default: SVDTable.defaultRanks), transform: ArgumentList.parse)
    var ranks = [ArgumentList(SVDTable.defaultRanks)]
    static let defaultRanks = [4, 8, 16, 32, 64, 128, 256, 512]

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

    @Option(help: "The floating-point type the SVD computes in.")
    var precision: ArithmeticPrecision = .f64

    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: TableFormatOption<MarkdownByDefault>
    @OptionGroup var plot: PlotOption

    enum Method: String, ExpressibleByArgument, CaseIterable { case exact, randomized }

    func validate() throws {
        let ranks = ranks.values()
        if Set(ranks).count != ranks.count { throw ValidationError("--ranks lists a rank twice") }
        if let bad = ranks.first(where: { $0 <= 0 }) { throw ValidationError("--ranks: rank \(bad) must be at least 1") }
        if let energy, !(energy > 0 && energy <= 1) { throw ValidationError("--energy must be in (0, 1], got \(energy)") }
        if let maxError, !(maxError >= 0 && maxError < 1) {
            throw ValidationError("--max-error must be in [0, 1), got \(maxError)")
        }
        if oversampling < 0 { throw ValidationError("--oversampling must be at least 0, got \(oversampling)") }
        if powerIterations < 0 { throw ValidationError("--power-iterations must be at least 0, got \(powerIterations)") }
    }

    func run() throws {
        threads.apply()
        let report = try self.report()
        try plot.write(report.figure)
        if output.format == .csv {
            // The answers go to standard error, so standard output stays one CSV table.
            for answer in report.answers { FileHandle.standardError.write(Data((answer + "\n").utf8)) }
        }
        print(try output.render(report))
    }

    /// The table of the chosen source, in the chosen precision.
    func report() throws -> RankErrorReport {
        let matrixSource = source.matrixSource
        let matrix = try matrixSource.load()
        let ranks = ranks.values()
        var table = switch precision {
        case .f64: try RankErrorTable(matrix: matrix, ranks: ranks, method: svdMethod)
        case .f32: try RankErrorTable(matrix: matrix.converted(to: Float.self), ranks: ranks, method: svdMethod)
        }
        if matrixSource.isSquareGaussian { table.addQuarterCircleTheory() }
        return try RankErrorReport(
            table: table, source: matrixSource.describe(matrix), computation: "\(precision.rawValue), \(svdMethod)",
            energyTarget: energy, errorTarget: maxError)
    }

    private var svdMethod: TruncatedSVDMethod {
        switch method {
        case .exact: .exact
        case .randomized:
            .randomized(RandomizedSVDOptions(oversampling: oversampling, powerIterations: powerIterations, seed: source.seed))
        }
    }
}
