import LinearAlgebra

/// Layer normalisation over the features of each row (PyTorch's `nn.LayerNorm(d)`):
/// `x̂ = (x − μ)/√(σ² + ε)`, `y = γ ⊙ x̂ + β`, with the row mean `μ`, biased variance `σ²`,
/// `γ, β: 1×d` (initially 1 and 0) and `ε = 10⁻⁵`.
///
/// Backward, per row with `g = γ ⊙ ∂L/∂y` and `r = 1/√(σ² + ε)`:
/// `∂L/∂x = r·(g − mean(g) − x̂·mean(g ⊙ x̂))`, `∂L/∂γ += Σ ∂L/∂y ⊙ x̂`, `∂L/∂β += Σ ∂L/∂y`.
public final class LayerNorm<Scalar: MatrixScalar>: Layer {
    /// The gain `γ: 1×d`.
    public let gain: Parameter<Scalar>
    /// The shift `β: 1×d`.
    public let shift: Parameter<Scalar>
    /// `ε`, added to the variance.
    public let epsilon: Scalar
    private var normalized = Matrix<Scalar>.zeros(0, 0)
    private var inverseStandardDeviations: [Scalar] = []

    /// A normalisation over `features` columns with `γ = 1`, `β = 0`.
    public convenience init(features: Int, epsilon: Scalar = 1e-5) {
        self.init(gain: Parameter(Matrix(rows: 1, columns: features, repeating: 1)), shift: Parameter(.zeros(1, features)),
                  epsilon: epsilon)
    }

    private init(gain: Parameter<Scalar>, shift: Parameter<Scalar>, epsilon: Scalar) {
        self.gain = gain
        self.shift = shift
        self.epsilon = epsilon
    }

    /// The number of normalised features `d`.
    public var features: Int { gain.value.columns }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight", gain), ("bias", shift)]
    }

    public var children: [(name: String, module: any Module<Scalar>)] { [] }

    public func replica() -> LayerNorm {
        LayerNorm(gain: gain.replica(), shift: shift.replica(), epsilon: epsilon)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        let (n, d) = (input.rows, input.columns)
        precondition(d == features, "LayerNorm.forward: X \(input.shapeDescription), features \(features)")
        if normalized.rows != n || normalized.columns != d { normalized = .zeros(n, d) }
        if inverseStandardDeviations.count != n { inverseStandardDeviations = Array(repeating: 0, count: n) }
        var output = Matrix<Scalar>.unsafeUninitialized(n, d)
        let (gamma, beta, epsilon) = (gain.value, shift.value, epsilon)
        input.withUnsafeBufferPointer { x in
            gamma.withUnsafeBufferPointer { g in
                beta.withUnsafeBufferPointer { b in
                    normalized.withUnsafeMutableBufferPointer { xHat in
                        output.withUnsafeMutableBufferPointer { y in
                            inverseStandardDeviations.withUnsafeMutableBufferPointer { rstd in
                                forEachChunk(of: n, minimumChunk: 64) { rows in
                                    for i in rows {
                                        let row = i * d
                                        rstd[i] = Self.normalizeRow(
                                            x.baseAddress! + row, count: d, gain: g.baseAddress!, shift: b.baseAddress!,
                                            epsilon: epsilon, normalized: xHat.baseAddress! + row, output: y.baseAddress! + row)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        let (n, d) = (normalized.rows, normalized.columns)
        precondition(outputGradient.rows == n && outputGradient.columns == d,
                     "LayerNorm.backward: ∂L/∂Y \(outputGradient.shapeDescription), forward gave \(n)×\(d)")
        accumulateGainGradient(gain, outputGradient: outputGradient, normalized: normalized)
        if shift.isTrainable { shift.modifyGradient { $0.addColumnSums(of: outputGradient) } }
        var inputGradient = Matrix<Scalar>.unsafeUninitialized(n, d)
        let gamma = gain.value
        outputGradient.withUnsafeBufferPointer { dy in
            normalized.withUnsafeBufferPointer { xHat in
                gamma.withUnsafeBufferPointer { g in
                    inverseStandardDeviations.withUnsafeBufferPointer { rstd in
                        inputGradient.withUnsafeMutableBufferPointer { dx in
                            forEachChunk(of: n, minimumChunk: 64) { rows in
                                for i in rows {
                                    let row = i * d
                                    Self.rowInputGradient(
                                        dy.baseAddress! + row, count: d, gain: g.baseAddress!, normalized: xHat.baseAddress! + row,
                                        inverseStandardDeviation: rstd[i], into: dx.baseAddress! + row)
                                }
                            }
                        }
                    }
                }
            }
        }
        return inputGradient
    }

    /// One row: `x̂ = (x − μ)·r`, `y = γ ⊙ x̂ + β`; returns `r = 1/√(σ² + ε)`. (The rows' buffers
    /// arrive as arguments, so the compiler keeps them in registers and vectorises the loops.)
    @inline(__always)
    private static func normalizeRow(
        _ x: UnsafePointer<Scalar>, count d: Int, gain g: UnsafePointer<Scalar>, shift b: UnsafePointer<Scalar>,
        epsilon: Scalar, normalized xHat: UnsafeMutablePointer<Scalar>, output y: UnsafeMutablePointer<Scalar>
    ) -> Scalar {
        let mean = interleavedSum(d) { x[$0] } / Scalar(d)
        let squares = interleavedSum(d) { j in
            let centred = x[j] - mean
            return centred * centred
        }
        let r = 1 / (squares / Scalar(d) + epsilon).squareRoot()
        for j in 0..<d {
            let h = (x[j] - mean) * r
            xHat[j] = h
            y[j] = h * g[j] + b[j]
        }
        return r
    }

    /// One row of `∂L/∂x = r·(γ ⊙ ∂L/∂y − mean(γ ⊙ ∂L/∂y) − x̂·mean(γ ⊙ ∂L/∂y ⊙ x̂))`.
    @inline(__always)
    private static func rowInputGradient(
        _ dy: UnsafePointer<Scalar>, count d: Int, gain g: UnsafePointer<Scalar>, normalized xHat: UnsafePointer<Scalar>,
        inverseStandardDeviation r: Scalar, into dx: UnsafeMutablePointer<Scalar>
    ) {
        let meanG = interleavedSum(d) { dy[$0] * g[$0] } / Scalar(d)
        let meanGX = interleavedSum(d) { dy[$0] * g[$0] * xHat[$0] } / Scalar(d)
        for j in 0..<d { dx[j] = r * (dy[j] * g[j] - meanG - xHat[j] * meanGX) }
    }
}
