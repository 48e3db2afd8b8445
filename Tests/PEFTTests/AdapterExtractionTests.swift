import CommandTestSupport
import Foundation
import LinearAlgebra
import LoRA
@testable import PEFT
import TensorFormats
import Testing

@Suite("extracting an adapter from two checkpoints")
struct AdapterExtractionTests {
    /// A base and a tuned model: two adapted weights with rank-`r` updates plus a little noise,
    /// one unchanged weight and a 1-D tensor.
    private func checkpoints(dtype: TensorDType, seed: UInt64) throws -> (base: SafetensorsFile, tuned: SafetensorsFile) {
        var generator = SeededGenerator(seed: seed)
        var base: [String: Matrix<Double>] = [:], tuned: [String: Matrix<Double>] = [:]
        for (name, d, k, r) in [("l.0.q.weight", 12, 10, 3), ("l.0.v.weight", 8, 10, 2)] {
            let w = Matrix<Double>.randomNormal(rows: d, columns: k, using: &generator)
            let update = Matrix<Double>.randomNormal(rows: d, columns: r, using: &generator)
                * Matrix<Double>.randomNormal(rows: r, columns: k, using: &generator) * 0.1
            let noise = Matrix<Double>.randomNormal(rows: d, columns: k, using: &generator) * 1e-4
            base[name] = w
            tuned[name] = w + update + noise
        }
        let frozen = Matrix<Double>.randomNormal(rows: 4, columns: 10, using: &generator)
        base["embed.weight"] = frozen
        tuned["embed.weight"] = frozen
        return (try safetensorsFile(base, dtype: dtype, path: "base"), try safetensorsFile(tuned, dtype: dtype, path: "tuned"))
    }

    @Test("extract then merge restores the tuned weights within the reported error (F32 and F64 checkpoints)")
    func extractThenMerge() throws {
        for dtype in [TensorDType.float64, .float32] {
            let (base, tuned) = try checkpoints(dtype: dtype, seed: 51)
            let (adapter, reports) = try AdapterExtraction.extract(base: base, tuned: tuned, selection: .rank(3), dtype: dtype)
            #expect(reports.map(\.module) == ["l.0.q", "l.0.v"])
            #expect(reports.allSatisfy { $0.rank == 3 && $0.parameters == 3 * ($0.shape[0] + $0.shape[1]) })
            #expect(reports[0].retainedEnergy > 0.999 && reports[0].relativeError < 1e-2)
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try adapter.write(to: directory, dtype: dtype)
            let loaded = try PEFTAdapter<Double>.read(from: directory).adapter
            let (writer, mergeReports) = try AdapterMerge.merge(base: base, adapter: loaded)
            let merged = try SafetensorsFile(data: writer.encoded(), path: "merged")
            for (extraction, merge) in zip(reports, mergeReports) {
                let key = extraction.module + ".weight"
                let error = (try merged.matrix(key, as: Double.self) - tuned.matrix(key, as: Double.self)).frobeniusNorm
                #expect(error <= (extraction.absoluteError + merge.roundingError) * (1 + 1e-9), "\(dtype) \(key)")
            }
            #expect(try merged.rawBytes("embed.weight") == base.rawBytes("embed.weight"))
        }
    }

    @Test("B·A is the best rank-r approximation: error² = Σ_{i>r} σᵢ² (F64 storage)")
    func optimalTruncation() throws {
        let (base, tuned) = try checkpoints(dtype: .float64, seed: 52)
        let report = try AdapterExtraction.extract(base: base, tuned: tuned, selection: .rank(2), dtype: .float64).reports[0]
        let delta = try tuned.matrix("l.0.q.weight", as: Double.self) - base.matrix("l.0.q.weight", as: Double.self)
        let sigma = try delta.singularValues()
        let tail = sigma.dropFirst(2).map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(abs(report.absoluteError - tail) <= 1e-9 * tail)
        #expect(abs(report.retainedEnergy - (sigma[0] * sigma[0] + sigma[1] * sigma[1]) / sigma.map { $0 * $0 }.reduce(0, +)) <= 1e-12)
    }

    @Test("energy selection picks the fewest triplets; mixed ranks go to rank_pattern with α = r")
    func energySelectionAndPatterns() throws {
        let (base, tuned) = try checkpoints(dtype: .float64, seed: 53)
        let (adapter, reports) = try AdapterExtraction.extract(base: base, tuned: tuned, selection: .energy(0.999), dtype: .float64)
        #expect(reports.map(\.rank) == [3, 2])
        #expect(adapter.configuration.rank == 3 && adapter.configuration.rankPattern == ["v": 2])
        for report in reports {
            #expect(adapter.configuration.rank(forModule: report.module) == report.rank)
            #expect(adapter.scaling(forModule: report.module) == 1)
        }
    }

