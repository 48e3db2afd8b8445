import NN
import LinearAlgebra
import Testing

/// Finite-difference checks of every layer's backward pass (Double, relative error ≤ 1e-6) and
/// agreement of the Float backward pass with the Double one (≤ 1e-3).
@Suite("Layer gradients: backward vs finite differences")
struct GradientCheckTests {
    static let tokens = 6
    static let features = 8

    func input(columns: Int = features, seed: UInt64 = 5) -> Matrix<Double> {
        var generator = SeededGenerator(seed: seed)
        return .randomNormal(rows: Self.tokens, columns: columns, using: &generator)
    }

    /// Checks a row-wise layer built by `make` in both precisions.
    func checkLayer<D: Layer<Double>, F: Layer<Float>>(
        _ double: D, _ float: F, inputColumns: Int = features
    ) {
        let x = input(columns: inputColumns)
        let check = GradientCheck.worstError(of: double, input: x, forward: double.forward, backward: double.backward)
        #expect(check.error <= 1e-6, "worst: \(check.key)")
        let deviation = GradientCheck.worstFloatDeviation(
            double: double, float: float, input: x,
            forwardDouble: double.forward, backwardDouble: double.backward,
            forwardFloat: float.forward, backwardFloat: float.backward)
        #expect(deviation <= 1e-3)
    }

    @Test func linearWithBias() {
        var generator = SeededGenerator(seed: 1)
        checkLayer(
            Linear<Double>(inFeatures: 8, outFeatures: 5, using: &generator),
            Linear<Float>(inFeatures: 8, outFeatures: 5, using: &generator))
    }

    @Test func linearWithoutBiasAndFrozenWeight() {
        var generator = SeededGenerator(seed: 2)
        let double = Linear<Double>(inFeatures: 8, outFeatures: 3, bias: false, using: &generator)
        double.weight.isTrainable = false
        let float = Linear<Float>(inFeatures: 8, outFeatures: 3, bias: false, using: &generator)
        float.weight.isTrainable = false
        checkLayer(double, float)
        #expect(double.weight.gradient == nil)
    }

    /// 13 features: the row sums' eight interleaved partial sums and their remainder loop.
    @Test func layerNorm() {
        let double = LayerNorm<Double>(features: 13)
        var generator = SeededGenerator(seed: 3)
        double.gain.value = .randomNormal(rows: 1, columns: 13, mean: 1, standardDeviation: 0.3, using: &generator)
        double.shift.value = .randomNormal(rows: 1, columns: 13, using: &generator)
        checkLayer(double, LayerNorm<Float>(features: 13), inputColumns: 13)
    }

    @Test func gelu() {
        checkLayer(GELU<Double>(), GELU<Float>())
    }

    @Test func mlp() {
        var generator = SeededGenerator(seed: 4)
        checkLayer(
            MLP<Double>(features: 8, using: &generator), MLP<Float>(features: 8, using: &generator))
    }

    func checkAttention(isCausal: Bool) {
        var generator = SeededGenerator(seed: 6)
        let double = MultiHeadSelfAttention<Double>(features: 8, heads: 2, isCausal: isCausal, using: &generator)
        let float = MultiHeadSelfAttention<Float>(features: 8, heads: 2, isCausal: isCausal, using: &generator)
        let x = input()
        let check = GradientCheck.worstError(
            of: double, input: x, forward: { double.forward($0, sequenceLength: 3) }, backward: double.backward)
        #expect(check.error <= 1e-6, "worst: \(check.key)")
        let deviation = GradientCheck.worstFloatDeviation(
            double: double, float: float, input: x,
            forwardDouble: { double.forward($0, sequenceLength: 3) }, backwardDouble: double.backward,
            forwardFloat: { float.forward($0, sequenceLength: 3) }, backwardFloat: float.backward)
        #expect(deviation <= 1e-3)
    }

    @Test func attention() { checkAttention(isCausal: false) }

    @Test func causalAttention() { checkAttention(isCausal: true) }

    @Test func transformerStackOfTwoBlocks() {
        var generator = SeededGenerator(seed: 7)
        let double = TransformerStack<Double>(depth: 2, features: 8, heads: 2, using: &generator)
        let float = TransformerStack<Float>(depth: 2, features: 8, heads: 2, using: &generator)
        // Non-trivial norms, so their gradients are exercised too.
        for (_, block) in double.blocks.enumerated() {
            for norm in [block.norm1, block.norm2] {
                norm.gain.value = .randomNormal(rows: 1, columns: 8, mean: 1, standardDeviation: 0.2, using: &generator)
                norm.shift.value = .randomNormal(rows: 1, columns: 8, standardDeviation: 0.2, using: &generator)
            }
        }
        let x = input()
        let check = GradientCheck.worstError(
            of: double, input: x, forward: { double.forward($0, sequenceLength: 3) }, backward: double.backward)
        #expect(check.error <= 1e-6, "worst: \(check.key)")
        let deviation = GradientCheck.worstFloatDeviation(
            double: double, float: float, input: x,
            forwardDouble: { double.forward($0, sequenceLength: 3) }, backwardDouble: double.backward,
            forwardFloat: { float.forward($0, sequenceLength: 3) }, backwardFloat: float.backward)
        #expect(deviation <= 1e-3)
    }
}
