import Foundation
import LinearAlgebra
@testable import NN
import Testing

/// The LLaMA building blocks against central differences (Double) and Float against Double:
/// RMSNorm, RoPE inside grouped-query causal attention, SwiGLU, the tied head's chunked
/// cross-entropy, and the embedding.
@Suite("LLaMA blocks: backward vs finite differences")
struct LlamaBlockGradientTests {
    /// 6 rows of 12 features, two sequences of 3 (attention).
    func input(columns: Int = 12, seed: UInt64 = 11) -> Matrix<Double> {
        var generator = SeededGenerator(seed: seed)
        return .randomNormal(rows: 6, columns: columns, using: &generator)
    }

    func check<D: Module<Double>, F: Module<Float>>(
        _ double: D, _ float: F, input x: Matrix<Double>,
        forwardDouble: @escaping (Matrix<Double>) -> Matrix<Double>, backwardDouble: @escaping (Matrix<Double>) -> Matrix<Double>,
        forwardFloat: @escaping (Matrix<Float>) -> Matrix<Float>, backwardFloat: @escaping (Matrix<Float>) -> Matrix<Float>
    ) {
        let check = GradientCheck.worstError(of: double, input: x, forward: forwardDouble, backward: backwardDouble)
        #expect(check.error <= 1e-6, "worst: \(check.key) \(check.error)")
        let deviation = GradientCheck.worstFloatDeviation(
            double: double, float: float, input: x, forwardDouble: forwardDouble, backwardDouble: backwardDouble,
            forwardFloat: forwardFloat, backwardFloat: backwardFloat)
        #expect(deviation <= 1e-3)
    }

    /// 13 features: the interleaved sums and their remainder.
    @Test func rmsNorm() {
        var generator = SeededGenerator(seed: 12)
        let double = RMSNorm<Double>(features: 13), float = RMSNorm<Float>(features: 13)
        double.gain.value = .randomNormal(rows: 1, columns: 13, mean: 1, standardDeviation: 0.3, using: &generator)
        check(double, float, input: input(columns: 13),
              forwardDouble: double.forward, backwardDouble: double.backward,
              forwardFloat: float.forward, backwardFloat: float.backward)
    }

    @Test func rmsNormMatchesItsFormula() {
        let norm = RMSNorm<Double>(features: 4, epsilon: 1e-5)
        norm.gain.value = Matrix([[1, 2, 3, 4]])
        let y = norm.forward(Matrix([[1, -2, 3, 0.5]]))
        let r = 1 / ((1 + 4 + 9 + 0.25) / 4 + 1e-5).squareRoot()
        #expect(y.maxAbsoluteDifference(Matrix([[r, -4 * r, 9 * r, 2 * r]])) < 1e-15)
    }

    /// Four query heads sharing two key/value heads of 4 columns, causal, with RoPE: every
    /// projection's gradient and the input's.
    @Test func groupedQueryAttentionWithRotaryEmbedding() {
        var generator = SeededGenerator(seed: 13)
        let double = GroupedQueryAttention<Double>(
            features: 12, heads: 4, keyValueHeads: 2, headSize: 4, ropeBase: 100, maximumPositions: 8, using: &generator)
        let float = GroupedQueryAttention<Float>(
            features: 12, heads: 4, keyValueHeads: 2, headSize: 4, ropeBase: 100, maximumPositions: 8, using: &generator)
        check(double, float, input: input(),
              forwardDouble: { double.forward($0, sequenceLength: 3) }, backwardDouble: double.backward,
              forwardFloat: { float.forward($0, sequenceLength: 3) }, backwardFloat: float.backward)
    }

    /// With as many key/value heads as query heads, GQA is multi-head attention: the same output
    /// as the attention with `keyValueHeads` left at its default.
    @Test func oneKeyValueHeadPerQueryHeadIsMultiHeadAttention() {
        var generator = SeededGenerator(seed: 14)
        let (q, k, v) = (input(seed: 1), input(seed: 2), input(seed: 3))
        var grouped = ScaledDotProductAttention<Double>(heads: 3, keyValueHeads: 3, isCausal: true)
        var plain = ScaledDotProductAttention<Double>(heads: 3, isCausal: true)
        let a = grouped.forward(queries: q, keys: k, values: v, sequenceLength: 3)
        let b = plain.forward(queries: q, keys: k, values: v, sequenceLength: 3)
        #expect(a == b)
        // A group of two query heads reading one key/value head equals that head repeated.
        var shared = ScaledDotProductAttention<Double>(heads: 2, keyValueHeads: 1, isCausal: true)
        var repeated = ScaledDotProductAttention<Double>(heads: 2, isCausal: true)
        let kv = Matrix<Double>.randomNormal(rows: 6, columns: 6, using: &generator)
        let twice = Matrix<Double>(rows: 6, columns: 12) { i, j in kv[i, j % 6] }
        let q2 = input(seed: 4)
        let sharedOutput = shared.forward(queries: q2, keys: kv, values: kv, sequenceLength: 3)
        let repeatedOutput = repeated.forward(queries: q2, keys: twice, values: twice, sequenceLength: 3)
        #expect(sharedOutput.maxAbsoluteDifference(repeatedOutput) < 1e-14)
    }

