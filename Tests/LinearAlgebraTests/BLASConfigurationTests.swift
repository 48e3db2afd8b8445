import Foundation
@testable import LinearAlgebra
import Testing

/// The core ranking and the CPU → core mapping on synthetic CPUs, the cpuid decoding, and the
/// diagnostic and fix decision of ``BLASConfiguration``.
@Suite("BLAS core choice")
struct BLASConfigurationTests {
    static let avx2Class: CPUFeatures = [.avx, .fma, .avx2, .osAVXState]
    static let avx512Class: CPUFeatures = avx2Class.union([.avx512f, .avx512bw, .avx512dq, .avx512vl, .osAVX512State])
    static let bf16Class: CPUFeatures = avx512Class.union(.avx512bf16)

    static func intel(_ features: CPUFeatures, model: Int = 207) -> CPUDescription {
        CPUDescription(vendor: "GenuineIntel", family: 6, model: model, features: features)
    }

    static func amd(_ features: CPUFeatures, family: Int = 25, model: Int = 17) -> CPUDescription {
        CPUDescription(vendor: "AuthenticAMD", family: family, model: model, features: features)
    }

    @Test("Intel: Cooperlake with BF16, SkylakeX with AVX-512, Haswell with AVX2+FMA, none below")
    func intelMapping() {
        #expect(BLAS.recommendedCore(for: Self.intel(Self.bf16Class)) == "Cooperlake")
        #expect(BLAS.recommendedCore(for: Self.intel(Self.avx512Class, model: 85)) == "SkylakeX")
        #expect(BLAS.recommendedCore(for: Self.intel(Self.avx2Class, model: 63)) == "Haswell")
        #expect(BLAS.recommendedCore(for: Self.intel([.avx, .osAVXState], model: 42)) == nil)  // Sandy Bridge: no AVX2
        #expect(BLAS.recommendedCore(for: Self.intel([], model: 15)) == nil)
    }

    @Test("AMD and Hygon: Zen with AVX2+FMA; a Zen 4 with BF16 gets Cooperlake, as OpenBLAS 0.3.21 picks itself")
    func amdMapping() {
        #expect(BLAS.recommendedCore(for: Self.amd(Self.avx2Class, family: 23, model: 49)) == "Zen")
        #expect(BLAS.recommendedCore(for: Self.amd(Self.avx2Class, family: 25, model: 33)) == "Zen")  // Zen 3
        #expect(BLAS.recommendedCore(for: Self.amd(Self.bf16Class)) == "Cooperlake")  // Zen 4
        #expect(BLAS.recommendedCore(for: Self.amd([.avx, .osAVXState], family: 21, model: 2)) == nil)  // Piledriver
        let hygon = CPUDescription(vendor: "HygonGenuine", family: 24, model: 0, features: Self.avx2Class)
        #expect(BLAS.recommendedCore(for: hygon) == "Zen")
        // A Zen 4 running Cooperlake by OpenBLAS's own choice: nothing to flag.
        let zen4 = BLASConfiguration(
            buildDescription: "OpenBLAS 0.3.21 DYNAMIC_ARCH", chosenCore: "Cooperlake",
            recommendedCore: BLAS.recommendedCore(for: Self.amd(Self.bf16Class)), requestedCore: nil,
            corrected: false, threads: 2, cpu: Self.amd(Self.bf16Class))
        #expect(zen4.diagnostic == nil && zen4.coreFix(environment: [:]) == nil)
    }

    @Test("the instructions without the OS saving their registers do not count; other vendors get nothing")
    func osStateAndVendors() {
        #expect(BLAS.recommendedCore(for: Self.intel(Self.bf16Class.subtracting(.osAVX512State))) == "Haswell")
        #expect(BLAS.recommendedCore(for: Self.intel(Self.bf16Class.subtracting(.osAVXState))) == nil)
        #expect(BLAS.recommendedCore(for: Self.intel(Self.avx2Class.subtracting(.fma))) == nil)
        #expect(BLAS.recommendedCore(for: Self.intel(Self.avx512Class.subtracting(.avx512bw))) == "Haswell")
        let other = CPUDescription(vendor: "CentaurHauls", family: 7, model: 59, features: Self.avx512Class)
        #expect(BLAS.recommendedCore(for: other) == nil)
        #expect(BLAS.recommendedCore(for: CPUDescription(vendor: "", family: 0, model: 0, features: [])) == nil)
    }

