/// OpenBLAS's x86-64 kernel sets ("cores", as `openblas_get_corename()` names them and
/// `OPENBLAS_CORETYPE` takes them), ranked by the widest vector instructions their level-3
/// kernels use. "Chosen is worse than recommended" means a lower tier; cores of one tier
/// (Haswell and Zen, say) count as equal, so OpenBLAS's own pick within a tier is never flagged.
public enum BLASCoreTier: Int, Comparable, Sendable, CaseIterable {
    /// SSE2/SSE3 kernels and older: Prescott (OpenBLAS's fallback for a CPU it does not
    /// know), Core2, Nehalem, Atom, Barcelona, Opteron, …, and "Unknown".
    case sse = 0
    /// AVX: Sandybridge, Bulldozer, Piledriver, Steamroller, Excavator.
    case avx = 1
    /// AVX2 + FMA: Haswell, Zen.
    case avx2 = 2
    /// AVX-512 F/BW/DQ/VL: SkylakeX.
    case avx512 = 3
    /// AVX-512 with BF16: Cooperlake (and SapphireRapids of later OpenBLAS releases).
    case avx512BF16 = 4

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The tier of a core name (case-insensitive), or nil for a name this table does not know
    /// (a core of a newer OpenBLAS, or another architecture's): such a core is never called worse.
    public init?(core name: String) {
        switch name.lowercased() {
        case "unknown", "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn",
             "dunnington", "nehalem", "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "bobcat":
            self = .sse
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": self = .avx
        case "haswell", "zen": self = .avx2
        case "skylakex": self = .avx512
        case "cooperlake", "sapphirerapids": self = .avx512BF16
        default: return nil
        }
    }

    /// What a CPU needs for this tier's kernels, in words, e.g. `"AVX-512 BF16"`.
    public var instructionSet: String {
        switch self {
        case .sse: "SSE3"
        case .avx: "AVX"
        case .avx2: "AVX2/FMA"
        case .avx512: "AVX-512"
        case .avx512BF16: "AVX-512 BF16"
        }
    }
}

extension BLAS {
    /// The best core OpenBLAS 0.3.21 has for `cpu`, as a value for `OPENBLAS_CORETYPE`, or nil
    /// when there is nothing to recommend (not x86-64, another vendor, or no usable AVX2/FMA,
    /// where OpenBLAS's own choice stands).
    ///
    /// - Intel: Cooperlake with usable AVX512_BF16, SkylakeX with AVX-512 F/BW/DQ/VL, Haswell
    ///   with AVX2 + FMA.
    /// - AMD and Hygon: the same, with Zen in place of Haswell. This is what OpenBLAS 0.3.21 itself
    ///   picks for family 0x19 (Zen 3/4: Cooperlake on a Zen 4 with BF16), so on AMD the
    ///   recommendation and OpenBLAS's own choice agree and no diagnostic appears.
    ///
    /// "Usable" includes the OS saving the registers (XCR0), as OpenBLAS checks too. AMX is never
    /// considered: these machines list it in cpuid but fault on it. Note that 0.3.21 does not match
    /// `OPENBLAS_CORETYPE=Cooperlake` by name (its name table stops one short); the unmatched name
    /// falls through to its feature check, which picks Cooperlake on a CPU with AVX512_BF16 —
    /// the recommended value works, and on a CPU without BF16 it degrades to SkylakeX or Haswell.
    public static func recommendedCore(for cpu: CPUDescription) -> String? {
        let f = cpu.features
        let avx2Core: String
        switch cpu.vendorKind {
        case .intel: avx2Core = "Haswell"
        case .amd, .hygon: avx2Core = "Zen"
        case .other: return nil
        }
        if f.usableAVX512BF16 { return "Cooperlake" }
        if f.usableAVX512 { return "SkylakeX" }
        if f.usableAVX2 { return avx2Core }
        return nil
    }

    /// Whether core `chosen` is in a lower tier than `recommended`. False when either name is
    /// unknown to ``BLASCoreTier`` (a newer library's core is taken to be at least as good).
    public static func isCore(_ chosen: String, worseThan recommended: String) -> Bool {
        guard let chosenTier = BLASCoreTier(core: chosen), let recommendedTier = BLASCoreTier(core: recommended) else {
            return false
        }
        return chosenTier < recommendedTier
    }
}
