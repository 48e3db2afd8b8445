import LinearAlgebra

/// The Gaussian error linear unit in its exact form (PyTorch's `nn.GELU()` default):
/// `GELU(x) = x·Φ(x)` with `Φ(x) = ½(1 + erf(x/√2))`, applied element-wise.
///
/// Backward: `GELU′(x) = Φ(x) + x·φ(x)` with `φ(x) = e^{−x²/2}/√(2π)`.
public final class GELU<Scalar: MatrixScalar>: Layer {
    private var input = Matrix<Scalar>.zeros(0, 0)

    public init() {}

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }
    public var children: [(name: String, module: any Module<Scalar>)] { [] }

    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        self.input = input
        var output = input
        let inverseSqrt2 = 1 / Scalar(2).squareRoot()
        output.withUnsafeMutableBufferPointer { y in
            for i in 0..<y.count {
                let x = y[i]
                y[i] = x * (1 + Scalar.erf(x * inverseSqrt2)) / 2
            }
        }
        return output
    }

    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        precondition(outputGradient.rows == input.rows && outputGradient.columns == input.columns,
                     "GELU.backward: ∂L/∂Y \(outputGradient.shapeDescription), forward gave \(input.shapeDescription)")
        var inputGradient = outputGradient
        let inverseSqrt2 = 1 / Scalar(2).squareRoot()
        let inverseSqrt2Pi = 1 / (2 * Scalar.pi).squareRoot()
        input.withUnsafeBufferPointer { x in
            inputGradient.withUnsafeMutableBufferPointer { dx in
                for i in 0..<dx.count {
                    let cdf = (1 + Scalar.erf(x[i] * inverseSqrt2)) / 2
                    let pdf = Scalar.exp(-x[i] * x[i] / 2) * inverseSqrt2Pi
                    dx[i] *= cdf + x[i] * pdf
                }
            }
        }
        return inputGradient
    }
}
