import LinearAlgebra

/// The weights of one LoRA-adapted linear map and its inference-time operations.
///
/// For a batch `X: n×k` (rows are tokens) the output is
/// `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ`, with the frozen base `W: d×k`, `A: r×k`, `B: d×r` and the
/// scaling `s` (α/r, or α/√r for rsLoRA). Merging folds the update into the base,
/// `W ← W + s·B·A`, after which the forward is one GEMM; unmerging subtracts it again.
///
/// The adapter path computes `Tᵀ = A·Xᵀ` (`r×n`) and then `Y += s·T·Bᵀ`. In `Float` with
/// `r ≤ 64` on a CPU with AVX-512 (`r ≤ 16` with AVX2 and FMA) it runs in one kernel over `A`
/// and `s·B`, packed when they are set (``PackedLowRankProduct``, on ``BLAS/threadCount``
/// threads); otherwise as two BLAS products, `Tᵀ = A·Xᵀ` rather than `T = X·Aᵀ` because OpenBLAS
/// splits that one across its threads well. The forward never changes the process-wide BLAS thread count.
public struct LoRAWeights<Scalar: MatrixScalar>: Sendable {
    /// The base weight `W: d×k` (`out×in`). Holds `W + s·B·A` while merged.
    public private(set) var base: Matrix<Scalar>
    /// The down-projection `A: r×k`.
    public var a: Matrix<Scalar> { adapter.a }
    /// The up-projection `B: d×r`.
    public var b: Matrix<Scalar> { adapter.b }
    /// The scaling `s` of the adapter path.
    public var scale: Scalar { adapter.scale }
    /// `A`, `B` and `s`, changed together (``swapAdapter(a:b:scale:)``) so they always fit each
    /// other and are packed once per change.
    private var adapter: (a: Matrix<Scalar>, b: Matrix<Scalar>, scale: Scalar)
    /// Whether `s·B·A` is folded into ``base``.
    public private(set) var isMerged = false
    /// `A` and `s·B` packed for the adapter path's kernel (where ``usesPackedKernel``); `nil`:
    /// BLAS only.
    private var packedAdapter: PackedLowRankProduct?

    /// Whether the adapter path of a batch (`n > 1`) runs in the packed kernel rather than two
    /// BLAS products: in `Float`, for r ≤ 64 on a CPU with AVX-512, r ≤ 16 on one with AVX2 and
    /// FMA only. There the kernel reads `X` once instead of letting OpenBLAS pack it for each thin
    /// product; at larger ranks the two are level (docs/PERFORMANCE.md).
    public var usesPackedKernel: Bool { packedAdapter != nil }

    /// Output features `d`.
    public var outFeatures: Int { base.rows }
    /// Input features `k`.
    public var inFeatures: Int { base.columns }
    /// The rank `r`.
    public var rank: Int { a.rows }

    /// Weights from `W: d×k`, `A: r×k`, `B: d×r` and the scaling `s`; not merged.
    public init(base: Matrix<Scalar>, a: Matrix<Scalar>, b: Matrix<Scalar>, scale: Scalar) {
        precondition(
            a.columns == base.columns && b.rows == base.rows && b.columns == a.rows,
            "LoRAWeights: W \(base.shapeDescription), A \(a.shapeDescription), B \(b.shapeDescription) do not fit (need W d×k, A r×k, B d×r)")
        self.base = base
        adapter = (a, b, scale)
        repack()
    }

    /// Packs `A` and `s·B` for the kernel (a copy of `r·(d+k)` floats) where it runs: `Float`,
    /// r ≤ ``PackedLowRankProduct/maximumRank`` (at larger ranks OpenBLAS is as fast;
    /// docs/PERFORMANCE.md).
    private mutating func repack() {
        guard Scalar.self == Float.self, rank <= PackedLowRankProduct.maximumRank else { return packedAdapter = nil }
        packedAdapter = PackedLowRankProduct(
            a: unsafeBitCast(a, to: Matrix<Float>.self), b: unsafeBitCast(b, to: Matrix<Float>.self),
            scale: unsafeBitCast(scale, to: Float.self))
    }

    /// Weights whose `base` already holds `W + s·B·A` when `isMerged` (a converted layout's).
    init(base: Matrix<Scalar>, a: Matrix<Scalar>, b: Matrix<Scalar>, scale: Scalar, isMerged: Bool) {
        self.init(base: base, a: a, b: b, scale: scale)
        self.isMerged = isMerged
    }