    @Test("ranking: Prescott < Sandybridge < Haswell = Zen < SkylakeX < Cooperlake; unknown names never worse")
    func ranking() {
        let order = ["Prescott", "Sandybridge", "Haswell", "SkylakeX", "Cooperlake"]
        for (i, lower) in order.enumerated() {
            for higher in order[(i + 1)...] {
                #expect(BLAS.isCore(lower, worseThan: higher), "\(lower) < \(higher)")
                #expect(!BLAS.isCore(higher, worseThan: lower), "\(higher) ≥ \(lower)")
            }
            #expect(!BLAS.isCore(lower, worseThan: lower))
        }
        #expect(!BLAS.isCore("Zen", worseThan: "Haswell") && !BLAS.isCore("Haswell", worseThan: "Zen"))
        #expect(BLAS.isCore("Nehalem", worseThan: "Zen") && BLAS.isCore("Excavator", worseThan: "Zen"))
        #expect(BLAS.isCore("prescott", worseThan: "COOPERLAKE"))
        #expect(!BLAS.isCore("FutureLake", worseThan: "Cooperlake") && !BLAS.isCore("Prescott", worseThan: "FutureLake"))
        #expect(BLASCoreTier(core: "Unknown") == .sse && BLASCoreTier(core: "SapphireRapids") == .avx512BF16)
    }

    static func configuration(chosen: String, requested: String? = nil, corrected: Bool = false,
                              cpu: CPUDescription = intel(bf16Class)) -> BLASConfiguration {
        BLASConfiguration(
            buildDescription: "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY \(chosen) MAX_THREADS=64",
            chosenCore: chosen, recommendedCore: BLAS.recommendedCore(for: cpu), requestedCore: requested,
            corrected: corrected, threads: 2, cpu: cpu)
    }

    @Test("fallback to Prescott: a diagnostic naming the fix, and the fix")
    func fallback() {
        let c = Self.configuration(chosen: "Prescott")
        #expect(c.version == "0.3.21")
        #expect(c.chosenCoreIsWorse && !c.userSetCoreType)
        #expect(c.diagnostic == "OpenBLAS chose Prescott on a CPU with AVX-512 BF16: start the process with OPENBLAS_CORETYPE=Cooperlake for the fast kernels")
        #expect(c.coreFix(environment: [:]) == "Cooperlake")
        // The guard: a process that is already a restart never restarts again.
        #expect(c.coreFix(environment: ["LORAKIT_BLAS_CORRECTED": "Cooperlake"]) == nil)
        #expect(c.coreFix(environment: ["OPENBLAS_CORETYPE": "Prescott"]) == nil)
    }

    @Test("a set OPENBLAS_CORETYPE is never overridden, and an honoured one is not flagged")
    func userValue() {
        let haswell = Self.configuration(chosen: "Haswell", requested: "Haswell")
        #expect(haswell.userSetCoreType && haswell.chosenCoreIsWorse)
        #expect(haswell.diagnostic == nil)
        #expect(haswell.coreFix(environment: ["OPENBLAS_CORETYPE": "Haswell"]) == nil)
        // Set but not honoured (say a name OpenBLAS does not know, or a fix that did not take): flagged, still not overridden.
        let ignored = Self.configuration(chosen: "Prescott", requested: "Cooperlake", corrected: true)
        #expect(!ignored.userSetCoreType)
        #expect(ignored.diagnostic?.contains("although OPENBLAS_CORETYPE=Cooperlake is set") == true)
        #expect(ignored.coreFix(environment: ["OPENBLAS_CORETYPE": "Cooperlake", "LORAKIT_BLAS_CORRECTED": "Cooperlake"]) == nil)
    }

    @Test("no diagnostic when the chosen core is as good as the recommended one, or there is none")
    func allWell() {
        #expect(Self.configuration(chosen: "Cooperlake").diagnostic == nil)
        #expect(Self.configuration(chosen: "Haswell", cpu: Self.intel(Self.avx2Class)).diagnostic == nil)
        #expect(Self.configuration(chosen: "Zen", cpu: Self.intel(Self.avx2Class)).diagnostic == nil)
        #expect(Self.configuration(chosen: "SapphireRapids").diagnostic == nil)
        let old = Self.configuration(chosen: "Prescott", cpu: Self.intel([.avx, .osAVXState], model: 42))
        #expect(old.recommendedCore == nil && old.diagnostic == nil && old.coreFix(environment: [:]) == nil)
    }

