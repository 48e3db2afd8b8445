import Foundation
import LinearAlgebra
import LoRA
import NN
import PEFT
import TensorFormats
import Testing

@Suite("combining and resizing adapters: cat, svd, linear against PEFT's add_weighted_adapter; resize by kohya's criteria")
struct AdapterCombinationTests {
    let adapters: [String: PEFTAdapter<Double>]
    let references: SafetensorsFile

    init() throws {
        var adapters: [String: PEFTAdapter<Double>] = [:]
        for name in ["a", "b", "c"] {
            adapters[name] = try PEFTAdapter<Double>.read(from: variantFixture("combine/adapters/\(name)")).adapter
        }
        self.adapters = adapters
        references = try SafetensorsFile(contentsOf: variantFixture("combine/references.safetensors"))
    }

    func named(_ names: [String]) -> [(name: String, adapter: PEFTAdapter<Double>)] { names.map { ($0, adapters[$0]!) } }

    /// `Σ wᵢ·sᵢ·Bᵢ·Aᵢ` of `path`, dense (tests only).
    func exactDelta(_ names: [String], _ weights: [Double], _ path: String) -> Matrix<Double> {
        zip(names, weights).map { adapters[$0.0]!.deltaWeight(forModule: path, extraScale: $0.1) }.reduce(into: Matrix.zeros(0, 0)) {
            $0 = $0.count == 0 ? $1 : $0 + $1
        }
    }

    @Test("cat is exact: its output equals the sum of the weighted adapters' outputs to 1e-12, and PEFT's ΔW to 1e-6")
    func catIsExact() throws {
        let (combined, reports, warnings) = try AdapterCombination.combine(named(["a", "b"]), weights: [0.7, -0.4], method: .cat)
        #expect(warnings.isEmpty && reports.allSatisfy { $0.rank == 6 && $0.absoluteError == 0 })
        var generator = SeededGenerator(seed: 5)
        for path in ["0", "2"] {
            let ours = combined.deltaWeight(forModule: path)
            let x = Matrix<Double>.randomNormal(rows: 7, columns: ours.columns, using: &generator)
            let sum = zip(["a", "b"], [0.7, -0.4]).map { name, w in
                adapters[name]!.loRAWeights(forModule: path, base: .zeros(ours.rows, ours.columns)).forward(x) * w
            }.reduce(Matrix.zeros(7, ours.rows), +)
            #expect(GradientCheck.relativeError(combined.loRAWeights(forModule: path, base: .zeros(ours.rows, ours.columns)).forward(x), sum) <= 1e-12)
            #expect(GradientCheck.relativeError(ours, try tensor(references, "cat.\(path).delta", as: Double.self)) <= 1e-6)
            #expect(combined.configuration.rank(forModule: path) == 6 && combined.scaling(forModule: path) == 1)
        }
    }

    @Test("svd truncates in factor space: PEFT's rank-3 ΔW to 1e-5; reported error is ‖ΔW_r − ΔW‖_F; full rank equals cat")
    func svdTruncates() throws {
        let (combined, reports, _) = try AdapterCombination.combine(named(["a", "b"]), weights: [0.7, -0.4], method: .svd, rank: 3)
        for report in reports {
            let exact = exactDelta(["a", "b"], [0.7, -0.4], report.module)
            let ours = combined.deltaWeight(forModule: report.module)
            #expect(report.rank == 3 && report.inputRank == 6)
            #expect(GradientCheck.relativeError(ours, try tensor(references, "svd.\(report.module).delta", as: Double.self)) <= 1e-5)
            #expect(abs(report.absoluteError - (ours - exact).frobeniusNorm) <= 1e-12 * exact.frobeniusNorm)
            #expect(abs(report.relativeError - (ours - exact).frobeniusNorm / exact.frobeniusNorm) <= 1e-12)
            #expect(report.retainedEnergy! < 1 && report.retainedEnergy! > 0.5)
        }
        let full = try AdapterCombination.combine(named(["a", "b"]), weights: [0.7, -0.4], method: .svd, rank: 6)
        let cat = try AdapterCombination.combine(named(["a", "b"]), weights: [0.7, -0.4], method: .cat)
        for path in ["0", "2"] {
            #expect(GradientCheck.relativeError(full.adapter.deltaWeight(forModule: path), cat.adapter.deltaWeight(forModule: path)) <= 1e-12)
            #expect(full.reports.allSatisfy { $0.relativeError <= 1e-7 && abs($0.retainedEnergy! - 1) <= 1e-12 })
        }
    }

