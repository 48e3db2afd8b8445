import LinearAlgebra

/// The weights of one LoRA-adapted linear map and its inference-time operations.
///
/// For a batch `X: n×k` (rows are tokens) the output is
/// `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ`, with the frozen base `W: d×k`, `A: r×k`, `B: d×r` and the
/// scaling `s` (α/r, or α/√r for rsLoRA). Merging folds the update into the base,
/// `W ← W + s·B·A`, after which the forward is one GEMM; unmerging subtracts it again.
///
/// The adapter path is a ``LoRAAdapter`` (one packed kernel in `Float` at small ranks, two BLAS
/// products otherwise). The forward never changes the process-wide BLAS thread count.
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
    public private(set) var adapter: LoRAAdapter<Scalar>
    /// Whether `s·B·A` is folded into ``base``.
    public private(set) var isMerged = false

    /// Whether the adapter path of a batch runs in the packed kernel (``LoRAAdapter/usesPackedKernel``).
    public var usesPackedKernel: Bool { adapter.usesPackedKernel }

    /// Output features `d`.
    public var outFeatures: Int { base.rows }
    /// Input features `k`.
    public var inFeatures: Int { base.columns }
    /// The rank `r`.
    public var rank: Int { a.rows }

    /// Weights from `W: d×k`, `A: r×k`, `B: d×r` and the scaling `s`; not merged.
    public init(base: Matrix<Scalar>, a: Matrix<Scalar>, b: Matrix<Scalar>, scale: Scalar) {
        self.init(base: base, adapter: LoRAAdapter(a: a, b: b, scale: scale))
    }

    /// Weights from `W: d×k` and an adapter for it (`A: r×k`, `B: d×r`); not merged.
    public init(base: Matrix<Scalar>, adapter: LoRAAdapter<Scalar>) {
        precondition(
            adapter.inFeatures == base.columns && adapter.outFeatures == base.rows,
            "LoRAWeights: W \(base.shapeDescription), A \(adapter.a.shapeDescription), B \(adapter.b.shapeDescription) do not fit (need W d×k, A r×k, B d×r)")
        self.base = base
        self.adapter = adapter
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
    /// `workspace: r×n` receiving `Tᵀ = A·Xᵀ` (``LoRAAdapter/add(_:to:workspace:)``). Valid merged or
    /// not (it reads only `A`, `B` and `s`).
    public func addAdapter(_ x: Matrix<Scalar>, to y: inout Matrix<Scalar>, workspace: inout Matrix<Scalar>) {
        adapter.add(x, to: &y, workspace: &workspace)
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
        adapter = LoRAAdapter(a: newA, b: newB, scale: newScale)
        if wasMerged { merge() }
    }

    /// Trainable parameters `r·(d + k)`.
    public var adapterParameterCount: Int { a.count + b.count }
}
