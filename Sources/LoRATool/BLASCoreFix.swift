import Foundation
import LoRAKit

/// `lora`'s BLAS core fix. OpenBLAS 0.3.21 reads `OPENBLAS_CORETYPE` only when it loads and
/// falls back to its SSE3 `Prescott` kernels on CPUs it does not know (Intel family 6 model 207,
/// for one: several times slower sgemm; docs/PERFORMANCE.md, BLAS core). So before parsing anything `lora` restarts itself
/// (`execve` of `/proc/self/exe`, same arguments) with `OPENBLAS_CORETYPE=<recommended>` and the
/// guard `LORAKIT_BLAS_CORRECTED=<recommended>` added to its environment, printing one line on
/// stderr (none with `--quiet`).
///
/// It never does when `OPENBLAS_CORETYPE` is set (by anyone), when `LORAKIT_BLAS_CORRECTED` is
/// set (already restarted), when `LORAKIT_NO_BLAS_FIX` is on, or when `--no-blas-fix` is among
/// the arguments. `--no-blas-fix` is taken out of the arguments before ArgumentParser sees them
/// (so every subcommand accepts it, anywhere before a `--`) and turns `LORAKIT_NO_BLAS_FIX=1` on
/// for the rest of the process.
enum BLASCoreFix {
    static let flag = "--no-blas-fix"

    /// The arguments for ArgumentParser (without the executable), after restarting if due.
    static func prepare(_ argv: [String] = CommandLine.arguments) -> [String] {
        var arguments = Array(argv.dropFirst())
        let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
        if arguments[..<end].contains(flag) {
            arguments = arguments[..<end].filter { $0 != flag } + arguments[end...]
            setenv(BLAS.EnvironmentVariable.noFix, "1", 1)
            return arguments
        }
        let quiet = arguments[..<end].contains("--quiet")  // the notice is progress too
        let outcome = BLAS.reexecutingWithRecommendedCore(arguments: argv) { chosen, recommended in
            if quiet { return }
            FileHandle.standardError.write(Data(
                "lora: OpenBLAS chose \(chosen); restarting with OPENBLAS_CORETYPE=\(recommended) (\(flag) to keep it)\n".utf8))
        }
        if case .failed(let reason) = outcome {
            FileHandle.standardError.write(Data("lora: could not restart (\(reason)); going on with OpenBLAS \(BLAS.coreName)\n".utf8))
        }
        return arguments
    }

    /// The `OPENBLAS_CORETYPE` value the fix applies in this process's environment: the value it
    /// set (this process is a restart), the value it would set, or nil (OpenBLAS chose well,
    /// `OPENBLAS_CORETYPE` was set by someone else, the fix is switched off, or no recommendation).
    static var coreToApply: String? {
        let configuration = BLAS.configuration
        if configuration.corrected { return configuration.requestedCore }
        if BLAS.isSwitchOn(BLAS.EnvironmentVariable.noFix) { return nil }
        return configuration.coreFix()
    }

    /// `lora demo`'s BLAS lines: the core in use, the recommended one, whether the fix applied it,
    /// and the diagnostic when there is one.
    static func summaryLines(_ configuration: BLASConfiguration = BLAS.configuration) -> [String] {
        var lines = [
            "BLAS core: \(configuration.chosenCore), recommended: \(configuration.recommendedCore ?? "none"), "
                + "corrected: \(configuration.corrected ? "yes (OPENBLAS_CORETYPE=\(configuration.requestedCore ?? "") set by LoRAKit's fix)" : "no")"
                + (configuration.userSetCoreType ? " (OPENBLAS_CORETYPE=\(configuration.requestedCore ?? "") set outside LoRAKit)" : "")
                + ", threads: \(configuration.threads)"
        ]
        if let diagnostic = configuration.diagnostic { lines.append("BLAS warning: \(diagnostic)") }
        return lines
    }
}
