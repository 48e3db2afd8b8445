import LinearAlgebra

/// A fully connected layer `Y = X·Wᵀ + b` (PyTorch's `nn.Linear`).
///
/// Shapes: `X: n×in`, `W: out×in`, `b: 1×out`, `Y: n×out`. Backward:
/// `∂L/∂X = ∂L/∂Y·W`, `∂L/∂W += (∂L/∂Y)ᵀ·X`, `∂L/∂b += Σᵢ (∂L/∂Y)ᵢ`, each a single GEMM (or a
/// column sum); gradients are computed only for trainable parameters.
public final class Linear<Scalar: MatrixScalar>: LinearLayer {
    /// The weight `W: out×in`.
    public let weight: Parameter<Scalar>
    /// The bias `b: 1×out`, if the layer has one.
    public let bias: Parameter<Scalar>?
    private var input: Matrix<Scalar>?

    /// A layer with the given weight `W: out×in` and optional bias `b: 1×out`, all trainable.
    public convenience init(weight: Matrix<Scalar>, bias: Matrix<Scalar>? = nil) {
        if let bias {
            precondition(bias.rows == 1 && bias.columns == weight.rows,
                         "Linear: bias \(bias.shapeDescription) does not fit W \(weight.shapeDescription)")
        }
        self.init(weight: Parameter(weight), bias: bias.map { Parameter($0) })
    }

    private init(weight: Parameter<Scalar>, bias: Parameter<Scalar>?) {
        self.weight = weight
        self.bias = bias
    }

    /// A layer initialised as PyTorch's `nn.Linear`: `W` and `b` uniform on `[−1/√in, 1/√in]`.
    public convenience init(
        inFeatures: Int, outFeatures: Int, bias: Bool = true,
        using generator: inout some RandomNumberGenerator
    ) {
        let weight = Matrix<Scalar>.kaimingUniform(rows: outFeatures, columns: inFeatures, using: &generator)
        let bound = 1 / Scalar(inFeatures).squareRoot()
        let biasValue = bias ? Matrix<Scalar>.random(rows: 1, columns: outFeatures, in: -bound...bound, using: &generator) : nil
        self.init(weight: weight, bias: biasValue)
    }

    public var inFeatures: Int { weight.value.columns }
    public var outFeatures: Int { weight.value.rows }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public var children: [(name: String, module: any Module<Scalar>)] { [] }

    public func replica() -> Linear {
        Linear(weight: weight.replica(), bias: bias?.replica())
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        self.input = input
        return apply(input)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        let w = weight.value
        precondition(input.columns == w.columns,
                     "Linear.forward: X \(input.shapeDescription) does not fit W \(w.shapeDescription)")
        // Starting from the bias rows with β = 1 saves a pass over Y (BLAS would zero it for β = 0).
        var output = bias.map { Matrix(rows: input.rows, repeatingRow: $0.value) } ?? .unsafeUninitialized(input.rows, w.rows)
        Matrix.gemm(input, w, transposeB: .transposed, beta: bias == nil ? 0 : 1, into: &output)
        return output
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        let w = weight.value
        let input = cachedInput(matching: outputGradient)
        accumulateParameterGradients(outputGradient, input: input)
        var inputGradient = Matrix<Scalar>.unsafeUninitialized(input.rows, w.columns)
        Matrix.gemm(outputGradient, w, into: &inputGradient)
        return inputGradient
    }

    /// `∂L/∂W += Gᵀ·X` and `∂L/∂b += Σ_rows G` for the trainable ones, without `∂L/∂X`.
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        accumulateParameterGradients(outputGradient, input: cachedInput(matching: outputGradient))
    }

    private func cachedInput(matching outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        guard let input else { preconditionFailure("Linear.backward before forward") }
        precondition(outputGradient.rows == input.rows && outputGradient.columns == outFeatures,
                     "Linear.backward: ∂L/∂Y \(outputGradient.shapeDescription), forward gave \(input.rows)×\(outFeatures)")
        return input
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>, input: Matrix<Scalar>) {
        if weight.isTrainable {
            weight.modifyGradient { Matrix.gemm(outputGradient, input, transposeA: .transposed, beta: 1, into: &$0) }
        }
        if let bias, bias.isTrainable {
            bias.modifyGradient { $0.addColumnSums(of: outputGradient) }
        }
    }
}
