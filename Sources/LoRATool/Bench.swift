import ArgumentParser
import Foundation
import LoRABench
import LoRAKit

/// `lora bench`: merged vs unmerged LoRA forward throughput, measured against the machine's own GEMM.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time merged vs unmerged LoRA forwards, merge/unmerge and a raw sgemm in one process (Float).")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    @Flag(help: "A run of seconds (fewer rounds; noisier ratios).")
    var quick = false

    @Option(help: "Measured rounds per case (default 31, or 5 with --quick): more rounds narrow the median's error.")
    var rounds: Int?

    @Option(help: "BLAS threads (default: OpenBLAS's own choice).")
    var threads: Int?

    @Option(help: "Write unmerged/merged ratio against rank, one panel per layer shape, to this SVG file.")
    var plot: String?

    @Option(parsing: .upToNextOption, help: "Layer sizes d = k, comma- or space-separated.")
    var sizes = [ArgumentList([768, 4096])]

    @Option(parsing: .upToNextOption, help: "Token counts n (rows of X), comma- or space-separated.")
    var tokens = [ArgumentList([1, 32, 512])]

    @Option(parsing: .upToNextOption, help: "Adapter ranks r, comma- or space-separated.")
    var ranks = [ArgumentList([4, 8, 16, 64])]

    /// The values of `--sizes`, `--tokens` and `--ranks`, whichever separators were used.
    private var grid: (sizes: [Int], tokens: [Int], ranks: [Int]) {
        (sizes.flatMap(\.values), tokens.flatMap(\.values), ranks.flatMap(\.values))
    }

    func validate() throws {
        let (sizes, tokens, ranks) = grid
        if let rounds, rounds < 1 { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        for (flag, values) in [("--sizes", sizes), ("--tokens", tokens), ("--ranks", ranks)] {
            if values.isEmpty { throw ValidationError("\(flag) needs at least one value") }
            if let bad = values.first(where: { $0 < 1 }) { throw ValidationError("\(flag) values must be positive, got \(bad)") }
        }
        if let rank = ranks.max(), let size = sizes.min(), rank > size {
            throw ValidationError("--ranks: rank \(rank) exceeds the layer size \(size)")
        }
        if let plot, !plot.lowercased().hasSuffix(".svg") { throw ValidationError("--plot needs a .svg file name, got \(plot)") }
    }

    func run() throws {
        let (sizes, tokens, ranks) = grid
        let cases = LoRABenchmarkCase.grid(sizes: sizes, tokens: tokens, ranks: ranks)
        let threadCount = threads ?? BLAS.threadCount
        FileHandle.standardError.write(Data("lora bench: \(cases.count) cases on \(threadCount) BLAS thread\(threadCount == 1 ? "" : "s")\n".utf8))
        var done = 0
        var settings: LoRABenchmark.Settings = quick ? .quick : .standard
        if let rounds { settings.rounds = rounds }
        let report = LoRABenchmark(settings: settings).run(cases, threads: threadCount) { result in
            done += 1
            FileHandle.standardError.write(Data(String(
                format: "  [%d/%d] d=%d n=%d r=%d: ratio %.4f (quartiles %.4f–%.4f), stacked %.4f (%.4f–%.4f)\n",
                done, cases.count, result.outFeatures, result.tokens, result.rank, result.ratio,
                result.ratioQuartiles.lowerBound, result.ratioQuartiles.upperBound, result.stackedRatio,
                result.stackedRatioQuartiles.lowerBound, result.stackedRatioQuartiles.upperBound).utf8))
        }
        switch format {
        case .table: print(report.table())
        case .json: print(try report.json())
        }
        if let plot { try writeSVG(report.ratioFigure().svg(), to: URL(fileURLWithPath: plot)) }
    }
}
