import LinearAlgebra

/// Multi-head scaled dot-product attention on projected queries, keys and values (PyTorch's
/// `F.scaled_dot_product_attention` after the head split), with grouped-query attention and its
/// backward pass.
///
/// `Q: n×(h·e)` and `K, V: n×(g·e)` hold `n = batch·T` rows (sequence `b` is rows
/// `b·T ..< (b+1)·T`), `h` query heads and `g` key/value heads of `e` columns each (head `j` is
/// columns `j·e ..< (j+1)·e`); query head `j` reads key/value head `j / (h/g)` (grouped-query
/// attention; `g = h` is plain multi-head attention). No transposes are needed: every
/// per-(sequence, head) product is a GEMM on a strided view. For each sequence and head,
/// `S = Q·Kᵀ/√e` (`T×T`, entries above the diagonal set to −∞ when causal), `P = softmax(S)`
/// row-wise and `O = P·V` (`O: n×(h·e)`).
///
/// Backward: `∂P = ∂O·Vᵀ`, `∂V += Pᵀ·∂O`, `∂S = P ⊙ (∂P − rowsum(∂P ⊙ P))`,
/// `∂Q = ∂S·K/√e`, `∂K += ∂Sᵀ·Q/√e`, the sums running over the query heads of a group. `P` is
/// not kept between the passes but computed again (the same GEMM and softmax, so the same
/// values): it is `batch·h·T²` floats, more than `Q`, `K` and `V` together once `T > e`, for
/// one extra `T×T×e` product per head.
public struct ScaledDotProductAttention<Scalar: MatrixScalar> {
    /// Number of query heads `h`.
    public let heads: Int
    /// Number of key/value heads `g` (divides `h`).
    public let keyValueHeads: Int
    /// Whether position `i` may attend only to positions `≤ i`.
    public let isCausal: Bool
    private var queries = Matrix<Scalar>.zeros(0, 0)
    private var keys = Matrix<Scalar>.zeros(0, 0)
    private var values = Matrix<Scalar>.zeros(0, 0)
    private var sequenceLength = 0

    /// Attention with `heads` query heads sharing `keyValueHeads` key/value heads (default: as
    /// many, plain multi-head attention), causal (masked) or not.
    public init(heads: Int, keyValueHeads: Int? = nil, isCausal: Bool = false) {
        let groups = keyValueHeads ?? heads
        precondition(heads > 0 && groups > 0 && heads % groups == 0,
                     "ScaledDotProductAttention: \(heads) query heads do not share \(groups) key/value heads")
        self.heads = heads
        self.keyValueHeads = groups
        self.isCausal = isCausal
    }

