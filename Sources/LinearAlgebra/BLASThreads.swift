internal import CBLASLAPACK

/// The OpenBLAS library LoRAKit links: its threads and build configuration.
public enum BLAS {
    /// Threads OpenBLAS uses for one call. Setting it takes effect for the next call
    /// (unlike `OPENBLAS_NUM_THREADS`, which is read only when the library loads).
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            precondition(newValue >= 1, "BLAS.threadCount must be at least 1, got \(newValue)")
            openblas_set_num_threads(Int32(newValue))
        }
    }

    /// OpenBLAS's build description, e.g. `"OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64"`
    /// (``configuration`` has it with the core choice and the CPU).
    public static var buildDescription: String { String(cString: openblas_get_config()) }

    /// The CPU kernel OpenBLAS selected at load time, e.g. `"Zen"`.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// Runs `body` with `threads` BLAS threads, then restores the previous count. Changes
    /// nothing when the count is already `threads`, so threads that all ask for the count in
    /// force (one, in data-parallel training) never write the process-wide setting at once.
    public static func withThreadCount<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        let previous = threadCount
        guard previous != threads else { return try body() }
        threadCount = threads
        defer { threadCount = previous }
        return try body()
    }
}
