import LinearAlgebra
import LoRA
import Testing

@Suite("LoRAWeights forward, merge and unmerge")
struct LoRAWeightsTests {
    func makeWeights<T: MatrixScalar>(_: T.Type, d: Int = 12, k: Int = 10, r: Int = 3) -> LoRAWeights<T> {
        var generator = SeededGenerator(seed: 17)
        return LoRAWeights(
            base: .randomNormal(rows: d, columns: k, using: &generator),
            a: .randomNormal(rows: r, columns: k, using: &generator),
            b: .randomNormal(rows: d, columns: r, using: &generator),
            scale: 2)
    }

    @Test func forwardEqualsDefinition() {
        let weights = makeWeights(Double.self)
        var generator = SeededGenerator(seed: 1)
        let x = Matrix<Double>.randomNormal(rows: 5, columns: 10, using: &generator)
        let expected = x * weights.base.transposed + 2 * (x * weights.a.transposed * weights.b.transposed)
        #expect((weights.forward(x) - expected).frobeniusNorm / expected.frobeniusNorm < 1e-13)
        #expect(weights.adapterParameterCount == 3 * (12 + 10))
    }

    @Test func mergedForwardMatchesUnmergedAndUnmergeRestores() {
        var weights = makeWeights(Float.self)
        let original = weights.base
        var generator = SeededGenerator(seed: 2)
        let x = Matrix<Float>.randomNormal(rows: 7, columns: 10, using: &generator)
        let unmerged = weights.forward(x)
        weights.merge()
        #expect(weights.isMerged)
        let merged = weights.forward(x)
        #expect((merged - unmerged).frobeniusNorm / unmerged.frobeniusNorm < 1e-5)
        weights.unmerge()
        #expect((weights.base - original).frobeniusNorm / original.frobeniusNorm < 1e-6)
    }
}
