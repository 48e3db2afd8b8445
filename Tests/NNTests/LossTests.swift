import NN
import LinearAlgebra
import Testing

@Suite("Losses: values and gradients")
struct LossTests {
    /// Central differences of `loss` at `x`, element by element.
    func numericalGradient(_ x: Matrix<Double>, _ loss: (Matrix<Double>) -> Double) -> Matrix<Double> {
        Matrix(rows: x.rows, columns: x.columns) { i, j in
            var plus = x, minus = x
            plus[i, j] += 1e-5
            minus[i, j] -= 1e-5
            return (loss(plus) - loss(minus)) / 2e-5
        }
    }

    func checkMeanSquaredErrorValue<T: MatrixScalar>(_: T.Type) {
        let y = Matrix<T>([[1, 2], [3, 4]])
        let t = Matrix<T>([[0, 2], [5, 4]])
        let (loss, gradient) = meanSquaredError(y, t)
        #expect(loss == 1.25)  // (1 + 0 + 4 + 0)/4
        #expect(gradient == Matrix<T>([[0.5, 0], [-1, 0]]))
    }

    @Test func meanSquaredErrorValue() {
        checkMeanSquaredErrorValue(Float.self)
        checkMeanSquaredErrorValue(Double.self)
    }

    func checkCrossEntropyValue<T: MatrixScalar>(_: T.Type) {
        // Uniform logits over 4 classes: L = log 4.
        let (loss, gradient) = softmaxCrossEntropy(logits: Matrix<T>.zeros(2, 4), classes: [1, 3])
        #expect(abs(loss - T.log(4)) < 1e-6)
        #expect(abs(gradient[0, 1] - (0.25 - 1) / 2) < 1e-6 && abs(gradient[0, 0] - 0.125) < 1e-6)
    }

    @Test func crossEntropyValue() {
        checkCrossEntropyValue(Float.self)
        checkCrossEntropyValue(Double.self)
    }

    @Test func gradientsMatchFiniteDifferences() {
        var generator = SeededGenerator(seed: 11)
        let y = Matrix<Double>.randomNormal(rows: 4, columns: 5, using: &generator)
        let t = Matrix<Double>.randomNormal(rows: 4, columns: 5, using: &generator)
        let mse = numericalGradient(y) { meanSquaredError($0, t).loss }
        #expect(GradientCheck.relativeError(meanSquaredError(y, t).gradient, mse) <= 1e-6)
        let classes = [0, 4, 2, 2]
        let ce = numericalGradient(y) { softmaxCrossEntropy(logits: $0, classes: classes).loss }
        #expect(GradientCheck.relativeError(softmaxCrossEntropy(logits: y, classes: classes).gradient, ce) <= 1e-6)
    }
}
