internal import CNNKernels
import LinearAlgebra

/// The keys (after RoPE) and values one attention layer has seen, for incremental decoding:
/// rows `0..<count` of `K, V: capacity×(g·e)` are positions `0..<count` of one sequence.
///
/// Storage for `capacity` positions is allocated up front (size it to prompt + new tokens);
/// appending past it grows the storage by doubling.
public struct KeyValueCache<Scalar: MatrixScalar>: Sendable {
    /// `K`: row `p` is the rotated key of position `p` (rows past ``count`` are unused).
    public private(set) var keys: Matrix<Scalar>
    /// `V`: row `p` is the value of position `p`.
    public private(set) var values: Matrix<Scalar>
    /// Positions held.
    public private(set) var count = 0

    /// An empty cache of `capacity` positions of `width = g·e` columns.
    public init(capacity: Int, width: Int) {
        precondition(capacity > 0 && width > 0, "KeyValueCache: capacity \(capacity), width \(width)")
        keys = .zeros(capacity, width)
        values = .zeros(capacity, width)
    }

    /// Positions that fit before the storage grows.
    public var capacity: Int { keys.rows }
    /// Columns `g·e`.
    public var width: Int { keys.columns }

    /// Appends `m` positions: `newKeys, newValues: m×(g·e)`.
    public mutating func append(keys newKeys: Matrix<Scalar>, values newValues: Matrix<Scalar>) {
        precondition(
            newKeys.columns == width && newValues.columns == width && newKeys.rows == newValues.rows,
            "KeyValueCache.append: K \(newKeys.shapeDescription), V \(newValues.shapeDescription), cache width \(width)")
        let needed = count + newKeys.rows
        if needed > capacity { grow(to: max(needed, 2 * capacity)) }
        let start = count * width
        keys.withUnsafeMutableBufferPointer { k in
            newKeys.withUnsafeBufferPointer { (k.baseAddress! + start).update(from: $0.baseAddress!, count: $0.count) }
        }
        values.withUnsafeMutableBufferPointer { v in
            newValues.withUnsafeBufferPointer { (v.baseAddress! + start).update(from: $0.baseAddress!, count: $0.count) }
        }
        count = needed
    }

    /// Forgets every position (the storage is kept).
    public mutating func removeAll() { count = 0 }

    private mutating func grow(to rows: Int) {
        let (used, width) = (count * self.width, self.width)
        var (k, v) = (Matrix<Scalar>.zeros(rows, width), Matrix<Scalar>.zeros(rows, width))
        k.withUnsafeMutableBufferPointer { to in keys.withUnsafeBufferPointer { to.baseAddress!.update(from: $0.baseAddress!, count: used) } }
        v.withUnsafeMutableBufferPointer { to in values.withUnsafeBufferPointer { to.baseAddress!.update(from: $0.baseAddress!, count: used) } }
        (keys, values) = (k, v)
    }
}

extension ScaledDotProductAttention {
    /// Causal attention of `m` new rows at positions `p ..< p+m` (`p = cache.count − m`: the
    /// cache already holds their keys and values) over positions `0 ..< p+m`: for query head `j`
    /// of group `j / (h/g)`, `S = Q_j·K_gᵀ/√e` (`m×(p+m)`, entries past `p+i` in row `i` masked),
    /// `O_j = softmax(S)·V_g`. `Q: m×(h·e)`, result `m×(h·e)`. Inference only (no backward).
    /// Rows go in blocks of 64, each multiplying only the positions its last row sees, which
    /// halves a long prompt's work above the diagonal; the heads are split over the BLAS
    /// threads, each head's GEMMs on one thread. One `Float` row (a decode step) runs as one
    /// AVX-512 kernel for all heads where that build runs (`nn_attention_row_f32`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(queries: Matrix<Scalar>, cache: KeyValueCache<Scalar>) -> Matrix<Scalar> {
        let (m, d, total) = (queries.rows, queries.columns, cache.count)
        let (heads, groups) = (self.heads, self.keyValueHeads)
        precondition(d % heads == 0 && d / heads * groups == cache.width && m <= total,
                     "Attention: Q \(queries.shapeDescription) does not fit a cache of \(total) positions × \(cache.width) for \(heads) heads sharing \(groups)")
        let (e, start, perGroup) = (d / heads, total - m, heads / groups)
        let blockRows = min(m, 64)
        let scale = 1 / Scalar(e).squareRoot()
        var output = Matrix<Scalar>.unsafeUninitialized(m, d)
        if m == 1, Scalar.self == Float.self, FloatKernelBuild.best == .avx512 {
            decodeRow(queries, cache: cache, scale: scale, into: &output)
            return output
        }
        var scores = Matrix<Scalar>.unsafeUninitialized(heads * blockRows, total)
        let threads = BLAS.threadCount
        Matrix.withUnsafeViews(of: [queries, cache.keys, cache.values]) { inputs in
            output.withUnsafeMutableView { out in
                scores.withUnsafeMutableView { allScores in
                    BLAS.withThreadCount(1) {
                        // ~2¹⁶ multiply-adds per head before a second thread pays for itself.
                        forEachChunk(of: heads, minimumChunk: max(1, (1 << 16) / max(1, m * total * e)), threads: threads) { chunk in
                            for j in chunk {
                                let (q, kv) = ((j * e)..<((j + 1) * e), ((j / perGroup) * e)..<((j / perGroup + 1) * e))
                                for r0 in stride(from: 0, to: m, by: blockRows) {
                                    let r1 = min(r0 + blockRows, m)
                                    let seen = start + r1
                                    let s = allScores[rows: (j * blockRows)..<(j * blockRows + r1 - r0)][columns: 0..<seen]
                                    s.gemm(inputs[0][rows: r0..<r1][columns: q], inputs[1][rows: 0..<seen][columns: kv],
                                           transposeB: .transposed, alpha: scale)
                                    for i in r0..<r1 {
                                        softmaxPrefix(s.base + (i - r0) * s.rowStride, visible: start + i + 1, count: seen)
                                    }
                                    out[rows: r0..<r1][columns: q].gemm(s.readOnly, inputs[2][rows: 0..<seen][columns: kv])
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// ``forward(queries:cache:)`` for one `Float` row in the AVX-512 kernel.
    private func decodeRow(_ queries: Matrix<Scalar>, cache: KeyValueCache<Scalar>, scale: Scalar, into output: inout Matrix<Scalar>) {
        let (total, e) = (cache.count, queries.columns / heads)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: heads * total) { scores in
            queries.withUnsafeBufferPointer { q in
                cache.keys.withUnsafeBufferPointer { k in
                    cache.values.withUnsafeBufferPointer { v in
                        output.withUnsafeMutableBufferPointer { o in
                            let float = { (p: UnsafeBufferPointer<Scalar>) in UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: Float.self) }
                            nn_attention_row_f32(
                                FloatKernelBuild.avx512.c, float(q), heads, keyValueHeads, e, float(k), float(v), cache.width, total,
                                unsafeBitCast(scale, to: Float.self), scores.baseAddress!,
                                UnsafeMutableRawPointer(o.baseAddress!).assumingMemoryBound(to: Float.self))
                        }
                    }
                }
            }
        }
    }
}
