import Foundation

/// Writes `warning: message` to standard error.
func printWarning(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

/// Writes `rank R: error: …` to standard error: which process of an `mpirun` run failed, and why.
func printRankFailure(rank: Int, _ error: any Error) {
    FileHandle.standardError.write(Data("rank \(rank): error: \(error)\n".utf8))
}

/// Writes a progress line to standard error, so standard output holds only the command's report.
func printProgress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A failure whose message says which flags would change the outcome (exit status 1).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}
