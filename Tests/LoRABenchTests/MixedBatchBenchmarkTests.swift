import Foundation
import LinearAlgebra
import LoRA
@testable import LoRABench
import NN
import Testing

@Suite("Mixed-batch serving benchmark")
struct MixedBatchBenchmarkTests {
    @Test("every case is measured; the mixed forward and PEFT's loop compute the same outputs")
    func runMeasuresEveryCase() throws {
        let settings = LoRABenchmark.Settings(warmUpRounds: 1, rounds: 3, minimumSampleMilliseconds: 0, mergeRounds: 1)
        let cases = MixedBatchBenchmark.Case.grid(sizes: [32], tokens: [12], ranks: [4], adapters: [1, 3, 12])
        let report = MixedBatchBenchmark(settings: settings).run(cases, threads: 1)
        #expect(report.cases.map(\.adapters) == [1, 3, 12] && report.rounds == 3)
        for result in report.cases {
            let times = [result.mergedMilliseconds, result.mixedMilliseconds, result.interleavedMilliseconds, result.peftLoopMilliseconds]
            #expect(times.allSatisfy { $0 > 0 && $0.isFinite })
            #expect(result.mixedRatioQuartiles.contains(result.mixedRatio) && result.peftLoopRatioQuartiles.contains(result.peftLoopRatio))
            #expect(abs(result.mixedTokensPerSecond - 12 / result.mixedMilliseconds * 1e3) < 1e-6 * result.mixedTokensPerSecond)
            #expect(result.relativeDifferenceFromPEFTLoop < 1e-6)
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect((json["cases"] as? [[String: Any]])?.first?["peft_loop_ratio"] is Double && json["threads"] as? Int == 1)
        #expect(report.csv().split(separator: "\n").count == 4)
    }

    @Test("PEFT's loop equals the definition: base plus each row's own adapter")
    func peftLoopDefinition() {
        var generator = SeededGenerator(seed: 5)
        let base = Linear(weight: Matrix<Float>.randomNormal(rows: 6, columns: 5, using: &generator))
        let adapters = (0..<2).map { _ in
            LoRAAdapter(a: Matrix<Float>.randomNormal(rows: 2, columns: 5, using: &generator),
                        b: .randomNormal(rows: 6, columns: 2, using: &generator), scale: 1.5)
        }
        let x = Matrix<Float>.randomNormal(rows: 4, columns: 5, using: &generator)
        let result = MixedBatchBenchmark.peftLoop(base: base, groups: [(adapters[0], [0, 2]), (adapters[1], [3])], x)
        for (row, adapter) in [(0, adapters[0]), (1, nil), (2, adapters[0]), (3, adapters[1])] {
            let xi = x[rows: row..<(row + 1)]
            var expected = xi * base.weight.value.transposed
            if let adapter { expected = expected + xi * adapter.a.transposed * adapter.b.transposed * adapter.scale }
            #expect(GradientCheck.relativeError(result[rows: row..<(row + 1)], expected) < 1e-6, "row \(row)")
        }
    }
}
