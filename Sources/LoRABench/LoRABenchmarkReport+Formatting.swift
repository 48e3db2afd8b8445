import Foundation
import Reporting

extension LoRABenchmarkReport: TableReport {
    /// The heading lines, then one aligned row per case.
    public func text() -> String {
        (heading + [readableTable.aligned(rightAligned: Set(readableTable.header.indices))]).joined(separator: "\n")
    }

    /// The heading lines, then a markdown table of the cases.
    public func markdown() -> String {
        (heading + ["", readableTable.markdown(rightAligned: Set(readableTable.header.indices))]).joined(separator: "\n")
    }

    /// One row per case under the JSON keys, quartiles split into `_q1` and `_q3` columns.
    public func csv() -> String {
        let columns: [(key: String, value: (LoRABenchmarkResult) -> Double?)] = [
            ("d_out", { Double($0.outFeatures) }), ("d_in", { Double($0.inFeatures) }), ("tokens", { Double($0.tokens) }),
            ("rank", { Double($0.rank) }), ("merged_ms", \.mergedMilliseconds), ("unmerged_ms", \.unmergedMilliseconds),
            ("ratio", \.ratio), ("ratio_q1", \.ratioQuartiles.lowerBound), ("ratio_q3", \.ratioQuartiles.upperBound),
            ("stacked_ms", \.stackedMilliseconds), ("stacked_ratio", \.stackedRatio),
            ("stacked_ratio_q1", \.stackedRatioQuartiles.lowerBound), ("stacked_ratio_q3", \.stackedRatioQuartiles.upperBound),
            ("ideal_ratio", \.idealRatio), ("raw_ms", \.rawMilliseconds), ("merged_fraction_of_raw", \.mergedFractionOfRaw),
            ("merged_gflops", \.mergedGFLOPS), ("adapter_ms", \.adapterMilliseconds),
            ("adapter_memory_floor_ms", \.adapterMemoryFloorMilliseconds), ("merge_ms", \.mergeMilliseconds),
            ("unmerge_ms", \.unmergeMilliseconds), ("rank_update_ms", \.rankUpdateMilliseconds),
        ]
        let rows = cases.map { result in
            columns.map { column in
                guard let value = column.value(result) else { return "" }
                return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
            }
        }
        return TextTable(header: columns.map(\.key), rows: rows).csv()
    }

    private var heading: [String] {
        [
            "LoRA forward Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ, Float, \(threads) BLAS thread\(threads == 1 ? "" : "s") (\(blas.configuration); core \(blas.core), \(blas.coreChoice))",
            String(format: "raw sgemm on the largest case: %.1f GFLOP/s; ratio = unmerged/merged, median (and quartiles) of %ld interleaved rounds", rawSGEMMGFLOPS, rounds),
            "stacked = the serving layout [W; A]: one GEMM for [Y | T], then Y += s·T·Bᵀ (Y: the first d columns of an n×(d+r) output)",
            "memory floor = the adapter path's bytes (read X, read and write Y) moved with no arithmetic, same rows and threads",
        ]
    }

    /// The cases with times in milliseconds to three significant decimals and ratios to four.
    private var readableTable: TextTable {
        let columns: [(title: String, value: (LoRABenchmarkResult) -> String)] = [
            ("d×k", { "\($0.outFeatures)×\($0.inFeatures)" }),
            ("n", { "\($0.tokens)" }),
            ("r", { "\($0.rank)" }),
            ("merged ms", { Self.milliseconds($0.mergedMilliseconds) }),
            ("unmerged ms", { Self.milliseconds($0.unmergedMilliseconds) }),
            ("ratio", { String(format: "%.4f", $0.ratio) }),
            ("quartiles", { Self.quartiles($0.ratioQuartiles) }),
            ("stacked ms", { Self.milliseconds($0.stackedMilliseconds) }),
            ("stacked ratio", { String(format: "%.4f", $0.stackedRatio) }),
            ("stacked quartiles", { Self.quartiles($0.stackedRatioQuartiles) }),
            ("ideal", { String(format: "%.4f", $0.idealRatio) }),
            ("GFLOP/s", { String(format: "%.1f", $0.mergedGFLOPS) }),
            ("merged/raw", { String(format: "%.3f", $0.mergedFractionOfRaw) }),
            ("adapter ms", { Self.milliseconds($0.adapterMilliseconds) }),
            ("adapter/FLOP share", { String(format: "%.2f", $0.adapterCostOverFLOPShare) }),
            ("memory floor ms", { $0.adapterMemoryFloorMilliseconds.map(Self.milliseconds) ?? "–" }),
            ("adapter/floor", { $0.adapterCostOverMemoryFloor.map { String(format: "%.2f", $0) } ?? "–" }),
            ("merge ms", { Self.milliseconds($0.mergeMilliseconds) }),
            ("unmerge ms", { Self.milliseconds($0.unmergeMilliseconds) }),
            ("rank-r GEMM ms", { Self.milliseconds($0.rankUpdateMilliseconds) }),
        ]
        return TextTable(header: columns.map(\.title), rows: cases.map { result in columns.map { $0.value(result) } })
    }

    private static func quartiles(_ range: ClosedRange<Double>) -> String {
        String(format: "%.3f–%.3f", range.lowerBound, range.upperBound)
    }

    /// Milliseconds with three significant decimals at every magnitude.
    private static func milliseconds(_ value: Double) -> String {
        String(format: value >= 100 ? "%.1f" : value >= 1 ? "%.3f" : "%.4f", value)
    }
}
