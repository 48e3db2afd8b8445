internal import CBLASLAPACK
import Foundation

/// The OpenBLAS this process runs: its build, the kernels ("core") it chose when it loaded,
/// the core LoRAKit recommends for the CPU, and how `OPENBLAS_CORETYPE` was set.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` only when it loads, before `main`: a wrong choice can be
/// corrected only by starting the process again with the variable set, which
/// ``BLAS/reexecutingWithRecommendedCore(arguments:environmentSwitch:announce:)`` does.
public struct BLASConfiguration: Sendable, Equatable {
    /// `openblas_get_config()`, e.g. `"OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64"`.
    public var buildDescription: String
    /// The core OpenBLAS chose (`openblas_get_corename()`), e.g. `"Prescott"`.
    public var chosenCore: String
    /// The best core for this CPU (``BLAS/recommendedCore(for:)``), or nil when there is none to recommend.
    public var recommendedCore: String?
    /// `OPENBLAS_CORETYPE` as the process found it, or nil when unset.
    public var requestedCore: String?
    /// Whether `OPENBLAS_CORETYPE` was set by LoRAKit's fix (the `lora` re-exec or the scripts),
    /// which marks it with `LORAKIT_BLAS_CORRECTED` holding the same value.
    public var corrected: Bool
    /// OpenBLAS's threads per call, now.
    public var threads: Int
    public var cpu: CPUDescription

    public init(
        buildDescription: String, chosenCore: String, recommendedCore: String?, requestedCore: String?,
        corrected: Bool, threads: Int, cpu: CPUDescription
    ) {
        self.buildDescription = buildDescription
        self.chosenCore = chosenCore
        self.recommendedCore = recommendedCore
        self.requestedCore = requestedCore
        self.corrected = corrected
        self.threads = threads
        self.cpu = cpu
    }

    /// The configuration of the linked OpenBLAS, with the `OPENBLAS_CORETYPE` and
    /// `LORAKIT_BLAS_CORRECTED` of `environment`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let cpu = CPUDescription.current
        let requested = environment[BLAS.EnvironmentVariable.coreType]
        self.init(
            buildDescription: BLAS.buildDescription, chosenCore: BLAS.coreName,
            recommendedCore: BLAS.recommendedCore(for: cpu), requestedCore: requested,
            corrected: requested != nil
                && environment[BLAS.EnvironmentVariable.corrected]?.lowercased() == requested?.lowercased(),
            threads: BLAS.threadCount, cpu: cpu)
    }

    /// The version in ``buildDescription``, e.g. `"0.3.21"`.
    public var version: String? {
        let words = buildDescription.split(separator: " ")
        return words.count >= 2 && words[0] == "OpenBLAS" ? String(words[1]) : nil
    }

    /// Whether somebody other than LoRAKit's fix set `OPENBLAS_CORETYPE` (a value LoRAKit never overrides).
    public var userSetCoreType: Bool { requestedCore != nil && !corrected }

    /// Whether OpenBLAS runs kernels of a lower ``BLASCoreTier`` than the CPU supports.
    public var chosenCoreIsWorse: Bool {
        recommendedCore.map { BLAS.isCore(chosenCore, worseThan: $0) } ?? false
    }

    /// One line an app can log when OpenBLAS runs slower kernels than the CPU supports, nil when
    /// all is well: the chosen core is at least as good as the recommended one, there is no
    /// recommendation, or `OPENBLAS_CORETYPE` is set and OpenBLAS honoured it (a deliberate choice).
    public var diagnostic: String? {
        guard chosenCoreIsWorse, let recommended = recommendedCore,
              let needed = BLASCoreTier(core: recommended)?.instructionSet else { return nil }
        guard let requested = requestedCore else {
            return "OpenBLAS chose \(chosenCore) on a CPU with \(needed): start the process with "
                + "OPENBLAS_CORETYPE=\(recommended) for the fast kernels"
        }
        if requested.lowercased() == chosenCore.lowercased() { return nil }
        return "OpenBLAS chose \(chosenCore) although OPENBLAS_CORETYPE=\(requested) is set, on a CPU with "
            + "\(needed): OPENBLAS_CORETYPE=\(recommended) gives the fast kernels"
    }

    /// The `OPENBLAS_CORETYPE` value to restart with, or nil when no restart is due: OpenBLAS
    /// chose well, there is no recommendation, `OPENBLAS_CORETYPE` is set (by anyone: never
    /// overridden), or `LORAKIT_BLAS_CORRECTED` is set (this process is already a restart).
    /// The opt-out switches are the caller's to check.
    public func coreFix(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard chosenCoreIsWorse, requestedCore == nil,
              environment[BLAS.EnvironmentVariable.coreType] == nil,
              environment[BLAS.EnvironmentVariable.corrected] == nil else { return nil }
        return recommendedCore
    }
}

