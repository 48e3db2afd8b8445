import LinearAlgebra

/// The Gaussian error linear unit in its exact form (PyTorch's `nn.GELU()` default):
/// `GELU(x) = x·Φ(x)` with `Φ(x) = ½(1 + erf(x/√2))`, applied element-wise.
///
/// Backward: `GELU′(x) = Φ(x) + x·φ(x)` with `φ(x) = e^{−x²/2}/√(2π)`. The forward computes the
/// derivative alongside the value and keeps it (one buffer, reused while the shape stays), so
/// the backward is a single element-wise product. Large inputs are split across the BLAS threads.
public final class GELU<Scalar: MatrixScalar>: Layer {
    private var derivative = Matrix<Scalar>.zeros(0, 0)

    public init() {}

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }
    public var children: [(name: String, module: any Module<Scalar>)] { [] }
    public func replica() -> GELU { GELU() }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        if derivative.rows != input.rows || derivative.columns != input.columns {
            derivative = .zeros(input.rows, input.columns)
        }
        var output = Matrix<Scalar>.unsafeUninitialized(input.rows, input.columns)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                derivative.withUnsafeMutableBufferPointer { slope in
                    forEachChunk(of: x.count, minimumChunk: 1 << 14) { range in
                        computeGELU(x, values: y, slopes: slope, range: range)
                    }
                }
            }
        }
        return output
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        precondition(outputGradient.rows == derivative.rows && outputGradient.columns == derivative.columns,
                     "GELU.backward: ∂L/∂Y \(outputGradient.shapeDescription), forward gave \(derivative.shapeDescription)")
        var inputGradient = Matrix<Scalar>.unsafeUninitialized(derivative.rows, derivative.columns)
        outputGradient.withUnsafeBufferPointer { dy in
            derivative.withUnsafeBufferPointer { slope in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    for i in 0..<dx.count { dx[i] = dy[i] * slope[i] }
                }
            }
        }
        return inputGradient
    }
}
