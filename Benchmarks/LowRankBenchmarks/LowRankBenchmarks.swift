import Benchmark
import Foundation
import LinearAlgebra
import LowRank

/// Exact versus randomized truncated SVD (results: docs/PERFORMANCE.md, "SVD and low-rank analysis").
///
/// `Frobenius error / tail bound (‰)` is not a time: it records, per run, 1000 ×
/// ‖M − M̃₆₄‖_F / √(Σ_{i>64} σᵢ²) for the randomized rank-64 SVD (1000 = optimal).
let benchmarks: @Sendable () -> Void = {
    BLAS.logDiagnostic(prefix: "LowRankBenchmarks")  // OPENBLAS_CORETYPE is read at load: this suite cannot fix it itself
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(30),
        maxIterations: 5)
    let large = Benchmark.Configuration(
        metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 0, maxDuration: .seconds(120),
        maxIterations: 3)

    var generator = SeededGenerator(seed: 2048)
    let gaussian = Matrix<Float>.randomNormal(rows: 2048, columns: 2048, using: &generator)
    Benchmark("sgesdd 2048² (U, S, Vᵀ)", configuration: large) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try gaussian.singularValueDecomposition()) }
    }

    // 4096×4096 with σᵢ = 0.95^(i−1) for i ≤ 1024 (then 0) between random orthonormal factors.
    let n = 4096, components = 1024, rank = 64
    let decaying: Matrix<Float> = {
        let u = try! Matrix<Float>.randomNormal(rows: n, columns: components, using: &generator).qrDecomposition().q
        let v = try! Matrix<Float>.randomNormal(rows: n, columns: components, using: &generator).qrDecomposition().q
        var scaled = u
        scaled.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                for j in 0..<components { p[i * components + j] *= Float(pow(0.95, Double(j))) }
            }
        }
        var m = Matrix<Float>.zeros(n, n)
        Matrix.gemm(scaled, v, transposeB: .transposed, into: &m)
        return m
    }()
    let optimal = (0..<components).dropFirst(rank).reduce(0.0) { $0 + pow(0.95, 2 * Double($1)) }.squareRoot()

    Benchmark("sgesdd 4096² (U, S, Vᵀ), decaying spectrum", configuration: large) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try decaying.truncatedSVD(rank: rank)) }
    }

    Benchmark(
        "randomized rank-64 SVD 4096², decaying spectrum (p = 10, q = 2)",
        configuration: .init(metrics: [.wallClock, .custom("Frobenius error / tail bound (‰)")])
    ) { benchmark in
        var approximation = SingularValueDecomposition<Float>(u: .zeros(n, 0), singularValues: [], vt: .zeros(0, n))
        for i in benchmark.scaledIterations {
            approximation = try decaying.randomizedSVD(rank: rank, options: RandomizedSVDOptions(seed: UInt64(i)))
        }
        benchmark.stopMeasurement()
        let error = Double((decaying - approximation.reconstructed()).frobeniusNorm)
        benchmark.measurement(.custom("Frobenius error / tail bound (‰)"), Int((1000 * error / optimal).rounded()))
    }
}
