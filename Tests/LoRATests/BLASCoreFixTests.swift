import CommandTestSupport
import Foundation
import Testing

/// `lora`'s BLAS core fix as a process: a set `OPENBLAS_CORETYPE` is never overridden,
/// `--no-blas-fix` / `LORAKIT_NO_BLAS_FIX` and the restart guard prevent the restart, and with
/// nothing set `lora bench` and `lora demo` run (and report) the core recommended for this machine.
/// Every run gets an environment without the variables the test process itself may run with.
@Suite("lora BLAS core fix")
struct BLASCoreFixTests {
    static let tinyBench = ["bench", "--quick", "--rounds", "1", "--sizes", "16", "--tokens", "2", "--ranks", "2", "--threads", "1", "--format", "json"]
    static let notice = "lora: OpenBLAS chose"

    /// This process's environment without `OPENBLAS_CORETYPE` and LoRAKit's variables, plus `extra`.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in ["OPENBLAS_CORETYPE", "LORAKIT_BLAS_CORRECTED", "LORAKIT_NO_BLAS_FIX"] { environment[name] = nil }
        return environment.merging(extra) { $1 }
    }

    static func json(_ run: CommandRun) throws -> [String: Any] {
        #expect(run.status == 0, "\(run.standardError)")
        return try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
    }

    /// What OpenBLAS chooses by itself here, and what LoRAKit recommends.
    static func native() throws -> (core: String, recommended: String?, fallsBack: Bool) {
        let report = try json(runLora(["blas", "--format", "json"], environment: environment(["LORAKIT_NO_BLAS_FIX": "1"])))
        let core = try #require(report["core"] as? String)
        let recommended = report["core_recommended"] as? String
        #expect(report["core_corrected"] as? Bool == false && report["core_type_set_by_user"] as? Bool == false)
        // Not set by anyone here: a diagnostic means the chosen core is worse than the recommended one.
        return (core, recommended, report["diagnostic"] is String)
    }

    @Test("OPENBLAS_CORETYPE=Haswell is kept: lora reports Haswell and does not restart")
    func setValueIsNeverOverridden() throws {
        let environment = Self.environment(["OPENBLAS_CORETYPE": "Haswell"])
        let blasRun = try runLora(["blas", "--format", "json"], environment: environment)
        let blas = try Self.json(blasRun)
        #expect(blas["core"] as? String == "Haswell" && blas["core_requested"] as? String == "Haswell")
        #expect(blas["core_type_set_by_user"] as? Bool == true && blas["core_corrected"] as? Bool == false)
        #expect(blas["core_fix"] is NSNull && blas["diagnostic"] is NSNull)
        #expect(!blasRun.standardError.contains(Self.notice), "\(blasRun.standardError)")

        let benchRun = try runLora(Self.tinyBench, environment: environment)
        let bench = try Self.json(benchRun)
        #expect(bench["blas_core"] as? String == "Haswell" && bench["blas_core_corrected"] as? Bool == false)
        #expect(!benchRun.standardError.contains(Self.notice), "\(benchRun.standardError)")
    }

    @Test("--no-blas-fix (any subcommand, any position), LORAKIT_NO_BLAS_FIX=1 and the guard keep OpenBLAS's choice")
    func switchesPreventTheRestart() throws {
        let native = try Self.native()
        let runs: [(String, [String], [String: String])] = [
            ("blas --no-blas-fix", ["blas", "--no-blas-fix", "--format", "json"], Self.environment()),
            ("--no-blas-fix blas", ["--no-blas-fix", "blas", "--format", "json"], Self.environment()),
            ("LORAKIT_NO_BLAS_FIX=1", ["blas", "--format", "json"], Self.environment(["LORAKIT_NO_BLAS_FIX": "1"])),
            ("guard without OPENBLAS_CORETYPE", ["blas", "--format", "json"], Self.environment(["LORAKIT_BLAS_CORRECTED": "Cooperlake"])),
        ]
        for (name, arguments, environment) in runs {
            let run = try runLora(arguments, environment: environment)
            let report = try Self.json(run)
            #expect(report["core"] as? String == native.core && report["core_corrected"] as? Bool == false, "\(name)")
            #expect(!run.standardError.contains(Self.notice), "\(name): \(run.standardError)")
        }
        let benchRun = try runLora(Array(Self.tinyBench.prefix(3)) + ["--no-blas-fix"] + Self.tinyBench.dropFirst(3), environment: Self.environment())
        let bench = try Self.json(benchRun)
        #expect(bench["blas_core"] as? String == native.core && bench["blas_core_corrected"] as? Bool == false)
        #expect(!benchRun.standardError.contains(Self.notice), "\(benchRun.standardError)")
        // The fix's own output for scripts: nothing when switched off.
        let printed = try runLora(["blas", "--print-core-fix"], environment: Self.environment(["LORAKIT_NO_BLAS_FIX": "1"]))
        #expect(printed.status == 0 && printed.standardOutput.isEmpty)
    }

    @Test("nothing set: lora bench and lora demo run and report the recommended core")
    func nothingSetGetsTheRecommendedCore() throws {
        let native = try Self.native()
        let expected = native.fallsBack ? native.recommended ?? "?" : native.core

        let benchRun = try runLora(Self.tinyBench, environment: Self.environment())
        let bench = try Self.json(benchRun)
        #expect(bench["blas_core"] as? String == expected)
        #expect(bench["blas_core_recommended"] as? String == native.recommended)
        #expect(bench["blas_core_corrected"] as? Bool == native.fallsBack)
        #expect(bench["blas"] is String && bench["raw_sgemm_gflops"] is Double)
        let notices = benchRun.standardError.split(separator: "\n").filter { $0.hasPrefix(Self.notice) }
        #expect(notices.count == (native.fallsBack ? 1 : 0), "\(benchRun.standardError)")
        if native.fallsBack {
            #expect(notices.first == "lora: OpenBLAS chose \(native.core); restarting with OPENBLAS_CORETYPE=\(expected) (--no-blas-fix to keep it)")
        }

        let printed = try runLora(["blas", "--print-core-fix"], environment: Self.environment())
        #expect(printed.standardOutput == (native.fallsBack ? "\(expected)\n" : ""))

        let demo = try runLora(["demo"], environment: Self.environment())
        #expect(demo.status == 0, "\(demo.standardError)")
        let lines = demo.standardOutput.split(separator: "\n")
        #expect(lines.first?.hasPrefix("BLAS: OpenBLAS") == true)
        let recommended = native.recommended ?? "none"
        #expect(lines.dropFirst().first?.hasPrefix(
            "BLAS core: \(expected), recommended \(recommended), corrected: \(native.fallsBack ? "yes" : "no")") == true,
            "\(lines.prefix(3))")
        let demoJSON = try Self.json(runLora(["demo", "--format", "json"], environment: Self.environment()))
        #expect(demoJSON["blas_core"] as? String == expected && demoJSON["blas_core_corrected"] as? Bool == native.fallsBack)
        #expect((demoJSON["blas_core_recommended"] as? String) == native.recommended)
    }
}
