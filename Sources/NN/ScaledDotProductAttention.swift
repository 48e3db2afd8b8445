import LinearAlgebra

/// Multi-head scaled dot-product attention on projected queries, keys and values (PyTorch's
/// `F.scaled_dot_product_attention` after the head split), with its backward pass.
///
/// `Q, K, V: n×d` hold `n = batch·T` rows (sequence `b` is rows `b·T ..< (b+1)·T`) and `h` heads
/// of `d/h` columns each (head `j` is columns `j·d/h ..< (j+1)·d/h`), so no transposes are
/// needed: every per-(sequence, head) product is a GEMM on a strided view. For each sequence and
/// head, `S = Q·Kᵀ/√(d/h)` (`T×T`, entries above the diagonal set to −∞ when causal),
/// `P = softmax(S)` row-wise and `O = P·V`.
///
/// Backward: `∂P = ∂O·Vᵀ`, `∂V = Pᵀ·∂O`, `∂S = P ⊙ (∂P − rowsum(∂P ⊙ P))`,
/// `∂Q = ∂S·K/√(d/h)`, `∂K = ∂Sᵀ·Q/√(d/h)`.
public struct ScaledDotProductAttention<Scalar: MatrixScalar> {
    /// Number of heads `h`.
    public let heads: Int
    /// Whether position `i` may attend only to positions `≤ i`.
    public let isCausal: Bool
    private var queries = Matrix<Scalar>.zeros(0, 0)
    private var keys = Matrix<Scalar>.zeros(0, 0)
    private var values = Matrix<Scalar>.zeros(0, 0)
    /// `P` of every (sequence, head), `T×T` blocks stacked: `(batch·heads·T)×T`.
    private var probabilities = Matrix<Scalar>.zeros(0, 0)
    private var sequenceLength = 0

    /// Attention with `heads` heads, causal (masked) or not.
    public init(heads: Int, isCausal: Bool = false) {
        precondition(heads > 0, "ScaledDotProductAttention: \(heads) heads")
        self.heads = heads
        self.isCausal = isCausal
    }

    /// `O: n×d` for `Q, K, V: n×d`, with `n` a multiple of `sequenceLength`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func forward(
        queries: Matrix<Scalar>, keys: Matrix<Scalar>, values: Matrix<Scalar>, sequenceLength t: Int
    ) -> Matrix<Scalar> {
        let (n, d) = (queries.rows, queries.columns)
        precondition(
            keys.rows == n && keys.columns == d && values.rows == n && values.columns == d,
            "Attention: Q \(queries.shapeDescription), K \(keys.shapeDescription), V \(values.shapeDescription) differ")
        precondition(t > 0 && n % t == 0, "Attention: \(n) rows are not whole sequences of \(t)")
        precondition(d % heads == 0, "Attention: \(d) features do not split into \(heads) heads")
        (self.queries, self.keys, self.values, sequenceLength) = (queries, keys, values, t)
        let (batch, heads, isCausal) = (n / t, self.heads, self.isCausal)
        let scale = 1 / Scalar(d / heads).squareRoot()
        if probabilities.rows != batch * heads * t || probabilities.columns != t {
            probabilities = .zeros(batch * heads * t, t)
        }
        var results = [probabilities, Matrix.unsafeUninitialized(n, d)]
        probabilities = .zeros(0, 0)  // the array holds the only reference, so it is written in place
        Matrix.withUnsafeViews(of: [queries, keys, values]) { inputs in
            Matrix.withUnsafeMutableViews(of: &results) { outputs in
                splitSequences(batch, t, d) { sequences in
                    for b in sequences {
                        for head in 0..<heads {
                            let block = HeadBlock(sequence: b, head: head, length: t, width: d, heads: heads)
                            let (q, k, v) = (block.of(inputs[0]), block.of(inputs[1]), block.of(inputs[2]))
                            let p = block.probabilities(outputs[0])
                            p.gemm(q, k, transposeB: .transposed, alpha: scale)  // S = Q·Kᵀ/√(d/h)
                            softmaxRows(p.base, size: t, isCausal: isCausal)
                            block.of(outputs[1]).gemm(p.readOnly, v)  // O = P·V
                        }
                    }
                }
            }
        }
        probabilities = results[0]
        return results[1]
    }

    /// `(∂L/∂Q, ∂L/∂K, ∂L/∂V)` from `∂L/∂O: n×d`, for the most recent forward.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func backward(_ outputGradient: Matrix<Scalar>)
        -> (queries: Matrix<Scalar>, keys: Matrix<Scalar>, values: Matrix<Scalar>)
    {
        let (n, d, t) = (queries.rows, queries.columns, sequenceLength)
        precondition(outputGradient.rows == n && outputGradient.columns == d && t > 0,
                     "Attention.backward: ∂L/∂O \(outputGradient.shapeDescription), forward gave \(n)×\(d)")
        let (batch, heads) = (n / t, heads)
        let scale = 1 / Scalar(d / heads).squareRoot()
        // ∂Q, ∂K, ∂V, then one T×T scratch block of ∂P/∂S per sequence.
        var results: [Matrix<Scalar>] = [.unsafeUninitialized(n, d), .unsafeUninitialized(n, d), .unsafeUninitialized(n, d), .zeros(batch * t, t)]
        Matrix.withUnsafeViews(of: [queries, keys, values, outputGradient, probabilities]) { inputs in
            Matrix.withUnsafeMutableViews(of: &results) { outputs in
                splitSequences(batch, t, d) { sequences in
                    for b in sequences {
                        for head in 0..<heads {
                            let block = HeadBlock(sequence: b, head: head, length: t, width: d, heads: heads)
                            let (q, k, v, dO) = (block.of(inputs[0]), block.of(inputs[1]), block.of(inputs[2]), block.of(inputs[3]))
                            let p = block.probabilities(inputs[4])
                            let dS = outputs[3][rows: (b * t)..<((b + 1) * t)]
                            dS.gemm(dO, v, transposeB: .transposed)  // ∂P = ∂O·Vᵀ
                            block.of(outputs[2]).gemm(p, dO, transposeA: .transposed)  // ∂V = Pᵀ·∂O
                            softmaxBackwardRows(probabilities: p.base, gradient: dS.base, size: t)
                            block.of(outputs[0]).gemm(dS.readOnly, k, alpha: scale)  // ∂Q = ∂S·K/√(d/h)
                            block.of(outputs[1]).gemm(dS.readOnly, q, transposeA: .transposed, alpha: scale)  // ∂K = ∂Sᵀ·Q/√(d/h)
                        }
                    }
                }
            }
        }
        return (results[0], results[1], results[2])
    }
}

