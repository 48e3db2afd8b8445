import Foundation
import Reporting

/// What ``MixedBatchBenchmark`` measured for one case. Times are medians in milliseconds; ratios
/// (to the merged forward) are medians of per-round ratios.
public struct MixedBatchResult: Codable, Sendable, Equatable {
    /// `d = k`.
    public var features: Int
    /// Rows `n` of the batch.
    public var tokens: Int
    /// Each adapter's rank `r`.
    public var rank: Int
    /// Adapters `K`, the rows split evenly between them.
    public var adapters: Int
    /// One forward with one adapter merged.
    public var mergedMilliseconds: Double
    /// The mixed-batch forward, each adapter's rows contiguous.
    public var mixedMilliseconds: Double
    /// The mixed-batch forward with row `i` on adapter `i mod K` (gathered rows).
    public var interleavedMilliseconds: Double
    /// PEFT's per-adapter loop.
    public var peftLoopMilliseconds: Double
    /// mixed / merged.
    public var mixedRatio: Double
    /// The quartiles of the per-round mixed ratios.
    public var mixedRatioQuartiles: ClosedRange<Double>
    /// interleaved / merged.
    public var interleavedRatio: Double
    /// PEFT loop / merged.
    public var peftLoopRatio: Double
    /// The quartiles of the per-round PEFT-loop ratios.
    public var peftLoopRatioQuartiles: ClosedRange<Double>
    /// Rows per second of each.
    public var mergedTokensPerSecond: Double
    public var mixedTokensPerSecond: Double
    public var peftLoopTokensPerSecond: Double
    /// `‖mixed − PEFT loop‖_F / ‖PEFT loop‖_F`: both compute the same outputs.
    public var relativeDifferenceFromPEFTLoop: Double

    enum CodingKeys: String, CodingKey {
        case features = "d", tokens, rank, adapters
        case mergedMilliseconds = "merged_ms", mixedMilliseconds = "mixed_ms", interleavedMilliseconds = "mixed_interleaved_ms"
        case peftLoopMilliseconds = "peft_loop_ms", mixedRatio = "mixed_ratio", mixedRatioQuartiles = "mixed_ratio_quartiles"
        case interleavedRatio = "mixed_interleaved_ratio", peftLoopRatio = "peft_loop_ratio"
        case peftLoopRatioQuartiles = "peft_loop_ratio_quartiles"
        case mergedTokensPerSecond = "merged_tokens_per_second", mixedTokensPerSecond = "mixed_tokens_per_second"
        case peftLoopTokensPerSecond = "peft_loop_tokens_per_second"
        case relativeDifferenceFromPEFTLoop = "relative_difference_from_peft_loop"
    }
}

/// A `lora bench --adapters` run: the BLAS set-up and one result per case. Encodes the
/// ``BLASSetup`` keys beside `rounds` and `cases`.
public struct MixedBatchReport: Codable, Sendable, Equatable {
    public var blas: BLASSetup
    public var rounds: Int
    public var cases: [MixedBatchResult]

    public init(blas: BLASSetup, rounds: Int, cases: [MixedBatchResult]) {
        (self.blas, self.rounds, self.cases) = (blas, rounds, cases)
    }

    enum CodingKeys: String, CodingKey { case rounds, cases }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        blas = try BLASSetup(from: decoder)
        rounds = try container.decode(Int.self, forKey: .rounds)
        cases = try container.decode([MixedBatchResult].self, forKey: .cases)
    }

    public func encode(to encoder: any Encoder) throws {
        try blas.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rounds, forKey: .rounds)
        try container.encode(cases, forKey: .cases)
    }
}

extension MixedBatchReport: TableReport {
    public func text() -> String {
        (heading + [table.aligned(rightAligned: Set(table.header.indices))]).joined(separator: "\n")
    }

    public func markdown() -> String {
        (heading + ["", table.markdown(rightAligned: Set(table.header.indices))]).joined(separator: "\n")
    }

