import LinearAlgebra
import LoRA

/// Measures the cost of serving a LoRA adapter unmerged against merging it into the base, on this
/// machine, in one process (Float).
///
/// Each case times five operations in interleaved rounds after a warm-up: a raw `?gemm` of
/// `X·Wᵀ`, the merged forward, the unmerged forward, the adapter path alone and the unmerged
/// forward in the serving layout (``StackedLoRAWeights``). Even rounds run
/// them in that order, odd rounds in the reverse order, so merged and unmerged take turns going
/// first. The ratios reported are medians of the per-round ratios: a slow phase of a shared
/// machine hits both members of a round and cancels, where the ratio of two medians would not.
public struct LoRABenchmark: Sendable {
    /// How long to measure.
    public struct Settings: Sendable, Equatable {
        /// Rounds run and discarded before measuring.
        public var warmUpRounds: Int
        /// Measured rounds per case.
        public var rounds: Int
        /// Each timed sample repeats its operation until it lasts at least this long, so short
        /// operations are not lost in timer resolution and scheduler noise.
        public var minimumSampleMilliseconds: Double
        /// Timed merge/unmerge cycles per case.
        public var mergeRounds: Int

        public init(warmUpRounds: Int, rounds: Int, minimumSampleMilliseconds: Double, mergeRounds: Int) {
            precondition(
                warmUpRounds >= 0 && rounds >= 1 && minimumSampleMilliseconds >= 0 && mergeRounds >= 1,
                "LoRABenchmark.Settings: warm-up \(warmUpRounds) ≥ 0, rounds \(rounds) ≥ 1, sample \(minimumSampleMilliseconds) ms ≥ 0, merge rounds \(mergeRounds) ≥ 1")
            self.warmUpRounds = warmUpRounds
            self.rounds = rounds
            self.minimumSampleMilliseconds = minimumSampleMilliseconds
            self.mergeRounds = mergeRounds
        }

        /// The default run: the standard grid in a minute or two.
        public static let standard = Settings(warmUpRounds: 2, rounds: 31, minimumSampleMilliseconds: 20, mergeRounds: 9)
        /// A run of seconds, for smoke tests; its ratios are noisier.
        public static let quick = Settings(warmUpRounds: 1, rounds: 5, minimumSampleMilliseconds: 2, mergeRounds: 3)
    }

    public var settings: Settings

    public init(settings: Settings = .standard) {
        self.settings = settings
    }

    /// Measures every case with `threads` BLAS threads (nil: the current count), calling
    /// `progress` after each. Base weights are generated once per run of cases with the same layer shape.
    public func run(
        _ cases: [LoRABenchmarkCase], threads: Int? = nil,
        progress: (LoRABenchmarkResult) -> Void = { _ in }
    ) -> LoRABenchmarkReport {
        let threadCount = threads ?? BLAS.threadCount
        return BLAS.withThreadCount(threadCount) {
            var base = Matrix<Float>.zeros(0, 0)  // one layer's W at a time, reused by its cases
            var results: [LoRABenchmarkResult] = []
            for testCase in cases {
                if base.rows != testCase.outFeatures || base.columns != testCase.inFeatures {
                    var generator = SeededGenerator(seed: UInt64(testCase.outFeatures * 10_007 + testCase.inFeatures))
                    base = .kaimingUniform(rows: testCase.outFeatures, columns: testCase.inFeatures, using: &generator)
                }
                let result = measure(testCase, base: base)
                results.append(result)
                progress(result)
            }
            let largest = zip(cases, results).max { $0.0.mergedFLOPs < $1.0.mergedFLOPs }
            return LoRABenchmarkReport(
                blas: .current(threads: threadCount), rounds: settings.rounds,
                rawSGEMMGFLOPS: largest.map { $0.0.mergedFLOPs / $0.1.rawMilliseconds / 1e6 } ?? 0,
                cases: results)
        }
    }

