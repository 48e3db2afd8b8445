import Foundation

/// What one run of the `lora` executable gave: exit status and both output streams.
public struct CommandRun: Sendable {
    public let status: Int32
    public let standardOutput: String
    public let standardError: String
}

/// Runs the `lora` executable built next to the test bundle with `arguments` and waits for it.
/// `environment` nil: this process's, and when it has no `OPENBLAS_CORETYPE`, `LORAKIT_NO_BLAS_FIX=1`
/// too, so `lora` runs the test process's BLAS core without restarting (whose notice on stderr
/// the tests of stderr would count). BLASCoreFixTests pass environments of their own.
public func runLora(_ arguments: [String], environment: [String: String]? = nil) throws -> CommandRun {
    let process = Process()
    process.executableURL = loraExecutableURL
    process.arguments = arguments
    var inherited = ProcessInfo.processInfo.environment
    if inherited["OPENBLAS_CORETYPE"] == nil { inherited["LORAKIT_NO_BLAS_FIX"] = "1" }
    process.environment = environment ?? inherited
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandRun(status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                      standardError: String(decoding: errorData, as: UTF8.self))
}

/// The `lora` executable built next to the test bundle.
public var loraExecutableURL: URL {
    Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent("lora")
}
