import Foundation

/// What one run of an executable gave: exit status and both output streams.
public struct CommandRun: Sendable {
    public let status: Int32
    public let standardOutput: String
    public let standardError: String
}

/// The executable `name` that this package built next to the test bundle (e.g. `lora`).
public func builtExecutable(_ name: String) -> URL {
    Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent(name)
}

/// The executable `name` on `PATH`, if there is one.
public func executableOnPath(_ name: String) -> URL? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// Runs `executable` with `arguments`, with `environment` added to this process's, and waits for
/// it. A run still going after `timeout` seconds is terminated (a hang fails instead of blocking
/// the suite).
public func runProgram(
    _ executable: URL, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 300
) throws -> CommandRun {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if process.isRunning { process.terminate() } }
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandRun(status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                      standardError: String(decoding: errorData, as: UTF8.self))
}

/// Runs the `lora` executable built next to the test bundle with `arguments` and waits for it.
public func runLora(_ arguments: [String]) throws -> CommandRun { try runProgram(builtExecutable("lora"), arguments) }
