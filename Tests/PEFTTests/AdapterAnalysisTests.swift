import Foundation
import LinearAlgebra
import LoRA
@testable import PEFT
import TensorFormats
import Testing

@Suite("Adapter analysis: ΔW's rank errors, subspace similarity to W, amplification (Hu et al. 2021, §7)")
struct AdapterAnalysisTests {
    struct Reference: Decodable {
        struct Module: Decodable {
            var shape: [Int]
            var singular_values: [Double]
            var ranks: [Int]
            var relative_errors: [Double]
            var delta_norm: Double
            var weight_norm: Double
            var similarity: [[Double]]
            var projected_norm: Double
            var amplification: Double
        }
        var rank: Int
        var modules: [String: Module]
    }

    static func analysisFixture(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("analysis").appendingPathComponent(name)
    }

    func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { abs(a - b) <= tolerance * max(1, abs(b)) }

    /// Every figure against numpy's, from full `d×k` SVDs (scripts/fixtures/make_adapter_analysis_fixtures.py).
    @Test func matchesNumPyOnTheFixture() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.analysisFixture("reference.json")))
        let adapter = try PEFTAdapter<Double>.read(from: Self.analysisFixture("adapter")).adapter
        let base = try SafetensorsFile(contentsOf: Self.analysisFixture("base.safetensors"))
        let weights = Dictionary(uniqueKeysWithValues: try base.tensorNames.map { ($0, try base.matrix($0, as: Double.self)) })
        let analysis = try AdapterAnalysis(adapter, path: "fixture", model: "base", weights: weights)
        #expect(Set(analysis.modules.map(\.module)) == Set(reference.modules.keys))
        for module in analysis.modules {
            let expected = try #require(reference.modules[module.module])
            #expect(module.shape == expected.shape && module.rank == reference.rank)
            #expect(module.rankErrors.rows.map(\.rank) == expected.ranks)
            for (row, error) in zip(module.rankErrors.rows, expected.relative_errors) {
                #expect(abs(row.relativeError - error) <= 1e-9, "\(module.module) rank \(row.rank): \(row.relativeError) vs \(error)")
            }
            for (value, numpy) in zip(module.rankErrors.singularValues, expected.singular_values) { #expect(close(value, numpy)) }
            #expect(expected.singular_values.dropFirst(reference.rank).allSatisfy { $0 < 1e-12 }, "ΔW has rank r")
            let weightNorm = try #require(module.weightNorm)
            #expect(close(module.deltaNorm, expected.delta_norm) && close(weightNorm, expected.weight_norm, 1e-6))
            let similarity = try #require(module.subspaceSimilarity)
            for (row, numpyRow) in zip(similarity, expected.similarity) {
                for (value, numpy) in zip(row, numpyRow) { #expect(abs(value - numpy) <= 1e-9, "\(module.module): φ \(value) vs \(numpy)") }
            }
            #expect(close(try #require(module.projectedWeightNorm), expected.projected_norm))
            #expect(close(try #require(module.amplification), expected.amplification))
        }
    }

    /// `ΔW = s·U_W,r·C·V_W,rᵀ` lies in W's top-r singular subspaces: φ(r, r) = 1, and `UᵀWV` is a
    /// rotation of `Σ_W,r`, so the amplification is `‖s·C‖_F / ‖Σ_W,r‖_F`. A ΔW orthogonal to them
    /// (built in the trailing singular vectors) has φ(r, r) = 0.
    @Test func aDeltaInsideTheTopSubspaceOfWHasSimilarityOne() throws {
        var generator = SeededGenerator(seed: 7)
        let (d, k, r) = (40, 30, 5)
        let w = Matrix<Double>.randomNormal(rows: d, columns: k, using: &generator)
        let svd = try w.singularValueDecomposition()
        let c = Matrix<Double>.randomNormal(rows: r, columns: r, using: &generator)
        let s = 2.0
        func analysis(columns: Range<Int>) throws -> AdapterModuleAnalysis {
            let b = Matrix(rows: d, columns: r) { i, j in svd.u[i, columns.lowerBound + j] } * c
            let a = Matrix(rows: r, columns: k) { i, j in svd.vt[columns.lowerBound + i, j] }
            let configuration = LoRAConfiguration(rank: r, alpha: s * Double(r), targetModules: .names(["q_proj"]))
            let adapter = PEFTAdapter<Double>(configuration: configuration, modules: ["m.q_proj": .init(a: a, b: b)])
            return try AdapterModuleAnalysis(module: "m.q_proj", of: adapter, base: w)
        }
        let inside = try analysis(columns: 0..<r)
        #expect(abs(try #require(inside.topSimilarity) - 1) < 1e-12)
        let topEnergy = svd.singularValues.prefix(r).reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(try #require(inside.amplification) - s * c.frobeniusNorm / topEnergy) < 1e-10)
        let outside = try analysis(columns: (k - r)..<k)
        #expect(try #require(outside.topSimilarity) < 1e-12)
        // A zero update has no directions to compare.
        let zero = try AdapterModuleAnalysis(
            module: "m.q_proj",
            of: PEFTAdapter(configuration: LoRAConfiguration(rank: 2, alpha: 2, targetModules: .names(["q_proj"])),
                            modules: ["m.q_proj": .init(a: .zeros(2, k), b: .zeros(d, 2))]),
            base: w)
        #expect(zero.deltaNorm == 0 && zero.subspaceSimilarity == nil && zero.amplification == nil)
        #expect(zero.rankErrors.rows.map(\.relativeError) == [0, 0])
    }
}
