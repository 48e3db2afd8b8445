import Foundation

/// A `lora` process started in the background, its output streams going to files (so that a
/// test can read what it printed so far, signal it, and wait with a bound).
///
/// Started with `posix_spawn` and SIGINT, SIGTERM and SIGHUP reset to their defaults: a test
/// runner started from a script may ignore SIGINT, a disposition children inherit and which
/// `lora` keeps, as programs do for background jobs.
public final class StartedLora {
    private let pid: pid_t
    private var status: Int32?
    private let streams: URL

    /// Starts `lora arguments` in `directory` (the current one when nil) with `environment`
    /// added to this process's (and `LORAKIT_NO_BLAS_FIX=1` unless `OPENBLAS_CORETYPE` is set).
    public init(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws {
        streams = FileManager.default.temporaryDirectory.appendingPathComponent("lora-streams-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: streams, withIntermediateDirectories: true)
        let executable = loraExecutableURL.path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, streams.appendingPathComponent("stdout").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, streams.appendingPathComponent("stderr").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigmask(&attributes, &noneBlocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        // As runLora: no BLAS-core restart (whose notice would add a line to standard error).
        var inherited = ProcessInfo.processInfo.environment
        if inherited["OPENBLAS_CORETYPE"] == nil { inherited["LORAKIT_NO_BLAS_FIX"] = "1" }
        let environment = inherited.merging(environment) { $1 }.map { "\($0)=\($1)" }
        // The shell changes to `directory` and execs lora, which keeps the defaults set here.
        let command = ["/bin/sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", directory?.path ?? ".", executable] + arguments
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL) }
        self.pid = pid
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
        }
        try? FileManager.default.removeItem(at: streams)
    }

    /// Whether the process has not ended yet (reaping it when it has).
    public var isRunning: Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return true }
        // The exit status, or 128 + the signal for a process a signal ended (as shells report it).
        status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        return false
    }

    /// What the process has written to standard error so far.
    public var standardErrorSoFar: String { read("stderr") }

    /// Sends `signal` (SIGINT, SIGTERM, …).
    public func send(_ signal: Int32) { if isRunning { kill(pid, signal) } }

    /// Waits until the process ends or `seconds` pass; whether it ended.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { usleep(5_000) }
        return !isRunning
    }

    /// The exit status (128 + the signal when one killed it) and everything printed, once the
    /// process has ended (killed after `seconds` if it has not).
    public func finish(seconds: Double = 60) -> CommandRun {
        if !wait(seconds: seconds) {
            kill(pid, SIGKILL)
            wait(seconds: 10)
        }
        return CommandRun(status: status ?? -1, standardOutput: read("stdout"), standardError: read("stderr"))
    }

    private func read(_ name: String) -> String {
        (try? String(contentsOf: streams.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }
}

/// Runs `lora arguments` in `directory`; a run still going after `timeout` seconds is sent SIGINT
/// and reported with `interrupted` true.
public func runLora(
    _ arguments: [String], in directory: URL, timeout: Double, environment: [String: String] = [:]
) throws -> (run: CommandRun, interrupted: Bool) {
    let started = try StartedLora(arguments, in: directory, environment: environment)
    if started.wait(seconds: timeout) { return (started.finish(), false) }
    started.send(SIGINT)
    return (started.finish(seconds: 10), true)
}
