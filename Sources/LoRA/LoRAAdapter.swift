import LinearAlgebra

/// The adapter path of one LoRA layer: `Y ← Y + s·(X·Aᵀ)·Bᵀ` with `A: r×k`, `B: d×r` and the
/// scaling `s`, for a batch `X: n×k` (rows are tokens), whatever computes the base `X·Wᵀ`.
///
/// It computes `Tᵀ = A·Xᵀ` (`r×n`) and then `Y += s·T·Bᵀ`. In `Float` with `r ≤ 64` on a CPU with
/// AVX-512 (`r ≤ 16` with AVX2 and FMA) it runs in one kernel over `A` and `s·B`, packed once here
/// (``PackedLowRankProduct``, on ``BLAS/threadCount`` threads); otherwise as two BLAS products,
/// `Tᵀ = A·Xᵀ` rather than `T = X·Aᵀ` because OpenBLAS splits that one across its threads well.
/// It never changes the process-wide BLAS thread count.
public struct LoRAAdapter<Scalar: MatrixScalar>: Sendable {
    /// The down-projection `A: r×k`.
    public let a: Matrix<Scalar>
    /// The up-projection `B: d×r`.
    public let b: Matrix<Scalar>
    /// The scaling `s` (α/r, or α/√r for rsLoRA).
    public let scale: Scalar
    /// `A` and `s·B` packed for the kernel (a rank the kernel serves and shapes that fit); `nil`: BLAS only.
    private let packed: PackedLowRankProduct?

    /// The adapter `A: r×k`, `B: d×r`, `s`; packs `A` and `s·B` (a copy of `r·(d+k)` floats) where
    /// the kernel runs: `Float`, r ≤ ``PackedLowRankProduct/maximumRank`` (at larger ranks OpenBLAS
    /// is as fast; docs/PERFORMANCE.md).
    public init(a: Matrix<Scalar>, b: Matrix<Scalar>, scale: Scalar) {
        precondition(b.columns == a.rows, "LoRAAdapter: A \(a.shapeDescription) and B \(b.shapeDescription) do not fit (need A r×k, B d×r)")
        self.a = a
        self.b = b
        self.scale = scale
        packed = Scalar.self == Float.self && a.rows <= PackedLowRankProduct.maximumRank
            ? PackedLowRankProduct(
                a: unsafeBitCast(a, to: Matrix<Float>.self), b: unsafeBitCast(b, to: Matrix<Float>.self),
                scale: unsafeBitCast(scale, to: Float.self))
            : nil
    }

    /// The rank `r`.
    public var rank: Int { a.rows }
    /// Input features `k`.
    public var inFeatures: Int { a.columns }
    /// Output features `d`.
    public var outFeatures: Int { b.rows }
    /// Trainable parameters `r·(d + k)`.
    public var parameterCount: Int { a.count + b.count }

    /// Whether a batch (`n > 1`) runs in the packed kernel rather than two BLAS products: in
    /// `Float`, for r ≤ 64 on a CPU with AVX-512, r ≤ 16 on one with AVX2 and FMA only. There the
    /// kernel reads `X` once instead of letting OpenBLAS pack it for each thin product; at larger
    /// ranks the two are level (docs/PERFORMANCE.md).
    public var usesPackedKernel: Bool { packed != nil }

    /// `Y ← Y + s·(X·Aᵀ)·Bᵀ` for `X: n×k`, `Y: n×d`, with `workspace: r×n` receiving `Tᵀ = A·Xᵀ`.
    /// Allocates nothing when `y` and `workspace` are uniquely referenced.
    public func add(_ x: Matrix<Scalar>, to y: inout Matrix<Scalar>, workspace: inout Matrix<Scalar>) {
        x.withUnsafeView { x in
            y.withUnsafeMutableView { y in
                workspace.withUnsafeMutableView { add(x, to: y, workspace: $0) }
            }
        }
    }

    /// ``add(_:to:workspace:)`` on views: rows of larger matrices (a mixed batch's rows of one
    /// adapter, ``MultiLoRALinear``) are read and written in place.
    public func add(
        _ x: UnsafeMatrixView<Scalar>, to y: UnsafeMutableMatrixView<Scalar>, workspace: UnsafeMutableMatrixView<Scalar>
    ) {
        precondition(
            x.columns == inFeatures && y.rows == x.rows && y.columns == outFeatures,
            "LoRAAdapter.add: X \(x.rows)×\(x.columns) with A \(a.shapeDescription) does not fit Y \(y.rows)×\(y.columns)")
        precondition(
            workspace.rows == rank && workspace.columns == x.rows,
            "LoRAAdapter.add: workspace \(workspace.rows)×\(workspace.columns), need \(rank)×\(x.rows) for Tᵀ = A·Xᵀ")
        guard rank > 0, x.rows > 0 else { return }
        a.withUnsafeView { a in
            b.withUnsafeView { b in
                if x.rows == 1 {
                    workspace.gemv(a, x)
                    y.gemv(b, workspace.readOnly, alpha: scale, beta: 1)
                } else if let packed {
                    packed.accumulate(x.assumingFloat, into: y.assumingFloat, projection: workspace.assumingFloat)
                } else {
                    workspace.gemm(a, x, transposeB: .transposed)
                    y.gemm(workspace.readOnly, b, transposeA: .transposed, transposeB: .transposed, alpha: scale, beta: 1)
                }
            }
        }
    }
}

extension UnsafeMatrixView {
    /// The same view as `Float` elements; only where `Scalar` is `Float` (checked by the caller).
    fileprivate var assumingFloat: UnsafeMatrixView<Float> {
        UnsafeMatrixView<Float>(
            UnsafeRawPointer(base).assumingMemoryBound(to: Float.self), rows: rows, columns: columns, rowStride: rowStride)
    }
}

extension UnsafeMutableMatrixView {
    /// The same view as `Float` elements; only where `Scalar` is `Float` (checked by the caller).
    fileprivate var assumingFloat: UnsafeMutableMatrixView<Float> {
        UnsafeMutableMatrixView<Float>(
            UnsafeMutableRawPointer(base).assumingMemoryBound(to: Float.self), rows: rows, columns: columns, rowStride: rowStride)
    }
}