    /// One row per case under the JSON keys, quartiles split into `_q1` and `_q3` columns.
    public func csv() -> String {
        let columns: [(key: String, value: (MixedBatchResult) -> Double)] = [
            ("d", { Double($0.features) }), ("tokens", { Double($0.tokens) }), ("rank", { Double($0.rank) }),
            ("adapters", { Double($0.adapters) }), ("merged_ms", \.mergedMilliseconds), ("mixed_ms", \.mixedMilliseconds),
            ("mixed_interleaved_ms", \.interleavedMilliseconds), ("peft_loop_ms", \.peftLoopMilliseconds),
            ("mixed_ratio", \.mixedRatio), ("mixed_ratio_q1", \.mixedRatioQuartiles.lowerBound),
            ("mixed_ratio_q3", \.mixedRatioQuartiles.upperBound), ("mixed_interleaved_ratio", \.interleavedRatio),
            ("peft_loop_ratio", \.peftLoopRatio), ("peft_loop_ratio_q1", \.peftLoopRatioQuartiles.lowerBound),
            ("peft_loop_ratio_q3", \.peftLoopRatioQuartiles.upperBound), ("merged_tokens_per_second", \.mergedTokensPerSecond),
            ("mixed_tokens_per_second", \.mixedTokensPerSecond), ("peft_loop_tokens_per_second", \.peftLoopTokensPerSecond),
            ("relative_difference_from_peft_loop", \.relativeDifferenceFromPEFTLoop),
        ]
        return TextTable(header: columns.map(\.key), rows: cases.map { result in columns.map { "\($0.value(result))" } }).csv()
    }

    private var heading: [String] {
        [
            "Mixed-batch LoRA serving, Float, \(blas.threads) BLAS thread\(blas.threads == 1 ? "" : "s") (\(blas.configuration); core \(blas.core), \(blas.coreChoice))",
            "rows split evenly between K adapters; ratios to one merged forward, medians (and quartiles) of \(rounds) interleaved rounds",
            "mixed: one base product, then each adapter's X[R]·Aᵀ and += s·T·Bᵀ on its rows in place; interleaved: row i on adapter i mod K (gathered);",
            "PEFT loop: PEFT 0.21's _mixed_batch_forward, per adapter x[idx], lora_A, lora_B, * scaling, result[idx] +=",
        ]
    }

    private var table: TextTable {
        let columns: [(title: String, value: (MixedBatchResult) -> String)] = [
            ("d×k", { "\($0.features)×\($0.features)" }), ("n", { "\($0.tokens)" }), ("r", { "\($0.rank)" }), ("K", { "\($0.adapters)" }),
            ("merged ms", { String(format: "%.2f", $0.mergedMilliseconds) }),
            ("mixed ms", { String(format: "%.2f", $0.mixedMilliseconds) }),
            ("mixed ratio", { String(format: "%.4f", $0.mixedRatio) }),
            ("mixed quartiles", { String(format: "%.3f–%.3f", $0.mixedRatioQuartiles.lowerBound, $0.mixedRatioQuartiles.upperBound) }),
            ("interleaved ratio", { String(format: "%.4f", $0.interleavedRatio) }),
            ("PEFT loop ms", { String(format: "%.2f", $0.peftLoopMilliseconds) }),
            ("PEFT loop ratio", { String(format: "%.4f", $0.peftLoopRatio) }),
            ("PEFT quartiles", { String(format: "%.3f–%.3f", $0.peftLoopRatioQuartiles.lowerBound, $0.peftLoopRatioQuartiles.upperBound) }),
            ("merged tok/s", { String(format: "%.0f", $0.mergedTokensPerSecond) }),
            ("mixed tok/s", { String(format: "%.0f", $0.mixedTokensPerSecond) }),
            ("PEFT loop tok/s", { String(format: "%.0f", $0.peftLoopTokensPerSecond) }),
            ("mixed vs PEFT", { String(format: "%.1e", $0.relativeDifferenceFromPEFTLoop) }),
        ]
        return TextTable(header: columns.map(\.title), rows: cases.map { result in columns.map { $0.value(result) } })
    }
}