    /// Measures one case whose base `W: d×k` is given.
    public func measure(_ testCase: LoRABenchmarkCase, base: Matrix<Float>) -> LoRABenchmarkResult {
        let (d, k, n, r) = (testCase.outFeatures, testCase.inFeatures, testCase.tokens, testCase.rank)
        precondition(
            base.rows == d && base.columns == k,
            "LoRABenchmark.measure: base \(base.shapeDescription) does not fit \(testCase)")
        var generator = SeededGenerator(seed: UInt64(n * 1_000 + r))
        let x = Matrix<Float>.randomNormal(rows: n, columns: k, using: &generator)
        var unmerged = LoRAWeights(
            base: base,
            a: .kaimingUniform(rows: r, columns: k, using: &generator),
            b: .randomNormal(rows: d, columns: r, standardDeviation: 0.01, using: &generator),
            scale: 2)
        var merged = unmerged
        merged.merge()

        let forward = timeForwardRounds(x: x, unmerged: unmerged, merged: merged)
        let update = timeMergeRounds(&unmerged)
        let ratios = zip(forward.unmerged, forward.merged).map { $0 / $1 }
        let stackedRatios = zip(forward.stacked, forward.merged).map { $0 / $1 }
        return LoRABenchmarkResult(
            outFeatures: d, inFeatures: k, tokens: n, rank: r,
            mergedMilliseconds: median(forward.merged), unmergedMilliseconds: median(forward.unmerged),
            ratio: median(ratios), ratioQuartiles: quartiles(ratios),
            stackedMilliseconds: median(forward.stacked), stackedRatio: median(stackedRatios),
            stackedRatioQuartiles: quartiles(stackedRatios),
            idealRatio: testCase.idealRatio,
            rawMilliseconds: median(forward.raw),
            mergedFractionOfRaw: median(zip(forward.raw, forward.merged).map { $0 / $1 }),
            mergedGFLOPS: testCase.mergedFLOPs / median(forward.merged) / 1e6,
            adapterMilliseconds: median(forward.adapter),
            adapterMemoryFloorMilliseconds: forward.memoryFloor.map(median),
            mergeMilliseconds: median(update.merge), unmergeMilliseconds: median(update.unmerge),
            rankUpdateMilliseconds: median(update.rankUpdate))
    }

    /// The lower and upper quartiles of per-round ratios.
    private func quartiles(_ ratios: [Double]) -> ClosedRange<Double> {
        quantile(ratios, 0.25)...quantile(ratios, 0.75)
    }

    /// Per-round times (ms per call) of the raw GEMM, the merged and unmerged forwards, the
    /// adapter path, the stacked unmerged forward and the adapter path's memory floor (where
    /// ``AdapterMemoryFloor`` runs), after the warm-up rounds.
    private func timeForwardRounds(
        x: Matrix<Float>, unmerged: LoRAWeights<Float>, merged: LoRAWeights<Float>
    ) -> (raw: [Double], merged: [Double], unmerged: [Double], adapter: [Double], stacked: [Double], memoryFloor: [Double]?) {
        let (n, d) = (x.rows, unmerged.outFeatures)
        var yRaw = Matrix<Float>.zeros(n, d)
        var yMerged = Matrix<Float>.zeros(n, d)
        var yUnmerged = Matrix<Float>.zeros(n, d)
        var yAdapter = Matrix<Float>.zeros(n, d)
        var yFloor = Matrix<Float>.zeros(n, d)
        var workspace = Matrix<Float>.zeros(unmerged.rank, n)
        let stacked = StackedLoRAWeights(unmerged)
        var stackedOutput = Matrix<Float>.zeros(n, d + unmerged.rank)
        let (base, rank) = (unmerged.base, unmerged.rank)
        // The memory floor sits between two GEMMs over `W` in either order of a round, as the
        // adapter path does, so both find the caches in the same state.
        var operations: [() -> Void] = [
            { Matrix.gemm(x, base, transposeB: .transposed, into: &yRaw) },  // BLAS alone, no LoRA code
            { merged.forward(x, into: &yMerged, workspace: &workspace) },
            { unmerged.forward(x, into: &yUnmerged, workspace: &workspace) },
            { unmerged.addAdapter(x, to: &yAdapter, workspace: &workspace) },
            { stacked.forward(x, into: &stackedOutput) },
        ]
        let measuresFloor = AdapterMemoryFloor.isSupported && rank > 0
        if measuresFloor { operations.insert({ AdapterMemoryFloor.pass(x, through: &yFloor, rank: rank) }, at: 1) }
        var times = interleavedRounds(operations, calibratingOn: measuresFloor ? 2 : 1, settings: settings)
        let floor = measuresFloor ? times.remove(at: 1) : nil
        return (times[0], times[1], times[2], times[3], times[4], floor)
    }

    /// Per-round times (ms) of merge, unmerge, and a raw rank-`r` GEMM `W ± s·B·A` on a copy of
    /// the base; `weights` is left unmerged.
    private func timeMergeRounds(
        _ weights: inout LoRAWeights<Float>
    ) -> (merge: [Double], unmerge: [Double], rankUpdate: [Double]) {
        var scratch = weights.base
        let (a, b, scale) = (weights.a, weights.b, weights.scale)
        func rankUpdate(_ alpha: Float) { Matrix.gemm(b, a, alpha: alpha, beta: 1, into: &scratch) }
        // Warm-up: the first mutation of each copy-on-write base copies it.
        weights.merge()
        weights.unmerge()
        rankUpdate(scale)
        rankUpdate(-scale)
        var merge: [Double] = [], unmerge: [Double] = [], update: [Double] = []
        for _ in 0..<settings.mergeRounds {
            merge.append(millisecondsPerCall { weights.merge() })
            update.append(millisecondsPerCall { rankUpdate(scale) })
            unmerge.append(millisecondsPerCall { weights.unmerge() })
            update.append(millisecondsPerCall { rankUpdate(-scale) })
        }
        return (merge, unmerge, update)
    }
}
