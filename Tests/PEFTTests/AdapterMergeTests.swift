import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
import PEFT
import TensorFormats
import Testing

@Suite("merging an adapter into a base model")
struct AdapterMergeTests {
    @Test("PEFT fixture: W' matches numpy's W + s·B·A to 1e-6 relative in F32; other tensors unchanged; certified ≤ 0.5 ulp")
    func mergesPEFTFixture() throws {
        let base = try SafetensorsFile(contentsOf: peftFixture("base_model.safetensors"))
        let reference = try SafetensorsFile(contentsOf: peftFixture("merged_reference.safetensors"))
        let adapter = try PEFTAdapter<Double>.read(from: peftFixture("adapter")).adapter
        let (writer, reports) = try AdapterMerge.merge(base: base, adapter: adapter)
        let merged = try SafetensorsFile(data: writer.encoded(), path: "merged")
        #expect(merged.tensorNames == base.tensorNames)
        #expect(merged.metadata == base.metadata)
        #expect(reports.map(\.key) == reference.tensorNames)
        for report in reports {
            let expected = try reference.matrix(report.key, as: Double.self)
            let stored = try merged.matrix(report.key, as: Double.self)
            #expect((stored - expected).frobeniusNorm / expected.frobeniusNorm <= 1e-6, "\(report.key)")
            #expect(try merged.info(report.key).dtype == .float32)
            #expect(report.worstErrorULPs <= 0.5 + 1e-9 && report.relativeRoundingError <= 0x1p-24)
            #expect(abs(report.roundingError - (stored - expected).frobeniusNorm) <= 1e-12)
            #expect(report.relativeChange > 0 && report.swallowedFraction == 0)
        }
        for name in base.tensorNames where !reports.contains(where: { $0.key == name }) {
            #expect(try merged.rawBytes(name) == base.rawBytes(name), "\(name)")
        }
    }

