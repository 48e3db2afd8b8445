import Foundation
import LinearAlgebra
import LoRA
import PEFT
import TensorFormats
import Testing

@Suite("PiSSA and OLoRA: initialisation and PEFT's converted save, against PEFT 0.21.2")
struct PiSSAAdapterTests {
    let base: SafetensorsFile

    init() throws { base = try SafetensorsFile(contentsOf: variantFixture("pissa/base_model.safetensors")) }

    /// LoRAKit's initialisation of each MLP module (r = 4, s = 2) against PEFT's: `s·B·A` and the
    /// residual (sign-free for PiSSA, whose singular vectors may flip), and `A`, `B` themselves for
    /// OLoRA (Householder QR in both, so the signs agree).
    func check(_ scheme: LoRAInitialization, file: String, compareFactors: Bool) throws -> Double {
        let peft = try SafetensorsFile(contentsOf: variantFixture("pissa/\(file)"))
        var worst = 0.0
        var generator = SeededGenerator(seed: 1)
        for module in ["0", "2"] {
            let w: Matrix<Float> = try tensor(base, "\(module).weight")
            let ours = try scheme.makeWeights(base: w, rank: 4, scale: 2, using: &generator)
            let a: Matrix<Float> = try tensor(peft, "\(module).lora_A"), b: Matrix<Float> = try tensor(peft, "\(module).lora_B")
            worst = max(worst, maxAbsoluteError(ours.b * ours.a * 2, b * a * 2))
            worst = max(worst, maxAbsoluteError(ours.base, try tensor(peft, "\(module).residual", as: Float.self)))
            if compareFactors { worst = max(worst, maxAbsoluteError(ours.a, a), maxAbsoluteError(ours.b, b)) }
        }
        return worst
    }

    @Test("PiSSA and OLoRA initialise as PEFT does (s·B·A, residual; OLoRA's A and B) to 1e-5 max abs")
    func initialisationMatchesPEFT() throws {
        let pissa = try check(.pissa, file: "pissa_init.safetensors", compareFactors: false)
        let olora = try check(.olora, file: "olora_init.safetensors", compareFactors: true)
        #expect(pissa <= 1e-5 && olora <= 1e-5, "PiSSA \(pissa), OLoRA \(olora)")
    }

    @Test("the converted save: LoRAKit's conversion equals PEFT's file, and merging it into the original base equals PEFT's merge to 1e-6")
    func convertedSaveMatchesPEFT() throws {
        let converted = try PEFTAdapter<Double>.read(from: variantFixture("pissa/pissa_converted")).adapter
        #expect(converted.configuration.rank == 8 && converted.configuration.alpha == 16 && converted.configuration.initialization == .kaimingUniform)
        let reference = try SafetensorsFile(contentsOf: variantFixture("pissa/pissa_converted_merged_reference.safetensors"))
        let merged = try SafetensorsFile(data: AdapterMerge.merge(base: base, adapter: converted).merged.encoded(), path: "merged")
        let mergeError = try ["0.weight", "2.weight"].map { maxAbsoluteError(try tensor(merged, $0, as: Double.self), try tensor(reference, $0, as: Double.self)) }.max()!
        #expect(mergeError <= 1e-6, "\(mergeError)")

        let trained = try PEFTAdapter<Double>.read(from: variantFixture("pissa/pissa_trained")).adapter
        let initial = try PEFTAdapter<Double>.read(from: variantFixture("pissa/pissa_initial")).adapter
        let ours = try trained.convertedFromMutatedInitialization(initial: initial)
        #expect(ours.configuration.rank == 8 && ours.configuration.alpha == 16 && ours.configuration.initialization == .kaimingUniform)
        for path in converted.modulePaths {
            #expect(ours.modules[path]!.a == converted.modules[path]!.a && ours.modules[path]!.b == converted.modules[path]!.b, "\(path)")
        }
    }

    @Test("conversion refuses different module sets and rsLoRA with patterns, naming them")
    func conversionRefusals() throws {
        let trained = try PEFTAdapter<Double>.read(from: variantFixture("pissa/pissa_trained")).adapter
        var partial = trained
        partial.modules["2"] = nil
        #expect(throws: PEFTAdapterError.moduleSetMismatch(module: "2", presentIn: "trained", missingFrom: "initial")) {
            try trained.convertedFromMutatedInitialization(initial: partial)
        }
        var rslora = trained
        rslora.configuration.useRSLoRA = true
        rslora.configuration.rankPattern = ["2": 4]
        #expect(throws: PEFTAdapterError.unsupportedForConversion(reason: "use_rslora with rank_pattern or alpha_pattern")) {
            try rslora.convertedFromMutatedInitialization(initial: trained)
        }
    }
}
