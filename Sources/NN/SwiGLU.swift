import LinearAlgebra

/// LLaMA's feed-forward block (`LlamaMLP`): `Y = (SiLU(X·W_gᵀ) ⊙ (X·W_uᵀ))·W_dᵀ`, with
/// `SiLU(z) = z·σ(z)`, `W_g, W_u: f×d` and `W_d: d×f`, bias-free; children `gate_proj`,
/// `up_proj`, `down_proj` (Hugging Face's names), replaceable by adapted layers.
///
/// Backward, with `G = X·W_gᵀ`, `U = X·W_uᵀ` and `∂H = ∂Y·W_d`:
/// `∂G = ∂H ⊙ U ⊙ SiLU′(G)`, `∂U = ∂H ⊙ SiLU(G)`, `∂X = ∂G·W_g + ∂U·W_u`, with
/// `SiLU′(z) = σ(z)·(1 + z·(1 − σ(z)))`.
public final class SwiGLU<Scalar: MatrixScalar>: LinearLayerContainer, Layer {
    /// `gate_proj`: `W_g: f×d`.
    public private(set) var gateProjection: any LinearLayer<Scalar>
    /// `up_proj`: `W_u: f×d`.
    public private(set) var upProjection: any LinearLayer<Scalar>
    /// `down_proj`: `W_d: d×f`.
    public private(set) var downProjection: any LinearLayer<Scalar>
    /// `SiLU(G)`, `SiLU′(G)` and `U` from the last forward.
    private var activated = Matrix<Scalar>.zeros(0, 0), slopes = Matrix<Scalar>.zeros(0, 0), up = Matrix<Scalar>.zeros(0, 0)

    /// The block from its three projections.
    public init(gate: any LinearLayer<Scalar>, up: any LinearLayer<Scalar>, down: any LinearLayer<Scalar>) {
        precondition(
            gate.outFeatures == up.outFeatures && gate.inFeatures == up.inFeatures && down.inFeatures == gate.outFeatures
                && down.outFeatures == gate.inFeatures,
            "SwiGLU: gate \(gate.outFeatures)×\(gate.inFeatures), up \(up.outFeatures)×\(up.inFeatures), down \(down.outFeatures)×\(down.inFeatures) do not fit")
        gateProjection = gate
        upProjection = up
        downProjection = down
    }

    /// A block `d → f → d` initialised as `nn.Linear(bias=False)`.
    public convenience init(features d: Int, hiddenFeatures f: Int, using generator: inout some RandomNumberGenerator) {
        self.init(
            gate: Linear(inFeatures: d, outFeatures: f, bias: false, using: &generator),
            up: Linear(inFeatures: d, outFeatures: f, bias: false, using: &generator),
            down: Linear(inFeatures: f, outFeatures: d, bias: false, using: &generator))
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }

    public var children: [(name: String, module: any Module<Scalar>)] {
        [("gate_proj", gateProjection), ("up_proj", upProjection), ("down_proj", downProjection)]
    }

    public func replica() -> SwiGLU {
        SwiGLU(gate: gateProjection.replica(), up: upProjection.replica(), down: downProjection.replica())
    }

    public func replaceLinearLayer(named name: String, with layer: any LinearLayer<Scalar>) {
        let current: any LinearLayer<Scalar> =
            switch name {
            case "gate_proj": gateProjection
            case "up_proj": upProjection
            case "down_proj": downProjection
            default: preconditionFailure("SwiGLU has no linear child \(name)")
            }
        precondition(layer.inFeatures == current.inFeatures && layer.outFeatures == current.outFeatures,
                     "SwiGLU: replacement \(name) is \(layer.outFeatures)×\(layer.inFeatures), need \(current.outFeatures)×\(current.inFeatures)")
        switch name {
        case "gate_proj": gateProjection = layer
        case "up_proj": upProjection = layer
        default: downProjection = layer
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        let gate = gateProjection.forward(input)
        up = upProjection.forward(input)
        if activated.rows != gate.rows || activated.columns != gate.columns {
            (activated, slopes) = (.zeros(gate.rows, gate.columns), .zeros(gate.rows, gate.columns))
        }
        var hidden = Matrix<Scalar>.unsafeUninitialized(gate.rows, gate.columns)
        gate.withUnsafeBufferPointer { g in
            up.withUnsafeBufferPointer { u in
                activated.withUnsafeMutableBufferPointer { a in
                    slopes.withUnsafeMutableBufferPointer { s in
                        hidden.withUnsafeMutableBufferPointer { h in
                            forEachChunk(of: g.count, minimumChunk: 1 << 14) { range in
                                computeSiLU(g, values: a, slopes: s, range: range)
                                for i in range { h[i] = a[i] * u[i] }
                            }
                        }
                    }
                }
            }
        }
        return downProjection.forward(hidden)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        let (gateGradient, upGradient) = hiddenGradients(downProjection.backward(outputGradient))
        var inputGradient = gateProjection.backward(gateGradient)
        inputGradient.axpy(1, upProjection.backward(upGradient))
        return inputGradient
    }

    /// The parameter gradients of ``backward(_:)`` without `∂L/∂X`.
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        let (gateGradient, upGradient) = hiddenGradients(downProjection.backward(outputGradient))
        gateProjection.accumulateParameterGradients(gateGradient)
        upProjection.accumulateParameterGradients(upGradient)
    }

    /// `(∂G, ∂U) = (∂H ⊙ U ⊙ SiLU′(G), ∂H ⊙ SiLU(G))`.
    private func hiddenGradients(_ hiddenGradient: Matrix<Scalar>) -> (Matrix<Scalar>, Matrix<Scalar>) {
        precondition(hiddenGradient.rows == up.rows && hiddenGradient.columns == up.columns,
                     "SwiGLU.backward: ∂L/∂H \(hiddenGradient.shapeDescription), forward gave \(up.shapeDescription)")
        var gateGradient = Matrix<Scalar>.unsafeUninitialized(up.rows, up.columns)
        var upGradient = Matrix<Scalar>.unsafeUninitialized(up.rows, up.columns)
        hiddenGradient.withUnsafeBufferPointer { dh in
            Matrix.withUnsafeViews(of: [up, activated, slopes]) { inputs in
                let (u, a, s) = (inputs[0].base, inputs[1].base, inputs[2].base)
                gateGradient.withUnsafeMutableBufferPointer { dg in
                    upGradient.withUnsafeMutableBufferPointer { du in
                        for i in 0..<dh.count {
                            dg[i] = dh[i] * u[i] * s[i]
                            du[i] = dh[i] * a[i]
                        }
                    }
                }
            }
        }
        return (gateGradient, upGradient)
    }
}