    @Test("cpuid decoding: this Xeon (family 6 model 207) and a Zen 4 (family 25 model 17)")
    func decoding() {
        let intelVendor: [UInt32] = [0x1B, 0x756E_6547, 0x6C65_746E, 0x4965_6E69]  // "GenuineIntel": ebx, ecx, edx order is ebx-edx-ecx
        let avx1ECX: UInt32 = 1 << 28 | 1 << 27 | 1 << 12  // AVX, OSXSAVE, FMA
        let leaf7: [UInt32] = [1, 1 << 5 | 1 << 16 | 1 << 17 | 1 << 30 | 1 << 31, 0, 0]
        let xeon = CPUDescription.decode(
            leaf0: intelVendor, leaf1: [0x000C_06F4, 0, avx1ECX, 0], leaf7: leaf7, leaf7Subleaf1: [1 << 5, 0, 0, 0],
            xcr0: 0xE7)
        #expect(xeon.vendor == "GenuineIntel" && xeon.family == 6 && xeon.model == 207)
        #expect(xeon.features == Self.bf16Class)
        #expect(BLAS.recommendedCore(for: xeon) == "Cooperlake")
        // The OS saving only the ymm state: AVX-512 unusable.
        let noZMM = CPUDescription.decode(
            leaf0: intelVendor, leaf1: [0x000C_06F4, 0, avx1ECX, 0], leaf7: leaf7, leaf7Subleaf1: [1 << 5, 0, 0, 0], xcr0: 0x7)
        #expect(BLAS.recommendedCore(for: noZMM) == "Haswell")
        // No OSXSAVE: XCR0 is not looked at, nothing AVX is usable.
        let noXSAVE = CPUDescription.decode(
            leaf0: intelVendor, leaf1: [0x000C_06F4, 0, 1 << 28 | 1 << 12, 0], leaf7: leaf7, leaf7Subleaf1: [1 << 5, 0, 0, 0], xcr0: 0xE7)
        #expect(BLAS.recommendedCore(for: noXSAVE) == nil)

        let amdVendor: [UInt32] = [0x10, 0x6874_7541, 0x444D_4163, 0x6974_6E65]  // "AuthenticAMD"
        let zen4 = CPUDescription.decode(
            leaf0: amdVendor, leaf1: [0x00A1_0F11, 0, avx1ECX, 0], leaf7: leaf7, leaf7Subleaf1: [1 << 5, 0, 0, 0], xcr0: 0xE7)
        #expect(zen4.vendor == "AuthenticAMD" && zen4.family == 25 && zen4.model == 17)
        #expect(BLAS.recommendedCore(for: zen4) == "Cooperlake")
        // Subleaf 1 is ignored when (7,0).EAX says there is none.
        let zen3 = CPUDescription.decode(
            leaf0: amdVendor, leaf1: [0x00A2_0F10, 0, avx1ECX, 0], leaf7: [0, 1 << 5, 0, 0], leaf7Subleaf1: [1 << 5, 0, 0, 0], xcr0: 0x7)
        #expect(zen3.family == 25 && zen3.model == 33 && BLAS.recommendedCore(for: zen3) == "Zen")
        #expect(CPUDescription.decode(leaf0: [0, 0, 0, 0], leaf1: [0, 0, 0, 0], leaf7: [0, 0, 0, 0], leaf7Subleaf1: [0, 0, 0, 0], xcr0: 0).vendor.isEmpty)
    }

    @Test("this machine: cpuid agrees with /proc/cpuinfo, and the live configuration is consistent")
    func thisMachine() throws {
        let cpu = CPUDescription.current
        let configuration = BLAS.configuration
        #expect(configuration.chosenCore == BLAS.coreName && configuration.cpu == cpu)
        #expect(configuration.threads == BLAS.threadCount && configuration.version != nil)
        #if arch(x86_64) && os(Linux)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let pairs: [(String, CPUFeatures)] = [
            ("avx", .avx), ("fma", .fma), ("avx2", .avx2), ("avx512f", .avx512f), ("avx512bw", .avx512bw),
            ("avx512dq", .avx512dq), ("avx512vl", .avx512vl), ("avx512_bf16", .avx512bf16),
        ]
        for (flag, feature) in pairs {
            // Linux lists a flag only when the kernel also enables its state.
            #expect(flags.contains(flag) == cpu.features.contains(feature), "\(flag)")
        }
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model\t") }?.split(separator: ":").last
        #expect(model.map { Int($0.trimmingCharacters(in: .whitespaces)) } == cpu.model)
        #endif
        // Run with the recommended core (scripts/test sets it): nothing to report.
        if let recommended = configuration.recommendedCore,
           ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]?.lowercased() == recommended.lowercased() {
            #expect(configuration.diagnostic == nil && BLAS.diagnostic == nil)
        }
    }
}
