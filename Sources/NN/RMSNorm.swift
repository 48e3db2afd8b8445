import LinearAlgebra

/// Root-mean-square normalisation over the features of each row (LLaMA's `LlamaRMSNorm`):
/// `r = 1/√(mean(x²) + ε)`, `x̂ = x·r`, `y = γ ⊙ x̂`, with the gain `γ: 1×d` (initially 1).
///
/// Backward, per row with `u = γ ⊙ ∂L/∂y`: `∂L/∂x = r·(u − x̂·mean(u ⊙ x̂))`,
/// `∂L/∂γ += Σ_rows ∂L/∂y ⊙ x̂`.
public final class RMSNorm<Scalar: MatrixScalar>: Layer {
    /// The gain `γ: 1×d` (PyTorch's `weight`).
    public let gain: Parameter<Scalar>
    /// `ε`, added to the mean square.
    public let epsilon: Scalar
    private var normalized = Matrix<Scalar>.zeros(0, 0)
    private var inverseRoots: [Scalar] = []

    /// A normalisation over `features` columns with `γ = 1`.
    public convenience init(features: Int, epsilon: Scalar = 1e-5) {
        self.init(gain: Parameter(Matrix(rows: 1, columns: features, repeating: 1)), epsilon: epsilon)
    }

    /// A normalisation with the given gain `γ: 1×d`.
    public init(gain: Parameter<Scalar>, epsilon: Scalar) {
        precondition(gain.value.rows == 1, "RMSNorm: gain \(gain.value.shapeDescription) is not a row")
        self.gain = gain
        self.epsilon = epsilon
    }

    /// The number of normalised features `d`.
    public var features: Int { gain.value.columns }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [("weight", gain)] }
    public var children: [(name: String, module: any Module<Scalar>)] { [] }
    public func replica() -> RMSNorm { RMSNorm(gain: gain.replica(), epsilon: epsilon) }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        let (n, d) = (input.rows, input.columns)
        precondition(d == features, "RMSNorm.forward: X \(input.shapeDescription), features \(features)")
        if normalized.rows != n || normalized.columns != d { normalized = .zeros(n, d) }
        if inverseRoots.count != n { inverseRoots = Array(repeating: 0, count: n) }
        var output = Matrix<Scalar>.unsafeUninitialized(n, d)
        let (gamma, epsilon) = (gain.value, epsilon)
        input.withUnsafeBufferPointer { x in
            gamma.withUnsafeBufferPointer { g in
                normalized.withUnsafeMutableBufferPointer { xHat in
                    output.withUnsafeMutableBufferPointer { y in
                        inverseRoots.withUnsafeMutableBufferPointer { roots in
                            forEachChunk(of: n, minimumChunk: 64) { rows in
                                for i in rows {
                                    roots[i] = Self.normalizeRow(
                                        x.baseAddress! + i * d, count: d, gain: g.baseAddress!, epsilon: epsilon,
                                        normalized: xHat.baseAddress! + i * d, output: y.baseAddress! + i * d)
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `Y` as ``forward(_:)`` computes it, keeping nothing for a backward pass (inference).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        let (n, d) = (input.rows, input.columns)
        precondition(d == features, "RMSNorm.apply: X \(input.shapeDescription), features \(features)")
        var output = Matrix<Scalar>.unsafeUninitialized(n, d)
        let (gamma, epsilon) = (gain.value, epsilon)
        input.withUnsafeBufferPointer { x in
            gamma.withUnsafeBufferPointer { g in
                output.withUnsafeMutableBufferPointer { y in
                    forEachChunk(of: n, minimumChunk: 64) { rows in
                        for i in rows {
                            // x̂ is written to y first, then scaled in place.
                            let row = y.baseAddress! + i * d
                            _ = Self.normalizeRow(x.baseAddress! + i * d, count: d, gain: g.baseAddress!, epsilon: epsilon, normalized: row, output: row)
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
                     "RMSNorm.backward: ∂L/∂Y \(outputGradient.shapeDescription), forward gave \(n)×\(d)")
        accumulateGainGradient(gain, outputGradient: outputGradient, normalized: normalized)
        var inputGradient = Matrix<Scalar>.unsafeUninitialized(n, d)
        let gamma = gain.value
        outputGradient.withUnsafeBufferPointer { dy in
            normalized.withUnsafeBufferPointer { xHat in
                gamma.withUnsafeBufferPointer { g in
                    inverseRoots.withUnsafeBufferPointer { roots in
                        inputGradient.withUnsafeMutableBufferPointer { dx in
                            forEachChunk(of: n, minimumChunk: 64) { rows in
                                for i in rows {
                                    Self.rowInputGradient(
                                        dy.baseAddress! + i * d, count: d, gain: g.baseAddress!,
                                        normalized: xHat.baseAddress! + i * d, inverseRoot: roots[i], into: dx.baseAddress! + i * d)
                                }
                            }
                        }
                    }
                }
            }
        }
        return inputGradient
    }

    /// One row: `x̂ = x·r`, `y = γ ⊙ x̂`; returns `r = 1/√(mean(x²) + ε)`.
    @inline(__always)
    private static func normalizeRow(
        _ x: UnsafePointer<Scalar>, count d: Int, gain g: UnsafePointer<Scalar>, epsilon: Scalar,
        normalized xHat: UnsafeMutablePointer<Scalar>, output y: UnsafeMutablePointer<Scalar>
    ) -> Scalar {
        let r = 1 / (interleavedSum(d) { x[$0] * x[$0] } / Scalar(d) + epsilon).squareRoot()
        for j in 0..<d {
            let h = x[j] * r
            xHat[j] = h
            y[j] = h * g[j]
        }
        return r
    }

    /// One row of `∂L/∂x = r·(u − x̂·mean(u ⊙ x̂))`, `u = γ ⊙ ∂L/∂y`.
    @inline(__always)
    private static func rowInputGradient(
        _ dy: UnsafePointer<Scalar>, count d: Int, gain g: UnsafePointer<Scalar>, normalized xHat: UnsafePointer<Scalar>,
        inverseRoot r: Scalar, into dx: UnsafeMutablePointer<Scalar>
    ) {
        let meanUX = interleavedSum(d) { dy[$0] * g[$0] * xHat[$0] } / Scalar(d)
        for j in 0..<d { dx[j] = r * (dy[j] * g[j] - xHat[j] * meanUX) }
    }
}
