/// One shape of the LoRA benchmark: `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ` with `X: n×k`, `W: d×k`,
/// `A: r×k`, `B: d×r`.
public struct LoRABenchmarkCase: Sendable, Hashable, CustomStringConvertible {
    /// Output features `d`.
    public var outFeatures: Int
    /// Input features `k`.
    public var inFeatures: Int
    /// Tokens `n`, the rows of `X`.
    public var tokens: Int
    /// The adapter rank `r`.
    public var rank: Int

    public init(outFeatures: Int, inFeatures: Int, tokens: Int, rank: Int) {
        precondition(
            outFeatures > 0 && inFeatures > 0 && tokens > 0 && rank > 0,
            "LoRABenchmarkCase: d \(outFeatures), k \(inFeatures), n \(tokens), r \(rank) must all be positive")
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.tokens = tokens
        self.rank = rank
    }

    /// The cost of serving unmerged if time were proportional to FLOPs:
    /// `1 + r·(d + k)/(d·k)` (the adapter's `2n·r·(d + k)` over the base's `2n·d·k`).
    public var idealRatio: Double { 1 + adapterFLOPShare }

    /// `r·(d + k)/(d·k)`: the adapter path's FLOPs as a fraction of the merged forward's.
    public var adapterFLOPShare: Double {
        Double(rank) * Double(outFeatures + inFeatures) / (Double(outFeatures) * Double(inFeatures))
    }

    /// FLOPs of the merged forward `X·Wᵀ`: `2·n·d·k`.
    public var mergedFLOPs: Double { 2 * Double(tokens) * Double(outFeatures) * Double(inFeatures) }

    public var description: String { "d=\(outFeatures) k=\(inFeatures) n=\(tokens) r=\(rank)" }

    /// Every combination of square layers `d = k ∈ sizes`, `n ∈ tokens`, `r ∈ ranks`, grouped by
    /// layer size, then tokens, then rank.
    public static func grid(sizes: [Int], tokens: [Int], ranks: [Int]) -> [LoRABenchmarkCase] {
        sizes.flatMap { size in
            tokens.flatMap { n in
                ranks.map { LoRABenchmarkCase(outFeatures: size, inFeatures: size, tokens: n, rank: $0) }
            }
        }
    }

    /// The standard grid of `lora bench`: `d = k ∈ {768, 4096}`, `n ∈ {1, 32, 512}`, `r ∈ {4, 8, 16, 64}`.
    public static let standardGrid = grid(sizes: [768, 4096], tokens: [1, 32, 512], ranks: [4, 8, 16, 64])
}
