internal import CBLASLAPACK

/// Instruction-set features that decide which OpenBLAS kernels a CPU can run, as `cpuid` and
/// `xgetbv` report them. The CPU bits and the OS bits are kept apart: AVX code needs both the
/// instructions and an OS that saves the wider registers on a context switch.
public struct CPUFeatures: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// CPUID.1:ECX[28].
    public static let avx = CPUFeatures(rawValue: 1 << 0)
    /// CPUID.1:ECX[12].
    public static let fma = CPUFeatures(rawValue: 1 << 1)
    /// CPUID.(7,0):EBX[5].
    public static let avx2 = CPUFeatures(rawValue: 1 << 2)
    /// CPUID.(7,0):EBX[16].
    public static let avx512f = CPUFeatures(rawValue: 1 << 3)
    /// CPUID.(7,0):EBX[30].
    public static let avx512bw = CPUFeatures(rawValue: 1 << 4)
    /// CPUID.(7,0):EBX[17].
    public static let avx512dq = CPUFeatures(rawValue: 1 << 5)
    /// CPUID.(7,0):EBX[31].
    public static let avx512vl = CPUFeatures(rawValue: 1 << 6)
    /// CPUID.(7,1):EAX[5].
    public static let avx512bf16 = CPUFeatures(rawValue: 1 << 7)
    /// The OS saves the SSE and AVX (ymm) state: XCR0 bits 1 and 2.
    public static let osAVXState = CPUFeatures(rawValue: 1 << 8)
    /// The OS saves the AVX-512 state (opmask, upper zmm, zmm16–31): XCR0 bits 5, 6 and 7.
    public static let osAVX512State = CPUFeatures(rawValue: 1 << 9)

    /// AVX2 and FMA, usable (the OS saves the ymm state): what OpenBLAS's Haswell and Zen kernels need.
    public var usableAVX2: Bool { isSuperset(of: [.avx, .avx2, .fma, .osAVXState]) }
    /// AVX-512 F/BW/DQ/VL, usable (the OS saves the zmm state): what the SkylakeX kernels need.
    public var usableAVX512: Bool {
        usableAVX2 && isSuperset(of: [.avx512f, .avx512bw, .avx512dq, .avx512vl, .osAVX512State])
    }
    /// AVX-512 with AVX512_BF16, usable: what the Cooperlake kernels need.
    public var usableAVX512BF16: Bool { usableAVX512 && contains(.avx512bf16) }

    /// The names of the features present, in a fixed order, e.g. `["AVX", "FMA", "AVX2", "OS-AVX"]`.
    public var names: [String] {
        let all: [(CPUFeatures, String)] = [
            (.avx, "AVX"), (.fma, "FMA"), (.avx2, "AVX2"), (.avx512f, "AVX512F"), (.avx512bw, "AVX512BW"),
            (.avx512dq, "AVX512DQ"), (.avx512vl, "AVX512VL"), (.avx512bf16, "AVX512_BF16"),
            (.osAVXState, "OS-AVX"), (.osAVX512State, "OS-AVX512"),
        ]
        return all.filter { contains($0.0) }.map(\.1)
    }
}

/// The CPU this process runs on, as far as choosing BLAS kernels goes.
public struct CPUDescription: Sendable, Equatable, Codable {
    /// The cpuid vendor string, e.g. `"GenuineIntel"`, `"AuthenticAMD"`, `"HygonGenuine"`;
    /// empty where there is no cpuid (not x86-64).
    public var vendor: String
    /// The display family (base family, plus the extended family when the base is 15).
    public var family: Int
    /// The display model (base model, plus the extended model × 16 for families 6 and 15).
    public var model: Int
    public var features: CPUFeatures

    public init(vendor: String, family: Int, model: Int, features: CPUFeatures) {
        self.vendor = vendor
        self.family = family
        self.model = model
        self.features = features
    }

    /// Intel, AMD or Hygon (AMD's Zen licensee, which OpenBLAS treats as AMD), or neither.
    public enum Vendor: String, Sendable { case intel, amd, hygon, other }