    @Test("linear has PEFT's semantics (A, B equal to add_weighted_adapter's to 1e-6), a warning naming the cross terms, and their error")
    func linearFollowsPEFT() throws {
        let (combined, reports, warnings) = try AdapterCombination.combine(named(["a", "c"]), weights: [0.5, 0.8], method: .linear)
        #expect(warnings.count == 1 && warnings[0].contains("cross terms Bᵢ·Aⱼ"))
        for report in reports {
            let factors = combined.modules[report.module]!
            #expect(maxAbsoluteError(factors.a, try tensor(references, "linear.\(report.module).lora_A", as: Float.self)) <= 1e-6)
            #expect(maxAbsoluteError(factors.b, try tensor(references, "linear.\(report.module).lora_B", as: Float.self)) <= 1e-6)
            let exact = exactDelta(["a", "c"], [0.5, 0.8], report.module)
            let deviation = (combined.deltaWeight(forModule: report.module) - exact).frobeniusNorm / exact.frobeniusNorm
            #expect(abs(report.relativeError - deviation) <= 1e-9 && deviation > 0.01 && report.retainedEnergy == nil)
        }
    }

    @Test("resize at the original rank is lossless; at a lower rank α = α·r'/r keeps s and the error is the σ tail")
    func resize() throws {
        let a = adapters["a"]!
        let same = try AdapterCombination.resize(a, selection: .rank(4))
        for path in a.modulePaths {
            #expect(GradientCheck.relativeError(same.adapter.deltaWeight(forModule: path), a.deltaWeight(forModule: path)) <= 1e-12)
        }
        #expect(same.adapter.configuration.rank == 4 && same.adapter.configuration.alpha == 8)
        let half = try AdapterCombination.resize(a, selection: .rank(2))
        #expect(half.adapter.configuration.rank == 2 && half.adapter.configuration.alpha == 4)
        for report in half.reports {
            let exact = a.deltaWeight(forModule: report.module)
            let error = (half.adapter.deltaWeight(forModule: report.module) - exact).frobeniusNorm
            #expect(abs(report.absoluteError - error) <= 1e-12 * exact.frobeniusNorm)
            #expect(abs(report.retainedEnergy! - (1 - report.relativeError * report.relativeError)) <= 1e-12)
        }
        #expect(throws: PEFTAdapterError.rankAboveAvailable(module: "0", rank: 5, available: 4)) {
            try AdapterCombination.resize(a, selection: .rank(5))
        }
    }

    /// `ΔW` of `x.p` has σ = 8, 4, 2, 1 (B the first 4 columns of I₆, A = diag(σ)·[I₄ 0], s = 1);
    /// `x.q` is rank 2 with its own pattern.
    @Test("criteria: σ ratio, cumulative σ and Frobenius share pick kohya's ranks; mixed ranks go to the patterns")
    func criteria() throws {
        let sigma = [8.0, 4, 2, 1]
        let a = Matrix<Double>(rows: 4, columns: 5) { i, j in i == j ? sigma[i] : 0 }
        let b = Matrix<Double>(rows: 6, columns: 4) { i, j in i == j ? 1 : 0 }
        let small = PEFTAdapter<Double>.Factors(a: Matrix(rows: 2, columns: 5) { i, j in i == j ? 1 : 0 }, b: b[columns: 0..<2])
        var configuration = LoRAConfiguration(rank: 4, alpha: 4, targetModules: .names(["p", "q"]))
        configuration.rankPattern = ["q": 2]
        configuration.alphaPattern = ["q": 2]
        let adapter = PEFTAdapter(configuration: configuration, modules: ["x.p": .init(a: a, b: b), "x.q": small])
        func ranks(_ selection: ResizeSelection) throws -> Int {
            try AdapterCombination.resize(adapter, selection: selection).reports.first { $0.module == "x.p" }!.rank
        }
        #expect(try ranks(.singularValueRatio(4)) == 3)          // σ ≥ 8/4 = 2
        #expect(try ranks(.cumulativeSingularValues(0.8)) == 2)  // 12/15 = 0.8
        #expect(try ranks(.frobeniusShare(0.99)) == 3)           // √(84/85) = 0.994
        #expect(try ranks(.frobeniusShare(0.97)) == 2)           // √(80/85) = 0.970
        let resized = try AdapterCombination.resize(adapter, selection: .singularValueRatio(4)).adapter
        #expect(resized.configuration.rank(forModule: "x.p") == 3 && resized.configuration.rank(forModule: "x.q") == 2)
        #expect(resized.scaling(forModule: "x.p") == 1 && resized.scaling(forModule: "x.q") == 1)
        #expect(throws: PEFTAdapterError.invalidArgument(name: "sv-ratio", value: "0.5", expected: "a finite number ≥ 1")) {
            try AdapterCombination.resize(adapter, selection: .singularValueRatio(0.5))
        }
    }

    @Test("bad input gives typed one-line errors: weights, bases, module sets, ranks, DoRA, outputs onto inputs")
    func refusals() throws {
        #expect(throws: PEFTAdapterError.weightCountMismatch(adapters: 2, weights: 1)) {
            try AdapterCombination.combine(named(["a", "b"]), weights: [1], method: .cat)
        }
        var otherBase = adapters["b"]!
        otherBase.configuration.baseModelNameOrPath = "other/model"
        var first = adapters["a"]!
        first.configuration.baseModelNameOrPath = "tiny/mlp"
        #expect(throws: PEFTAdapterError.differentBases(first: "a: tiny/mlp", other: "b: other/model")) {
            try AdapterCombination.combine([("a", first), ("b", otherBase)], weights: [1, 1], method: .cat)
        }
        var partial = adapters["b"]!
        partial.modules["2"] = nil
        #expect(throws: PEFTAdapterError.moduleSetMismatch(module: "2", presentIn: "a", missingFrom: "b")) {
            try AdapterCombination.combine([("a", adapters["a"]!), ("b", partial)], weights: [1, 1], method: .cat)
        }
        #expect(throws: PEFTAdapterError.rankAboveAvailable(module: "0", rank: 7, available: 6)) {
            try AdapterCombination.combine(named(["a", "b"]), weights: [1, 1], method: .svd, rank: 7)
        }
        #expect(throws: PEFTAdapterError.unsupportedForCombination(reason: "linear needs equal ranks; module \"0\" has ranks [4, 2]")) {
            try AdapterCombination.combine(named(["a", "b"]), weights: [1, 1], method: .linear)
        }
        let dora = try PEFTAdapter<Double>.read(from: variantFixture("dora_mlp/adapter")).adapter
        #expect(throws: PEFTAdapterError.unsupportedForCombination(reason: "d is a DoRA adapter (use_dora); its magnitudes do not combine")) {
            try AdapterCombination.combine([("a", adapters["a"]!), ("d", dora)], weights: [1, 1], method: .cat)
        }
        #expect(PEFTAdapterError.rankAboveAvailable(module: "0", rank: 7, available: 6).description.split(separator: "\n").count == 1)

        // An output that resolves to an input (through "." and a symbolic link) is refused; the input is untouched.
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in")
        try adapters["a"]!.write(to: input)
        let before = try Data(contentsOf: input.appendingPathComponent(PEFTAdapter<Double>.weightsFileName))
        let link = directory.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: input)
        let combined = try AdapterCombination.combine(named(["a", "b"]), weights: [1, 1], method: .cat).adapter
        for output in [input.appendingPathComponent("."), link] {
            #expect(throws: PEFTAdapterError.outputIsInput(output: output.path, input: input.path)) {
                try combined.write(to: output, inputs: [input])
            }
        }
        #expect(try Data(contentsOf: input.appendingPathComponent(PEFTAdapter<Double>.weightsFileName)) == before)
        try combined.write(to: directory.appendingPathComponent("out"), inputs: [input])
    }
}
