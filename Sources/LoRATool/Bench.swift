import ArgumentParser
import Foundation
import LoRABench
import LoRAKit

/// `lora bench`: merged vs unmerged LoRA forward throughput, measured against the machine's own GEMM.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time merged vs unmerged LoRA forwards, merge/unmerge and a raw sgemm in one process (Float).",
        discussion: "With --adapters, time instead a batch whose rows use K adapters against one merged forward and PEFT's per-adapter loop. Progress goes to standard error, the report to standard output.")

    @Flag(help: "A run of seconds (fewer rounds; noisier ratios).")
    var quick = false

    @Option(help: "Measured rounds per case (default 31, or 5 with --quick): more rounds narrow the median's error.")
    var rounds: Int?

    @Option(help: ArgumentList.help("Layer sizes d = k (with --adapters: 4096)", default: Bench.defaultGrid.sizes),
            transform: ArgumentList.parse)
    var sizes: [ArgumentList<Int>] = []

    @Option(help: ArgumentList.help("Token counts n, rows of X (with --adapters: 512)", default: Bench.defaultGrid.tokens),
            transform: ArgumentList.parse)
    var tokens: [ArgumentList<Int>] = []

    @Option(help: ArgumentList.help("Adapter ranks r (with --adapters: 16)", default: Bench.defaultGrid.ranks),
            transform: ArgumentList.parse)
    var ranks: [ArgumentList<Int>] = []

    @Option(help: ArgumentList<Int>.help("Adapter counts K: time a batch whose rows are split evenly between K adapters (mixed-batch serving)"),
            transform: ArgumentList.parse)
    var adapters: [ArgumentList<Int>] = []

    /// Two layer widths (GPT-2 Small's and LLaMA-7B's), decode to prefill token counts, common ranks.
    static let defaultGrid = (sizes: [768, 4096], tokens: [1, 32, 512], ranks: [4, 8, 16, 64])
    /// The serving shape of `--adapters`: a LLaMA-7B projection, a 512-row batch, rank 16.
    static let mixedBatchGrid = (sizes: [4096], tokens: [512], ranks: [16])

    /// The flags' values, or the grid's defaults (those of `--adapters` when it is given).
    private var grid: (sizes: [Int], tokens: [Int], ranks: [Int]) {
        let defaults = adapters.isEmpty ? Self.defaultGrid : Self.mixedBatchGrid
        func or(_ given: [Int], _ fallback: [Int]) -> [Int] { given.isEmpty ? fallback : given }
        return (or(sizes.values(), defaults.sizes), or(tokens.values(), defaults.tokens), or(ranks.values(), defaults.ranks))
    }

    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: TableFormatOption<TextByDefault>
    @OptionGroup var plot: PlotOption
    @OptionGroup var progress: ProgressOption

    func validate() throws {
        if let rounds, rounds < 1 { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        let grid = grid
        for (flag, values) in [("--sizes", grid.sizes), ("--tokens", grid.tokens), ("--ranks", grid.ranks), ("--adapters", adapters.values())] {
            if let bad = values.first(where: { $0 < 1 }) { throw ValidationError("\(flag) values must be positive, got \(bad)") }
        }
        if let rank = grid.ranks.max(), let size = grid.sizes.min(), rank > size {
            throw ValidationError("--ranks: rank \(rank) exceeds the layer size \(size)")
        }
        if let count = adapters.values().max(), let n = grid.tokens.min(), count > n {
            throw ValidationError("--adapters: \(count) adapters exceed the \(n) rows of a batch (--tokens); each adapter needs a row")
        }
        if !adapters.isEmpty && !plot.outputs.isEmpty { throw ValidationError("--plot draws the merged/unmerged ratios; it does not go with --adapters") }
    }

    func run() throws {
        let threadCount = threads.apply()
        try OutputSafety.check(outputs: plot.outputs, inputs: [])
        var settings: LoRABenchmark.Settings = quick ? .quick : .standard
        settings.rounds = rounds ?? settings.rounds
        let (sizes, tokens, ranks) = grid
        if !adapters.isEmpty { return try runMixedBatches(settings: settings, threads: threadCount) }
        try MemoryBudget.require(
            AllocationEstimate.bench(sizes: sizes, tokens: tokens, ranks: ranks, rounds: settings.rounds),
            for: "--sizes \(sizes.max()!) with --tokens \(tokens.max()!) and --rounds \(settings.rounds)",
            advice: "give smaller --sizes, --tokens or --rounds")
        let cases = LoRABenchmarkCase.grid(sizes: sizes, tokens: tokens, ranks: ranks)
        progress.report("lora bench: \(cases.count) cases on \(threadCount) BLAS thread\(threadCount == 1 ? "" : "s")")
        var done = 0
        let report = LoRABenchmark(settings: settings).run(cases, threads: threadCount) { result in
            done += 1
            progress.report(String(
                format: "  [%ld/%ld] d=%ld n=%ld r=%ld: ratio %.4f (quartiles %.4f–%.4f), stacked %.4f (%.4f–%.4f)",
                done, cases.count, result.outFeatures, result.tokens, result.rank, result.ratio,
                result.ratioQuartiles.lowerBound, result.ratioQuartiles.upperBound, result.stackedRatio,
                result.stackedRatioQuartiles.lowerBound, result.stackedRatioQuartiles.upperBound))
        }
        print(try output.render(report))
        try plot.write(report.ratioFigure)
    }

    /// `--adapters`: the mixed-batch serving cases.
    private func runMixedBatches(settings: LoRABenchmark.Settings, threads threadCount: Int) throws {
        let (sizes, tokens, ranks) = grid
        try MemoryBudget.require(
            MixedBatchBenchmark.estimatedBytes(sizes: sizes, tokens: tokens, ranks: ranks, adapters: adapters.values()),
            for: "--sizes \(sizes.max()!) with --tokens \(tokens.max()!) and --adapters \(adapters.values().max()!)",
            advice: "give smaller --sizes, --tokens or --adapters")
        let cases = MixedBatchBenchmark.Case.grid(sizes: sizes, tokens: tokens, ranks: ranks, adapters: adapters.values())
        progress.report("lora bench --adapters: \(cases.count) cases on \(threadCount) BLAS thread\(threadCount == 1 ? "" : "s")")
        var done = 0
        let report = MixedBatchBenchmark(settings: settings).run(cases, threads: threadCount) { result in
            done += 1
            progress.report(String(
                format: "  [%ld/%ld] d=%ld n=%ld r=%ld K=%ld: mixed/merged %.4f (quartiles %.4f–%.4f), PEFT loop/merged %.4f",
                done, cases.count, result.features, result.tokens, result.rank, result.adapters, result.mixedRatio,
                result.mixedRatioQuartiles.lowerBound, result.mixedRatioQuartiles.upperBound, result.peftLoopRatio))
        }
        print(try output.render(report))
    }
}
