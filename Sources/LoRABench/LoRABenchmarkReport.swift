/// What `lora bench` measured for one ``LoRABenchmarkCase``. Times are medians in milliseconds;
/// the ratios are medians of per-round ratios, so machine-wide slow phases cancel.
public struct LoRABenchmarkResult: Codable, Sendable, Equatable {
    /// Output features `d`.
    public var outFeatures: Int
    /// Input features `k`.
    public var inFeatures: Int
    /// Tokens `n`.
    public var tokens: Int
    /// Adapter rank `r`.
    public var rank: Int
    /// Merged forward `Y = X·W'ᵀ`, `W' = W + s·B·A`.
    public var mergedMilliseconds: Double
    /// Unmerged forward `Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ`.
    public var unmergedMilliseconds: Double
    /// Median over interleaved rounds of unmerged time / merged time.
    public var ratio: Double
    /// The lower and upper quartiles of the per-round ratios: the spread the median is drawn from.
    public var ratioQuartiles: ClosedRange<Double>
    /// The unmerged forward in the serving layout (``StackedLoRAWeights``): one GEMM for
    /// `[Y | T] = X·[W; A]ᵀ`, then `Y += s·T·Bᵀ`, with `Y` the first `d` columns of an `n×(d+r)` output.
    public var stackedMilliseconds: Double
    /// Median over the same rounds of stacked unmerged time / merged time.
    public var stackedRatio: Double
    /// The quartiles of the per-round stacked ratios.
    public var stackedRatioQuartiles: ClosedRange<Double>
    /// `1 + r·(d + k)/(d·k)`.
    public var idealRatio: Double
    /// A raw BLAS `sgemm` of `X·Wᵀ` (no LoRA code) timed in the same rounds.
    public var rawMilliseconds: Double
    /// Median over rounds of raw time / merged time: 1 means no overhead over BLAS.
    public var mergedFractionOfRaw: Double
    /// Merged forward throughput, `2·n·d·k` FLOPs per second, in GFLOP/s.
    public var mergedGFLOPS: Double
    /// The adapter path alone, `Y += s·(X·Aᵀ)·Bᵀ`.
    public var adapterMilliseconds: Double
    /// The adapter path's bytes moved with none of its arithmetic (``AdapterMemoryFloor``): read
    /// `X`, read and write `Y`, on the same rows and threads; nil where that pass does not run.
    public var adapterMemoryFloorMilliseconds: Double?
    /// `W ← W + s·B·A` in place.
    public var mergeMilliseconds: Double
    /// `W ← W − s·B·A` in place.
    public var unmergeMilliseconds: Double
    /// One raw rank-`r` GEMM `W += s·B·A` (`?gemm`, `β = 1`): the floor for merge and unmerge.
    public var rankUpdateMilliseconds: Double

    /// The adapter path's time as a multiple of its FLOP share of the merged forward:
    /// `(adapter / merged) / (r·(d + k)/(d·k))`; 1 would be as efficient as the base GEMM.
    public var adapterCostOverFLOPShare: Double {
        (adapterMilliseconds / mergedMilliseconds) / (idealRatio - 1)
    }

    /// The adapter path's time as a multiple of its memory floor: 1 would be as fast as moving its
    /// bytes with no arithmetic at all.
    public var adapterCostOverMemoryFloor: Double? {
        adapterMemoryFloorMilliseconds.map { adapterMilliseconds / $0 }
    }

    /// Merge time as a multiple of one raw rank-`r` GEMM into `W`.
    public var mergeOverRankUpdate: Double { mergeMilliseconds / rankUpdateMilliseconds }

    enum CodingKeys: String, CodingKey {
        case outFeatures = "d_out", inFeatures = "d_in", tokens, rank
        case mergedMilliseconds = "merged_ms", unmergedMilliseconds = "unmerged_ms"
        case ratio, ratioQuartiles = "ratio_quartiles", idealRatio = "ideal_ratio"
        case stackedMilliseconds = "stacked_ms", stackedRatio = "stacked_ratio", stackedRatioQuartiles = "stacked_ratio_quartiles"
        case rawMilliseconds = "raw_ms", mergedFractionOfRaw = "merged_fraction_of_raw"
        case mergedGFLOPS = "merged_gflops"
        case adapterMilliseconds = "adapter_ms", adapterMemoryFloorMilliseconds = "adapter_memory_floor_ms"
        case mergeMilliseconds = "merge_ms"
        case unmergeMilliseconds = "unmerge_ms", rankUpdateMilliseconds = "rank_update_ms"
    }
}

/// A whole `lora bench` run: the machine's BLAS set-up and one result per case. Encodes the
/// ``BLASSetup`` keys beside its own: `rounds`, `raw_sgemm_gflops` and `cases`.
public struct LoRABenchmarkReport: Codable, Sendable, Equatable {
    /// The BLAS set-up of every measurement.
    public var blas: BLASSetup
    /// Measured interleaved rounds per case.
    public var rounds: Int
    /// Raw BLAS `sgemm` throughput on the largest case (most FLOPs), in GFLOP/s.
    public var rawSGEMMGFLOPS: Double
    /// The results, in the order the cases were given.
    public var cases: [LoRABenchmarkResult]

    public init(blas: BLASSetup, rounds: Int, rawSGEMMGFLOPS: Double, cases: [LoRABenchmarkResult]) {
        self.blas = blas
        self.rounds = rounds
        self.rawSGEMMGFLOPS = rawSGEMMGFLOPS
        self.cases = cases
    }

    /// BLAS threads used for every measurement.
    public var threads: Int { blas.threads }

    enum CodingKeys: String, CodingKey {
        case rounds, rawSGEMMGFLOPS = "raw_sgemm_gflops", cases
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        blas = try BLASSetup(from: decoder)
        rounds = try container.decode(Int.self, forKey: .rounds)
        rawSGEMMGFLOPS = try container.decode(Double.self, forKey: .rawSGEMMGFLOPS)
        cases = try container.decode([LoRABenchmarkResult].self, forKey: .cases)
    }

    public func encode(to encoder: any Encoder) throws {
        try blas.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rounds, forKey: .rounds)
        try container.encode(rawSGEMMGFLOPS, forKey: .rawSGEMMGFLOPS)
        try container.encode(cases, forKey: .cases)
    }
}
