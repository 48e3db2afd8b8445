import ArgumentParser
import LoRAKit

/// `--threads N`: how many threads OpenBLAS uses, for every command that computes.
struct ThreadsOption: ParsableArguments {
    @Option(help: "BLAS threads (default: OpenBLAS's own choice).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Sets OpenBLAS's thread count when `--threads` was given; returns the count in force.
    @discardableResult
    func apply() -> Int {
        if let threads { BLAS.threadCount = threads }
        return BLAS.threadCount
    }
}
