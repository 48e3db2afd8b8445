import LinearAlgebra

extension GroupedQueryAttention {
    /// `Y: m×d` for `m` new rows of one sequence at positions `p ..< p+m`, `p = cache.count`:
    /// `Q = RoPE(X·W_qᵀ)`, and `K = RoPE(X·W_kᵀ)`, `V = X·W_vᵀ` appended to `cache`; the rows
    /// attend causally to all `p+m` cached positions (``ScaledDotProductAttention/forward(queries:cache:)``),
    /// `Y = A·W_oᵀ`. Inference only: it keeps nothing, and leaves no state for ``backward(_:)``.
    public func forward(_ input: Matrix<Scalar>, cache: inout KeyValueCache<Scalar>) -> Matrix<Scalar> {
        let start = cache.count
        var queries = queryProjection.apply(input)
        var keys = keyProjection.apply(input)
        rotary.apply(to: &queries, heads: heads, positions: { start + $0 })
        rotary.apply(to: &keys, heads: keyValueHeads, positions: { start + $0 })
        cache.append(keys: keys, values: valueProjection.apply(input))
        let attention = ScaledDotProductAttention<Scalar>(heads: heads, keyValueHeads: keyValueHeads, isCausal: true)
        return outputProjection.apply(attention.forward(queries: queries, cache: cache))
    }
}
