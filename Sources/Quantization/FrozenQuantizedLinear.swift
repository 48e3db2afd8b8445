import LinearAlgebra
import NN

/// A frozen linear layer on a quantized weight, `Y = X·Ŵᵀ + b`, with `Ŵ: out×in` the dequantized
/// ``RowDequantizable`` weight (an ``NF4Matrix``: QLoRA's base layer; ggml's blocks), that never
/// holds `Ŵ` in `Scalar`.
///
/// Shapes: `X: n×in`, `Ŵ: out×in`, `b: 1×out`, `Y: n×out`. Forward and input gradient go over
/// panels of ``panelRows`` rows of `Ŵ`, each dequantized into one `panelRows×in` workspace,
/// reused for every panel of the pass, and multiplied by BLAS:
/// - forward: `Y[:, P] = X·Ŵ[P, :]ᵀ` for each panel `P` of rows, unless the weight's
///   ``RowDequantizable/directProduct(_:)`` takes this `X` (few Float rows);
/// - backward: `∂L/∂X = Σ_P ∂L/∂Y[:, P]·Ŵ[P, :]` (accumulated panel by panel), and
///   `∂L/∂b += Σᵢ (∂L/∂Y)ᵢ` when the bias trains. The weight has no gradient.
///
/// Memory: the stored bytes (``RowDequantizable/storageBytes``) instead of `32·out·in` bits of
/// `Float`, plus the workspace (``workspaceBytes``) while a pass runs. The workspace lives only for the pass,
/// so a model holds one per layer running at the time (one per replica thread), not one per layer. The cost is one dequantization of `Ŵ` per pass,
/// `O(out·in)` against the GEMM's `O(n·out·in)`. Results equal the dense layer on the dequantized
/// weight up to float rounding (the backward sums over `out` in panels).
public final class FrozenQuantizedLinear<Weight: RowDequantizable, Scalar: MatrixScalar>: FrozenLinearLayer, QuantizedWeightLayer {
    /// The frozen quantized weight `Ŵ: out×in`.
    public let weight: Weight
    /// The bias `b: 1×out`, if any; frozen unless made trainable.
    public let bias: Parameter<Scalar>?
    /// Rows of `Ŵ` dequantized at a time.
    public let panelRows: Int
    private var input = Matrix<Scalar>.zeros(0, 0)

    /// Rows per panel when none is given: panels wide enough for BLAS to run at full speed, small
    /// enough that the workspace stays in cache (docs/PERFORMANCE.md).
    public static var defaultPanelRows: Int { 256 }

    /// A layer on `weight` with an optional frozen `bias: 1×out`.
    public convenience init(weight: Weight, bias: Matrix<Scalar>? = nil, panelRows: Int = defaultPanelRows) {
        precondition(panelRows > 0, "FrozenQuantizedLinear: panelRows \(panelRows) must be positive")
        if let bias {
            precondition(bias.rows == 1 && bias.columns == weight.rows,
                         "FrozenQuantizedLinear: bias \(bias.shapeDescription) does not fit W \(weight.rows)×\(weight.columns)")
        }
        self.init(weight: weight, bias: bias.map { Parameter($0, trainable: false) }, panelRows: panelRows)
    }

    private init(weight: Weight, bias: Parameter<Scalar>?, panelRows: Int) {
        self.weight = weight
        self.bias = bias
        self.panelRows = min(panelRows, max(weight.rows, 1))
    }

    public var inFeatures: Int { weight.columns }
    public var outFeatures: Int { weight.rows }

    /// Bytes of the dequantization workspace, `panelRows·in·size(Scalar)`.
    public var workspaceBytes: Int { panelRows * inFeatures * MemoryLayout<Scalar>.stride }

    public var quantizedWeightBytes: Int { weight.storageBytes }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { bias.map { [("bias", $0)] } ?? [] }
    public var children: [(name: String, module: any Module<Scalar>)] { [] }

    /// A layer on the same quantized weight and bias value, with its own caches.
    public func replica() -> FrozenQuantizedLinear {
        FrozenQuantizedLinear(weight: weight, bias: bias?.replica(), panelRows: panelRows)
    }

