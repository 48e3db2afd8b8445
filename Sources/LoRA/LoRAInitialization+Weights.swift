import LinearAlgebra

/// Why adapter weights could not be initialised.
public enum LoRAInitializationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A scheme from ``LoRAInitialization/other(_:)`` that LoRAKit cannot apply, e.g. `"olora"`.
    case unsupported(scheme: String)
    /// PiSSA and OLoRA need `r ≤ min(d, k)`.
    case rankExceedsMatrix(scheme: String, rank: Int, shape: String)
    /// The SVD (PiSSA) or QR (OLoRA) of the base weight failed.
    case decomposition(scheme: String, LAPACKError)
    /// PiSSA and OLoRA factor a dense `W`, and DoRA takes its row norms, which a frozen
    /// (quantized) base does not have.
    case needsDenseBase(scheme: String)

    public var description: String {
        switch self {
        case let .unsupported(scheme):
            "\"init_lora_weights\" is \"\(scheme)\"; LoRAKit can apply true, false, \"gaussian\", \"pissa\" and \"olora\""
        case let .rankExceedsMatrix(scheme, rank, shape):
            "\(scheme) rank \(rank) exceeds the smaller side of W \(shape)"
        case let .decomposition(scheme, error):
            "\(scheme) decomposition of W failed: \(error)"
        case let .needsDenseBase(scheme):
            "\(scheme) needs a dense base weight; this base is quantized"
        }
    }
}

extension LoRAInitialization {
    /// Adapter weights for the base `W: d×k` at rank `r` and scaling `s`, as PEFT initialises them:
    /// - `.kaimingUniform`: `A` uniform on `[−1/√k, 1/√k]` (kaiming, `a = √5`), `B = 0`;
    /// - `.gaussian`: `A ~ N(0, 1/r²)`, `B = 0`;
    /// - `.random`: `A` and `B` both kaiming-uniform (fan-in `k` and `r`), a non-zero update;
    /// - `.pissa`: from `W = UΣVᵀ`, `B = U_r·(Σ_r/s)^{1/2}`, `A = (Σ_r/s)^{1/2}·V_rᵀ` and the base
    ///   replaced by the residual `W − s·B·A = W − U_rΣ_rV_rᵀ`, so the output is unchanged;
    /// - `.olora`: from the thin QR `W = QR`, `B = Q_{:, :r}` (d×r), `A = R_{:r, :}` (r×k), not divided
    ///   by `s` (PEFT's choice), and the base replaced by `W − s·B·A`.
    /// Throws for `.other`, and for PiSSA and OLoRA when `r > min(d, k)` or the decomposition fails.
    public func makeWeights<Scalar: MatrixScalar>(
        base: Matrix<Scalar>, rank r: Int, scale: Scalar, using generator: inout some RandomNumberGenerator
    ) throws(LoRAInitializationError) -> LoRAWeights<Scalar> {
        let (d, k) = (base.rows, base.columns)
        precondition(r > 0, "LoRA rank \(r) must be positive")
        switch self {
        case .kaimingUniform, .gaussian, .random, .other:
            return LoRAWeights(
                base: base, adapter: try makeAdapter(outFeatures: d, inFeatures: k, rank: r, scale: scale, using: &generator))
        case .pissa:
            guard r <= min(d, k) else { throw .rankExceedsMatrix(scheme: "PiSSA", rank: r, shape: base.shapeDescription) }
            let svd: SingularValueDecomposition<Scalar>
            do { svd = try base.singularValueDecomposition() } catch { throw .decomposition(scheme: "PiSSA", error) }
            let roots = svd.singularValues.prefix(r).map { ($0 / scale).squareRoot() }
            let b = Matrix(rows: d, columns: r) { i, j in svd.u[i, j] * roots[j] }
            let a = Matrix(rows: r, columns: k) { i, j in roots[i] * svd.vt[i, j] }
            return Self.residualWeights(base: base, a: a, b: b, scale: scale)
        case .olora:
            guard r <= min(d, k) else { throw .rankExceedsMatrix(scheme: "OLoRA", rank: r, shape: base.shapeDescription) }
            let qr: (q: Matrix<Scalar>, r: Matrix<Scalar>)
            do { qr = try base.qrDecomposition() } catch { throw .decomposition(scheme: "OLoRA", error) }
            return Self.residualWeights(base: base, a: qr.r[rows: 0..<r], b: qr.q[columns: 0..<r], scale: scale)
        }
    }

    /// An adapter for a base of `d = outFeatures` by `k = inFeatures` that needs no base values, drawn
    /// as ``makeWeights(base:rank:scale:using:)`` draws it; PiSSA and OLoRA, which factor `W`, throw
    /// `.needsDenseBase`.
    public func makeAdapter<Scalar: MatrixScalar>(
        outFeatures d: Int, inFeatures k: Int, rank r: Int, scale: Scalar, using generator: inout some RandomNumberGenerator
    ) throws(LoRAInitializationError) -> LoRAAdapter<Scalar> {
        precondition(r > 0, "LoRA rank \(r) must be positive")
        switch self {
        case .kaimingUniform:
            return LoRAAdapter(a: .kaimingUniform(rows: r, columns: k, using: &generator), b: .zeros(d, r), scale: scale)
        case .gaussian:
            return LoRAAdapter(
                a: .randomNormal(rows: r, columns: k, standardDeviation: 1 / Scalar(r), using: &generator), b: .zeros(d, r),
                scale: scale)
        case .random:
            return LoRAAdapter(
                a: .kaimingUniform(rows: r, columns: k, using: &generator),
                b: .kaimingUniform(rows: d, columns: r, using: &generator), scale: scale)
        case .pissa:
            throw .needsDenseBase(scheme: "pissa")
        case .olora:
            throw .needsDenseBase(scheme: "olora")
        case let .other(scheme):
            throw .unsupported(scheme: scheme)
        }
    }

    /// The weights of `A`, `B` on the residual base `W − s·B·A`, whose output equals `W`'s.
    private static func residualWeights<Scalar: MatrixScalar>(
        base: Matrix<Scalar>, a: Matrix<Scalar>, b: Matrix<Scalar>, scale: Scalar
    ) -> LoRAWeights<Scalar> {
        var residual = base
        Matrix.gemm(b, a, alpha: -scale, beta: 1, into: &residual)
        return LoRAWeights(base: residual, a: a, b: b, scale: scale)
    }
}