    /// `O: n×(h·e)` for `Q: n×(h·e)`, `K, V: n×(g·e)`, with `n` a multiple of `sequenceLength`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func forward(
        queries: Matrix<Scalar>, keys: Matrix<Scalar>, values: Matrix<Scalar>, sequenceLength t: Int
    ) -> Matrix<Scalar> {
        let (n, d) = (queries.rows, queries.columns)
        precondition(d % heads == 0, "Attention: \(d) query features do not split into \(heads) heads")
        let kvWidth = d / heads * keyValueHeads
        precondition(
            keys.rows == n && keys.columns == kvWidth && values.rows == n && values.columns == kvWidth,
            "Attention: Q \(queries.shapeDescription), K \(keys.shapeDescription), V \(values.shapeDescription) do not fit \(heads) heads sharing \(keyValueHeads)")
        precondition(t > 0 && n % t == 0, "Attention: \(n) rows are not whole sequences of \(t)")
        (self.queries, self.keys, self.values, sequenceLength) = (queries, keys, values, t)
        let (batch, heads, groups, isCausal) = (n / t, self.heads, self.keyValueHeads, self.isCausal)
        let scale = 1 / Scalar(d / heads).squareRoot()
        // The output, then one T×T block of P per sequence, reused across its heads.
        var results: [Matrix<Scalar>] = [.unsafeUninitialized(n, d), .unsafeUninitialized(batch * t, t)]
        Matrix.withUnsafeViews(of: [queries, keys, values]) { inputs in
            Matrix.withUnsafeMutableViews(of: &results) { outputs in
                splitSequences(batch, t, d) { sequences in
                    for b in sequences {
                        for head in 0..<heads {
                            let block = HeadBlock(sequence: b, head: head, length: t, width: d, heads: heads, groups: groups)
                            let p = outputs[1][rows: block.rows]
                            block.computeProbabilities(p, queries: inputs[0], keys: inputs[1], scale: scale, isCausal: isCausal)
                            block.query(outputs[0]).gemm(p.readOnly, block.keyValue(inputs[2]))  // O = P·V
                        }
                    }
                }
            }
        }
        return results[0]
    }

    /// `(∂L/∂Q, ∂L/∂K, ∂L/∂V)` from `∂L/∂O: n×(h·e)`, for the most recent forward.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func backward(_ outputGradient: Matrix<Scalar>)
        -> (queries: Matrix<Scalar>, keys: Matrix<Scalar>, values: Matrix<Scalar>)
    {
        let (n, d, t) = (queries.rows, queries.columns, sequenceLength)
        precondition(outputGradient.rows == n && outputGradient.columns == d && t > 0,
                     "Attention.backward: ∂L/∂O \(outputGradient.shapeDescription), forward gave \(n)×\(d)")
        let (batch, heads, groups) = (n / t, heads, keyValueHeads)
        let scale = 1 / Scalar(d / heads).squareRoot()
        let kvWidth = d / heads * groups
        // ∂Q, ∂K, ∂V, then T×T scratch blocks of ∂P/∂S and of P per sequence. ∂K and ∂V sum over
        // the query heads of a group: the group's first head writes (β = 0), the others add.
        var results: [Matrix<Scalar>] = [
            .unsafeUninitialized(n, d), .unsafeUninitialized(n, kvWidth), .unsafeUninitialized(n, kvWidth),
            .unsafeUninitialized(batch * t, t), .unsafeUninitialized(batch * t, t),
        ]
        let isCausal = isCausal
        Matrix.withUnsafeViews(of: [queries, keys, values, outputGradient]) { inputs in
            Matrix.withUnsafeMutableViews(of: &results) { outputs in
                splitSequences(batch, t, d) { sequences in
                    for b in sequences {
                        for head in 0..<heads {
                            let block = HeadBlock(sequence: b, head: head, length: t, width: d, heads: heads, groups: groups)
                            let (q, k, v) = (block.query(inputs[0]), block.keyValue(inputs[1]), block.keyValue(inputs[2]))
                            let (dO, dS, p) = (block.query(inputs[3]), outputs[3][rows: block.rows], outputs[4][rows: block.rows])
                            block.computeProbabilities(p, queries: inputs[0], keys: inputs[1], scale: scale, isCausal: isCausal)
                            let accumulate: Scalar = block.isFirstOfGroup ? 0 : 1
                            dS.gemm(dO, v, transposeB: .transposed)  // ∂P = ∂O·Vᵀ
                            block.keyValue(outputs[2]).gemm(p.readOnly, dO, transposeA: .transposed, beta: accumulate)  // ∂V += Pᵀ·∂O
                            softmaxBackwardRows(probabilities: p.base, gradient: dS.base, size: t, isCausal: isCausal)
                            block.query(outputs[0]).gemm(dS.readOnly, k, alpha: scale)  // ∂Q = ∂S·K/√e
                            block.keyValue(outputs[1]).gemm(dS.readOnly, q, transposeA: .transposed, alpha: scale, beta: accumulate)  // ∂K += ∂Sᵀ·Q/√e
                        }
                    }
                }
            }
        }
        return (results[0], results[1], results[2])
    }
}

/// Where one (sequence, query head) pair lives: rows `b·T ..< (b+1)·T`, columns `j·e ..< (j+1)·e`
/// of `Q`/`O`, and columns of key/value head `j / (h/g)` of `K`/`V`.
private struct HeadBlock {
    let rows: Range<Int>, queryColumns: Range<Int>, keyValueColumns: Range<Int>
    /// Whether the query head is its group's first (which writes the group's `∂K`, `∂V`).
    let isFirstOfGroup: Bool