    @_specialize(where Weight == NF4Matrix, Scalar == Float)
    @_specialize(where Weight == NF4Matrix, Scalar == Double)
    public func forward(_ input: Matrix<Scalar>) -> Matrix<Scalar> {
        precondition(input.columns == inFeatures,
                     "FrozenQuantizedLinear.forward: X \(input.shapeDescription) does not fit W \(outFeatures)×\(inFeatures)")
        self.input = input
        if Scalar.self == Float.self, let direct = weight.directProduct(unsafeBitCast(input, to: Matrix<Float>.self)) {
            var output = unsafeBitCast(direct, to: Matrix<Scalar>.self)
            if let bias { output.addToEachRow(bias.value) }
            return output
        }
        var output = bias.map { Matrix(rows: input.rows, repeatingRow: $0.value) } ?? .unsafeUninitialized(input.rows, outFeatures)
        let beta: Scalar = bias == nil ? 0 : 1
        input.withUnsafeView { x in
            output.withUnsafeMutableView { y in
                forEachPanel { rows, panel in
                    y[columns: rows].gemm(x, panel, transposeB: .transposed, beta: beta)
                }
            }
        }
        return output
    }

    @_specialize(where Weight == NF4Matrix, Scalar == Float)
    @_specialize(where Weight == NF4Matrix, Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) -> Matrix<Scalar> {
        accumulateParameterGradients(outputGradient)
        // With no output rows there is no panel to write ∂L/∂X, which is then zero.
        var inputGradient: Matrix<Scalar> = outFeatures == 0 ? .zeros(input.rows, inFeatures) : .unsafeUninitialized(input.rows, inFeatures)
        outputGradient.withUnsafeView { g in
            inputGradient.withUnsafeMutableView { dx in
                forEachPanel { rows, panel in
                    dx.gemm(g[columns: rows], panel, beta: rows.lowerBound == 0 ? 0 : 1)
                }
            }
        }
        return inputGradient
    }

    /// `∂L/∂b += Σᵢ (∂L/∂Y)ᵢ` when the bias trains; the weight is frozen.
    public func accumulateParameterGradients(_ outputGradient: Matrix<Scalar>) {
        precondition(outputGradient.rows == input.rows && outputGradient.columns == outFeatures,
                     "FrozenQuantizedLinear.backward: ∂L/∂Y \(outputGradient.shapeDescription), forward gave \(input.rows)×\(outFeatures)")
        if let bias, bias.isTrainable { bias.modifyGradient { $0.addColumnSums(of: outputGradient) } }
    }

    /// Calls `body` with each panel's rows of `Ŵ` and a view of them dequantized (`rows.count×in`),
    /// in order, all in one workspace allocated for the pass.
    private func forEachPanel(_ body: (Range<Int>, UnsafeMatrixView<Scalar>) -> Void) {
        var workspace = Matrix<Scalar>.unsafeUninitialized(panelRows, inFeatures)
        let weight = weight
        workspace.withUnsafeMutableView { panel in
            for start in stride(from: 0, to: outFeatures, by: panelRows) {
                let rows = start..<min(start + panelRows, outFeatures)
                weight.dequantize(rows: rows, into: panel.base)
                body(rows, panel[rows: 0..<rows.count].readOnly)
            }
        }
    }
}

/// QLoRA's base layer: a frozen layer on an NF4 (or NF4 + double quantization) weight.
public typealias NF4Linear<Scalar: MatrixScalar> = FrozenQuantizedLinear<NF4Matrix, Scalar>

extension FrozenQuantizedLinear where Weight == NF4Matrix {
    /// Quantizes a dense layer's weight (and keeps its bias, frozen).
    public convenience init(quantizing linear: Linear<Float>, doubleQuantization: Bool = false) throws(QuantizationError) {
        let weight = try NF4Matrix(quantizing: linear.weight.value, doubleQuantization: doubleQuantization)
        self.init(weight: weight, bias: linear.bias.map { $0.value.converted(to: Scalar.self) }, panelRows: Self.defaultPanelRows)
    }
}
