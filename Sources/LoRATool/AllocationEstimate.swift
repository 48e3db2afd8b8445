import LoRAKit

/// The bytes each command's computation allocates at its peak, from its flags or the headers of
/// its files, for ``MemoryBudget``. Counted in `Double` so that no size overflows, and on the
/// generous side: the large buffers each computation holds at once, times what they are stored in.
enum AllocationEstimate {
    /// `lora merge`: the adapter's factors in Double, every merged weight in the base's dtype
    /// (kept until the file is written), and W, ΔW and W' in Double for the largest weight.
    static func merge(base: SafetensorsFile, adapterWeights: SafetensorsFile) -> Double {
        let names = Set(adapterWeights.tensorNames.compactMap { PEFTKeys.parse($0).map { PEFTKeys.baseWeight($0.modulePath) } })
        let weights = base.tensors.filter { names.contains($0.name) }
        let factors = adapterWeights.tensors.reduce(0.0) { $0 + elements($1) }
        return 8 * factors + weights.reduce(0.0) { $0 + elements($1) * Double($1.dtype.byteCount) }
            + 32 * (weights.map(elements).max() ?? 0)
    }

    /// `lora extract`: per differing weight `d×k` (`p = min(d, k)`), tuned, base and ΔW in Double,
    /// the SVD's U, Vᵀ and workspace and B·A for the error; plus every module's factors at up to
    /// full rank, kept until the adapter is written.
    static func extract(tuned: SafetensorsFile) -> Double {
        var factors = 0.0, largest = 0.0
        for info in tuned.tensors where info.shape.count == 2 && info.dtype.isConvertible {
            let (d, k) = (Double(info.shape[0]), Double(info.shape[1]))
            let p = min(d, k)
            factors += 16 * p * (d + k)
            largest = max(largest, 8 * (5 * d * k + p * (d + k) + 4 * p * p))
        }
        return factors + largest
    }

    /// `lora svd-table` on an `m×n` matrix: the matrix in Double (and a Float copy), LAPACK's copy
    /// and workspace, U and Vᵀ, and the reconstruction and difference of each row's error.
    static func svd(rows m: Int, columns n: Int) -> Double {
        let (m, n) = (Double(m), Double(n))
        let p = min(m, n)
        return 8 * (4.5 * m * n + p * (m + n) + 4 * p * p + 10 * p)
    }

    /// `lora bench`'s largest case (Float): W and its copies (merged, stacked `[W; A]`, the merge
    /// scratch), X, the five outputs, the factors; and the per-round timings.
    static func bench(sizes: [Int], tokens: [Int], ranks: [Int], rounds: Int) -> Double {
        let d = Double(sizes.max() ?? 0), n = Double(tokens.max() ?? 0), r = Double(ranks.max() ?? 0)
        return 4 * (5 * d * d + (d + r) * d + n * d + 5 * n * (d + r) + 6 * r * 2 * d) + 8 * 16 * Double(rounds)
    }

    /// `lora train` (Float): the data set (inputs, targets and the noise drawn for them), the
    /// blocks' weights (attention 4d², MLP 8d²) with gradients and Adam's two moments, a gradient
    /// copy per replica, and per batch the activations every block keeps for the backward pass
    /// (about 24 values per token and width, plus the attention weights, T² per head and sequence).
    static func train(
        samples: Int, sequenceLength: Int, features: Int, heads: Int, depth: Int, batchSize: Int, replicas: Int, rank: Int
    ) -> Double {
        let (t, d, h, layers) = (Double(sequenceLength), Double(features), Double(heads), Double(depth))
        let batch = Double(min(batchSize, samples))
        let data = 3 * Double(samples) * t * d
        let weights = layers * (12 * d * d + 12 * Double(rank) * 2 * d)
        let activations = layers * (batch * t * 24 * d + 3 * batch * h * t * t)
        return 4 * (data + weights * (4 + 2 * Double(replicas)) + activations)
    }

    private static func elements(_ info: TensorInfo) -> Double {
        info.shape.reduce(1.0) { $0 * Double($1) }
    }
}
