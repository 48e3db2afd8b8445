import Foundation

extension LoRABenchmarkReport {
    /// The report as a plain-text table, one row per case, with a header naming the threads.
    public func table() -> String {
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
            ("merge ms", { Self.milliseconds($0.mergeMilliseconds) }),
            ("unmerge ms", { Self.milliseconds($0.unmergeMilliseconds) }),
            ("rank-r GEMM ms", { Self.milliseconds($0.rankUpdateMilliseconds) }),
        ]
        let rows = [columns.map(\.title)] + cases.map { result in columns.map { $0.value(result) } }
        let widths = columns.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let lines = rows.map { row in
            zip(row, widths).map { String(repeating: " ", count: $1 - $0.count) + $0 }.joined(separator: "  ")
        }
        let header = [
            "LoRA forward Y = X·Wᵀ + s·(X·Aᵀ)·Bᵀ, Float, \(threads) BLAS thread\(threads == 1 ? "" : "s") (\(blasConfiguration))",
            String(format: "raw sgemm on the largest case: %.1f GFLOP/s; ratio = unmerged/merged, median (and quartiles) of %d interleaved rounds", rawSGEMMGFLOPS, rounds),
            "stacked = the serving layout [W; A]: one GEMM for [Y | T], then Y += s·T·Bᵀ (Y: the first d columns of an n×(d+r) output)",
        ]
        return (header + lines).joined(separator: "\n")
    }

    /// The report as JSON with the keys `threads`, `blas`, `raw_sgemm_gflops` and `cases`
    /// (see ``LoRABenchmarkResult`` for the case keys), pretty-printed with sorted keys.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    private static func quartiles(_ range: ClosedRange<Double>) -> String {
        String(format: "%.3f–%.3f", range.lowerBound, range.upperBound)
    }

    /// Milliseconds with three significant decimals at every magnitude.
    private static func milliseconds(_ value: Double) -> String {
        String(format: value >= 100 ? "%.1f" : value >= 1 ? "%.3f" : "%.4f", value)
    }
}
