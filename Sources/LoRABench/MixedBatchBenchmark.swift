import LinearAlgebra
import LoRA
import NN

/// Measures serving a batch whose rows use `K` different LoRA adapters on one base (Float), in
/// one process, against one merged forward and against PEFT's per-adapter loop.
///
/// For `X: n×k`, `W: d×k` and adapters `(A_g: r×k, B_g: d×r, s_g)`, rows split evenly into `K`
/// contiguous blocks (a batch sorted by adapter), each case times in interleaved rounds:
/// - merged: one forward `X·W'ᵀ` with one adapter merged (what a batch of one adapter costs);
/// - mixed: ``MultiLoRALinear``'s mixed-batch forward — one base product, then each adapter's
///   shrink `X[R_g]·A_gᵀ` and expand `+= s_g·T·B_gᵀ` on its rows in place;
/// - mixed, interleaved: the same with row `i` on adapter `i mod K` (the rows gathered and
///   scattered back);
/// - PEFT's loop (`LoraLayer._mixed_batch_forward`, PEFT 0.21): the base once, then per adapter
///   `sub = X[idx]` (a copy), `lora_A(sub)`, `lora_B(·)`, `· * scaling` (a new tensor) and
///   `result[idx] += ·` (gather, add, scatter), each a separate BLAS product or pass.
/// Even rounds run them in that order, odd rounds reversed; ratios are medians of per-round
/// ratios to the merged forward, so a slow phase of a shared machine cancels.
public struct MixedBatchBenchmark: Sendable {
    /// One shape: `d = k`, `n` rows, rank `r`, `K` adapters.
    public struct Case: Sendable, Hashable {
        public var features: Int
        public var tokens: Int
        public var rank: Int
        public var adapters: Int

        public init(features: Int, tokens: Int, rank: Int, adapters: Int) {
            precondition(features > 0 && tokens > 0 && rank > 0 && adapters > 0 && adapters <= tokens,
                         "MixedBatchBenchmark.Case: d \(features), n \(tokens), r \(rank) positive and 1 ≤ K \(adapters) ≤ n")
            (self.features, self.tokens, self.rank, self.adapters) = (features, tokens, rank, adapters)
        }

        /// Every combination, grouped by size, then tokens, rank and adapter count.
        public static func grid(sizes: [Int], tokens: [Int], ranks: [Int], adapters: [Int]) -> [Case] {
            sizes.flatMap { d in tokens.flatMap { n in ranks.flatMap { r in adapters.map { Case(features: d, tokens: n, rank: r, adapters: $0) } } } }
        }
    }

    public var settings: LoRABenchmark.Settings

    public init(settings: LoRABenchmark.Settings = .standard) { self.settings = settings }

    /// Bytes the largest case holds: `W` and `W'`, `X`, four outputs and the gathered blocks,
    /// each adapter's factors twice (as given and packed for the kernel).
    public static func estimatedBytes(sizes: [Int], tokens: [Int], ranks: [Int], adapters: [Int]) -> Double {
        let d = Double(sizes.max() ?? 0), n = Double(tokens.max() ?? 0), r = Double(ranks.max() ?? 0)
        let k = Double(adapters.max() ?? 0)
        return 4 * (2 * d * d + 7 * n * d + k * 4 * r * d)
    }

    /// Measures every case with `threads` BLAS threads (nil: the current count), calling
    /// `progress` after each.
    public func run(_ cases: [Case], threads: Int? = nil, progress: (MixedBatchResult) -> Void = { _ in }) -> MixedBatchReport {
        let threadCount = threads ?? BLAS.threadCount
        return BLAS.withThreadCount(threadCount) {
            let results = cases.map { testCase in
                let result = measure(testCase)
                progress(result)
                return result
            }
            return MixedBatchReport(blas: .current(threads: threadCount), rounds: settings.rounds, cases: results)
        }
    }

