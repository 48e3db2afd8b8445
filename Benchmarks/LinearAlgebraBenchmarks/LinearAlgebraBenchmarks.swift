import Benchmark
import LinearAlgebra

/// GEMM and SVD on this machine. The in-place `gemm(into:)` must not allocate: its malloc
/// count is held to zero by a threshold.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        maxDuration: .seconds(2)
    )

    for n in [256, 1024] {
        var generator = SeededGenerator(seed: 7)
        let a = Matrix<Float>.randomNormal(rows: n, columns: n, using: &generator)
        let b = Matrix<Float>.randomNormal(rows: n, columns: n, using: &generator)
        Benchmark(
            "sgemm in place \(n)³",
            configuration: .init(thresholds: [.mallocCountTotal: .init(absolute: [.p100: 0])])
        ) { benchmark in
            var c = Matrix<Float>.zeros(n, n)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                Matrix.gemm(a, b, into: &c)
            }
            benchmark.stopMeasurement()
            blackHole(c)
        }
    }

    var generator = SeededGenerator(seed: 8)
    let square = Matrix<Float>.randomNormal(rows: 512, columns: 512, using: &generator)
    Benchmark("sgesdd 512² (U, S, Vᵀ)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try square.singularValueDecomposition())
        }
    }
}