    @Test("W' = W + x·s·B·A against a naive loop, stored in the base's dtype, for F16, BF16, F32, F64 bases")
    func mergeMatchesNaiveLoop() throws {
        var generator = SeededGenerator(seed: 41)
        let a = Matrix<Double>.randomNormal(rows: 3, columns: 7, using: &generator)
        let b = Matrix<Double>.randomNormal(rows: 5, columns: 3, using: &generator)
        let w = Matrix<Double>.randomNormal(rows: 5, columns: 7, using: &generator)
        let configuration = LoRAConfiguration(rank: 3, alpha: 1.5, targetModules: .names(["proj"]))
        let adapter = PEFTAdapter(configuration: configuration, modules: ["layer.proj": .init(a: a, b: b)])
        for dtype in [TensorDType.float16, .bfloat16, .float32, .float64] {
            let storedW = dtype.rounded(w)
            let base = try safetensorsFile(["layer.proj.weight": storedW], dtype: dtype, path: "base")
            let (writer, reports) = try AdapterMerge.merge(base: base, adapter: adapter, scale: 0.25)
            let merged = try SafetensorsFile(data: writer.encoded(), path: "merged")
            let expected = naiveMerge(storedW, b, a, scale: 0.25 * 0.5)
            #expect(try merged.info("layer.proj.weight").dtype == dtype)
            #expect(try merged.matrix("layer.proj.weight", as: Double.self).maxAbsoluteDifference(dtype.rounded(expected))
                    <= (dtype == .float64 ? 1e-14 : 0), "\(dtype)")
            #expect(reports[0].worstErrorULPs <= 0.5 + 1e-9, "\(dtype)")
        }
    }

    @Test("a base weight with NaN or infinity is refused, naming the file and tensor")
    func refusesNonFiniteBase() throws {
        var w = Matrix<Double>.identity(3)
        w[1, 2] = .nan
        let adapter = PEFTAdapter(configuration: LoRAConfiguration(rank: 1, alpha: 1, targetModules: .names(["p"])),
                                  modules: ["p": .init(a: Matrix([[1, 2, 3]]), b: Matrix([[1], [1], [1]]))])
        let base = try safetensorsFile(["p.weight": w], dtype: .float32, path: "base")
        #expect(throws: PEFTAdapterError.nonFinite(file: "base", key: "p.weight")) {
            _ = try AdapterMerge.merge(base: base, adapter: adapter)
        }
    }

    @Test("tiny updates are reported as swallowed by rounding")
    func swallowedUpdates() throws {
        let w = Matrix<Double>(rows: 2, columns: 2) { _, _ in 1 }
        let adapter = PEFTAdapter(configuration: LoRAConfiguration(rank: 1, alpha: 1, targetModules: .names(["p"])),
                                  modules: ["p": .init(a: Matrix([[1e-5, 1e-2]]), b: Matrix([[1], [1]]))])
        let base = try safetensorsFile(["p.weight": w], dtype: .bfloat16, path: "base")
        let report = try AdapterMerge.merge(base: base, adapter: adapter).reports[0]
        #expect(report.swallowedFraction == 0.5)
        #expect(report.worstErrorULPs > 0 && report.worstErrorULPs <= 0.5)
    }

    @Test("fan_in_fan_out bases ([in, out]) get ΔWᵀ")
    func fanInFanOut() throws {
        var generator = SeededGenerator(seed: 42)
        let a = Matrix<Double>.randomNormal(rows: 2, columns: 4, using: &generator)
        let b = Matrix<Double>.randomNormal(rows: 3, columns: 2, using: &generator)
        let w = Matrix<Double>.randomNormal(rows: 4, columns: 3, using: &generator)  // stored [in, out]
        var configuration = LoRAConfiguration(rank: 2, alpha: 2, targetModules: .names(["c_attn"]))
        configuration.fanInFanOut = true
        let adapter = PEFTAdapter(configuration: configuration, modules: ["h.0.c_attn": .init(a: a, b: b)])
        let base = try safetensorsFile(["h.0.c_attn.weight": w], dtype: .float64, path: "base")
        let merged = try SafetensorsFile(data: AdapterMerge.merge(base: base, adapter: adapter).merged.encoded(), path: "m")
        let expected = naiveMerge(w.transposed, b, a, scale: 1).transposed
        #expect(try merged.matrix("h.0.c_attn.weight", as: Double.self).maxAbsoluteDifference(expected) <= 1e-14)
    }

    @Test("DoRA without magnitudes, modules_to_save and trained biases are refused, not merged wrongly")
    func refusesUnsupportedConfigurations() throws {
        let modules: [String: PEFTAdapter<Double>.Factors] = ["m.p": .init(a: .zeros(1, 3), b: .zeros(2, 1))]
        let base = try safetensorsFile(["m.p.weight": Matrix<Double>.zeros(2, 3)], dtype: .float32, path: "base")
        var dora = LoRAConfiguration(rank: 1, alpha: 1, targetModules: .names(["p"]))
        dora.useDoRA = true
        #expect(thrownError(PEFTAdapterError.self) { try AdapterMerge.merge(base: base, adapter: PEFTAdapter(configuration: dora, modules: modules)) }
                == .doraMismatch(file: "adapter", module: "m.p", useDoRA: true))
        var saved = LoRAConfiguration(rank: 1, alpha: 1, targetModules: .names(["p"]))
        saved.otherKeys["modules_to_save"] = .array([.string("lm_head")])
        saved.otherKeys["use_dora"] = .bool(false)
        guard case .unsupportedForMerge(key: "modules_to_save", _)? =
                thrownError(PEFTAdapterError.self, { try AdapterMerge.merge(base: base, adapter: PEFTAdapter(configuration: saved, modules: modules)) })
        else { Issue.record("expected modules_to_save to be refused"); return }
        let biased = LoRAConfiguration(rank: 1, alpha: 1, targetModules: .names(["p"]), bias: .loraOnly)
        #expect(thrownError(PEFTAdapterError.self) { try AdapterMerge.merge(base: base, adapter: PEFTAdapter(configuration: biased, modules: modules)) }
                == .unsupportedForMerge(key: "bias", value: "lora_only"))
    }

    @Test("an adapter that does not fit the base is refused, naming the key or both shapes")
    func refusesMismatches() throws {
        let adapter = PEFTAdapter(configuration: LoRAConfiguration(rank: 1, alpha: 1, targetModules: .names(["p"])),
                                  modules: ["m.p": .init(a: Matrix<Double>.zeros(1, 3), b: .zeros(2, 1))])
        let missing = try safetensorsFile(["other.weight": Matrix<Double>.zeros(2, 3)], dtype: .float32, path: "base.safetensors")
        #expect(thrownError(PEFTAdapterError.self) { try AdapterMerge.merge(base: missing, adapter: adapter) }
                == .missingTensor(file: "base.safetensors", key: "m.p.weight"))
        let wrongShape = try safetensorsFile(["m.p.weight": Matrix<Double>.zeros(3, 2)], dtype: .float32, path: "base.safetensors")
        let error = thrownError(PEFTAdapterError.self) { try AdapterMerge.merge(base: wrongShape, adapter: adapter) }
        #expect(error == .shapeMismatch(file: "base.safetensors", key: "m.p.weight", shape: "[3, 2]",
                                        otherKey: "base_model.model.m.p.lora_B.weight · base_model.model.m.p.lora_A.weight", otherShape: "[2, 3]"))
        #expect(error?.description.contains("[3, 2]") == true && error?.description.contains("[2, 3]") == true)
        var writer = SafetensorsWriter()
        writer.addRaw("m.p.weight", dtype: .int32, shape: [2, 3], bytes: Data(count: 24))
        let integer = try SafetensorsFile(data: writer.encoded(), path: "base.safetensors")
        #expect(thrownError(PEFTAdapterError.self) { try AdapterMerge.merge(base: integer, adapter: adapter) }
                == .unsupportedDType(file: "base.safetensors", key: "m.p.weight", dtype: "I32"))
    }
}