/// Where one (sequence, head) pair lives: rows `b·T ..< (b+1)·T` and columns `j·d/h ..< (j+1)·d/h`
/// of an `n×d` matrix, and its `T×T` block of the stacked probabilities.
private struct HeadBlock {
    let rows: Range<Int>, columns: Range<Int>, probabilityRows: Range<Int>

    init(sequence b: Int, head j: Int, length t: Int, width d: Int, heads: Int) {
        let size = d / heads
        rows = (b * t)..<((b + 1) * t)
        columns = (j * size)..<((j + 1) * size)
        let block = b * heads + j
        probabilityRows = (block * t)..<((block + 1) * t)
    }

    func of<Scalar>(_ m: UnsafeMatrixView<Scalar>) -> UnsafeMatrixView<Scalar> { m[rows: rows][columns: columns] }
    func of<Scalar>(_ m: UnsafeMutableMatrixView<Scalar>) -> UnsafeMutableMatrixView<Scalar> { m[rows: rows][columns: columns] }
    func probabilities<Scalar>(_ p: UnsafeMatrixView<Scalar>) -> UnsafeMatrixView<Scalar> { p[rows: probabilityRows] }
    func probabilities<Scalar>(_ p: UnsafeMutableMatrixView<Scalar>) -> UnsafeMutableMatrixView<Scalar> { p[rows: probabilityRows] }
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
    for i in 0..<t {
        let row = block + i * t
        let visible = isCausal ? i + 1 : t
        var maximum = row[0]
        for j in 1..<visible { maximum = max(maximum, row[j]) }
        exponentiateShifted(row, count: visible, shift: maximum)
        let inverse = 1 / interleavedSum(visible) { row[$0] }
        for j in 0..<visible { row[j] *= inverse }
        for j in visible..<t { row[j] = 0 }
    }
}

/// `∂S = P ⊙ (∂P − rowsum(∂P ⊙ P))` in place of `∂P`, for a `size×size` block.
private func softmaxBackwardRows<Scalar: MatrixScalar>(
    probabilities p: UnsafePointer<Scalar>, gradient g: UnsafeMutablePointer<Scalar>, size t: Int
) {
    for i in 0..<t {
        var dot: Scalar = 0
        for j in 0..<t { dot += p[i * t + j] * g[i * t + j] }
        for j in 0..<t { g[i * t + j] = p[i * t + j] * (g[i * t + j] - dot) }
    }
}