    /// RoPE turns each pair (i, i + e/2) by p·θᵢ, and its inverse undoes it.
    @Test func rotaryEmbeddingRotatesPairsAndInverts() {
        let rope = RotaryEmbedding<Double>(headSize: 4, base: 100, maximumPositions: 4)
        var x = Matrix<Double>([[1, 2, 3, 4], [1, 2, 3, 4]])
        let original = x
        rope.apply(to: &x, heads: 1, positions: { $0 + 1 })
        let (t0, t1) = (1.0, 1 / 10.0)  // θᵢ = 100^(−2i/4) at position 1
        let expected0 = [1 * cos(t0) - 3 * sin(t0), 2 * cos(t1) - 4 * sin(t1), 3 * cos(t0) + 1 * sin(t0), 4 * cos(t1) + 2 * sin(t1)]
        for j in 0..<4 { #expect(abs(x[0, j] - expected0[j]) < 1e-14) }
        rope.apply(to: &x, heads: 1, positions: { $0 + 1 }, inverse: true)
        #expect(x.maxAbsoluteDifference(original) < 1e-14)
    }

    @Test func swiGLU() {
        var generator = SeededGenerator(seed: 15)
        let double = SwiGLU<Double>(features: 12, hiddenFeatures: 10, using: &generator)
        let float = SwiGLU<Float>(features: 12, hiddenFeatures: 10, using: &generator)
        check(double, float, input: input(),
              forwardDouble: double.forward, backwardDouble: double.backward,
              forwardFloat: float.forward, backwardFloat: float.backward)
    }

    /// The Float SiLU kernel (as the layer runs it, and every build that runs here) against
    /// Double's formula.
    @Test func floatSiLUMatchesDouble() {
        let count = 20_001
        let xs = (0..<count).map { -30 + 60 * Float($0) / Float(count - 1) }
        let layer = SwiGLU<Float>(
            gate: Linear(weight: .identity(1)), up: Linear(weight: .identity(1)), down: Linear(weight: .identity(1)))
        for (index, x) in xs.enumerated() where index.isMultiple(of: 97) {
            let v = Double(x), sigma = 1 / (1 + Foundation.exp(-v))
            // SwiGLU with identity projections and x = 1 on the up path: y = SiLU(x)·x.
            let y = Double(layer.forward(Matrix([[x]]))[0, 0])
            #expect(abs(y - v * sigma * v) <= 1e-6 * max(1, v * v), "x = \(x)")
        }
        for build in FloatKernelBuild.allCases where build.isSupported {
            let kernel = floatSiLU(xs, build: build)
            for (i, x) in xs.enumerated() {
                let v = Double(x), sigma = 1 / (1 + Foundation.exp(-v))
                #expect(abs(Double(kernel.values[i]) - v * sigma) <= 4e-7 * max(1, abs(v)), "\(build)")
                #expect(abs(Double(kernel.slopes[i]) - sigma * (1 + v * (1 - sigma))) <= 1e-6, "\(build)")  // a few ulp of a slope up to 1.1
            }
        }
    }

    /// The tied head's cross-entropy, computed in chunks of 2 rows with one unscored row, against
    /// the unchunked softmax cross-entropy of the full logits; its input gradient by central
    /// differences.
    @Test func projectedCrossEntropyMatchesTheFullLogits() {
        var generator = SeededGenerator(seed: 16)
        let hidden = Matrix<Double>.randomNormal(rows: 5, columns: 4, using: &generator)
        let table = Matrix<Double>.randomNormal(rows: 7, columns: 4, using: &generator)
        let targets = [3, -1, 0, 6, 2]
        let result = projectedCrossEntropy(hidden: hidden, weight: table, targets: targets, rowsPerChunk: 2, computingGradient: true)
        let scoredRows = [0, 2, 3, 4]
        let logits = Matrix(scoredRows.map { hidden.row($0) }) * table.transposed
        let reference = softmaxCrossEntropy(logits: logits, classes: scoredRows.map { targets[$0] })
        #expect(result.scored == 4)
        #expect(abs(result.meanNegativeLogLikelihood - reference.loss) < 1e-13)
        let gradient = try! #require(result.hiddenGradient)
        #expect(gradient.row(1) == [0, 0, 0, 0])
        let step = 1e-6
        for i in 0..<5 {
            for j in 0..<4 {
                var plus = hidden, minus = hidden
                plus[i, j] += step
                minus[i, j] -= step
                let lossPlus = projectedCrossEntropy(hidden: plus, weight: table, targets: targets, computingGradient: false)
                let lossMinus = projectedCrossEntropy(hidden: minus, weight: table, targets: targets, computingGradient: false)
                let numerical = (lossPlus.meanNegativeLogLikelihood - lossMinus.meanNegativeLogLikelihood) / (2 * step)
                #expect(abs(gradient[i, j] - numerical) < 1e-7, "∂L/∂H[\(i), \(j)]")
            }
        }
    }

    @Test func embeddingLooksUpRowsAndAccumulatesTheirGradients() {
        let table = Matrix<Double>(rows: 4, columns: 3) { i, j in Double(10 * i + j) }
        let embedding = Embedding(weight: Parameter(table))
        let y = embedding.forward([2, 0, 2])
        #expect(y == Matrix([table.row(2), table.row(0), table.row(2)]))
        embedding.backward(Matrix(rows: 3, columns: 3, repeating: 1))
        let gradient = try! #require(embedding.weight.gradient)
        #expect(gradient == Matrix([[1, 1, 1], [0, 0, 0], [2, 2, 2], [0, 0, 0]]))
    }
}