    init(sequence b: Int, head j: Int, length t: Int, width d: Int, heads: Int, groups: Int) {
        let (size, perGroup) = (d / heads, heads / groups)
        rows = (b * t)..<((b + 1) * t)
        queryColumns = (j * size)..<((j + 1) * size)
        keyValueColumns = ((j / perGroup) * size)..<((j / perGroup + 1) * size)
        isFirstOfGroup = j % perGroup == 0
    }

    func query<Scalar>(_ m: UnsafeMatrixView<Scalar>) -> UnsafeMatrixView<Scalar> { m[rows: rows][columns: queryColumns] }
    func query<Scalar>(_ m: UnsafeMutableMatrixView<Scalar>) -> UnsafeMutableMatrixView<Scalar> { m[rows: rows][columns: queryColumns] }
    func keyValue<Scalar>(_ m: UnsafeMatrixView<Scalar>) -> UnsafeMatrixView<Scalar> { m[rows: rows][columns: keyValueColumns] }
    func keyValue<Scalar>(_ m: UnsafeMutableMatrixView<Scalar>) -> UnsafeMutableMatrixView<Scalar> {
        m[rows: rows][columns: keyValueColumns]
    }

    /// `P = softmax(Q·Kᵀ·scale)` of this block into `p` (`T×T`, contiguous rows), causally masked if asked.
    func computeProbabilities<Scalar: MatrixScalar>(
        _ p: UnsafeMutableMatrixView<Scalar>, queries: UnsafeMatrixView<Scalar>, keys: UnsafeMatrixView<Scalar>, scale: Scalar,
        isCausal: Bool
    ) {
        p.gemm(query(queries), keyValue(keys), transposeB: .transposed, alpha: scale)  // S = Q·Kᵀ/√e
        softmaxRows(p.base, size: rows.count, isCausal: isCausal)
    }
}

/// Runs `body` on chunks of the `batch` sequences, one per BLAS thread, each chunk's GEMMs on
/// one BLAS thread: sequences are independent and their per-head `T×T×(d/h)` products are too
/// small to split well, so the batch is split instead (chunks of at least about 2²⁰
/// multiply-adds, `T²·d` per sequence and product).
private func splitSequences(_ batch: Int, _ t: Int, _ d: Int, _ body: (Range<Int>) -> Void) {
    let threads = BLAS.threadCount
    BLAS.withThreadCount(1) {
        forEachChunk(of: batch, minimumChunk: max(1, (1 << 20) / max(1, t * t * d)), threads: threads, body)
    }
}

/// Row-wise softmax of a `size×size` block in place, with a causal mask if asked.
private func softmaxRows<Scalar: MatrixScalar>(_ block: UnsafeMutablePointer<Scalar>, size t: Int, isCausal: Bool) {
    for i in 0..<t { softmaxPrefix(block + i * t, visible: isCausal ? i + 1 : t, count: t) }
}

/// `row[0..<visible] ← softmax(row[0..<visible])`, `row[visible..<count] ← 0` (the masked tail):
/// one row of batched attention, or of attention over a key/value cache.
func softmaxPrefix<Scalar: MatrixScalar>(_ row: UnsafeMutablePointer<Scalar>, visible: Int, count: Int) {
    let maximum = rowMaximum(row, count: visible)
    let inverse = 1 / exponentiateShiftedSum(row, count: visible, shift: maximum)
    for j in 0..<visible { row[j] *= inverse }
    for j in visible..<count { row[j] = 0 }
}

/// `∂S = P ⊙ (∂P − rowsum(∂P ⊙ P))` in place of `∂P`, for a `size×size` block; with a causal
/// mask row `i` reads only its first `i + 1` entries (`P` is zero beyond them, and so is `∂S`).
private func softmaxBackwardRows<Scalar: MatrixScalar>(
    probabilities p: UnsafePointer<Scalar>, gradient g: UnsafeMutablePointer<Scalar>, size t: Int, isCausal: Bool
) {
    for i in 0..<t {
        let (pRow, gRow, visible) = (p + i * t, g + i * t, isCausal ? i + 1 : t)
        let dot = dotProduct(pRow, gRow, count: visible)
        for j in 0..<visible { gRow[j] = pRow[j] * (gRow[j] - dot) }
        for j in visible..<t { gRow[j] = 0 }
    }
}