    @Test("pattern keys select exactly one module under PEFT's old rule (.*\\.key$) and new rule ((.*\\.)?key$)")
    func patternKeys() throws {
        let modules = ["encoder.layers.0.q", "decoder.layers.0.q", "decoder.layers.1.q", "lm_head", "decoder.layers.0.q.inner"]
        #expect(LoRAConfiguration.patternKey(for: "encoder.layers.0.q", among: modules) == #"encoder\.layers\.0\.q"#)
        #expect(LoRAConfiguration.patternKey(for: "decoder.layers.1.q", among: modules) == #"1\.q"#)
        #expect(LoRAConfiguration.patternKey(for: "decoder.layers.0.q.inner", among: modules) == "inner")
        #expect(LoRAConfiguration.patternKey(for: "lm_head", among: modules) == "lm_head")
        for path in modules where path.contains(".") && path != "encoder.layers.0.q" && path != "decoder.layers.0.q" {
            let key = LoRAConfiguration.patternKey(for: path, among: modules)
            let oldRule = try Regex(".*\\.\(key)"), newRule = try Regex("(.*\\.)?\(key)")
            #expect(modules.filter { (try? oldRule.wholeMatch(in: $0)) != nil } == [path], "\(key)")
            #expect(modules.filter { (try? newRule.wholeMatch(in: $0)) != nil } == [path], "\(key)")
        }
    }

    @Test("--targets restricts the modules; mismatched checkpoints are refused")
    func targetsAndErrors() throws {
        let (base, tuned) = try checkpoints(dtype: .float32, seed: 54)
        let only = try AdapterExtraction.extract(base: base, tuned: tuned, selection: .rank(1), targets: .names(["v"]))
        #expect(only.adapter.modulePaths == ["l.0.v"])
        #expect(thrownError(PEFTAdapterError.self) { try AdapterExtraction.extract(base: base, tuned: tuned, selection: .rank(1), targets: .names(["k"])) }
                == .nothingToExtract(base: "base", tuned: "tuned"))
        let other = try safetensorsFile(["l.0.q.weight": Matrix<Double>.zeros(3, 3)], dtype: .float32, path: "other")
        #expect(thrownError(PEFTAdapterError.self) { try AdapterExtraction.extract(base: other, tuned: tuned, selection: .rank(1), targets: .names(["q"])) }
                == .shapeMismatch(file: "tuned", key: "l.0.q.weight", shape: "[12, 10]", otherKey: "other: l.0.q.weight", otherShape: "[3, 3]"))
        #expect(thrownError(PEFTAdapterError.self) { try AdapterExtraction.extract(base: other, tuned: tuned, selection: .rank(1), targets: .names(["v"])) }
                == .missingTensor(file: "other", key: "l.0.v.weight"))
        #expect(thrownError(PEFTAdapterError.self) { try AdapterExtraction.extract(base: base, tuned: tuned, selection: .rank(11), targets: .names(["q"])) }
                == .rankTooLarge(module: "l.0.q", rank: 11, shape: "12×10"))
    }
}

@Suite("extraction with the randomized SVD")
struct RandomizedExtractionTests {
    @Test("a small rank of a larger weight uses the randomized SVD and stays within 1% of the optimal error")
    func randomizedNearOptimal() throws {
        var generator = SeededGenerator(seed: 55)
        let w = Matrix<Double>.randomNormal(rows: 80, columns: 64, using: &generator)
        let update = Matrix<Double>.randomNormal(rows: 80, columns: 3, using: &generator)
            * Matrix<Double>.randomNormal(rows: 3, columns: 64, using: &generator)
        let tuned = w + update + Matrix<Double>.randomNormal(rows: 80, columns: 64, using: &generator) * 1e-3
        let baseFile = try safetensorsFile(["p.weight": w], dtype: .float64, path: "base")
        let tunedFile = try safetensorsFile(["p.weight": tuned], dtype: .float64, path: "tuned")
        let report = try AdapterExtraction.extract(base: baseFile, tuned: tunedFile, selection: .rank(3), dtype: .float64).reports[0]
        let sigma = try (tuned - w).singularValues()
        let optimal = sigma.dropFirst(3).map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(report.rank == 3)
        #expect(report.absoluteError >= optimal * (1 - 1e-12) && report.absoluteError <= optimal * 1.01)
    }
}
