import LinearAlgebra

/// The BLAS set-up a report states about its measurements. Built in one place, ``current(threads:)``,
/// for every report that carries it (`lora bench`, `lora demo`), and encoded flat into the
/// report's own object: `threads`, `blas` (OpenBLAS's build description) and `blas_core`.
public struct BLASSetup: Codable, Sendable, Equatable {
    /// BLAS threads of the measurements.
    public var threads: Int
    /// OpenBLAS's build description.
    public var configuration: String
    /// The CPU kernel OpenBLAS selected, e.g. `Haswell`.
    public var core: String

    public init(threads: Int, configuration: String, core: String) {
        self.threads = threads
        self.configuration = configuration
        self.core = core
    }

    /// This process's OpenBLAS, measuring on `threads` threads (nil: the current count).
    public static func current(threads: Int? = nil) -> BLASSetup {
        BLASSetup(threads: threads ?? BLAS.threadCount, configuration: BLAS.buildDescription, core: BLAS.coreName)
    }

    /// `Haswell, 2 BLAS threads`.
    public var coreAndThreads: String {
        "\(core), \(threads) BLAS thread\(threads == 1 ? "" : "s")"
    }

    enum CodingKeys: String, CodingKey {
        case threads, configuration = "blas", core = "blas_core"
    }
}
