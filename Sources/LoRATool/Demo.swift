import ArgumentParser
import LoRABench
import LoRAKit

/// `lora demo`: a tour that checks the machine and shows what LoRAKit computes.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the BLAS set-up, a GEMM speed check, an SVD check, a rank-error and a parameter table, and a short training run.")

    @OptionGroup var threads: ThreadsOption
    @OptionGroup var output: FormatOption

    func run() throws {
        threads.apply()
        let report = try DemoReport(
            blas: .current(), gemm: .measure(), svd: .measure(),
            rankErrors: SVDTable.parse(["--energy", "0.9"]).report(), parameters: Params.parse([]).report(),
            training: .run())
        print(try output.render(report))
    }
}
