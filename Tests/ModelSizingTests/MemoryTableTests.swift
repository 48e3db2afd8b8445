import ModelSizing
import Testing

@Suite struct MemoryTableTests {
    /// 7B in float32: full fine-tuning takes 16 bytes a parameter (4 + 4 + 2·4) = 112 GB; LoRA at
    /// r = 16 on 10% of the weights (4096-wide matrices) adds 0.1·7e9·32/4096 = 5,468,750 parameters.
    @Test func sevenBillionFloat32() throws {
        let m = try MemoryEstimate(billions: 7, rank: 16, adaptedFraction: 0.1, assumptions: MemoryAssumptions())
        #expect(m.fullWeights == 28 && m.fullGradients == 28 && m.fullOptimizer == 56 && m.fullTotal == 112)
        #expect(m.loraParameters == 5_468_750)
        #expect(m.loraWeights == 28)
        #expect(abs(m.loraAdapters - 0.021875) <= 1e-15 && abs(m.loraGradients - 0.021875) <= 1e-15)
        #expect(abs(m.loraOptimizer - 0.04375) <= 1e-15)
        #expect(abs(m.loraTotal - 28.0875) <= 1e-12)
        #expect(abs(m.savingsRatio - 28.0875 / 112) <= 1e-15)
    }

    /// int4 weights with bfloat16 adapters (QLoRA-like): weights 0.5 byte, trainable state 2 bytes.
    @Test func int4WithBFloat16Adapters() throws {
        let assumptions = MemoryAssumptions(precision: .int4, trainablePrecision: .bfloat16, adaptedMatrixDimension: 8192)
        let m = try MemoryEstimate(billions: 70, rank: 64, adaptedFraction: 0.5, assumptions: assumptions)
        let adapters = 0.5 * 70e9 * 2 * 64 / 8192
        #expect(m.loraParameters == adapters)
        #expect(m.fullTotal == 70e9 * 0.5 * 4 / 1e9)
        #expect(m.loraWeights == 35)
        #expect(abs(m.loraTotal - (35 + adapters * 2 * 4 / 1e9)) <= 1e-12)
        #expect(WeightPrecision.allCases.map(\.bytes) == [4, 2, 2, 1, 0.5])
        #expect(assumptions.sentences.count == 5)
    }

    @Test func badInputs() {
        let a = MemoryAssumptions()
        #expect(throws: ParameterTableError.notPositive(name: "billions of parameters", value: 0)) {
            try MemoryEstimate(billions: 0, rank: 8, adaptedFraction: 0.1, assumptions: a)
        }
        #expect(throws: ParameterTableError.notPositive(name: "rank", value: -3)) {
            try MemoryEstimate(billions: 1, rank: -3, adaptedFraction: 0.1, assumptions: a)
        }
        #expect(throws: ParameterTableError.fractionOutOfRange(1.5)) {
            try MemoryEstimate(billions: 1, rank: 8, adaptedFraction: 1.5, assumptions: a)
        }
        #expect(throws: ParameterTableError.notPositive(name: "adapted matrix dimension", value: 0)) {
            try MemoryEstimate(billions: 1, rank: 8, adaptedFraction: 0.1, assumptions: MemoryAssumptions(adaptedMatrixDimension: 0))
        }
        #expect(throws: ParameterTableError.tooLarge(model: "1e+300 billion parameters")) {
            try MemoryEstimate(billions: 1e300, rank: 8, adaptedFraction: 0.1, assumptions: a)
        }
    }
}
