import ArgumentParser
import Foundation
import LoRAKit

/// `lora demo`: a tour that checks the machine and shows what LoRAKit computes.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the BLAS set-up, a GEMM speed check, an SVD check and the seed tables.")

    @Option(help: "BLAS threads (default: OpenBLAS's own choice).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        if let threads { BLAS.threadCount = threads }
        print("BLAS: \(BLAS.configuration)")
        print("BLAS core: \(BLAS.coreName), threads: \(BLAS.threadCount)")
        printGEMMSpeed(size: 2048)
        try printSVDCheck()
        print("\nSeed 003 Part 4, best rank-r approximation of a Gaussian ΔW:")
        print(try SVDTable.parse(["--energy", "0.9"]).output())
        print("\nSeed 000, parameter efficiency at scale:")
        print(try Params.parse([]).output())
        try printTrainingCheck()
    }

    /// Seed 000's training demonstration, in seconds: a d=256 block with LoRA r=4, α=4 on every
    /// linear layer, 100 AdamW steps on 4 sequences of 8 tokens, then a merge round trip.
    private func printTrainingCheck() throws {
        var generator = SeededGenerator(seed: 3)
        let data = SequenceRegressionData<Float>(samples: 4, sequenceLength: 8, features: 256, using: &generator)
        let model = TransformerStack<Float>(depth: 1, features: 256, heads: 8, using: &generator)
        try model.injectLoRA(LoRAConfiguration(rank: 4, alpha: 4, targetModules: .allLinear), using: &generator)
        let trainer = SequenceRegressionTrainer(
            model: model, data: data, options: TrainingOptions(epochs: 100, batchSize: 4))
        let history = trainer.train()
        let merge = model.checkMergeRoundTrip(probe: data.inputs, sequenceLength: 8)
        print(String(
            format: "\nSeed 000, training: LoRA r=4 on %d linear layers, %d of %d parameters trainable, 100 AdamW steps: loss %.4f → %.4f; merged vs unmerged max |Δ| = %.1e",
            model.loraLayers().count, model.trainableParameterCount, model.parameterCount, history.initialLoss,
            history.finalLoss, merge.maxMergedDifference))
    }

    /// Times `C = A·B` for `n×n` Float matrices (best of 5 after a warm-up) and prints GFLOP/s (2n³ FLOP).
    private func printGEMMSpeed(size n: Int) {
        var generator = SeededGenerator(seed: 1)
        let a = Matrix<Float>.randomNormal(rows: n, columns: n, using: &generator)
        let b = Matrix<Float>.randomNormal(rows: n, columns: n, using: &generator)
        var c = Matrix<Float>.zeros(n, n)
        let seconds = bestTime(repeats: 5) { Matrix.gemm(a, b, into: &c) }
        let gflops = 2 * Double(n * n * n) / seconds / 1e9
        print(String(format: "GEMM: sgemm %d³ in %.2f ms: %.1f GFLOP/s", n, seconds * 1e3, gflops))
    }

    /// Factors a seeded 512×256 Double matrix and prints the reconstruction and orthogonality errors.
    private func printSVDCheck() throws {
        var generator = SeededGenerator(seed: 2)
        let a = Matrix<Double>.randomNormal(rows: 512, columns: 256, using: &generator)
        let start = DispatchTime.now()
        let svd = try a.singularValueDecomposition()
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        let reconstruction = (a - svd.reconstructed()).frobeniusNorm / a.frobeniusNorm
        let uOrthogonality = (svd.u.transposed * svd.u - .identity(256)).frobeniusNorm
        let vOrthogonality = (svd.vt * svd.vt.transposed - .identity(256)).frobeniusNorm
        print(String(
            format: "SVD: dgesdd 512×256 in %.1f ms: ‖A − UΣVᵀ‖/‖A‖ = %.1e, ‖UᵀU − I‖ = %.1e, ‖VᵀV − I‖ = %.1e, σ₁ = %.3f, σ₂₅₆ = %.3f",
            milliseconds, reconstruction, uOrthogonality, vOrthogonality,
            svd.singularValues.first!, svd.singularValues.last!))
    }
}

/// The shortest wall-clock time of `body` over `repeats` runs, after one warm-up run, in seconds.
func bestTime(repeats: Int, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return best
}
