import LinearAlgebra
import NN
import Quantization
import Testing

@Suite("NF4Linear: forward and ∂X against the dense layer on the dequantized weight")
struct NF4LinearTests {
    static func quantized(rows: Int, columns: Int, double: Bool = false) throws -> NF4Matrix {
        try NF4Matrix(quantizing: NF4MatrixTests.weights(rows: rows, columns: columns), doubleQuantization: double)
    }

    /// Panels that divide `out`, that do not, of one row, and one panel for everything; odd `in`.
    @Test(arguments: [1, 4, 7, 64, 1000])
    func floatForwardAndInputGradientEqualTheDenseLayer(panelRows: Int) throws {
        let weight = try Self.quantized(rows: 30, columns: 77, double: true)
        var generator = SeededGenerator(seed: 11)
        let bias = Matrix<Float>.randomNormal(rows: 1, columns: 30, using: &generator)
        let x = Matrix<Float>.randomNormal(rows: 9, columns: 77, using: &generator)
        let g = Matrix<Float>.randomNormal(rows: 9, columns: 30, using: &generator)
        let layer = NF4Linear<Float>(weight: weight, bias: bias, panelRows: panelRows)
        let dense = Linear(weight: weight.dequantized(), bias: bias)
        let (y, yDense) = (layer.forward(x), dense.forward(x))
        #expect(GradientCheck.relativeError(y, yDense) <= 1e-6)
        #expect(GradientCheck.relativeError(layer.backward(g), dense.backward(g)) <= 1e-6)
        #expect(layer.workspaceBytes == min(panelRows, 30) * 77 * 4)
    }

    /// In Double the panels see the same dequantized values widened: equal to a Double dense layer.
    @Test func doubleLayerEqualsTheDenseLayerOnWidenedValues() throws {
        let weight = try Self.quantized(rows: 20, columns: 64)
        var generator = SeededGenerator(seed: 12)
        let x = Matrix<Double>.randomNormal(rows: 5, columns: 64, using: &generator)
        let g = Matrix<Double>.randomNormal(rows: 5, columns: 20, using: &generator)
        let layer = NF4Linear<Double>(weight: weight, panelRows: 8)
        let dense = Linear(weight: weight.dequantized().converted(to: Double.self))
        #expect(GradientCheck.relativeError(layer.forward(x), dense.forward(x)) <= 1e-14)
        #expect(GradientCheck.relativeError(layer.backward(g), dense.backward(g)) <= 1e-14)
    }

    /// The weight never trains; a trainable bias gets its column sums; finite differences agree.
    @Test func gradientCheckWithTrainableBias() throws {
        let weight = try Self.quantized(rows: 6, columns: 10)
        var generator = SeededGenerator(seed: 13)
        let bias = Matrix<Double>.randomNormal(rows: 1, columns: 6, using: &generator)
        let double = NF4Linear<Double>(weight: weight, bias: bias, panelRows: 4)
        let float = NF4Linear<Float>(weight: weight, bias: bias.converted(), panelRows: 4)
        double.bias!.isTrainable = true
        float.bias!.isTrainable = true
        #expect(double.trainableParameters().map(\.path) == ["bias"])
        let x = Matrix<Double>.randomNormal(rows: 4, columns: 10, using: &generator)
        let check = GradientCheck.worstError(of: double, input: x, forward: double.forward, backward: double.backward)
        #expect(check.error <= 1e-8, "worst: \(check.key)")
        let deviation = GradientCheck.worstFloatDeviation(
            double: double, float: float, input: x, forwardDouble: double.forward, backwardDouble: double.backward,
            forwardFloat: float.forward, backwardFloat: float.backward)
        #expect(deviation <= 1e-5)
    }

    /// A replica shares the weight and gives the same outputs from its own workspace.
    @Test func replicaAndQuantizingALinear() throws {
        var generator = SeededGenerator(seed: 14)
        let linear = Linear<Float>(inFeatures: 40, outFeatures: 12, using: &generator)
        let layer = try NF4Linear<Float>(quantizing: linear, doubleQuantization: true)
        #expect(layer.weight == (try NF4Matrix(quantizing: linear.weight.value, doubleQuantization: true)))
        #expect(layer.bias?.value == linear.bias?.value && layer.bias?.isTrainable == false)
        let x = Matrix<Float>.randomNormal(rows: 3, columns: 40, using: &generator)
        #expect(layer.replica().forward(x) == layer.forward(x))
    }
}