extension BLAS {
    /// The environment variables of the core fix.
    public enum EnvironmentVariable {
        /// OpenBLAS's own, read when the library loads.
        public static let coreType = "OPENBLAS_CORETYPE"
        /// Set (to anything but `""` or `"0"`) to keep OpenBLAS's choice: no restart.
        public static let noFix = "LORAKIT_NO_BLAS_FIX"
        /// Set by the fix beside `OPENBLAS_CORETYPE`, to the same value: marks the value as
        /// LoRAKit's (``BLASConfiguration/corrected``) and guards against restarting again.
        public static let corrected = "LORAKIT_BLAS_CORRECTED"
    }

    /// The linked OpenBLAS, its choice of core and this CPU, now.
    public static var configuration: BLASConfiguration { BLASConfiguration() }

    /// ``BLASConfiguration/diagnostic`` of this process: one line to log, or nil when all is well.
    public static var diagnostic: String? { configuration.diagnostic }

    /// Writes ``diagnostic`` as one line on stderr, `"<prefix>: <diagnostic>"`, when there is one
    /// (for processes that cannot restart, such as the benchmark suites), and returns it.
    @discardableResult
    public static func logDiagnostic(prefix: String) -> String? {
        guard let diagnostic else { return nil }
        FileHandle.standardError.write(Data("\(prefix): \(diagnostic)\n".utf8))
        return diagnostic
    }

    /// Whether `name` is set in `environment` to a value that switches something on (not `""` nor `"0"`).
    public static func isSwitchOn(_ name: String, in environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let value = environment[name] else { return false }
        return !value.isEmpty && value != "0"
    }

    /// Why ``reexecutingWithRecommendedCore(arguments:environmentSwitch:announce:)`` returned.
    public enum CoreFixOutcome: Equatable, Sendable {
        /// No restart was due (see ``BLASConfiguration/coreFix(environment:)``).
        case notNeeded
        /// The switch named `environmentSwitch` is on.
        case disabled
        /// A restart was due but `execve` failed (the process goes on with OpenBLAS's choice).
        case failed(String)
    }

    /// Restarts this process with the recommended core when OpenBLAS fell back to slower kernels:
    /// `execve("/proc/self/exe", arguments, environment + OPENBLAS_CORETYPE=R + LORAKIT_BLAS_CORRECTED=R)`.
    /// Call it first thing in `main`, before any output or threads of your own. It does nothing
    /// when the switch `environmentSwitch` is on, when `OPENBLAS_CORETYPE` or `LORAKIT_BLAS_CORRECTED`
    /// is set, or when the chosen core is at least as good as the recommended one. `announce`
    /// gets the chosen and the recommended core just before the `execve` (to print a notice).
    /// Linux only (it needs `/proc/self/exe`); elsewhere it returns `.notNeeded`.
    @discardableResult
    public static func reexecutingWithRecommendedCore(
        arguments: [String] = CommandLine.arguments, environmentSwitch: String = EnvironmentVariable.noFix,
        announce: (_ chosen: String, _ recommended: String) -> Void = { _, _ in }
    ) -> CoreFixOutcome {
        let environment = ProcessInfo.processInfo.environment
        if isSwitchOn(environmentSwitch, in: environment) { return .disabled }
        let configuration = BLASConfiguration(environment: environment)
        guard let core = configuration.coreFix(environment: environment) else { return .notNeeded }
        #if os(Linux)
        var newEnvironment = environment
        newEnvironment[EnvironmentVariable.coreType] = core
        newEnvironment[EnvironmentVariable.corrected] = core
        announce(configuration.chosenCore, core)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = newEnvironment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve("/proc/self/exe", argv, envp)
        let message = String(cString: strerror(errno))
        (argv + envp).forEach { free($0) }
        return .failed("execve /proc/self/exe: \(message)")
        #else
        return .notNeeded
        #endif
    }
}
