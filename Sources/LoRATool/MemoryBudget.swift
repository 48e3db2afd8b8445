import Foundation

/// What a command may plan to allocate, and the check that every size taken from a flag or a
/// file passes before anything is allocated: a request the process cannot hold fails in one line
/// naming the flag or file and the estimate, rather than in an allocation failure.
enum MemoryBudget {
    /// The bytes the process can hold: `LORA_MEMORY_LIMIT` when it is set (bytes, or with a K, M
    /// or G suffix, powers of 1024), else physical memory, lowered by an address-space or data
    /// limit (`ulimit -v`, `ulimit -d`) or a cgroup's `memory.max` when one is smaller.
    static let limit: (bytes: Double, source: String) = {
        if let text = ProcessInfo.processInfo.environment["LORA_MEMORY_LIMIT"], let bytes = parseByteCount(text) {
            return (bytes, "LORA_MEMORY_LIMIT")
        }
        var bytes = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        var source = "this machine's memory"
        for resource in [RLIMIT_AS, RLIMIT_DATA] {
            var limit = rlimit()
            #if os(Linux)
            let read = getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0
            #else
            let read = getrlimit(resource, &limit) == 0
            #endif
            if read && limit.rlim_cur != rlim_t.max && Double(limit.rlim_cur) < bytes {  // rlim_t.max: RLIM_INFINITY
                (bytes, source) = (Double(limit.rlim_cur), "the process's memory limit (ulimit)")
            }
        }
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let cgroup = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), cgroup < bytes {
            (bytes, source) = (cgroup, "the cgroup's memory.max")
        }
        return (bytes, source)
    }()

    /// Throws unless `bytes` fit the limit. `subject` names what asked for them (`--sizes 100000`
    /// or a file) and `advice` what to change; both appear in the one-line error.
    static func require(_ bytes: Double, for subject: String, advice: String) throws(CommandFailure) {
        guard !(bytes <= limit.bytes) else { return }
        throw CommandFailure(description: "\(subject) needs about \(describe(bytes)) of memory, more than the "
            + "\(describe(limit.bytes)) of \(limit.source); \(advice)")
    }

    /// `40.0 GB`, `512 MB`, `3 kB` (powers of 1000, as the memory table prints them).
    static func describe(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "more bytes than can be counted" }
        for (unit, scale) in [("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)] where bytes >= scale {
            return String(format: "%.1f", bytes / scale) + " " + unit
        }
        return "\(Int(bytes)) bytes"
    }

    /// `123`, `64K`, `512M`, `2G` (binary multiples); nil for anything else.
    static func parseByteCount(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let multipliers: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024]
        if let last = trimmed.last, let multiplier = multipliers[last] {
            return Double(trimmed.dropLast()).flatMap { $0 >= 0 ? $0 * multiplier : nil }
        }
        return Double(trimmed).flatMap { $0 >= 0 ? $0 : nil }
    }
}
