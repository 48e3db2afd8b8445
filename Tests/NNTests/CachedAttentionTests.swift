import LinearAlgebra
import NN
import Testing

@Suite("Attention over a key/value cache")
struct CachedAttentionTests {
    /// Random `Q: T×(h·e)`, `K, V: T×(g·e)` for 6 query heads sharing 2 of size 8.
    func inputs(_ t: Int) -> (Matrix<Double>, Matrix<Double>, Matrix<Double>) {
        var generator = SeededGenerator(seed: 11)
        return (Matrix.randomNormal(rows: t, columns: 48, using: &generator),
                Matrix.randomNormal(rows: t, columns: 16, using: &generator),
                Matrix.randomNormal(rows: t, columns: 16, using: &generator))
    }

    @Test("a prompt in one call, in uneven chunks, then single rows equals causal batched attention", arguments: [150, 7])
    func equalsBatched(t: Int) {
        let (q, k, v) = inputs(t)
        var batched = ScaledDotProductAttention<Double>(heads: 6, keyValueHeads: 2, isCausal: true)
        let expected = batched.forward(queries: q, keys: k, values: v, sequenceLength: t)
        let attention = ScaledDotProductAttention<Double>(heads: 6, keyValueHeads: 2, isCausal: true)
        for cuts in [[t], [t / 3, t - t / 3 - 1, 1], Array(repeating: 1, count: t)] {
            var cache = KeyValueCache<Double>(capacity: 8, width: 16)
            var rows: [Double] = []
            var start = 0
            for count in cuts where count > 0 {
                let range = start..<(start + count)
                cache.append(keys: k[rows: range], values: v[rows: range])
                rows += attention.forward(queries: q[rows: range], cache: cache).elements
                start += count
            }
            #expect(start == t && cache.count == t)
            let result = Matrix(rows: t, columns: 48, elements: rows)
            #expect(result.maxAbsoluteDifference(expected) < 1e-12, "cuts \(cuts.count)")
        }
    }

    static func float(_ m: Matrix<Double>) -> Matrix<Float> {
        Matrix(rows: m.rows, columns: m.columns, elements: m.elements.map { Float($0) })
    }

    /// A decode step in `Float` (on AVX-512 the one-row kernel: grouped heads in registers, four
    /// positions a pass) against the same step in `Double`, for head sizes it batches (64, 128),
    /// runs one head at a time (48) or leaves to the portable loop (8), and cache lengths around
    /// its four-position steps.
    @Test("one Float row over the cache equals the Double computation", arguments: [(9, 3, 64), (4, 2, 128), (5, 5, 48), (6, 2, 8)])
    func floatDecodeRow(heads: Int, groups: Int, e: Int) {
        var generator = SeededGenerator(seed: 21)
        for total in [1, 2, 5, 67] {
            let q = Matrix<Double>.randomNormal(rows: 1, columns: heads * e, using: &generator)
            let k = Matrix<Double>.randomNormal(rows: total, columns: groups * e, using: &generator) * 2
            let v = Matrix<Double>.randomNormal(rows: total, columns: groups * e, using: &generator)
            var exact = KeyValueCache<Double>(capacity: total, width: groups * e)
            exact.append(keys: k, values: v)
            var cache = KeyValueCache<Float>(capacity: total + 3, width: groups * e)
            cache.append(keys: Self.float(k), values: Self.float(v))
            let expected = ScaledDotProductAttention<Double>(heads: heads, keyValueHeads: groups, isCausal: true)
                .forward(queries: q, cache: exact)
            let result = ScaledDotProductAttention<Float>(heads: heads, keyValueHeads: groups, isCausal: true)
                .forward(queries: Self.float(q), cache: cache)
            #expect(Matrix(rows: 1, columns: heads * e, elements: result.elements.map { Double($0) }).maxAbsoluteDifference(expected) < 1e-5, "h \(heads), g \(groups), e \(e), \(total) positions")
        }
    }

    @Test("appending keeps every row and grows past the capacity")
    func cacheGrowth() {
        let (_, k, v) = inputs(10)
        var cache = KeyValueCache<Double>(capacity: 3, width: 16)
        cache.append(keys: k[rows: 0..<2], values: v[rows: 0..<2])
        cache.append(keys: k[rows: 2..<10], values: v[rows: 2..<10])
        #expect(cache.count == 10 && cache.capacity >= 10)
        #expect(cache.keys[rows: 0..<10] == k && cache.values[rows: 0..<10] == v)
        cache.removeAll()
        #expect(cache.count == 0)
    }
}
