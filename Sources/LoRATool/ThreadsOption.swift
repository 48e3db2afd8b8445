import ArgumentParser
import LoRAKit

/// `--threads N`: how many threads OpenBLAS uses, for every command that computes.
struct ThreadsOption: ParsableArguments {
    @Option(help: "BLAS threads, at most \(ThreadsOption.maximum) (default: OpenBLAS's own choice).")
    var threads: Int?

    /// Far above any core count OpenBLAS is built for; OpenBLAS takes the count as a C int.
    static let maximum = 1024

    func validate() throws {
        if let threads, !(1...Self.maximum).contains(threads) {
            throw ValidationError("--threads must be in 1…\(Self.maximum), got \(threads)")
        }
    }

    /// Sets OpenBLAS's thread count when `--threads` was given; returns the count in force.
    @discardableResult
    func apply() -> Int {
        if let threads { BLAS.threadCount = threads }
        return BLAS.threadCount
    }
}
