import Benchmark
import LinearAlgebra
import LoRA

/// Merged vs unmerged LoRA forwards (the three-GEMM form and the stacked serving layout), merge,
/// unmerge, adapter swap and the raw GEMM they are measured against, for `d = k ∈ {768, 4096}`, `n ∈ {1, 32, 512}`, `r ∈ {4, 8, 16, 64}` (Float,
/// the process's BLAS threads). `lora bench` gives the one-process comparison table; this suite
/// tracks each operation on its own.
///
/// The steady-state forward allocates nothing: the `allocations` benchmarks hold its malloc count
/// to zero by a threshold. They run BLAS on one thread, because on two or more OpenBLAS's threaded
/// level-3 driver mallocs one job array per GEMM call itself (LoRAKit's code adds none).
let benchmarks: @Sendable () -> Void = {
    BLAS.logDiagnostic(prefix: "LoRABenchmarks")  // OPENBLAS_CORETYPE is read at load: this suite cannot fix it itself
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 1,
        maxDuration: .milliseconds(500),
        maxIterations: 20
    )
    let ranks = [4, 8, 16, 64]
    for size in [768, 4096] {
        let layer = Layer(size: size, ranks: ranks)
        let stackedByRank = Dictionary(uniqueKeysWithValues: ranks.map { ($0, StackedLoRAWeights(layer.unmerged(rank: $0))) })
        for n in [1, 32, 512] {
            let x = layer.input(tokens: n)
            var y = Matrix<Float>.zeros(n, size)
            var workspace = Matrix<Float>.zeros(layer.merged.rank, n)
            Benchmark("raw sgemm d=\(size) n=\(n)") { benchmark in
                for _ in benchmark.scaledIterations { layer.rawGEMM(x, into: &y) }
            }
            Benchmark("merged forward d=\(size) n=\(n)") { benchmark in
                for _ in benchmark.scaledIterations { layer.merged.forward(x, into: &y, workspace: &workspace) }
            }
            for r in ranks {
                let weights = layer.unmerged(rank: r)
                var workspace = Matrix<Float>.zeros(r, n)
                Benchmark("unmerged forward d=\(size) n=\(n) r=\(r)") { benchmark in
                    for _ in benchmark.scaledIterations { weights.forward(x, into: &y, workspace: &workspace) }
                }
                let stacked = stackedByRank[r]!
                var output = Matrix<Float>.zeros(n, size + r)
                Benchmark("stacked unmerged forward d=\(size) n=\(n) r=\(r)") { benchmark in
                    for _ in benchmark.scaledIterations { stacked.forward(x, into: &output) }
                }
            }
        }
        for r in ranks {
            Benchmark("merge d=\(size) r=\(r)") { benchmark in
                layer.prepareSwappable(rank: r, merged: false)
                benchmark.startMeasurement()
                layer.swappable.merge()
                benchmark.stopMeasurement()
            }
            Benchmark("unmerge d=\(size) r=\(r)") { benchmark in
                layer.prepareSwappable(rank: r, merged: true)
                benchmark.startMeasurement()
                layer.swappable.unmerge()
                benchmark.stopMeasurement()
            }
            Benchmark("adapter swap (merged) d=\(size) r=\(r)") { benchmark in
                layer.prepareSwappable(rank: r, merged: true)
                let (a, b) = layer.adapter(rank: r, variant: 1)
                benchmark.startMeasurement()
                layer.swappable.swapAdapter(a: a, b: b, scale: 2)
                benchmark.stopMeasurement()
            }
        }
    }

    let small = Layer(size: 768, ranks: [16])
    for n in [1, 32] {
        let x = small.input(tokens: n)
        for (label, weights) in [("merged", small.merged), ("unmerged", small.unmerged(rank: 16))] {
            var y = Matrix<Float>.zeros(n, 768)
            var workspace = Matrix<Float>.zeros(16, n)
            Benchmark(
                "allocations: \(label) forward d=768 n=\(n) r=16, 1 thread",
                configuration: .init(
                    metrics: [.mallocCountTotal],
                    thresholds: [.mallocCountTotal: .init(absolute: [.p100: 0])])
            ) { benchmark in
                BLAS.withThreadCount(1) {
                    benchmark.startMeasurement()
                    for _ in 0..<10 { weights.forward(x, into: &y, workspace: &workspace) }
                    benchmark.stopMeasurement()
                }
            }
        }
    }
}

/// One square layer `W: d×d` with seeded adapters of several ranks, shared by its benchmarks.
final class Layer {
    let size: Int
    let base: Matrix<Float>
    /// Merged with the rank-16 adapter (the merged forward is one GEMM whatever the rank).
    let merged: LoRAWeights<Float>
    /// The weights the merge, unmerge and swap benchmarks mutate.
    var swappable: LoRAWeights<Float>

    init(size: Int, ranks: [Int]) {
        self.size = size
        var generator = SeededGenerator(seed: UInt64(size))
        base = .kaimingUniform(rows: size, columns: size, using: &generator)
        var weights = LoRAWeights(base: base, a: .zeros(1, size), b: .zeros(size, 1), scale: 2)
        let (a, b) = Self.adapter(size: size, rank: 16, variant: 0)
        weights.swapAdapter(a: a, b: b, scale: 2)
        weights.merge()
        merged = weights
        swappable = LoRAWeights(base: base, a: a, b: b, scale: 2)
    }

    static func adapter(size: Int, rank: Int, variant: UInt64) -> (a: Matrix<Float>, b: Matrix<Float>) {
        var generator = SeededGenerator(seed: UInt64(size * 100 + rank) &+ variant << 32)
        return (.kaimingUniform(rows: rank, columns: size, using: &generator),
                .randomNormal(rows: size, columns: rank, standardDeviation: 0.01, using: &generator))
    }

    func adapter(rank: Int, variant: UInt64) -> (a: Matrix<Float>, b: Matrix<Float>) {
        Self.adapter(size: size, rank: rank, variant: variant)
    }

    func unmerged(rank: Int) -> LoRAWeights<Float> {
        let (a, b) = adapter(rank: rank, variant: 0)
        return LoRAWeights(base: base, a: a, b: b, scale: 2)
    }

    func input(tokens: Int) -> Matrix<Float> {
        var generator = SeededGenerator(seed: UInt64(tokens))
        return .randomNormal(rows: tokens, columns: size, using: &generator)
    }

    /// Puts a rank-`rank` adapter in ``swappable`` and merges or unmerges it (not timed).
    func prepareSwappable(rank: Int, merged: Bool) {
        if swappable.rank != rank {
            let (a, b) = adapter(rank: rank, variant: 0)
            swappable.swapAdapter(a: a, b: b, scale: 2)
        }
        if swappable.isMerged != merged { merged ? swappable.merge() : swappable.unmerge() }
    }

    /// `Y = X·Wᵀ` by one BLAS GEMM, no LoRA code.
    func rawGEMM(_ x: Matrix<Float>, into y: inout Matrix<Float>) {
        Matrix.gemm(x, base, transposeB: .transposed, into: &y)
    }
}
