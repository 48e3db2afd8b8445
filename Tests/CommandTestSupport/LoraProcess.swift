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

/// The `lora` executable built next to the test bundle.
public var loraExecutableURL: URL { builtExecutable("lora") }

/// The executable `name` on `PATH`, if there is one.
public func executableOnPath(_ name: String) -> URL? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// Runs `executable` with `arguments` in `environment` and waits for it. A run still going after
/// `timeout` seconds is terminated (a hang fails instead of blocking the suite).
public func runProgram(
    _ executable: URL, _ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
    timeout: Double = 1800
) throws -> CommandRun {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = environment
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

/// This process's environment, with `LORAKIT_NO_BLAS_FIX=1` when it has no `OPENBLAS_CORETYPE`, so
/// `lora` runs the test process's BLAS core without restarting (whose notice on stderr the tests
/// of stderr would count).
public var loraEnvironment: [String: String] {
    var inherited = ProcessInfo.processInfo.environment
    if inherited["OPENBLAS_CORETYPE"] == nil { inherited["LORAKIT_NO_BLAS_FIX"] = "1" }
    return inherited
}

/// Runs the `lora` executable built next to the test bundle with `arguments` and waits for it,
/// in `environment` (nil: ``loraEnvironment``; BLASCoreFixTests pass environments of their own).
public func runLora(_ arguments: [String], environment: [String: String]? = nil) throws -> CommandRun {
    try runProgram(loraExecutableURL, arguments, environment: environment ?? loraEnvironment)
}

/// Open MPI's `mpirun`, if it is installed (scripts/setup installs it).
public let mpirun = executableOnPath("mpirun")

/// Runs `executable` with `arguments` as the `ranks` processes of one `mpirun` (as root, and with
/// more ranks than cores if need be), in `environment`, and waits for it; needs ``mpirun``.
public func runUnderMPI(
    ranks: Int, _ executable: URL, _ arguments: [String], environment: [String: String]
) throws -> CommandRun {
    try runProgram(
        mpirun!, ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", executable.path] + arguments,
        environment: environment)
}
