import ArgumentParser
import Foundation

/// Writes `warning: message` to standard error.
func printWarning(_ message: String) {
    printToStandardError("warning: \(message)")
}

/// Writes `rank R: error: …` to standard error: which process of an `mpirun` run failed, and why.
func printRankFailure(rank: Int, _ error: any Error) {
    printToStandardError("rank \(rank): error: \(plainError(error))")
}

/// One `write(2)` per line on standard error, which stdio does not buffer: a line is out as soon
/// as it is written, whether the stream is a terminal, a pipe or a file, so a killed run leaves
/// every line it had printed.
func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// `--quiet`: the flag of every command that prints progress.
struct ProgressOption: ParsableArguments {
    @Flag(help: "Print no progress lines (warnings and errors still go to standard error).")
    var quiet = false

    /// Prints `line` as progress, on standard error so that standard output holds only the
    /// command's report, unless `--quiet` was given.
    func report(_ line: String) {
        if !quiet { printToStandardError(line) }
    }
}

/// A failure whose message says what was wrong and what to change (exit status 1).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}

/// `error` as ArgumentParser prints it, in one plain line: library errors and ArgumentParser's
/// own pass unchanged, Foundation's (whose text is an error domain and code) and any other
/// without a description of its own become a sentence.
func plainError(_ error: any Error) -> any Error {
    // ArgumentParser's own (help, version, usage errors) carry what it prints and its exit code.
    if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") { return error }
    switch error {
    case is ValidationError, is CleanExit, is ExitCode:
        return error
    case let error as EncodingError:
        if case let .invalidValue(value, context) = error {
            let key = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return CommandFailure(description: "the result holds \(value) at \"\(key)\", which JSON cannot represent")
        }
        return CommandFailure(description: "the result cannot be encoded as JSON")
    case let error as NSError where [NSCocoaErrorDomain, NSPOSIXErrorDomain].contains(error.domain):
        let path = error.userInfo[NSFilePathErrorKey] as? String
        let cause = error.domain == NSPOSIXErrorDomain ? error : error.userInfo[NSUnderlyingErrorKey] as? NSError
        let reason = cause.map { String(cString: strerror(Int32($0.code))) } ?? "a file operation failed"
        return CommandFailure(description: (path.map { "\($0): " } ?? "") + reason)
    case let described as CustomStringConvertible where !(type(of: error) is NSError.Type):
        let lines = described.description.split(whereSeparator: \.isNewline)
        return lines.count > 1 ? CommandFailure(description: lines.joined(separator: " ")) : error
    default:
        return CommandFailure(description: "unexpected failure (\(type(of: error))); please report it with the command line")
    }
}
