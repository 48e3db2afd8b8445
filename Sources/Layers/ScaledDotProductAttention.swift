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
    private var probabilities: [Scalar] = []
    private var scratch: [Scalar] = []
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
        let (batch, headSize) = (n / t, d / heads)
        let scale = 1 / Scalar(headSize).squareRoot()
        if probabilities.count != batch * heads * t * t {
            probabilities = Array(repeating: 0, count: batch * heads * t * t)
        }
        var output = Matrix<Scalar>.uninitialized(n, d)
        let (heads, isCausal) = (self.heads, self.isCausal)
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    output.withUnsafeMutableBufferPointer { o in
                        probabilities.withUnsafeMutableBufferPointer { p in
                            splitSequences(batch, t, d) { sequences in
                                for b in sequences {
                                    for head in 0..<heads {
                                        let offset = b * t * d + head * headSize
                                        let pBlock = p.baseAddress! + (b * heads + head) * t * t
                                        Scalar._gemm(
                                            .none, .transposed, m: t, n: t, k: headSize, alpha: scale,
                                            a: q.baseAddress! + offset, lda: d, b: k.baseAddress! + offset, ldb: d,
                                            beta: 0, c: pBlock, ldc: t)
                                        softmaxRows(pBlock, size: t, isCausal: isCausal)
                                        Scalar._gemm(
                                            .none, .none, m: t, n: headSize, k: t, alpha: 1,
                                            a: pBlock, lda: t, b: v.baseAddress! + offset, ldb: d,
                                            beta: 0, c: o.baseAddress! + offset, ldc: d)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
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
        let (batch, headSize, heads) = (n / t, d / heads, heads)
        let scale = 1 / Scalar(headSize).squareRoot()
        if scratch.count != batch * t * t { scratch = Array(repeating: 0, count: batch * t * t) }
        var dq = Matrix<Scalar>.uninitialized(n, d)
        var dk = Matrix<Scalar>.uninitialized(n, d)
        var dv = Matrix<Scalar>.uninitialized(n, d)
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    outputGradient.withUnsafeBufferPointer { dOut in
                        probabilities.withUnsafeBufferPointer { p in
                            scratch.withUnsafeMutableBufferPointer { dS in
                                dq.withUnsafeMutableBufferPointer { dqBuffer in
                                    dk.withUnsafeMutableBufferPointer { dkBuffer in
                                        dv.withUnsafeMutableBufferPointer { dvBuffer in
                                            splitSequences(batch, t, d) { sequences in
                                                for b in sequences {
                                                    for head in 0..<heads {
                                                        let offset = b * t * d + head * headSize
                                                        let ds = dS.baseAddress! + b * t * t
                                                        let pBlock = p.baseAddress! + (b * heads + head) * t * t
                                                        // ∂P = ∂O·Vᵀ
                                                        Scalar._gemm(
                                                            .none, .transposed, m: t, n: t, k: headSize, alpha: 1,
                                                            a: dOut.baseAddress! + offset, lda: d,
                                                            b: v.baseAddress! + offset, ldb: d, beta: 0, c: ds, ldc: t)
                                                        // ∂V = Pᵀ·∂O
                                                        Scalar._gemm(
                                                            .transposed, .none, m: t, n: headSize, k: t, alpha: 1,
                                                            a: pBlock, lda: t, b: dOut.baseAddress! + offset, ldb: d,
                                                            beta: 0, c: dvBuffer.baseAddress! + offset, ldc: d)
                                                        softmaxBackwardRows(probabilities: pBlock, gradient: ds, size: t)
                                                        // ∂Q = ∂S·K·scale, ∂K = ∂Sᵀ·Q·scale
                                                        Scalar._gemm(
                                                            .none, .none, m: t, n: headSize, k: t, alpha: scale,
                                                            a: ds, lda: t, b: k.baseAddress! + offset, ldb: d,
                                                            beta: 0, c: dqBuffer.baseAddress! + offset, ldc: d)
                                                        Scalar._gemm(
                                                            .transposed, .none, m: t, n: headSize, k: t, alpha: scale,
                                                            a: ds, lda: t, b: q.baseAddress! + offset, ldb: d,
                                                            beta: 0, c: dkBuffer.baseAddress! + offset, ldc: d)
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
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
