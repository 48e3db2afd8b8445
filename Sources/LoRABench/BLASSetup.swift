import LinearAlgebra

/// The BLAS set-up a report states about its measurements. Built in one place, ``current(threads:)``,
/// for every report that carries it (`lora bench`, `lora demo`), and encoded flat into the
/// report's own object: `threads`, `blas` (OpenBLAS's build description), `blas_core`,
/// `blas_core_recommended` (null when there is none) and `blas_core_corrected`.
public struct BLASSetup: Codable, Sendable, Equatable {
    /// BLAS threads of the measurements.
    public var threads: Int
    /// OpenBLAS's build description.
    public var configuration: String
    /// The CPU kernel OpenBLAS selected, e.g. `Haswell`.
    public var core: String
    /// The core this CPU supports best (``BLASConfiguration/recommendedCore``), nil when none.
    public var coreRecommended: String?
    /// Whether `core` came from LoRAKit's fix (``BLASConfiguration/corrected``: `lora` restarted with it).
    public var coreCorrected: Bool

    public init(threads: Int, configuration: String, core: String, coreRecommended: String? = nil, coreCorrected: Bool = false) {
        self.threads = threads
        self.configuration = configuration
        self.core = core
        self.coreRecommended = coreRecommended
        self.coreCorrected = coreCorrected
    }

    /// This process's OpenBLAS, measuring on `threads` threads (nil: the current count).
    public static func current(threads: Int? = nil) -> BLASSetup {
        let blas = BLAS.configuration
        return BLASSetup(
            threads: threads ?? blas.threads, configuration: blas.buildDescription, core: blas.chosenCore,
            coreRecommended: blas.recommendedCore, coreCorrected: blas.corrected)
    }

    /// `recommended Cooperlake, corrected: yes`.
    public var coreChoice: String {
        "recommended \(coreRecommended ?? "none"), corrected: \(coreCorrected ? "yes" : "no")"
    }

    /// `Haswell, 2 BLAS threads`.
    public var coreAndThreads: String {
        "\(core), \(threads) BLAS thread\(threads == 1 ? "" : "s")"
    }

    enum CodingKeys: String, CodingKey {
        case threads, configuration = "blas", core = "blas_core"
        case coreRecommended = "blas_core_recommended", coreCorrected = "blas_core_corrected"
    }

    /// Every key always, `blas_core_recommended` as null when there is none.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(threads, forKey: .threads)
        try container.encode(configuration, forKey: .configuration)
        try container.encode(core, forKey: .core)
        try container.encode(coreRecommended, forKey: .coreRecommended)
        try container.encode(coreCorrected, forKey: .coreCorrected)
    }
}
