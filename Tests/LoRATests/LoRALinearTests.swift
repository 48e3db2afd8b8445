import NN
import LinearAlgebra
import LoRA
import Testing

@Suite("LoRALinear forward, backward, merge and counts")
struct LoRALinearTests {
    /// A layer on `W: 6×5` with bias, `r = 2`, `s = 1.5`, and random `A` and `B`.
    func makeLayer<T: MatrixScalar>(_: T.Type, dropout: T = 0) -> LoRALinear<T> {
        var generator = SeededGenerator(seed: 21)
        let weights = LoRAWeights<T>(
            base: .randomNormal(rows: 6, columns: 5, using: &generator),
            a: .randomNormal(rows: 2, columns: 5, using: &generator),
            b: .randomNormal(rows: 6, columns: 2, using: &generator), scale: 1.5)
        let bias = Parameter(Matrix<T>.randomNormal(rows: 1, columns: 6, using: &generator))
        return LoRALinear(weights: weights, bias: bias, dropout: dropout)
    }

    func checkForwardDefinition<T: MatrixScalar>(_: T.Type, tolerance: T) {
        let layer = makeLayer(T.self)
        var generator = SeededGenerator(seed: 22)
        let x = Matrix<T>.randomNormal(rows: 4, columns: 5, using: &generator)
        let w = layer.weights
        var expected = x * w.base.transposed + x * w.a.transposed * w.b.transposed * 1.5
        expected.addToEachRow(layer.bias!.value)
        #expect(GradientCheck.relativeError(layer.forward(x), expected) < tolerance)
        #expect(layer.trainableParameterCount == 2 * (6 + 5))
        #expect(layer.frozenParameterCount == 6 * 5 + 6)
        #expect(layer.namedParameters().map(\.path) == ["base_layer.weight", "base_layer.bias", "lora_A.weight", "lora_B.weight"])
    }

    @Test func forwardEqualsDefinition() {
        checkForwardDefinition(Float.self, tolerance: 1e-6)
        checkForwardDefinition(Double.self, tolerance: 1e-14)
    }

    /// Gradient check of A, B, the input and (when trainable) the bias, with and without dropout
    /// (the mask is reseeded before every forward, so finite differences see the same mask).
    func checkGradients(trainBias: Bool, dropout: Double) {
        let double = makeLayer(Double.self, dropout: dropout)
        let float = makeLayer(Float.self, dropout: Float(dropout))
        double.bias!.isTrainable = trainBias
        float.bias!.isTrainable = trainBias
        #expect(double.trainableParameterCount == 2 * (6 + 5) + (trainBias ? 6 : 0))
        var generator = SeededGenerator(seed: 23)
        let x = Matrix<Double>.randomNormal(rows: 4, columns: 5, using: &generator)
        let forwardDouble = { (x: Matrix<Double>) in double.reseedDropout(9); return double.forward(x) }
        let forwardFloat = { (x: Matrix<Float>) in float.reseedDropout(9); return float.forward(x) }
        let check = GradientCheck.worstError(of: double, input: x, forward: forwardDouble, backward: double.backward)
        #expect(check.error <= 1e-6, "worst: \(check.key)")
        let deviation = GradientCheck.worstFloatDeviation(
            double: double, float: float, input: x, forwardDouble: forwardDouble, backwardDouble: double.backward,
            forwardFloat: forwardFloat, backwardFloat: float.backward)
        #expect(deviation <= 1e-3)
        #expect(double.baseWeight.gradient == nil)
    }

    @Test func gradients() {
        checkGradients(trainBias: false, dropout: 0)
        checkGradients(trainBias: true, dropout: 0)
        checkGradients(trainBias: true, dropout: 0.4)
    }

    @Test func dropoutOnlyInTraining() {
        let layer = makeLayer(Double.self, dropout: 0.5)
        var generator = SeededGenerator(seed: 24)
        let x = Matrix<Double>.randomNormal(rows: 8, columns: 5, using: &generator)
        let trainingOutput = layer.forward(x)
        layer.isTraining = false
        let evaluationOutput = layer.forward(x)
        let plain = makeLayer(Double.self).forward(x)
        #expect(evaluationOutput == plain)
        #expect(trainingOutput != plain)
    }

    @Test func mergeAndUnmergeKeepTheOutput() {
        let layer = makeLayer(Float.self)
        var generator = SeededGenerator(seed: 25)
        let x = Matrix<Float>.randomNormal(rows: 7, columns: 5, using: &generator)
        let original = layer.weights.base
        let unmerged = layer.forward(x)
        layer.merge()
        #expect(layer.isMerged)
        #expect(GradientCheck.relativeError(layer.forward(x), unmerged) <= 1e-5)
        layer.unmerge()
        #expect(!layer.isMerged)
        #expect(GradientCheck.relativeError(layer.forward(x), unmerged) <= 1e-5)
        #expect(GradientCheck.relativeError(layer.weights.base, original) <= 1e-6)
    }

    /// A replica works on the layer's weights (a merge shows in both) with its own gradients,
    /// flags and dropout masks.
    @Test func replicaSharesTheWeightsNotTheMasks() {
        let layer = makeLayer(Double.self, dropout: 0.5)
        layer.loraA.isTrainable = false
        let replica = layer.replica()
        #expect(!replica.loraA.isTrainable && replica.loraB.isTrainable && !replica.baseWeight.isTrainable)
        var generator = SeededGenerator(seed: 26)
        let x = Matrix<Double>.randomNormal(rows: 8, columns: 5, using: &generator)
        #expect(replica.forward(x) != layer.forward(x))  // other masks
        _ = replica.backward(x * layer.weights.base.transposed)
        #expect(replica.loraB.gradient != nil && layer.loraB.gradient == nil)
        layer.isTraining = false
        replica.isTraining = false
        let output = layer.forward(x)
        #expect(replica.forward(x) == output)
        layer.merge()
        #expect(replica.isMerged && replica.weights.base == layer.weights.base)
        #expect(GradientCheck.relativeError(replica.forward(x), output) <= 1e-14)
    }
}