    public var vendorKind: Vendor {
        switch vendor {
        case "GenuineIntel": .intel
        case "AuthenticAMD": .amd
        case "HygonGenuine": .hygon
        default: .other
        }
    }

    /// E.g. `"GenuineIntel family 6 model 207 (AVX FMA AVX2 AVX512F … OS-AVX512)"`.
    public var summary: String {
        guard !vendor.isEmpty else { return "no x86-64 cpuid" }
        return "\(vendor) family \(family) model \(model) (\(features.names.joined(separator: " ")))"
    }

    /// The CPU this process runs on (read once: the answer cannot change).
    public static let current: CPUDescription = {
        var regs: [[UInt32]] = []
        for (leaf, subleaf) in [(0, 0), (1, 0), (7, 0), (7, 1)] as [(UInt32, UInt32)] {
            var r = [UInt32](repeating: 0, count: 4)
            let ok = r.withUnsafeMutableBufferPointer { lorakit_cpuid(leaf, subleaf, $0.baseAddress!) }
            regs.append(ok != 0 ? r : [0, 0, 0, 0])
        }
        return decode(leaf0: regs[0], leaf1: regs[1], leaf7: regs[2], leaf7Subleaf1: regs[3], xcr0: lorakit_xgetbv0())
    }()

    /// Decodes cpuid leaves 0, 1, (7,0) and (7,1) — each `[eax, ebx, ecx, edx]`, zeros where
    /// the CPU lacks the leaf — and XCR0 (0 when the OS has not enabled XSAVE).
    static func decode(
        leaf0: [UInt32], leaf1: [UInt32], leaf7: [UInt32], leaf7Subleaf1: [UInt32], xcr0: UInt64
    ) -> CPUDescription {
        let maxLeaf = leaf0[0]
        guard maxLeaf >= 1 else { return CPUDescription(vendor: "", family: 0, model: 0, features: []) }
        var vendorBytes: [UInt8] = []
        for register in [leaf0[1], leaf0[3], leaf0[2]] {  // ebx, edx, ecx
            for shift in stride(from: 0, to: 32, by: 8) { vendorBytes.append(UInt8(truncatingIfNeeded: register >> UInt32(shift))) }
        }
        let vendor = String(decoding: vendorBytes.prefix { $0 != 0 }, as: UTF8.self)

        let eax = leaf1[0]
        let baseFamily = Int((eax >> 8) & 0xF), baseModel = Int((eax >> 4) & 0xF)
        let extendedFamily = Int((eax >> 20) & 0xFF), extendedModel = Int((eax >> 16) & 0xF)
        let family = baseFamily == 0xF ? baseFamily + extendedFamily : baseFamily
        let model = baseFamily == 0x6 || baseFamily == 0xF ? baseModel + extendedModel << 4 : baseModel

        func bit(_ register: UInt32, _ index: UInt32) -> Bool { register & (1 << index) != 0 }
        var features: CPUFeatures = []
        let ecx1 = leaf1[2]
        if bit(ecx1, 28) { features.insert(.avx) }
        if bit(ecx1, 12) { features.insert(.fma) }
        if maxLeaf >= 7 {
            let ebx7 = leaf7[1]
            if bit(ebx7, 5) { features.insert(.avx2) }
            if bit(ebx7, 16) { features.insert(.avx512f) }
            if bit(ebx7, 17) { features.insert(.avx512dq) }
            if bit(ebx7, 30) { features.insert(.avx512bw) }
            if bit(ebx7, 31) { features.insert(.avx512vl) }
            // Subleaf 1 exists when (7,0).EAX, the highest subleaf, is at least 1.
            if leaf7[0] >= 1 && bit(leaf7Subleaf1[0], 5) { features.insert(.avx512bf16) }
        }
        if bit(ecx1, 27) {  // OSXSAVE: XCR0 is meaningful
            if xcr0 & 0x6 == 0x6 { features.insert(.osAVXState) }
            if xcr0 & 0xE6 == 0xE6 { features.insert(.osAVX512State) }
        }
        return CPUDescription(vendor: vendor, family: family, model: model, features: features)
    }
}
