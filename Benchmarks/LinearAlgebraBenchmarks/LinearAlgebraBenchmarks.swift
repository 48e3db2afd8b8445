import Benchmark
import LinearAlgebra

/// GEMM and SVD.
///
/// `InPlaceGEMMAllocations` runs BLAS on one thread and reports the malloc count of ten in-place
/// `gemm(into:)` calls, expected to be 0. On two or more threads OpenBLAS's threaded level-3
/// driver itself mallocs one job array per call, which the timing benchmarks show as one malloc
/// per GEMM; LoRAKit's own code adds none.
let benchmarks: @Sendable () -> Void = {
    BLAS.logDiagnostic(prefix: "LinearAlgebraBenchmarks")  // OPENBLAS_CORETYPE is read at load: this suite cannot fix it itself
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        maxDuration: .seconds(2)
    )

    var generator = SeededGenerator(seed: 7)
    let a256 = Matrix<Float>.randomNormal(rows: 256, columns: 256, using: &generator)
    let b256 = Matrix<Float>.randomNormal(rows: 256, columns: 256, using: &generator)
    Benchmark(
        "InPlaceGEMMAllocations",
        configuration: .init(metrics: [.mallocCountTotal])
    ) { benchmark in
        var c = Matrix<Float>.zeros(256, 256)
        BLAS.withThreadCount(1) {
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for _ in 0..<10 { Matrix.gemm(a256, b256, into: &c) }
            }
            benchmark.stopMeasurement()
        }
        blackHole(c)
    }

    for n in [256, 1024] {
        let a = Matrix<Float>.randomNormal(rows: n, columns: n, using: &generator)
        let b = Matrix<Float>.randomNormal(rows: n, columns: n, using: &generator)
        Benchmark("sgemm in place \(n)³") { benchmark in
            var c = Matrix<Float>.zeros(n, n)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                Matrix.gemm(a, b, into: &c)
            }
            benchmark.stopMeasurement()
            blackHole(c)
        }
    }

    let square = Matrix<Float>.randomNormal(rows: 512, columns: 512, using: &generator)
    Benchmark("sgesdd 512² (U, S, Vᵀ)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try square.singularValueDecomposition())
        }
    }
}
