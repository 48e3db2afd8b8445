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
    /// `G` and `U` from the last forward (`SiLU(G)` and `SiLU′(G)` are computed again in the
    /// backward: one exponential an element costs less than keeping two more `n×f` matrices).
    /// The backward overwrites them with `∂G` and `∂U` (no fresh `n×f` pages), so it runs once per
    /// forward.
    private var gate = Matrix<Scalar>.zeros(0, 0), up = Matrix<Scalar>.zeros(0, 0)

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
        (gate, up) = (gateProjection.forward(input), upProjection.forward(input))
        return downProjection.forward(Self.gatedUnits(gate, up))
    }

    /// `Y` as ``forward(_:)`` computes it, keeping nothing for a backward pass (inference).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        downProjection.apply(Self.gatedUnits(gateProjection.apply(input), upProjection.apply(input)))
    }

    /// `H = SiLU(G) ⊙ U`.
    private static func gatedUnits(_ gate: Matrix<Scalar>, _ up: Matrix<Scalar>) -> Matrix<Scalar> {
        var hidden = Matrix<Scalar>.unsafeUninitialized(gate.rows, gate.columns)
        gate.withUnsafeBufferPointer { g in
            up.withUnsafeBufferPointer { u in
                hidden.withUnsafeMutableBufferPointer { h in
                    forEachSiLUBlock(g) { range, a, _ in
                        for i in range { h[i] = a[i - range.lowerBound] * u[i] }
                    }
                }
            }
        }
        return hidden
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
                     "SwiGLU.backward: ∂L/∂H \(hiddenGradient.shapeDescription), forward gave \(up.shapeDescription) (one backward per forward)")
        // ∂G and ∂U overwrite G and U, held only here once the layer lets go of them; each block
        // reads its G into SiLU's scratch and its U before writing.
        var (gateGradient, upGradient) = (gate, up)
        (gate, up) = (.zeros(0, 0), .zeros(0, 0))
        hiddenGradient.withUnsafeBufferPointer { dh in
            gateGradient.withUnsafeMutableBufferPointer { g in
                upGradient.withUnsafeMutableBufferPointer { u in
                    forEachSiLUBlock(UnsafeBufferPointer(g)) { range, a, s in
                        for i in range {
                            let j = i - range.lowerBound
                            g[i] = dh[i] * u[i] * s[j]
                            u[i] = dh[i] * a[j]
                        }
                    }
                }
            }
        }
        return (gateGradient, upGradient)
    }
}

/// Calls `body(range, SiLU(g[range]), SiLU′(g[range]))` on consecutive blocks covering `g`, the
/// blocks spread over the threads (``forEachChunk(of:minimumChunk:threads:_:)``); the two buffers
/// are scratch, indexed from 0 within the block.
private func forEachSiLUBlock<Scalar: MatrixScalar>(
    _ g: UnsafeBufferPointer<Scalar>,
    _ body: (Range<Int>, UnsafeMutableBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>) -> Void
) {
    let block = 2048
    forEachChunk(of: g.count, minimumChunk: 1 << 14) { chunk in
        withUnsafeTemporaryAllocation(of: Scalar.self, capacity: 2 * block) { scratch in
            let values = UnsafeMutableBufferPointer(rebasing: scratch[0..<block])
            let slopes = UnsafeMutableBufferPointer(rebasing: scratch[block...])
            for start in stride(from: chunk.lowerBound, to: chunk.upperBound, by: block) {
                let range = start..<min(start + block, chunk.upperBound)
                computeSiLU(UnsafeBufferPointer(rebasing: g[range]), values: values, slopes: slopes, range: 0..<range.count)
                body(range, values, slopes)
            }
        }
    }
}
