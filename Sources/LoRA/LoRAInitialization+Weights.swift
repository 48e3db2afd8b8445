import LinearAlgebra

/// Why adapter weights could not be initialised.
public enum LoRAInitializationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A scheme from ``LoRAInitialization/other(_:)`` that LoRAKit cannot apply, e.g. `"olora"`.
    case unsupported(scheme: String)
    /// PiSSA needs `r ≤ min(d, k)`.
    case rankExceedsMatrix(rank: Int, shape: String)
    /// The SVD of the base weight failed.
    case decomposition(LAPACKError)
    /// PiSSA factors a dense `W`, which a frozen (quantized) base does not have.
    case needsDenseBase(scheme: String)

    public var description: String {
        switch self {
        case let .unsupported(scheme):
            "\"init_lora_weights\" is \"\(scheme)\"; LoRAKit can apply true, false, \"gaussian\" and \"pissa\""
        case let .rankExceedsMatrix(rank, shape):
            "PiSSA rank \(rank) exceeds the smaller side of W \(shape)"
        case let .decomposition(error):
            "PiSSA SVD of W failed: \(error)"
        case let .needsDenseBase(scheme):
            "\"init_lora_weights\" \"\(scheme)\" needs a dense base weight; this base is quantized"
        }
    }
}

extension LoRAInitialization {
    /// Adapter weights for the base `W: d×k` at rank `r` and scaling `s`, as PEFT initialises them:
    /// - `.kaimingUniform`: `A` uniform on `[−1/√k, 1/√k]` (kaiming, `a = √5`), `B = 0`;
    /// - `.gaussian`: `A ~ N(0, 1/r²)`, `B = 0`;
    /// - `.random`: `A` and `B` both kaiming-uniform (fan-in `k` and `r`), a non-zero update;
    /// - `.pissa`: from `W = UΣVᵀ`, `B = U_r·(Σ_r/s)^{1/2}`, `A = (Σ_r/s)^{1/2}·V_rᵀ` and the base
    ///   replaced by the residual `W − s·B·A = W − U_rΣ_rV_rᵀ`, so the output is unchanged.
    /// Throws for `.other`, and for PiSSA when `r > min(d, k)` or the SVD fails.
    public func makeWeights<Scalar: MatrixScalar>(
        base: Matrix<Scalar>, rank r: Int, scale: Scalar, using generator: inout some RandomNumberGenerator
    ) throws(LoRAInitializationError) -> LoRAWeights<Scalar> {
        switch self {
        case .pissa:
            let (d, k) = (base.rows, base.columns)
            precondition(r > 0, "LoRA rank \(r) must be positive")
            guard r <= min(d, k) else { throw .rankExceedsMatrix(rank: r, shape: base.shapeDescription) }
            let svd: SingularValueDecomposition<Scalar>
            do { svd = try base.singularValueDecomposition() } catch { throw .decomposition(error) }
            let roots = svd.singularValues.prefix(r).map { ($0 / scale).squareRoot() }
            let b = Matrix(rows: d, columns: r) { i, j in svd.u[i, j] * roots[j] }
            let a = Matrix(rows: r, columns: k) { i, j in roots[i] * svd.vt[i, j] }
            var residual = base
            Matrix.gemm(b, a, alpha: -scale, beta: 1, into: &residual)
            return LoRAWeights(base: residual, a: a, b: b, scale: scale)
        default:
            return LoRAWeights(
                base: base,
                adapter: try makeAdapter(outFeatures: base.rows, inFeatures: base.columns, rank: r, scale: scale, using: &generator))
        }
    }

    /// An adapter for a base of `d = outFeatures` by `k = inFeatures` that needs no base values
    /// (every scheme but PiSSA, which throws `.needsDenseBase`), drawn as ``makeWeights(base:rank:scale:using:)`` draws it.
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
        case let .other(scheme):
            throw .unsupported(scheme: scheme)
        }
    }
}
