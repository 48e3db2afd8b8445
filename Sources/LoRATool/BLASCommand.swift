import ArgumentParser
import Foundation
import LoRAKit

/// `lora blas`: the OpenBLAS set-up of this process and LoRAKit's core fix.
struct BLASCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas",
        abstract: "Show OpenBLAS's build, the core it chose, the core this CPU supports and the fix.",
        discussion: """
            OpenBLAS 0.3.21 falls back to its SSE3 Prescott kernels on CPUs it does not know. Every lora \
            command then restarts itself once with OPENBLAS_CORETYPE set to the recommended core, unless \
            OPENBLAS_CORETYPE is already set (never overridden), LORAKIT_NO_BLAS_FIX=1, or --no-blas-fix \
            is given (accepted by every subcommand).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    @Flag(help: "Print only the OPENBLAS_CORETYPE value LoRAKit's fix applies here (nothing when none applies), for scripts.")
    var printCoreFix = false

    func run() throws {
        if printCoreFix {
            if let core = BLASCoreFix.coreToApply { print(core) }
            return
        }
        let c = BLAS.configuration
        switch format {
        case .table:
            print("OpenBLAS: \(c.buildDescription)")
            print("CPU: \(c.cpu.summary)")
            BLASCoreFix.summaryLines(c).forEach { print($0) }
        case .json:
            let object: [String: Any] = [
                "build": c.buildDescription, "version": c.version ?? NSNull(),
                "core": c.chosenCore, "core_recommended": c.recommendedCore ?? NSNull(),
                "core_requested": c.requestedCore ?? NSNull(), "core_type_set_by_user": c.userSetCoreType,
                "core_corrected": c.corrected, "core_fix": BLASCoreFix.coreToApply ?? NSNull(),
                "threads": c.threads, "diagnostic": c.diagnostic ?? NSNull(),
                "cpu": ["vendor": c.cpu.vendor, "family": c.cpu.family, "model": c.cpu.model, "features": c.cpu.features.names],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
