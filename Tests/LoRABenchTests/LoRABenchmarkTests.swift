import Foundation
import LinearAlgebra
import LoRA
@testable import LoRABench
import Testing

@Suite("LoRA benchmark runner, report and plot")
struct LoRABenchmarkTests {
    static let tiny = LoRABenchmark.Settings(warmUpRounds: 1, rounds: 3, minimumSampleMilliseconds: 0, mergeRounds: 2)

    @Test func idealRatioAndGrid() {
        let testCase = LoRABenchmarkCase(outFeatures: 4096, inFeatures: 4096, tokens: 512, rank: 16)
        #expect(abs(testCase.idealRatio - (1 + 16.0 * 8192 / (4096.0 * 4096))) < 1e-15)
        #expect(testCase.mergedFLOPs == 2 * 512 * 4096 * 4096)
        let grid = LoRABenchmarkCase.standardGrid
        #expect(grid.count == 2 * 3 * 4)
        #expect(Set(grid).count == grid.count)
        #expect(grid.first == LoRABenchmarkCase(outFeatures: 768, inFeatures: 768, tokens: 1, rank: 4))
    }

    @Test func runMeasuresEveryCase() throws {
        let cases = LoRABenchmarkCase.grid(sizes: [24], tokens: [1, 5], ranks: [2, 4])
        var seen: [Int] = []
        let report = LoRABenchmark(settings: Self.tiny).run(cases, threads: 1) { seen.append($0.rank) }
        #expect(report.threads == 1)
        #expect(seen == [2, 4, 2, 4])
        #expect(report.cases.map(\.tokens) == [1, 1, 5, 5])
        #expect(report.rawSGEMMGFLOPS > 0)
        for result in report.cases {
            let times = [
                result.mergedMilliseconds, result.unmergedMilliseconds, result.rawMilliseconds,
                result.adapterMilliseconds, result.mergeMilliseconds, result.unmergeMilliseconds,
                result.rankUpdateMilliseconds, result.stackedMilliseconds,
            ]
            #expect(times.allSatisfy { $0 > 0 && $0.isFinite })
            if AdapterMemoryFloor.isSupported {
                let floor = try #require(result.adapterMemoryFloorMilliseconds)
                #expect(floor > 0 && floor.isFinite && result.adapterCostOverMemoryFloor! > 0)
            } else {
                #expect(result.adapterMemoryFloorMilliseconds == nil)
            }
            #expect(result.ratio > 0 && result.mergedFractionOfRaw > 0 && result.mergedGFLOPS > 0)
            #expect(result.ratioQuartiles.contains(result.ratio))
            #expect(result.stackedRatioQuartiles.contains(result.stackedRatio) && result.stackedRatio > 0)
            #expect(result.idealRatio == 1 + Double(result.rank) * 48 / 576)
        }
    }

    @Test func jsonHasTheReportFields() throws {
        let report = LoRABenchmark(settings: Self.tiny).run(
            LoRABenchmarkCase.grid(sizes: [16], tokens: [3], ranks: [2]), threads: 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(object["raw_sgemm_gflops"] is Double)
        #expect(object["threads"] as? Int == 1)
        #expect(object["rounds"] as? Int == Self.tiny.rounds)
        let cases = try #require(object["cases"] as? [[String: Any]])
        let fields = [
            "d_out", "d_in", "tokens", "rank", "merged_ms", "unmerged_ms", "ratio", "ideal_ratio",
            "merged_fraction_of_raw", "adapter_ms", "merge_ms", "unmerge_ms", "ratio_quartiles",
            "stacked_ms", "stacked_ratio", "stacked_ratio_quartiles",
        ]
        #expect(cases.count == 1)
        #expect((cases[0]["adapter_memory_floor_ms"] != nil) == AdapterMemoryFloor.isSupported)
        for field in fields { #expect(cases[0][field] != nil, "missing \(field)") }
        #expect(cases[0]["d_out"] as? Int == 16 && cases[0]["rank"] as? Int == 2)
        let decoded = try JSONDecoder().decode(LoRABenchmarkReport.self, from: Data(report.json().utf8))
        #expect(decoded == report)
    }

    @Test func quantilesInterpolateBetweenOrderStatistics() {
        // numpy.quantile([4, 1, 3, 2], [0, 0.25, 0.5, 0.75, 1]) = [1, 1.75, 2.5, 3.25, 4]
        let values: [Double] = [4, 1, 3, 2]
        #expect([0, 0.25, 0.5, 0.75, 1].map { quantile(values, $0) } == [1, 1.75, 2.5, 3.25, 4])
        #expect(median([5, 1, 3]) == 3)
        #expect(quantile([7], 0.25) == 7)
    }

    @Test func tableAndPlotShowEveryCase() {
        let report = LoRABenchmark(settings: Self.tiny).run(
            LoRABenchmarkCase.grid(sizes: [12, 20], tokens: [2], ranks: [1, 3]), threads: 1)
        let table = report.text()
        #expect(table.contains("1 BLAS thread "))
        #expect(table.split(separator: "\n").count == 4 + 1 + 4)
        #expect(table.contains("stacked ratio") && table.contains("adapter/floor"))
        #expect(table.contains("20×20"))
        let svg = report.ratioFigure().svg()
        #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
        #expect(svg.contains("d×k = 12×12") && svg.contains("d×k = 20×20"))
        #expect(svg.contains("n = 2") && svg.contains("n = 2, stacked"))
    }
}
