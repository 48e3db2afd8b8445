import ArgumentParser
import Foundation
import LoRABench
import LoRAKit

/// `lora bench`: merged vs unmerged LoRA forward throughput, measured against the machine's own GEMM.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time merged vs unmerged LoRA forwards, merge/unmerge and a raw sgemm in one process (Float).",
        discussion: "Progress goes to standard error, the report to standard output.")

    @Flag(help: "A run of seconds (fewer rounds; noisier ratios).")
    var quick = false

    @Option(help: "Measured rounds per case (default 31, or 5 with --quick): more rounds narrow the median's error.")
    var rounds: Int?

    @Option(help: ArgumentList.help("Layer sizes d = k", default: Bench.defaultGrid.sizes), transform: ArgumentList.parse)
    var sizes = [ArgumentList(Bench.defaultGrid.sizes)]

    @Option(help: ArgumentList.help("Token counts n (rows of X)", default: Bench.defaultGrid.tokens), transform: ArgumentList.parse)
    var tokens = [ArgumentList(Bench.defaultGrid.tokens)]

    @Option(help: ArgumentList.help("Adapter ranks r", default: Bench.defaultGrid.ranks), transform: ArgumentList.parse)
    var ranks = [ArgumentList(Bench.defaultGrid.ranks)]

    /// Two layer widths (GPT-2 Small's and LLaMA-7B's), decode to prefill token counts, common ranks.
    static let defaultGrid = (sizes: [768, 4096], tokens: [1, 32, 512], ranks: [4, 8, 16, 64])

    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: TableFormatOption<TextByDefault>
    @OptionGroup var plot: PlotOption

    func validate() throws {
        if let rounds, rounds < 1 { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        for (flag, values) in [("--sizes", sizes.values()), ("--tokens", tokens.values()), ("--ranks", ranks.values())] {
            if let bad = values.first(where: { $0 < 1 }) { throw ValidationError("\(flag) values must be positive, got \(bad)") }
        }
        if let rank = ranks.values().max(), let size = sizes.values().min(), rank > size {
            throw ValidationError("--ranks: rank \(rank) exceeds the layer size \(size)")
        }
    }

    func run() throws {
        let threadCount = threads.apply()
        let cases = LoRABenchmarkCase.grid(sizes: sizes.values(), tokens: tokens.values(), ranks: ranks.values())
        printProgress("lora bench: \(cases.count) cases on \(threadCount) BLAS thread\(threadCount == 1 ? "" : "s")")
        var done = 0
        var settings: LoRABenchmark.Settings = quick ? .quick : .standard
        if let rounds { settings.rounds = rounds }
        let report = LoRABenchmark(settings: settings).run(cases, threads: threadCount) { result in
            done += 1
            printProgress(String(
                format: "  [%d/%d] d=%d n=%d r=%d: ratio %.4f (quartiles %.4f–%.4f), stacked %.4f (%.4f–%.4f)",
                done, cases.count, result.outFeatures, result.tokens, result.rank, result.ratio,
                result.ratioQuartiles.lowerBound, result.ratioQuartiles.upperBound, result.stackedRatio,
                result.stackedRatioQuartiles.lowerBound, result.stackedRatioQuartiles.upperBound))
        }
        print(try output.render(report))
        try plot.write(report.ratioFigure)
    }
}