    /// `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ` (or `X·Wᵀ` while merged) into `y: n×d`, using `workspace: r×n`
    /// for `Tᵀ = A·Xᵀ` (ignored while merged). Allocates nothing when `y` and `workspace` are
    /// uniquely referenced.
    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, workspace: inout Matrix<Scalar>) {
        precondition(
            x.columns == inFeatures && y.rows == x.rows && y.columns == outFeatures,
            "LoRAWeights.forward: X \(x.shapeDescription) with W \(base.shapeDescription) does not fit Y \(y.shapeDescription)")
        multiplyBase(x, into: &y)
        if !isMerged { addAdapter(x, to: &y, workspace: &workspace) }
    }

    /// `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ` for `X: n×k`, returning `Y: n×d`.
    public func forward(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
        var y = Matrix<Scalar>.zeros(x.rows, outFeatures)
        var workspace = Matrix<Scalar>.zeros(rank, x.rows)
        forward(x, into: &y, workspace: &workspace)
        return y
    }

    /// The adapter path alone: `Y ← Y + s·(X·Aᵀ)·Bᵀ` for `X: n×k`, `Y: n×d`, with
    /// `workspace: r×n` receiving `Tᵀ = A·Xᵀ`. Allocates nothing when `y` and `workspace` are
    /// uniquely referenced. Valid merged or not (it reads only `A`, `B` and `s`).
    public func addAdapter(_ x: Matrix<Scalar>, to y: inout Matrix<Scalar>, workspace: inout Matrix<Scalar>) {
        precondition(
            x.columns == inFeatures && y.rows == x.rows && y.columns == outFeatures,
            "LoRAWeights.addAdapter: X \(x.shapeDescription) with A \(a.shapeDescription) does not fit Y \(y.shapeDescription)")
        precondition(
            workspace.rows == rank && workspace.columns == x.rows,
            "LoRAWeights.addAdapter: workspace \(workspace.shapeDescription), need \(rank)×\(x.rows) for Tᵀ = A·Xᵀ")
        guard rank > 0 else { return }
        if x.rows == 1 {
            Matrix.gemv(a, x, into: &workspace)
            Matrix.gemv(b, workspace, alpha: scale, beta: 1, into: &y)
        } else if let packedAdapter {
            x.withUnsafeView { x in
                y.withUnsafeMutableView { y in
                    workspace.withUnsafeMutableView { t in
                        packedAdapter.accumulate(x.assumingFloat, into: y.assumingFloat, projection: t.assumingFloat)
                    }
                }
            }
        } else {
            Matrix.gemm(a, x, transposeB: .transposed, into: &workspace)
            Matrix.gemm(workspace, b, transposeA: .transposed, transposeB: .transposed, alpha: scale, beta: 1, into: &y)
        }
    }

    /// `Y = X·Wᵀ`; a GEMV for one token, where a GEMM would spend more time packing `W` than
    /// multiplying.
    private func multiplyBase(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) {
        if x.rows == 1 {
            Matrix.gemv(base, x, into: &y)
        } else {
            Matrix.gemm(x, base, transposeB: .transposed, into: &y)
        }
    }

    /// `W ← W + s·B·A`, in place with one GEMM. Merging twice is a programmer error.
    public mutating func merge() {
        precondition(!isMerged, "LoRAWeights.merge: already merged")
        Matrix.gemm(b, a, alpha: scale, beta: 1, into: &base)
        isMerged = true
    }

    /// `W ← W − s·B·A`, in place with one GEMM, restoring the base up to rounding.
    public mutating func unmerge() {
        precondition(isMerged, "LoRAWeights.unmerge: not merged")
        Matrix.gemm(b, a, alpha: -scale, beta: 1, into: &base)
        isMerged = false
    }

    /// DoRA's merge: `W ← diag(f)·(W + s·B·A)` with the factors `f = m/n` (``DoRA``), returning the
    /// rows of `W + s·B·A` whose factor is zero: such a row of `W'` is zero, so ``unmerge(rowFactors:restoring:)``
    /// needs it kept to restore `W`.
    mutating func merge(rowFactors f: [Scalar]) -> [Int: [Scalar]] {
        precondition(f.count == outFeatures, "LoRAWeights.merge: factors [\(f.count)] do not fit W \(base.shapeDescription)")
        merge()
        var erased: [Int: [Scalar]] = [:]
        for (i, factor) in f.enumerated() where factor == 0 { erased[i] = base.row(i) }
        DoRA.scaleRows(&base, by: f)
        return erased
    }

    /// Undoes ``merge(rowFactors:)``: `W ← W'/f − s·B·A` row by row, the erased rows from `erased`.
    mutating func unmerge(rowFactors f: [Scalar], restoring erased: [Int: [Scalar]]) {
        precondition(f.count == outFeatures, "LoRAWeights.unmerge: factors [\(f.count)] do not fit W \(base.shapeDescription)")
        DoRA.scaleRows(&base, by: f.map { $0 == 0 ? 0 : 1 / $0 })
        let k = inFeatures
        base.withUnsafeMutableBufferPointer { p in
            for (i, row) in erased { for j in 0..<k { p[i * k + j] = row[j] } }
        }
        unmerge()
    }

    /// Replaces the adapter by `A': r'×k`, `B': d×r'` and `s'`, keeping the merge state: a merged
    /// adapter is unmerged, replaced and merged again (two rank-`r` GEMMs into `W`).
    public mutating func swapAdapter(a newA: Matrix<Scalar>, b newB: Matrix<Scalar>, scale newScale: Scalar) {
        precondition(
            newA.columns == inFeatures && newB.rows == outFeatures && newB.columns == newA.rows,
            "LoRAWeights.swapAdapter: A \(newA.shapeDescription), B \(newB.shapeDescription) do not fit W \(base.shapeDescription)")
        let wasMerged = isMerged
        if wasMerged { unmerge() }
        adapter = (newA, newB, newScale)
        repack()
        if wasMerged { merge() }
    }

    /// Trainable parameters `r·(d + k)`.
    public var adapterParameterCount: Int { a.count + b.count }
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