    /// Measures one case.
    public func measure(_ testCase: Case) -> MixedBatchResult {
        let (d, n, r, count) = (testCase.features, testCase.tokens, testCase.rank, testCase.adapters)
        var generator = SeededGenerator(seed: UInt64(d * 131 + n * 17 + r * 7 + count))
        let base = Linear(weight: Matrix<Float>.kaimingUniform(rows: d, columns: d, using: &generator))
        let x = Matrix<Float>.randomNormal(rows: n, columns: d, using: &generator)
        let adapters = (0..<count).map { _ in
            LoRAAdapter(a: Matrix<Float>.kaimingUniform(rows: r, columns: d, using: &generator),
                        b: .randomNormal(rows: d, columns: r, standardDeviation: 0.01, using: &generator), scale: 2)
        }
        let names = adapters.indices.map { "adapter\($0)" }
        let serving = MultiLoRALinear(base: base)
        for (name, adapter) in zip(names, adapters) { serving.addAdapter(named: name, adapter) }
        var merged = LoRAWeights(base: base.weight.value, adapter: adapters[0])
        merged.merge()
        let mergedLayer = Linear(weight: merged.base)
        let contiguous = AdapterRowAssignment(rowAdapters: (0..<n).map { names[$0 * count / n] })
        let interleaved = AdapterRowAssignment(rowAdapters: (0..<n).map { names[$0 % count] })
        let peftGroups = contiguous.groups.map { group in
            (adapters[names.firstIndex(of: group.name)!], Array(Self.indices(of: group.rows)))
        }

        serving.assignRows(contiguous)
        let agreement = GradientCheck.relativeError(serving.forward(x), Self.peftLoop(base: base, groups: peftGroups, x))
        let operations: [() -> Void] = [
            { _ = mergedLayer.forward(x) },
            { serving.assignRows(contiguous); _ = serving.forward(x) },
            { serving.assignRows(interleaved); _ = serving.forward(x) },
            { _ = Self.peftLoop(base: base, groups: peftGroups, x) },
        ]
        let times = interleavedRounds(operations, calibratingOn: 0, settings: settings)
        func ratios(_ index: Int) -> [Double] { zip(times[index], times[0]).map { $0 / $1 } }
        let tokensPerSecond = { (milliseconds: Double) in Double(n) / milliseconds * 1e3 }
        return MixedBatchResult(
            features: d, tokens: n, rank: r, adapters: count,
            mergedMilliseconds: median(times[0]), mixedMilliseconds: median(times[1]),
            interleavedMilliseconds: median(times[2]), peftLoopMilliseconds: median(times[3]),
            mixedRatio: median(ratios(1)), mixedRatioQuartiles: quantile(ratios(1), 0.25)...quantile(ratios(1), 0.75),
            interleavedRatio: median(ratios(2)), peftLoopRatio: median(ratios(3)),
            peftLoopRatioQuartiles: quantile(ratios(3), 0.25)...quantile(ratios(3), 0.75),
            mergedTokensPerSecond: tokensPerSecond(median(times[0])), mixedTokensPerSecond: tokensPerSecond(median(times[1])),
            peftLoopTokensPerSecond: tokensPerSecond(median(times[3])), relativeDifferenceFromPEFTLoop: Double(agreement))
    }

    /// PEFT 0.21's `_mixed_batch_forward` on our BLAS, step for step: `result = base(x)`, then per
    /// adapter `sub = x[idx]`, `lora_B(lora_A(sub)) * scaling`, `result[idx] += ·`.
    static func peftLoop(base: Linear<Float>, groups: [(LoRAAdapter<Float>, [Int])], _ x: Matrix<Float>) -> Matrix<Float> {
        var result = base.forward(x)
        for (adapter, rows) in groups {
            let sub = x.gatheringRows(rows)
            var shrunk = Matrix<Float>.unsafeUninitialized(rows.count, adapter.rank)
            Matrix.gemm(sub, adapter.a, transposeB: .transposed, into: &shrunk)
            var expanded = Matrix<Float>.unsafeUninitialized(rows.count, adapter.outFeatures)
            Matrix.gemm(shrunk, adapter.b, transposeB: .transposed, into: &expanded)
            let scaled = expanded * adapter.scale
            var block = result.gatheringRows(rows)
            block.axpy(1, scaled)
            result.scatterRows(block, to: rows)
        }
        return result
    }

    private static func indices(of rows: AdapterRowAssignment.Rows) -> [Int] {
        switch rows {
        case let .range(range): Array(range)
        case let .indices(indices): indices
        }
    }
}
